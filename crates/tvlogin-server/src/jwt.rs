//! Minting compact JWS tokens (RFC 7515) with the server's own keys.
//!
//! The server never needs to *verify* a JWT: every token it accepts back is looked up by its
//! exact string in the server state, which is a stronger check than a signature.

use aws_lc_rs::digest;
use aws_lc_rs::error::Unspecified;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde_json::Value;

use super::keys::Keys;

/// Signature algorithms the server signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// RSASSA-PKCS1-v1_5 SHA-256, used for access tokens.
    Rs256,
    /// ECDSA P-256 SHA-256, used for ID tokens.
    Es256,
}

/// Sign `claims` with the given algorithm and `typ` header, returning `header.claims.sig`.
pub(crate) fn sign(
    keys: &Keys,
    alg: Alg,
    typ: &str,
    claims: &Value,
) -> Result<String, Unspecified> {
    let (algorithm, kid, key) = match alg {
        Alg::Rs256 => (Algorithm::RS256, keys.rsa_kid(), keys.rsa_signing()),
        Alg::Es256 => (Algorithm::ES256, keys.ec_kid(), keys.ec_signing()),
    };
    let mut header = Header::new(algorithm);
    header.typ = Some(typ.to_owned());
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).map_err(|_| Unspecified)
}

/// OpenID Connect `at_hash`: base64url of the left half of SHA-256 of the access token
/// (both signing algorithms here use SHA-256).
pub(crate) fn at_hash(access_token: &str) -> String {
    let d = digest::digest(&digest::SHA256, access_token.as_bytes());
    let half = &d.as_ref()[..16];
    URL_SAFE_NO_PAD.encode(half)
}
