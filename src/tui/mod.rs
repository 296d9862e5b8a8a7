//! The terminal UI wing: every screen (the [`login`], the [`inspector`], the [`dashboard`])
//! has the same rooms — model, update, view, screen — and runs on one loop,
//! [`screen::run`], which `select!`s over key events, a 1 s tick, effect results and
//! signals, and redraws only when the screen on top says something visible changed.
//! [`terminal`] guards the terminal, [`theme`] and [`text`] style and fit what is drawn,
//! [`widgets`] are shared by the screens. Nothing below this module imports it.
//!
//! This module starts a screen and reads what the screens need from the environment.

pub mod browser;
pub mod caps;
pub mod dashboard;
pub mod inspector;
pub mod keys;
pub mod login;
pub mod screen;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod widgets;

use std::sync::Arc;
use std::time::Instant;

use crossterm::event::EventStream;

use crate::config::LoginConfig;
use crate::error::Error;
use crate::exit::Exit;
use crate::signals;
use crate::tui::login::Context;
use login::executor::{DemoDecide, Storage};
use login::screen::LoginScreen;
use screen::{Clock, Outcome, Screen, Sig};
use terminal::TerminalGuard;

/// Session facts from the environment.
pub fn context(profile: &str, server: &str, demo: bool) -> Context {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Context {
        profile: profile.to_owned(),
        server: server.to_owned(),
        demo,
        no_browser: no_browser_reason(&var),
        colors: caps::colors_for_background(),
        hyperlinks: caps::hyperlinks(),
        site: Default::default(),
    }
}

/// Why opening a browser here would be wrong: over SSH it opens on the remote machine, without
/// a display it cannot, and text browsers would fight the TUI for the terminal.
fn no_browser_reason(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    crate::browser::unavailable_reason(var)
}

/// Runs the login screen until the person leaves. Returns the exit code and a line to print
/// once the terminal is restored.
pub async fn run_login(
    config: Arc<LoginConfig>,
    ctx: Context,
    demo: Option<DemoDecide>,
    storage: Storage,
    store_problem: Option<String>,
) -> Result<(Exit, Option<String>), Error> {
    let screen = LoginScreen::new(config, ctx, demo, storage, store_problem, Instant::now())?;
    let ended = run_screen(Box::new(screen)).await?;
    Ok((ended.exit, ended.summary))
}

/// Runs the browser-login screen until the person leaves. Returns the exit code and a line
/// to print once the terminal is restored.
pub async fn run_browser_login(
    config: Arc<LoginConfig>,
    ctx: browser::Context,
    paths: crate::paths::Paths,
) -> Result<(Exit, Option<String>), Error> {
    let screen = browser::screen::BrowserScreen::new(config, ctx, paths, Instant::now());
    let ended = run_screen(Box::new(screen)).await?;
    Ok((ended.exit, ended.summary))
}

/// The browser-login screen's context for `config`: `no_browser` (`--no-browser`) or the
/// environment (SSH, no display) saying why no browser is opened.
pub fn browser_context(config: &LoginConfig, no_browser_flag: bool) -> browser::Context {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    browser::Context {
        profile: config.profile.clone(),
        server: crate::login::server_label(config),
        colors: caps::colors_for_background(),
        no_browser: if no_browser_flag {
            Some("--no-browser was given".into())
        } else {
            no_browser_reason(&var)
        },
    }
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT (stop), SIGTSTP (suspend) and SIGCONT (resume) as
/// one stream. Ctrl-C and Ctrl-Z at the keyboard are keys in raw mode; these come from
/// elsewhere (`kill`, a closing terminal, the shell's job control), and each must still leave
/// the terminal usable. Size changes (SIGWINCH) arrive as resize events.
pub fn signal_stream() -> impl futures_util::Stream<Item = Sig> + Unpin + Send {
    use futures_util::StreamExt as _;
    #[cfg(unix)]
    let listened = [
        signals::TERM,
        signals::HUP,
        signals::INT,
        signals::QUIT,
        signals::TSTP,
        signals::CONT,
    ];
    #[cfg(not(unix))]
    let listened = [signals::INT];
    signals::Listener::new(&listened).into_stream().map(sig_of)
}

/// What the runtime does with a signal's number.
fn sig_of(n: i32) -> Sig {
    #[cfg(unix)]
    if n == signals::TSTP {
        return Sig::Suspend;
    } else if n == signals::CONT {
        return Sig::Resume;
    }
    let _ = n;
    Sig::Stop
}

/// Runs `root` on the real terminal (raw mode, alternate screen, restored on every way out)
/// with the system's clocks; returns how it ended.
pub async fn run_screen(root: Box<dyn Screen>) -> Result<Outcome, Error> {
    let mut guard = TerminalGuard::enter()
        .map_err(|e| Error::Other(format!("cannot set up the terminal: {e}")))?;
    let mut events = EventStream::new();
    let mut signals = signal_stream();
    screen::run(root, &mut guard, &mut events, &mut signals, Clock::system()).await
}
