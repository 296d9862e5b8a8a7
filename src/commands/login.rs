//! `tvlogin login`: resolve the configuration, run the device flow, report.

use std::sync::Arc;

use crate::app::qr::TextPolarity;
use crate::cli::LoginArgs;
use crate::config::{ConfigFile, LoginConfig};
use crate::error::Error;
use crate::exit::Exit;
use crate::login::{self, OutputMode, Reporter};
use crate::paths::Paths;
use crate::runtime::{self, executor::Storage};
use crate::sanitize::escape;
use crate::store::{self, StoreError};
use tvlogin_server::ServerHandle;

use crate::signals::stop_requested;

/// `tvlogin login`. With `--json`, every failure ends the output with its `error` event,
/// those found before any request (configuration, the state file) included.
pub async fn login(args: LoginArgs) -> Result<Exit, Error> {
    let config = match configure(&args).await {
        Ok(config) => config,
        Err(e) => {
            if args.json {
                let mut reporter =
                    Reporter::new(OutputMode::Json, std::io::stdout(), std::io::stderr());
                reporter.error(&e);
            }
            return Err(e);
        }
    };
    if !args.json && !args.no_tui && runtime::tui_possible() {
        return run_tui(config, None, args.no_browser).await;
    }
    let mode = if args.json {
        OutputMode::Json
    } else {
        OutputMode::Plain
    };
    let qr = plain_qr(mode, args.no_qr);
    run_login(&config, mode, qr).await
}

/// The login's configuration: flags over the config file's profile over the remembered login.
async fn configure(args: &LoginArgs) -> Result<LoginConfig, Error> {
    let paths = Paths::from_env()?;
    let path = paths.config_file();
    let file = ConfigFile::load(&path)?;
    // How the profile last logged in is the lowest layer: `login --profile P` alone again.
    let profile = args
        .profile
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_PROFILE.into());
    let remembered = crate::session::remembered_login(&paths, &profile).await?;
    LoginConfig::resolve_remembering(
        args,
        &file,
        &path,
        &|var| std::env::var(var).ok(),
        remembered.as_ref(),
    )
}

/// How plain mode prints the QR code on stderr: only when stderr is a terminal (never into
/// a pipe or a log), not with `--json` or `--no-qr`; under NO_COLOR drawn for the
/// terminal's background.
pub(super) fn plain_qr(mode: OutputMode, no_qr: bool) -> Option<TextPolarity> {
    use std::io::IsTerminal;
    let term_ok = std::env::var("TERM").map_or(true, |t| t != "dumb");
    if mode != OutputMode::Plain || no_qr || !std::io::stderr().is_terminal() || !term_ok {
        return None;
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Some(if !no_color {
        TextPolarity::Colors
    } else if runtime::dark_background() {
        TextPolarity::Reverse
    } else {
        TextPolarity::Plain
    })
}

/// Runs the login screen; `server` is the embedded server when this is `tvlogin demo`.
pub(super) async fn run_tui(
    config: LoginConfig,
    server: Option<Arc<ServerHandle>>,
    no_browser: bool,
) -> Result<Exit, Error> {
    let (mut ctx, storage, problem) = screen_parts(&config, server.is_some()).await?;
    if no_browser {
        ctx.no_browser = Some("--no-browser was given".into());
    }
    let (exit, summary) =
        runtime::run_login(Arc::new(config), ctx, server, storage, problem).await?;
    if let Some(line) = summary {
        eprintln!("tvlogin: {}", escape(&line));
    }
    Ok(exit)
}

/// What the login screen needs besides the configuration: its context, and where the tokens
/// go. The store is probed first: a missing keyring becomes a question on the first screen,
/// not a failure after the person has approved.
pub async fn screen_parts(
    config: &LoginConfig,
    demo: bool,
) -> Result<(crate::app::Context, Storage, Option<String>), Error> {
    let ctx = runtime::context(&config.profile, &login::server_label(config), demo);
    let paths = Paths::from_env()?;
    let (choice, problem) = match store::choose(&paths, config).await {
        Ok(choice) => (Some(choice), None),
        Err(StoreError::KeyringUnavailable { reason }) => (None, Some(reason)),
        Err(e) => return Err(e.into()),
    };
    Ok((ctx, Storage { paths, choice }, problem))
}

/// Runs a login with the process's stdout/stderr, cancelled by Ctrl-C or SIGTERM.
pub(super) async fn run_login(
    config: &LoginConfig,
    mode: OutputMode,
    qr: Option<TextPolarity>,
) -> Result<Exit, Error> {
    let mut reporter = Reporter::new(mode, std::io::stdout(), std::io::stderr()).with_qr(qr);
    // Ctrl-C cancels the device flow; once tokens exist, storing them runs to completion.
    let result = crate::session::login_and_store_until(config, &mut reporter, stop_requested())
        .await
        .map(|_| Exit::Ok);
    if let Err(e) = &result {
        reporter.error(e);
    }
    result
}
