//! Grading mode (`tvlogin serve --grade`): the server records every request of each device
//! flow, provokes what it checks (pending answers, `slow_down`, a 503, a 307, an early expiry,
//! a denial, a DPoP nonce challenge), and when the flow ends grades it and hands out a
//! [`Report`].
//!
//! - `record`: what is kept of a request and its answer (never a secret);
//! - `checks`: the checks, each a pure function of the recorded flow;
//! - `report`: the score, the terminal report card and the JSON document.
//!
//! The hook (`hook`) is one middleware around the routes: it reads the request, either
//! answers it itself (a provocation) or lets the handler answer, and records both sides.

pub(crate) mod checks;
pub(crate) mod record;
pub(crate) mod report;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use self::record::{Answer, Endpoint, Exchange, Flow, Issued, Kind, Seen, TokenRef};
use crate::shared::Shared;
use crate::state::Clock;

pub use self::checks::{CHECKS, Check, Finding, Verdict};
pub use self::report::{Report, SCHEMA_VERSION};

/// Where the redirect probe points: `/grade/redirected/<flow number>`.
pub(crate) const PROBE_PATH: &str = "/grade/redirected/";

/// A flow is not idle before its interval (or `Retry-After`) plus this has passed.
const QUIET_MARGIN: Duration = Duration::from_secs(3);

/// What the server provokes in one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// The first three polls are answered `authorization_pending`.
    Pending,
    /// The first poll is answered pending, the second and third `slow_down`.
    SlowDown,
    /// The first poll is answered pending, the second 503 and the third 429, both with
    /// `Retry-After` (the interval + 2 s).
    Backoff,
    /// The device authorization says `expires_in` of four intervals (at least 5 s); every
    /// poll is pending until then and `expired_token` after.
    Expire,
    /// The first poll is answered pending; the authorization is then denied (at
    /// `--approve-after`, or on the second poll).
    Deny,
    /// The flow stays open for a second refresh: the rotated-out refresh token must not
    /// come back (if it does: `invalid_grant` and the whole token family revoked).
    Rotate,
    /// The first poll with a DPoP proof is answered `use_dpop_nonce` with a `DPoP-Nonce`
    /// (without proofs: pending, and the DPoP checks are not exercised).
    Nonce,
    /// The first poll is answered `307 Temporary Redirect` to a probe URL.
    Redirect,
    /// The device authorization carries no `interval`; the first two polls are pending.
    NoInterval,
}

impl Scenario {
    /// Every scenario, in the order the default sequence uses them.
    pub const ALL: [Scenario; 9] = [
        Scenario::Pending,
        Scenario::SlowDown,
        Scenario::Backoff,
        Scenario::Rotate,
        Scenario::Deny,
        Scenario::Expire,
        Scenario::NoInterval,
        Scenario::Redirect,
        Scenario::Nonce,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Pending => "pending",
            Scenario::SlowDown => "slow-down",
            Scenario::Backoff => "backoff",
            Scenario::Expire => "expire",
            Scenario::Deny => "deny",
            Scenario::Rotate => "rotate",
            Scenario::Nonce => "nonce",
            Scenario::Redirect => "redirect",
            Scenario::NoInterval => "no-interval",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario {0:?}; valid names: pending, slow-down, backoff, rotate, deny, expire, no-interval, redirect, nonce"
)]
pub struct ParseScenarioError(pub String);

impl FromStr for Scenario {
    type Err = ParseScenarioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('_', "-");
        Scenario::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| ParseScenarioError(s.to_owned()))
    }
}

/// How to grade (`ServerConfig::grade`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeConfig {
    /// Scenarios for successive flows, used in turn; empty: [`Scenario::ALL`] in turn.
    pub scenarios: Vec<Scenario>,
    /// A flow ends this long after its last request, or this long after it was decided
    /// (tokens and the first refresh, denied, expired).
    pub idle: Duration,
    /// Decide each authorization (approve, or deny for [`Scenario::Deny`]) at the first poll
    /// this long after it was issued; `None`: a person approves on the verification page.
    pub approve_after: Option<Duration>,
}

impl Default for GradeConfig {
    fn default() -> Self {
        GradeConfig {
            scenarios: Vec::new(),
            idle: Duration::from_secs(30),
            approve_after: None,
        }
    }
}

/// SHA-256 of a code or token: the grader finds flows by it and never keeps the value.
type Key = [u8; 32];

fn key(secret: &str) -> Key {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

/// Why a flow's report was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    Decided(String),
    Idle,
    Stopped,
}

/// One flow being recorded.
struct Live {
    flow: Flow,
    start: Instant,
    user_code: Option<String>,
    deadline: Option<Instant>,
    decided: bool,
    polls: u32,
    last: Instant,
    /// When (and how) the flow reached its end; the report follows `idle` later.
    done: Option<(Instant, String)>,
    good_refreshes: u32,
    refresh_tokens: u32,
    access_tokens: u32,
    nonce_sent: bool,
    /// The interval in force (after `slow_down`s), and how long the client may now be
    /// quiet before its next poll (a `Retry-After` can make it longer).
    interval: Duration,
    wait: Duration,
}

/// Token keys → (flow number, what the token is).
#[derive(Default)]
struct Inner {
    flows: Vec<Live>,
    device_codes: HashMap<Key, u32>,
    tokens: HashMap<Key, (u32, TokenRef)>,
    started: u32,
}

impl Inner {
    fn live(&mut self, number: u32) -> Option<&mut Live> {
        self.flows.iter_mut().find(|l| l.flow.number == number)
    }
}

/// The grading state shared by the hook and the sweeper.
pub(crate) struct Grader {
    cfg: GradeConfig,
    inner: Mutex<Inner>,
    reports: UnboundedSender<Report>,
    receiver: Mutex<Option<UnboundedReceiver<Report>>>,
}

/// What the hook does after reading a request.
enum Plan {
    /// The grader answered (and recorded) it.
    Answered(Response),
    /// Let the server answer, then record with this context.
    Forward(Box<Ticket>),
}

fn forward(ticket: Ticket) -> Plan {
    Plan::Forward(Box::new(ticket))
}

/// What a forwarded request was, for recording its answer.
enum Ticket {
    NewFlow(Seen),
    Step {
        flow: u32,
        kind: Kind,
        token: Option<TokenRef>,
        seen: Seen,
    },
    Untracked,
}

impl Grader {
    pub(crate) fn new(cfg: GradeConfig) -> Grader {
        let (reports, receiver) = unbounded_channel();
        Grader {
            cfg,
            inner: Mutex::new(Inner::default()),
            reports,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reports, once.
    pub(crate) fn take_reports(&self) -> Option<UnboundedReceiver<Report>> {
        self.receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn scenario(&self, n: u32) -> Scenario {
        let list: &[Scenario] = if self.cfg.scenarios.is_empty() {
            &Scenario::ALL
        } else {
            &self.cfg.scenarios
        };
        let i = (n.saturating_sub(1) as usize) % list.len().max(1);
        list.get(i).copied().unwrap_or(Scenario::Pending)
    }

    /// Read a request: answer it (a provocation, a followed probe, a re-used refresh token)
    /// or say what to record once the server has answered.
    fn before(&self, sh: &Shared, seen: Seen, now: Instant) -> Plan {
        let mut inner = self.lock();
        match seen.endpoint {
            Endpoint::DeviceAuthorization => forward(Ticket::NewFlow(seen)),
            Endpoint::RedirectProbe(n) => {
                let answer = Answer {
                    status: 400,
                    outcome: "invalid_request".into(),
                    ..Answer::default()
                };
                if let Some(live) = inner.live(n) {
                    push(live, Kind::FollowedRedirect, seen, answer, None, now);
                }
                Plan::Answered(error_response(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "this URL is tvlogin's redirect probe: a client must not follow a redirect from the token endpoint",
                ))
            }
            Endpoint::Token if seen.secrets.device_code.is_some() => {
                let Some(code) = seen.secrets.device_code.as_deref() else {
                    return forward(Ticket::Untracked);
                };
                let Some(&n) = inner.device_codes.get(&key(code)) else {
                    return forward(Ticket::Untracked);
                };
                let Some(live) = inner.live(n) else {
                    return forward(Ticket::Untracked);
                };
                live.polls += 1;
                self.decide(sh, live, now);
                match provoke(live, &seen, now, sh) {
                    Some((response, answer)) => {
                        push(live, Kind::Poll, seen, answer, None, now);
                        Plan::Answered(response)
                    }
                    None => forward(Ticket::Step {
                        flow: n,
                        kind: Kind::Poll,
                        token: None,
                        seen,
                    }),
                }
            }
            Endpoint::Token if seen.secrets.refresh_token.is_some() => {
                let Some(rt) = seen.secrets.refresh_token.clone() else {
                    return forward(Ticket::Untracked);
                };
                let Some(&(n, token)) = inner.tokens.get(&key(&rt)) else {
                    return forward(Ticket::Untracked);
                };
                let Some(live) = inner.live(n) else {
                    return forward(Ticket::Untracked);
                };
                let token = match token {
                    TokenRef::Refresh { number, .. } => TokenRef::Refresh {
                        number,
                        newest: live.refresh_tokens,
                    },
                    other => other,
                };
                if let TokenRef::Refresh { number, newest } = token
                    && number < newest
                {
                    // RFC 9700 §4.14.2: a rotated-out refresh token came back; real servers
                    // answer invalid_grant and revoke every token of the grant.
                    sh.lock().revoke_family(&rt);
                    let answer = Answer {
                        status: 400,
                        outcome: "invalid_grant".into(),
                        provoked: Some("reuse"),
                        ..Answer::default()
                    };
                    push(live, Kind::Refresh, seen, answer, Some(token), now);
                    live.done
                        .get_or_insert((now, "a rotated-out refresh token came back".into()));
                    return Plan::Answered(error_response(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "refresh token reuse detected; the grant has been revoked",
                    ));
                }
                forward(Ticket::Step {
                    flow: n,
                    kind: Kind::Refresh,
                    token: Some(token),
                    seen,
                })
            }
            Endpoint::Revocation => {
                let found = seen
                    .secrets
                    .token
                    .as_deref()
                    .and_then(|t| inner.tokens.get(&key(t)).copied());
                match found {
                    Some((n, token)) => forward(Ticket::Step {
                        flow: n,
                        kind: Kind::Revocation,
                        token: Some(token),
                        seen,
                    }),
                    None => forward(Ticket::Untracked),
                }
            }
            _ => forward(Ticket::Untracked),
        }
    }

    /// `--approve-after`: decide at the first poll that late; `deny` without it denies at
    /// the first poll; `expire` is never decided.
    fn decide(&self, sh: &Shared, live: &mut Live, now: Instant) {
        let scenario = live.flow.scenario;
        if live.decided || scenario == Scenario::Expire {
            return;
        }
        // Not before the scenario's own answers are done, so that they are seen.
        let due = live.polls > holds(scenario)
            && match self.cfg.approve_after {
                Some(after) => now.saturating_duration_since(live.start) >= after,
                None => scenario == Scenario::Deny,
            };
        let Some(code) = live.user_code.as_deref().filter(|_| due) else {
            return;
        };
        live.decided = true;
        // A person may have decided first: then there is nothing to do.
        let _ = sh
            .lock()
            .decide(&sh.env.cfg, code, scenario != Scenario::Deny, Clock::read());
    }

    /// Record the server's answer; returns a rewritten body for device authorizations the
    /// scenario changes.
    fn after(
        &self,
        sh: &Shared,
        ticket: Ticket,
        answer: Answer,
        fields: Map<String, Value>,
        now: Instant,
    ) -> Option<Bytes> {
        let mut inner = self.lock();
        match ticket {
            Ticket::Untracked => None,
            Ticket::NewFlow(seen) => {
                let code = fields.get("device_code").and_then(Value::as_str)?;
                inner.started += 1;
                let number = inner.started;
                let scenario = self.scenario(number);
                let mut fields = fields.clone();
                let rewritten = rewrite(scenario, sh.env.cfg.interval, &mut fields);
                let issued = Issued {
                    interval: fields.get("interval").and_then(Value::as_u64),
                    expires_in: fields.get("expires_in").and_then(Value::as_u64),
                };
                let k = key(code);
                inner.device_codes.insert(k, number);
                let started_unix = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let mut live = Live {
                    flow: Flow {
                        number,
                        scenario,
                        started_unix,
                        issued,
                        exchanges: Vec::new(),
                    },
                    start: now,
                    user_code: fields
                        .get("user_code")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    deadline: issued
                        .expires_in
                        .and_then(|s| now.checked_add(Duration::from_secs(s))),
                    decided: false,
                    polls: 0,
                    last: now,
                    done: None,
                    good_refreshes: 0,
                    refresh_tokens: 0,
                    access_tokens: 0,
                    nonce_sent: false,
                    interval: Duration::from_secs(
                        issued.interval.unwrap_or(checks::DEFAULT_INTERVAL),
                    ),
                    // The first poll is due an interval after the device authorization.
                    wait: Duration::from_secs(issued.interval.unwrap_or(checks::DEFAULT_INTERVAL)),
                };
                push(
                    &mut live,
                    Kind::DeviceAuthorization,
                    seen,
                    answer,
                    None,
                    now,
                );
                inner.flows.push(live);
                rewritten.then(|| Bytes::from(Value::Object(fields).to_string()))
            }
            Ticket::Step {
                flow,
                kind,
                token,
                seen,
            } => {
                let rotate = self.scenario(flow) == Scenario::Rotate;
                let mut new_tokens = Vec::new();
                let live = inner.live(flow)?;
                let tokens = answer.outcome == "tokens";
                let outcome = answer.outcome.clone();
                let terminal = answer.terminal();
                push(live, kind, seen, answer, token, now);
                if tokens {
                    if let Some(at) = fields.get("access_token").and_then(Value::as_str) {
                        live.access_tokens += 1;
                        new_tokens.push((
                            key(at),
                            TokenRef::Access {
                                number: live.access_tokens,
                            },
                        ));
                    }
                    if let Some(rt) = fields.get("refresh_token").and_then(Value::as_str) {
                        live.refresh_tokens += 1;
                        new_tokens.push((
                            key(rt),
                            TokenRef::Refresh {
                                number: live.refresh_tokens,
                                newest: live.refresh_tokens,
                            },
                        ));
                    }
                }
                match kind {
                    Kind::Poll if terminal && !tokens => {
                        live.done
                            .get_or_insert((now, format!("poll answered {outcome}")));
                    }
                    Kind::Refresh if tokens => {
                        live.good_refreshes += 1;
                        let wanted = if rotate { 2 } else { 1 };
                        if live.good_refreshes >= wanted {
                            live.done.get_or_insert((
                                now,
                                format!("tokens issued, {} refresh done", ordinal(wanted)),
                            ));
                        }
                    }
                    _ => {}
                }
                for (k, t) in new_tokens {
                    inner.tokens.insert(k, (flow, t));
                }
                None
            }
        }
    }

    /// Write the reports of the flows that have ended by `now` (all of them when `all`).
    fn sweep(&self, issuer: &str, now: Instant, all: bool) {
        let mut inner = self.lock();
        let idle = self.cfg.idle;
        let mut ended = Vec::new();
        let mut i = 0;
        while i < inner.flows.len() {
            let live = &mut inner.flows[i];
            if live.done.is_none()
                && let Some(deadline) = live.deadline
                && now >= deadline
                && !live
                    .flow
                    .exchanges
                    .iter()
                    .any(|e| e.answer.outcome == "tokens")
            {
                live.done = Some((deadline, "the device code expired".into()));
            }
            let end = if all {
                Some(End::Stopped)
            } else {
                match &live.done {
                    Some((at, why)) if now >= *at + idle => Some(End::Decided(why.clone())),
                    // A client waiting out its interval (or a Retry-After) is not idle.
                    _ if now >= live.last + idle.max(live.wait + QUIET_MARGIN) => Some(End::Idle),
                    _ => None,
                }
            };
            match end {
                Some(end) => {
                    let live = inner.flows.remove(i);
                    ended.push((live, end));
                }
                None => i += 1,
            }
        }
        drop(inner);
        for (live, end) in ended {
            let observed = now.saturating_duration_since(live.start);
            let ended = match end {
                End::Decided(why) => why,
                End::Idle => match live.done {
                    Some((_, why)) => why,
                    None if live
                        .flow
                        .exchanges
                        .iter()
                        .any(|e| e.answer.outcome == "tokens") =>
                    {
                        format!("tokens issued, then no request for {}s", idle.as_secs())
                    }
                    None => format!("no request for {}s", idle.as_secs()),
                },
                End::Stopped => "the server stopped".to_owned(),
            };
            let findings = checks::grade(&live.flow, issuer, observed);
            let report = Report::new(&live.flow, ended, observed, findings);
            let _ = self.reports.send(report);
        }
    }
}

/// How many first polls a scenario answers itself, before any decision can show.
fn holds(scenario: Scenario) -> u32 {
    match scenario {
        Scenario::Pending | Scenario::SlowDown | Scenario::Backoff => 3,
        Scenario::NoInterval => 2,
        // Everything else: one pending answer, so that one interval is judged.
        _ => 1,
    }
}

fn ordinal(n: u32) -> &'static str {
    if n >= 2 { "second" } else { "first" }
}

fn push(
    live: &mut Live,
    kind: Kind,
    seen: Seen,
    answer: Answer,
    token: Option<TokenRef>,
    now: Instant,
) {
    live.last = now;
    if kind == Kind::Poll {
        if answer.outcome == "slow_down" {
            let bumped = live.interval.saturating_add(checks::SLOW_DOWN_STEP);
            live.interval = answer
                .interval
                .map_or(bumped, |s| Duration::from_secs(s).max(bumped));
        }
        live.wait = match answer.retry_after {
            Some(s) => Duration::from_secs(s).max(live.interval),
            None => live.interval,
        };
    }
    live.flow.exchanges.push(Exchange {
        at: now.saturating_duration_since(live.start),
        kind,
        seen: seen.forget_secrets(),
        answer,
        token,
    });
}

/// Change the device authorization answer as the scenario asks; `true` if changed.
fn rewrite(scenario: Scenario, interval: u64, fields: &mut Map<String, Value>) -> bool {
    match scenario {
        Scenario::Expire => {
            let short = (4 * interval).max(5);
            let sent = fields.get("expires_in").and_then(Value::as_u64);
            if sent.is_some_and(|s| s > short) {
                fields.insert("expires_in".into(), json!(short));
                return true;
            }
            false
        }
        Scenario::NoInterval => fields.remove("interval").is_some(),
        _ => false,
    }
}

/// The grader's own answer to a poll, when the scenario provokes one.
fn provoke(live: &mut Live, seen: &Seen, now: Instant, sh: &Shared) -> Option<(Response, Answer)> {
    if seen.body != record::BodyKind::Form {
        // A malformed poll gets the server's own answer (invalid_request).
        return None;
    }
    let n = live.polls;
    let interval = live
        .flow
        .issued
        .interval
        .unwrap_or(checks::DEFAULT_INTERVAL);
    let tag = live.flow.scenario.name();
    let oauth = |status: StatusCode, error: &str, description: &str| {
        let answer = Answer {
            status: status.as_u16(),
            outcome: error.to_owned(),
            provoked: Some(tag),
            ..Answer::default()
        };
        Some((error_response(status, error, description), answer))
    };
    match live.flow.scenario {
        Scenario::Expire => {
            if live.deadline.is_some_and(|d| now >= d) {
                oauth(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "the device code has expired",
                )
            } else {
                oauth(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    "waiting for the user (scenario expire: this code will expire)",
                )
            }
        }
        Scenario::SlowDown if n == 2 || n == 3 => oauth(
            StatusCode::BAD_REQUEST,
            "slow_down",
            "polling too fast (scenario slow-down): add 5 seconds to the interval",
        ),
        Scenario::Backoff if n == 2 || n == 3 => {
            let wait = interval + 2;
            let status = if n == 2 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            let mut response = (
                status,
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                "<!doctype html><html><body><h1>Try again later</h1></body></html>",
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            let answer = Answer {
                status: status.as_u16(),
                outcome: format!("http_{}", status.as_u16()),
                retry_after: Some(wait),
                provoked: Some(tag),
                ..Answer::default()
            };
            Some((response, answer))
        }
        Scenario::Redirect if n == 1 => {
            let location = format!("{}{PROBE_PATH}{}", sh.env.issuer, live.flow.number);
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            let answer = Answer {
                status: 307,
                outcome: "redirect".into(),
                provoked: Some("redirect"),
                ..Answer::default()
            };
            live.done
                .get_or_insert((now, "the redirect probe was answered".into()));
            Some((response, answer))
        }
        Scenario::Nonce if seen.proof.is_some() && !live.nonce_sent => {
            live.nonce_sent = true;
            let nonce = crate::random::b64url(16).unwrap_or_else(|_| "tvlogin-nonce".into());
            let mut response = error_response(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof",
            );
            if let Ok(value) = HeaderValue::from_str(&nonce) {
                response.headers_mut().insert("dpop-nonce", value);
            }
            let answer = Answer {
                status: 400,
                outcome: "use_dpop_nonce".into(),
                nonce: Some(nonce),
                provoked: Some(tag),
                ..Answer::default()
            };
            Some((response, answer))
        }
        scenario if n <= holds(scenario) => oauth(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "waiting for the user",
        ),
        _ => None,
    }
}

fn error_response(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = crate::reply::json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The middleware that records (and provokes) in grading mode; without grading it only
/// passes requests on.
pub(crate) async fn hook(State(sh): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let Some(grader) = sh.grade.as_ref() else {
        return next.run(request).await;
    };
    if Endpoint::of(request.uri().path()) == Endpoint::Other {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::limits::MAX_BODY).await else {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        );
    };
    let now = Instant::now();
    let wall = Clock::read().wall;
    let seen = Seen::parse(
        &parts.method,
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &bytes,
        i64::try_from(wall).unwrap_or(i64::MAX),
    );
    let ticket = match grader.before(&sh, seen, now) {
        Plan::Answered(response) => return response,
        Plan::Forward(ticket) => ticket,
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if matches!(*ticket, Ticket::Untracked) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Answers are small JSON documents; anything larger is passed on unrecorded.
    let Ok(bytes) = axum::body::to_bytes(body, crate::limits::MAX_BODY).await else {
        return error_response(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "the answer could not be recorded",
        );
    };
    let answer = Answer::parse(parts.status, &parts.headers, &bytes);
    let fields = record::answer_fields(&parts.headers, &bytes);
    let body = match grader.after(&sh, *ticket, answer, fields, now) {
        Some(rewritten) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            rewritten
        }
        None => bytes,
    };
    Response::from_parts(parts, Body::from(body))
}

/// Ends flows as they go quiet, four times a second, until the server is gone.
pub(crate) async fn sweeper(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(sh) = shared.upgrade() else { return };
        if let Some(grader) = sh.grade.as_ref() {
            grader.sweep(&sh.env.issuer, Instant::now(), false);
        }
    }
}

/// Grade every open flow now (the server is stopping).
pub(crate) fn finish(sh: &Shared) {
    if let Some(grader) = sh.grade.as_ref() {
        grader.sweep(&sh.env.issuer, Instant::now(), true);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        assert_eq!("slow_down".parse::<Scenario>(), Ok(Scenario::SlowDown));
        assert!("nope".parse::<Scenario>().is_err());
    }

    #[test]
    fn scenarios_cycle_and_default_to_all() {
        let g = Grader::new(GradeConfig::default());
        let seq: Vec<_> = (1..=10).map(|n| g.scenario(n)).collect();
        assert_eq!(&seq[..9], &Scenario::ALL);
        assert_eq!(seq[9], Scenario::ALL[0]);
        let g = Grader::new(GradeConfig {
            scenarios: vec![Scenario::Deny, Scenario::Rotate],
            ..GradeConfig::default()
        });
        assert_eq!(
            (g.scenario(1), g.scenario(2), g.scenario(3)),
            (Scenario::Deny, Scenario::Rotate, Scenario::Deny)
        );
    }

    #[test]
    fn expire_and_no_interval_rewrite_the_device_answer() {
        let mut f: Map<String, Value> =
            serde_json::from_str(r#"{"expires_in":600,"interval":2}"#).unwrap();
        assert!(rewrite(Scenario::Expire, 2, &mut f));
        assert_eq!(f["expires_in"], 8);
        assert!(rewrite(Scenario::NoInterval, 2, &mut f));
        assert!(!f.contains_key("interval"));
        assert!(!rewrite(Scenario::Pending, 2, &mut f));
    }
}
