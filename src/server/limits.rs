//! What keeps `tvlogin serve` answering when a client misbehaves: header-read and body-read
//! timeouts, a body size cap, a cap on pending device authorizations, and a connection loop
//! (hyper's HTTP/1 server directly, since `axum::serve` sets no timeouts). Form parsing caps
//! (field count, value length) live with the parser in `request`.
//!
//! Every refusal is an RFC 6749 §5.2 shaped JSON error, so clients see a reason.

use std::io;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::reply;
use super::routes::Shared;

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
    /// Device authorizations pending at once; more are refused until some are decided or
    /// expire.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            max_pending: 1000,
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

/// A refusal when `max_pending` device authorizations are pending already.
pub(crate) fn refuse_when_full(sh: &Shared, limits: &Limits) -> Option<Response> {
    let pending = sh
        .lock()
        .pending_user_codes(&sh.env.cfg, Instant::now())
        .len();
    (pending >= limits.max_pending).then(|| {
        let mut r = refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many device authorizations are pending; try again later",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        r
    })
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
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait a moment instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
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
