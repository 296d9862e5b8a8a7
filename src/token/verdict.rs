//! The one verdict about a token, shared by plain output, `--json`, the inspector and the
//! dashboard: `verified`, `invalid` or `unverified`. It is never more optimistic than what
//! was checked: `verified` needs a signature checked with a key from a source the user named
//! (or found by discovery), or an issuer's introspection answering `active: true`, and every
//! check that ran passing.
//!
//! Pure: the verdict is a function of the decoded token and the checks (which the inspector
//! re-runs every second, so a token expiring on screen turns invalid).

use super::jwt::Decoded;
use super::verify::{Check, Outcome};
use crate::exit::Exit;

/// What can be said about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The signature (or the issuer, by introspection) vouches for it, and every check that
    /// ran passed.
    Verified,
    /// A check failed, or it is not a well-formed token.
    Invalid,
    /// Nothing failed, but nothing could vouch for it either.
    Unverified,
}

impl Verdict {
    /// `verified`, `invalid`, `unverified` (the `--json` spelling).
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Invalid => "invalid",
            Verdict::Unverified => "unverified",
        }
    }

    /// The badge the TUI shows.
    pub fn badge(self) -> &'static str {
        match self {
            Verdict::Verified => "✓ VERIFIED",
            Verdict::Invalid => "✗ INVALID",
            Verdict::Unverified => "? UNVERIFIED",
        }
    }
}

/// A verdict and the reason for it, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// Why (the failed check, what vouched, or what was missing).
    pub reason: String,
    /// Whether the user named a key source (`--jwks`, `--issuer`, `--secret-env`): then an
    /// unverified token exits 6, since it was not verifiable as asked.
    pub asked: bool,
}

impl Judgement {
    /// The exit code: 0 verified; 6 invalid; unverified is 0 only for a plain decode (no
    /// key source asked for), else 6.
    pub fn exit(&self) -> Exit {
        match self.verdict {
            Verdict::Verified => Exit::Ok,
            Verdict::Invalid => Exit::InvalidToken,
            Verdict::Unverified if self.asked => Exit::InvalidToken,
            Verdict::Unverified => Exit::Ok,
        }
    }
}

/// Judges a token from what it is and the checks that ran. `asked` says a key source was
/// named; `unusable` is why it could not be used (discovery failed, …), when known.
pub fn judge(decoded: &Decoded, checks: &[Check], asked: bool) -> Judgement {
    let done = |verdict, reason: String| Judgement {
        verdict,
        reason,
        asked,
    };
    if let Decoded::Malformed(m) = decoded {
        return done(Verdict::Invalid, m.to_string());
    }
    let failed: Vec<&Check> = checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
        .collect();
    if let Some(first) = failed.first() {
        let more = match failed.len() {
            1 => String::new(),
            n => format!(
                " (and {} more failed check{})",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        return done(
            Verdict::Invalid,
            format!("{}: {}{more}", first.name, first.outcome.detail()),
        );
    }
    // What may vouch for a token: its signature, or for an opaque token the issuer itself.
    let voucher = match decoded {
        Decoded::Jws(_) => "signature",
        Decoded::Opaque => "active",
        _ => "",
    };
    let vouched = checks
        .iter()
        .find(|c| c.name == voucher)
        .filter(|c| matches!(c.outcome, Outcome::Passed(_)));
    if let Some(check) = vouched {
        let by = match decoded {
            Decoded::Opaque => format!("introspection: {}", check.outcome.detail()),
            _ => format!("signature: {}", check.outcome.detail()),
        };
        return done(Verdict::Verified, by);
    }
    let why = checks
        .iter()
        .find(|c| c.name == voucher || c.name == "signature")
        .and_then(|c| match &c.outcome {
            Outcome::NotChecked(why) => Some(why.clone()),
            _ => None,
        });
    let reason = match (why, decoded, asked) {
        (Some(why), _, true) => why,
        (_, Decoded::Opaque, true) => {
            "an opaque token, and the issuer did not vouch for it by introspection".into()
        }
        (_, _, false) => format!(
            "a plain decode: no key source was given, so nothing was verified (pass {}){}",
            match decoded {
                Decoded::Jws(j) =>
                    super::verify::issuer_hint(&j.claims, "or --jwks FILE|URL or --secret-env VAR"),
                _ => "--issuer URL, --jwks FILE|URL or --secret-env VAR".into(),
            },
            match decoded {
                Decoded::Opaque =>
                    "; an opaque token is verified only by its issuer's introspection",
                _ => "",
            }
        ),
        (None, _, true) => "nothing could vouch for this token".into(),
    };
    done(Verdict::Unverified, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::jwt;

    fn check(name: &'static str, outcome: Outcome) -> Check {
        Check { name, outcome }
    }

    #[test]
    fn the_verdict_table() {
        let jws = jwt::decode("eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
        let opaque = jwt::Decoded::Opaque;
        let pass = |n| check(n, Outcome::Passed("ok".into()));
        let fail = |n| check(n, Outcome::Failed("bad".into()));
        let skip = |n| check(n, Outcome::NotChecked("could not fetch the keys".into()));
        let table: Vec<(&jwt::Decoded, Vec<Check>, bool, Verdict, u8)> = vec![
            (
                &jws,
                vec![pass("signature"), pass("exp")],
                true,
                Verdict::Verified,
                0,
            ),
            (
                &jws,
                vec![pass("signature"), fail("exp")],
                true,
                Verdict::Invalid,
                6,
            ),
            (
                &jws,
                vec![skip("signature"), pass("exp")],
                true,
                Verdict::Unverified,
                6,
            ),
            (
                &jws,
                vec![skip("signature"), pass("exp")],
                false,
                Verdict::Unverified,
                0,
            ),
            (
                &jws,
                vec![skip("signature"), fail("nbf")],
                false,
                Verdict::Invalid,
                6,
            ),
            // Passing time checks never vouch for a token.
            (
                &jws,
                vec![skip("signature"), pass("iss"), pass("exp")],
                true,
                Verdict::Unverified,
                6,
            ),
            (&opaque, vec![], false, Verdict::Unverified, 0),
            (&opaque, vec![], true, Verdict::Unverified, 6),
            (
                &opaque,
                vec![pass("active"), pass("exp")],
                true,
                Verdict::Verified,
                0,
            ),
            (&opaque, vec![fail("active")], true, Verdict::Invalid, 6),
        ];
        for (decoded, checks, asked, want, code) in table {
            let j = judge(decoded, &checks, asked);
            assert_eq!(j.verdict, want, "{checks:?} asked={asked}: {j:?}");
            assert_eq!(j.exit().code(), code, "{checks:?} asked={asked}: {j:?}");
        }
        let plain = judge(&jws, &[skip("signature")], false);
        assert!(plain.reason.contains("a plain decode"), "{plain:?}");
        let asked = judge(&jws, &[skip("signature")], true);
        assert_eq!(asked.reason, "could not fetch the keys");
        let malformed = judge(&jwt::decode("hello world"), &[], false);
        assert_eq!(malformed.verdict, Verdict::Invalid);
        assert!(malformed.reason.contains("not a token"), "{malformed:?}");
    }
}
