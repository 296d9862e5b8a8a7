//! The one HTTP client tvlogin uses to talk to authorization servers.
//!
//! Every request goes through [`Http`], which enforces the transport rules in one place:
//! redirects are never followed (a redirected token request could leak credentials, RFC 6749
//! §3.1 and oauth2-rs' docs), connect and request timeouts are always set, response bodies are
//! capped at [`MAX_BODY`] bytes (a hostile or broken server cannot make us buffer 10 MiB), and
//! plain `http://` is refused except for loopback hosts unless the user said `--allow-http`.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::secret::ClientSecret;
use base64::Engine as _;
use url::{Host, Url};

use crate::clock::UnixTime;

/// The largest response body tvlogin reads from an authorization server. Real OAuth responses
/// are a few kilobytes; a megabyte leaves room for large JWKS documents.
pub const MAX_BODY: usize = crate::error::MAX_RESPONSE_BODY;

/// Transport settings, resolved from flags, environment and profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// Limit for a whole request, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// Limit for establishing the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Allow `http://` to hosts that are not loopback addresses.
    pub allow_http: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            allow_http: false,
        }
    }
}

/// A response as it came off the wire, body already read (and capped). `Debug` shows the
/// body's size only: it may hold tokens.
#[derive(Clone)]
pub struct RawResponse {
    /// The URL that was requested.
    pub url: Url,
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// The whole body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
    /// When the answer arrived (the clock that `Retry-After` dates and the `Date` skew are
    /// measured against).
    pub received: UnixTime,
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

pub use crate::error::HttpError;

/// Credentials for HTTP Basic client authentication (RFC 6749 §2.3.1). `Debug` redacts the
/// secret (a [`crate::secret::ClientSecret`]).
#[derive(Debug, Clone, Copy)]
pub struct BasicAuth<'a> {
    /// The client identifier.
    pub user: &'a str,
    /// The client secret.
    pub password: &'a ClientSecret,
}

impl BasicAuth<'_> {
    /// The `Authorization` header value. RFC 6749 §2.3.1 says id and secret are
    /// form-urlencoded before they are joined and base64-encoded.
    fn header_value(&self) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let joined = format!("{}:{}", enc(self.user), enc(self.password.secret()));
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(joined)
        )
    }
}

/// The HTTP client: a configured `reqwest::Client` plus the URL policy.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    /// For loopback hosts: never through a proxy. Plain http is allowed to loopback because
    /// it stays on this machine; a system proxy would carry it (and the tokens) elsewhere.
    loopback: reqwest::Client,
    settings: HttpSettings,
}

impl Http {
    /// Builds a client with redirects off, timeouts, `Accept: application/json` and a
    /// `tvlogin/<version>` user agent.
    pub fn new(settings: HttpSettings) -> Result<Self, String> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(settings.timeout)
                .connect_timeout(settings.connect_timeout)
                .user_agent(concat!("tvlogin/", env!("CARGO_PKG_VERSION")))
                .default_headers(headers.clone())
        };
        let fail =
            |e: reqwest::Error| format!("could not set up the HTTP client: {}", root_cause(&e));
        Ok(Self {
            client: builder().build().map_err(fail)?,
            loopback: builder().no_proxy().build().map_err(fail)?,
            settings,
        })
    }

    fn client_for(&self, url: &Url) -> &reqwest::Client {
        if is_loopback(url) {
            &self.loopback
        } else {
            &self.client
        }
    }

    /// The settings this client was built with.
    pub fn settings(&self) -> HttpSettings {
        self.settings
    }

    /// Checks `url` against the transport policy without sending anything.
    pub fn check_url(&self, url: &Url) -> Result<(), HttpError> {
        check_url(url, self.settings.allow_http)
    }

    /// `GET url`.
    pub async fn get(&self, url: &Url) -> Result<RawResponse, HttpError> {
        self.check_url(url)?;
        let request = self.client_for(url).get(url.clone());
        self.send(url, request).await
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body and optional Basic auth.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<BasicAuth<'_>>,
    ) -> Result<RawResponse, HttpError> {
        self.post_form_with(url, form, basic, &[]).await
    }

    /// [`Http::post_form`] with more headers (a DPoP proof).
    pub async fn post_form_with(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<BasicAuth<'_>>,
        extra: &[(&'static str, String)],
    ) -> Result<RawResponse, HttpError> {
        self.check_url(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        // Both headers always, even for an empty form (a confidential client asking for no
        // scope): servers that check the content type refuse a body without one, and an
        // empty POST without a length is not a request every server accepts.
        let mut request = self
            .client_for(url)
            .post(url.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(body);
        if let Some(basic) = basic {
            request = request.header(http::header::AUTHORIZATION, basic.header_value());
        }
        for (name, value) in extra {
            request = request.header(*name, value.as_str());
        }
        self.send(url, request).await
    }

    /// Sends a prepared `http::Request` (the userinfo lookup, which needs its own headers).
    pub async fn execute(&self, request: http::Request<Vec<u8>>) -> Result<RawResponse, HttpError> {
        let url =
            Url::parse(&request.uri().to_string()).map_err(|_| HttpError::UnsupportedScheme {
                url: request.uri().to_string(),
            })?;
        self.check_url(&url)?;
        let request = reqwest::Request::try_from(request).map_err(|e| HttpError::Transport {
            url: url.to_string(),
            detail: root_cause(&e),
        })?;
        let builder = reqwest::RequestBuilder::from_parts(self.client_for(&url).clone(), request);
        self.send(&url, builder).await
    }

    async fn send(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<RawResponse, HttpError> {
        let mut response = request.send().await.map_err(|e| self.classify(url, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(HttpError::TooLarge {
                url: url.to_string(),
            });
        }
        let mut body = Vec::new();
        // Read chunk by chunk so a body without Content-Length is cut off at the cap
        // instead of being buffered whole.
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(url, &e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge {
                    url: url.to_string(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            url: url.clone(),
            status,
            headers,
            body,
            // An edge: the moment the answer arrived, read once.
            received: UnixTime::now(),
        })
    }

    fn classify(&self, url: &Url, error: &reqwest::Error) -> HttpError {
        let url = url.to_string();
        if error.is_timeout() {
            HttpError::Timeout {
                url,
                after: self.settings.timeout,
            }
        } else if error.is_connect() {
            HttpError::Connect {
                url,
                detail: root_cause(error),
            }
        } else {
            HttpError::Transport {
                url,
                detail: root_cause(error),
            }
        }
    }
}

/// The policy: https anywhere, http only to loopback hosts (or anywhere with `allow_http`).
pub fn check_url(url: &Url, allow_http: bool) -> Result<(), HttpError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        "http" => Err(HttpError::Insecure {
            url: url.to_string(),
        }),
        _ => Err(HttpError::UnsupportedScheme {
            url: url.to_string(),
        }),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    url.host().is_some_and(|host| is_loopback_host(&host))
}

/// Whether `host` is a loopback address or `localhost`.
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    }
}

/// The innermost cause of an error chain: reqwest's own messages ("error sending request")
/// say little; the root ("Connection refused (os error 111)") says what happened.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        let table = [
            ("https://example.com/token", false, true),
            ("http://127.0.0.1:8080/token", false, true),
            ("http://127.5.5.5/token", false, true),
            ("http://[::1]:9/token", false, true),
            ("http://localhost:9/token", false, true),
            ("http://LOCALHOST/token", false, true),
            ("http://example.com/token", false, false),
            ("http://localhost.example.com/token", false, false),
            ("http://10.0.0.1/token", false, false),
            ("http://example.com/token", true, true),
            ("ftp://example.com/token", true, false),
            ("file:///etc/passwd", true, false),
        ];
        for (url, allow, ok) in table {
            let url = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                check_url(&url, allow).is_ok(),
                ok,
                "{url} allow_http={allow}"
            );
        }
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let header = BasicAuth {
            user: "my client",
            password: &ClientSecret::new("p@ss:word".into()),
        }
        .header_value();
        let b64 = header.trim_start_matches("Basic ");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&decoded), "my+client:p%40ss%3Aword");
    }

    #[test]
    fn basic_auth_debug_hides_the_secret() {
        let shown = format!(
            "{:?}",
            BasicAuth {
                user: "id",
                password: &ClientSecret::new("hunter2".into())
            }
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
