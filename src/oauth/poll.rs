//! One poll step of the device flow, as a pure function of the server's answer and the time.
//!
//! [`Poller::step`] takes what one token request produced (a normalised response or a
//! transport error) and the current instant, and returns what it means ([`PollOutcome`]) and
//! when to poll next ([`Next`]). No IO and no clock reads happen here, so every rule is
//! table-tested, and the plain/JSON driver and the TUI share the same logic:
//!
//! - `authorization_pending` → poll again after the interval in force;
//! - `slow_down` → interval = max(server's `interval`, current + 5 s) for this and all later
//!   polls (RFC 8628 §3.5), also for a bare HTTP 429;
//! - 5xx, 408, `temporarily_unavailable`, resets and timeouts → back off exponentially
//!   (interval, 2×, 4×… capped at a minute, never less than `Retry-After`);
//! - `access_denied` / `authorization_declined` → denied; `expired_token` → expired, and an
//!   `invalid_grant` once the code has expired (Auth0 says `expired_token` only once);
//! - any other error ends the flow with the server's words;
//! - a local deadline from `expires_in` ends the flow even if the server keeps saying pending
//!   (Spring Authorization Server did), and no poll is ever scheduled past it;
//! - `use_dpop_nonce` (RFC 9449 §8; its nonce was kept by the transport) → the same poll again
//!   at once, once: not a poll for pacing (the attempt count, the interval and the backoff
//!   stay as they were), neither `slow_down` nor the end; a second one in a row is a
//!   transient failure (the server refuses the nonce it just gave), retried after a backoff.

use std::time::{Duration, Instant};

use super::device::{MAX_EXPIRES_IN, MAX_INTERVAL};
use super::http::HttpError;
use super::normalize::OAuthResponse;
use super::token::TokenResponse;
use crate::error::Error;

/// RFC 8628 §3.5: slow_down increases the interval by 5 seconds.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The longest wait between retries after transient failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What one poll's answer means.
#[derive(Debug, Clone)]
pub enum PollOutcome {
    /// Not approved yet.
    Pending,
    /// The server asked us to poll less often; `interval` is now in force.
    SlowDown {
        /// The new interval.
        interval: Duration,
    },
    /// A failure that may pass (server error, reset, timeout); retried after `retry_in`.
    Transient {
        /// What went wrong, for display.
        reason: String,
        /// How long until the retry.
        retry_in: Duration,
    },
    /// The server asked for a DPoP nonce (its answer carried it): the same poll is sent again
    /// at once with it. Not a poll for pacing.
    UseNonce,
    /// Approved: the tokens.
    Tokens(Box<TokenResponse>),
    /// The flow is over without tokens (denied, expired, or a fatal error).
    Finished(Error),
}

impl PollOutcome {
    /// A short machine name for `--json` `poll` events.
    pub fn name(&self) -> String {
        match self {
            PollOutcome::Pending => "authorization_pending".into(),
            PollOutcome::SlowDown { .. } => "slow_down".into(),
            PollOutcome::Transient { .. } => "transient_error".into(),
            PollOutcome::UseNonce => super::dpop::USE_NONCE.into(),
            PollOutcome::Tokens(_) => "tokens".into(),
            PollOutcome::Finished(e) => e.code(),
        }
    }
}

/// `at + wait`, saturating far in the future instead of overflowing.
fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait).unwrap_or_else(|| at + MAX_EXPIRES_IN)
}

/// When the next thing happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Send the next poll at this instant.
    PollAt(Instant),
    /// No poll fits before the code expires: the flow ends (expired) at this instant.
    ExpireAt(Instant),
    /// The flow is over.
    Done,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based number of the poll that was answered.
    pub attempt: u32,
    /// When the answer was judged (the `now` given to [`Poller::step`]).
    pub at: Instant,
    /// What the answer meant.
    pub outcome: PollOutcome,
    /// What happens next.
    pub next: Next,
}

/// The polling state of one device authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poller {
    interval: Duration,
    deadline: Instant,
    attempts: u32,
    consecutive_failures: u32,
    expired_seen: bool,
    /// Whether any poll got an answer from the server itself (not a network failure or a 5xx).
    answered: bool,
    /// Why the latest failed poll failed.
    last_failure: Option<String>,
    /// Whether the latest answer was a nonce challenge, already retried at once.
    nonce_retried: bool,
}

impl Poller {
    /// Starts polling for a code issued at `issued` with the server's `interval` and
    /// `expires_in`.
    pub fn new(interval: Duration, expires_in: Duration, issued: Instant) -> Self {
        let interval = interval.min(MAX_INTERVAL);
        Self {
            interval,
            deadline: later(issued, expires_in.min(MAX_EXPIRES_IN)),
            attempts: 0,
            consecutive_failures: 0,
            expired_seen: false,
            answered: false,
            last_failure: None,
            nonce_retried: false,
        }
    }

    /// How long after the step the next poll is due (`None` when no poll is).
    pub fn next_poll_in(step: &Step) -> Option<Duration> {
        match step.next {
            Next::PollAt(at) => Some(at.saturating_duration_since(step.at)),
            Next::ExpireAt(_) | Next::Done => None,
        }
    }

    /// The interval in force.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When the code expires.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Polls answered so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why the flow ended when the local deadline passed: the code expired, unless no poll
    /// ever reached the server, in which case the network is the story (exit 5) and the
    /// latest failure is named.
    pub fn expiry_error(&self) -> Error {
        match (&self.last_failure, self.answered) {
            (Some(reason), false) => Error::Protocol(format!(
                "no poll reached the authorization server before the code expired ({} tried); \
                 the last failure: {reason}",
                self.attempts
            )),
            _ => Error::Expired { description: None },
        }
    }

    /// The first poll waits one interval: nobody can have approved a code in less time, and
    /// RFC 8628 §3.5 asks clients to wait the interval between requests.
    pub fn first(&self, issued: Instant) -> Next {
        self.schedule(later(issued, self.interval))
    }

    /// Judges one answer received at `now`.
    pub fn step(&mut self, answer: Result<OAuthResponse, HttpError>, now: Instant) -> Step {
        let challenge = answer.as_ref().is_ok_and(|r| {
            r.oauth_error()
                .is_some_and(|e| e.error == super::dpop::USE_NONCE)
        });
        if challenge && !self.nonce_retried {
            // The same poll again, now: the attempt, the interval and the backoff are untouched.
            self.nonce_retried = true;
            self.answered = true;
            return Step {
                attempt: self.attempts + 1,
                at: now,
                outcome: PollOutcome::UseNonce,
                next: self.schedule(now),
            };
        }
        self.nonce_retried = false;
        self.attempts += 1;
        let outcome = self.judge(answer, now);
        match &outcome {
            PollOutcome::Transient { reason, .. } => self.last_failure = Some(reason.clone()),
            _ => self.answered = true,
        }
        let next = match &outcome {
            PollOutcome::Pending => {
                self.consecutive_failures = 0;
                self.schedule(later(now, self.interval))
            }
            PollOutcome::SlowDown { interval } => {
                self.consecutive_failures = 0;
                self.interval = *interval;
                self.schedule(later(now, self.interval))
            }
            PollOutcome::Transient { retry_in, .. } => self.schedule(later(now, *retry_in)),
            // Not reached: a first challenge returned above, a second is transient.
            PollOutcome::UseNonce => self.schedule(now),
            PollOutcome::Tokens(_) | PollOutcome::Finished(_) => Next::Done,
        };
        Step {
            attempt: self.attempts,
            at: now,
            outcome,
            next,
        }
    }

    fn schedule(&self, at: Instant) -> Next {
        if at >= self.deadline {
            Next::ExpireAt(self.deadline)
        } else {
            Next::PollAt(at)
        }
    }

    fn slowed(&self, server_interval: Option<Duration>) -> PollOutcome {
        let bumped = self.interval.saturating_add(SLOW_DOWN_STEP);
        PollOutcome::SlowDown {
            // A server interval beyond MAX_INTERVAL is cut; the +5 s rule still applies.
            interval: server_interval.map_or(bumped, |s| s.min(MAX_INTERVAL).max(bumped)),
        }
    }

    fn transient(&mut self, reason: String, retry_after: Option<Duration>) -> PollOutcome {
        self.consecutive_failures += 1;
        let doublings = self.consecutive_failures.saturating_sub(1).min(16);
        let backoff = self
            .interval
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF.max(self.interval));
        PollOutcome::Transient {
            reason,
            retry_in: backoff.max(retry_after.unwrap_or_default()),
        }
    }

    fn judge(&mut self, answer: Result<OAuthResponse, HttpError>, now: Instant) -> PollOutcome {
        let response = match answer {
            Ok(response) => response,
            Err(e) if e.is_transient() => return self.transient(e.to_string(), None),
            Err(e) => return PollOutcome::Finished(Error::Http(e)),
        };
        if let Some(err) = response.oauth_error() {
            let finished = |e: Error| PollOutcome::Finished(e);
            return match err.error.as_str() {
                "authorization_pending" => PollOutcome::Pending,
                "slow_down" => self.slowed(response.u64_field("interval").map(Duration::from_secs)),
                "access_denied" | "authorization_declined" => finished(Error::Denied {
                    error: err.error,
                    description: err.description,
                }),
                "expired_token" | "code_expired" => {
                    self.expired_seen = true;
                    finished(Error::Expired {
                        description: err.description,
                    })
                }
                "invalid_grant" if self.expired_seen || now >= self.deadline => {
                    finished(Error::Expired {
                        description: err.description,
                    })
                }
                super::dpop::USE_NONCE => self.transient(
                    "the server asked for a new DPoP nonce again right after the retry with \
                     the nonce it gave"
                        .into(),
                    response.retry_after,
                ),
                "temporarily_unavailable" | "server_error" => {
                    let reason = response.describe();
                    self.transient(reason, response.retry_after)
                }
                _ if response.status >= 500 => {
                    let reason = response.describe();
                    self.transient(reason, response.retry_after)
                }
                _ => finished(Error::Server {
                    context: "token request".into(),
                    error: err.error,
                    description: err.description,
                }),
            };
        }
        match response.status {
            200..=299 => match TokenResponse::parse(&response) {
                Ok(tokens) => PollOutcome::Tokens(Box::new(tokens)),
                Err(problem) => PollOutcome::Finished(Error::Protocol(format!(
                    "{problem} (from {})",
                    response.url
                ))),
            },
            // Rate limited without an OAuth body: a slow_down that honours Retry-After.
            429 => self.slowed(response.retry_after),
            408 | 425 | 500..=599 => {
                let reason = response.describe();
                self.transient(reason, response.retry_after)
            }
            300..=399 => PollOutcome::Finished(Error::Protocol(format!(
                "the token endpoint {} redirected to {}; tvlogin never follows redirects",
                response.url,
                response.location.as_deref().unwrap_or("(no Location)")
            ))),
            _ => PollOutcome::Finished(Error::Protocol(format!(
                "the token endpoint {} answered {}",
                response.url,
                response.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::normalize::tests::raw;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn answer(status: u16, body: &str) -> Result<OAuthResponse, HttpError> {
        Ok(OAuthResponse::from_raw(&raw(
            status,
            Some("application/json"),
            body,
        )))
    }

    fn with_retry_after(status: u16, body: &str, secs: u64) -> Result<OAuthResponse, HttpError> {
        let mut r = raw(status, Some("text/html"), body);
        r.headers
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        Ok(OAuthResponse::from_raw(&r))
    }

    fn reset() -> Result<OAuthResponse, HttpError> {
        Err(HttpError::Transport {
            url: "https://idp.example/token".into(),
            detail: "connection reset by peer".into(),
        })
    }

    fn timeout() -> Result<OAuthResponse, HttpError> {
        Err(HttpError::Timeout {
            url: "https://idp.example/token".into(),
            after: S(30),
        })
    }

    /// One row: an answer arriving `at` seconds after issue, and what must follow.
    struct Row {
        at: u64,
        answer: Result<OAuthResponse, HttpError>,
        outcome: &'static str,
        next: Option<u64>,
        interval: u64,
    }

    fn run(interval: u64, expires_in: u64, rows: Vec<Row>) {
        let t0 = Instant::now();
        let mut poller = Poller::new(S(interval), S(expires_in), t0);
        for (i, row) in rows.into_iter().enumerate() {
            let step = poller.step(row.answer, t0 + S(row.at));
            assert_eq!(step.attempt as usize, i + 1);
            assert_eq!(
                step.outcome.name(),
                row.outcome,
                "row {i}: {:?}",
                step.outcome
            );
            let want = match row.next {
                Some(n) if n >= expires_in => Next::ExpireAt(t0 + S(expires_in)),
                Some(n) => Next::PollAt(t0 + S(n)),
                None => Next::Done,
            };
            assert_eq!(step.next, want, "row {i}");
            assert_eq!(poller.interval(), S(row.interval), "row {i} interval");
        }
    }

    fn row(
        at: u64,
        answer: Result<OAuthResponse, HttpError>,
        outcome: &'static str,
        next: Option<u64>,
        interval: u64,
    ) -> Row {
        Row {
            at,
            answer,
            outcome,
            next,
            interval,
        }
    }

    const PENDING: &str = r#"{"error":"authorization_pending"}"#;

    #[test]
    fn use_dpop_nonce_is_one_retry_at_once_and_not_a_poll() {
        const NONCE: &str = r#"{"error":"use_dpop_nonce","error_description":"nonce"}"#;
        const TOKENS: &str = r#"{"access_token":"at","token_type":"DPoP"}"#;
        // (seconds after issue, answer, outcome, attempt, next poll at, interval after)
        type Row = (u64, &'static str, &'static str, u32, Option<u64>, u64);
        let table: [Row; 8] = [
            (5, NONCE, "use_dpop_nonce", 1, Some(5), 5),
            (5, PENDING, "authorization_pending", 1, Some(10), 5),
            (10, r#"{"error":"slow_down"}"#, "slow_down", 2, Some(20), 10),
            (20, NONCE, "use_dpop_nonce", 3, Some(20), 10),
            // A second challenge in a row: transient (no loop), the interval as backoff.
            (20, NONCE, "transient_error", 3, Some(30), 10),
            (30, NONCE, "use_dpop_nonce", 4, Some(30), 10),
            (30, PENDING, "authorization_pending", 4, Some(40), 10),
            (40, TOKENS, "tokens", 5, None, 10),
        ];
        let t0 = Instant::now();
        let mut poller = Poller::new(S(5), S(600), t0);
        for (i, (at, body, outcome, attempt, next, interval)) in table.into_iter().enumerate() {
            let status = if body.contains("error") { 400 } else { 200 };
            let step = poller.step(answer(status, body), t0 + S(at));
            assert_eq!(step.outcome.name(), outcome, "row {i}: {:?}", step.outcome);
            assert_eq!(step.attempt, attempt, "row {i} attempt");
            // A challenge is not counted as a poll; the retry that follows is.
            let counted = attempt - u32::from(outcome == "use_dpop_nonce");
            assert_eq!(poller.attempts(), counted, "row {i}: attempts counted");
            let want = next.map_or(Next::Done, |n| Next::PollAt(t0 + S(n)));
            assert_eq!(step.next, want, "row {i} next");
            assert_eq!(poller.interval(), S(interval), "row {i} interval");
        }
        // A challenge after the code expired schedules nothing past the deadline.
        let mut late = Poller::new(S(5), S(10), t0);
        let step = late.step(answer(400, NONCE), t0 + S(10));
        assert_eq!(step.next, Next::ExpireAt(t0 + S(10)));
    }

    #[test]
    fn first_poll_waits_one_interval() {
        let t0 = Instant::now();
        assert_eq!(
            Poller::new(S(5), S(600), t0).first(t0),
            Next::PollAt(t0 + S(5))
        );
        assert_eq!(
            Poller::new(S(5), S(3), t0).first(t0),
            Next::ExpireAt(t0 + S(3))
        );
    }

    #[test]
    fn pending_then_tokens() {
        run(
            5,
            600,
            vec![
                row(
                    5,
                    answer(400, PENDING),
                    "authorization_pending",
                    Some(10),
                    5,
                ),
                row(
                    10,
                    answer(200, r#"{"access_token":"a","token_type":"Bearer"}"#),
                    "tokens",
                    None,
                    5,
                ),
            ],
        );
    }

    #[test]
    fn slow_down_rules() {
        run(
            5,
            600,
            vec![
                // No interval in the body (Keycloak, Auth0): +5 s.
                row(
                    5,
                    answer(400, r#"{"error":"slow_down"}"#),
                    "slow_down",
                    Some(15),
                    10,
                ),
                // A server interval larger than current + 5 wins (GitHub sends one).
                row(
                    15,
                    answer(200, r#"{"error":"slow_down","interval":30}"#),
                    "slow_down",
                    Some(45),
                    30,
                ),
                // A server interval smaller than current + 5 does not shrink it.
                row(
                    45,
                    answer(400, r#"{"error":"slow_down","interval":"6"}"#),
                    "slow_down",
                    Some(80),
                    35,
                ),
                // The interval stays raised for later pending answers.
                row(
                    80,
                    answer(400, PENDING),
                    "authorization_pending",
                    Some(115),
                    35,
                ),
                // A bare 429 is a slow_down, honouring Retry-After when larger.
                row(
                    115,
                    with_retry_after(429, "Too Many Requests", 60),
                    "slow_down",
                    Some(175),
                    60,
                ),
                row(
                    175,
                    with_retry_after(429, "", 1),
                    "slow_down",
                    Some(240),
                    65,
                ),
            ],
        );
    }

    #[test]
    fn provider_statuses_for_pending_and_slow_down() {
        // Google 428 pending / 403 slow_down, Auth0 403 pending / 429 slow_down, GitHub 200.
        run(
            5,
            900,
            vec![
                row(
                    5,
                    answer(428, PENDING),
                    "authorization_pending",
                    Some(10),
                    5,
                ),
                row(
                    10,
                    answer(403, PENDING),
                    "authorization_pending",
                    Some(15),
                    5,
                ),
                row(
                    15,
                    answer(200, PENDING),
                    "authorization_pending",
                    Some(20),
                    5,
                ),
                row(
                    20,
                    answer(403, r#"{"error":"slow_down"}"#),
                    "slow_down",
                    Some(30),
                    10,
                ),
                row(
                    30,
                    answer(
                        429,
                        r#"{"error":"slow_down","error_description":"You are polling faster than the specified interval of 5 seconds."}"#,
                    ),
                    "slow_down",
                    Some(45),
                    15,
                ),
            ],
        );
    }

    #[test]
    fn transient_failures_back_off_exponentially() {
        run(
            5,
            900,
            vec![
                row(
                    5,
                    with_retry_after(503, "<html>down</html>", 0),
                    "transient_error",
                    Some(10),
                    5,
                ),
                row(10, reset(), "transient_error", Some(20), 5),
                row(20, timeout(), "transient_error", Some(40), 5),
                row(
                    40,
                    answer(500, r#"{"error":"server_error"}"#),
                    "transient_error",
                    Some(80),
                    5,
                ),
                row(
                    80,
                    answer(400, r#"{"error":"temporarily_unavailable"}"#),
                    "transient_error",
                    Some(140),
                    5,
                ),
                // Capped at a minute.
                row(
                    140,
                    answer(502, "bad gateway"),
                    "transient_error",
                    Some(200),
                    5,
                ),
                // A real answer resets the backoff.
                row(
                    200,
                    answer(400, PENDING),
                    "authorization_pending",
                    Some(205),
                    5,
                ),
                row(205, answer(503, ""), "transient_error", Some(210), 5),
                // Retry-After longer than the backoff wins.
                row(
                    210,
                    with_retry_after(503, "", 120),
                    "transient_error",
                    Some(330),
                    5,
                ),
            ],
        );
    }

    #[test]
    fn terminal_answers() {
        let table = [
            (400, r#"{"error":"access_denied"}"#, "access_denied", 3),
            (
                400,
                r#"{"error":"authorization_declined"}"#,
                "authorization_declined",
                3,
            ),
            (400, r#"{"error":"expired_token"}"#, "expired_token", 4),
            (
                400,
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
                "invalid_client",
                2,
            ),
            (
                400,
                r#"{"error":"bad_verification_code"}"#,
                "bad_verification_code",
                5,
            ),
            (
                200,
                r#"{"error":"incorrect_device_code"}"#,
                "incorrect_device_code",
                5,
            ),
            (200, r#"{"token_type":"Bearer"}"#, "invalid_response", 5),
            (404, "<html>not found</html>", "invalid_response", 5),
            (302, "", "invalid_response", 5),
        ];
        for (status, body, name, exit) in table {
            let t0 = Instant::now();
            let mut poller = Poller::new(S(5), S(600), t0);
            let step = poller.step(answer(status, body), t0 + S(5));
            assert_eq!(step.outcome.name(), name, "{body}");
            assert_eq!(step.next, Next::Done, "{body}");
            match step.outcome {
                PollOutcome::Finished(e) => assert_eq!(e.exit().code(), exit, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_errors_keep_the_servers_words() {
        let t0 = Instant::now();
        let mut poller = Poller::new(S(5), S(600), t0);
        let step = poller.step(
            answer(
                400,
                r#"{"error":"weird","error_description":"The moon is full"}"#,
            ),
            t0 + S(5),
        );
        match step.outcome {
            PollOutcome::Finished(e) => {
                assert!(e.to_string().contains("weird: The moon is full"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_grant_after_expiry_is_expiry() {
        // Auth0 says expired_token once, then invalid_grant.
        let t0 = Instant::now();
        let mut poller = Poller::new(S(5), S(600), t0);
        let _ = poller.step(answer(403, r#"{"error":"expired_token"}"#), t0 + S(5));
        let step = poller.step(answer(403, r#"{"error":"invalid_grant"}"#), t0 + S(10));
        assert_eq!(step.outcome.name(), "expired_token");
        // Past the local deadline too.
        let mut late = Poller::new(S(5), S(10), t0);
        let step = late.step(answer(400, r#"{"error":"invalid_grant"}"#), t0 + S(11));
        assert_eq!(step.outcome.name(), "expired_token");
        // Before it, invalid_grant is the server's error (WSO2 sends it for pending).
        let mut early = Poller::new(S(5), S(600), t0);
        let step = early.step(answer(400, r#"{"error":"invalid_grant"}"#), t0 + S(5));
        assert_eq!(step.outcome.name(), "invalid_grant");
    }

    #[test]
    fn the_local_deadline_ends_a_server_that_never_stops_saying_pending() {
        run(
            5,
            12,
            vec![
                row(
                    5,
                    answer(400, PENDING),
                    "authorization_pending",
                    Some(10),
                    5,
                ),
                // The next poll would be at 15 > 12: the flow ends at the deadline instead.
                row(
                    10,
                    answer(400, PENDING),
                    "authorization_pending",
                    Some(12),
                    5,
                ),
            ],
        );
        // A slow_down or a backoff that would overshoot ends at the deadline too.
        run(
            5,
            14,
            vec![row(
                5,
                answer(400, r#"{"error":"slow_down"}"#),
                "slow_down",
                Some(14),
                10,
            )],
        );
    }

    #[test]
    fn servers_cannot_overflow_the_clock() {
        let t0 = Instant::now();
        let mut poller = Poller::new(Duration::MAX, Duration::MAX, t0);
        assert!(poller.deadline() <= t0 + MAX_EXPIRES_IN);
        let step = poller.step(
            answer(
                400,
                r#"{"error":"slow_down","interval":18446744073709551615}"#,
            ),
            t0 + S(5),
        );
        assert_eq!(step.outcome.name(), "slow_down");
        let step = poller.step(with_retry_after(503, "", u64::MAX), t0 + S(10));
        assert_eq!(step.outcome.name(), "transient_error");
    }

    #[test]
    fn policy_refusals_are_final() {
        let t0 = Instant::now();
        let mut poller = Poller::new(S(5), S(600), t0);
        let step = poller.step(Err(HttpError::TooLarge { url: "u".into() }), t0 + S(5));
        assert_eq!(step.outcome.name(), "response_too_large");
        assert_eq!(step.next, Next::Done);
    }
}
