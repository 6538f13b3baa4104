//! `{{ cookiecutter.__binary }}` serves HTTP until SIGTERM or SIGINT;
//! `{{ cookiecutter.__binary }} healthcheck` probes a running instance (the image's HEALTHCHECK);
//! `{{ cookiecutter.__binary }} version` prints the version.

use std::process::ExitCode;

use tokio::net::TcpListener;
use tokio::runtime::Builder;
use tokio::signal::unix::{SignalKind, signal};

use {{ cookiecutter.__crate_name }}::config::Config;
use {{ cookiecutter.__crate_name }}::healthcheck;
use {{ cookiecutter.__crate_name }}::server::{self, Info};
use {{ cookiecutter.__crate_name }}::{NAME, REVISION, VERSION};

/// Serving failed, or the health probe failed.
const EXIT_FAILURE: u8 = 1;
/// Bad arguments or configuration.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let config = match Config::from_env(|key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{NAME}: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(config),
        Some("healthcheck") => healthcheck(config.port),
        Some("version") => {
            println!("{NAME} {VERSION} ({REVISION})");
            ExitCode::SUCCESS
        }
        Some(_) => {
            eprintln!("usage: {NAME} [healthcheck|version]");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn healthcheck(port: u16) -> ExitCode {
    // A single-threaded runtime: the probe starts and exits in a few milliseconds.
    let runtime = match Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{NAME}: unhealthy: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(healthcheck::probe(port, healthcheck::DEFAULT_TIMEOUT)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{NAME}: unhealthy: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn serve(config: Config) -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_max_level(config.log_level)
        .with_writer(std::io::stdout)
        .init();
    let runtime = match Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "stopped");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // Installed before serving, so that a signal arriving during startup is not lost.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutdown requested");
    };

    let listener = TcpListener::bind(("0.0.0.0", config.port)).await?;
    tracing::info!(
        addr = %listener.local_addr()?,
        version = VERSION,
        revision = REVISION,
        "listening"
    );
    let app = server::router(Info::of_this_build());
    server::serve(listener, app, shutdown, config.shutdown_timeout).await?;
    Ok(())
}
