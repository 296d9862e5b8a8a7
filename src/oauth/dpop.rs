//! DPoP (RFC 9449): the session's key pair, the proof JWTs signed with it, and the server
//! nonces remembered per origin.
//!
//! - [`DpopKey`]: one asymmetric key pair per login (ES256 on P-256 by default, Ed25519 when
//!   the server lists EdDSA/Ed25519 but not ES256), generated with aws-lc-rs. Its stored form
//!   ([`DpopKey::to_stored`]) is the PKCS#8 private key and lives with the refresh token; its
//!   `Debug` shows the algorithm and the thumbprint (`jkt`, RFC 7638) only.
//! - [`DpopKey::proof`]: a `dpop+jwt` with the public `jwk`, a random `jti`, `htm`, `htu`
//!   (the URL without query and fragment, §4.2), `iat` from the caller's clock, `ath`
//!   (§4.2: base64url SHA-256 of the access token) for resource requests and `nonce` when the
//!   server gave one.
//! - [`Nonces`]: the last `DPoP-Nonce` each origin sent (§8, §9). Servers send the header when
//!   the nonce changes, so it is kept and sent on every later request to that origin; the
//!   authorization server and each resource server have their own.
//! - [`Dpop`]: a key and its nonces, shared by every request of one session.
//!
//! A `use_dpop_nonce` answer (400 with that OAuth error at an authorization server, 401 with
//! `WWW-Authenticate: DPoP error="use_dpop_nonce"` at a resource server) is retried once at
//! once with the new nonce; [`is_nonce_challenge`] recognises both forms.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use url::Url;

use super::http::{BasicAuth, Http, HttpError, RawResponse};
use crate::clock::UnixTime;
use crate::secret::Secret;

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";

/// The response header that carries a server nonce (RFC 9449 §8.1).
pub const NONCE_HEADER: &str = "dpop-nonce";

/// The OAuth error that asks for a nonce (RFC 9449 §8).
pub const USE_NONCE: &str = "use_dpop_nonce";

/// A signing algorithm tvlogin's proofs can use. Never `none`, never HMAC: a proof must be
/// verifiable with the public key it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopAlg {
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4): the default, and what every DPoP server
    /// accepts.
    Es256,
    /// Ed25519 under the name `EdDSA` (RFC 8037).
    EdDsa,
    /// Ed25519 under its fully specified name `Ed25519` (RFC 9864), for servers that list
    /// only that name.
    Ed25519,
}

impl DpopAlg {
    /// The JWS `alg` value.
    pub fn name(self) -> &'static str {
        match self {
            DpopAlg::Es256 => "ES256",
            DpopAlg::EdDsa => "EdDSA",
            DpopAlg::Ed25519 => "Ed25519",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(DpopAlg::Es256),
            "EdDSA" => Some(DpopAlg::EdDsa),
            "Ed25519" => Some(DpopAlg::Ed25519),
            _ => None,
        }
    }
}

/// Picks the proof algorithm from the server's `dpop_signing_alg_values_supported`: ES256
/// when listed (or when the server lists nothing), else EdDSA, else Ed25519. A server that
/// lists none of them (RS256 only, say) cannot take tvlogin's proofs: the error says which
/// it accepts.
pub fn choose_alg(supported: Option<&[String]>) -> Result<DpopAlg, String> {
    let Some(listed) = supported.filter(|l| !l.is_empty()) else {
        return Ok(DpopAlg::Es256);
    };
    [DpopAlg::Es256, DpopAlg::EdDsa, DpopAlg::Ed25519]
        .into_iter()
        .find(|alg| listed.iter().any(|l| l == alg.name()))
        .ok_or_else(|| {
            format!(
                "the server accepts DPoP proofs signed with {} only; tvlogin signs them with \
                 ES256 or Ed25519",
                listed.join(", ")
            )
        })
}

/// Why a key could not be made, read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DPoP key: {0}")]
pub struct KeyError(pub String);

/// The signing half. ES256 signs with p256's deterministic (RFC 6979) nonces rather than
/// aws-lc's, whose random source costs tens of milliseconds to seed on first use in a process
/// (see Cargo.toml); Ed25519 is deterministic in aws-lc already.
enum Signer {
    Ec(Box<p256::ecdsa::SigningKey>),
    Ed(Ed25519KeyPair),
}

/// A DPoP key pair. The private half never leaves it except as [`DpopKey::to_stored`] (for
/// the token store); `Debug` shows the algorithm and the thumbprint.
#[derive(Clone)]
pub struct DpopKey {
    alg: DpopAlg,
    pkcs8: Secret<Vec<u8>>,
    signer: Arc<Signer>,
    jwk: Value,
    jkt: String,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.alg.name())
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

impl PartialEq for DpopKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.pkcs8.secret() == other.pkcs8.secret()
    }
}

impl Eq for DpopKey {}

/// The stored form: the algorithm and the PKCS#8 private key.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredKey {
    alg: String,
    pkcs8: String,
}

impl DpopKey {
    /// A new key pair for `alg`, from the system's random source.
    pub fn generate(alg: DpopAlg) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let fail = |_| KeyError("the system could not generate a key pair".into());
        let pkcs8 = match alg {
            DpopAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(fail)?
                .as_ref()
                .to_vec(),
            DpopAlg::EdDsa | DpopAlg::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(fail)?
                .as_ref()
                .to_vec(),
        };
        Self::from_pkcs8(alg, pkcs8)
    }

    fn from_pkcs8(alg: DpopAlg, pkcs8: Vec<u8>) -> Result<Self, KeyError> {
        let bad = |e: aws_lc_rs::error::KeyRejected| KeyError(format!("unreadable key ({e})"));
        let (signer, jwk) = match alg {
            DpopAlg::Es256 => {
                use p256::pkcs8::DecodePrivateKey as _;
                let pair = p256::ecdsa::SigningKey::from_pkcs8_der(&pkcs8)
                    .map_err(|e| KeyError(format!("unreadable key ({e})")))?;
                // An uncompressed point: 0x04, then x and y, 32 bytes each.
                let encoded = pair.verifying_key().to_encoded_point(false);
                let point = encoded.as_bytes();
                if point.len() != 65 || point[0] != 4 {
                    return Err(KeyError("not an uncompressed P-256 point".into()));
                }
                let jwk = json!({
                    "crv": "P-256",
                    "kty": "EC",
                    "x": B64.encode(&point[1..33]),
                    "y": B64.encode(&point[33..65]),
                });
                (Signer::Ec(Box::new(pair)), jwk)
            }
            DpopAlg::EdDsa | DpopAlg::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(bad)?;
                let jwk = json!({
                    "crv": "Ed25519",
                    "kty": "OKP",
                    "x": B64.encode(pair.public_key().as_ref()),
                });
                (Signer::Ed(pair), jwk)
            }
        };
        let jkt = thumbprint(&jwk);
        Ok(Self {
            alg,
            pkcs8: Secret::new(pkcs8),
            signer: Arc::new(signer),
            jwk,
            jkt,
        })
    }

    /// Reads the form [`DpopKey::to_stored`] wrote.
    pub fn from_stored(text: &str) -> Result<Self, KeyError> {
        let stored: StoredKey = serde_json::from_str(text)
            .map_err(|e| KeyError(format!("the stored key is damaged ({e})")))?;
        let alg = DpopAlg::from_name(&stored.alg)
            .ok_or_else(|| KeyError(format!("unknown algorithm {:?}", stored.alg)))?;
        let pkcs8 = B64
            .decode(stored.pkcs8.as_bytes())
            .map_err(|e| KeyError(format!("the stored key is damaged ({e})")))?;
        Self::from_pkcs8(alg, pkcs8)
    }

    /// The stored form: secret (it holds the private key), for the token store only.
    pub fn to_stored(&self) -> Secret<String> {
        let stored = StoredKey {
            alg: self.alg.name().to_owned(),
            pkcs8: B64.encode(self.pkcs8.secret()),
        };
        Secret::new(serde_json::to_string(&stored).unwrap_or_default())
    }

    /// The signing algorithm.
    pub fn alg(&self) -> DpopAlg {
        self.alg
    }

    /// The public key as a JWK (no private parts).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The RFC 7638 thumbprint of the public key (`jkt`, as in `cnf.jkt`).
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A proof for one request at `now`.
    pub fn proof(&self, request: &ProofRequest<'_>, now: UnixTime) -> Result<String, KeyError> {
        let header = json!({"typ": PROOF_TYP, "alg": self.alg.name(), "jwk": self.jwk});
        let mut claims = json!({
            "jti": new_jti()?,
            "htm": request.method.to_ascii_uppercase(),
            "htu": htu(request.url),
            "iat": now.secs(),
        });
        if let Some(at) = request.access_token {
            claims["ath"] = Value::from(ath(at));
        }
        if let Some(nonce) = request.nonce {
            claims["nonce"] = Value::from(nonce);
        }
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = match self.signer.as_ref() {
            Signer::Ec(pair) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = pair.sign(signing_input.as_bytes());
                // JWS ES256: r and s, 32 bytes each (RFC 7518 §3.4).
                signature.to_bytes().to_vec()
            }
            Signer::Ed(pair) => pair.sign(signing_input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!("{signing_input}.{}", B64.encode(signature)))
    }
}

/// What one proof is for.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The HTTP method (`htm`).
    pub method: &'a str,
    /// The request URL; `htu` is it without query and fragment.
    pub url: &'a Url,
    /// The access token sent with the request, at a resource server (`ath`).
    pub access_token: Option<&'a str>,
    /// The server's nonce, when one is known.
    pub nonce: Option<&'a str>,
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = if jwk["kty"] == "EC" {
        &["crv", "kty", "x", "y"]
    } else {
        &["crv", "kty", "x"]
    };
    // serde_json's map keeps keys sorted, and these are the only members: the canonical form.
    let canonical: serde_json::Map<String, Value> = members
        .iter()
        .map(|m| ((*m).to_owned(), jwk[*m].clone()))
        .collect();
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        Value::Object(canonical).to_string().as_bytes(),
    );
    B64.encode(digest.as_ref())
}

/// The `htu` of a request (RFC 9449 §4.2): its URL without query and fragment (and without
/// user information, which has no place in a claim a server may log).
pub fn htu(url: &Url) -> String {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.to_string()
}

/// The `ath` of an access token (RFC 9449 §4.2): base64url of its SHA-256.
pub fn ath(access_token: &str) -> String {
    B64.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes()).as_ref(),
    )
}

/// A fresh `jti`: 128 random bits from the operating system, base64url.
fn new_jti() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| KeyError(format!("the system's random source failed ({e})")))?;
    Ok(B64.encode(bytes))
}

/// The latest nonce each server origin gave (RFC 9449 §8–9).
#[derive(Debug, Default)]
pub struct Nonces {
    by_origin: Mutex<HashMap<String, String>>,
}

impl Nonces {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.by_origin.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The nonce to send to `url`'s origin.
    pub fn get(&self, url: &Url) -> Option<String> {
        self.map().get(&url.origin().ascii_serialization()).cloned()
    }

    /// Keeps the `DPoP-Nonce` an answer carried, replacing the one kept for its origin.
    /// Returns whether the answer carried one.
    pub fn remember(&self, response: &RawResponse) -> bool {
        match response
            .headers
            .get(NONCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(nonce) => {
                self.map().insert(
                    response.url.origin().ascii_serialization(),
                    nonce.to_owned(),
                );
                true
            }
            None => false,
        }
    }
}

/// Whether an answer asks for a (new) nonce: 400 `use_dpop_nonce` from an authorization server
/// (RFC 9449 §8) or 401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"` from a resource
/// server (§9).
pub fn is_nonce_challenge(response: &RawResponse) -> bool {
    match response.status {
        400 => serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|e| e == USE_NONCE),
        401 => challenge_error(response).as_deref() == Some(USE_NONCE),
        _ => false,
    }
}

/// The `error` of a 401's `WWW-Authenticate: DPoP …` or `Bearer …` challenge.
pub fn challenge_error(response: &RawResponse) -> Option<String> {
    response
        .headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pos = v.find("error=")?;
            let rest = v[pos + "error=".len()..].trim_start_matches('"');
            let end = rest
                .find(|c: char| c == '"' || c == ',' || c.is_whitespace())
                .unwrap_or(rest.len());
            Some(rest[..end].to_owned())
        })
}

/// A session's key with the nonces its servers gave: what every request of a DPoP session
/// signs with. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Dpop {
    key: Arc<DpopKey>,
    nonces: Arc<Nonces>,
}

impl Dpop {
    /// Proofs from `key`, with no nonce known yet.
    pub fn new(key: DpopKey) -> Self {
        Self {
            key: Arc::new(key),
            nonces: Arc::default(),
        }
    }

    /// The key.
    pub fn key(&self) -> &DpopKey {
        &self.key
    }

    /// The nonces kept so far.
    pub fn nonces(&self) -> &Nonces {
        &self.nonces
    }

    /// The `DPoP` header value for `method url` now, with the nonce kept for its origin and
    /// `ath` when an access token goes with it. Reads the wall clock: call it just before
    /// sending.
    pub fn header(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
    ) -> Result<String, KeyError> {
        let nonce = self.nonces.get(url);
        self.key.proof(
            &ProofRequest {
                method,
                url,
                access_token,
                nonce: nonce.as_deref(),
            },
            UnixTime::now(),
        )
    }
}

/// POSTs a form to an authorization server with a proof from `dpop` when there is one, and
/// keeps the nonce the answer carries. With `retry_nonce`, a `use_dpop_nonce` answer is
/// retried once at once with the new nonce (the device authorization request and refresh;
/// the poller decides that for polls itself, see `poll`).
pub async fn post_form(
    http: &Http,
    dpop: Option<&Dpop>,
    url: &Url,
    form: &[(&str, &str)],
    basic: Option<BasicAuth<'_>>,
    retry_nonce: bool,
) -> Result<RawResponse, HttpError> {
    let Some(dpop) = dpop else {
        return http.post_form(url, form, basic).await;
    };
    let proof = |dpop: &Dpop| {
        dpop.header("POST", url, None)
            .map(|p| vec![("DPoP", p)])
            .map_err(|e| HttpError::Transport {
                url: url.to_string(),
                detail: e.to_string(),
            })
    };
    let raw = http.post_form_with(url, form, basic, &proof(dpop)?).await?;
    let fresh = dpop.nonces().remember(&raw);
    if retry_nonce && fresh && is_nonce_challenge(&raw) {
        let again = http.post_form_with(url, form, basic, &proof(dpop)?).await?;
        dpop.nonces().remember(&again);
        return Ok(again);
    }
    Ok(raw)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Splits a compact JWS into its decoded header and claims.
    pub(crate) fn decode(jwt: &str) -> (Value, Value) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let part = |s: &str| -> Value {
            serde_json::from_slice(&B64.decode(s).unwrap_or_default()).unwrap_or(Value::Null)
        };
        (part(parts[0]), part(parts[1]))
    }

    /// Verifies a proof with the public key in its own header, with jsonwebtoken (not the
    /// code under test): the independent verifier.
    pub(crate) fn verify_independently(jwt: &str) -> Result<Value, String> {
        use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode_header, jwk::Jwk};
        let header = decode_header(jwt).map_err(|e| e.to_string())?;
        let (raw_header, _) = decode(jwt);
        let jwk: Jwk =
            serde_json::from_value(raw_header["jwk"].clone()).map_err(|e| format!("jwk: {e}"))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        let alg = match header.alg {
            Algorithm::ES256 => Algorithm::ES256,
            Algorithm::EdDSA => Algorithm::EdDSA,
            other => return Err(format!("unexpected alg {other:?}")),
        };
        let mut validation = Validation::new(alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data =
            jsonwebtoken::decode::<Value>(jwt, &key, &validation).map_err(|e| e.to_string())?;
        Ok(data.claims)
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn proof_claims_table() {
        let key = DpopKey::generate(DpopAlg::Es256).expect("a key");
        let now = UnixTime::from_secs(1_800_000_000);
        let token_url = url("https://as.example/token");
        let api_url = url("https://api.example/v1/me?x=1#frag");
        let table: [(ProofRequest<'_>, Value); 3] = [
            (
                ProofRequest {
                    method: "post",
                    url: &token_url,
                    access_token: None,
                    nonce: None,
                },
                json!({"htm": "POST", "htu": "https://as.example/token", "iat": 1_800_000_000}),
            ),
            (
                ProofRequest {
                    method: "POST",
                    url: &token_url,
                    access_token: None,
                    nonce: Some("n-1"),
                },
                json!({"htm": "POST", "htu": "https://as.example/token", "nonce": "n-1"}),
            ),
            (
                ProofRequest {
                    method: "GET",
                    url: &api_url,
                    access_token: Some("at-123"),
                    nonce: None,
                },
                json!({"htm": "GET", "htu": "https://api.example/v1/me",
                       "ath": ath("at-123")}),
            ),
        ];
        for (request, want) in table {
            let proof = key.proof(&request, now).expect("a proof");
            let (header, claims) = decode(&proof);
            assert_eq!(header["typ"], "dpop+jwt");
            assert_eq!(header["alg"], "ES256");
            assert_eq!(header["jwk"], *key.jwk());
            assert!(
                header["jwk"].get("d").is_none(),
                "no private part: {header}"
            );
            assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));
            assert_eq!(claims["iat"], 1_800_000_000);
            for (name, value) in want.as_object().into_iter().flatten() {
                assert_eq!(&claims[name], value, "{name} in {claims}");
            }
            assert_eq!(claims.get("ath").is_some(), request.access_token.is_some());
            assert_eq!(claims.get("nonce").is_some(), request.nonce.is_some());
        }
    }

    #[test]
    fn htu_normalisation_table() {
        let table = [
            ("https://as.example/token", "https://as.example/token"),
            ("https://as.example/token?a=b", "https://as.example/token"),
            ("https://as.example/token#f", "https://as.example/token"),
            (
                "https://AS.Example:443/token?q#f",
                "https://as.example/token",
            ),
            ("http://127.0.0.1:8080/t/x?y", "http://127.0.0.1:8080/t/x"),
            ("https://user:pw@as.example/p", "https://as.example/p"),
            ("https://as.example", "https://as.example/"),
        ];
        for (given, want) in table {
            assert_eq!(htu(&url(given)), want, "{given}");
        }
    }

    #[test]
    fn ath_is_base64url_sha256() {
        // RFC 9449 §7.1's example: the token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        assert!(!ath("x").contains(['+', '/', '=']));
    }

    #[test]
    fn algorithm_choice() {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        type Row = (Option<Vec<String>>, Result<DpopAlg, ()>);
        let table: [Row; 7] = [
            (None, Ok(DpopAlg::Es256)),
            (Some(list(&["RS256", "ES256"])), Ok(DpopAlg::Es256)),
            (
                Some(list(&["ES256", "Ed25519", "EdDSA"])),
                Ok(DpopAlg::Es256),
            ),
            (Some(list(&["Ed25519", "EdDSA"])), Ok(DpopAlg::EdDsa)),
            (Some(list(&["Ed25519"])), Ok(DpopAlg::Ed25519)),
            (Some(list(&["RS256", "PS256"])), Err(())),
            (Some(list(&["none", "HS256"])), Err(())),
        ];
        for (given, want) in table {
            assert_eq!(
                choose_alg(given.as_deref()).map_err(|_| ()),
                want,
                "{given:?}"
            );
        }
    }

    #[test]
    fn many_proofs_verify_independently_and_never_share_a_jti() {
        let mut seen = std::collections::HashSet::new();
        for alg in [DpopAlg::Es256, DpopAlg::EdDsa] {
            let key = DpopKey::generate(alg).expect("a key");
            let again = DpopKey::from_stored(key.to_stored().secret()).expect("read back");
            assert_eq!(again.jkt(), key.jkt());
            for i in 0..200u32 {
                let target = url(&format!("https://rs{}.example/p/{i}?q={i}", i % 7));
                let signer = if i % 2 == 0 { &key } else { &again };
                let token = format!("token-{i}");
                let proof = signer
                    .proof(
                        &ProofRequest {
                            method: ["GET", "POST", "DELETE"][(i % 3) as usize],
                            url: &target,
                            access_token: (i % 4 == 0).then_some(token.as_str()),
                            nonce: (i % 5 == 0).then_some("nonce"),
                        },
                        UnixTime::from_secs(1_700_000_000 + i64::from(i)),
                    )
                    .expect("a proof");
                let claims = verify_independently(&proof)
                    .unwrap_or_else(|e| panic!("proof {i} ({alg:?}) does not verify: {e}"));
                assert_eq!(claims["htu"], htu(&target));
                let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
                assert!(seen.insert(jti), "jti repeated at proof {i}");
            }
        }
        // A proof altered after signing does not verify: the verifier is not a formality.
        let key = DpopKey::generate(DpopAlg::Es256).expect("a key");
        let target = url("https://as.example/token");
        let proof = key
            .proof(
                &ProofRequest {
                    method: "POST",
                    url: &target,
                    access_token: None,
                    nonce: None,
                },
                UnixTime::from_secs(1),
            )
            .expect("a proof");
        let parts: Vec<&str> = proof.split('.').collect();
        let forged_claims = B64.encode(r#"{"htm":"GET","htu":"https://evil/","iat":1,"jti":"x"}"#);
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert!(verify_independently(&forged).is_err());
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1 uses an RSA key; RFC 9449's §6.1 an EC one. Check the EC rule with a
        // key whose members are fixed: the canonical JSON order and the encoding.
        let jwk = json!({"kty":"EC","crv":"P-256",
            "x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"});
        assert_eq!(
            thumbprint(&jwk),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn debug_and_jwk_never_show_the_private_key() {
        let key = DpopKey::generate(DpopAlg::Es256).expect("a key");
        let stored = key.to_stored();
        let pkcs8 = serde_json::from_str::<Value>(stored.secret()).expect("json")["pkcs8"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let shown = format!("{key:?} {:?}", Dpop::new(key.clone()));
        assert!(!shown.contains(&pkcs8[..20]), "{shown}");
        assert!(shown.contains(key.jkt()), "{shown}");
        assert!(!key.jwk().to_string().contains(&pkcs8[..20]));
        assert!(DpopKey::from_stored("{\"alg\":\"ES256\",\"pkcs8\":\"AAAA\"}").is_err());
        assert!(DpopKey::from_stored("not json").is_err());
    }

    fn raw_with(status: u16, headers: &[(&str, &str)], body: &str) -> RawResponse {
        let mut map = http::HeaderMap::new();
        for (n, v) in headers {
            map.append(
                http::header::HeaderName::from_bytes(n.as_bytes()).expect("name"),
                http::HeaderValue::from_str(v).expect("value"),
            );
        }
        RawResponse {
            url: url("https://as.example/token"),
            status,
            headers: map,
            body: body.as_bytes().to_vec(),
            received: UnixTime::from_secs(0),
        }
    }

    #[test]
    fn nonce_challenges_and_memory_per_origin() {
        let table = [
            (
                400,
                vec![("dpop-nonce", "n1")],
                r#"{"error":"use_dpop_nonce"}"#,
                true,
            ),
            (400, vec![], r#"{"error":"invalid_grant"}"#, false),
            (
                401,
                vec![(
                    "www-authenticate",
                    r#"DPoP error="use_dpop_nonce", error_description="x""#,
                )],
                "",
                true,
            ),
            (
                401,
                vec![("www-authenticate", r#"DPoP error="invalid_token""#)],
                "",
                false,
            ),
            (200, vec![("dpop-nonce", "n2")], "{}", false),
        ];
        for (status, headers, body, want) in table {
            assert_eq!(
                is_nonce_challenge(&raw_with(status, &headers, body)),
                want,
                "{status} {headers:?} {body}"
            );
        }
        let nonces = Nonces::default();
        let as_url = url("https://as.example/device");
        let rs_url = url("https://api.example/x");
        assert!(nonces.remember(&raw_with(400, &[("DPoP-Nonce", "first")], "")));
        assert_eq!(nonces.get(&as_url).as_deref(), Some("first"));
        assert_eq!(nonces.get(&rs_url), None, "each origin has its own");
        // An answer without the header keeps the nonce; a new one replaces it.
        assert!(!nonces.remember(&raw_with(200, &[], "")));
        assert_eq!(nonces.get(&as_url).as_deref(), Some("first"));
        assert!(nonces.remember(&raw_with(200, &[("dpop-nonce", "second")], "")));
        assert_eq!(nonces.get(&as_url).as_deref(), Some("second"));
    }
}
