//! Provider-specific policies: what the device and token responses look like, which token
//! formats are minted, and how refresh tokens rotate. Error encoding lives in `reply`.
//! The documentation of each behaviour is on the [`Quirks`] variants.

use aws_lc_rs::error::Unspecified;
use serde_json::{Map, Value, json};

use super::config::{Quirks, ServerConfig};
use super::random;

/// GitHub user-to-server tokens live 8 hours ...
const GITHUB_ACCESS_TTL: u64 = 28_800;
/// ... and their refresh tokens 6 months.
const GITHUB_REFRESH_TTL: u64 = 15_897_600;

/// What happens to a refresh token when it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshPolicy {
    /// New refresh token each time; presenting a used one revokes the whole grant
    /// (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
    RotateWithReplayDetection,
    /// The same refresh token is reused forever; responses omit `refresh_token` (Google).
    NoRotation,
    /// A new refresh token each time, but old ones stay valid (Microsoft).
    RotateKeepOld,
}

pub(crate) fn refresh_policy(q: Quirks) -> RefreshPolicy {
    match q {
        Quirks::Google => RefreshPolicy::NoRotation,
        Quirks::Microsoft => RefreshPolicy::RotateKeepOld,
        _ => RefreshPolicy::RotateWithReplayDetection,
    }
}

/// Whether the provider ever answers `slow_down`.
pub(crate) fn sends_slow_down(q: Quirks, knobs: &super::Knobs) -> bool {
    q != Quirks::Microsoft && !knobs.never_slow_down
}

/// Auth0 reports `expired_token` once, then treats the device code as unknown.
pub(crate) fn expired_token_once(q: Quirks) -> bool {
    q == Quirks::Auth0
}

pub(crate) fn access_token_ttl(q: Quirks, cfg: &ServerConfig) -> u64 {
    match q {
        Quirks::Github => GITHUB_ACCESS_TTL,
        _ => cfg.access_token_ttl,
    }
}

pub(crate) fn refresh_token_ttl(q: Quirks, cfg: &ServerConfig) -> Option<u64> {
    match q {
        Quirks::Github => Some(GITHUB_REFRESH_TTL),
        _ => cfg.refresh_token_ttl,
    }
}

/// An opaque access token in the provider's format, or `None` when the provider issues
/// RFC 9068 JWTs.
pub(crate) fn opaque_access_token(q: Quirks) -> Result<Option<String>, Unspecified> {
    Ok(match q {
        Quirks::Github => Some(format!("gho_{}", random::alphanumeric(36)?)),
        Quirks::Google => Some(format!("ya29.a0{}", random::b64url(96)?)),
        // oauthlib's default generator: 30 characters of letters and digits.
        Quirks::Dot => Some(random::alphanumeric(30)?),
        _ => None,
    })
}

/// A fresh opaque refresh token in the provider's format.
pub(crate) fn refresh_token(q: Quirks) -> Result<String, Unspecified> {
    Ok(match q {
        Quirks::Github => format!("ghr_{}", random::alphanumeric(76)?),
        Quirks::Google => format!("1//0{}", random::b64url(72)?),
        Quirks::Dot => random::alphanumeric(30)?,
        _ => random::b64url(32)?,
    })
}

/// What the [`Quirks::Hostile`] server puts into free text: a C1 CSI sequence, an OSC that
/// would set the window title, a right-to-left override, a directional isolate, zero-width
/// characters and a byte-order mark.
pub(crate) const HOSTILE_TEXT: &str =
    "\u{9b}31m\u{9d}0;pwned\u{7}\u{202e}evil\u{2066}\u{200b}\u{feff}\u{85}";

/// Free text as the provider sends it.
pub(crate) fn free_text(q: Quirks, text: &str) -> String {
    if q == Quirks::Hostile {
        format!("{text} {HOSTILE_TEXT}")
    } else {
        text.to_owned()
    }
}

/// Whether an `id_token` is issued when `openid` was granted, in a response to a device
/// grant (`refreshing` false) or to a refresh.
pub(crate) fn issues_id_token(q: Quirks, knobs: &super::Knobs, refreshing: bool) -> bool {
    q != Quirks::Github && (refreshing || !knobs.id_token_only_on_refresh)
}

/// A freshly issued device authorization, before encoding.
#[derive(Debug, Clone)]
pub(crate) struct DeviceIssued {
    pub(crate) device_code: String,
    /// Formatted `XXXX-XXXX`.
    pub(crate) user_code: String,
    pub(crate) verification_uri: String,
    pub(crate) expires_in: u64,
    pub(crate) interval: u64,
}

/// The RFC 8628 §3.2 device authorization response, as the provider shapes it.
pub(crate) fn device_response(
    q: Quirks,
    knobs: &super::Knobs,
    d: &DeviceIssued,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("device_code".into(), json!(d.device_code));
    m.insert("user_code".into(), json!(free_text(q, &d.user_code)));
    let uri_name = if q == Quirks::Google {
        "verification_url"
    } else {
        "verification_uri"
    };
    m.insert(uri_name.into(), json!(d.verification_uri));
    if matches!(q, Quirks::Rfc | Quirks::Auth0 | Quirks::Keycloak) {
        m.insert(
            "verification_uri_complete".into(),
            json!(format!("{}?user_code={}", d.verification_uri, d.user_code)),
        );
    }
    m.insert("expires_in".into(), json!(d.expires_in));
    if !knobs.no_interval {
        m.insert("interval".into(), json!(d.interval));
    }
    if q == Quirks::Hostile {
        m.insert("message".into(), json!(free_text(q, "Enter the code")));
    }
    if q == Quirks::Microsoft {
        m.insert(
            "message".into(),
            json!(format!(
                "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
                d.verification_uri, d.user_code
            )),
        );
    }
    m
}

/// Freshly minted tokens, before encoding.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    /// Space-separated granted scope.
    pub(crate) scope: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) refresh_expires_in: Option<u64>,
    pub(crate) id_token: Option<String>,
}

/// The RFC 6749 §5.1 token response, as the provider shapes it; `lowercase` says
/// `token_type: bearer` whatever the provider ([`super::Knobs::lowercase_token_type`]).
pub(crate) fn token_response(q: Quirks, t: Minted, lowercase: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("access_token".into(), json!(t.access_token));
    let (token_type, scope) = match q {
        // GitHub: lowercase token type and comma-separated scopes.
        Quirks::Github => (
            "bearer",
            t.scope.split_whitespace().collect::<Vec<_>>().join(","),
        ),
        Quirks::Hostile => ("Bearer", free_text(q, &t.scope)),
        _ if lowercase => ("bearer", t.scope),
        _ => ("Bearer", t.scope),
    };
    m.insert("token_type".into(), json!(token_type));
    m.insert("expires_in".into(), json!(t.expires_in));
    m.insert("scope".into(), json!(scope));
    if let Some(rt) = t.refresh_token {
        m.insert("refresh_token".into(), json!(rt));
        if let Some(ttl) = t.refresh_expires_in {
            let name = if q == Quirks::Keycloak {
                "refresh_expires_in"
            } else {
                "refresh_token_expires_in"
            };
            m.insert(name.into(), json!(ttl));
        }
    }
    if let Some(id) = t.id_token {
        m.insert("id_token".into(), json!(id));
    }
    m
}

/// Why a revocation is refused before it is looked at, per the knobs: the status and body to
/// answer with, or `None` to revoke as RFC 7009 says.
pub(crate) fn revocation_refusal(
    knobs: &super::Knobs,
    public_client: bool,
    jwt_access_token: bool,
) -> Option<(u16, Option<Value>)> {
    if let Some(status) = knobs.revoke_status {
        return Some((status, None));
    }
    if knobs.revoke_refuses_public_clients && public_client {
        return Some((401, None));
    }
    if knobs.revoke_jwt_ignored && jwt_access_token {
        // "Revoked": nothing is recorded, and the token stays active until it expires.
        return Some((200, None));
    }
    if knobs.revoke_jwt_unsupported && jwt_access_token {
        return Some((
            400,
            Some(json!({
                "error": "unsupported_token_type",
                "error_description": "access tokens are self-contained JWTs and cannot be revoked here"
            })),
        ));
    }
    None
}
