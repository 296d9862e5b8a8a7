//! tvlogin: log a terminal into an OAuth 2.0 / OpenID Connect provider with the device
//! authorization grant (RFC 8628), and inspect the tokens.
//!
//! `main` parses the command line and calls [`run`]; everything else lives here so tests
//! drive the same code the binary runs.

pub mod browser;
pub mod child_env;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error;
pub mod exit;
pub mod humanize;
pub mod login;
pub mod oauth;
pub mod paths;
pub mod qr;
pub mod sanitize;
pub mod secret;
pub mod session;
pub mod signals;
pub mod store;
pub mod token;

use cli::{Cli, Command};
use error::Error;
use exit::Exit;

/// Runs one command line.
pub async fn run(cli: Cli) -> Result<Exit, Error> {
    install_crypto_provider();
    let result = match cli.command {
        None => commands::dashboard().await,
        Some(command) => run_command(command).await,
    };
    // A refresh (or a login's save) still running, e.g. behind a dashboard that quit, is
    // finished before the process exits: the server may already have rotated the token.
    session::critical::settle(std::time::Duration::from_secs(120)).await;
    match (session::critical::interrupted(), result) {
        (None, result) => result,
        // A signal arrived during a critical section: the work is done, now obey it.
        (Some(signal), Err(e)) => {
            report_error(&e);
            Ok(Exit::Signal(signal))
        }
        (Some(signal), Ok(_)) => Ok(Exit::Signal(signal)),
    }
}

/// Runs `cli` at once when its command needs no async runtime, else returns `None` and the
/// caller starts one for [`run`]. Today that is an `inspect` with nothing to fetch and no
/// screen to draw; it is benchmarked against jwt-cli, and setting up a runtime (an epoll
/// instance, a signal pipe, timers) would be most of what it does besides the check.
pub fn run_without_runtime(cli: &Cli) -> Option<Result<Exit, Error>> {
    match &cli.command {
        Some(Command::Inspect(args)) if commands::inspect_needs_no_runtime(args) => {
            install_crypto_provider();
            Some(commands::inspect_without_runtime(args))
        }
        _ => None,
    }
}

async fn run_command(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Login(args) => commands::login(args).await,
        Command::Token(args) => commands::token(args).await,
        Command::Api(args) => commands::api(args).await,
        Command::Status(args) => commands::status(args).await,
        Command::Refresh(args) => commands::refresh(args).await,
        Command::Logout(args) => commands::logout(args).await,
        Command::Doctor(args) => commands::doctor(args).await,
        Command::Demo(args) => commands::demo(args).await,
        Command::Serve(args) => commands::serve(args).await,
        Command::Inspect(args) => commands::inspect(args).await,
        Command::Completions { shell } => commands::completions(shell, &mut std::io::stdout()),
        Command::Man { dir } => commands::man(dir.as_deref(), &mut std::io::stdout()),
        Command::Exec(args) => commands::exec(args).await,
        Command::GitCredential(args) => commands::git_credential(args).await,
        Command::KubectlCredential(args) => commands::kubectl_credential(args).await,
        Command::DockerCredential(args) => commands::docker_credential(args).await,
        Command::Setup(args) => commands::setup(args).await,
    }
}

/// jsonwebtoken 11 panics at run time unless a crypto provider is chosen, and caches the
/// failure (Keats/jsonwebtoken#540), so this runs before any JWT work.
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

/// Prints a failure the one way tvlogin prints failures: escaped, one line, plus a hint.
pub fn report_error(error: &Error) {
    if *error == Error::Cancelled {
        eprintln!("tvlogin: cancelled");
        return;
    }
    eprintln!("tvlogin: error: {}", sanitize::escape(&error.to_string()));
    if let Some(hint) = error.hint() {
        eprintln!("tvlogin: hint: {}", sanitize::escape(&hint));
    }
}
pub mod tui;
