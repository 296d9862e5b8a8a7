//! The dashboard against the embedded server: a profile logged in by the real binary (file
//! store), then the dashboard's own effects carried out as the runtime carries them out —
//! the schedule renewing a short-lived access token before it expires, Enter's inspection
//! verifying the stored tokens via discovery, and logout revoking them.

mod common;

use std::time::{Duration, Instant};

use common::{Home, logged_in, quick};
use tvlogin::app::ColorMode;
use tvlogin::config::ConfigFile;
use tvlogin::dashboard::run::perform;
use tvlogin::dashboard::tabs::profile_tabs;
use tvlogin::dashboard::{Badge, Context, Dashboard, Effect, Msg, Refresh, badge, update};
use tvlogin::inspector::TabBody;
use tvlogin::server::DEMO_CLIENT_ID;
use tvlogin::session;
use tvlogin::token::verify::Outcome;

fn context(home: &Home) -> session::Context {
    session::Context {
        paths: home.paths(),
        file: ConfigFile::default(),
        env: Box::new(|_| None),
    }
}

fn dashboard() -> Dashboard {
    Dashboard::new(
        Context {
            colors: ColorMode::None,
            config_path: "config.toml".into(),
            offset: 0,
        },
        session::now(),
    )
}

/// Carries out `effects` and feeds their results back, as the runtime does; returns every
/// message that came back.
async fn settle(d: &mut Dashboard, ctx: &session::Context, effects: Vec<Effect>) -> Vec<Msg> {
    let mut seen = Vec::new();
    let mut queue = effects;
    while let Some(effect) = queue.pop() {
        if let Some(msg) = perform(effect, ctx).await {
            seen.push(msg.clone());
            queue.extend(update(d, msg));
        }
    }
    seen
}

fn stored_access_token(home: &Home) -> String {
    let path = home.paths().data_dir.join("profiles/default.tokens.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["access_token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_schedule_renews_a_short_lived_token_before_it_expires() {
    // Four-second tokens: the renewal comes at half the lifetime (the 60 s default is
    // capped there), two seconds before expiry.
    let (server, home) = logged_in(quick(4)).await;
    let ctx = context(&home);
    let mut d = dashboard();
    let start = d.start();
    settle(&mut d, &ctx, start).await;
    assert_eq!(d.rows.len(), 1);
    let first_expiry = d.rows[0]
        .session
        .as_ref()
        .and_then(|m| m.access_expires_at)
        .unwrap_or(0);
    let before = stored_access_token(&home);

    let started = Instant::now();
    let mut renewed_at = None;
    while started.elapsed() < Duration::from_secs(20) && renewed_at.is_none() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = session::now();
        let effects = update(&mut d, Msg::Tick(now));
        for msg in settle(&mut d, &ctx, effects).await {
            if let Msg::Refreshed { result, .. } = msg {
                assert!(result.is_ok(), "{result:?}");
                renewed_at = Some(now);
            }
        }
    }
    let renewed_at = renewed_at.unwrap_or_else(|| panic!("no renewal in 20 s"));
    assert!(
        renewed_at < first_expiry,
        "renewed at {renewed_at}, after the expiry {first_expiry}"
    );
    let outcomes: Vec<String> = server.refreshes().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["tokens"]);
    assert_ne!(stored_access_token(&home), before, "a new token is stored");
    // The files were re-read: the row shows the new expiry, and the refresh as done.
    settle(&mut d, &ctx, vec![Effect::Reload]).await;
    let m = d.rows[0]
        .session
        .clone()
        .unwrap_or_else(|| panic!("session"));
    assert!(m.access_expires_at.unwrap_or(0) > first_expiry);
    assert!(matches!(d.rows[0].refresh, Refresh::Done { .. }));
    assert_eq!(badge(&d.rows[0], session::now()), Badge::Valid);
}

#[tokio::test]
async fn enter_inspects_the_stored_tokens_verified_via_discovery() {
    let (_server, home) = logged_in(quick(3600)).await;
    let ctx = context(&home);
    let tabs = profile_tabs(&ctx, "default")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
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
    let fields = userinfo.result.clone().unwrap_or_else(|e| panic!("{e}"));
    assert!(fields.contains_key("sub"), "{fields:?}");
    let TabBody::Fields(introspection) = &tabs[4].body else {
        panic!("introspection: {:?}", tabs[4].body);
    };
    let fields = introspection
        .result
        .clone()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fields.get("active"), Some(&serde_json::Value::Bool(true)));

    // Through the dashboard: Enter opens the inspector on these tabs.
    let mut d = dashboard();
    let start = d.start();
    settle(&mut d, &ctx, start).await;
    let effects = update(
        &mut d,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )),
    );
    assert_eq!(effects, vec![Effect::Inspect("default".into())]);
    settle(&mut d, &ctx, effects).await;
    assert!(
        matches!(d.mode, tvlogin::dashboard::Mode::Inspect(_)),
        "{:?}",
        d.toast
    );
}

#[tokio::test]
async fn logout_from_the_dashboard_revokes_and_forgets() {
    let (server, home) = logged_in(quick(3600)).await;
    let ctx = context(&home);
    let token = stored_access_token(&home);
    let mut d = dashboard();
    let start = d.start();
    settle(&mut d, &ctx, start).await;
    let msgs = settle(&mut d, &ctx, vec![Effect::Logout("default".into())]).await;
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Msg::LoggedOut { failure: None, .. })),
        "{msgs:?}"
    );
    assert!(d.rows[0].session.is_none());
    assert_eq!(badge(&d.rows[0], session::now()), Badge::NotLoggedIn);
    let answer: serde_json::Value = reqwest::Client::new()
        .post(server.introspection_endpoint())
        .form(&[("token", token.as_str()), ("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer["active"], false);
}
