//! End-to-end tests of the server over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::Value;

use tvlogin_server::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

struct Fixture {
    server: ServerHandle,
    http: reqwest::Client,
}

async fn start(cfg: ServerConfig) -> Fixture {
    let server = ServerHandle::start(cfg).await.unwrap();
    // No proxy: the sandbox may define one, and the server is on loopback anyway.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Fixture { server, http }
}

async fn body_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

impl Fixture {
    async fn device_auth(&self, form: &[(&str, &str)]) -> Value {
        let r = self
            .http
            .post(self.server.device_authorization_endpoint())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(r).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn demo_device_auth(&self) -> (String, String) {
        let d = self.device_auth(&[("client_id", DEMO_CLIENT_ID)]).await;
        (
            d["device_code"].as_str().unwrap().to_owned(),
            d["user_code"].as_str().unwrap().to_owned(),
        )
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .post(self.server.token_endpoint())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        body_json(r).await
    }

    async fn poll(&self, device_code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", DEMO_CLIENT_ID),
        ])
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEMO_CLIENT_ID),
        ])
        .await
    }

    /// Device authorization, approval and the first poll.
    async fn login(&self) -> Value {
        let (device_code, user_code) = self.demo_device_auth().await;
        self.server.approve(&user_code).unwrap();
        let (status, tokens) = self.poll(&device_code).await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .http
            .post(self.server.introspection_endpoint())
            .form(&[("token", token), ("client_id", DEMO_CLIENT_ID)])
            .send()
            .await
            .unwrap();
        let (status, body) = body_json(r).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn get(&self, url: String) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }
}

fn is_send_sync<T: Send + Sync>() {}

#[test]
fn handle_is_send_and_sync() {
    is_send_sync::<ServerHandle>();
}

#[tokio::test]
async fn discovery_is_consistent_with_the_handle() {
    let f = start(ServerConfig::default()).await;
    let iss = f.server.issuer_str();
    assert!(iss.starts_with("http://127.0.0.1:") && !iss.ends_with('/'));
    assert_eq!(f.server.local_addr().ip().to_string(), "127.0.0.1");
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let (status, d) = body_json(f.get(format!("{iss}{path}")).await).await;
        assert_eq!(status, 200);
        assert_eq!(d["issuer"], iss.as_str());
        let endpoint = |k: &str| d[k].as_str().unwrap().to_owned();
        assert_eq!(
            endpoint("device_authorization_endpoint"),
            f.server.device_authorization_endpoint().as_str()
        );
        assert_eq!(
            endpoint("token_endpoint"),
            f.server.token_endpoint().as_str()
        );
        assert_eq!(endpoint("jwks_uri"), f.server.jwks_uri().as_str());
        assert_eq!(endpoint("revocation_endpoint"), format!("{iss}/revoke"));
        assert_eq!(
            endpoint("introspection_endpoint"),
            format!("{iss}/introspect")
        );
        assert_eq!(endpoint("userinfo_endpoint"), format!("{iss}/userinfo"));
        assert_eq!(
            d["grant_types_supported"],
            serde_json::json!([DEVICE_GRANT, "authorization_code", "refresh_token"])
        );
        assert_eq!(
            d["token_endpoint_auth_methods_supported"],
            serde_json::json!(["none", "client_secret_basic", "client_secret_post"])
        );
    }
    assert_eq!(
        f.server.verification_uri().as_str(),
        format!("{iss}/device")
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn device_flow_approve_then_tokens_once() {
    // Interval 0: rate limiting is checked before the decision, so this test may poll
    // back to back.
    let f = start(ServerConfig {
        interval: 0,
        ..ServerConfig::default()
    })
    .await;
    let d = f
        .device_auth(&[("client_id", DEMO_CLIENT_ID), ("scope", "openid email")])
        .await;
    let user_code = d["user_code"].as_str().unwrap();
    let device_code = d["device_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .replace('-', "")
            .bytes()
            .all(|c| b"BCDFGHJKLMNPQRSTVWXZ".contains(&c))
    );
    assert_eq!(device_code.len(), 43, "32 bytes base64url");
    assert_eq!(d["verification_uri"], f.server.verification_uri().as_str());
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}?user_code={user_code}", f.server.verification_uri())
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 0);
    assert_eq!(f.server.pending_user_codes(), [user_code]);

    let (status, pending) = f.poll(device_code).await;
    assert_eq!(
        (status, pending["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    // Case and separators do not matter.
    f.server
        .approve(&user_code.to_lowercase().replace('-', " "))
        .unwrap();
    assert!(f.server.pending_user_codes().is_empty());
    assert!(matches!(
        f.server.deny(user_code),
        Err(DecisionError::AlreadyDecided(_))
    ));
    assert!(matches!(
        f.server.approve("BBBB-BBBB"),
        Err(DecisionError::Unknown(_))
    ));

    let (status, tokens) = f.poll(device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid email");
    assert_eq!(tokens["refresh_token_expires_in"], 30 * 24 * 3600);
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());

    // The device code is spent.
    let (status, again) = f.poll(device_code).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, unknown) = f.poll("no-such-code").await;
    assert_eq!(
        (status, unknown["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let polls = f.server.polls();
    let outcomes: Vec<_> = polls.iter().map(|p| p.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "authorization_pending",
            "tokens",
            "invalid_grant",
            "invalid_grant"
        ]
    );
    assert_eq!(
        polls.iter().map(|p| (p.grant, p.poll)).collect::<Vec<_>>(),
        [(1, 1), (1, 2), (1, 3), (0, 1)]
    );
    assert!(polls[0].since_previous.is_none() && !polls[0].early);
    assert_eq!(polls[1].status, 200);
    f.server.shutdown().await;
}

/// `--approve-after` (serve's and demo's) counts from each code's issue: a client that asks
/// for its code after the delay has passed since the approver started is still approved,
/// and no sooner than the delay after it asked. (The demo's approver once slept the delay
/// and approved whatever was pending then, once: a login that asked late waited for its
/// code to expire.)
#[tokio::test]
async fn approve_each_after_counts_from_each_code_not_from_the_start() {
    let f = start(ServerConfig {
        interval: 0,
        ..ServerConfig::default()
    })
    .await;
    let delay = Duration::from_millis(600);
    let approver = tokio::spawn(f.server.controls().approve_each_after(delay, None));
    // The client asks late: after the delay has passed since the approver started.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let asked = std::time::Instant::now();
    let (device_code, _) = f.demo_device_auth().await;
    let deadline = asked + Duration::from_secs(10);
    loop {
        let (status, body) = f.poll(&device_code).await;
        if status == 200 {
            assert!(body["access_token"].is_string(), "{body}");
            assert!(
                asked.elapsed() >= delay,
                "approved {:?} after the code was issued, before the delay",
                asked.elapsed()
            );
            break;
        }
        assert_eq!(body["error"], "authorization_pending", "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "a code issued after the approver's delay was never approved"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    approver.abort();
}

#[tokio::test]
async fn early_polls_get_slow_down_and_a_longer_interval() {
    let f = start(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let (device_code, _) = f.demo_device_auth().await;
    assert_eq!(
        f.poll(&device_code).await.1["error"],
        "authorization_pending"
    );
    let (status, slow) = f.poll(&device_code).await;
    assert_eq!((status, slow["error"].as_str()), (400, Some("slow_down")));
    assert!(
        slow.get("interval").is_none(),
        "RFC: no interval in slow_down"
    );
    assert_eq!(f.poll(&device_code).await.1["error"], "slow_down");

    let polls = f.server.polls();
    assert_eq!(polls[1].interval_in_force, Duration::from_secs(1));
    assert!(polls[1].early);
    assert_eq!(polls[2].interval_in_force, Duration::from_secs(6));
    assert!(polls[2].since_previous.unwrap() < Duration::from_secs(1));
    f.server.shutdown().await;
}

#[tokio::test]
async fn forced_slow_down_and_auto_decision() {
    let f = start(ServerConfig {
        interval: 0,
        slow_down_polls: vec![1],
        auto_decision: Some(AutoDecision {
            on_poll: 2,
            approve: false,
        }),
        ..ServerConfig::default()
    })
    .await;
    let (device_code, _) = f.demo_device_auth().await;
    assert_eq!(f.poll(&device_code).await.1["error"], "slow_down");
    // Interval is now 5 s, so poll 2 is early too: rate limiting comes before the decision.
    assert_eq!(f.poll(&device_code).await.1["error"], "slow_down");
    let (device_code, _) = f.demo_device_auth().await;
    assert_eq!(f.poll(&device_code).await.1["error"], "slow_down");
    let polls = f.server.polls();
    assert_eq!(polls[1].interval_in_force, Duration::from_secs(5));
    assert_eq!((polls[2].grant, polls[2].poll), (2, 1));
    f.server.shutdown().await;

    let f = start(ServerConfig {
        interval: 0,
        auto_decision: Some(AutoDecision {
            on_poll: 2,
            approve: false,
        }),
        ..ServerConfig::default()
    })
    .await;
    let (device_code, _) = f.demo_device_auth().await;
    assert_eq!(
        f.poll(&device_code).await.1["error"],
        "authorization_pending"
    );
    assert_eq!(f.poll(&device_code).await.1["error"], "access_denied");
    // Denial is final: the device code is dead afterwards.
    assert_eq!(f.poll(&device_code).await.1["error"], "invalid_grant");
    f.server.shutdown().await;
}

#[tokio::test]
async fn auth0_reports_expired_token_once_then_invalid_grant() {
    let f = start(ServerConfig {
        quirks: Quirks::Auth0,
        device_code_ttl: 1,
        ..ServerConfig::default()
    })
    .await;
    let (device_code, user_code) = f.demo_device_auth().await;
    let (status, pending) = f.poll(&device_code).await;
    assert_eq!(
        (status, pending["error"].as_str()),
        (403, Some("authorization_pending"))
    );
    let (status, slow) = f.poll(&device_code).await;
    assert_eq!((status, slow["error"].as_str()), (429, Some("slow_down")));
    assert_eq!(
        slow["error_description"],
        "You are polling faster than the specified interval of 5 seconds."
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(f.server.pending_user_codes().is_empty());
    assert!(matches!(
        f.server.approve(&user_code),
        Err(DecisionError::Expired(_))
    ));
    let (status, expired) = f.poll(&device_code).await;
    assert_eq!(
        (status, expired["error"].as_str()),
        (403, Some("expired_token"))
    );
    let (status, after) = f.poll(&device_code).await;
    assert_eq!(
        (status, after["error"].as_str()),
        (403, Some("invalid_grant"))
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn rfc_keeps_answering_expired_token_and_never_expire_keeps_pending() {
    let short = ServerConfig {
        device_code_ttl: 1,
        interval: 0,
        ..ServerConfig::default()
    };
    let rfc = start(short.clone()).await;
    let never = start(ServerConfig {
        never_expire: true,
        ..short
    })
    .await;
    let (rfc_code, _) = rfc.demo_device_auth().await;
    let (never_code, never_user_code) = never.demo_device_auth().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..2 {
        let (status, body) = rfc.poll(&rfc_code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("expired_token"))
        );
        let (status, body) = never.poll(&never_code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("authorization_pending"))
        );
    }
    assert_eq!(never.server.pending_user_codes(), [never_user_code]);
    rfc.server.shutdown().await;
    never.server.shutdown().await;
}

#[tokio::test]
async fn github_answers_errors_with_200_and_form_bodies_without_accept() {
    let f = start(ServerConfig {
        quirks: Quirks::Github,
        ..ServerConfig::default()
    })
    .await;
    let form = [("client_id", DEMO_CLIENT_ID), ("scope", "repo gist")];
    let r = f
        .http
        .post(f.server.device_authorization_endpoint())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    let text = r.text().await.unwrap();
    let d: std::collections::HashMap<String, String> = serde_urlencoded::from_str(&text).unwrap();
    assert!(d.contains_key("verification_uri") && !d.contains_key("verification_uri_complete"));
    let device_code = d["device_code"].clone();

    let poll = || {
        f.http.post(f.server.token_endpoint()).form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code.as_str()),
            ("client_id", DEMO_CLIENT_ID),
        ])
    };
    let r = poll().send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with("error=authorization_pending&error_description="),
        "{text}"
    );
    assert!(text.contains("error_uri="));

    let (status, slow) = body_json(
        poll()
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, slow["error"].as_str()), (200, Some("slow_down")));
    assert_eq!(slow["interval"], 10);
    assert!(slow["error_uri"].is_string());

    let (status, bad) = f.poll("nope").await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (200, Some("incorrect_device_code"))
    );

    // Approved before the first poll: tokens straight away, form-encoded.
    let d = f.device_auth(&form).await;
    f.server.approve(d["user_code"].as_str().unwrap()).unwrap();
    let text = f
        .http
        .post(f.server.token_endpoint())
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", d["device_code"].as_str().unwrap()),
            ("client_id", DEMO_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let t: std::collections::HashMap<String, String> = serde_urlencoded::from_str(&text).unwrap();
    assert!(t["access_token"].starts_with("gho_") && t["access_token"].len() == 40);
    assert!(t["refresh_token"].starts_with("ghr_"));
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["scope"], "repo,gist");
    assert_eq!(t["expires_in"], "28800");
    assert_eq!(t["refresh_token_expires_in"], "15897600");
    assert!(!t.contains_key("id_token"));
    // Opaque tokens still introspect.
    assert_eq!(f.introspect(&t["access_token"]).await["active"], true);
    f.server.shutdown().await;
}

#[tokio::test]
async fn google_and_microsoft_shapes() {
    let f = start(ServerConfig {
        quirks: Quirks::Google,
        ..ServerConfig::default()
    })
    .await;
    let d = f.device_auth(&[("client_id", DEMO_CLIENT_ID)]).await;
    assert!(d.get("verification_url").is_some() && d.get("verification_uri").is_none());
    assert!(d.get("verification_uri_complete").is_none());
    let device_code = d["device_code"].as_str().unwrap();
    let (status, body) = f.poll(device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (428, Some("authorization_pending"))
    );
    let (status, body) = f.poll(device_code).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("slow_down")));
    let tokens = f.login().await;
    assert!(
        tokens["access_token"]
            .as_str()
            .unwrap()
            .starts_with("ya29.")
    );
    assert!(tokens["id_token"].is_string());
    // No rotation: the response has no refresh token and the old one keeps working.
    let rt = tokens["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let (status, refreshed) = f.refresh(rt).await;
        assert_eq!(status, 200, "{refreshed}");
        assert!(refreshed.get("refresh_token").is_none());
    }
    f.server.shutdown().await;

    let f = start(ServerConfig {
        quirks: Quirks::Microsoft,
        interval: 1,
        slow_down_polls: vec![2],
        ..ServerConfig::default()
    })
    .await;
    let d = f.device_auth(&[("client_id", DEMO_CLIENT_ID)]).await;
    assert!(d.get("verification_uri_complete").is_none());
    let user_code = d["user_code"].as_str().unwrap();
    assert_eq!(
        d["message"],
        format!(
            "To sign in, use a web browser to open the page {}/device and enter the code {user_code} to authenticate.",
            f.server.issuer_str()
        )
    );
    let device_code = d["device_code"].as_str().unwrap();
    for _ in 0..2 {
        // Fast and forced polls alike: Microsoft never says slow_down.
        let (status, body) = f.poll(device_code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("authorization_pending"))
        );
        assert_eq!(body["error_codes"], serde_json::json!([70016]));
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS70016:")
        );
        for k in ["timestamp", "trace_id", "correlation_id"] {
            assert!(body[k].is_string(), "{k}");
        }
    }
    assert!(f.server.polls()[1].early);
    f.server.deny(user_code).unwrap();
    let (_, body) = f.poll(device_code).await;
    assert_eq!(body["error"], "authorization_declined");
    assert_eq!(f.server.polls()[2].outcome, "access_denied");
    let (_, body) = f.poll("nope").await;
    assert_eq!(body["error"], "bad_verification_code");
    // Microsoft: new refresh token each time, old one stays valid.
    let tokens = f.login().await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (_, first) = f.refresh(rt).await;
    let (status, second) = f.refresh(rt).await;
    assert_eq!(status, 200);
    assert_ne!(first["refresh_token"], second["refresh_token"]);
    f.server.shutdown().await;
}

#[tokio::test]
async fn keycloak_slow_down_text() {
    let f = start(ServerConfig {
        quirks: Quirks::Keycloak,
        ..ServerConfig::default()
    })
    .await;
    let d = f.device_auth(&[("client_id", DEMO_CLIENT_ID)]).await;
    assert!(d["verification_uri_complete"].is_string());
    let device_code = d["device_code"].as_str().unwrap();
    f.poll(device_code).await;
    let (status, slow) = f.poll(device_code).await;
    assert_eq!((status, slow["error"].as_str()), (400, Some("slow_down")));
    assert_eq!(slow["error_description"], "Slow down");
    assert!(slow.get("interval").is_none());
    let tokens = f.login().await;
    assert!(tokens["refresh_expires_in"].is_number());
    f.server.shutdown().await;
}

#[tokio::test]
async fn refresh_rotation_detects_replay_and_revokes_the_grant() {
    let f = start(ServerConfig::default()).await;
    let tokens = f.login().await;
    let rt1 = tokens["refresh_token"].as_str().unwrap();
    let at1 = tokens["access_token"].as_str().unwrap();

    let (status, second) = f.refresh(rt1).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    // Narrowing the scope is fine, widening is not.
    let (status, narrowed) = f
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt2),
            ("client_id", DEMO_CLIENT_ID),
            ("scope", "openid admin"),
        ])
        .await;
    assert_eq!(
        (status, narrowed["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // Replaying the rotated-out token kills the whole grant.
    let (status, replay) = f.refresh(rt1).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, dead) = f.refresh(rt2).await;
    assert_eq!(
        (status, dead["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(f.introspect(at1).await["active"], false);
    assert_eq!(f.introspect(rt2).await["active"], false);

    let outcomes: Vec<_> = f
        .server
        .refreshes()
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            "tokens",
            "invalid_scope",
            "replay_revoked_grant",
            "invalid_grant"
        ]
    );
    // Someone else's refresh token is invalid_grant too.
    let (status, foreign) = f
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt2),
            ("client_id", POST_CLIENT_ID),
            ("client_secret", POST_CLIENT_SECRET),
        ])
        .await;
    assert_eq!(
        (status, foreign["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn confidential_clients_authenticate_per_registration() {
    let f = start(ServerConfig::default()).await;
    let r = f
        .http
        .post(f.server.device_authorization_endpoint())
        .basic_auth(BASIC_CLIENT_ID, Some(BASIC_CLIENT_SECRET))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    let (status, d) = body_json(r).await;
    assert_eq!(status, 200, "{d}");
    f.server.approve(d["user_code"].as_str().unwrap()).unwrap();
    let device_code = d["device_code"].as_str().unwrap();

    let poll = |secret: &str| {
        f.http
            .post(f.server.token_endpoint())
            .basic_auth(BASIC_CLIENT_ID, Some(secret))
            .form(&[("grant_type", DEVICE_GRANT), ("device_code", device_code)])
    };
    let r = poll("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // The demo client cannot redeem the basic client's device code.
    assert_eq!(f.poll(device_code).await.1["error"], "invalid_grant");
    let (status, tokens) = body_json(poll(BASIC_CLIENT_SECRET).send().await.unwrap()).await;
    assert_eq!(status, 200, "{tokens}");

    // client_secret_post in the body, unknown client → 401.
    let (status, d) = body_json(
        f.http
            .post(f.server.device_authorization_endpoint())
            .form(&[
                ("client_id", POST_CLIENT_ID),
                ("client_secret", POST_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let r = f
        .http
        .post(f.server.device_authorization_endpoint())
        .form(&[("client_id", "stranger")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    f.server.shutdown().await;
}

#[tokio::test]
async fn revocation_introspection_and_userinfo() {
    let f = start(ServerConfig::default()).await;
    let tokens = f.login().await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();

    let active = f.introspect(at).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], DEMO_CLIENT_ID);
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["sub"], "demo-user");
    assert_eq!(active["iss"], f.server.issuer_str());
    for k in ["scope", "username", "exp", "iat", "nbf", "aud", "jti"] {
        assert!(!active[k].is_null(), "{k}");
    }
    assert_eq!(f.introspect(rt).await["active"], true);
    assert_eq!(
        f.introspect("garbage").await,
        serde_json::json!({"active": false})
    );

    let userinfo = |token: &str| {
        f.http
            .get(f.server.userinfo_endpoint())
            .bearer_auth(token)
            .send()
    };
    let (status, claims) = body_json(userinfo(at).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(claims["sub"], "demo-user");
    assert_eq!(claims["email"], "demo@example.test");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["preferred_username"], "demo");
    assert_eq!(claims["name"], "Demo User");
    let r = userinfo("garbage").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );

    let revoke = |token: &str, hint: &str| {
        f.http.post(f.server.revocation_endpoint()).form(&[
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", DEMO_CLIENT_ID),
        ])
    };
    let r = revoke("unknown-token", "access_token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = revoke(rt, "refresh_token").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Revoking the refresh token takes the grant's access tokens with it.
    assert_eq!(f.introspect(at).await["active"], false);
    assert_eq!(userinfo(at).await.unwrap().status(), 401);
    assert_eq!(f.refresh(rt).await.1["error"], "invalid_grant");
    let r = f
        .http
        .post(f.server.revocation_endpoint())
        .form(&[("token", at), ("client_id", "stranger")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let records = f.server.revocations();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].kind, "unknown");
    assert_eq!(records[1].kind, "refresh_token");
    assert_eq!(records[1].token_type_hint.as_deref(), Some("refresh_token"));
    assert_eq!(records[1].client_id.as_deref(), Some(DEMO_CLIENT_ID));

    // Revoking just an access token.
    let tokens = f.login().await;
    let at = tokens["access_token"].as_str().unwrap();
    revoke(at, "access_token").send().await.unwrap();
    assert_eq!(f.introspect(at).await["active"], false);
    assert_eq!(f.server.revocations()[2].kind, "access_token");
    f.server.shutdown().await;
}

#[tokio::test]
async fn jwks_verifies_access_and_id_tokens() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
    let f = start(ServerConfig::default()).await;
    let tokens = f
        .device_auth(&[
            ("client_id", DEMO_CLIENT_ID),
            ("resource", "https://api.example.test/"),
        ])
        .await;
    f.server
        .approve(tokens["user_code"].as_str().unwrap())
        .unwrap();
    let (_, tokens) = f.poll(tokens["device_code"].as_str().unwrap()).await;
    let (_, jwks) = body_json(f.get(f.server.jwks_uri().to_string()).await).await;
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    let iss = f.server.issuer_str();

    let verify = |token: &str, alg: Algorithm, aud: &str| {
        let header = decode_header(token).unwrap();
        assert_eq!(header.alg, alg);
        let key = DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&iss]);
        validation.set_audience(&[aud]);
        (
            header,
            decode::<Value>(token, &key, &validation).unwrap().claims,
        )
    };
    let (header, at) = verify(
        tokens["access_token"].as_str().unwrap(),
        Algorithm::RS256,
        "https://api.example.test/",
    );
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(at["client_id"], DEMO_CLIENT_ID);
    assert_eq!(at["sub"], "demo-user");
    assert_eq!(at["scope"], "openid profile email");
    for k in ["iat", "nbf", "exp", "jti", "auth_time"] {
        assert!(at[k].is_string() || at[k].is_number(), "{k}");
    }
    let (header, id) = verify(
        tokens["id_token"].as_str().unwrap(),
        Algorithm::ES256,
        DEMO_CLIENT_ID,
    );
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(id["email"], "demo@example.test");
    assert_eq!(id["name"], "Demo User");

    // A resource that is not an absolute URI is invalid_target.
    let r = f
        .http
        .post(f.server.device_authorization_endpoint())
        .form(&[("client_id", DEMO_CLIENT_ID), ("resource", "not a uri")])
        .send()
        .await
        .unwrap();
    assert_eq!(body_json(r).await.1["error"], "invalid_target");
    f.server.shutdown().await;
}

#[tokio::test]
async fn verification_page_approves_and_escapes() {
    let f = start(ServerConfig::default()).await;
    let (device_code, user_code) = f
        .device_auth(&[
            ("client_id", DEMO_CLIENT_ID),
            ("scope", "openid offline_access"),
        ])
        .await
        .as_object()
        .map(|d| {
            (
                d["device_code"].as_str().unwrap().to_owned(),
                d["user_code"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap();
    let page_url = format!("{}?user_code={user_code}", f.server.verification_uri());
    let r = f.get(page_url).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(&user_code) && html.contains("tvlogin demo"));
    assert!(html.contains("offline_access"));

    let submit = |code: &str, action: &str| {
        f.http
            .post(f.server.verification_uri())
            .form(&[("user_code", code), ("action", action)])
            .send()
    };
    let r = submit(&user_code.to_lowercase(), "approve").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Device approved"));
    assert_eq!(f.poll(&device_code).await.0, 200);
    let r = submit(&user_code, "deny").await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("already been used"));

    let evil = "\"><script>alert(1)</script>";
    let mut url = f.server.verification_uri();
    url.query_pairs_mut().append_pair("user_code", evil);
    let r = f.get(url.to_string()).await;
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    let html = submit(evil, "approve").await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>"));
    let html = f
        .get(f.server.verification_uri().to_string())
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"user_code\""));
    f.server.shutdown().await;
}

#[tokio::test]
async fn faults_then_normal_answers() {
    let f = start(ServerConfig {
        interval: 0,
        faults: vec![Fault::Html503],
        ..ServerConfig::default()
    })
    .await;
    let (device_code, _) = f.demo_device_auth().await;
    let poll = || {
        f.http.post(f.server.token_endpoint()).form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code.as_str()),
            ("client_id", DEMO_CLIENT_ID),
        ])
    };
    let r = poll().send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(
        r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        f.poll(&device_code).await.1["error"],
        "authorization_pending"
    );

    f.server.push_faults([
        Fault::HugeBody(200_000),
        Fault::Reset,
        Fault::Delay(Duration::from_millis(50)),
    ]);
    let r = poll().send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(r.bytes().await.unwrap().len(), 200_000);

    // The connection closes before any byte of a response.
    assert!(
        poll().send().await.is_err(),
        "the client must see a transport error"
    );

    let started = std::time::Instant::now();
    assert_eq!(
        f.poll(&device_code).await.1["error"],
        "authorization_pending"
    );
    assert!(started.elapsed() >= Duration::from_millis(50));

    let polls = f.server.polls();
    let outcomes: Vec<_> = polls.iter().map(|p| p.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "fault:html503",
            "authorization_pending",
            "fault:huge",
            "fault:reset",
            "authorization_pending"
        ]
    );
    assert_eq!(
        polls.iter().map(|p| p.status).collect::<Vec<_>>(),
        [503, 400, 200, 0, 400]
    );
    assert!(
        polls[1].since_previous.is_none(),
        "faults are invisible to timing"
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn protocol_errors() {
    let f = start(ServerConfig::default()).await;
    let (status, body) = f.token(&[("client_id", DEMO_CLIENT_ID)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = f
        .token(&[("client_id", DEMO_CLIENT_ID), ("grant_type", "password")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = f
        .token(&[("grant_type", DEVICE_GRANT), ("client_id", DEMO_CLIENT_ID)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Wrong content type.
    let r = f
        .http
        .post(f.server.token_endpoint())
        .json(&serde_json::json!({"grant_type": DEVICE_GRANT}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let r = f.get(format!("{}/nope", f.server.issuer_str())).await;
    assert_eq!(r.status(), 404);
    f.server.shutdown().await;
}

// ----- the authorization code grant (RFC 6749 §4.1, RFC 7636, RFC 8252, RFC 9207) -----

const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K2e3fGp1Qw7rXq8sD0uLkH5aZc_verifier-0123";

fn challenge(verifier: &str) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A client that never follows redirects: the test reads each Location itself.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn with_query(base: &str, params: &[(&str, &str)]) -> url::Url {
    let mut url = url::Url::parse(base).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url
}

fn query(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Opens the consent page for `params` and answers it with `action`; returns the redirect's
/// Location.
async fn authorize(f: &Fixture, params: &[(&str, &str)], action: &str) -> String {
    let http = no_redirects();
    let page = http
        .get(with_query(
            &format!("{}/authorize", f.server.issuer_str()),
            params,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let text = page.text().await.unwrap();
    let id = text
        .split("name=\"request\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let answer = http
        .post(format!("{}/authorize", f.server.issuer_str()))
        .form(&[("request", id.as_str()), ("action", action)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn authorization_code_with_pkce_once_and_iss_in_the_response() {
    let f = start(ServerConfig::default()).await;
    let iss = f.server.issuer_str();
    let disco: Value = f
        .get(format!("{iss}/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(disco["authorization_endpoint"], format!("{iss}/authorize"));
    assert_eq!(
        disco["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(disco["code_challenge_methods_supported"][0], "S256");

    let redirect = "http://127.0.0.1:50123/callback";
    let c = challenge(VERIFIER);
    let params = [
        ("response_type", "code"),
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", redirect),
        ("scope", "openid offline_access"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", c.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let location = authorize(&f, &params, "approve").await;
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    let q = query(&location);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], iss);
    let code = q["code"].clone();
    let exchange = |verifier: &'static str| {
        let code = code.clone();
        let f = &f;
        async move {
            f.token(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("client_id", DEMO_CLIENT_ID),
                ("code_verifier", verifier),
            ])
            .await
        }
    };
    // The verifier is checked: a wrong one is refused and does not use the code up.
    let (status, body) = exchange("wrong-verifier-wrong-verifier-wrong-verifier-0").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, tokens) = exchange(VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string());
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = {
        use base64::Engine as _;
        let part = id_token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["nonce"], "n-1");
    // Once only.
    let (status, body) = exchange(VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn authorization_requests_are_checked_before_any_consent() {
    let f = start(ServerConfig::default()).await;
    let iss = f.server.issuer_str();
    let http = no_redirects();
    let c = challenge(VERIFIER);
    let get = |params: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = format!("{iss}/authorize");
        async move {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            http.get(with_query(&url, &pairs)).send().await.unwrap()
        }
    };
    let base = |redirect: &str| {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", DEMO_CLIENT_ID.to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("state", "s".to_owned()),
            ("code_challenge", c.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    // Not a loopback IP literal: shown, never redirected to.
    for bad in [
        "https://evil.example/cb",
        "http://localhost:5/cb",
        "http://192.0.2.1:5/cb",
    ] {
        let r = get(base(bad)).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert!(r.headers().get("location").is_none());
    }
    // Unknown client: shown.
    let mut unknown = base("http://127.0.0.1:5/cb");
    unknown[1].1 = "nobody".into();
    assert_eq!(get(unknown).await.status(), 400);
    // Without PKCE, or with plain: an error redirect with state and iss.
    for drop in ["code_challenge", "code_challenge_method"] {
        let params: Vec<_> = base("http://127.0.0.1:5/cb")
            .into_iter()
            .filter(|(k, _)| *k != drop)
            .collect();
        let r = get(params).await;
        assert_eq!(r.status(), 303);
        let q = query(r.headers()["location"].to_str().unwrap());
        assert_eq!(q["error"], "invalid_request", "{drop}");
        assert_eq!(
            (q["state"].as_str(), q["iss"].as_str()),
            ("s", iss.as_str())
        );
    }
    let mut plain = base("http://[::1]:5/cb");
    plain[5].1 = "plain".into();
    let r = get(plain).await;
    assert_eq!(
        query(r.headers()["location"].to_str().unwrap())["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn denying_consent_redirects_access_denied() {
    let f = start(ServerConfig::default()).await;
    let c = challenge(VERIFIER);
    let location = authorize(
        &f,
        &[
            ("response_type", "code"),
            ("client_id", DEMO_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:40000/cb"),
            ("state", "xyz"),
            ("code_challenge", c.as_str()),
            ("code_challenge_method", "S256"),
        ],
        "deny",
    )
    .await;
    let q = query(&location);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "xyz");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn knobs_block_the_device_grant_and_move_the_verification_page() {
    let blocked = start(ServerConfig {
        knobs: Knobs {
            device_grant_blocked: true,
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let r = blocked
        .http
        .post(blocked.server.device_authorization_endpoint())
        .form(&[("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    let (status, body) = body_json(r).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    let moved = start(ServerConfig {
        knobs: Knobs {
            verification_uri: Some("https://device.example.net/activate".into()),
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let d = moved.device_auth(&[("client_id", DEMO_CLIENT_ID)]).await;
    assert_eq!(d["verification_uri"], "https://device.example.net/activate");
}

#[tokio::test]
async fn the_verification_page_asks_whether_you_started_it() {
    let f = start(ServerConfig::default()).await;
    let (_, user_code) = f
        .device_auth(&[("client_id", DEMO_CLIENT_ID), ("scope", "openid email")])
        .await
        .as_object()
        .map(|d| {
            (
                d["device_code"].as_str().unwrap().to_owned(),
                d["user_code"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap();
    let page = f
        .get(format!(
            "{}/device?user_code={user_code}",
            f.server.issuer_str()
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("tvlogin demo"), "{page}");
    assert!(page.contains("<code>email</code>"), "{page}");
    assert!(page.contains("from this computer (127.0.0.1)"), "{page}");
    assert!(
        page.contains(
            "Did you start this on a device you are holding? If someone sent you this code, deny."
        ),
        "{page}"
    );
}

/// django-oauth-toolkit's rules (`Quirks::Dot`): where its metadata lists what, its strict
/// form rules, no `slow_down`, opaque tokens, the ID token only with a refresh, and
/// introspection for confidential clients only.
#[tokio::test]
async fn dot_replays_django_oauth_toolkit() {
    let f = start(ServerConfig {
        quirks: Quirks::Dot,
        interval: 5,
        ..ServerConfig::default()
    })
    .await;
    let issuer = f.server.issuer_str();
    let doc = |path: &'static str| {
        let http = f.http.clone();
        let url = format!("{issuer}{path}");
        async move { body_json(http.get(url).send().await.unwrap()).await.1 }
    };
    let openid = doc("/.well-known/openid-configuration").await;
    let rfc8414 = doc("/.well-known/oauth-authorization-server").await;
    for d in [&openid, &rfc8414] {
        assert!(d.get("device_authorization_endpoint").is_none(), "{d}");
        assert!(d["token_endpoint"].is_string(), "{d}");
    }
    assert!(openid.get("revocation_endpoint").is_none(), "{openid}");
    assert!(openid.get("introspection_endpoint").is_none(), "{openid}");
    assert!(rfc8414["revocation_endpoint"].is_string(), "{rfc8414}");
    assert!(rfc8414["introspection_endpoint"].is_string(), "{rfc8414}");

    // The content type must be exact.
    let device = f.server.device_authorization_endpoint();
    let with_charset = f
        .http
        .post(device.clone())
        .header(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(format!("client_id={DEMO_CLIENT_ID}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_charset.status(), 400);

    // HTTP Basic needs client_id in the body too.
    let basic = |body: String| {
        f.http
            .post(device.clone())
            .basic_auth(BASIC_CLIENT_ID, Some(BASIC_CLIENT_SECRET))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let (status, body) = body_json(basic("scope=openid".into()).await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_description"], "Missing client_id parameter.");
    let (status, d) = body_json(
        basic(format!(
            "scope=openid+offline_access&client_id={BASIC_CLIENT_ID}"
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let device_code = d["device_code"].as_str().unwrap().to_owned();

    // Polling too fast is never slow_down.
    let poll = || {
        f.http
            .post(f.server.token_endpoint())
            .basic_auth(BASIC_CLIENT_ID, Some(BASIC_CLIENT_SECRET))
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", device_code.as_str()),
                ("client_id", BASIC_CLIENT_ID),
            ])
            .send()
    };
    for _ in 0..3 {
        let (status, body) = body_json(poll().await.unwrap()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("authorization_pending"))
        );
    }
    f.server.approve(d["user_code"].as_str().unwrap()).unwrap();
    let (status, tokens) = body_json(poll().await.unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(access.len(), 30, "an opaque token: {access}");
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    let refreshed = f
        .http
        .post(f.server.token_endpoint())
        .basic_auth(BASIC_CLIENT_ID, Some(BASIC_CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", BASIC_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    let (status, refreshed) = body_json(refreshed).await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed["id_token"].is_string(), "{refreshed}");

    // Introspection: confidential clients only.
    let new_access = refreshed["access_token"].as_str().unwrap();
    let public = f
        .http
        .post(f.server.introspection_endpoint())
        .form(&[("token", new_access), ("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 401);
    let confidential = f
        .http
        .post(f.server.introspection_endpoint())
        .basic_auth(BASIC_CLIENT_ID, Some(BASIC_CLIENT_SECRET))
        .form(&[("token", new_access), ("client_id", BASIC_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    let (status, answer) = body_json(confidential).await;
    assert_eq!(
        (status, &answer["active"]),
        (200, &Value::Bool(true)),
        "{answer}"
    );
}

/// Knobs one by one: no `interval`, errors with HTTP 200, JWT access tokens that a
/// revocation leaves active.
#[tokio::test]
async fn knobs_no_interval_errors_with_200_and_unrevocable_jwts() {
    let f = start(ServerConfig {
        knobs: Knobs {
            no_interval: true,
            errors_with_200: true,
            revoke_jwt_ignored: true,
            ..Knobs::default()
        },
        auto_decision: Some(AutoDecision {
            on_poll: 2,
            approve: true,
        }),
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let d = f.device_auth(&[("client_id", DEMO_CLIENT_ID)]).await;
    assert!(d.get("interval").is_none(), "{d}");
    let code = d["device_code"].as_str().unwrap();
    let (status, body) = f.poll(code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (200, Some("authorization_pending"))
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, tokens) = f.poll(code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let revoked = f
        .http
        .post(f.server.revocation_endpoint())
        .form(&[("token", access), ("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let still = f
        .http
        .post(f.server.introspection_endpoint())
        .form(&[("token", access), ("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    let (_, answer) = body_json(still).await;
    assert_eq!(answer["active"], true, "{answer}");
}

/// Grading mode against a deliberately bad client.
#[path = "grading/bad_client.rs"]
mod bad_client;
