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

/// The most fields a form may have: OAuth requests send fewer than ten, plus a few
/// `resource` values.
pub(crate) const MAX_FIELDS: usize = 64;

/// The longest parameter name or value, in bytes: a scope of 4 KiB is plenty, and tokens,
/// codes and client credentials are far shorter.
pub(crate) const MAX_VALUE: usize = 4 * 1024;

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
        if body.len() > super::limits::MAX_BODY {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                format!(
                    "the request body is larger than {} KiB",
                    super::limits::MAX_BODY / 1024
                ),
            ));
        }
        let mut pairs = Vec::new();
        // One pass, a set for repetition: linear in the body, whatever it holds.
        let mut seen = std::collections::HashSet::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if pairs.len() == MAX_FIELDS {
                return Err(OAuthError::with(
                    ErrorKind::InvalidRequest,
                    format!("the request has more than {MAX_FIELDS} parameters"),
                ));
            }
            if name.len() > MAX_VALUE || value.len() > MAX_VALUE {
                let shown: String = name.chars().take(40).collect();
                return Err(OAuthError::with(
                    ErrorKind::InvalidRequest,
                    format!(
                        "parameter {shown:?} is longer than {} KiB",
                        MAX_VALUE / 1024
                    ),
                ));
            }
            if value.is_empty() {
                continue;
            }
            if !seen.insert(name.clone()) && !REPEATABLE.contains(&name.as_ref()) {
                return Err(OAuthError::with(
                    ErrorKind::InvalidRequest,
                    format!("parameter {name} must not be repeated"),
                ));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Form { pairs })
    }

    /// Parse without checking content type or repetition (the HTML verification page):
    /// the first [`MAX_FIELDS`] fields, values cut to [`MAX_VALUE`] bytes.
    pub(crate) fn parse_lenient(body: &[u8]) -> Form {
        let pairs = url::form_urlencoded::parse(body)
            .take(MAX_FIELDS)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (cut(&k), cut(&v)))
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

fn cut(text: &str) -> String {
    let mut end = text.len().min(MAX_VALUE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// django-oauth-toolkit's rule: the content type is exactly
/// `application/x-www-form-urlencoded`, without parameters such as `; charset=utf-8`
/// (which RFC 6749 does not forbid).
pub(crate) fn exact_form_content_type(headers: &HeaderMap) -> Result<(), OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        Ok(())
    } else {
        Err(OAuthError::with(
            ErrorKind::InvalidRequest,
            format!(
                "Content-Type must be exactly application/x-www-form-urlencoded, not {content_type:?}"
            ),
        ))
    }
}

/// django-oauth-toolkit's rule: a client using HTTP Basic still names itself in the body.
pub(crate) fn body_client_id_with_basic(
    headers: &HeaderMap,
    form: &Form,
) -> Result<(), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    if basic && form.get("client_id").is_none() {
        return Err(OAuthError::with(
            ErrorKind::InvalidRequest,
            "Missing client_id parameter.",
        ));
    }
    Ok(())
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

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        h
    }

    /// 200k fields: refused by the size cap at once, and under the size cap by the field cap;
    /// the parse never looks at more than MAX_FIELDS + 1 fields.
    #[test]
    fn huge_forms_are_refused_in_linear_time() {
        let h = form_headers();
        let huge = "a=b&".repeat(200_000);
        let e = Form::parse(&h, huge.as_bytes()).unwrap_err();
        assert!(
            e.description
                .clone()
                .unwrap_or_default()
                .contains("larger than 64 KiB"),
            "{e:?}"
        );
        let many = (0..7_000)
            .map(|i| format!("f{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(many.len() < super::super::limits::MAX_BODY);
        let e = Form::parse(&h, many.as_bytes()).unwrap_err();
        assert!(
            e.description
                .clone()
                .unwrap_or_default()
                .contains("more than 64 parameters"),
            "{e:?}"
        );
        let resources = (0..MAX_FIELDS)
            .map(|i| format!("resource=https://r/{i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            Form::parse(&h, resources.as_bytes())
                .unwrap()
                .all("resource")
                .len(),
            MAX_FIELDS
        );
        assert_eq!(
            Form::parse_lenient(huge.as_bytes()).all("a").len(),
            MAX_FIELDS
        );
    }

    #[test]
    fn long_parameters_are_refused() {
        let h = form_headers();
        let ok = format!("scope={}", "s".repeat(MAX_VALUE));
        assert!(Form::parse(&h, ok.as_bytes()).is_ok());
        let long = format!("scope={}", "s".repeat(MAX_VALUE + 1));
        let e = Form::parse(&h, long.as_bytes()).unwrap_err();
        assert!(
            e.description
                .clone()
                .unwrap_or_default()
                .contains("longer than 4 KiB"),
            "{e:?}"
        );
        assert_eq!(
            Form::parse_lenient(long.as_bytes())
                .get("scope")
                .map(str::len),
            Some(MAX_VALUE)
        );
    }
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
