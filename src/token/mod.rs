//! Reading tokens for display. Decoding here is *unverified*: it says what a token claims,
//! not that the claim is true; signature checks are a separate step.
//!
//! [`jwt`] splits any token into segments for display, [`claims`] explains registered names,
//! [`time`] formats instants, [`verify`] checks signatures and claims without IO, [`remote`]
//! fetches keys and asks the issuer, [`report`] ties one inspection together, and
//! [`verdict`] is the one verified/invalid/unverified verdict every output shows.

pub mod claims;
pub mod jwt;
pub mod remote;
pub mod report;
pub mod time;
pub mod verdict;
pub mod verify;

use serde_json::{Map, Value};

use crate::oauth::token::TokenResponse;

/// The claims of a compact JWS (`header.payload.signature`), or `None` for anything else
/// (opaque tokens, JWE, garbage). The same reading as the inspector's ([`jwt::decode`]): a
/// token the inspector calls malformed has no claims here either.
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    match jwt::decode(token) {
        jwt::Decoded::Jws(jws) => Some(jws.claims),
        _ => None,
    }
}

/// Who a login or refresh is about: the `sub` and a display label (see [`subject_label`]),
/// read from the id token's claims, else from a JWT access token's. Unescaped: each view
/// escapes it for where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Who {
    /// The `sub` claim.
    pub subject: Option<String>,
    /// `Name <email>`, email, preferred_username or sub.
    pub label: Option<String>,
}

/// Who `tokens` are about (the one place that decides which token speaks for the person).
pub fn who(tokens: &TokenResponse) -> Who {
    let claims = tokens
        .id_token
        .as_ref()
        .and_then(|t| unverified_claims(t.secret()))
        .or_else(|| unverified_claims(tokens.access_token.secret()));
    match claims {
        Some(c) => Who {
            subject: c.get("sub").and_then(Value::as_str).map(str::to_owned),
            label: subject_label(&c),
        },
        None => Who::default(),
    }
}

/// Who a token is about, from the usual claims: `Name <email>`, else email, else
/// preferred_username, else sub.
pub fn subject_label(claims: &Map<String, Value>) -> Option<String> {
    let get = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    match (get("name"), get("email")) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(name), None) => Some(name.to_owned()),
        (None, Some(email)) => Some(email.to_owned()),
        (None, None) => get("preferred_username")
            .or_else(|| get("sub"))
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    #[test]
    fn reads_claims_of_compact_jws_only() {
        let claims = unverified_claims(&jwt(
            r#"{"sub":"u1","name":"Ada","email":"ada@example.org"}"#,
        ));
        assert_eq!(
            claims.as_ref().and_then(subject_label).as_deref(),
            Some("Ada <ada@example.org>")
        );
        let sub_only = unverified_claims(&jwt(r#"{"sub":"u1"}"#));
        assert_eq!(
            sub_only.as_ref().and_then(subject_label).as_deref(),
            Some("u1")
        );
        for garbage in [
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "a.b",
            "a.b.c.d.e",
            &jwt("[1]"),
            "x.!!!.y",
        ] {
            assert!(unverified_claims(garbage).is_none(), "{garbage}");
        }
    }

    #[test]
    fn who_reads_the_id_token_first_then_a_jwt_access_token() {
        use crate::oauth::token::IdToken;
        use crate::secret::AccessToken;
        let tokens = |access: String, id: Option<String>| TokenResponse {
            access_token: AccessToken::new(access),
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: None,
            id_token: id.map(IdToken::new),
            scope: None,
            refresh_expires_in: None,
            extra: Map::new(),
        };
        let ada = jwt(r#"{"sub":"u1","email":"ada@example.org"}"#);
        let api = jwt(r#"{"sub":"svc","preferred_username":"robot"}"#);
        let both = who(&tokens(api.clone(), Some(ada)));
        assert_eq!(both.subject.as_deref(), Some("u1"));
        assert_eq!(both.label.as_deref(), Some("ada@example.org"));
        let access_only = who(&tokens(api.clone(), Some("opaque".into())));
        assert_eq!(access_only.label.as_deref(), Some("robot"));
        assert_eq!(who(&tokens("gho_x".into(), None)), Who::default());
    }

    /// Never more optimistic than the inspector: a readable payload behind a header that is
    /// not a JSON object, or a signature that is not base64url, is a malformed JWT, not claims.
    #[test]
    fn what_the_inspector_calls_malformed_has_no_claims() {
        let b64 = |s: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        let payload = b64(r#"{"sub":"u1"}"#);
        for token in [
            format!("{}.{payload}.sig", b64("[1]")),
            format!("{}.{payload}.sig", b64("\u{feff}{}")),
            format!("{}.{payload}.a+b", b64(r#"{"alg":"RS256"}"#)),
            format!("{}.{payload}==.sig", b64(r#"{"alg":"RS256"}"#)),
        ] {
            assert!(
                !matches!(jwt::decode(&token), jwt::Decoded::Jws(_)),
                "{token}"
            );
            assert!(unverified_claims(&token).is_none(), "{token}");
        }
        // Trailing padding on the last segment is fine for both.
        let padded = format!("{}.{payload}.c2ln==", b64(r#"{"alg":"RS256"}"#));
        assert!(unverified_claims(&padded).is_some(), "{padded}");
    }
}
