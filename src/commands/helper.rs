//! What the credential helpers (`git-credential`, `kubectl-credential`, `docker-credential`,
//! `exec`) share: a valid access token from `session::current_token`, and — when there is no
//! usable session and a person can answer — the plain device login on that person's terminal
//! first. Without a terminal they fail at once: nothing on stdout, the hint on stderr.
//!
//! Also here: the "refused token" marker that `git-credential erase` leaves so that the next
//! `get` refreshes instead of handing git the token the server just refused.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::config::{DEFAULT_PROFILE, LoginSettings};
use crate::error::Error;
use crate::login::{OutputMode, Reporter};
use crate::session::{self, Context, IssuedToken, TokenKind};
use crate::store::Backend;
use crate::store::state;

use crate::signals::stop_requested;

/// Where a device login may be shown when a helper finds no usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// The controlling terminal (`/dev/tty`), if it can be opened: git's helpers have their
    /// stdin and stdout taken by the protocol, and their stderr may be captured.
    Tty,
    /// Standard error, when it is a terminal.
    Stderr,
    /// Nobody can answer: fail fast.
    Never,
}

impl Prompt {
    /// `Stderr` when stderr is a terminal, else `Never`.
    pub fn stderr_if_terminal() -> Self {
        if std::io::stderr().is_terminal() {
            Prompt::Stderr
        } else {
            Prompt::Never
        }
    }

    /// The terminal to write the login to, if a person can be reached there.
    fn open(self) -> Option<Box<dyn Write + Send>> {
        match self {
            Prompt::Tty => OpenOptions::new()
                .read(true)
                .write(true)
                .open(tty_path())
                .ok()
                .map(|f| Box::new(f) as Box<dyn Write + Send>),
            Prompt::Stderr => Some(Box::new(std::io::stderr())),
            Prompt::Never => None,
        }
    }
}

fn tty_path() -> &'static str {
    if cfg!(windows) { "CON" } else { "/dev/tty" }
}

/// The profile named by a flag, else `default`.
pub fn profile_or_default(profile: Option<String>) -> String {
    profile.unwrap_or_else(|| DEFAULT_PROFILE.into())
}

/// A valid access token of `profile` with at least `min_ttl` seconds left, refreshed on the
/// way. When there is no usable session (never logged in, logged out, the session ended) and
/// `prompt` reaches a person, the device login runs there first; otherwise the error is
/// [`Error::NotLoggedIn`] (exit 7, its hint names the login command).
pub async fn access_token(
    ctx: &Context,
    profile: &str,
    min_ttl: u64,
    prompt: Prompt,
) -> Result<IssuedToken, Error> {
    let first = session::current_token(ctx, profile, TokenKind::Access, min_ttl).await;
    let error = match first {
        Ok(token) => return refused_check(ctx, profile, token, min_ttl).await,
        Err(e) => e,
    };
    if !needs_login(ctx, profile, &error) {
        return Err(error);
    }
    let Some(terminal) = prompt.open() else {
        return Err(as_not_logged_in(profile, error));
    };
    login_on(ctx, profile, terminal).await?;
    session::current_token(ctx, profile, TokenKind::Access, min_ttl).await
}

/// Whether `error` from `current_token` means "log in (again)": the typed error, or — for
/// errors that predate it — a profile whose state holds no saved session after the call.
fn needs_login(ctx: &Context, profile: &str, error: &Error) -> bool {
    if matches!(error, Error::NotLoggedIn { .. }) {
        return true;
    }
    if !matches!(error, Error::Other(_)) {
        // Network, server and configuration failures are not cured by logging in.
        return false;
    }
    match state::read(&ctx.paths, profile) {
        Ok(None) => true,
        Ok(Some(st)) => st.session.is_none() || st.store == Some(Backend::Memory),
        Err(_) => false,
    }
}

/// The no-session error as exit 7 with the login hint, keeping what happened.
fn as_not_logged_in(profile: &str, error: Error) -> Error {
    match error {
        Error::NotLoggedIn { .. } => error,
        other => Error::NotLoggedIn {
            profile: profile.to_owned(),
            reason: other.to_string(),
        },
    }
}

/// Runs the plain device login for `profile` with its text on `terminal` (code, URL, link),
/// storing the tokens as `tvlogin login --profile P` would (same flags from the
/// environment, same profile settings). Ctrl-C cancels it.
async fn login_on(
    ctx: &Context,
    profile: &str,
    mut terminal: Box<dyn Write + Send>,
) -> Result<(), Error> {
    // The variables `login` honours (TVLOGIN_ISSUER, TVLOGIN_STORE, …) apply here exactly
    // as there, and so does what the profile remembers of its last login.
    let env = ctx.env.as_ref();
    let config = LoginSettings::from_env(profile, env)
        .and_then(|settings| session::login_config(&ctx.paths, settings, env, None))
        .map_err(|e| Error::NotLoggedIn {
            profile: profile.to_owned(),
            reason: format!("profile {profile:?} is not logged in, and cannot log in here: {e}"),
        })?;
    if config.store == Some(Backend::Memory) {
        return Err(Error::Usage(format!(
            "profile {profile:?} keeps its tokens in memory only, so a helper cannot keep a \
             login; log in with --store file or keyring"
        )));
    }
    let _ = writeln!(
        terminal,
        "tvlogin: profile {:?} is not logged in; signing in.",
        crate::sanitize::escape(profile)
    );
    let mut reporter = Reporter::new(OutputMode::Plain, std::io::sink(), terminal)
        .with_qr(Some(crate::qr::TextPolarity::Colors));
    crate::login::login_and_store_until(&config, &mut reporter, stop_requested()).await?;
    Ok(())
}

// ----- refused tokens -----

fn refused_path(ctx: &Context, profile: &str) -> PathBuf {
    let name: String = profile.bytes().map(|b| format!("{b:02x}")).collect();
    ctx.paths
        .data_dir
        .join("refused")
        .join(format!("{name}.sha256"))
}

fn fingerprint(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Remembers that a server refused `token` (only its SHA-256, never the token), so the next
/// helper call refreshes instead of handing it out again.
pub fn mark_refused(ctx: &Context, profile: &str, token: &str) -> Result<(), Error> {
    let path = refused_path(ctx, profile);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Other(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(&path, fingerprint(token))
        .map_err(|e| Error::Other(format!("cannot write {}: {e}", path.display())))
}

/// Hands out `token` unless it is the one marked refused: then refreshes once and returns
/// the new token. The marker is removed either way once it no longer matches.
async fn refused_check(
    ctx: &Context,
    profile: &str,
    token: IssuedToken,
    min_ttl: u64,
) -> Result<IssuedToken, Error> {
    let path = refused_path(ctx, profile);
    let Ok(marked) = std::fs::read_to_string(&path) else {
        return Ok(token);
    };
    let _ = std::fs::remove_file(&path);
    if marked.trim() != fingerprint(token.token.secret()) || token.refreshed {
        return Ok(token);
    }
    session::force_refresh(ctx, profile).await?;
    session::current_token(ctx, profile, TokenKind::Access, min_ttl).await
}

/// Refuses tokens that cannot be pasted into a header or a command's environment: a token is
/// a header value, and anything that is not printable ASCII would break the header it goes
/// into, or (on a terminal) be interpreted by it. `doing` ends the message ("print it").
pub fn printable(token: &IssuedToken, doing: &str) -> Result<(), Error> {
    let text = token.token.secret();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Protocol(format!(
            "the stored token contains characters no token may contain; refusing to {doing}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `token`, `exec` and the credential helpers hand out is one header value.
    #[test]
    fn only_printable_ascii_tokens_are_handed_out() {
        let issued = |text: &str| IssuedToken {
            token: text.into(),
            token_type: "Bearer".into(),
            expires_at: None,
            scope: None,
            refreshed: false,
        };
        for ok in [
            "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "a-._~+/=",
        ] {
            assert!(printable(&issued(ok), "print it").is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "two words",
            "tab\there",
            "esc\u{1b}[31m",
            "caf\u{e9}",
            "nl\n",
            "del\u{7f}",
        ] {
            let err = printable(&issued(bad), "print it").expect_err(bad);
            assert!(err.to_string().ends_with("refusing to print it"), "{err}");
            assert_eq!(err.exit().code(), 5, "{bad:?}");
        }
    }

    #[test]
    fn the_login_qr_code_decodes_to_the_link() {
        let url = "https://id.example.com/device?user_code=BCDF-GHJK";
        let text = crate::login::qr_text(url).unwrap_or_default();
        let rows: Vec<Vec<char>> = text
            .lines()
            .map(|l| l.replace("\x1b[30;107m", "").replace("\x1b[0m", ""))
            .map(|l| l.chars().collect())
            .collect();
        const SCALE: usize = 4;
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(
            width * SCALE,
            rows.len() * 2 * SCALE,
            |x, y| {
                let (col, module_row) = (x / SCALE, y / SCALE);
                let c = rows
                    .get(module_row / 2)
                    .and_then(|r| r.get(col))
                    .copied()
                    .unwrap_or(' ');
                let dark = match c {
                    '█' => true,
                    '▀' => module_row % 2 == 0,
                    '▄' => module_row % 2 == 1,
                    _ => false,
                };
                if dark { 0 } else { 255 }
            },
        );
        let decoded: Vec<String> = image
            .detect_grids()
            .into_iter()
            .filter_map(|g| g.decode().ok().map(|(_, t)| t))
            .collect();
        assert_eq!(decoded, vec![url.to_owned()]);
    }

    #[test]
    fn fingerprints_are_sha256_hex() {
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_missing_session_error_becomes_exit_7_with_the_hint() {
        let e = as_not_logged_in(
            "work",
            Error::Other("profile \"work\" is not logged in".into()),
        );
        assert_eq!(e.exit(), crate::exit::Exit::NotLoggedIn);
        assert_eq!(
            e.hint().as_deref(),
            Some("log in again: tvlogin login --profile work")
        );
    }
}
