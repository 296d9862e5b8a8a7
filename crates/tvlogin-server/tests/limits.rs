//! `tvlogin serve` under abuse: a 200k-field form is refused with an RFC-shaped error (not
//! parsed for a minute), a slow-header connection is closed by the header-read timeout, too
//! many pending device codes evict the oldest (per client address, then in all) instead of
//! refusing everyone, and discovery keeps answering throughout.
//! Correctness only: how fast is measured by `scripts/bench-serve-abuse.sh`, not here.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tvlogin_server::{DEMO_CLIENT_ID, Limits, ServerConfig, ServerHandle};

async fn start(limits: Limits) -> ServerHandle {
    ServerHandle::start_with_limits(ServerConfig::default(), limits)
        .await
        .expect("start the embedded server")
}

/// One request on its own connection; the whole answer as (status, body).
async fn request(server: &ServerHandle, head: &str, body: &[u8]) -> (u16, String) {
    request_from([127, 0, 0, 1], server, head, body).await
}

/// [`request`] from a chosen loopback source address (Linux answers for all of 127/8), so
/// the server sees different clients.
async fn request_from(
    source: [u8; 4],
    server: &ServerHandle,
    head: &str,
    body: &[u8],
) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind((std::net::Ipv4Addr::from(source), 0).into())
        .expect("bind the loopback source address");
    let mut stream = socket
        .connect(server.local_addr())
        .await
        .expect("connect to the server");
    let head = format!(
        "{head}\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the request head");
    // The server may answer (and close) before reading it all: a write error is fine.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn discovery_answers(server: &ServerHandle) {
    let (status, body) = request(
        server,
        "GET /.well-known/openid-configuration HTTP/1.1",
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(doc["issuer"], server.issuer_str());
}

fn oauth_error(body: &str) -> (String, String) {
    let doc: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (
        doc["error"].as_str().unwrap_or_default().to_owned(),
        doc["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

const FORM: &str =
    "POST /device_authorization HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded";

#[tokio::test]
async fn huge_forms_are_refused_and_discovery_keeps_answering() {
    let server = start(Limits::default()).await;
    // 200k fields, 1.9 MB: over the size cap.
    let huge = "scope=a&".repeat(200_000);
    let (status, body) = request(&server, FORM, huge.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    let (error, why) = oauth_error(&body);
    assert_eq!(error, "invalid_request");
    assert!(why.contains("larger than 64 KiB"), "{why}");
    // Under the size cap, thousands of fields: the field cap refuses it.
    let many = (0..7000)
        .map(|i| format!("f{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let (status, body) = request(&server, FORM, many.as_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        oauth_error(&body).1.contains("more than 64 parameters"),
        "{body}"
    );
    // A scope over 4 KiB.
    let long = format!("client_id={DEMO_CLIENT_ID}&scope={}", "s".repeat(5000));
    let (status, body) = request(&server, FORM, long.as_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert!(oauth_error(&body).1.contains("longer than 4 KiB"), "{body}");
    // While big forms arrive on other connections, discovery answers.
    let mut abusers = Vec::new();
    for _ in 0..4 {
        let addr = server.local_addr();
        let huge = huge.clone();
        abusers.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr)
                .await
                .expect("connect to the server");
            let head = format!(
                "{FORM}\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
                huge.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(huge.as_bytes()).await;
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
        }));
    }
    discovery_answers(&server).await;
    for a in abusers {
        let _ = a.await;
    }
    // A normal request still works.
    let ok = format!("client_id={DEMO_CLIENT_ID}&scope=openid");
    let (status, body) = request(&server, FORM, ok.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    server.shutdown().await;
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_discovery_keeps_answering() {
    let server = start(Limits {
        header_read: Duration::from_millis(500),
        body_read: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    // Headers that never finish.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(server.local_addr())
            .await
            .expect("connect to the server");
        s.write_all(b"GET /jwks HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
            .await
            .expect("send a slow header");
        slow.push(s);
    }
    discovery_answers(&server).await;
    // A body that never finishes gets an answer saying so.
    let mut stalled = TcpStream::connect(server.local_addr())
        .await
        .expect("connect to the server");
    stalled
        .write_all(format!("{FORM}\r\nhost: x\r\ncontent-length: 100\r\n\r\nclient_id=").as_bytes())
        .await
        .expect("send a stalled body");
    for mut s in slow {
        // The server closes the connection (EOF or reset), well before this generous bound.
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "a slow-header connection stayed open");
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
    discovery_answers(&server).await;
    server.shutdown().await;
}

/// A device authorization from `source`: its device code.
async fn authorize_from(source: [u8; 4], server: &ServerHandle) -> String {
    let body = format!("client_id={DEMO_CLIENT_ID}&scope=openid");
    let (status, answer) = request_from(source, server, FORM, body.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let doc: Value = serde_json::from_str(&answer).expect("a JSON answer");
    doc["device_code"]
        .as_str()
        .expect("a device_code")
        .to_owned()
}

/// The OAuth error a poll of `device_code` gets.
async fn poll(server: &ServerHandle, device_code: &str) -> String {
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id={DEMO_CLIENT_ID}&device_code={device_code}"
    );
    let head = "POST /token HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded";
    let (_, answer) = request(server, head, body.as_bytes()).await;
    oauth_error(&answer).0
}

#[tokio::test]
async fn pending_device_codes_evict_the_oldest_instead_of_refusing() {
    let server = start(Limits {
        max_pending: 3,
        max_pending_per_peer: 2,
        ..Limits::default()
    })
    .await;
    let (a, b) = ([127, 0, 0, 1], [127, 0, 0, 2]);
    let a1 = authorize_from(a, &server).await;
    let a2 = authorize_from(a, &server).await;
    // A third from the same address: that address's oldest makes room.
    let a3 = authorize_from(a, &server).await;
    assert_eq!(poll(&server, &a1).await, "expired_token");
    assert_eq!(poll(&server, &a2).await, "authorization_pending");
    assert_eq!(server.pending_user_codes().len(), 2);
    // Another client is never refused because of the first one's flood.
    let b1 = authorize_from(b, &server).await;
    assert_eq!(server.pending_user_codes().len(), 3);
    // Past the global cap, the oldest pending code of anyone goes.
    let b2 = authorize_from(b, &server).await;
    assert_eq!(poll(&server, &a2).await, "expired_token");
    for code in [&a3, &b1, &b2] {
        assert_eq!(poll(&server, code).await, "authorization_pending");
    }
    assert_eq!(server.pending_user_codes().len(), 3);
    // A flood from one address (ten times its cap) leaves the other's codes alone.
    for _ in 0..20 {
        authorize_from(a, &server).await;
    }
    // Polled a moment ago: `slow_down` is as alive as `authorization_pending`.
    let answer = poll(&server, &b2).await;
    assert!(
        ["authorization_pending", "slow_down"].contains(&answer.as_str()),
        "{answer}"
    );
    discovery_answers(&server).await;
    server.shutdown().await;
}
