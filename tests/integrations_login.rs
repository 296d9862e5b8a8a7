//! Helpers with no session: without a terminal they fail at once (nothing on stdout, the
//! login hint on stderr, exit 7, no device code requested); with a terminal — a real
//! pseudo-terminal here — `git-credential` runs the device login on /dev/tty and then answers
//! git.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use tokio::io::AsyncWriteExt;
use tvlogin::server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

/// A profile that could log in (issuer, client, file store) but has never done so.
fn configure(home: &common::Home, server: &ServerHandle) {
    home.config(&format!(
        "[profiles.default]\nissuer = \"{}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nstore = \"file\"\n\
         docker_registries = [\"registry.example.test\"]\n",
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
    let output = tokio::time::timeout(common::PROCESS_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("tvlogin {args:?} hung"))
        .expect("wait for tvlogin");
    common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
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
        eprintln!("SKIPPED: setsid (util-linux) is not available to detach from the terminal");
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

/// The user code on screen: two groups of four from RFC 8628's base-20 alphabet.
fn find_code(rows: &[String]) -> Option<String> {
    const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";
    rows.iter()
        .flat_map(|r| r.split_whitespace())
        .find_map(|word| {
            let ok = word.len() == 9
                && word.chars().enumerate().all(|(i, c)| {
                    if i == 4 {
                        c == '-'
                    } else {
                        ALPHABET.contains(c)
                    }
                });
            ok.then(|| word.to_owned())
        })
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
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pseudo-terminal");
    let mut command = CommandBuilder::new("sh");
    command.args([
        "-c",
        &format!(
            "printf 'protocol=https\\nhost=git.example.test\\n\\n' | '{}' git-credential get > '{}'",
            env!("CARGO_BIN_EXE_tvlogin"),
            out.display()
        ),
    ]);
    command.env_clear();
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env("TERM", "xterm-256color");
    command.env("TVLOGIN_CONFIG_DIR", home.dir.path().join("config"));
    command.env("TVLOGIN_DATA_DIR", home.dir.path().join("data"));
    let mut child = pty
        .slave
        .spawn_command(command)
        .expect("spawn git-credential in the pseudo-terminal");
    drop(pty.slave);
    let mut reader = pty
        .master
        .try_clone_reader()
        .expect("clone the terminal's reader");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _master = pty.master;
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = vt100::Parser::new(40, 120, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        let rows: Vec<String> = screen.screen().rows(0, 120).collect();
        if let Some(code) = find_code(&rows) {
            break code;
        }
        assert!(
            Instant::now() < deadline,
            "no code on the terminal:\n{}",
            rows.join("\n")
        );
        if let Ok(bytes) = rx.recv_timeout(Duration::from_millis(200)) {
            screen.process(&bytes);
        }
    };
    let rows: Vec<String> = screen.screen().rows(0, 120).collect();
    let text = rows.join("\n");
    assert!(text.contains("not logged in; signing in"), "{text}");
    assert!(
        text.contains(&format!("{}/device", server.issuer_str())),
        "{text}"
    );
    assert_eq!(server.pending_user_codes(), vec![code.clone()]);
    // The QR code on the terminal opens the verification page with the code filled in.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows: Vec<String> = screen.screen().rows(0, 120).collect();
        let qr = common::screen::decode_qr(&rows);
        if qr == vec![format!("{}/device?user_code={code}", server.issuer_str())] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no QR code on the terminal:\n{}",
            rows.join("\n")
        );
        if let Ok(bytes) = rx.recv_timeout(Duration::from_millis(200)) {
            screen.process(&bytes);
        }
    }

    // The phone approves at the verification page.
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build the HTTP client")
        .post(server.verification_uri())
        .form(&[("user_code", code.as_str()), ("action", "approve")])
        .send()
        .await
        .expect("approve at the verification page");
    assert!(page.status().is_success());

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join the waiting thread")
        .expect("wait for the shell");
    assert_eq!(status.exit_code(), 0);
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
