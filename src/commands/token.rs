//! `tvlogin token`: a valid token on stdout for scripts, refreshed first when needed.

use std::io::Write;

use serde_json::json;

use crate::cli::{TokenArgs, TokenFormat};
use crate::clock::UnixTime;
use crate::config::DEFAULT_PROFILE;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{self, Context, IssuedToken, TokenKind};

/// `tvlogin token`.
pub async fn token(args: TokenArgs) -> Result<Exit, Error> {
    let ctx = Context::from_env()?;
    let profile = args
        .profile
        .clone()
        .unwrap_or_else(|| DEFAULT_PROFILE.into());
    super::helper::check_profile_exists(&ctx, &profile).await?;
    let kind = if args.id_token {
        TokenKind::Id
    } else {
        TokenKind::Access
    };
    let now = UnixTime::now();
    let issued = match session::current_token_at(&ctx, &profile, kind, args.min_ttl, now).await {
        Ok(issued) => issued,
        Err(e) => return Err(super::helper::with_login_hint(&ctx, &profile, e).await),
    };
    // A signal arrived while a refresh was finishing: it is stored; exit as asked.
    if let Some(signal) = session::critical::interrupted() {
        return Ok(Exit::Signal(signal));
    }
    super::helper::printable(&issued, "print it")?;
    let format = match (args.json, args.format) {
        (true, _) => TokenFormat::Json,
        (false, Some(format)) => format,
        (false, None) => TokenFormat::Bare,
    };
    let mut text = render(format, &issued, now);
    match format {
        TokenFormat::Header if issued.dpop_bound_access => {
            return Err(Error::Usage(format!(
                "the access token of profile {profile:?} is bound to this machine's key (DPoP): \
                 an Authorization header alone cannot work; use `tvlogin token --format dpop \
                 --method M --url URL` (or `tvlogin api URL`)"
            )));
        }
        TokenFormat::Dpop => text.push_str(&format!("\n{}", dpop_line(&args, &issued, &profile)?)),
        _ => {}
    }
    let mut out = std::io::stdout().lock();
    // A closed pipe is the reader's choice, not a failure of this command.
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    Ok(Exit::Ok)
}

/// The `DPoP: <proof>` line of `--format dpop`: a proof for `--method` and `--url`, with
/// `ath` of the token, from the session's key.
fn dpop_line(args: &TokenArgs, issued: &IssuedToken, profile: &str) -> Result<String, Error> {
    let (Some(method), Some(url)) = (args.method.as_deref(), args.url.as_deref()) else {
        return Err(Error::Usage(
            "--format dpop needs --method M and --url URL: a proof is for one request".into(),
        ));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Error::Usage(format!(
            "--method {:?} is not an HTTP method",
            crate::sanitize::escape(method)
        )));
    }
    let url = url::Url::parse(url).map_err(|e| {
        Error::Usage(format!(
            "--url {:?} is not a URL: {e}",
            crate::sanitize::escape(url)
        ))
    })?;
    let Some(key) = &issued.dpop_key else {
        return Err(Error::Usage(format!(
            "profile {profile:?} is not bound to a DPoP key; use --format header (log in with \
             --dpop for a bound session)"
        )));
    };
    let proof = key
        .proof(
            &crate::oauth::dpop::ProofRequest {
                method: &method.to_ascii_uppercase(),
                url: &url,
                access_token: Some(issued.token.secret()),
                nonce: None,
            },
            UnixTime::now(),
        )
        .map_err(|e| Error::Other(e.to_string()))?;
    Ok(format!("DPoP: {proof}"))
}

/// The `Authorization` scheme for a token type as servers spell it: RFC 6750 says
/// `Bearer`, some servers answer `bearer`; DPoP keeps its name. Anything else that is not
/// one plain word is sent as `Bearer`.
pub fn auth_scheme(token_type: &str) -> &str {
    if token_type.eq_ignore_ascii_case("bearer") || token_type.eq_ignore_ascii_case("id_token") {
        "Bearer"
    } else if token_type.eq_ignore_ascii_case("dpop") {
        "DPoP"
    } else if !token_type.is_empty()
        && token_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        token_type
    } else {
        "Bearer"
    }
}

/// The text `token --format` prints (without the final newline). `issued.token` has been
/// checked to be printable ASCII.
pub fn render(format: TokenFormat, issued: &IssuedToken, now: UnixTime) -> String {
    match format {
        TokenFormat::Bare => issued.token.secret().clone(),
        TokenFormat::Header | TokenFormat::Dpop => format!(
            "Authorization: {} {}",
            auth_scheme(&issued.token_type),
            issued.token.secret()
        ),
        // Server-given text (scope, token type) may hold characters a terminal acts on.
        TokenFormat::Json => crate::sanitize::json(&json!({
            "token": issued.token.secret(),
            "token_type": issued.token_type,
            "expires_at": issued.expires_at,
            "expires_in": session::seconds_left(now, issued.expires_at),
            "scope": issued.scope,
        })),
        TokenFormat::Env => {
            let mut text = format!(
                "export BEARER_TOKEN={}",
                crate::sanitize::shell_quote(issued.token.secret())
            );
            match issued.expires_at {
                Some(at) => text.push_str(&format!("\nexport BEARER_TOKEN_EXPIRES_AT={at}")),
                None => text.push_str("\nunset BEARER_TOKEN_EXPIRES_AT"),
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(token: &str, token_type: &str, expires_at: Option<u64>) -> IssuedToken {
        IssuedToken {
            token: token.into(),
            token_type: token_type.into(),
            expires_at,
            scope: Some("openid".into()),
            refreshed: false,
            dpop_key: None,
            dpop_bound_access: false,
        }
    }

    #[test]
    fn formats() {
        let t = issued("abc.def", "bearer", Some(1300));
        let table = [
            (TokenFormat::Bare, "abc.def".to_owned()),
            (
                TokenFormat::Header,
                "Authorization: Bearer abc.def".to_owned(),
            ),
            (
                TokenFormat::Env,
                "export BEARER_TOKEN='abc.def'\nexport BEARER_TOKEN_EXPIRES_AT=1300".to_owned(),
            ),
        ];
        for (format, want) in table {
            assert_eq!(
                render(format, &t, UnixTime::from_secs(1000)),
                want,
                "{format:?}"
            );
        }
        let json: serde_json::Value =
            serde_json::from_str(&render(TokenFormat::Json, &t, UnixTime::from_secs(1000)))
                .unwrap_or_default();
        assert_eq!(json["expires_in"], 300);
        assert_eq!(json["token"], "abc.def");
        assert_eq!(
            render(
                TokenFormat::Env,
                &issued("a'b", "Bearer", None),
                UnixTime::from_secs(0)
            ),
            "export BEARER_TOKEN='a'\\''b'\nunset BEARER_TOKEN_EXPIRES_AT"
        );
    }

    #[test]
    fn header_schemes() {
        let table = [
            ("Bearer", "Bearer"),
            ("bearer", "Bearer"),
            ("BEARER", "Bearer"),
            ("DPoP", "DPoP"),
            ("dpop", "DPoP"),
            ("MAC", "MAC"),
            ("", "Bearer"),
            ("Bearer\r\nX-Evil: 1", "Bearer"),
            ("two words", "Bearer"),
        ];
        for (token_type, want) in table {
            assert_eq!(auth_scheme(token_type), want, "{token_type:?}");
        }
    }
}
