//! The one owner of the terminal: a loop that `select!`s over key events, a 1 s tick, effect
//! results and signals, feeds each as a [`Msg`] to the pure `update`, starts the returned
//! effects, and redraws only when the model says something visible changed.

pub mod executor;
pub mod terminal;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::app::{App, Context, Flow, Msg, update};
use crate::config::{EndpointSource, LoginConfig};
use crate::error::Error;
use crate::exit::Exit;
use crate::oauth::http::Http;
use crate::server::ServerHandle;
use crate::ui::theme::color_mode;
use executor::{Executor, Storage};
use terminal::TerminalGuard;

/// Whether this process can show the TUI: both ends are terminals and the terminal is not
/// `dumb`.
pub fn tui_possible() -> bool {
    std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Whether output can be a TUI when the input was piped in: stdout is a terminal and the
/// terminal is not `dumb` (keys are then read from the controlling terminal).
pub fn tui_output_possible() -> bool {
    std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Session facts from the environment.
pub fn context(profile: &str, server: &str, demo: bool) -> Context {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Context {
        profile: profile.to_owned(),
        server: server.to_owned(),
        demo,
        no_browser: no_browser_reason(&var),
        colors: color_mode(
            std::env::var("NO_COLOR").ok().as_deref(),
            var("COLORTERM").as_deref(),
        ),
        hyperlinks: !matches!(var("TERM").as_deref(), Some("linux" | "dumb")),
    }
}

/// Why opening a browser here would be wrong: over SSH it opens on the remote machine, without
/// a display it cannot, and text browsers would fight the TUI for the terminal.
fn no_browser_reason(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if var("SSH_CONNECTION").is_some() || var("SSH_TTY").is_some() {
        return Some("this is an SSH session".into());
    }
    if cfg!(all(unix, not(target_os = "macos")))
        && var("DISPLAY").is_none()
        && var("WAYLAND_DISPLAY").is_none()
    {
        return Some("there is no display here".into());
    }
    let text_browsers = ["lynx", "w3m", "links", "elinks", "browsh"];
    if var("BROWSER").is_some_and(|b| text_browsers.iter().any(|t| b.contains(t))) {
        return Some("BROWSER is a text browser".into());
    }
    None
}

/// Runs the login screen until the person leaves. Returns the exit code and a line to print
/// once the terminal is restored.
pub async fn run_login(
    config: Arc<LoginConfig>,
    ctx: Context,
    server: Option<Arc<ServerHandle>>,
    storage: Storage,
    store_problem: Option<String>,
) -> Result<(Exit, Option<String>), Error> {
    let mut guard = TerminalGuard::enter()
        .map_err(|e| Error::Other(format!("cannot set up the terminal: {e}")))?;
    let mut events = EventStream::new();
    let mut signals = Signals::new();
    let mut screen = Screen {
        guard: &mut guard,
        events: &mut events,
        signals: &mut signals,
    };
    let ended = drive_login(&mut screen, config, ctx, server, storage, store_problem).await?;
    Ok((ended.exit, ended.summary))
}

/// A terminal already set up, with its key stream and signals: the login screen can run on
/// one owned by someone else (the dashboard), so the two share one terminal session.
pub struct Screen<'a> {
    /// The raw-mode alternate screen.
    pub guard: &'a mut TerminalGuard,
    /// Key and resize events.
    pub events: &'a mut EventStream,
    /// Termination signals.
    pub signals: &'a mut Signals,
}

/// How a login screen ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginEnded {
    /// The exit code.
    pub exit: Exit,
    /// The line describing the outcome.
    pub summary: Option<String>,
    /// A signal (not a key) ended it: whoever called should stop too.
    pub signalled: bool,
}

/// Runs the login screen on `screen` until the person leaves.
pub async fn drive_login(
    screen: &mut Screen<'_>,
    config: Arc<LoginConfig>,
    ctx: Context,
    server: Option<Arc<ServerHandle>>,
    storage: Storage,
    store_problem: Option<String>,
) -> Result<LoginEnded, Error> {
    let http = Http::new(config.http).map_err(Error::Other)?;
    let endpoints = match &config.source {
        EndpointSource::Fixed(e) => {
            http.check_url(&e.token)?;
            Some(e.clone())
        }
        EndpointSource::Discover(_) => None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let file = crate::store::StoreChoice::file(&storage.paths, &config.profile).location;
    let mut executor = Executor::new(http, config, server, storage, tx);
    let mut app = App::new(ctx, endpoints, Instant::now());
    if let Some(reason) = store_problem {
        app = app.asking_for_store(reason, file);
    }
    executor.set_endpoints(app.endpoints.clone());

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signalled = false;
    for effect in app.start() {
        executor.run(effect);
    }
    loop {
        if app.take_dirty() {
            screen
                .guard
                .terminal()
                .draw(|frame| frame.render_widget(&app, frame.area()))
                .map_err(|e| Error::Other(format!("cannot draw: {e}")))?;
        }
        if let Some(exit) = app.exit {
            return Ok(LoginEnded {
                exit,
                summary: summary(&app),
                signalled,
            });
        }
        let msg = tokio::select! {
            event = screen.events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Some(Ok(Event::Resize(..))) => Msg::Resized,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(Error::Other(format!("cannot read the terminal: {e}"))),
                // The terminal went away (hangup): stop as if cancelled.
                None => {
                    signalled = true;
                    Msg::Terminate
                }
            },
            Some(msg) = rx.recv() => msg,
            _ = tick.tick() => Msg::Tick,
            () = screen.signals.recv() => {
                signalled = true;
                Msg::Terminate
            }
        };
        let discovered = matches!(msg, Msg::Discovered { .. });
        for effect in update(&mut app, msg, Instant::now()) {
            executor.run(effect);
        }
        if discovered {
            executor.set_endpoints(app.endpoints.clone());
        }
    }
}

/// The line left in the scrollback after the alternate screen is gone.
fn summary(app: &App) -> Option<String> {
    match &app.flow {
        Flow::Approved(a) => Some(match &a.saved {
            crate::app::Saved::Done(place) => format!(
                "logged in (profile {}); tokens stored in {place}",
                app.ctx.profile
            ),
            crate::app::Saved::Failed(why) => format!(
                "logged in (profile {}), but the tokens were not stored: {why}",
                app.ctx.profile
            ),
            crate::app::Saved::Saving => format!("logged in (profile {})", app.ctx.profile),
        }),
        Flow::Denied { error, .. } => Some(format!("access denied ({error})")),
        Flow::Expired { .. } => Some("the code expired before it was approved".into()),
        Flow::Failed(e) => Some(format!("login failed: {e}")),
        _ => Some("cancelled".into()),
    }
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT as one stream (Ctrl-C at the keyboard is a key in raw
/// mode; these come from elsewhere, and each must still restore the terminal).
pub struct Signals {
    #[cfg(unix)]
    signals: Vec<tokio::signal::unix::Signal>,
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

impl Signals {
    /// Listens for the four signals.
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                SignalKind::terminate(),
                SignalKind::hangup(),
                SignalKind::interrupt(),
                SignalKind::quit(),
            ];
            Self {
                signals: kinds.into_iter().filter_map(|k| signal(k).ok()).collect(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for any of them.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.signals.is_empty() {
                return std::future::pending().await;
            }
            let any = self.signals.iter_mut().map(|s| Box::pin(s.recv()));
            let _ = futures_util::future::select_all(any).await;
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}
