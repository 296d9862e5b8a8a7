//! Where tokens live between runs: the [`TokenStore`] trait and its three backends, the
//! state file of non-secret metadata, and the cross-process lock.
//!
//! - **keyring** ([`keyring`]): the OS keyring through keyring-core — the Keychain on macOS, the
//!   Credential Manager on Windows, the Secret Service on Linux and, where no Secret Service
//!   answers, the kernel keyutils keyring (which forgets everything at reboot). One entry per
//!   token under the service `tvlogin`: `refresh:PROFILE` holds the refresh token and nothing
//!   else (so it stays under the ≈2.5 KB Windows blob limit); `access:PROFILE` and
//!   `id:PROFILE` cache the access and id tokens with the same protection, and are simply not
//!   cached when a keyring refuses their size (`token` then refreshes instead).
//! - **file** ([`mod@file`]): `DATA_DIR/profiles/PROFILE.tokens.json`, mode 0600, replaced
//!   atomically (temp file, fsync, rename, fsync of the directory). Before a refresh the temp
//!   file is reserved at full size ([`TokenStore::prepare`]), so a full disk is found out
//!   before a refresh token is spent; once the answer is in, the room is grown to its size
//!   ([`TokenStore::reserve_for`]) before anything is replaced. Files and folders other users could have written are
//!   refused before they are read ([`safety`]).
//! - **memory** ([`memory`]): this process only (tests, `demo`, one-shot runs). Nothing of a
//!   memory login reaches the disk, not even the state file; but like any login it replaces
//!   the profile's earlier session: a saved one is ended (its metadata leaves the state file,
//!   its secrets are deleted from their store), so a later `token` does not print it.
//!
//! There is no silent fallback: when the keyring is chosen and does not work, [`choose`] says
//! why ([`StoreError::KeyringUnavailable`]) and the caller offers `file` or `memory`.
//!
//! Non-secret metadata (issuer, client, endpoints, subject, scopes, expiry times, the backend)
//! lives in `DATA_DIR/profiles/PROFILE.state.json` ([`state`]); so `status` never touches a
//! keyring. Refreshes and writes of one profile are serialised across processes by
//! `DATA_DIR/profiles/PROFILE.lock` ([`lock`]).
//!
//! Every store call runs on its own thread with a time limit ([`STORE_TIMEOUT`]), so a keyring
//! waiting for an unlock prompt nobody will answer cannot hang the program or the runtime. A
//! plain thread rather than `spawn_blocking`: a runtime waits for its blocking tasks when it
//! shuts down, so an abandoned, hanging keyring call would still hang the exit.
//!
//! # API for the login TUI
//!
//! All three are `async`, `Send`, and do their blocking work off the runtime:
//!
//! 1. Before the device flow, pick and probe the store (a missing keyring is reported before
//!    anyone types a code):
//!    `store::choose(paths: &Paths, config: &LoginConfig) -> Result<StoreChoice, StoreError>`
//!    (anything that says a profile and a wanted [`Backend`]: a [`StoreRequest`]).
//!    Order: the backend asked for (`--store`, `TVLOGIN_STORE`, the profile's `store` key), then the
//!    choice remembered for the profile, then `keyring`. `Err(StoreError::KeyringUnavailable {
//!    reason })` carries a one-line human reason (no D-Bus session, locked collection, keyctl
//!    denied, size limit). [`StoreChoice::file`] and [`StoreChoice::memory`] build the
//!    alternatives to offer.
//! 2. After a successful `login::login`, persist its result:
//!    `session::persist_login(paths: &Paths, profile: &str, config: &LoginConfig, endpoints:
//!    &Endpoints, tokens: &TokenResponse, choice: &StoreChoice) -> Result<Stored, Error>`;
//!    [`Stored`] says where the tokens went (`backend` for the JSON `store` field, `location`
//!    for people). A caller that may be cancelled (Ctrl-C, a closed screen) should use
//!    `session::persist_login_detached` (same arguments, owned), which runs on a task of its
//!    own so that dropping it never stops the store write and the state write part-way.
//! 3. Remember the user's choice for the profile (used by later `choose` calls):
//!    `store::remember(paths: &Paths, profile: &str, backend: Backend) -> Result<(), StoreError>`.

pub mod file;
pub mod keyring;
pub mod lock;
pub mod memory;
pub mod safety;
pub mod state;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::secret::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::oauth::dpop::DpopKey;
use crate::oauth::token::IdToken;
use crate::paths::Paths;

pub use keyring::KeyringKind;

/// How long one store operation (a keyring read or write, a file replace) may take before
/// tvlogin gives up on it. A locked Secret Service collection can wait forever for an unlock
/// prompt that never appears on a headless machine.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which kind of store holds a profile's secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The OS keyring (Keychain, Credential Manager, Secret Service, kernel keyutils).
    Keyring,
    /// A 0600 file in the data directory.
    File,
    /// This process only.
    Memory,
}

impl Backend {
    /// The lowercase name used on the command line, in JSON and in the state file.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Keyring => "keyring",
            Backend::File => "file",
            Backend::Memory => "memory",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The secrets of one profile. Debug shows which are present, never their values.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The refresh token, if the server issued one.
    pub refresh_token: Option<RefreshToken>,
    /// The access token (a cache: a keyring may refuse to hold a large one).
    pub access_token: Option<AccessToken>,
    /// The OpenID Connect id token (a cache, like the access token).
    pub id_token: Option<IdToken>,
    /// The DPoP key the session is bound to (RFC 9449), kept with the refresh token: it lives
    /// and dies with it. A stored key that cannot be read loads as none (the session then
    /// reports its key missing, never falls back to Bearer).
    pub dpop_key: Option<DpopKey>,
}

impl PartialEq for Secrets {
    fn eq(&self, other: &Self) -> bool {
        self.refresh_token.as_ref().map(|t| t.secret())
            == other.refresh_token.as_ref().map(|t| t.secret())
            && self.access_token.as_ref().map(|t| t.secret())
                == other.access_token.as_ref().map(|t| t.secret())
            && self.id_token == other.id_token
            && self.dpop_key == other.dpop_key
    }
}

impl Eq for Secrets {}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |present: bool| if present { "[redacted]" } else { "none" };
        f.debug_struct("Secrets")
            .field("refresh_token", &shown(self.refresh_token.is_some()))
            .field("access_token", &shown(self.access_token.is_some()))
            .field("id_token", &shown(self.id_token.is_some()))
            .field("dpop_key", &self.dpop_key.as_ref().map(DpopKey::jkt))
            .finish()
    }
}

/// Why a store could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The keyring was chosen but does not work here.
    #[error(
        "the OS keyring is not available: {reason}. Keep the tokens in a private file in the \
         data directory with `--store file` (or TVLOGIN_STORE=file), or for this run only with \
         `--store memory`"
    )]
    KeyringUnavailable {
        /// One human sentence: no D-Bus session, locked collection, keyctl denied, size limit.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{action} {}: {detail}", .path.display())]
    Io {
        /// What was being done, e.g. "cannot write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's words.
        detail: String,
    },
    /// A state or token file, or a folder holding them, could have been changed by another
    /// user (StrictModes): refused before reading it.
    #[error("refusing to use {}: {problem}; run `{fix}`", .path.display())]
    Unsafe {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// The command that fixes it.
        fix: String,
    },
    /// The disk is full or over quota, the file system is read-only, or this user may not use
    /// the file or folder: nothing tvlogin can work around, and nothing is lost (a write is
    /// refused before anything is replaced), so the person is told what to fix.
    #[error("{action} {}: {detail}; {fix}", .path.display())]
    Disk {
        /// What was being done, e.g. "cannot write".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's words.
        detail: String,
        /// What the person can do about it.
        fix: &'static str,
    },
    /// A file exists but does not hold what tvlogin wrote.
    #[error("{} is damaged ({detail}); delete it and log in again", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Another process kept the profile's lock for too long.
    #[error(
        "another tvlogin process has held the lock of profile {profile:?} ({}) for {}s; try again",
        .path.display(), .waited.as_secs()
    )]
    LockTimeout {
        /// The profile.
        profile: String,
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
}

impl StoreError {
    /// A failed file operation: [`StoreError::Disk`] when the disk or folder is the problem
    /// (full, over quota, read-only, not writable), else [`StoreError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, e: &std::io::Error) -> Self {
        let (path, detail) = (path.into(), e.to_string());
        match disk_fix(e) {
            Some(fix) => StoreError::Disk {
                action,
                path,
                detail,
                fix,
            },
            None => StoreError::Io {
                action,
                path,
                detail,
            },
        }
    }

    /// Whether this is [`StoreError::Disk`]: a problem with the disk the person must fix.
    pub fn is_disk(&self) -> bool {
        matches!(self, StoreError::Disk { .. })
    }
}

/// What to do about an error that says the disk or folder cannot take the write, if it says
/// that: ENOSPC, EDQUOT, EROFS, EACCES/EPERM (and their Windows counterparts).
fn disk_fix(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::DQUOT.raw_os_error()) {
        return Some(FULL);
    }
    match e.kind() {
        ErrorKind::StorageFull => Some(FULL),
        ErrorKind::ReadOnlyFilesystem => Some(
            "the file system is mounted read-only: remount it read-write, or point \
             TVLOGIN_DATA_DIR at a writable folder",
        ),
        ErrorKind::PermissionDenied => Some(
            "this user may not use it: fix the owner or permissions of the file or its \
             folder, or point TVLOGIN_DATA_DIR at a folder of your own",
        ),
        _ => None,
    }
}

const FULL: &str = "the disk is full (or your quota is used up): free some space there, or \
                    point TVLOGIN_DATA_DIR at a folder on another disk";

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // A configuration or storage problem with a named fix: exit 2.
            StoreError::KeyringUnavailable { .. }
            | StoreError::Unsafe { .. }
            | StoreError::Disk { .. } => Error::Usage(e.to_string()),
            _ => Error::Other(e.to_string()),
        }
    }
}

/// A store of secrets, keyed by profile name. Calls block (keyrings are blocking APIs); use
/// them through [`Store`], which runs them off the async runtime with a time limit.
pub trait TokenStore: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Where the secrets are, for people: "keyring (Secret Service)", "file /path/…".
    fn location(&self, profile: &str) -> String;
    /// The profile's secrets, or `None` when there are none.
    fn load(&self, profile: &str) -> Result<Option<Secrets>, StoreError>;
    /// Replaces the profile's secrets. When this returns `Ok`, the refresh token is durable.
    fn save(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError>;
    /// Replaces the profile's secrets with those of a new session (a login, maybe of another
    /// account). Like [`TokenStore::save`], but a failure part-way must never leave the new
    /// refresh token next to the earlier session's access or id token, which `token` would
    /// then hand out. Stores that replace everything in one step need not override this.
    fn save_new_session(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        self.save(profile, secrets)
    }
    /// Deletes the profile's secrets; deleting nothing is not an error.
    fn delete(&self, profile: &str) -> Result<(), StoreError>;
    /// Makes sure the next [`TokenStore::save`] of `profile` can succeed, before a refresh
    /// token is spent: the file store reserves the room for it on disk. `current` are the
    /// secrets stored now; a store that can only find out by writing may write them again.
    fn prepare(&self, profile: &str, current: &Secrets) -> Result<(), StoreError> {
        let _ = (profile, current);
        Ok(())
    }
    /// Makes sure a [`TokenStore::save`] of exactly `secrets` needs no disk space beyond what
    /// [`TokenStore::prepare`] set aside, now that they are known (a refresh answer has
    /// arrived): the file store grows its reserved room to their size. When this fails, the
    /// room reserved before is still there, so the caller can keep what fits in it.
    fn reserve_for(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        let _ = (profile, secrets);
        Ok(())
    }
}

/// A [`TokenStore`] used from async code: each call runs on its own thread and is abandoned
/// after [`STORE_TIMEOUT`].
///
/// An abandoned call may still finish later. A store used under the profile's lock should be
/// made with [`Store::holding`]: each call's thread then keeps the lock until the call really
/// ends, so a write that outlived its time limit still happens under the lock, never after
/// another process took it over.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn TokenStore>,
    timeout: Duration,
    held: Option<Arc<lock::ProfileLock>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn TokenStore>) -> Self {
        Self {
            inner,
            timeout: STORE_TIMEOUT,
            held: None,
        }
    }

    /// Same store; every call's thread keeps `lock` held until the call ends, even when the
    /// caller gave up on it and dropped its own handle on the lock.
    pub fn holding(&self, lock: &Arc<lock::ProfileLock>) -> Self {
        Self {
            held: Some(Arc::clone(lock)),
            ..self.clone()
        }
    }

    /// Same store, another time limit (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.inner.backend()
    }

    /// Where the profile's secrets are, for people.
    pub fn location(&self, profile: &str) -> String {
        self.inner.location(profile)
    }

    /// See [`TokenStore::load`].
    pub async fn load(&self, profile: &str) -> Result<Option<Secrets>, StoreError> {
        let profile = profile.to_owned();
        self.run(move |s| s.load(&profile)).await
    }

    /// See [`TokenStore::save`].
    pub async fn save(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        let (profile, secrets) = (profile.to_owned(), secrets.clone());
        self.run(move |s| s.save(&profile, &secrets)).await
    }

    /// See [`TokenStore::save_new_session`].
    pub async fn save_new_session(
        &self,
        profile: &str,
        secrets: &Secrets,
    ) -> Result<(), StoreError> {
        let (profile, secrets) = (profile.to_owned(), secrets.clone());
        self.run(move |s| s.save_new_session(&profile, &secrets))
            .await
    }

    /// See [`TokenStore::prepare`]. A keyring is asked to write the current secrets again:
    /// a keyring that answers reads but refuses writes (a locked collection) is found out
    /// before the refresh token is spent, not after.
    pub async fn prepare(&self, profile: &str, current: &Secrets) -> Result<(), StoreError> {
        let (profile, current) = (profile.to_owned(), current.clone());
        let keyring = self.backend() == Backend::Keyring;
        self.run(move |s| {
            if keyring {
                s.save(&profile, &current)
            } else {
                s.prepare(&profile, &current)
            }
        })
        .await
    }

    /// See [`TokenStore::reserve_for`].
    pub async fn reserve_for(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        let (profile, secrets) = (profile.to_owned(), secrets.clone());
        self.run(move |s| s.reserve_for(&profile, &secrets)).await
    }

    /// See [`TokenStore::delete`].
    pub async fn delete(&self, profile: &str) -> Result<(), StoreError> {
        let profile = profile.to_owned();
        self.run(move |s| s.delete(&profile)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TokenStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        let backend = inner.backend();
        let held = self.held.clone();
        off_runtime(self.timeout, move || {
            let result = f(inner.as_ref());
            // Released only now, when the store call has really ended.
            drop(held);
            result
        })
        .await
        .unwrap_or_else(|| Err(timed_out(backend, self.timeout)))
    }
}

fn timed_out(backend: Backend, after: Duration) -> StoreError {
    match backend {
        Backend::Keyring => StoreError::KeyringUnavailable {
            reason: keyring::timeout_reason(after),
        },
        _ => StoreError::Io {
            action: "gave up on",
            path: PathBuf::from(format!("the {backend} store")),
            detail: format!("no answer within {}s", after.as_secs()),
        },
    }
}

/// Runs blocking `f` on a thread of its own and waits at most `limit` for it. `None` means
/// it did not finish in time; the thread is then left to end on its own (a plain thread, not
/// a runtime blocking task, so it cannot delay the runtime's shutdown either).
pub async fn off_runtime<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("tvlogin-store".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return None;
    }
    tokio::time::timeout(limit, rx).await.ok()?.ok()
}

/// The store a login will use, decided (and for the keyring, probed) before the flow starts.
/// Plain data: keep it in the TUI's state and hand it to `session::persist_login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreChoice {
    /// The backend.
    pub backend: Backend,
    /// Which OS keyring, when `backend` is `Keyring`.
    pub keyring: Option<KeyringKind>,
    /// Where the tokens will go, for people ("keyring (Secret Service)", "file /path").
    pub location: String,
    /// Why this backend: "--store", "remembered for this profile", "default".
    pub reason: &'static str,
}

impl StoreChoice {
    /// The file store for `profile` (no probe needed: writing it reports its own errors).
    pub fn file(paths: &Paths, profile: &str) -> Self {
        Self {
            backend: Backend::File,
            keyring: None,
            location: file::FileStore::new(paths).location(profile),
            reason: "chosen",
        }
    }

    /// This process only.
    pub fn memory() -> Self {
        Self {
            backend: Backend::Memory,
            keyring: None,
            location: memory::LOCATION.into(),
            reason: "chosen",
        }
    }
}

/// Where a login's tokens went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The backend (the JSON `tokens` event's `store` field).
    pub backend: Backend,
    /// For people: "keyring (Secret Service)", "file /home/…/default.tokens.json",
    /// "memory (this run only)".
    pub location: String,
}

/// Debug builds: when set, [`choose`] reports the keyring unavailable with this reason.
pub const NO_KEYRING_ENV: &str = "TVLOGIN_TEST_NO_KEYRING";

/// What [`choose`] needs of a login: whose tokens, and the backend asked for, if any. A
/// resolved `LoginConfig` converts into one (the configuration sits above the stores).
#[derive(Debug, Clone, Copy)]
pub struct StoreRequest<'a> {
    /// The profile the tokens are for.
    pub profile: &'a str,
    /// The explicit choice (`--store`, `TVLOGIN_STORE`, the profile's `store`), if any.
    pub backend: Option<Backend>,
}

/// Picks the store for a login of the request's profile and checks that it works: the
/// explicit choice (`--store`, `TVLOGIN_STORE`, the profile's `store`), else the one remembered
/// for the profile, else the keyring. See the module header.
pub async fn choose<'a>(
    paths: &Paths,
    request: impl Into<StoreRequest<'a>>,
) -> Result<StoreChoice, StoreError> {
    let StoreRequest { profile, backend } = request.into();
    let remembered = if backend.is_none() {
        state::read(paths, profile)?.and_then(|s| s.store)
    } else {
        None
    };
    let (backend, reason) = match (backend, remembered) {
        (Some(b), _) => (b, "asked for"),
        (None, Some(b)) => (b, "remembered for this profile"),
        (None, None) => (Backend::Keyring, "default"),
    };
    let mut choice = match backend {
        Backend::Memory => StoreChoice::memory(),
        Backend::File => {
            file::FileStore::new(paths).ensure_dir()?;
            StoreChoice::file(paths, profile)
        }
        Backend::Keyring => {
            // Debug builds only: tests of the no-keyring path must behave the same on a
            // machine whose keyring works, without touching that keyring.
            #[cfg(debug_assertions)]
            if let Some(reason) = std::env::var(NO_KEYRING_ENV).ok().filter(|r| !r.is_empty()) {
                return Err(StoreError::KeyringUnavailable { reason });
            }
            let profile = profile.to_owned();
            let kind = off_runtime(STORE_TIMEOUT * 2, move || keyring::probe(&profile))
                .await
                .unwrap_or_else(|| {
                    Err(StoreError::KeyringUnavailable {
                        reason: keyring::timeout_reason(STORE_TIMEOUT * 2),
                    })
                })?;
            StoreChoice {
                backend: Backend::Keyring,
                keyring: Some(kind),
                location: format!("keyring ({})", kind.label()),
                reason: "default",
            }
        }
    };
    choice.reason = reason;
    Ok(choice)
}

/// Remembers `backend` as the store for `profile`'s future logins (kept across logouts).
pub async fn remember(paths: &Paths, profile: &str, backend: Backend) -> Result<(), StoreError> {
    let (paths, profile) = (paths.clone(), profile.to_owned());
    off_runtime(STORE_TIMEOUT, move || {
        let mut st =
            state::read(&paths, &profile)?.unwrap_or_else(|| state::ProfileState::new(&profile));
        st.store = Some(backend);
        state::write(&paths, &st)
    })
    .await
    .unwrap_or_else(|| Err(timed_out(Backend::File, STORE_TIMEOUT)))
}

/// Opens the store that holds a profile's secrets, as recorded in its state.
pub async fn open(
    paths: &Paths,
    backend: Backend,
    keyring: Option<KeyringKind>,
) -> Result<Store, StoreError> {
    Ok(match backend {
        Backend::File => Store::new(Arc::new(file::FileStore::new(paths))),
        Backend::Memory => Store::new(Arc::new(memory::MemoryStore::global())),
        Backend::Keyring => {
            let opened = off_runtime(STORE_TIMEOUT, move || keyring::KeyringStore::open(keyring))
                .await
                .unwrap_or_else(|| {
                    Err(StoreError::KeyringUnavailable {
                        reason: keyring::timeout_reason(STORE_TIMEOUT),
                    })
                })?;
            Store::new(Arc::new(opened))
        }
    })
}

/// A profile name as a file name: ASCII letters, digits, `_` and `-` stay, every other byte
/// becomes `%XX` (so `..`, `/` and `\` can never reach a path).
pub fn file_stem(profile: &str) -> String {
    let mut out = String::with_capacity(profile.len());
    for b in profile.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_become_safe_file_names() {
        let table = [
            ("default", "default"),
            ("work-2_x", "work-2_x"),
            ("../etc", "%2E%2E%2Fetc"),
            ("a b", "a%20b"),
            ("C:\\x", "C%3A%5Cx"),
            ("ü", "%C3%BC"),
            ("", "%00"),
        ];
        for (name, want) in table {
            assert_eq!(file_stem(name), want, "{name:?}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = Secrets {
            refresh_token: Some(RefreshToken::new("rt-secret".into())),
            access_token: Some(AccessToken::new("at-secret".into())),
            id_token: None,
            dpop_key: None,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret\""), "{shown}");
        assert!(!shown.contains("rt-secret") && !shown.contains("at-secret"));
        assert!(shown.contains("none"));
    }

    #[test]
    fn keyring_unavailable_names_the_way_out_and_exits_2() {
        let e = StoreError::KeyringUnavailable {
            reason: "no D-Bus session".into(),
        };
        let text = e.to_string();
        assert!(text.contains("--store file") && text.contains("TVLOGIN_STORE=file"));
        assert_eq!(Error::from(e).exit().code(), 2);
    }

    /// A full disk, a quota, a read-only file system and a folder this user may not write
    /// are problems the person must fix: exit 2, as for the StrictModes refusals, with what
    /// to do; other IO failures stay exit 1.
    #[test]
    fn disk_problems_exit_2_with_what_to_fix() {
        use std::io::{Error as IoError, ErrorKind};
        let table = [
            (IoError::from_raw_os_error(28), 2, "the disk is full"), // ENOSPC
            (IoError::from_raw_os_error(122), 2, "the disk is full"), // EDQUOT
            (IoError::from_raw_os_error(30), 2, "read-only"),        // EROFS
            (IoError::from_raw_os_error(13), 2, "may not use it"),   // EACCES
            (IoError::from(ErrorKind::StorageFull), 2, "the disk is full"),
            (IoError::from_raw_os_error(5), 1, "Input/output error"), // EIO
            (IoError::from(ErrorKind::InvalidData), 1, "invalid data"),
        ];
        for (io, code, words) in table {
            let shown = io.to_string();
            let e = StoreError::io("cannot write", "/data/p.tokens.json", &io);
            assert_eq!(e.is_disk(), code == 2, "{shown}: {e:?}");
            let text = e.to_string();
            assert!(
                text.starts_with("cannot write /data/p.tokens.json: ") && text.contains(words),
                "{text}"
            );
            assert_eq!(Error::from(e).exit().code(), code, "{shown}");
        }
    }

    /// A store whose writes take `delay`, then record that they happened.
    struct Slow {
        delay: Duration,
        written: Arc<std::sync::atomic::AtomicBool>,
    }

    impl TokenStore for Slow {
        fn backend(&self) -> Backend {
            Backend::Keyring
        }
        fn location(&self, _profile: &str) -> String {
            "slow".into()
        }
        fn load(&self, _profile: &str) -> Result<Option<Secrets>, StoreError> {
            Ok(None)
        }
        fn save(&self, _profile: &str, _secrets: &Secrets) -> Result<(), StoreError> {
            std::thread::sleep(self.delay);
            self.written
                .store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        fn delete(&self, _profile: &str) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_abandoned_write_keeps_the_profile_lock_until_it_ends() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let paths = Paths {
            config_dir: tmp.path().join("c"),
            data_dir: tmp.path().join("d"),
        };
        let written = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let lock = Arc::new(
            lock::ProfileLock::acquire(&paths, "p", Duration::ZERO)
                .await
                .expect("take the profile lock"),
        );
        let store = Store::new(Arc::new(Slow {
            delay: Duration::from_millis(600),
            written: Arc::clone(&written),
        }))
        .with_timeout(Duration::from_millis(50))
        .holding(&lock);
        let r = store.save("p", &Secrets::default()).await;
        assert!(r.is_err(), "the call was abandoned");
        // The caller lets go of the lock, as `refresh_locked`'s caller does on the error…
        drop(store);
        drop(lock);
        // …but the write is still running, so nobody else may take the lock yet.
        let other = lock::ProfileLock::acquire(&paths, "p", Duration::from_millis(100)).await;
        assert!(
            matches!(other, Err(StoreError::LockTimeout { .. })),
            "the lock was released while the write was still running: {other:?}"
        );
        let other = lock::ProfileLock::acquire(&paths, "p", Duration::from_secs(5)).await;
        assert!(other.is_ok(), "{other:?}");
        assert!(
            written.load(std::sync::atomic::Ordering::SeqCst),
            "the lock came back only after the late write"
        );
    }

    #[tokio::test]
    async fn a_hanging_call_is_abandoned() {
        let started = std::time::Instant::now();
        let r = off_runtime(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
        })
        .await;
        assert!(r.is_none());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
