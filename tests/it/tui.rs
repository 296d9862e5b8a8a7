//! The login TUI: insta snapshots of every visible state at a fixed size and clock, tables
//! of the pure `update`, and the QR code decoded back from rendered screens.

use crate::common;

use std::time::{Duration, Instant};

use common::screen::{check_layout, decode_qr, decode_qr_as_seen, lines, snapshot};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tvlogin::error::Error;
use tvlogin::exit::Exit;
use tvlogin::oauth::crossdevice::SiteCheck;
use tvlogin::oauth::device::DeviceAuthorization;
use tvlogin::oauth::discovery::Endpoints;
use tvlogin::oauth::http::{HttpError, RawResponse};
use tvlogin::oauth::normalize::OAuthResponse;
use tvlogin::secret::DeviceCode;
use tvlogin::tui::caps::ColorMode;
use tvlogin::tui::login::{App, Context, Effect, Flow, Msg, QrMatrix, update};
use url::Url;

const CODE: &str = "WDJB-MJHT";

fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn ctx(colors: ColorMode) -> Context {
    Context {
        profile: "work".into(),
        server: "https://login.example.com".into(),
        demo: false,
        no_browser: Some("this is an SSH session".into()),
        colors,
        hyperlinks: false,
        site: site(),
    }
}

/// The cross-device check as a login against login.example.com sets it up.
fn site() -> SiteCheck {
    SiteCheck {
        reference: Some(url("https://login.example.com")),
        documented: vec![],
    }
}

fn endpoints() -> Endpoints {
    Endpoints {
        issuer: Some("https://login.example.com".into()),
        device_authorization: url("https://login.example.com/device_authorization"),
        token: url("https://login.example.com/token"),
        jwks_uri: None,
        revocation: None,
        introspection: None,
        userinfo: None,
        dpop_algs: None,
    }
}

fn auth(complete: bool, message: Option<&str>) -> DeviceAuthorization {
    DeviceAuthorization {
        device_code: DeviceCode::new("device-code-secret".into()),
        user_code: CODE.into(),
        verification_uri: url("https://login.example.com/device"),
        verification_uri_complete: complete.then(|| {
            url(&format!(
                "https://login.example.com/device?user_code={CODE}"
            ))
        }),
        expires_in: Duration::from_secs(900),
        interval: Duration::from_secs(5),
        message: message.map(str::to_owned),
    }
}

fn answer(status: u16, body: &str) -> Result<OAuthResponse, HttpError> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(OAuthResponse::from_raw(&RawResponse {
        url: url("https://login.example.com/token"),
        status,
        headers,
        body: body.as_bytes().to_vec(),
        received: tvlogin::clock::UnixTime::from_secs(0),
    }))
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// A model at a fixed clock: `t0` is when the code was issued.
struct Scene {
    app: App,
    t0: Instant,
}

impl Scene {
    fn new(colors: ColorMode) -> Self {
        let t0 = Instant::now();
        Self {
            app: App::new(ctx(colors), Some(endpoints()), t0),
            t0,
        }
    }

    fn at(&mut self, secs: u64, msg: Msg) -> Vec<Effect> {
        update(&mut self.app, msg, self.t0 + Duration::from_secs(secs))
    }

    fn waiting(colors: ColorMode, complete: bool, message: Option<&str>) -> Self {
        let mut scene = Self::new(colors);
        let t0 = scene.t0;
        update(
            &mut scene.app,
            Msg::CodeIssued {
                attempt: 1,
                result: Ok(auth(complete, message)),
                at: t0,
            },
            t0,
        );
        scene
    }

    fn poll(&mut self, secs: u64, status: u16, body: &str) -> Vec<Effect> {
        let at = self.t0 + Duration::from_secs(secs);
        update(
            &mut self.app,
            Msg::Polled {
                attempt: 1,
                answer: answer(status, body),
                at,
            },
            at,
        )
    }
}

/// A JWT-shaped id_token (unsigned: only the display reads it).
fn id_token() -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.sig",
        b64(r#"{"alg":"ES256"}"#),
        b64(r#"{"sub":"u1","name":"Ada Lovelace","email":"ada@example.org"}"#)
    )
}

fn approved() -> Scene {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let body = format!(
        r#"{{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","refresh_token_expires_in":2592000,"id_token":"{}","scope":"openid profile offline_access"}}"#,
        id_token()
    );
    let effects = scene.poll(10, 200, &body);
    assert!(
        matches!(effects.as_slice(), [Effect::Save { attempt: 1, .. }]),
        "{effects:?}"
    );
    scene.at(
        11,
        Msg::Saved {
            attempt: 1,
            result: Ok("file /home/ada/.local/share/tvlogin (0600)".into()),
        },
    );
    scene.at(75, Msg::Tick);
    scene
}

#[test]
fn snapshot_requesting() {
    let scene = Scene::new(ColorMode::Ansi256);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_discovering() {
    let app = App::new(ctx(ColorMode::Ansi256), None, Instant::now());
    insta::assert_snapshot!(snapshot(&app, 80, 24));
}

#[test]
fn snapshot_waiting_with_qr() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(5, 400, r#"{"error":"authorization_pending"}"#);
    scene.at(8, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_waiting_without_complete_uri_and_with_a_message() {
    let mut scene = Scene::waiting(
        ColorMode::Ansi256,
        false,
        Some(
            "To sign in, use a web browser to open the page https://login.example.com/device and enter the code WDJB-MJHT to authenticate.",
        ),
    );
    scene.at(1, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_slow_down_notice() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(5, 400, r#"{"error":"authorization_pending"}"#);
    scene.poll(10, 400, r#"{"error":"slow_down"}"#);
    scene.at(12, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_transient_error_retrying() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(5, 503, "<html><body>Service Unavailable</body></html>");
    scene.poll(10, 503, "<html><body>Service Unavailable</body></html>");
    scene.at(11, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_tiny_terminal() {
    let scene = Scene::waiting(ColorMode::Ansi256, true, None);
    insta::assert_snapshot!(snapshot(&scene.app, 34, 8));
}

#[test]
fn snapshot_no_room_for_the_qr() {
    let scene = Scene::waiting(ColorMode::Ansi256, true, None);
    insta::assert_snapshot!(snapshot(&scene.app, 60, 20));
}

/// A scene whose code is entered on another site than the issuer's (the cross-device warning).
fn waiting_elsewhere() -> Scene {
    let mut scene = Scene::new(ColorMode::Ansi256);
    let t0 = scene.t0;
    let mut elsewhere = auth(true, None);
    elsewhere.verification_uri = url("https://device-login.example.net/activate");
    elsewhere.verification_uri_complete = Some(url(&format!(
        "https://device-login.example.net/activate?user_code={CODE}"
    )));
    update(
        &mut scene.app,
        Msg::CodeIssued {
            attempt: 1,
            result: Ok(elsewhere),
            at: t0,
        },
        t0,
    );
    scene
}

#[test]
fn the_cross_device_guidance_is_on_the_device_screen() {
    // The host on its own beside the code, the one line of advice; no warning for the
    // issuer's own page, and the warning for another site's.
    let own = Scene::waiting(ColorMode::Ansi256, true, None);
    let other = waiting_elsewhere();
    for (w, h) in [(80, 24), (60, 20)] {
        let text = lines(&own.app, w, h).0.join("\n");
        assert!(
            text.contains("WDJB-MJHT  at login.example.com"),
            "{w}x{h}:\n{text}"
        );
        // The advice is whole, in its long or its short form: never cut off at the edge.
        assert!(
            text.contains("sent you.") || text.contains("you started yourself."),
            "{w}x{h}:\n{text}"
        );
        assert!(!text.contains("⚠"), "{w}x{h}:\n{text}");
        let text = lines(&other.app, w, h).0.join("\n");
        // Under a warning (which says where the code belongs itself) a small screen may have
        // no room left for the advice, but never shows part of it.
        assert!(
            !text.contains("Only enter")
                || text.contains("sent you.")
                || text.contains("you started yourself."),
            "{w}x{h}:\n{text}"
        );
        assert!(
            text.contains("device-login.example.net"),
            "{w}x{h}:\n{text}"
        );
        assert!(
            text.contains("⚠ The code page is on example.net"),
            "{w}x{h}:\n{text}"
        );
        assert!(text.contains("Code expires in"), "{w}x{h}:\n{text}");
    }
}

#[test]
fn snapshot_cross_device_guidance_80x24() {
    let scene = Scene::waiting(ColorMode::Ansi256, true, None);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_cross_device_guidance_60x20() {
    let scene = Scene::waiting(ColorMode::Ansi256, false, None);
    insta::assert_snapshot!(snapshot(&scene.app, 60, 20));
}

#[test]
fn snapshot_host_warning_80x24() {
    insta::assert_snapshot!(snapshot(&waiting_elsewhere().app, 80, 24));
}

#[test]
fn snapshot_host_warning_60x20() {
    insta::assert_snapshot!(snapshot(&waiting_elsewhere().app, 60, 20));
}

#[test]
fn snapshot_large_terminal() {
    let scene = Scene::waiting(ColorMode::TrueColor, true, None);
    insta::assert_snapshot!(snapshot(&scene.app, 200, 50));
}

#[test]
fn snapshot_success() {
    insta::assert_snapshot!(snapshot(&approved().app, 80, 24));
}

#[test]
fn snapshot_denied() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(
        5,
        400,
        r#"{"error":"access_denied","error_description":"The user denied the request"}"#,
    );
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_expired() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(895, 400, r#"{"error":"authorization_pending"}"#);
    scene.at(901, Msg::Tick);
    assert!(matches!(
        scene.app.flow,
        Flow::Expired { description: None }
    ));
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_fatal_error() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(5, 401, "{\"error\":\"invalid_client\",\"error_description\":\"Client authentication failed \\u001b[2J\"}");
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_help_overlay() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.at(2, key('?'));
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_no_color() {
    let mut scene = Scene::waiting(ColorMode::None, true, None);
    scene.at(3, Msg::Tick);
    let shot = snapshot(&scene.app, 80, 24);
    assert!(
        shot.ends_with("--- colours ---\n(none)\n"),
        "NO_COLOR must use no colour"
    );
    insta::assert_snapshot!(shot);
}

#[test]
fn the_qr_decodes_back_to_the_complete_url_at_80x24_and_200x50() {
    let want = format!("https://login.example.com/device?user_code={CODE}");
    for (w, h) in [(80, 24), (200, 50)] {
        let scene = Scene::waiting(ColorMode::Ansi256, true, None);
        let (rows, _) = lines(&scene.app, w, h);
        assert_eq!(decode_qr(&rows), std::slice::from_ref(&want), "at {w}x{h}");
    }
    // Without a complete URI the QR carries the plain verification URI.
    let scene = Scene::waiting(ColorMode::Ansi256, false, None);
    let (rows, _) = lines(&scene.app, 80, 24);
    assert_eq!(decode_qr(&rows), ["https://login.example.com/device"]);
}

/// The QR code is encoded into the model when the code arrives, and the view only draws the
/// model's matrix: swapped for another, the screen shows the other; taken away, none.
#[test]
fn the_qr_code_is_encoded_in_the_model_and_only_drawn_by_the_view() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let Flow::Waiting(w) = &mut scene.app.flow else {
        panic!("not waiting: {:?}", scene.app.flow);
    };
    assert_eq!(
        w.qr,
        QrMatrix::encode(&format!(
            "https://login.example.com/device?user_code={CODE}"
        ))
    );
    w.qr = QrMatrix::encode("https://other.example/");
    let (rows, _) = lines(&scene.app, 80, 24);
    assert_eq!(decode_qr(&rows), ["https://other.example/"]);
    if let Flow::Waiting(w) = &mut scene.app.flow {
        w.qr = None;
    }
    let (rows, _) = lines(&scene.app, 80, 24);
    assert_eq!(decode_qr(&rows), Vec::<String>::new());
    let text = rows.join("\n");
    assert!(text.contains("No room for the QR code"), "{text}");
}

#[test]
fn stale_results_are_ignored_after_a_restart() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let effects = scene.at(3, key('r'));
    assert_eq!(scene.app.attempt, 2);
    assert!(
        matches!(
            effects.as_slice(),
            [
                Effect::CancelPending,
                Effect::RequestCode { attempt: 2, .. }
            ]
        ),
        "{effects:?}"
    );
    assert!(matches!(scene.app.flow, Flow::Requesting));
    // A poll answer of the first attempt arrives late: nothing changes.
    let late = update(
        &mut scene.app,
        Msg::Polled {
            attempt: 1,
            answer: answer(200, r#"{"access_token":"old"}"#),
            at: scene.t0,
        },
        scene.t0,
    );
    assert!(late.is_empty());
    assert!(matches!(scene.app.flow, Flow::Requesting));
    let late = scene.at(
        4,
        Msg::CodeIssued {
            attempt: 1,
            result: Ok(auth(true, None)),
            at: scene.t0,
        },
    );
    assert!(late.is_empty());
    assert!(matches!(scene.app.flow, Flow::Requesting));
    // The new attempt's answer is taken.
    let fresh = scene.at(
        4,
        Msg::CodeIssued {
            attempt: 2,
            result: Ok(auth(true, None)),
            at: scene.t0 + Duration::from_secs(4),
        },
    );
    assert!(
        matches!(fresh.as_slice(), [Effect::Poll { attempt: 2, .. }]),
        "{fresh:?}"
    );
}

#[test]
fn keys_that_end_the_session_and_their_exit_codes() {
    let esc = Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    for (msg, want) in [
        (esc, Exit::Cancelled),
        (key('q'), Exit::Cancelled),
        (ctrl_c, Exit::Cancelled),
    ] {
        let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
        scene.at(1, msg);
        assert_eq!(scene.app.exit, Some(want));
    }
    let mut done = approved();
    done.at(
        80,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(done.app.exit, Some(Exit::Ok));
    let mut denied = Scene::waiting(ColorMode::Ansi256, true, None);
    denied.poll(5, 400, r#"{"error":"access_denied"}"#);
    denied.at(6, key('q'));
    assert_eq!(denied.app.exit, Some(Exit::Denied));
    // SIGTERM/SIGHUP end the session like a cancel.
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.at(1, Msg::Terminate);
    assert_eq!(scene.app.exit, Some(Exit::Cancelled));
}

#[test]
fn the_countdown_reaches_expiry_with_no_poll_past_the_deadline() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    // The server keeps saying pending; every answer schedules the next poll, until one
    // would land past the 900 s deadline.
    let mut last_poll = 0;
    for at in (5..900).step_by(5) {
        let effects = scene.poll(at, 400, r#"{"error":"authorization_pending"}"#);
        match effects.as_slice() {
            [Effect::Poll { at: next, .. }] => {
                assert!(*next < scene.t0 + Duration::from_secs(900));
                last_poll = at;
            }
            [] => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(last_poll, 890);
    scene.at(899, Msg::Tick);
    assert!(matches!(scene.app.flow, Flow::Waiting(_)));
    let (rows, _) = lines(&scene.app, 80, 24);
    assert!(
        rows.iter().any(|r| r.contains("Code expires in 1s")),
        "{rows:#?}"
    );
    scene.at(900, Msg::Tick);
    assert!(matches!(scene.app.flow, Flow::Expired { .. }));
}

#[test]
fn a_login_whose_polls_never_reached_the_server_ends_as_a_network_failure() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    // Every poll fails before the server answers (connection refused), until the deadline.
    for at in (5..900).step_by(10) {
        let moment = scene.t0 + Duration::from_secs(at);
        update(
            &mut scene.app,
            Msg::Polled {
                attempt: 1,
                answer: Err(HttpError::Connect {
                    url: "http://127.0.0.1:9/token".into(),
                    detail: "Connection refused (os error 111)".into(),
                }),
                at: moment,
            },
            moment,
        );
    }
    scene.at(900, Msg::Tick);
    match &scene.app.flow {
        Flow::Failed(e) => {
            assert_eq!(e.exit().code(), 5, "{e}");
            assert!(e.to_string().contains("Connection refused"), "{e}");
        }
        other => panic!("expected a network failure, got {other:?}"),
    }

    // One answer from the server (pending) makes it a plain expiry again.
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(5, 400, r#"{"error":"authorization_pending"}"#);
    scene.at(900, Msg::Tick);
    assert!(matches!(scene.app.flow, Flow::Expired { .. }));
}

#[test]
fn slow_down_changes_the_displayed_interval() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let effects = scene.poll(5, 403, r#"{"error":"slow_down"}"#);
    match effects.as_slice() {
        [Effect::Poll { at, .. }] => assert_eq!(*at, scene.t0 + Duration::from_secs(15)),
        other => panic!("{other:?}"),
    }
    let (rows, _) = lines(&scene.app, 80, 24);
    assert!(
        rows.iter().any(|r| r.contains("checking every 10s")),
        "{rows:#?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("Check 1: asked to slow down")),
        "{rows:#?}"
    );
    assert!(
        rows.iter().any(|r| r.contains("Next check in 10s")),
        "{rows:#?}"
    );
}

#[test]
fn copy_and_open_keys() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let effects = scene.at(1, key('c'));
    assert!(
        matches!(effects.as_slice(), [Effect::Copy(code)] if code == CODE),
        "{effects:?}"
    );
    let effects = scene.at(1, key('u'));
    assert!(
        matches!(effects.as_slice(), [Effect::Copy(u)] if u.ends_with("user_code=WDJB-MJHT")),
        "{effects:?}"
    );
    // Over SSH, `o` explains instead of opening a browser on the remote machine.
    let effects = scene.at(1, key('o'));
    assert!(effects.is_empty());
    assert!(
        scene
            .app
            .toast
            .as_ref()
            .is_some_and(|t| t.text.contains("SSH"))
    );
    // Toasts go away by themselves.
    scene.at(10, Msg::Tick);
    assert!(scene.app.toast.is_none());
    // Demo keys do nothing outside the demo.
    assert!(scene.at(2, key('a')).is_empty());
}

#[test]
fn failures_keep_the_servers_words_and_retry_starts_over() {
    let mut scene = Scene::new(ColorMode::Ansi256);
    scene.at(
        1,
        Msg::CodeIssued {
            attempt: 1,
            result: Err(Error::Protocol(
                "the device authorization response from https://x has no user_code".into(),
            )),
            at: scene.t0,
        },
    );
    let (rows, _) = lines(&scene.app, 80, 24);
    assert!(
        rows.iter().any(|r| r.contains("has no user_code")),
        "{rows:#?}"
    );
    let effects = scene.at(2, key('r'));
    assert!(matches!(
        effects.as_slice(),
        [
            Effect::CancelPending,
            Effect::RequestCode { attempt: 2, .. }
        ]
    ));
}

fn asking() -> Scene {
    let mut scene = Scene::new(ColorMode::Ansi256);
    scene.app = scene.app.clone().asking_for_store(
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), and the kernel keyring refused access".into(),
        "file /home/ada/.local/share/tvlogin/profiles/work.tokens.json".into(),
    );
    scene
}

#[test]
fn snapshot_store_question() {
    insta::assert_snapshot!(snapshot(&asking().app, 80, 24));
}

#[test]
fn the_store_question_comes_before_any_request() {
    let scene = asking();
    assert!(
        scene.app.start().is_empty(),
        "nothing may be requested before the answer"
    );
    for (answer, backend) in [
        ('f', tvlogin::store::Backend::File),
        ('m', tvlogin::store::Backend::Memory),
    ] {
        let mut scene = asking();
        let effects = scene.at(1, key(answer));
        assert!(
            matches!(effects.as_slice(), [Effect::UseStore(b), Effect::RequestCode { attempt: 1, .. }] if *b == backend),
            "{answer}: {effects:?}"
        );
        assert!(matches!(scene.app.flow, Flow::Requesting));
    }
    let mut scene = asking();
    assert!(
        scene.at(1, key('r')).is_empty(),
        "no other key starts the flow"
    );
    scene.at(1, key('q'));
    assert_eq!(scene.app.exit, Some(Exit::Cancelled));
}

#[test]
fn leaving_waits_for_the_tokens_to_be_saved_and_a_failed_save_is_a_failure() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(
        5,
        200,
        r#"{"access_token":"at","token_type":"Bearer","refresh_token":"rt"}"#,
    );
    scene.at(
        5,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(scene.app.exit, None, "must not leave while saving");
    scene.at(
        6,
        Msg::Saved {
            attempt: 1,
            result: Ok("file /x".into()),
        },
    );
    assert_eq!(scene.app.exit, Some(Exit::Ok));

    let mut failed = Scene::waiting(ColorMode::Ansi256, true, None);
    failed.poll(5, 200, r#"{"access_token":"at","token_type":"Bearer"}"#);
    failed.at(
        6,
        Msg::Saved {
            attempt: 1,
            result: Err("disk full".into()),
        },
    );
    failed.at(7, key('q'));
    assert_eq!(failed.app.exit, Some(Exit::Failure));
}

// ----- layout at 80x24, 60x20 and 40x12 -----

#[test]
fn layout_every_login_state_at_three_sizes_keeps_header_footer_and_words() {
    let demo = |scene: &mut Scene| {
        scene.app.ctx.demo = true;
        scene.app.ctx.no_browser = Some("there is no display here".into());
    };
    let mut states: Vec<(&str, Scene)> = Vec::new();
    states.push(("requesting", Scene::new(ColorMode::Ansi256)));
    states.push(("waiting", Scene::waiting(ColorMode::Ansi256, true, None)));
    let mut s = Scene::waiting(ColorMode::Ansi256, true, None);
    demo(&mut s);
    states.push(("demo waiting", s));
    states.push(("approved", approved()));
    let mut s = Scene::waiting(ColorMode::Ansi256, true, None);
    s.poll(5, 400, r#"{"error":"access_denied","error_description":"The user said no to this request on their phone"}"#);
    states.push(("denied", s));
    for (name, mut scene) in states {
        for (w, h) in [(80u16, 24u16), (60, 20), (40, 12)] {
            let header = lines(&scene.app, w, h).0[0].clone();
            check_layout(
                &lines(&scene.app, w, h).0,
                w,
                &header,
                &format!("{name} {w}x{h}"),
            );
            // A notice (o with no browser here) gets its own line; the header stays.
            scene.at(6, key('o'));
            let rows = lines(&scene.app, w, h).0;
            check_layout(&rows, w, &header, &format!("{name} {w}x{h} with a notice"));
        }
    }
}

/// One wording about phones, chosen from the address, everywhere the login shows it: the
/// screen, the help overlay and the notice of `o` without a browser. A loopback address (the
/// demo's, `tvlogin serve`'s) sends nobody to a phone; any other allows one.
#[test]
fn one_wording_about_phones_chosen_from_the_address_everywhere() {
    let loopback = |demo: bool| {
        let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
        if let Flow::Waiting(w) = &mut scene.app.flow {
            w.auth.verification_uri = "http://127.0.0.1:8080/device".parse().expect("url");
            w.auth.verification_uri_complete = None;
        }
        scene.app.ctx.demo = demo;
        scene
    };
    // The words as read, whatever the line breaks.
    let words = |scene: &Scene| {
        lines(&scene.app, 100, 30)
            .0
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let everywhere = |mut scene: Scene| {
        scene.app.ctx.no_browser = Some("there is no display here".into());
        let screen = words(&scene);
        scene.at(6, key('?'));
        let help = words(&scene);
        scene.at(6, key('?'));
        scene.at(6, key('o'));
        let notice = words(&scene);
        [screen, help, notice]
    };
    for demo in [false, true] {
        let [screen, help, notice] = everywhere(loopback(demo));
        assert!(
            screen.contains("On this machine (not a phone), open"),
            "{screen}"
        );
        assert!(!screen.contains("scan"), "{screen}");
        for text in [&help, &notice] {
            assert!(
                text.contains("Open it in a browser on this machine") && text.contains("a phone"),
                "{text}"
            );
            assert!(text.contains("cannot reach it"), "{text}");
        }
        if demo {
            assert!(screen.contains("press a"), "{screen}");
            assert!(notice.contains("Or press a."), "{notice}");
        }
    }
    let [screen, help, notice] = everywhere(Scene::waiting(ColorMode::Ansi256, true, None));
    assert!(
        screen.contains("On a phone or any browser, open"),
        "{screen}"
    );
    for text in [&help, &notice] {
        assert!(
            text.contains("Open it on any device with a browser, a phone too."),
            "{text}"
        );
        assert!(!text.contains("cannot reach"), "{text}");
    }
}

#[test]
fn the_qr_is_dark_on_light_as_seen_on_dark_and_light_terminals_in_every_mode() {
    let want = vec![format!("https://login.example.com/device?user_code={CODE}")];
    let seen = |colors, dark| {
        let scene = Scene::waiting(colors, true, None);
        decode_qr_as_seen(&scene.app, 80, 24, dark)
    };
    for dark in [true, false] {
        assert_eq!(
            seen(ColorMode::Ansi256, dark),
            want,
            "256 colours, dark {dark}"
        );
        assert_eq!(
            seen(ColorMode::TrueColor, dark),
            want,
            "true colour, dark {dark}"
        );
    }
    // NO_COLOR: drawn for the background found (reverse video on dark).
    assert_eq!(seen(ColorMode::NoneOnDark, true), want);
    assert_eq!(seen(ColorMode::None, false), want);
    // What reverse video fixes: shapes alone come out light-on-dark on a dark terminal.
    assert_ne!(seen(ColorMode::None, true), want);
}

// ----- states without a snapshot before -----

fn approved_until_poll() -> Scene {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let body = format!(
        r#"{{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","id_token":"{}","scope":"openid"}}"#,
        id_token()
    );
    scene.poll(10, 200, &body);
    scene
}

#[test]
fn snapshot_login_saving() {
    let mut scene = approved_until_poll();
    scene.at(10, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_login_not_saved() {
    let mut scene = approved_until_poll();
    scene.at(
        11,
        Msg::Saved {
            attempt: 1,
            result: Err("the keyring is locked (timed out after 10 s)".into()),
        },
    );
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_demo_title_keys_and_words() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.app.ctx.demo = true;
    scene.app.ctx.server = "http://127.0.0.1:43127".into();
    scene.app.ctx.no_browser = Some("there is no display here".into());
    // The demo's verification page is on this machine, as the embedded server's is.
    if let Flow::Waiting(w) = &mut scene.app.flow {
        w.auth.verification_uri = "http://127.0.0.1:43127/device".parse().expect("url");
    }
    scene.at(2, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

/// A notice (one line or two) never moves the code or the QR code: it comes and goes on
/// rows above the key hints that the screen keeps for it when it can, else over the body's
/// last rows, never by pushing the body down.
#[test]
fn a_notice_never_moves_the_code_or_the_qr_code() {
    for (w, h) in [
        (80u16, 24u16),
        (60, 20),
        (100, 30),
        (120, 40),
        (200, 50),
        (40, 12),
    ] {
        let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
        scene.app.ctx.no_browser = Some("this is an SSH session".into());
        scene.at(2, Msg::Tick);
        let before = lines(&scene.app, w, h).0;
        scene.at(2, key('o'));
        let after = lines(&scene.app, w, h).0;
        let cut = usize::from(h) - 3;
        assert_eq!(
            before[..cut],
            after[..cut],
            "{w}x{h}: the notice moved the screen:\n{}\n---\n{}",
            before.join("\n"),
            after.join("\n")
        );
        assert!(
            after.join(" ").contains("Not opening a browser"),
            "{w}x{h}: {}",
            after.join("\n")
        );
    }
}

/// The QR code starts level with the first step, beside the text, not lower down.
#[test]
fn the_qr_code_sits_with_the_text() {
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 50)] {
        let scene = Scene::waiting(ColorMode::Ansi256, true, None);
        let rows = lines(&scene.app, w, h).0;
        let step = rows
            .iter()
            .position(|r| r.contains("1 On a phone or any browser"))
            .expect("the first step");
        let qr_top = rows
            .iter()
            .position(|r| r.chars().skip(40).any(|c| matches!(c, '█' | '▀' | '▄')))
            .expect("a QR code");
        assert!(
            qr_top <= step + 1,
            "{w}x{h}: QR at row {qr_top}, text at {step}:\n{}",
            rows.join("\n")
        );
    }
}

#[test]
fn snapshot_toast_on_its_own_line() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.at(2, key('o'));
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_expiry_deadline_line() {
    // Late in the code's life the countdown line is what matters.
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(840, 400, r#"{"error":"authorization_pending"}"#);
    scene.at(845, Msg::Tick);
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_expired_with_the_servers_words() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.poll(
        20,
        400,
        r#"{"error":"expired_token","error_description":"The device code expired; start over"}"#,
    );
    assert!(matches!(
        scene.app.flow,
        Flow::Expired {
            description: Some(_)
        }
    ));
    insta::assert_snapshot!(snapshot(&scene.app, 80, 24));
}

#[test]
fn snapshot_plain_text_login_output() {
    use tvlogin::login::{OutputMode, Reporter};
    use tvlogin::tui::widgets::qr::TextPolarity;
    let mut reporter =
        Reporter::new(OutputMode::Plain, Vec::new(), Vec::new()).with_qr(Some(TextPolarity::Plain));
    reporter.starting("work", "https://login.example.com");
    let shown = auth(true, None);
    reporter.device_authorization(&shown, &site().guidance(&shown.verification_uri));
    let (_, err) = reporter.into_inner();
    let text = String::from_utf8_lossy(&err).into_owned();
    let rows: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(
        decode_qr(&rows),
        [format!("https://login.example.com/device?user_code={CODE}")]
    );
    insta::assert_snapshot!(text);
}

#[test]
fn plain_text_names_the_host_and_warns_about_another_site() {
    use tvlogin::login::{OutputMode, Reporter};
    let mut reporter = Reporter::new(OutputMode::Plain, Vec::new(), Vec::new());
    let mut elsewhere = auth(false, None);
    elsewhere.verification_uri = url("https://device-login.example.net/activate");
    reporter.device_authorization(&elsewhere, &site().guidance(&elsewhere.verification_uri));
    let (_, err) = reporter.into_inner();
    let text = String::from_utf8_lossy(&err).into_owned();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("only at:")
            && l.trim_end().ends_with(" device-login.example.net")),
        "{text}"
    );
    assert!(
        text.contains("  Warning: The code page is on example.net, the sign-in server on example.com: enter the code only if example.net is your provider's."),
        "{text}"
    );
    assert!(
        text.contains("Only enter this code at device-login.example.net, and only if you started this login yourself on this screen. Never enter a code someone sent you."),
        "{text}"
    );
}

#[test]
fn plain_text_for_a_loopback_address_says_this_machine() {
    use tvlogin::login::{OutputMode, Reporter};
    let mut reporter = Reporter::new(OutputMode::Plain, Vec::new(), Vec::new());
    let mut local = auth(true, None);
    local.verification_uri = url("http://127.0.0.1:43127/device");
    reporter.device_authorization(
        &local,
        &SiteCheck::default().guidance(&local.verification_uri),
    );
    let (_, err) = reporter.into_inner();
    let text = String::from_utf8_lossy(&err).into_owned();
    assert!(
        text.contains("1. On this machine (not a phone), open: http://127.0.0.1:43127/device"),
        "{text}"
    );
    assert!(!text.contains("scan this with a phone"), "{text}");
}

#[test]
fn the_demo_footer_keeps_a_approve_q_and_help_at_60_and_40_columns() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    scene.app.ctx.demo = true;
    for (w, h) in [(80, 24), (60, 20), (40, 12)] {
        let rows = lines(&scene.app, w, h).0;
        let footer = rows.last().cloned().unwrap_or_default();
        for want in ["a approve", "q cancel", "? help"] {
            assert!(footer.contains(want), "{w}x{h}: {footer}");
        }
    }
}

// ----- the browser-login screen (issue 23) -----

/// The browser-login screen waiting for the browser's answer, 62 s in.
fn browser_waiting(opened: Result<(), String>) -> tvlogin::tui::browser::BrowserApp {
    use tvlogin::tui::browser::{BrowserApp, Context as BrowserContext, Msg as BrowserMsg};
    let t0 = Instant::now();
    let ctx = BrowserContext {
        profile: "work".into(),
        server: "https://login.example.com".into(),
        colors: ColorMode::Ansi256,
        no_browser: None,
    };
    let mut app = BrowserApp::new(ctx, Duration::from_secs(300), t0);
    tvlogin::tui::browser::update(
        &mut app,
        BrowserMsg::Listening {
            url: url(
                "https://login.example.com/authorize?response_type=code&client_id=my-cli&state=Zk3x&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback",
            ),
            redirect: url("http://127.0.0.1:49152/callback"),
            opened,
        },
        t0,
    );
    tvlogin::tui::browser::update(&mut app, BrowserMsg::Tick, t0 + Duration::from_secs(62));
    app
}

#[test]
fn snapshot_browser_login_80x24() {
    insta::assert_snapshot!(snapshot(&browser_waiting(Ok(())), 80, 24));
}

#[test]
fn snapshot_browser_login_60x20_without_a_browser() {
    let app = browser_waiting(Err("this is an SSH session".into()));
    insta::assert_snapshot!(snapshot(&app, 60, 20));
}

#[test]
fn the_browser_login_screen_shows_the_url_the_wait_and_the_keys() {
    let app = browser_waiting(Ok(()));
    for (w, h) in [(80, 24), (60, 20)] {
        let text = lines(&app, w, h).0.join("\n");
        for want in [
            "Log in in your browser",
            "https://login.example.com/authorize",
            "127.0.0.1:49152",
            "Gives up in 3m 58s",
            "copy URL",
            "q cancel",
        ] {
            assert!(text.contains(want), "{w}x{h} lacks {want:?}:\n{text}");
        }
    }
}

/// The success screen wraps the token file's path after a separator: no name is cut in two
/// (`default.toke` / `ns.json` was).
#[test]
fn the_success_screen_wraps_paths_at_separators() {
    let mut scene = Scene::waiting(ColorMode::Ansi256, true, None);
    let body = r#"{"access_token":"at","token_type":"Bearer","expires_in":3600}"#;
    scene.poll(10, 200, body);
    let place = "file /home/ada-lovelace/.local/share/tvlogin/profiles/default.tokens.json (0600)";
    scene.at(
        11,
        Msg::Saved {
            attempt: 1,
            result: Ok(place.into()),
        },
    );
    for (w, h) in [(60u16, 20u16), (48, 16), (80, 24)] {
        let rows = lines(&scene.app, w, h).0;
        let screen = rows.join("\n");
        assert!(
            rows.iter().any(|r| r.contains("default.tokens.json")),
            "{w}x{h}: the file name was cut:\n{screen}"
        );
        let start = rows
            .iter()
            .position(|r| r.contains("Stored in"))
            .expect("the Stored in row");
        for row in rows[start..].iter().take_while(|r| !r.trim().is_empty()) {
            let value = row.get(17..).unwrap_or_default().trim_end();
            let last = value.split(' ').next_back().unwrap_or_default();
            assert!(
                last.is_empty()
                    || last.ends_with('/')
                    || last.ends_with("json")
                    || last.ends_with("(0600)")
                    || !last.contains('/'),
                "{w}x{h}: a path broken inside a name: {row:?}\n{screen}"
            );
        }
    }
}
