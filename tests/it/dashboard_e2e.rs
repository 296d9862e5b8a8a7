//! The dashboard against the embedded server: a profile logged in by the real binary (file
//! store), then the dashboard on the real runtime (test backend, injected keys) — the
//! schedule renewing a short-lived access token before it expires, Enter's inspection
//! verifying the stored tokens via discovery, and logout revoking them.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::runtime::drive;
use common::{Home, logged_in, quick};
use crossterm::event::KeyCode;
use tvlogin::clock::UnixTime;
use tvlogin::config::ConfigFile;
use tvlogin::exit::Exit;
use tvlogin::session;
use tvlogin::token::verify::Outcome;
use tvlogin::tui::caps::ColorMode;
use tvlogin::tui::dashboard::screen::DashboardScreen;
use tvlogin::tui::dashboard::tabs::profile_tabs;
use tvlogin::tui::dashboard::{Context, Dashboard};
use tvlogin::tui::inspector::TabBody;
use tvlogin::tui::screen::Clock;

fn context(home: &Home) -> session::Context {
    session::Context {
        paths: home.paths(),
        file: ConfigFile::default(),
        env: Box::new(|_| None),
    }
}

fn dashboard(home: &Home) -> DashboardScreen {
    let model = Dashboard::new(
        Context {
            colors: ColorMode::None,
            config_path: "config.toml".into(),
            offset: 0,
        },
        UnixTime::now(),
    );
    DashboardScreen::new(model, context(home), Box::new(std::io::sink()))
}

fn stored_access_token(home: &Home) -> String {
    let path = home.tokens_file();
    let text = std::fs::read_to_string(&path).expect("read the stored tokens");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["access_token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_renews_a_short_lived_token_before_it_expires() {
    // Four-second tokens: the renewal comes at half the lifetime (the 60 s default is
    // capped there), two seconds before expiry.
    let (server, home) = logged_in(quick(4)).await;
    let before = stored_access_token(&home);
    let run = drive(Box::new(dashboard(&home)), 100, 30, Clock::system());
    run.wait_for("● valid").await;
    let first_expiry = state_expiry(&home);
    run.wait_until(Duration::from_secs(20), "a renewal", |_| {
        !server.refreshes().is_empty()
    })
    .await;
    let renewed_at = UnixTime::now().unsigned();
    assert!(
        renewed_at <= first_expiry,
        "renewed at {renewed_at}, after the expiry {first_expiry}"
    );
    run.wait_for("auto-refreshed default").await;
    let outcomes: Vec<String> = server.refreshes().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes.first().map(String::as_str), Some("tokens"));
    assert_ne!(stored_access_token(&home), before, "a new token is stored");
    assert!(state_expiry(&home) > first_expiry);
    // The files were re-read: the card shows the new token as valid.
    run.wait_for("default  ● valid").await;
    run.char('q');
    assert_eq!(run.finish().await.exit, Exit::Ok);
}

/// The access token's expiry as the state file says.
fn state_expiry(home: &Home) -> u64 {
    let path = home.state_file();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["session"]["access_expires_at"]
        .as_u64()
        .unwrap_or_else(|| panic!("{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_inspects_the_stored_tokens_verified_via_discovery() {
    let (_server, home) = logged_in(quick(3600)).await;
    let ctx = context(&home);
    let tabs = profile_tabs(&ctx, "default")
        .await
        .expect("build the profile's tabs");
    let titles: Vec<&str> = tabs.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "access token",
            "id token",
            "refresh token",
            "userinfo",
            "introspection"
        ]
    );
    for i in [0, 1] {
        let TabBody::Token { report, .. } = &tabs[i].body else {
            panic!("tab {i} is not a token: {:?}", tabs[i].body);
        };
        let outcome = |name: &str| {
            report
                .checks
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.outcome.clone())
                .unwrap_or_else(|| panic!("no {name} check: {:?}", report.checks))
        };
        assert!(
            matches!(outcome("signature"), Outcome::Passed(_)),
            "{:?}",
            report.checks
        );
        assert!(
            matches!(outcome("iss"), Outcome::Passed(_)),
            "{:?}",
            report.checks
        );
        assert!(
            matches!(outcome("exp"), Outcome::Passed(_)),
            "{:?}",
            report.checks
        );
    }
    // The id token's audience is the client.
    let TabBody::Token { report, .. } = &tabs[1].body else {
        panic!("id token");
    };
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "aud" && matches!(c.outcome, Outcome::Passed(_))),
        "{:?}",
        report.checks
    );
    // The embedded server's refresh tokens are opaque: never sent anywhere but the token
    // endpoint.
    assert!(matches!(tabs[2].body, TabBody::Empty(_)));
    let TabBody::Fields(userinfo) = &tabs[3].body else {
        panic!("userinfo: {:?}", tabs[3].body);
    };
    let fields = userinfo
        .result
        .clone()
        .expect("the userinfo tab has fields");
    assert!(fields.contains_key("sub"), "{fields:?}");
    let TabBody::Fields(introspection) = &tabs[4].body else {
        panic!("introspection: {:?}", tabs[4].body);
    };
    let fields = introspection
        .result
        .clone()
        .expect("the introspection tab has fields");
    assert_eq!(fields.get("active"), Some(&serde_json::Value::Bool(true)));

    // Through the dashboard: Enter opens the inspector on these tabs.
    let run = drive(Box::new(dashboard(&home)), 100, 30, Clock::system());
    run.wait_for("● valid").await;
    run.key(KeyCode::Enter);
    run.wait_for("5 introspection").await;
    run.wait_for("✓ VERIFIED").await;
    run.char('q');
    run.wait_for("● valid").await;
    run.char('q');
    assert_eq!(run.finish().await.exit, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_from_the_dashboard_revokes_and_forgets() {
    let (server, home) = logged_in(quick(3600)).await;
    let token = stored_access_token(&home);
    let run = drive(Box::new(dashboard(&home)), 100, 30, Clock::system());
    run.wait_for("● valid").await;
    run.char('d');
    run.char('y');
    run.wait_for("logged out of default").await;
    run.wait_for("○ not logged in").await;
    run.char('q');
    assert_eq!(run.finish().await.exit, Exit::Ok);
    let answer = common::introspect(&server, &token).await;
    assert_eq!(answer["active"], false);
}

/// `n` with no config.toml at all: the form asks for the provider or issuer and the client
/// id, the profile is written to config.toml, and its login screen opens (it used to fail on
/// the missing file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_writes_the_new_profile_to_config_toml_and_opens_its_login() {
    let server = common::server(tvlogin_server::ServerConfig::default()).await;
    let home = Home::new();
    let config = home.paths().config_file();
    assert!(!config.exists(), "no config.toml to start with");
    let run = drive(Box::new(dashboard(&home)), 100, 30, Clock::system());
    run.char('n');
    run.wait_for("new profile").await;
    let issuer = server.issuer_str();
    let issuer = issuer.trim_end_matches('/');
    for c in "lab".chars() {
        run.char(c);
    }
    run.key(KeyCode::Enter);
    run.wait_for("> ▏").await;
    for c in issuer.chars() {
        run.char(c);
    }
    run.key(KeyCode::Enter);
    for c in "tvlogin-demo".chars() {
        run.char(c);
    }
    run.key(KeyCode::Enter);
    // The login screen's title names the new profile.
    run.wait_for("· profile lab").await;
    let text = std::fs::read_to_string(&config).expect("config.toml was written");
    assert!(text.contains("[profiles.lab]"), "{text}");
    assert!(text.contains(&format!("issuer = \"{issuer}\"")), "{text}");
    assert!(text.contains("client_id = \"tvlogin-demo\""), "{text}");
    let parsed: ConfigFile = toml::from_str(&text).expect("it loads");
    assert!(parsed.profiles.contains_key("lab"));
    // Cancel the login, then leave the dashboard.
    run.char('q');
    run.wait_for("token dashboard").await;
    run.char('q');
    run.finish().await;
}
