//! Sessions: a login's tokens persisted, kept fresh with safe rotation, and ended.
//!
//! Rules this module keeps:
//! - **Durable before used.** A new refresh token is written to the store (and the write has
//!   returned, which for the file store means fsynced and renamed) before the new access token
//!   is returned to anyone. The old refresh token is replaced in one step, never deleted
//!   first, so a process killed at any instant leaves either the old or the new one.
//! - **One refresh at a time.** Refreshes of a profile happen under its cross-process lock.
//!   A process that waited for the lock re-reads the store: when someone else refreshed in the
//!   meantime, it uses their token instead of spending the (rotated, now retired) refresh
//!   token a second time, which a server with replay detection would punish by revoking the
//!   whole grant.
//! - **Nothing stale.** `invalid_grant` on refresh means the session is over: its secrets and
//!   metadata are deleted (the profile's store choice stays) and the error names the login
//!   command that starts a new one.
//! - **Client secrets are never stored.** A confidential client's secret is looked up again
//!   for each refresh or revocation: from the variable named at login and only from it (unset,
//!   the command stops with exit 2 naming it); when login named none, the profile's
//!   `client_secret`, its `client_secret_env`, then `TVLOGIN_CLIENT_SECRET`.
//!
//! The decisions (is the cached token good enough, when does a token expire) are pure
//! functions of `now`, table-tested below.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::config::{self, ConfigFile, LoginConfig, Paths, Profile};
use crate::error::Error;
use crate::login::{self, Reporter};
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::discovery::Endpoints;
use crate::oauth::http::{Http, HttpSettings};
use crate::oauth::refresh;
use crate::oauth::revoke;
use crate::oauth::token::TokenResponse;
use crate::store::lock::{LOCK_WAIT, ProfileLock};
use crate::store::memory::{self, MemoryStore};
use crate::store::state::{self, ProfileState, SessionMeta, StoredEndpoints};
use crate::store::{
    self, Backend, STORE_TIMEOUT, Secrets, Store, StoreChoice, StoreError, Stored, TokenStore,
    off_runtime,
};
use crate::token;

/// The default of `token --min-ttl`: a token with less than this left is refreshed first.
pub const DEFAULT_MIN_TTL: u64 = 60;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

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

fn not_logged_in(profile: &str) -> Error {
    Error::Other(format!(
        "profile {profile:?} is not logged in; run `{}` first",
        login_command(profile)
    ))
}

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
pub fn decide(now: u64, view: &TokenView, min_ttl: u64) -> Decision {
    if !view.present {
        return Decision::Refresh(Why::Missing);
    }
    let Some(exp) = view.expires_at else {
        return Decision::Use;
    };
    let left = exp.saturating_sub(now);
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
pub fn access_expiry(now: u64, expires_in: Option<u64>, access_token: &str) -> Option<u64> {
    expires_in
        .map(|s| now.saturating_add(s))
        .or_else(|| jwt_exp(access_token))
}

/// When a refresh token expires, when the provider says so at all: `refresh_expires_in` /
/// `refresh_token_expires_in` (0 means "no expiry" at Keycloak), else a JWT refresh token's
/// `exp`, else — when the server kept the old refresh token — what was known before.
pub fn refresh_expiry(
    now: u64,
    refresh_expires_in: Option<u64>,
    refresh_token: Option<&str>,
    kept_previous: bool,
    previous: Option<u64>,
) -> Option<u64> {
    if let Some(secs) = refresh_expires_in.filter(|s| *s > 0) {
        return Some(now.saturating_add(secs));
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
pub fn seconds_left(now: u64, at: Option<u64>) -> Option<u64> {
    at.map(|at| at.saturating_sub(now))
}

// ----- login -----

/// `login` without the TUI: picks and probes the store (failing before the device flow when
/// it cannot work), runs the flow, stores the tokens, then reports where they went. Never
/// cancelled from inside; see [`login_and_store_until`] for a login that a signal may stop.
pub async fn login_and_store<O: Write, E: Write>(
    config: &LoginConfig,
    reporter: &mut Reporter<O, E>,
) -> Result<Stored, Error> {
    login_and_store_until(config, reporter, std::future::pending()).await
}

/// [`login_and_store`], stopped by `cancel` (Ctrl-C, SIGTERM) while the device flow runs:
/// then `Err(Error::Cancelled)`. Once the server has issued tokens, `cancel` is no longer
/// listened to: storing them runs to completion (on a task of its own, so even dropping this
/// future does not stop it part-way), and the result says where they went.
pub async fn login_and_store_until<O: Write, E: Write>(
    config: &LoginConfig,
    reporter: &mut Reporter<O, E>,
    cancel: impl Future<Output = ()>,
) -> Result<Stored, Error> {
    let paths = match (config.store, Paths::from_env()) {
        (_, Ok(paths)) => paths,
        // Memory needs no directories; do not fail a demo for want of a home directory.
        (Some(Backend::Memory), Err(_)) => Paths {
            config_dir: std::env::temp_dir(),
            data_dir: std::env::temp_dir(),
        },
        (_, Err(e)) => return Err(e),
    };
    let flow = async {
        let choice = store::choose(&paths, config).await?;
        let outcome = login::login(config, &mut *reporter).await?;
        Ok::<_, Error>((choice, outcome))
    };
    let (choice, outcome) = tokio::select! {
        result = flow => result?,
        () = cancel => return Err(Error::Cancelled),
    };
    let stored = persist_login_detached(
        paths,
        config.clone(),
        outcome.endpoints.clone(),
        outcome.tokens.clone(),
        choice,
    )
    .await?;
    reporter.tokens(&outcome.tokens, &config.profile, &stored);
    Ok(stored)
}

/// [`persist_login`] on a task of its own: dropping the returned future (a cancelled caller)
/// does not stop the tokens from being stored and the state from being written.
pub async fn persist_login_detached(
    paths: Paths,
    config: LoginConfig,
    endpoints: Endpoints,
    tokens: TokenResponse,
    choice: StoreChoice,
) -> Result<Stored, Error> {
    let task = tokio::spawn(async move {
        persist_login(
            &paths,
            &config.profile,
            &config,
            &endpoints,
            &tokens,
            &choice,
        )
        .await
    });
    task.await
        .map_err(|e| Error::Other(format!("storing the tokens did not finish: {e}")))?
}

/// Stores a login's result for `profile` in the chosen store, and its metadata in the state
/// file. Replaces any earlier session of the profile: the new secrets are written, then the
/// state file is pointed at them, and only then are the secrets of an earlier session in
/// another store deleted there (best effort), so the state never names a store whose secrets
/// are gone. A `memory` login writes nothing of its own to the disk, but it too ends the
/// earlier saved session (its metadata and secrets are deleted), so that a later `token`
/// does not hand out the earlier session's tokens. See `store`'s module header.
pub async fn persist_login(
    paths: &Paths,
    profile: &str,
    config: &LoginConfig,
    endpoints: &Endpoints,
    tokens: &TokenResponse,
    choice: &StoreChoice,
) -> Result<Stored, Error> {
    let secrets = Secrets {
        refresh_token: tokens.refresh_token.clone(),
        access_token: Some(tokens.access_token.clone()),
        id_token: tokens.id_token.clone(),
    };
    if choice.backend == Backend::Memory {
        end_saved_session(paths, profile).await?;
        MemoryStore::global().save(profile, &secrets)?;
        return Ok(Stored {
            backend: Backend::Memory,
            location: memory::LOCATION.into(),
        });
    }
    let store = store::open(paths, choice.backend, choice.keyring).await?;
    let lock = Arc::new(ProfileLock::acquire(paths, profile, LOCK_WAIT).await?);
    let store = store.holding(&lock);
    let previous = read_state(paths, profile).await?;
    store.save_new_session(profile, &secrets).await?;
    let generation = previous
        .as_ref()
        .and_then(|p| p.session.as_ref())
        .map_or(1, |s| s.generation + 1);
    let meta = new_meta(now(), generation, config, endpoints, tokens);
    let st = ProfileState {
        version: state::VERSION,
        profile: profile.to_owned(),
        store: Some(choice.backend),
        keyring: choice.keyring,
        session: Some(meta),
    };
    write_state_locked(paths, st, &lock).await?;
    if let Some(prev) = &previous
        && let Some(old_backend) = prev.store
        && prev.session.is_some()
        && (old_backend != choice.backend || prev.keyring != choice.keyring)
        && let Ok(old) = store::open(paths, old_backend, prev.keyring).await
    {
        // Best effort, and only now that the state no longer points there: the new session
        // is safe; a leftover is only clutter.
        let _ = old.holding(&lock).delete(profile).await;
    }
    Ok(Stored {
        backend: choice.backend,
        location: store.location(profile),
    })
}

/// Ends the profile's saved session, if it has one, before a `memory` login replaces it:
/// the state forgets it (keeping the store choice), then its secrets are deleted (best
/// effort). Nothing is created on disk when there is no saved session.
async fn end_saved_session(paths: &Paths, profile: &str) -> Result<(), Error> {
    if read_state(paths, profile)
        .await?
        .is_none_or(|st| st.session.is_none())
    {
        return Ok(());
    }
    let lock = Arc::new(ProfileLock::acquire(paths, profile, LOCK_WAIT).await?);
    let Some(mut st) = read_state(paths, profile).await? else {
        return Ok(());
    };
    if st.session.take().is_none() {
        return Ok(());
    }
    let (backend, keyring) = (st.store.unwrap_or(Backend::Keyring), st.keyring);
    write_state_locked(paths, st, &lock).await?;
    if backend != Backend::Memory
        && let Ok(old) = store::open(paths, backend, keyring).await
    {
        let _ = old.holding(&lock).delete(profile).await;
    }
    Ok(())
}

/// Metadata of a fresh login.
fn new_meta(
    now: u64,
    generation: u64,
    config: &LoginConfig,
    endpoints: &Endpoints,
    tokens: &TokenResponse,
) -> SessionMeta {
    let (subject, subject_label) = who(tokens);
    SessionMeta {
        generation,
        issuer: endpoints.issuer.clone(),
        client_id: config.client.id.clone(),
        auth: config.client.auth,
        client_secret_env: config.client_secret_env.clone(),
        allow_http: config.http.allow_http,
        endpoints: StoredEndpoints {
            token: endpoints.token.to_string(),
            device_authorization: endpoints.device_authorization.to_string(),
            revocation: endpoints.revocation.as_ref().map(Url::to_string),
            jwks_uri: endpoints.jwks_uri.as_ref().map(Url::to_string),
            introspection: endpoints.introspection.as_ref().map(Url::to_string),
            userinfo: endpoints.userinfo.as_ref().map(Url::to_string),
        },
        subject,
        subject_label,
        scope: tokens
            .scope
            .clone()
            .or_else(|| config.request.scope.clone()),
        token_type: tokens.token_type.clone(),
        obtained_at: now,
        refreshed_at: None,
        access_issued_at: now,
        access_expires_at: access_expiry(now, tokens.expires_in, tokens.access_token.secret()),
        has_refresh_token: tokens.refresh_token.is_some(),
        refresh_expires_at: refresh_expiry(
            now,
            tokens.refresh_expires_in,
            tokens.refresh_token.as_ref().map(|t| t.secret().as_str()),
            false,
            None,
        ),
        has_id_token: tokens.id_token.is_some(),
        id_expires_at: tokens.id_token.as_ref().and_then(|t| jwt_exp(t.secret())),
    }
}

/// `sub` and a display label, from the id token, else a JWT access token.
fn who(tokens: &TokenResponse) -> (Option<String>, Option<String>) {
    let claims = tokens
        .id_token
        .as_ref()
        .and_then(|t| token::unverified_claims(t.secret()))
        .or_else(|| token::unverified_claims(tokens.access_token.secret()));
    match claims {
        Some(c) => (
            c.get("sub").and_then(|v| v.as_str()).map(str::to_owned),
            token::subject_label(&c),
        ),
        None => (None, None),
    }
}

/// Metadata after a refresh.
fn refreshed_meta(
    now: u64,
    mut meta: SessionMeta,
    tokens: &TokenResponse,
    secrets: &Secrets,
) -> SessionMeta {
    let rotated = tokens.refresh_token.is_some();
    meta.generation += 1;
    meta.refreshed_at = Some(now);
    meta.access_issued_at = now;
    meta.access_expires_at = access_expiry(now, tokens.expires_in, tokens.access_token.secret());
    if let Some(scope) = &tokens.scope {
        meta.scope = Some(scope.clone());
    }
    meta.token_type = tokens.token_type.clone();
    meta.refresh_expires_at = refresh_expiry(
        now,
        tokens.refresh_expires_in,
        secrets.refresh_token.as_ref().map(|t| t.secret().as_str()),
        !rotated,
        meta.refresh_expires_at,
    );
    meta.has_refresh_token = secrets.refresh_token.is_some();
    if let Some(id) = &tokens.id_token {
        meta.has_id_token = true;
        meta.id_expires_at = jwt_exp(id.secret());
        let (subject, label) = who(tokens);
        meta.subject = subject.or(meta.subject);
        meta.subject_label = label.or(meta.subject_label);
    }
    meta
}

// ----- state file IO off the runtime -----

async fn read_state(paths: &Paths, profile: &str) -> Result<Option<ProfileState>, StoreError> {
    let (paths, profile) = (paths.clone(), profile.to_owned());
    off_runtime(STORE_TIMEOUT, move || state::read(&paths, &profile))
        .await
        .unwrap_or_else(|| Err(slow_disk()))
}

/// Writes the state under the profile's lock; the writing thread keeps the lock until the
/// write ends, even when this gives up waiting for it.
async fn write_state_locked(
    paths: &Paths,
    st: ProfileState,
    lock: &Arc<ProfileLock>,
) -> Result<(), StoreError> {
    let (paths, held) = (paths.clone(), Arc::clone(lock));
    off_runtime(STORE_TIMEOUT, move || {
        let result = state::write(&paths, &st);
        drop(held);
        result
    })
    .await
    .unwrap_or_else(|| Err(slow_disk()))
}

fn slow_disk() -> StoreError {
    StoreError::Io {
        action: "gave up on",
        path: "the state file".into(),
        detail: format!("no answer within {}s", STORE_TIMEOUT.as_secs()),
    }
}

/// A profile's state with a live session, and the store holding its secrets.
async fn open_session(
    paths: &Paths,
    profile: &str,
) -> Result<(ProfileState, SessionMeta, Store), Error> {
    let st = read_state(paths, profile).await?;
    let Some((st, meta)) = st.and_then(|st| st.session.clone().map(|m| (st, m))) else {
        return Err(not_logged_in(profile));
    };
    let backend = st.store.unwrap_or(Backend::Keyring);
    if backend == Backend::Memory {
        return Err(not_logged_in(profile));
    }
    let store = store::open(paths, backend, st.keyring).await?;
    Ok((st, meta, store))
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
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token itself.
    pub token: String,
    /// `Bearer` (or what the server said) for access tokens, `id_token` for id tokens.
    pub token_type: String,
    /// When it expires, if known.
    pub expires_at: Option<u64>,
    /// The granted scope.
    pub scope: Option<String>,
    /// Whether this call refreshed to get it.
    pub refreshed: bool,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("refreshed", &self.refreshed)
            .finish()
    }
}

fn issue(
    meta: &SessionMeta,
    secrets: &Secrets,
    kind: TokenKind,
    refreshed: bool,
) -> Option<IssuedToken> {
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
        token,
        token_type,
        expires_at,
        scope: meta.scope.clone(),
        refreshed,
    })
}

/// A valid token of `profile`, refreshed first when it is missing, expired or has less than
/// `min_ttl` seconds left. Never starts a login.
pub async fn current_token(
    ctx: &Context,
    profile: &str,
    kind: TokenKind,
    min_ttl: u64,
) -> Result<IssuedToken, Error> {
    let (_, meta, store) = open_session(&ctx.paths, profile).await?;
    if kind == TokenKind::Id && !meta.has_id_token {
        return Err(Error::Other(format!(
            "profile {profile:?} has no id token (the server issues one when the login asks for \
             the openid scope); run `{} --scope \"openid ...\"` for one",
            login_command(profile)
        )));
    }
    // Fast path, no lock: the store is only ever replaced whole, so what is read is complete.
    if let Some(secrets) = store.load(profile).await?
        && decide(now(), &view(&meta, Some(&secrets), kind), min_ttl) == Decision::Use
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
        && !matches!(decide(now(), &v, 0), Decision::Refresh(_));
    if (someone_refreshed || decide(now(), &v, min_ttl) == Decision::Use)
        && let Some(t) = issue(&fresh_meta, &secrets, kind, false)
    {
        return Ok(t);
    }
    let (meta, secrets) =
        refresh_locked(ctx, profile, &lock, st, fresh_meta, secrets, &store).await?;
    // A refresh answer without an id token keeps the old one, with its old expiry: never
    // hand that out once it has expired.
    if kind == TokenKind::Id
        && decide(now(), &view(&meta, Some(&secrets), kind), 0) == Decision::Refresh(Why::Expired)
    {
        return Err(Error::Other(format!(
            "the id token of profile {profile:?} has expired and the provider returned no new \
             id token when the session was refreshed; run `{}` for a new one",
            login_command(profile)
        )));
    }
    match issue(&meta, &secrets, kind, true) {
        Some(t) => Ok(t),
        None => Err(Error::Other(format!(
            "the server's refresh answer has no {}; run `{}` for a new session",
            match kind {
                TokenKind::Access => "access token",
                TokenKind::Id => "id token (log in with the openid scope to get one)",
            },
            login_command(profile)
        ))),
    }
}

/// The profile's secrets; their absence while the state says logged in is reported as such.
async fn load_secrets(store: &Store, profile: &str) -> Result<Secrets, Error> {
    store.load(profile).await?.ok_or_else(|| {
        Error::Other(format!(
            "the tokens of profile {profile:?} are missing from {} (deleted outside tvlogin?); \
             run `{}` for a new session",
            store.location(profile),
            login_command(profile)
        ))
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

/// Refreshes `profile` now, whatever the access token's expiry.
pub async fn force_refresh(ctx: &Context, profile: &str) -> Result<RefreshReport, Error> {
    // Opened once before the lock so a missing session fails without creating a lock file.
    open_session(&ctx.paths, profile).await?;
    let lock = Arc::new(ProfileLock::acquire(&ctx.paths, profile, LOCK_WAIT).await?);
    let (st, meta, store) = open_session(&ctx.paths, profile).await?;
    let store = store.holding(&lock);
    let secrets = load_secrets(&store, profile).await?;
    let old_rt = secrets.refresh_token.as_ref().map(|t| t.secret().clone());
    let (meta, secrets) = refresh_locked(ctx, profile, &lock, st, meta, secrets, &store).await?;
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
fn client_for(ctx: &Context, profile: &str, meta: &SessionMeta) -> Result<OAuthClient, Error> {
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

fn http_for(ctx: &Context, profile: &str, meta: &SessionMeta) -> Result<Http, Error> {
    let timeout = ctx.profile(profile).timeout.unwrap_or(30).max(1);
    Http::new(HttpSettings {
        timeout: Duration::from_secs(timeout),
        allow_http: meta.allow_http,
        ..HttpSettings::default()
    })
    .map_err(Error::Other)
}

fn parse_url(what: &str, text: &str) -> Result<Url, Error> {
    Url::parse(text)
        .map_err(|e| Error::Other(format!("the stored {what} {text:?} is not a URL: {e}")))
}

/// OAuth errors on refresh that mean the grant is gone (GitHub says `bad_refresh_token`).
const SESSION_OVER: [&str; 2] = ["invalid_grant", "bad_refresh_token"];

/// Refreshes with the lock held: server, then store (durable), then state. `store` should
/// be [`Store::holding`] `lock`, so that a store write that outlives its time limit still
/// ends under the lock.
async fn refresh_locked(
    ctx: &Context,
    profile: &str,
    lock: &Arc<ProfileLock>,
    mut st: ProfileState,
    meta: SessionMeta,
    secrets: Secrets,
    store: &Store,
) -> Result<(SessionMeta, Secrets), Error> {
    let Some(rt) = secrets.refresh_token.clone() else {
        return Err(Error::Other(format!(
            "the access token of profile {profile:?} has expired and the server issued no \
             refresh token; run `{}` for a new one",
            login_command(profile)
        )));
    };
    let client = client_for(ctx, profile, &meta)?;
    let http = http_for(ctx, profile, &meta)?;
    let token_endpoint = parse_url("token endpoint", &meta.endpoints.token)?;
    let tokens = match refresh::refresh(&http, &client, &token_endpoint, &rt, None).await {
        Ok(tokens) => tokens,
        Err(Error::Server {
            error, description, ..
        }) if SESSION_OVER.contains(&error.as_str()) => {
            // Keep nothing stale: the refresh token is dead, and so is its access token.
            let _ = store.delete(profile).await;
            st.session = None;
            let _ = write_state_locked(&ctx.paths, st, lock).await;
            return Err(Error::Other(format!(
                "the session of profile {profile:?} has ended (the server answered {error}{}); \
                 run `{}` to sign in again",
                description.map(|d| format!(": {d}")).unwrap_or_default(),
                login_command(profile)
            )));
        }
        Err(e) => return Err(e),
    };
    let new_secrets = Secrets {
        refresh_token: tokens.refresh_token.clone().or(Some(rt)),
        access_token: Some(tokens.access_token.clone()),
        id_token: tokens.id_token.clone().or(secrets.id_token),
    };
    // Durable before used: if this fails, the new access token is not handed out.
    store.save(profile, &new_secrets).await.map_err(|e| {
        Error::Other(format!(
            "the server issued new tokens but they could not be stored ({e}); if it rotated \
             the refresh token, run `{}` for a new session",
            login_command(profile)
        ))
    })?;
    let meta = refreshed_meta(now(), meta, &tokens, &new_secrets);
    st.session = Some(meta.clone());
    write_state_locked(&ctx.paths, st, lock).await?;
    Ok((meta, new_secrets))
}

// ----- logout -----

/// How one logout step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It worked.
    Done,
    /// It was not attempted, and why.
    Skipped(String),
    /// It failed, and why.
    Failed(Error),
}

/// One reported step of `logout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What was attempted, e.g. "revoke the refresh token".
    pub what: String,
    /// How it went.
    pub outcome: StepOutcome,
}

/// Revokes (RFC 7009) the refresh token, then the access token, then deletes the session
/// locally whether or not revocation worked. `report` sees each step as it ends. Returns the
/// first failure, after everything was attempted; `Ok(false)` when there was no session.
///
/// When the store cannot be opened or read (a locked or hung keyring), nothing is known to
/// revoke: both revocations are reported failed with the reason, and the session (state and
/// secrets) is kept so that a later `logout` can revoke the tokens instead of orphaning them.
pub async fn logout(
    ctx: &Context,
    profile: &str,
    report: &mut (dyn FnMut(&Step) + Send),
) -> Result<bool, Error> {
    let st = read_state(&ctx.paths, profile).await?;
    if st.is_none_or(|s| s.session.is_none()) {
        return Ok(false);
    }
    let lock = Arc::new(ProfileLock::acquire(&ctx.paths, profile, LOCK_WAIT).await?);
    let Some(mut st) = read_state(&ctx.paths, profile).await? else {
        return Ok(false);
    };
    let Some(meta) = st.session.clone() else {
        return Ok(false);
    };
    let mut first_error: Option<Error> = None;
    let mut step = |what: String, outcome: StepOutcome, first_error: &mut Option<Error>| {
        if let StepOutcome::Failed(e) = &outcome
            && first_error.is_none()
        {
            *first_error = Some(e.clone());
        }
        report(&Step { what, outcome });
    };

    let backend = st.store.unwrap_or(Backend::Keyring);
    let opened = store::open(&ctx.paths, backend, st.keyring)
        .await
        .map(|store| store.holding(&lock));
    // `Err` holds why the tokens are unknown: then nothing may be deleted.
    let secrets: Result<Secrets, String> = match &opened {
        Ok(store) => match store.load(profile).await {
            Ok(s) => Ok(s.unwrap_or_default()),
            Err(e) => {
                let why = e.to_string();
                step(
                    format!("read the tokens from {}", store.location(profile)),
                    StepOutcome::Failed(e.into()),
                    &mut first_error,
                );
                Err(why)
            }
        },
        Err(e) => {
            step(
                format!("open the {backend} store"),
                StepOutcome::Failed(e.clone().into()),
                &mut first_error,
            );
            Err(e.to_string())
        }
    };
    let secrets = match secrets {
        Ok(secrets) => secrets,
        Err(why) => {
            for name in ["refresh token", "access token"] {
                step(
                    format!("revoke the {name}"),
                    StepOutcome::Failed(Error::Other(format!(
                        "the tokens could not be read, so nothing was revoked: {why}"
                    ))),
                    &mut first_error,
                );
            }
            step(
                "delete the session".into(),
                StepOutcome::Skipped(format!(
                    "kept, so that its tokens are not left unrevoked in the store; run `tvlogin \
                     logout{}` again once the store answers",
                    if profile == config::DEFAULT_PROFILE {
                        String::new()
                    } else {
                        format!(" --profile {profile}")
                    }
                )),
                &mut first_error,
            );
            return Err(first_error.unwrap_or(Error::Other(why)));
        }
    };

    let tokens: [(&str, &str, Option<String>); 2] = [
        (
            "refresh token",
            "refresh_token",
            secrets.refresh_token.as_ref().map(|t| t.secret().clone()),
        ),
        (
            "access token",
            "access_token",
            secrets.access_token.as_ref().map(|t| t.secret().clone()),
        ),
    ];
    let endpoint = meta.endpoints.revocation.as_deref();
    let prepared = match endpoint {
        None => Err(format!(
            "profile {profile:?} has no revocation endpoint (the provider does not advertise \
             one); the tokens stay valid at the server until they expire"
        )),
        Some(url) => parse_url("revocation endpoint", url)
            .and_then(|u| {
                Ok((
                    u,
                    client_for(ctx, profile, &meta)?,
                    http_for(ctx, profile, &meta)?,
                ))
            })
            .map_err(|e| e.to_string()),
    };
    for (name, hint, value) in tokens {
        let what = format!("revoke the {name}");
        let outcome = match (&value, &prepared) {
            (None, _) => StepOutcome::Skipped(format!("no {name} is stored")),
            (Some(_), Err(why)) if endpoint.is_none() => StepOutcome::Skipped(why.clone()),
            (Some(_), Err(why)) => StepOutcome::Failed(Error::Usage(why.clone())),
            (Some(token), Ok((url, client, http))) => {
                match revoke::revoke(http, client, url, token, hint).await {
                    Ok(()) => StepOutcome::Done,
                    Err(e) => StepOutcome::Failed(e),
                }
            }
        };
        step(what, outcome, &mut first_error);
    }

    if let Ok(store) = &opened {
        let outcome = match store.delete(profile).await {
            Ok(()) => StepOutcome::Done,
            Err(e) => StepOutcome::Failed(e.into()),
        };
        step(
            format!("delete the tokens from {}", store.location(profile)),
            outcome,
            &mut first_error,
        );
    }
    st.session = None;
    let path = state::path(&ctx.paths, profile);
    let outcome = match write_state_locked(&ctx.paths, st, &lock).await {
        Ok(()) => StepOutcome::Done,
        Err(e) => StepOutcome::Failed(e.into()),
    };
    step(
        format!("delete the session metadata ({})", path.display()),
        outcome,
        &mut first_error,
    );
    match first_error {
        Some(e) => Err(e),
        None => Ok(true),
    }
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
                decide(now, &view, min_ttl),
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
            u64,
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
                refresh_expiry(now, expires_in, token, kept, previous),
                want,
                "{expires_in:?} {token:?} {kept} {previous:?}"
            );
        }
    }

    #[test]
    fn access_token_expiry() {
        assert_eq!(access_expiry(1000, Some(3600), "opaque"), Some(4600));
        assert_eq!(
            access_expiry(1000, None, &jwt(r#"{"exp":7000}"#)),
            Some(7000)
        );
        assert_eq!(access_expiry(1000, None, "opaque"), None);
        assert_eq!(seconds_left(1000, Some(900)), Some(0));
        assert_eq!(seconds_left(1000, Some(1900)), Some(900));
    }

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
        };
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}
