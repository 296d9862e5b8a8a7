//! `tvlogin login`: resolve the configuration, run the device flow, report.

use std::sync::Arc;

use crate::cli::LoginArgs;
use crate::config::LoginConfig;
use crate::error::Error;
use crate::exit::Exit;
use crate::login::{self, OutputMode, Reporter};
use crate::oauth::authcode::LoginFlow;
use crate::paths::Paths;
use crate::qr::TextPolarity;
use crate::sanitize::escape;
use crate::store::{self, StoreError};
use crate::tui;
use crate::tui::login::executor::{DemoDecide, Storage};

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
    // A browser login (asked for, or what `auto` picks here) has a screen of its own.
    let browser_here = match config.flow {
        LoginFlow::Device => false,
        LoginFlow::Browser => true,
        LoginFlow::Auto => {
            !args.no_browser
                && crate::browser::unavailable_reason(&|v| std::env::var(v).ok()).is_none()
        }
    };
    if browser_here && !args.json && !args.no_tui && tui::caps::tui_possible() {
        let ctx = tui::browser_context(&config, args.no_browser);
        let (exit, summary) =
            tui::run_browser_login(Arc::new(config), ctx, Paths::from_env()?).await?;
        if let Some(line) = summary {
            eprintln!("tvlogin: {}", escape(&line));
        }
        return Ok(exit);
    }
    if !args.json && !args.no_tui && !browser_here && tui::caps::tui_possible() {
        return run_tui(config, None, args.no_browser).await;
    }
    let mode = if args.json {
        OutputMode::Json
    } else {
        OutputMode::Plain
    };
    let qr = plain_qr(mode, args.no_qr);
    run_login_with(&config, mode, qr, args.no_browser).await
}

/// The login's configuration: flags over the config file's profile over the remembered login.
async fn configure(args: &LoginArgs) -> Result<LoginConfig, Error> {
    let paths = Paths::from_env()?;
    // How the profile last logged in is the lowest layer: `login --profile P` alone again.
    crate::session::login_config(&paths, args.into(), &|var| std::env::var(var).ok(), None)
}

/// How plain mode prints the QR code on stderr: only when stderr is a terminal (never into
/// a pipe or a log), not with `--json` or `--no-qr`; under NO_COLOR drawn for the
/// terminal's background.
pub(super) fn plain_qr(mode: OutputMode, no_qr: bool) -> Option<TextPolarity> {
    use std::io::IsTerminal;
    if mode != OutputMode::Plain || no_qr || !std::io::stderr().is_terminal() || tui::caps::dumb() {
        return None;
    }
    Some(if !tui::caps::no_color() {
        TextPolarity::Colors
    } else if tui::caps::dark_background() {
        TextPolarity::Reverse
    } else {
        TextPolarity::Plain
    })
}

/// Runs the login screen; `demo` decides codes at the embedded server when this is
/// `tvlogin demo`.
pub(super) async fn run_tui(
    config: LoginConfig,
    demo: Option<DemoDecide>,
    no_browser: bool,
) -> Result<Exit, Error> {
    let (mut ctx, storage, problem) = screen_parts(&config, demo.is_some()).await?;
    if no_browser {
        ctx.no_browser = Some("--no-browser was given".into());
    }
    let (exit, summary) = tui::run_login(Arc::new(config), ctx, demo, storage, problem).await?;
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
) -> Result<(crate::tui::login::Context, Storage, Option<String>), Error> {
    let ctx = tui::context(&config.profile, &login::server_label(config), demo);
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
    run_login_with(config, mode, qr, false).await
}

/// [`run_login`], with `--no-browser`.
async fn run_login_with(
    config: &LoginConfig,
    mode: OutputMode,
    qr: Option<TextPolarity>,
    no_browser: bool,
) -> Result<Exit, Error> {
    let mut reporter = Reporter::new(mode, std::io::stdout(), std::io::stderr())
        .with_qr(qr)
        .with_no_browser(no_browser);
    // Ctrl-C cancels the device flow; once tokens exist, storing them runs to completion.
    let result = crate::login::login_and_store_until(config, &mut reporter, stop_requested())
        .await
        .map(|_| Exit::Ok);
    if let Err(e) = &result {
        reporter.error(e);
    }
    result
}
