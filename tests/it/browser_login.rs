//! The browser login (`login --flow browser|auto`, issue 23) end to end: the real binary, the
//! embedded server's `/authorize`, and a stand-in browser. `BROWSER` is a two-line shell
//! script that hands the authorization URL to the test, which then plays the browser over
//! HTTP: it opens the consent page, approves or denies, and follows the redirect back to
//! tvlogin's loopback listener (tampering with it where the test says so). Also the
//! cross-device guidance in `--json`, and a refused device grant.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{self, Home, Run, server};
use tvlogin_server::{DEMO_CLIENT_ID, Knobs, ServerConfig, ServerHandle};

/// A stand-in browser: records the URL it is asked to open in `<script>.url`.
fn stand_in_browser(home: &Home) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let script = home.dir.path().join("browser.sh");
    std::fs::write(
        &script,
        // Shell builtins only: the browser may run without PATH.
        "#!/bin/sh\nprintf '%s\\n' \"$1\" > \"$0.url\"\n",
    )
    .expect("write the stand-in browser");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("make the stand-in browser executable");
    script
}

/// Waits for the stand-in browser to have been asked to open a URL.
async fn opened_url(script: &Path) -> String {
    let file = PathBuf::from(format!("{}.url", script.display()));
    for _ in 0..200 {
        // Whole once the line has its end.
        if let Ok(text) = std::fs::read_to_string(&file)
            && text.ends_with('\n')
        {
            return text.trim().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser was never opened");
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build the HTTP client")
}

/// Plays the person at the consent page: opens the authorization URL, answers `action`, and
/// returns where the server redirects the browser (tvlogin's listener, with the answer).
async fn consent(authorization_url: &str, action: &str) -> url::Url {
    let http = http();
    let page = http
        .get(authorization_url)
        .send()
        .await
        .expect("open the authorization URL");
    assert_eq!(page.status(), 200, "the consent page");
    let base = page.url().clone();
    let text = page.text().await.expect("read the consent page");
    let id = text
        .split("name=\"request\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the consent form's request id")
        .to_owned();
    let answer = http
        .post(base.join("/authorize").expect("the form's action"))
        .form(&[("request", id.as_str()), ("action", action)])
        .send()
        .await
        .expect("answer the consent page");
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"]
        .to_str()
        .expect("a Location")
        .to_owned();
    url::Url::parse(&location).expect("the redirect is a URL")
}

/// The redirect with one query parameter replaced.
fn with_param(url: &url::Url, name: &str, value: &str) -> url::Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out
}

/// What the listener answered the browser.
struct Finish {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn follow(redirect: &url::Url) -> Finish {
    let r = http()
        .get(redirect.clone())
        .send()
        .await
        .expect("the listener answers the redirect");
    Finish {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap_or_default(),
    }
}

/// A graphical session with the stand-in browser, nothing else.
fn desktop(script: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("DISPLAY", ":0".to_owned()),
        ("BROWSER", script.display().to_string()),
    ]
}

fn login_args(server: &ServerHandle, flow: &str) -> Vec<String> {
    [
        "login",
        "--issuer",
        &server.issuer_str(),
        "--client-id",
        DEMO_CLIENT_ID,
        "--scope",
        "openid offline_access",
        "--flow",
        flow,
        "--json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Starts `tvlogin args` in `home` with `env`; the test plays the browser meanwhile.
fn spawn(home: &Home, args: &[String], env: &[(&str, String)]) -> tokio::process::Child {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    home.command(&args, &env).spawn().expect("spawn tvlogin")
}

async fn finished(child: tokio::process::Child) -> Run {
    let started = std::time::Instant::now();
    Run::new(common::output_of(child, "tvlogin login").await, started)
}

#[tokio::test]
async fn browser_login_succeeds_once_and_the_listener_closes() {
    let server = server(ServerConfig::default()).await;
    let home = Home::new();
    let script = stand_in_browser(&home);
    let mut env = desktop(&script);
    env.push(("TVLOGIN_STORE", "file".into()));
    let child = spawn(&home, &login_args(&server, "browser"), &env);
    let url = opened_url(&script).await;
    let params: std::collections::HashMap<String, String> = url::Url::parse(&url)
        .expect("the authorization URL")
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(
        params["prompt"], "consent",
        "offline_access asks for consent"
    );
    assert!(params.contains_key("nonce"), "openid sends a nonce");
    let redirect = consent(&url, "approve").await;
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect.path(), "/callback");
    let finish = follow(&redirect).await;
    assert_eq!(finish.status, 200, "{}", finish.body);
    assert!(
        finish.body.contains("The login finished"),
        "{}",
        finish.body
    );
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    assert!(!finish.body.contains(&code));
    assert!(
        !finish.body.contains("eyJ"),
        "a token on the page: {}",
        finish.body
    );
    for header in [
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
        "x-content-type-options",
    ] {
        assert!(finish.headers.contains_key(header), "{header}");
    }
    let run = finished(child).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.event_names(), ["authorization_url", "tokens"]);
    let events = run.events();
    assert_eq!(events[0]["browser_opened"], true);
    assert_eq!(events[1]["has_refresh_token"], true);
    assert_eq!(events[1]["has_id_token"], true);
    assert!(home.tokens_file().exists(), "the tokens were stored");
    // The flow is remembered with the login.
    let state = common::read_json(&home.state_file());
    assert_eq!(state["login"]["flow"], "browser", "{state}");
    // The listener answered once and closed: the same redirect again is refused.
    assert!(http().get(redirect).send().await.is_err());
}

#[tokio::test]
async fn denial_exits_3_and_stores_nothing() {
    let server = server(ServerConfig::default()).await;
    let home = Home::new();
    let script = stand_in_browser(&home);
    let mut env = desktop(&script);
    env.push(("TVLOGIN_STORE", "file".into()));
    let child = spawn(&home, &login_args(&server, "browser"), &env);
    let redirect = consent(&opened_url(&script).await, "deny").await;
    let finish = follow(&redirect).await;
    assert_eq!(finish.status, 400);
    let run = finished(child).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.event_names(), ["authorization_url", "error"]);
    assert!(!home.tokens_file().exists());
}

#[tokio::test]
async fn a_wrong_state_or_another_issuer_is_refused_and_nothing_is_stored() {
    let server = server(ServerConfig::default()).await;
    for (param, value, says) in [
        ("state", "forged-by-the-test", "state"),
        ("iss", "https://evil.example", "evil.example"),
    ] {
        let home = Home::new();
        let script = stand_in_browser(&home);
        let mut env = desktop(&script);
        env.push(("TVLOGIN_STORE", "file".into()));
        let child = spawn(&home, &login_args(&server, "browser"), &env);
        let redirect = consent(&opened_url(&script).await, "approve").await;
        let finish = follow(&with_param(&redirect, param, value)).await;
        assert_eq!(finish.status, 400, "{param}: {}", finish.body);
        let run = finished(child).await;
        assert_eq!(run.code, 2, "{param}: {}\n{}", run.stdout, run.stderr);
        let error = run.events().pop().expect("an error event");
        assert!(
            error["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(says)),
            "{param}: {error}"
        );
        assert!(!home.tokens_file().exists(), "{param}: tokens were stored");
    }
}

#[tokio::test]
async fn no_answer_from_the_browser_times_out_with_4() {
    let server = server(ServerConfig::default()).await;
    let home = Home::new();
    let script = stand_in_browser(&home);
    let mut env = desktop(&script);
    env.push(("TVLOGIN_BROWSER_TIMEOUT", "1".into()));
    let run = finished(spawn(&home, &login_args(&server, "browser"), &env)).await;
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
}

#[tokio::test]
async fn auto_with_the_device_grant_blocked_uses_the_browser_when_it_can() {
    let blocked = server(ServerConfig {
        knobs: Knobs {
            device_grant_blocked: true,
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    // A browser can be opened: the browser login.
    let home = Home::new();
    let script = stand_in_browser(&home);
    let child = spawn(&home, &login_args(&blocked, "auto"), &desktop(&script));
    let redirect = consent(&opened_url(&script).await, "approve").await;
    assert_eq!(follow(&redirect).await.status, 200);
    let run = finished(child).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.event_names(), ["authorization_url", "tokens"]);

    // Over SSH, without a display: exit 2, naming --flow browser and a ready ssh -L line.
    let home = Home::new();
    let env = [(
        "SSH_CONNECTION",
        "192.0.2.9 50000 198.51.100.7 22".to_owned(),
    )];
    let run = finished(spawn(&home, &login_args(&blocked, "auto"), &env)).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.event_names(), ["device_grant_refused", "error"]);
    let error = &run.events()[1];
    let text = error["error_description"].as_str().unwrap_or_default();
    assert!(text.contains("--flow browser"), "{text}");
    assert!(
        text.contains("ssh -L 8400:127.0.0.1:8400 198.51.100.7"),
        "{text}"
    );
    assert!(text.contains("does not allow the device flow"), "{text}");
}

#[tokio::test]
async fn the_device_event_names_the_host_and_warns_about_another_site() {
    // The verification page on another site: a warning in the event. Plain http to it: refused.
    let moved = server(ServerConfig {
        device_code_ttl: 1,
        knobs: Knobs {
            verification_uri: Some("https://device-login.example.net/activate".into()),
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let home = Home::new();
    let run = finished(spawn(&home, &login_args(&moved, "device"), &[])).await;
    let device = run.events().into_iter().next().expect("an event");
    assert_eq!(device["event"], "device_authorization", "{}", run.stdout);
    assert_eq!(device["verification_host"], "device-login.example.net");
    let warnings = device["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{device}");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.contains("example.net") && w.contains("127.0.0.1")),
        "{device}"
    );

    // Its own page: no warning.
    let own = server(ServerConfig {
        device_code_ttl: 1,
        ..ServerConfig::default()
    })
    .await;
    let run = finished(spawn(&home, &login_args(&own, "device"), &[])).await;
    let device = run.events().into_iter().next().expect("an event");
    assert_eq!(device["warnings"], serde_json::json!([]), "{device}");
    assert_eq!(
        device["verification_host"],
        format!("127.0.0.1:{}", own.local_addr().port())
    );

    let insecure = server(ServerConfig {
        knobs: Knobs {
            verification_uri: Some("http://device-login.example.net/activate".into()),
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let run = finished(spawn(&home, &login_args(&insecure, "device"), &[])).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.event_names(), ["error"]);
    assert_eq!(run.events()[0]["error"], "insecure_url");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_login_screen_in_a_real_terminal() {
    use crate::common::pty::{Pty, has};
    let server = server(ServerConfig::default()).await;
    let home = Home::new();
    let script = stand_in_browser(&home);
    let issuer = server.issuer_str();
    let browser = script.display().to_string();
    let mut session = Pty::tvlogin(
        home.dir.path(),
        &[
            "login",
            "--issuer",
            &issuer,
            "--client-id",
            DEMO_CLIENT_ID,
            "--flow",
            "browser",
        ],
        &[
            ("TVLOGIN_STORE", "memory"),
            ("DISPLAY", ":0"),
            ("BROWSER", &browser),
        ],
    );
    session.wait_for(Duration::from_secs(20), "browser-login screen", |rows| {
        has(rows, "Log in in your browser")
    });
    let url = opened_url(&script).await;
    session.wait_for(Duration::from_secs(5), "the URL and countdown", |rows| {
        has(rows, "Gives up in").and(has(rows, "copy URL"))
    });
    let redirect = consent(&url, "approve").await;
    assert_eq!(follow(&redirect).await.status, 200);
    session.wait_for(Duration::from_secs(15), "success", |rows| {
        has(rows, "✔ Logged in")
    });
    session.send(b"\r");
    assert_eq!(session.wait_exit().await, 0);
    assert!(
        session
            .rows()
            .iter()
            .any(|r| r.contains("tvlogin: logged in")),
        "{}",
        session.rows().join("\n")
    );
}
