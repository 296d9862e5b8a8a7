//! Reading OAuth requests: `application/x-www-form-urlencoded` bodies (RFC 6749 §3.2) and
//! client authentication (RFC 6749 §2.3).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::config::{ClientAuthMethod, ClientRegistration};
use super::reply::{ErrorKind, OAuthError};

/// Parameters that may legitimately appear more than once (RFC 8707 `resource`).
const REPEATABLE: &[&str] = &["resource"];

/// A parsed form body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parse a request body that must be form-encoded.
    ///
    /// RFC 6749 §3.1: parameters without a value are treated as omitted, and no parameter
    /// may be repeated (except RFC 8707 `resource`).
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let form = Form::parse_lenient(body);
        for (i, (name, _)) in form.pairs.iter().enumerate() {
            let repeated = form.pairs[..i].iter().any(|(n, _)| n == name);
            if repeated && !REPEATABLE.contains(&name.as_str()) {
                return Err(OAuthError::with(
                    ErrorKind::InvalidRequest,
                    format!("parameter {name} must not be repeated"),
                ));
            }
        }
        Ok(form)
    }

    /// Parse without checking content type or repetition (the HTML verification page).
    pub(crate) fn parse_lenient(body: &[u8]) -> Form {
        let pairs = url::form_urlencoded::parse(body)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Form { pairs }
    }

    /// The value of a single-valued parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Who the client claims to be and how it proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credentials {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    IdOnly(String),
    Nothing,
}

/// Authenticate the client of a token, revocation, introspection or device-authorization
/// request strictly according to its registration: a client registered for
/// `client_secret_basic` must use the header, one registered for `client_secret_post` must use
/// the body, and a public client sends only `client_id`.
pub(crate) fn authenticate<'a>(
    clients: &'a [ClientRegistration],
    headers: &HeaderMap,
    form: &Form,
) -> Result<&'a ClientRegistration, OAuthError> {
    let failed = |why: &str| OAuthError::with(ErrorKind::InvalidClient, why);
    let credentials = credentials(headers, form)?;
    let (id, method, secret) = match &credentials {
        Credentials::Basic { id, secret } => {
            (id, ClientAuthMethod::ClientSecretBasic, Some(secret))
        }
        Credentials::Post { id, secret } => (id, ClientAuthMethod::ClientSecretPost, Some(secret)),
        Credentials::IdOnly(id) => (id, ClientAuthMethod::None, None),
        Credentials::Nothing => return Err(failed("no client authentication included")),
    };
    let Some(client) = clients.iter().find(|c| &c.client_id == id) else {
        return Err(failed("unknown client"));
    };
    if client.auth != method {
        return Err(failed(&format!(
            "client {} must authenticate with {}, not {}",
            client.client_id, client.auth, method
        )));
    }
    match (secret, &client.secret) {
        (None, _) => Ok(client),
        (Some(given), Some(expected))
            if verify_slices_are_equal(given.as_bytes(), expected.as_bytes()).is_ok() =>
        {
            Ok(client)
        }
        _ => Err(failed("client authentication failed")),
    }
}

fn credentials(headers: &HeaderMap, form: &Form) -> Result<Credentials, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    if let Some((id, secret)) = basic_credentials(headers)? {
        // RFC 6749 §2.3: a client must not use more than one authentication method.
        if body_secret.is_some() {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "client_secret in both the Authorization header and the body",
            ));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "client_id in the body differs from the Authorization header",
            ));
        }
        return Ok(Credentials::Basic { id, secret });
    }
    Ok(match (body_id, body_secret) {
        (Some(id), Some(secret)) => Credentials::Post {
            id: id.to_owned(),
            secret: secret.to_owned(),
        },
        (Some(id), None) => Credentials::IdOnly(id.to_owned()),
        (None, Some(_)) => {
            return Err(OAuthError::with(
                ErrorKind::InvalidClient,
                "client_secret without client_id",
            ));
        }
        (None, None) => Credentials::Nothing,
    })
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::with(ErrorKind::InvalidClient, "malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// Undo `application/x-www-form-urlencoded` encoding of a single value.
fn form_decode(s: &str) -> String {
    let wrapped = format!("v={s}");
    url::form_urlencoded::parse(wrapped.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn form(body: &str) -> Form {
        Form::parse_lenient(body.as_bytes())
    }

    #[test]
    fn repeated_parameters_are_rejected_except_resource() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        assert!(Form::parse(&h, b"scope=a&scope=b").is_err());
        let f = Form::parse(&h, b"resource=https://a&resource=https://b&scope=").unwrap();
        assert_eq!(f.all("resource"), ["https://a", "https://b"]);
        assert_eq!(f.get("scope"), None, "empty values count as omitted");
        assert!(Form::parse(&HeaderMap::new(), b"a=b").is_err());
    }

    #[test]
    fn client_authentication_follows_the_registration() {
        let clients = ClientRegistration::defaults();
        let none = HeaderMap::new();
        let ok = |h: &HeaderMap, body: &str| {
            authenticate(&clients, h, &form(body)).map(|c| c.client_id.clone())
        };
        assert_eq!(ok(&none, "client_id=tvlogin-demo").unwrap(), "tvlogin-demo");
        assert_eq!(
            ok(&none, "client_id=tvlogin-post&client_secret=post-secret").unwrap(),
            "tvlogin-post"
        );
        assert!(ok(&none, "client_id=tvlogin-post&client_secret=nope").is_err());
        assert!(ok(&none, "client_id=tvlogin-basic&client_secret=basic-secret").is_err());
        assert!(ok(&none, "client_id=tvlogin-basic").is_err());
        assert!(ok(&none, "client_id=stranger").is_err());
        assert!(ok(&none, "").is_err());

        let mut basic = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("tvlogin-basic:basic-secret"));
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        assert_eq!(ok(&basic, "").unwrap(), "tvlogin-basic");
        assert_eq!(
            ok(&basic, "client_id=tvlogin-basic").unwrap(),
            "tvlogin-basic"
        );
        assert!(ok(&basic, "client_id=tvlogin-demo").is_err());
    }
}
