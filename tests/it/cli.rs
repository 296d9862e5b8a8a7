//! The command-line contract: help, usage errors, profiles from config.toml, `serve`, `demo`.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::{Home, server};
use tokio::io::AsyncBufReadExt;
use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, ServerConfig};

#[tokio::test]
async fn help_lists_the_working_subcommands() {
    let run = Home::new().run(&["--help"]).await;
    assert_eq!(run.code, 0);
    for word in ["login", "demo", "serve"] {
        assert!(
            run.stdout.contains(word),
            "{word} missing from --help: {}",
            run.stdout
        );
    }
    // The exit codes come from the one table in exit.rs, exec's 126/127 included (the help
    // text is wrapped to the terminal's width).
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for code in [
        "7 not logged in",
        "126 exec: the command cannot be executed",
        "127 exec: the command was not found",
    ] {
        assert!(words.contains(code), "{code} missing: {}", run.stdout);
    }
    let run = Home::new().run(&["login", "--help"]).await;
    for flag in [
        "--issuer",
        "--provider",
        "--client-id",
        "--client-secret-env",
        "--auth",
        "--scope",
        "--audience",
        "--resource",
        "--json",
        "--no-tui",
        "--allow-http",
        "--profile",
    ] {
        assert!(
            run.stdout.contains(flag),
            "{flag} missing from login --help"
        );
    }
    assert!(
        !run.stdout.contains("--client-secret "),
        "a secret must never be a flag"
    );
}

/// `tvlogin --help` says that no command opens the dashboard; the man page says it too, has
/// EXIT STATUS from the one table (7 included), ENVIRONMENT and FILES, setup's tools, and
/// synopses with the flags' values; `man --dir` writes a page per command, so no page it
/// names is missing.
#[tokio::test]
async fn help_and_the_man_page_cover_the_dashboard_exit_codes_and_every_command() {
    let home = Home::new();
    for flag in ["--help", "-h"] {
        let run = home.run(&[flag]).await;
        let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("Without a command, tvlogin opens the dashboard"),
            "{flag}: {}",
            run.stdout
        );
    }
    let run = home.run(&["man"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = &run.stdout;
    assert!(page.contains("Without a command, tvlogin opens the dashboard"));
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"TVLOGIN SETUP GIT\"",
        ".SH \"TVLOGIN SETUP KUBECTL\"",
        ".SH \"TVLOGIN SETUP DOCKER\"",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
    for (code, _) in tvlogin::exit::CONTRACT {
        assert!(
            page.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit {code}"
        );
    }
    assert!(page.contains("\\fB7\\fR\nnot logged in"));
    assert!(page.contains("[\\fB\\-\\-profile\\fR \\fINAME\\fR]"));
    assert!(!page.contains("tvlogin\\-login(1)") && !page.contains("tvlogin-login(1)"));

    let dir = home.dir.path().join("man1");
    let run = home.run(&["man", "--dir", &dir.to_string_lossy()]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for name in [
        "tvlogin",
        "tvlogin-login",
        "tvlogin-token",
        "tvlogin-setup",
        "tvlogin-setup-git",
        "tvlogin-setup-kubectl",
        "tvlogin-setup-docker",
        "tvlogin-man",
    ] {
        let path = dir.join(format!("{name}.1"));
        assert!(path.exists(), "{name}.1 not written");
        assert!(
            run.stdout.contains(&path.display().to_string()),
            "{name}.1 not listed"
        );
    }
    // man itself can read what was written, when it is installed.
    if let Ok(out) = std::process::Command::new("man")
        .arg("-l")
        .arg(dir.join("tvlogin-setup-git.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("tvlogin setup git"), "{text}");
        assert!(text.contains("EXIT STATUS"), "{text}");
    }
}

#[tokio::test]
async fn setup_help_documents_force_undo_and_dry_run() {
    for tool in ["git", "kubectl", "docker"] {
        let run = Home::new().run(&["setup", tool, "--help"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        for flag in ["--dry-run", "--force", "--undo", "tvlogin-backup"] {
            assert!(
                run.stdout.contains(flag),
                "{flag} missing from setup {tool} --help: {}",
                run.stdout
            );
        }
    }
    let run = Home::new().run(&["setup", "--help"]).await;
    assert!(run.stdout.contains("--undo"), "{}", run.stdout);
    let run = Home::new()
        .run(&["setup", "git", "https://h.example", "--force", "--undo"])
        .await;
    assert_eq!(run.code, 2, "--force and --undo exclude each other");
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let home = Home::new();
    let run = home.run(&["login"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no authorization server given"),
        "{}",
        run.stderr
    );
    let run = home
        .run(&["login", "--provider", "okta", "--client-id", "c"])
        .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--domain"), "{}", run.stderr);
    let run = home.run(&["login", "--bogus"]).await;
    assert_eq!(run.code, 2);
    let run = home.run(&["serve", "--quirks", "nope"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("github"),
        "should list valid quirks: {}",
        run.stderr
    );
}

#[tokio::test]
async fn a_bad_config_file_is_named() {
    let home = Home::new();
    home.config("[profiles.default]\nissuer = 42\n");
    let run = home.run(&["login"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("config.toml is not valid"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn profiles_from_config_toml_with_env_and_flags_over_them() {
    let server = server(ServerConfig {
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let home = Home::new();
    home.config(&format!(
        "[profiles.work]\nissuer = \"{}\"\nclient_id = \"not-registered\"\nscope = \"openid\"\n",
        server.issuer_str()
    ));
    // The profile alone names an unknown client: a configuration error from the server.
    let run = home.run(&["login", "--profile", "work", "--json"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    // The environment overrides the profile...
    let run = home
        .run_with_env(
            &["login", "--json"],
            &[
                ("TVLOGIN_PROFILE", "work"),
                ("TVLOGIN_CLIENT_ID", DEMO_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // ...and a flag overrides the environment.
    let run = home
        .run_with_env(
            &[
                "login",
                "--profile",
                "work",
                "--client-id",
                DEMO_CLIENT_ID,
                "--json",
            ],
            &[("TVLOGIN_CLIENT_ID", "nope")],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tokens = run.events().pop().unwrap_or_default();
    assert_eq!(tokens["scope"], "openid");
    // A profile that does not exist is named, with the ones that do.
    let run = home.run(&["login", "--profile", "home"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no profile named \"home\"") && run.stderr.contains("work"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn serve_prints_its_issuer_and_answers_discovery() {
    let home = Home::new();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tvlogin"))
        .args(["serve", "--quirks", "keycloak"])
        .env("TVLOGIN_CONFIG_DIR", home.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tvlogin serve");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("serve printed nothing")
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build the HTTP client");
    let doc: serde_json::Value = client
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("fetch the discovery document")
        .json()
        .await
        .expect("parse the discovery document");
    assert_eq!(doc["issuer"], issuer.as_str());
    assert!(doc["device_authorization_endpoint"].as_str().is_some());
    child.kill().await.ok();
}

#[tokio::test]
async fn demo_runs_the_whole_flow_with_no_account() {
    let run = Home::new()
        .run(&["demo", "--approve-after", "1", "--json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names = run.event_names();
    assert_eq!(
        names.first().map(String::as_str),
        Some("device_authorization")
    );
    assert_eq!(names.last().map(String::as_str), Some("tokens"));
    let plain = Home::new()
        .run(&["demo", "--approve-after", "1", "--quirks", "github"])
        .await;
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(plain.stderr.contains("Enter the code:"), "{}", plain.stderr);
    assert!(plain.stderr.contains("Logged in"), "{}", plain.stderr);
}

#[tokio::test]
async fn no_command_off_a_terminal_prints_the_status_table() {
    let home = Home::new();
    let run = home.run(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("No profiles yet"), "{}", run.stdout);
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no escape sequences: {:?}",
        run.stdout
    );
    home.config("[profiles.work]\nissuer = \"https://login.example.com\"\nclient_id = \"c\"\nauto_refresh = false\nrefresh_before = 120\n");
    let run = home.run(&[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("PROFILE"), "{}", run.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("work") && l.contains("(not logged in)")),
        "{}",
        run.stdout
    );
}

/// With nothing stored and nothing configured, every hint is a command that works: a whole
/// `tvlogin login --issuer URL --client-id ID` line, never `tvlogin login --profile default`
/// (which fails with "no authorization server given").
#[tokio::test]
async fn hints_with_nothing_stored_are_whole_login_lines() {
    let home = Home::new();
    let whole = "tvlogin login --issuer URL --client-id ID";
    for args in [&["token"][..], &["refresh"], &["exec", "--", "true"]] {
        let run = home.run(args).await;
        assert_eq!(run.code, 7, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(run.stderr.contains(whole), "{args:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains("--profile default"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let status = home.run(&["status"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains(whole), "{}", status.stdout);
    let doctor = home.run(&["doctor"]).await;
    assert!(doctor.stdout.contains(whole), "{}", doctor.stdout);
    // The line it shows works as far as naming a server: with one, the hint stays short.
    home.config("[profiles.default]\nissuer = \"https://login.example.com\"\nclient_id = \"c\"\n");
    let run = home.run(&["token"]).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("log in again: tvlogin login --profile default"),
        "{}",
        run.stderr
    );
    let doctor = home.run(&["doctor"]).await;
    assert!(
        doctor
            .stdout
            .contains("not logged in yet; `tvlogin login` logs in"),
        "{}",
        doctor.stdout
    );
}

/// A mistyped --profile is caught at once, with the closest known name, by every command
/// that takes one (exit 2, nothing on stdout).
#[tokio::test]
async fn unknown_profiles_are_caught_with_a_suggestion() {
    let home = Home::new();
    home.config("[profiles.work]\nissuer = \"https://login.example.com\"\nclient_id = \"c\"\n");
    let cases: [&[&str]; 7] = [
        &[
            "setup",
            "git",
            "https://git.example.com",
            "--profile",
            "wrok",
        ],
        &["token", "--profile", "wrok"],
        &["refresh", "--profile", "wrok"],
        &["logout", "--profile", "wrok"],
        &["exec", "--profile", "wrok", "--", "true"],
        &["kubectl-credential", "--profile", "wrok"],
        &["git-credential", "--profile", "wrok", "get"],
    ];
    for args in cases {
        let mut command = home.command(args, &[]);
        command.stdin(Stdio::piped());
        let mut child = command.spawn().expect("spawn tvlogin");
        if let Some(mut stdin) = child.stdin.take() {
            use tokio::io::AsyncWriteExt;
            let _ = stdin
                .write_all(b"protocol=https\nhost=git.example.com\n\n")
                .await;
        }
        let out = common::output_of(child, &format!("{args:?}")).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.contains("no profile \"wrok\"; did you mean \"work\"?"),
            "{args:?}: {stderr}"
        );
    }
    // Without a close name, the known ones and the command that creates it.
    let run = home.run(&["token", "--profile", "home"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("profiles: work"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("tvlogin login --profile home --issuer URL --client-id ID"),
        "{}",
        run.stderr
    );
    // A profile known only from its state (logged in without config.toml) is no typo, and
    // neither is one the environment says how to log in (login would create it).
    let run = home
        .run_with_env(
            &["token", "--profile", "ci"],
            &[
                ("TVLOGIN_ISSUER", "https://login.example.com"),
                ("TVLOGIN_CLIENT_ID", "c"),
            ],
        )
        .await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("log in again: tvlogin login --profile ci"),
        "{}",
        run.stderr
    );
}

/// `exec`'s command that cannot run exits as in shells, before any login is attempted:
/// 127 not found, 126 not executable, the message naming the command.
#[cfg(unix)]
#[tokio::test]
async fn exec_exits_126_and_127_like_shells() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let plain = home.dir.path().join("plain.sh");
    std::fs::write(&plain, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let dir = home.dir.path().display().to_string();
    let plain = plain.display().to_string();
    let missing = format!("{dir}/missing");
    let table: [(&str, i32, &str); 4] = [
        (
            "no-such-command-tvlogin",
            127,
            "no-such-command-tvlogin: command not found",
        ),
        (&missing, 127, "missing: No such file or directory"),
        (&plain, 126, "plain.sh: Permission denied"),
        (&dir, 126, ": Is a directory"),
    ];
    for (command, code, message) in table {
        let run = home.run(&["exec", "--", command]).await;
        assert_eq!(run.code, code, "{command}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{command}");
        assert!(run.stderr.contains(message), "{command}: {}", run.stderr);
    }
}

/// `login --json` ends with its error event whatever fails, configuration errors found
/// before any request included, and a new profile name does not hide the real problem.
#[tokio::test]
async fn login_json_ends_every_failure_with_an_error_event() {
    let home = Home::new();
    home.config("[profiles.work]\nclient_id = 'w'\n");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "login",
                "--json",
                "--device-authorization-endpoint",
                "https://idp.example/device",
                "--client-id",
                "c",
                "--profile",
                "newprof",
            ],
            "needs --token-endpoint too",
        ),
        (
            &["login", "--json", "--profile", "newprof"],
            "no profile named \"newprof\"",
        ),
        (&["login", "--json"], "no authorization server given"),
        (
            &[
                "login",
                "--json",
                "--issuer",
                "not a url",
                "--client-id",
                "c",
            ],
            "--issuer",
        ),
    ];
    for (args, words) in cases {
        let run = home.run(args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let last = run.events().pop().unwrap_or_default();
        assert_eq!(last["event"], "error", "{args:?}: {}", run.stdout);
        assert_eq!(last["exit_code"], 2, "{args:?}: {last}");
        let description = last["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(words), "{args:?}: {last}");
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
    }
    // Without --json, stdout stays empty.
    let plain = home.run(&["login", "--profile", "newprof"]).await;
    assert_eq!((plain.code, plain.stdout.as_str()), (2, ""));
}

/// `serve` logs one line per request on stderr, with no secret in any line; it prints the
/// approve command at start-up, and `--approve-after` approves each code on its own.
#[tokio::test]
async fn serve_logs_each_request_without_secrets_and_approves_after() {
    let home = Home::new();
    let mut child = home
        .command(
            &[
                "serve",
                "--quirks",
                "dot",
                "--interval",
                "1",
                "--approve-after",
                "1",
            ],
            &[],
        )
        .spawn()
        .expect("spawn tvlogin serve");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let issuer = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::io::BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("serve printed nothing")
    .ok()
    .flatten()
    .unwrap_or_default();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let log = std::sync::Arc::clone(&log);
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                log.lock().map(|mut l| l.push(line)).ok();
            }
        })
    };

    // A device code the test knows, polled once, so the log can be searched for it.
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let answer: serde_json::Value = http
        .post(format!("{issuer}/device_authorization"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("client_id={DEMO_CLIENT_ID}"))
        .send()
        .await
        .expect("device authorization")
        .json()
        .await
        .expect("device answer");
    let device_code = answer["device_code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!device_code.is_empty(), "{answer}");
    let _ = http
        .post(format!("{issuer}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}&client_id={DEMO_CLIENT_ID}"
        ))
        .send()
        .await;

    // A whole login of a confidential client, approved by --approve-after.
    let env = [
        ("TVLOGIN_STORE", "file"),
        ("SECRET", tvlogin_server::BASIC_CLIENT_SECRET),
    ];
    let device_endpoint = format!("{issuer}/device_authorization");
    let login = home
        .run_with_env(
            &[
                "login",
                "--json",
                "--issuer",
                &issuer,
                "--device-authorization-endpoint",
                &device_endpoint,
                "--client-id",
                tvlogin_server::BASIC_CLIENT_ID,
                "--client-secret-env",
                "SECRET",
                "--scope",
                "openid offline_access",
            ],
            &env,
        )
        .await;
    assert_eq!(login.code, 0, "{}{}", login.stdout, login.stderr);
    let refresh = home.run_with_env(&["refresh"], &env).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    let token = home.run_with_env(&["token"], &env).await;
    let access = token.stdout.trim().to_owned();
    assert!(!access.is_empty(), "{}", token.stderr);
    let stored = common::read_json(&home.tokens_file());
    let refresh_token = stored["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().await.ok();
    let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    let text = log.lock().map(|l| l.join("\n")).unwrap_or_default();

    assert!(
        text.contains(&format!(
            "curl -d 'user_code=CODE&action=approve' {issuer}/device"
        )),
        "{text}"
    );
    for want in [
        "GET /.well-known/oauth-authorization-server -> 200",
        "POST /device_authorization client=tvlogin-basic (basic) -> 200 user_code=",
        "POST /token grant=device_code client=tvlogin-demo -> 400 authorization_pending",
        "POST /token grant=device_code client=tvlogin-basic (basic) -> 200 tokens (refresh token)",
        "POST /token grant=refresh_token client=tvlogin-basic (basic) -> 200 tokens (refresh token, id token)",
        "(--approve-after 1)",
    ] {
        assert!(
            text.contains(want),
            "{want:?} missing from the log:\n{text}"
        );
    }
    assert!(text.contains("approved "), "{text}");
    // The banner names the built-in clients' fixed secrets; the request lines name none.
    let requests = text.split("Ctrl-C stops").nth(1).unwrap_or_default();
    assert!(requests.lines().count() >= 8, "{text}");
    for secret in [
        device_code.as_str(),
        access.as_str(),
        refresh_token.as_str(),
        tvlogin_server::BASIC_CLIENT_SECRET,
        "Basic ",
    ] {
        assert!(!secret.is_empty());
        assert!(
            !requests.contains(secret),
            "a secret in the log: {secret}\n{text}"
        );
    }
}
