//! The file backend, and the atomic, private file writes the state file uses too.
//!
//! Secrets go to `DATA_DIR/profiles/PROFILE.tokens.json`, mode 0600 in a 0700 directory. A
//! write never edits the file in place: the new content goes to a temp file in the same
//! directory, which is flushed to disk, renamed over the old file and the directory flushed
//! too. A reader (or a process killed at any instant) therefore sees the old file or the new
//! one, never a mix or nothing. Writers hold the profile's lock ([`super::lock`]), so the temp
//! file's fixed name cannot be shared by two writers, and a temp file left by a killed
//! process is simply overwritten next time.
//!
//! [`reserve`] writes that temp file at full size ahead of time (before a refresh is sent);
//! the write then overwrites the reserved blocks and cuts the file to its content, so it
//! needs no new disk space. Content larger than the reserve (a refresh answer with a huge
//! access token) first grows the room to its size ([`reserve_at_least`]). Reads and the temp
//! file's open never follow a symbolic link.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::secret::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};

use super::{Backend, Secrets, StoreError, TokenStore, file_stem};
use crate::oauth::dpop::DpopKey;
use crate::oauth::token::IdToken;
use crate::paths::Paths;

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

/// How much room [`reserve`] sets aside: far more than any token file or state file (JWTs
/// of a few kilobytes), so that the write after a refresh never needs new disk space.
pub const RESERVE: usize = 64 * 1024;

fn tmp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp"))
}

/// Sets aside the disk space for the next [`write_atomic`] of `path`: its temporary file is
/// written at [`RESERVE`] bytes and flushed to disk. The write then overwrites those blocks
/// instead of asking for new ones, so a full disk or a read-only folder is found out here,
/// before a refresh token is spent, not after the server has rotated it.
pub fn reserve(path: &Path) -> Result<(), StoreError> {
    reserve_at_least(path, RESERVE)
}

/// Grows the room set aside for the next [`write_atomic`] of `path` to at least `size` bytes
/// (room already there is kept, never given back): what [`reserve`] does, for content whose
/// size is known. On a disk too full for it the error says so, and the room reserved before
/// is still there for content that fits in it.
pub fn reserve_at_least(path: &Path, size: usize) -> Result<(), StoreError> {
    use std::io::{Seek, SeekFrom};
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let tmp = tmp_path(path);
    let mut file = open_private(&tmp)?;
    let reserved = file.metadata().map(|m| m.len()).unwrap_or(0);
    if reserved < size as u64 {
        // Appended: the blocks already reserved stay as they are.
        file.seek(SeekFrom::End(0))
            .and_then(|_| fill(&mut file, size - reserved as usize))
            .map_err(|e| StoreError::io("cannot reserve space in", &tmp, &e))?;
    }
    file.sync_all()
        .map_err(|e| StoreError::io("cannot reserve space in", &tmp, &e))
}

/// Writes `size` zero bytes to `out`. Separate so that a failing writer can stand in for a
/// full disk in tests.
pub fn fill(out: &mut impl Write, size: usize) -> std::io::Result<()> {
    let chunk = [0u8; 8192];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        out.write_all(&chunk[..n])?;
        left -= n;
    }
    out.flush()
}

/// `O_NOFOLLOW`, as `OpenOptionsExt::custom_flags` wants it.
#[cfg(unix)]
fn nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// Opens (creating) a private file for writing without truncating it and without following
/// a symbolic link planted in its place.
fn open_private(path: &Path) -> Result<fs::File, StoreError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(nofollow());
    }
    let file = options
        .open(path)
        .map_err(|e| StoreError::io("cannot write", path, &e))?;
    // A temp file left by a killed process keeps its old mode; make sure it is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::io("cannot restrict", path, &e))?;
    }
    Ok(file)
}

/// Replaces `path` with `bytes` atomically; the file is private (0600 on Unix).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_private_dir(dir)?;
    let tmp = tmp_path(path);
    let result = write_then_rename(&tmp, path, dir, bytes);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, dir: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    // Not truncated first: the blocks reserved by `reserve` are overwritten in place, so this
    // write needs no new disk space; the length is cut to the content afterwards.
    let mut file = open_private(tmp)?;
    file.write_all(bytes)
        .and_then(|()| file.set_len(bytes.len() as u64))
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

/// Reads `path`, `None` when it does not exist. A symbolic link in its place is refused, and
/// so are a file or folders other users could have written (see [`super::safety`]).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nofollow());
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Nothing to read, but a folder others can write is still no place for secrets.
            if let Some(dir) = path.parent() {
                super::safety::check_dir(dir)?;
            }
            return Ok(None);
        }
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(StoreError::Unsafe {
                path: path.to_path_buf(),
                problem: "it is a symbolic link, which tvlogin does not follow for its own files"
                    .into(),
                fix: format!("rm {}", path.display()),
            });
        }
        Err(e) => return Err(StoreError::io("cannot read", path, &e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| StoreError::io("cannot read", path, &e))?;
    super::safety::check_file(path, &meta)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("cannot read", path, &e))?;
    Ok(Some(bytes))
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
    /// The session's DPoP private key (`DpopKey::to_stored`), beside the refresh token it binds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_key: Option<String>,
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

    /// The file's content for `secrets`.
    fn encode(&self, profile: &str, secrets: &Secrets) -> Result<Vec<u8>, StoreError> {
        let file = TokenFile {
            version: 1,
            refresh_token: secrets.refresh_token.as_ref().map(|t| t.secret().clone()),
            access_token: secrets.access_token.as_ref().map(|t| t.secret().clone()),
            id_token: secrets.id_token.as_ref().map(|t| t.secret().to_owned()),
            dpop_key: secrets
                .dpop_key
                .as_ref()
                .map(|k| k.to_stored().into_secret()),
        };
        serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Corrupt {
            path: self.path(profile),
            detail: e.to_string(),
        })
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
            dpop_key: non_empty(file.dpop_key).and_then(|k| DpopKey::from_stored(&k).ok()),
        }))
    }

    fn save(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        write_atomic(&self.path(profile), &self.encode(profile, secrets)?)
    }

    fn delete(&self, profile: &str) -> Result<(), StoreError> {
        remove(&self.path(profile))
    }

    fn prepare(&self, profile: &str, _current: &Secrets) -> Result<(), StoreError> {
        reserve(&self.path(profile))
    }

    fn reserve_for(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        reserve_at_least(&self.path(profile), self.encode(profile, secrets)?.len())
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
            dpop_key: None,
        }
    }

    #[test]
    fn the_dpop_key_lives_in_the_token_file_with_the_refresh_token() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let store = FileStore::new(&paths(tmp.path()));
        let key = DpopKey::generate(crate::oauth::dpop::DpopAlg::Es256).expect("a key");
        let bound = Secrets {
            dpop_key: Some(key.clone()),
            ..secrets("one")
        };
        store.save("p", &bound).expect("save");
        let loaded = store.load("p").ok().flatten().expect("loaded");
        assert_eq!(loaded.dpop_key.as_ref().map(DpopKey::jkt), Some(key.jkt()));
        assert_eq!(loaded, bound);
        // Debug shows the thumbprint, never the key.
        let shown = format!("{loaded:?}");
        assert!(shown.contains(key.jkt()), "{shown}");
        assert!(
            !shown.contains(key.to_stored().secret().as_str()),
            "{shown}"
        );
        // A damaged key loads as none (the session layer then refuses the session).
        let text = fs::read_to_string(store.path("p")).expect("read");
        let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        doc["dpop_key"] = serde_json::Value::from("{\"alg\":\"ES256\",\"pkcs8\":\"AAAA\"}");
        fs::write(store.path("p"), doc.to_string()).expect("damage the key");
        let loaded = store.load("p").ok().flatten().expect("loaded");
        assert!(loaded.dpop_key.is_none());
        assert!(loaded.refresh_token.is_some());
        store.delete("p").expect("delete");
        assert!(!store.path("p").exists());
    }

    #[test]
    fn round_trip_private_and_atomic() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let store = FileStore::new(&paths(tmp.path()));
        assert_eq!(store.load("p").ok(), Some(None));
        store.save("p", &secrets("one")).expect("save the tokens");
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
            fs::write(&tmp_file, "junk").expect("write the file");
            fs::set_permissions(&tmp_file, fs::Permissions::from_mode(0o644))
                .expect("set the permissions");
        }
        // Replacement is a rename: the inode changes, the old content is never edited.
        #[cfg(unix)]
        let before = {
            use std::os::unix::fs::MetadataExt;
            fs::metadata(store.path("p")).map(|m| m.ino()).ok()
        };
        store.save("p", &secrets("two")).expect("save the tokens");
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
        store
            .prepare("p", &secrets("two"))
            .expect("prepare the save");
        store.save("p", &secrets("three")).expect("save the tokens");
        // The reserved room was overwritten and cut to the content.
        assert_eq!(store.load("p").ok().flatten(), Some(secrets("three")));
        let leftovers: Vec<_> = fs::read_dir(&store.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        store.delete("p").expect("delete the stored tokens");
        store.delete("p").expect("delete the stored tokens");
        assert_eq!(store.load("p").ok(), Some(None));
    }

    /// A writer that fails like a full disk.
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_fails_the_reservation() {
        let e = fill(&mut Full, RESERVE).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("No space left")),
            "{e:?}"
        );
        let mut sink = Vec::new();
        fill(&mut sink, RESERVE).expect("fill the reserve");
        assert_eq!(sink.len(), RESERVE);
    }

    /// The room grows to what is asked and never shrinks; the write then uses it.
    #[test]
    fn the_reserved_room_grows_to_the_content() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let store = FileStore::new(&paths(tmp.path()));
        let reserved = || {
            fs::metadata(store.dir.join(".p.tokens.json.tmp"))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        store.prepare("p", &secrets("one")).expect("reserve");
        assert_eq!(reserved(), RESERVE as u64);
        let big = Secrets {
            access_token: Some(AccessToken::new("a".repeat(3 * RESERVE))),
            ..secrets("two")
        };
        store.reserve_for("p", &big).expect("grow the room");
        let grown = reserved();
        assert!(grown > 3 * RESERVE as u64, "{grown}");
        // A smaller content keeps the room as it is.
        store.reserve_for("p", &secrets("three")).expect("reserve");
        assert_eq!(reserved(), grown);
        store.save("p", &big).expect("save into the room");
        assert_eq!(store.load("p").ok().flatten(), Some(big));
        assert_eq!(reserved(), 0, "the room became the file");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_writable_folders_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let store = FileStore::new(&paths(tmp.path()));
        store.save("p", &secrets("one")).expect("save the tokens");
        let elsewhere = tmp.path().join("elsewhere.json");
        fs::rename(store.path("p"), &elsewhere).expect("move the file away");
        std::os::unix::fs::symlink(&elsewhere, store.path("p")).expect("make the symlink");
        let e = store
            .load("p")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("symbolic link"), "{e}");
        fs::remove_file(store.path("p")).expect("remove the symlink");
        fs::rename(&elsewhere, store.path("p")).expect("move the file back");
        assert!(store.load("p").is_ok());
        fs::set_permissions(&store.dir, fs::Permissions::from_mode(0o777))
            .expect("set the permissions");
        let e = store
            .load("p")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("chmod go-w"), "{e}");
    }

    #[test]
    fn damage_is_reported_not_ignored() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let store = FileStore::new(&paths(tmp.path()));
        store.ensure_dir().expect("make the store directory");
        fs::write(store.path("p"), "{not json").expect("write a broken file");
        let err = store
            .load("p")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("is damaged"), "{err}");
    }
}
