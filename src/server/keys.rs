//! The server's signing keys: one RSA-2048 key (RS256, access tokens) and one P-256 key
//! (ES256, ID tokens), generated fresh at every start, and their JWK Set.

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::random;

/// Signing keys. Deliberately no `Debug`: nothing about private keys should reach a log.
pub(crate) struct Keys {
    rsa: RsaKeyPair,
    rsa_kid: String,
    ec: EcdsaKeyPair,
    ec_kid: String,
    rng: SystemRandom,
}

impl Keys {
    /// Generate both key pairs with random key ids.
    pub(crate) fn generate() -> Result<Keys, Unspecified> {
        Ok(Keys {
            rsa: RsaKeyPair::generate(KeySize::Rsa2048)?,
            rsa_kid: random::b64url(12)?,
            ec: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)?,
            ec_kid: random::b64url(12)?,
            rng: SystemRandom::new(),
        })
    }

    /// Key id of the RS256 key.
    pub(crate) fn rsa_kid(&self) -> &str {
        &self.rsa_kid
    }

    /// Key id of the ES256 key.
    pub(crate) fn ec_kid(&self) -> &str {
        &self.ec_kid
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `msg`.
    pub(crate) fn sign_rs256(&self, msg: &[u8]) -> Result<Vec<u8>, Unspecified> {
        let mut sig = vec![0u8; self.rsa.public_modulus_len()];
        self.rsa.sign(&RSA_PKCS1_SHA256, &self.rng, msg, &mut sig)?;
        Ok(sig)
    }

    /// ECDSA P-256 with SHA-256 over `msg`, in the fixed 64-byte `r || s` form JWS requires
    /// (RFC 7518 §3.4), not DER.
    pub(crate) fn sign_es256(&self, msg: &[u8]) -> Result<Vec<u8>, Unspecified> {
        Ok(self.ec.sign(&self.rng, msg)?.as_ref().to_vec())
    }

    /// The public keys as a JWK Set (RFC 7517), served at `/jwks`.
    pub(crate) fn jwks(&self) -> Value {
        let rsa_pub = self.rsa.public_key();
        // The EC public key is the uncompressed SEC1 point 0x04 || X || Y, 32 bytes each.
        let point = self.ec.public_key().as_ref();
        let (x, y) = if point.len() == 65 {
            (&point[1..33], &point[33..65])
        } else {
            (&point[..0], &point[..0])
        };
        json!({
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.rsa_kid,
                    "n": URL_SAFE_NO_PAD.encode(rsa_pub.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(rsa_pub.exponent().big_endian_without_leading_zero()),
                },
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "use": "sig",
                    "alg": "ES256",
                    "kid": self.ec_kid,
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                },
            ]
        })
    }
}
