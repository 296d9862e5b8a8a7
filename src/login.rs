//! The login use case: the device flow run to its end ([`login`]), its tokens stored
//! ([`login_and_store`]: the store picked and probed first, the session written through the
//! session layer), and the whole reported as plain text on stderr or as JSON lines on stdout
//! (`--json`, events per the command-line contract) by a [`Reporter`]. The plain login, the
//! demo and the credential helpers' inline login run it; the login screen runs the same flow
//! steps through its own executor. Secrets are never written. Text that came from the server
//! is shown with visible escapes in plain text, and carried exactly in JSON values (the
//! dangerous characters as JSON `\u` escapes, by [`crate::sanitize::json`]): never escaped for
//! people first, which a script would read as altered text.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::secret::DeviceCode;
use serde_json::{Value, json};
use url::Url;

use crate::config::{EndpointSource, LoginConfig};
use crate::error::Error;
use crate::humanize;
use crate::oauth::client::OAuthClient;
use crate::oauth::device::{self, DeviceAuthorization};
use crate::oauth::discovery::{self, Endpoints};
use crate::oauth::driver::{PollTransport, TokioTimer, poll_until_done};
use crate::oauth::http::{Http, HttpError};
use crate::oauth::normalize::OAuthResponse;
use crate::oauth::poll::{Next, PollOutcome, Poller, Step};
use crate::oauth::token::TokenResponse;
use crate::paths::Paths;
use crate::sanitize::escape;
use crate::session;
use crate::store::{self, Backend, Stored};
use crate::token;

/// What a successful device flow produced: the tokens, and the endpoints they came from
/// (refresh and revocation need them later).
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The token response.
    pub tokens: TokenResponse,
    /// The endpoints used (discovered, or as configured).
    pub endpoints: Endpoints,
}

/// How the flow is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Sentences on stderr.
    Plain,
    /// One JSON object per line on stdout.
    Json,
}

/// A QR code of `data` as terminal text: half-block characters whose shapes carry the
/// modules (`█`, `▀`, `▄`), drawn black on white whatever the terminal's theme, with a quiet
/// zone of two modules. `None` when the data does not fit a QR code.
pub fn qr_text(data: &str) -> Option<String> {
    use qrcode::{Color, EcLevel, QrCode};
    const QUIET: usize = 2;
    let code = QrCode::with_error_correction_level(data, EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    let dark = |x: usize, y: usize| {
        x >= QUIET
            && y >= QUIET
            && x - QUIET < width
            && y - QUIET < width
            && colors[(y - QUIET) * width + (x - QUIET)] == Color::Dark
    };
    let mut out = String::new();
    for y in (0..size).step_by(2) {
        // Black foreground on a white background, then the shapes.
        out.push_str("  \x1b[30;107m");
        for x in 0..size {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str("\x1b[0m\n");
    }
    Some(out)
}

/// Writes the flow's progress. Generic over the writers so tests capture both streams.
pub struct Reporter<O: Write, E: Write> {
    mode: OutputMode,
    out: O,
    err: E,
    last_interval: Option<Duration>,
    qr: Option<crate::qr::TextPolarity>,
}

impl<O: Write, E: Write> Reporter<O, E> {
    /// A reporter writing events to `out` (JSON) or `err` (plain).
    pub fn new(mode: OutputMode, out: O, err: E) -> Self {
        Self {
            mode,
            out,
            err,
            last_interval: None,
            qr: None,
        }
    }

    /// Also prints the QR code in plain mode (the caller checked that stderr is a terminal).
    pub fn with_qr(mut self, polarity: Option<crate::qr::TextPolarity>) -> Self {
        self.qr = polarity;
        self
    }

    /// Gives the writers back (tests read them).
    pub fn into_inner(self) -> (O, E) {
        (self.out, self.err)
    }

    fn event(&mut self, value: Value) {
        // A closed stdout (`| head`) must not abort the login: the tokens still matter.
        let _ = writeln!(self.out, "{}", crate::sanitize::json(&value));
        let _ = self.out.flush();
    }

    fn say(&mut self, line: &str) {
        let _ = writeln!(self.err, "{line}");
    }

    /// Which server this is about, before anything is sent.
    pub fn starting(&mut self, profile: &str, server: &str) {
        if self.mode == OutputMode::Plain {
            self.say(&format!(
                "Signing in to {} (profile {:?})",
                escape(server),
                escape(profile)
            ));
        }
    }

    /// The code and where to enter it.
    pub fn device_authorization(&mut self, auth: &DeviceAuthorization) {
        self.last_interval = Some(auth.interval);
        match self.mode {
            OutputMode::Json => self.event(json!({
                "event": "device_authorization",
                "user_code": auth.user_code,
                "verification_uri": auth.verification_uri.as_str(),
                "verification_uri_complete": auth.verification_uri_complete.as_ref().map(Url::as_str),
                "expires_in": auth.expires_in.as_secs(),
                "interval": auth.interval.as_secs(),
                "message": auth.message,
            })),
            OutputMode::Plain => {
                // One wording about phones, chosen from the address (loopback: this machine only).
                let reach = crate::oauth::reach::Reach::of(&auth.verification_uri);
                let open = format!("1. {}:", reach.open_step());
                let enter = "2. Enter the code:";
                let width = open.chars().count().max(enter.len());
                let mut text = format!(
                    "\n  {open:<width$} {}\n  {enter:<width$} {}\n",
                    auth.verification_uri,
                    escape(&auth.user_code)
                );
                if let Some(complete) = &auth.verification_uri_complete {
                    text.push_str(&format!(
                        "\n  Or open this link, which has the code filled in:\n     {complete}\n"
                    ));
                }
                if let Some(message) = &auth.message {
                    text.push_str(&format!("\n  The server says: {}\n", escape(message)));
                }
                let qr_url = auth
                    .verification_uri_complete
                    .as_ref()
                    .unwrap_or(&auth.verification_uri);
                if let Some(lines) = self
                    .qr
                    .and_then(|p| crate::qr::text_lines(qr_url.as_str(), p))
                {
                    text.push_str(&format!("\n  {}\n\n", reach.qr_caption()));
                    for line in lines {
                        text.push_str(&format!("  {line}\n"));
                    }
                }
                text.push_str(&format!(
                    "\n  The code expires in {}.\n\nWaiting for approval (polling every {}; Ctrl-C to cancel)",
                    humanize::duration(auth.expires_in),
                    humanize::duration(auth.interval)
                ));
                self.say(&text);
            }
        }
    }

    /// One answered poll.
    pub fn step(&mut self, step: &Step) {
        let next_in = Poller::next_poll_in(step);
        match self.mode {
            OutputMode::Json => {
                let mut event = json!({
                    "event": "poll",
                    "attempt": step.attempt,
                    "outcome": step.outcome.name(),
                    "next_poll_in": next_in.map(|d| d.as_secs()),
                });
                if let PollOutcome::Transient { reason, .. } = &step.outcome {
                    event["error_description"] = Value::from(reason.as_str());
                }
                self.event(event);
                if let PollOutcome::SlowDown { interval } = step.outcome {
                    self.event(json!({"event": "slow_down", "interval": interval.as_secs()}));
                }
            }
            OutputMode::Plain => {
                let next = match (step.next, next_in) {
                    (_, Some(d)) => format!("next poll in {}", humanize::duration(d)),
                    (Next::ExpireAt(_), _) => "the code expires before another poll is due".into(),
                    _ => String::new(),
                };
                let line = match &step.outcome {
                    PollOutcome::Pending => {
                        format!("  poll {}: not approved yet; {next}", step.attempt)
                    }
                    PollOutcome::SlowDown { interval } => {
                        self.last_interval = Some(*interval);
                        format!(
                            "  poll {}: the server asked to slow down; polling every {} from now on; {next}",
                            step.attempt,
                            humanize::duration(*interval)
                        )
                    }
                    PollOutcome::Transient { reason, .. } => format!(
                        "  poll {}: {}; retrying ({next})",
                        step.attempt,
                        escape(reason)
                    ),
                    PollOutcome::Tokens(_) => format!("  poll {}: approved", step.attempt),
                    PollOutcome::Finished(e) => {
                        format!("  poll {}: {}", step.attempt, escape(&e.code()))
                    }
                };
                self.say(&line);
            }
        }
    }

    /// What was received and where it was stored, never the secrets themselves.
    pub fn tokens(&mut self, tokens: &TokenResponse, profile: &str, stored: &Stored) {
        match self.mode {
            OutputMode::Json => self.event(json!({
                "event": "tokens",
                "token_type": tokens.token_type,
                "expires_in": tokens.expires_in,
                "scope": tokens.scope,
                "has_refresh_token": tokens.refresh_token.is_some(),
                "has_id_token": tokens.id_token.is_some(),
                "refresh_token_expires_in": tokens.refresh_expires_in,
                "store": stored.backend.name(),
            })),
            OutputMode::Plain => {
                let who = token::who(tokens)
                    .label
                    .map(|label| format!(" as {}", escape(&label)))
                    .unwrap_or_default();
                let expiry = tokens
                    .expires_in
                    .map(|s| {
                        format!(
                            ", expires in {}",
                            humanize::duration(Duration::from_secs(s))
                        )
                    })
                    .unwrap_or_else(|| ", no expiry given".into());
                let refresh = match (&tokens.refresh_token, tokens.refresh_expires_in) {
                    (Some(_), Some(s)) => format!(
                        "received (expires in {})",
                        humanize::duration(Duration::from_secs(s))
                    ),
                    (Some(_), None) => "received".into(),
                    (None, _) => "none".into(),
                };
                let text = format!(
                    "\nLogged in{who} (profile {:?}).\n  access token:  {}{expiry}\n  scope:         {}\n  refresh token: {refresh}\n  id token:      {}\n  stored in:     {}",
                    escape(profile),
                    escape(&tokens.token_type),
                    tokens
                        .scope
                        .as_deref()
                        .map(escape)
                        .unwrap_or_else(|| "(as requested)".into()),
                    if tokens.id_token.is_some() {
                        "received"
                    } else {
                        "none"
                    },
                    escape(&stored.location),
                );
                self.say(&text);
            }
        }
    }

    /// The flow failed. Plain mode leaves the message to the caller (one place prints errors).
    pub fn error(&mut self, error: &Error) {
        if self.mode == OutputMode::Json {
            self.event(json!({
                "event": "error",
                "error": error.code(),
                "error_description": error.to_string(),
                "exit_code": error.exit().code(),
            }));
        }
    }
}

/// Endpoints from discovery (with explicit settings applied over them) or as configured.
pub async fn resolve_endpoints(http: &Http, config: &LoginConfig) -> Result<Endpoints, Error> {
    match &config.source {
        EndpointSource::Fixed(endpoints) => Ok(endpoints.clone()),
        EndpointSource::Discover(issuer) => {
            let explicit = config.overrides.explicit();
            match discovery::fetch_metadata(http, issuer).await {
                Ok(metadata) => metadata.endpoints(explicit),
                // Both endpoints a login needs were given: an issuer without metadata only
                // costs the optional ones.
                Err(_) if explicit.device_authorization.is_some() && explicit.token.is_some() => {
                    let empty = discovery::Metadata {
                        issuer: issuer.as_str().trim_end_matches('/').to_owned(),
                        ..discovery::Metadata::default()
                    };
                    empty.endpoints(explicit)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// Which server a login talks to, for people: the issuer, else the device endpoint's origin.
pub fn server_label(config: &LoginConfig) -> String {
    match &config.source {
        EndpointSource::Discover(issuer) => issuer.as_str().trim_end_matches('/').to_owned(),
        EndpointSource::Fixed(e) => e
            .issuer
            .clone()
            .unwrap_or_else(|| e.device_authorization.origin().ascii_serialization()),
    }
}

/// One device token request at a time, over HTTP.
struct HttpPoll<'a> {
    http: &'a Http,
    client: &'a OAuthClient,
    token_endpoint: &'a Url,
    device_code: &'a DeviceCode,
}

impl PollTransport for HttpPoll<'_> {
    fn poll(&self) -> impl Future<Output = Result<OAuthResponse, HttpError>> + Send {
        device::poll_once(
            self.http,
            self.client,
            self.token_endpoint,
            self.device_code,
        )
    }
}

/// Runs the whole device flow, reporting as it goes. Errors are returned, not reported:
/// the caller reports them once. The `tokens` event is the caller's, once it has stored
/// them (`session::login_and_store`), so it can say where they went.
pub async fn login<O: Write, E: Write>(
    config: &LoginConfig,
    reporter: &mut Reporter<O, E>,
) -> Result<LoginOutcome, Error> {
    let http = Http::new(config.http).map_err(Error::Other)?;
    reporter.starting(&config.profile, &server_label(config));
    let endpoints = resolve_endpoints(&http, config).await?;
    // Refuse a remote http:// token endpoint before the device request, not after the
    // person has already typed the code.
    http.check_url(&endpoints.token)?;
    let auth = device::request_device_authorization(
        &http,
        &config.client,
        &endpoints.device_authorization,
        &config.request,
    )
    .await?;
    let issued = Instant::now();
    reporter.device_authorization(&auth);
    let mut poller = Poller::new(auth.interval, auth.expires_in, issued);
    let transport = HttpPoll {
        http: &http,
        client: &config.client,
        token_endpoint: &endpoints.token,
        device_code: &auth.device_code,
    };
    let tokens = poll_until_done(&mut poller, issued, &TokioTimer, &transport, |step| {
        reporter.step(step)
    })
    .await?;
    Ok(LoginOutcome { tokens, endpoints })
}

// ----- the use case: flow, store, report -----

/// `login` without the TUI: picks and probes the store (failing before the device flow when
/// it cannot work), runs the flow, stores the tokens, then reports where they went. Never
/// cancelled from inside; see [`login_and_store_until`] for a login that a signal may stop.
pub async fn login_and_store<O: Write, E: Write>(
    config: &LoginConfig,
    reporter: &mut Reporter<O, E>,
) -> Result<Stored, Error> {
    login_and_store_until(config, reporter, std::future::pending()).await
}

/// [`login_and_store`], stopped by `cancel` (Ctrl-C, SIGTERM) while the device flow runs:
/// then `Err(Error::Cancelled)`. Once the server has issued tokens, `cancel` is no longer
/// listened to: storing them runs to completion (on a task of its own, so even dropping this
/// future does not stop it part-way), and the result says where they went.
pub async fn login_and_store_until<O: Write, E: Write>(
    config: &LoginConfig,
    reporter: &mut Reporter<O, E>,
    cancel: impl Future<Output = ()>,
) -> Result<Stored, Error> {
    let paths = match (config.store, Paths::from_env()) {
        (_, Ok(paths)) => paths,
        // Memory needs no directories; do not fail a demo for want of a home directory.
        (Some(Backend::Memory), Err(_)) => Paths {
            config_dir: std::env::temp_dir(),
            data_dir: std::env::temp_dir(),
        },
        (_, Err(e)) => return Err(e),
    };
    let flow = async {
        let choice = store::choose(&paths, config).await?;
        let outcome = login(config, &mut *reporter).await?;
        Ok::<_, Error>((choice, outcome))
    };
    let (choice, outcome) = tokio::select! {
        result = flow => result?,
        () = cancel => return Err(Error::Cancelled),
    };
    let stored = session::persist_login_detached(
        paths,
        config.clone(),
        outcome.endpoints.clone(),
        outcome.tokens.clone(),
        choice,
    )
    .await?;
    reporter.tokens(&outcome.tokens, &config.profile, &stored);
    Ok(stored)
}
