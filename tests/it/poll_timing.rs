//! The client's timing, read from the embedded server's record of every poll: never before
//! the interval in force, slow_down raising it as RFC 8628 says, and a local deadline that
//! ends a flow whose server never stops saying pending.

use crate::common;

use std::time::Duration;

use common::{Home, server};
use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, Quirks, ServerConfig};

#[tokio::test]
async fn polls_respect_the_interval_and_slow_down_raises_it() {
    // Quirks whose slow_down carries an interval (GitHub), none (RFC, Keycloak), or comes as
    // 403 (Google) or 429 (Auth0): the client must wait 1 + 5 = 6 s after poll 2 in each.
    let mut flows = Vec::new();
    for quirks in [
        Quirks::Rfc,
        Quirks::Github,
        Quirks::Google,
        Quirks::Auth0,
        Quirks::Keycloak,
    ] {
        flows.push(tokio::spawn(async move {
            let server = server(ServerConfig {
                quirks,
                interval: 1,
                slow_down_polls: vec![2],
                auto_decision: Some(AutoDecision {
                    on_poll: 4,
                    approve: true,
                }),
                ..ServerConfig::default()
            })
            .await;
            let run = Home::new()
                .run(&[
                    "login",
                    "--client-id",
                    DEMO_CLIENT_ID,
                    "--json",
                    "--device-authorization-endpoint",
                    server.device_authorization_endpoint().as_str(),
                    "--token-endpoint",
                    server.token_endpoint().as_str(),
                ])
                .await;
            (quirks, run, server.polls())
        }));
    }
    for flow in flows {
        let (quirks, run, polls) = flow.await.expect("join a login flow");
        assert_eq!(run.code, 0, "{quirks}: {}", run.stderr);
        let outcomes: Vec<&str> = polls.iter().map(|p| p.outcome.as_str()).collect();
        assert_eq!(
            outcomes,
            [
                "authorization_pending",
                "slow_down",
                "authorization_pending",
                "tokens"
            ],
            "{quirks}"
        );
        for p in &polls {
            assert!(!p.early, "{quirks}: early poll {p:?}");
            if let Some(gap) = p.since_previous {
                assert!(
                    gap >= p.interval_in_force,
                    "{quirks}: gap {gap:?} < {:?}",
                    p.interval_in_force
                );
            }
        }
        assert_eq!(
            polls[2].interval_in_force,
            Duration::from_secs(6),
            "{quirks}"
        );
        assert!(
            polls[2]
                .since_previous
                .is_some_and(|g| g >= Duration::from_secs(6)),
            "{quirks}"
        );
        // ...and the interval stays raised (RFC 8628 §3.5: "all subsequent requests").
        assert!(
            polls[3]
                .since_previous
                .is_some_and(|g| g >= Duration::from_secs(6)),
            "{quirks}"
        );
        let slow = run
            .events()
            .into_iter()
            .find(|e| e["event"] == "slow_down")
            .unwrap_or_default();
        assert_eq!(slow["interval"], 6, "{quirks}");
    }
}

#[tokio::test]
async fn a_server_that_never_stops_saying_pending_is_cut_off_at_the_deadline() {
    let server = server(ServerConfig {
        interval: 1,
        device_code_ttl: 3,
        never_expire: true,
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
            "--json",
        ])
        .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.elapsed >= Duration::from_secs(3),
        "ended before the deadline: {:?}",
        run.elapsed
    );
    assert!(
        run.elapsed < Duration::from_secs(6),
        "ran past the deadline: {:?}",
        run.elapsed
    );
    let polls = server.polls();
    assert!(
        polls.iter().all(|p| p.outcome == "authorization_pending"),
        "{polls:?}"
    );
    assert!(polls.len() <= 3, "polled after the code expired: {polls:?}");
    assert!(
        run.stderr.contains("expires_in has passed"),
        "{}",
        run.stderr
    );
}
