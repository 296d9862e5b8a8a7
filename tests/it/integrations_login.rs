//! Helpers with no session: without a terminal they fail at once (nothing on stdout, the
//! login hint on stderr, exit 7, no device code requested); with a terminal — a real
//! pseudo-terminal here — `git-credential` runs the device login on /dev/tty and then answers
//! git.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::approve_at_the_page;
use common::pty::{self, Pty, find_code};
use tokio::io::AsyncWriteExt;
use tvlogin_server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

/// A profile that could log in (issuer, client, file store) but has never done so, set up
/// for the git host and the registry the helpers are asked about.
fn configure(home: &common::Home, server: &ServerHandle) {
    home.config(&format!(
        "[profiles.default]\nissuer = \"{}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nstore = \"file\"\n\
         docker_registries = [\"registry.example.test\"]\ngit_hosts = [\"git.example.test\"]\n",
        server.issuer_str()
    ));
}

/// Runs `tvlogin args…` in a new session (`setsid`): no controlling terminal at all, stderr
/// a pipe — as under a CI job, an IDE or a daemon.
async fn run_detached(
    home: &common::Home,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> common::Run {
    let mut command = home.command(&[], env);
    let mut full = vec!["-w".to_owned(), env!("CARGO_BIN_EXE_tvlogin").to_owned()];
    full.extend(args.iter().map(|a| (*a).to_owned()));
    let std_command = command.as_std_mut();
    // The same environment as every other test's tvlogin, run through setsid.
    let mut setsid = tokio::process::Command::new("setsid");
    setsid
        .args(&full)
        .env_clear()
        .envs(
            std_command
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = setsid.spawn().expect("spawn setsid");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes()).await;
    }
    let output = common::output_of(child, &format!("tvlogin {args:?}")).await;
    common::Run::new(output, started)
}

/// A helper's arguments, extra environment, and stdin.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_without_a_session_or_a_terminal_fail_fast_with_the_hint() {
    if std::process::Command::new("setsid")
        .arg("true")
        .status()
        .is_err()
    {
        common::skip::skip_or_fail(
            "helpers_without_a_session_or_a_terminal_fail_fast_with_the_hint",
            "setsid (util-linux) is not available to detach from the terminal",
        );
        return;
    }
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    configure(&home, &server);
    let not_interactive = r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}"#;
    let cases: [Case; 4] = [
        (
            &["git-credential", "get"],
            &[],
            "protocol=https\nhost=git.example.test\n\n",
        ),
        (
            &["kubectl-credential"],
            &[("KUBERNETES_EXEC_INFO", not_interactive)],
            "",
        ),
        (&["exec", "--", "true"], &[], ""),
        (
            &["docker-credential", "get"],
            &[],
            "registry.example.test\n",
        ),
    ];
    for (args, env, stdin) in cases {
        let mut env = env.to_vec();
        env.push(("TVLOGIN_STORE", ""));
        let run = run_detached(&home, args, &env, stdin).await;
        assert_eq!(run.code, 7, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("hint: log in again: tvlogin login --profile default"),
            "{args:?}: {}",
            run.stderr
        );
        if args[0] == "docker-credential" {
            // docker shows a helper's stdout, not its stderr: the protocol's error channel.
            assert!(!run.stdout.contains("Secret"), "{}", run.stdout);
            assert!(run.stdout.contains("tvlogin login"), "{}", run.stdout);
        } else {
            assert_eq!(run.stdout, "", "{args:?}: nothing on stdout");
        }
    }
    // Failing fast means not waiting for anyone: no device code was even requested (a login
    // would sit polling until the process limit of the test ends it).
    assert!(
        server.pending_user_codes().is_empty() && server.polls().is_empty(),
        "no device login was started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_credential_logs_in_on_the_terminal_then_answers() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    configure(&home, &server);
    let out = home.dir.path().join("answer");

    // As git runs it: the request on a pipe, the answer into a pipe (a file here), and the
    // person at the controlling terminal.
    let mut command = pty::command("sh", home.dir.path());
    command.args([
        "-c",
        &format!(
            "printf 'protocol=https\\nhost=git.example.test\\n\\n' | '{}' git-credential get > '{}'",
            env!("CARGO_BIN_EXE_tvlogin"),
            out.display()
        ),
    ]);
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    let mut terminal = Pty::spawn(command, 40, 120);
    let code = terminal.wait_for(Duration::from_secs(30), "code", find_code);
    let text = terminal.rows().join("\n");
    assert!(text.contains("not logged in; signing in"), "{text}");
    assert!(
        text.contains(&format!("{}/device", server.issuer_str())),
        "{text}"
    );
    assert_eq!(server.pending_user_codes(), vec![code.clone()]);
    // The QR code on the terminal opens the verification page with the code filled in.
    let qr = vec![format!("{}/device?user_code={code}", server.issuer_str())];
    terminal.wait_for(Duration::from_secs(10), "QR code", |rows| {
        (common::screen::decode_qr(rows) == qr).then_some(())
    });

    // The phone approves at the verification page.
    approve_at_the_page(&server, &code).await;

    let status = terminal.wait_exit().await;
    assert_eq!(status, 0);
    let answer = std::fs::read_to_string(&out).unwrap_or_default();
    let password = answer
        .lines()
        .find_map(|l| l.strip_prefix("password="))
        .unwrap_or_else(|| panic!("no password in {answer:?}"));
    assert!(answer.starts_with("username=oauth2\n"), "{answer}");
    assert!(answer.contains("password_expiry_utc="), "{answer}");
    // The answer is a token the issuer considers active, and the login was kept.
    let userinfo = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build the HTTP client")
        .get(server.userinfo_endpoint())
        .bearer_auth(password)
        .send()
        .await
        .expect("send the userinfo request");
    assert_eq!(userinfo.status().as_u16(), 200);
    let token = home
        .run_with_env(&["token"], &[("TVLOGIN_STORE", "")])
        .await;
    assert_eq!(token.code, 0, "{}", token.stderr);
    assert_eq!(token.stdout.trim(), password);
}

/// A profile that exists only as a remembered login (logged in with flags, no config.toml,
/// then logged out): a credential helper logs it in again on the terminal the way it last
/// did, through the same resolver as `tvlogin login --profile P` (it used to re-parse a fake
/// command line that knew nothing of the remembered login).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_logs_in_again_a_profile_known_only_from_its_remembered_login() {
    let (server, home) = common::logged_in(common::quick(300)).await;
    assert!(
        !home.dir.path().join("config").join("config.toml").exists(),
        "the profile must exist only as a remembered login"
    );
    let logout = home
        .run_with_env(&["logout"], &[("TVLOGIN_STORE", "")])
        .await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let out = home.dir.path().join("answer");
    let mut command = pty::command("sh", home.dir.path());
    command.args([
        "-c",
        &format!(
            "printf 'protocol=https\\nhost=git.example.test\\n\\n' | '{}' git-credential \
             --profile default get > '{}'",
            env!("CARGO_BIN_EXE_tvlogin"),
            out.display()
        ),
    ]);
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env("TVLOGIN_STORE", "file");
    let mut terminal = Pty::spawn(command, 40, 120);
    terminal.wait_for_text(Duration::from_secs(30), "signing in");
    let status = terminal.wait_exit().await;
    assert_eq!(status, 0, "{}", terminal.rows().join("\n"));
    let answer = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(answer.contains("password="), "{answer}");
    // The new login went to the server the profile remembered.
    let logins = server
        .polls()
        .iter()
        .filter(|p| p.outcome == "tokens")
        .count();
    assert_eq!(logins, 2, "the first login and the helper's");
}
