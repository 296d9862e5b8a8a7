//! The browser is started with an environment holding no secret: a stand-in browser named by
//! `BROWSER` writes the environment it received, and neither the client secret's variable,
//! `TVLOGIN_CLIENT_SECRET` nor any value carrying a secret is in it.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;

use tvlogin::child_env::ChildEnv;

#[test]
fn the_browser_gets_no_secret() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let out = dir.path().join("env.txt");
    let script = dir.path().join("stand-in-browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > '{}'\necho \"$1\" >> '{}'\n",
            out.display(),
            out.display()
        ),
    )
    .expect("write the stand-in browser");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("make the stand-in browser executable");
    let client_secret = "client-secret-value-42";
    let vars: Vec<(OsString, OsString)> = [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/home/someone"),
        ("BROWSER", script.to_str().unwrap_or_default()),
        ("MY_CLIENT_SECRET", client_secret),
        ("TVLOGIN_CLIENT_SECRET", "global-secret-value-43"),
        ("SOME_COPY", client_secret),
        ("LANG", "C.UTF-8"),
    ]
    .iter()
    .map(|(k, v)| (OsString::from(k), OsString::from(v)))
    .collect();
    let env = ChildEnv::new()
        .without_var("MY_CLIENT_SECRET")
        .without_value(client_secret);
    let url = url::Url::parse("https://idp.example/device?user_code=ABCD-EFGH")
        .expect("parse the verification URL");
    tvlogin::browser::open_from(&url, &env, vars).expect("start the stand-in browser");
    // The launcher is waited for (it exits at once), so the file is complete.
    let seen = std::fs::read_to_string(&out).expect("read what the browser recorded");
    assert!(
        seen.contains(url.as_str()),
        "the URL is the argument: {seen}"
    );
    assert!(
        seen.contains("HOME=/home/someone"),
        "the rest is kept: {seen}"
    );
    for secret in [
        client_secret,
        "global-secret-value-43",
        "MY_CLIENT_SECRET",
        "TVLOGIN_CLIENT_SECRET",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the browser: {seen}"
        );
    }
}

/// The real binary: a login screen in a pseudo-terminal, `o` pressed, and the stand-in
/// browser named by `BROWSER` records its environment. The client secret (from
/// `--client-secret-env`) and `TVLOGIN_CLIENT_SECRET` are not in it; the URL is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_screens_browser_key_passes_no_secret() {
    let (server, seen, _) = press_o_on_the_login_screen(&[]).await;
    let seen = seen.expect("the browser was started");
    assert!(
        seen.contains(&format!("URL={}/device", server.issuer_str())),
        "{seen}"
    );
    assert!(
        seen.contains("TVLOGIN_CONFIG_DIR="),
        "the rest is kept: {seen}"
    );
    for secret in [
        tvlogin_server::BASIC_CLIENT_SECRET,
        "the-global-secret-value",
        "MY_CS=",
        "TVLOGIN_CLIENT_SECRET=",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the browser:\n{seen}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_browser_keeps_o_from_starting_one_and_says_why() {
    let (server, seen, screen) = press_o_on_the_login_screen(&["--no-browser"]).await;
    assert!(seen.is_none(), "a browser was started: {seen:?}");
    assert!(screen.contains("--no-browser was given"), "{screen}");
    server.shutdown().await;
}

/// Starts `tvlogin login` (a confidential client whose secret is in `MY_CS`) in a PTY with a
/// display and a stand-in browser named by `BROWSER`, presses `o`, and returns the server,
/// the environment the browser received (`None` when none started within a few seconds)
/// and the screen.
async fn press_o_on_the_login_screen(
    extra: &[&str],
) -> (tvlogin_server::ServerHandle, Option<String>, String) {
    use common::pty::Pty;
    use std::time::{Duration, Instant};
    use tvlogin_server::{BASIC_CLIENT_ID, BASIC_CLIENT_SECRET, ServerConfig, ServerHandle};

    let server = ServerHandle::start(ServerConfig::default())
        .await
        .expect("start the embedded server");
    let dir = tempfile::tempdir().expect("create a temp dir");
    let out = dir.path().join("env.txt");
    let script = dir.path().join("stand-in-browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > '{0}.tmp'\necho \"URL=$1\" >> '{0}.tmp'\nmv '{0}.tmp' '{0}'\n",
            out.display()
        ),
    )
    .expect("write the stand-in browser");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("make the stand-in browser executable");

    let issuer = server.issuer_str();
    let mut args = vec![
        "login",
        "--issuer",
        &issuer,
        "--client-id",
        BASIC_CLIENT_ID,
        "--client-secret-env",
        "MY_CS",
        "--store",
        "memory",
    ];
    args.extend_from_slice(extra);
    let mut command = common::pty::tvlogin(dir.path(), &args);
    command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("DISPLAY", ":99");
    command.env("BROWSER", &script);
    command.env("MY_CS", BASIC_CLIENT_SECRET);
    command.env("TVLOGIN_CLIENT_SECRET", "the-global-secret-value");
    let mut terminal = Pty::spawn(command, common::pty::ROWS, common::pty::COLS);
    // The waiting screen is up once the server has a pending code.
    terminal.wait_until(Duration::from_secs(30), "login screen", |t| {
        (!server.pending_user_codes().is_empty() && t.contents().contains("open")).then_some(())
    });
    terminal.send(b"o");
    // A browser that starts writes its environment at once; a refusal is a notice on screen.
    let until = Instant::now() + Duration::from_secs(if extra.is_empty() { 30 } else { 3 });
    while !out.exists() && Instant::now() < until {
        terminal.read(Duration::from_millis(100));
    }
    let seen = std::fs::read_to_string(&out).ok();
    terminal.kill();
    (server, seen, terminal.contents())
}
