//! The refresh_token grant (RFC 6749 §6), sent by the oauth2 crate through our adapter.

use oauth2::basic::{BasicErrorResponse, BasicTokenType};
use oauth2::{
    AuthType, Client, ClientId, ExtraTokenFields, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::client::{AuthMethod, OAuthClient};
use super::http::Http;
use super::token::{IdToken, TokenResponse};
use crate::error::Error;

/// Fields oauth2's standard response drops: everything beyond RFC 6749 §5.1.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Extra {
    #[serde(flatten)]
    fields: Map<String, Value>,
}
impl ExtraTokenFields for Extra {}

/// oauth2's client with a response type that keeps unknown fields (and so the id_token).
type RefreshClient = Client<
    BasicErrorResponse,
    StandardTokenResponse<Extra, BasicTokenType>,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
>;

/// Exchanges a refresh token for new tokens. When the server sends no new refresh token, the
/// caller keeps the old one (RFC 6749 §6: the server MAY issue a new one).
pub async fn refresh(
    http: &Http,
    client: &OAuthClient,
    token_endpoint: &Url,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
) -> Result<TokenResponse, Error> {
    http.check_url(token_endpoint)?;
    let mut oauth = RefreshClient::new(ClientId::new(client.id.clone()))
        .set_token_uri(TokenUrl::from_url(token_endpoint.clone()))
        .set_auth_type(match client.auth {
            AuthMethod::Post => AuthType::RequestBody,
            AuthMethod::Basic | AuthMethod::None => AuthType::BasicAuth,
        });
    if client.auth != AuthMethod::None
        && let Some(secret) = &client.secret
    {
        oauth = oauth.set_client_secret(secret.clone());
    }
    let mut request = oauth.exchange_refresh_token(refresh_token);
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        request = request.add_scopes(scope.split_whitespace().map(|s| Scope::new(s.into())));
    }
    let response = request.request_async(http).await.map_err(|e| match e {
        RequestTokenError::ServerResponse(err) => Error::Server {
            context: "refresh".into(),
            error: err.error().as_ref().to_owned(),
            description: err.error_description().cloned(),
        },
        RequestTokenError::Request(http_error) => Error::Http(http_error),
        RequestTokenError::Parse(err, _) => Error::Protocol(format!(
            "the refresh response from {token_endpoint} could not be read: {err}"
        )),
        RequestTokenError::Other(other) => Error::Protocol(format!(
            "the refresh response from {token_endpoint} could not be read: {other}"
        )),
    })?;
    let mut extra = response.extra_fields().fields.clone();
    let id_token = match extra.remove("id_token") {
        Some(Value::String(t)) if !t.is_empty() => Some(IdToken::new(t)),
        _ => None,
    };
    let take_u64 = |extra: &mut Map<String, Value>, name: &str| match extra.remove(name) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let refresh_expires_in = take_u64(&mut extra, "refresh_token_expires_in")
        .or_else(|| take_u64(&mut extra, "refresh_expires_in"))
        .map(|s| s.min(super::token::MAX_LIFETIME));
    Ok(TokenResponse {
        access_token: response.access_token().clone(),
        token_type: response.token_type().as_ref().to_owned(),
        expires_in: response
            .expires_in()
            .map(|d| d.as_secs().min(super::token::MAX_LIFETIME)),
        refresh_token: response.refresh_token().cloned(),
        id_token,
        scope: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        refresh_expires_in,
        extra,
    })
}
