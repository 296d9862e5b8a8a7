//! Shared helpers for the end-to-end tests: run the real binary with a private config and
//! data dir, start the embedded server, and serve canned answers for malformed providers.
#![allow(dead_code)]
// each test crate uses a different subset
// Test helpers: a failed `expect` is the test failing with its reason. clippy.toml's
// allow-expect-in-tests covers only #[test] functions, not the helpers they call.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod browser;
pub mod pty;
pub mod runtime;
pub mod screen;
pub mod secret_service;
pub mod skip;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, ServerConfig, ServerHandle};

/// Nothing in these tests should take this long; a hang fails instead of blocking CI.
pub const PROCESS_LIMIT: Duration = Duration::from_secs(60);

/// What a finished `tvlogin` process left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// What a process started at `started` left in `output`.
    pub fn new(output: std::process::Output, started: Instant) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    /// The JSON lines on stdout.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    /// The names of the JSON events, in order.
    pub fn event_names(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["event"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

/// A scratch home: private config and data directories.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create the scratch home"),
        }
    }

    /// Writes `config.toml`.
    pub fn config(&self, text: &str) {
        let dir = self.dir.path().join("config");
        std::fs::create_dir_all(&dir).expect("create the config dir");
        std::fs::write(dir.join("config.toml"), text).expect("write config.toml");
    }

    /// Runs `tvlogin args…` to completion (killed after [`PROCESS_LIMIT`]).
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[]).await
    }

    /// The directories this home gives tvlogin.
    pub fn paths(&self) -> tvlogin::config::Paths {
        tvlogin::config::Paths {
            config_dir: self.dir.path().join("config"),
            data_dir: self.dir.path().join("data"),
        }
    }

    /// Where the default profile's tokens are kept by the file store.
    pub fn tokens_file(&self) -> std::path::PathBuf {
        self.paths().data_dir.join("profiles/default.tokens.json")
    }

    /// The default profile's session metadata.
    pub fn state_file(&self) -> std::path::PathBuf {
        self.paths().data_dir.join("profiles/default.state.json")
    }

    pub async fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let started = Instant::now();
        let child = self.command(args, env).spawn().expect("spawn tvlogin");
        let run = Run::new(
            output_of(child, &format!("tvlogin {args:?}")).await,
            started,
        );
        assert!(
            !run.stderr.contains("panicked"),
            "tvlogin panicked: {}",
            run.stderr
        );
        run
    }

    /// The command [`Home::run_with_env`] runs, for tests that manage the process themselves.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tvlogin"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TVLOGIN_CONFIG_DIR", self.dir.path().join("config"))
            .env("TVLOGIN_DATA_DIR", self.dir.path().join("data"))
            // No desktop keyring in tests: logins keep their tokens in memory unless a test
            // asks for a store (its `env` comes later and wins).
            .env("TVLOGIN_STORE", "memory")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // An empty value removes the variable (e.g. `("TVLOGIN_STORE", "")`: no store asked for).
        for (k, v) in env {
            if v.is_empty() {
                command.env_remove(k);
            } else {
                command.env(k, v);
            }
        }
        command
    }
}

/// The environment that asks for the file store.
pub const FILE_STORE: [(&str, &str); 1] = [("TVLOGIN_STORE", "file")];

/// A JSON file's document (panics naming the file when it is missing or not JSON).
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

/// The outcome of each refresh the server has answered, in order.
pub fn refresh_outcomes(server: &ServerHandle) -> Vec<String> {
    server.refreshes().into_iter().map(|r| r.outcome).collect()
}

/// What the server's introspection endpoint says about a token.
pub async fn introspect(server: &ServerHandle, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(server.introspection_endpoint())
        .form(&[("token", token), ("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .expect("send the introspection request")
        .json()
        .await
        .expect("parse the introspection answer")
}

/// Waits for a spawned process (`what`, for the message) and collects its output; a hang
/// fails after [`PROCESS_LIMIT`].
pub async fn output_of(child: tokio::process::Child, what: &str) -> std::process::Output {
    tokio::time::timeout(PROCESS_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {PROCESS_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("wait for {what}: {e}"))
}

/// Starts the embedded server.
pub async fn server(config: ServerConfig) -> ServerHandle {
    ServerHandle::start(config)
        .await
        .expect("start the embedded server")
}

/// The phone: approves `code` through the verification page's form, over HTTP.
pub async fn approve_at_the_page(server: &ServerHandle, code: &str) {
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

/// Approves every pending code as soon as one appears (like a person with a phone).
pub fn approve_when_pending(
    server: &std::sync::Arc<ServerHandle>,
    approve: bool,
) -> tokio::task::JoinHandle<()> {
    let server = std::sync::Arc::clone(server);
    tokio::spawn(async move {
        loop {
            let pending = server.pending_user_codes();
            if !pending.is_empty() {
                for code in pending {
                    let _ = if approve {
                        server.approve(&code)
                    } else {
                        server.deny(&code)
                    };
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A canned answer: status, content type, body.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/html",
            body: body.into(),
        }
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 answering each path with a fixed response (404
/// otherwise); `{base}` in bodies becomes its own base URL. Stands in for broken providers.
pub async fn canned(routes: Vec<(&'static str, Canned)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the canned provider's port on 127.0.0.1");
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .expect("read the canned provider's address")
    );
    let routes: HashMap<&'static str, Canned> = routes
        .into_iter()
        .map(|(path, mut c)| {
            c.body = c.body.replace("{base}", &base);
            (path, c)
        })
        .collect();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut read = 0;
                // Read until the end of the headers (bodies of POSTs are ignored).
                loop {
                    let Ok(n) = stream.read(&mut buf[read..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read += n;
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let path = path.split('?').next().unwrap_or(path);
                let answer = routes
                    .get(path)
                    .cloned()
                    .unwrap_or(Canned::html(404, "<h1>Not Found</h1>"));
                let response = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    answer.status,
                    answer.content_type,
                    answer.body.len(),
                    answer.body
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

/// A discovery document for a canned provider at `{base}`.
pub fn discovery_doc() -> String {
    r#"{"issuer":"{base}","device_authorization_endpoint":"{base}/device","token_endpoint":"{base}/token"}"#.into()
}

/// A valid device authorization answer with a 1 s interval.
pub fn device_answer() -> String {
    r#"{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"{base}/verify","expires_in":30,"interval":1}"#.into()
}

/// A fast server that approves on the first poll.
pub fn quick(access_token_ttl: u64) -> ServerConfig {
    ServerConfig {
        interval: 1,
        access_token_ttl,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    }
}

/// A server and a home logged in to it with the file store.
pub async fn logged_in(config: ServerConfig) -> (Arc<ServerHandle>, Home) {
    let server = Arc::new(server(config).await);
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "openid profile email offline_access",
                "--json",
            ],
            &[("TVLOGIN_STORE", "file")],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tokens = run.events().pop().unwrap_or_default();
    assert_eq!(tokens["event"], "tokens", "{}", run.stdout);
    assert_eq!(tokens["store"], "file", "{}", run.stdout);
    (server, home)
}
