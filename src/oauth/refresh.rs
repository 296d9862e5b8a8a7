//! The refresh_token grant (RFC 6749 §6): one form POST, and a pure judgement of the answer.
//!
//! The judgement ([`judge`]) never throws a usable part of an answer away: an empty
//! `refresh_token` is no refresh token (the old one stays), a nonsense lifetime is an unknown
//! one, and a new refresh token in an otherwise unusable answer is handed back so that the
//! caller can keep it (a rotating server has already retired the old one). It also tells a
//! grant the server has ended (exit 7: log in again) from a server that failed (exit 5).

use crate::secret::RefreshToken;
use url::Url;

use super::client::OAuthClient;
use super::dpop::{self, Dpop};
use super::http::Http;
use super::normalize::{Body, OAuthResponse};
use super::token::TokenResponse;
use crate::error::Error;

/// OAuth errors on refresh that mean the grant is gone (GitHub says `bad_refresh_token`).
pub const SESSION_OVER: [&str; 2] = ["invalid_grant", "bad_refresh_token"];

/// Why a refresh produced no usable tokens.
#[derive(Debug, Clone)]
pub enum RefreshFailure {
    /// The server no longer accepts the refresh token: the session is over (log in again).
    Ended {
        /// What the server said, in words for the person.
        detail: String,
    },
    /// A success status whose body cannot be used. A new refresh token found in it is kept.
    Unusable {
        /// A new refresh token the answer carried, which the caller must store.
        refresh_token: Option<RefreshToken>,
        /// What is wrong with the answer.
        detail: String,
    },
    /// Anything else: the network, a 5xx, a redirect, an OAuth error that is not the end of
    /// the grant (`invalid_client` is a configuration problem). The session may be fine.
    Failed(Error),
}

/// Sends the refresh grant and judges the answer.
pub async fn refresh(
    http: &Http,
    client: &OAuthClient,
    token_endpoint: &Url,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
) -> Result<TokenResponse, RefreshFailure> {
    refresh_bound(http, client, token_endpoint, refresh_token, scope, None).await
}

/// [`refresh`] of a session bound to a DPoP key: the request carries a proof from it.
pub async fn refresh_bound(
    http: &Http,
    client: &OAuthClient,
    token_endpoint: &Url,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
    dpop: Option<&Dpop>,
) -> Result<TokenResponse, RefreshFailure> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.secret().as_str()),
    ];
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        form.push(("scope", scope));
    }
    let basic = client.authenticate(&mut form);
    // With a proof from the session's key when it is bound; a nonce challenge is answered once.
    let raw = dpop::post_form(http, dpop, token_endpoint, &form, basic, true)
        .await
        .map_err(|e| RefreshFailure::Failed(Error::Http(e)))?;
    judge(&OAuthResponse::from_raw(&raw))
}

/// What a refresh answer means. Pure: table-tested below.
pub fn judge(response: &OAuthResponse) -> Result<TokenResponse, RefreshFailure> {
    let endpoint = || format!("the token endpoint {}", response.url);
    if let Some(err) = response.oauth_error() {
        if SESSION_OVER.contains(&err.error.as_str()) {
            return Err(RefreshFailure::Ended {
                detail: format!(
                    "the server answered {}{}",
                    err.error,
                    err.description
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
            });
        }
        return Err(RefreshFailure::Failed(Error::Server {
            context: "refresh".into(),
            error: err.error,
            description: err.description,
        }));
    }
    let status = response.status;
    let readable = matches!(response.body, Body::Fields(_));
    match status {
        200..=299 if readable => {}
        // A refusal without an OAuth body: one real server answers a reused refresh token with
        // a bare 400. The grant is as dead as with `invalid_grant`.
        400 | 401 => {
            return Err(RefreshFailure::Ended {
                detail: format!(
                    "{} refused the refresh token: {}",
                    endpoint(),
                    response.status_line()
                ),
            });
        }
        _ => {
            return Err(RefreshFailure::Failed(Error::Protocol(format!(
                "{} answered {}",
                endpoint(),
                response.status_line()
            ))));
        }
    }
    // The one token parser; what is left to judge here is an answer without an access token,
    // which starts a login but cannot finish a refresh.
    let unusable = |refresh_token| RefreshFailure::Unusable {
        refresh_token,
        detail: format!(
            "{} answered {} without an access_token",
            endpoint(),
            response.status_line()
        ),
    };
    match TokenResponse::parse(response) {
        Ok(tokens) if tokens.access_token.secret().is_empty() => {
            Err(unusable(tokens.refresh_token))
        }
        Ok(tokens) => Ok(tokens),
        Err(_) => Err(unusable(None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::normalize::tests::raw;
    use crate::oauth::token::MAX_LIFETIME;

    fn judged(status: u16, ct: Option<&str>, body: &str) -> Result<TokenResponse, RefreshFailure> {
        judge(&OAuthResponse::from_raw(&raw(status, ct, body)))
    }

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn answers_that_carry_tokens() {
        // (body, access token, refresh token kept?, expires_in)
        let table: [(&str, &str, Option<&str>, Option<u64>); 6] = [
            (
                r#"{"access_token":"a","refresh_token":"r2","expires_in":60}"#,
                "a",
                Some("r2"),
                Some(60),
            ),
            // Empty refresh token: absent, so the working one stays.
            (
                r#"{"access_token":"a","refresh_token":"","expires_in":60}"#,
                "a",
                None,
                Some(60),
            ),
            (
                r#"{"access_token":"a","refresh_token":"  "}"#,
                "a",
                None,
                None,
            ),
            // Nonsense lifetimes are unknown, and the answer is kept.
            (
                r#"{"access_token":"a","refresh_token":"r2","expires_in":-5}"#,
                "a",
                Some("r2"),
                None,
            ),
            (
                r#"{"access_token":"a","expires_in":"soon","refresh_expires_in":-1}"#,
                "a",
                None,
                None,
            ),
            (
                r#"{"access_token":"a","expires_in":1e30}"#,
                "a",
                None,
                Some(MAX_LIFETIME),
            ),
        ];
        for (body, at, rt, expires_in) in table {
            let t = judged(200, JSON, body).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            assert_eq!(t.access_token.secret(), at, "{body}");
            assert_eq!(
                t.refresh_token.as_ref().map(|r| r.secret().as_str()),
                rt,
                "{body}"
            );
            assert_eq!(t.expires_in, expires_in, "{body}");
            assert_eq!(t.token_type, "Bearer", "{body}");
        }
        // Lower-case token type (GitHub) is kept as sent.
        let t = judged(200, JSON, r#"{"access_token":"a","token_type":"bearer"}"#)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.token_type, "bearer");
    }

    #[test]
    fn a_new_refresh_token_in_an_unusable_answer_is_handed_back() {
        match judged(200, JSON, r#"{"refresh_token":"r2","expires_in":60}"#) {
            Err(RefreshFailure::Unusable {
                refresh_token: Some(rt),
                detail,
            }) => {
                assert_eq!(rt.secret(), "r2");
                assert!(detail.contains("without an access_token"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judged(200, JSON, r#"{"token_type":"Bearer"}"#),
            Err(RefreshFailure::Unusable {
                refresh_token: None,
                ..
            })
        ));
    }

    #[test]
    fn ended_failed_and_what_the_messages_say() {
        let ended = |status, ct, body: &str| match judged(status, ct, body) {
            Err(RefreshFailure::Ended { detail }) => detail,
            other => panic!("{status} {body}: {other:?}"),
        };
        let failed = |status, ct, body: &str| match judged(status, ct, body) {
            Err(RefreshFailure::Failed(e)) => e,
            other => panic!("{status} {body}: {other:?}"),
        };
        assert!(ended(400, JSON, r#"{"error":"invalid_grant"}"#).contains("invalid_grant"));
        assert!(
            ended(
                200,
                Some("application/x-www-form-urlencoded"),
                "error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect"
            )
            .contains("bad_refresh_token: The refresh token passed is incorrect")
        );
        let empty = ended(400, None, "");
        assert!(empty.contains("HTTP 400 (empty body)"), "{empty}");
        let html401 = ended(401, Some("text/html"), "<html>no</html>");
        assert!(html401.contains("HTTP 401 (text/html)"), "{html401}");

        let e = failed(
            502,
            Some("text/html; charset=utf-8"),
            "<html>Bad Gateway</html>",
        );
        assert_eq!(e.exit().code(), 5);
        let text = e.to_string();
        assert!(text.contains("answered HTTP 502 (text/html)"), "{text}");
        assert!(!text.contains("line 1 column"), "{text}");
        let e = failed(500, None, "");
        assert!(e.to_string().contains("HTTP 500 (empty body)"), "{e}");
        let mut redirect = raw(302, Some("text/html"), "");
        redirect.headers.insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("https://login.example/"),
        );
        match judge(&OAuthResponse::from_raw(&redirect)) {
            Err(RefreshFailure::Failed(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("HTTP 302") && text.contains("never follows"),
                    "{text}"
                );
                assert_eq!(e.exit().code(), 5);
            }
            other => panic!("{other:?}"),
        }
        // A success status with HTML is a server failure, not the end of the session.
        assert_eq!(
            failed(200, Some("text/html"), "<html>portal</html>")
                .exit()
                .code(),
            5
        );
        // invalid_client is a configuration problem (exit 2), the grant may be fine.
        assert_eq!(
            failed(401, JSON, r#"{"error":"invalid_client"}"#)
                .exit()
                .code(),
            2
        );
    }
}
