//! Randomness for codes and tokens, all drawn from aws-lc's CSPRNG.
//!
//! Every helper uses rejection sampling so that each character of an alphabet is equally
//! likely (a plain `byte % len` would favour the first `256 % len` characters).

use aws_lc_rs::error::Unspecified;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// RFC 8628 §6.1: 20 consonants, no vowels (no accidental words) and no easily confused
/// characters; 20^8 ≈ 2^34.5 codes.
pub(crate) const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random bytes.
pub(crate) fn bytes(n: usize) -> Result<Vec<u8>, Unspecified> {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf)?;
    Ok(buf)
}

/// `n` random bytes, base64url without padding (device codes, refresh tokens, jtis, kids).
pub(crate) fn b64url(n: usize) -> Result<String, Unspecified> {
    Ok(URL_SAFE_NO_PAD.encode(bytes(n)?))
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 characters).
pub(crate) fn from_alphabet(alphabet: &[u8], len: usize) -> Result<String, Unspecified> {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Largest multiple of the alphabet size that fits in a byte; bytes at or above it are
    // rejected so the modulo below is unbiased.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in bytes(len * 2)? {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

/// `len` random ASCII letters and digits (GitHub-style opaque tokens).
pub(crate) fn alphanumeric(len: usize) -> Result<String, Unspecified> {
    from_alphabet(ALPHANUMERIC, len)
}

/// An 8-character user code from [`USER_CODE_ALPHABET`], unformatted.
pub(crate) fn user_code() -> Result<String, Unspecified> {
    from_alphabet(USER_CODE_ALPHABET, 8)
}

/// A random UUID-shaped string (Microsoft's `trace_id` / `correlation_id`).
pub(crate) fn uuid() -> Result<String, Unspecified> {
    let b = bytes(16)?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_rfc_alphabet() {
        for _ in 0..50 {
            let code = user_code().unwrap();
            assert_eq!(code.len(), 8);
            assert!(
                code.bytes().all(|c| USER_CODE_ALPHABET.contains(&c)),
                "{code}"
            );
        }
        assert_eq!(uuid().unwrap().len(), 36);
        assert_eq!(b64url(32).unwrap().len(), 43);
    }
}
