//! Splitting a token into its JOSE segments for display, without trusting or verifying it.
//!
//! jsonwebtoken refuses to even decode `alg: none`, ES512 or JWE, so display decoding is done
//! here by hand: base64url, then JSON. Anything whose first segment is not a base64url JSON
//! object is an opaque token (GitHub's `gho_…`, Google's `ya29.…`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// What a token turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A compact JWS (RFC 7515): `header.payload.signature`.
    Jws(Jws),
    /// A compact JWE (RFC 7516): five segments; only the header can be read.
    Jwe(Jwe),
    /// Not a JOSE object: a reference to state on the server.
    Opaque,
    /// It looks like a JWT but one segment cannot be read.
    Malformed(Malformed),
}

/// A decoded compact JWS. Its `Debug` leaves out the signature and segments: together they
/// are the bearer token itself.
#[derive(Clone, PartialEq)]
pub struct Jws {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims (payload as a JSON object).
    pub claims: Map<String, Value>,
    /// The signature bytes (empty for `alg: none`).
    pub signature: Vec<u8>,
    /// The three segments as they were sent.
    pub segments: [String; 3],
}

impl std::fmt::Debug for Jws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jws")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field("signature", &"[redacted]")
            .finish()
    }
}

impl Jws {
    /// The header's `alg`, if it is a string.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// The header's `kid`, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The compact serialisation (what was given, without surrounding whitespace).
    pub fn compact(&self) -> String {
        self.segments.join(".")
    }
}

/// A compact JWE: the header is readable, the rest is ciphertext. `Debug` shows the header
/// only (the segments are the bearer token).
#[derive(Clone, PartialEq)]
pub struct Jwe {
    /// The protected header (`alg` is the key management algorithm, `enc` the content cipher).
    pub header: Map<String, Value>,
    /// The five segments as they were sent.
    pub segments: [String; 5],
}

impl std::fmt::Debug for Jwe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwe")
            .field("header", &self.header)
            .field("segments", &"[redacted]")
            .finish()
    }
}

/// Where decoding failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based segment number, or 0 when the problem is the number of segments.
    pub segment: usize,
    /// What the segment is ("header", "payload", "signature", …).
    pub name: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.segment == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(
                f,
                "segment {} ({}) is malformed: {}",
                self.segment, self.name, self.reason
            )
        }
    }
}

/// Trims what people paste around tokens: whitespace, newlines, a `Bearer ` prefix.
pub fn clean(input: &str) -> &str {
    let t = input.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t);
    t.trim()
}

/// Why `token` cannot be a bearer token at all: RFC 6750 §2.1's `b64token` is ASCII letters,
/// digits and `-._~+/`, then optional trailing `=`. Spaces, control characters and anything
/// beyond ASCII (including U+FFFD, which is what bytes that are not UTF-8 become) are refused.
pub fn not_a_token(token: &str) -> Option<String> {
    if token.is_empty() {
        return Some("not a token: the input is empty".into());
    }
    let body = token.trim_end_matches('=');
    if body.is_empty() {
        return Some("not a token: it is only '=' characters".into());
    }
    let bad = body.char_indices().find(|(_, c)| {
        !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/'))
    });
    bad.map(|(at, c)| {
        let what = match c {
            '\u{fffd}' => "bytes that are not UTF-8 text (or U+FFFD)".to_owned(),
            '=' => "'=' before the end".to_owned(),
            c if c.is_whitespace() => "white space".to_owned(),
            c if c.is_control() => format!("the control character U+{:04X}", c as u32),
            c if !c.is_ascii() => format!("the non-ASCII character U+{:04X}", c as u32),
            c => format!("the character {c:?}"),
        };
        format!(
            "not a token: {what} at offset {at}; a bearer token is ASCII letters, digits and \
             -._~+/ with optional trailing = (RFC 6750 §2.1)"
        )
    })
}

/// Classifies and decodes `token` (already [`clean`]ed).
pub fn decode(token: &str) -> Decoded {
    if let Some(reason) = not_a_token(token) {
        return Decoded::Malformed(Malformed {
            segment: 0,
            name: "token",
            reason,
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    let first = parts.first().copied().unwrap_or_default();
    let header = match b64_json_object(first) {
        Ok(h) => h,
        // Three or five base64url segments whose first decodes to JSON (or text starting
        // with a byte-order mark) is a JOSE object with a broken header, not an opaque token:
        // RFC 7515 §4 requires the header to be a JSON object.
        Err(reason) if matches!(parts.len(), 3 | 5) && json_like(first) => {
            return Decoded::Malformed(Malformed {
                segment: 1,
                name: "header",
                reason,
            });
        }
        // A token whose first segment is not base64 JSON is opaque — unless it starts like
        // one ("eyJ" is base64 of `{"`), then it is a damaged JWT and worth saying so.
        Err(reason) if first.starts_with("eyJ") && parts.len() > 1 => {
            return Decoded::Malformed(Malformed {
                segment: 1,
                name: "header",
                reason,
            });
        }
        Err(_) => return Decoded::Opaque,
    };
    match parts.as_slice() {
        [h, p, s] => {
            let claims = match b64_json_object(p) {
                Ok(c) => c,
                Err(reason) => {
                    return Decoded::Malformed(Malformed {
                        segment: 2,
                        name: "payload",
                        reason,
                    });
                }
            };
            let signature = match b64(s) {
                Ok(sig) => sig,
                Err(reason) => {
                    return Decoded::Malformed(Malformed {
                        segment: 3,
                        name: "signature",
                        reason,
                    });
                }
            };
            Decoded::Jws(Jws {
                header,
                claims,
                signature,
                segments: [(*h).into(), (*p).into(), (*s).into()],
            })
        }
        [a, b, c, d, e] => {
            let names = [
                "encrypted key",
                "initialization vector",
                "ciphertext",
                "tag",
            ];
            for (i, (seg, name)) in [b, c, d, e].iter().zip(names).enumerate() {
                if let Err(reason) = b64(seg) {
                    return Decoded::Malformed(Malformed {
                        segment: i + 2,
                        name,
                        reason,
                    });
                }
            }
            Decoded::Jwe(Jwe {
                header,
                segments: [a, b, c, d, e].map(|s| (*s).to_owned()),
            })
        }
        other => Decoded::Malformed(Malformed {
            segment: 0,
            name: "token",
            reason: format!(
                "the header decodes, but the token has {} segment{} separated by '.'; a JWS has 3 \
                 and a JWE 5",
                other.len(),
                if other.len() == 1 { "" } else { "s" }
            ),
        }),
    }
}

/// base64url without padding (RFC 7515 §2), with a precise complaint when it is not.
fn b64(segment: &str) -> Result<Vec<u8>, String> {
    let trimmed = segment.trim_end_matches('=');
    if let Some((at, c)) = trimmed
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        let hint = if c == '+' || c == '/' {
            " (standard base64; JWTs use base64url with - and _)"
        } else {
            ""
        };
        return Err(format!(
            "character {:?} at offset {at} is not base64url{hint}",
            c
        ));
    }
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .map_err(|e| format!("not valid base64url: {e}"))
}

/// Whether a segment decodes to JSON of any kind, or to text led by a byte-order mark.
fn json_like(segment: &str) -> bool {
    let Ok(bytes) = b64(segment) else {
        return false;
    };
    bytes.starts_with(&[0xef, 0xbb, 0xbf]) || serde_json::from_slice::<Value>(&bytes).is_ok()
}

fn b64_json_object(segment: &str) -> Result<Map<String, Value>, String> {
    if segment.is_empty() {
        return Err("empty".into());
    }
    let bytes = b64(segment)?;
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Err("begins with a byte-order mark; JOSE JSON never does".into());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("decodes to JSON that is not an object".into()),
        Err(e) => Err(format!("decodes to bytes that are not JSON ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn classifies_every_shape() {
        let h = enc(r#"{"alg":"none"}"#);
        let p = enc(r#"{"sub":"a"}"#);
        let Decoded::Jws(jws) = decode(&format!("{h}.{p}.")) else {
            panic!("alg none is a JWS")
        };
        assert_eq!(jws.alg(), Some("none"));
        assert!(jws.signature.is_empty());

        let jwe_h = enc(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
        assert!(matches!(
            decode(&format!("{jwe_h}.a2V5.aXY.Y2lwaGVy.dGFn")),
            Decoded::Jwe(_)
        ));
        for opaque in [
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "ya29.a0Af-x_y",
            "abc",
        ] {
            assert_eq!(decode(opaque), Decoded::Opaque, "{opaque}");
        }
        let table = [
            (format!("{h}.{p}"), 0, "2 segments"),
            (format!("eyJhbGciOi.{p}.sig"), 1, "segment 1 (header)"),
            (format!("{}.{p}.sig", enc("{\"alg\":")), 1, "not JSON"),
            (
                format!("{h}.{p}x!.sig"),
                0,
                "not a token: the character '!'",
            ),
            (format!("{h}.{p}x.sig"), 2, "segment 2 (payload)"),
            (format!("{h}.{}.sig", enc("[1]")), 2, "not an object"),
            (format!("{h}.{p}.ab+/"), 3, "standard base64"),
            (format!("{jwe_h}.a2V5.a$.Y2lwaGVy.dGFn"), 0, "'$'"),
            (format!("{jwe_h}.a2V5.a.Y2lwaGVy.dGFn"), 3, "segment 3"),
        ];
        for (token, segment, words) in table {
            let Decoded::Malformed(m) = decode(&token) else {
                panic!("{token} should be malformed")
            };
            assert_eq!(m.segment, segment, "{token}: {m}");
            assert!(m.to_string().contains(words), "{token}: {m}");
        }
    }

    /// RFC 6750 b64token only: spaces, controls, non-ASCII and non-UTF-8 input are not
    /// tokens (and never "opaque tokens").
    #[test]
    fn what_is_not_a_token() {
        for (input, words) in [
            ("hello world", "white space"),
            ("abc\u{0}def", "control character U+0000"),
            ("tok\u{202e}en", "non-ASCII character U+202E"),
            ("gho_é", "non-ASCII"),
            (&String::from_utf8_lossy(b"abc\xff\xfe"), "not UTF-8"),
            ("a=b", "'=' before the end"),
            ("====", "only '='"),
        ] {
            let Decoded::Malformed(m) = decode(input) else {
                panic!("{input:?} was taken for a token")
            };
            assert!(m.to_string().contains(words), "{input:?}: {m}");
            assert!(m.to_string().starts_with("not a token"), "{input:?}: {m}");
        }
        for fine in ["gho_abc", "ya29.a0-x_y~+/", "abc==", "a.b.c"] {
            assert!(not_a_token(fine).is_none(), "{fine}");
        }
    }

    /// A three-segment token whose header is JSON but not an object (or begins with a BOM)
    /// is a broken JWT, not an opaque token.
    #[test]
    fn a_header_must_be_a_json_object() {
        let p = enc(r#"{"sub":"a"}"#);
        for header in [
            "[1,2]",
            "null",
            "42",
            "\"RS256\"",
            "\u{feff}{\"alg\":\"RS256\"}",
        ] {
            let token = format!("{}.{p}.c2ln", enc(header));
            let Decoded::Malformed(m) = decode(&token) else {
                panic!("{header:?} header was not refused: {:?}", decode(&token))
            };
            assert_eq!(m.segment, 1, "{header:?}: {m}");
        }
    }

    #[test]
    fn debug_never_shows_the_signature() {
        let token = format!(
            "{}.{}.c2VjcmV0LXNpZ25hdHVyZQ",
            enc(r#"{"alg":"RS256"}"#),
            enc("{}")
        );
        let shown = format!("{:?}", decode(&token));
        assert!(!shown.contains("c2VjcmV0LXNpZ25hdHVyZQ"), "{shown}");
        assert!(!shown.contains("115, 101, 99"), "{shown}");
    }

    #[test]
    fn cleans_pasted_input() {
        assert_eq!(clean("  Bearer abc.def.ghi\n"), "abc.def.ghi");
        assert_eq!(clean("abc\r\n"), "abc");
    }
}
