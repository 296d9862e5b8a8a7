//! The inspector TUI: snapshots of each tab and of the states worth seeing (failed signature,
//! expired, opaque, JWE, hostile claims, raw view, help) at a fixed size and clock, and tables
//! of the pure `update`.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::screen::{check_layout, lines, snapshot};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value, json};
use tvlogin::clock::UnixTime;
use tvlogin::exit::Exit;
use tvlogin::token::jwt;
use tvlogin::token::remote::Skew;
use tvlogin::token::report::{Lookup, Report};
use tvlogin::token::verify::{self, Check, Expect, Outcome};
use tvlogin::tui::caps::ColorMode;
use tvlogin::tui::inspector::{Inspector, Msg, RawToken, Tab, TabBody, update};

const NOW: i64 = 1_795_000_000;
const ISSUER: &str = "https://login.example.com";

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn token(header: Value, claims: Value) -> String {
    format!(
        "{}.{}.{}",
        b64(&header),
        b64(&claims),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A report as `inspect` would build it, at the fixed clock.
fn report(raw: &str, signature: Outcome) -> Report {
    let decoded = jwt::decode(raw);
    let expect = Expect {
        issuer: Some(ISSUER.into()),
        audience: None,
        ..Expect::default()
    };
    let mut checks = Vec::new();
    match &decoded {
        jwt::Decoded::Jws(j) => {
            checks.push(Check {
                name: "signature",
                outcome: signature,
            });
            checks.extend(verify::claims(&j.claims, &expect, UnixTime::from_secs(NOW)));
        }
        jwt::Decoded::Jwe(_) => checks.push(Check {
            name: "signature",
            outcome: signature,
        }),
        _ => {}
    }
    Report {
        decoded,
        checks,
        skew: Some(Skew { seconds: 3 }),
        introspection: None,
        userinfo: None,
        notes: Vec::new(),
        now: UnixTime::from_secs(NOW),
        expect,
        asked: true,
    }
}

fn access_token() -> String {
    token(
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "rsa-1"}),
        json!({"iss": ISSUER, "sub": "248289761001", "aud": "https://api.example.com",
            "client_id": "tvlogin-demo", "scope": "openid profile",
            "iat": NOW - 600, "exp": NOW + 252, "jti": "at-1",
            "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
    )
}

fn passed() -> Outcome {
    Outcome::Passed("RS256 with key rsa-1 from https://login.example.com/jwks".into())
}

fn model(tabs: Vec<Tab>) -> Inspector {
    Inspector::new(tabs, UnixTime::from_secs(NOW), 0, ColorMode::Ansi256)
}

fn token_tab(title: &str, raw: String, report: Report) -> Tab {
    Tab {
        title: title.into(),
        body: TabBody::Token {
            report: Box::new(report),
            raw: RawToken::new(raw),
        },
    }
}

/// The five tabs the dashboard opens for a profile.
fn profile_tabs() -> Vec<Tab> {
    let at = access_token();
    let id = token(
        json!({"alg": "ES256", "typ": "JWT", "kid": "ec-1"}),
        json!({"iss": ISSUER, "sub": "248289761001", "aud": "tvlogin-demo",
            "auth_time": NOW - 700, "iat": NOW - 600, "exp": NOW + 3000,
            "name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
            "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}),
    );
    let fields = map(json!({"sub": "248289761001", "name": "Ada Lovelace",
        "email": "ada@example.com", "picture": "https://example.com/ada.png"}));
    let introspection = map(json!({"active": true, "client_id": "tvlogin-demo",
        "scope": "openid profile", "token_type": "Bearer", "exp": NOW + 252, "iat": NOW - 600,
        "sub": "248289761001", "iss": ISSUER}));
    vec![
        token_tab("access token", at.clone(), report(&at, passed())),
        token_tab(
            "id token",
            id.clone(),
            report(
                &id,
                Outcome::Passed("ES256 with key ec-1 from https://login.example.com/jwks".into()),
            ),
        ),
        Tab {
            title: "refresh token".into(),
            body: TabBody::Empty(
                "The refresh token is opaque (not a JWT): only the issuer knows what it means."
                    .into(),
            ),
        },
        Tab {
            title: "userinfo".into(),
            body: TabBody::Fields(Lookup {
                endpoint: format!("{ISSUER}/userinfo"),
                result: Ok(fields),
            }),
        },
        Tab {
            title: "introspection".into(),
            body: TabBody::Fields(Lookup {
                endpoint: format!("{ISSUER}/introspect"),
                result: Ok(introspection),
            }),
        },
    ]
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn snapshot_each_tab() {
    let mut m = model(profile_tabs());
    for (i, name) in [
        "access_token",
        "id_token",
        "refresh_token",
        "userinfo",
        "introspection",
    ]
    .into_iter()
    .enumerate()
    {
        m.selected = i;
        insta::assert_snapshot!(format!("tab_{name}"), snapshot(&m, 100, 44));
    }
}

#[test]
fn snapshot_failed_signature() {
    let at = access_token();
    let r = report(
        &at,
        Outcome::Failed(
            "RS256 with key rsa-1 from https://login.example.com/jwks: the signature does not \
             match (the token was altered, or signed by another key)"
                .into(),
        ),
    );
    insta::assert_snapshot!(snapshot(
        &model(vec![token_tab("access token", at, r)]),
        100,
        44
    ));
}

#[test]
fn snapshot_expired_token() {
    let raw = token(
        json!({"alg": "RS256", "kid": "rsa-1"}),
        json!({"iss": ISSUER, "sub": "u1", "iat": NOW - 7200, "exp": NOW - 3 * 86_400 - 4 * 3600}),
    );
    let r = report(&raw, passed());
    insta::assert_snapshot!(snapshot(&model(vec![token_tab("token", raw, r)]), 100, 30));
}

#[test]
fn snapshot_opaque_token() {
    let raw = "gho_16C7e42F292c6912E7710c838347Ae178B4a".to_owned();
    let mut r = report(&raw, passed());
    r.notes.push(format!(
        "nothing can be learned about this opaque token from {ISSUER}"
    ));
    insta::assert_snapshot!(snapshot(&model(vec![token_tab("token", raw, r)]), 100, 20));
}

#[test]
fn snapshot_jwe() {
    let raw = format!(
        "{}.a2V5.aXY.Y2lwaGVy.dGFn",
        b64(&json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "enc-1", "cty": "JWT"}))
    );
    let r = report(
        &raw,
        Outcome::NotChecked(
            "encrypted (JWE, enc A256GCM): only the intended recipient can decrypt it".into(),
        ),
    );
    let mut m = model(vec![token_tab("token", raw, r)]);
    insta::assert_snapshot!("jwe_tables", snapshot(&m, 100, 26));
    update(&mut m, key(KeyCode::Char('w')));
    insta::assert_snapshot!("jwe_raw", snapshot(&m, 100, 12));
}

#[test]
fn snapshot_hostile_claims() {
    let raw = token(
        json!({"alg": "HS256", "kid": "\u{1b}[5mblink"}),
        json!({"sub": "admin\u{202e}nimda", "name": "\u{1b}[2J\u{1b}]0;pwned\u{7}Mallory",
            "x-\u{1b}[31mred": "\u{2067}isolate\u{2069} \u{9b}31m", "exp": NOW + 60}),
    );
    let r = report(
        &raw,
        Outcome::NotChecked("HS256 uses a shared secret: name the environment variable holding it with --secret-env VAR".into()),
    );
    let m = model(vec![token_tab("token", raw, r)]);
    let (rows, _) = lines(&m, 100, 40);
    for row in &rows {
        assert!(
            !row.chars().any(|c| c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "raw control in {row:?}"
        );
    }
    assert!(
        rows.iter().any(|r| r.contains("admin\\u{202e}nimda")),
        "{rows:#?}"
    );
    insta::assert_snapshot!(snapshot(&m, 100, 40));
}

#[test]
fn snapshot_raw_view_hidden_and_revealed() {
    let at = access_token();
    let mut m = model(vec![token_tab(
        "access token",
        at.clone(),
        report(&at, passed()),
    )]);
    update(&mut m, key(KeyCode::Char('w')));
    let hidden = snapshot(&m, 100, 16);
    assert!(
        !hidden.contains(at.rsplit('.').next().unwrap_or("?")),
        "{hidden}"
    );
    insta::assert_snapshot!("raw_hidden", hidden);
    update(&mut m, key(KeyCode::Char('s')));
    insta::assert_snapshot!("raw_revealed", snapshot(&m, 100, 16));
}

#[test]
fn snapshot_help_and_no_color() {
    let mut m = model(profile_tabs());
    m.colors = ColorMode::None;
    update(&mut m, key(KeyCode::Char('?')));
    insta::assert_snapshot!(snapshot(&m, 100, 30));
}

#[test]
fn the_token_is_hidden_until_revealed() {
    let at = access_token();
    let mut m = model(vec![token_tab(
        "access token",
        at.clone(),
        report(&at, passed()),
    )]);
    let shown = |m: &Inspector| lines(m, 100, 44).0.join("\n");
    assert!(!shown(&m).contains(&at[..40]));
    update(&mut m, key(KeyCode::Char('s')));
    assert!(shown(&m).contains(&at[..40]));
}

#[test]
fn debug_output_never_holds_the_token() {
    let at = access_token();
    let m = model(vec![token_tab(
        "access token",
        at.clone(),
        report(&at, passed()),
    )]);
    let shown = format!("{m:?}");
    let signature = at.rsplit('.').next().unwrap_or("?");
    assert!(
        !shown.contains(signature) && !shown.contains(&at[..60]),
        "{shown}"
    );
}

#[test]
fn update_table() {
    let mut m = model(profile_tabs());
    assert!(m.take_dirty(), "first frame");
    let table: Vec<(Msg, usize, bool, bool)> = vec![
        // msg, selected after, dirty, exited
        (key(KeyCode::Right), 1, true, false),
        (key(KeyCode::Right), 2, true, false),
        (key(KeyCode::Left), 1, true, false),
        (key(KeyCode::Char('5')), 4, true, false),
        (key(KeyCode::Right), 0, true, false),
        (key(KeyCode::Left), 4, true, false),
        (key(KeyCode::Char('1')), 0, true, false),
        (key(KeyCode::Char('x')), 0, false, false),
        (Msg::Tick(UnixTime::from_secs(NOW)), 0, false, false),
        // The access token has a countdown: a new second redraws it.
        (Msg::Tick(UnixTime::from_secs(NOW + 1)), 0, true, false),
        (key(KeyCode::Char('3')), 2, true, false),
        // The refresh token tab shows no time: a tick changes nothing on screen.
        (Msg::Tick(UnixTime::from_secs(NOW + 2)), 2, false, false),
        (key(KeyCode::Char('q')), 2, true, true),
    ];
    for (i, (msg, selected, dirty, exited)) in table.into_iter().enumerate() {
        update(&mut m, msg.clone());
        assert_eq!(m.selected, selected, "step {i} {msg:?}");
        assert_eq!(m.take_dirty(), dirty, "step {i} {msg:?}");
        assert_eq!(m.exit.is_some(), exited, "step {i} {msg:?}");
    }
    assert_eq!(m.exit, Some(Exit::Ok));

    let mut m = model(profile_tabs());
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(m.exit, Some(Exit::Cancelled));
    let mut m = model(profile_tabs());
    update(&mut m, key(KeyCode::Char('?')));
    assert!(m.help);
    update(&mut m, key(KeyCode::Char('w')));
    assert!(!m.help && !m.raw, "a key closes help and does nothing else");
    update(&mut m, key(KeyCode::Down));
    update(&mut m, key(KeyCode::Down));
    assert_eq!(m.scroll, 2);
    update(&mut m, key(KeyCode::Right));
    assert_eq!(m.scroll, 0, "a new tab starts at the top");
}

#[test]
fn countdowns_and_checks_are_live() {
    let at = access_token();
    let mut m = model(vec![token_tab(
        "access token",
        at.clone(),
        report(&at, passed()),
    )]);
    let screen = |m: &Inspector| lines(m, 100, 44).0.join("\n");
    assert!(screen(&m).contains("in 4m 12s"), "{}", screen(&m));
    assert!(screen(&m).contains("✓ VERIFIED"));
    update(&mut m, Msg::Tick(UnixTime::from_secs(NOW + 252 + 61)));
    let later = screen(&m);
    assert!(later.contains("1m 01s ago"), "{later}");
    assert!(later.contains("✗ INVALID"), "{later}");
    // The exit code follows what the screen says.
    update(&mut m, key(KeyCode::Char('q')));
    assert_eq!(m.exit, Some(Exit::InvalidToken));
}

#[test]
fn scrolling_is_clamped_end_works_and_the_raw_view_after_scrolling_shows_text() {
    for (w, h) in [(80u16, 24u16), (60, 20), (40, 12)] {
        let mut m = model(profile_tabs());
        update(&mut m, Msg::Size(w, h));
        for _ in 0..200 {
            update(&mut m, key(KeyCode::Down));
        }
        let after_downs = m.scroll;
        let body = |m: &Inspector| {
            let rows = lines(m, w, h).0;
            rows[3..usize::from(h) - 1]
                .iter()
                .filter(|r| !r.trim().is_empty())
                .count()
        };
        assert!(body(&m) > 0, "{w}x{h}: 200 x Down leaves a blank pane");
        // One Up moves at once (the scroll did not run past the end).
        update(&mut m, key(KeyCode::Up));
        assert_eq!(m.scroll, after_downs.saturating_sub(1), "{w}x{h}");
        update(&mut m, key(KeyCode::Home));
        assert_eq!(m.scroll, 0);
        update(&mut m, key(KeyCode::End));
        assert_eq!(m.scroll, after_downs, "{w}x{h}: End goes to the last line");
        let last = lines(&m, w, h).0;
        assert!(
            !last[usize::from(h) - 2].trim().is_empty(),
            "{w}x{h}: End shows the last line at the bottom:\n{}",
            last.join("\n")
        );
        // w after scrolling: the raw view shows text, not an empty pane.
        update(&mut m, key(KeyCode::Char('w')));
        assert!(body(&m) > 0, "{w}x{h}: w after scrolling");
        update(&mut m, key(KeyCode::PageUp));
        update(&mut m, key(KeyCode::PageDown));
        assert!(body(&m) > 0);
    }
}

#[test]
fn the_header_names_the_profile() {
    let m = model(profile_tabs()).for_profile("work");
    let rows = lines(&m, 80, 24).0;
    assert!(rows[0].contains("profile work"), "{}", rows[0]);
}

#[test]
fn layout_at_three_sizes_keeps_header_footer_and_words() {
    for (w, h) in [(80u16, 24u16), (60, 20), (40, 12)] {
        for tab in 0..5 {
            let mut m = model(profile_tabs()).for_profile("work");
            update(&mut m, Msg::Size(w, h));
            for _ in 0..tab {
                update(&mut m, key(KeyCode::Right));
            }
            let rows = lines(&m, w, h).0;
            let header = rows[0].clone();
            check_layout(&rows, w, &header, &format!("inspector tab {tab} {w}x{h}"));
        }
    }
}

#[test]
fn snapshot_failed_lookup_and_empty_tab() {
    let tabs = vec![
        Tab {
            title: "userinfo".into(),
            body: TabBody::Fields(Lookup {
                endpoint: format!("{ISSUER}/userinfo"),
                result: Err(
                    "the server answered 401: invalid_token (the access token expired)".into(),
                ),
            }),
        },
        Tab {
            title: "refresh token".into(),
            body: TabBody::Empty(
                "The refresh token is opaque (not a JWT): only the issuer knows what it means."
                    .into(),
            ),
        },
    ];
    let mut m = model(tabs).for_profile("work");
    update(&mut m, Msg::Size(80, 24));
    insta::assert_snapshot!("failed_lookup", snapshot(&m, 80, 24));
    update(&mut m, key(KeyCode::Right));
    insta::assert_snapshot!("empty_tab", snapshot(&m, 80, 24));
}

/// The title bar shows the verdict of the tab being shown: a verified access token, an
/// expired (invalid) id token, and the tabs that hold no token.
#[test]
fn snapshot_per_tab_verdict() {
    let mut tabs = profile_tabs();
    let id = token(
        json!({"alg": "ES256", "kid": "ec-1"}),
        json!({"iss": ISSUER, "sub": "248289761001", "aud": "tvlogin-demo",
            "iat": NOW - 7200, "exp": NOW - 17, "nonce": "n"}),
    );
    tabs[1] = token_tab(
        "id token",
        id.clone(),
        report(
            &id,
            Outcome::Passed("ES256 with key ec-1 from https://login.example.com/jwks".into()),
        ),
    );
    let mut m = model(tabs);
    let title = |m: &Inspector| lines(m, 100, 44).0[0].clone();
    let want = [
        "access token: signed JWT, alg RS256 ✓ VERIFIED",
        "id token: signed JWT, alg ES256 ✗ INVALID",
        "refresh token: nothing to check",
        "userinfo: answered by the issuer",
        "introspection: answered by the issuer",
    ];
    for (i, want) in want.iter().enumerate() {
        m.selected = i;
        assert!(title(&m).contains(want), "tab {i}: {}", title(&m));
    }
    m.selected = 1;
    let shown = snapshot(&m, 100, 44);
    assert!(shown.contains("expired 17s ago"), "{shown}");
    insta::assert_snapshot!("per_tab_verdict_expired_id_token", shown);
}

/// No key source was given: a plain decode, unverified, and the screen says so.
#[test]
fn snapshot_decode_only_is_unverified() {
    let at = access_token();
    let mut r = report(
        &at,
        Outcome::NotChecked(
            "no public keys: pass --jwks FILE|URL or --issuer URL to check RS256".into(),
        ),
    );
    r.asked = false;
    r.expect.issuer = None;
    r.checks = tvlogin::token::verify::claims(
        match &r.decoded {
            jwt::Decoded::Jws(j) => &j.claims,
            _ => unreachable!(),
        },
        &r.expect,
        UnixTime::from_secs(NOW),
    );
    r.checks.insert(
        0,
        Check {
            name: "signature",
            outcome: Outcome::NotChecked(
                "no public keys: pass --jwks FILE|URL or --issuer URL to check RS256".into(),
            ),
        },
    );
    let mut m = model(vec![token_tab("access token", at, r)]);
    let shown = snapshot(&m, 100, 64);
    assert!(shown.contains("? UNVERIFIED"), "{shown}");
    assert!(shown.contains("a plain decode"), "{shown}");
    insta::assert_snapshot!("decode_only_unverified", shown);
    update(&mut m, key(KeyCode::Char('q')));
    assert_eq!(m.exit, Some(Exit::Ok), "a plain decode exits 0");
}

/// `--issuer` given but unreachable: the signature line names the issuer and why, and the
/// token is unverified (exit 6), never verified.
#[test]
fn snapshot_unreachable_issuer_reason() {
    tvlogin::install_crypto_provider();
    // Port 9 (discard) has no listener here: connection refused, deterministically.
    let issuer = "http://127.0.0.1:9";
    let raw = token(
        json!({"alg": "RS256", "kid": "rsa-1"}),
        json!({"iss": issuer, "sub": "u1", "iat": NOW - 60, "exp": NOW + 600}),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime");
    let options = tvlogin::token::report::Options {
        issuer: Some(url::Url::parse(issuer).expect("parse the issuer URL")),
        ..Default::default()
    };
    let mut remote =
        tvlogin::token::remote::Remote::lazy(tvlogin::oauth::http::HttpSettings::default());
    let mut r = runtime.block_on(tvlogin::token::report::inspect(&raw, options, &mut remote));
    r.now = UnixTime::from_secs(NOW);
    let mut m = model(vec![token_tab("token", raw, r)]);
    let shown = snapshot(&m, 100, 40);
    assert!(
        shown.contains("could not get the keys: the issuer http://127.0.0.1:9/ could not be asked"),
        "{shown}"
    );
    assert!(!shown.contains("pass --jwks"), "{shown}");
    assert!(shown.contains("? UNVERIFIED"), "{shown}");
    insta::assert_snapshot!("unreachable_issuer", shown);
    update(&mut m, key(KeyCode::Char('q')));
    assert_eq!(m.exit, Some(Exit::InvalidToken), "not verifiable as asked");
}

/// At 80x24 the answer comes first: the verdict and every check are on the first screen,
/// before the header and claims; each claim's explanation shows only after `e`.
#[test]
fn the_verdict_and_the_checks_come_first_and_explanations_fold() {
    let mut m = model(profile_tabs());
    update(&mut m, Msg::Size(80, 24));
    let (rows, _) = lines(&m, 80, 24);
    let screen = rows.join("\n");
    let verdict = rows
        .iter()
        .position(|r| r.starts_with("Verdict  ✓ VERIFIED"))
        .unwrap_or_else(|| panic!("no verdict on the first screen:\n{screen}"));
    let header = rows
        .iter()
        .position(|r| r.starts_with("Header"))
        .unwrap_or_else(|| panic!("no header on the first screen:\n{screen}"));
    for name in ["signature", "exp", "nbf", "iat", "iss", "aud"] {
        let at = rows
            .iter()
            .position(|r| r.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is not on the first screen:\n{screen}"));
        assert!(
            verdict < at && at < header,
            "{name} out of place:\n{screen}"
        );
    }
    let everything = |m: &Inspector| {
        let mut tall = m.clone();
        update(&mut tall, Msg::Size(100, 200));
        lines(&tall, 100, 200).0.join("\n")
    };
    let folded = everything(&m);
    assert!(!folded.contains("Expiration time"), "{folded}");
    assert!(folded.contains("e explain"), "{folded}");
    update(&mut m, key(KeyCode::Char('e')));
    let explained = everything(&m);
    assert!(
        explained.contains("Expiration time: not valid at or after this"),
        "{explained}"
    );
    assert!(explained.contains("e hide explanations"), "{explained}");
}

/// Inside the dashboard no hint asks for a command-line flag; on the command line the hints
/// name the flags, and offer the token's own issuer.
#[test]
fn hints_can_be_acted_on_where_they_are_shown() {
    let render = |m: &mut Inspector| {
        let mut all = String::new();
        for tab in 0..m.tabs.len() {
            m.selected = tab;
            update(m, Msg::Size(100, 80));
            all.push_str(&lines(m, 100, 80).0.join("\n"));
        }
        all
    };
    let inside = render(&mut model(profile_tabs()).for_profile("work"));
    assert!(!inside.contains("pass --"), "{inside}");
    assert!(
        inside.contains("no audience to compare with (the profile names none)"),
        "{inside}"
    );
    let outside = render(&mut model(profile_tabs()));
    assert!(outside.contains("pass --audience A"), "{outside}");

    // Without --issuer the iss check (and the verdict) offer the token's own iss.
    let at = access_token();
    let mut r = report(&at, Outcome::NotChecked("no public keys".into()));
    r.asked = false;
    r.expect.issuer = None;
    let jwt::Decoded::Jws(j) = &r.decoded else {
        panic!("a JWS")
    };
    r.checks = verify::claims(&j.claims, &r.expect, UnixTime::from_secs(NOW));
    let shown = render(&mut model(vec![token_tab("access token", at, r)]));
    let iss = shown
        .lines()
        .find(|l| l.trim_start().starts_with("iss "))
        .unwrap_or_else(|| panic!("no iss check:\n{shown}"));
    assert!(
        iss.contains("pass --issuer https://login.example.com (the"),
        "{shown}"
    );
    assert!(shown.contains("token's own iss)"), "{shown}");
}
