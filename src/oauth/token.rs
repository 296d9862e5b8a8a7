//! The token endpoint's successful answer (RFC 6749 §5.1), kept whole.

use std::fmt;

use crate::secret::{AccessToken, RefreshToken};
use serde_json::{Map, Value};

use super::normalize::OAuthResponse;
use crate::secret::Secret;

/// An OpenID Connect id_token: a secret like the others, redacted in Debug
/// (`IdToken([redacted])`, as `AccessToken([redacted])`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdToken(Secret<String>);

impl IdToken {
    /// Wraps a compact JWT.
    pub fn new(token: String) -> Self {
        Self(Secret::new(token))
    }
    /// The token itself. Call sites that use it are the places secrets leave memory.
    pub fn secret(&self) -> &str {
        self.0.secret()
    }
}

/// Tokens issued by the server. Unknown fields are kept in `extra` because providers put
/// useful facts there (`refresh_expires_in`, `ext_expires_in`, …).
#[derive(Clone)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// `token_type`, usually `Bearer` (GitHub says `bearer`).
    pub token_type: String,
    /// Seconds the access token is valid for, if the server said.
    pub expires_in: Option<u64>,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<RefreshToken>,
    /// The OpenID Connect id_token, if one was issued.
    pub id_token: Option<IdToken>,
    /// The granted scope, if the server said (RFC 6749: absent means as requested).
    pub scope: Option<String>,
    /// Seconds the refresh token is valid for (`refresh_token_expires_in` of GitHub,
    /// `refresh_expires_in` of Keycloak), if known.
    pub refresh_expires_in: Option<u64>,
    /// Every other field of the response.
    pub extra: Map<String, Value>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Unknown fields may hold secrets too, so only their names are shown.
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The standard fields, taken out of `extra`.
const KNOWN: [&str; 8] = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "id_token",
    "scope",
    "refresh_token_expires_in",
    "refresh_expires_in",
];

/// The longest token lifetime believed (ten years); larger numbers are cut so that adding
/// them to a clock can never overflow.
pub const MAX_LIFETIME: u64 = 10 * 365 * 24 * 3600;

impl TokenResponse {
    /// Reads a token response; `Err` names what is missing. The one parser of token answers:
    /// the device flow's poll and the refresh grant both read theirs here.
    ///
    /// Never worse than nothing: a blank (empty or white-space) field is an absent one, so an
    /// empty `refresh_token` or `scope` never replaces a working one, and a nonsense lifetime
    /// (negative, fractional, text) is an unknown one, not a reason to drop the answer.
    pub fn parse(response: &OAuthResponse) -> Result<Self, String> {
        let fields = response
            .fields()
            .ok_or_else(|| format!("the token response is not JSON ({})", response.describe()))?;
        let non_empty = |name: &str| response.str_field(name).filter(|v| !v.trim().is_empty());
        // An answer with a refresh token but no access token still starts a session (the
        // access token is then empty, which the stores keep as absent, and the first `token`
        // refreshes); only an answer with neither is unusable. A refresh treats the empty
        // access token as unusable itself (`refresh::judge`), keeping the new refresh token.
        let access_token = match (non_empty("access_token"), non_empty("refresh_token")) {
            (Some(at), _) => at,
            (None, Some(_)) => String::new(),
            (None, None) => return Err("the token response has no access_token".into()),
        };
        let lifetime = |name: &str| response.u64_field(name).map(|s| s.min(MAX_LIFETIME));
        Ok(Self {
            access_token: AccessToken::new(access_token),
            token_type: non_empty("token_type").unwrap_or_else(|| "Bearer".into()),
            expires_in: lifetime("expires_in"),
            refresh_token: non_empty("refresh_token").map(RefreshToken::new),
            id_token: non_empty("id_token").map(IdToken::new),
            scope: non_empty("scope"),
            refresh_expires_in: lifetime("refresh_token_expires_in")
                .or_else(|| lifetime("refresh_expires_in")),
            extra: fields
                .iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::normalize::tests::raw;

    #[test]
    fn keeps_every_field_and_hides_secrets() {
        let response = OAuthResponse::from_raw(&raw(
            200,
            Some("application/json"),
            r#"{"access_token":"AT-secret","token_type":"Bearer","expires_in":3600,
                "refresh_token":"RT-secret","id_token":"ID-secret","scope":"openid email",
                "refresh_expires_in":"1800","ext_expires_in":7200}"#,
        ));
        let tokens = TokenResponse::parse(&response).expect("parse the token response");
        assert_eq!(tokens.access_token.secret(), "AT-secret");
        assert_eq!(tokens.expires_in, Some(3600));
        assert_eq!(tokens.refresh_expires_in, Some(1800));
        assert_eq!(tokens.scope.as_deref(), Some("openid email"));
        assert_eq!(tokens.extra.get("ext_expires_in"), Some(&Value::from(7200)));
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn github_form_tokens() {
        let response = OAuthResponse::from_raw(&raw(
            200,
            Some("application/x-www-form-urlencoded"),
            "access_token=gho_abc&token_type=bearer&scope=repo%2Cgist&refresh_token_expires_in=15897600",
        ));
        let tokens = TokenResponse::parse(&response).expect("parse the token response");
        assert_eq!(tokens.token_type, "bearer");
        assert_eq!(tokens.scope.as_deref(), Some("repo,gist"));
        assert_eq!(tokens.refresh_expires_in, Some(15897600));
    }

    #[test]
    fn a_login_answer_is_never_worse_than_nothing() {
        // An empty refresh token is none; nonsense lifetimes are unknown, not fatal.
        let response = OAuthResponse::from_raw(&raw(
            200,
            Some("application/json"),
            r#"{"access_token":"a","refresh_token":"","expires_in":-5,"refresh_expires_in":-1}"#,
        ));
        let tokens = TokenResponse::parse(&response).expect("parse the token response");
        assert!(tokens.refresh_token.is_none());
        assert_eq!((tokens.expires_in, tokens.refresh_expires_in), (None, None));
        // Blank is absent for every field, as on refresh: white space is no token, no type
        // and no scope (absent scope means as requested).
        let response = OAuthResponse::from_raw(&raw(
            200,
            Some("application/json"),
            r#"{"access_token":"a","refresh_token":"  ","id_token":" ","token_type":" ","scope":""}"#,
        ));
        let tokens = TokenResponse::parse(&response).expect("parse the token response");
        assert!(tokens.refresh_token.is_none() && tokens.id_token.is_none());
        assert_eq!(tokens.token_type, "Bearer");
        assert_eq!(tokens.scope, None);
    }

    #[test]
    fn a_refresh_token_without_an_access_token_is_kept() {
        let response = OAuthResponse::from_raw(&raw(200, None, r#"{"refresh_token":"R"}"#));
        let tokens = TokenResponse::parse(&response).expect("parse the token response");
        assert_eq!(tokens.access_token.secret(), "");
        assert_eq!(
            tokens.refresh_token.as_ref().map(|t| t.secret().as_str()),
            Some("R")
        );
    }

    #[test]
    fn missing_access_token_is_named() {
        let response = OAuthResponse::from_raw(&raw(200, None, r#"{"token_type":"Bearer"}"#));
        let err = TokenResponse::parse(&response).err().unwrap_or_default();
        assert!(err.contains("no access_token"), "{err}");
    }
}
