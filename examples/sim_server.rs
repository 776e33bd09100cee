//! Runs the simulator like `sluice sim` will: `cargo run --example sim_server --
//! [--listen 127.0.0.1:0] [--scenario FILE]`. Prints `listening on http://ADDR` first.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().context("default listen address")?;
    let mut scenario = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let v = args.next().context("--listen needs ADDR:PORT")?;
                listen = v
                    .parse()
                    .with_context(|| format!("--listen: '{v}' is not ADDR:PORT"))?;
            }
            "--scenario" => {
                scenario = Some(PathBuf::from(
                    args.next().context("--scenario needs a FILE")?,
                ))
            }
            other => anyhow::bail!("unknown argument '{other}' (expected --listen, --scenario)"),
        }
    }
    sluice::sim::run_cli(listen, scenario).await
}
