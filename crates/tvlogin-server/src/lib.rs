//! The embedded OAuth 2.0 authorization server.
//!
//! `tvlogin serve` runs it in the foreground for testing other clients, `tvlogin demo` runs it
//! in-process and logs in against it, and the end-to-end tests use it as their fixture.
//!
//! It implements the device authorization grant (RFC 8628) and refresh tokens (RFC 6749),
//! revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414 and OpenID Connect
//! Discovery), JWT access tokens (RFC 9068), OpenID Connect ID tokens and UserInfo, and a
//! human verification page at `/device`. It can replay documented quirks of real providers
//! ([`Quirks`]) and inject transport faults ([`Fault`]).
//!
//! It binds 127.0.0.1 only, keeps everything in memory, generates fresh signing keys on every
//! start, and signs everyone in as the same demo user. It is a test fixture, not a product.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use tvlogin_server::{ServerConfig, ServerHandle};
//! let server = ServerHandle::start(ServerConfig::default()).await?;
//! println!("issuer: {}", server.issuer_str());
//! // ... run a client, then approve its user code:
//! for code in server.pending_user_codes() {
//!     server.approve(&code).ok();
//! }
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod authorize;
mod config;
mod dpop;
pub mod grade;
mod jwt;
mod keys;
mod limits;
mod log;
mod page;
mod quirks;
mod random;
mod reply;
mod request;
mod routes;
mod shared;
mod state;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

pub use config::{
    AutoDecision, BASIC_CLIENT_ID, BASIC_CLIENT_SECRET, ClientAuthMethod, ClientRegistration,
    DEMO_CLIENT_ID, Fault, Knobs, POST_CLIENT_ID, POST_CLIENT_SECRET, ParseQuirksError, Quirks,
    ServerConfig,
};
pub use dpop::{DpopMode, IAT_WINDOW, JTI_CAP, NONCE_LIFETIME};
pub use grade::{GradeConfig, ParseScenarioError, Report, Scenario, Verdict};
pub use limits::{Limits, MAX_BODY};
pub use log::RequestLog;
pub use state::{DecisionError, PollRecord, RefreshRecord, RevocationRecord};

use keys::Keys;
use shared::Shared;
use state::{Clock, Env};

/// How long [`ServerHandle::shutdown`] waits for in-flight requests (e.g. a
/// [`Fault::Delay`]) before aborting the server task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running server. Dropping the handle also stops the server (gracefully, in the
/// background); call [`ServerHandle::shutdown`] to wait for that.
pub struct ServerHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    urls: Urls,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

/// Decides pending device authorizations of a running server, as the person would on the
/// verification page (`tvlogin serve --approve-after`). Cheap to clone.
#[derive(Clone)]
pub struct ServerControls {
    shared: Arc<Shared>,
}

impl fmt::Debug for ServerControls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerControls")
            .field("issuer", &self.shared.env.issuer)
            .finish_non_exhaustive()
    }
}

impl ServerControls {
    /// In grading mode, grade every flow still open now (see
    /// [`ServerHandle::finish_grading`]).
    pub fn finish_grading(&self) {
        grade::finish(&self.shared);
    }

    /// User codes issued, not yet decided and not expired, oldest first, as `BCDF-GHJK`.
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared
            .lock()
            .pending_user_codes(&self.shared.env.cfg, std::time::Instant::now())
    }

    /// Approve the pending authorization with this user code.
    pub fn approve(&self, user_code: &str) -> Result<(), DecisionError> {
        self.shared
            .lock()
            .decide(&self.shared.env.cfg, user_code, true, Clock::read())
    }

    /// Stands in for the person: approves each pending code `delay` after it was first seen
    /// (checked four times a second), for as long as the task runs (abort it to stop), and
    /// sends a line per approval to `log` when there is one. The delay counts from each
    /// code's issue, never from the start of the server: a client that asks late (a debug
    /// build, a loaded machine) is approved as surely as one that asks at once.
    pub async fn approve_each_after(self, delay: std::time::Duration, log: Option<RequestLog>) {
        let mut first_seen: std::collections::HashMap<String, tokio::time::Instant> =
            std::collections::HashMap::new();
        loop {
            let now = tokio::time::Instant::now();
            let pending = self.pending_user_codes();
            first_seen.retain(|code, _| pending.contains(code));
            for code in pending {
                let seen = *first_seen.entry(code.clone()).or_insert(now);
                if now.duration_since(seen) >= delay {
                    let outcome = match self.approve(&code) {
                        Ok(()) => "approved".to_owned(),
                        Err(e) => format!("could not approve: {e}"),
                    };
                    if let Some(log) = &log {
                        let _ = log.send(format!(
                            "{outcome} {code} (--approve-after {})",
                            delay.as_secs()
                        ));
                    }
                    first_seen.remove(&code);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}

/// Endpoint URLs, parsed once at start so the accessors cannot fail.
struct Urls {
    issuer: Url,
    device_authorization: Url,
    token: Url,
    verification: Url,
    revocation: Url,
    introspection: Url,
    userinfo: Url,
    jwks: Url,
    discovery: Url,
}

impl Urls {
    fn new(issuer: &str) -> Result<Urls, url::ParseError> {
        let at = |path: &str| Url::parse(&format!("{issuer}{path}"));
        Ok(Urls {
            issuer: Url::parse(issuer)?,
            device_authorization: at("/device_authorization")?,
            token: at("/token")?,
            verification: at("/device")?,
            revocation: at("/revoke")?,
            introspection: at("/introspect")?,
            userinfo: at("/userinfo")?,
            jwks: at("/jwks")?,
            discovery: at("/.well-known/openid-configuration")?,
        })
    }
}

impl fmt::Debug for ServerHandle {
    // Only public facts: no keys, secrets or tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("issuer", &self.shared.env.issuer)
            .field("quirks", &self.shared.env.cfg.quirks)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Generate keys, bind `127.0.0.1:config.port` and start serving in a background task.
    pub async fn start(config: ServerConfig) -> io::Result<ServerHandle> {
        Self::start_with_limits(config, Limits::default()).await
    }

    /// [`ServerHandle::start`] with other timeouts and caps (tests use short ones).
    pub async fn start_with_limits(
        config: ServerConfig,
        limits: Limits,
    ) -> io::Result<ServerHandle> {
        Self::start_inner(config, limits, None).await
    }

    /// [`ServerHandle::start`] that sends one line per request to `log` (see
    /// [`RequestLog`]): method, path, the harmless parameters, status and outcome, never a
    /// secret.
    pub async fn start_logged(config: ServerConfig, log: RequestLog) -> io::Result<ServerHandle> {
        Self::start_inner(config, Limits::default(), Some(log)).await
    }

    async fn start_inner(
        mut config: ServerConfig,
        limits: Limits,
        log: Option<RequestLog>,
    ) -> io::Result<ServerHandle> {
        // The quirks' own switches, on top of those set one by one.
        config.knobs = config.knobs.clone().or(Knobs::preset(config.quirks));
        // RSA key generation takes tens of milliseconds of CPU; keep it off the async workers.
        let keys = tokio::task::spawn_blocking(Keys::generate)
            .await
            .map_err(io::Error::other)?
            .map_err(|_| io::Error::other("generating the server's signing keys failed"))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let issuer = format!("http://127.0.0.1:{}", addr.port());
        let urls = Urls::new(&issuer).map_err(io::Error::other)?;
        let shared = Arc::new(Shared::new(Env {
            cfg: config,
            keys,
            issuer,
        }));
        let app = routes::router(Arc::clone(&shared), limits, log);
        if shared.grade.is_some() {
            tokio::spawn(grade::sweeper(Arc::downgrade(&shared)));
        }
        // An explicit stop or the handle being dropped both end the loop.
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(limits::serve(listener, app, limits, stopped));
        Ok(ServerHandle {
            shared,
            addr,
            urls,
            stop,
            task,
        })
    }

    /// The issuer as a URL (displays with a trailing `/`; use [`ServerHandle::issuer_str`]
    /// for the exact `iss` value).
    pub fn issuer(&self) -> Url {
        self.urls.issuer.clone()
    }

    /// The exact issuer string used in discovery and in `iss` claims:
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn issuer_str(&self) -> String {
        self.shared.env.issuer.clone()
    }

    /// The protected resource that checks DPoP proofs (`/api/me`), for `tvlogin api`.
    pub fn api_url(&self) -> Url {
        let mut url = self.urls.issuer.clone();
        url.set_path("/api/me");
        url
    }

    /// Replaces the DPoP nonce now (with the `dpop-nonce` knob, proofs with the nonce before
    /// are still accepted once it is replaced once; not after a second replacement).
    pub fn rotate_dpop_nonce(&self) {
        self.shared
            .lock()
            .dpop
            .rotate_nonce(std::time::Instant::now());
    }

    /// The bound address (always 127.0.0.1).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `issuer + "/device_authorization"`.
    pub fn device_authorization_endpoint(&self) -> Url {
        self.urls.device_authorization.clone()
    }

    /// `issuer + "/token"`.
    pub fn token_endpoint(&self) -> Url {
        self.urls.token.clone()
    }

    /// `issuer + "/device"`, the human verification page.
    pub fn verification_uri(&self) -> Url {
        self.urls.verification.clone()
    }

    /// `issuer + "/revoke"` (RFC 7009).
    pub fn revocation_endpoint(&self) -> Url {
        self.urls.revocation.clone()
    }

    /// `issuer + "/introspect"` (RFC 7662).
    pub fn introspection_endpoint(&self) -> Url {
        self.urls.introspection.clone()
    }

    /// `issuer + "/userinfo"`.
    pub fn userinfo_endpoint(&self) -> Url {
        self.urls.userinfo.clone()
    }

    /// `issuer + "/jwks"`.
    pub fn jwks_uri(&self) -> Url {
        self.urls.jwks.clone()
    }

    /// `issuer + "/.well-known/openid-configuration"`.
    pub fn discovery_url(&self) -> Url {
        self.urls.discovery.clone()
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.env.cfg
    }

    /// Approve the pending authorization with this user code, as the user would on the
    /// verification page. Matching ignores case, `-` and spaces.
    pub fn approve(&self, user_code: &str) -> Result<(), DecisionError> {
        self.decide(user_code, true)
    }

    /// Deny the pending authorization with this user code.
    pub fn deny(&self, user_code: &str) -> Result<(), DecisionError> {
        self.decide(user_code, false)
    }

    fn decide(&self, user_code: &str, approve: bool) -> Result<(), DecisionError> {
        self.shared
            .lock()
            .decide(&self.shared.env.cfg, user_code, approve, Clock::read())
    }

    /// A handle on the pending authorizations that can be moved into another task while
    /// this handle waits for the server ([`ServerHandle::wait`]).
    pub fn controls(&self) -> ServerControls {
        ServerControls {
            shared: Arc::clone(&self.shared),
        }
    }

    /// User codes issued, not yet decided and not expired, oldest first, as `BCDF-GHJK`.
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared
            .lock()
            .pending_user_codes(&self.shared.env.cfg, std::time::Instant::now())
    }

    /// Every device-code token request so far, in arrival order.
    pub fn polls(&self) -> Vec<PollRecord> {
        self.shared.lock().polls.clone()
    }

    /// Every successfully answered revocation request so far.
    pub fn revocations(&self) -> Vec<RevocationRecord> {
        self.shared.lock().revocations.clone()
    }

    /// Every refresh-token grant request so far and its outcome.
    pub fn refreshes(&self) -> Vec<RefreshRecord> {
        self.shared.lock().refreshes.clone()
    }

    /// Queue faults; they are applied first-in first-out to the next token-endpoint requests
    /// of any grant type, one fault per request.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().push_faults(faults);
    }

    /// In grading mode ([`ServerConfig::grade`]), the reports of the flows as they end;
    /// `None` without grading or when already taken.
    pub fn grade_reports(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Report>> {
        self.shared.grade.as_ref()?.take_reports()
    }

    /// In grading mode, grade every flow still open now (their reports say the server
    /// stopped); call before [`ServerHandle::shutdown`] to get them.
    pub fn finish_grading(&self) {
        grade::finish(&self.shared);
    }

    /// Stop accepting connections and wait for in-flight requests (at most a few seconds,
    /// then the server task is aborted).
    pub async fn shutdown(self) {
        let ServerHandle { stop, mut task, .. } = self;
        let _ = stop.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }

    /// Run until the server task ends (normally never: pair it with Ctrl-C in a `select!`;
    /// dropping this future stops the server).
    pub async fn wait(self) -> io::Result<()> {
        let ServerHandle { stop, task, .. } = self;
        let result = task.await;
        drop(stop);
        result.map_err(io::Error::other)?
    }
}
