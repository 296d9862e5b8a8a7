//! The verification page in a real browser: headless Chromium at phone size, JavaScript off,
//! driven over WebDriver (tests/common/browser.rs). A real `tvlogin login --no-tui --json`
//! waits on the embedded server while the browser does what a person does: opens
//! `verification_uri_complete`, compares the code, and approves (the login ends with exit 0)
//! or denies (exit 3); a mistyped code shows the error and can be corrected. Also the page's
//! security headers, that another site cannot frame it, and a screenshot at phone width.
//!
//! Where Chromium or chromedriver cannot be had, each test prints why it was skipped (or fails,
//! when TVLOGIN_REQUIRE_REAL_PARTS is set, as in CI).
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;
use crate::common::browser as real_browser;

use std::sync::Arc;
use std::time::Duration;

use common::skip::skip_or_fail;
use common::{Canned, Home, canned};
use real_browser::{Browser, PHONE};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tvlogin_server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

async fn browser(test: &str) -> Option<Browser> {
    match Browser::start().await {
        Ok(b) => Some(b),
        Err(reason) => {
            skip_or_fail(test, &reason);
            None
        }
    }
}

/// A `tvlogin login` waiting for a person, and what it announced.
struct Waiting {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    announced: Value,
}

impl Waiting {
    /// Starts the login and reads up to its `device_authorization` event.
    async fn start(home: &Home, server: &ServerHandle) -> Self {
        let issuer = server.issuer_str();
        let mut child = home
            .command(
                &[
                    "login",
                    "--no-tui",
                    "--json",
                    "--issuer",
                    &issuer,
                    "--client-id",
                    DEMO_CLIENT_ID,
                    "--scope",
                    "openid profile offline_access",
                ],
                &[],
            )
            .spawn()
            .expect("spawn tvlogin login");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let announced = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("no device_authorization event")
            .expect("read the login's first line")
            .map(|l| serde_json::from_str::<Value>(&l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .unwrap_or_default();
        assert_eq!(announced["event"], "device_authorization", "{announced}");
        Self {
            child,
            lines,
            announced,
        }
    }

    fn user_code(&self) -> String {
        self.announced["user_code"]
            .as_str()
            .unwrap_or("?")
            .to_owned()
    }

    fn field(&self, name: &str) -> String {
        self.announced[name].as_str().unwrap_or("?").to_owned()
    }

    /// Waits for the login to end: its exit code and the events after the announcement.
    async fn finish(mut self) -> (i32, Vec<Value>) {
        let mut events = Vec::new();
        let rest = async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                events.push(
                    serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{line}: {e}")),
                );
            }
            self.child.wait().await
        };
        let status = tokio::time::timeout(common::PROCESS_LIMIT, rest)
            .await
            .expect("the login did not end after the decision")
            .expect("wait for the login to exit");
        (status.code().unwrap_or(-1), events)
    }
}

fn manual_server_config() -> ServerConfig {
    // No automatic decision: only the browser decides.
    ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    }
}

/// Checks what a person compares before approving: the code on the page is the code the
/// terminal showed, large and whole on a phone screen.
async fn assert_code_shown(b: &Browser, user_code: &str) {
    assert_eq!(b.text("#user-code").await, user_code);
    let code = b.find("#user-code").await;
    let (_, _, width, _) = code.rectangle().await.expect("measure the code's box");
    assert!(
        width <= f64::from(PHONE.0),
        "the code box is wider than the phone: {width}"
    );
    let size = code.css_value("font-size").await.unwrap_or_default();
    let px: f64 = size.trim_end_matches("px").parse().unwrap_or(0.0);
    assert!(px >= 28.0, "the code is too small to compare: {size}");
}

/// Buttons a thumb can hit: at least 48 CSS px tall (the common touch-target guidance).
async fn assert_big_buttons(b: &Browser) {
    for selector in ["button[value=approve]", "button[value=deny]"] {
        let (_, _, width, height) = b
            .find(selector)
            .await
            .rectangle()
            .await
            .expect("measure the control's box");
        assert!(height >= 48.0, "{selector} is {height}px tall");
        assert!(width >= 120.0, "{selector} is {width}px wide");
    }
}

#[tokio::test]
async fn approving_in_the_browser_completes_the_waiting_login() {
    let Some(b) = browser("approving_in_the_browser_completes_the_waiting_login").await else {
        return;
    };
    let server = common::server(manual_server_config()).await;
    let home = Home::new();
    let login = Waiting::start(&home, &server).await;
    let user_code = login.user_code();

    b.goto(&login.field("verification_uri_complete")).await;
    assert_eq!(
        b.client.title().await.unwrap_or_default(),
        "Authorize this device? · tvlogin"
    );
    assert_code_shown(&b, &user_code).await;
    assert_big_buttons(&b).await;
    // The page's own style sheet applied (its CSP hash matches): the Approve button is blue.
    let bg = b
        .find("button[value=approve]")
        .await
        .css_value("background-color")
        .await
        .unwrap_or_default();
    assert_eq!(bg, "rgba(36, 87, 214, 1)", "the style sheet was blocked");

    b.click("button[value=approve]").await;
    assert_eq!(b.text("h1").await, "Device approved");
    assert!(b.text(".ok").await.contains("return to your terminal"));

    let (code, events) = login.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let tokens = events.last().cloned().unwrap_or_default();
    assert_eq!(tokens["event"], "tokens", "{events:?}");
    assert_eq!(tokens["has_refresh_token"], true);
}

#[tokio::test]
async fn denying_in_the_browser_ends_the_login_with_exit_3() {
    let Some(b) = browser("denying_in_the_browser_ends_the_login_with_exit_3").await else {
        return;
    };
    let server = common::server(manual_server_config()).await;
    let home = Home::new();
    let login = Waiting::start(&home, &server).await;
    let uri_complete = login.field("verification_uri_complete");
    b.goto(&uri_complete).await;
    assert_code_shown(&b, &login.user_code()).await;
    b.click("button[value=deny]").await;
    assert_eq!(b.text("h1").await, "Device denied");
    assert!(b.text(".error").await.contains("will not be signed in"));

    let (code, events) = login.finish().await;
    assert_eq!(code, 3, "{events:?}");
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["event"], "error", "{events:?}");
    assert_eq!(last["error"], "access_denied", "{events:?}");
    // The code is spent: opening its link again offers no second chance to approve.
    b.goto(&uri_complete).await;
    let error = b.text(".error").await;
    assert!(error.contains("already been used"), "{error}");
    assert!(
        b.client
            .find(fantoccini::Locator::Css("button[value=approve]"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_mistyped_code_shows_the_error_and_can_be_corrected() {
    let Some(b) = browser("a_mistyped_code_shows_the_error_and_can_be_corrected").await else {
        return;
    };
    let server = common::server(manual_server_config()).await;
    let home = Home::new();
    let login = Waiting::start(&home, &server).await;
    let user_code = login.user_code();

    // The person opens the plain URL and types the code, with a mistake.
    b.goto(&login.field("verification_uri")).await;
    assert_eq!(b.text("h1").await, "Connect a device");
    let wrong = if user_code.starts_with('B') {
        "CCCC-CCCC"
    } else {
        "BBBB-BBBB"
    };
    let input = b.find("#user_code").await;
    input.send_keys(wrong).await.expect("type the wrong code");
    b.click("button[type=submit]").await;
    let error = b.text(".error").await;
    assert!(error.contains("is not valid"), "{error}");
    assert!(error.contains(wrong), "{error}");
    // The form is still there, holding what was typed, for a correction.
    let input = b.find("#user_code").await;
    assert_eq!(
        input.prop("value").await.unwrap_or_default().as_deref(),
        Some(wrong)
    );
    assert!(
        server.pending_user_codes().contains(&user_code),
        "code spent"
    );

    // Corrected, typed in lower case without the dash, as people do.
    input.clear().await.expect("clear the code field");
    input
        .send_keys(&user_code.replace('-', "").to_lowercase())
        .await
        .expect("type the corrected code");
    b.click("button[type=submit]").await;
    assert_code_shown(&b, &user_code).await;
    b.click("button[value=approve]").await;
    assert_eq!(b.text("h1").await, "Device approved");
    let (code, events) = login.finish().await;
    assert_eq!(code, 0, "{events:?}");
}

#[tokio::test]
async fn the_page_sends_security_headers_and_cannot_be_framed() {
    let server = Arc::new(common::server(manual_server_config()).await);
    let client = reqwest::Client::new();
    let base = server.verification_uri();
    for url in [
        base.to_string(),
        format!("{base}?user_code=BBBB-BBBB"),
        server.issuer_str() + "/",
    ] {
        let r = client.get(&url).send().await.expect("fetch the page");
        let h = r.headers();
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = get("content-security-policy");
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{url}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{csp}"
        );
        assert_eq!(get("x-frame-options"), "DENY", "{url}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{url}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{url}");
        assert_eq!(get("cache-control"), "no-store", "{url}");
    }

    // In a real browser: another site's page that frames the verification page gets nothing.
    let Some(b) = browser("the_page_sends_security_headers_and_cannot_be_framed").await else {
        return;
    };
    let evil = canned(vec![
        (
            "/",
            Canned::html(
                200,
                format!(
                    "<!doctype html><title>evil</title><iframe id=f width=380 height=600 \
                     src=\"{base}\"></iframe>"
                ),
            ),
        ),
        (
            "/noscript",
            Canned::html(200, "<!doctype html><noscript><p id=off>off</p></noscript>"),
        ),
    ])
    .await;
    // The browser of these tests runs no page JavaScript (so the flows above prove the page
    // needs none): a <noscript> block shows.
    b.goto(&format!("{evil}/noscript")).await;
    assert_eq!(b.text("#off").await, "off");
    b.goto(&format!("{evil}/")).await;
    let frame = b.find("#f").await;
    frame.enter_frame().await.expect("enter the frame");
    let inside = b.client.find(fantoccini::Locator::Css("#user_code")).await;
    assert!(
        inside.is_err(),
        "the verification page loaded inside a frame"
    );
}

#[tokio::test]
async fn screenshot_at_phone_width() {
    let Some(b) = browser("screenshot_at_phone_width").await else {
        return;
    };
    let server = common::server(manual_server_config()).await;
    let home = Home::new();
    let login = Waiting::start(&home, &server).await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("create the screenshot dir");
    let shots = [
        ("enter-code", login.field("verification_uri")),
        (
            "wrong-code",
            format!("{}?user_code=BBBB-BBBB", login.field("verification_uri")),
        ),
        ("confirm", login.field("verification_uri_complete")),
    ];
    for (name, url) in shots {
        b.goto(&url).await;
        let png = b.screenshot().await;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        assert_eq!(width, PHONE.0, "the screenshot is not phone width");
        let path = dir.join(format!("verification-page-{name}-phone.png"));
        std::fs::write(&path, &png).expect("write the screenshot");
    }
    // Nothing on the phone-width page runs wider than the screen (no sideways scrolling).
    let main = b.find("main").await;
    let (x, _, w, _) = main.rectangle().await.expect("measure the main element");
    assert!(x >= 0.0 && x + w <= f64::from(PHONE.0), "main at {x}+{w}");
    drop(login);
}
