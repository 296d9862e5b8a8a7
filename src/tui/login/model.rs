//! The login TUI's model: everything the screen shows, changed only by [`update`](super::update::update).
//!
//! The model holds no IO handles and never reads the clock: time arrives as the `now` of each
//! message, so every state, countdown included, is reproducible in tests and snapshots.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::exit::Exit;
use crate::oauth::crossdevice::{Guidance, SiteCheck};
use crate::oauth::device::DeviceAuthorization;
use crate::oauth::discovery::Endpoints;
use crate::oauth::poll::{Next, Poller};
use crate::oauth::token::TokenResponse;

use super::msg::Effect;
use crate::qr::QrMatrix;
use crate::tui::caps::ColorMode;

/// Facts about this session that do not change while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The profile being logged in.
    pub profile: String,
    /// Which server, for the title (issuer or host).
    pub server: String,
    /// `tvlogin demo`: `a`/`d` approve and deny at the embedded server.
    pub demo: bool,
    /// Why `o` cannot open a browser here (SSH, no display), if it cannot.
    pub no_browser: Option<String>,
    /// Colour capability.
    pub colors: ColorMode,
    /// Whether to emit OSC 8 hyperlinks (real terminals; off in tests).
    pub hyperlinks: bool,
    /// What the verification page is compared with for the cross-device warning (the
    /// issuer, the preset's documented pages); the default compares with nothing.
    pub site: SiteCheck,
}

/// Where the flow is.
#[derive(Debug, Clone)]
pub enum Flow {
    /// The OS keyring does not work here: ask where the tokens should go before any code is
    /// requested (there is no silent fallback to a file).
    ChooseStore {
        /// Why the keyring is unavailable.
        reason: String,
        /// Where the file store would write, for the offer.
        file: String,
    },
    /// Fetching the issuer's discovery document.
    Discovering,
    /// Asking for a device code.
    Requesting,
    /// A code is shown; polling for approval.
    Waiting(Box<Waiting>),
    /// Tokens received.
    Approved(Box<Approved>),
    /// The person declined.
    Denied {
        /// The server's error code.
        error: String,
        /// The server's words.
        description: Option<String>,
    },
    /// The code expired.
    Expired {
        /// The server's words; `None` when tvlogin's deadline ended it.
        description: Option<String>,
    },
    /// Anything else that ended the flow.
    Failed(Error),
}

/// The waiting screen's state.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The code and where to enter it.
    pub auth: DeviceAuthorization,
    /// Where the code belongs, whose code to enter, and any warning about the page's site.
    pub guidance: Guidance,
    /// The QR code of [`DeviceAuthorization::qr_url`], encoded when the code arrived; `None`
    /// when the address is too long for any QR symbol.
    pub qr: Option<QrMatrix>,
    /// When the code was issued.
    pub issued: Instant,
    /// The pure poll state (interval, deadline, attempts).
    pub poller: Poller,
    /// What happens next.
    pub next: Next,
    /// The last answer, in words.
    pub last: Option<String>,
    /// A slow_down or transient-error notice.
    pub notice: Option<Notice>,
}

impl Waiting {
    /// Time left on the code at `now`.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.poller.deadline().saturating_duration_since(now)
    }

    /// The code's whole lifetime.
    pub fn lifetime(&self) -> Duration {
        self.poller
            .deadline()
            .saturating_duration_since(self.issued)
    }
}

/// Something the person should know while waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The server asked for slower polling; `interval` is now in force.
    SlowDown {
        /// The new interval.
        interval: Duration,
    },
    /// A transient failure; the next try is scheduled.
    Retrying {
        /// What went wrong (already escaped).
        reason: String,
    },
}

/// The success screen's state.
#[derive(Debug, Clone)]
pub struct Approved {
    /// What the server issued.
    pub tokens: TokenResponse,
    /// When the tokens arrived (for the access-token countdown).
    pub received: Instant,
    /// Where the tokens went.
    pub saved: Saved,
}

/// Progress of storing the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Being written.
    Saving,
    /// Written; the text says where.
    Done(String),
    /// Could not be written; the text says why.
    Failed(String),
}

/// A short message that disappears by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// The message.
    pub text: String,
    /// When it disappears.
    pub until: Instant,
}

/// How long toasts stay.
pub const TOAST_FOR: Duration = Duration::from_secs(4);

/// The whole model.
#[derive(Debug, Clone)]
pub struct App {
    /// Session facts.
    pub ctx: Context,
    /// Generation of the current flow; replies tagged with another are stale and dropped.
    pub attempt: u64,
    /// Endpoints, once known.
    pub endpoints: Option<Endpoints>,
    /// The flow's state.
    pub flow: Flow,
    /// Whether the help overlay is open.
    pub help: bool,
    /// A transient notice ("Code copied").
    pub toast: Option<Toast>,
    /// Set when the program should end, with its exit code.
    pub exit: Option<Exit>,
    /// The person asked to leave while the tokens were being saved: leave once they are.
    pub exit_after_save: bool,
    /// The instant of the latest message.
    pub now: Instant,
    /// Whether something visible changed since the last draw.
    pub dirty: bool,
}

impl App {
    /// A new session. Call [`App::start`] for the first effects.
    pub fn new(ctx: Context, endpoints: Option<Endpoints>, now: Instant) -> Self {
        Self {
            ctx,
            attempt: 1,
            flow: Self::first_step(endpoints.is_some()),
            endpoints,
            help: false,
            toast: None,
            exit: None,
            exit_after_save: false,
            now,
            dirty: true,
        }
    }

    /// A session that first asks where to keep the tokens, because the keyring failed.
    pub fn asking_for_store(mut self, reason: String, file: String) -> Self {
        self.flow = Flow::ChooseStore { reason, file };
        self
    }

    pub(super) fn first_step(endpoints_known: bool) -> Flow {
        if endpoints_known {
            Flow::Requesting
        } else {
            Flow::Discovering
        }
    }

    /// The effects that start the flow (none while a question is open).
    pub fn start(&self) -> Vec<Effect> {
        if matches!(self.flow, Flow::ChooseStore { .. }) {
            return vec![];
        }
        match &self.endpoints {
            Some(e) => vec![Effect::RequestCode {
                attempt: self.attempt,
                endpoint: e.device_authorization.clone(),
            }],
            None => vec![Effect::Discover {
                attempt: self.attempt,
            }],
        }
    }

    /// Returns whether a redraw is due, and clears the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }
}
