//! A real Secret Service for tests: a private D-Bus session bus and a `gnome-keyring-daemon`
//! whose login collection is created and unlocked with a known password, all under a temporary
//! HOME, XDG_RUNTIME_DIR and XDG_DATA_HOME, so no one's own keyring is ever touched.
//!
//! The bus uses its own configuration: it activates no services except the ones a test asks
//! for (no desktop keyring can start behind the test's back), and it can stand in an unlock
//! prompter that never answers, which is what a locked collection on a headless machine does to
//! a client. Every process started here runs in one process group, killed when the value drops.
//!
//! When a program is missing, [`SecretService::start`] says which and why, for
//! [`super::skip::skip_or_fail`].

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password of the test's login collection.
const PASSWORD: &str = "tvlogin-test-password";

/// The programs the Secret Service tests need, and the Debian package of each.
pub const PROGRAMS: [(&str, &str); 5] = [
    ("dbus-daemon", "dbus-daemon"),
    ("gnome-keyring-daemon", "gnome-keyring"),
    ("secret-tool", "libsecret-tools"),
    ("gdbus", "libglib2.0-bin"),
    ("stdbuf", "coreutils"),
];

/// What unlock prompts do on the private bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompter {
    /// No prompter can be started: gnome-keyring dismisses every unlock prompt at once (a
    /// machine without a desktop).
    None,
    /// The prompter is "started" but never appears: an unlock request waits until the bus
    /// gives up on the activation (minutes), as on a desktop whose prompt nobody sees.
    NeverAnswers,
}

/// One entry as `secret-tool search --all` shows it.
#[derive(Debug, Clone, Default)]
pub struct Item {
    pub label: String,
    pub secret: String,
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// A private D-Bus session with gnome-keyring's Secret Service on it.
pub struct SecretService {
    dir: tempfile::TempDir,
    bus: Child,
    keyring: Option<Child>,
}

/// Returns the first program of [`PROGRAMS`] not on PATH, with its package.
pub fn missing_program() -> Option<(&'static str, &'static str)> {
    PROGRAMS
        .into_iter()
        .find(|(program, _)| which(program).is_none())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

impl SecretService {
    /// Starts the bus and the keyring daemon and waits until the Secret Service answers.
    /// `Err` is a reason to skip (a program is missing), never a hidden failure: anything else
    /// going wrong panics.
    pub fn start(prompter: Prompter) -> Result<Self, String> {
        if let Some((program, package)) = missing_program() {
            return Err(format!(
                "{program} is not installed (Debian package {package}); .ci/run installs it"
            ));
        }
        let dir = tempfile::tempdir().expect("create the bus's temp dir");
        for sub in ["home", "run", "data", "config", "services"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a bus subdirectory");
        }
        set_mode(&dir.path().join("run"), 0o700);
        if prompter == Prompter::NeverAnswers {
            // gnome-keyring asks the bus for a prompter by these names; this "prompter" never
            // takes its name, so the unlock request waits. It dies with the process group.
            for name in [
                "org.gnome.keyring.SystemPrompter",
                "org.gnome.keyring.PrivatePrompter",
            ] {
                let file = dir.path().join(format!("services/{name}.service"));
                std::fs::write(
                    file,
                    format!("[D-BUS Service]\nName={name}\nExec=/bin/sleep 300\n"),
                )
                .expect("write a stand-in prompter service");
            }
        }
        let socket = dir.path().join("run/bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(&config, bus_config(&socket, &dir.path().join("services")))
            .expect("write the bus config");
        let bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A group of its own, which the activated prompter and the keyring daemon join:
            // dropping the value kills them all.
            .process_group(0)
            .spawn()
            .expect("start dbus-daemon");
        let mut service = Self {
            dir,
            bus,
            keyring: None,
        };
        service.wait_for(|| socket.exists(), "the D-Bus socket");
        service.start_keyring();
        Ok(service)
    }

    /// The environment that puts a program on this session: bus address and private dirs.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let p = |sub: &str| self.dir.path().join(sub).display().to_string();
        vec![
            (
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", p("run/bus")),
            ),
            ("HOME", p("home")),
            ("XDG_RUNTIME_DIR", p("run")),
            ("XDG_DATA_HOME", p("data")),
            ("XDG_CONFIG_HOME", p("config")),
        ]
    }

    /// [`SecretService::env`] as `(&str, &str)` pairs, the shape `Home::run_with_env` takes.
    pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env())
            // UTF-8 output, whatever the test's own locale.
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null());
        command
    }

    /// Starts (or restarts) gnome-keyring-daemon with the Secret Service component, its login
    /// collection unlocked with [`PASSWORD`] (created on the first start), and waits until it
    /// owns `org.freedesktop.secrets` on the bus.
    pub fn start_keyring(&mut self) {
        let mut child = self
            .command("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .arg(format!(
                "--control-directory={}",
                self.dir.path().join("run/keyring").display()
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(self.bus.id() as i32)
            .spawn()
            .expect("start gnome-keyring-daemon");
        // --unlock reads the password up to the end of stdin.
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(PASSWORD.as_bytes())
                .expect("give gnome-keyring-daemon its password");
        }
        self.keyring = Some(child);
        self.wait_for(
            || self.name_has_owner(),
            "org.freedesktop.secrets on the bus",
        );
        self.wait_for(
            || !self.is_locked(),
            "the login collection to exist, unlocked",
        );
    }

    /// Kills the keyring daemon (SIGKILL: a crash, nothing flushed on the way out).
    pub fn kill_keyring(&mut self) {
        if let Some(mut child) = self.keyring.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.wait_for(
            || !self.name_has_owner(),
            "the Secret Service to leave the bus",
        );
    }

    /// Locks the login collection over D-Bus (Secret Service `Lock`, which needs no prompt).
    pub fn lock(&self) {
        let out = self
            .command("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.secrets",
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.Lock",
                "['/org/freedesktop/secrets/collection/login']",
            ])
            .output()
            .expect("run gdbus (lock)");
        assert!(out.status.success(), "lock: {out:?}");
        assert!(self.is_locked(), "the login collection is still unlocked");
    }

    /// Whether the login collection is locked (`false` also when it does not exist yet).
    pub fn is_locked(&self) -> bool {
        let out = self
            .command("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.secrets",
                "--object-path",
                "/org/freedesktop/secrets/collection/login",
                "--method",
                "org.freedesktop.DBus.Properties.Get",
                "org.freedesktop.Secret.Collection",
                "Locked",
            ])
            .output()
            .expect("run gdbus (read Locked)");
        !out.status.success() || String::from_utf8_lossy(&out.stdout).contains("true")
    }

    fn name_has_owner(&self) -> bool {
        let out = self
            .command("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.DBus",
                "--object-path",
                "/org/freedesktop/DBus",
                "--method",
                "org.freedesktop.DBus.NameHasOwner",
                "org.freedesktop.secrets",
            ])
            .output()
            .expect("run gdbus (NameHasOwner)");
        String::from_utf8_lossy(&out.stdout).contains("true")
    }

    /// Every item whose attributes include all of `attributes`, as `secret-tool search --all`
    /// prints them (a person's view of the keyring).
    pub fn search(&self, attributes: &[(&str, &str)]) -> Vec<Item> {
        // secret-tool prints labels and secrets on stdout but attributes on stderr: one
        // unbuffered stream keeps each item's lines together.
        let mut command = self.command("sh");
        command.args([
            "-c",
            "exec stdbuf -o0 -e0 secret-tool search --all \"$@\" 2>&1",
            "secret-tool",
        ]);
        for (k, v) in attributes {
            command.args([k, v]);
        }
        let out = command.output().expect("run secret-tool");
        // secret-tool exits 1 when nothing matches.
        parse_search(&String::from_utf8_lossy(&out.stdout))
    }

    /// The secret of the single tvlogin item with `username` (e.g. `refresh:default`).
    pub fn secret(&self, username: &str) -> Option<String> {
        let items = self.search(&[("service", "tvlogin"), ("username", username)]);
        assert!(
            items.len() <= 1,
            "more than one item for {username}: {items:?}"
        );
        items.into_iter().next().map(|i| i.secret)
    }

    fn wait_for(&self, mut ready: impl FnMut() -> bool, what: &str) {
        let started = Instant::now();
        while !ready() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "gave up waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // The whole group: the bus, the keyring daemon, a prompter the bus started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.bus.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.bus.wait();
        if let Some(mut child) = self.keyring.take() {
            let _ = child.wait();
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A session bus that listens on `socket` and activates only what is in `services`.
fn bus_config(socket: &Path, services: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="service_start_timeout">300000</limit>
</busconfig>
"#,
        socket.display(),
        services.display()
    )
}

/// Parses `secret-tool search --all` output: blocks starting with `[/path]`, then
/// `label = …`, `secret = …`, `attribute.NAME = …` lines.
fn parse_search(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current: Option<Item> = None;
    for line in text.lines() {
        if line.starts_with("[/") {
            items.extend(current.take());
            current = Some(Item::default());
            continue;
        }
        let (Some(item), Some((key, value))) = (current.as_mut(), line.split_once(" = ")) else {
            continue;
        };
        match key {
            "label" => item.label = value.to_owned(),
            "secret" => item.secret = value.to_owned(),
            k => {
                if let Some(name) = k.strip_prefix("attribute.") {
                    item.attributes.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }
    items.extend(current);
    items
}
