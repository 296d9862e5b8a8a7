//! Checking a JWS: the signature against keys the user chose (a JWKS, or an HMAC secret), then
//! `iss`, `aud`, `exp`, `nbf` and `iat`. Every check ends as passed, failed (why) or not
//! checked (why); nothing here does IO, so it is table-tested. Fetching keys lives in
//! [`super::remote`].
//!
//! Rules (research/crates.md §1.9): the algorithm comes from a fixed allowlist and must fit
//! the key; the token's header alone never picks it. `alg: none` is never verified. A key
//! from a JWKS is never used as an HMAC secret (the classic RS256→HS256 confusion), and keys
//! embedded in the token (`jwk`, `jku`, `x5u`, `x5c`) are never used. JOSE is read strictly:
//! `alg` must be a registered name spelled exactly (RFC 7515 §4.1.1: case-sensitive), a
//! `crit` header naming extensions tvlogin does not understand makes the token invalid
//! (RFC 7515 §4.1.11), and so do registered header parameters and claims of the wrong JSON
//! type (a `kid` that is a number, a `sub` that is an object) and a `b64` that `crit` does not
//! list (RFC 7797 §6): what another verifier would reject is never called verified here.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::jwt::Jws;
use super::time::{numeric_date, relative};
use crate::clock::UnixTime;
use crate::secret::Secret;

/// Clock skew forgiven by default for `nbf` and `iat` in the future, in seconds: a token the
/// issuer stamped a little ahead of this machine's clock is not a risk. `exp` gets no default
/// leeway: an expired token is reported expired unless the user asks (`--leeway SECS`).
pub const CLOCK_SKEW: i64 = 60;

/// How much clock skew the time checks forgive, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leeway {
    /// Seconds after `exp` that still pass.
    pub exp: i64,
    /// Seconds `nbf` and `iat` may lie in the future.
    pub future: i64,
}

impl Default for Leeway {
    /// No leeway for `exp`, [`CLOCK_SKEW`] for `nbf`/`iat`.
    fn default() -> Self {
        Self {
            exp: 0,
            future: CLOCK_SKEW,
        }
    }
}

impl Leeway {
    /// `--leeway SECS`: the same leeway for every time check.
    pub fn uniform(secs: i64) -> Self {
        let secs = secs.max(0);
        Self {
            exp: secs,
            future: secs,
        }
    }
}

/// JWS algorithm names registered with IANA (RFC 7518, RFC 8037, RFC 8812, fully-specified
/// EdDSA): a name that differs from one of these only in case or padding is a forgery attempt
/// or a broken issuer, never a spelling to be forgiven.
const REGISTERED: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
    "PS384", "PS512", "none", "EdDSA", "ES256K", "Ed25519", "Ed448",
];

/// Header parameters whose meaning tvlogin understands (none of them changes how the payload
/// is processed, so `crit` may never list them either: RFC 7515 §4.1.11).
const UNDERSTOOD_CRITICAL: &[&str] = &[];

/// The algorithms tvlogin verifies. Anything else (ES512, none, unknown) is shown, not checked.
pub const ALLOWED: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
];

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check ran and the token passed it.
    Passed(String),
    /// The check ran and the token failed it.
    Failed(String),
    /// The check could not run.
    NotChecked(String),
}

impl Outcome {
    /// `passed`, `failed` or `not_checked` (the `--json` spelling).
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed(_) => "passed",
            Outcome::Failed(_) => "failed",
            Outcome::NotChecked(_) => "not_checked",
        }
    }

    /// The explanation.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Passed(d) | Outcome::Failed(d) | Outcome::NotChecked(d) => d,
        }
    }
}

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `signature`, `claims`, `exp`, `nbf`, `iat`, `iss`, `aud`, `active`.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// An HMAC secret, read from an environment variable. Never printed (`HmacSecret([redacted])`).
#[derive(Debug, Clone)]
pub struct HmacSecret(Secret<Vec<u8>>);

impl HmacSecret {
    /// Wraps a secret, refusing ones that are public keys: a public key is public, so using
    /// it as an HMAC secret lets anyone mint tokens (algorithm confusion).
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        let text = String::from_utf8_lossy(&bytes);
        let t = text.trim_start();
        if t.starts_with("-----BEGIN") || (t.starts_with('{') && t.contains("\"kty\"")) {
            return Err(
                "the HMAC secret looks like a public key (PEM or JWK); a public key is never \
                 used as an HMAC secret, since anyone could then sign tokens"
                    .into(),
            );
        }
        if bytes.is_empty() {
            return Err("the HMAC secret is empty".into());
        }
        Ok(Self(Secret::new(bytes)))
    }
}

/// What the signature check needs from the caller before it can finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStep {
    /// Finished.
    Done(Outcome),
    /// The JWKS has no key with this `kid`: refetch it (once) and call again.
    UnknownKid(String),
}

/// The keys a signature can be checked with.
#[derive(Debug, Clone, Default)]
pub struct Keys<'a> {
    /// The issuer's public keys, and where they came from (for messages).
    pub jwks: Option<(&'a JwkSet, &'a str)>,
    /// A shared secret for HS256/384/512.
    pub secret: Option<&'a HmacSecret>,
    /// One public key in DER (from a PEM file given as `--jwks`), and where it came from.
    pub pem: Option<(&'a [u8], &'a str)>,
}

/// Checks the signature of `jws` with `keys`. `refetched` says the JWKS was already fetched
/// again for an unknown `kid`, so a second miss is final.
pub fn signature(jws: &Jws, keys: &Keys<'_>, refetched: bool) -> SignatureStep {
    use Outcome::*;
    use SignatureStep::Done;
    if let Err(why) = header_rules(jws) {
        return Done(Failed(why));
    }
    let alg_name = match algorithm(jws) {
        Ok(AlgName::Allowed(name)) => name,
        Ok(AlgName::Unsupported(name)) => {
            return Done(NotChecked(format!(
                "{name} is a registered algorithm tvlogin does not verify (it checks {})",
                ALLOWED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Err(why) => return Done(Failed(why)),
    };
    let Some(&(_, alg)) = ALLOWED.iter().find(|(n, _)| *n == alg_name) else {
        return Done(Failed(format!("{alg_name} is not on the allowlist")));
    };
    let hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    if hmac {
        let public_keys = keys.jwks.is_some() || keys.pem.is_some();
        return match (keys.secret, public_keys) {
            (Some(secret), _) => Done(
                match verify_with(jws, &DecodingKey::from_secret(secret.0.secret()), alg) {
                    Ok(()) => Passed(format!("{alg_name} with the shared secret")),
                    Err(e) => Failed(format!("{alg_name} with the shared secret: {e}")),
                },
            ),
            (None, true) => Done(Failed(confusion(alg_name))),
            (None, false) => Done(NotChecked(format!(
                "{alg_name} uses a shared secret: name the environment variable holding it \
                 with --secret-env VAR"
            ))),
        };
    }
    if let Some((der, origin)) = keys.pem {
        // aws-lc reads SubjectPublicKeyInfo and PKCS#1 DER; a key of the wrong type or
        // curve simply fails to verify.
        let key = match alg {
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_der(der),
            Algorithm::EdDSA => DecodingKey::from_ed_der(der),
            _ => DecodingKey::from_rsa_der(der),
        };
        return Done(match verify_with(jws, &key, alg) {
            Ok(()) => Passed(format!("{alg_name} with the public key in {origin}")),
            Err(e) => Failed(format!("{alg_name} with the public key in {origin}: {e}")),
        });
    }
    let Some((set, origin)) = keys.jwks else {
        return Done(NotChecked(format!(
            "no public keys: pass {} to check {alg_name}",
            issuer_hint(&jws.claims, "or --jwks FILE|URL")
        )));
    };
    let candidates: Vec<&Jwk> = match jws.kid() {
        Some(kid) => {
            let found: Vec<&Jwk> = set
                .keys
                .iter()
                .filter(|k| k.common.key_id.as_deref() == Some(kid))
                .collect();
            if found.is_empty() {
                return if refetched {
                    Done(Failed(format!(
                        "no key with kid {kid} in the JWKS from {origin}"
                    )))
                } else {
                    SignatureStep::UnknownKid(kid.to_owned())
                };
            }
            found
        }
        None => set.keys.iter().collect(),
    };
    let fitting: Vec<&Jwk> = candidates
        .iter()
        .copied()
        .filter(|k| key_fits(k, alg))
        .collect();
    if fitting.is_empty() {
        let what = match jws.kid() {
            Some(kid) => format!("the key with kid {kid} ({})", key_kind(candidates[0])),
            None => "no key in the JWKS".to_owned(),
        };
        return Done(Failed(format!(
            "{what} from {origin} cannot verify {alg_name}"
        )));
    }
    let mut last = String::new();
    for key in &fitting {
        let label = key
            .common
            .key_id
            .as_deref()
            .map(|k| format!("key {k}"))
            .unwrap_or_else(|| "a key without kid".into());
        let decoding = match DecodingKey::from_jwk(key) {
            Ok(d) => d,
            Err(e) => {
                last = format!("{label} from {origin} is unusable: {e}");
                continue;
            }
        };
        match verify_with(jws, &decoding, alg) {
            Ok(()) => return Done(Passed(format!("{alg_name} with {label} from {origin}"))),
            Err(e) => last = format!("{alg_name} with {label} from {origin}: {e}"),
        }
    }
    Done(Failed(last))
}

/// What an HMAC token checked against public keys is: an algorithm-confusion forgery.
pub fn confusion(alg_name: &str) -> String {
    format!(
        "algorithm confusion: {alg_name} is an HMAC algorithm but the keys given are public \
         keys; a public key is never used as an HMAC secret, since anyone could then sign tokens"
    )
}

/// How a header's `alg` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgName {
    /// Exactly a name on [`ALLOWED`].
    Allowed(&'static str),
    /// Exactly a registered name tvlogin does not verify (ES512, ES256K, Ed448, …).
    Unsupported(&'static str),
}

/// Reads `alg` strictly: a string equal to a registered name. `none` (in any spelling) is
/// refused, as is any near miss (`rs256`, `RS256 `, `RS256\u0000`, ``): names are
/// case-sensitive and exact (RFC 7515 §4.1.1). An unknown name cannot be checked either, so
/// it is refused as well rather than reported as merely unchecked.
pub fn algorithm(jws: &Jws) -> Result<AlgName, String> {
    let alg = match jws.header.get("alg") {
        None => return Err("the header has no alg".into()),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("alg is not a string but {}", kind_of(other))),
    };
    if alg.trim().eq_ignore_ascii_case("none") {
        return Err(
            "alg none: the token is unsigned, and unsigned tokens are never accepted".into(),
        );
    }
    if let Some(&(name, _)) = ALLOWED.iter().find(|(n, _)| *n == alg) {
        return Ok(AlgName::Allowed(name));
    }
    if let Some(&name) = REGISTERED.iter().find(|n| **n == alg) {
        return Ok(AlgName::Unsupported(name));
    }
    let squeezed: String = alg
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if let Some(name) = REGISTERED
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&squeezed))
    {
        return Err(format!(
            "alg {alg:?} is not {name}: algorithm names are case-sensitive and exact (RFC 7515 \
             §4.1.1)"
        ));
    }
    if alg.is_empty() {
        return Err("alg is empty".into());
    }
    Err(format!(
        "alg {alg:?} is not a registered JWS algorithm, so no signature can be checked"
    ))
}

/// The registered header parameters whose value must be a string, and where that is said.
const STRING_HEADERS: &[(&str, &str)] = &[
    ("kid", "RFC 7515 §4.1.4"),
    ("typ", "RFC 7515 §4.1.9"),
    ("cty", "RFC 7515 §4.1.10"),
    ("jku", "RFC 7515 §4.1.2"),
    ("x5u", "RFC 7515 §4.1.5"),
    ("x5t", "RFC 7515 §4.1.7"),
    ("x5t#S256", "RFC 7515 §4.1.8"),
];

/// Header rules that hold whatever the keys. A registered header parameter of the wrong JSON
/// type makes the token invalid (a `kid` that is a number or null is no key id: a verifier
/// that skipped it would try every key), as does a `crit` list that is malformed or names
/// extensions tvlogin does not understand (RFC 7515 §4.1.11), and a `b64` that `crit` does not
/// list (RFC 7797 §6: a token relying on it otherwise is malformed).
pub fn header_rules(jws: &Jws) -> Result<(), String> {
    header_types(&jws.header)?;
    let crit = jws.header.get("crit");
    if jws.header.contains_key("b64")
        && !crit
            .and_then(Value::as_array)
            .is_some_and(|names| names.iter().any(|n| n == "b64"))
    {
        return Err(
            "the header has b64 but crit does not list it; RFC 7797 §6 requires b64 to be \
             listed in crit, so the token is malformed"
                .into(),
        );
    }
    let Some(crit) = crit else {
        return Ok(());
    };
    let names: Vec<&str> = match crit {
        Value::Array(items) if !items.is_empty() => {
            let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if names.len() != items.len() {
                return Err("crit must be a list of header parameter names".into());
            }
            names
        }
        _ => return Err("crit must be a non-empty list of header parameter names".into()),
    };
    let unknown: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !UNDERSTOOD_CRITICAL.contains(n))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the header marks {} as critical (crit) and tvlogin does not understand {}; RFC 7515 \
         §4.1.11 says such a token must be rejected",
        unknown.join(", "),
        if unknown.len() == 1 { "it" } else { "them" }
    ))
}

/// The JSON types of the registered header parameters (RFC 7515 §4.1, RFC 7797 §3); `alg`
/// and `crit` are read by their own rules.
fn header_types(header: &Map<String, Value>) -> Result<(), String> {
    for (name, spec) in STRING_HEADERS {
        if let Some(v) = header.get(*name)
            && !v.is_string()
        {
            return Err(format!(
                "the header's {name} is {}, not a string ({spec})",
                kind_of(v)
            ));
        }
    }
    if let Some(v) = header.get("jwk")
        && !v.is_object()
    {
        return Err(format!(
            "the header's jwk is {}, not a JSON Web Key object (RFC 7515 §4.1.3)",
            kind_of(v)
        ));
    }
    if let Some(v) = header.get("x5c")
        && !v
            .as_array()
            .is_some_and(|certs| !certs.is_empty() && certs.iter().all(Value::is_string))
    {
        return Err(
            "the header's x5c is not a non-empty list of base64 certificates (RFC 7515 §4.1.6)"
                .into(),
        );
    }
    if let Some(v) = header.get("b64")
        && !v.is_boolean()
    {
        return Err(format!(
            "the header's b64 is {}, not true or false (RFC 7797 §3)",
            kind_of(v)
        ));
    }
    Ok(())
}

/// The registered claims whose value must be a string (StringOrURI or a plain string).
const STRING_CLAIMS: &[(&str, &str)] = &[
    ("iss", "a StringOrURI (RFC 7519 §4.1.1)"),
    ("sub", "a StringOrURI (RFC 7519 §4.1.2)"),
    ("jti", "a string (RFC 7519 §4.1.7)"),
];

/// The registered claims of the wrong JSON type: `iss`, `sub` and `jti` not strings, `aud`
/// neither a string nor a list of strings (RFC 7519 §4.1). A failed check named `claims`,
/// present only when one is wrong (a passing row would say nothing the claims table does not
/// show); `exp`, `nbf` and `iat` that are not numbers fail their own checks ([`claims`]).
pub fn claim_types(claims: &Map<String, Value>) -> Option<Check> {
    let wrong = STRING_CLAIMS
        .iter()
        .find_map(|(name, want)| {
            let v = claims.get(*name)?;
            (!v.is_string()).then(|| format!("{name} is {}, not {want}", kind_of(v)))
        })
        .or_else(|| {
            let aud = claims.get("aud")?;
            let fine = match aud {
                Value::String(_) => true,
                Value::Array(items) => items.iter().all(Value::is_string),
                _ => false,
            };
            (!fine).then(|| {
                format!(
                    "aud is {}, not a StringOrURI or a list of them (RFC 7519 §4.1.3)",
                    match aud {
                        Value::Array(_) => "a list holding something other than strings",
                        other => kind_of(other),
                    }
                )
            })
        })?;
    Some(Check {
        name: "claims",
        outcome: Outcome::Failed(format!("a registered claim has the wrong type: {wrong}")),
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Whether `key` may verify `alg`: `use` is not `enc`, its own `alg` (when given) is the
/// same, and its type fits (JWKS from Microsoft Entra omit `alg`, so `kty`/`crv` decide).
/// `oct` keys from a JWKS never qualify.
fn key_fits(key: &Jwk, alg: Algorithm) -> bool {
    if matches!(key.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return false;
    }
    if let Some(own) = key.common.key_algorithm
        && Algorithm::try_from(own).ok() != Some(alg)
    {
        return false;
    }
    match &key.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(ec) => matches!(
            (&ec.curve, alg),
            (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384)
        ),
        AlgorithmParameters::OctetKeyPair(okp) => {
            okp.curve == EllipticCurve::Ed25519 && alg == Algorithm::EdDSA
        }
        _ => false,
    }
}

fn key_kind(key: &Jwk) -> String {
    match &key.algorithm {
        AlgorithmParameters::RSA(_) => "an RSA key".into(),
        AlgorithmParameters::EllipticCurve(ec) => format!("an EC {:?} key", ec.curve),
        AlgorithmParameters::OctetKeyPair(_) => "an OKP key".into(),
        AlgorithmParameters::OctetKey(_) => "a symmetric (oct) key".into(),
        _ => "a key of unknown type".into(),
    }
}

/// The signature only: claim checks are done by [`claims`], with reasons of our own. The
/// header and claims were decoded, and held to the JOSE rules, before this runs, and `alg` is
/// the header's (allowlisted) algorithm; what is left is the signature over the segments as
/// they were sent. (`jsonwebtoken::decode` would decode the header twice and the claims
/// twice more; `inspect` is benchmarked.) The key's type must suit `alg`, or it is refused.
fn verify_with(jws: &Jws, key: &DecodingKey, alg: Algorithm) -> Result<(), String> {
    let [header, payload, signature] = &jws.segments;
    let signed = format!("{header}.{payload}");
    match jsonwebtoken::crypto::verify(signature, signed.as_bytes(), key, alg) {
        Ok(true) => Ok(()),
        Ok(false) => Err(
            "the signature does not match (the token was altered, or signed by another key)".into(),
        ),
        Err(e) => Err(format!("rejected: {e}")),
    }
}

/// What the caller expects of the claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The issuer the token must name (`--issuer`).
    pub issuer: Option<String>,
    /// An audience the token must be for (`--audience`).
    pub audience: Option<String>,
    /// The clock skew the time checks forgive.
    pub leeway: Leeway,
}

/// The time and claim checks, in the order `exp`, `nbf`, `iat`, `iss`, `aud`.
pub fn claims(claims: &Map<String, Value>, expect: &Expect, now: UnixTime) -> Vec<Check> {
    let secs = now.secs();
    use Outcome::*;
    let time = |name: &'static str| -> Result<Option<i64>, Outcome> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => numeric_date(v)
                .map(Some)
                .ok_or_else(|| Failed(format!("{name} is not a number of seconds"))),
        }
    };
    let mut out = Vec::new();
    let leeway = expect.leeway;
    let exp = match time("exp") {
        Err(o) => o,
        Ok(None) => NotChecked("the token has no exp claim: it never expires".into()),
        Ok(Some(exp)) if secs < exp => Passed(format!("expires {}", relative(exp, now))),
        Ok(Some(exp)) if secs < exp + leeway.exp => Passed(format!(
            "expired {}, forgiven by the {}s leeway asked for",
            relative(exp, now),
            leeway.exp
        )),
        Ok(Some(exp)) if secs < exp + CLOCK_SKEW => Failed(format!(
            "expired {} (if the issuer's clock runs behind this one, --leeway {CLOCK_SKEW} \
             forgives up to a minute)",
            relative(exp, now)
        )),
        Ok(Some(exp)) => Failed(format!("expired {}", relative(exp, now))),
    };
    out.push(Check {
        name: "exp",
        outcome: exp,
    });
    let nbf = match time("nbf") {
        Err(o) => o,
        Ok(None) => NotChecked("no nbf claim".into()),
        Ok(Some(nbf)) if nbf <= secs => Passed(format!("valid since {}", relative(nbf, now))),
        Ok(Some(nbf)) if nbf <= secs + leeway.future => Passed(format!(
            "valid from {}, within the {}s clock-skew leeway",
            relative(nbf, now),
            leeway.future
        )),
        Ok(Some(nbf)) => Failed(format!("not valid yet: only from {}", relative(nbf, now))),
    };
    out.push(Check {
        name: "nbf",
        outcome: nbf,
    });
    let iat = match time("iat") {
        Err(o) => o,
        Ok(None) => NotChecked("no iat claim".into()),
        Ok(Some(iat)) if iat <= secs + leeway.future => {
            Passed(format!("issued {}", relative(iat, now)))
        }
        Ok(Some(iat)) => Failed(format!(
            "issued in the future ({}): the issuer's clock or the token is wrong",
            relative(iat, now)
        )),
    };
    out.push(Check {
        name: "iat",
        outcome: iat,
    });
    let iss = match (&expect.issuer, claims.get("iss")) {
        (None, _) => NotChecked(format!(
            "no issuer to compare with: pass {}",
            issuer_hint(claims, "")
        )),
        (Some(want), Some(Value::String(got))) if same_issuer(want, got) => {
            Passed(format!("issued by {got}"))
        }
        (Some(want), Some(got)) => Failed(format!("issued by {got}, expected {want}")),
        (Some(want), None) => Failed(format!("the token has no iss claim, expected {want}")),
    };
    out.push(Check {
        name: "iss",
        outcome: iss,
    });
    let aud = match (&expect.audience, claims.get("aud")) {
        (None, _) => NotChecked("no audience to compare with: pass --audience A".into()),
        (Some(want), Some(got)) => {
            let list: Vec<&str> = match got {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if list.contains(&want.as_str()) {
                Passed(format!("for {want}"))
            } else {
                Failed(format!("for {got}, not {want}"))
            }
        }
        (Some(want), None) => Failed(format!("the token has no aud claim, expected {want}")),
    };
    out.push(Check {
        name: "aud",
        outcome: aud,
    });
    out
}

/// Issuers are compared exactly, except for one trailing slash (users type both).
/// `--issuer URL` as a hint to act on: the token's own `iss` when it is an http(s) URL (the
/// usual case), with `also` after it; a generic `--issuer URL` otherwise.
pub fn issuer_hint(claims: &Map<String, Value>, also: &str) -> String {
    let own = claims
        .get("iss")
        .and_then(Value::as_str)
        .filter(|iss| iss.len() <= 512)
        .and_then(|iss| url::Url::parse(iss).ok().map(|_| iss))
        .filter(|iss| iss.starts_with("https://") || iss.starts_with("http://"));
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" {also}")
    };
    match own {
        Some(iss) => format!("--issuer {iss} (the token's own iss){also}"),
        None => format!("--issuer URL{also}"),
    }
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Whether a signature or time check failed (the token is invalid: exit 6).
pub fn any_failed(checks: &[Check]) -> bool {
    checks
        .iter()
        .any(|c| matches!(c.outcome, Outcome::Failed(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn time_and_claim_checks() {
        let secs = 1_000_000;
        let now = UnixTime::from_secs(secs);
        let expect = Expect {
            issuer: Some("https://idp.example/".into()),
            audience: Some("api".into()),
            ..Expect::default()
        };
        let c = map(json!({"exp": secs + 10, "nbf": secs - 5, "iat": secs - 5,
            "iss": "https://idp.example", "aud": ["web", "api"]}));
        let checks = claims(&c, &expect, now);
        assert!(
            checks.iter().all(|c| c.outcome.label() == "passed"),
            "{checks:?}"
        );

        let table: [(Value, &str, &str); 7] = [
            (json!({"exp": secs - 61}), "exp", "failed"),
            (json!({"exp": secs - 30}), "exp", "failed"),
            (json!({"exp": "soon"}), "exp", "failed"),
            (json!({"nbf": secs + 120}), "nbf", "failed"),
            (json!({"iat": secs + 3600}), "iat", "failed"),
            (json!({"iss": "https://evil.example"}), "iss", "failed"),
            (json!({"aud": "web"}), "aud", "failed"),
        ];
        for (claims_json, name, want) in table {
            let checks = claims(&map(claims_json.clone()), &expect, now);
            let got = checks
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.outcome.label());
            assert_eq!(got, Some(want), "{claims_json}: {checks:?}");
        }
        let none = claims(&Map::new(), &Expect::default(), now);
        assert!(
            none.iter().all(|c| c.outcome.label() == "not_checked"),
            "{none:?}"
        );
        assert!(!any_failed(&none));
    }

    fn jws_with_header(header: Value) -> Jws {
        Jws {
            header: map(header),
            claims: Map::new(),
            signature: Vec::new(),
            segments: [String::new(), String::new(), String::new()],
        }
    }

    /// Registered header parameters of the wrong JSON type, and `b64` outside `crit`, make
    /// the token invalid whatever the keys: the signature check fails before any key is used.
    #[test]
    fn registered_header_parameters_must_have_their_types() {
        let table: Vec<(Value, Option<&str>)> = vec![
            (
                json!({"alg": "RS256", "kid": "k", "typ": "JWT", "cty": "JWT"}),
                None,
            ),
            (
                json!({"alg": "RS256", "kid": 7}),
                Some("kid is a number, not a string (RFC 7515 §4.1.4)"),
            ),
            (
                json!({"alg": "RS256", "kid": null}),
                Some("kid is null, not a string"),
            ),
            (json!({"alg": "RS256", "kid": ["k"]}), Some("kid is a list")),
            (json!({"alg": "RS256", "typ": 1}), Some("typ is a number")),
            (json!({"alg": "RS256", "cty": {}}), Some("cty is an object")),
            (
                json!({"alg": "RS256", "jku": true}),
                Some("jku is a boolean"),
            ),
            (json!({"alg": "RS256", "x5u": 1}), Some("x5u is a number")),
            (json!({"alg": "RS256", "x5t": null}), Some("x5t is null")),
            (
                json!({"alg": "RS256", "x5t#S256": 1}),
                Some("x5t#S256 is a number"),
            ),
            (json!({"alg": "RS256", "jwk": "k"}), Some("jwk is a string")),
            (
                json!({"alg": "RS256", "x5c": "MIIB"}),
                Some("x5c is not a non-empty list"),
            ),
            (
                json!({"alg": "RS256", "x5c": []}),
                Some("x5c is not a non-empty list"),
            ),
            (
                json!({"alg": "RS256", "x5c": [1]}),
                Some("x5c is not a non-empty list"),
            ),
            (
                json!({"alg": "RS256", "b64": false}),
                Some("crit does not list it; RFC 7797 §6"),
            ),
            (
                json!({"alg": "RS256", "b64": true}),
                Some("crit does not list it"),
            ),
            (
                json!({"alg": "RS256", "b64": false, "crit": ["exp"]}),
                Some("crit does not list it"),
            ),
            (
                json!({"alg": "RS256", "b64": "false", "crit": ["b64"]}),
                Some("b64 is a string"),
            ),
            // Listed: well-formed, but an extension tvlogin does not implement.
            (
                json!({"alg": "RS256", "b64": false, "crit": ["b64"]}),
                Some("marks b64 as critical (crit) and tvlogin does not understand it"),
            ),
            (
                json!({"alg": "RS256", "crit": []}),
                Some("crit must be a non-empty list"),
            ),
            (
                json!({"alg": "RS256", "crit": ["b64", 1]}),
                Some("crit must be a list"),
            ),
        ];
        for (header, want) in table {
            let jws = jws_with_header(header.clone());
            let got = header_rules(&jws);
            match want {
                None => assert_eq!(got, Ok(()), "{header}"),
                Some(want) => {
                    let why = got.err().unwrap_or_default();
                    assert!(why.contains(want), "{header}: {why}");
                    // The signature check fails on it, with no keys and with keys alike.
                    let secret = HmacSecret::new(b"k".to_vec()).expect("make a secret");
                    for keys in [
                        Keys::default(),
                        Keys {
                            secret: Some(&secret),
                            ..Keys::default()
                        },
                    ] {
                        assert!(
                            matches!(signature(&jws, &keys, true), SignatureStep::Done(Outcome::Failed(ref w)) if w == &why),
                            "{header}"
                        );
                    }
                }
            }
        }
    }

    /// Registered claims of the wrong JSON type fail a `claims` check (absent when all are
    /// right); time claims that are not numbers fail their own checks.
    #[test]
    fn registered_claims_must_have_their_types() {
        let table: Vec<(Value, Option<&str>)> = vec![
            (json!({}), None),
            (
                json!({"iss": "https://i", "sub": "u", "aud": "a", "jti": "j", "name": 5}),
                None,
            ),
            (json!({"aud": ["a", "b"]}), None),
            (json!({"aud": []}), None),
            (
                json!({"sub": {"id": 1}}),
                Some("sub is an object, not a StringOrURI (RFC 7519 §4.1.2)"),
            ),
            (json!({"sub": 42}), Some("sub is a number")),
            (json!({"sub": null}), Some("sub is null")),
            (
                json!({"iss": ["https://i"]}),
                Some("iss is a list, not a StringOrURI (RFC 7519 §4.1.1)"),
            ),
            (json!({"iss": true}), Some("iss is a boolean")),
            (
                json!({"jti": 7}),
                Some("jti is a number, not a string (RFC 7519 §4.1.7)"),
            ),
            (
                json!({"aud": 5}),
                Some("aud is a number, not a StringOrURI or a list of them"),
            ),
            (json!({"aud": {"a": 1}}), Some("aud is an object")),
            (
                json!({"aud": ["a", 1]}),
                Some("aud is a list holding something other than strings"),
            ),
        ];
        for (claims_json, want) in table {
            let got = claim_types(&map(claims_json.clone()));
            match want {
                None => assert_eq!(got, None, "{claims_json}"),
                Some(want) => {
                    let check = got.unwrap_or_else(|| panic!("{claims_json}: passed"));
                    assert_eq!(check.name, "claims");
                    assert!(
                        matches!(&check.outcome, Outcome::Failed(w) if w.contains(want)),
                        "{claims_json}: {check:?}"
                    );
                }
            }
        }
        let now = UnixTime::from_secs(1_000_000);
        for name in ["exp", "nbf", "iat"] {
            for bad in [json!("1000100"), json!(null), json!([1]), json!({})] {
                let checks = claims(&map(json!({ name: bad })), &Expect::default(), now);
                let check = checks.iter().find(|c| c.name == name);
                assert!(
                    check.is_some_and(
                        |c| matches!(&c.outcome, Outcome::Failed(w) if w.contains("not a number"))
                    ),
                    "{name}: {bad}: {checks:?}"
                );
            }
        }
    }

    #[test]
    fn secrets_that_are_public_keys_are_refused() {
        assert!(HmacSecret::new(b"-----BEGIN PUBLIC KEY-----\nMIIB".to_vec()).is_err());
        assert!(HmacSecret::new(br#"{"kty":"RSA","n":"x","e":"AQAB"}"#.to_vec()).is_err());
        assert!(HmacSecret::new(Vec::new()).is_err());
        let s = HmacSecret::new(b"hunter2".to_vec()).map(|s| format!("{s:?}"));
        assert_eq!(s.as_deref(), Ok("HmacSecret([redacted])"));
    }
}
