//! The keyring store against a real Secret Service: gnome-keyring-daemon on a private D-Bus
//! session in a temporary HOME (tests/common/secret_service.rs), driven through the real
//! binary against the embedded server. What is in the keyring is read back with `secret-tool`,
//! as a person would. Also the failures people meet: a locked collection (at once when no
//! prompt can appear, after the time limit when the prompt never comes), a keyring daemon that
//! dies, and no D-Bus session at all.
//!
//! Where gnome-keyring, dbus-daemon or secret-tool cannot be had, each test prints why it was
//! skipped (or fails, when TVLOGIN_REQUIRE_REAL_PARTS is set, as in CI).

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::secret_service::{Prompter, SecretService};
use common::skip::{note, skip_or_fail};
use common::{Home, Run, quick};
use tvlogin_server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

/// Starts the private Secret Service, or reports the skip and returns `None`.
fn secret_service(test: &str, prompter: Prompter) -> Option<SecretService> {
    match SecretService::start(prompter) {
        Ok(s) => Some(s),
        Err(reason) => {
            skip_or_fail(test, &reason);
            None
        }
    }
}

/// Runs tvlogin on the private session (the keyring store unless `args` say otherwise).
async fn run(home: &Home, ss: &SecretService, args: &[&str]) -> Run {
    let env = ss.env();
    let mut env = SecretService::env_refs(&env);
    env.push(("TVLOGIN_STORE", "keyring"));
    home.run_with_env(args, &env).await
}

async fn login(home: &Home, ss: &SecretService, server: &ServerHandle, profile: &str) -> Run {
    run(
        home,
        ss,
        &[
            "login",
            "--profile",
            profile,
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--scope",
            "openid profile offline_access",
            "--store",
            "keyring",
            "--json",
        ],
    )
    .await
}

/// What the server's introspection endpoint says about a token.
async fn active(server: &ServerHandle, token: &str) -> bool {
    common::introspect(server, token).await["active"] == true
}

/// Prints a measured figure where `cargo test` shows it.
fn measured(what: &str, took: Duration) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "measured: {what}: {took:.2?}");
}

/// Prints what tvlogin said where `cargo test` shows it.
fn measured_text(what: &str, text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "said: {what}: {}", text.trim());
}

#[tokio::test]
async fn login_token_refresh_status_logout_through_a_real_secret_service() {
    let test = "login_token_refresh_status_logout_through_a_real_secret_service";
    let Some(ss) = secret_service(test, Prompter::None) else {
        return;
    };
    let server = common::server(quick(3600)).await;
    let home = Home::new();

    let run1 = login(&home, &ss, &server, "default").await;
    assert_eq!(run1.code, 0, "{}", run1.stderr);
    let tokens = run1.events().pop().unwrap_or_default();
    assert_eq!(tokens["event"], "tokens", "{}", run1.stdout);
    assert_eq!(tokens["store"], "keyring");

    // What a person sees in the keyring: three entries with clear labels and attributes, and
    // no leftover of the probe that checked the keyring before the flow.
    let mut items = ss.search(&[("service", "tvlogin")]);
    items.sort_by(|a, b| a.label.cmp(&b.label));
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "tvlogin ID token (profile \"default\")",
            "tvlogin access token (profile \"default\")",
            "tvlogin refresh token (profile \"default\")",
        ],
        "{items:?}"
    );
    for item in &items {
        let a = &item.attributes;
        assert_eq!(a.get("application").map(String::as_str), Some("tvlogin"));
        assert_eq!(a.get("profile").map(String::as_str), Some("default"));
        let token = a.get("token").cloned().unwrap_or_default();
        assert_eq!(
            a.get("username").cloned(),
            Some(format!("{token}:default")),
            "{item:?}"
        );
    }
    // `secret-tool search profile default` finds one profile's entries.
    assert_eq!(ss.search(&[("profile", "default")]).len(), 3);
    let refresh1 = ss.secret("refresh:default").unwrap_or_default();
    let access1 = ss.secret("access:default").unwrap_or_default();
    assert!(
        active(&server, &refresh1).await,
        "refresh token in the keyring"
    );

    // `token` prints the access token the keyring holds, without refreshing.
    let t = run(&home, &ss, &["token"]).await;
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert_eq!(t.stdout.trim(), access1);
    assert!(server.refreshes().is_empty());

    // A refresh rotates: the keyring holds the new refresh token, the server's current one.
    let r = run(&home, &ss, &["refresh"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("rotated") || r.stdout.contains("rotated"),
        "{r:?}"
    );
    let outcomes: Vec<String> = server.refreshes().into_iter().map(|x| x.outcome).collect();
    assert_eq!(outcomes, ["tokens"]);
    let refresh2 = ss.secret("refresh:default").unwrap_or_default();
    let access2 = ss.secret("access:default").unwrap_or_default();
    assert_ne!(
        refresh2, refresh1,
        "the keyring still holds the spent refresh token"
    );
    assert_ne!(access2, access1);
    assert!(
        active(&server, &refresh2).await,
        "the rotated refresh token"
    );
    assert!(!active(&server, &refresh1).await, "the spent one");
    // Still three entries: the rotation replaced them rather than adding more.
    assert_eq!(ss.search(&[("service", "tvlogin")]).len(), 3);
    let t = run(&home, &ss, &["token"]).await;
    assert_eq!(t.stdout.trim(), access2, "{}", t.stderr);

    let s = run(&home, &ss, &["status", "--json"]).await;
    assert_eq!(s.code, 0, "{}", s.stderr);
    let text = s.stdout.clone();
    assert!(text.contains("\"keyring\""), "{text}");
    assert!(
        !text.contains(&refresh2) && !text.contains(&access2),
        "status shows no secret"
    );

    let l = run(&home, &ss, &["logout"]).await;
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(
        ss.search(&[("service", "tvlogin")]).is_empty(),
        "entries left after logout: {:?}",
        ss.search(&[("service", "tvlogin")])
    );
    assert!(
        !active(&server, &refresh2).await,
        "logout revoked the refresh token"
    );
    let t = run(&home, &ss, &["token"]).await;
    assert_ne!(t.code, 0, "{}", t.stderr);
    assert!(t.stderr.contains("not logged in"), "{}", t.stderr);
    assert!(t.stdout.is_empty(), "{}", t.stdout);
}

#[tokio::test]
async fn two_profiles_keep_separate_entries() {
    let test = "two_profiles_keep_separate_entries";
    let Some(ss) = secret_service(test, Prompter::None) else {
        return;
    };
    let server = common::server(quick(3600)).await;
    let home = Home::new();
    for profile in ["work", "home"] {
        let r = login(&home, &ss, &server, profile).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(ss.search(&[("profile", "work")]).len(), 3);
    assert_eq!(ss.search(&[("profile", "home")]).len(), 3);
    let l = run(&home, &ss, &["logout", "--profile", "work"]).await;
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(ss.search(&[("profile", "work")]).is_empty());
    assert_eq!(ss.search(&[("profile", "home")]).len(), 3);
    let t = run(&home, &ss, &["token", "--profile", "home"]).await;
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert_eq!(
        t.stdout.trim(),
        ss.secret("access:home").unwrap_or_default()
    );
}

/// The locked-collection message: names the lock, how to unlock, and the other stores.
fn assert_says_how_to_unlock(run: &Run) {
    assert_eq!(run.code, 2, "{run:?}");
    let e = &run.stderr;
    assert!(e.contains("unlock the login keyring"), "{e}");
    assert!(e.contains("--store file"), "{e}");
    assert!(run.stdout.is_empty(), "no token printed: {}", run.stdout);
}

#[tokio::test]
async fn a_locked_collection_without_a_prompter_fails_at_once_and_says_how_to_unlock() {
    let test = "a_locked_collection_without_a_prompter_fails_at_once_and_says_how_to_unlock";
    let Some(ss) = secret_service(test, Prompter::None) else {
        return;
    };
    let server = common::server(quick(1)).await;
    let home = Home::new();
    let r = login(&home, &ss, &server, "default").await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let refresh = ss.secret("refresh:default").unwrap_or_default();
    ss.lock();

    let t = run(&home, &ss, &["token", "--min-ttl", "7200"]).await;
    measured("token on a locked collection, no prompter", t.elapsed);
    assert_says_how_to_unlock(&t);
    assert!(t.stderr.contains("locked"), "{}", t.stderr);
    // The refresh token was not spent: it could not even be read.
    assert!(server.refreshes().is_empty());

    let l = run(
        &home,
        &ss,
        &[
            "login",
            "--profile",
            "other",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--json",
        ],
    )
    .await;
    measured("login probe on a locked collection, no prompter", l.elapsed);
    // Reported before the device flow: no code was shown to anyone.
    assert_eq!(l.code, 2, "{l:?}");
    assert!(!l.stdout.contains("device_authorization"), "{}", l.stdout);
    assert!(
        l.stdout.contains("unlock the login keyring"),
        "{}",
        l.stdout
    );

    // Unlocked again (a restart with the password), everything is still there.
    drop_and_restart(ss, home, server, refresh).await;
}

/// Restarts the keyring daemon (unlocking the collection) and checks the session is intact.
async fn drop_and_restart(
    mut ss: SecretService,
    home: Home,
    server: ServerHandle,
    refresh: String,
) {
    ss.kill_keyring();
    ss.start_keyring();
    assert_eq!(ss.secret("refresh:default"), Some(refresh.clone()));
    let r = run(&home, &ss, &["refresh"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(ss.secret("refresh:default"), Some(refresh));
    drop(server);
}

#[tokio::test]
async fn a_locked_collection_whose_prompt_never_comes_times_out() {
    let test = "a_locked_collection_whose_prompt_never_comes_times_out";
    let Some(ss) = secret_service(test, Prompter::NeverAnswers) else {
        return;
    };
    let server = common::server(quick(1)).await;
    let home = Home::new();
    let r = login(&home, &ss, &server, "default").await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    ss.lock();

    // The client's unlock request really hangs here: secret-tool waits with it.
    let started = Instant::now();
    let mut hung = std::process::Command::new("timeout")
        .args(["2", "secret-tool", "lookup", "service", "tvlogin"])
        .args(["username", "refresh:default"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(ss.env())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn secret-tool under timeout");
    let status = hung.wait().expect("wait for secret-tool");
    assert_eq!(status.code(), Some(124), "secret-tool did not hang");
    assert!(started.elapsed() >= Duration::from_secs(2));

    // tvlogin gives up after its time limit and says what to do.
    let t = run(&home, &ss, &["token", "--min-ttl", "7200"]).await;
    measured(
        "token on a locked collection whose prompt never comes",
        t.elapsed,
    );
    assert_says_how_to_unlock(&t);
    assert!(
        t.stderr.contains("did not answer within 5s"),
        "{}",
        t.stderr
    );
    assert!(server.refreshes().is_empty(), "nothing spent");

    let l = run(
        &home,
        &ss,
        &[
            "login",
            "--profile",
            "other",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--json",
        ],
    )
    .await;
    measured(
        "login probe on a locked collection whose prompt never comes",
        l.elapsed,
    );
    assert_eq!(l.code, 2, "{l:?}");
    assert!(!l.stdout.contains("device_authorization"), "{}", l.stdout);
    assert!(
        l.stdout.contains("did not answer within 10s"),
        "{}",
        l.stdout
    );
    assert!(
        l.stdout.contains("unlock the login keyring"),
        "{}",
        l.stdout
    );
}

#[tokio::test]
async fn a_keyring_daemon_that_dies_loses_nothing() {
    let test = "a_keyring_daemon_that_dies_loses_nothing";
    let Some(mut ss) = secret_service(test, Prompter::None) else {
        return;
    };
    let server = common::server(quick(1)).await;
    let home = Home::new();
    let r = login(&home, &ss, &server, "default").await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let refresh = ss.secret("refresh:default").unwrap_or_default();
    let access = ss.secret("access:default").unwrap_or_default();

    ss.kill_keyring();
    let t = run(&home, &ss, &["token", "--min-ttl", "0"]).await;
    measured("token with the keyring daemon gone", t.elapsed);
    assert_eq!(t.code, 2, "{t:?}");
    assert!(t.stderr.contains("no Secret Service"), "{}", t.stderr);
    assert!(t.stderr.contains("--store file"), "{}", t.stderr);
    let r = run(&home, &ss, &["refresh"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(server.refreshes().is_empty(), "a refresh token was spent");
    // status reads only the state file: it still works and still says keyring.
    let s = run(&home, &ss, &["status", "--json"]).await;
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(s.stdout.contains("\"keyring\""), "{}", s.stdout);

    // The daemon comes back: the session is intact, on disk in its keyring file.
    ss.start_keyring();
    assert_eq!(ss.secret("refresh:default"), Some(refresh.clone()));
    let t = run(&home, &ss, &["token"]).await;
    assert_eq!(t.code, 0, "{}", t.stderr);
    let r = run(&home, &ss, &["refresh"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rotated = ss.secret("refresh:default").unwrap_or_default();
    assert_ne!(rotated, refresh);
    assert!(active(&server, &rotated).await);
    assert_ne!(ss.secret("access:default").unwrap_or_default(), access);
}

#[tokio::test]
async fn a_keyring_daemon_that_dies_during_a_login_is_reported() {
    let test = "a_keyring_daemon_that_dies_during_a_login_is_reported";
    let Some(mut ss) = secret_service(test, Prompter::None) else {
        return;
    };
    // No automatic decision: the test approves once the daemon is gone.
    let server = Arc::new(
        common::server(ServerConfig {
            interval: 1,
            ..ServerConfig::default()
        })
        .await,
    );
    let home = Home::new();
    let env = ss.env();
    let mut env = SecretService::env_refs(&env);
    env.push(("TVLOGIN_STORE", "keyring"));
    let issuer = server.issuer_str();
    let child = home
        .command(
            &[
                "login",
                "--issuer",
                &issuer,
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "openid offline_access",
                "--json",
            ],
            &env,
        )
        .spawn()
        .expect("spawn tvlogin login");
    // The probe passed (a code is pending); then the keyring dies.
    let started = Instant::now();
    while server.pending_user_codes().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "no code");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ss.kill_keyring();
    for code in server.pending_user_codes() {
        server.approve(&code).expect("approve the code");
    }
    let out = common::output_of(child, "login with the keyring gone").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let said = format!("{stdout}{stderr}");
    measured_text("login whose keyring died before the tokens came", &said);
    assert!(said.contains("no Secret Service"), "{said}");
    assert!(!said.contains("\"event\":\"tokens\""), "{said}");
}

#[tokio::test]
async fn without_a_session_bus_the_keyring_is_unavailable() {
    // No programs needed: an empty runtime dir and no bus address, as over SSH or in a
    // container.
    let dir = tempfile::tempdir().expect("create a temp dir");
    let runtime = dir.path().display().to_string();
    let home = Home::new();
    let env = [
        ("XDG_RUNTIME_DIR", runtime.as_str()),
        ("HOME", runtime.as_str()),
        ("DBUS_SESSION_BUS_ADDRESS", ""),
        ("TVLOGIN_STORE", ""),
    ];
    let d = home.run_with_env(&["doctor"], &env).await;
    let line = d
        .stdout
        .lines()
        .find(|l| l.contains("Secret Service"))
        .unwrap_or_else(|| panic!("{}", d.stdout));
    assert!(line.contains("no D-Bus session bus"), "{line}");
    let keyutils_works = d
        .stdout
        .lines()
        .any(|l| l.contains("[ok]") && l.contains("keyutils"));
    if keyutils_works {
        // Not a missing package: this machine's kernel keyring works, and a login would use
        // it (and write to it), so only the doctor half applies.
        note(
            "without_a_session_bus_the_keyring_is_unavailable",
            "login half not run: the kernel keyutils keyring works here, so a login would use it",
        );
        return;
    }
    let server = common::server(quick(3600)).await;
    let l = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--store",
                "keyring",
            ],
            &env,
        )
        .await;
    assert_eq!(l.code, 2, "{l:?}");
    assert!(l.stderr.contains("no D-Bus session bus"), "{}", l.stderr);
    assert!(l.stderr.contains("--store file"), "{}", l.stderr);
    assert!(server.pending_user_codes().is_empty(), "no flow started");
}
