//! `peerfetch-server`: parse flags, bind, print where the demo is, serve until Ctrl-C.

use clap::Parser;
use peerfetch_server::{
    cli::{Command, LogFormat},
    identity_file, site_manifest, Cli, Server,
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
    if let Some(Command::Id) = &cli.command {
        return match identity_file::Identity::load_or_create(&cli.key_file) {
            Ok(identity) => {
                println!("{}", identity.keypair.public().to_peer_id());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("peerfetch-server id: {e}");
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
    // Installed before the server binds and announces itself, so a signal that arrives as soon
    // as the banner is out still shuts it down cleanly.
    let shutdown = match ShutdownSignal::install() {
        Ok(shutdown) => shutdown,
        Err(e) => {
            eprintln!("peerfetch-server: cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let server = match Server::bind(&cli).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("peerfetch-server: {e}");
            return ExitCode::from(1);
        }
    };
    // A closed stdout (a supervisor that stopped reading) must not take the server down.
    let mut banner = format!(
        "peerfetch demo: {}/\npeerfetch admin: http://{}/\npeer id: {}\n",
        server.http_url(),
        server.admin_addr(),
        server.peer_id()
    );
    for addr in server.bootstrap().addrs {
        banner.push_str(&format!("libp2p: {addr}\n"));
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    match server.run(shutdown.recv()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerfetch-server: {e}");
            ExitCode::from(1)
        }
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment it is made.
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Starts listening: from now on the signals no longer kill the process.
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the first of them.
    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
