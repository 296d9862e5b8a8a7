//! Faults and bad input: the login survives transient trouble, and everything else ends
//! with one clear line and the contract's exit code — never a panic or a hang.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Canned, Home, approve_when_pending, canned, device_answer, discovery_doc, server};
use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, Fault, ServerConfig};

#[tokio::test]
async fn login_survives_503_html_a_reset_and_a_slow_answer() {
    let server = Arc::new(
        server(ServerConfig {
            interval: 1,
            faults: vec![
                Fault::Html503,
                Fault::Reset,
                Fault::Delay(Duration::from_secs(3)),
            ],
            ..ServerConfig::default()
        })
        .await,
    );
    let approver = approve_when_pending(&server, true);
    let run = Home::new()
        .run(&[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--json",
            "--timeout",
            "1",
        ])
        .await;
    approver.abort();
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    let polls: Vec<_> = run
        .events()
        .into_iter()
        .filter(|e| e["event"] == "poll")
        .collect();
    let outcomes: Vec<&str> = polls
        .iter()
        .map(|p| p["outcome"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(outcomes[..3], ["transient_error"; 3], "{outcomes:?}");
    assert_eq!(outcomes.last(), Some(&"tokens"));
    let reasons: Vec<&str> = polls[..3]
        .iter()
        .map(|p| p["error_description"].as_str().unwrap_or(""))
        .collect();
    assert!(reasons[0].contains("HTTP 503"), "{reasons:?}");
    assert!(
        reasons[2].contains("did not answer within 1s"),
        "{reasons:?}"
    );
    // Exponential backoff: 1 s, 2 s, 4 s after the three failures.
    let waits: Vec<u64> = polls[..3]
        .iter()
        .map(|p| p["next_poll_in"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(waits, [1, 2, 4]);
}

#[tokio::test]
async fn a_10_mib_token_response_is_refused_with_bounded_reading() {
    let server = server(ServerConfig {
        interval: 1,
        faults: vec![Fault::HugeBody(10 * 1024 * 1024)],
        ..ServerConfig::default()
    })
    .await;
    let run = Home::new()
        .run(&[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
        ])
        .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("larger than 1024 KiB"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_10_mib_discovery_document_is_refused() {
    let huge = "x".repeat(10 * 1024 * 1024);
    let base = canned(vec![(
        "/.well-known/openid-configuration",
        Canned::json(200, huge),
    )])
    .await;
    let run = Home::new()
        .run(&["login", "--issuer", &base, "--client-id", "c"])
        .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("larger than 1024 KiB"),
        "{}",
        run.stderr
    );
}

/// One line, the right code, and the words that say what is wrong.
async fn fails_clearly(args: &[&str], code: i32, words: &str) {
    let run = Home::new().run(args).await;
    assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
    assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
    let error_lines = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("tvlogin: error:"))
        .count();
    assert_eq!(error_lines, 1, "{args:?}: {}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(15),
        "{args:?} took {:?}",
        run.elapsed
    );
}

#[tokio::test]
async fn unreachable_issuer() {
    // Port 9 on loopback: nothing listens there.
    fails_clearly(
        &[
            "login",
            "--issuer",
            "http://127.0.0.1:9",
            "--client-id",
            "c",
        ],
        5,
        "could not connect",
    )
    .await;
}

#[tokio::test]
async fn remote_http_issuer_is_refused_before_any_request() {
    fails_clearly(
        &[
            "login",
            "--issuer",
            "http://idp.example.com",
            "--client-id",
            "c",
        ],
        2,
        "refusing plain http://",
    )
    .await;
}

#[tokio::test]
async fn discovery_that_is_not_json() {
    let base = canned(vec![
        (
            "/.well-known/openid-configuration",
            Canned::html(200, "<html><body>Sign in</body></html>"),
        ),
        (
            "/.well-known/oauth-authorization-server",
            Canned::html(200, "<html><body>Sign in</body></html>"),
        ),
    ])
    .await;
    fails_clearly(
        &["login", "--issuer", &base, "--client-id", "c"],
        5,
        "not JSON",
    )
    .await;
}

#[tokio::test]
async fn discovery_without_a_device_endpoint_names_it() {
    let doc = r#"{"issuer":"{base}","token_endpoint":"{base}/token"}"#;
    let base = canned(vec![(
        "/.well-known/openid-configuration",
        Canned::json(200, doc),
    )])
    .await;
    fails_clearly(
        &["login", "--issuer", &base, "--client-id", "c"],
        2,
        "device_authorization_endpoint",
    )
    .await;
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414() {
    let base = canned(vec![
        (
            "/.well-known/oauth-authorization-server",
            Canned::json(200, discovery_doc()),
        ),
        ("/device", Canned::json(200, device_answer())),
        ("/token", Canned::json(400, r#"{"error":"access_denied"}"#)),
    ])
    .await;
    let run = Home::new()
        .run(&["login", "--issuer", &base, "--client-id", "c"])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
}

#[tokio::test]
async fn device_response_without_user_code() {
    let base = canned(vec![
        (
            "/.well-known/openid-configuration",
            Canned::json(200, discovery_doc()),
        ),
        (
            "/device",
            Canned::json(
                200,
                r#"{"device_code":"dc","verification_uri":"{base}/verify","expires_in":30}"#,
            ),
        ),
    ])
    .await;
    fails_clearly(
        &["login", "--issuer", &base, "--client-id", "c"],
        5,
        "has no user_code",
    )
    .await;
}

#[tokio::test]
async fn token_response_without_access_token() {
    let base = canned(vec![
        (
            "/.well-known/openid-configuration",
            Canned::json(200, discovery_doc()),
        ),
        ("/device", Canned::json(200, device_answer())),
        (
            "/token",
            Canned::json(200, r#"{"token_type":"Bearer","expires_in":3600}"#),
        ),
    ])
    .await;
    fails_clearly(
        &["login", "--issuer", &base, "--client-id", "c"],
        5,
        "no access_token",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_error_ends_with_the_servers_words() {
    let base = canned(vec![
        (
            "/.well-known/openid-configuration",
            Canned::json(200, discovery_doc()),
        ),
        ("/device", Canned::json(200, device_answer())),
        (
            "/token",
            Canned::json(
                400,
                "{\"error\":\"quota_exceeded\",\"error_description\":\"Try \\u001b[31mtomorrow\"}",
            ),
        ),
    ])
    .await;
    fails_clearly(
        &["login", "--issuer", &base, "--client-id", "c"],
        5,
        "quota_exceeded: Try \\x1b[31mtomorrow",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_client_is_a_configuration_error() {
    let server = server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    fails_clearly(
        &[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            "nobody",
        ],
        2,
        "invalid_client",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_configuration_error() {
    let server = server(ServerConfig {
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let run = Home::new()
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                tvlogin_server::BASIC_CLIENT_ID,
                "--client-secret-env",
                "S",
            ],
            &[("S", "Zq9-not-the-secret")],
        )
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("invalid_client"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("Zq9-not-the-secret"),
        "the secret was printed: {}",
        run.stderr
    );
}

#[tokio::test]
async fn loopback_never_goes_through_a_proxy() {
    // A proxy that does not exist: were loopback traffic sent there (in clear text), the
    // login would fail to connect.
    let server = server(ServerConfig {
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let dead = "http://127.0.0.1:9";
    let run = Home::new()
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
            ],
            &[
                ("HTTP_PROXY", dead),
                ("http_proxy", dead),
                ("ALL_PROXY", dead),
                ("all_proxy", dead),
                ("NO_PROXY", ""),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
}
