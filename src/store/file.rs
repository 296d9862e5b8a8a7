//! The file backend, and the atomic, private file writes the state file uses too.
//!
//! Secrets go to `DATA_DIR/profiles/PROFILE.tokens.json`, mode 0600 in a 0700 directory. A
//! write never edits the file in place: the new content goes to a temp file in the same
//! directory, which is flushed to disk, renamed over the old file and the directory flushed
//! too. A reader (or a process killed at any instant) therefore sees the old file or the new
//! one, never a mix or nothing. Writers hold the profile's lock ([`super::lock`]), so the temp
//! file's fixed name cannot be shared by two writers, and a temp file left by a killed
//! process is simply overwritten next time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};

use super::{Backend, Secrets, StoreError, TokenStore, file_stem};
use crate::config::Paths;
use crate::oauth::token::IdToken;

/// Test hook (debug builds only): milliseconds to pause after the temp file is durable and
/// before it is renamed into place, so a test can kill the process mid-write.
pub const PAUSE_BEFORE_RENAME_ENV: &str = "TVLOGIN_TEST_PAUSE_BEFORE_RENAME_MS";

/// The directory holding per-profile state, token and lock files.
pub fn profiles_dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("profiles")
}

/// Creates `dir` (and parents) if needed; the leaf is made private (0700) when created.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| StoreError::io("cannot create the directory", dir, &e))
}

/// Replaces `path` with `bytes` atomically; the file is private (0600 on Unix).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = write_then_rename(&tmp, path, dir, bytes);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, dir: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(tmp)
        .map_err(|e| StoreError::io("cannot write", tmp, &e))?;
    // A temp file left by a killed process keeps its old mode; make sure it is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::io("cannot restrict", tmp, &e))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io("cannot write", tmp, &e))?;
    drop(file);
    test_pause();
    fs::rename(tmp, path).map_err(|e| StoreError::io("cannot replace", path, &e))?;
    sync_dir(dir);
    Ok(())
}

#[cfg(debug_assertions)]
fn test_pause() {
    if let Some(ms) = std::env::var(PAUSE_BEFORE_RENAME_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(not(debug_assertions))]
fn test_pause() {}

/// Flushes a directory entry change (the rename) to disk. Only Unix can open a directory;
/// elsewhere the rename's durability is the file system's business.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Removes `path` (a missing file is fine) and flushes the directory.
pub fn remove(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir);
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("cannot delete", path, &e)),
    }
}

/// Reads `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("cannot read", path, &e)),
    }
}

/// The on-disk form of [`Secrets`].
#[derive(Serialize, Deserialize)]
struct TokenFile {
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// Secrets in private files in the data directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The store under `paths.data_dir`.
    pub fn new(paths: &Paths) -> Self {
        Self {
            dir: profiles_dir(paths),
        }
    }

    /// The file holding `profile`'s secrets.
    pub fn path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{}.tokens.json", file_stem(profile)))
    }

    /// Creates the directory, so a login fails before the flow when it cannot.
    pub fn ensure_dir(&self) -> Result<(), StoreError> {
        ensure_private_dir(&self.dir)
    }
}

impl TokenStore for FileStore {
    fn backend(&self) -> Backend {
        Backend::File
    }

    fn location(&self, profile: &str) -> String {
        format!("file {}", self.path(profile).display())
    }

    fn load(&self, profile: &str) -> Result<Option<Secrets>, StoreError> {
        let path = self.path(profile);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let file: TokenFile = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(Some(Secrets {
            refresh_token: non_empty(file.refresh_token).map(RefreshToken::new),
            access_token: non_empty(file.access_token).map(AccessToken::new),
            id_token: non_empty(file.id_token).map(IdToken::new),
        }))
    }

    fn save(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        let file = TokenFile {
            version: 1,
            refresh_token: secrets.refresh_token.as_ref().map(|t| t.secret().clone()),
            access_token: secrets.access_token.as_ref().map(|t| t.secret().clone()),
            id_token: secrets.id_token.as_ref().map(|t| t.secret().to_owned()),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Corrupt {
            path: self.path(profile),
            detail: e.to_string(),
        })?;
        write_atomic(&self.path(profile), &bytes)
    }

    fn delete(&self, profile: &str) -> Result<(), StoreError> {
        remove(&self.path(profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> Paths {
        Paths {
            config_dir: dir.join("config"),
            data_dir: dir.join("data"),
        }
    }

    fn secrets(rt: &str) -> Secrets {
        Secrets {
            refresh_token: Some(RefreshToken::new(rt.into())),
            access_token: Some(AccessToken::new(format!("at-{rt}"))),
            id_token: None,
        }
    }

    #[test]
    fn round_trip_private_and_atomic() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = FileStore::new(&paths(tmp.path()));
        assert_eq!(store.load("p").ok(), Some(None));
        store
            .save("p", &secrets("one"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.load("p").ok().flatten(), Some(secrets("one")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| {
                fs::metadata(p)
                    .map(|m| m.permissions().mode() & 0o777)
                    .unwrap_or(0)
            };
            assert_eq!(mode(&store.path("p")), 0o600);
            assert_eq!(mode(&store.dir), 0o700);
            // A leftover temp file with a wide mode is overwritten and made private again.
            let tmp_file = store.dir.join(".p.tokens.json.tmp");
            fs::write(&tmp_file, "junk").unwrap_or_else(|e| panic!("{e}"));
            fs::set_permissions(&tmp_file, fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // Replacement is a rename: the inode changes, the old content is never edited.
        #[cfg(unix)]
        let before = {
            use std::os::unix::fs::MetadataExt;
            fs::metadata(store.path("p")).map(|m| m.ino()).ok()
        };
        store
            .save("p", &secrets("two"))
            .unwrap_or_else(|e| panic!("{e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let after = fs::metadata(store.path("p")).map(|m| m.ino()).ok();
            assert_ne!(before, after);
            let mode = fs::metadata(store.path("p"))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        assert_eq!(store.load("p").ok().flatten(), Some(secrets("two")));
        let leftovers: Vec<_> = fs::read_dir(&store.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        store.delete("p").unwrap_or_else(|e| panic!("{e}"));
        store.delete("p").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.load("p").ok(), Some(None));
    }

    #[test]
    fn damage_is_reported_not_ignored() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = FileStore::new(&paths(tmp.path()));
        store.ensure_dir().unwrap_or_else(|e| panic!("{e}"));
        fs::write(store.path("p"), "{not json").unwrap_or_else(|e| panic!("{e}"));
        let err = store
            .load("p")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("is damaged"), "{err}");
    }
}
