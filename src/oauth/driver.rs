//! Drives the poll step in real (or fake) time for the plain and JSON front ends.
//!
//! The loop is deliberately thin: wait until the step says, send one poll, hand the answer to
//! [`Poller::step`], report the step, repeat. Time and the poll itself are injected
//! ([`Timer`], [`PollTransport`]) so tests run a whole flow in microseconds with a fake clock.

use std::future::Future;
use std::time::Instant;

use super::http::HttpError;
use super::normalize::OAuthResponse;
use super::poll::{Next, PollOutcome, Poller, Step};
use super::token::TokenResponse;
use crate::error::Error;

/// A clock and a way to wait for it.
pub trait Timer {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Resolves at (or after) `at`.
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send;
}

/// Sends one device access token request.
pub trait PollTransport {
    /// One poll: the server's answer or why there was none.
    fn poll(&self) -> impl Future<Output = Result<OAuthResponse, HttpError>> + Send;
}

/// The real clock, sleeping on tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at))
    }
}

/// Polls until the flow ends; `on_step` sees every answered poll before the next wait.
/// `issued` is when the device authorization response arrived.
pub async fn poll_until_done(
    poller: &mut Poller,
    issued: Instant,
    timer: &impl Timer,
    transport: &impl PollTransport,
    mut on_step: impl FnMut(&Step),
) -> Result<TokenResponse, Error> {
    let mut next = poller.first(issued);
    loop {
        match next {
            Next::PollAt(at) => timer.sleep_until(at).await,
            Next::ExpireAt(at) => {
                timer.sleep_until(at).await;
                return Err(poller.expiry_error());
            }
            Next::Done => {
                return Err(Error::Other(
                    "the device flow ended without a result".into(),
                ));
            }
        }
        let answer = transport.poll().await;
        let step = poller.step(answer, timer.now());
        on_step(&step);
        match step.outcome {
            PollOutcome::Tokens(tokens) => return Ok(*tokens),
            PollOutcome::Finished(error) => return Err(error),
            PollOutcome::Pending
            | PollOutcome::SlowDown { .. }
            | PollOutcome::Transient { .. }
            | PollOutcome::UseNonce => {
                next = step.next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::oauth::normalize::tests::raw;

    /// A clock that jumps to wherever it is asked to sleep, recording each wait.
    struct FakeTimer {
        now: Mutex<Instant>,
        sleeps: Mutex<Vec<Duration>>,
    }

    impl Timer for FakeTimer {
        fn now(&self) -> Instant {
            *self.now.lock().unwrap_or_else(|e| e.into_inner())
        }
        fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            self.sleeps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(at.saturating_duration_since(*now));
            *now = (*now).max(at);
            std::future::ready(())
        }
    }

    /// Answers from a script, then connection errors.
    struct Script {
        answers: Mutex<VecDeque<(u16, &'static str)>>,
    }

    impl PollTransport for Script {
        fn poll(&self) -> impl Future<Output = Result<OAuthResponse, HttpError>> + Send {
            let next = self
                .answers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            std::future::ready(match next {
                Some((status, body)) => Ok(OAuthResponse::from_raw(&raw(
                    status,
                    Some("application/json"),
                    body,
                ))),
                None => Err(HttpError::Connect {
                    url: "u".into(),
                    detail: "script ended".into(),
                }),
            })
        }
    }

    fn run(
        interval: u64,
        expires: u64,
        script: Vec<(u16, &'static str)>,
    ) -> (Result<TokenResponse, Error>, Vec<u64>, Vec<String>) {
        let t0 = Instant::now();
        let timer = FakeTimer {
            now: Mutex::new(t0),
            sleeps: Mutex::new(vec![]),
        };
        let transport = Script {
            answers: Mutex::new(script.into()),
        };
        let mut poller = Poller::new(
            Duration::from_secs(interval),
            Duration::from_secs(expires),
            t0,
        );
        let mut names = vec![];
        let result = futures_util::FutureExt::now_or_never(poll_until_done(
            &mut poller,
            t0,
            &timer,
            &transport,
            |step| names.push(step.outcome.name()),
        ))
        .unwrap_or_else(|| panic!("the fake flow must finish without real waiting"));
        let sleeps = timer
            .sleeps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(Duration::as_secs)
            .collect();
        (result, sleeps, names)
    }

    #[test]
    fn pending_slow_down_then_tokens() {
        let (result, sleeps, names) = run(
            5,
            600,
            vec![
                (400, r#"{"error":"authorization_pending"}"#),
                (400, r#"{"error":"slow_down"}"#),
                (400, r#"{"error":"authorization_pending"}"#),
                (
                    200,
                    r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#,
                ),
            ],
        );
        assert_eq!(
            result
                .map(|t| t.access_token.secret().clone())
                .ok()
                .as_deref(),
            Some("at")
        );
        assert_eq!(sleeps, vec![5, 5, 10, 10]);
        assert_eq!(
            names,
            [
                "authorization_pending",
                "slow_down",
                "authorization_pending",
                "tokens"
            ]
        );
    }

    #[test]
    fn never_ending_pending_stops_at_the_deadline() {
        let pending = (400, r#"{"error":"authorization_pending"}"#);
        let (result, sleeps, names) = run(5, 17, vec![pending; 10]);
        assert_eq!(result.err(), Some(Error::Expired { description: None }));
        // Polls at 5, 10, 15; the next (20) would pass 17, so the flow waits 2 s and ends.
        assert_eq!(sleeps, vec![5, 5, 5, 2]);
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn a_nonce_challenge_is_retried_at_once_without_shifting_the_polls() {
        let (result, sleeps, names) = run(
            5,
            600,
            vec![
                (400, r#"{"error":"use_dpop_nonce"}"#),
                (400, r#"{"error":"authorization_pending"}"#),
                (400, r#"{"error":"authorization_pending"}"#),
                (
                    200,
                    r#"{"access_token":"at","token_type":"DPoP","expires_in":60}"#,
                ),
            ],
        );
        assert!(result.is_ok(), "{result:?}");
        // The retry waits nothing; the polls stay one interval apart.
        assert_eq!(sleeps, vec![5, 0, 5, 5]);
        assert_eq!(
            names,
            [
                "use_dpop_nonce",
                "authorization_pending",
                "authorization_pending",
                "tokens"
            ]
        );
    }

    #[test]
    fn denial_and_transients() {
        let (result, sleeps, _) = run(
            2,
            600,
            vec![
                (503, "<html>busy</html>"),
                (503, "<html>busy</html>"),
                (400, r#"{"error":"access_denied"}"#),
            ],
        );
        assert_eq!(result.err().map(|e| e.exit().code()), Some(3));
        assert_eq!(sleeps, vec![2, 2, 4]);
    }
}
