//! The keyring backend: the OS keyring through keyring-core.
//!
//! Entries (service `tvlogin`): `refresh:PROFILE` holds the refresh token and nothing else,
//! which keeps it under the Windows Credential Manager's 2560-byte blob limit; `access:PROFILE`
//! and `id:PROFILE` cache the access and id tokens with the same protection. A keyring that
//! refuses a cache entry's size (`TooLong`) simply does not cache it: `token` then refreshes
//! instead of reading it. A refresh token that does not fit is an error ("size limit").
//!
//! In the Secret Service (what `secret-tool search` and Seahorse show) each entry carries a label
//! naming it for people, `tvlogin refresh token (profile "work")`, and besides the `service` and
//! `username` attributes that find it, `application` (`tvlogin`), `profile` and `token`
//! (`refresh`, `access`, `id`), so `secret-tool search profile work` lists one profile's entries.
//!
//! Which keyring: the Keychain on macOS, the Credential Manager on Windows; on Linux the Secret
//! Service when a D-Bus session offers one, else the kernel keyutils keyring when `keyctl` is
//! allowed (it keeps keys until reboot or a few days of disuse). A store installed with
//! `keyring_core::set_default_store` (tests use keyring-core's mock store) wins over all of
//! them. Every call here blocks; [`super::Store`] runs them off the runtime with a time limit.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::secret::{AccessToken, RefreshToken};
use keyring_core::{CredentialStore, Entry, Error as KError};
use serde::{Deserialize, Serialize};

use super::{Backend, Secrets, StoreError, TokenStore};
use crate::oauth::dpop::DpopKey;
use crate::oauth::token::IdToken;

/// The keyring service name of every tvlogin entry.
pub const SERVICE: &str = "tvlogin";

/// Which OS keyring holds the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyringKind {
    /// The freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC) over D-Bus.
    SecretService,
    /// The Linux kernel's keyutils keyring (lost at reboot).
    Keyutils,
    /// The macOS Keychain.
    Keychain,
    /// The Windows Credential Manager.
    Windows,
    /// A store installed with `keyring_core::set_default_store` (tests, embedders).
    Default,
}

impl KeyringKind {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            KeyringKind::SecretService => "Secret Service",
            KeyringKind::Keyutils => "kernel keyutils, kept until reboot",
            KeyringKind::Keychain => "macOS Keychain",
            KeyringKind::Windows => "Windows Credential Manager",
            KeyringKind::Default => "keyring-core default store",
        }
    }

    /// The native keyrings of this platform, in the order they are tried.
    pub fn native() -> &'static [KeyringKind] {
        #[cfg(target_os = "linux")]
        return &[KeyringKind::SecretService, KeyringKind::Keyutils];
        #[cfg(target_os = "macos")]
        return &[KeyringKind::Keychain];
        #[cfg(target_os = "windows")]
        return &[KeyringKind::Windows];
        #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
        return &[];
    }
}

impl fmt::Display for KeyringKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a person can do about a locked Secret Service collection (the usual keyring on Linux,
/// and the one whose unlock prompt can wait unseen).
pub const UNLOCK_HINT: &str = "unlock the login keyring (log in to the desktop session, or \
     unlock it in Seahorse \"Passwords and Keys\" or KWallet Manager) and try again";

/// What a person can do about a locked `kind` of keyring.
fn unlock_hint(kind: KeyringKind) -> &'static str {
    match kind {
        KeyringKind::Keychain => {
            "unlock the login keychain (Keychain Access, or `security unlock-keychain`) and try \
             again"
        }
        KeyringKind::Windows => "sign in to Windows as this user and try again",
        _ => UNLOCK_HINT,
    }
}

/// The reason given when a keyring call did not finish in time.
pub fn timeout_reason(after: Duration) -> String {
    format!(
        "the keyring did not answer within {}s: a locked collection is most likely waiting for \
         an unlock prompt that nobody sees; {UNLOCK_HINT}",
        after.as_secs()
    )
}

/// The label people see for a tvlogin entry in a keyring's own tools.
pub fn entry_label(slot: &str, profile: &str) -> String {
    let what = match slot {
        "refresh" => "refresh token",
        "access" => "access token",
        "id" => "ID token",
        "dpop" => "DPoP key",
        "probe" => "keyring check (deleted right away)",
        other => other,
    };
    format!("tvlogin {what} (profile {profile:?})")
}

/// Builds the entry `SLOT:PROFILE` in `store`; in the Secret Service it gets its label.
fn build_entry(
    store: &CredentialStore,
    kind: KeyringKind,
    slot: &str,
    profile: &str,
) -> Result<Entry, KError> {
    let label = entry_label(slot, profile);
    // Only the Secret Service store knows the `label` modifier; the others refuse unknown ones.
    let modifiers =
        (kind == KeyringKind::SecretService).then(|| HashMap::from([("label", label.as_str())]));
    store.build(SERVICE, &format!("{slot}:{profile}"), modifiers.as_ref())
}

/// Writes `value` into `entry`, then, in the Secret Service, the attributes that let people
/// find it (see the module header).
fn write_entry(
    entry: &Entry,
    kind: KeyringKind,
    slot: &str,
    profile: &str,
    value: &str,
) -> Result<(), KError> {
    entry.set_password(value)?;
    if kind == KeyringKind::SecretService {
        let attributes = HashMap::from([
            ("application", SERVICE),
            ("profile", profile),
            ("token", slot),
        ]);
        // The secret is already kept; attributes only help people browse their keyring, so a
        // keyring that refuses them does not fail the write.
        let _ = entry.update_attributes(&attributes);
    }
    Ok(())
}

/// Opens the store of `kind` (connecting, for the Secret Service). Blocks.
fn open_kind(kind: KeyringKind) -> Result<Arc<CredentialStore>, KError> {
    match kind {
        KeyringKind::Default => keyring_core::get_default_store().ok_or(KError::NoDefaultStore),
        #[cfg(target_os = "linux")]
        KeyringKind::SecretService => {
            Ok(zbus_secret_service_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        #[cfg(target_os = "linux")]
        KeyringKind::Keyutils => {
            Ok(linux_keyutils_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        #[cfg(target_os = "macos")]
        KeyringKind::Keychain => {
            Ok(apple_native_keyring_store::keychain::Store::new()? as Arc<CredentialStore>)
        }
        #[cfg(target_os = "windows")]
        KeyringKind::Windows => {
            Ok(windows_native_keyring_store::Store::new()? as Arc<CredentialStore>)
        }
        #[allow(unreachable_patterns)]
        other => Err(KError::NotSupportedByStore(format!(
            "{} is not available on this platform",
            other.label()
        ))),
    }
}

/// One human sentence on why `kind` failed with `e`.
pub fn reason(kind: KeyringKind, e: &KError) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    match e {
        KError::TooLong(_, limit) => format!(
            "size limit: the token is longer than the {} allows ({limit} bytes)",
            kind.label()
        ),
        KError::NoStorageAccess(_) if kind == KeyringKind::Keyutils => format!(
            "keyctl denied ({text}): container seccomp profiles and sandboxes often block the \
             kernel keyring"
        ),
        KError::NoStorageAccess(_) => format!(
            "the {} refused access: the collection is locked or access was denied ({text}); \
             {}",
            kind.label(),
            unlock_hint(kind)
        ),
        KError::PlatformFailure(_) if kind == KeyringKind::SecretService => {
            let missing = ["notfound", "no such file", "connection refused", "not set"]
                .iter()
                .any(|w| lower.contains(w));
            if lower.contains("dbus_session_bus_address") || (lower.contains("bus") && missing) {
                "no D-Bus session bus (no DBUS_SESSION_BUS_ADDRESS and no /run/user/UID/bus; \
                 usual over SSH, in containers and on servers), so no Secret Service"
                    .to_owned()
            } else if lower.contains("serviceunknown") || lower.contains("org.freedesktop.secrets")
            {
                "the D-Bus session has no Secret Service (start gnome-keyring-daemon, KWallet or \
                 KeePassXC's Secret Service integration)"
                    .to_owned()
            } else {
                format!("the Secret Service failed: {text}")
            }
        }
        KError::NoDefaultStore => "no keyring store is set up".to_owned(),
        _ => format!("the {} failed: {text}", kind.label()),
    }
}

/// Finds a keyring that works for `profile`: opens it and writes, reads and deletes a probe
/// entry (a locked collection shows itself here, before the device flow, rather than after).
/// Blocks; the caller runs it off the runtime with a time limit.
pub fn probe(profile: &str) -> Result<KeyringKind, StoreError> {
    let candidates: Vec<KeyringKind> = if keyring_core::get_default_store().is_some() {
        vec![KeyringKind::Default]
    } else {
        KeyringKind::native().to_vec()
    };
    let mut why = Vec::new();
    for kind in candidates {
        match probe_kind(kind, profile) {
            Ok(()) => return Ok(kind),
            Err(reason) => why.push(if KeyringKind::native().len() > 1 {
                format!("{}: {reason}", kind.label())
            } else {
                reason
            }),
        }
    }
    Err(StoreError::KeyringUnavailable {
        reason: if why.is_empty() {
            "this platform has no supported keyring".into()
        } else {
            why.join("; ")
        },
    })
}

/// Checks one keyring; `Err` is the human reason.
pub fn probe_kind(kind: KeyringKind, profile: &str) -> Result<(), String> {
    let store = open_kind(kind).map_err(|e| reason(kind, &e))?;
    let entry =
        build_entry(store.as_ref(), kind, "probe", profile).map_err(|e| reason(kind, &e))?;
    entry
        .set_password("tvlogin keyring probe")
        .map_err(|e| reason(kind, &e))?;
    let read = entry.get_password().map_err(|e| reason(kind, &e))?;
    match entry.delete_credential() {
        Ok(()) | Err(KError::NoEntry) => {}
        Err(e) => return Err(reason(kind, &e)),
    }
    if read != "tvlogin keyring probe" {
        return Err(format!(
            "the {} returned something else than was stored",
            kind.label()
        ));
    }
    Ok(())
}

/// Secrets in an OS keyring.
pub struct KeyringStore {
    store: Arc<CredentialStore>,
    kind: KeyringKind,
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// A keyring store over any keyring-core store (tests pass `keyring_core::mock::Store`).
    pub fn with_store(store: Arc<CredentialStore>, kind: KeyringKind) -> Self {
        Self { store, kind }
    }

    /// Opens the keyring of `kind`, or when `None` the default store if one is set, else the
    /// first native keyring that opens. Blocks.
    pub fn open(kind: Option<KeyringKind>) -> Result<Self, StoreError> {
        let kinds: Vec<KeyringKind> = match kind {
            Some(k) => vec![k],
            None if keyring_core::get_default_store().is_some() => vec![KeyringKind::Default],
            None => KeyringKind::native().to_vec(),
        };
        let mut why = Vec::new();
        for kind in kinds {
            // A profile recorded in some keyring reads from that keyring; an installed
            // default store (tests) stands in for every kind.
            let opened = match keyring_core::get_default_store() {
                Some(store) => Ok(store),
                None => open_kind(kind),
            };
            match opened {
                Ok(store) => return Ok(Self { store, kind }),
                Err(e) => why.push(reason(kind, &e)),
            }
        }
        Err(StoreError::KeyringUnavailable {
            reason: if why.is_empty() {
                "this platform has no supported keyring".into()
            } else {
                why.join("; ")
            },
        })
    }

    /// Which keyring this is.
    pub fn kind(&self) -> KeyringKind {
        self.kind
    }

    fn entry(&self, slot: &str, profile: &str) -> Result<Entry, StoreError> {
        build_entry(self.store.as_ref(), self.kind, slot, profile).map_err(|e| self.unavailable(&e))
    }

    fn unavailable(&self, e: &KError) -> StoreError {
        StoreError::KeyringUnavailable {
            reason: reason(self.kind, e),
        }
    }

    fn get(&self, slot: &str, profile: &str) -> Result<Option<String>, StoreError> {
        match self.entry(slot, profile)?.get_password() {
            Ok(v) if v.is_empty() => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(KError::NoEntry) => Ok(None),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    fn remove(&self, slot: &str, profile: &str) -> Result<(), StoreError> {
        match self.entry(slot, profile)?.delete_credential() {
            Ok(()) | Err(KError::NoEntry) => Ok(()),
            Err(e) => Err(self.unavailable(&e)),
        }
    }

    /// Writes a cache entry; a keyring that finds it too long gets no cache entry instead.
    fn cache(&self, slot: &str, profile: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            None => self.remove(slot, profile),
            Some(v) => {
                match write_entry(&self.entry(slot, profile)?, self.kind, slot, profile, v) {
                    Ok(()) => Ok(()),
                    Err(KError::TooLong(..)) => self.remove(slot, profile),
                    Err(e) => Err(self.unavailable(&e)),
                }
            }
        }
    }
}

impl TokenStore for KeyringStore {
    fn backend(&self) -> Backend {
        Backend::Keyring
    }

    fn location(&self, _profile: &str) -> String {
        format!("keyring ({})", self.kind.label())
    }

    fn load(&self, profile: &str) -> Result<Option<Secrets>, StoreError> {
        let refresh = self.get("refresh", profile)?;
        let access = self.get("access", profile)?;
        let id = self.get("id", profile)?;
        let dpop = self.get("dpop", profile)?;
        if refresh.is_none() && access.is_none() && id.is_none() && dpop.is_none() {
            return Ok(None);
        }
        Ok(Some(Secrets {
            refresh_token: refresh.map(RefreshToken::new),
            access_token: access.map(AccessToken::new),
            id_token: id.map(IdToken::new),
            dpop_key: dpop.and_then(|k| DpopKey::from_stored(&k).ok()),
        }))
    }

    fn save(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        // The DPoP key before the refresh token it binds (a P-256 key is a few hundred bytes,
        // far under the Windows limit): a refresh token is never written without its key.
        match &secrets.dpop_key {
            Some(key) => write_entry(
                &self.entry("dpop", profile)?,
                self.kind,
                "dpop",
                profile,
                key.to_stored().secret(),
            )
            .map_err(|e| self.unavailable(&e))?,
            None => self.remove("dpop", profile)?,
        }
        // Then the refresh token: once it is written the session survives whatever
        // happens to the caches.
        match &secrets.refresh_token {
            Some(rt) => write_entry(
                &self.entry("refresh", profile)?,
                self.kind,
                "refresh",
                profile,
                rt.secret(),
            )
            .map_err(|e| self.unavailable(&e))?,
            None => self.remove("refresh", profile)?,
        }
        self.cache(
            "access",
            profile,
            secrets.access_token.as_ref().map(|t| t.secret().as_str()),
        )?;
        self.cache(
            "id",
            profile,
            secrets.id_token.as_ref().map(IdToken::secret),
        )
    }

    fn save_new_session(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        // Three entries cannot be replaced in one step. Empty the caches of the earlier
        // session first: if a later write fails, the profile holds the new refresh token
        // with no cached token (`token` refreshes), or the earlier session's refresh token
        // with its own tokens, never the new refresh token with the earlier access or id
        // token (perhaps of another account).
        self.remove("access", profile)?;
        self.remove("id", profile)?;
        self.save(profile, secrets)
    }

    fn delete(&self, profile: &str) -> Result<(), StoreError> {
        // Every entry is attempted; the first failure is reported.
        let results = [
            self.remove("refresh", profile),
            self.remove("access", profile),
            self.remove("id", profile),
            self.remove("dpop", profile),
        ];
        results.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_specific() {
        let boxed = |s: &str| -> keyring_core::error::PlatformError { s.to_owned().into() };
        let table = [
            (
                KeyringKind::SecretService,
                KError::PlatformFailure(boxed(
                    "Zbus(Connection(Io(NotFound, path: \"/run/user/0/bus\")))",
                )),
                "no D-Bus session bus",
            ),
            (
                KeyringKind::SecretService,
                KError::PlatformFailure(boxed("ServiceUnknown: org.freedesktop.secrets")),
                "has no Secret Service",
            ),
            (
                KeyringKind::Keyutils,
                KError::NoStorageAccess(boxed("AccessDenied")),
                "keyctl denied",
            ),
            (
                KeyringKind::SecretService,
                KError::NoStorageAccess(boxed("Locked")),
                "collection is locked",
            ),
            (
                KeyringKind::Windows,
                KError::TooLong("secret".into(), 2560),
                "size limit",
            ),
        ];
        for (kind, e, want) in table {
            let got = reason(kind, &e);
            assert!(got.contains(want), "{kind:?} {e}: {got}");
        }
    }

    #[test]
    fn a_locked_keyring_says_how_to_unlock_it() {
        let locked = reason(
            KeyringKind::SecretService,
            &KError::NoStorageAccess("SS error: prompt dismissed".to_owned().into()),
        );
        let late = timeout_reason(Duration::from_secs(5));
        for reason in [locked, late] {
            let text = StoreError::KeyringUnavailable { reason }.to_string();
            assert!(text.contains("unlock the login keyring"), "{text}");
            assert!(text.contains("--store file"), "{text}");
        }
        assert!(timeout_reason(Duration::from_secs(5)).contains("within 5s"));
    }

    #[test]
    fn labels_name_the_token_and_the_profile() {
        let table = [
            (
                "refresh",
                "work",
                "tvlogin refresh token (profile \"work\")",
            ),
            (
                "access",
                "default",
                "tvlogin access token (profile \"default\")",
            ),
            ("id", "a\"b", "tvlogin ID token (profile \"a\\\"b\")"),
        ];
        for (slot, profile, want) in table {
            assert_eq!(entry_label(slot, profile), want);
        }
    }
}
