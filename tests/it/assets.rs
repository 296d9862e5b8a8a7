//! The text captures in assets/ (taken by scripts/screenshots.sh from the binary in tmux)
//! still match what the binary draws. Each login screen is drawn again by the same code at
//! the capture's size and at the same moment of the code's life, from what the capture
//! shows that the server chose (its address, the user code, the seconds left); every other
//! character must be the same. A change to the login screens' wording or layout without a
//! retake of the screenshots fails here. (The store question, the dashboard and the
//! inspector show this machine's keyring and live tokens, and are not redrawn here.)

use std::time::{Duration, Instant};

use crate::common::screen::lines;
use tvlogin::oauth::device::DeviceAuthorization;
use tvlogin::oauth::http::RawResponse;
use tvlogin::oauth::normalize::OAuthResponse;
use tvlogin::secret::DeviceCode;
use tvlogin::tui::caps::ColorMode;
use tvlogin::tui::login::{App, Context, Msg, update};
use url::Url;

/// `tvlogin serve`'s code lifetime and poll interval, which the screenshots use.
const TTL: u64 = 600;
const INTERVAL: u64 = 5;

/// The committed capture's rows.
fn capture(name: &str) -> Vec<String> {
    let path = format!("{}/assets/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().map(str::to_owned).collect()
}

/// What the capture shows the server chose: its address, the user code, the seconds left.
struct Seen {
    server: String,
    profile: String,
    code: String,
    left: u64,
}

fn seen(rows: &[String]) -> Seen {
    let text = rows.join("\n");
    let server = text
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .map(|w| w.trim_end_matches("/device").to_owned())
        .expect("the server's address");
    let profile = rows[0]
        .rsplit("profile ")
        .next()
        .unwrap_or("default")
        .trim()
        .to_owned();
    let code = text
        .split(|c: char| !c.is_ascii_uppercase() && c != '-')
        .find(|w| {
            w.len() == 9
                && w.as_bytes()[4] == b'-'
                && w.chars().filter(char::is_ascii_uppercase).count() == 8
        })
        .expect("the user code")
        .to_owned();
    let left = text
        .split("Code expires in ")
        .nth(1)
        .map(|rest| {
            let mut secs = 0;
            for part in rest.split_whitespace().take(2) {
                if let Some(m) = part.strip_suffix('m') {
                    secs += m.parse::<u64>().unwrap_or(0) * 60;
                } else if let Some(s) = part.strip_suffix('s') {
                    secs += s.parse::<u64>().unwrap_or(0);
                }
            }
            secs
        })
        .unwrap_or(TTL);
    Seen {
        server,
        profile: if profile.is_empty() {
            "default".into()
        } else {
            profile
        },
        code,
        left,
    }
}

/// The login screen as the binary had it, `TTL - left` seconds after the code came.
fn waiting(seen: &Seen) -> App {
    let t0 = Instant::now();
    let ctx = Context {
        profile: seen.profile.clone(),
        server: seen.server.clone(),
        demo: false,
        no_browser: None,
        colors: ColorMode::None,
        hyperlinks: false,
        site: Default::default(),
    };
    let mut app = App::new(ctx, None, t0);
    let page = Url::parse(&format!("{}/device", seen.server)).expect("a URL");
    let complete = Url::parse(&format!("{page}?user_code={}", seen.code)).expect("a URL");
    update(
        &mut app,
        Msg::CodeIssued {
            attempt: 1,
            result: Ok(DeviceAuthorization {
                device_code: DeviceCode::new("device-code".into()),
                user_code: seen.code.clone(),
                verification_uri: page,
                verification_uri_complete: Some(complete),
                expires_in: Duration::from_secs(TTL),
                interval: Duration::from_secs(INTERVAL),
                message: None,
            }),
            at: t0,
        },
        t0,
    );
    let now = t0 + Duration::from_secs(TTL - seen.left);
    update(&mut app, Msg::Tick, now);
    app
}

fn assert_same(name: &str, want: &[String], app: &App, width: u16, height: u16) {
    let got = lines(app, width, height).0;
    let got: Vec<String> = got.iter().map(|r| r.trim_end().to_owned()).collect();
    let mut want = want.to_vec();
    want.resize(got.len(), String::new());
    if got != want {
        let diff: Vec<String> = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("row {i}:\n  drawn:     {g:?}\n  committed: {w:?}"))
            .collect();
        panic!(
            "assets/{name} no longer matches what tvlogin draws at {width}x{height}; retake \
             the screenshots (scripts/screenshots.sh):\n{}",
            diff.join("\n")
        );
    }
}

/// The login screen at 80x24 and 200x50, and the too-small message, as committed.
#[test]
fn the_committed_login_captures_match_what_the_binary_draws() {
    for (name, width, height) in [
        ("login-80x24.txt", 80u16, 24u16),
        ("login-200x50.txt", 200, 50),
        ("too-small.txt", 30, 10),
    ] {
        let want = capture(name);
        assert!(
            want.len() <= usize::from(height),
            "assets/{name} has more rows than {height}"
        );
        let app = waiting(&seen(&want));
        assert_same(name, &want, &app, width, height);
    }
}

/// The text after `label` on the row that has it, trimmed.
fn after<'a>(rows: &'a [String], label: &str) -> &'a str {
    rows.iter()
        .find_map(|r| r.split_once(label).map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("no {label:?} in the capture"))
}

/// The success screen: the tokens `tvlogin serve` issues, received a second before the
/// capture (the access token's countdown says how long), kept in memory.
#[test]
fn the_committed_success_capture_matches_what_the_binary_draws() {
    use base64::Engine as _;
    let want = capture("success-80x24.txt");
    let server = want[0]
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the server")
        .to_owned();
    let who = after(&want, "as ");
    let (name, email) = who
        .split_once(" <")
        .map(|(n, e)| (n, e.trim_end_matches('>')))
        .expect("name <email>");
    let scope = after(&want, "Scope");
    let stored = after(&want, "Stored in");
    let access = after(&want, "Access token");
    let left: u64 = access
        .split("expires in ")
        .nth(1)
        .map(|t| {
            t.split_whitespace()
                .map(|p| {
                    let n = p.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                    let n = n.parse::<u64>().unwrap_or(0);
                    match p.chars().last() {
                        Some('h') => n * 3600,
                        Some('m') => n * 60,
                        _ => n,
                    }
                })
                .sum()
        })
        .expect("the access token's time left");
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let id_token = format!(
        "{}.{}.sig",
        b64(r#"{"alg":"ES256"}"#),
        b64(&serde_json::json!({"sub": "u", "name": name, "email": email}).to_string())
    );
    let body = serde_json::json!({
        "access_token": "at", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "rt", "refresh_token_expires_in": 30 * 24 * 3600,
        "id_token": id_token, "scope": scope,
    })
    .to_string();
    let seen = Seen {
        server: server.clone(),
        profile: "default".into(),
        code: "BBBB-BBBB".into(),
        left: TTL - 5,
    };
    let mut app = waiting(&seen);
    let t0 = Instant::now();
    let polled = t0 + Duration::from_secs(5);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let answer = OAuthResponse::from_raw(&RawResponse {
        url: Url::parse(&format!("{server}/token")).expect("a URL"),
        status: 200,
        headers,
        body: body.into_bytes(),
        received: tvlogin::clock::UnixTime::from_secs(0),
    });
    update(
        &mut app,
        Msg::Polled {
            attempt: 1,
            answer: Ok(answer),
            at: polled,
        },
        polled,
    );
    update(
        &mut app,
        Msg::Saved {
            attempt: 1,
            result: Ok(stored.to_owned()),
        },
        polled,
    );
    update(
        &mut app,
        Msg::Tick,
        polled + Duration::from_secs(3600 - left),
    );
    assert_same("success-80x24.txt", &want, &app, 80, 24);
}
