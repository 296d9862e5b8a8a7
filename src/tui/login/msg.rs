//! What flows into the model ([`Msg`]) and what it asks the runtime to do ([`Effect`]).

use std::time::Instant;

use crate::secret::DeviceCode;
use crossterm::event::KeyEvent;
use url::Url;

use crate::error::Error;
use crate::oauth::device::DeviceAuthorization;
use crate::oauth::discovery::Endpoints;
use crate::oauth::http::HttpError;
use crate::oauth::normalize::OAuthResponse;
use crate::oauth::token::TokenResponse;
use crate::store::Backend;

/// An input to [`update`](super::update()). Replies to effects carry the `attempt` they were started
/// for, so a reply that arrives after `r` started a new flow is recognised and dropped.
// Messages are moved once through a channel; boxing the poll answer would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Msg {
    /// A key was pressed (releases are filtered out by the runtime).
    Key(KeyEvent),
    /// The once-a-second tick that drives countdowns.
    Tick,
    /// The terminal changed size.
    Resized,
    /// SIGTERM or SIGHUP: end now.
    Terminate,
    /// Discovery finished.
    Discovered {
        /// The flow generation.
        attempt: u64,
        /// The endpoints or why not.
        result: Result<Endpoints, Error>,
    },
    /// The device authorization request finished.
    CodeIssued {
        /// The flow generation.
        attempt: u64,
        /// The code or why not.
        result: Result<DeviceAuthorization, Error>,
        /// When the answer arrived.
        at: Instant,
    },
    /// One poll was answered.
    Polled {
        /// The flow generation.
        attempt: u64,
        /// The server's answer or the transport error.
        answer: Result<OAuthResponse, HttpError>,
        /// When the answer arrived.
        at: Instant,
    },
    /// Storing the tokens finished.
    Saved {
        /// The flow generation.
        attempt: u64,
        /// Where they went, or why not.
        result: Result<String, String>,
    },
    /// A background action (browser, demo decision) reported back.
    Done {
        /// What to tell the person.
        text: String,
    },
}

/// Work for the runtime; results come back as [`Msg`]s.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Fetch the discovery document.
    Discover {
        /// The flow generation.
        attempt: u64,
    },
    /// Request a device code.
    RequestCode {
        /// The flow generation.
        attempt: u64,
        /// The device authorization endpoint.
        endpoint: Url,
    },
    /// Poll the token endpoint at `at`.
    Poll {
        /// The flow generation.
        attempt: u64,
        /// Not before this instant.
        at: Instant,
        /// The token endpoint.
        token_endpoint: Url,
        /// The device code to poll with.
        device_code: DeviceCode,
    },
    /// Store the tokens.
    Save {
        /// The flow generation.
        attempt: u64,
        /// The tokens.
        tokens: Box<TokenResponse>,
    },
    /// Keep the tokens of this login in this backend (the answer to the store question).
    UseStore(Backend),
    /// Abort work started for earlier attempts.
    CancelPending,
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Open a URL in the local browser.
    OpenBrowser(Url),
    /// `tvlogin demo` only: decide at the embedded server, as the phone would.
    DemoDecide {
        /// Approve (true) or deny.
        approve: bool,
        /// The code to decide.
        user_code: String,
    },
}
