//! What keeps `tvlogin serve` answering when a client misbehaves: header-read and body-read
//! timeouts, a body size cap, caps on pending device authorizations (per client address and in
//! all; the oldest pending ones are evicted, so one noisy client never locks everyone else
//! out), and a connection loop (hyper's HTTP/1 server directly, since `axum::serve` sets no
//! timeouts) that tags every request with the address it came from ([`Peer`]). Form parsing
//! caps (field count, value length) live with the parser in `request`.
//!
//! Every refusal is an RFC 6749 §5.2 shaped JSON error, so clients see a reason.

use std::io;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt as _;

use super::reply;

/// The address a request came from (set by the connection loop for every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub std::net::IpAddr);

/// The largest request body read, in bytes (form bodies of OAuth requests are a few hundred).
pub const MAX_BODY: usize = 64 * 1024;

/// Timeouts and caps of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A client must send a request's headers within this time, and an idle keep-alive
    /// connection is closed after it (hyper restarts the timer while waiting for a head).
    pub header_read: Duration,
    /// A client must send a request's body within this time.
    pub body_read: Duration,
    /// Device authorizations pending at once, in all: past it, the oldest pending one is
    /// evicted (its polls get `expired_token`) to make room for the new one.
    pub max_pending: usize,
    /// Device authorizations pending at once from one client address: past it, that
    /// address's oldest pending one is evicted, so a flood from one address only ever
    /// displaces its own codes.
    pub max_pending_per_peer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            max_pending: 1000,
            max_pending_per_peer: 100,
        }
    }
}

/// An RFC-shaped error answer that is not a provider's quirk (the request never reached a
/// handler, or the server is full).
fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = reply::json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    // The body may be unread: the connection cannot be reused.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Middleware: reads the whole body first, within [`MAX_BODY`] bytes and `body_read` time, so
/// no handler waits on a slow client or buffers a huge one.
pub(crate) async fn body_guard(
    State(limits): State<Limits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_BODY);
    match tokio::time::timeout(limits.body_read, read).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            &format!(
                "the request body is larger than {} KiB, or broken",
                MAX_BODY / 1024
            ),
        ),
        Err(_) => refusal(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request",
            &format!(
                "the request body did not arrive within {} s",
                limits.body_read.as_secs()
            ),
        ),
    }
}

/// Accepts connections until `stopped`, serving each with hyper's HTTP/1 server and the
/// header-read timeout; on stop, waits for connections in flight (the caller bounds the wait).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: wait a moment instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Every request carries the address it came from, for the per-address caps.
        let ip = peer.ip();
        let tagged = app
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(Peer(ip));
                request
            });
        let service = TowerToHyperService::new(tagged);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .max_buf_size(64 * 1024);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
