//! The real binary in a pseudo-terminal against the embedded server: the screen shows a code
//! and a QR code, a "phone" approves through the verification page over HTTP, the success
//! screen appears, and Enter ends the program with exit code 0. Job control: SIGTSTP gives the
//! terminal back in cooked mode, SIGCONT takes it again.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::approve_at_the_page;
use common::pty::{self, Pty, find_code, has};
use common::screen::decode_qr;
use tvlogin_server::{DEMO_CLIENT_ID, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_a_real_terminal() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    let issuer = server.issuer_str();
    let mut session = Pty::tvlogin(
        home.dir.path(),
        &["login", "--issuer", &issuer, "--client-id", DEMO_CLIENT_ID],
        &[("TVLOGIN_STORE", "memory")],
    );
    let code = session.wait_for(Duration::from_secs(20), "user code", find_code);
    assert_eq!(
        server.pending_user_codes(),
        std::slice::from_ref(&code),
        "the code on screen is the server's"
    );
    let qr = session.wait_for(Duration::from_secs(5), "QR code", |rows| {
        decode_qr(rows).pop()
    });
    assert_eq!(qr, format!("{issuer}/device?user_code={code}"));

    approve_at_the_page(&server, &code).await;
    session.wait_for(Duration::from_secs(15), "success screen", |rows| {
        has(rows, "✔ Logged in")
    });
    let rows = session.rows();
    assert!(
        rows.iter()
            .any(|r| r.contains("as Demo User <demo@example.test>")),
        "{}",
        rows.join("\n")
    );
    session.send(b"\r");
    let code = session.wait_exit().await;
    assert_eq!(code, 0);
    // The terminal was restored: the alternate screen is gone and a summary line remains.
    assert!(
        !session.screen().alternate_screen(),
        "still in the alternate screen"
    );
    assert!(
        session
            .rows()
            .iter()
            .any(|r| r.contains("tvlogin: logged in")),
        "{}",
        session.rows().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_the_screen_offers_the_file_store_and_remembers_it() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    let issuer = server.issuer_str();
    let args = [
        "login",
        "--issuer",
        issuer.as_str(),
        "--client-id",
        DEMO_CLIENT_ID,
    ];
    let no_keyring = [("TVLOGIN_TEST_NO_KEYRING", "no D-Bus session (test)")];
    let mut session = Pty::tvlogin(home.dir.path(), &args, &no_keyring);
    session.wait_for(Duration::from_secs(20), "store question", |rows| {
        has(rows, "Where should tvlogin keep your tokens?")
    });
    let rows = session.rows();
    assert!(
        has(&rows, "no D-Bus session (test)").is_some(),
        "{}",
        rows.join("\n")
    );
    assert!(
        server.pending_user_codes().is_empty(),
        "no code may be requested before the answer"
    );
    session.send(b"f");
    let code = session.wait_for(Duration::from_secs(20), "user code", find_code);
    approve_at_the_page(&server, &code).await;
    session.wait_for(Duration::from_secs(15), "stored tokens", |rows| {
        has(rows, "tokens.json")
    });
    session.send(b"q");
    let exit = session.wait_exit().await;
    assert_eq!(exit, 0);
    let tokens = home.tokens_file();
    let mode = std::fs::metadata(&tokens)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "{}", tokens.display());

    // The next login remembers the choice and asks nothing.
    let mut again = Pty::tvlogin(home.dir.path(), &args, &no_keyring);
    again.wait_for(Duration::from_secs(20), "user code", find_code);
    assert!(has(&again.rows(), "Where should tvlogin keep").is_none());
    again.send(b"q");
    let exit = again.wait_exit().await;
    assert_eq!(exit, 130);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_logs_in_without_leaving_and_quits_cleanly() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    let issuer = server.issuer_str();
    let env = [
        ("TVLOGIN_STORE", "file"),
        ("TVLOGIN_ISSUER", issuer.as_str()),
        ("TVLOGIN_CLIENT_ID", DEMO_CLIENT_ID),
        ("TVLOGIN_SCOPE", "openid profile offline_access"),
    ];
    let mut session = Pty::tvlogin(home.dir.path(), &[], &env);
    session.wait_for(Duration::from_secs(20), "welcome screen", |rows| {
        has(rows, "Welcome to tvlogin")
    });
    // l on the welcome screen: the login screen for the default profile, in the same app.
    session.send(b"l");
    let code = session.wait_for(Duration::from_secs(20), "user code", find_code);
    approve_at_the_page(&server, &code).await;
    session.wait_for(Duration::from_secs(15), "success screen", |rows| {
        has(rows, "✔ Logged in")
    });
    session.send(b"\r");
    // Back on the dashboard, the login screen gone, with the new profile and the outcome.
    let wanted = [
        "default  ● valid",
        "Demo User <demo@example.test>",
        "renews in",
        "logged in (profile default)",
    ];
    session.wait_for(Duration::from_secs(10), "the new profile", |rows| {
        (wanted.iter().all(|t| has(rows, t).is_some())
            && has(rows, "Press Enter to finish").is_none())
        .then_some(())
    });
    session.send(b"q");
    let exit = session.wait_exit().await;
    assert_eq!(exit, 0);
    assert!(
        !session.screen().alternate_screen(),
        "still in the alternate screen"
    );
}

/// Sends `signal` to `pid` with kill(1).
fn kill(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The process's state letter from /proc (`T`: stopped).
fn process_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// The terminal's local modes as `stty -a` prints them.
fn stty(tty: &std::path::Path) -> String {
    let out = std::process::Command::new("stty")
        .arg("-F")
        .arg(tty)
        .arg("-a")
        .output()
        .expect("run stty");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_flag(stty: &str, flag: &str) -> bool {
    stty.split_whitespace().any(|w| w == flag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigtstp_gives_the_terminal_back_and_sigcont_takes_it_again() {
    let home = common::Home::new();
    let mut session = Pty::tvlogin(home.dir.path(), &[], &[("TVLOGIN_STORE", "memory")]);
    session.wait_for(Duration::from_secs(20), "welcome screen", |rows| {
        has(rows, "Welcome to tvlogin")
    });
    let pid = session.pid().expect("no pid");
    let tty = session.tty().expect("no tty name").to_owned();
    assert!(session.screen().alternate_screen());
    let raw = stty(&tty);
    assert!(
        has_flag(&raw, "-icanon") && has_flag(&raw, "-echo"),
        "{raw}"
    );

    kill("TSTP", pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_state(pid) != 'T' {
        assert!(
            Instant::now() < deadline,
            "not stopped: {}",
            process_state(pid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Drain what it wrote before stopping.
    session.drain(Duration::from_millis(300));
    let screen = session.screen();
    assert!(!screen.alternate_screen(), "still on the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is still hidden");
    let cooked = stty(&tty);
    assert!(
        has_flag(&cooked, "icanon") && has_flag(&cooked, "echo"),
        "not in cooked mode: {cooked}"
    );

    kill("CONT", pid);
    session.wait_for(Duration::from_secs(10), "the dashboard again", |rows| {
        has(rows, "Welcome to tvlogin")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !session.screen().alternate_screen() {
        assert!(
            Instant::now() < deadline,
            "not back on the alternate screen"
        );
        session.read(Duration::from_millis(100));
    }
    let raw = stty(&tty);
    assert!(
        has_flag(&raw, "-icanon") && has_flag(&raw, "-echo"),
        "{raw}"
    );
    assert!(session.screen().hide_cursor());
    // One q quits: raw mode is back (no Enter needed).
    session.send(b"q");
    let exit = session.wait_exit().await;
    assert_eq!(exit, 0);
    assert!(!session.screen().alternate_screen());
}

/// The screen's rows with SGR escapes already interpreted by the terminal emulator: the
/// QR's glyphs are plain characters in the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_login_prints_a_qr_code_on_a_terminal_stderr_unless_no_qr() {
    for (no_qr, want_qr) in [(false, true), (true, false)] {
        let server = common::server(ServerConfig {
            interval: 1,
            ..ServerConfig::default()
        })
        .await;
        let home = common::Home::new();
        let issuer = server.issuer_str();
        let mut args = vec![
            "login",
            "--issuer",
            issuer.as_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--no-tui",
        ];
        if no_qr {
            args.push("--no-qr");
        }
        let mut session = Pty::tvlogin(home.dir.path(), &args, &[("TVLOGIN_STORE", "memory")]);
        let code = session.wait_for(Duration::from_secs(20), "user code", find_code);
        session.wait_for(Duration::from_secs(10), "waiting line", |rows| {
            has(rows, "Waiting for approval")
        });
        let rows = session.rows();
        let qr = decode_qr(&rows);
        if want_qr {
            assert_eq!(
                qr,
                [format!("{issuer}/device?user_code={code}")],
                "{}",
                rows.join("\n")
            );
        } else {
            assert!(
                qr.is_empty() && has(&rows, "scan this").is_none(),
                "{}",
                rows.join("\n")
            );
        }
        approve_at_the_page(&server, &code).await;
        let exit = session.wait_exit().await;
        assert_eq!(exit, 0);
    }
}

/// Ctrl-Z in a screen that a wrapper script started stops the whole job, as the terminal's
/// own Ctrl-Z would: the interactive shell gets its prompt back (with only tvlogin stopped,
/// the script kept waiting and the shell hung), `fg` brings the screen back, `q` leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_z_under_a_wrapper_script_stops_the_job_and_fg_resumes_it() {
    use base64::Engine as _;
    let home = common::Home::new();
    let dir = home.dir.path();
    let wrapper = dir.join("w.sh");
    std::fs::write(
        &wrapper,
        format!("#!/bin/bash\n{} \"$@\"\n", env!("CARGO_BIN_EXE_tvlogin")),
    )
    .expect("write the wrapper");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .expect("make the wrapper executable");
    }
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let token = format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"alg": "HS256", "typ": "JWT"})),
        b64(serde_json::json!({"sub": "u1", "name": "Ada"}))
    );
    let file = dir.join("token");
    std::fs::write(&file, token).expect("write the token");
    let mut shell = pty::command("/bin/bash", dir);
    shell.args(["--norc", "--noprofile", "-i"]);
    shell.env("PS1", "READY$ ");
    shell.env("PATH", std::env::var("PATH").unwrap_or_default());
    let mut session = Pty::spawn(shell, pty::ROWS, pty::COLS);
    let limit = Duration::from_secs(20);
    session.wait_for_text(limit, "READY$");
    session.send(format!("{} inspect {}\r", wrapper.display(), file.display()).as_bytes());
    // The inspector is up (its verdict line; explanations are folded behind e).
    session.wait_for_text(limit, "Verdict  ");
    session.send(b"\x1a");
    // The job stopped: the shell says so and prompts again, on the normal screen.
    session.wait_for(limit, "the shell's prompt after the stop", |rows| {
        let prompts = rows.iter().filter(|r| r.contains("READY$")).count();
        (rows.iter().any(|r| r.contains("Stopped")) && prompts >= 2).then_some(())
    });
    assert!(
        !session.screen().alternate_screen(),
        "still on the alternate screen"
    );
    session.send(b"fg\r");
    session.wait_for(limit, "the inspector again", |rows| has(rows, "Verdict  "));
    session.send(b"q");
    session.wait_for(limit, "the prompt after leaving", |rows| {
        (!rows.iter().any(|r| r.contains("Verdict  "))).then_some(())
    });
    session.send(b"exit\r");
}
