//! What the credential helpers (`git-credential`, `kubectl-credential`, `docker-credential`,
//! `exec`) share: a valid access token from `session::current_token`, and — when there is no
//! usable session and a person can answer — the plain device login on that person's terminal
//! first. Without a terminal they fail at once: nothing on stdout, the hint on stderr.
//!
//! Also here: the "refused token" marker that `git-credential erase` leaves so that the next
//! `get` refreshes instead of handing git the token the server just refused; and, for every
//! command that takes `--profile` (`token`, `refresh`, `logout` too), hints that work: a
//! mistyped profile is refused at once with the closest known name
//! ([`check_profile_exists`]), and a profile that has never logged in and cannot with
//! `--profile` alone gets a whole `tvlogin login --issuer URL --client-id ID` line
//! ([`with_login_hint`]).

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::config::{DEFAULT_PROFILE, LoginConfig, LoginSettings};
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
        Ok(token) => return unbound(profile, refused_check(ctx, profile, token, min_ttl).await?),
        Err(e) => e,
    };
    if !needs_login(ctx, profile, &error) {
        return Err(error);
    }
    let Some(terminal) = prompt.open() else {
        return Err(with_login_hint(ctx, profile, as_not_logged_in(profile, error)).await);
    };
    login_on(ctx, profile, terminal).await?;
    unbound(
        profile,
        session::current_token(ctx, profile, TokenKind::Access, min_ttl).await?,
    )
}

/// Refuses an access token bound to this machine's key (DPoP, `token_type: DPoP`): every
/// request with it needs a fresh proof, which git, kubectl, docker and an environment
/// variable cannot carry. Sessions whose server bound only the refresh token pass.
pub fn unbound(profile: &str, token: IssuedToken) -> Result<IssuedToken, Error> {
    if token.dpop_bound_access {
        return Err(Error::Usage(format!(
            "the access token of profile {profile:?} is bound to this machine's key (DPoP): \
             each request needs a proof that this helper cannot send; call the API with \
             `tvlogin api{} URL`, or log in with --no-dpop for a Bearer session",
            if profile == crate::config::DEFAULT_PROFILE {
                String::new()
            } else {
                format!(" --profile {profile}")
            }
        )));
    }
    Ok(token)
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
            first_login: false,
        },
    }
}

/// `error`, with the hint of a first login when `profile` cannot log in with
/// `tvlogin login --profile P` alone (no server or client in its settings, the environment or
/// what it remembers): then the hint shows the whole command line, not one that would fail
/// with "no authorization server given".
pub async fn with_login_hint(ctx: &Context, profile: &str, error: Error) -> Error {
    match error {
        Error::NotLoggedIn {
            profile: named,
            reason,
            first_login: false,
        } => {
            let first_login = login_config_for(ctx, profile).await.is_err();
            Error::NotLoggedIn {
                profile: named,
                reason,
                first_login,
            }
        }
        other => other,
    }
}

// ----- profile names -----

/// Every profile tvlogin knows: config.toml's and those with a state file.
pub fn known_profiles(ctx: &Context) -> Vec<String> {
    let mut names: Vec<String> = ctx.file.profiles.keys().cloned().collect();
    names.extend(
        state::list(&ctx.paths)
            .into_iter()
            .flatten()
            .map(|st| st.profile),
    );
    names.sort();
    names.dedup();
    names
}

/// Refuses a profile nobody knows (exit 2), naming the closest known one: a mistyped
/// `--profile wrok` is caught at once instead of ending in "not logged in" and a login hint
/// that cannot work. `default` always exists (its hint says how to log in); so does a profile
/// the environment says how to log in (`TVLOGIN_ISSUER`…), which `login` would create.
pub async fn check_profile_exists(ctx: &Context, profile: &str) -> Result<(), Error> {
    if profile == DEFAULT_PROFILE || ctx.file.profiles.contains_key(profile) {
        return Ok(());
    }
    // An unreadable state file is reported by the command itself, with its path.
    if !matches!(state::read(&ctx.paths, profile), Ok(None)) {
        return Ok(());
    }
    if login_config_for(ctx, profile).await.is_ok() {
        return Ok(());
    }
    Err(Error::Usage(unknown_profile(profile, &known_profiles(ctx))))
}

/// The message for a profile that does not exist: the closest known name, else the list.
pub fn unknown_profile(profile: &str, known: &[String]) -> String {
    match closest(profile, known) {
        Some(near) => format!("no profile {profile:?}; did you mean {near:?}?"),
        None => format!(
            "no profile {profile:?} ({}); `tvlogin login --profile{} --issuer URL --client-id \
             ID` creates it",
            if known.is_empty() {
                "there are none yet".to_owned()
            } else {
                format!("profiles: {}", known.join(", "))
            },
            profile_flag_value(profile)
        ),
    }
}

/// ` NAME` as it follows `--profile` on a shell command line: as is when it is a plain word,
/// else `='quoted'` (a quoted value starting with `-` would still be read as a flag).
pub fn profile_flag_value(profile: &str) -> String {
    let plain = profile
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if plain {
        format!(" {profile}")
    } else {
        format!("={}", crate::sanitize::shell_quote(profile))
    }
}

/// The known name closest to `name` by edit distance (a swap of two neighbours counts as
/// one edit), when it is close enough to be a typo: one edit per three characters, at least
/// one. Ties go to the first in order.
pub fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&name.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// adjacent characters, each one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[at(i - 1, j)] + 1)
                .min(d[at(i, j - 1)] + 1)
                .min(d[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[at(i - 2, j - 2)] + 1);
            }
            d[at(i, j)] = best;
        }
    }
    d[at(a.len(), b.len())]
}

/// The configuration `tvlogin login --profile P` alone would use for `profile`: the variables
/// that stand in for `login`'s flags (TVLOGIN_ISSUER, TVLOGIN_STORE, …), the profile's
/// settings and what it remembers of its last login, through the one resolver.
pub(super) async fn login_config_for(ctx: &Context, profile: &str) -> Result<LoginConfig, Error> {
    let env = ctx.env.as_ref();
    let settings = LoginSettings::from_env(profile, env)?;
    session::login_config(&ctx.paths, settings, env, None)
}

/// Runs the plain device login for `profile` with its text on `terminal` (code, URL, link),
/// storing the tokens as `tvlogin login --profile P` would (same flags from the
/// environment, same profile settings, same remembered login). Ctrl-C cancels it.
async fn login_on(
    ctx: &Context,
    profile: &str,
    mut terminal: Box<dyn Write + Send>,
) -> Result<(), Error> {
    let config = login_config_for(ctx, profile)
        .await
        .map_err(|e| Error::NotLoggedIn {
            profile: profile.to_owned(),
            reason: format!("profile {profile:?} is not logged in, and cannot log in here: {e}"),
            first_login: true,
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
            dpop_key: None,
            dpop_bound_access: false,
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
    fn typos_of_profile_names_are_named() {
        let known: Vec<String> = ["default", "prod", "staging", "work"]
            .map(str::to_owned)
            .to_vec();
        let table = [
            ("wrok", Some("work")),
            ("wokr", Some("work")),
            ("Work", Some("work")),
            ("wor", Some("work")),
            ("works", Some("work")),
            ("stagign", Some("staging")),
            ("prd", Some("prod")),
            ("defualt", Some("default")),
            ("home", None),
            ("x", None),
            ("", None),
        ];
        for (name, want) in table {
            assert_eq!(closest(name, &known), want, "{name}");
        }
        assert_eq!(
            unknown_profile("wrok", &known),
            "no profile \"wrok\"; did you mean \"work\"?"
        );
        let none = unknown_profile("home", &known);
        assert!(
            none.contains("profiles: default, prod, staging, work"),
            "{none}"
        );
        assert!(
            none.contains("tvlogin login --profile home --issuer URL"),
            "{none}"
        );
        assert_eq!(profile_flag_value("-x y"), "='-x y'");
        assert!(unknown_profile("home", &[]).contains("there are none yet"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
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
