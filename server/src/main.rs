//! Boots AMP Pool: configuration, tracing, then the chosen subcommand.

use std::process::ExitCode;

use amp_pool::{
    app, cli,
    config::{Cli, Command},
};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Many small, short-lived allocations per request (headers, JSON, log records): mimalloc
/// serves them with less CPU than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal; the environment and flags still apply.
    let _ = dotenvy::dotenv();
    let args = Cli::parse();
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();

    let result = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => app::run(args.settings).await,
        Command::Migrate => cli::migrate(&args.settings).await,
        Command::Schema => {
            cli::schema();
            Ok(())
        }
        Command::Token(command) => cli::token(&args.settings, command).await,
        Command::Admin(command) => cli::admin(&args.settings, command).await,
        Command::Secrets(command) => cli::secrets(&args.settings, command).await,
        Command::Backup { path } => cli::backup(&args.settings, &path).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
