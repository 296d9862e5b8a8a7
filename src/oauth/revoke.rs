//! Token revocation (RFC 7009): tell the server a token is no longer needed.

use url::Url;

use super::client::OAuthClient;
use super::http::Http;
use super::normalize::OAuthResponse;
use crate::error::Error;

/// Revokes `token` at `endpoint`, authenticating as `client`. `hint` is the RFC 7009
/// `token_type_hint`: `refresh_token` or `access_token`. Success is any 2xx answer without an
/// OAuth error (§2.2: the server answers 200 whether or not it knew the token).
pub async fn revoke(
    http: &Http,
    client: &OAuthClient,
    endpoint: &Url,
    token: &str,
    hint: &str,
) -> Result<(), Error> {
    let mut form = vec![("token", token), ("token_type_hint", hint)];
    let basic = client.authenticate(&mut form);
    let raw = http.post_form(endpoint, &form, basic).await?;
    let response = OAuthResponse::from_raw(&raw);
    if let Some(e) = response.oauth_error() {
        return Err(Error::Server {
            context: "revocation".into(),
            error: e.error,
            description: e.description,
        });
    }
    if (200..300).contains(&response.status) {
        return Ok(());
    }
    Err(Error::Protocol(format!(
        "the revocation endpoint {endpoint} answered {}",
        response.describe()
    )))
}
