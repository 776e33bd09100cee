//! The commands that talk to a running daemon over its control API: the kill switch
//! (`flatten`, `halt`, `resume`) and `intent` (submit, show, list, wait). Nothing here
//! touches the ledger or the exchange directly.

use std::io::IsTerminal;
use std::time::Duration;

use crate::api::control::ControlBody;
use crate::api::intent_request::IntentBody;
use crate::api::views::IntentResponse;
use crate::cli::{CancelArgs, CloseArgs, Command, IntentCommand, OpenArgs, SubmitArgs};
use crate::client::{render, Client};

use super::Outcome;

/// The kill switch commands: `flatten`, `halt`, `resume`.
pub(super) async fn control_command(client: &Client, command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Flatten(args) => {
            let body = ControlBody {
                reason: args.reason.clone(),
                actor: Some(actor()),
                symbol: args.symbol.clone(),
                idempotency_key: args.key.clone(),
                force: false,
            };
            let answer = client.flatten(&body).await?;
            print_as(args.json, &answer, || render::halt(&answer))
        }
        Command::Halt(args) => {
            let answer = if args.status {
                client.halt_status().await?
            } else {
                let body = ControlBody {
                    reason: args.reason.clone(),
                    actor: Some(actor()),
                    ..ControlBody::default()
                };
                client.halt(&body).await?
            };
            print_as(args.json, &answer, || render::halt(&answer))
        }
        Command::Resume(args) => {
            let body = ControlBody {
                actor: Some(actor()),
                force: args.force,
                ..ControlBody::default()
            };
            let answer = client.resume(&body).await?;
            print_as(args.json, &answer, || render::halt(&answer))
        }
        _ => anyhow::bail!("not a kill-switch command"),
    }
}

/// Who is asking, as recorded with a halt or a flatten.
fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

pub(super) fn print_as<T: serde::Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<Outcome> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human());
    }
    Ok(Outcome::Ok)
}

pub(super) async fn intent_command(
    client: &Client,
    cmd: &IntentCommand,
) -> anyhow::Result<Outcome> {
    let (body, submit) = match cmd {
        IntentCommand::Show(args) => {
            let intent = client.intent(args.id).await?;
            return print_as(args.json, &intent, || render::intent(&intent));
        }
        IntentCommand::List(args) => {
            let list = client.intents(args.limit).await?;
            return print_as(args.json, &list, || render::intents(&list.intents));
        }
        IntentCommand::Cancel(args) => return cancel(client, args).await,
        IntentCommand::Open(args) => (open_body(args), &args.submit),
        IntentCommand::Close(args) => (close_body("close", args), &args.submit),
        IntentCommand::Reduce(args) => (close_body("reduce", args), &args.submit),
    };
    let body = IntentBody {
        idempotency_key: Some(
            submit
                .key
                .clone()
                .unwrap_or_else(|| format!("cli-{}", uuid::Uuid::new_v4())),
        ),
        reason: submit.reason.clone(),
        actor: Some(actor()),
        ..body
    };
    let intent = client.submit_intent(&body).await?;
    if !submit.wait {
        return print_as(submit.json, &intent, || render::intent(&intent));
    }
    let last = wait_for(client, &intent, submit).await?;
    print_as(submit.json, &last, || render::intent(&last))?;
    Ok(if last.state == crate::domain::IntentState::Done {
        Outcome::Ok
    } else {
        Outcome::Findings
    })
}

/// `sluice intent cancel ID [--wait]`.
async fn cancel(client: &Client, args: &CancelArgs) -> anyhow::Result<Outcome> {
    let answer = client.cancel_intent(args.id, &actor()).await?;
    if !args.wait || answer.intent.state.is_terminal() {
        return print_as(args.json, &answer, || {
            let note = match answer.cancel.as_str() {
                "requested" => "cancel requested: no new chunk is sent; it ends `cancelled` once what is out has settled",
                _ => "cancelled",
            };
            format!("{note}\n{}", render::intent(&answer.intent))
        });
    }
    let timeout = Duration::from_secs(args.timeout);
    let last = client.wait(args.id, timeout, |_| {}).await?;
    print_as(args.json, &last, || render::intent(&last))
}

/// Follow an intent: one rewritten line on a terminal, a line per change otherwise.
async fn wait_for(
    client: &Client,
    intent: &IntentResponse,
    submit: &SubmitArgs,
) -> anyhow::Result<IntentResponse> {
    let tty = std::io::stderr().is_terminal() && !submit.json;
    let mut last_line = String::new();
    let timeout = Duration::from_secs(submit.timeout);
    let result = client
        .wait(intent.id.get(), timeout, |i| {
            let line = render::progress_line(i);
            if line != last_line {
                if tty {
                    eprint!("\r\x1b[2K{line}");
                } else {
                    eprintln!("{line}");
                }
                last_line = line;
            }
        })
        .await;
    if tty {
        eprintln!();
    }
    Ok(result?)
}

fn open_body(args: &OpenArgs) -> IntentBody {
    IntentBody {
        kind: Some("open".into()),
        symbol: Some(args.symbol.clone()),
        side: Some(args.side.clone()),
        quantity: args.quantity.clone(),
        notional_usdt: args.notional.clone(),
        ..limit_body(&args.limit)
    }
}

/// The LIMIT fields of an intent body (all None: MARKET).
fn limit_body(args: &crate::cli::LimitArgs) -> IntentBody {
    IntentBody {
        price: args.price.clone(),
        price_match: args.price_match.clone(),
        time_in_force: args.time_in_force.clone(),
        good_till_date: args.good_till,
        ..IntentBody::default()
    }
}

fn close_body(kind: &str, args: &CloseArgs) -> IntentBody {
    IntentBody {
        kind: Some(kind.into()),
        symbol: args.symbol.clone(),
        side: args.side.clone(),
        position_id: args.position,
        quantity: args.quantity.clone(),
        ..limit_body(&args.limit)
    }
}
