//! The browser login: the authorization code grant with PKCE for a native app (RFC 6749 §4.1,
//! RFC 7636, RFC 8252), for when the device flow is the wrong tool (a login on the machine
//! the person sits at) or is blocked by the provider.
//!
//! The `oauth2` crate builds the authorization URL (PKCE S256, the CSRF `state`) and the code
//! exchange; it sends through tvlogin's own [`Http`] by way of its async client trait, so the
//! same transport rules hold (https or loopback, no redirects, size caps), and the answer is
//! read by the one token parser ([`TokenResponse::parse`]) like the device flow's.
//!
//! The redirect goes to `http://127.0.0.1:PORT/PATH` on a port the OS picks (or the profile's
//! `redirect_port`). The [`Callback`] listener answers exactly one request on that path, then
//! closes; what came back is judged by [`judge_callback`] (pure, table-tested): the `state`
//! must match, an `iss` must be the issuer (and must be there when the server says it sends
//! it, RFC 9207), `error=access_denied` is a denial.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::client::{AuthMethod, OAuthClient};
use super::device::DeviceRequest;
use super::discovery;
use super::http::{Http, HttpError, RawResponse};
use super::normalize::OAuthResponse;
use super::token::TokenResponse;
use crate::error::Error;

/// Which grant a login uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LoginFlow {
    /// The device authorization grant (RFC 8628): a code to enter on a phone or elsewhere.
    #[default]
    Device,
    /// The authorization code grant with PKCE and a loopback redirect (RFC 8252).
    Browser,
    /// The browser login when a browser can be opened here and the provider has an
    /// authorization endpoint; otherwise the device flow.
    Auto,
}

impl LoginFlow {
    /// The name used on the command line and in config.toml.
    pub fn name(self) -> &'static str {
        match self {
            LoginFlow::Device => "device",
            LoginFlow::Browser => "browser",
            LoginFlow::Auto => "auto",
        }
    }
}

/// Where the browser login starts, from the provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationServer {
    /// The issuer, as the metadata names it (the `iss` to expect).
    pub issuer: String,
    /// `authorization_endpoint`.
    pub endpoint: Url,
    /// `authorization_response_iss_parameter_supported` (RFC 9207): then `iss` must come back.
    pub iss_supported: bool,
}

/// Reads the authorization endpoint from the issuer's metadata; `None` when the provider
/// names none (it has no browser login).
pub async fn discover_authorization(
    http: &Http,
    issuer: &Url,
) -> Result<Option<AuthorizationServer>, Error> {
    for url in discovery::well_known_urls(issuer) {
        let response = OAuthResponse::from_raw(&http.get(&url).await?);
        if !(200..300).contains(&response.status) || response.fields().is_none() {
            continue;
        }
        let Some(endpoint) = response.str_field("authorization_endpoint") else {
            return Ok(None);
        };
        let endpoint = Url::parse(&endpoint).map_err(|_| {
            Error::Protocol(format!(
                "the discovery document at {url} has an invalid authorization_endpoint: {endpoint}"
            ))
        })?;
        http.check_url(&endpoint)?;
        let iss_supported = response
            .fields()
            .and_then(|f| f.get("authorization_response_iss_parameter_supported"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        return Ok(Some(AuthorizationServer {
            issuer: response
                .str_field("issuer")
                .unwrap_or_else(|| issuer.as_str().trim_end_matches('/').to_owned()),
            endpoint,
            iss_supported,
        }));
    }
    Ok(None)
}

/// The loopback listener the browser is sent back to. Dropping it closes the port.
#[derive(Debug)]
pub struct Callback {
    listener: TcpListener,
    redirect: Url,
}

impl Callback {
    /// Binds `127.0.0.1:port` (0: a port the OS picks) for `path` (default `/callback`).
    pub async fn bind(port: Option<u16>, path: Option<&str>) -> Result<Self, Error> {
        let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .await
            .map_err(|e| {
                Error::Usage(format!(
                    "cannot listen on 127.0.0.1:{} for the browser's answer: {e}",
                    port.unwrap_or(0)
                ))
            })?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::Other(format!("the loopback listener has no address: {e}")))?;
        let path = path.filter(|p| !p.is_empty()).unwrap_or("/callback");
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let redirect = Url::parse(&format!("http://127.0.0.1:{}{path}", bound.port()))
            .map_err(|e| Error::Usage(format!("redirect_path {path:?} is not a URL path: {e}")))?;
        Ok(Self { listener, redirect })
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect
    }

    /// The port the listener is on (for an `ssh -L` line).
    pub fn port(&self) -> u16 {
        self.redirect.port().unwrap_or(0)
    }

    /// Waits for the one request on the redirect path and returns its query and the open
    /// connection (answered with [`finish`] once the code is exchanged). Requests for other
    /// paths (a browser's `/favicon.ico`) get a 404 and are not counted. Consumes the
    /// listener: once this returns, the port is closed and a second request is refused.
    pub async fn wait(self) -> Result<(Vec<(String, String)>, TcpStream), Error> {
        loop {
            let (mut stream, _) = self
                .listener
                .accept()
                .await
                .map_err(|e| Error::Other(format!("the loopback listener failed: {e}")))?;
            let Some(target) = read_request_target(&mut stream).await else {
                let _ = respond(&mut stream, 400, "Bad request", "Bad request.").await;
                continue;
            };
            let Ok(url) = self.redirect.join(&target) else {
                let _ = respond(&mut stream, 400, "Bad request", "Bad request.").await;
                continue;
            };
            if url.path() != self.redirect.path() {
                let _ = respond(&mut stream, 404, "Not found", "Not found.").await;
                continue;
            }
            let query = url.query_pairs().into_owned().collect();
            return Ok((query, stream));
        }
    }
}

/// Reads a request head (up to 8 KiB) and returns the target of a `GET`.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    const MAX_HEAD: usize = 8 * 1024;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    // A connection that says nothing must not hold the login up.
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()??;
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split(' ');
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Some(target.to_owned()),
        _ => None,
    }
}

/// The headers of the finish page: nothing may load, run, frame it or learn its address.
const SECURITY_HEADERS: &str = "Content-Type: text/html; charset=utf-8\r\n\
Cache-Control: no-store\r\n\
Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'\r\n\
X-Frame-Options: DENY\r\n\
Referrer-Policy: no-referrer\r\n\
X-Content-Type-Options: nosniff\r\n\
Connection: close\r\n";

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    title: &str,
    text: &str,
) -> std::io::Result<()> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · tvlogin</title>\
<style>body{{font:1.1rem/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}</style>\
</head><body><h1>{}</h1><p>{}</p></body></html>\n",
        esc(title),
        esc(title),
        esc(text)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\n{SECURITY_HEADERS}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Answers the browser: the login finished or why not. Never carries a token.
pub async fn finish(mut stream: TcpStream, result: &Result<(), String>) {
    let _ = match result {
        Ok(()) => {
            respond(
                &mut stream,
                200,
                "Logged in",
                "The login finished. You can close this tab and return to the terminal.",
            )
            .await
        }
        Err(why) => respond(&mut stream, 400, "Login failed", why).await,
    };
}

/// What the authorization response must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The `state` sent.
    pub state: &'a str,
    /// The issuer (`iss` must equal it when present).
    pub issuer: &'a str,
    /// The server sends `iss` (RFC 9207): then it must be there.
    pub iss_required: bool,
}

/// Judges the authorization response's query: the code, or why the login ends. Pure.
pub fn judge_callback(
    query: &[(String, String)],
    expected: &Expected<'_>,
) -> Result<String, Error> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // The state first: an answer to a request this login did not make is refused whatever
    // it says (RFC 6749 §10.12, CSRF), and its error text is not believed either.
    if get("state") != Some(expected.state) {
        return Err(Error::Usage(
            "the browser's answer does not carry this login's state: refused (it may come from \
             another login or another site); nothing was stored"
                .into(),
        ));
    }
    match get("iss") {
        Some(iss) if iss.trim_end_matches('/') != expected.issuer.trim_end_matches('/') => {
            return Err(Error::Usage(format!(
                "the browser's answer names issuer {iss}, not {}: refused (RFC 9207, a mix-up \
                 between servers); nothing was stored",
                expected.issuer
            )));
        }
        None if expected.iss_required => {
            return Err(Error::Usage(format!(
                "the browser's answer has no iss although {} says it sends one: refused (RFC 9207)",
                expected.issuer
            )));
        }
        _ => {}
    }
    if let Some(error) = get("error") {
        let description = get("error_description").map(str::to_owned);
        return Err(if error == "access_denied" {
            Error::Denied {
                error: error.to_owned(),
                description,
            }
        } else {
            Error::Server {
                context: "authorization request".into(),
                error: error.to_owned(),
                description,
            }
        });
    }
    get("code")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::Protocol("the browser's answer has neither a code nor an error".into())
        })
}

/// One browser login's secrets and the URL to open.
pub struct Prepared {
    /// The authorization URL (opened in the browser; holds no secret).
    pub url: Url,
    /// The `state` sent.
    pub state: String,
    verifier: oauth2::PkceCodeVerifier,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("url", &self.url.as_str())
            .field("verifier", &"[redacted]")
            .finish()
    }
}

type Client = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth2_client(client: &OAuthClient, authorization: &Url, token: &Url, redirect: &Url) -> Client {
    let mut c = oauth2::basic::BasicClient::new(oauth2::ClientId::new(client.id.clone()))
        .set_auth_uri(oauth2::AuthUrl::from_url(authorization.clone()))
        .set_token_uri(oauth2::TokenUrl::from_url(token.clone()))
        .set_redirect_uri(oauth2::RedirectUrl::from_url(redirect.clone()));
    if let Some(secret) = &client.secret {
        c = c.set_client_secret(oauth2::ClientSecret::new(secret.secret().clone()));
    }
    if client.auth != AuthMethod::Basic {
        c = c.set_auth_type(oauth2::AuthType::RequestBody);
    }
    c
}

/// The authorization URL: code, PKCE S256, a fresh `state`; a `nonce` when `openid` is asked
/// and `prompt=consent` when `offline_access` is (OpenID Connect Core §11); the audience and
/// resources as for the device flow.
pub fn prepare(
    client: &OAuthClient,
    server: &AuthorizationServer,
    token: &Url,
    redirect: &Url,
    request: &DeviceRequest,
) -> Prepared {
    let c = oauth2_client(client, &server.endpoint, token, redirect);
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let mut auth = c
        .authorize_url(oauth2::CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    let scopes: Vec<&str> = request
        .scope
        .as_deref()
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    for scope in &scopes {
        auth = auth.add_scope(oauth2::Scope::new((*scope).to_owned()));
    }
    if scopes.contains(&"openid") {
        auth = auth.add_extra_param("nonce", oauth2::CsrfToken::new_random().secret().clone());
    }
    if scopes.contains(&"offline_access") {
        auth = auth.add_extra_param("prompt", "consent");
    }
    if let Some(audience) = &request.audience {
        auth = auth.add_extra_param("audience", audience.clone());
    }
    for resource in &request.resources {
        auth = auth.add_extra_param("resource", resource.clone());
    }
    let (url, state) = auth.url();
    Prepared {
        url,
        state: state.secret().clone(),
        verifier,
    }
}

/// tvlogin's [`Http`] as the `oauth2` crate's client; keeps the raw answer so the one token
/// parser reads it (the crate's own would drop `id_token` and GitHub's 200-with-error).
struct Adapter<'a> {
    http: &'a Http,
    last: Mutex<Option<RawResponse>>,
}

impl<'c> oauth2::AsyncHttpClient<'c> for Adapter<'_> {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let raw = self.http.execute(request).await?;
            let mut response = http::Response::builder().status(raw.status);
            for (name, value) in &raw.headers {
                response = response.header(name, value);
            }
            let built = response
                .body(raw.body.clone())
                .map_err(|e| HttpError::Transport {
                    url: raw.url.to_string(),
                    detail: e.to_string(),
                });
            if let Ok(mut last) = self.last.lock() {
                *last = Some(raw);
            }
            built
        })
    }
}

/// Exchanges the code once (with the PKCE verifier) and reads the answer like any token
/// answer: an OAuth error is the server's, a usable answer is the tokens.
pub async fn exchange(
    http: &Http,
    client: &OAuthClient,
    server: &AuthorizationServer,
    token: &Url,
    redirect: &Url,
    prepared: Prepared,
    code: String,
) -> Result<TokenResponse, Error> {
    http.check_url(token)?;
    let c = oauth2_client(client, &server.endpoint, token, redirect);
    let adapter = Adapter {
        http,
        last: Mutex::new(None),
    };
    let sent = c
        .exchange_code(oauth2::AuthorizationCode::new(code))
        .set_pkce_verifier(prepared.verifier)
        .request_async(&adapter)
        .await;
    let raw = adapter.last.lock().ok().and_then(|mut l| l.take());
    let Some(raw) = raw else {
        return Err(match sent {
            Err(oauth2::RequestTokenError::Request(e)) => Error::Http(e),
            Err(e) => Error::Protocol(format!("the code exchange failed: {e}")),
            Ok(_) => Error::Protocol("the code exchange returned nothing".into()),
        });
    };
    let response = OAuthResponse::from_raw(&raw);
    if let Some(e) = response.oauth_error() {
        return Err(Error::Server {
            context: "authorization code exchange".into(),
            error: e.error,
            description: e.description,
        });
    }
    if !(200..300).contains(&response.status) {
        return Err(Error::Protocol(format!(
            "the token endpoint {} answered {}",
            response.url,
            response.describe()
        )));
    }
    TokenResponse::parse(&response).map_err(Error::Protocol)
}

/// Whether a device authorization failure is the provider refusing the device grant to this
/// client (a 4xx OAuth client-configuration error), not a network or server failure: the
/// certified OpenID provider's `invalid_request` "…device_code is not allowed for this
/// client", Entra's `unauthorized_client`, others' `unsupported_grant_type` or
/// `access_denied`.
pub fn device_grant_refused(error: &Error) -> bool {
    match error {
        Error::Server {
            error, description, ..
        } => match error.as_str() {
            "unauthorized_client" | "unsupported_grant_type" | "access_denied" => true,
            "invalid_request" => description.as_deref().is_some_and(|d| {
                let d = d.to_ascii_lowercase();
                d.contains("not allowed")
                    || d.contains("not permitted")
                    || d.contains("device_code")
            }),
            _ => false,
        },
        Error::Denied { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const ISS: &str = "https://login.example.com";

    #[test]
    fn the_callback_table() {
        let strict = Expected {
            state: "s1",
            issuer: ISS,
            iss_required: true,
        };
        let lax = Expected {
            iss_required: false,
            ..strict.clone()
        };
        // The code, with state and iss.
        assert_eq!(
            judge_callback(&q(&[("code", "c"), ("state", "s1"), ("iss", ISS)]), &strict).ok(),
            Some("c".into())
        );
        // A trailing slash on iss is the same issuer.
        assert!(
            judge_callback(
                &q(&[
                    ("code", "c"),
                    ("state", "s1"),
                    ("iss", "https://login.example.com/")
                ]),
                &strict
            )
            .is_ok()
        );
        // iss may be absent only when the server does not send it.
        assert!(judge_callback(&q(&[("code", "c"), ("state", "s1")]), &lax).is_ok());
        let missing = judge_callback(&q(&[("code", "c"), ("state", "s1")]), &strict);
        assert_eq!(missing.map_err(|e| e.exit().code()), Err(2));
        // Another issuer: a mix-up, refused even without iss being required.
        let mixed = judge_callback(
            &q(&[
                ("code", "c"),
                ("state", "s1"),
                ("iss", "https://evil.example"),
            ]),
            &lax,
        );
        assert!(
            mixed
                .as_ref()
                .is_err_and(|e| e.to_string().contains("evil.example")),
            "{mixed:?}"
        );
        // Wrong or missing state: refused with exit 2, whatever else is there.
        for bad in [
            q(&[("code", "c"), ("state", "s2"), ("iss", ISS)]),
            q(&[("code", "c"), ("iss", ISS)]),
            q(&[("error", "access_denied"), ("state", "other")]),
        ] {
            let e = judge_callback(&bad, &strict).err();
            assert_eq!(e.as_ref().map(|e| e.exit().code()), Some(2), "{bad:?}");
        }
        // Denied: exit 3; other errors are the server's.
        let denied = judge_callback(
            &q(&[("error", "access_denied"), ("state", "s1"), ("iss", ISS)]),
            &strict,
        );
        assert_eq!(denied.map_err(|e| e.exit().code()), Err(3));
        let other = judge_callback(
            &q(&[("error", "invalid_scope"), ("state", "s1"), ("iss", ISS)]),
            &strict,
        );
        assert!(matches!(other, Err(Error::Server { ref error, .. }) if error == "invalid_scope"));
        // Neither code nor error.
        assert!(judge_callback(&q(&[("state", "s1"), ("iss", ISS)]), &strict).is_err());
    }

    #[test]
    fn device_grant_refusals_are_told_from_failures() {
        let server = |error: &str, description: Option<&str>| Error::Server {
            context: "device authorization request".into(),
            error: error.into(),
            description: description.map(str::to_owned),
        };
        for refused in [
            server(
                "unauthorized_client",
                Some("AADSTS50097: blocked by Conditional Access"),
            ),
            server("unsupported_grant_type", None),
            server("access_denied", None),
            server(
                "invalid_request",
                Some("urn:ietf:params:oauth:grant-type:device_code is not allowed for this client"),
            ),
        ] {
            assert!(device_grant_refused(&refused), "{refused:?}");
        }
        for not in [
            server("invalid_request", Some("missing client_id")),
            server("server_error", None),
            server("temporarily_unavailable", None),
            server("invalid_client", None),
            Error::Protocol("503".into()),
            Error::Http(HttpError::Timeout {
                url: "u".into(),
                after: Duration::from_secs(1),
            }),
        ] {
            assert!(!device_grant_refused(&not), "{not:?}");
        }
    }

    #[tokio::test]
    async fn the_listener_answers_one_request_on_its_path_then_closes() {
        let callback = Callback::bind(None, Some("cb")).await.unwrap();
        let redirect = callback.redirect_uri().clone();
        assert_eq!(redirect.path(), "/cb");
        assert_eq!(redirect.host_str(), Some("127.0.0.1"));
        assert_ne!(callback.port(), 0);
        let addr = format!("127.0.0.1:{}", callback.port());
        let waiting = tokio::spawn(callback.wait());
        let get = |path: &'static str| {
            let addr = addr.clone();
            async move {
                let mut s = TcpStream::connect(&addr).await?;
                s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .await?;
                let mut out = String::new();
                s.read_to_string(&mut out).await?;
                Ok::<_, std::io::Error>(out)
            }
        };
        let other = get("/favicon.ico").await.unwrap();
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        let client = tokio::spawn(get("/cb?code=abc&state=s"));
        let (query, stream) = waiting.await.unwrap().unwrap();
        assert_eq!(query, q(&[("code", "abc"), ("state", "s")]));
        finish(stream, &Ok(())).await;
        let page = client.await.unwrap().unwrap();
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        for header in [
            "Content-Security-Policy: default-src 'none'",
            "X-Frame-Options: DENY",
            "Referrer-Policy: no-referrer",
            "Cache-Control: no-store",
        ] {
            assert!(page.contains(header), "{header}: {page}");
        }
        assert!(!page.contains("abc"), "the page echoes the code: {page}");
        // Closed: a second request is refused.
        assert!(get("/cb?code=again&state=s").await.is_err());
    }

    #[test]
    fn the_authorization_url_has_pkce_state_nonce_and_prompt() {
        let client = OAuthClient {
            id: "cid".into(),
            secret: None,
            auth: AuthMethod::None,
        };
        let server = AuthorizationServer {
            issuer: ISS.into(),
            endpoint: Url::parse("https://login.example.com/authorize").unwrap(),
            iss_supported: true,
        };
        let token = Url::parse("https://login.example.com/token").unwrap();
        let redirect = Url::parse("http://127.0.0.1:5000/callback").unwrap();
        let request = DeviceRequest {
            scope: Some("openid offline_access".into()),
            audience: None,
            resources: vec![],
        };
        let p = prepare(&client, &server, &token, &redirect, &request);
        let params: std::collections::HashMap<String, String> =
            p.url.query_pairs().into_owned().collect();
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["client_id"], "cid");
        assert_eq!(params["redirect_uri"], redirect.as_str());
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(params["code_challenge"].len(), 43);
        assert_eq!(params["state"], p.state);
        assert!(params["nonce"].len() >= 16);
        assert_eq!(params["prompt"], "consent");
        assert_eq!(params["scope"], "openid offline_access");
        // Without openid or offline_access: neither nonce nor prompt.
        let plain = prepare(
            &client,
            &server,
            &token,
            &redirect,
            &DeviceRequest {
                scope: Some("read".into()),
                audience: None,
                resources: vec![],
            },
        );
        let params: std::collections::HashMap<String, String> =
            plain.url.query_pairs().into_owned().collect();
        assert!(!params.contains_key("nonce") && !params.contains_key("prompt"));
        assert!(!format!("{plain:?}").contains(plain.verifier.secret().as_str()));
    }
}
