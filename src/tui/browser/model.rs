//! The browser-login screen's model, changed only by [`update`](super::update()). Time
//! arrives with each message, so every state renders the same way in tests.

use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use url::Url;

use crate::error::Error;
use crate::exit::Exit;
use crate::tui::caps::ColorMode;

/// Facts about this login that do not change while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The profile being logged in.
    pub profile: String,
    /// Which server, for the title.
    pub server: String,
    /// Colour capability.
    pub colors: ColorMode,
    /// Why no browser is opened here, if none is.
    pub no_browser: Option<String>,
}

/// Where the login is.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Reading the provider's configuration and opening the listener.
    Starting,
    /// The URL is out; waiting for the browser's answer.
    Waiting {
        /// The authorization URL.
        url: Url,
        /// Where the answer comes back.
        redirect: Url,
        /// Whether a browser was opened (or why not).
        opened: Result<(), String>,
        /// When the wait began (the countdown runs from here).
        since: Instant,
    },
    /// Logged in; the tokens went to `location`.
    LoggedIn {
        /// Where the tokens are kept.
        location: String,
    },
    /// The login ended without tokens.
    Failed(Error),
}

/// An input to [`update`](super::update()).
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// The 1 s tick.
    Tick,
    /// A signal: stop.
    Terminate,
    /// The listener is up and the URL built; the browser opened or not.
    Listening {
        /// The authorization URL.
        url: Url,
        /// Where the answer comes back.
        redirect: Url,
        /// Whether a browser was opened.
        opened: Result<(), String>,
    },
    /// The login finished: where the tokens went, or why not.
    Finished(Result<String, Error>),
}

/// What [`update`](super::update()) asks the screen to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Copy text to the clipboard (OSC 52).
    Copy(String),
    /// Stop the login (the listener closes).
    Cancel,
}

/// The whole model.
#[derive(Debug, Clone)]
pub struct BrowserApp {
    /// Session facts.
    pub ctx: Context,
    /// Where the login is.
    pub stage: Stage,
    /// How long the browser's answer is awaited.
    pub timeout: Duration,
    /// Whether the help overlay is open.
    pub help: bool,
    /// A short notice ("URL copied") and when it goes.
    pub toast: Option<(String, Instant)>,
    /// Set when the screen is done, with the exit code.
    pub exit: Option<Exit>,
    /// The instant of the latest message.
    pub now: Instant,
    /// Whether something visible changed since the last draw.
    pub dirty: bool,
}

impl BrowserApp {
    /// A login starting at `now`.
    pub fn new(ctx: Context, timeout: Duration, now: Instant) -> Self {
        Self {
            ctx,
            stage: Stage::Starting,
            timeout,
            help: false,
            toast: None,
            exit: None,
            now,
            dirty: true,
        }
    }

    /// Time left for the browser's answer.
    pub fn remaining(&self) -> Option<Duration> {
        match &self.stage {
            Stage::Waiting { since, .. } => Some(
                since
                    .checked_add(self.timeout)
                    .map_or(Duration::ZERO, |end| {
                        end.saturating_duration_since(self.now)
                    }),
            ),
            _ => None,
        }
    }

    /// Returns whether a redraw is due, and clears the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }
}
