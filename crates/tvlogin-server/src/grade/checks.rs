//! The checks: each one a pure function of the recorded flow, giving pass, fail or
//! not-exercised and the evidence (the request and its time) that decided it.
//!
//! [`CHECKS`] is the one table of ids, RFC references, the sentence each check enforces and
//! its weight in the score; the README's checks table is written from it.

use std::time::Duration;

use super::record::{BodyKind, ClientAuth, Exchange, Flow, Kind, SECRET_PARAMS, TokenRef};
use crate::routes::DEVICE_CODE_GRANT;

/// Polls may arrive this much sooner than the interval asks: the server measures arrival to
/// arrival, a client may measure send to send.
pub const PACING_TOLERANCE: Duration = Duration::from_millis(250);

/// A poll this long after `expires_in` has passed counts as polling after expiry.
pub const EXPIRY_TOLERANCE: Duration = Duration::from_secs(1);

/// A DPoP proof's `iat` may be this far from the server's clock (RFC 9449 §11.1 leaves the
/// window to the server; a minute is common).
pub const IAT_WINDOW: i64 = 60;

/// RFC 8628 §3.2: the interval when the server sends none.
pub const DEFAULT_INTERVAL: u64 = 5;

/// RFC 8628 §3.5: what each `slow_down` adds.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The client did what the rule asks every time it was tested.
    Pass,
    /// The client broke the rule at least once.
    Fail,
    /// Nothing in this flow tested the rule (no score either way).
    NotExercised,
}

impl Verdict {
    /// `pass`, `fail` or `not_exercised` (the JSON spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotExercised => "not_exercised",
        }
    }
}

/// One row of the checks table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable id, `group.name`.
    pub id: &'static str,
    /// What is checked, in a few words.
    pub what: &'static str,
    /// The RFC (and section) the rule comes from.
    pub rfc: &'static str,
    /// The sentence of that RFC the rule enforces.
    pub rule: &'static str,
    /// Share of the score (all weights add up to 100).
    pub weight: u32,
}

/// Every check, in report order. Weights add up to 100.
pub const CHECKS: [Check; 21] = [
    Check {
        id: "shape.post",
        what: "every request is a POST",
        rfc: "RFC 6749 §3.2",
        rule: "The client MUST use the HTTP \"POST\" method when making access token requests.",
        weight: 4,
    },
    Check {
        id: "shape.form",
        what: "application/x-www-form-urlencoded body",
        rfc: "RFC 8628 §3.1, RFC 6749 §4.1.3",
        rule: "... by including the following parameters using the \"application/x-www-form-urlencoded\" format per Appendix B of [RFC6749] with a character encoding of UTF-8 in the HTTP request entity-body",
        weight: 8,
    },
    Check {
        id: "shape.client-id",
        what: "client_id (or client credentials) on every request",
        rfc: "RFC 8628 §3.1",
        rule: "client_id REQUIRED if the client is not authenticating with the authorization server as described in Section 3.2.1. of [RFC6749].",
        weight: 4,
    },
    Check {
        id: "shape.grant-type",
        what: "grant_type exact",
        rfc: "RFC 8628 §3.4, RFC 6749 §6",
        rule: "grant_type REQUIRED. Value MUST be set to \"urn:ietf:params:oauth:grant-type:device_code\".",
        weight: 4,
    },
    Check {
        id: "shape.no-query-secrets",
        what: "no secret, code or token in the URL",
        rfc: "RFC 6749 §2.3.1",
        rule: "The parameters can only be transmitted in the request-body and MUST NOT be included in the request URI.",
        weight: 6,
    },
    Check {
        id: "shape.accept-json",
        what: "Accept takes application/json",
        rfc: "RFC 6749 §5.1, RFC 9110 §12.5.1",
        rule: "The parameters are included in the entity-body of the HTTP response using the \"application/json\" media type",
        weight: 2,
    },
    Check {
        id: "pacing.interval",
        what: "no poll sooner than the interval",
        rfc: "RFC 8628 §3.2",
        rule: "interval: The minimum amount of time in seconds that the client SHOULD wait between polling requests to the token endpoint.",
        weight: 10,
    },
    Check {
        id: "pacing.slow-down",
        what: "+5 s after every slow_down, kept",
        rfc: "RFC 8628 §3.5",
        rule: "slow_down: ... polling should continue, but the interval MUST be increased by 5 seconds for this and all subsequent requests.",
        weight: 10,
    },
    Check {
        id: "pacing.default-interval",
        what: "5 s between polls when no interval was sent",
        rfc: "RFC 8628 §3.2",
        rule: "If no value is provided, clients MUST use 5 as the default.",
        weight: 4,
    },
    Check {
        id: "pacing.stop-on-error",
        what: "no poll after tokens or a terminal error",
        rfc: "RFC 8628 §3.5",
        rule: "If the client receives an error response with any other error code, it MUST stop polling and SHOULD react accordingly, for example, by displaying an error to the user.",
        weight: 8,
    },
    Check {
        id: "pacing.stop-at-expiry",
        what: "no poll after expires_in",
        rfc: "RFC 8628 §3.2, §3.5",
        rule: "expires_in: The lifetime in seconds of the \"device_code\" and \"user_code\". (expired_token: the device authorization session has concluded.)",
        weight: 4,
    },
    Check {
        id: "pacing.backoff",
        what: "backs off on 5xx/429, honours Retry-After",
        rfc: "RFC 9110 §10.2.3, RFC 8628 §3.5",
        rule: "Servers send the \"Retry-After\" header field to indicate how long the user agent ought to wait before making a follow-up request.",
        weight: 4,
    },
    Check {
        id: "tokens.newest-refresh",
        what: "refresh with the newest refresh token",
        rfc: "RFC 6749 §6, RFC 9700 §4.14.2",
        rule: "The authorization server MAY issue a new refresh token, in which case the client MUST discard the old refresh token and replace it with the new refresh token.",
        weight: 8,
    },
    Check {
        id: "tokens.revocation",
        what: "revocation names the token and a correct token_type_hint",
        rfc: "RFC 7009 §2.1",
        rule: "token REQUIRED. The token that the client wants to get revoked. token_type_hint OPTIONAL. A hint about the type of the token submitted for revocation.",
        weight: 3,
    },
    Check {
        id: "tokens.client-auth",
        what: "one client, one authentication method throughout",
        rfc: "RFC 6749 §2.3, §3.2.1",
        rule: "The client MUST NOT use more than one authentication method in each request.",
        weight: 5,
    },
    Check {
        id: "dpop.every-request",
        what: "a DPoP proof on the device authorization and every poll and refresh",
        rfc: "RFC 9449 §5",
        rule: "To request an access token that is bound to a public key using DPoP, the client MUST provide a valid DPoP proof JWT in a DPoP header when making an access token request to the authorization server's token endpoint. (draft-parecki-oauth-dpop-device-flow: also on the device authorization request.)",
        weight: 3,
    },
    Check {
        id: "dpop.same-key",
        what: "the same key in every proof",
        rfc: "RFC 9449 §5",
        rule: "... the client MUST present a DPoP proof for the same key that was used to obtain the refresh token each time that refresh token is used to obtain a new access token.",
        weight: 3,
    },
    Check {
        id: "dpop.fresh-jti",
        what: "a new jti in every proof",
        rfc: "RFC 9449 §4.2",
        rule: "jti: Unique identifier for the DPoP proof JWT. The value MUST be assigned such that there is a negligible probability that the same value will be assigned to any other DPoP proof used in the same context during the time window of validity.",
        weight: 2,
    },
    Check {
        id: "dpop.claims",
        what: "typ, asymmetric alg, public jwk, htm, htu, iat",
        rfc: "RFC 9449 §4.2, §4.3",
        rule: "htm: The value of the HTTP method of the request to which the JWT is attached. htu: The HTTP target URI of the request to which the JWT is attached, without query and fragment parts.",
        weight: 2,
    },
    Check {
        id: "dpop.nonce",
        what: "the retry after use_dpop_nonce carries the nonce",
        rfc: "RFC 9449 §8",
        rule: "nonce: A recent nonce provided via the DPoP-Nonce HTTP header. (RFC 9449 §8: after use_dpop_nonce, the client retries with the nonce it was given.)",
        weight: 2,
    },
    Check {
        id: "redirect.not-followed",
        what: "a 307 from the token endpoint is not followed",
        rfc: "RFC 9700 §4.12",
        rule: "A 307 redirect makes the client send the same POST body, device code and client credentials included, to the new location: a token endpoint's answer is never followed.",
        weight: 4,
    },
];

/// The result of one check on one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check's id (a [`CHECKS`] entry).
    pub id: &'static str,
    /// Pass, fail or not exercised.
    pub verdict: Verdict,
    /// What decided it: requests and their times since the device authorization.
    pub evidence: String,
    /// When the deciding request arrived, since the device authorization (`None` when no
    /// single request decided).
    pub at: Option<Duration>,
}

/// `t+1.25s`.
pub(crate) fn at(d: Duration) -> String {
    format!("t+{:.2}s", d.as_secs_f64())
}

/// `1 gap`, `2 gaps`; `1 refresh`, `2 refreshes`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with('h') {
        format!("{n} {noun}es")
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {noun}s")
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// `poll 3 (t+2.00s)`, `refresh (t+9.10s)`.
fn name(e: &Exchange, flow: &Flow) -> String {
    if e.kind == Kind::Poll {
        let n = flow
            .polls()
            .position(|p| std::ptr::eq(p, e))
            .map_or(0, |i| i + 1);
        format!("poll {n} ({})", at(e.at))
    } else {
        format!("{} ({})", e.kind.name(), at(e.at))
    }
}

fn pass(id: &'static str, evidence: impl Into<String>) -> Finding {
    Finding {
        id,
        verdict: Verdict::Pass,
        evidence: evidence.into(),
        at: None,
    }
}

fn fail(id: &'static str, when: Duration, evidence: impl Into<String>) -> Finding {
    Finding {
        id,
        verdict: Verdict::Fail,
        evidence: evidence.into(),
        at: Some(when),
    }
}

fn idle(id: &'static str, why: impl Into<String>) -> Finding {
    Finding {
        id,
        verdict: Verdict::NotExercised,
        evidence: why.into(),
        at: None,
    }
}

/// Every check of [`CHECKS`], in order, on one flow.
pub(crate) fn grade(flow: &Flow, issuer: &str, observed: Duration) -> Vec<Finding> {
    let pacing = pacing(flow);
    vec![
        shape_post(flow),
        shape_form(flow),
        shape_client_id(flow),
        shape_grant_type(flow),
        shape_no_query_secrets(flow),
        shape_accept_json(flow),
        pacing.interval,
        pacing.slow_down,
        pacing.default_interval,
        stop_on_error(flow),
        stop_at_expiry(flow, observed),
        pacing.backoff,
        newest_refresh(flow),
        revocation(flow),
        client_auth(flow),
        dpop_every_request(flow),
        dpop_same_key(flow),
        dpop_fresh_jti(flow),
        dpop_claims(flow, issuer),
        dpop_nonce(flow),
        redirect_not_followed(flow),
    ]
}

/// The client's own requests (not the probe it may have followed).
fn requests(flow: &Flow) -> impl Iterator<Item = &Exchange> {
    flow.exchanges
        .iter()
        .filter(|e| e.kind != Kind::FollowedRedirect)
}

fn shape_post(flow: &Flow) -> Finding {
    const ID: &str = "shape.post";
    match requests(flow).find(|e| e.seen.method != "POST") {
        Some(e) => fail(
            ID,
            e.at,
            format!("{}: {} {}", name(e, flow), e.seen.method, e.seen.path),
        ),
        None => pass(
            ID,
            format!("{}, all POST", count(requests(flow).count(), "request")),
        ),
    }
}

fn shape_form(flow: &Flow) -> Finding {
    const ID: &str = "shape.form";
    let bad = requests(flow).find(|e| {
        let mime = e.seen.content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        mime.as_deref() != Some("application/x-www-form-urlencoded")
            || e.seen.body != BodyKind::Form
    });
    match bad {
        Some(e) => fail(
            ID,
            e.at,
            format!(
                "{} sent {} with Content-Type {}",
                name(e, flow),
                e.seen.body.name(),
                e.seen.content_type.as_deref().unwrap_or("(none)")
            ),
        ),
        None => pass(
            ID,
            format!(
                "{}, all form-encoded with a body",
                count(requests(flow).count(), "request")
            ),
        ),
    }
}

fn shape_client_id(flow: &Flow) -> Finding {
    const ID: &str = "shape.client-id";
    match requests(flow).find(|e| e.seen.auth == ClientAuth::Missing) {
        Some(e) => fail(
            ID,
            e.at,
            format!(
                "{} had neither client_id nor client credentials",
                name(e, flow)
            ),
        ),
        None => pass(ID, "every request identified the client"),
    }
}

fn shape_grant_type(flow: &Flow) -> Finding {
    const ID: &str = "shape.grant-type";
    let mut judged = 0;
    for e in requests(flow) {
        let expected = match e.kind {
            Kind::Poll => DEVICE_CODE_GRANT,
            Kind::Refresh => "refresh_token",
            _ => continue,
        };
        judged += 1;
        let sent = e.seen.param("grant_type");
        if sent != Some(expected) {
            return fail(
                ID,
                e.at,
                format!(
                    "{} sent grant_type {}, not {expected}",
                    name(e, flow),
                    sent.map_or("(none)".to_owned(), |s| format!("{s:?}"))
                ),
            );
        }
    }
    if judged == 0 {
        return idle(ID, "no poll or refresh");
    }
    pass(
        ID,
        format!("{}, grant_type exact", count(judged, "token request")),
    )
}

fn shape_no_query_secrets(flow: &Flow) -> Finding {
    const ID: &str = "shape.no-query-secrets";
    for e in requests(flow) {
        if let Some(n) = e
            .seen
            .query_names
            .iter()
            .find(|n| SECRET_PARAMS.contains(&n.as_str()))
        {
            return fail(
                ID,
                e.at,
                format!("{} carried {n} in the URL", name(e, flow)),
            );
        }
    }
    pass(ID, "no secret, code or token in any URL")
}

/// Whether an `Accept` value takes `application/json` (missing: anything goes, RFC 9110
/// §12.5.1).
pub(crate) fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return true;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !zero
            && (media == "application/json"
                || media == "application/*"
                || media == "*/*"
                || media.ends_with("+json"))
    })
}

fn shape_accept_json(flow: &Flow) -> Finding {
    const ID: &str = "shape.accept-json";
    match requests(flow).find(|e| !accepts_json(e.seen.accept.as_deref())) {
        Some(e) => fail(
            ID,
            e.at,
            format!(
                "{} sent Accept: {}",
                name(e, flow),
                e.seen.accept.as_deref().unwrap_or("")
            ),
        ),
        None => pass(ID, "every Accept takes JSON"),
    }
}

/// The three interval checks and the backoff check, from one walk over the polls.
struct Pacing {
    interval: Finding,
    slow_down: Finding,
    default_interval: Finding,
    backoff: Finding,
}

/// One judged gap between two polls.
struct Gap {
    ok: bool,
    gap: Duration,
    text: String,
    at: Duration,
}

fn summary(id: &'static str, gaps: &[Gap], none: &str) -> Finding {
    match gaps.iter().find(|g| !g.ok) {
        Some(g) => fail(id, g.at, g.text.clone()),
        None if gaps.is_empty() => idle(id, none),
        None => pass(
            id,
            format!(
                "{} judged; the shortest: {}",
                count(gaps.len(), "gap"),
                gaps.iter()
                    .min_by_key(|g| g.gap)
                    .map_or("", |g| g.text.as_str())
            ),
        ),
    }
}

fn pacing(flow: &Flow) -> Pacing {
    let explicit = flow.issued.interval.is_some();
    let mut interval = Duration::from_secs(flow.issued.interval.unwrap_or(DEFAULT_INTERVAL));
    let mut slowed = false;
    let (mut plain, mut after_slow, mut default, mut backoff) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut prev: Option<&Exchange> = None;
    for e in flow.polls() {
        if let Some(p) = prev {
            let gap = e.at.saturating_sub(p.at);
            let judged = if p.answer.outcome == "use_dpop_nonce" {
                // RFC 9449 §8: the retry with the nonce may follow at once.
                None
            } else if p.answer.transient() {
                let wait = p
                    .answer
                    .retry_after
                    .map_or(interval, |s| Duration::from_secs(s).max(interval));
                backoff.push(Gap {
                    ok: gap + PACING_TOLERANCE >= wait,
                    gap,
                    text: format!(
                        "{} came {} after HTTP {} (Retry-After {}) at {}; at least {} was due",
                        name(e, flow),
                        secs(gap),
                        p.answer.status,
                        p.answer
                            .retry_after
                            .map_or("none".to_owned(), |s| format!("{s}")),
                        at(p.at),
                        secs(wait)
                    ),
                    at: e.at,
                });
                None
            } else {
                Some(Gap {
                    ok: gap + PACING_TOLERANCE >= interval,
                    gap,
                    text: format!(
                        "{} came {} after {} (interval {}{})",
                        name(e, flow),
                        secs(gap),
                        name(p, flow),
                        secs(interval),
                        if slowed { " after slow_down" } else { "" }
                    ),
                    at: e.at,
                })
            };
            if let Some(g) = judged {
                match (slowed, explicit) {
                    (true, _) => after_slow.push(g),
                    (false, true) => plain.push(g),
                    (false, false) => default.push(g),
                }
            }
        }
        if e.answer.outcome == "slow_down" {
            let bumped = interval.saturating_add(SLOW_DOWN_STEP);
            interval = e
                .answer
                .interval
                .map_or(bumped, |s| Duration::from_secs(s).max(bumped));
            slowed = true;
        }
        prev = Some(e);
    }
    let tol = secs(PACING_TOLERANCE);
    let none_plain = if explicit {
        "fewer than two polls before any slow_down".to_owned()
    } else {
        "the server sent no interval (see pacing.default-interval)".to_owned()
    };
    Pacing {
        interval: with_tolerance(summary("pacing.interval", &plain, &none_plain), &tol),
        slow_down: with_tolerance(
            summary("pacing.slow-down", &after_slow, "no slow_down was answered"),
            &tol,
        ),
        default_interval: with_tolerance(
            summary(
                "pacing.default-interval",
                &default,
                if explicit {
                    "the server sent an interval"
                } else {
                    "fewer than two polls"
                },
            ),
            &tol,
        ),
        backoff: summary(
            "pacing.backoff",
            &backoff,
            "no 5xx or 429 answer was followed by another poll",
        ),
    }
}

fn with_tolerance(mut f: Finding, tol: &str) -> Finding {
    if f.verdict != Verdict::NotExercised {
        f.evidence.push_str(&format!(" (tolerance {tol})"));
    }
    f
}

fn stop_on_error(flow: &Flow) -> Finding {
    const ID: &str = "pacing.stop-on-error";
    let Some(end) = flow.polls().find(|e| e.answer.terminal()) else {
        return idle(ID, "no poll got tokens or a terminal error");
    };
    match flow.polls().find(|e| e.at > end.at) {
        Some(e) => fail(
            ID,
            e.at,
            format!(
                "{} came after {} answered {}",
                name(e, flow),
                name(end, flow),
                end.answer.outcome
            ),
        ),
        None => pass(
            ID,
            format!(
                "no poll after {} answered {}",
                name(end, flow),
                end.answer.outcome
            ),
        ),
    }
}

fn stop_at_expiry(flow: &Flow, observed: Duration) -> Finding {
    const ID: &str = "pacing.stop-at-expiry";
    let Some(expires_in) = flow.issued.expires_in else {
        return idle(ID, "the device authorization had no expires_in");
    };
    let deadline = Duration::from_secs(expires_in);
    if let Some(end) = flow
        .polls()
        .find(|e| e.answer.terminal() && e.at <= deadline)
    {
        return idle(
            ID,
            format!(
                "{} ended the flow with {} before the code expired",
                name(end, flow),
                end.answer.outcome
            ),
        );
    }
    if observed <= deadline + EXPIRY_TOLERANCE {
        return idle(ID, "the flow ended before the code expired");
    }
    match flow.polls().find(|e| e.at > deadline + EXPIRY_TOLERANCE) {
        Some(e) => fail(
            ID,
            e.at,
            format!(
                "{} came after expires_in {expires_in}s had passed (tolerance {})",
                name(e, flow),
                secs(EXPIRY_TOLERANCE)
            ),
        ),
        None => pass(
            ID,
            format!(
                "no poll after expires_in {expires_in}s (watched until {})",
                at(observed)
            ),
        ),
    }
}

fn newest_refresh(flow: &Flow) -> Finding {
    const ID: &str = "tokens.newest-refresh";
    let mut judged = 0;
    for e in requests(flow).filter(|e| e.kind == Kind::Refresh) {
        let Some(TokenRef::Refresh { number, newest }) = e.token else {
            continue;
        };
        if newest < 2 {
            continue;
        }
        judged += 1;
        if number < newest {
            return fail(
                ID,
                e.at,
                format!(
                    "{} presented refresh token #{number} after #{newest} had replaced it; answered {}{}",
                    name(e, flow),
                    e.answer.outcome,
                    if e.answer.provoked == Some("reuse") {
                        " and the whole token family was revoked"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    if judged == 0 {
        return idle(ID, "no refresh after a rotation");
    }
    pass(
        ID,
        format!(
            "{} after a rotation, each with the newest refresh token",
            count(judged, "refresh")
        ),
    )
}

fn revocation(flow: &Flow) -> Finding {
    const ID: &str = "tokens.revocation";
    let mut done = Vec::new();
    for e in requests(flow).filter(|e| e.kind == Kind::Revocation) {
        if !e.seen.has("token") {
            return fail(
                ID,
                e.at,
                format!("{} had no token parameter", name(e, flow)),
            );
        }
        let hint = e.seen.param("token_type_hint");
        let what = match e.token {
            Some(TokenRef::Refresh { number, .. }) => {
                (Some("refresh_token"), format!("refresh token #{number}"))
            }
            Some(TokenRef::Access { number }) => {
                (Some("access_token"), format!("access token #{number}"))
            }
            _ => (None, "an unknown token".to_owned()),
        };
        if let Some(h) = hint {
            let known = h == "refresh_token" || h == "access_token";
            if !known || what.0.is_some_and(|kind| kind != h) {
                return fail(
                    ID,
                    e.at,
                    format!(
                        "{} sent {} with token_type_hint {h:?}",
                        name(e, flow),
                        what.1
                    ),
                );
            }
        }
        done.push(format!(
            "{} ({}, {})",
            what.1,
            hint.map_or("no hint".to_owned(), |h| format!("hint {h}")),
            at(e.at)
        ));
    }
    if done.is_empty() {
        return idle(ID, "no revocation");
    }
    pass(ID, format!("revoked {}", done.join("; ")))
}

fn client_auth(flow: &Flow) -> Finding {
    const ID: &str = "tokens.client-auth";
    let mut first: Option<&Exchange> = None;
    let mut n = 0;
    for e in requests(flow) {
        if let ClientAuth::Both(_) = e.seen.auth {
            return fail(
                ID,
                e.at,
                format!(
                    "{} used HTTP Basic and client_secret in the body at once",
                    name(e, flow)
                ),
            );
        }
        if e.seen.auth == ClientAuth::Missing {
            continue;
        }
        n += 1;
        match first {
            None => first = Some(e),
            Some(f) => {
                let (a, b) = (&f.seen.auth, &e.seen.auth);
                if a.method() != b.method() || a.client_id() != b.client_id() {
                    return fail(
                        ID,
                        e.at,
                        format!(
                            "{} authenticated as {:?} with {}, {} as {:?} with {}",
                            name(e, flow),
                            b.client_id().unwrap_or(""),
                            b.method(),
                            name(f, flow),
                            a.client_id().unwrap_or(""),
                            a.method()
                        ),
                    );
                }
            }
        }
    }
    match first {
        Some(f) if n > 1 => pass(
            ID,
            format!(
                "{} as {:?} with {}",
                count(n, "request"),
                f.seen.auth.client_id().unwrap_or(""),
                f.seen.auth.method()
            ),
        ),
        _ => idle(ID, "fewer than two authenticated requests"),
    }
}

/// The requests that carry (or should carry) a DPoP proof, when the client uses DPoP at all.
fn dpop_requests(flow: &Flow) -> Option<Vec<&Exchange>> {
    let used = requests(flow).any(|e| e.seen.proof.is_some());
    used.then(|| {
        requests(flow)
            .filter(|e| {
                matches!(
                    e.kind,
                    Kind::DeviceAuthorization | Kind::Poll | Kind::Refresh
                )
            })
            .collect()
    })
}

const NO_DPOP: &str = "the client sent no DPoP proof";

fn dpop_every_request(flow: &Flow) -> Finding {
    const ID: &str = "dpop.every-request";
    let Some(list) = dpop_requests(flow) else {
        return idle(ID, NO_DPOP);
    };
    match list.iter().find(|e| e.seen.proof.is_none()) {
        Some(e) => fail(ID, e.at, format!("{} carried no DPoP proof", name(e, flow))),
        None => pass(
            ID,
            format!("{}, each with a proof", count(list.len(), "request")),
        ),
    }
}

fn dpop_same_key(flow: &Flow) -> Finding {
    const ID: &str = "dpop.same-key";
    let Some(list) = dpop_requests(flow) else {
        return idle(ID, NO_DPOP);
    };
    let mut first: Option<(&Exchange, &str)> = None;
    for e in list {
        let Some(p) = &e.seen.proof else { continue };
        let Some(jkt) = p.jkt.as_deref() else {
            return fail(
                ID,
                e.at,
                format!("{}: the proof has no usable jwk", name(e, flow)),
            );
        };
        match first {
            None => first = Some((e, jkt)),
            Some((f, k)) if k != jkt => {
                return fail(
                    ID,
                    e.at,
                    format!(
                        "{} used key {jkt}, {} used key {k}",
                        name(e, flow),
                        name(f, flow)
                    ),
                );
            }
            Some(_) => {}
        }
    }
    match first {
        Some((_, k)) => pass(ID, format!("every proof with key {k}")),
        None => idle(ID, NO_DPOP),
    }
}

fn dpop_fresh_jti(flow: &Flow) -> Finding {
    const ID: &str = "dpop.fresh-jti";
    let mut seen: Vec<(&str, &Exchange)> = Vec::new();
    for e in requests(flow) {
        let Some(p) = &e.seen.proof else { continue };
        let Some(jti) = p.jti.as_deref() else {
            return fail(ID, e.at, format!("{}: the proof has no jti", name(e, flow)));
        };
        if let Some((_, f)) = seen.iter().find(|(j, _)| *j == jti) {
            return fail(
                ID,
                e.at,
                format!("{} re-used the jti of {}", name(e, flow), name(f, flow)),
            );
        }
        seen.push((jti, e));
    }
    if seen.is_empty() {
        return idle(ID, NO_DPOP);
    }
    pass(
        ID,
        format!("{}, each with its own jti", count(seen.len(), "proof")),
    )
}

fn dpop_claims(flow: &Flow, issuer: &str) -> Finding {
    const ID: &str = "dpop.claims";
    let mut n = 0;
    for e in requests(flow) {
        let Some(p) = &e.seen.proof else { continue };
        n += 1;
        let url = format!("{issuer}{}", e.seen.path);
        let alg = p.alg.as_deref().unwrap_or("");
        let problem = if p.malformed {
            Some("the proof is not a JWT".to_owned())
        } else if p.typ.as_deref() != Some("dpop+jwt") {
            Some(format!(
                "typ is {:?}, not dpop+jwt",
                p.typ.as_deref().unwrap_or("")
            ))
        } else if alg.is_empty() || alg == "none" || alg.starts_with("HS") {
            Some(format!("alg {alg:?} is not asymmetric"))
        } else if p.private_jwk {
            Some("the jwk carries private key material".to_owned())
        } else if p.htm.as_deref() != Some(e.seen.method.as_str()) {
            Some(format!(
                "htm {:?} for a {} request",
                p.htm.as_deref().unwrap_or(""),
                e.seen.method
            ))
        } else if p.htu.as_deref() != Some(url.as_str()) {
            Some(format!(
                "htu {:?} for {url}",
                p.htu.as_deref().unwrap_or("")
            ))
        } else if p
            .iat
            .is_none_or(|iat| (iat - e.seen.wall).abs() > IAT_WINDOW)
        {
            Some(format!(
                "iat {} is more than {IAT_WINDOW}s from the server's clock {}",
                p.iat.map_or("(none)".to_owned(), |i| i.to_string()),
                e.seen.wall
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return fail(ID, e.at, format!("{}: {problem}", name(e, flow)));
        }
    }
    if n == 0 {
        return idle(ID, NO_DPOP);
    }
    pass(
        ID,
        format!(
            "{} with correct typ, alg, htm, htu and iat",
            count(n, "proof")
        ),
    )
}

/// After a `use_dpop_nonce` answer with a `DPoP-Nonce`, the client's next request (the
/// retry) must carry that nonce. Later proofs need none unless the server asks again: a
/// nonce is the server's to demand.
fn dpop_nonce(flow: &Flow) -> Finding {
    const ID: &str = "dpop.nonce";
    let mut judged = 0;
    let list: Vec<&Exchange> = requests(flow).collect();
    for (i, e) in list.iter().enumerate() {
        let Some(n) = e
            .answer
            .nonce
            .as_deref()
            .filter(|_| e.answer.outcome == "use_dpop_nonce")
        else {
            continue;
        };
        let Some(retry) = list.get(i + 1) else {
            continue;
        };
        judged += 1;
        let carried = retry.seen.proof.as_ref().and_then(|p| p.nonce.as_deref());
        if carried != Some(n) {
            return fail(
                ID,
                retry.at,
                format!(
                    "{} did not carry the DPoP-Nonce of the use_dpop_nonce answer to {}",
                    name(retry, flow),
                    name(e, flow)
                ),
            );
        }
    }
    if judged == 0 {
        return idle(
            ID,
            if dpop_requests(flow).is_some() {
                "no use_dpop_nonce challenge was followed by a request"
            } else {
                NO_DPOP
            },
        );
    }
    pass(
        ID,
        format!(
            "{} after use_dpop_nonce, each with the nonce",
            count(judged, "retry")
        ),
    )
}

fn redirect_not_followed(flow: &Flow) -> Finding {
    const ID: &str = "redirect.not-followed";
    let Some(probe) = flow
        .exchanges
        .iter()
        .find(|e| e.answer.provoked == Some("redirect"))
    else {
        return idle(ID, "no redirect probe in this flow (scenario redirect)");
    };
    match flow
        .exchanges
        .iter()
        .find(|e| e.kind == Kind::FollowedRedirect)
    {
        Some(e) => fail(
            ID,
            e.at,
            format!(
                "{} {} at {}: the client followed the 307 answered to {}",
                e.seen.method,
                e.seen.path,
                at(e.at),
                name(probe, flow)
            ),
        ),
        None => pass(
            ID,
            format!("the 307 answered to {} was not followed", name(probe, flow)),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
