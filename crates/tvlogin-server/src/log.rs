//! The request log: one line per request (`tvlogin serve` prints them on stderr) saying what
//! was asked and how it was answered, so a person testing a client sees each step. Never a
//! secret: no device code, token, client secret or header value goes into a line; the
//! parameters named are the grant type, the client id, a token type hint and, at the
//! verification page, the user code and the decision.

use std::time::Instant;

use axum::body::{Body, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::limits::MAX_BODY;

/// Where the log lines go: each line is sent as it is made, without a newline.
pub type RequestLog = tokio::sync::mpsc::UnboundedSender<String>;

/// Middleware: logs the request and its answer once the answer is ready.
pub(crate) async fn log_requests(
    State(log): State<RequestLog>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    // The body guard in front has read the body already: this is a copy in memory.
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let asked = describe_request(
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &parts.headers,
        &bytes,
    );
    let (method, path) = (parts.method.clone(), parts.uri.path().to_owned());
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // Only a small body of known size is read: a streamed one (a fault) is passed on as it is.
    let small = body
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_BODY as u64);
    let (body, answer) = if is_json && small {
        match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => {
                let answer = describe_answer(&bytes);
                (Body::from(bytes), answer)
            }
            Err(_) => (Body::empty(), String::new()),
        }
    } else {
        (body, String::new())
    };
    let line = format!(
        "{method} {path}{asked} -> {status}{answer} ({} ms)",
        started.elapsed().as_millis()
    );
    let _ = log.send(line);
    Response::from_parts(parts, body)
}

/// ` grant=device_code client=tvlogin-demo`: the request's harmless parameters, each with a
/// leading space.
pub(crate) fn describe_request(
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> String {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .chain(url::form_urlencoded::parse(query.as_bytes()))
        .take(64)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let mut out = String::new();
    if let Some(grant) = get("grant_type") {
        let short = grant.rsplit(':').next().unwrap_or(grant);
        out.push_str(&format!(" grant={}", safe(short)));
    }
    let basic_id = basic_client_id(headers);
    match (get("client_id"), &basic_id) {
        (_, Some(id)) => out.push_str(&format!(" client={} (basic)", safe(id))),
        (Some(id), None) => out.push_str(&format!(" client={}", safe(id))),
        (None, None) => {}
    }
    if let Some(hint) = get("token_type_hint") {
        out.push_str(&format!(" hint={}", safe(hint)));
    }
    if path == "/device" {
        if let Some(code) = get("user_code") {
            out.push_str(&format!(" user_code={}", safe(code)));
        }
        if let Some(action) = get("action") {
            out.push_str(&format!(" action={}", safe(action)));
        }
    }
    out
}

/// ` authorization_pending`, ` tokens (refresh token, id token)`, ` user_code=BCDF-GHJK`,
/// ` active=true`: what a JSON answer said, with a leading space; empty when nothing fits.
pub(crate) fn describe_answer(body: &[u8]) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    if let Some(error) = text("error") {
        return format!(" {}", safe(error));
    }
    if fields.contains_key("access_token") {
        let mut with = Vec::new();
        if fields.contains_key("refresh_token") {
            with.push("refresh token");
        }
        if fields.contains_key("id_token") {
            with.push("id token");
        }
        return if with.is_empty() {
            " tokens".into()
        } else {
            format!(" tokens ({})", with.join(", "))
        };
    }
    if let Some(code) = text("user_code") {
        return format!(" user_code={}", safe(code));
    }
    if let Some(active) = fields.get("active").and_then(Value::as_bool) {
        return format!(" active={active}");
    }
    String::new()
}

/// The client id of an HTTP Basic `Authorization` header (never its secret).
fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, _) = decoded.split_once(':')?;
    url::form_urlencoded::parse(format!("v={id}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// A value as it may appear in a log line: printable ASCII without spaces, at most 64
/// characters (a client could send anything, and the log goes to a terminal).
fn safe(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if value.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn requests_are_described_without_secrets() {
        let mut basic = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("tvlogin-basic:basic-secret"));
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        let table: [(&str, &HeaderMap, &str, &str); 5] = [
            (
                "/token",
                &HeaderMap::new(),
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=DEVCODE&client_id=tvlogin-demo",
                " grant=device_code client=tvlogin-demo",
            ),
            (
                "/token",
                &basic,
                "grant_type=refresh_token&refresh_token=RTSECRET&client_id=tvlogin-basic",
                " grant=refresh_token client=tvlogin-basic (basic)",
            ),
            (
                "/token",
                &HeaderMap::new(),
                "grant_type=refresh_token&refresh_token=RTSECRET&client_id=tvlogin-post&client_secret=post-secret",
                " grant=refresh_token client=tvlogin-post",
            ),
            (
                "/revoke",
                &HeaderMap::new(),
                "token=ATSECRET&token_type_hint=access_token&client_id=c",
                " client=c hint=access_token",
            ),
            (
                "/device",
                &HeaderMap::new(),
                "user_code=BCDF-GHJK&action=approve",
                " user_code=BCDF-GHJK action=approve",
            ),
        ];
        for (path, headers, body, want) in table {
            let line = describe_request(path, "", headers, body.as_bytes());
            assert_eq!(line, want, "{body}");
            for secret in ["DEVCODE", "RTSECRET", "ATSECRET", "secret"] {
                assert!(!line.contains(secret), "{line}");
            }
        }
    }

    #[test]
    fn answers_are_described_without_secrets() {
        let table = [
            (
                r#"{"error":"authorization_pending","error_description":"x"}"#,
                " authorization_pending",
            ),
            (
                r#"{"access_token":"AT","refresh_token":"RT","id_token":"IT","token_type":"Bearer"}"#,
                " tokens (refresh token, id token)",
            ),
            (r#"{"access_token":"AT"}"#, " tokens"),
            (
                r#"{"device_code":"DC","user_code":"BCDF-GHJK","verification_uri":"u"}"#,
                " user_code=BCDF-GHJK",
            ),
            (r#"{"active":false}"#, " active=false"),
            (r#"{"issuer":"x"}"#, ""),
            ("not json", ""),
            (r#"{"error":"\u001b[31mbad"}"#, " ?[31mbad"),
        ];
        for (body, want) in table {
            assert_eq!(describe_answer(body.as_bytes()), want, "{body}");
        }
    }
}
