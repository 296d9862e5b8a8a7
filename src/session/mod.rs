//! Sessions: a login's tokens persisted, kept fresh with safe rotation, and ended.
//!
//! Rules this module keeps:
//! - **Durable before used.** A new refresh token is written to the store (and the write has
//!   returned, which for the file store means fsynced and renamed) before the new access token
//!   is returned to anyone. The old refresh token is replaced in one step, never deleted
//!   first, so a process killed at any instant leaves either the old or the new one.
//! - **Spent only when its successor can be kept** (`refresh`). Before a refresh
//!   token is sent, the store must answer and the room for the new state must be reserved on
//!   disk; from the moment it is sent until the answer is stored, signals do not abandon it
//!   ([`critical`]), and a store that is slow to answer is waited for. An answer larger than
//!   that room gets room of its size before anything is replaced; on a disk without it, the
//!   new refresh token is kept in the room reserved and the caches that do not fit are left
//!   out (the next use refreshes again).
//! - **Never worse.** An empty refresh token in an answer is no refresh token; a new refresh
//!   token in an otherwise unusable answer is stored before the error is reported; nonsense
//!   lifetimes are unknown, not a reason to drop the answer (`oauth::refresh::judge`).
//! - **One refresh at a time.** Refreshes of a profile happen under its cross-process lock.
//!   A process that waited for the lock re-reads the store: when someone else refreshed in the
//!   meantime, it uses their token instead of spending the (rotated, now retired) refresh
//!   token a second time, which a server with replay detection would punish by revoking the
//!   whole grant.
//! - **Ended, not forgotten.** When the server ends the grant (`invalid_grant`, GitHub's
//!   `bad_refresh_token`, a bare 400/401) the tokens are deleted and the command exits 7
//!   ([`Error::NotLoggedIn`]); the profile remembers how it logged in
//!   ([`crate::store::state::RememberedLogin`]), so `tvlogin login --profile P` alone starts again.
//! - **Client secrets are never stored.** A confidential client's secret is looked up again
//!   for each refresh or revocation: from the variable named at login and only from it (unset,
//!   the command stops with exit 2 naming it); when login named none, the profile's
//!   `client_secret`, its `client_secret_env`, then `TVLOGIN_CLIENT_SECRET`.
//!
//! Layout: [`expiry`] holds the pure decisions (functions of one `now`, read once at the
//! command's edge and passed down), `persist` the store and state-file IO, `refresh` the
//! refresh, `logout` the logout, [`critical`] the signal-proof sections.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::clock::UnixTime;
use crate::config::{self, ConfigFile, Profile};
use crate::error::Error;
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::dpop::DpopKey;
use crate::oauth::http::{Http, HttpSettings};
use crate::paths::Paths;
use crate::store::lock::{LOCK_WAIT, ProfileLock};
use crate::store::state::SessionMeta;
use crate::store::{Secrets, Store};

pub mod critical;
pub mod expiry;
mod logout;
mod persist;
mod profiles;
mod refresh;
mod resolve;

pub use expiry::{
    Decision, TokenView, Why, access_expiry, decide, effective_min_ttl, jwt_exp, refresh_expiry,
    seconds_left,
};
pub use logout::{LogoutOptions, Step, StepOutcome, logout, logout_with};
use persist::open_session;
pub use persist::{persist_bound_login, persist_login, persist_login_detached};
pub use profiles::{ProfileStatus, collect};
use refresh::refresh_locked;
pub use resolve::login_config;

/// The default of `token --min-ttl`: a token with less than this left is refreshed first.
pub const DEFAULT_MIN_TTL: u64 = 60;

/// Looks up environment variables.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What a command needs to reach a profile's session: where the files are, the config file
/// (for a confidential client's secret and the HTTP timeout), and the environment.
pub struct Context {
    /// Config and data directories.
    pub paths: Paths,
    /// The parsed `config.toml`.
    pub file: ConfigFile,
    /// Environment lookup (injected so tests never touch the real environment).
    pub env: EnvLookup,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The process's real directories, config file and environment.
    pub fn from_env() -> Result<Self, Error> {
        let paths = Paths::from_env()?;
        let file = ConfigFile::load(&paths.config_file())?;
        Ok(Self {
            paths,
            file,
            env: Box::new(|var| std::env::var(var).ok()),
        })
    }

    fn profile(&self, name: &str) -> Profile {
        self.file.profiles.get(name).cloned().unwrap_or_default()
    }
}

/// The command that starts a new session for `profile`.
pub fn login_command(profile: &str) -> String {
    if profile == config::DEFAULT_PROFILE {
        "tvlogin login".into()
    } else {
        format!("tvlogin login --profile {profile}")
    }
}

/// Exit 7: `profile` has no session to use, and why.
fn not_logged_in(profile: &str, reason: String) -> Error {
    Error::NotLoggedIn {
        profile: profile.to_owned(),
        reason,
        // The commands know whether `tvlogin login --profile P` alone would work; they say
        // so (`commands::helper::with_login_hint`).
        first_login: false,
    }
}

// ----- token -----

/// Which token `token` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The access token.
    Access,
    /// The OpenID Connect id token.
    Id,
}

fn view(meta: &SessionMeta, secrets: Option<&Secrets>, kind: TokenKind) -> TokenView {
    match kind {
        TokenKind::Access => TokenView {
            present: secrets.is_some_and(|s| s.access_token.is_some()),
            expires_at: meta.access_expires_at,
            issued_at: meta.access_issued_at,
        },
        TokenKind::Id => TokenView {
            present: secrets.is_some_and(|s| s.id_token.is_some()),
            expires_at: meta.id_expires_at,
            issued_at: meta.access_issued_at,
        },
    }
}

/// A token handed to a script. Debug hides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token itself.
    pub token: crate::secret::Secret<String>,
    /// `Bearer` (or what the server said) for access tokens, `id_token` for id tokens.
    pub token_type: String,
    /// When it expires, if known.
    pub expires_at: Option<u64>,
    /// The granted scope.
    pub scope: Option<String>,
    /// Whether this call refreshed to get it.
    pub refreshed: bool,
    /// The DPoP key of a bound session (checked against the thumbprint recorded at login);
    /// `Debug` shows its thumbprint only.
    pub dpop_key: Option<DpopKey>,
    /// Whether the access token itself is DPoP-bound (`token_type: DPoP`), so that every
    /// request with it needs a proof; false for Bearer sessions and refresh-only binding.
    pub dpop_bound_access: bool,
}

/// The DPoP key of `profile`'s session: `None` for a Bearer session, the stored key when it
/// is the one recorded at login, exit 7 when it is missing or another (a session bound to a
/// key is never used as Bearer).
pub fn dpop_key_for(
    profile: &str,
    meta: &SessionMeta,
    secrets: &Secrets,
) -> Result<Option<DpopKey>, Error> {
    let Some(jkt) = &meta.dpop_jkt else {
        return Ok(None);
    };
    match &secrets.dpop_key {
        Some(key) if key.jkt() == jkt => Ok(Some(key.clone())),
        found => Err(not_logged_in(
            profile,
            format!(
                "the session of profile {profile:?} is bound to a DPoP key (jkt {jkt}) that is                  {} in its store; tokens bound to it cannot be used without it",
                if found.is_some() {
                    "not the one"
                } else {
                    "missing or unreadable"
                }
            ),
        )),
    }
}

fn issue(
    meta: &SessionMeta,
    secrets: &Secrets,
    kind: TokenKind,
    refreshed: bool,
) -> Option<IssuedToken> {
    let dpop_key = secrets.dpop_key.clone().filter(|_| meta.dpop_jkt.is_some());
    let (token, token_type, expires_at) = match kind {
        TokenKind::Access => (
            secrets.access_token.as_ref()?.secret().clone(),
            meta.token_type.clone(),
            meta.access_expires_at,
        ),
        TokenKind::Id => (
            secrets.id_token.as_ref()?.secret().to_owned(),
            "id_token".to_owned(),
            meta.id_expires_at,
        ),
    };
    Some(IssuedToken {
        token: token.into(),
        token_type,
        expires_at,
        scope: meta.scope.clone(),
        refreshed,
        dpop_key,
        dpop_bound_access: meta.dpop_bound_access && kind == TokenKind::Access,
    })
}

/// A valid token of `profile`, refreshed first when it is missing, expired or has less than
/// `min_ttl` seconds left. Never starts a login. Exit 7 ([`Error::NotLoggedIn`]) when there is
/// no session or the server has ended it. An entry edge: it reads the clock once.
pub async fn current_token(
    ctx: &Context,
    profile: &str,
    kind: TokenKind,
    min_ttl: u64,
) -> Result<IssuedToken, Error> {
    current_token_at(ctx, profile, kind, min_ttl, UnixTime::now()).await
}

/// [`current_token`] with the clock read by the caller: every decision of the call uses `now`.
pub async fn current_token_at(
    ctx: &Context,
    profile: &str,
    kind: TokenKind,
    min_ttl: u64,
    now: UnixTime,
) -> Result<IssuedToken, Error> {
    let (_, meta, store) = open_session(&ctx.paths, profile).await?;
    if kind == TokenKind::Id && !meta.has_id_token {
        // Some servers (django-oauth-toolkit) answer the device grant without an ID token
        // and send one with the first refresh: with openid granted, a refresh is worth it.
        if let Some(why) = no_id_token(profile, &meta) {
            return Err(Error::Other(why));
        }
    }
    // Fast path, no lock: the store is only ever replaced whole, so what is read is complete.
    if let Some(secrets) = store.load(profile).await?
        && dpop_key_for(profile, &meta, &secrets).map(|_| true)?
        && decide(now, &view(&meta, Some(&secrets), kind), min_ttl) == Decision::Use
        && let Some(t) = issue(&meta, &secrets, kind, false)
    {
        return Ok(t);
    }
    let lock = Arc::new(ProfileLock::acquire(&ctx.paths, profile, LOCK_WAIT).await?);
    // Re-read under the lock: another process may have refreshed while this one waited.
    let (st, fresh_meta, store) = open_session(&ctx.paths, profile).await?;
    let store = store.holding(&lock);
    let secrets = load_secrets(&store, profile).await?;
    let v = view(&fresh_meta, Some(&secrets), kind);
    let someone_refreshed = fresh_meta.generation != meta.generation
        && v.present
        && !matches!(decide(now, &v, 0), Decision::Refresh(_));
    if (someone_refreshed || decide(now, &v, min_ttl) == Decision::Use)
        && let Some(t) = issue(&fresh_meta, &secrets, kind, false)
    {
        return Ok(t);
    }
    let (meta, secrets) =
        refresh_locked(ctx, profile, &lock, st, fresh_meta, secrets, &store, now).await?;
    // A refresh answer without an id token keeps the old one, with its old expiry: never
    // hand that out once it has expired.
    if kind == TokenKind::Id
        && decide(now, &view(&meta, Some(&secrets), kind), 0) == Decision::Refresh(Why::Expired)
    {
        return Err(Error::Other(format!(
            "the id token of profile {profile:?} has expired and the provider returned no new \
             id token when the session was refreshed; run `{}` for a new one",
            login_command(profile)
        )));
    }
    match issue(&meta, &secrets, kind, true) {
        Some(t) => Ok(t),
        None if kind == TokenKind::Id => Err(Error::Other(format!(
            "the server sent no id token for profile {profile:?}, neither with the login nor \
             with a refresh just now, although the session's scope includes openid; this \
             server does not issue id tokens to this client"
        ))),
        None => Err(Error::Other(format!(
            "the server's refresh answer has no access token; run `{}` for a new session",
            login_command(profile)
        ))),
    }
}

/// Why `token --id-token` cannot get an id token for a session that holds none, or `None`
/// when a refresh may bring one: the granted scope includes `openid` (or the server did not
/// say what it granted) and there is a refresh token.
fn no_id_token(profile: &str, meta: &SessionMeta) -> Option<String> {
    let openid = meta
        .scope
        .as_deref()
        .is_none_or(|s| s.split_whitespace().any(|w| w == "openid"));
    if !openid {
        return Some(format!(
            "profile {profile:?} has no id token: the server grants one only with the openid \
             scope, and this session's scope is {:?}; run `{} --scope \"openid ...\"` for one",
            meta.scope.as_deref().unwrap_or_default(),
            login_command(profile)
        ));
    }
    if !meta.has_refresh_token {
        return Some(format!(
            "the server sent no id token with the login of profile {profile:?} although openid \
             was granted (some servers send it only with a refresh), and there is no refresh \
             token to ask again with"
        ));
    }
    None
}

/// The profile's secrets; their absence while the state says logged in means the session is
/// gone (exit 7).
async fn load_secrets(store: &Store, profile: &str) -> Result<Secrets, Error> {
    store.load(profile).await?.ok_or_else(|| {
        not_logged_in(
            profile,
            format!(
                "the tokens of profile {profile:?} are missing from {} (deleted outside \
                 tvlogin?)",
                store.location(profile),
            ),
        )
    })
}

/// What `tvlogin refresh` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    /// When the new access token expires.
    pub access_expires_at: Option<u64>,
    /// Whether the server issued a new refresh token (rotation).
    pub rotated: bool,
    /// When the refresh token expires, if known.
    pub refresh_expires_at: Option<u64>,
    /// Where the tokens are.
    pub location: String,
}

/// Refreshes `profile` now, whatever the access token's expiry. An entry edge: it reads the
/// clock once.
pub async fn force_refresh(ctx: &Context, profile: &str) -> Result<RefreshReport, Error> {
    force_refresh_at(ctx, profile, UnixTime::now()).await
}

/// [`force_refresh`] with the clock read by the caller.
pub async fn force_refresh_at(
    ctx: &Context,
    profile: &str,
    now: UnixTime,
) -> Result<RefreshReport, Error> {
    // Opened once before the lock so a missing session fails without creating a lock file.
    open_session(&ctx.paths, profile).await?;
    let lock = Arc::new(ProfileLock::acquire(&ctx.paths, profile, LOCK_WAIT).await?);
    let (st, meta, store) = open_session(&ctx.paths, profile).await?;
    let store = store.holding(&lock);
    let secrets = load_secrets(&store, profile).await?;
    let old_rt = secrets.refresh_token.as_ref().map(|t| t.secret().clone());
    let (meta, secrets) =
        refresh_locked(ctx, profile, &lock, st, meta, secrets, &store, now).await?;
    Ok(RefreshReport {
        access_expires_at: meta.access_expires_at,
        rotated: secrets.refresh_token.as_ref().map(|t| t.secret().clone()) != old_rt,
        refresh_expires_at: meta.refresh_expires_at,
        location: store.location(profile),
    })
}

/// A stored session as the inspector needs it: its metadata, its tokens, an HTTP client
/// with the session's settings, and the client for introspection (or why there is none).
#[derive(Debug)]
pub struct StoredSession {
    /// The session's metadata.
    pub meta: SessionMeta,
    /// The tokens (Debug redacts them).
    pub secrets: Secrets,
    /// HTTP with the profile's timeout and the session's `allow_http`.
    pub http: Http,
    /// The registered client, or why it cannot authenticate here (a missing secret).
    pub client: Result<OAuthClient, Error>,
}

/// Reads `profile`'s session without refreshing anything.
pub async fn stored_session(ctx: &Context, profile: &str) -> Result<StoredSession, Error> {
    let (_, meta, store) = open_session(&ctx.paths, profile).await?;
    let secrets = load_secrets(&store, profile).await?;
    let http = http_for(ctx, profile, &meta)?;
    let client = client_for(ctx, profile, &meta);
    Ok(StoredSession {
        meta,
        secrets,
        http,
        client,
    })
}

/// The client as registered at login, with its secret looked up again.
pub fn client_for(ctx: &Context, profile: &str, meta: &SessionMeta) -> Result<OAuthClient, Error> {
    let secret = config::stored_client_secret(
        meta.client_secret_env.as_deref(),
        &ctx.profile(profile),
        ctx.env.as_ref(),
    );
    if meta.auth != AuthMethod::None && secret.is_none() {
        return Err(Error::Usage(format!(
            "profile {profile:?} uses a confidential client ({}), but its secret is not \
             available: set {} (tvlogin never stores client secrets)",
            meta.auth.rfc_name(),
            meta.client_secret_env
                .as_deref()
                .unwrap_or("TVLOGIN_CLIENT_SECRET")
        )));
    }
    Ok(OAuthClient {
        id: meta.client_id.clone(),
        secret: if meta.auth == AuthMethod::None {
            None
        } else {
            secret
        },
        auth: meta.auth,
    })
}

/// The profile's request timeout (config, default 30 s).
fn timeout_for(ctx: &Context, profile: &str) -> Duration {
    Duration::from_secs(ctx.profile(profile).timeout.unwrap_or(30).max(1))
}

fn http_for(ctx: &Context, profile: &str, meta: &SessionMeta) -> Result<Http, Error> {
    Http::new(HttpSettings {
        timeout: timeout_for(ctx, profile),
        allow_http: meta.allow_http,
        ..HttpSettings::default()
    })
    .map_err(Error::Other)
}

fn parse_url(what: &str, text: &str) -> Result<Url, Error> {
    Url::parse(text)
        .map_err(|e| Error::Other(format!("the stored {what} {text:?} is not a URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_commands_name_the_profile() {
        assert_eq!(login_command("default"), "tvlogin login");
        assert_eq!(login_command("work"), "tvlogin login --profile work");
    }

    #[test]
    fn issued_tokens_hide_themselves() {
        let t = IssuedToken {
            token: "eyJsecret".into(),
            token_type: "Bearer".into(),
            expires_at: None,
            scope: None,
            refreshed: false,
            dpop_key: None,
            dpop_bound_access: false,
        };
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}
