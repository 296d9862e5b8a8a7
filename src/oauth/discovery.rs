//! Authorization server metadata: OpenID Connect Discovery 1.0 and RFC 8414, merged.

use url::Url;

use super::http::Http;
use super::normalize::OAuthResponse;
use crate::error::Error;

/// The endpoints tvlogin talks to, however they were found (discovery, flags, a preset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The issuer identifier, when known (discovery or a preset).
    pub issuer: Option<String>,
    /// RFC 8628 device authorization endpoint.
    pub device_authorization: Url,
    /// Token endpoint.
    pub token: Url,
    /// JWKS for signature checks.
    pub jwks_uri: Option<Url>,
    /// RFC 7009 revocation endpoint.
    pub revocation: Option<Url>,
    /// RFC 7662 introspection endpoint.
    pub introspection: Option<Url>,
    /// OpenID Connect userinfo endpoint.
    pub userinfo: Option<Url>,
    /// RFC 9449 §5.1 `dpop_signing_alg_values_supported`: the server takes DPoP proofs signed
    /// with these (`None`: it did not say, so it is not known to speak DPoP).
    pub dpop_algs: Option<Vec<String>>,
}

/// The two well-known locations for `issuer`, in the order they are tried: OpenID Connect
/// appends to the issuer's path; RFC 8414 §3.1 inserts between host and path.
pub fn well_known_urls(issuer: &Url) -> [Url; 2] {
    let path = issuer.path().trim_end_matches('/');
    let mut openid = issuer.clone();
    openid.set_path(&format!("{path}/.well-known/openid-configuration"));
    openid.set_query(None);
    let mut rfc8414 = issuer.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    rfc8414.set_query(None);
    [openid, rfc8414]
}

/// What an issuer's metadata says: both documents merged (RFC 8414 §5 lets an OpenID
/// provider publish both; a server may list an endpoint in one only). Every endpoint is
/// optional here: explicit settings may fill what neither document names
/// ([`Metadata::endpoints`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The issuer identifier, as the documents name it.
    pub issuer: String,
    /// `device_authorization_endpoint`.
    pub device_authorization: Option<Url>,
    /// `token_endpoint`.
    pub token: Option<Url>,
    /// `jwks_uri`.
    pub jwks_uri: Option<Url>,
    /// `revocation_endpoint`.
    pub revocation: Option<Url>,
    /// `introspection_endpoint`.
    pub introspection: Option<Url>,
    /// `userinfo_endpoint`.
    pub userinfo: Option<Url>,
    /// The documents read, in order (for messages).
    pub read_from: Vec<String>,
    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1).
    pub dpop_algs: Option<Vec<String>>,
}

/// Endpoints set one by one (flags or a profile) that replace what the metadata says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit<'a> {
    /// Device authorization endpoint.
    pub device_authorization: Option<&'a Url>,
    /// Token endpoint.
    pub token: Option<&'a Url>,
    /// JWKS URL.
    pub jwks_uri: Option<&'a Url>,
    /// Revocation endpoint.
    pub revocation: Option<&'a Url>,
    /// Introspection endpoint.
    pub introspection: Option<&'a Url>,
    /// Userinfo endpoint.
    pub userinfo: Option<&'a Url>,
}

impl Metadata {
    /// The endpoints of a login: each explicit one over its discovered value, on its own;
    /// then the device and token endpoints must be known.
    pub fn endpoints(&self, explicit: Explicit<'_>) -> Result<Endpoints, Error> {
        let pick = |e: Option<&Url>, d: &Option<Url>| e.cloned().or_else(|| d.clone());
        let read = self
            .read_from
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" and ");
        let token = pick(explicit.token, &self.token).ok_or_else(|| {
            Error::Usage(format!(
                "the metadata of {} ({read}) names no token_endpoint; pass --token-endpoint URL",
                self.issuer
            ))
        })?;
        let device_authorization = pick(explicit.device_authorization, &self.device_authorization)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "the provider at {} does not advertise a device_authorization_endpoint \
                     ({read}), so it may not support the device flow; if it does, pass \
                     --device-authorization-endpoint URL",
                    self.issuer
                ))
            })?;
        Ok(Endpoints {
            issuer: Some(self.issuer.clone()),
            device_authorization,
            token,
            jwks_uri: pick(explicit.jwks_uri, &self.jwks_uri),
            revocation: pick(explicit.revocation, &self.revocation),
            introspection: pick(explicit.introspection, &self.introspection),
            userinfo: pick(explicit.userinfo, &self.userinfo),
            dpop_algs: self.dpop_algs.clone(),
        })
    }
}

/// Fetches both metadata documents of `issuer` and merges them ([`merge`]). A transport
/// failure of the second document is no failure when the first one answered.
pub async fn fetch_metadata(http: &Http, issuer: &Url) -> Result<Metadata, Error> {
    let [openid, rfc8414] = well_known_urls(issuer);
    let first = OAuthResponse::from_raw(&http.get(&openid).await?);
    let second = match http.get(&rfc8414).await {
        Ok(raw) => Some(OAuthResponse::from_raw(&raw)),
        Err(e) if not_a_document(&first).is_some() => return Err(e.into()),
        Err(_) => None,
    };
    merge(issuer, &first, second.as_ref())
}

/// Fetches and checks the metadata for `issuer`, with no explicit endpoint.
pub async fn discover(http: &Http, issuer: &Url) -> Result<Endpoints, Error> {
    fetch_metadata(http, issuer)
        .await?
        .endpoints(Explicit::default())
}

/// Merges the OpenID document (`openid`) and the RFC 8414 one (`rfc8414`, `None` when it
/// could not be fetched): a field named by the OpenID document wins, a field only the other
/// names is taken from it. A document that is not one (404, HTML, a redirect) is left out;
/// one that names another issuer is an error when it is the only one, and is left out
/// otherwise (RFC 8414 §3.3: its values must not be used). A document with an invalid URL is
/// an error: the server is broken, not silent.
pub fn merge(
    issuer: &Url,
    openid: &OAuthResponse,
    rfc8414: Option<&OAuthResponse>,
) -> Result<Metadata, Error> {
    let documents: Vec<&OAuthResponse> = std::iter::once(openid)
        .chain(rfc8414)
        .filter(|d| not_a_document(d).is_none())
        .collect();
    if documents.is_empty() {
        let why = |r: &OAuthResponse| {
            format!(
                "{} {}",
                r.url,
                not_a_document(r).unwrap_or_else(|| "is not a document".into())
            )
        };
        let mut reasons = vec![why(openid)];
        if let Some(r) = rfc8414 {
            reasons.push(why(r));
        }
        return Err(Error::Protocol(format!(
            "no discovery document for issuer {issuer}: {}",
            reasons.join("; ")
        )));
    }
    let mut parsed = Vec::new();
    let mut first_error = None;
    for document in documents {
        match parse_document(issuer, document) {
            Ok(m) => parsed.push(m),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let mut merged: Option<Metadata> = None;
    for m in parsed {
        merged = Some(match merged {
            None => m,
            Some(mut base) => {
                let fill = |b: &mut Option<Url>, o: Option<Url>| {
                    if b.is_none() {
                        *b = o;
                    }
                };
                fill(&mut base.device_authorization, m.device_authorization);
                fill(&mut base.token, m.token);
                fill(&mut base.jwks_uri, m.jwks_uri);
                fill(&mut base.revocation, m.revocation);
                fill(&mut base.introspection, m.introspection);
                fill(&mut base.userinfo, m.userinfo);
                base.read_from.extend(m.read_from);
                if base.dpop_algs.is_none() {
                    base.dpop_algs = m.dpop_algs;
                }
                base
            }
        });
    }
    match (merged, first_error) {
        (Some(m), _) => Ok(m),
        (None, Some(e)) => Err(e),
        (None, None) => Err(Error::Protocol(format!(
            "no discovery document for issuer {issuer}"
        ))),
    }
}

/// Why a response is not a metadata document, or `None` when it is one.
fn not_a_document(response: &OAuthResponse) -> Option<String> {
    if (300..400).contains(&response.status) {
        Some(format!(
            "redirected to {} (not followed)",
            response.location.as_deref().unwrap_or("(no Location)")
        ))
    } else if !(200..300).contains(&response.status) {
        Some(format!("answered {}", response.describe()))
    } else if response.fields().is_none() {
        Some(format!("is not JSON ({})", response.describe()))
    } else {
        None
    }
}

/// Checks one metadata document against the issuer it was fetched for.
fn parse_document(issuer: &Url, response: &OAuthResponse) -> Result<Metadata, Error> {
    let at = &response.url;
    if let Some(problem) = not_a_document(response) {
        return Err(Error::Protocol(format!("{at} {problem}")));
    }
    let named = response
        .str_field("issuer")
        .ok_or_else(|| Error::Protocol(format!("the discovery document at {at} has no issuer")))?;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer must be identical. A trailing slash is
    // the one difference tolerated, because users type issuers both ways.
    if named.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(Error::Protocol(format!(
            "the discovery document at {at} names issuer {named}, not {issuer}; they must match"
        )));
    }
    let url_field = |name: &str| -> Result<Option<Url>, Error> {
        match response.str_field(name) {
            None => Ok(None),
            Some(text) => Url::parse(&text).map(Some).map_err(|_| {
                Error::Protocol(format!(
                    "the discovery document at {at} has an invalid {name}: {text}"
                ))
            }),
        }
    };
    Ok(Metadata {
        issuer: named,
        device_authorization: url_field("device_authorization_endpoint")?,
        token: url_field("token_endpoint")?,
        jwks_uri: url_field("jwks_uri")?,
        revocation: url_field("revocation_endpoint")?,
        introspection: url_field("introspection_endpoint")?,
        userinfo: url_field("userinfo_endpoint")?,
        dpop_algs: response
            .fields()
            .and_then(|f| f.get("dpop_signing_alg_values_supported"))
            .and_then(serde_json::Value::as_array)
            .map(|algs| {
                algs.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
        read_from: vec![at.clone()],
    })
}

/// Checks a single metadata document against the issuer it was fetched for, and requires
/// the endpoints a login needs.
pub fn parse(issuer: &Url, response: &OAuthResponse) -> Result<Endpoints, Error> {
    let m = parse_document(issuer, response)?;
    if m.token.is_none() {
        return Err(Error::Protocol(format!(
            "the discovery document at {} has no token_endpoint",
            response.url
        )));
    }
    m.endpoints(Explicit::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::normalize::tests::raw;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn well_known_locations() {
        let [a, b] = well_known_urls(&url("https://login.example.com/realms/demo/"));
        assert_eq!(
            a.as_str(),
            "https://login.example.com/realms/demo/.well-known/openid-configuration"
        );
        assert_eq!(
            b.as_str(),
            "https://login.example.com/.well-known/oauth-authorization-server/realms/demo"
        );
        let [a, b] = well_known_urls(&url("https://idp.example"));
        assert_eq!(
            a.as_str(),
            "https://idp.example/.well-known/openid-configuration"
        );
        assert_eq!(
            b.as_str(),
            "https://idp.example/.well-known/oauth-authorization-server"
        );
    }

    fn doc(body: &str) -> OAuthResponse {
        OAuthResponse::from_raw(&raw(200, Some("application/json"), body))
    }

    fn at(url: &str, status: u16, body: &str) -> OAuthResponse {
        let mut raw = raw(status, Some("application/json"), body);
        raw.url = Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        OAuthResponse::from_raw(&raw)
    }

    /// RFC 8414 §5: both documents are read; the OpenID one wins where both name a field,
    /// the other fills what it lacks; a document that is not one, or names another issuer,
    /// is left out when the other one stands.
    #[test]
    fn both_metadata_documents_are_merged() {
        let issuer = url("https://idp.example");
        let oidc = "https://idp.example/.well-known/openid-configuration";
        let oauth = "https://idp.example/.well-known/oauth-authorization-server";
        let dot_openid = r#"{"issuer":"https://idp.example","token_endpoint":"https://idp.example/o/token/",
            "jwks_uri":"https://idp.example/o/jwks/","userinfo_endpoint":"https://idp.example/o/userinfo/"}"#;
        let dot_rfc8414 = r#"{"issuer":"https://idp.example","token_endpoint":"https://idp.example/other/",
            "revocation_endpoint":"https://idp.example/o/revoke_token/",
            "introspection_endpoint":"https://idp.example/o/introspect/"}"#;
        let other_issuer = r#"{"issuer":"https://evil.example","introspection_endpoint":"https://evil.example/i"}"#;
        type Row<'a> = (
            (u16, &'a str),
            Option<(u16, &'a str)>,
            Result<[Option<&'a str>; 4], &'a str>,
        );
        // Rows: OpenID answer, RFC 8414 answer (None: not fetched) → token, jwks,
        // revocation, introspection; or the error's words.
        let table: Vec<Row<'_>> = vec![
            (
                (200, dot_openid),
                Some((200, dot_rfc8414)),
                Ok([
                    Some("https://idp.example/o/token/"),
                    Some("https://idp.example/o/jwks/"),
                    Some("https://idp.example/o/revoke_token/"),
                    Some("https://idp.example/o/introspect/"),
                ]),
            ),
            (
                (404, r#"{"error":"not_found"}"#),
                Some((200, dot_rfc8414)),
                Ok([
                    Some("https://idp.example/other/"),
                    None,
                    Some("https://idp.example/o/revoke_token/"),
                    Some("https://idp.example/o/introspect/"),
                ]),
            ),
            (
                (200, dot_openid),
                Some((404, "")),
                Ok([
                    Some("https://idp.example/o/token/"),
                    Some("https://idp.example/o/jwks/"),
                    None,
                    None,
                ]),
            ),
            (
                (200, dot_openid),
                None,
                Ok([
                    Some("https://idp.example/o/token/"),
                    Some("https://idp.example/o/jwks/"),
                    None,
                    None,
                ]),
            ),
            (
                (200, dot_openid),
                Some((200, other_issuer)),
                Ok([
                    Some("https://idp.example/o/token/"),
                    Some("https://idp.example/o/jwks/"),
                    None,
                    None,
                ]),
            ),
            (
                (200, other_issuer),
                Some((404, "")),
                Err("names issuer https://evil.example"),
            ),
            ((404, ""), Some((500, "")), Err("no discovery document")),
            (
                (
                    200,
                    r#"{"issuer":"https://idp.example","jwks_uri":"not a url"}"#,
                ),
                None,
                Err("invalid jwks_uri"),
            ),
        ];
        for (first, second, want) in table {
            let first_doc = at(oidc, first.0, first.1);
            let second_doc = second.map(|(status, body)| at(oauth, status, body));
            let got = merge(&issuer, &first_doc, second_doc.as_ref());
            let shown = |u: &Option<Url>| u.as_ref().map(Url::to_string);
            match (got, want) {
                (Ok(m), Ok(urls)) => {
                    let have = [
                        shown(&m.token),
                        shown(&m.jwks_uri),
                        shown(&m.revocation),
                        shown(&m.introspection),
                    ];
                    let want = urls.map(|u| u.map(str::to_owned));
                    assert_eq!(have, want, "{first:?} {second:?}");
                }
                (Err(e), Err(words)) => {
                    assert!(e.to_string().contains(words), "{first:?} {second:?}: {e}");
                }
                (got, want) => panic!("{first:?} {second:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    /// Each explicit endpoint replaces its discovered value on its own; the device and
    /// token endpoints must be known one way or the other.
    #[test]
    fn explicit_endpoints_replace_discovered_ones_one_by_one() {
        let discovered = Metadata {
            issuer: "https://idp.example".into(),
            device_authorization: None,
            token: Some(url("https://idp.example/token")),
            jwks_uri: Some(url("https://idp.example/jwks")),
            revocation: None,
            introspection: Some(url("https://idp.example/introspect")),
            userinfo: None,
            read_from: vec!["https://idp.example/.well-known/openid-configuration".into()],
            dpop_algs: None,
        };
        let device = url("https://idp.example/device");
        let token = url("https://other.example/token");
        let revoke = url("https://idp.example/revoke");
        let missing = discovered.endpoints(Explicit::default()).err();
        assert!(
            missing
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
                .contains("pass --device-authorization-endpoint URL"),
            "{missing:?}"
        );
        assert_eq!(missing.map(|e| e.exit().code()), Some(2));
        let only_device = discovered
            .endpoints(Explicit {
                device_authorization: Some(&device),
                ..Explicit::default()
            })
            .expect("the device endpoint alone completes the metadata");
        assert_eq!(only_device.device_authorization, device);
        assert_eq!(only_device.token.as_str(), "https://idp.example/token");
        assert_eq!(only_device.jwks_uri, discovered.jwks_uri);
        let more = discovered
            .endpoints(Explicit {
                device_authorization: Some(&device),
                token: Some(&token),
                revocation: Some(&revoke),
                ..Explicit::default()
            })
            .expect("explicit endpoints");
        assert_eq!(more.token, token);
        assert_eq!(more.revocation, Some(revoke));
        assert_eq!(more.introspection, discovered.introspection);
        assert_eq!(more.issuer.as_deref(), Some("https://idp.example"));
    }

    #[test]
    fn parses_and_checks() {
        let issuer = url("https://idp.example/");
        let ok = parse(
            &issuer,
            &doc(r#"{"issuer":"https://idp.example","token_endpoint":"https://idp.example/t",
                    "device_authorization_endpoint":"https://idp.example/d","jwks_uri":"https://idp.example/k"}"#),
        )
        .expect("a valid discovery document");
        assert_eq!(ok.token.as_str(), "https://idp.example/t");
        assert_eq!(ok.revocation, None);

        let table = [
            (
                r#"{"issuer":"https://evil.example","token_endpoint":"https://x/t","device_authorization_endpoint":"https://x/d"}"#,
                "names issuer https://evil.example",
            ),
            (
                r#"{"issuer":"https://idp.example","device_authorization_endpoint":"https://x/d"}"#,
                "no token_endpoint",
            ),
            (
                r#"{"issuer":"https://idp.example","token_endpoint":"https://x/t"}"#,
                "does not advertise a device_authorization_endpoint",
            ),
            (
                r#"{"issuer":"https://idp.example","token_endpoint":"not a url","device_authorization_endpoint":"https://x/d"}"#,
                "invalid token_endpoint",
            ),
            (r#"{"token_endpoint":"https://x/t"}"#, "has no issuer"),
            ("<html>login page</html>", "not JSON"),
        ];
        for (body, want) in table {
            let err = parse(&issuer, &doc(body))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(want), "{body}: {err}");
        }
        let missing_device = parse(&issuer, &doc(table[2].0)).err();
        assert_eq!(missing_device.map(|e| e.exit().code()), Some(2));
    }
}
