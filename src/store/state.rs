//! The state file: non-secret metadata of one profile, `DATA_DIR/profiles/PROFILE.state.json`.
//!
//! It says where the secrets are (the backend, remembered across logouts as the profile's
//! store choice), and for a live session who it is for and when its tokens expire, so that
//! `status` never has to touch a keyring. Written atomically and privately like the file
//! store (scopes and subjects are not secret, but they are nobody else's business).
//!
//! Times are Unix seconds.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::file::{profiles_dir, read_optional, remove, write_atomic};
use super::keyring::KeyringKind;
use super::{Backend, StoreError, file_stem};
use crate::oauth::client::AuthMethod;
use crate::paths::Paths;

/// How a profile logged in, remembered in its state file after logout and after the server
/// ended the session, so that `tvlogin login --profile P` alone logs in again (flags, their
/// variables and the config file's profile still win, field by field; the server as a whole).
/// Never holds a secret: only the name of the variable a client secret came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedLogin {
    /// The issuer (discovery), when the login used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Device authorization endpoint given or preset (not discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// Token endpoint given or preset (not discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// JWKS URL given or preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Revocation endpoint given or preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Introspection endpoint given or preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// Userinfo endpoint given or preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The client id.
    pub client_id: String,
    /// How the client authenticates.
    pub auth: AuthMethod,
    /// The variable the client secret came from (its name, never its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// The scope asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The audience asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// RFC 8707 resources asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Whether http:// was allowed for non-loopback hosts.
    #[serde(default)]
    pub allow_http: bool,
    /// The HTTP timeout in seconds, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// The login flow (`device`, `browser`, `auto`); the dashboard's `l` uses it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<crate::oauth::authcode::LoginFlow>,
    /// Why the server ended the last session (it refused the refresh token), when it did:
    /// nobody logged out, and messages say so. Cleared by the next login and by a logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ended: Option<String>,
    /// DPoP as asked (`--dpop`, the profile's `dpop`); `None`: auto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<bool>,
}

impl RememberedLogin {
    /// How the profile's state says its session is gone: ended by the server (and why), or
    /// logged out. Holds the server's text as it came: escape it before showing it.
    pub fn how_it_ended(&self) -> String {
        match &self.session_ended {
            Some(why) => format!("the session was ended by the server ({why}), not by a logout"),
            None => "logged out".into(),
        }
    }
}

/// The format version written now.
pub const VERSION: u32 = 1;

/// Everything tvlogin remembers about one profile, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileState {
    /// Format version.
    pub version: u32,
    /// The profile's name (file names are encoded; this is the real name).
    pub profile: String,
    /// The store chosen for this profile; holds the secrets of `session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<Backend>,
    /// Which OS keyring, when `store` is `keyring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring: Option<KeyringKind>,
    /// The live session, if logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionMeta>,
    /// How the profile last logged in; kept after logout and after the session ended, so
    /// that `tvlogin login --profile P` alone logs in again (`logout --forget` removes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<RememberedLogin>,
}

impl ProfileState {
    /// A state with nothing in it yet.
    pub fn new(profile: &str) -> Self {
        Self {
            version: VERSION,
            profile: profile.to_owned(),
            store: None,
            keyring: None,
            session: None,
            login: None,
        }
    }
}

/// The endpoints a session needs later (refresh, revocation, display).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEndpoints {
    /// Token endpoint (refresh).
    pub token: String,
    /// Device authorization endpoint (for a new login).
    pub device_authorization: String,
    /// RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<String>,
    /// JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection: Option<String>,
    /// OpenID Connect userinfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<String>,
}

/// A logged-in session's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Bumped on every change of the tokens; a process that waited for the lock sees that
    /// someone else refreshed meanwhile.
    pub generation: u64,
    /// The issuer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The client id.
    pub client_id: String,
    /// How the client authenticates (its secret is never stored; see `client_secret_env`).
    pub auth: AuthMethod,
    /// The environment variable the client secret came from at login, if one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// Whether http:// was allowed for non-loopback hosts at login.
    #[serde(default)]
    pub allow_http: bool,
    /// Endpoints.
    pub endpoints: StoredEndpoints,
    /// `sub` of the id token (else of a JWT access token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `Name <email>` or the like, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_label: Option<String>,
    /// The granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `token_type`.
    pub token_type: String,
    /// When the login completed.
    pub obtained_at: u64,
    /// When the tokens were last refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<u64>,
    /// When the current access token was issued.
    pub access_issued_at: u64,
    /// When the access token expires, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_expires_at: Option<u64>,
    /// Whether a refresh token is stored.
    pub has_refresh_token: bool,
    /// When the refresh token expires, when the provider said (`refresh_expires_in`,
    /// `refresh_token_expires_in`, a JWT refresh token's `exp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<u64>,
    /// Whether an id token is stored.
    pub has_id_token: bool,
    /// When the id token expires (its `exp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_expires_at: Option<u64>,
    /// The thumbprint (RFC 7638 `jkt`) of the DPoP key the session is bound to; the key itself
    /// is in the store with the refresh token. `None`: a Bearer session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// Whether the access token is DPoP-bound (`token_type: DPoP`); false for servers that bind
    /// only the refresh token (Google's model), whose access tokens work as Bearer anywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access: bool,
}

/// Reserves the room the next write of `profile`'s state needs (see [`super::file::reserve`]),
/// so that a refresh is not sent when its answer could not be recorded.
pub fn reserve(paths: &Paths, profile: &str) -> Result<(), StoreError> {
    super::file::reserve(&path(paths, profile))
}

/// Deletes `profile`'s state file: its store choice and remembered login too.
pub fn forget(paths: &Paths, profile: &str) -> Result<(), StoreError> {
    remove(&path(paths, profile))
}

/// The state file of `profile`.
pub fn path(paths: &Paths, profile: &str) -> PathBuf {
    profiles_dir(paths).join(format!("{}.state.json", file_stem(profile)))
}

/// Reads the state of `profile`; `None` when there is none.
pub fn read(paths: &Paths, profile: &str) -> Result<Option<ProfileState>, StoreError> {
    let path = path(paths, profile);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let state: ProfileState = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if state.version > VERSION {
        return Err(StoreError::Corrupt {
            path,
            detail: format!(
                "format version {} is newer than this tvlogin understands",
                state.version
            ),
        });
    }
    Ok(Some(state))
}

/// Writes the state atomically. A state with neither a store choice nor a session is
/// removed instead.
pub fn write(paths: &Paths, state: &ProfileState) -> Result<(), StoreError> {
    let path = path(paths, &state.profile);
    if state.store.is_none() && state.session.is_none() && state.login.is_none() {
        return remove(&path);
    }
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    write_atomic(&path, &bytes)
}

/// Every profile with a state file, sorted by name. Unreadable files are returned as errors
/// next to the good ones, so one damaged file does not hide the others.
pub fn list(paths: &Paths) -> Vec<Result<ProfileState, StoreError>> {
    let dir = profiles_dir(paths);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<Result<ProfileState, StoreError>> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".state.json") && !n.starts_with('.'))
        })
        .map(|p| {
            let bytes = read_optional(&p)?.unwrap_or_default();
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: p.clone(),
                detail: e.to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => a.profile.cmp(&b.profile),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(a), Err(b)) => a.to_string().cmp(&b.to_string()),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_cleanup() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let paths = Paths {
            config_dir: tmp.path().join("c"),
            data_dir: tmp.path().join("d"),
        };
        assert_eq!(read(&paths, "a b").ok(), Some(None));
        let mut st = ProfileState::new("a b");
        st.store = Some(Backend::File);
        write(&paths, &st).expect("write the file");
        assert_eq!(read(&paths, "a b").ok().flatten(), Some(st.clone()));
        let listed: Vec<_> = list(&paths).into_iter().filter_map(Result::ok).collect();
        assert_eq!(listed, vec![st.clone()]);
        st.store = None;
        write(&paths, &st).expect("write the file");
        assert_eq!(read(&paths, "a b").ok(), Some(None));
    }
}
