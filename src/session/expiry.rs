//! Pure decisions about token lifetimes: whether a cached token will do, when tokens expire.
//! Every function takes `now` ([`UnixTime`]) from the caller, who read the clock once.

use crate::clock::UnixTime;
use crate::token;

// ----- pure decisions -----

/// What is known about one cached token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenView {
    /// Whether the store holds the token.
    pub present: bool,
    /// When it expires, if known.
    pub expires_at: Option<u64>,
    /// When it was issued.
    pub issued_at: u64,
}

/// Whether the cached token will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Use it: valid for longer than asked (or its expiry is unknown).
    Use,
    /// Refresh first.
    Refresh(Why),
}

/// Why a refresh is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The store holds no such token.
    Missing,
    /// It has expired.
    Expired,
    /// It expires within the minimum lifetime asked for.
    ExpiresSoon {
        /// Seconds left.
        left: u64,
    },
}

/// The minimum lifetime actually required: `min_ttl`, but never more than half the token's
/// whole lifetime. A server issuing 60-second tokens would otherwise make every `token`
/// call with the default `--min-ttl 60` refresh (and rotate) again.
pub fn effective_min_ttl(min_ttl: u64, view: &TokenView) -> u64 {
    match view.expires_at {
        Some(exp) => min_ttl.min(exp.saturating_sub(view.issued_at) / 2),
        None => min_ttl,
    }
}

/// Decides whether `view`'s token can be handed out at `now` with at least `min_ttl` left.
pub fn decide(now: UnixTime, view: &TokenView, min_ttl: u64) -> Decision {
    if !view.present {
        return Decision::Refresh(Why::Missing);
    }
    let Some(exp) = view.expires_at else {
        return Decision::Use;
    };
    let left = now.left_until(exp);
    if left == 0 {
        Decision::Refresh(Why::Expired)
    } else if left < effective_min_ttl(min_ttl, view) {
        Decision::Refresh(Why::ExpiresSoon { left })
    } else {
        Decision::Use
    }
}

/// The `exp` claim of a JWT, if the token is one.
pub fn jwt_exp(token: &str) -> Option<u64> {
    token::unverified_claims(token)?.get("exp")?.as_u64()
}

/// When an access token expires: `expires_in` from the response, else its JWT `exp`.
pub fn access_expiry(now: UnixTime, expires_in: Option<u64>, access_token: &str) -> Option<u64> {
    expires_in
        .map(|s| now.unsigned().saturating_add(s))
        .or_else(|| jwt_exp(access_token))
}

/// When a refresh token expires, when the provider says so at all: `refresh_expires_in` /
/// `refresh_token_expires_in` (0 means "no expiry" at Keycloak), else a JWT refresh token's
/// `exp`, else — when the server kept the old refresh token — what was known before.
pub fn refresh_expiry(
    now: UnixTime,
    refresh_expires_in: Option<u64>,
    refresh_token: Option<&str>,
    kept_previous: bool,
    previous: Option<u64>,
) -> Option<u64> {
    if let Some(secs) = refresh_expires_in.filter(|s| *s > 0) {
        return Some(now.unsigned().saturating_add(secs));
    }
    if refresh_expires_in == Some(0) {
        return None;
    }
    if kept_previous {
        return previous;
    }
    refresh_token.and_then(jwt_exp)
}

/// Seconds left until `at`, zero once passed.
pub fn seconds_left(now: UnixTime, at: Option<u64>) -> Option<u64> {
    at.map(|at| now.left_until(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(present: bool, expires_at: Option<u64>, issued_at: u64) -> TokenView {
        TokenView {
            present,
            expires_at,
            issued_at,
        }
    }

    #[test]
    fn expiry_decisions() {
        use Decision::*;
        // (now, view, min_ttl, decision)
        let table = [
            (1000, v(false, Some(5000), 1000), 60, Refresh(Why::Missing)),
            (1000, v(true, None, 1000), 60, Use),
            (1000, v(true, Some(4600), 1000), 60, Use),
            (4540, v(true, Some(4600), 1000), 60, Use),
            (
                4541,
                v(true, Some(4600), 1000),
                60,
                Refresh(Why::ExpiresSoon { left: 59 }),
            ),
            (4600, v(true, Some(4600), 1000), 60, Refresh(Why::Expired)),
            (9999, v(true, Some(4600), 1000), 0, Refresh(Why::Expired)),
            (4599, v(true, Some(4600), 1000), 0, Use),
            // --min-ttl longer than the token lives: capped at half its lifetime.
            (1000, v(true, Some(1060), 1000), 60, Use),
            (1029, v(true, Some(1060), 1000), 60, Use),
            (
                1031,
                v(true, Some(1060), 1000),
                60,
                Refresh(Why::ExpiresSoon { left: 29 }),
            ),
            (1000, v(true, Some(4600), 1000), 3000, Use),
            // A 3000 s minimum on a one-hour token means 1800 s (half its life).
            (2800, v(true, Some(4600), 1000), 3000, Use),
            (
                2900,
                v(true, Some(4600), 1000),
                3000,
                Refresh(Why::ExpiresSoon { left: 1700 }),
            ),
        ];
        for (now, view, min_ttl, want) in table {
            assert_eq!(
                decide(UnixTime::from_secs(now), &view, min_ttl),
                want,
                "{now} {view:?} {min_ttl}"
            );
        }
    }

    #[test]
    fn min_ttl_is_capped_by_the_token_lifetime() {
        let table = [
            (60, Some(1000 + 3600), 60),
            (60, Some(1000 + 60), 30),
            (600, Some(1000 + 300), 150),
            (0, Some(1000 + 300), 0),
            (60, None, 60),
            (60, Some(900), 0), // expiry before issue: nonsense in, no extra margin out
        ];
        for (min_ttl, expires_at, want) in table {
            assert_eq!(
                effective_min_ttl(min_ttl, &v(true, expires_at, 1000)),
                want,
                "{min_ttl} {expires_at:?}"
            );
        }
    }

    fn jwt(payload: &str) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    #[test]
    fn refresh_token_lifetime_extraction() {
        let jwt_rt = jwt(r#"{"exp":9000,"typ":"Refresh"}"#);
        // (now, refresh_expires_in, token, kept_previous, previous, want)
        type Row<'a> = (
            i64,
            Option<u64>,
            Option<&'a str>,
            bool,
            Option<u64>,
            Option<u64>,
        );
        let table: [Row; 8] = [
            (1000, Some(1800), Some("opaque"), false, None, Some(2800)),
            (1000, Some(1800), Some(&jwt_rt), false, None, Some(2800)),
            (1000, None, Some(&jwt_rt), false, None, Some(9000)),
            (1000, None, Some("opaque"), false, Some(5000), None),
            (1000, None, Some("opaque"), true, Some(5000), Some(5000)),
            (1000, Some(0), Some(&jwt_rt), false, None, None), // Keycloak offline token
            (1000, None, None, false, None, None),
            (
                1000,
                Some(15_897_600),
                Some("ghr_x"),
                false,
                None,
                Some(15_898_600),
            ),
        ];
        for (now, expires_in, token, kept, previous, want) in table {
            assert_eq!(
                refresh_expiry(UnixTime::from_secs(now), expires_in, token, kept, previous),
                want,
                "{expires_in:?} {token:?} {kept} {previous:?}"
            );
        }
    }

    #[test]
    fn access_token_expiry() {
        let t = UnixTime::from_secs(1000);
        assert_eq!(access_expiry(t, Some(3600), "opaque"), Some(4600));
        assert_eq!(access_expiry(t, None, &jwt(r#"{"exp":7000}"#)), Some(7000));
        assert_eq!(access_expiry(t, None, "opaque"), None);
        assert_eq!(access_expiry(t, Some(u64::MAX), "opaque"), Some(u64::MAX));
        assert_eq!(seconds_left(t, Some(900)), Some(0));
        assert_eq!(seconds_left(t, Some(1900)), Some(900));
    }
}
