//! A deliberately bad device-flow client against grading mode: it polls every half second,
//! ignores `slow_down`, sends one poll as JSON, keeps polling after a terminal error and after
//! `expired_token`, and re-uses a rotated refresh token. Each flow's report must fail exactly
//! the checks it breaks, naming the request that broke each.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use tvlogin_server::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

struct Bad {
    server: ServerHandle,
    http: reqwest::Client,
}

impl Bad {
    async fn device_code(&self) -> String {
        let r = self
            .http
            .post(self.server.device_authorization_endpoint())
            .form(&[
                ("client_id", DEMO_CLIENT_ID),
                ("scope", "openid offline_access"),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["device_code"].as_str().unwrap().to_owned()
    }

    /// One poll, form-encoded or (wrongly) as JSON; the answer's `error` or `tokens`.
    async fn poll(&self, code: &str, as_json: bool) -> (String, Value) {
        let req = self.http.post(self.server.token_endpoint());
        let req = if as_json {
            req.header(CONTENT_TYPE, "application/json").body(
                json!({"grant_type": DEVICE_GRANT, "device_code": code, "client_id": DEMO_CLIENT_ID})
                    .to_string(),
            )
        } else {
            req.form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", code),
                ("client_id", DEMO_CLIENT_ID),
            ])
        };
        let body: Value = req.send().await.unwrap().json().await.unwrap_or_default();
        let outcome = body["error"].as_str().unwrap_or("tokens").to_owned();
        (outcome, body)
    }

    async fn refresh(&self, rt: &str) -> Value {
        self.http
            .post(self.server.token_endpoint())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", DEMO_CLIENT_ID),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

const HALF: Duration = Duration::from_millis(500);

fn failed(report: &Report) -> BTreeSet<&'static str> {
    report.failures().map(|f| f.id).collect()
}

#[track_caller]
fn evidence(report: &Report, id: &str, needles: &[&str]) {
    let f = report.finding(id).unwrap();
    for n in needles {
        assert!(f.evidence.contains(n), "{id}: {:?} lacks {n:?}", f.evidence);
    }
}

#[tokio::test]
async fn a_bad_client_fails_exactly_the_checks_it_breaks() {
    let server = ServerHandle::start(ServerConfig {
        interval: 2,
        grade: Some(GradeConfig {
            scenarios: vec![Scenario::SlowDown, Scenario::Expire, Scenario::Rotate],
            idle: Duration::from_secs(3),
            approve_after: Some(Duration::ZERO),
        }),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let mut reports = server.grade_reports().unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let bad = Bad { server, http };

    // Flow 1, slow-down: the first poll as JSON, then five more every half second.
    let code = bad.device_code().await;
    let mut outcomes = Vec::new();
    for i in 0..6 {
        tokio::time::sleep(HALF).await;
        outcomes.push(bad.poll(&code, i == 0).await.0);
    }
    assert_eq!(outcomes[0], "invalid_request", "{outcomes:?}");
    assert_eq!(outcomes[1..3], ["slow_down", "slow_down"], "{outcomes:?}");

    // Flow 2, expire (expires_in 8 s): poll every half second until expired_token, then
    // three more times.
    let code = bad.device_code().await;
    let mut after = 0;
    while after < 3 {
        tokio::time::sleep(HALF).await;
        if bad.poll(&code, false).await.0 == "expired_token" || after > 0 {
            after += 1;
        }
    }

    // Flow 3, rotate: poll until the tokens come, one refresh, then the old refresh token
    // again.
    let code = bad.device_code().await;
    let tokens = loop {
        tokio::time::sleep(HALF).await;
        let (outcome, body) = bad.poll(&code, false).await;
        if outcome == "tokens" {
            break body;
        }
        assert_eq!(outcome, "authorization_pending", "{body}");
    };
    let rt1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let second = bad.refresh(&rt1).await;
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    let reuse = bad.refresh(&rt1).await;
    assert_eq!(reuse["error"], "invalid_grant", "{reuse}");
    // The whole family is revoked: the newest refresh token is dead too.
    assert_eq!(bad.refresh(&rt2).await["error"], "invalid_grant");

    let mut got = Vec::new();
    while got.len() < 3 {
        let report = tokio::time::timeout(Duration::from_secs(10), reports.recv())
            .await
            .expect("a report within 10 s")
            .unwrap();
        got.push(report);
    }
    got.sort_by_key(|r| r.flow);
    let [slow, expire, rotate] = [&got[0], &got[1], &got[2]];

    assert_eq!(slow.scenario, "slow-down");
    assert_eq!(
        failed(slow),
        BTreeSet::from([
            "shape.form",
            "pacing.interval",
            "pacing.slow-down",
            "pacing.stop-on-error"
        ]),
        "{}",
        slow.render(false)
    );
    evidence(
        slow,
        "shape.form",
        &[
            "poll 1 (t+",
            "a JSON body with Content-Type application/json",
        ],
    );
    evidence(
        slow,
        "pacing.interval",
        &["poll 2 (t+", "after poll 1", "(interval 2.00s)"],
    );
    evidence(
        slow,
        "pacing.slow-down",
        &["poll 3 (t+", "(interval 7.00s after slow_down)"],
    );
    evidence(
        slow,
        "pacing.stop-on-error",
        &["poll 2", "answered invalid_request"],
    );

    assert_eq!(expire.scenario, "expire");
    assert_eq!(
        failed(expire),
        BTreeSet::from([
            "pacing.interval",
            "pacing.stop-on-error",
            "pacing.stop-at-expiry"
        ]),
        "{}",
        expire.render(false)
    );
    evidence(expire, "pacing.stop-on-error", &["answered expired_token"]);
    evidence(
        expire,
        "pacing.stop-at-expiry",
        &["after expires_in 8s had passed"],
    );

    assert_eq!(rotate.scenario, "rotate");
    assert_eq!(
        failed(rotate),
        BTreeSet::from(["pacing.interval", "tokens.newest-refresh"]),
        "{}",
        rotate.render(false)
    );
    evidence(
        rotate,
        "tokens.newest-refresh",
        &[
            "presented refresh token #1 after #2 had replaced it",
            "invalid_grant",
            "family was revoked",
        ],
    );
    for r in [slow, expire, rotate] {
        assert!(r.score < 100 && r.grade != 'A', "{}", r.render(false));
        let json = r.to_json();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["failures"].as_array().unwrap().len(), failed(r).len());
    }
    bad.server.shutdown().await;
}
