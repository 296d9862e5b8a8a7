//! A seeded property test over mutated tokens: 6,000 tokens derived from correctly signed
//! RS256, ES256, EdDSA and HS256 tokens by random mutations (bit flips, spliced segments,
//! rewritten headers with near-miss `alg`s, `crit`, embedded keys, re-encoded payloads,
//! foreign bytes, truncation, …) go through the whole inspection. Properties:
//! - nothing panics;
//! - the verdict is `verified` only when an independent check (aws-lc-rs directly, with the
//!   one key that signed the original) accepts the exact signature over the exact signing
//!   input, under the exact algorithm name the key was made for;
//! - a token whose registered header parameters or claims have the wrong JSON type (a `kid`
//!   that is a number or null, a `sub` that is an object, …) or that uses `b64` without `crit`
//!   listing it is `invalid`, however well it is signed (the shapes PyJWT rejects);
//! - `verified` does happen (unmutated tokens and mutations outside the signed bytes), so the
//!   property is not vacuous.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
    UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tvlogin::oauth::http::HttpSettings;
use tvlogin::token::remote::{self, Remote};
use tvlogin::token::report::{self, Options};
use tvlogin::token::verdict::Verdict;
use tvlogin::token::verify::HmacSecret;

const CASES: usize = 6_000;
/// Fixed, so a failure reproduces; change it to explore.
const SEED: u64 = 0x7e11_0911_2026_0011;
const HMAC_KEY: &[u8] = b"fuzzing secret, thirty-two bytes";

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Signs a JWS signing input.
type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// One family of keys: how to sign, the public JWK, and the independent verifier.
struct Family {
    alg: &'static str,
    sign: SignFn,
    jwk: Value,
    public: Vec<u8>,
    verifier: Option<&'static dyn VerificationAlgorithm>,
}

impl Family {
    /// The independent oracle: does `sig` verify `input` with this family's key?
    fn truly_verifies(&self, input: &[u8], sig: &[u8]) -> bool {
        match self.verifier {
            Some(alg) => UnparsedPublicKey::new(alg, &self.public)
                .verify(input, sig)
                .is_ok(),
            None => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, HMAC_KEY);
                hmac::verify(&key, input, sig).is_ok()
            }
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn families() -> Vec<Family> {
    let rng = SystemRandom::new();
    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
    let rsa_public = rsa.public_key().as_ref().to_vec();
    let rsa_jwk = json!({"kty": "RSA", "kid": "rsa", "use": "sig",
        "n": b64(rsa.public_key().modulus().big_endian_without_leading_zero()),
        "e": b64(rsa.public_key().exponent().big_endian_without_leading_zero())});
    let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("generate an EC key");
    let p = ec.public_key().as_ref().to_vec();
    let ec_jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec", "x": b64(&p[1..33]), "y": b64(&p[33..65])});
    let ed = Ed25519KeyPair::generate().expect("generate an Ed25519 key");
    let ed_public = ed.public_key().as_ref().to_vec();
    let ed_jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64(&ed_public)});
    vec![
        Family {
            alg: "RS256",
            sign: Box::new(move |input| {
                let mut sig = vec![0u8; rsa.public_modulus_len()];
                rsa.sign(&RSA_PKCS1_SHA256, &rng, input, &mut sig)
                    .expect("sign with RSA");
                sig
            }),
            jwk: rsa_jwk,
            public: rsa_public,
            verifier: Some(&RSA_PKCS1_2048_8192_SHA256),
        },
        Family {
            alg: "ES256",
            sign: Box::new(move |input| {
                ec.sign(&SystemRandom::new(), input)
                    .expect("sign with EC")
                    .as_ref()
                    .to_vec()
            }),
            jwk: ec_jwk,
            public: p,
            verifier: Some(&ECDSA_P256_SHA256_FIXED),
        },
        Family {
            alg: "EdDSA",
            sign: Box::new(move |input| ed.sign(input).as_ref().to_vec()),
            jwk: ed_jwk,
            public: ed_public,
            verifier: Some(&ED25519),
        },
        Family {
            alg: "HS256",
            sign: Box::new(|input| {
                hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, HMAC_KEY), input)
                    .as_ref()
                    .to_vec()
            }),
            jwk: json!({}),
            public: Vec::new(),
            verifier: None,
        },
    ]
}

fn signed(family: &Family, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = (family.sign)(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

const ALGS: &[&str] = &[
    "RS256",
    "rs256",
    "RS256 ",
    " RS256",
    "RS256\u{0}",
    "",
    "none",
    "None",
    "HS256",
    "ES256",
    "EdDSA",
    "eddsa",
    "PS256",
    "ES512",
    "RS512",
    "HS512",
    "XS999",
    "RS256\u{202e}",
];

/// One random mutation of `token` (built from `family`'s correctly signed original).
fn mutate(rng: &mut Rng, token: &str, family: &Family, now: u64) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let decode = |seg: &str| -> Value {
        URL_SAFE_NO_PAD
            .decode(seg)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    };
    let enc = |v: &Value| b64(v.to_string().as_bytes());
    match rng.below(17) {
        // Unchanged, or changed only outside the signed bytes.
        0 => token.to_owned(),
        1 => format!("  Bearer {token}\n"),
        // One character of the compact form replaced.
        2 => {
            let mut bytes = token.as_bytes().to_vec();
            let i = rng.below(bytes.len());
            bytes[i] = *rng.pick(b"AZaz09-_.=+/!~ \x00\xff");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // One bit of the signature flipped.
        3 => {
            let mut sig = URL_SAFE_NO_PAD.decode(s).unwrap_or_default();
            if !sig.is_empty() {
                let i = rng.below(sig.len());
                sig[i] ^= 1 << rng.below(8);
            }
            format!("{h}.{p}.{}", b64(&sig))
        }
        // A rewritten alg, keeping the signature.
        4 => {
            let mut header = decode(h);
            header["alg"] = json!(rng.pick(ALGS));
            format!("{}.{p}.{s}", enc(&header))
        }
        // A rewritten alg, re-signed with the real key (an alg the key was not made for).
        5 => {
            let mut header = decode(h);
            header["alg"] = json!(rng.pick(ALGS));
            signed(family, &header, &decode(p))
        }
        // crit, correctly signed.
        6 => {
            let mut header = decode(h);
            header["crit"] =
                json!(rng.pick(&[json!(["exp"]), json!([]), json!("x"), json!(["b64"])]));
            signed(family, &header, &decode(p))
        }
        // Keys embedded in the header: never used.
        7 => {
            let mut header = decode(h);
            let key = rng.pick(&["jwk", "jku", "x5u", "x5c"]);
            header[*key] = json!({"kty": "oct", "k": "AAAA"});
            header["kid"] = json!("attacker");
            format!("{}.{p}.{s}", enc(&header))
        }
        // Payload swapped for another, signature kept.
        8 => {
            let mut claims = decode(p);
            claims["sub"] = json!("admin");
            format!("{h}.{}.{s}", enc(&claims))
        }
        // Header that is not an object.
        9 => {
            let header = rng.pick(&["[1,2]", "null", "42", "\"RS256\"", "\u{feff}{}"]);
            format!("{}.{p}.{s}", b64(header.as_bytes()))
        }
        // Segments dropped, duplicated or reordered.
        10 => match rng.below(4) {
            0 => format!("{h}.{p}"),
            1 => format!("{h}.{p}.{s}.{s}.{s}"),
            2 => format!("{p}.{h}.{s}"),
            _ => format!("{h}.{p}."),
        },
        // Truncated anywhere.
        11 => token[..rng.below(token.len())].to_owned(),
        // Expired or not yet valid, correctly signed.
        12 => {
            let mut claims = decode(p);
            match rng.below(3) {
                0 => claims["exp"] = json!(now - 1 - rng.below(100) as u64),
                1 => claims["nbf"] = json!(now + 120 + rng.below(1000) as u64),
                _ => claims["iat"] = json!(now + 120 + rng.below(1000) as u64),
            }
            signed(family, &decode(h), &claims)
        }
        // An HS256 token keyed with the public JWK text (algorithm confusion).
        13 => {
            let header = json!({"alg": "HS256", "kid": family.jwk["kid"]});
            let input = format!("{}.{p}", enc(&header));
            let key = hmac::Key::new(hmac::HMAC_SHA256, family.jwk.to_string().as_bytes());
            format!(
                "{input}.{}",
                b64(hmac::sign(&key, input.as_bytes()).as_ref())
            )
        }
        // Foreign characters inserted.
        14 => {
            let mut t = token.to_owned();
            let mut i = rng.below(t.len());
            while !t.is_char_boundary(i) {
                i -= 1;
            }
            t.insert(
                i,
                *rng.pick(&['\u{9b}', '\u{202e}', 'é', ' ', '\t', '=', '.']),
            );
            t
        }
        // Registered header parameters or claims of the wrong JSON type, or b64 outside crit,
        // correctly signed: the shapes another verifier (PyJWT) rejects.
        16 => {
            let (mut header, mut claims) = (decode(h), decode(p));
            match rng.below(10) {
                0 => header["kid"] = json!(rng.below(100)),
                1 => header["kid"] = Value::Null,
                2 => header["b64"] = json!(false),
                3 => header["typ"] = json!(1),
                4 => claims["sub"] = json!({"id": "u1"}),
                5 => claims["iss"] = json!(["https://issuer.example"]),
                6 => claims["aud"] = json!(["api", 7]),
                7 => claims["jti"] = json!(12),
                8 => header["cty"] = json!({}),
                _ => claims["exp"] = json!((now + 3600).to_string()),
            }
            signed(family, &header, &claims)
        }
        // Padding added to a segment.
        15 => format!("{h}=.{p}.{s}"),
        _ => unreachable!("below(17)"),
    }
}

/// Why `token`'s header or claims break the JSON types of RFC 7515 §4.1 and RFC 7519 §4.1, or
/// use `b64` without `crit` listing it (RFC 7797 §6); `None` when they do not, or cannot be
/// read. Written from the RFCs, not from tvlogin's code: such a token must be invalid.
fn wrongly_typed(token: &str) -> Option<String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let object = |seg: &str| -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).ok()?).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    };
    let (header, claims) = (object(parts[0])?, object(parts[1])?);
    let string_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    for name in ["kid", "typ", "cty", "jku", "x5u", "x5t", "x5t#S256"] {
        if header.get(name).is_some_and(|v| !v.is_string()) {
            return Some(format!("header {name} is not a string"));
        }
    }
    if header.get("jwk").is_some_and(|v| !v.is_object()) {
        return Some("header jwk is not an object".into());
    }
    if header.get("x5c").is_some_and(|v| !string_list(v)) {
        return Some("header x5c is not a list of strings".into());
    }
    let crit_lists_b64 = header
        .get("crit")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|n| n == "b64"));
    if header.contains_key("b64") && !crit_lists_b64 {
        return Some("b64 without crit listing it".into());
    }
    for name in ["iss", "sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return Some(format!("claim {name} is not a string"));
        }
    }
    if claims
        .get("aud")
        .is_some_and(|v| !v.is_string() && !string_list(v))
    {
        return Some("claim aud is neither a string nor a list of strings".into());
    }
    for name in ["exp", "nbf", "iat"] {
        if claims.get(name).is_some_and(|v| !v.is_number()) {
            return Some(format!("claim {name} is not a number"));
        }
    }
    None
}

#[tokio::test]
async fn mutated_tokens_are_verified_only_when_truly_signed() {
    tvlogin::install_crypto_provider();
    let families = families();
    let jwks_text = json!({"keys": families.iter().filter(|f| f.verifier.is_some()).map(|f| f.jwk.clone()).collect::<Vec<_>>()}).to_string();
    let jwks = remote::parse_jwks(&jwks_text).expect("parse the JWKS");
    let secret = HmacSecret::new(HMAC_KEY.to_vec()).expect("make the HMAC secret");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut rng = Rng(SEED);
    let mut remote = Remote::lazy(HttpSettings::default());
    let (mut verified, mut invalid, mut unverified) = (0, 0, 0);
    let mut wrongly_typed_cases = 0;
    for case in 0..CASES {
        let family = &families[rng.below(families.len())];
        let mut header = json!({"alg": family.alg, "typ": "JWT"});
        if let Some(kid) = family.jwk.get("kid") {
            header["kid"] = kid.clone();
        }
        let claims = json!({"sub": "u1", "exp": now + 3600, "iat": now - 10});
        let original = signed(family, &header, &claims);
        let token = mutate(&mut rng, &original, family, now);
        // HMAC tokens are checked with the secret, the others with the JWKS file.
        let hs = family.verifier.is_none();
        let options = Options {
            jwks: (!hs).then(|| remote::JwksSource::File {
                set: jwks.clone(),
                origin: "fuzz".into(),
            }),
            secret: hs.then(|| secret.clone()),
            ..Options::default()
        };
        let report = report::inspect(&token, options, &mut remote).await;
        let judgement = report.judgement();
        match judgement.verdict {
            Verdict::Verified => verified += 1,
            Verdict::Invalid => invalid += 1,
            Verdict::Unverified => unverified += 1,
        }
        if let Some(why) = wrongly_typed(tvlogin::token::jwt::clean(&token)) {
            assert_eq!(
                judgement.verdict,
                Verdict::Invalid,
                "case {case}: {why}, yet {judgement:?}: {token:?}"
            );
            wrongly_typed_cases += 1;
        }
        if judgement.verdict == Verdict::Verified {
            let cleaned = tvlogin::token::jwt::clean(&token);
            let parts: Vec<&str> = cleaned.split('.').collect();
            assert_eq!(parts.len(), 3, "case {case}: verified a non-JWS {token:?}");
            let head: Value = URL_SAFE_NO_PAD
                .decode(parts[0])
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null);
            assert_eq!(head["alg"], family.alg, "case {case}: {token:?}");
            assert!(head.get("crit").is_none(), "case {case}: {token:?}");
            let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
            let input = format!("{}.{}", parts[0], parts[1]);
            assert!(
                family.truly_verifies(input.as_bytes(), &sig),
                "case {case}: verified although the signature does not verify: {token:?}"
            );
            // And the time checks held: not expired, not from the future.
            let claims: Value = URL_SAFE_NO_PAD
                .decode(parts[1])
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null);
            let at = |k: &str| claims[k].as_u64();
            assert!(
                at("exp").is_none_or(|e| e > now),
                "case {case}: expired: {token:?}"
            );
            for k in ["nbf", "iat"] {
                assert!(
                    at(k).is_none_or(|t| t <= now + 60),
                    "case {case}: {k}: {token:?}"
                );
            }
            let exit = judgement.exit().code();
            assert_eq!(exit, 0, "case {case}");
        } else {
            assert_eq!(
                judgement.exit().code(),
                6,
                "case {case}: keys were given: {judgement:?}"
            );
        }
    }
    eprintln!("{CASES} cases: {verified} verified, {invalid} invalid, {unverified} unverified");
    assert!(
        verified > CASES / 20,
        "too few verified cases ({verified}): the property is vacuous"
    );
    assert!(invalid > CASES / 2, "{invalid}");
    assert!(
        wrongly_typed_cases > CASES / 40,
        "too few wrongly typed tokens ({wrongly_typed_cases}): that expectation is vacuous"
    );
    assert_eq!(
        remote.jwks_fetches, 0,
        "no key source but the file was used"
    );
}
