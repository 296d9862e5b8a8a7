//! A program in a pseudo-terminal, seen as a person at the terminal sees it: a thread reads
//! its output into a terminal emulator (vt100) whose screen the tests read, keys go to its
//! input, and dropping the value kills it, so a failing test leaves no process behind.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// The terminal size of most tests.
pub const ROWS: u16 = 40;
pub const COLS: u16 = 100;

/// `program` with an empty environment but `TERM` and a private config and data dir under
/// `home`; callers add what else the test needs.
pub fn command(program: &str, home: &Path) -> CommandBuilder {
    let mut command = CommandBuilder::new(program);
    command.env_clear();
    command.env("TERM", "xterm-256color");
    command.env("TVLOGIN_CONFIG_DIR", home.join("config"));
    command.env("TVLOGIN_DATA_DIR", home.join("data"));
    command
}

/// `tvlogin args…`, as [`command`] sets it up.
pub fn tvlogin(home: &Path, args: &[&str]) -> CommandBuilder {
    let mut command = command(env!("CARGO_BIN_EXE_tvlogin"), home);
    command.args(args);
    command
}

/// A running program in a pseudo-terminal, with its screen and keyboard.
pub struct Pty {
    parser: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// The terminal's device, for `stty`.
    tty: Option<PathBuf>,
    cols: u16,
}

impl Pty {
    /// `tvlogin args…` with `env` added in a [`ROWS`] x [`COLS`] terminal.
    pub fn tvlogin(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = tvlogin(home, args);
        for (k, v) in env {
            command.env(k, v);
        }
        Self::spawn(command, ROWS, COLS)
    }

    /// Starts `command` in a new `rows` x `cols` terminal.
    pub fn spawn(command: CommandBuilder, rows: u16, cols: u16) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let child = pty
            .slave
            .spawn_command(command)
            .expect("spawn in the pseudo-terminal");
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
            parser: vt100::Parser::new(rows, cols, 0),
            output: rx,
            writer,
            child,
            tty,
            cols,
        }
    }

    /// The screen as the emulator holds it now.
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The screen's rows as text.
    pub fn rows(&self) -> Vec<String> {
        self.parser.screen().rows(0, self.cols).collect()
    }

    /// The screen's text, wrapped rows joined.
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// The program's process id, for signals.
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// The terminal's device, for `stty`.
    pub fn tty(&self) -> Option<&Path> {
        self.tty.as_deref()
    }

    /// Reads output until `found` holds for the rows, or panics after `limit` (or when the
    /// output has ended without it).
    pub fn wait_for<T>(
        &mut self,
        limit: Duration,
        what: &str,
        found: impl Fn(&[String]) -> Option<T>,
    ) -> T {
        self.wait_until(limit, what, |pty| found(&pty.rows()))
    }

    /// Reads output until `text` is in the screen's [`Pty::contents`], or panics after `limit`.
    pub fn wait_for_text(&mut self, limit: Duration, text: &str) {
        self.wait_until(limit, &format!("{text:?}"), |pty| {
            pty.contents().contains(text).then_some(())
        });
    }

    /// Reads output until `found` holds for the terminal, or panics after `limit` (or when
    /// the output has ended without it).
    pub fn wait_until<T>(
        &mut self,
        limit: Duration,
        what: &str,
        found: impl Fn(&Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(t) = found(self) {
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

    /// Reads what arrives within `wait` (at most one chunk); false when nothing did.
    pub fn read(&mut self, wait: Duration) -> bool {
        match self.output.recv_timeout(wait) {
            Ok(bytes) => {
                self.parser.process(&bytes);
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The output has ended: nothing will arrive, but the caller asked to wait.
                std::thread::sleep(wait);
                false
            }
        }
    }

    /// Reads output until none has arrived for `quiet`.
    pub fn drain(&mut self, quiet: Duration) {
        while let Ok(bytes) = self.output.recv_timeout(quiet) {
            self.parser.process(&bytes);
        }
    }

    /// Types `keys`.
    pub fn send(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("type into the terminal");
    }

    /// Waits for the exit code (panics after [`super::PROCESS_LIMIT`]), then reads what was
    /// printed last (e.g. after leaving the alternate screen).
    pub async fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + super::PROCESS_LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {:?}:\n{}",
                super::PROCESS_LIMIT,
                self.rows().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.drain(Duration::from_millis(300));
        status.exit_code()
    }

    /// Ends the program (SIGHUP, then SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// The user code on screen: two groups of four from RFC 8628's base-20 alphabet.
pub fn find_code(rows: &[String]) -> Option<String> {
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

/// `Some` when a row contains `text`: a condition for [`Pty::wait_for`].
pub fn has(rows: &[String], text: &str) -> Option<()> {
    rows.iter().any(|r| r.contains(text)).then_some(())
}
