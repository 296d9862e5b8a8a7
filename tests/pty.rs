//! The real binary in a pseudo-terminal against the embedded server: the screen shows a code
//! and a QR code, a "phone" approves through the verification page over HTTP, the success
//! screen appears, and Enter ends the program with exit code 0.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_in_a_real_terminal() {
    let server = common::server(ServerConfig {
        interval: 1,
        ..ServerConfig::default()
    })
    .await;
    let home = common::Home::new();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap_or_else(|e| panic!("openpty: {e}"));
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_tvlogin"));
    command.args([
        "login",
        "--issuer",
        &server.issuer_str(),
        "--client-id",
        DEMO_CLIENT_ID,
    ]);
    command.env_clear();
    command.env("TERM", "xterm-256color");
    command.env("TVLOGIN_CONFIG_DIR", home.dir.path().join("config"));
    command.env("TVLOGIN_DATA_DIR", home.dir.path().join("data"));
    command.env("TVLOGIN_STORE", "memory");
    let mut child = pty
        .slave
        .spawn_command(command)
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    drop(pty.slave);
    let mut reader = pty
        .master
        .try_clone_reader()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut writer = pty.master.take_writer().unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = Screen {
        parser: vt100::Parser::new(ROWS, COLS, 0),
        output: rx,
    };

    let code = screen.wait_for(Duration::from_secs(20), "user code", find_code);
    assert_eq!(
        server.pending_user_codes(),
        std::slice::from_ref(&code),
        "the code on screen is the server's"
    );
    let qr = screen.wait_for(Duration::from_secs(5), "QR code", |rows| {
        decode_qr(rows).pop()
    });
    assert_eq!(
        qr,
        format!("{}/device?user_code={code}", server.issuer_str())
    );

    // The phone: the verification page's form, over HTTP.
    let page = reqwest::Client::new()
        .post(server.verification_uri())
        .form(&[("user_code", code.as_str()), ("action", "approve")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(page.status().is_success(), "{}", page.status());

    screen.wait_for(Duration::from_secs(15), "success screen", |rows| {
        rows.iter().any(|r| r.contains("✔ Logged in")).then_some(())
    });
    let rows = screen.rows();
    assert!(
        rows.iter()
            .any(|r| r.contains("as Demo User <demo@example.test>")),
        "{}",
        rows.join("\n")
    );
    writer.write_all(b"\r").unwrap_or_else(|e| panic!("{e}"));
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.exit_code(), 0);
    // The terminal was restored: the alternate screen is gone and a summary line remains.
    while let Ok(bytes) = screen.output.recv_timeout(Duration::from_millis(300)) {
        screen.parser.process(&bytes);
    }
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
