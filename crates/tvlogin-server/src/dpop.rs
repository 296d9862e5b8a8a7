//! DPoP (RFC 9449) at the embedded server: proof validation, server nonces, the replay cache,
//! and the answers the RFC prescribes.
//!
//! A proof is checked fully: compact JWS with `typ: dpop+jwt`, an asymmetric `alg` (ES256,
//! EdDSA or Ed25519) matching the public `jwk` in its header (a private key there is refused),
//! a valid signature, `htm` and `htu` (compared without query and fragment) of the request,
//! `iat` within [`IAT_WINDOW`] of the server's clock, a `jti` not seen before (the cache holds
//! at most [`JTI_CAP`] entries for at most twice the window), `ath` at the resource server, and
//! the current (or the previous) server nonce when nonces are required. What it yields is the
//! key's RFC 7638 thumbprint (`jkt`), which the grant and its tokens are bound to.
//!
//! Failures are answered as the RFC says: 400 `invalid_dpop_proof` / `use_dpop_nonce` with a
//! `DPoP-Nonce` header at the authorization server (§7.1, §8), and 401 with `WWW-Authenticate:
//! DPoP error="…"` at the resource server (§7.1, §9).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

use super::random;

/// How far a proof's `iat` may be from the server's clock, either way.
pub const IAT_WINDOW: u64 = 60;

/// The most `jti`s remembered; the oldest are forgotten first (a proof that old is outside
/// the `iat` window anyway once the cache is time-bounded as well).
pub const JTI_CAP: usize = 4096;

/// How long a server nonce is handed out before a new one replaces it (the one before stays
/// accepted, so requests in flight are not refused).
pub const NONCE_LIFETIME: Duration = Duration::from_secs(30);

/// The algorithms accepted, as advertised in `dpop_signing_alg_values_supported`.
pub const ALGS: [&str; 3] = ["ES256", "EdDSA", "Ed25519"];

/// Whether the server takes DPoP proofs, and whether it insists on them. The library's
/// default is off, so that a fixture opts in; `tvlogin serve` and `demo` default to optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DpopMode {
    /// Proofs are ignored and not advertised.
    #[default]
    Off,
    /// Proofs are validated and bind the tokens when sent; requests without one get Bearer
    /// tokens.
    Optional,
    /// Every token request (and device authorization request) must carry a proof.
    Required,
}

impl std::str::FromStr for DpopMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(DpopMode::Off),
            "optional" => Ok(DpopMode::Optional),
            "required" => Ok(DpopMode::Required),
            other => Err(format!(
                "unknown DPoP mode {other:?}: off, optional or required"
            )),
        }
    }
}

/// Why a proof was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProofError {
    /// `invalid_dpop_proof`, with what is wrong.
    Invalid(String),
    /// `use_dpop_nonce`: the proof lacks the current nonce (or carries a stale one).
    UseNonce,
}

/// The server's DPoP memory: the `jti`s seen and the nonces.
#[derive(Debug)]
pub(crate) struct DpopState {
    seen: HashMap<String, u64>,
    order: VecDeque<(u64, String)>,
    nonce: String,
    previous: Option<String>,
    nonce_since: Instant,
}

impl Default for DpopState {
    fn default() -> Self {
        DpopState::new()
    }
}

impl DpopState {
    pub(crate) fn new() -> DpopState {
        DpopState {
            seen: HashMap::new(),
            order: VecDeque::new(),
            nonce: fresh_nonce(),
            previous: None,
            nonce_since: Instant::now(),
        }
    }

    /// The nonce to hand out now, rotated when it has lived [`NONCE_LIFETIME`].
    pub(crate) fn current_nonce(&mut self, now: Instant) -> String {
        if now.saturating_duration_since(self.nonce_since) >= NONCE_LIFETIME {
            self.rotate_nonce(now);
        }
        self.nonce.clone()
    }

    /// Replaces the nonce now (the one before stays accepted).
    pub(crate) fn rotate_nonce(&mut self, now: Instant) {
        let old = std::mem::replace(&mut self.nonce, fresh_nonce());
        self.previous = Some(old);
        self.nonce_since = now;
    }

    /// How many `jti`s are remembered (tests check the bound).
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.seen.len()
    }

    /// Remembers `jti` at `wall`; false when it was seen already.
    fn first_use(&mut self, jti: &str, wall: u64) -> bool {
        // Forget what is older than twice the window (its proof's iat is refused anyway),
        // then the oldest beyond the cap.
        while let Some((at, _)) = self.order.front()
            && (wall.saturating_sub(*at) > 2 * IAT_WINDOW || self.order.len() >= JTI_CAP)
        {
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(jti) {
            return false;
        }
        self.seen.insert(jti.to_owned(), wall);
        self.order.push_back((wall, jti.to_owned()));
        true
    }
}

fn fresh_nonce() -> String {
    random::b64url(16).unwrap_or_else(|_| "nonce-unavailable".into())
}

/// What one request is, for its proof.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect<'a> {
    /// The request's method.
    pub(crate) method: &'a str,
    /// The request's URL as the server is reached (`issuer` + path).
    pub(crate) url: &'a str,
    /// The access token presented (resource requests): the proof's `ath` must match.
    pub(crate) access_token: Option<&'a str>,
    /// Whether the proof must carry the server's nonce.
    pub(crate) require_nonce: bool,
}

/// The `DPoP` header of a request: `None` when there is none, an error when there are several.
pub(crate) fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, ProofError> {
    let mut values = headers.get_all("dpop").iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ProofError::Invalid("more than one DPoP header".into()));
    }
    first
        .map(|v| {
            v.to_str()
                .map_err(|_| ProofError::Invalid("the DPoP header is not text".into()))
        })
        .transpose()
}

/// Validates `proof` for the request described by `expect` at `wall`/`now`; the key's `jkt`.
pub(crate) fn validate(
    state: &mut DpopState,
    proof: &str,
    expect: Expect<'_>,
    wall: u64,
    now: Instant,
) -> Result<String, ProofError> {
    let bad = |why: &str| ProofError::Invalid(why.to_owned());
    let parts: Vec<&str> = proof.trim().split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return Err(bad("not a compact JWS"));
    };
    let decode = |part: &str| -> Result<Value, ProofError> {
        let bytes = B64
            .decode(part.as_bytes())
            .map_err(|_| bad("a part is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| bad("a part is not JSON"))
    };
    let header = decode(h)?;
    let claims = decode(c)?;
    let signature = B64
        .decode(s.as_bytes())
        .map_err(|_| bad("the signature is not base64url"))?;
    if header["typ"] != "dpop+jwt" {
        return Err(bad("typ must be dpop+jwt"));
    }
    let alg = header["alg"].as_str().unwrap_or_default();
    let jwk = &header["jwk"];
    if !jwk.is_object() {
        return Err(bad("no jwk in the header"));
    }
    if jwk.get("d").is_some() {
        return Err(bad("the jwk holds a private key"));
    }
    let signing_input = format!("{h}.{c}");
    let (verifier, public): (&dyn aws_lc_rs::signature::VerificationAlgorithm, _) =
        match (alg, jwk["kty"].as_str(), jwk["crv"].as_str()) {
            ("ES256", Some("EC"), Some("P-256")) => {
                let x = coordinate(jwk, "x")?;
                let y = coordinate(jwk, "y")?;
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (&ECDSA_P256_SHA256_FIXED, point)
            }
            ("EdDSA" | "Ed25519", Some("OKP"), Some("Ed25519")) => {
                (&ED25519, coordinate(jwk, "x")?)
            }
            ("none", _, _) => return Err(bad("alg none is not accepted")),
            (a, _, _) if a.starts_with("HS") => {
                return Err(bad("symmetric algorithms are not accepted"));
            }
            _ => {
                return Err(bad(
                    "alg must be one of ES256, EdDSA, Ed25519, matching the jwk",
                ));
            }
        };
    UnparsedPublicKey::new(verifier, &public)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| bad("the signature does not verify"))?;
    if claims["htm"].as_str() != Some(expect.method) {
        return Err(bad("htm does not match the request's method"));
    }
    let htu = claims["htu"].as_str().unwrap_or_default();
    if bare(htu).is_none() || bare(htu) != bare(expect.url) {
        return Err(bad("htu does not match the request's URL"));
    }
    let Some(iat) = claims["iat"].as_u64() else {
        return Err(bad("no iat"));
    };
    if iat.abs_diff(wall) > IAT_WINDOW {
        // A nonce cures a client's clock (§8): when nonces are in use, ask for one.
        return Err(if expect.require_nonce {
            ProofError::UseNonce
        } else {
            bad("iat is outside the accepted window")
        });
    }
    let jti = claims["jti"].as_str().unwrap_or_default();
    if jti.len() < 8 {
        return Err(bad("jti is missing or too short"));
    }
    if let Some(token) = expect.access_token {
        let want = B64.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            token.as_bytes(),
        ));
        if claims["ath"].as_str() != Some(want.as_str()) {
            return Err(bad("ath does not match the access token"));
        }
    }
    if expect.require_nonce {
        let current = state.current_nonce(now);
        // The current nonce, or the one it replaced (a proof made just before a rotation);
        // no nonce at all is never enough.
        let given = claims["nonce"].as_str();
        let accepted =
            given.is_some_and(|g| g == current.as_str() || state.previous.as_deref() == Some(g));
        if !accepted {
            return Err(ProofError::UseNonce);
        }
    }
    if !state.first_use(jti, wall) {
        return Err(bad("jti was used before (a replayed proof)"));
    }
    jwk.as_object()
        .and_then(thumbprint)
        .ok_or_else(|| bad("the jwk has no thumbprint"))
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert(
            (*m).to_owned(),
            Value::String(jwk.get(*m)?.as_str()?.into()),
        );
    }
    // serde_json's Map is ordered by key, and these values need no escaping choices.
    let text = Value::Object(canonical).to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    Some(B64.encode(digest.as_ref()))
}

fn coordinate(jwk: &Value, name: &str) -> Result<Vec<u8>, ProofError> {
    jwk[name]
        .as_str()
        .and_then(|v| B64.decode(v.as_bytes()).ok())
        .ok_or_else(|| ProofError::Invalid(format!("jwk {name} is missing or not base64url")))
}

/// A URL without query and fragment, normalised by the URL parser (scheme and host case,
/// default ports), for comparing `htu`.
fn bare(text: &str) -> Option<String> {
    let mut url = url::Url::parse(text).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// The authorization server's answer to a refused proof (RFC 9449 §7.1, §8): 400 with the
/// OAuth error, and the nonce to use when one is asked for.
pub(crate) fn as_refusal(error: &ProofError, nonce: Option<String>) -> Response {
    let (code, description) = match error {
        ProofError::Invalid(why) => ("invalid_dpop_proof", why.as_str()),
        ProofError::UseNonce => (
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        ),
    };
    let mut response = (
        StatusCode::BAD_REQUEST,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({"error": code, "error_description": description}).to_string(),
    )
        .into_response();
    with_nonce(&mut response, nonce);
    response
}

/// The resource server's 401 (RFC 9449 §7.1, §9): `WWW-Authenticate: DPoP error="…"`.
pub(crate) fn rs_refusal(code: &str, description: &str, nonce: Option<String>) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CACHE_CONTROL, "no-store")],
        "",
    )
        .into_response();
    let challenge = format!(
        "DPoP algs=\"{}\", error=\"{code}\", error_description=\"{description}\"",
        ALGS.join(" ")
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    with_nonce(&mut response, nonce);
    response
}

/// Adds a `DPoP-Nonce` header.
pub(crate) fn with_nonce(response: &mut Response, nonce: Option<String>) {
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("dpop-nonce", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jti_cache_is_bounded_in_size_and_time() {
        let mut state = DpopState::new();
        for i in 0..(JTI_CAP + 100) {
            assert!(state.first_use(&format!("jti-{i}"), 1000));
        }
        assert!(state.remembered() <= JTI_CAP, "{}", state.remembered());
        assert!(!state.first_use(&format!("jti-{}", JTI_CAP + 99), 1000));
        // Past twice the window, everything older is forgotten.
        assert!(state.first_use("late", 1000 + 2 * IAT_WINDOW + 1));
        assert_eq!(state.remembered(), 1);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("off".parse(), Ok(DpopMode::Off));
        assert_eq!("required".parse(), Ok(DpopMode::Required));
        assert!("sometimes".parse::<DpopMode>().is_err());
    }

    #[test]
    fn malformed_proofs_are_invalid() {
        let mut state = DpopState::new();
        let expect = Expect {
            method: "POST",
            url: "http://127.0.0.1:1/token",
            access_token: None,
            require_nonce: false,
        };
        let none_alg = format!(
            "{}.{}.",
            B64.encode(r#"{"typ":"dpop+jwt","alg":"none","jwk":{"kty":"EC"}}"#),
            B64.encode(r#"{"htm":"POST"}"#)
        );
        for proof in ["", "a.b", "a.b.c", none_alg.as_str()] {
            assert!(
                matches!(
                    validate(&mut state, proof, expect, 0, Instant::now()),
                    Err(ProofError::Invalid(_))
                ),
                "{proof}"
            );
        }
    }

    /// An Ed25519 proof of `claims` (the simplest key to make here).
    fn ed25519_proof(claims: &Value) -> String {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let key = Ed25519KeyPair::generate().expect("an Ed25519 key");
        let x = B64.encode(key.public_key().as_ref());
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(signature.as_ref()))
    }

    /// With nonces required, a proof that carries none is told `use_dpop_nonce`, before the
    /// first rotation too (it once passed while no earlier nonce existed), and one that
    /// carries the current nonce passes.
    #[test]
    fn a_proof_without_the_nonce_is_asked_for_it() {
        let mut state = DpopState::new();
        let now = Instant::now();
        let wall = 1_000_000;
        let expect = Expect {
            method: "POST",
            url: "http://127.0.0.1:1/token",
            access_token: None,
            require_nonce: true,
        };
        let claims = |jti: &str, nonce: Option<String>| {
            let mut c =
                json!({"htm": "POST", "htu": "http://127.0.0.1:1/token", "iat": wall, "jti": jti});
            if let Some(n) = nonce {
                c["nonce"] = json!(n);
            }
            c
        };
        let bare = ed25519_proof(&claims("jti-bare-1", None));
        assert!(matches!(
            validate(&mut state, &bare, expect, wall, now),
            Err(ProofError::UseNonce)
        ));
        let wrong = ed25519_proof(&claims("jti-wrong-1", Some("not-the-nonce".into())));
        assert!(matches!(
            validate(&mut state, &wrong, expect, wall, now),
            Err(ProofError::UseNonce)
        ));
        let current = state.current_nonce(now);
        let good = ed25519_proof(&claims("jti-good-1", Some(current)));
        assert!(validate(&mut state, &good, expect, wall, now).is_ok());
    }
}
