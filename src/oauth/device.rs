//! The device authorization request (RFC 8628 §3.1–3.2) and the token request one poll
//! sends (§3.4).

use std::fmt;
use std::time::Duration;

use crate::secret::DeviceCode;
use url::Url;

use super::client::OAuthClient;
use super::dpop::{self, Dpop};
use super::http::{Http, HttpError};
use super::normalize::OAuthResponse;
use crate::error::Error;

/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Used when a server leaves out the REQUIRED `expires_in`: ten minutes is the shortest
/// lifetime a major provider documents (Okta), so the local deadline never outlives the code.
pub const ASSUMED_EXPIRES_IN: Duration = Duration::from_secs(600);

/// Longest code lifetime believed: a server's bigger number is cut to this, so arithmetic on
/// it can never overflow (and a day is far beyond any provider's minutes).
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(24 * 3600);

/// Longest polling interval believed (Zoho asks for 30 s; nobody for ten minutes).
pub const MAX_INTERVAL: Duration = Duration::from_secs(600);

/// What to ask for in the device authorization request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceRequest {
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// `audience` (Auth0 and others: the API the token is for).
    pub audience: Option<String>,
    /// RFC 8707 resource indicators, sent once each.
    pub resources: Vec<String>,
}

/// The server's answer to the device authorization request.
#[derive(Clone)]
pub struct DeviceAuthorization {
    /// The secret the client polls with; never shown.
    pub device_code: DeviceCode,
    /// The code the person types at the verification page.
    pub user_code: String,
    /// Where the person goes.
    pub verification_uri: Url,
    /// The same page with the code filled in, when the server offers it.
    pub verification_uri_complete: Option<Url>,
    /// How long the codes live.
    pub expires_in: Duration,
    /// Minimum time between polls.
    pub interval: Duration,
    /// A message for the person, when the server sends one (Microsoft).
    pub message: Option<String>,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"[redacted]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri.as_str())
            .field(
                "verification_uri_complete",
                &self.verification_uri_complete.as_ref().map(Url::as_str),
            )
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .field("message", &self.message)
            .finish()
    }
}

impl DeviceAuthorization {
    /// Reads the device authorization response; errors name what is wrong with it.
    pub fn parse(response: &OAuthResponse) -> Result<Self, Error> {
        const CONTEXT: &str = "device authorization request";
        if let Some(e) = response.oauth_error() {
            return Err(Error::Server {
                context: CONTEXT.into(),
                error: e.error,
                description: e.description,
            });
        }
        if (300..400).contains(&response.status) {
            return Err(Error::Protocol(format!(
                "the device authorization endpoint {} redirected to {}; tvlogin never follows redirects",
                response.url,
                response.location.as_deref().unwrap_or("(no Location)")
            )));
        }
        if !(200..300).contains(&response.status) || response.fields().is_none() {
            return Err(Error::Protocol(format!(
                "the device authorization endpoint {} answered {}",
                response.url,
                response.describe()
            )));
        }
        let required = |name: &str| {
            response
                .str_field(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    Error::Protocol(format!(
                        "the device authorization response from {} has no {name}",
                        response.url
                    ))
                })
        };
        let device_code = required("device_code")?;
        let user_code = required("user_code")?;
        let verification_uri = web_url(&required("verification_uri")?).ok_or_else(|| {
            Error::Protocol(format!(
                "the device authorization response's verification_uri is not an http(s) URL: {}",
                response.str_field("verification_uri").unwrap_or_default()
            ))
        })?;
        Ok(Self {
            device_code: DeviceCode::new(device_code),
            user_code,
            verification_uri,
            // Optional: an unusable one is dropped rather than failing the login.
            verification_uri_complete: response
                .str_field("verification_uri_complete")
                .and_then(|u| web_url(&u)),
            expires_in: response
                .u64_field("expires_in")
                .filter(|s| *s > 0)
                .map_or(ASSUMED_EXPIRES_IN, Duration::from_secs)
                .min(MAX_EXPIRES_IN),
            interval: response
                .u64_field("interval")
                .filter(|s| *s > 0)
                .map_or(DEFAULT_INTERVAL, Duration::from_secs)
                .min(MAX_INTERVAL),
            message: response.str_field("message").filter(|m| !m.is_empty()),
        })
    }

    /// The URL to show in a QR code: the complete URI when there is one.
    pub fn qr_url(&self) -> &Url {
        self.verification_uri_complete
            .as_ref()
            .unwrap_or(&self.verification_uri)
    }
}

/// A URL a browser can open; other schemes (javascript:, file:) are refused because the
/// value comes from the server and will be shown, encoded in a QR code and opened.
fn web_url(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Sends the device authorization request, with a DPoP proof when the login binds a key
/// (draft-parecki-oauth-dpop-device-flow: the server keeps the proof's key with the device
/// code; some ignore it, it is sent anyway). A `use_dpop_nonce` answer is retried once.
pub async fn request_device_authorization(
    http: &Http,
    client: &OAuthClient,
    endpoint: &Url,
    request: &DeviceRequest,
    dpop: Option<&Dpop>,
) -> Result<DeviceAuthorization, Error> {
    let mut form: Vec<(&str, &str)> = Vec::new();
    if let Some(scope) = request.scope.as_deref().filter(|s| !s.is_empty()) {
        form.push(("scope", scope));
    }
    if let Some(audience) = request.audience.as_deref() {
        form.push(("audience", audience));
    }
    for resource in &request.resources {
        form.push(("resource", resource));
    }
    let basic = client.authenticate(&mut form);
    let raw = dpop::post_form(http, dpop, endpoint, &form, basic, true).await?;
    let mut auth = DeviceAuthorization::parse(&OAuthResponse::from_raw(&raw))?;
    // The person types the code into this page: over plain http to another machine anyone on
    // the way could read or replace it, so it is refused like any other remote http:// URL.
    http.check_url(&auth.verification_uri)?;
    // The optional one is dropped, like any other unusable verification_uri_complete.
    if auth
        .verification_uri_complete
        .as_ref()
        .is_some_and(|u| http.check_url(u).is_err())
    {
        auth.verification_uri_complete = None;
    }
    Ok(auth)
}

/// Sends one device access token request (one poll) and returns the answer unjudged; the
/// poll step decides what it means (a `use_dpop_nonce` answer included: its nonce is kept
/// here, and the poller retries at once).
pub async fn poll_once(
    http: &Http,
    client: &OAuthClient,
    token_endpoint: &Url,
    device_code: &DeviceCode,
    dpop: Option<&Dpop>,
) -> Result<OAuthResponse, HttpError> {
    let mut form = vec![
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code.secret().as_str()),
    ];
    let basic = client.authenticate(&mut form);
    let raw = dpop::post_form(http, dpop, token_endpoint, &form, basic, false).await?;
    Ok(OAuthResponse::from_raw(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::normalize::tests::raw;

    fn parse(status: u16, body: &str) -> Result<DeviceAuthorization, Error> {
        DeviceAuthorization::parse(&OAuthResponse::from_raw(&raw(
            status,
            Some("application/json"),
            body,
        )))
    }

    #[test]
    fn rfc_response() {
        let auth = parse(
            200,
            r#"{"device_code":"dc","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device",
                "verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT",
                "expires_in":1800,"interval":7}"#,
        )
        .expect("a usable device authorization answer");
        assert_eq!(auth.user_code, "WDJB-MJHT");
        assert_eq!(auth.expires_in, Duration::from_secs(1800));
        assert_eq!(auth.interval, Duration::from_secs(7));
        assert_eq!(
            auth.qr_url().as_str(),
            "https://example.com/device?user_code=WDJB-MJHT"
        );
        assert!(!format!("{auth:?}").contains("\"dc\""));
    }

    #[test]
    fn provider_variants() {
        // Google: verification_url, no interval → 5 s.
        let google = parse(
            200,
            r#"{"device_code":"dc","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device","expires_in":1800}"#,
        )
        .expect("a usable device authorization answer");
        assert_eq!(
            google.verification_uri.as_str(),
            "https://www.google.com/device"
        );
        assert_eq!(google.interval, DEFAULT_INTERVAL);
        assert_eq!(google.qr_url(), &google.verification_uri);
        // Microsoft: message; numbers as strings are fine too.
        let ms = parse(
            200,
            r#"{"device_code":"dc","user_code":"FQK5HW3UF","verification_uri":"https://microsoft.com/devicelogin",
                "expires_in":"900","interval":"5","message":"To sign in, use a web browser"}"#,
        )
        .expect("a usable device authorization answer");
        assert_eq!(ms.message.as_deref(), Some("To sign in, use a web browser"));
        assert_eq!(ms.expires_in, Duration::from_secs(900));
        // A missing expires_in is assumed, never infinite.
        let lax = parse(
            200,
            r#"{"device_code":"dc","user_code":"A","verification_uri":"https://x.example/d","interval":0}"#,
        )
        .expect("a usable device authorization answer");
        assert_eq!(lax.expires_in, ASSUMED_EXPIRES_IN);
        assert_eq!(lax.interval, DEFAULT_INTERVAL);
        // Absurd numbers are cut, never trusted into an overflow.
        let absurd = parse(
            200,
            r#"{"device_code":"d","user_code":"A","verification_uri":"https://x.example/d","expires_in":1e30,"interval":18446744073709551615}"#,
        )
        .expect("a usable device authorization answer");
        assert_eq!(absurd.expires_in, MAX_EXPIRES_IN);
        assert_eq!(absurd.interval, MAX_INTERVAL);
    }

    #[test]
    fn bad_responses_say_what_is_wrong() {
        let table = [
            (
                200,
                r#"{"device_code":"dc","verification_uri":"https://x/d","expires_in":5}"#,
                "has no user_code",
            ),
            (
                200,
                r#"{"user_code":"A","verification_uri":"https://x/d"}"#,
                "has no device_code",
            ),
            (
                200,
                r#"{"device_code":"d","user_code":"A","verification_uri":"javascript:alert(1)"}"#,
                "not an http(s) URL",
            ),
            (
                400,
                r#"{"error":"invalid_client","error_description":"Unknown client"}"#,
                "invalid_client: Unknown client",
            ),
            (
                502,
                "<html>Bad gateway</html>",
                "HTTP 502 with a non-OAuth body",
            ),
        ];
        for (status, body, want) in table {
            let err = parse(status, body)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(want), "{body}: {err}");
        }
        // GitHub's device_flow_disabled arrives as an OAuth error and is a configuration error.
        let err = parse(400, r#"{"error":"device_flow_disabled"}"#).err();
        assert_eq!(err.map(|e| e.exit().code()), Some(2));
    }
}
