//! Authorization server metadata: OpenID Connect Discovery 1.0, then RFC 8414.

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

/// Fetches and checks the metadata for `issuer`. The RFC 8414 location is tried only when
/// the OpenID one holds no document; a document that answers is authoritative, so its
/// problems (no device endpoint, another issuer) are reported as they are.
pub async fn discover(http: &Http, issuer: &Url) -> Result<Endpoints, Error> {
    let [openid, rfc8414] = well_known_urls(issuer);
    let first = OAuthResponse::from_raw(&http.get(&openid).await?);
    if let Some(problem) = not_a_document(&first) {
        let second = OAuthResponse::from_raw(&http.get(&rfc8414).await?);
        if let Some(second_problem) = not_a_document(&second) {
            return Err(Error::Protocol(format!(
                "no discovery document for issuer {issuer}: {openid} {problem}; {rfc8414} {second_problem}"
            )));
        }
        return parse(issuer, &second);
    }
    parse(issuer, &first)
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

/// Checks a metadata document against the issuer it was fetched for.
pub fn parse(issuer: &Url, response: &OAuthResponse) -> Result<Endpoints, Error> {
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
    let token = url_field("token_endpoint")?.ok_or_else(|| {
        Error::Protocol(format!(
            "the discovery document at {at} has no token_endpoint"
        ))
    })?;
    let device_authorization = url_field("device_authorization_endpoint")?.ok_or_else(|| {
        Error::Usage(format!(
            "the provider at {issuer} does not advertise a device_authorization_endpoint, so it \
             may not support the device flow; if it does, pass --device-authorization-endpoint URL"
        ))
    })?;
    Ok(Endpoints {
        issuer: Some(named),
        device_authorization,
        token,
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
    })
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
