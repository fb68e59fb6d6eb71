//! `peerfetch-server`: parse flags, bind, print where the demo is, serve until Ctrl-C.

use clap::Parser;
use peerfetch_server::{
    cli::{Command, LogFormat},
    site_manifest, Cli, Server,
};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Manifest(args)) = &cli.command {
        return match site_manifest::write(&args.dir, &args.base, args.out.as_deref()) {
            Ok((out, manifest)) => {
                println!("{}: {} resources", out.display(), manifest.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("peerfetch-server manifest: {e}");
                ExitCode::from(1)
            }
        };
    }
    let filter = match EnvFilter::try_new(&cli.log_level) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!(
                "peerfetch-server: invalid --log-level {:?}: {e}",
                cli.log_level
            );
            return ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().init(),
    }
    let server = match Server::bind(&cli).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("peerfetch-server: {e}");
            return ExitCode::from(1);
        }
    };
    // Listening for signals before the banner says the server is up: a SIGTERM right after it
    // shuts down gracefully instead of killing the process.
    let shutdown = shutdown_signal();
    // A closed stdout (a supervisor that stopped reading) must not take the server down.
    let mut banner = format!(
        "peerfetch demo: http://{}/\npeerfetch admin: http://{}/\npeer id: {}\n",
        server.http_addr(),
        server.admin_addr(),
        server.peer_id()
    );
    for addr in server.bootstrap().addrs {
        banner.push_str(&format!("libp2p: {addr}\n"));
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    match server.run(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerfetch-server: {e}");
            ExitCode::from(1)
        }
    }
}

/// Listens for Ctrl-C and SIGTERM from now on; the future resolves on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())
            .expect("installing a SIGINT handler does not fail on unix");
        let mut terminate = signal(SignalKind::terminate())
            .expect("installing a SIGTERM handler does not fail on unix");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
