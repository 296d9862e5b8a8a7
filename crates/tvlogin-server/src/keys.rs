//! The server's signing keys: one RSA-2048 key (RS256, access tokens) and one P-256 key
//! (ES256, ID tokens), generated fresh at every start, and their JWK Set.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

use super::random;

/// Signing keys. Deliberately no `Debug`: nothing about private keys should reach a log.
pub(crate) struct Keys {
    rsa: RsaKeyPair,
    rsa_kid: String,
    /// The RSA key as jsonwebtoken signs with it (PKCS#1 DER).
    rsa_signing: EncodingKey,
    ec: EcdsaKeyPair,
    ec_kid: String,
    /// The P-256 key as jsonwebtoken signs with it (PKCS#8 DER).
    ec_signing: EncodingKey,
}

impl Keys {
    /// Generate both key pairs with random key ids.
    pub(crate) fn generate() -> Result<Keys, Unspecified> {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048)?;
        let rsa_pkcs8 = rsa.as_der()?;
        let rsa_signing = EncodingKey::from_rsa_der(pkcs1_from_pkcs8(rsa_pkcs8.as_ref())?);
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)?;
        let ec_signing = EncodingKey::from_ec_der(ec.to_pkcs8v1()?.as_ref());
        Ok(Keys {
            rsa,
            rsa_kid: random::b64url(12)?,
            rsa_signing,
            ec,
            ec_kid: random::b64url(12)?,
            ec_signing,
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

    /// The RS256 signing key.
    pub(crate) fn rsa_signing(&self) -> &EncodingKey {
        &self.rsa_signing
    }

    /// The ES256 signing key.
    pub(crate) fn ec_signing(&self) -> &EncodingKey {
        &self.ec_signing
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

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 v1 `PrivateKeyInfo` (RFC 5208 §5): aws-lc-rs
/// exports generated RSA keys only as PKCS#8, and jsonwebtoken's RSA signer takes PKCS#1.
/// `PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING }`.
fn pkcs1_from_pkcs8(der: &[u8]) -> Result<&[u8], Unspecified> {
    let (tag, info, _) = der_element(der)?;
    if tag != 0x30 {
        return Err(Unspecified);
    }
    let (version, _, rest) = der_element(info)?;
    let (algorithm, _, rest) = der_element(rest)?;
    let (key_tag, key, _) = der_element(rest)?;
    if version != 0x02 || algorithm != 0x30 || key_tag != 0x04 {
        return Err(Unspecified);
    }
    Ok(key)
}

/// One DER element: its tag, its contents and what follows it. Definite lengths only (DER).
fn der_element(der: &[u8]) -> Result<(u8, &[u8], &[u8]), Unspecified> {
    let (&tag, rest) = der.split_first().ok_or(Unspecified)?;
    let (&first, mut rest) = rest.split_first().ok_or(Unspecified)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return Err(Unspecified);
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    if rest.len() < len {
        return Err(Unspecified);
    }
    let (contents, after) = rest.split_at(len);
    Ok((tag, contents, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkcs1_key_inside_pkcs8_is_the_same_key() {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate");
        let pkcs8 = rsa.as_der().expect("pkcs8");
        let pkcs1 = pkcs1_from_pkcs8(pkcs8.as_ref()).expect("pkcs1 inside");
        let again = RsaKeyPair::from_der(pkcs1).expect("a PKCS#1 RSA key");
        assert_eq!(
            again.public_key().as_ref(),
            rsa.public_key().as_ref(),
            "the extracted key must be the generated one"
        );
    }

    #[test]
    fn malformed_der_is_refused_not_read_past_its_end() {
        for der in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x02],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x04, 0x00],
            &[0x30, 0x06, 0x02, 0x01, 0x00, 0x04, 0x01, 0x00],
        ] {
            assert!(pkcs1_from_pkcs8(der).is_err(), "{der:?}");
        }
    }
}
