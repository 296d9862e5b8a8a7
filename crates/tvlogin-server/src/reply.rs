//! OAuth error kinds and how each provider puts errors and successes on the wire
//! (status code, error code spelling, extra fields, JSON or form encoding).

use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::config::Quirks;
use super::random;

/// What went wrong, in RFC terms. The wire spelling depends on the quirks
/// (see [`wire_code`]); records always use [`ErrorKind::rfc_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    /// An `invalid_grant` caused by a device code the server never issued; some providers
    /// have a dedicated code for it.
    UnknownDeviceCode,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 8707: a `resource` that is not an absolute URI.
    InvalidTarget,
    AuthorizationPending,
    SlowDown,
    AccessDenied,
    ExpiredToken,
    ServerError,
}

impl ErrorKind {
    /// The RFC 6749 / RFC 8628 error code.
    pub(crate) fn rfc_code(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::InvalidClient => "invalid_client",
            ErrorKind::InvalidGrant | ErrorKind::UnknownDeviceCode => "invalid_grant",
            ErrorKind::UnauthorizedClient => "unauthorized_client",
            ErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            ErrorKind::InvalidScope => "invalid_scope",
            ErrorKind::InvalidTarget => "invalid_target",
            ErrorKind::AuthorizationPending => "authorization_pending",
            ErrorKind::SlowDown => "slow_down",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::ExpiredToken => "expired_token",
            ErrorKind::ServerError => "server_error",
        }
    }
}

/// An OAuth error on its way to the client.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) kind: ErrorKind,
    /// Overrides the provider's default description.
    pub(crate) description: Option<String>,
    /// For `slow_down`: the interval that was in force and the new one, in seconds.
    pub(crate) intervals: Option<(u64, u64)>,
    /// Outcome to record instead of the RFC code (e.g. `replay_revoked_grant`).
    pub(crate) record_as: Option<&'static str>,
}

impl OAuthError {
    pub(crate) fn new(kind: ErrorKind) -> OAuthError {
        OAuthError {
            kind,
            description: None,
            intervals: None,
            record_as: None,
        }
    }

    pub(crate) fn with(kind: ErrorKind, description: impl Into<String>) -> OAuthError {
        OAuthError {
            description: Some(description.into()),
            ..OAuthError::new(kind)
        }
    }

    pub(crate) fn server_error() -> OAuthError {
        OAuthError::with(
            ErrorKind::ServerError,
            "internal error while minting tokens",
        )
    }

    /// The outcome string for [`PollRecord`](super::PollRecord) / [`RefreshRecord`](super::RefreshRecord).
    pub(crate) fn outcome(&self) -> String {
        self.record_as.unwrap_or(self.kind.rfc_code()).to_owned()
    }
}

impl From<aws_lc_rs::error::Unspecified> for OAuthError {
    fn from(_: aws_lc_rs::error::Unspecified) -> OAuthError {
        OAuthError::server_error()
    }
}

/// Which endpoint is answering; status codes and encodings differ per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    DeviceAuthorization,
    Token,
    /// Revocation and introspection: always plain RFC behaviour.
    Other,
}

/// Everything needed to encode a response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wire {
    pub(crate) quirks: Quirks,
    pub(crate) endpoint: Endpoint,
    /// The request's `Accept` mentioned JSON (only GitHub cares).
    pub(crate) accept_json: bool,
    /// Token-endpoint errors go out with HTTP 200 ([`super::Knobs::errors_with_200`]).
    pub(crate) errors_with_200: bool,
}

impl Wire {
    pub(crate) fn new(quirks: Quirks, endpoint: Endpoint, headers: &HeaderMap) -> Wire {
        let accept_json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("json"));
        Wire {
            quirks,
            endpoint,
            accept_json,
            errors_with_200: false,
        }
    }

    /// GitHub answers `application/x-www-form-urlencoded` unless JSON was asked for.
    fn form_encoded(self) -> bool {
        self.quirks == Quirks::Github && !self.accept_json && self.endpoint != Endpoint::Other
    }
}

/// HTTP status of an error, per provider.
pub(crate) fn status_for(quirks: Quirks, endpoint: Endpoint, kind: ErrorKind) -> StatusCode {
    use ErrorKind as K;
    if kind == K::ServerError {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if endpoint != Endpoint::Token {
        return if kind == K::InvalidClient {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
    }
    match (quirks, kind) {
        // GitHub's token endpoint reports every error in a 200 response.
        (Quirks::Github, _) => StatusCode::OK,
        (_, K::InvalidClient) => StatusCode::UNAUTHORIZED,
        (Quirks::Google, K::AuthorizationPending) => StatusCode::PRECONDITION_REQUIRED,
        (Quirks::Google, K::SlowDown | K::AccessDenied) => StatusCode::FORBIDDEN,
        (Quirks::Auth0, K::SlowDown) => StatusCode::TOO_MANY_REQUESTS,
        (
            Quirks::Auth0,
            K::AuthorizationPending
            | K::AccessDenied
            | K::ExpiredToken
            | K::InvalidGrant
            | K::UnknownDeviceCode,
        ) => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The error code as the provider spells it.
fn wire_code(wire: Wire, kind: ErrorKind) -> &'static str {
    match (wire.quirks, kind) {
        (Quirks::Github, ErrorKind::UnknownDeviceCode) => "incorrect_device_code",
        (Quirks::Github, ErrorKind::InvalidClient) if wire.endpoint == Endpoint::Token => {
            "incorrect_client_credentials"
        }
        (Quirks::Microsoft, ErrorKind::AccessDenied) => "authorization_declined",
        (Quirks::Microsoft, ErrorKind::UnknownDeviceCode) => "bad_verification_code",
        _ => kind.rfc_code(),
    }
}

/// Default description when the handler gave none.
fn default_description(wire: Wire, kind: ErrorKind, intervals: Option<(u64, u64)>) -> String {
    use ErrorKind as K;
    let old = intervals.map_or(0, |(old, _)| old);
    let s = match (wire.quirks, kind) {
        (Quirks::Github, K::AuthorizationPending) => "The authorization request is still pending.",
        (Quirks::Github, K::SlowDown) => "Too many requests have been made in the same timeframe.",
        (Quirks::Github, K::ExpiredToken) => "The device_code has expired.",
        (Quirks::Github, K::AccessDenied) => "The authorization request was denied.",
        (Quirks::Github, K::UnknownDeviceCode) => "The device_code provided is not valid.",
        (Quirks::Github, K::InvalidClient) => {
            "The client_id and/or client_secret passed are incorrect."
        }
        // Google's device-flow errors carry just the HTTP reason phrase.
        (Quirks::Google, K::AuthorizationPending) => "Precondition Required",
        (Quirks::Google, K::SlowDown | K::AccessDenied) => "Forbidden",
        (Quirks::Google, K::ExpiredToken) => "Bad Request",
        (Quirks::Auth0, K::AuthorizationPending) => "User has yet to authorize device code.",
        (Quirks::Auth0, K::SlowDown) => {
            return format!("You are polling faster than the specified interval of {old} seconds.");
        }
        (Quirks::Auth0, K::AccessDenied) => "User has rejected the request",
        (Quirks::Auth0, K::ExpiredToken) => "The device_code has expired.",
        (Quirks::Auth0, K::UnknownDeviceCode | K::InvalidGrant) => {
            "Invalid or expired device code."
        }
        (Quirks::Keycloak, K::SlowDown) => "Slow down",
        (Quirks::Keycloak, K::AuthorizationPending) => "The authorization request is still pending",
        (Quirks::Microsoft, K::AuthorizationPending) => {
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling."
        }
        (Quirks::Microsoft, K::ExpiredToken) => "Verification code expired.",
        (Quirks::Microsoft, K::AccessDenied) => "The user declined the authorization request.",
        (Quirks::Microsoft, K::UnknownDeviceCode) => {
            "The provided value for the input parameter 'device_code' is not valid."
        }
        (_, K::AuthorizationPending) => "The user has not yet approved or denied the request.",
        (_, K::SlowDown) => {
            return format!("Polling too fast: wait at least {old} seconds between polls.");
        }
        (_, K::AccessDenied) => "The user denied the authorization request.",
        (_, K::ExpiredToken) => "The device code has expired; start over.",
        (_, K::UnknownDeviceCode) => "Unknown device code.",
        (_, K::InvalidGrant) => "The grant is invalid, expired or revoked.",
        (_, K::InvalidClient) => "Client authentication failed.",
        (_, K::InvalidRequest) => "The request is malformed.",
        (_, K::UnauthorizedClient) => "The client is not allowed to do this.",
        (_, K::UnsupportedGrantType) => "Unsupported grant_type.",
        (_, K::InvalidScope) => "The requested scope is invalid.",
        (_, K::InvalidTarget) => "The requested resource is invalid.",
        (_, K::ServerError) => "Internal server error.",
    };
    s.to_owned()
}

/// Microsoft's AADSTS number for an error kind (illustrative, taken from Entra's error tables).
fn microsoft_code(kind: ErrorKind) -> u32 {
    match kind {
        ErrorKind::AuthorizationPending => 70016,
        ErrorKind::ExpiredToken => 70019,
        ErrorKind::AccessDenied | ErrorKind::UnknownDeviceCode | ErrorKind::InvalidGrant => 70000,
        ErrorKind::InvalidClient => 7000215,
        ErrorKind::InvalidRequest => 900144,
        ErrorKind::UnsupportedGrantType => 70003,
        ErrorKind::InvalidScope => 70011,
        ErrorKind::InvalidTarget => 500011,
        ErrorKind::UnauthorizedClient => 700016,
        // Microsoft never sends slow_down; listed only to keep the match total.
        ErrorKind::SlowDown => 70016,
        ErrorKind::ServerError => 90033,
    }
}

/// Render an OAuth error response (RFC 6749 §5.2 plus the provider's extras).
pub(crate) fn error(wire: Wire, err: &OAuthError) -> Response {
    let status = if wire.errors_with_200 && wire.endpoint == Endpoint::Token {
        StatusCode::OK
    } else {
        status_for(wire.quirks, wire.endpoint, err.kind)
    };
    let mut body = Map::new();
    body.insert("error".into(), json!(wire_code(wire, err.kind)));
    let description = err
        .description
        .clone()
        .unwrap_or_else(|| default_description(wire, err.kind, err.intervals));
    let mut description = super::quirks::free_text(wire.quirks, &description);
    match wire.quirks {
        Quirks::Github if wire.endpoint != Endpoint::Other => {
            body.insert("error_description".into(), json!(description));
            body.insert(
                "error_uri".into(),
                json!(
                    "https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow"
                ),
            );
            if let (ErrorKind::SlowDown, Some((_, new))) = (err.kind, err.intervals) {
                body.insert("interval".into(), json!(new));
            }
        }
        Quirks::Microsoft if wire.endpoint != Endpoint::Other => {
            let code = microsoft_code(err.kind);
            let trace = random::uuid().unwrap_or_default();
            let correlation = random::uuid().unwrap_or_default();
            let timestamp = format_timestamp(SystemTime::now());
            description = format!(
                "AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
            );
            body.insert("error_description".into(), json!(description));
            body.insert("error_codes".into(), json!([code]));
            body.insert("timestamp".into(), json!(timestamp));
            body.insert("trace_id".into(), json!(trace));
            body.insert("correlation_id".into(), json!(correlation));
        }
        _ => {
            body.insert("error_description".into(), json!(description));
        }
    }
    let mut response = encode(wire, status, body);
    if status == StatusCode::UNAUTHORIZED {
        // RFC 9110 §15.5.2: a 401 must say how to authenticate; RFC 6749 §5.2 wants the
        // scheme the client tried, and Basic is the only header scheme clients use here.
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tvlogin\""),
        );
    }
    response
}

/// Render a successful OAuth response body.
pub(crate) fn success(wire: Wire, body: Map<String, Value>) -> Response {
    encode(wire, StatusCode::OK, body)
}

/// JSON (or GitHub's form encoding), never cached (RFC 6749 §5.1).
fn encode(wire: Wire, status: StatusCode, body: Map<String, Value>) -> Response {
    let (content_type, text) = if wire.form_encoded() {
        let pairs: Vec<(String, String)> = body
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        (
            "application/x-www-form-urlencoded; charset=utf-8",
            serde_urlencoded::to_string(pairs).unwrap_or_default(),
        )
    } else {
        ("application/json", Value::Object(body).to_string())
    };
    no_store(status, content_type, text)
}

/// A response with `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn no_store(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A plain JSON response (discovery, JWKS, introspection, userinfo).
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    no_store(status, "application/json", body.to_string())
}

/// `YYYY-MM-DD HH:MM:SSZ` in UTC, the format of Microsoft's `timestamp` field.
pub(crate) fn format_timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-since-1970 to proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_452_304_932);
        assert_eq!(format_timestamp(t), "2016-01-09 02:02:12Z");
        assert_eq!(
            format_timestamp(SystemTime::UNIX_EPOCH),
            "1970-01-01 00:00:00Z"
        );
    }

    #[test]
    fn provider_status_codes() {
        use ErrorKind as K;
        let t = Endpoint::Token;
        assert_eq!(status_for(Quirks::Rfc, t, K::SlowDown), 400);
        assert_eq!(status_for(Quirks::Rfc, t, K::InvalidClient), 401);
        assert_eq!(status_for(Quirks::Github, t, K::InvalidClient), 200);
        assert_eq!(status_for(Quirks::Google, t, K::AuthorizationPending), 428);
        assert_eq!(status_for(Quirks::Google, t, K::ExpiredToken), 400);
        assert_eq!(status_for(Quirks::Auth0, t, K::SlowDown), 429);
        assert_eq!(status_for(Quirks::Auth0, t, K::ExpiredToken), 403);
        assert_eq!(status_for(Quirks::Keycloak, t, K::AccessDenied), 400);
        assert_eq!(
            status_for(
                Quirks::Github,
                Endpoint::DeviceAuthorization,
                K::InvalidClient
            ),
            401
        );
    }
}
