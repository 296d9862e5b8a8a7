//! Token revocation (RFC 7009): tell the server a token is no longer needed, and what its
//! answer means ([`judge`], pure).

use url::Url;

use super::client::{AuthMethod, OAuthClient};
use super::http::Http;
use super::normalize::{Body, OAuthResponse};
use crate::error::Error;

/// How a revocation request ended, when the server answered something a client can live with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Revoked (RFC 7009 §2.2: 200 whether or not the server knew the token).
    Revoked,
    /// `unsupported_token_type` (§2.2.1): this server cannot revoke that kind of token (a
    /// certified provider says so for its JWT access tokens). It stays valid until it expires.
    Unsupported,
    /// The server refuses revocation requests from public clients (401/403, often with an
    /// empty body). Nothing was revoked; `status` is e.g. `HTTP 401 (empty body)`.
    RefusedPublicClient {
        /// What came back.
        status: String,
    },
}

/// Revokes `token` at `endpoint`, authenticating as `client`. `hint` is the RFC 7009
/// `token_type_hint`: `refresh_token` or `access_token`.
pub async fn revoke(
    http: &Http,
    client: &OAuthClient,
    endpoint: &Url,
    token: &str,
    hint: &str,
) -> Result<Revocation, Error> {
    let mut form = vec![("token", token), ("token_type_hint", hint)];
    let basic = client.authenticate(&mut form);
    let raw = http.post_form(endpoint, &form, basic).await?;
    judge(
        &OAuthResponse::from_raw(&raw),
        client.auth == AuthMethod::None,
    )
}

/// What a revocation answer means; `public` says whether the client has no secret.
pub fn judge(response: &OAuthResponse, public: bool) -> Result<Revocation, Error> {
    let refusal = matches!(response.status, 401 | 403);
    if let Some(e) = response.oauth_error() {
        return match e.error.as_str() {
            "unsupported_token_type" => Ok(Revocation::Unsupported),
            "invalid_client" | "unauthorized_client" if refusal && public => {
                Ok(Revocation::RefusedPublicClient {
                    status: response.status_line(),
                })
            }
            _ => Err(Error::Server {
                context: "revocation".into(),
                error: e.error,
                description: e.description,
            }),
        };
    }
    if (200..300).contains(&response.status) {
        return Ok(Revocation::Revoked);
    }
    if refusal && public && !matches!(response.body, Body::Fields(_)) {
        return Ok(Revocation::RefusedPublicClient {
            status: response.status_line(),
        });
    }
    Err(Error::Protocol(format!(
        "the revocation endpoint {} answered {}",
        response.url,
        response.status_line()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::normalize::tests::raw;

    #[test]
    fn every_answer_has_a_meaning() {
        let j = |status, ct: Option<&str>, body: &str, public| {
            judge(&OAuthResponse::from_raw(&raw(status, ct, body)), public)
        };
        let json = Some("application/json");
        assert_eq!(j(200, None, "", true), Ok(Revocation::Revoked));
        assert_eq!(j(200, json, "{}", false), Ok(Revocation::Revoked));
        assert_eq!(
            j(400, json, r#"{"error":"unsupported_token_type"}"#, false),
            Ok(Revocation::Unsupported)
        );
        assert_eq!(
            j(401, None, "", true),
            Ok(Revocation::RefusedPublicClient {
                status: "HTTP 401 (empty body)".into()
            })
        );
        assert!(matches!(
            j(401, json, r#"{"error":"invalid_client"}"#, true),
            Ok(Revocation::RefusedPublicClient { .. })
        ));
        // A confidential client refused is a configuration problem (exit 2).
        let e = j(401, json, r#"{"error":"invalid_client"}"#, false).err();
        assert_eq!(e.map(|e| e.exit().code()), Some(2));
        let e = j(401, None, "", false).err();
        assert_eq!(e.map(|e| e.exit().code()), Some(5));
        // 5xx: a network or server failure, named by status and content type.
        let e = j(503, Some("text/html"), "<html>down</html>", true)
            .err()
            .unwrap_or_else(|| panic!("accepted a 503"));
        assert_eq!(e.exit().code(), 5);
        assert!(e.to_string().contains("HTTP 503 (text/html)"), "{e}");
    }
}
