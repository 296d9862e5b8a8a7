//! The dashboard: insta snapshots of each state at 80x24 and a fixed clock (0, 1 and 3
//! profiles, help, filter, confirmations, a failed refresh, hostile text, NO_COLOR), and
//! tables of the pure `update`: keys to effects, the auto-refresh schedule, reloads.

use crate::common;

use common::screen::{check_layout, lines, snapshot};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tvlogin::clock::UnixTime;
use tvlogin::exit::Exit;
use tvlogin::oauth::client::AuthMethod;
use tvlogin::session::RefreshReport;
use tvlogin::store::Backend;
use tvlogin::store::state::{SessionMeta, StoredEndpoints};
use tvlogin::tui::caps::ColorMode;
use tvlogin::tui::dashboard::new_profile::{NewProfile, Server};
use tvlogin::tui::dashboard::{
    Badge, Confirm, Context, Dashboard, Effect, Mode, Msg, Refresh, Row, badge, update,
};
use tvlogin::tui::inspector::{Tab, TabBody};

/// 2026-11-18 21:33:20 UTC.
const NOW: u64 = 1_795_000_000;

/// The clock at Unix second `secs`.
fn at(secs: u64) -> UnixTime {
    UnixTime::from_unsigned(secs)
}

fn ctx(colors: ColorMode) -> Context {
    Context {
        colors,
        config_path: "/home/ada/.config/tvlogin/config.toml".into(),
        offset: 3600,
    }
}

fn meta(issuer: &str, who: &str, scope: &str) -> SessionMeta {
    SessionMeta {
        generation: 3,
        issuer: Some(issuer.into()),
        client_id: "tv-client".into(),
        auth: AuthMethod::None,
        client_secret_env: None,
        allow_http: false,
        endpoints: StoredEndpoints {
            token: format!("{issuer}/token"),
            device_authorization: format!("{issuer}/device"),
            ..StoredEndpoints::default()
        },
        subject: Some("248289761001".into()),
        subject_label: Some(who.into()),
        scope: Some(scope.into()),
        token_type: "Bearer".into(),
        obtained_at: NOW - 86_400,
        refreshed_at: Some(NOW - 1200),
        access_issued_at: NOW - 1200,
        access_expires_at: Some(NOW + 2400),
        has_refresh_token: true,
        refresh_expires_at: Some(NOW - 86_400 + 30 * 86_400),
        has_id_token: true,
        id_expires_at: Some(NOW + 2400),
        dpop_jkt: None,
        dpop_bound_access: false,
    }
}

fn row(name: &str, session: Option<SessionMeta>) -> Row {
    let mut r = Row::new(name, true, Some(Backend::Keyring));
    r.session = session;
    r
}

/// Work: valid with an id token and a refresh token that expires.
fn work() -> Row {
    row(
        "work",
        Some(meta(
            "https://login.example.com",
            "Ada Lovelace <ada@example.com>",
            "openid profile email offline_access",
        )),
    )
}

/// GitHub: expired access token, no refresh token, no id token.
fn github() -> Row {
    let mut m = meta("https://github.com", "ada", "repo read:org");
    m.access_issued_at = NOW - 9000;
    m.access_expires_at = Some(NOW - 1800);
    m.has_refresh_token = false;
    m.refresh_expires_at = None;
    m.has_id_token = false;
    m.id_expires_at = None;
    let mut r = row("github", Some(m));
    r.store = Some(Backend::File);
    r
}

/// CI: valid for two hours, no refresh token.
fn ci() -> Row {
    let mut m = meta("https://auth.example.net", "ci-bot", "deploy");
    m.access_issued_at = NOW - 3600;
    m.access_expires_at = Some(NOW + 7200);
    m.has_refresh_token = false;
    m.refresh_expires_at = None;
    m.has_id_token = false;
    m.id_expires_at = None;
    row("ci", Some(m))
}

fn loaded(rows: Vec<Row>, colors: ColorMode) -> Dashboard {
    let mut d = Dashboard::new(ctx(colors), at(NOW));
    let start = d.start();
    assert_eq!(start, vec![Effect::Reload]);
    update(&mut d, Msg::Loaded(rows, Vec::new()));
    d
}

fn three() -> Dashboard {
    loaded(vec![ci(), github(), work()], ColorMode::Ansi256)
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(k: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(k, KeyModifiers::NONE))
}

fn text(d: &Dashboard) -> String {
    lines(d, 80, 24).0.join("\n")
}

// ----- snapshots -----

#[test]
fn snapshot_reading() {
    let d = Dashboard::new(ctx(ColorMode::Ansi256), at(NOW));
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_no_profiles_welcome() {
    let d = loaded(Vec::new(), ColorMode::Ansi256);
    let screen = text(&d);
    assert!(screen.contains("tvlogin demo"), "{screen}");
    assert!(screen.contains("tvlogin login"), "{screen}");
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_one_profile() {
    let d = loaded(vec![work()], ColorMode::Ansi256);
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_three_profiles_one_expired_one_without_refresh_token() {
    let d = three();
    let screen = text(&d);
    assert!(screen.contains("● expired"), "{screen}");
    assert!(screen.contains("● no refresh token"), "{screen}");
    assert!(screen.contains("● valid"), "{screen}");
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_three_profiles_wide() {
    let d = three();
    insta::assert_snapshot!(snapshot(&d, 120, 30));
}

#[test]
fn snapshot_selection_scrolls_whole_cards() {
    let mut d = three();
    update(&mut d, code(KeyCode::End));
    let (rows, _) = lines(&d, 80, 14);
    assert!(rows.iter().any(|r| r.starts_with("▶ work")), "{rows:#?}");
    insta::assert_snapshot!(snapshot(&d, 80, 14));
}

#[test]
fn snapshot_help() {
    let mut d = three();
    update(&mut d, key('?'));
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_filter() {
    let mut d = three();
    for c in "WOR".chars() {
        update(&mut d, key('/'));
        update(&mut d, key(c));
        update(&mut d, code(KeyCode::Enter));
    }
    assert_eq!(d.filter, "WOR");
    update(&mut d, key('/'));
    assert_eq!(d.visible().len(), 1);
    assert_eq!(d.selected.as_deref(), Some("work"));
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_confirm_logout_and_copy() {
    let mut d = three();
    update(&mut d, code(KeyCode::End));
    update(&mut d, key('d'));
    assert_eq!(d.mode, Mode::Confirm(Confirm::Logout("work".into())));
    insta::assert_snapshot!("confirm_logout", snapshot(&d, 80, 24));
    update(&mut d, key('n'));
    assert_eq!(d.mode, Mode::List);
    update(&mut d, key('c'));
    insta::assert_snapshot!("confirm_copy", snapshot(&d, 80, 24));
}

#[test]
fn snapshot_refresh_failed_with_the_servers_words() {
    let mut d = three();
    update(&mut d, code(KeyCode::End));
    assert_eq!(
        update(&mut d, key('r')),
        vec![Effect::Refresh("work".into())]
    );
    update(
        &mut d,
        Msg::Refreshed {
            profile: "work".into(),
            result: Err(
                "token request: the server answered invalid_grant: refresh token \
                         revoked"
                    .into(),
            ),
        },
    );
    let screen = text(&d);
    assert!(screen.contains("● refresh failed"), "{screen}");
    assert!(
        screen.contains("invalid_grant: refresh token revoked"),
        "{screen}"
    );
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_new_profile_prompt() {
    let mut d = three();
    update(&mut d, key('n'));
    for c in "staging/!".chars() {
        update(&mut d, key(c));
    }
    // Only characters that make sense in a profile name are taken.
    let Mode::NewProfile(form) = &d.mode else {
        panic!("not the form: {:?}", d.mode)
    };
    assert_eq!(form.name, "staging");
    insta::assert_snapshot!(snapshot(&d, 80, 24));
    // A new name asks for the rest: provider or issuer, then the client id.
    assert_eq!(update(&mut d, code(KeyCode::Enter)), vec![]);
    for c in "github".chars() {
        update(&mut d, key(c));
    }
    update(&mut d, code(KeyCode::Tab));
    for c in "Iv1.abc".chars() {
        update(&mut d, key(c));
    }
    insta::assert_snapshot!("new_profile_filled", snapshot(&d, 80, 24));
    assert_eq!(
        update(&mut d, code(KeyCode::Enter)),
        vec![Effect::CreateProfile(NewProfile {
            name: "staging".into(),
            server: Server::Provider(tvlogin::config::Provider::Github),
            client_id: "Iv1.abc".into(),
        })]
    );
    // An existing profile's name logs in to it at once, as before.
    update(&mut d, key('n'));
    for c in "work".chars() {
        update(&mut d, key(c));
    }
    assert_eq!(
        update(&mut d, code(KeyCode::Enter)),
        vec![Effect::Login("work".into())]
    );
}

#[test]
fn snapshot_hostile_text_is_escaped() {
    let mut m = meta(
        "https://evil.example\u{1b}]0;pwned\u{7}",
        "Mallory \u{1b}[31m\u{202e}gnp.exe",
        "openid \u{1b}[2J",
    );
    m.subject_label = Some("Mallory \u{1b}[31m\u{202e}gnp.exe".into());
    let d = loaded(vec![row("evil\u{1b}[1m", Some(m))], ColorMode::Ansi256);
    let screen = text(&d);
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert!(!screen.contains('\u{202e}'), "{screen}");
    assert!(screen.contains("\\x1b"), "{screen}");
    insta::assert_snapshot!(snapshot(&d, 80, 24));
}

#[test]
fn snapshot_no_color() {
    let d = loaded(vec![ci(), github(), work()], ColorMode::None);
    let shot = snapshot(&d, 80, 24);
    assert!(
        !shot.contains("fg Indexed") && !shot.contains("fg Green"),
        "{shot}"
    );
    insta::assert_snapshot!(shot);
}

#[test]
fn snapshot_inspector_inside_the_dashboard() {
    let mut d = three();
    update(&mut d, code(KeyCode::End));
    assert_eq!(
        update(&mut d, code(KeyCode::Enter)),
        vec![Effect::Inspect("work".into())]
    );
    assert!(text(&d).contains("inspecting work"), "{}", text(&d));
    let tabs = vec![Tab {
        title: "access token".into(),
        body: TabBody::Empty("an opaque token".into()),
    }];
    update(
        &mut d,
        Msg::Inspected {
            profile: "work".into(),
            result: Ok(tabs),
        },
    );
    assert!(matches!(d.mode, Mode::Inspect(_)));
    insta::assert_snapshot!(snapshot(&d, 80, 24));
    // q leaves the inspector, not the dashboard.
    update(&mut d, key('q'));
    assert_eq!(d.mode, Mode::List);
    assert_eq!(d.exit, None);
}

// ----- update tables -----

#[test]
fn keys_without_a_session_explain_instead_of_acting() {
    let mut d = loaded(vec![row("staging", None)], ColorMode::Ansi256);
    for c in ['r', 'd', 'c'] {
        assert!(update(&mut d, key(c)).is_empty());
        assert_eq!(d.mode, Mode::List);
        let toast = d.toast.clone().map(|t| t.text).unwrap_or_default();
        assert!(toast.contains("not logged in"), "{c}: {toast}");
    }
    assert!(update(&mut d, code(KeyCode::Enter)).is_empty());
    assert_eq!(
        update(&mut d, key('l')),
        vec![Effect::Login("staging".into())]
    );
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::NotLoggedIn);
}

#[test]
fn l_on_the_welcome_screen_logs_in_the_default_profile() {
    let mut d = loaded(Vec::new(), ColorMode::Ansi256);
    assert_eq!(
        update(&mut d, key('l')),
        vec![Effect::Login("default".into())]
    );
}

#[test]
fn confirmations_need_y() {
    let mut d = loaded(vec![work()], ColorMode::Ansi256);
    update(&mut d, key('d'));
    assert!(
        update(&mut d, code(KeyCode::Enter)).is_empty(),
        "Enter is not yes"
    );
    update(&mut d, key('d'));
    assert_eq!(
        update(&mut d, key('y')),
        vec![Effect::Logout("work".into())]
    );
    update(&mut d, key('c'));
    assert_eq!(update(&mut d, key('y')), vec![Effect::Copy("work".into())]);
}

#[test]
fn quitting() {
    let table = [
        (key('q'), Some(Exit::Ok)),
        (code(KeyCode::Esc), Some(Exit::Ok)),
        (
            Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Exit::Cancelled),
        ),
        (Msg::Terminate, Some(Exit::Cancelled)),
        (key('x'), None),
    ];
    for (msg, want) in table {
        let mut d = three();
        update(&mut d, msg.clone());
        assert_eq!(d.exit, want, "{msg:?}");
    }
    // Esc clears a filter before it quits.
    let mut d = three();
    update(&mut d, key('/'));
    update(&mut d, key('w'));
    update(&mut d, code(KeyCode::Enter));
    update(&mut d, code(KeyCode::Esc));
    assert_eq!((d.exit, d.filter.as_str()), (None, ""));
}

#[test]
fn the_schedule_renews_shortly_before_expiry_and_backs_off_after_a_failure() {
    let mut w = work();
    if let Some(m) = &mut w.session {
        m.access_issued_at = NOW;
        m.access_expires_at = Some(NOW + 600);
    }
    let mut d = loaded(vec![w], ColorMode::Ansi256);
    // 60 s before expiry, not earlier.
    assert!(update(&mut d, Msg::Tick(at(NOW + 539))).is_empty());
    assert_eq!(
        update(&mut d, Msg::Tick(at(NOW + 541))),
        vec![Effect::Refresh("work".into())]
    );
    assert_eq!(badge(&d.rows[0], at(NOW + 541)), Badge::Refreshing);
    // No second request while one is under way.
    assert!(!update(&mut d, Msg::Tick(at(NOW + 542))).contains(&Effect::Refresh("work".into())));
    let effects = update(
        &mut d,
        Msg::Refreshed {
            profile: "work".into(),
            result: Err("the token endpoint answered 503".into()),
        },
    );
    assert_eq!(effects, vec![Effect::Reload]);
    // 30 s of back-off, then a retry.
    assert!(!update(&mut d, Msg::Tick(at(NOW + 560))).contains(&Effect::Refresh("work".into())));
    assert!(update(&mut d, Msg::Tick(at(NOW + 572))).contains(&Effect::Refresh("work".into())));
    let effects = update(
        &mut d,
        Msg::Refreshed {
            profile: "work".into(),
            result: Ok(RefreshReport {
                access_expires_at: Some(NOW + 572 + 600),
                rotated: true,
                refresh_expires_at: None,
                location: "keyring".into(),
            }),
        },
    );
    assert!(effects.is_empty() || effects == vec![Effect::Reload]);
    assert!(matches!(
        d.rows[0].refresh,
        Refresh::Done { rotated: true, .. }
    ));
    // The new expiry counts at once, before the files are re-read.
    assert!(!update(&mut d, Msg::Tick(at(NOW + 573))).contains(&Effect::Refresh("work".into())));
    let toast = d.toast.clone().map(|t| t.text).unwrap_or_default();
    assert!(toast.contains("refreshed work"), "{toast}");
}

#[test]
fn auto_refresh_can_be_switched_off() {
    let mut w = work();
    if let Some(m) = &mut w.session {
        m.access_expires_at = Some(NOW + 30);
    }
    let mut d = loaded(vec![w], ColorMode::Ansi256);
    update(&mut d, key('a'));
    assert!(!d.rows[0].auto_refresh);
    assert!(update(&mut d, Msg::Tick(at(NOW + 1))).is_empty());
    assert_eq!(badge(&d.rows[0], at(NOW + 1)), Badge::Expiring);
    // A reload keeps the person's choice.
    update(&mut d, Msg::Loaded(vec![work()], Vec::new()));
    assert!(!d.rows[0].auto_refresh);
}

#[test]
fn a_tick_redraws_only_when_a_countdown_runs() {
    let mut d = loaded(vec![github()], ColorMode::Ansi256);
    d.take_dirty();
    update(&mut d, Msg::Tick(at(NOW + 1)));
    assert!(
        !d.take_dirty(),
        "an expired token shows nothing that changes"
    );
    let mut d = three();
    d.take_dirty();
    update(&mut d, Msg::Tick(at(NOW + 1)));
    assert!(d.take_dirty());
    // The same second again changes nothing.
    update(&mut d, Msg::Tick(at(NOW + 1)));
    assert!(!d.take_dirty());
    // Re-reading identical files changes nothing either.
    update(
        &mut d,
        Msg::Loaded(vec![ci(), github(), work()], Vec::new()),
    );
    assert!(!d.take_dirty());
}

#[test]
fn files_are_reread_every_few_seconds_one_read_at_a_time() {
    let mut d = loaded(vec![github()], ColorMode::Ansi256);
    let mut reloads = 0;
    for t in 1..=10 {
        reloads += update(&mut d, Msg::Tick(at(NOW + t)))
            .iter()
            .filter(|e| **e == Effect::Reload)
            .count();
    }
    assert_eq!(reloads, 1, "the first read has not answered yet");
    update(&mut d, Msg::Loaded(vec![github()], Vec::new()));
    let mut reloads = 0;
    for t in 11..=20 {
        if update(&mut d, Msg::Tick(at(NOW + t))).contains(&Effect::Reload) {
            reloads += 1;
            update(&mut d, Msg::Loaded(vec![github()], Vec::new()));
        }
    }
    assert_eq!(reloads, 2);
}

#[test]
fn a_login_elsewhere_clears_an_old_failure() {
    let mut d = loaded(vec![work()], ColorMode::Ansi256);
    update(&mut d, key('r'));
    update(
        &mut d,
        Msg::Refreshed {
            profile: "work".into(),
            result: Err("invalid_grant".into()),
        },
    );
    // The failure ended the session.
    update(&mut d, Msg::Loaded(vec![row("work", None)], Vec::new()));
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::RefreshFailed);
    assert!(d.rows[0].last_session.is_some(), "l can log in again");
    let mut fresh = work();
    if let Some(m) = &mut fresh.session {
        m.obtained_at = NOW;
    }
    update(&mut d, Msg::Loaded(vec![fresh], Vec::new()));
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::Valid);
}

#[test]
fn the_back_off_grows_with_failures_in_a_row_and_a_success_is_not_repeated_at_once() {
    let mut w = work();
    if let Some(m) = &mut w.session {
        m.access_issued_at = NOW;
        m.access_expires_at = Some(NOW + 100);
    }
    let mut d = loaded(vec![w], ColorMode::Ansi256);
    let fail = |d: &mut Dashboard| {
        update(
            d,
            Msg::Refreshed {
                profile: "work".into(),
                result: Err("503".into()),
            },
        );
    };
    let refreshes = |effects: Vec<Effect>| effects.contains(&Effect::Refresh("work".into()));
    assert!(refreshes(update(&mut d, Msg::Tick(at(NOW + 50)))));
    fail(&mut d);
    // 30 s, then 60 s.
    assert!(!refreshes(update(&mut d, Msg::Tick(at(NOW + 79)))));
    assert!(refreshes(update(&mut d, Msg::Tick(at(NOW + 80)))));
    fail(&mut d);
    assert!(matches!(
        d.rows[0].refresh,
        Refresh::Failed { failures: 2, .. }
    ));
    assert!(!refreshes(update(&mut d, Msg::Tick(at(NOW + 139)))));
    assert!(refreshes(update(&mut d, Msg::Tick(at(NOW + 140)))));
    // A server answering with an already expired token is not asked again every second.
    update(
        &mut d,
        Msg::Refreshed {
            profile: "work".into(),
            result: Ok(RefreshReport {
                access_expires_at: Some(NOW + 140),
                rotated: false,
                refresh_expires_at: None,
                location: "keyring".into(),
            }),
        },
    );
    assert!(!refreshes(update(&mut d, Msg::Tick(at(NOW + 141)))));
    assert!(!refreshes(update(&mut d, Msg::Tick(at(NOW + 169)))));
    assert!(refreshes(update(&mut d, Msg::Tick(at(NOW + 170)))));
}

#[test]
fn only_the_latest_inspection_opens_and_never_over_a_question() {
    let tabs = || {
        vec![Tab {
            title: "access token".into(),
            body: TabBody::Empty("x".into()),
        }]
    };
    let mut d = three();
    update(&mut d, code(KeyCode::End));
    update(&mut d, code(KeyCode::Enter)); // work
    update(&mut d, code(KeyCode::Home));
    update(&mut d, code(KeyCode::Enter)); // ci
    update(
        &mut d,
        Msg::Inspected {
            profile: "work".into(),
            result: Ok(tabs()),
        },
    );
    assert_eq!(d.mode, Mode::List, "a superseded answer does not open");
    update(&mut d, key('d'));
    update(
        &mut d,
        Msg::Inspected {
            profile: "ci".into(),
            result: Ok(tabs()),
        },
    );
    assert_eq!(d.mode, Mode::Confirm(Confirm::Logout("ci".into())));
    let toast = d.toast.clone().map(|t| t.text).unwrap_or_default();
    assert!(toast.contains("press Enter"), "{toast}");
}

#[test]
fn any_key_closes_help_q_included() {
    let mut d = three();
    update(&mut d, key('?'));
    update(&mut d, key('q'));
    assert_eq!((d.mode.clone(), d.exit), (Mode::List, None));
}

#[test]
fn messages_escape_profile_names_once() {
    let mut d = loaded(vec![row("evil\u{202e}\u{1b}[2J", None)], ColorMode::Ansi256);
    update(&mut d, key('r'));
    let toast = d.toast.clone().map(|t| t.text).unwrap_or_default();
    assert!(toast.contains("evil\\u{202e}\\x1b[2J"), "{toast}");
    update(
        &mut d,
        Msg::Refreshed {
            profile: "evil\u{202e}\u{1b}[2J".into(),
            result: Err(tvlogin::sanitize::escape("server said \u{1b}[31m")),
        },
    );
    let shown = text(&d);
    assert!(shown.contains("server said \\x1b[31m"), "{shown}");
    assert!(!shown.contains("\\\\x1b"), "escaped twice: {shown}");
}

// ----- the schedule over many renewals, and stale states -----

/// Runs the dashboard's schedule for `secs` seconds against a server that issues access tokens
/// valid for `lifetime` seconds, each refresh taking one second and every file re-read showing
/// what the refresh stored. Returns the seconds at which a refresh started, and fails if the
/// stored access token was ever expired.
fn simulate(lifetime: u64, secs: u64) -> Vec<u64> {
    let mut m = meta("https://login.example.com", "ada", "openid");
    m.access_issued_at = NOW;
    m.access_expires_at = Some(NOW + lifetime);
    let mut stored = row("p", Some(m));
    let mut d = loaded(vec![stored.clone()], ColorMode::Ansi256);
    let mut started = Vec::new();
    let mut in_flight: Option<u64> = None;
    for now in NOW + 1..=NOW + secs {
        let expires = stored
            .session
            .as_ref()
            .and_then(|m| m.access_expires_at)
            .unwrap_or(0);
        assert!(
            expires > now,
            "{lifetime} s tokens: the stored token expired at +{} (checked at +{})",
            expires - NOW,
            now - NOW
        );
        let mut effects = Vec::new();
        if in_flight.is_some_and(|at| now > at) {
            in_flight = None;
            if let Some(m) = &mut stored.session {
                m.generation += 1;
                m.access_issued_at = now;
                m.access_expires_at = Some(now + lifetime);
                m.refreshed_at = Some(now);
            }
            effects.extend(update(
                &mut d,
                Msg::Refreshed {
                    profile: "p".into(),
                    result: Ok(RefreshReport {
                        access_expires_at: Some(now + lifetime),
                        rotated: false,
                        refresh_expires_at: None,
                        location: "keyring".into(),
                    }),
                },
            ));
        }
        effects.extend(update(&mut d, Msg::Tick(at(now))));
        for effect in effects {
            match effect {
                Effect::Refresh(_) => {
                    assert!(
                        in_flight.is_none(),
                        "two refreshes at once at +{}",
                        now - NOW
                    );
                    in_flight = Some(now);
                    started.push(now - NOW);
                }
                Effect::Reload => {
                    update(&mut d, Msg::Loaded(vec![stored.clone()], Vec::new()));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    started
}

#[test]
fn schedule_tables_short_medium_and_long_tokens_never_expire_between_renewals() {
    // (lifetime, seconds watched, renewal starts): renewed `refresh_before` (60 s) before
    // expiry, at most half the lifetime before, from each new token; each refresh takes 1 s.
    let table: [(u64, u64, &[u64]); 3] = [
        (20, 75, &[10, 21, 32, 43, 54, 65]),
        (120, 400, &[60, 121, 182, 243, 304, 365]),
        (3600, 3 * 3600, &[3540, 7081, 10622]),
    ];
    for (lifetime, secs, want) in table {
        assert_eq!(simulate(lifetime, secs), want, "{lifetime} s tokens");
    }
}

#[test]
fn the_card_shows_the_renewal_of_the_new_token_not_a_delay() {
    let mut m = meta("https://login.example.com", "ada", "openid");
    m.access_issued_at = NOW;
    m.access_expires_at = Some(NOW + 20);
    let mut d = loaded(vec![row("p", Some(m))], ColorMode::Ansi256);
    assert!(update(&mut d, Msg::Tick(at(NOW + 10))).contains(&Effect::Refresh("p".into())));
    update(
        &mut d,
        Msg::Refreshed {
            profile: "p".into(),
            result: Ok(RefreshReport {
                access_expires_at: Some(NOW + 30),
                rotated: false,
                refresh_expires_at: None,
                location: "keyring".into(),
            }),
        },
    );
    update(&mut d, Msg::Tick(at(NOW + 11)));
    let screen = text(&d);
    assert!(screen.contains("19s left · renews in 9s"), "{screen}");
}

fn failed_work(d: &mut Dashboard) {
    update(d, key('r'));
    update(
        d,
        Msg::Refreshed {
            profile: "work".into(),
            result: Err("could not connect".into()),
        },
    );
    // The re-read right after the failure shows the same file.
    update(d, Msg::Loaded(vec![work()], Vec::new()));
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::RefreshFailed);
}

#[test]
fn a_refresh_elsewhere_clears_a_failure_at_the_next_read() {
    let mut d = loaded(vec![work()], ColorMode::Ansi256);
    failed_work(&mut d);
    let mut newer = work();
    if let Some(m) = &mut newer.session {
        m.generation += 1;
        m.access_issued_at = NOW;
        m.access_expires_at = Some(NOW + 3600);
        m.refreshed_at = Some(NOW);
    }
    update(&mut d, Msg::Loaded(vec![newer], Vec::new()));
    assert_eq!(d.rows[0].refresh, Refresh::Idle);
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::Valid);
    assert!(!text(&d).contains("failed"), "{}", text(&d));
}

#[test]
fn a_logout_elsewhere_clears_a_failure() {
    let mut d = loaded(vec![work()], ColorMode::Ansi256);
    failed_work(&mut d);
    update(&mut d, Msg::Loaded(vec![row("work", None)], Vec::new()));
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::NotLoggedIn);
}

#[test]
fn a_failed_card_retries_at_once_when_its_file_changes() {
    let mut d = loaded(vec![work()], ColorMode::Ansi256);
    failed_work(&mut d);
    // The back-off holds while nothing changes…
    let refreshes = |e: Vec<Effect>| e.contains(&Effect::Refresh("work".into()));
    assert!(!refreshes(update(&mut d, Msg::Tick(at(NOW + 1)))));
    // …a change of the file (here: a later expiry written without a new generation) ends it.
    let mut changed = work();
    if let Some(m) = &mut changed.session {
        m.access_expires_at = Some(NOW + 60);
    }
    update(&mut d, Msg::Loaded(vec![changed], Vec::new()));
    assert!(refreshes(update(&mut d, Msg::Tick(at(NOW + 2)))));
}

#[test]
fn a_missing_secret_variable_is_said_once_and_not_retried_by_the_schedule() {
    let mut w = work();
    if let Some(m) = &mut w.session {
        m.access_issued_at = NOW;
        m.access_expires_at = Some(NOW + 100);
    }
    let mut d = loaded(vec![w.clone()], ColorMode::Ansi256);
    let refreshes = |e: &[Effect]| e.contains(&Effect::Refresh("work".into()));
    assert!(refreshes(&update(&mut d, Msg::Tick(at(NOW + 50)))));
    let why = "set WORK_SECRET (tvlogin never stores client secrets)";
    update(
        &mut d,
        Msg::RefreshBlocked {
            profile: "work".into(),
            message: why.into(),
        },
    );
    update(&mut d, Msg::Loaded(vec![w], Vec::new()));
    let toast = d.toast.clone().map(|t| t.text).unwrap_or_default();
    assert_eq!(toast, format!("cannot refresh work: {why}"));
    for t in NOW + 51..NOW + 3600 {
        assert!(
            !refreshes(&update(&mut d, Msg::Tick(at(t)))),
            "retried at {t}"
        );
    }
    let screen = lines(&d, 80, 24).0;
    assert_eq!(
        screen.iter().filter(|l| l.contains("WORK_SECRET")).count(),
        1,
        "{screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|l| l.contains("press r once it is fixed"))
    );
    // r still tries.
    assert!(refreshes(&update(&mut d, key('r'))));
}

#[test]
fn a_long_status_message_wraps_under_itself_not_to_column_0() {
    let mut d = loaded(vec![work()], ColorMode::Ansi256);
    update(
        &mut d,
        Msg::RefreshBlocked {
            profile: "work".into(),
            message: "profile \"work\" uses a confidential client (client_secret_basic), but \
                      its secret is not available: set WORK_SECRET (tvlogin never stores \
                      client secrets)"
                .into(),
        },
    );
    let screen = lines(&d, 80, 24).0;
    let at = screen
        .iter()
        .position(|l| l.starts_with(" cannot refresh work"))
        .unwrap_or_else(|| panic!("{screen:#?}"));
    assert!(screen[at + 1].starts_with(' '), "{screen:#?}");
    assert!(!screen[at + 1].trim().is_empty(), "{screen:#?}");
}

#[test]
fn layout_at_three_sizes_keeps_header_footer_and_words() {
    let mut states: Vec<(&str, Dashboard)> = vec![
        ("three profiles", three()),
        ("welcome", loaded(Vec::new(), ColorMode::Ansi256)),
    ];
    let mut failed = three();
    update(&mut failed, key('j'));
    update(&mut failed, key('j'));
    update(&mut failed, key('r'));
    update(
        &mut failed,
        Msg::Refreshed {
            profile: "work".into(),
            result: Err("token request: could not connect to login.example.com: Connection refused (os error 111)".into()),
        },
    );
    states.push(("a failure with a notice", failed));
    for (name, d) in states {
        for (w, h) in [(80u16, 24u16), (60, 20), (40, 12)] {
            let rows = lines(&d, w, h).0;
            let mut quiet = d.clone();
            quiet.toast = None;
            let header = lines(&quiet, w, h).0[0].clone();
            check_layout(&rows, w, &header, &format!("dashboard {name} {w}x{h}"));
        }
    }
}

#[test]
fn snapshot_badges_expiring_refreshing_not_logged_in_and_an_unreadable_state_file() {
    // Expiring: two minutes left, no refresh token.
    let mut expiring = ci();
    if let Some(m) = &mut expiring.session {
        m.access_expires_at = Some(NOW + 120);
    }
    expiring.profile = "build".into();
    let mut refreshing = work();
    refreshing.profile = "refreshing".into();
    let not_logged_in = row("staging", None);
    let mut d = Dashboard::new(ctx(ColorMode::Ansi256), at(NOW));
    d.start();
    update(
        &mut d,
        Msg::Loaded(
            vec![expiring, refreshing, not_logged_in],
            vec!["profiles/broken.state.json: expected value at line 1 column 1".into()],
        ),
    );
    update(&mut d, key('j'));
    update(&mut d, key('r'));
    assert_eq!(badge(&d.rows[0], at(NOW)), Badge::Expiring);
    assert_eq!(badge(&d.rows[1], at(NOW)), Badge::Refreshing);
    assert_eq!(badge(&d.rows[2], at(NOW)), Badge::NotLoggedIn);
    let shot = snapshot(&d, 80, 30);
    assert!(shot.contains("cannot read a state file"), "{shot}");
    insta::assert_snapshot!(shot);
}

#[test]
fn snapshot_plain_status_output() {
    use tvlogin::commands::ProfileStatus;
    use tvlogin::store::state::ProfileState;
    let status = |r: Row| {
        let mut state = ProfileState::new(&r.profile);
        state.store = r.store;
        state.session = r.session;
        ProfileStatus {
            profile: r.profile,
            configured: r.configured,
            state: Some(state),
        }
    };
    let rows = vec![
        status(ci()),
        status(github()),
        ProfileStatus {
            profile: "staging".into(),
            configured: true,
            state: None,
        },
        status(work()),
    ];
    insta::assert_snapshot!(tvlogin::commands::status_table(&rows, at(NOW)));
}

#[test]
fn ctrl_d_quits_like_ctrl_c_and_q_in_help_only_closes_help() {
    let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    let mut d = three();
    update(&mut d, ctrl('d'));
    assert_eq!(d.exit, Some(Exit::Cancelled));
    let mut d = three();
    update(&mut d, key('?'));
    assert_eq!(d.mode, Mode::Help);
    update(&mut d, key('q'));
    assert_eq!(d.mode, Mode::List);
    assert_eq!(d.exit, None, "q in help closes help");
    update(&mut d, key('?'));
    update(&mut d, key('?'));
    assert_eq!(d.mode, Mode::List, "? toggles help");
}

#[test]
fn a_logged_out_profile_whose_login_is_remembered_says_l_logs_in_again() {
    // Not in config.toml, no session, but the state file remembers how it logged in: the
    // card must not send the person to config.toml (l works), and says so whole at 80 columns.
    let mut remembered = Row::new("staging", false, Some(Backend::File));
    remembered.remembered = true;
    let unknown = Row::new("stray", false, None);
    let d = loaded(vec![remembered, unknown], ColorMode::Ansi256);
    let screen = text(&d);
    let card = |name: &str| {
        let start = screen.find(name).expect("the card is shown");
        screen[start..]
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        card("staging").contains("logged out; press l to log in again the same way"),
        "{screen}"
    );
    assert!(!card("staging").contains("config.toml"), "{screen}");
    assert!(card("stray").contains("not in config.toml"), "{screen}");
}

/// A session bound to this machine's key says so on its card.
#[test]
fn a_dpop_bound_session_says_so_on_its_card() {
    let mut bound = work();
    if let Some(m) = bound.session.as_mut() {
        m.dpop_jkt = Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into());
        m.dpop_bound_access = true;
    }
    let d = loaded(vec![bound], ColorMode::Ansi256);
    let screen = lines(&d, 100, 24).0.join("\n");
    assert!(screen.contains("DPoP-bound"), "{screen}");
    let plain = loaded(vec![work()], ColorMode::Ansi256);
    assert!(!lines(&plain, 100, 24).0.join("\n").contains("DPoP-bound"));
}

/// A profile whose session the server ended (refresh token refused) is not called logged
/// out: nobody logged out.
#[test]
fn a_session_ended_by_the_server_is_not_called_logged_out() {
    let mut ended = Row::new("work", false, Some(Backend::File));
    ended.remembered = true;
    ended.ended_by_server = true;
    let mut out = Row::new("home", false, Some(Backend::File));
    out.remembered = true;
    let d = loaded(vec![ended, out], ColorMode::Ansi256);
    let screen = text(&d);
    assert!(
        screen.contains("session ended by the server; press l"),
        "{screen}"
    );
    assert_eq!(screen.matches("logged out; press l").count(), 1, "{screen}");
}
