//! A bearer-protected HTTPS server on 127.0.0.1 standing in for the services people log in
//! for: git's smart HTTP (through the real `git http-backend` CGI program) under `/git/`, and
//! a Kubernetes-like `/api`. It accepts a request only when its token is one the embedded
//! authorization server considers active (asked at its userinfo endpoint): as
//! `Authorization: Bearer <token>`, or as the password of `Authorization: Basic` (how git
//! sends a credential helper's password). Its certificate comes from a CA generated here;
//! clients trust that CA (PEM file, or base64 for a kubeconfig).
#![allow(dead_code)]
// each test crate uses a different subset
// Test helpers: a failed `expect` is the test failing with its reason (see tests/common).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Where `git http-backend` lives on Debian and most Linux distributions.
pub const GIT_HTTP_BACKEND: &str = "/usr/lib/git-core/git-http-backend";

/// The running server.
pub struct ResourceServer {
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// Requests let through.
    pub accepted: Arc<AtomicUsize>,
    /// Requests refused with 401.
    pub refused: Arc<AtomicUsize>,
    /// Requests let through that presented `Authorization: Bearer`.
    pub bearer_seen: Arc<AtomicUsize>,
}

impl ResourceServer {
    /// The CA in a file, for git (`GIT_SSL_CAINFO`) and friends.
    pub fn ca_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).expect("write the CA file");
        path
    }

    /// The CA as a kubeconfig's `certificate-authority-data`.
    pub fn ca_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }

    /// A client trusting only this server's CA.
    pub fn client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("parse the CA");
        reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([ca])
            .build()
            .expect("build the HTTP client")
    }

    /// Status of `GET /api` with these headers.
    pub async fn get_api(&self, name: &str, value: &str) -> u16 {
        self.client()
            .get(format!("{}/api", self.base))
            .header(name, value)
            .send()
            .await
            .expect("GET /api")
            .status()
            .as_u16()
    }
}

#[derive(Clone)]
struct Shared {
    userinfo: String,
    git_root: PathBuf,
    http: reqwest::Client,
    accepted: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    bearer_seen: Arc<AtomicUsize>,
}

/// A TLS listener for `axum::serve`: a failed handshake drops that connection only.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Starts the server: tokens are checked at `userinfo` (the embedded server's userinfo
/// endpoint); git repositories are served from `git_root`.
pub async fn start(userinfo: String, git_root: PathBuf) -> ResourceServer {
    let ca_key = KeyPair::generate().expect("generate the CA key");
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).expect("CA certificate parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "tvlogin test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("self-sign the CA");
    let leaf_key = KeyPair::generate().expect("generate the leaf key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("leaf certificate parameters")
        .signed_by(&leaf_key, &ca)
        .expect("sign the leaf certificate");

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("choose the TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), CertificateDer::from(ca.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("set the server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    let tcp = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the resource server's port on 127.0.0.1");
    let addr = tcp
        .local_addr()
        .expect("read the resource server's address");
    let shared = Shared {
        userinfo,
        git_root,
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("build the HTTP client"),
        accepted: Arc::new(AtomicUsize::new(0)),
        refused: Arc::new(AtomicUsize::new(0)),
        bearer_seen: Arc::new(AtomicUsize::new(0)),
    };
    let server = ResourceServer {
        base: format!("https://{addr}"),
        ca_pem: ca.pem(),
        accepted: Arc::clone(&shared.accepted),
        refused: Arc::clone(&shared.refused),
        bearer_seen: Arc::clone(&shared.bearer_seen),
    };
    let app = Router::new().fallback(handle).with_state(shared);
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    server
}

/// The token in `Authorization`, from `Bearer` or as `Basic`'s password.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text
            .split_once(':')
            .map(|(_, password)| password.to_owned());
    }
    None
}

async fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) = presented_token(headers) else {
        return false;
    };
    shared
        .http
        .get(&shared.userinfo)
        .bearer_auth(token)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !authorized(&shared, &parts.headers).await {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        let mut response = (StatusCode::UNAUTHORIZED, "a valid token is needed\n").into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tvlogin-test\""),
        );
        return response;
    }
    shared.accepted.fetch_add(1, Ordering::SeqCst);
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
        });
    if bearer {
        shared.bearer_seen.fetch_add(1, Ordering::SeqCst);
    }
    let path = parts.uri.path().to_owned();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/git") {
        return git_cgi(&shared, &parts, rest, body).await;
    }
    let json = |text: &str| {
        (
            [(header::CONTENT_TYPE, "application/json")],
            text.to_owned(),
        )
            .into_response()
    };
    match path.as_str() {
        "/api" => json(
            r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#,
        ),
        "/apis" => json(r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#),
        "/version" => json(r#"{"major":"1","minor":"32","gitVersion":"v1.32.0"}"#),
        _ => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// Runs `git http-backend` as a CGI program for one request.
async fn git_cgi(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    path_info: &str,
    body: Bytes,
) -> Response {
    let header = |name: &header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut command = tokio::process::Command::new(GIT_HTTP_BACKEND);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &shared.git_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", path_info)
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", header(&header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header(&header::CONTENT_ENCODING))
        .env("REMOTE_USER", "oauth2")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    if let Some(protocol) = parts
        .headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
    {
        command.env("GIT_PROTOCOL", protocol);
    }
    let mut child = command.spawn().expect("spawn git http-backend");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&body).await;
    }
    let output = child
        .wait_with_output()
        .await
        .expect("wait for git http-backend");
    // CGI: headers, a blank line, the body.
    let out = output.stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, len)) = split else {
        return (StatusCode::BAD_GATEWAY, "no CGI headers\n").into_response();
    };
    let head = String::from_utf8_lossy(&out[..at]).into_owned();
    let mut response = Response::new(Body::from(out[at + len..].to_vec()));
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse().ok());
            if let Some(status) = code.and_then(|c| StatusCode::from_u16(c).ok()) {
                *response.status_mut() = status;
            }
        } else if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A bare repository `repo.git` under `root` with one commit, made with the real git.
pub fn make_repo(root: &Path) {
    let work = root.join("work");
    std::fs::create_dir_all(&work).expect("create the work tree");
    std::fs::write(work.join("README"), "hello from the test repository\n")
        .expect("write the README");
    let git = |dir: &Path, args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(["-c", "init.defaultBranch=main"])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&work, &["init", "-q"]);
    git(&work, &["add", "README"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    git(root, &["clone", "-q", "--bare", "work", "repo.git"]);
}
