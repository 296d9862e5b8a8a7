//! The server's mutable state: device authorizations, grants, tokens, fault queue and the
//! records tests inspect. Every method takes the current time as an argument, so the rules
//! are plain functions of their inputs; the handlers read the clocks.
//!
//! The state lives behind a `std::sync::Mutex` that is never held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::config::{ClientRegistration, Fault, ServerConfig};
use super::jwt::{self, Alg};
use super::keys::Keys;
use super::limits::Limits;
use super::quirks::{self, DeviceIssued, Minted, RefreshPolicy};
use super::random;
use super::reply::{self, Endpoint, ErrorKind, OAuthError};

/// The one user this server knows.
pub(crate) const SUBJECT: &str = "demo-user";
const NAME: &str = "Demo User";
const EMAIL: &str = "demo@example.test";
const USERNAME: &str = "demo";
/// Granted when the client asks for no scope.
pub(crate) const DEFAULT_SCOPE: &str = "openid profile email";
/// RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// One token-endpoint request with `grant_type=urn:ietf:params:oauth:grant-type:device_code`.
///
/// Fault answers (other than [`Fault::Delay`]) are recorded too, but are invisible to the
/// timing rules: `since_previous` and `early` are measured from the previous poll of the same
/// device authorization that was answered normally.
#[derive(Debug, Clone)]
pub struct PollRecord {
    /// When the request was processed (after the sleep of a [`Fault::Delay`]).
    pub at: Instant,
    /// 1-based index of the device authorization this poll belongs to (0: unknown device code).
    pub grant: u32,
    /// 1-based poll number within that device authorization (faulted polls count).
    /// For unknown device codes, the number among all unknown-code polls.
    pub poll: u32,
    /// The interval the client had to respect before this poll (after earlier `slow_down`s).
    pub interval_in_force: Duration,
    /// Gap since the previous normally answered poll of the same device authorization.
    pub since_previous: Option<Duration>,
    /// Arrived before that previous poll + `interval_in_force`.
    pub early: bool,
    /// What happened in RFC terms, independent of the quirks' wire spelling:
    /// `authorization_pending`, `slow_down`, `access_denied`, `expired_token`,
    /// `invalid_grant`, `tokens`, `fault:<name>`, or another RFC 6749 error code.
    pub outcome: String,
    /// HTTP status sent (0 for [`Fault::Reset`], where no complete response is sent).
    pub status: u16,
}

/// One successfully answered revocation request (RFC 7009).
#[derive(Debug, Clone)]
pub struct RevocationRecord {
    /// Arrival time.
    pub at: Instant,
    /// The `token_type_hint` the client sent.
    pub token_type_hint: Option<String>,
    /// What the token turned out to be: `refresh_token`, `access_token` or `unknown`.
    pub kind: String,
    /// The authenticated client.
    pub client_id: Option<String>,
}

/// One token-endpoint request with `grant_type=refresh_token`.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    /// Arrival time.
    pub at: Instant,
    /// `tokens`, `invalid_grant`, `replay_revoked_grant` (a rotated-out refresh token was
    /// presented and the whole grant was revoked), `fault:<name>`, or another error code.
    pub outcome: String,
}

/// Why [`ServerHandle::approve`](super::ServerHandle::approve) or
/// [`ServerHandle::deny`](super::ServerHandle::deny) did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// No device authorization ever had this user code.
    #[error("no pending device authorization with user code {0}")]
    Unknown(String),
    /// The device code behind this user code has expired.
    #[error("user code {0} has expired")]
    Expired(String),
    /// The authorization was already approved or denied.
    #[error("user code {0} was already decided")]
    AlreadyDecided(String),
}

/// Immutable server-wide context.
pub(crate) struct Env {
    pub(crate) cfg: ServerConfig,
    pub(crate) keys: Keys,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub(crate) issuer: String,
}

/// Both clocks, read once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Monotonic time, for polling intervals and expiry of codes.
    pub(crate) now: Instant,
    /// Seconds since the Unix epoch, for JWT claims.
    pub(crate) wall: u64,
}

impl Clock {
    pub(crate) fn read() -> Clock {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Clock {
            now: Instant::now(),
            wall,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Approved {
        auth_time: u64,
    },
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
    /// Denial (or, for Auth0, expiry) was reported; the device code is no longer valid.
    Dead,
    /// Pushed out while pending to make room under the pending caps ([`Limits`]): polls are
    /// told `expired_token`, as for a code that timed out.
    Evicted,
}

struct DeviceAuth {
    number: u32,
    /// Unformatted, 8 characters.
    user_code: String,
    client_id: String,
    scope: String,
    audience: Vec<String>,
    /// The address the authorization was requested from (`None` for in-process callers).
    peer: Option<IpAddr>,
    /// `None` if the TTL overflowed `Instant`: effectively never.
    expires_at: Option<Instant>,
    status: Status,
    interval: Duration,
    /// Last poll answered normally.
    last_poll: Option<Instant>,
    polls: u32,
    /// The DPoP key (`jkt`) the device code is bound to: from the proof of the device
    /// authorization request (draft-parecki-oauth-dpop-device-flow), else of the first poll.
    jkt: Option<String>,
}

impl DeviceAuth {
    fn expired(&self, cfg: &ServerConfig, now: Instant) -> bool {
        !cfg.never_expire && self.expires_at.is_some_and(|e| now >= e)
    }
}

/// Everything a token is issued under: one user's approval of one client.
struct Grant {
    client_id: String,
    scope: String,
    audience: Vec<String>,
    auth_time: u64,
    revoked: bool,
    /// The DPoP key the grant's refresh tokens are bound to (and its access tokens, unless
    /// the server binds refresh tokens only).
    jkt: Option<String>,
    /// The authorization request's `nonce`, echoed in ID tokens (OpenID Connect Core §2).
    nonce: Option<String>,
}

struct AccessToken {
    grant: usize,
    jti: String,
    scope: String,
    iat: u64,
    exp: u64,
    revoked: bool,
    /// `cnf.jkt`: the key a DPoP-bound access token must be presented with.
    jkt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Active,
    /// Rotated out; presenting it again is a replay.
    Retired,
}

struct RefreshToken {
    grant: usize,
    id: String,
    iat: u64,
    /// Monotonic deadline and the matching wall-clock `exp`.
    expires: Option<(Instant, u64)>,
    state: RefreshState,
}

/// Details of a pending authorization, for the verification page.
#[derive(Debug, Clone)]
pub(crate) struct PendingInfo {
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) audience: Vec<String>,
    /// How long ago the code was requested (`None` when the deadline overflowed).
    pub(crate) requested_ago: Option<Duration>,
    /// Where it was requested from (`None` for in-process callers).
    pub(crate) peer: Option<IpAddr>,
}

/// All mutable state.
#[derive(Default)]
pub(crate) struct State {
    devices: Vec<DeviceAuth>,
    device_codes: HashMap<String, usize>,
    unknown_polls: u32,
    grants: Vec<Grant>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    faults: VecDeque<Fault>,
    pub(crate) polls: Vec<PollRecord>,
    pub(crate) revocations: Vec<RevocationRecord>,
    pub(crate) refreshes: Vec<RefreshRecord>,
    /// DPoP's replay cache and nonces.
    pub(crate) dpop: super::dpop::DpopState,
}

/// Uppercase letters and digits only: users type `bcdf ghjk` or `BCDF-GHJK` alike.
pub(crate) fn normalize_user_code(input: &str) -> String {
    input
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `BCDFGHJK` → `BCDF-GHJK`; anything else is returned trimmed as typed.
pub(crate) fn display_user_code(input: &str) -> String {
    let n = normalize_user_code(input);
    if n.len() == 8 {
        format!("{}-{}", &n[..4], &n[4..])
    } else {
        input.trim().to_owned()
    }
}

fn audience_value(aud: &[String]) -> Value {
    match aud {
        [one] => json!(one),
        many => json!(many),
    }
}

impl State {
    pub(crate) fn new(cfg: &ServerConfig) -> State {
        State {
            faults: cfg.faults.iter().cloned().collect(),
            ..State::default()
        }
    }

    pub(crate) fn push_faults(&mut self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.extend(faults);
    }

    pub(crate) fn pop_fault(&mut self) -> Option<Fault> {
        self.faults.pop_front()
    }

    // ----- device authorization (RFC 8628 §3.1–3.2) -----

    pub(crate) fn device_authorization(
        &mut self,
        env: &Env,
        client: &ClientRegistration,
        scope: Option<&str>,
        audience: Vec<String>,
        (peer, limits): (Option<IpAddr>, &Limits),
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        let scope = match scope {
            Some(s) => normalize_scope(s)?,
            None => DEFAULT_SCOPE.to_owned(),
        };
        let device_code = random::b64url(32)?;
        // 20^8 codes make a collision unlikely, but two live authorizations must never share
        // a user code, or approving one would approve the wrong device.
        let mut user_code = random::user_code()?;
        while self.devices.iter().any(|d| d.user_code == user_code) {
            user_code = random::user_code()?;
        }
        let cfg = &env.cfg;
        self.make_room(cfg, peer, limits, clock.now);
        let number = u32::try_from(self.devices.len() + 1).unwrap_or(u32::MAX);
        self.device_codes
            .insert(device_code.clone(), self.devices.len());
        self.devices.push(DeviceAuth {
            number,
            user_code: user_code.clone(),
            client_id: client.client_id.clone(),
            scope,
            audience,
            peer,
            expires_at: clock
                .now
                .checked_add(Duration::from_secs(cfg.device_code_ttl)),
            status: Status::Pending,
            interval: Duration::from_secs(cfg.interval),
            last_poll: None,
            polls: 0,
            jkt: None,
        });
        let issued = DeviceIssued {
            device_code,
            user_code: display_user_code(&user_code),
            verification_uri: cfg
                .knobs
                .verification_uri
                .clone()
                .unwrap_or_else(|| format!("{}/device", env.issuer)),
            expires_in: cfg.device_code_ttl,
            interval: cfg.interval,
        };
        Ok(quirks::device_response(cfg.quirks, &cfg.knobs, &issued))
    }

    /// Evicts the oldest pending authorizations so one more fits under both caps: first
    /// within the requesting address's own, then in all. Nobody is ever refused: a flood
    /// from one address displaces that address's codes, and a global flood the oldest ones.
    fn make_room(
        &mut self,
        cfg: &ServerConfig,
        peer: Option<IpAddr>,
        limits: &Limits,
        now: Instant,
    ) {
        let live = |d: &DeviceAuth| d.status == Status::Pending && !d.expired(cfg, now);
        let mine = |d: &DeviceAuth| live(d) && d.peer == peer;
        let mut count = self.devices.iter().filter(|d| mine(d)).count();
        // `devices` is in issue order, so the first live ones are the oldest.
        for d in self.devices.iter_mut() {
            if count < limits.max_pending_per_peer.max(1) {
                break;
            }
            if mine(d) {
                d.status = Status::Evicted;
                count -= 1;
            }
        }
        let mut count = self.devices.iter().filter(|d| live(d)).count();
        for d in self.devices.iter_mut() {
            if count < limits.max_pending.max(1) {
                break;
            }
            if live(d) {
                d.status = Status::Evicted;
                count -= 1;
            }
        }
    }

    // ----- decisions (the verification page and ServerHandle::approve/deny) -----

    fn find_user_code(&self, input: &str) -> Option<usize> {
        let code = normalize_user_code(input);
        self.devices.iter().rposition(|d| d.user_code == code)
    }

    fn check_decidable(
        &self,
        cfg: &ServerConfig,
        input: &str,
        now: Instant,
    ) -> Result<usize, DecisionError> {
        let shown = display_user_code(input);
        let i = self
            .find_user_code(input)
            .ok_or_else(|| DecisionError::Unknown(shown.clone()))?;
        let d = &self.devices[i];
        if d.expired(cfg, now) || d.status == Status::Evicted {
            return Err(DecisionError::Expired(shown));
        }
        if d.status != Status::Pending {
            return Err(DecisionError::AlreadyDecided(shown));
        }
        Ok(i)
    }

    /// Approve or deny the pending authorization with this user code.
    pub(crate) fn decide(
        &mut self,
        cfg: &ServerConfig,
        user_code: &str,
        approve: bool,
        clock: Clock,
    ) -> Result<(), DecisionError> {
        let i = self.check_decidable(cfg, user_code, clock.now)?;
        self.devices[i].status = if approve {
            Status::Approved {
                auth_time: clock.wall,
            }
        } else {
            Status::Denied
        };
        Ok(())
    }

    /// What the verification page shows before the user decides.
    pub(crate) fn describe(
        &self,
        cfg: &ServerConfig,
        user_code: &str,
        now: Instant,
    ) -> Result<PendingInfo, DecisionError> {
        let d = &self.devices[self.check_decidable(cfg, user_code, now)?];
        Ok(PendingInfo {
            user_code: display_user_code(&d.user_code),
            client_id: d.client_id.clone(),
            scope: d.scope.clone(),
            audience: d.audience.clone(),
            requested_ago: d
                .expires_at
                .and_then(|e| e.checked_sub(Duration::from_secs(cfg.device_code_ttl)))
                .map(|issued| now.saturating_duration_since(issued)),
            peer: d.peer,
        })
    }

    pub(crate) fn pending_user_codes(&self, cfg: &ServerConfig, now: Instant) -> Vec<String> {
        self.devices
            .iter()
            .filter(|d| d.status == Status::Pending && !d.expired(cfg, now))
            .map(|d| display_user_code(&d.user_code))
            .collect()
    }

    // ----- polling (RFC 8628 §3.4–3.5) -----

    /// Count a poll: the index of its device authorization (if the code is known) and its
    /// record, with everything but the outcome filled in.
    fn begin_poll(
        &mut self,
        cfg: &ServerConfig,
        device_code: Option<&str>,
        now: Instant,
    ) -> (Option<usize>, PollRecord) {
        let index = device_code.and_then(|c| self.device_codes.get(c).copied());
        let record = match index.and_then(|i| self.devices.get_mut(i)) {
            Some(d) => {
                d.polls = d.polls.saturating_add(1);
                let since_previous = d.last_poll.map(|t| now.saturating_duration_since(t));
                PollRecord {
                    at: now,
                    grant: d.number,
                    poll: d.polls,
                    interval_in_force: d.interval,
                    since_previous,
                    early: since_previous.is_some_and(|gap| gap < d.interval),
                    outcome: String::new(),
                    status: 0,
                }
            }
            None => {
                self.unknown_polls = self.unknown_polls.saturating_add(1);
                PollRecord {
                    at: now,
                    grant: 0,
                    poll: self.unknown_polls,
                    interval_in_force: Duration::from_secs(cfg.interval),
                    since_previous: None,
                    early: false,
                    outcome: String::new(),
                    status: 0,
                }
            }
        };
        (index, record)
    }

    /// Record a device-code poll answered by a fault instead of the rules.
    pub(crate) fn record_fault_poll(
        &mut self,
        cfg: &ServerConfig,
        device_code: Option<&str>,
        fault: &Fault,
        status: u16,
        now: Instant,
    ) {
        let (_, mut record) = self.begin_poll(cfg, device_code, now);
        record.outcome = format!("fault:{}", fault.name());
        record.status = status;
        self.polls.push(record);
    }

    /// Record a refresh request answered by a fault.
    pub(crate) fn record_fault_refresh(&mut self, fault: &Fault, now: Instant) {
        self.refreshes.push(RefreshRecord {
            at: now,
            outcome: format!("fault:{}", fault.name()),
        });
    }

    /// A device-code token request: apply RFC 8628 §3.5 and record the poll.
    pub(crate) fn device_poll(
        &mut self,
        env: &Env,
        client: Result<&ClientRegistration, OAuthError>,
        device_code: Option<&str>,
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        let (index, mut record) = self.begin_poll(&env.cfg, device_code, clock.now);
        let result = self.device_poll_rules(env, client, device_code, index, &record, clock);
        let q = env.cfg.quirks;
        (record.outcome, record.status) = match &result {
            Ok(_) => ("tokens".to_owned(), 200),
            Err(e) => (
                e.outcome(),
                reply::status_for(q, Endpoint::Token, e.kind).as_u16(),
            ),
        };
        self.polls.push(record);
        result
    }

    fn device_poll_rules(
        &mut self,
        env: &Env,
        client: Result<&ClientRegistration, OAuthError>,
        device_code: Option<&str>,
        index: Option<usize>,
        record: &PollRecord,
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        let cfg = &env.cfg;
        let client = client?;
        if device_code.is_none() {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "missing parameter device_code",
            ));
        }
        let Some(d) = index.and_then(|i| self.devices.get_mut(i)) else {
            return Err(OAuthError::new(ErrorKind::UnknownDeviceCode));
        };
        if d.client_id != client.client_id {
            return Err(OAuthError::with(
                ErrorKind::InvalidGrant,
                "the device code was issued to another client",
            ));
        }
        let expired = d.expired(cfg, clock.now);
        if let Some(auto) = cfg.auto_decision
            && auto.on_poll == record.poll
            && d.status == Status::Pending
            && !expired
        {
            d.status = if auto.approve {
                Status::Approved {
                    auth_time: clock.wall,
                }
            } else {
                Status::Denied
            };
        }
        match d.status {
            Status::Consumed => {
                return Err(OAuthError::with(
                    ErrorKind::InvalidGrant,
                    "the device code was already exchanged for tokens",
                ));
            }
            Status::Dead => {
                return Err(OAuthError::with(
                    ErrorKind::InvalidGrant,
                    "the device code is no longer valid",
                ));
            }
            Status::Evicted => {
                return Err(OAuthError::with(
                    ErrorKind::ExpiredToken,
                    "the device code was dropped: too many device authorizations were pending",
                ));
            }
            _ => {}
        }
        if expired {
            if quirks::expired_token_once(cfg.quirks) {
                d.status = Status::Dead;
            }
            return Err(OAuthError::new(ErrorKind::ExpiredToken));
        }
        // Rate limiting is checked before the decision (as Keycloak does): a client that
        // polls too fast is told so even if the user has already decided.
        d.last_poll = Some(clock.now);
        let forced = cfg.slow_down_polls.contains(&record.poll);
        if quirks::sends_slow_down(cfg.quirks, &cfg.knobs) && (forced || record.early) {
            let old = d.interval;
            d.interval = old.saturating_add(SLOW_DOWN_STEP);
            return Err(OAuthError {
                intervals: Some((old.as_secs(), d.interval.as_secs())),
                ..OAuthError::new(ErrorKind::SlowDown)
            });
        }
        match d.status {
            Status::Pending => Err(OAuthError::new(ErrorKind::AuthorizationPending)),
            Status::Denied => {
                d.status = Status::Dead;
                Err(OAuthError::new(ErrorKind::AccessDenied))
            }
            Status::Approved { auth_time } => {
                d.status = Status::Consumed;
                let grant = Grant {
                    client_id: d.client_id.clone(),
                    scope: d.scope.clone(),
                    audience: d.audience.clone(),
                    auth_time,
                    revoked: false,
                    jkt: d.jkt.clone(),
                    nonce: None,
                };
                let scope = grant.scope.clone();
                self.grants.push(grant);
                let g = self.grants.len() - 1;
                self.mint(env, g, &scope, (true, false), clock)
            }
            // Handled above; kept total without a panic path.
            Status::Consumed | Status::Dead => Err(OAuthError::new(ErrorKind::InvalidGrant)),
            Status::Evicted => Err(OAuthError::new(ErrorKind::ExpiredToken)),
        }
    }

    /// Tokens for an exchanged authorization code (the checks are the caller's).
    pub(crate) fn mint_authorization_code(
        &mut self,
        env: &Env,
        client_id: &str,
        scope: &str,
        nonce: Option<&str>,
        auth_time: u64,
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        self.grants.push(Grant {
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            audience: Vec::new(),
            auth_time,
            revoked: false,
            // The browser login's tokens are not bound to a DPoP key here.
            jkt: None,
            nonce: nonce.map(str::to_owned),
        });
        let g = self.grants.len() - 1;
        self.mint(env, g, scope, (true, false), clock)
    }

    // ----- refresh (RFC 6749 §6) -----

    /// A refresh-token request: validate, rotate per the provider's policy, record.
    pub(crate) fn refresh(
        &mut self,
        env: &Env,
        client: Result<&ClientRegistration, OAuthError>,
        refresh_token: Option<&str>,
        scope: Option<&str>,
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        let result = self.refresh_rules(env, client, refresh_token, scope, clock);
        self.refreshes.push(RefreshRecord {
            at: clock.now,
            outcome: match &result {
                Ok(_) => "tokens".to_owned(),
                Err(e) => e.outcome(),
            },
        });
        result
    }

    fn refresh_rules(
        &mut self,
        env: &Env,
        client: Result<&ClientRegistration, OAuthError>,
        refresh_token: Option<&str>,
        scope: Option<&str>,
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        let client = client?;
        let Some(token) = refresh_token else {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "missing parameter refresh_token",
            ));
        };
        let invalid = |why: &str| OAuthError::with(ErrorKind::InvalidGrant, why);
        let Some(rt) = self.refresh.get(token) else {
            return Err(invalid("unknown refresh token"));
        };
        let (g, state, expires) = (rt.grant, rt.state, rt.expires);
        let grant = self
            .grants
            .get_mut(g)
            .ok_or_else(|| invalid("unknown refresh token"))?;
        if grant.client_id != client.client_id {
            return Err(invalid("the refresh token was issued to another client"));
        }
        if grant.revoked {
            return Err(invalid("the refresh token has been revoked"));
        }
        if expires.is_some_and(|(deadline, _)| clock.now >= deadline) {
            return Err(invalid("the refresh token has expired"));
        }
        if state == RefreshState::Retired {
            // RFC 9700 §4.14.2: a rotated-out token coming back means it leaked (or the
            // client lost a response); either way the grant can no longer be trusted.
            grant.revoked = true;
            return Err(OAuthError {
                record_as: Some("replay_revoked_grant"),
                ..invalid("refresh token reuse detected; the grant has been revoked")
            });
        }
        let scope = match scope {
            None => grant.scope.clone(),
            Some(requested) => {
                let requested = normalize_scope(requested)?;
                let granted: Vec<&str> = grant.scope.split_whitespace().collect();
                if let Some(extra) = requested.split_whitespace().find(|s| !granted.contains(s)) {
                    return Err(OAuthError::with(
                        ErrorKind::InvalidScope,
                        format!("scope {extra} exceeds the original grant"),
                    ));
                }
                requested
            }
        };
        let policy = quirks::refresh_policy(env.cfg.quirks);
        if policy == RefreshPolicy::RotateWithReplayDetection
            && let Some(rt) = self.refresh.get_mut(token)
        {
            rt.state = RefreshState::Retired;
        }
        let rotate = policy != RefreshPolicy::NoRotation;
        self.mint(env, g, &scope, (rotate, true), clock)
    }

    // ----- minting -----

    /// Issue an access token (and maybe a refresh token and ID token) under grant `g`.
    fn mint(
        &mut self,
        env: &Env,
        g: usize,
        scope: &str,
        (new_refresh_token, refreshing): (bool, bool),
        clock: Clock,
    ) -> Result<Map<String, Value>, OAuthError> {
        let cfg = &env.cfg;
        let q = cfg.quirks;
        let grant = self.grants.get(g).ok_or_else(OAuthError::server_error)?;
        let ttl = quirks::access_token_ttl(q, cfg);
        let iat = clock.wall;
        let exp = iat.saturating_add(ttl);
        let jti = random::b64url(16)?;
        let aud = if grant.audience.is_empty() {
            vec![grant.client_id.clone()]
        } else {
            grant.audience.clone()
        };
        // DPoP: the access token carries cnf.jkt unless only refresh tokens are bound.
        let at_jkt = grant
            .jkt
            .clone()
            .filter(|_| !cfg.knobs.dpop_bind_refresh_only);
        let access_token = match quirks::opaque_access_token(q)? {
            Some(opaque) => opaque,
            // RFC 9068 §2.2 claims.
            None => {
                let mut claims = json!({
                    "iss": env.issuer,
                    "sub": SUBJECT,
                    "aud": audience_value(&aud),
                    "client_id": grant.client_id,
                    "scope": scope,
                    "iat": iat,
                    "nbf": iat,
                    "exp": exp,
                    "jti": jti,
                    "auth_time": grant.auth_time,
                });
                if let Some(jkt) = &at_jkt {
                    claims["cnf"] = json!({ "jkt": jkt });
                }
                if let Some(bytes) = cfg.knobs.access_token_bytes {
                    // base64url makes 4 characters of 3 bytes.
                    claims["pad"] = json!("x".repeat(bytes / 4 * 3));
                }
                jwt::sign(&env.keys, Alg::Rs256, "at+jwt", &claims)?
            }
        };
        let id_token = if quirks::issues_id_token(q, &cfg.knobs, refreshing)
            && scope.split_whitespace().any(|s| s == "openid")
        {
            let mut claims = json!({
                    "iss": env.issuer,
                    "sub": SUBJECT,
                    "aud": grant.client_id,
                    "iat": iat,
                    "exp": exp,
                    "auth_time": grant.auth_time,
                    "at_hash": jwt::at_hash(&access_token),
                    "name": super::quirks::free_text(cfg.quirks, NAME),
                    "email": EMAIL,
                    "email_verified": true,
                    "preferred_username": USERNAME,
            });
            if let Some(nonce) = &grant.nonce {
                claims["nonce"] = json!(nonce);
            }
            Some(jwt::sign(&env.keys, Alg::Es256, "JWT", &claims)?)
        } else {
            None
        };
        let refresh_ttl = quirks::refresh_token_ttl(q, cfg);
        let refresh_token = if new_refresh_token && cfg.issue_refresh_tokens {
            let token = quirks::refresh_token(q)?;
            let expires = refresh_ttl.and_then(|ttl| {
                let deadline = clock.now.checked_add(Duration::from_secs(ttl))?;
                Some((deadline, iat.saturating_add(ttl)))
            });
            self.refresh.insert(
                token.clone(),
                RefreshToken {
                    grant: g,
                    id: random::b64url(16)?,
                    iat,
                    expires,
                    state: RefreshState::Active,
                },
            );
            Some(token)
        } else {
            None
        };
        self.access.insert(
            access_token.clone(),
            AccessToken {
                grant: g,
                jti,
                scope: scope.to_owned(),
                iat,
                exp,
                revoked: false,
                jkt: at_jkt.clone(),
            },
        );
        let mut response = quirks::token_response(
            q,
            Minted {
                access_token,
                expires_in: ttl,
                scope: scope.to_owned(),
                refresh_token,
                refresh_expires_in: refresh_ttl,
                id_token,
            },
            cfg.knobs.lowercase_token_type,
        );
        if at_jkt.is_some() {
            // RFC 9449 §5: a DPoP-bound access token is of type DPoP.
            response.insert("token_type".into(), json!("DPoP"));
        }
        Ok(response)
    }

    // ----- revocation (RFC 7009), introspection (RFC 7662), userinfo -----

    /// Revoke a token. Unknown tokens are fine (RFC 7009 §2.2); tokens of other clients are
    /// refused (§2.1).
    pub(crate) fn revoke(
        &mut self,
        client: &ClientRegistration,
        token: &str,
        hint: Option<&str>,
        now: Instant,
    ) -> Result<(), OAuthError> {
        let foreign = || {
            OAuthError::with(
                ErrorKind::UnauthorizedClient,
                "the token was issued to another client",
            )
        };
        let kind = if let Some(at) = self.access.get_mut(token) {
            let owner = self.grants.get(at.grant).map(|g| g.client_id.as_str());
            if owner != Some(client.client_id.as_str()) {
                return Err(foreign());
            }
            at.revoked = true;
            "access_token"
        } else if let Some(rt) = self.refresh.get(token) {
            let Some(grant) = self.grants.get_mut(rt.grant) else {
                return Err(OAuthError::server_error());
            };
            if grant.client_id != client.client_id {
                return Err(foreign());
            }
            // §2.1: revoking a refresh token should also invalidate the access tokens of the
            // same grant.
            grant.revoked = true;
            "refresh_token"
        } else {
            "unknown"
        };
        self.revocations.push(RevocationRecord {
            at: now,
            token_type_hint: hint.map(str::to_owned),
            kind: kind.to_owned(),
            client_id: Some(client.client_id.clone()),
        });
        Ok(())
    }

    /// Whether this string is an access token the server issued.
    pub(crate) fn is_access_token(&self, token: &str) -> bool {
        self.access.contains_key(token)
    }

    /// The active access token behind this string, if any.
    /// With `unrevocable` ([`super::Knobs::revoke_jwt_ignored`]) a JWT access token is
    /// self-contained: neither its own revocation nor its grant's ends it before `exp`.
    fn active_access(
        &self,
        token: &str,
        clock: Clock,
        unrevocable: bool,
    ) -> Option<(&AccessToken, &Grant)> {
        let at = self.access.get(token)?;
        let grant = self.grants.get(at.grant)?;
        let unrevocable = unrevocable && token.split('.').count() == 3;
        let revoked = (at.revoked || grant.revoked) && !unrevocable;
        (!revoked && clock.wall < at.exp).then_some((at, grant))
    }

    /// RFC 7662 §2.2 introspection response.
    pub(crate) fn introspect(&self, env: &Env, token: &str, clock: Clock) -> Value {
        if let Some((at, grant)) =
            self.active_access(token, clock, env.cfg.knobs.revoke_jwt_ignored)
        {
            let aud = if grant.audience.is_empty() {
                vec![grant.client_id.clone()]
            } else {
                grant.audience.clone()
            };
            let mut body = json!({
                "active": true,
                "scope": at.scope,
                "client_id": grant.client_id,
                "username": USERNAME,
                "token_type": if at.jkt.is_some() { "DPoP" } else { "Bearer" },
                "exp": at.exp,
                "iat": at.iat,
                "nbf": at.iat,
                "sub": SUBJECT,
                "aud": audience_value(&aud),
                "iss": env.issuer,
                "jti": at.jti,
            });
            // RFC 9449 §6.2: introspection says which key the token is bound to.
            if let Some(jkt) = &at.jkt {
                body["cnf"] = json!({ "jkt": jkt });
            }
            return body;
        }
        if let Some(rt) = self.refresh.get(token)
            && let Some(grant) = self.grants.get(rt.grant)
            && rt.state == RefreshState::Active
            && !grant.revoked
            && rt.expires.is_none_or(|(deadline, _)| clock.now < deadline)
        {
            let mut body = json!({
                "active": true,
                "scope": grant.scope,
                "client_id": grant.client_id,
                "username": USERNAME,
                "token_type": "refresh_token",
                "iat": rt.iat,
                "nbf": rt.iat,
                "sub": SUBJECT,
                "iss": env.issuer,
                "jti": rt.id,
            });
            if let (Some((_, exp)), Some(obj)) = (rt.expires, body.as_object_mut()) {
                obj.insert("exp".into(), json!(exp));
            }
            if let Some(jkt) = &grant.jkt {
                body["cnf"] = json!({ "jkt": jkt });
            }
            return body;
        }
        json!({ "active": false })
    }

    // ----- DPoP bindings (RFC 9449) -----

    /// Binds a device code to the key of the proof its authorization request carried.
    pub(crate) fn bind_device_code(&mut self, device_code: &str, jkt: String) {
        if let Some(d) = self
            .device_codes
            .get(device_code)
            .and_then(|i| self.devices.get_mut(*i))
        {
            d.jkt = Some(jkt);
        }
    }

    /// Checks a poll's proof key against the device code's: a bound code needs a proof from
    /// the same key (the draft: otherwise `invalid_grant`); an unbound one is bound to the
    /// key of the first poll that carries a proof. Unknown codes are left to the poll rules.
    pub(crate) fn check_poll_key(
        &mut self,
        device_code: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<(), OAuthError> {
        let Some(d) = device_code
            .and_then(|c| self.device_codes.get(c))
            .and_then(|i| self.devices.get_mut(*i))
        else {
            return Ok(());
        };
        match (&d.jkt, jkt) {
            (Some(bound), Some(given)) if bound == given => Ok(()),
            (Some(_), _) => Err(OAuthError::with(
                ErrorKind::InvalidGrant,
                "the device code is bound to another DPoP key (or the poll carries no proof)",
            )),
            (None, Some(given)) => {
                d.jkt = Some(given.to_owned());
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Checks a refresh's proof key against the grant's: a bound refresh token is refused
    /// (`invalid_grant`) without a proof from its key, before anything rotates.
    pub(crate) fn check_refresh_key(
        &mut self,
        refresh_token: Option<&str>,
        jkt: Option<&str>,
        now: Instant,
    ) -> Result<(), OAuthError> {
        let bound = refresh_token
            .and_then(|t| self.refresh.get(t))
            .and_then(|rt| self.grants.get(rt.grant))
            .and_then(|g| g.jkt.as_deref());
        match bound {
            Some(bound) if Some(bound) != jkt => {
                self.refreshes.push(RefreshRecord {
                    at: now,
                    outcome: if jkt.is_some() {
                        "dpop_key_mismatch".into()
                    } else {
                        "dpop_proof_missing".into()
                    },
                });
                Err(OAuthError::with(
                    ErrorKind::InvalidGrant,
                    "the refresh token is bound to a DPoP key and needs a proof from it",
                ))
            }
            _ => Ok(()),
        }
    }

    /// An active access token's binding: `None` when the token is not active, else the key
    /// it is bound to (`Some(None)`: a Bearer token).
    pub(crate) fn access_binding(&self, token: &str, clock: Clock) -> Option<Option<String>> {
        self.active_access(token, clock, false)
            .map(|(at, _)| at.jkt.clone())
    }

    /// OpenID Connect UserInfo claims for an active access token.
    pub(crate) fn userinfo(&self, token: &str, clock: Clock, unrevocable: bool) -> Option<Value> {
        self.active_access(token, clock, unrevocable)?;
        Some(json!({
            "sub": SUBJECT,
            "name": NAME,
            "email": EMAIL,
            "email_verified": true,
            "preferred_username": USERNAME,
        }))
    }
}

/// Validate RFC 6749 §3.3 scope syntax and collapse whitespace.
fn normalize_scope(scope: &str) -> Result<String, OAuthError> {
    let tokens: Vec<&str> = scope.split_whitespace().collect();
    let valid =
        |c: char| c == '\x21' || ('\x23'..='\x5b').contains(&c) || ('\x5d'..='\x7e').contains(&c);
    if let Some(bad) = tokens.iter().find(|t| !t.chars().all(valid)) {
        return Err(OAuthError::with(
            ErrorKind::InvalidScope,
            format!("scope token {bad:?} contains invalid characters"),
        ));
    }
    Ok(tokens.join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_normalize() {
        assert_eq!(normalize_user_code(" bcdf-ghjk "), "BCDFGHJK");
        assert_eq!(display_user_code("bcdf ghjk"), "BCDF-GHJK");
        assert_eq!(display_user_code("x<y"), "x<y");
    }

    #[test]
    fn scope_syntax() {
        assert_eq!(normalize_scope(" openid  email ").unwrap(), "openid email");
        assert!(normalize_scope("open\"id").is_err());
    }
}
