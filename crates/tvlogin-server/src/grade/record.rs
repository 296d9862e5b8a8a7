//! What the grader remembers of each request of a device flow: the shape of the request
//! (method, content type, parameter names, client authentication, a decoded DPoP proof) and
//! the answer (status, outcome, `Retry-After`), never a secret. Tokens and codes are named
//! by their order in the flow (`refresh token #2`), not by value.
//!
//! Parsing here is pure: [`Seen::parse`] takes the request parts and body, [`Answer::parse`]
//! the response parts and body.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// Parameters whose values may be kept and shown: none of them is a secret.
const SHOWN: &[&str] = &["grant_type", "client_id", "token_type_hint", "scope"];

/// Parameters that are secrets or bearer credentials: they must never be in a URL.
pub(crate) const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "device_code",
    "refresh_token",
    "access_token",
    "token",
    "code",
    "password",
    "client_assertion",
];

/// The longest client-supplied value kept (longer ones are cut, with `…`).
const KEEP: usize = 120;

/// Which endpoint a request went to, as far as grading cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    DeviceAuthorization,
    Token,
    Revocation,
    /// `/grade/redirected/N`: where the redirect probe points.
    RedirectProbe(u32),
    Other,
}

impl Endpoint {
    pub(crate) fn of(path: &str) -> Endpoint {
        match path {
            "/device_authorization" => Endpoint::DeviceAuthorization,
            "/token" => Endpoint::Token,
            "/revoke" => Endpoint::Revocation,
            _ => match path.strip_prefix(super::PROBE_PATH) {
                Some(n) => n.parse().map_or(Endpoint::Other, Endpoint::RedirectProbe),
                None => Endpoint::Other,
            },
        }
    }
}

/// How the request body was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Empty,
    Form,
    Json,
    Other,
}

impl BodyKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BodyKind::Empty => "no body",
            BodyKind::Form => "a form body",
            BodyKind::Json => "a JSON body",
            BodyKind::Other => "an unreadable body",
        }
    }
}

/// How the client identified itself in one request (RFC 6749 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// Neither a `client_id` nor credentials.
    Missing,
    /// `client_id` only (a public client).
    IdOnly(String),
    /// `Authorization: Basic`.
    Basic(String),
    /// `client_id` and `client_secret` in the body.
    Post(String),
    /// Basic and a `client_secret` in the body: two methods in one request.
    Both(String),
}

impl ClientAuth {
    pub(crate) fn method(&self) -> &'static str {
        match self {
            ClientAuth::Missing => "nothing",
            ClientAuth::IdOnly(_) => "none (client_id only)",
            ClientAuth::Basic(_) => "client_secret_basic",
            ClientAuth::Post(_) => "client_secret_post",
            ClientAuth::Both(_) => "basic and post at once",
        }
    }

    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            ClientAuth::Missing => None,
            ClientAuth::IdOnly(id)
            | ClientAuth::Basic(id)
            | ClientAuth::Post(id)
            | ClientAuth::Both(id) => Some(id),
        }
    }
}

/// The public parts of a DPoP proof (RFC 9449 §4.2). The signature is not verified here.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Proof {
    /// The header could not be decoded as a JWT at all.
    pub(crate) malformed: bool,
    pub(crate) typ: Option<String>,
    pub(crate) alg: Option<String>,
    /// RFC 7638 thumbprint of the header's `jwk`.
    pub(crate) jkt: Option<String>,
    /// The `jwk` carries private key members (`d`, `p`, `q`, ...).
    pub(crate) private_jwk: bool,
    pub(crate) htm: Option<String>,
    pub(crate) htu: Option<String>,
    pub(crate) iat: Option<i64>,
    pub(crate) jti: Option<String>,
    pub(crate) nonce: Option<String>,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) endpoint: Endpoint,
    pub(crate) method: String,
    pub(crate) path: String,
    /// Names of the query parameters (values are never kept).
    pub(crate) query_names: Vec<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) accept: Option<String>,
    pub(crate) body: BodyKind,
    /// Names of the body parameters, in order.
    pub(crate) param_names: Vec<String>,
    /// Values of the [`SHOWN`] parameters.
    pub(crate) shown: BTreeMap<String, String>,
    pub(crate) auth: ClientAuth,
    pub(crate) proof: Option<Proof>,
    /// Wall clock, seconds since the epoch (for the proof's `iat`).
    pub(crate) wall: i64,
    /// Secret values, used only to find the flow and the token's number, then dropped
    /// ([`Seen::forget_secrets`]) before the request is recorded.
    pub(crate) secrets: Secrets,
}

/// Values the grader looks up but never stores in a record.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    pub(crate) device_code: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(redacted)")
    }
}

impl Seen {
    /// Read a request: its path and query, headers and body, and the server's wall clock.
    pub(crate) fn parse(
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        wall: i64,
    ) -> Seen {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| keep(&String::from_utf8_lossy(v.as_bytes())))
        };
        let content_type = text(header::CONTENT_TYPE);
        let mime = content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let (kind, pairs) = read_body(mime.as_deref(), body);
        let query_names = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, _)| keep(&k))
                    .collect()
            })
            .unwrap_or_default();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let shown = SHOWN
            .iter()
            .filter_map(|name| get(name).map(|v| ((*name).to_owned(), keep(&v))))
            .collect();
        let basic = basic_id(headers);
        let body_id = get("client_id");
        let body_secret = get("client_secret").is_some();
        let auth = match (basic, body_id, body_secret) {
            (Some(id), _, true) => ClientAuth::Both(keep(&id)),
            (Some(id), _, false) => ClientAuth::Basic(keep(&id)),
            (None, Some(id), true) => ClientAuth::Post(keep(&id)),
            (None, Some(id), false) => ClientAuth::IdOnly(keep(&id)),
            (None, None, _) => ClientAuth::Missing,
        };
        let proof = headers
            .get("dpop")
            .map(|v| decode_proof(&String::from_utf8_lossy(v.as_bytes())));
        Seen {
            endpoint: Endpoint::of(path),
            method: method.as_str().to_owned(),
            path: keep(path),
            query_names,
            content_type,
            accept: text(header::ACCEPT),
            body: kind,
            param_names: pairs.iter().map(|(k, _)| keep(k)).collect(),
            shown,
            auth,
            proof,
            wall,
            secrets: Secrets {
                device_code: get("device_code"),
                refresh_token: get("refresh_token"),
                token: get("token"),
            },
        }
    }

    /// The record as kept: the secret values are dropped once the flow and the token's
    /// number have been found.
    pub(crate) fn forget_secrets(mut self) -> Seen {
        self.secrets = Secrets::default();
        self
    }

    /// A shown parameter's value.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.shown.get(name).map(String::as_str)
    }

    /// Whether the body carried this parameter.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.param_names.iter().any(|n| n == name)
    }
}

/// The body's encoding and its name/value pairs (from a form, or a flat JSON object, so that
/// a client sending JSON is still recognised and graded).
fn read_body(mime: Option<&str>, body: &[u8]) -> (BodyKind, Vec<(String, String)>) {
    if body.is_empty() {
        return (BodyKind::Empty, Vec::new());
    }
    match mime {
        Some("application/x-www-form-urlencoded") => (
            BodyKind::Form,
            url::form_urlencoded::parse(body)
                .take(crate::request::MAX_FIELDS)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ),
        _ => match serde_json::from_slice::<Map<String, Value>>(body) {
            Ok(object) => (
                BodyKind::Json,
                object
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, v)
                    })
                    .collect(),
            ),
            Err(_) => (BodyKind::Other, Vec::new()),
        },
    }
}

/// The client id of `Authorization: Basic` credentials (the secret is not kept).
fn basic_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, _) = decoded.split_once(':')?;
    let wrapped = format!("v={id}");
    url::form_urlencoded::parse(wrapped.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Decode a DPoP proof's header and payload without verifying it.
pub(crate) fn decode_proof(jwt: &str) -> Proof {
    let mut parts = jwt.trim().split('.');
    let json = |part: Option<&str>| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(part?).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let (Some(head), Some(claims)) = (json(parts.next()), json(parts.next())) else {
        return Proof {
            malformed: true,
            ..Proof::default()
        };
    };
    let s = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(keep);
    let jwk = head.get("jwk").and_then(Value::as_object);
    Proof {
        malformed: parts.next().is_none(),
        typ: s(&head, "typ"),
        alg: s(&head, "alg"),
        jkt: jwk.and_then(crate::dpop::thumbprint),
        private_jwk: jwk.is_some_and(|k| {
            ["d", "p", "q", "dp", "dq", "qi", "k"]
                .iter()
                .any(|m| k.contains_key(*m))
        }),
        htm: s(&claims, "htm"),
        htu: s(&claims, "htu"),
        iat: claims.get("iat").and_then(Value::as_i64),
        jti: s(&claims, "jti"),
        nonce: s(&claims, "nonce"),
    }
}

/// What the server (or the grader) answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `tokens`, an RFC error code (provider spellings mapped to RFC ones), `redirect`, or
    /// `http_NNN` for a bare status.
    pub(crate) outcome: String,
    pub(crate) retry_after: Option<u64>,
    /// A `slow_down`'s own `interval` field (GitHub sends one).
    pub(crate) interval: Option<u64>,
    /// A `DPoP-Nonce` header.
    pub(crate) nonce: Option<String>,
    /// Which scenario provoked this answer (`None`: the server answered on its own).
    pub(crate) provoked: Option<&'static str>,
}

/// The fields of a JSON or form-encoded answer body.
pub(crate) fn answer_fields(headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    if let Ok(map) = serde_json::from_slice::<Map<String, Value>>(body) {
        return map;
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("x-www-form-urlencoded"));
    if form {
        return url::form_urlencoded::parse(body)
            .map(|(k, v)| {
                let v = match v.parse::<u64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => Value::String(v.into_owned()),
                };
                (k.into_owned(), v)
            })
            .collect();
    }
    Map::new()
}

impl Answer {
    /// Read a response.
    pub(crate) fn parse(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Answer {
        let fields = answer_fields(headers, body);
        let error = fields.get("error").and_then(Value::as_str);
        let outcome = match (error, status.as_u16()) {
            (Some(e), _) => rfc_error(e).to_owned(),
            (None, 200..=299) if fields.contains_key("access_token") => "tokens".to_owned(),
            (None, 300..=399) => "redirect".to_owned(),
            (None, s) => format!("http_{s}"),
        };
        let header_text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        Answer {
            status: status.as_u16(),
            outcome: keep(&outcome),
            retry_after: header_text("retry-after").and_then(|v| v.parse().ok()),
            interval: fields.get("interval").and_then(Value::as_u64),
            nonce: header_text("dpop-nonce").map(keep),
            provoked: None,
        }
    }

    /// Whether this answer ends polling (RFC 8628 §3.5: anything but `authorization_pending`,
    /// `slow_down`, or a transient failure; tokens too).
    pub(crate) fn terminal(&self) -> bool {
        !matches!(
            self.outcome.as_str(),
            "authorization_pending" | "slow_down" | "use_dpop_nonce" | "temporarily_unavailable"
        ) && !self.transient()
            && self.outcome != "redirect"
    }

    /// 5xx, 429 and 408: try again later.
    pub(crate) fn transient(&self) -> bool {
        self.status >= 500 || self.status == 429 || self.status == 408
    }
}

/// Provider spellings of the RFC's device-flow errors.
fn rfc_error(code: &str) -> &str {
    match code {
        "authorization_declined" => "access_denied",
        "code_expired" => "expired_token",
        "bad_verification_code" | "incorrect_device_code" => "invalid_grant",
        "incorrect_client_credentials" => "invalid_client",
        other => other,
    }
}

/// A client-supplied value, cut to a readable length.
pub(crate) fn keep(text: &str) -> String {
    if text.chars().count() <= KEEP {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(KEEP).collect();
    cut.push('…');
    cut
}

/// One request of a flow and its answer.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// Time since the flow's device authorization.
    pub(crate) at: Duration,
    pub(crate) kind: Kind,
    pub(crate) seen: Seen,
    pub(crate) answer: Answer,
    /// For refreshes: the number of the refresh token presented (1-based, in issue order)
    /// and the newest one at that moment. For revocations: which token it was.
    pub(crate) token: Option<TokenRef>,
}

/// What a request was, within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    DeviceAuthorization,
    Poll,
    Refresh,
    Revocation,
    FollowedRedirect,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::DeviceAuthorization => "device authorization",
            Kind::Poll => "poll",
            Kind::Refresh => "refresh",
            Kind::Revocation => "revocation",
            Kind::FollowedRedirect => "followed redirect",
        }
    }
}

/// A token named by its place in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRef {
    Refresh { number: u32, newest: u32 },
    Access { number: u32 },
}

/// The device authorization's answer as the client saw it (after any rewrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Issued {
    /// `interval` sent, if any.
    pub(crate) interval: Option<u64>,
    /// `expires_in` sent.
    pub(crate) expires_in: Option<u64>,
}

/// Everything recorded of one device flow, in arrival order.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    /// 1-based, in the order device authorizations were made in grading mode.
    pub(crate) number: u32,
    pub(crate) scenario: super::Scenario,
    /// Seconds since the epoch when the device authorization arrived.
    pub(crate) started_unix: u64,
    pub(crate) issued: Issued,
    pub(crate) exchanges: Vec<Exchange>,
}

impl Flow {
    /// The polls, in order.
    pub(crate) fn polls(&self) -> impl Iterator<Item = &Exchange> {
        self.exchanges.iter().filter(|e| e.kind == Kind::Poll)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn form_and_json_bodies_and_client_auth() {
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let s = Seen::parse(
            &Method::POST,
            "/token",
            Some("client_secret=x"),
            &form,
            b"grant_type=refresh_token&refresh_token=RT&client_id=c&client_secret=s",
            0,
        );
        assert_eq!(s.endpoint, Endpoint::Token);
        assert_eq!(s.body, BodyKind::Form);
        assert_eq!(s.auth, ClientAuth::Post("c".into()));
        assert_eq!(s.query_names, ["client_secret"]);
        assert_eq!(s.param("grant_type"), Some("refresh_token"));
        assert_eq!(s.param("refresh_token"), None, "secrets are not shown");
        assert_eq!(s.secrets.refresh_token.as_deref(), Some("RT"));
        assert!(!format!("{s:?}").contains("RT\""), "{s:?}");
        let kept = s.forget_secrets();
        assert!(kept.secrets.refresh_token.is_none() && kept.secrets.device_code.is_none());
        assert_eq!(kept.param("grant_type"), Some("refresh_token"));

        let json = headers(&[
            ("content-type", "application/json"),
            ("authorization", "Basic YyUzQTE6cw=="),
        ]);
        let s = Seen::parse(
            &Method::POST,
            "/token",
            None,
            &json,
            br#"{"device_code":"D"}"#,
            0,
        );
        assert_eq!(s.body, BodyKind::Json);
        assert_eq!(s.auth, ClientAuth::Basic("c:1".into()));
        assert_eq!(s.secrets.device_code.as_deref(), Some("D"));
        let s = Seen::parse(&Method::GET, "/grade/redirected/4", None, &json, b"", 0);
        assert_eq!(
            (s.endpoint, s.body),
            (Endpoint::RedirectProbe(4), BodyKind::Empty)
        );
    }

    #[test]
    fn answers_map_provider_spellings() {
        let json = headers(&[("content-type", "application/json"), ("retry-after", "7")]);
        let a = Answer::parse(
            StatusCode::BAD_REQUEST,
            &json,
            br#"{"error":"authorization_declined"}"#,
        );
        assert_eq!(
            (a.outcome.as_str(), a.retry_after),
            ("access_denied", Some(7))
        );
        assert!(a.terminal());
        let a = Answer::parse(
            StatusCode::OK,
            &json,
            br#"{"error":"slow_down","interval":10}"#,
        );
        assert_eq!((a.outcome.as_str(), a.interval), ("slow_down", Some(10)));
        assert!(!a.terminal());
        let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let a = Answer::parse(StatusCode::OK, &form, b"access_token=x&token_type=bearer");
        assert_eq!(a.outcome, "tokens");
        let a = Answer::parse(
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"<html>",
        );
        assert_eq!(a.outcome, "http_503");
        assert!(a.transient() && !a.terminal());
    }

    #[test]
    fn proofs_decode_and_thumbprints_follow_rfc7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(
            crate::dpop::thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let head = URL_SAFE_NO_PAD.encode(
            r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}"#,
        );
        let body = URL_SAFE_NO_PAD
            .encode(r#"{"htm":"POST","htu":"http://h/token","iat":5,"jti":"j","nonce":"n"}"#);
        let p = decode_proof(&format!("{head}.{body}.sig"));
        assert!(!p.malformed && !p.private_jwk && p.jkt.is_some());
        assert_eq!(p.iat, Some(5));
        assert_eq!(p.nonce.as_deref(), Some("n"));
        assert!(decode_proof("nope").malformed);
    }
}
