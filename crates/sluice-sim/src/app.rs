//! Starting and stopping the simulator: [`spawn`] binds the one listener (port 0 picks a
//! free port), starts the HTTP/WS server and the venue pump, and returns a [`SimHandle`];
//! [`run_cli`] is `sluice sim` and `sluice-sim` (flags: [`SimArgs`]): it prints
//! `listening on http://ADDR` as its first stdout line and runs until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::scenario::Scenario;
use crate::server::http::router;
use crate::server::pipeline::{self, HttpOut, RawRequest};
use crate::server::pump;
use crate::server::state::{Control, SimState};

/// The command line of `sluice sim` and `sluice-sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: SocketAddr,
    /// Scenario TOML (symbols, accounts, faults); the demo scenario when omitted.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    pump: JoinHandle<()>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The bound address (the real port when `spawn` was given port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`: REST base URL (and `/sim/*`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://ADDR`: append `/private/ws?listenKey=<k>&events=…`, `/market/ws/<stream>`, ….
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Runs one request through the whole REST pipeline (rate limits, authentication,
    /// faults, the venue, rendering) without the network, exactly as the HTTP layer would;
    /// the pipeline benchmark measures the server's own work with it.
    pub async fn handle(&self, req: RawRequest<'_>) -> HttpOut {
        pipeline::handle(&self.state, req).await
    }

    /// Stops accepting, closes every socket, stops the pump and waits for both tasks.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.state.control_tx.send(Control::Shutdown);
        let _ = self.server.await;
        let _ = self.pump.await;
    }
}

/// Starts the simulator on `listen` (port 0 picks a free port).
pub async fn spawn(scenario: Scenario, listen: SocketAddr) -> anyhow::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to bind simulator listener on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("failed to read the bound address")?;
    let state = SimState::new(scenario);
    let (stop, stop_rx) = watch::channel(false);
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|s| *s).await;
        };
        // Small request/response pairs: never let Nagle hold a reply back.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "failed to set TCP_NODELAY");
            }
        });
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "simulator server stopped with an error");
        }
    });
    let pump = tokio::spawn(pump::run(state.clone(), stop_rx));
    Ok(SimHandle {
        addr,
        state,
        stop,
        server,
        pump,
    })
}

/// `sluice sim --listen ADDR [--scenario FILE]`.
pub async fn run_cli(args: &SimArgs) -> anyhow::Result<()> {
    let scenario = match &args.scenario {
        Some(p) => Scenario::from_file(p)?,
        None => Scenario::demo(),
    };
    let handle = spawn(scenario, args.listen).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.base_url()).context("failed to write to stdout")?;
        out.flush().context("failed to flush stdout")?;
    }
    wait_for_signal().await?;
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to install the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("failed to listen for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
