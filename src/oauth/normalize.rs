//! Provider quirks, normalised in one place.
//!
//! Authorization servers disagree on the wire format of the same answers (see
//! `shared/research/providers.md`). This module turns any response into one shape,
//! [`OAuthResponse`], so the rest of the client reads fields without caring who sent them:
//!
//! - bodies are JSON objects or `application/x-www-form-urlencoded` (GitHub without
//!   `Accept: application/json`); anything else (an HTML 502 page) is kept as a short snippet;
//! - `verification_url[_complete]` (Google) is read as `verification_uri[_complete]`;
//! - errors are recognised by an `error` member at any HTTP status, including 200 (GitHub);
//! - numbers may arrive as JSON numbers or strings (form bodies have only strings);
//! - `Retry-After` (seconds or an HTTP date) and `Date` are parsed.
//!
//! Which error *means* what (pending, slow_down, denial under its several names) is decided
//! by the poll step in `poll.rs`; this module only makes the fields readable.

use std::time::Duration;

use serde_json::{Map, Value};

use super::http::RawResponse;
use crate::clock::UnixTime;
use crate::sanitize;

/// The body of a response, as far as it could be understood. Its `Debug` shows field names,
/// never values: token responses carry secrets.
#[derive(Clone, PartialEq)]
pub enum Body {
    /// A JSON object or a form-urlencoded body, as named fields.
    Fields(Map<String, Value>),
    /// Something else: kept only as a shortened snippet for error messages.
    Other {
        /// The `Content-Type` the server declared, if any.
        content_type: Option<String>,
        /// The first characters of the body, as sent (escaped where it is shown).
        snippet: String,
    },
    /// No body at all.
    Empty,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Fields(map) => f
                .debug_tuple("Fields")
                .field(&map.keys().collect::<Vec<_>>())
                .finish(),
            Body::Other {
                content_type,
                snippet,
            } => f
                .debug_struct("Other")
                .field("content_type", content_type)
                .field("snippet_chars", &snippet.chars().count())
                .finish(),
            Body::Empty => f.write_str("Empty"),
        }
    }
}

/// A normalised response from an OAuth endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthResponse {
    /// The URL that answered (for messages).
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// The parsed body.
    pub body: Body,
    /// How long the server asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// The server's clock (`Date`), for skew checks.
    pub date: Option<UnixTime>,
    /// `Location` of a redirect, which tvlogin never follows but reports.
    pub location: Option<String>,
}

/// An OAuth error response (RFC 6749 §5.2), wherever it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code, e.g. `authorization_pending`.
    pub error: String,
    /// `error_description`, if sent.
    pub description: Option<String>,
}

impl OAuthResponse {
    /// Normalises a raw response.
    pub fn from_raw(raw: &RawResponse) -> Self {
        let header = |name: http::header::HeaderName| {
            raw.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(http::header::CONTENT_TYPE);
        Self {
            url: raw.url.to_string(),
            status: raw.status,
            body: parse_body(content_type.as_deref(), &raw.body),
            retry_after: header(http::header::RETRY_AFTER)
                .and_then(|v| parse_retry_after(&v, raw.received)),
            date: header(http::header::DATE)
                .and_then(|v| httpdate::parse_http_date(&v).ok())
                .map(UnixTime::from_system),
            location: header(http::header::LOCATION),
        }
    }

    /// The named fields, if the body had any.
    pub fn fields(&self) -> Option<&Map<String, Value>> {
        match &self.body {
            Body::Fields(map) => Some(map),
            _ => None,
        }
    }

    /// A string field (JSON string, or a number rendered as text).
    pub fn str_field(&self, name: &str) -> Option<String> {
        match self.fields()?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A non-negative integer field, from a JSON number or a numeric string.
    pub fn u64_field(&self, name: &str) -> Option<u64> {
        match self.fields()?.get(name)? {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The OAuth error in the body, at any status (GitHub sends errors with 200).
    pub fn oauth_error(&self) -> Option<OAuthError> {
        let error = match self.fields()?.get("error")? {
            Value::String(s) if !s.is_empty() => s.clone(),
            _ => return None,
        };
        Some(OAuthError {
            error,
            description: self
                .str_field("error_description")
                .filter(|d| !d.is_empty()),
        })
    }

    /// `HTTP 502 (text/html)`: the status and what kind of body came with it, never a parser
    /// message. `content_type` is the declared type, else what the body turned out to be.
    pub fn status_line(&self) -> String {
        let kind = match &self.body {
            Body::Fields(_) => "JSON".to_owned(),
            Body::Other {
                content_type: Some(ct),
                ..
            } => ct.split(';').next().unwrap_or(ct).trim().to_owned(),
            Body::Other { .. } => "no content type".to_owned(),
            Body::Empty => "empty body".to_owned(),
        };
        match (self.status, &self.location) {
            (300..=399, Some(to)) => format!(
                "HTTP {} (a redirect to {}, which tvlogin never follows)",
                self.status,
                sanitize::truncate(to, 120)
            ),
            _ => format!("HTTP {} ({kind})", self.status),
        }
    }

    /// One line that says what came back when it was not what we expected, for error messages.
    pub fn describe(&self) -> String {
        match &self.body {
            Body::Fields(_) => match self.oauth_error() {
                Some(e) => match e.description {
                    Some(d) => format!("HTTP {}: {}: {}", self.status, e.error, d),
                    None => format!("HTTP {}: {}", self.status, e.error),
                },
                None => format!("HTTP {} with a JSON body", self.status),
            },
            Body::Other {
                content_type,
                snippet,
            } => format!(
                "HTTP {} with a non-OAuth body ({}): {}",
                self.status,
                content_type.as_deref().unwrap_or("no content type"),
                snippet
            ),
            Body::Empty => format!("HTTP {} with an empty body", self.status),
        }
    }
}

/// Parses a body by what it is, not only by what it claims to be: servers label JSON as
/// text/plain and HTML error pages as JSON often enough.
fn parse_body(content_type: Option<&str>, body: &[u8]) -> Body {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Body::Empty;
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        return Body::Fields(alias(map));
    }
    let is_form =
        content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("x-www-form-urlencoded"));
    if is_form {
        let map = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Body::Fields(alias(map));
    }
    Body::Other {
        content_type: content_type.map(|ct| sanitize::truncate(ct, 60)),
        snippet: sanitize::truncate(&String::from_utf8_lossy(body), 120),
    }
}

/// Google's `verification_url` names are the RFC's `verification_uri`.
fn alias(mut map: Map<String, Value>) -> Map<String, Value> {
    for (from, to) in [
        ("verification_url", "verification_uri"),
        ("verification_url_complete", "verification_uri_complete"),
    ] {
        if !map.contains_key(to)
            && let Some(v) = map.remove(from)
        {
            map.insert(to.to_owned(), v);
        }
    }
    map
}

/// The longest `Retry-After` believed; a larger one is cut (a local deadline ends the wait
/// anyway, and no arithmetic may overflow on a server's number).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
/// A date is measured from `now`, when the answer arrived; one already past means no wait.
fn parse_retry_after(value: &str, now: UnixTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = UnixTime::from_system(httpdate::parse_http_date(value).ok()?);
            Duration::from_secs(u64::try_from(now.until(at)).unwrap_or(0))
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A raw response for tests.
    pub(crate) fn raw(status: u16, content_type: Option<&str>, body: &str) -> RawResponse {
        let mut headers = http::HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_str(ct).unwrap_or(http::HeaderValue::from_static("x/y")),
            );
        }
        RawResponse {
            url: url::Url::parse("https://idp.example/token").expect("a valid URL"),
            status,
            headers,
            body: body.as_bytes().to_vec(),
            received: UnixTime::from_secs(1_000_000),
        }
    }

    #[test]
    fn bodies_of_every_shape() {
        let json = OAuthResponse::from_raw(&raw(
            400,
            Some("application/json"),
            r#"{"error":"slow_down","interval":"10"}"#,
        ));
        assert_eq!(
            json.oauth_error().map(|e| e.error),
            Some("slow_down".into())
        );
        assert_eq!(json.u64_field("interval"), Some(10));

        let form = OAuthResponse::from_raw(&raw(
            200,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            "error=authorization_pending&error_description=The+authorization+request+is+still+pending.",
        ));
        let err = form.oauth_error().unwrap_or_else(|| panic!("no error"));
        assert_eq!(err.error, "authorization_pending");
        assert_eq!(
            err.description.as_deref(),
            Some("The authorization request is still pending.")
        );

        let html = OAuthResponse::from_raw(&raw(
            502,
            Some("text/html"),
            "<html><body>\x1b[2J Bad Gateway</body></html>",
        ));
        assert!(html.oauth_error().is_none());
        let shown = html.describe();
        assert!(
            shown.starts_with("HTTP 502 with a non-OAuth body (text/html)"),
            "{shown}"
        );
        // The body's own characters are kept: the message is escaped where it is shown, for
        // a terminal or as JSON, never before (a script would read altered text).
        assert!(shown.contains("\x1b[2J Bad Gateway"), "{shown}");
        assert!(!sanitize::escape(&shown).contains('\x1b'), "{shown}");

        let empty = OAuthResponse::from_raw(&raw(503, None, "  \n"));
        assert_eq!(empty.body, Body::Empty);

        // JSON labelled text/plain is still JSON.
        let mislabelled =
            OAuthResponse::from_raw(&raw(200, Some("text/plain"), r#"{"access_token":"x"}"#));
        assert_eq!(mislabelled.str_field("access_token"), Some("x".into()));
    }

    #[test]
    fn debug_never_shows_values() {
        let tokens = OAuthResponse::from_raw(&raw(
            200,
            Some("application/json"),
            r#"{"access_token":"AT-secret","refresh_token":"RT-secret","device_code":"DC-secret"}"#,
        ));
        let shown = format!("{tokens:?}");
        assert!(
            shown.contains("access_token") && !shown.contains("secret"),
            "{shown}"
        );
        let shown = format!("{:?}", raw(200, None, "access_token=AT-secret"));
        assert!(!shown.contains("AT-secret"), "{shown}");
    }

    #[test]
    fn google_verification_url_is_an_alias() {
        let google = OAuthResponse::from_raw(&raw(
            200,
            Some("application/json"),
            r#"{"verification_url":"https://www.google.com/device","device_code":"d"}"#,
        ));
        assert_eq!(
            google.str_field("verification_uri").as_deref(),
            Some("https://www.google.com/device")
        );
        // The RFC name wins when both are present.
        let both = OAuthResponse::from_raw(&raw(
            200,
            None,
            r#"{"verification_url":"https://a/","verification_uri":"https://b/"}"#,
        ));
        assert_eq!(
            both.str_field("verification_uri").as_deref(),
            Some("https://b/")
        );
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = UnixTime::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_030),
        );
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        let past = httpdate::fmt_http_date(std::time::SystemTime::UNIX_EPOCH);
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(MAX_RETRY_AFTER)
        );
    }
}
