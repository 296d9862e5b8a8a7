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
use crate::oauth::authcode::{self, AuthorizationServer, Callback, LoginFlow};
use crate::oauth::client::OAuthClient;
use crate::oauth::crossdevice::{Guidance, SiteCheck};
use crate::oauth::device::{self, DeviceAuthorization};
use crate::oauth::discovery::{self, Endpoints};
use crate::oauth::dpop::{self, Dpop, DpopKey};
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
    /// The key the session is bound to (DPoP), stored with the refresh token.
    pub dpop_key: Option<DpopKey>,
}

/// A new DPoP key for this login when it binds one ([`LoginConfig::wants_dpop`]), with the
/// algorithm the server takes. Asked for explicitly and impossible (the server lists only
/// algorithms tvlogin cannot sign with) is a configuration error; left to the server, the
/// login goes on unbound.
pub fn dpop_for_login(config: &LoginConfig, endpoints: &Endpoints) -> Result<Option<Dpop>, Error> {
    if !config.wants_dpop(endpoints) {
        return Ok(None);
    }
    match dpop::choose_alg(endpoints.dpop_algs.as_deref()) {
        Ok(alg) => DpopKey::generate(alg)
            .map(|key| Some(Dpop::new(key)))
            .map_err(|e| Error::Other(e.to_string())),
        Err(why) if config.dpop == Some(true) => Err(Error::Usage(format!(
            "--dpop cannot be used with this server: {why}"
        ))),
        Err(_) => Ok(None),
    }
}

/// What to say once when a DPoP login came back with a Bearer access token: the server did
/// not bind the access token (it may still have bound the refresh token).
pub fn bearer_notice(tokens: &TokenResponse, dpop: Option<&Dpop>) -> Option<String> {
    (dpop.is_some() && !tokens.token_type.eq_ignore_ascii_case("dpop")).then(|| {
        format!(
            "the server answered the DPoP login with token_type {:?}: the access token is not \
             bound to this machine's key (the refresh token is bound if the server did so)",
            tokens.token_type
        )
    })
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
    no_browser: bool,
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
            no_browser: false,
        }
    }

    /// `--no-browser`: the browser login never opens a browser (it prints the URL), and
    /// `--flow auto` uses the device flow.
    pub fn with_no_browser(mut self, no_browser: bool) -> Self {
        self.no_browser = no_browser;
        self
    }

    /// The browser login's address: where the browser was sent (or should be), and where
    /// its answer is awaited.
    pub fn authorization_url(
        &mut self,
        url: &Url,
        redirect: &Url,
        opened: &Result<(), String>,
        timeout: Duration,
    ) {
        match self.mode {
            OutputMode::Json => self.event(json!({
                "event": "authorization_url",
                "authorization_url": url.as_str(),
                "redirect_uri": redirect.as_str(),
                "browser_opened": opened.is_ok(),
                "expires_in": timeout.as_secs(),
            })),
            OutputMode::Plain => {
                let first = match opened {
                    Ok(()) => "A browser was opened to log in. If it did not open, open this address in a browser on this machine:".to_owned(),
                    Err(why) => format!(
                        "Open this address in a browser on this machine (no browser was opened: {}):",
                        escape(why)
                    ),
                };
                let port = redirect.port().unwrap_or(0);
                let ssh = if opened.as_ref().is_err_and(|why| why.contains("SSH")) {
                    format!(
                        "\n  Over SSH, forward the port from your own computer first: ssh -L {port}:127.0.0.1:{port} <this host>\n"
                    )
                } else {
                    String::new()
                };
                self.say(&format!(
                    "\n  {first}\n\n     {url}\n{ssh}\n  The browser's answer comes back to {redirect} (on this machine only).\n\nWaiting for the browser (up to {}; Ctrl-C to cancel)",
                    humanize::duration(timeout)
                ));
            }
        }
    }

    /// The provider refused the device grant to this client; `fallback` says the login goes on
    /// with the browser.
    pub fn device_refused(&mut self, error: &Error, fallback: bool) {
        match self.mode {
            OutputMode::Json => self.event(json!({
                "event": "device_grant_refused",
                "error": error.code(),
                "error_description": error.to_string(),
                "fallback": fallback.then_some("browser"),
            })),
            OutputMode::Plain => {
                let then = if fallback {
                    " Continuing with a browser login on this machine."
                } else {
                    ""
                };
                self.say(&format!(
                    "The provider does not allow the device flow for this client ({}).{then}",
                    escape(&error.to_string())
                ));
            }
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

    /// The code and where to enter it, with the cross-device guidance: the host on its own,
    /// whose code to enter, and any warning about where the page lives.
    pub fn device_authorization(&mut self, auth: &DeviceAuthorization, guidance: &Guidance) {
        self.last_interval = Some(auth.interval);
        match self.mode {
            OutputMode::Json => self.event(json!({
                "event": "device_authorization",
                "user_code": auth.user_code,
                "verification_uri": auth.verification_uri.as_str(),
                "verification_uri_complete": auth.verification_uri_complete.as_ref().map(Url::as_str),
                "verification_host": guidance.host,
                "expires_in": auth.expires_in.as_secs(),
                "interval": auth.interval.as_secs(),
                "message": auth.message,
                "warnings": guidance.warnings,
            })),
            OutputMode::Plain => {
                // One wording about phones, chosen from the address (loopback: this machine only).
                let reach = crate::oauth::reach::Reach::of(&auth.verification_uri);
                let open = format!("1. {}:", reach.open_step());
                let enter = "2. Enter the code:";
                let only = "   only at:";
                let width = open.chars().count().max(enter.len());
                let mut text = format!(
                    "\n  {open:<width$} {}\n  {enter:<width$} {}\n  {only:<width$} {}\n",
                    auth.verification_uri,
                    escape(&auth.user_code),
                    guidance.host,
                );
                for warning in &guidance.warnings {
                    text.push_str(&format!("\n  Warning: {warning}\n"));
                }
                text.push_str(&format!("\n  {}\n", guidance.advice));
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
                    PollOutcome::UseNonce => format!(
                        "  poll {}: the server sent a DPoP nonce; sending the poll again with it",
                        step.attempt
                    ),
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

    /// A warning that does not stop the login (plain: a line on stderr; JSON: a `warning`
    /// event).
    pub fn notice(&mut self, text: &str) {
        match self.mode {
            OutputMode::Json => self.event(json!({"event": "warning", "message": text})),
            OutputMode::Plain => self.say(&format!("tvlogin: warning: {}", escape(text))),
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

/// What the verification page is compared with: the issuer (else the device authorization
/// endpoint), and the sites the provider preset documents for its page.
pub fn site_check(config: &LoginConfig) -> SiteCheck {
    let reference = match &config.source {
        EndpointSource::Discover(issuer) => Some(issuer.clone()),
        EndpointSource::Fixed(e) => e
            .issuer
            .as_deref()
            .and_then(|i| Url::parse(i).ok())
            .or_else(|| Some(e.device_authorization.clone())),
    };
    SiteCheck {
        reference,
        documented: config
            .provider
            .map(|p| p.verification_sites())
            .unwrap_or_default()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

/// One device token request at a time, over HTTP.
struct HttpPoll<'a> {
    http: &'a Http,
    client: &'a OAuthClient,
    token_endpoint: &'a Url,
    device_code: &'a DeviceCode,
    dpop: Option<&'a Dpop>,
}

impl PollTransport for HttpPoll<'_> {
    fn poll(&self) -> impl Future<Output = Result<OAuthResponse, HttpError>> + Send {
        device::poll_once(
            self.http,
            self.client,
            self.token_endpoint,
            self.device_code,
            self.dpop,
        )
    }
}

/// Runs the login to its end with the configured flow (`device`, `browser`, or `auto`),
/// reporting as it goes. Errors are returned, not reported: the caller reports them once.
/// The `tokens` event is the caller's, once it has stored them (`session::login_and_store`),
/// so it can say where they went.
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
    let no_browser = browser_unavailable(reporter.no_browser);
    match config.flow {
        LoginFlow::Device => device_login(&http, config, endpoints, reporter, None).await,
        LoginFlow::Browser => {
            let server = authorization_server(&http, config, &endpoints)
                .await?
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "{} names no authorization_endpoint, so there is no browser login; use \
                         --flow device",
                        server_label(config)
                    ))
                })?;
            browser_login(&http, config, endpoints, reporter, &server, no_browser).await
        }
        LoginFlow::Auto => {
            let server = match &no_browser {
                None => authorization_server(&http, config, &endpoints).await?,
                Some(_) => None,
            };
            match server {
                Some(server) => {
                    browser_login(&http, config, endpoints, reporter, &server, None).await
                }
                // No browser here, or the provider has no browser login: the device flow.
                None => device_login(&http, config, endpoints, reporter, no_browser).await,
            }
        }
    }
}

/// Why no browser can be opened for this login (`--no-browser`, SSH, no display, a text
/// browser), or `None`.
fn browser_unavailable(no_browser_flag: bool) -> Option<String> {
    if no_browser_flag {
        return Some("--no-browser was given".into());
    }
    crate::browser::unavailable_reason(&|name| std::env::var(name).ok())
}

/// The provider's authorization endpoint, from its issuer's metadata.
async fn authorization_server(
    http: &Http,
    config: &LoginConfig,
    endpoints: &Endpoints,
) -> Result<Option<AuthorizationServer>, Error> {
    let issuer = match &config.source {
        EndpointSource::Discover(issuer) => Some(issuer.clone()),
        EndpointSource::Fixed(_) => endpoints.issuer.as_deref().and_then(|i| Url::parse(i).ok()),
    };
    match issuer {
        Some(issuer) => authcode::discover_authorization(http, &issuer).await,
        None => Ok(None),
    }
}

/// The device flow. `no_browser_reason` is set when `auto` chose it because no browser can be
/// opened here: a refused device grant then ends with the way to a browser login.
async fn device_login<O: Write, E: Write>(
    http: &Http,
    config: &LoginConfig,
    endpoints: Endpoints,
    reporter: &mut Reporter<O, E>,
    no_browser_reason: Option<String>,
) -> Result<LoginOutcome, Error> {
    // One new key per login; the device request, every poll and later refreshes use it.
    let dpop = dpop_for_login(config, &endpoints)?;
    let requested = device::request_device_authorization(
        http,
        &config.client,
        &endpoints.device_authorization,
        &config.request,
        dpop.as_ref(),
    )
    .await;
    let auth = match requested {
        Ok(auth) => auth,
        Err(e) if authcode::device_grant_refused(&e) => {
            reporter.device_refused(&e, false);
            return Err(device_refused_error(
                config,
                &e,
                no_browser_reason.as_deref(),
            ));
        }
        Err(e) => return Err(e),
    };
    let issued = Instant::now();
    reporter.device_authorization(&auth, &site_check(config).guidance(&auth.verification_uri));
    let mut poller = Poller::new(auth.interval, auth.expires_in, issued);
    let transport = HttpPoll {
        http,
        client: &config.client,
        token_endpoint: &endpoints.token,
        device_code: &auth.device_code,
        dpop: dpop.as_ref(),
    };
    let tokens = poll_until_done(&mut poller, issued, &TokioTimer, &transport, |step| {
        reporter.step(step)
    })
    .await?;
    if let Some(notice) = bearer_notice(&tokens, dpop.as_ref()) {
        reporter.notice(&notice);
    }
    Ok(LoginOutcome {
        tokens,
        endpoints,
        dpop_key: dpop.map(|d| d.key().clone()),
    })
}

/// Exit 2: the device grant is refused and no browser login can run here; says what
/// `--flow browser` needs, with a ready `ssh -L` line for a login over SSH.
fn device_refused_error(config: &LoginConfig, error: &Error, no_browser: Option<&str>) -> Error {
    let port = config.redirect.port.unwrap_or(DEFAULT_FORWARD_PORT);
    let host = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|c| c.split_whitespace().nth(2).map(str::to_owned))
        .unwrap_or_else(|| "THIS-HOST".into());
    let why = no_browser
        .map(|w| format!(" No browser can be opened here ({w})."))
        .unwrap_or_default();
    let redirect_port = if config.redirect.port.is_some() {
        String::new()
    } else {
        format!(" with redirect_port = {port} in the profile")
    };
    Error::Usage(format!(
        "the provider does not allow the device flow for this client ({}).{why} Log in with \
         --flow browser instead: it needs a browser on this machine, or, over SSH, the loopback \
         port forwarded from your own computer: ssh -L {port}:127.0.0.1:{port} {host} then \
         tvlogin login --profile {} --flow browser{redirect_port}, and open the address it \
         prints in your own browser",
        escape(&error.to_string()),
        escape(&config.profile),
    ))
}

/// The loopback port suggested for SSH forwarding when the profile names none.
const DEFAULT_FORWARD_PORT: u16 = 8400;

/// The browser login: authorization code with PKCE, answered on a loopback listener.
/// `no_browser` says why no browser is opened (the URL is printed for the person to open).
async fn browser_login<O: Write, E: Write>(
    http: &Http,
    config: &LoginConfig,
    endpoints: Endpoints,
    reporter: &mut Reporter<O, E>,
    server: &AuthorizationServer,
    no_browser: Option<String>,
) -> Result<LoginOutcome, Error> {
    let login = BrowserLogin::listen(http.clone(), config, endpoints, server.clone()).await?;
    let opened = match no_browser {
        Some(why) => Err(why),
        None => open_browser(config, &login.url).await,
    };
    reporter.authorization_url(
        &login.url,
        &login.redirect,
        &opened,
        config.redirect.timeout,
    );
    login.finish(config).await
}

/// A browser login that is listening for its answer: the URL to open in a browser, and what
/// taking the answer needs. The plain login and the browser-login screen both drive one.
pub struct BrowserLogin {
    /// The authorization URL (holds no secret).
    pub url: Url,
    /// Where the answer comes back: `http://127.0.0.1:PORT/PATH`.
    pub redirect: Url,
    callback: Callback,
    prepared: authcode::Prepared,
    server: AuthorizationServer,
    endpoints: Endpoints,
    http: Http,
}

impl BrowserLogin {
    /// Finds the endpoints and the authorization endpoint, then listens: for a login that
    /// is a browser login from the start (the browser-login screen).
    pub async fn start(config: &LoginConfig) -> Result<Self, Error> {
        let http = Http::new(config.http).map_err(Error::Other)?;
        let endpoints = resolve_endpoints(&http, config).await?;
        http.check_url(&endpoints.token)?;
        let server = authorization_server(&http, config, &endpoints)
            .await?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} names no authorization_endpoint, so there is no browser login; use \
                     --flow device",
                    server_label(config)
                ))
            })?;
        Self::listen(http, config, endpoints, server).await
    }

    /// Binds the loopback listener and builds the authorization URL.
    async fn listen(
        http: Http,
        config: &LoginConfig,
        endpoints: Endpoints,
        server: AuthorizationServer,
    ) -> Result<Self, Error> {
        let callback =
            Callback::bind(config.redirect.port, config.redirect.path.as_deref()).await?;
        let redirect = callback.redirect_uri().clone();
        let prepared = authcode::prepare(
            &config.client,
            &server,
            &endpoints.token,
            &redirect,
            &config.request,
        );
        Ok(Self {
            url: prepared.url.clone(),
            redirect,
            callback,
            prepared,
            server,
            endpoints,
            http,
        })
    }

    /// Waits for the one answer (up to the configured time: then `Expired`, exit 4), checks
    /// it, exchanges the code, and leaves the browser on a page saying how it went.
    pub async fn finish(self, config: &LoginConfig) -> Result<LoginOutcome, Error> {
        let Self {
            callback,
            prepared,
            server,
            endpoints,
            http,
            redirect,
            ..
        } = self;
        let (query, stream) = tokio::time::timeout(config.redirect.timeout, callback.wait())
            .await
            .map_err(|_| Error::Expired { description: None })??;
        let state = prepared.state.clone();
        let expected = authcode::Expected {
            state: &state,
            issuer: &server.issuer,
            iss_required: server.iss_supported,
        };
        let code = match authcode::judge_callback(&query, &expected) {
            Ok(code) => code,
            Err(e) => {
                authcode::finish(stream, &Err(e.to_string())).await;
                return Err(e);
            }
        };
        let tokens = authcode::exchange(
            &http,
            &config.client,
            &server,
            &endpoints.token,
            &redirect,
            prepared,
            code,
        )
        .await;
        let page = tokens.as_ref().map(|_| ()).map_err(ToString::to_string);
        authcode::finish(stream, &page).await;
        Ok(LoginOutcome {
            tokens: tokens?,
            endpoints,
            // The browser login binds no key (DPoP is for the device flow here).
            dpop_key: None,
        })
    }
}

/// Opens the authorization URL; the browser gets no secret (not the client secret's
/// variable, not its value).
pub async fn open_browser(config: &LoginConfig, url: &Url) -> Result<(), String> {
    let mut env = crate::child_env::ChildEnv::new();
    if let Some(var) = &config.client_secret_env {
        env = env.without_var(var);
    }
    if let Some(secret) = &config.client.secret {
        env = env.without_value(secret.secret());
    }
    let url = url.clone();
    // Launching blocks for a moment; keep it off the runtime.
    tokio::task::spawn_blocking(move || crate::browser::open(&url, &env))
        .await
        .unwrap_or_else(|e| Err(format!("the browser launcher failed: {e}")))
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
        outcome.dpop_key.clone(),
    )
    .await?;
    reporter.tokens(&outcome.tokens, &config.profile, &stored);
    Ok(stored)
}
