//! What the inspector asks an issuer: its metadata, its keys (cached, fetched again once for an
//! unknown `kid`), introspection (RFC 7662) and userinfo. All through [`Http`], so the
//! transport policy, timeouts and the 1 MiB cap apply. Every answer's `Date` is kept for the
//! clock-skew indicator.

use jsonwebtoken::jwk::JwkSet;
use serde_json::{Map, Value};
use url::Url;

use super::jwt::Jws;
use super::verify::{self, Keys, Outcome, SignatureStep};
use crate::clock::UnixTime;
use crate::error::Error;
use crate::oauth::client::OAuthClient;
use crate::oauth::discovery::well_known_urls;
use crate::oauth::http::{Http, HttpSettings};
use crate::oauth::normalize::OAuthResponse;
use crate::sanitize::truncate;

/// The server's clock against ours, from one answer's `Date` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skew {
    /// Server time minus local time at receipt, in whole seconds (`Date` has 1 s resolution).
    pub seconds: i64,
}

impl Skew {
    /// From a `Date` header value and the local time the answer arrived.
    pub fn new(server: UnixTime, local: UnixTime) -> Self {
        Self {
            seconds: local.until(server),
        }
    }

    /// "in sync", "server is 42s ahead", "server is 3m 00s behind".
    pub fn describe(&self) -> String {
        let d = std::time::Duration::from_secs(self.seconds.unsigned_abs());
        match self.seconds {
            -1..=1 => "in sync (within the 1s resolution of Date)".into(),
            s if s > 0 => format!(
                "the server's clock is {} ahead of this machine",
                crate::humanize::duration(d)
            ),
            _ => format!(
                "the server's clock is {} behind this machine",
                crate::humanize::duration(d)
            ),
        }
    }
}

/// What discovery said, leniently: inspecting needs no device endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerInfo {
    /// The issuer identifier, as the document names it.
    pub issuer: String,
    /// `jwks_uri`.
    pub jwks_uri: Option<Url>,
    /// `introspection_endpoint`.
    pub introspection: Option<Url>,
    /// `userinfo_endpoint`.
    pub userinfo: Option<Url>,
}

/// An HTTP client (built on first use: setting up TLS costs more than decoding a token)
/// plus the latest clock reading from any answer.
#[derive(Debug)]
pub struct Remote {
    http: Option<Http>,
    settings: HttpSettings,
    /// The skew seen in the latest answer with a `Date` header.
    pub skew: Option<Skew>,
    /// How many JWKS fetches were made (for messages and tests).
    pub jwks_fetches: u32,
    /// Every request fails at once ([`Remote::offline`]).
    offline: bool,
}

impl Remote {
    /// Wraps a client.
    pub fn new(http: Http) -> Self {
        Self {
            settings: http.settings(),
            http: Some(http),
            skew: None,
            jwks_fetches: 0,
            offline: false,
        }
    }

    /// A client with these settings, built when the first request needs it.
    pub fn lazy(settings: HttpSettings) -> Self {
        Self {
            http: None,
            settings,
            skew: None,
            jwks_fetches: 0,
            offline: false,
        }
    }

    /// A remote that refuses every request: for an inspect that has nothing to fetch and
    /// runs without the async runtime, where a request could not run.
    pub fn offline() -> Self {
        Self {
            offline: true,
            ..Self::lazy(HttpSettings::default())
        }
    }

    fn client(&mut self) -> Result<Http, Error> {
        if self.offline {
            return Err(Error::Other(
                "this inspect makes no requests (no --issuer, key URL or --client-id)".into(),
            ));
        }
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        let http = Http::new(self.settings).map_err(Error::Other)?;
        self.http = Some(http.clone());
        Ok(http)
    }

    async fn get(&mut self, url: &Url) -> Result<OAuthResponse, Error> {
        let raw = self.client()?.get(url).await?;
        let response = OAuthResponse::from_raw(&raw);
        self.note(&response, raw.received);
        Ok(response)
    }

    fn note(&mut self, response: &OAuthResponse, received: UnixTime) {
        if let Some(date) = response.date {
            self.skew = Some(Skew::new(date, received));
        }
    }

    /// Both metadata documents (OpenID Connect discovery and RFC 8414), merged as a login
    /// merges them ([`crate::oauth::discovery::merge`]); the issuer named must match.
    pub async fn discover(&mut self, issuer: &Url) -> Result<IssuerInfo, Error> {
        let [openid, rfc8414] = well_known_urls(issuer);
        let first = self.get(&openid).await?;
        let first_is_document = (200..300).contains(&first.status) && first.fields().is_some();
        let second = match self.get(&rfc8414).await {
            Ok(response) => Some(response),
            Err(e) if !first_is_document => return Err(e),
            Err(_) => None,
        };
        let m = crate::oauth::discovery::merge(issuer, &first, second.as_ref())?;
        Ok(IssuerInfo {
            issuer: m.issuer,
            jwks_uri: m.jwks_uri,
            introspection: m.introspection,
            userinfo: m.userinfo,
        })
    }

    /// Fetches a JWKS document.
    pub async fn fetch_jwks(&mut self, url: &Url) -> Result<JwkSet, Error> {
        self.jwks_fetches += 1;
        let response = self.get(url).await?;
        if !(200..300).contains(&response.status) {
            return Err(Error::Protocol(format!(
                "the JWKS at {url} answered {}",
                response.describe()
            )));
        }
        let fields = response.fields().cloned().unwrap_or_default();
        parse_jwks(&Value::Object(fields).to_string())
            .map_err(|e| Error::Protocol(format!("the JWKS at {url} {e}")))
    }

    /// RFC 7662 introspection, authenticated as `client`.
    pub async fn introspect(
        &mut self,
        endpoint: &Url,
        client: &OAuthClient,
        token: &str,
    ) -> Result<Map<String, Value>, String> {
        let mut form = vec![("token", token)];
        let basic = client.authenticate(&mut form);
        let raw = self
            .client()
            .map_err(|e| e.to_string())?
            .post_form(endpoint, &form, basic)
            .await
            .map_err(|e| e.to_string())?;
        let response = OAuthResponse::from_raw(&raw);
        self.note(&response, raw.received);
        answer_fields(&response)
    }

    /// OpenID Connect userinfo with the token as a bearer token.
    pub async fn userinfo(
        &mut self,
        endpoint: &Url,
        token: &str,
    ) -> Result<Map<String, Value>, String> {
        let client = self.client().map_err(|e| e.to_string())?;
        client.check_url(endpoint).map_err(|e| e.to_string())?;
        let request = http::Request::get(endpoint.as_str())
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        let raw = client.execute(request).await.map_err(|e| e.to_string())?;
        let response = OAuthResponse::from_raw(&raw);
        self.note(&response, raw.received);
        answer_fields(&response).map_err(|e| {
            if response.status == 401 {
                format!("{e}; {}", userinfo_hint(token))
            } else {
                e
            }
        })
    }
}

/// Why a userinfo endpoint may refuse a token that is otherwise fine: it was issued for
/// another resource (its `aud`).
fn userinfo_hint(token: &str) -> String {
    let aud = super::unverified_claims(super::jwt::clean(token))
        .and_then(|c| c.get("aud").cloned())
        .map(|aud| match aud {
            Value::String(s) => s,
            other => other.to_string(),
        });
    match aud {
        Some(aud) => format!(
            "this access token may not be meant for the userinfo endpoint: its aud is {aud}"
        ),
        None => "this access token may not be meant for the userinfo endpoint (it names no \
                 audience that could be checked here)"
            .into(),
    }
}

fn answer_fields(response: &OAuthResponse) -> Result<Map<String, Value>, String> {
    if !(200..300).contains(&response.status) {
        return Err(format!("{} answered {}", response.url, response.describe()));
    }
    response
        .fields()
        .cloned()
        .ok_or_else(|| format!("{} answered {}", response.url, response.describe()))
}

/// Parses a JWKS document (`{"keys": [...]}`); keys of unknown types are kept but never fit.
pub fn parse_jwks(text: &str) -> Result<JwkSet, String> {
    serde_json::from_str::<JwkSet>(text)
        .map_err(|e| format!("is not a JWKS ({})", truncate(&e.to_string(), 120)))
}

/// Where the public keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// A file, read once.
    File {
        /// The keys.
        set: JwkSet,
        /// The path, for messages.
        origin: String,
    },
    /// One public key from a PEM file (`-----BEGIN PUBLIC KEY-----`), as DER.
    Pem {
        /// The key (SubjectPublicKeyInfo or PKCS#1 DER).
        der: Vec<u8>,
        /// The path, for messages.
        origin: String,
    },
    /// A URL, fetched when first needed and once more on an unknown `kid`.
    Url {
        /// The JWKS URL.
        url: Url,
        /// The cached document.
        set: Option<JwkSet>,
        /// Whether it was fetched again for an unknown `kid` already.
        refetched: bool,
    },
}

/// Reads a `--jwks` file: a JWKS (`{"keys": [...]}`), a single JWK, or a PEM public key.
pub fn parse_key_file(text: &str, origin: &str) -> Result<JwksSource, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with("-----BEGIN") {
        return pem_der(trimmed).map(|der| JwksSource::Pem {
            der,
            origin: origin.to_owned(),
        });
    }
    // A JWKS is read in one pass; only what is not one is looked at again as a single JWK.
    let set = match parse_jwks(trimmed) {
        Ok(set) => set,
        Err(not_a_set) => {
            match serde_json::from_str::<Value>(trimmed)
                .ok()
                .filter(|v| v.get("kty").is_some() && v.get("keys").is_none())
            {
                Some(jwk) => parse_jwks(&serde_json::json!({ "keys": [jwk] }).to_string())?,
                None => return Err(not_a_set),
            }
        }
    };
    Ok(JwksSource::File {
        set,
        origin: origin.to_owned(),
    })
}

/// The DER inside a PEM public key. Private keys are refused: a verifier never needs one.
fn pem_der(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let mut lines = text.lines().map(str::trim);
    let begin = lines.next().unwrap_or_default();
    let label = begin
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .unwrap_or_default();
    if !matches!(label, "PUBLIC KEY" | "RSA PUBLIC KEY") {
        return Err(format!(
            "is PEM but not a public key ({}); give the issuer's public key",
            truncate(label, 40)
        ));
    }
    let body: String = lines
        .take_while(|l| !l.starts_with("-----END"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("is PEM whose body is not base64 ({e})"))
}

/// Checks the signature of `jws`, fetching (and on an unknown `kid`, refetching once) the JWKS.
pub async fn check_signature(
    jws: &Jws,
    source: Option<&mut JwksSource>,
    secret: Option<&verify::HmacSecret>,
    remote: &mut Remote,
) -> Outcome {
    let Some(source) = source else {
        let keys = Keys {
            secret,
            ..Keys::default()
        };
        return match verify::signature(jws, &keys, true) {
            SignatureStep::Done(o) => o,
            SignatureStep::UnknownKid(kid) => Outcome::NotChecked(format!("no key for kid {kid}")),
        };
    };
    // Header rules and the algorithm's spelling fail whatever the keys: no fetch for them.
    let alg = match verify::header_rules(jws).and_then(|()| verify::algorithm(jws)) {
        Err(why) => return Outcome::Failed(why),
        Ok(verify::AlgName::Unsupported(_)) => {
            let keys = Keys::default();
            return match verify::signature(jws, &keys, true) {
                SignatureStep::Done(o) => o,
                SignatureStep::UnknownKid(_) => Outcome::NotChecked("no keys".into()),
            };
        }
        Ok(verify::AlgName::Allowed(name)) => name,
    };
    if let JwksSource::Pem { der, origin } = source {
        let keys = Keys {
            secret,
            pem: Some((der.as_slice(), origin.as_str())),
            ..Keys::default()
        };
        return match verify::signature(jws, &keys, true) {
            SignatureStep::Done(o) => o,
            SignatureStep::UnknownKid(kid) => Outcome::NotChecked(format!("no key for kid {kid}")),
        };
    }
    // An HMAC token against an issuer's public keys is a forgery attempt, whatever the keys
    // are: a JWKS is public by definition. Nothing needs fetching to say so.
    if matches!(alg, "HS256" | "HS384" | "HS512") && secret.is_none() {
        return Outcome::Failed(verify::confusion(alg));
    }
    let needs_jwks = !matches!(alg, "HS256" | "HS384" | "HS512");
    loop {
        let (set, origin, refetched) = match source {
            JwksSource::Pem { .. } => return Outcome::NotChecked("no keys".into()),
            JwksSource::File { set, origin } => (set as &JwkSet, origin.clone(), true),
            JwksSource::Url {
                url,
                set,
                refetched,
            } => {
                if set.is_none() && needs_jwks {
                    match remote.fetch_jwks(url).await {
                        Ok(s) => *set = Some(s),
                        Err(e) => {
                            return Outcome::NotChecked(format!(
                                "could not fetch the keys from {url}: {e}"
                            ));
                        }
                    }
                }
                match set {
                    Some(s) if *refetched => (
                        s as &JwkSet,
                        format!("{url} (fetched again for this kid)"),
                        true,
                    ),
                    Some(s) => (s as &JwkSet, url.to_string(), false),
                    None => {
                        let keys = Keys {
                            secret,
                            ..Keys::default()
                        };
                        return match verify::signature(jws, &keys, true) {
                            SignatureStep::Done(o) => o,
                            SignatureStep::UnknownKid(_) => Outcome::NotChecked("no keys".into()),
                        };
                    }
                }
            }
        };
        let keys = Keys {
            jwks: Some((set, &origin)),
            secret,
            pem: None,
        };
        match verify::signature(jws, &keys, refetched) {
            SignatureStep::Done(outcome) => return outcome,
            SignatureStep::UnknownKid(_) => {
                // Only a URL source can answer differently the second time (key rotation).
                if let JwksSource::Url {
                    url,
                    set,
                    refetched,
                } = source
                {
                    *refetched = true;
                    match remote.fetch_jwks(url).await {
                        Ok(s) => *set = Some(s),
                        Err(e) => {
                            return Outcome::NotChecked(format!(
                                "unknown kid, and fetching the keys again from {url} failed: {e}"
                            ));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_reads_both_ways() {
        let t = UnixTime::from_secs(1000);
        let later = t.plus_secs(42);
        assert_eq!(Skew::new(later, t).seconds, 42);
        assert!(Skew::new(later, t).describe().contains("42s ahead"));
        assert!(Skew::new(t, later).describe().contains("behind"));
        assert!(Skew::new(t, t).describe().starts_with("in sync"));
    }
}
