//! Persistence: a login's tokens stored, the state file read and written off the runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::expiry::{access_expiry, jwt_exp, refresh_expiry};
use super::{critical, not_logged_in};
use crate::clock::UnixTime;
use crate::config::LoginConfig;
use crate::error::Error;
use crate::oauth::discovery::Endpoints;
use crate::oauth::dpop::DpopKey;
use crate::oauth::token::TokenResponse;
use crate::paths::Paths;
use crate::store::lock::{LOCK_WAIT, ProfileLock};
use crate::store::memory::{self, MemoryStore};
use crate::store::state::RememberedLogin;
use crate::store::state::{self, ProfileState, SessionMeta, StoredEndpoints};
use crate::store::{
    self, Backend, STORE_TIMEOUT, Secrets, Store, StoreChoice, StoreError, Stored, TokenStore,
    off_runtime,
};
use crate::token;

/// How long a write after a refresh is waited for once the server has answered: giving up
/// would lose the session, so only a store that never answers is given up on.
pub(super) const PATIENCE: Duration = Duration::from_secs(600);

// ----- login -----

/// [`persist_login`] on a task of its own: dropping the returned future (a cancelled caller)
/// does not stop the tokens from being stored and the state from being written.
pub async fn persist_login_detached(
    paths: Paths,
    config: LoginConfig,
    endpoints: Endpoints,
    tokens: TokenResponse,
    choice: StoreChoice,
    dpop_key: Option<DpopKey>,
) -> Result<Stored, Error> {
    critical::protect(critical::LOGIN_SAVE, async move {
        persist_bound_login(
            &paths,
            &config.profile,
            &config,
            &endpoints,
            &tokens,
            &choice,
            dpop_key.as_ref(),
        )
        .await
    })
    .await?
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
    persist_bound_login(paths, profile, config, endpoints, tokens, choice, None).await
}

/// [`persist_login`] of a DPoP login: its key is written with the refresh token, in the same
/// store write (the keyring's `dpop:PROFILE` entry beside `refresh:PROFILE`, or inside the
/// 0600 token file), and its thumbprint goes to the state.
pub async fn persist_bound_login(
    paths: &Paths,
    profile: &str,
    config: &LoginConfig,
    endpoints: &Endpoints,
    tokens: &TokenResponse,
    choice: &StoreChoice,
    dpop_key: Option<&DpopKey>,
) -> Result<Stored, Error> {
    let secrets = Secrets {
        dpop_key: dpop_key.cloned(),
        refresh_token: tokens.refresh_token.clone(),
        // An empty access token (an answer with only a refresh token) is none.
        access_token: Some(tokens.access_token.clone()).filter(|t| !t.secret().is_empty()),
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
    // The tokens just arrived: their lifetimes count from here.
    let mut meta = new_meta(UnixTime::now(), generation, config, endpoints, tokens);
    if let Some(key) = dpop_key {
        meta.dpop_jkt = Some(key.jkt().to_owned());
        meta.dpop_bound_access = tokens.token_type.eq_ignore_ascii_case("dpop");
    }
    let st = ProfileState {
        version: state::VERSION,
        profile: profile.to_owned(),
        store: Some(choice.backend),
        keyring: choice.keyring,
        session: Some(meta),
        login: Some(RememberedLogin::of(config)),
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
    now: UnixTime,
    generation: u64,
    config: &LoginConfig,
    endpoints: &Endpoints,
    tokens: &TokenResponse,
) -> SessionMeta {
    let token::Who {
        subject,
        label: subject_label,
    } = token::who(tokens);
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
        obtained_at: now.unsigned(),
        refreshed_at: None,
        access_issued_at: now.unsigned(),
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
        dpop_jkt: None,
        dpop_bound_access: false,
    }
}

/// Metadata after a refresh.
pub(super) fn refreshed_meta(
    now: UnixTime,
    mut meta: SessionMeta,
    tokens: &TokenResponse,
    secrets: &Secrets,
) -> SessionMeta {
    let rotated = tokens.refresh_token.is_some();
    meta.generation += 1;
    meta.refreshed_at = Some(now.unsigned());
    meta.access_issued_at = now.unsigned();
    meta.access_expires_at = access_expiry(now, tokens.expires_in, tokens.access_token.secret());
    if let Some(scope) = &tokens.scope {
        meta.scope = Some(scope.clone());
    }
    meta.token_type = tokens.token_type.clone();
    if meta.dpop_jkt.is_some() {
        meta.dpop_bound_access = tokens.token_type.eq_ignore_ascii_case("dpop");
    }
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
        let token::Who { subject, label } = token::who(tokens);
        meta.subject = subject.or(meta.subject);
        meta.subject_label = label.or(meta.subject_label);
    }
    meta
}

// ----- state file IO off the runtime -----

pub(super) async fn read_state(
    paths: &Paths,
    profile: &str,
) -> Result<Option<ProfileState>, StoreError> {
    let (paths, profile) = (paths.clone(), profile.to_owned());
    off_runtime(STORE_TIMEOUT, move || state::read(&paths, &profile))
        .await
        .unwrap_or_else(|| Err(slow_disk()))
}

/// Writes the state under the profile's lock; the writing thread keeps the lock until the
/// write ends, even when this gives up waiting for it.
pub(super) async fn write_state_locked(
    paths: &Paths,
    st: ProfileState,
    lock: &Arc<ProfileLock>,
) -> Result<(), StoreError> {
    write_state_within(paths, st, lock, STORE_TIMEOUT).await
}

async fn write_state_within(
    paths: &Paths,
    st: ProfileState,
    lock: &Arc<ProfileLock>,
    limit: Duration,
) -> Result<(), StoreError> {
    let (paths, held) = (paths.clone(), Arc::clone(lock));
    off_runtime(limit, move || {
        let result = state::write(&paths, &st);
        drop(held);
        result
    })
    .await
    .unwrap_or_else(|| Err(slow_disk()))
}

/// Writes what a refresh answer left behind: once the server has answered, a slow disk or
/// keyring is waited for (saying so after [`STORE_TIMEOUT`]) rather than given up on.
pub(super) async fn keep_secrets(
    store: &Store,
    profile: &str,
    secrets: &Secrets,
) -> Result<(), StoreError> {
    let patient = store.clone().with_timeout(PATIENCE);
    patiently(patient.save(profile, secrets), &store.location(profile)).await
}

/// What of a refresh answer can be kept, decided before anything is replaced: all of it when
/// the room reserved before the refresh ([`preflight`]) can grow to its size; otherwise the
/// new refresh token, with what still fits of the rest. The access token goes first, then the
/// id token: both are caches (the next command refreshes for a missing one), while the
/// refresh token is the session itself. The refresh token alone fits in the room reserved
/// before the request was sent, so a rotated session is kept however large the answer.
/// The second value says what was left out, and why, when something was.
pub(super) async fn fit_answer(
    store: &Store,
    profile: &str,
    secrets: &Secrets,
) -> (Secrets, Option<String>) {
    let patient = store.clone().with_timeout(PATIENCE);
    let Err(why) = patient.reserve_for(profile, secrets).await else {
        return (secrets.clone(), None);
    };
    let mut kept = Secrets {
        access_token: None,
        ..secrets.clone()
    };
    if kept.id_token.is_some() && patient.reserve_for(profile, &kept).await.is_err() {
        kept.id_token = None;
    }
    let left_out = match (
        secrets.access_token.is_some(),
        secrets.id_token.is_some() && kept.id_token.is_none(),
    ) {
        (true, true) => "the new access and id tokens",
        (true, false) => "the new access token",
        (false, _) => "the new id token",
    };
    let note = format!(
        "{left_out} did not fit in {} ({why}); the new refresh token was stored, so the \
         session goes on, but until there is room every use refreshes again",
        store.location(profile)
    );
    (kept, Some(note))
}

/// See [`keep_secrets`]: the state file, likewise.
pub(super) async fn keep_state(
    paths: &Paths,
    st: ProfileState,
    lock: &Arc<ProfileLock>,
) -> Result<(), StoreError> {
    let what = state::path(paths, &st.profile).display().to_string();
    patiently(write_state_within(paths, st, lock, PATIENCE), &what).await
}

async fn patiently<T>(
    work: impl Future<Output = Result<T, StoreError>>,
    what: &str,
) -> Result<T, StoreError> {
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        () = tokio::time::sleep(STORE_TIMEOUT) => {}
    }
    eprintln!(
        "tvlogin: {what} has not answered for {}s; still waiting, because the server has \
         already issued the new tokens and giving up now would lose them",
        STORE_TIMEOUT.as_secs()
    );
    work.await
}

/// Checks, before a refresh token is spent, that its successor can be kept: the state file's
/// room is reserved on disk, and the store answers and has room too (see
/// [`TokenStore::prepare`]). Nothing has been sent when this fails.
pub(super) async fn preflight(
    paths: &Paths,
    profile: &str,
    store: &Store,
    current: &Secrets,
) -> Result<(), Error> {
    let refuse = |e: StoreError| {
        let why = e.to_string();
        let not_sent = format!(
            "not refreshing profile {profile:?}: its new tokens could not be kept ({why}); \
             nothing was sent, the session is unchanged"
        );
        match Error::from(e) {
            Error::Usage(_) => Error::Usage(not_sent),
            _ => Error::Other(not_sent),
        }
    };
    let (p, name) = (paths.clone(), profile.to_owned());
    off_runtime(STORE_TIMEOUT, move || state::reserve(&p, &name))
        .await
        .unwrap_or_else(|| Err(slow_disk()))
        .map_err(refuse)?;
    store.prepare(profile, current).await.map_err(refuse)
}

/// What an older state's session says about how it logged in.
pub(super) fn remembered_from_meta(m: &SessionMeta) -> RememberedLogin {
    let fixed = m.issuer.is_none();
    RememberedLogin {
        issuer: m.issuer.clone(),
        device_authorization_endpoint: fixed.then(|| m.endpoints.device_authorization.clone()),
        token_endpoint: fixed.then(|| m.endpoints.token.clone()),
        jwks_uri: m.endpoints.jwks_uri.clone().filter(|_| fixed),
        revocation_endpoint: m.endpoints.revocation.clone().filter(|_| fixed),
        introspection_endpoint: m.endpoints.introspection.clone().filter(|_| fixed),
        userinfo_endpoint: m.endpoints.userinfo.clone().filter(|_| fixed),
        client_id: m.client_id.clone(),
        auth: m.auth,
        client_secret_env: m.client_secret_env.clone(),
        scope: m.scope.clone(),
        audience: None,
        resources: Vec::new(),
        allow_http: m.allow_http,
        timeout: None,
        dpop: None,
        session_ended: None,
        flow: None,
    }
}

fn slow_disk() -> StoreError {
    StoreError::Io {
        action: "gave up on",
        path: "the state file".into(),
        detail: format!("no answer within {}s", STORE_TIMEOUT.as_secs()),
    }
}

/// A profile's state with a live session, and the store holding its secrets.
pub(super) async fn open_session(
    paths: &Paths,
    profile: &str,
) -> Result<(ProfileState, SessionMeta, Store), Error> {
    let st = read_state(paths, profile).await?;
    let remembered = st.as_ref().and_then(|s| s.login.clone());
    let Some((st, meta)) = st.and_then(|st| st.session.clone().map(|m| (st, m))) else {
        return Err(not_logged_in(
            profile,
            if let Some(login) = remembered {
                format!(
                    "profile {profile:?} is not logged in ({}; how it logged in is \
                     remembered)",
                    login.how_it_ended()
                )
            } else {
                format!("profile {profile:?} is not logged in")
            },
        ));
    };
    let backend = st.store.unwrap_or(Backend::Keyring);
    if backend == Backend::Memory {
        return Err(not_logged_in(
            profile,
            format!(
                "profile {profile:?} was logged in with --store memory, which keeps nothing \
                 after that run"
            ),
        ));
    }
    let store = store::open(paths, backend, st.keyring).await?;
    Ok((st, meta, store))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// A store whose writes take longer than [`STORE_TIMEOUT`].
    struct Slow(Arc<AtomicBool>);

    impl TokenStore for Slow {
        fn backend(&self) -> Backend {
            Backend::File
        }
        fn location(&self, _: &str) -> String {
            "slow".into()
        }
        fn load(&self, _: &str) -> Result<Option<Secrets>, StoreError> {
            Ok(None)
        }
        fn save(&self, _: &str, _: &Secrets) -> Result<(), StoreError> {
            std::thread::sleep(STORE_TIMEOUT + Duration::from_millis(500));
            self.0.store(true, Ordering::SeqCst);
            Ok(())
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_answer_is_stored_even_when_the_store_is_slower_than_its_time_limit() {
        let written = Arc::new(AtomicBool::new(false));
        let store = Store::new(Arc::new(Slow(Arc::clone(&written))));
        // An ordinary write gives up after the limit…
        assert!(store.save("p", &Secrets::default()).await.is_err());
        // …but after a refresh the server may already have rotated: it is waited for.
        written.store(false, Ordering::SeqCst);
        let kept = keep_secrets(&store, "p", &Secrets::default()).await;
        assert!(kept.is_ok(), "{kept:?}");
        assert!(written.load(Ordering::SeqCst));
    }
}
