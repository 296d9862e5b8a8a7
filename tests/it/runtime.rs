//! The one runtime driving every screen: keys, resizes, the tick and signals through the same
//! loop for the inspector, the dashboard and the login screen, and the dashboard → login →
//! dashboard and dashboard → inspector transitions. The real `screen::run` on a test backend
//! with injected events (paused tokio time where no network is involved).

use crate::common;

use std::time::Duration;

use common::runtime::drive;
use common::{Home, logged_in, quick};
use crossterm::event::KeyCode;
use serde_json::json;
use tvlogin::clock::UnixTime;
use tvlogin::config::ConfigFile;
use tvlogin::exit::Exit;
use tvlogin::session;
use tvlogin::token::report::Lookup;
use tvlogin::tui::caps::ColorMode;
use tvlogin::tui::dashboard::screen::DashboardScreen;
use tvlogin::tui::dashboard::{Context, Dashboard};
use tvlogin::tui::inspector::screen::InspectorScreen;
use tvlogin::tui::inspector::{Inspector, Tab, TabBody};
use tvlogin::tui::screen::{Clock, Sig};
use tvlogin_server::{DEMO_CLIENT_ID, DpopMode, Knobs, ServerConfig};

const NOW: u64 = 1_795_000_000;

fn inspector() -> InspectorScreen {
    let fields = json!({"sub": "248289761001", "name": "Ada Lovelace", "exp": NOW + 90});
    let tabs = vec![
        Tab {
            title: "userinfo".into(),
            body: TabBody::Fields(Lookup {
                endpoint: "https://login.example.com/userinfo".into(),
                result: Ok(fields.as_object().cloned().unwrap_or_default()),
            }),
        },
        Tab {
            title: "refresh token".into(),
            body: TabBody::Empty("The refresh token is opaque.".into()),
        },
    ];
    InspectorScreen::new(Inspector::new(
        tabs,
        UnixTime::from_unsigned(NOW),
        0,
        ColorMode::None,
    ))
}

#[tokio::test(start_paused = true)]
async fn inspector_keys_help_resize_tick_and_signals_through_the_one_loop() {
    let run = drive(
        Box::new(inspector()),
        80,
        24,
        Clock::starting_at(UnixTime::from_unsigned(NOW)),
    );
    run.wait_for("userinfo").await;
    // ? opens help; q in help closes it and does not quit.
    run.char('?');
    run.wait_for("any key closes this").await;
    run.char('q');
    run.wait_until(Duration::from_secs(5), "help closed", |s| {
        !s.contains("any key closes this")
    })
    .await;
    assert!(!run.finished(), "q in help closes help only");
    // A resize repaints at the new size.
    let clears = run.seen().clears;
    run.resize(60, 20);
    run.wait_until(Duration::from_secs(5), "repaint", |_| true)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(run.seen().clears > clears);
    assert_eq!(run.seen().terminal.backend().buffer().area.width, 60);
    // The tick moves the countdown (1 minute 30 left, then less).
    run.wait_for("1m 30s").await;
    tokio::time::sleep(Duration::from_secs(31)).await;
    run.wait_for("59s").await;
    // SIGTSTP and Ctrl-Z suspend; SIGCONT sets the terminal up again; both repaint.
    run.signal(Sig::Suspend);
    run.ctrl('z');
    run.signal(Sig::Resume);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(run.seen().suspends, 2);
    assert_eq!(run.seen().resumes, 1);
    assert!(!run.finished());
    // SIGTERM stops it.
    run.signal(Sig::Stop);
    assert_eq!(run.finish().await.exit, Exit::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn every_screen_quits_on_q_esc_ctrl_c_and_ctrl_d() {
    for (press, want) in [
        ("q", Exit::Ok),
        ("esc", Exit::Ok),
        ("ctrl-c", Exit::Cancelled),
        ("ctrl-d", Exit::Cancelled),
    ] {
        let run = drive(
            Box::new(inspector()),
            80,
            24,
            Clock::starting_at(UnixTime::from_unsigned(NOW)),
        );
        run.wait_for("userinfo").await;
        match press {
            "q" => run.char('q'),
            "esc" => run.key(KeyCode::Esc),
            "ctrl-c" => run.ctrl('c'),
            _ => run.ctrl('d'),
        }
        assert_eq!(run.finish().await.exit, want, "inspector: {press}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_closed_terminal_ends_the_screen() {
    let mut run = drive(
        Box::new(inspector()),
        80,
        24,
        Clock::starting_at(UnixTime::from_unsigned(NOW)),
    );
    run.wait_for("userinfo").await;
    run.hang_up();
    assert_eq!(run.finish().await.exit, Exit::Cancelled);
}

fn dashboard_ctx(home: &Home, env: Vec<(&'static str, String)>) -> session::Context {
    session::Context {
        paths: home.paths(),
        file: ConfigFile::default(),
        env: Box::new(move |name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())),
    }
}

fn dashboard(home: &Home, env: Vec<(&'static str, String)>) -> DashboardScreen {
    let model = Dashboard::new(
        Context {
            colors: ColorMode::None,
            config_path: "config.toml".into(),
            offset: 0,
        },
        UnixTime::now(),
    );
    DashboardScreen::new(model, dashboard_ctx(home, env), Box::new(std::io::sink()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_to_inspector_and_back_then_quit() {
    let (_server, home) = logged_in(quick(3600)).await;
    let run = drive(
        Box::new(dashboard(&home, Vec::new())),
        100,
        30,
        Clock::system(),
    );
    run.wait_for("default").await;
    run.wait_for("● valid").await;
    run.key(KeyCode::Enter);
    run.wait_for("introspection").await;
    // ? toggles help in the inspector too; q closes it.
    run.char('?');
    run.wait_for("any key closes this").await;
    run.char('q');
    run.wait_until(Duration::from_secs(5), "help closed", |s| {
        !s.contains("any key closes this")
    })
    .await;
    // q leaves the inspector, back on the list.
    run.char('q');
    run.wait_for("● valid").await;
    assert!(!run.finished());
    run.char('q');
    assert_eq!(run.finish().await.exit, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pushes_the_login_screen_and_gets_the_outcome_back() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nissuer = \"{}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nscope = \"openid profile offline_access\"\nstore = \"file\"\n",
        server.issuer_str()
    ));
    let run = drive(
        Box::new(dashboard(&home, Vec::new())),
        100,
        40,
        Clock::system(),
    );
    run.wait_for("not logged in").await;
    run.char('l');
    run.wait_until(Duration::from_secs(20), "user code", |_| {
        !server.pending_user_codes().is_empty()
    })
    .await;
    let code = server.pending_user_codes().remove(0);
    run.wait_for(&code).await;
    // ? toggles help on the login screen; q in help closes help, the login goes on.
    run.char('?');
    run.wait_for("Any key closes this help.").await;
    run.char('q');
    run.wait_until(Duration::from_secs(5), "help closed", |s| {
        !s.contains("Any key closes this help.")
    })
    .await;
    assert!(server.pending_user_codes().contains(&code), "still waiting");
    server.approve(&code).expect("approve the code");
    run.wait_for("Logged in").await;
    run.key(KeyCode::Enter);
    run.wait_for("logged in (profile default)").await;
    run.wait_for("● valid").await;
    run.char('q');
    assert_eq!(run.finish().await.exit, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_during_a_pushed_login_stops_both_screens() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nissuer = \"{}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nscope = \"openid profile offline_access\"\nstore = \"memory\"\n",
        server.issuer_str()
    ));
    let run = drive(
        Box::new(dashboard(&home, Vec::new())),
        100,
        40,
        Clock::system(),
    );
    run.wait_for("not logged in").await;
    run.char('l');
    run.wait_until(Duration::from_secs(20), "user code", |_| {
        !server.pending_user_codes().is_empty()
    })
    .await;
    run.signal(Sig::Stop);
    assert_eq!(run.finish().await.exit, Exit::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_during_a_refresh_finishes_it_first_and_says_so() {
    let (server, home) = logged_in(quick(3600)).await;
    // The next token request (the refresh) takes three seconds.
    server.push_faults([tvlogin_server::Fault::Delay(Duration::from_secs(3))]);
    let run = drive(
        Box::new(dashboard(&home, Vec::new())),
        80,
        24,
        Clock::system(),
    );
    run.wait_for("● valid").await;
    run.char('r');
    run.wait_for("renewing…").await;
    run.char('q');
    run.wait_for("finishing a token refresh").await;
    let rows = run.rows();
    assert!(
        !run.finished(),
        "it waits for the refresh to store its tokens"
    );
    // The refresh finishes and stores its tokens; then the program ends by itself.
    assert_eq!(run.finish().await.exit, Exit::Ok);
    let outcomes: Vec<String> = server.refreshes().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["tokens"]);
    // The screen while it waited (the clock-dependent rows left out).
    let shot: Vec<&str> = rows
        .iter()
        .map(String::as_str)
        .filter(|r| r.contains("finishing") || r.contains("tvlogin ·") || r.contains("quit"))
        .collect();
    insta::assert_snapshot!("finishing_on_quit", shot.join("\n"));
}

/// A DPoP login on the screen that the server answers with a Bearer access token (it bound
/// only the refresh token, as Google does) says so once, as plain and JSON logins do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_screen_says_when_the_server_did_not_bind_the_access_token() {
    let server = common::server(ServerConfig {
        interval: 1,
        auto_decision: Some(tvlogin_server::AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        knobs: Knobs {
            dpop: DpopMode::Optional,
            dpop_bind_refresh_only: true,
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nissuer = \"{}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nscope = \"openid offline_access\"\nstore = \"file\"\ndpop = true\n",
        server.issuer_str()
    ));
    let run = drive(
        Box::new(dashboard(&home, Vec::new())),
        120,
        40,
        Clock::system(),
    );
    run.wait_for("not logged in").await;
    run.char('l');
    run.wait_until(Duration::from_secs(20), "the notice", |s| {
        s.contains("not bound to this machine's key")
    })
    .await;
}
