//! `tvlogin token`: a valid token on stdout for scripts, refreshed first when needed.

use std::io::Write;

use serde_json::json;

use crate::cli::TokenArgs;
use crate::config::DEFAULT_PROFILE;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{self, Context, TokenKind};

/// `tvlogin token`.
pub async fn token(args: TokenArgs) -> Result<Exit, Error> {
    let ctx = Context::from_env()?;
    let profile = args.profile.unwrap_or_else(|| DEFAULT_PROFILE.into());
    let kind = if args.id_token {
        TokenKind::Id
    } else {
        TokenKind::Access
    };
    let issued = session::current_token(&ctx, &profile, kind, args.min_ttl).await?;
    // A token is a header value: anything that is not printable ASCII would break the header
    // it is pasted into, or (on a terminal) be interpreted by it.
    if issued.token.is_empty() || !issued.token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Protocol(
            "the stored token contains characters no token may contain; refusing to print it"
                .into(),
        ));
    }
    let text = if args.json {
        crate::sanitize::json_output(
            &json!({
                "token": issued.token,
                "token_type": issued.token_type,
                "expires_at": issued.expires_at,
                "expires_in": session::seconds_left(session::now(), issued.expires_at),
                "scope": issued.scope,
            })
            .to_string(),
        )
    } else {
        issued.token
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe is the reader's choice, not a failure of this command.
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    Ok(Exit::Ok)
}
