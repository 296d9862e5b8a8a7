//! The real binary in a pseudo-terminal against the embedded server: the screen shows a code
//! and a QR code, a "phone" approves through the verification page over HTTP, the success
//! screen appears, and Enter ends the program with exit code 0. Job control: SIGTSTP gives the
//! terminal back in cooked mode, SIGCONT takes it again.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::screen::decode_qr;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use tvlogin::server::{DEMO_CLIENT_ID, ServerConfig};

const ROWS: u16 = 40;
const COLS: u16 = 100;

/// A terminal screen fed by the child's output.
struct Screen {
    parser: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
}

impl Screen {
    fn rows(&self) -> Vec<String> {
        self.parser.screen().rows(0, COLS).collect()
    }

    /// Reads output until `found` holds for the screen, or panics after `limit`.
    fn wait_for<T>(
        &mut self,
        limit: Duration,
        what: &str,
        found: impl Fn(&[String]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(t) = found(&self.rows()) {
                return t;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .output
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(bytes) => self.parser.process(&bytes),
                Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
                Err(_) => panic!("no {what} on screen:\n{}", self.rows().join("\n")),
            }
        }
    }
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

/// The binary running in a pseudo-terminal, with its screen and keyboard.
struct Session {
    screen: Screen,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// The terminal's device, for `stty`.
    tty: Option<std::path::PathBuf>,
}

impl Session {
    fn start(home: &common::Home, args: &[&str], env: &[(&str, &str)]) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_tvlogin"));
        command.args(args);
        command.env_clear();
        command.env("TERM", "xterm-256color");
        command.env("TVLOGIN_CONFIG_DIR", home.dir.path().join("config"));
        command.env("TVLOGIN_DATA_DIR", home.dir.path().join("data"));
        for (k, v) in env {
            command.env(k, v);
        }
        let child = pty
            .slave
            .spawn_command(command)
            .expect("spawn tvlogin in the pseudo-terminal");
        drop(pty.slave);
        let tty = pty.master.tty_name();
        let mut reader = pty
            .master
            .try_clone_reader()
            .expect("clone the terminal's reader");
        let writer = pty
            .master
            .take_writer()
            .expect("take the terminal's writer");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _master = pty.master; // keep the terminal open while reading
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            screen: Screen {
                parser: vt100::Parser::new(ROWS, COLS, 0),
                output: rx,
            },
            writer,
            child,
            tty,
        }
    }

    fn keys(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("type into the terminal");
    }

    /// Waits for the exit code, then drains what was printed after the alternate screen.
    async fn finish(mut self) -> (u32, Screen) {
        let mut child = self.child;
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join the waiting thread")
            .expect("wait for tvlogin");
        while let Ok(bytes) = self.screen.output.recv_timeout(Duration::from_millis(300)) {
            self.screen.parser.process(&bytes);
        }
        (status.exit_code(), self.screen)
    }
}

/// The phone: the verification page's form, over HTTP.
async fn approve_at_the_page(server: &tvlogin::server::ServerHandle, code: &str) {
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build the HTTP client")
        .post(server.verification_uri())
        .form(&[("user_code", code), ("action", "approve")])
        .send()
        .await
        .expect("approve at the verification page");
    assert!(page.status().is_success(), "{}", page.status());
}

fn has(rows: &[String], text: &str) -> Option<()> {
    rows.iter().any(|r| r.contains(text)).then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_a_real_terminal() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    let issuer = server.issuer_str();
    let mut session = Session::start(
        &home,
        &["login", "--issuer", &issuer, "--client-id", DEMO_CLIENT_ID],
        &[("TVLOGIN_STORE", "memory")],
    );
    let code = session
        .screen
        .wait_for(Duration::from_secs(20), "user code", find_code);
    assert_eq!(
        server.pending_user_codes(),
        std::slice::from_ref(&code),
        "the code on screen is the server's"
    );
    let qr = session
        .screen
        .wait_for(Duration::from_secs(5), "QR code", |rows| {
            decode_qr(rows).pop()
        });
    assert_eq!(qr, format!("{issuer}/device?user_code={code}"));

    approve_at_the_page(&server, &code).await;
    session
        .screen
        .wait_for(Duration::from_secs(15), "success screen", |rows| {
            has(rows, "✔ Logged in")
        });
    let rows = session.screen.rows();
    assert!(
        rows.iter()
            .any(|r| r.contains("as Demo User <demo@example.test>")),
        "{}",
        rows.join("\n")
    );
    session.keys(b"\r");
    let (code, screen) = session.finish().await;
    assert_eq!(code, 0);
    // The terminal was restored: the alternate screen is gone and a summary line remains.
    assert!(
        !screen.parser.screen().alternate_screen(),
        "still in the alternate screen"
    );
    assert!(
        screen
            .rows()
            .iter()
            .any(|r| r.contains("tvlogin: logged in")),
        "{}",
        screen.rows().join("\n")
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
    let mut session = Session::start(&home, &args, &no_keyring);
    session
        .screen
        .wait_for(Duration::from_secs(20), "store question", |rows| {
            has(rows, "Where should tvlogin keep your tokens?")
        });
    let rows = session.screen.rows();
    assert!(
        has(&rows, "no D-Bus session (test)").is_some(),
        "{}",
        rows.join("\n")
    );
    assert!(
        server.pending_user_codes().is_empty(),
        "no code may be requested before the answer"
    );
    session.keys(b"f");
    let code = session
        .screen
        .wait_for(Duration::from_secs(20), "user code", find_code);
    approve_at_the_page(&server, &code).await;
    session
        .screen
        .wait_for(Duration::from_secs(15), "stored tokens", |rows| {
            has(rows, "tokens.json")
        });
    session.keys(b"q");
    let (exit, _) = session.finish().await;
    assert_eq!(exit, 0);
    let tokens = home.dir.path().join("data/profiles/default.tokens.json");
    let mode = std::fs::metadata(&tokens)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "{}", tokens.display());

    // The next login remembers the choice and asks nothing.
    let mut again = Session::start(&home, &args, &no_keyring);
    again
        .screen
        .wait_for(Duration::from_secs(20), "user code", find_code);
    assert!(has(&again.screen.rows(), "Where should tvlogin keep").is_none());
    again.keys(b"q");
    let (exit, _) = again.finish().await;
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
    let mut session = Session::start(&home, &[], &env);
    session
        .screen
        .wait_for(Duration::from_secs(20), "welcome screen", |rows| {
            has(rows, "Welcome to tvlogin")
        });
    // l on the welcome screen: the login screen for the default profile, in the same app.
    session.keys(b"l");
    let code = session
        .screen
        .wait_for(Duration::from_secs(20), "user code", find_code);
    approve_at_the_page(&server, &code).await;
    session
        .screen
        .wait_for(Duration::from_secs(15), "success screen", |rows| {
            has(rows, "✔ Logged in")
        });
    session.keys(b"\r");
    // Back on the dashboard, the login screen gone, with the new profile and the outcome.
    let wanted = [
        "default  ● valid",
        "Demo User <demo@example.test>",
        "renews in",
        "logged in (profile default)",
    ];
    session
        .screen
        .wait_for(Duration::from_secs(10), "the new profile", |rows| {
            (wanted.iter().all(|t| has(rows, t).is_some())
                && has(rows, "Press Enter to finish").is_none())
            .then_some(())
        });
    session.keys(b"q");
    let (exit, screen) = session.finish().await;
    assert_eq!(exit, 0);
    assert!(
        !screen.parser.screen().alternate_screen(),
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
    let mut session = Session::start(&home, &[], &[("TVLOGIN_STORE", "memory")]);
    session
        .screen
        .wait_for(Duration::from_secs(20), "welcome screen", |rows| {
            has(rows, "Welcome to tvlogin")
        });
    let pid = session.child.process_id().expect("no pid");
    let tty = session.tty.clone().expect("no tty name");
    assert!(session.screen.parser.screen().alternate_screen());
    let raw = stty(&tty);
    assert!(
        has_flag(&raw, "-icanon") && has_flag(&raw, "-echo"),
        "{raw}"
    );

    kill("TSTP", pid);
    session
        .screen
        .wait_for(Duration::from_secs(10), "the normal screen", |_| Some(()));
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
    while let Ok(bytes) = session
        .screen
        .output
        .recv_timeout(Duration::from_millis(300))
    {
        session.screen.parser.process(&bytes);
    }
    let screen = session.screen.parser.screen();
    assert!(!screen.alternate_screen(), "still on the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is still hidden");
    let cooked = stty(&tty);
    assert!(
        has_flag(&cooked, "icanon") && has_flag(&cooked, "echo"),
        "not in cooked mode: {cooked}"
    );

    kill("CONT", pid);
    session
        .screen
        .wait_for(Duration::from_secs(10), "the dashboard again", |rows| {
            has(rows, "Welcome to tvlogin")
        });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !session.screen.parser.screen().alternate_screen() {
        assert!(
            Instant::now() < deadline,
            "not back on the alternate screen"
        );
        session
            .screen
            .wait_for(Duration::from_secs(1), "output", |_| Some(()));
        if let Ok(bytes) = session
            .screen
            .output
            .recv_timeout(Duration::from_millis(100))
        {
            session.screen.parser.process(&bytes);
        }
    }
    let raw = stty(&tty);
    assert!(
        has_flag(&raw, "-icanon") && has_flag(&raw, "-echo"),
        "{raw}"
    );
    assert!(session.screen.parser.screen().hide_cursor());
    // One q quits: raw mode is back (no Enter needed).
    session.keys(b"q");
    let (exit, screen) = session.finish().await;
    assert_eq!(exit, 0);
    assert!(!screen.parser.screen().alternate_screen());
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
        let mut session = Session::start(&home, &args, &[("TVLOGIN_STORE", "memory")]);
        let code = session
            .screen
            .wait_for(Duration::from_secs(20), "user code", find_code);
        session
            .screen
            .wait_for(Duration::from_secs(10), "waiting line", |rows| {
                has(rows, "Waiting for approval")
            });
        let rows = session.screen.rows();
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
        let (exit, _) = session.finish().await;
        assert_eq!(exit, 0);
    }
}
