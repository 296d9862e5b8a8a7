//! `tvlogin inspect`: verification tables with keys generated here, the one-refetch rule for
//! unknown key ids, `alg: none`, escaping of hostile claims, and end to end against the
//! embedded server.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaEncoding, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Canned, Home, canned, server};
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tvlogin::oauth::http::{Http, HttpSettings};
use tvlogin::token::jwt::{self, Decoded, Jws};
use tvlogin::token::remote::{self, JwksSource, Remote};
use tvlogin::token::report::Report;
use tvlogin::token::verify::{self, HmacSecret, Keys, Outcome, SignatureStep};

const HMAC_SECRET: &[u8] = b"a shared secret of thirty-two bytes!";

/// A key that signs one algorithm, and its public JWK.
enum Signer {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding, &'static str),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac,
}

impl Signer {
    fn new(alg: &str) -> Signer {
        fn ok<T>(e: aws_lc_rs::error::Unspecified) -> T {
            panic!("keygen: {e:?}")
        }
        match alg {
            "RS256" => Signer::Rsa(
                RsaKeyPair::generate(KeySize::Rsa2048).unwrap_or_else(ok),
                &RSA_PKCS1_SHA256,
                "RS256",
            ),
            "PS256" => Signer::Rsa(
                RsaKeyPair::generate(KeySize::Rsa2048).unwrap_or_else(ok),
                &RSA_PSS_SHA256,
                "PS256",
            ),
            "ES256" => Signer::Ec(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap_or_else(ok),
            ),
            "EdDSA" => Signer::Ed(Ed25519KeyPair::generate().unwrap_or_else(ok)),
            _ => Signer::Hmac,
        }
    }

    fn alg(&self) -> &'static str {
        match self {
            Signer::Rsa(_, _, alg) => alg,
            Signer::Ec(_) => "ES256",
            Signer::Ed(_) => "EdDSA",
            Signer::Hmac => "HS256",
        }
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(key, enc, _) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(*enc, &rng, input, &mut sig)
                    .expect("sign with the RSA key");
                sig
            }
            Signer::Ec(key) => key
                .sign(&rng, input)
                .expect("sign with the EC key")
                .as_ref()
                .to_vec(),
            Signer::Ed(key) => key.sign(input).as_ref().to_vec(),
            Signer::Hmac => hmac(HMAC_SECRET, input),
        }
    }

    /// The public JWK (`kid` "k1"); HMAC keys have none.
    fn jwk(&self, with_alg: bool) -> Value {
        let b = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = match self {
            Signer::Rsa(key, _, _) => {
                let public = key.public_key();
                json!({"kty": "RSA",
                    "n": b(public.modulus().big_endian_without_leading_zero()),
                    "e": b(public.exponent().big_endian_without_leading_zero())})
            }
            Signer::Ec(key) => {
                let p = key.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])})
            }
            Signer::Ed(key) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b(key.public_key().as_ref())})
            }
            Signer::Hmac => json!({}),
        };
        jwk["kid"] = json!("k1");
        jwk["use"] = json!("sig");
        if with_alg {
            jwk["alg"] = json!(self.alg());
        }
        jwk
    }

    fn token(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = json!({"alg": self.alg(), "typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        sign_with(&header, claims, |input| self.sign(input))
    }
}

fn hmac(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
}

fn sign_with(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn jws(token: &str) -> Jws {
    match jwt::decode(token) {
        Decoded::Jws(j) => j,
        other => panic!("not a JWS: {other:?}"),
    }
}

fn jwks(keys: Vec<Value>) -> JwkSet {
    remote::parse_jwks(&json!({ "keys": keys }).to_string()).expect("parse the JWKS")
}

fn check(token: &str, set: Option<&JwkSet>, secret: Option<&HmacSecret>) -> Outcome {
    let keys = Keys {
        jwks: set.map(|s| (s, "test")),
        secret,
        pem: None,
    };
    match verify::signature(&jws(token), &keys, true) {
        SignatureStep::Done(o) => o,
        SignatureStep::UnknownKid(kid) => panic!("unknown kid {kid}"),
    }
}

fn tamper_payload(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let evil = URL_SAFE_NO_PAD.encode(json!({"sub": "admin", "exp": 4_000_000_000u64}).to_string());
    format!("{}.{evil}.{}", parts[0], parts[2])
}

fn tamper_signature(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .expect("decode the signature");
    sig[5] ^= 0x01;
    format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig))
}

#[test]
fn verification_table() {
    tvlogin::install_crypto_provider();
    let secret = HmacSecret::new(HMAC_SECRET.to_vec()).expect("make the HMAC secret");
    let claims = json!({"sub": "u1", "exp": 4_000_000_000u64});
    for alg in ["RS256", "PS256", "ES256", "EdDSA", "HS256"] {
        let signer = Signer::new(alg);
        let other = Signer::new(alg);
        // With and without `alg` in the JWK (Microsoft Entra omits it), with and without kid.
        for (with_alg, kid) in [(true, Some("k1")), (false, Some("k1")), (false, None)] {
            let set = jwks(vec![signer.jwk(with_alg)]);
            let wrong = jwks(vec![other.jwk(with_alg)]);
            let token = signer.token(kid, &claims);
            let (keys, wrong_keys) = if alg == "HS256" {
                (None, None)
            } else {
                (Some(&set), Some(&wrong))
            };
            let label = format!("{alg} alg-in-jwk={with_alg} kid={kid:?}");
            let table = [
                ("right key", token.clone(), keys, "passed"),
                ("tampered payload", tamper_payload(&token), keys, "failed"),
                (
                    "tampered signature",
                    tamper_signature(&token),
                    keys,
                    "failed",
                ),
            ];
            for (what, token, keys, want) in table {
                let got = check(&token, keys, Some(&secret).filter(|_| alg == "HS256"));
                assert_eq!(got.label(), want, "{label} {what}: {got:?}");
            }
            if alg != "HS256" {
                let got = check(&token, wrong_keys, None);
                assert_eq!(got.label(), "failed", "{label} another key: {got:?}");
            } else {
                let other_secret = HmacSecret::new(b"another secret".to_vec())
                    .expect("make the other HMAC secret");
                let got = check(&token, None, Some(&other_secret));
                assert_eq!(got.label(), "failed", "{label} another secret: {got:?}");
            }
        }
    }
}

#[test]
fn keys_of_another_type_never_verify() {
    tvlogin::install_crypto_provider();
    let claims = json!({"sub": "u1"});
    let rsa = Signer::new("RS256");
    let ec = Signer::new("ES256");
    // An EC key with kid k1 cannot verify an RS256 token claiming kid k1.
    let got = check(
        &rsa.token(Some("k1"), &claims),
        Some(&jwks(vec![ec.jwk(false)])),
        None,
    );
    assert_eq!(got.label(), "failed", "{got:?}");
    // A JWK whose alg says RS256 is not used for PS256, even with the same RSA key.
    let mut ps = rsa.jwk(true);
    ps["alg"] = json!("RS256");
    let ps_token = sign_with(&json!({"alg": "PS256", "kid": "k1"}), &claims, |input| {
        let Signer::Rsa(key, _, _) = &rsa else {
            unreachable!()
        };
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(&RSA_PSS_SHA256, &SystemRandom::new(), input, &mut sig)
            .expect("sign with RSA-PSS");
        sig
    });
    let got = check(&ps_token, Some(&jwks(vec![ps])), None);
    assert_eq!(got.label(), "failed", "{got:?}");
    // ES512 is registered but not verified here: not checked. An unknown name is refused.
    for (alg, want) in [("ES512", "not_checked"), ("XS999", "failed")] {
        let token = sign_with(&json!({"alg": alg}), &claims, |_| vec![1, 2, 3]);
        let got = check(&token, Some(&jwks(vec![ec.jwk(false)])), None);
        assert_eq!(got.label(), want, "{alg}: {got:?}");
    }
}

#[test]
fn an_rsa_public_key_is_never_an_hmac_secret() {
    tvlogin::install_crypto_provider();
    let rsa = Signer::new("RS256");
    let Signer::Rsa(key, _, _) = &rsa else {
        unreachable!()
    };
    let der = key.public_key().as_ref().to_vec();
    let pem = format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        STANDARD.encode(&der)
    );
    let set = jwks(vec![rsa.jwk(false)]);
    // The attacker signs HS256 with the public key (as PEM text, as DER bytes, as the JWK).
    let jwk_text = rsa.jwk(false).to_string();
    for secret in [pem.as_bytes(), &der, jwk_text.as_bytes()] {
        let token = sign_with(
            &json!({"alg": "HS256", "kid": "k1"}),
            &json!({"sub": "admin"}),
            |input| hmac(secret, input),
        );
        let got = check(&token, Some(&set), None);
        assert_eq!(got.label(), "failed", "{got:?}");
        assert!(
            got.detail().contains("never used as an HMAC secret"),
            "{got:?}"
        );
    }
    assert!(HmacSecret::new(pem.into_bytes()).is_err());
    assert!(HmacSecret::new(jwk_text.into_bytes()).is_err());
}

#[test]
fn alg_none_is_never_verified() {
    tvlogin::install_crypto_provider();
    let secret = HmacSecret::new(HMAC_SECRET.to_vec()).expect("make the HMAC secret");
    let rsa = Signer::new("RS256");
    let set = jwks(vec![rsa.jwk(false)]);
    for alg in ["none", "None", "NONE"] {
        for sig in ["", "c2ln"] {
            let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": "k1"}).to_string());
            let p = URL_SAFE_NO_PAD.encode(json!({"sub": "admin"}).to_string());
            let token = format!("{h}.{p}.{sig}");
            for (set, secret) in [(Some(&set), None), (None, Some(&secret)), (None, None)] {
                let got = check(&token, set, secret);
                assert_eq!(got.label(), "failed", "{alg} {got:?}");
            }
        }
    }
}

/// A JWKS endpoint that answers the n-th request with `bodies[min(n, last)]` and counts.
async fn counting_jwks(bodies: Vec<String>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the JWKS server's port on 127.0.0.1");
    let url = format!(
        "http://{}/jwks",
        listener
            .local_addr()
            .expect("read the JWKS server's address")
    );
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = bodies[n.min(bodies.len() - 1)].clone();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, count)
}

async fn verify_via_url(token: &str, url: &str) -> (Outcome, u32) {
    let http = Http::new(HttpSettings::default()).expect("build the HTTP client");
    let mut remote = Remote::new(http);
    let mut source = JwksSource::Url {
        url: url.parse().expect("parse the JWKS URL"),
        set: None,
        refetched: false,
    };
    let outcome = remote::check_signature(&jws(token), Some(&mut source), None, &mut remote).await;
    (outcome, remote.jwks_fetches)
}

#[tokio::test]
async fn an_unknown_kid_is_fetched_again_exactly_once() {
    tvlogin::install_crypto_provider();
    let old = Signer::new("ES256");
    let new = Signer::new("ES256");
    let mut new_jwk = new.jwk(false);
    new_jwk["kid"] = json!("k2");
    let before = json!({"keys": [old.jwk(false)]}).to_string();
    let after = json!({"keys": [old.jwk(false), new_jwk]}).to_string();
    let claims = json!({"sub": "u1"});

    // Rotation: the key appears on the second fetch.
    let (url, count) = counting_jwks(vec![before.clone(), after]).await;
    let (outcome, fetches) = verify_via_url(&new.token(Some("k2"), &claims), &url).await;
    assert_eq!(outcome.label(), "passed", "{outcome:?}");
    assert_eq!((fetches, count.load(Ordering::SeqCst)), (2, 2));

    // A kid nobody has: one fetch, one refetch, then a clear failure; never a third.
    let (url, count) = counting_jwks(vec![before.clone()]).await;
    let (outcome, _) = verify_via_url(&new.token(Some("nope"), &claims), &url).await;
    assert_eq!(outcome.label(), "failed", "{outcome:?}");
    assert!(
        outcome.detail().contains("no key with kid nope"),
        "{outcome:?}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // A known kid: one fetch.
    let (url, count) = counting_jwks(vec![before]).await;
    let (outcome, _) = verify_via_url(&old.token(Some("k1"), &claims), &url).await;
    assert_eq!(outcome.label(), "passed", "{outcome:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

fn hostile_token() -> String {
    let claims = json!({
        "sub": "admin\u{202e}nimda",
        "name": "\u{1b}[2J\u{1b}]0;pwned\u{7}Mallory",
        "x-\u{1b}[31mred": "\u{2067}isolate\u{2069} \u{9b}31m",
        "exp": 4_000_000_000u64,
    });
    sign_with(&json!({"alg": "HS256", "kid": "\u{1b}[5m"}), &claims, |i| {
        hmac(HMAC_SECRET, i)
    })
}

fn assert_no_raw_controls(text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "raw {c:?} in output:\n{text}");
    }
}

#[tokio::test]
async fn hostile_claims_are_shown_escaped() {
    tvlogin::install_crypto_provider();
    let http = Http::new(HttpSettings::default()).expect("build the HTTP client");
    let report: Report = tvlogin::token::report::inspect(
        &hostile_token(),
        Default::default(),
        &mut Remote::new(http),
    )
    .await;
    let plain = report.to_plain(&|_| 0);
    assert_no_raw_controls(&plain);
    assert!(plain.contains("admin\\u{202e}nimda"), "{plain}");
    assert!(
        plain.contains("\\x1b[2J\\x1b]0;pwned\\x07Mallory"),
        "{plain}"
    );
    assert!(plain.contains("x-\\x1b[31mred"), "{plain}");

    // The same through the binary, plain and --json.
    let home = Home::new();
    let file = home.dir.path().join("token");
    std::fs::write(&file, hostile_token()).expect("write the hostile token");
    let path = file.to_string_lossy().into_owned();
    let run = home.run(&["inspect", &path]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_raw_controls(&run.stdout);
    let run = home.run(&["inspect", "--json", &path]).await;
    assert_no_raw_controls(&run.stdout);
    let doc: Value = serde_json::from_str(&run.stdout).expect("parse inspect --json");
    assert_eq!(
        doc["claims"]["sub"], "admin\u{202e}nimda",
        "JSON keeps the value"
    );
}

#[tokio::test]
async fn the_command_line_contract() {
    tvlogin::install_crypto_provider();
    let home = Home::new();
    let write = |name: &str, text: &str| {
        let p = home.dir.path().join(name);
        std::fs::write(&p, text).expect("write the token file");
        p.to_string_lossy().into_owned()
    };
    let signer = Signer::new("ES256");
    let jwks_file = write(
        "jwks.json",
        &json!({"keys": [signer.jwk(true)]}).to_string(),
    );
    let good = write(
        "good",
        &signer.token(Some("k1"), &json!({"sub": "u", "exp": 4_000_000_000u64})),
    );
    let expired = write(
        "expired",
        &signer.token(Some("k1"), &json!({"sub": "u", "exp": 1_000_000_000})),
    );
    let tampered = write(
        "tampered",
        &tamper_signature(&signer.token(Some("k1"), &json!({"sub": "u"}))),
    );
    let none = write(
        "none",
        &format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"u"}"#)
        ),
    );
    let jwe = write(
        "jwe",
        &format!(
            "{}.a2V5.aXY.Y2lwaGVy.dGFn",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"enc1"}"#)
        ),
    );
    let broken = write("broken", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0x.c2ln");
    let opaque = write("opaque", "gho_16C7e42F292c6912E7710c838347Ae178B4a\n");

    let table: [(&str, &str, i32, &str, &str); 7] = [
        ("good", &good, 0, "passed", "verified"),
        ("expired", &expired, 6, "passed", "invalid"),
        ("tampered", &tampered, 6, "failed", "invalid"),
        ("none", &none, 6, "failed", "invalid"),
        // Keys were given but cannot apply: not verifiable as asked.
        ("jwe", &jwe, 6, "not_checked", "unverified"),
        ("broken", &broken, 6, "", "invalid"),
        ("opaque", &opaque, 6, "", "unverified"),
    ];
    for (what, path, code, signature, verdict) in table {
        let run = home
            .run(&["inspect", "--json", "--jwks", &jwks_file, path])
            .await;
        assert_eq!(run.code, code, "{what}: {run:?}");
        let doc: Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{what}: {e}"));
        let sig = doc["verification"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["check"] == "signature"))
            .map(|c| c["result"].as_str().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(sig, signature, "{what}: {doc:#}");
        assert_eq!(doc["verdict"], verdict, "{what}: {doc:#}");
        assert_eq!(doc["valid"], verdict == "verified", "{what}: {doc:#}");
    }
    // A plain decode (no key source): unverified, exit 0, and it says so.
    for (what, path) in [("good", &good), ("opaque", &opaque), ("jwe", &jwe)] {
        let run = home.run(&["inspect", "--json", path]).await;
        assert_eq!(run.code, 0, "{what}: {run:?}");
        let doc: Value = serde_json::from_str(&run.stdout).expect("parse inspect --json");
        assert_eq!(doc["verdict"], "unverified", "{what}: {doc:#}");
        assert_eq!(doc["valid"], false, "{what}: {doc:#}");
        let run = home.run(&["inspect", path]).await;
        assert!(
            run.stdout.contains("UNVERIFIED — a plain decode"),
            "{what}: {run:?}"
        );
    }
    let run = home.run(&["inspect", "--json", &expired]).await;
    let doc: Value = serde_json::from_str(&run.stdout).expect("parse inspect --json");
    assert_eq!(doc["times"]["exp"]["utc"], "2001-09-09T01:46:40+00:00");
    // The document's keys, in the order they are written: alphabetical in every object.
    let top: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  \"")?.split_once("\": ").map(|(k, _)| k))
        .collect();
    assert_eq!(
        top,
        [
            "checked_at",
            "claims",
            "clock_skew",
            "encrypted",
            "header",
            "introspection",
            "kind",
            "leeway",
            "malformed",
            "notes",
            "times",
            "userinfo",
            "valid",
            "verdict",
            "verdict_reason",
            "verification"
        ],
        "{}",
        run.stdout
    );
    keys_in_order(&run.stdout);
    assert_eq!(doc["kind"], "jws");

    // Plain output names the bad segment; a JWE shows its header and says it is encrypted.
    let run = home.run(&["inspect", &broken]).await;
    assert!(run.stdout.contains("segment 2 (payload)"), "{run:?}");
    let run = home.run(&["inspect", &jwe]).await;
    assert!(
        run.stdout.contains("A256GCM") && run.stdout.contains("(encrypted)"),
        "{run:?}"
    );
    let run = home.run(&["inspect", &opaque]).await;
    assert!(run.stdout.contains("Opaque token"), "{run:?}");

    // A token on argv is refused (it would end up in shell history), as is an empty input.
    let run = home
        .run(&["inspect", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0."])
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("never takes a token on the command line"),
        "{run:?}"
    );
    let run = home.run(&["inspect", &write("empty", "\n")]).await;
    assert_eq!(run.code, 2, "{run:?}");
    // A secret that is really a public key is refused as usage.
    let run = home
        .run_with_env(
            &["inspect", "--secret-env", "K", &good],
            &[("K", "-----BEGIN PUBLIC KEY-----\nMII")],
        )
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        !run.stderr.contains("MII"),
        "the secret is never echoed: {run:?}"
    );
}

/// Every object of a pretty-printed document lists its keys in alphabetical order (the order
/// serde_json's maps print theirs, which `inspect --json` has always had).
fn keys_in_order(pretty: &str) {
    let mut last: Vec<Option<String>> = vec![None];
    for line in pretty.lines() {
        let text = line.trim_start();
        let depth = (line.len() - text.len()) / 2;
        if last.len() <= depth + 1 {
            last.resize(depth + 2, None);
        }
        if let Some((key, _)) = text.strip_prefix('"').and_then(|t| t.split_once("\": ")) {
            if let Some(previous) = &last[depth] {
                assert!(
                    previous.as_str() < key,
                    "{previous} before {key} in:\n{pretty}"
                );
            }
            last[depth] = Some(key.to_owned());
        }
        if text.ends_with('{') || text.ends_with('[') {
            last[depth + 1] = None;
        }
    }
}

/// Logs in to the embedded server (as the basic-auth client) and returns its tokens.
async fn embedded_tokens() -> (tvlogin_server::ServerHandle, String, String, String) {
    use tvlogin_server::{AutoDecision, BASIC_CLIENT_ID, BASIC_CLIENT_SECRET, ServerConfig};
    let server = server(ServerConfig {
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let args = tvlogin::cli::LoginArgs {
        issuer: Some(server.issuer_str()),
        client_id: Some(BASIC_CLIENT_ID.into()),
        client_secret_env: Some("SECRET".into()),
        scope: Some("openid profile offline_access".into()),
        ..Default::default()
    };
    let env = |k: &str| (k == "SECRET").then(|| BASIC_CLIENT_SECRET.to_owned());
    let config = tvlogin::config::LoginConfig::resolve(
        &args,
        &tvlogin::config::ConfigFile::default(),
        std::path::Path::new("none"),
        &env,
    )
    .expect("resolve the login config");
    let mut reporter =
        tvlogin::login::Reporter::new(tvlogin::login::OutputMode::Json, Vec::new(), Vec::new());
    let tokens = tvlogin::login::login(&config, &mut reporter)
        .await
        .expect("log in to the embedded server")
        .tokens;
    let access = tokens.access_token.secret().clone();
    let id = tokens
        .id_token
        .map(|t| t.secret().to_owned())
        .expect("no id token");
    let refresh = tokens
        .refresh_token
        .map(|t| t.secret().clone())
        .expect("no refresh token");
    (server, access, id, refresh)
}

#[tokio::test]
async fn tokens_from_the_embedded_server_verify_via_discovery() {
    tvlogin::install_crypto_provider();
    let (server, access, id, refresh) = embedded_tokens().await;
    let home = Home::new();
    let issuer = server.issuer_str();
    let write = |name: &str, text: &str| {
        let p = home.dir.path().join(name);
        std::fs::write(&p, text).expect("write the token file");
        p.to_string_lossy().into_owned()
    };
    let (access, id, refresh) = (
        write("at", &access),
        write("id", &id),
        write("rt", &refresh),
    );

    let run = home
        .run(&["inspect", "--json", "--issuer", &issuer, &access])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("parse inspect --json");
    let result = |check: &str| {
        doc["verification"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["check"] == check))
            .map(|c| c["result"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(result("signature"), "passed", "{doc:#}");
    assert_eq!(result("iss"), "passed", "{doc:#}");
    assert_eq!(result("exp"), "passed", "{doc:#}");
    assert_eq!(doc["header"]["typ"], "at+jwt");
    assert!(
        doc["clock_skew"]["seconds"]
            .as_i64()
            .is_some_and(|s| s.abs() <= 2),
        "{doc:#}"
    );

    // The ES256 id token, for its audience (the client id).
    let run = home
        .run(&[
            "inspect",
            "--json",
            "--issuer",
            &issuer,
            "--audience",
            "tvlogin-basic",
            &id,
        ])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\"ES256\""), "{}", run.stdout);

    // The wrong audience fails.
    let run = home
        .run(&[
            "inspect",
            "--json",
            "--issuer",
            &issuer,
            "--audience",
            "someone-else",
            &id,
        ])
        .await;
    assert_eq!(run.code, 6, "{run:?}");

    // The refresh token is opaque: introspection with the client's credentials.
    let run = home
        .run_with_env(
            &[
                "inspect",
                "--json",
                "--issuer",
                &issuer,
                "--client-id",
                "tvlogin-basic",
                "--client-secret-env",
                "CS",
                &refresh,
            ],
            &[("CS", tvlogin_server::BASIC_CLIENT_SECRET)],
        )
        .await;
    let doc: Value = serde_json::from_str(&run.stdout).expect("parse inspect --json");
    assert_eq!(doc["kind"], "opaque", "{doc:#}");
    assert_eq!(doc["introspection"]["ok"], true, "{doc:#}");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains(tvlogin_server::BASIC_CLIENT_SECRET));

    // Without a client: userinfo is tried, and the report says what could not be learned.
    let run = home.run(&["inspect", "--issuer", &issuer, &refresh]).await;
    assert!(run.stdout.contains("needs a client"), "{run:?}");
    assert!(run.stdout.contains("Clock:"), "{run:?}");
}

/// The inspector TUI in a pseudo-terminal: the token is read from a file, keys come from the
/// terminal, `q` leaves with the verdict as exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_in_a_real_terminal() {
    use common::pty::Pty;
    use std::time::Duration;

    let home = Home::new();
    let claims = |exp: u64| json!({"sub": "u1", "name": "Ada", "exp": exp});
    let hs = |exp| {
        sign_with(&json!({"alg": "HS256"}), &claims(exp), |i| {
            hmac(HMAC_SECRET, i)
        })
    };
    for (exp, badge, code) in [
        (4_000_000_000u64, "✓ VERIFIED", 0),
        (1_000_000_000, "✗ INVALID", 6),
    ] {
        let file = home.dir.path().join("token");
        std::fs::write(&file, hs(exp)).expect("write the token file");
        let mut pty = Pty::tvlogin(
            home.dir.path(),
            &["inspect", "--secret-env", "HS", &file.to_string_lossy()],
            &[("HS", std::str::from_utf8(HMAC_SECRET).unwrap_or_default())],
        );
        let limit = Duration::from_secs(20);
        pty.wait_for_text(limit, badge);
        pty.wait_for_text(limit, "Ada");
        // Explanations are folded until e.
        pty.send(b"e");
        pty.wait_for_text(limit, "Full name");
        pty.send(b"w");
        pty.wait_for_text(limit, "(hidden: press s to show)");
        pty.send(b"q");
        let status = pty.wait_exit().await;
        assert_eq!(status, code, "{badge}");
    }
}

// ----- One test per verdict rule (issue 11, items 1–3). Each fails if its rule is removed. -----

/// Writes `text` into the home and returns the path.
fn put(home: &Home, name: &str, text: &str) -> String {
    let p = home.dir.path().join(name);
    std::fs::write(&p, text).expect("write the token file");
    p.to_string_lossy().into_owned()
}

fn verdict_of(run: &common::Run) -> (String, String) {
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    (
        doc["verdict"].as_str().unwrap_or_default().to_owned(),
        doc["verdict_reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A forged token with keys that cannot be had is never valid: exit 6, unverified, and the
/// reason names the source that failed.
#[tokio::test]
async fn unreachable_key_sources_never_fail_open() {
    tvlogin::install_crypto_provider();
    let home = Home::new();
    let signer = Signer::new("RS256");
    let forge = |issuer: &str| {
        put(
            &home,
            "forged",
            &signer.token(
                Some("k1"),
                &json!({"sub": "admin", "exp": now() + 600, "iss": issuer}),
            ),
        )
    };
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind the test server's port on 127.0.0.1");
        format!(
            "http://{}",
            l.local_addr().expect("read the test server's address")
        )
    };
    let big = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(1_100_000));
    let discovery = |jwks: &str| {
        format!(r#"{{"issuer":"{{base}}","jwks_uri":"{jwks}","token_endpoint":"{{base}}/t"}}"#)
    };
    let providers = [
        (
            "jwks too large",
            canned(vec![
                (
                    "/.well-known/openid-configuration",
                    Canned::json(200, discovery("{base}/jwks")),
                ),
                ("/jwks", Canned::json(200, big)),
            ])
            .await,
            "larger than",
        ),
        (
            "jwks redirect",
            canned(vec![
                (
                    "/.well-known/openid-configuration",
                    Canned::json(200, discovery("{base}/jwks")),
                ),
                ("/jwks", Canned::json(302, "")),
            ])
            .await,
            "302",
        ),
        (
            "malformed jwks",
            canned(vec![
                (
                    "/.well-known/openid-configuration",
                    Canned::json(200, discovery("{base}/jwks")),
                ),
                ("/jwks", Canned::json(200, r#"{"keys":"no"}"#)),
            ])
            .await,
            "not a JWKS",
        ),
        (
            "other issuer",
            canned(vec![(
                "/.well-known/openid-configuration",
                Canned::json(
                    200,
                    r#"{"issuer":"https://evil.example","jwks_uri":"{base}/jwks"}"#,
                ),
            )])
            .await,
            "names issuer https://evil.example",
        ),
        (
            "no jwks_uri",
            canned(vec![(
                "/.well-known/openid-configuration",
                Canned::json(200, r#"{"issuer":"{base}","token_endpoint":"{base}/t"}"#),
            )])
            .await,
            "no usable jwks_uri",
        ),
        (
            "javascript jwks_uri",
            canned(vec![(
                "/.well-known/openid-configuration",
                Canned::json(200, discovery("javascript:alert(1)")),
            )])
            .await,
            "javascript",
        ),
        ("issuer unreachable", closed.clone(), "could not be asked"),
    ];
    for (what, issuer, words) in providers {
        let forged = forge(&issuer);
        let run = home
            .run(&["inspect", "--json", "--issuer", &issuer, &forged])
            .await;
        assert_eq!(run.code, 6, "{what}: {run:?}");
        let (verdict, reason) = verdict_of(&run);
        assert_eq!(verdict, "unverified", "{what}: {run:?}");
        assert!(reason.contains(words), "{what}: {reason}");
        assert!(
            !reason.contains("pass --jwks"),
            "{what}: the issuer was given: {reason}"
        );
    }
    let forged = forge(&closed);
    let run = home
        .run(&[
            "inspect",
            "--json",
            "--jwks",
            &format!("{closed}/jwks"),
            &forged,
        ])
        .await;
    assert_eq!(run.code, 6, "{run:?}");
    let (verdict, reason) = verdict_of(&run);
    assert_eq!(verdict, "unverified");
    assert!(
        reason.contains(&format!("could not fetch the keys from {closed}/jwks")),
        "{reason}"
    );
}

/// RFC 7515 §4.1.11: a `crit` naming anything tvlogin does not understand is invalid, even
/// with a correct signature.
#[tokio::test]
async fn an_unknown_crit_header_is_invalid() {
    tvlogin::install_crypto_provider();
    let home = Home::new();
    let signer = Signer::new("ES256");
    let jwks = put(
        &home,
        "jwks",
        &json!({"keys": [signer.jwk(true)]}).to_string(),
    );
    let claims = json!({"sub": "u", "exp": now() + 600});
    for crit in [
        json!(["exp"]),
        json!(["urn:example:x"]),
        json!([]),
        json!("b64"),
    ] {
        let token = sign_with(
            &json!({"alg": "ES256", "kid": "k1", "crit": crit, "exp": 1}),
            &claims,
            |i| signer.sign(i),
        );
        for args in [vec!["--jwks", jwks.as_str()], vec![]] {
            let file = put(&home, "t", &token);
            let mut all = vec!["inspect", "--json"];
            all.extend(args.iter().copied());
            all.push(&file);
            let run = home.run(&all).await;
            assert_eq!(run.code, 6, "{crit}: {run:?}");
            let (verdict, reason) = verdict_of(&run);
            assert_eq!(verdict, "invalid", "{crit}: {reason}");
            assert!(reason.contains("crit"), "{crit}: {reason}");
        }
    }
    // Without crit the same token verifies: the rule, not the key, decided.
    let good = put(&home, "good", &signer.token(Some("k1"), &claims));
    let run = home
        .run(&["inspect", "--json", "--jwks", &jwks, &good])
        .await;
    assert_eq!(
        (run.code, verdict_of(&run).0.as_str()),
        (0, "verified"),
        "{run:?}"
    );
}

/// `alg` must be an allowlisted name exactly: near misses are invalid even when the
/// signature itself is a correct RS256 signature.
#[tokio::test]
async fn alg_names_must_be_exact() {
    tvlogin::install_crypto_provider();
    let home = Home::new();
    let signer = Signer::new("RS256");
    let jwks = put(
        &home,
        "jwks",
        &json!({"keys": [signer.jwk(false)]}).to_string(),
    );
    let claims = json!({"sub": "u", "exp": now() + 600});
    for alg in [
        json!("rs256"),
        json!(""),
        json!("RS256 "),
        json!("RS256\u{0}"),
        json!(" RS256"),
        json!(["RS256"]),
        json!(null),
    ] {
        let token = sign_with(&json!({"alg": alg, "kid": "k1"}), &claims, |i| {
            signer.sign(i)
        });
        let file = put(&home, "t", &token);
        let run = home
            .run(&["inspect", "--json", "--jwks", &jwks, &file])
            .await;
        assert_eq!(run.code, 6, "{alg}: {run:?}");
        assert_eq!(verdict_of(&run).0, "invalid", "{alg}: {run:?}");
    }
    let exact = put(&home, "exact", &signer.token(Some("k1"), &claims));
    let run = home
        .run(&["inspect", "--json", "--jwks", &jwks, &exact])
        .await;
    assert_eq!(
        (run.code, verdict_of(&run).0.as_str()),
        (0, "verified"),
        "{run:?}"
    );
}

/// A three-segment token whose header is not a JSON object is malformed, never "opaque".
#[tokio::test]
async fn a_header_that_is_not_an_object_is_invalid() {
    let home = Home::new();
    let p = URL_SAFE_NO_PAD.encode(r#"{"sub":"admin"}"#);
    for header in ["[1,2]", "null", "7", "\u{feff}{\"alg\":\"RS256\"}"] {
        let token = format!("{}.{p}.c2ln", URL_SAFE_NO_PAD.encode(header));
        let file = put(&home, "t", &token);
        let run = home.run(&["inspect", "--json", &file]).await;
        assert_eq!(run.code, 6, "{header:?}: {run:?}");
        let doc: Value = serde_json::from_str(&run.stdout).expect("parse inspect --json");
        assert_eq!(doc["kind"], "malformed", "{header:?}: {doc:#}");
        assert_eq!(doc["verdict"], "invalid", "{header:?}: {doc:#}");
    }
}

/// An HS256 token checked against public keys is "algorithm confusion": invalid, whether
/// the keys come from an issuer's JWKS, a JWKS file or a PEM file, and whatever public-key
/// text the forger used as the HMAC secret.
#[tokio::test]
async fn hmac_against_public_keys_is_algorithm_confusion() {
    tvlogin::install_crypto_provider();
    let (server, _, _, _) = embedded_tokens().await;
    let home = Home::new();
    let rsa = Signer::new("RS256");
    let Signer::Rsa(key, _, _) = &rsa else {
        unreachable!()
    };
    let der = key.public_key().as_ref().to_vec();
    let pem = format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        STANDARD.encode(&der)
    );
    let jwk_text = rsa.jwk(false).to_string();
    let pem_file = put(&home, "key.pem", &pem);
    let jwks_file = put(
        &home,
        "jwks.json",
        &json!({"keys": [rsa.jwk(false)]}).to_string(),
    );
    let jwk_file = put(&home, "one.jwk", &jwk_text);
    let issuer = server.issuer_str();
    let claims = json!({"sub": "admin", "exp": now() + 600, "iss": issuer});
    let modulus = rsa.jwk(false)["n"].as_str().unwrap_or_default().to_owned();
    for secret in [
        pem.as_bytes(),
        &der,
        jwk_text.as_bytes(),
        modulus.as_bytes(),
    ] {
        let token = sign_with(&json!({"alg": "HS256", "kid": "k1"}), &claims, |i| {
            hmac(secret, i)
        });
        let file = put(&home, "t", &token);
        for source in [
            ["--jwks", &pem_file],
            ["--jwks", &jwks_file],
            ["--jwks", &jwk_file],
            ["--issuer", &issuer],
        ] {
            let run = home
                .run(&["inspect", "--json", source[0], source[1], &file])
                .await;
            assert_eq!(run.code, 6, "{source:?}: {run:?}");
            let (verdict, reason) = verdict_of(&run);
            assert_eq!(verdict, "invalid", "{source:?}: {reason}");
            assert!(
                reason.contains("algorithm confusion"),
                "{source:?}: {reason}"
            );
        }
    }
    // The PEM file does verify what the key really signed (so PEM is a real key source).
    let real = put(
        &home,
        "real",
        &rsa.token(None, &json!({"sub": "u", "exp": now() + 600})),
    );
    let run = home
        .run(&["inspect", "--json", "--jwks", &pem_file, &real])
        .await;
    assert_eq!(
        (run.code, verdict_of(&run).0.as_str()),
        (0, "verified"),
        "{run:?}"
    );
    let run = home
        .run(&["inspect", "--json", "--jwks", &jwk_file, &real])
        .await;
    assert_eq!(
        (run.code, verdict_of(&run).0.as_str()),
        (0, "verified"),
        "{run:?}"
    );
}

/// An expired token is invalid even seconds after expiry; only `--leeway` forgives.
#[tokio::test]
async fn expired_within_the_usual_leeway_is_still_invalid() {
    tvlogin::install_crypto_provider();
    let home = Home::new();
    let signer = Signer::new("ES256");
    let jwks = put(
        &home,
        "jwks",
        &json!({"keys": [signer.jwk(true)]}).to_string(),
    );
    let token = put(
        &home,
        "t",
        &signer.token(Some("k1"), &json!({"sub": "u", "exp": now() - 17})),
    );
    let run = home
        .run(&["inspect", "--json", "--jwks", &jwks, &token])
        .await;
    assert_eq!(run.code, 6, "{run:?}");
    let (verdict, reason) = verdict_of(&run);
    assert_eq!(verdict, "invalid");
    assert!(
        reason.contains("exp: expired") && reason.contains("--leeway"),
        "{reason}"
    );
    let run = home
        .run(&["inspect", "--no-tui", "--jwks", &jwks, &token])
        .await;
    assert!(run.stdout.contains("INVALID — exp: expired"), "{run:?}");
    let run = home
        .run(&[
            "inspect", "--json", "--leeway", "60", "--jwks", &jwks, &token,
        ])
        .await;
    assert_eq!(
        (run.code, verdict_of(&run).0.as_str()),
        (0, "verified"),
        "{run:?}"
    );
    assert!(run.stdout.contains("forgiven by the 60s leeway"), "{run:?}");
}

/// `nbf` (and `iat`) in the future beyond the leeway: invalid.
#[tokio::test]
async fn a_future_nbf_is_invalid() {
    tvlogin::install_crypto_provider();
    let home = Home::new();
    let signer = Signer::new("ES256");
    let jwks = put(
        &home,
        "jwks",
        &json!({"keys": [signer.jwk(true)]}).to_string(),
    );
    for claims in [
        json!({"sub": "u", "nbf": now() + 3600, "exp": now() + 7200}),
        json!({"sub": "u", "iat": now() + 3600, "exp": now() + 7200}),
    ] {
        let token = put(&home, "t", &signer.token(Some("k1"), &claims));
        let run = home
            .run(&["inspect", "--json", "--jwks", &jwks, &token])
            .await;
        assert_eq!(run.code, 6, "{claims}: {run:?}");
        assert_eq!(verdict_of(&run).0, "invalid", "{claims}: {run:?}");
    }
    // A few seconds ahead (the issuer's clock) is within the default skew allowance.
    let soon = put(
        &home,
        "s",
        &signer.token(
            Some("k1"),
            &json!({"sub": "u", "nbf": now() + 5, "exp": now() + 600}),
        ),
    );
    let run = home
        .run(&["inspect", "--json", "--jwks", &jwks, &soon])
        .await;
    assert_eq!(
        (run.code, verdict_of(&run).0.as_str()),
        (0, "verified"),
        "{run:?}"
    );
}

/// `printf 'hello world' | tvlogin inspect` is not a token, and neither are bytes that are
/// not UTF-8: exit 6 "not a token".
#[tokio::test]
async fn what_is_not_a_token_exits_6() {
    let home = Home::new();
    let mut inputs: Vec<(&str, Vec<u8>)> = vec![
        ("hello world", b"hello world".to_vec()),
        (
            "non-UTF-8",
            b"eyJhbGciOiJIUzI1NiJ9\xff\xfe.e30.c2ln".to_vec(),
        ),
        ("control", b"abc\x1b[31mdef".to_vec()),
    ];
    inputs.push(("non-ASCII", "tök€n".as_bytes().to_vec()));
    for (what, bytes) in inputs {
        let file = home.dir.path().join("t");
        std::fs::write(&file, &bytes).expect("write the input file");
        let file = file.to_string_lossy().into_owned();
        let run = home.run(&["inspect", "--json", &file]).await;
        assert_eq!(run.code, 6, "{what}: {run:?}");
        let (verdict, reason) = verdict_of(&run);
        assert_eq!(verdict, "invalid", "{what}");
        assert!(reason.starts_with("not a token"), "{what}: {reason}");
        let run = home.run(&["inspect", &file]).await;
        assert_eq!(run.code, 6, "{what}: {run:?}");
        assert!(run.stdout.contains("not a token"), "{what}: {run:?}");
    }
    // stdin, as in the issue.
    let mut child = home
        .command(&["inspect"], &[])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tvlogin inspect");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(b"hello world")
            .await
            .expect("write to inspect's stdin");
    }
    let out = child
        .wait_with_output()
        .await
        .expect("wait for tvlogin inspect");
    assert_eq!(out.status.code(), Some(6), "{out:?}");
}

/// An opaque token is unverified unless the issuer's introspection says `active: true`.
#[tokio::test]
async fn opaque_tokens_need_introspection_to_be_verified() {
    tvlogin::install_crypto_provider();
    let (server, _, _, refresh) = embedded_tokens().await;
    let home = Home::new();
    let issuer = server.issuer_str();
    let rt = put(&home, "rt", &refresh);
    let secret = [("CS", tvlogin_server::BASIC_CLIENT_SECRET)];
    let with_client = [
        "inspect",
        "--json",
        "--issuer",
        &issuer,
        "--client-id",
        "tvlogin-basic",
        "--client-secret-env",
        "CS",
        &rt,
    ];
    let run = home.run_with_env(&with_client, &secret).await;
    assert_eq!(run.code, 0, "{run:?}");
    let (verdict, reason) = verdict_of(&run);
    assert_eq!(verdict, "verified", "{reason}");
    assert!(reason.contains("introspection"), "{reason}");
    let run = home
        .run(&[
            "inspect",
            "--issuer",
            &issuer,
            "--client-id",
            "tvlogin-basic",
            "--client-secret-env",
            "CS",
            &rt,
        ])
        .await;
    assert_eq!(run.code, 2, "the secret variable is unset: {run:?}");
    // Without a client the issuer is asked but cannot vouch: unverified, exit 6.
    let run = home
        .run(&["inspect", "--json", "--issuer", &issuer, &rt])
        .await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(verdict_of(&run).0, "unverified");
    // A plain decode: unverified, exit 0.
    let run = home.run(&["inspect", "--json", &rt]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(verdict_of(&run).0, "unverified");
    // Introspection saying inactive (a made-up token of the same shape): invalid.
    let fake = put(&home, "fake", "bm90LWEtcmVhbC10b2tlbi1hdC1hbGw");
    let mut args = with_client;
    args[8] = &fake;
    let run = home.run_with_env(&args, &secret).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(verdict_of(&run).0, "invalid", "{run:?}");
}

/// A userinfo 401 says why it may have happened: the token's audience.
#[tokio::test]
async fn a_userinfo_401_names_the_tokens_audience() {
    let base = canned(vec![(
        "/userinfo",
        Canned::json(401, r#"{"error":"invalid_token"}"#),
    )])
    .await;
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"sub":"u","aud":"https://api.example.com"}"#)
    );
    let http = Http::new(HttpSettings::default()).expect("build the HTTP client");
    let mut remote = Remote::new(http);
    let url = format!("{base}/userinfo")
        .parse()
        .expect("parse the userinfo URL");
    let got = remote.userinfo(&url, &token).await;
    let why = got.err().unwrap_or_default();
    assert!(why.contains("401"), "{why}");
    assert!(
        why.contains(
            "this access token may not be meant for the userinfo endpoint: its aud is \
             https://api.example.com"
        ),
        "{why}"
    );
}

/// `inspect FILE --issuer URL` in the TUI: userinfo and introspection tabs beside the
/// token's, fetched from the issuer the token names; an id token is never sent to userinfo;
/// a lookup that needs more says what to pass.
#[tokio::test]
async fn the_inspector_shows_userinfo_and_introspection_for_an_issuer() {
    use tvlogin::commands::{Lookups, inspector_tabs};
    use tvlogin::oauth::client::{AuthMethod, OAuthClient};
    use tvlogin::token::report::{self, Options};
    use tvlogin::tui::inspector::TabBody;
    use tvlogin_server::{BASIC_CLIENT_ID, BASIC_CLIENT_SECRET};
    tvlogin::install_crypto_provider();
    let (server, access, id, _) = embedded_tokens().await;
    let issuer: url::Url = server.issuer_str().parse().expect("the issuer URL");
    let tabs_for = |token: String, lookups: Lookups| async move {
        let mut remote = Remote::new(Http::new(HttpSettings::default()).expect("a client"));
        let options = Options {
            issuer: lookups.issuer.clone(),
            ..Options::default()
        };
        let report = report::inspect(&token, options, &mut remote).await;
        inspector_tabs(token, report, &lookups, &mut remote).await
    };
    let titles = |tabs: &[tvlogin::tui::inspector::Tab]| {
        tabs.iter().map(|t| t.title.clone()).collect::<Vec<_>>()
    };

    let tabs = tabs_for(
        access.clone(),
        Lookups {
            issuer: Some(issuer.clone()),
            ..Lookups::default()
        },
    )
    .await;
    assert_eq!(
        titles(&tabs),
        ["access token", "userinfo", "introspection"],
        "{tabs:?}"
    );
    match &tabs[1].body {
        TabBody::Fields(lookup) => {
            let fields = lookup.result.as_ref().expect("userinfo answered");
            assert!(fields.contains_key("sub"), "{fields:?}");
        }
        other => panic!("userinfo: {other:?}"),
    }
    match &tabs[2].body {
        TabBody::Empty(why) => assert!(why.contains("pass --client-id"), "{why}"),
        other => panic!("introspection without a client: {other:?}"),
    }

    let client = OAuthClient {
        id: BASIC_CLIENT_ID.into(),
        secret: Some(tvlogin::secret::ClientSecret::new(
            BASIC_CLIENT_SECRET.to_owned(),
        )),
        auth: AuthMethod::Basic,
    };
    let tabs = tabs_for(
        access.clone(),
        Lookups {
            issuer: Some(issuer.clone()),
            client: Some(client),
            ..Lookups::default()
        },
    )
    .await;
    match &tabs[2].body {
        TabBody::Fields(lookup) => {
            let fields = lookup.result.as_ref().expect("introspection answered");
            assert_eq!(fields.get("active"), Some(&Value::Bool(true)), "{fields:?}");
        }
        other => panic!("introspection: {other:?}"),
    }

    let tabs = tabs_for(
        id,
        Lookups {
            issuer: Some(issuer.clone()),
            ..Lookups::default()
        },
    )
    .await;
    match &tabs[1].body {
        TabBody::Empty(why) => assert!(why.contains("not sent to userinfo"), "{why}"),
        other => panic!("an id token went to userinfo: {other:?}"),
    }

    // Without --issuer nothing is asked: the token's tab alone.
    let tabs = tabs_for(access, Lookups::default()).await;
    assert_eq!(titles(&tabs), ["access token"], "{tabs:?}");
    drop(server);
}
