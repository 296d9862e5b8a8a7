//! `tvlogin login`: resolve the configuration, run the device flow, report.

use crate::cli::LoginArgs;
use crate::config::{ConfigFile, LoginConfig, Paths};
use crate::error::Error;
use crate::exit::Exit;
use crate::login::{self, OutputMode, Reporter};

use super::shutdown_signal;

/// `tvlogin login`.
pub async fn login(args: LoginArgs) -> Result<Exit, Error> {
    let paths = Paths::from_env()?;
    let path = paths.config_file();
    let file = ConfigFile::load(&path)?;
    let config = LoginConfig::resolve(&args, &file, &path, &|var| std::env::var(var).ok())?;
    let mode = if args.json {
        OutputMode::Json
    } else {
        OutputMode::Plain
    };
    run_login(&config, mode).await
}

/// Runs a login with the process's stdout/stderr, cancelled by Ctrl-C or SIGTERM.
pub(super) async fn run_login(config: &LoginConfig, mode: OutputMode) -> Result<Exit, Error> {
    let mut reporter = Reporter::new(mode, std::io::stdout(), std::io::stderr());
    let result = tokio::select! {
        result = login::login(config, &mut reporter) => result.map(|_| Exit::Ok),
        () = shutdown_signal() => Err(Error::Cancelled),
    };
    if let Err(e) = &result {
        reporter.error(e);
    }
    result
}
