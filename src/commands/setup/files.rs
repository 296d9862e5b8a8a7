//! The file side of `setup`: other programs' files are read through symbolic links and
//! written to the link's target (a temporary file beside it, fsync, rename, the old mode
//! kept), backed up before a forced change, and locked the way their owner locks them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Error;

/// How long `setup` waits for another program's lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The file's bytes, `None` when it does not exist (links followed).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Other(format!("cannot read {}: {e}", path.display()))),
    }
}

/// `read_optional` as UTF-8 text.
pub fn read_text(path: &Path) -> Result<Option<String>, Error> {
    match read_optional(path)? {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::Usage(format!("{} is not UTF-8 text", path.display()))),
    }
}

/// The file a chain of symbolic links ends at (the path itself when it is no link). The
/// target need not exist yet: a dangling link is written through, as an editor would.
pub fn resolve_links(path: &Path) -> Result<PathBuf, Error> {
    let mut current = path.to_path_buf();
    // The kernel's own limit on a chain of links.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(|e| {
                    Error::Other(format!("cannot read the link {}: {e}", current.display()))
                })?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::Usage(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Replaces the file at `path` (or at the end of its links) with `bytes` in one step: a
/// temporary file in the target's directory, fsync, rename over the target, keeping the
/// old file's permissions. A new file is private to the user (these files name credential
/// helpers and clusters). The link itself stays a link.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let target = resolve_links(path)?;
    let fail = |what: &str, e: std::io::Error| {
        Error::Other(format!("cannot {what} {}: {e}", target.display()))
    };
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write: a file left by a crashed run (whose pid came back) is no obstacle.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.tvlogin-{}-{nanos}", std::process::id()));
    let result = (|| {
        let mut file = new_file(&tmp)?;
        file.write_all(bytes)?;
        let permissions = match std::fs::metadata(&target) {
            Ok(meta) => Some(meta.permissions()),
            Err(_) => private_permissions(),
        };
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        sync_dir(dir);
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("write", e));
    }
    Ok(())
}

/// A new file (never an existing one) readable by the user only.
pub fn new_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename durable (best effort: some file systems refuse to sync a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(unix)]
fn private_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Copies the file at `path` (links followed) to `PATH.tvlogin-backup-<UTC timestamp>`
/// beside it, with the same permissions, before a forced change. `None` when there is no
/// file to keep.
pub fn backup(path: &Path) -> Result<Option<PathBuf>, Error> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    for n in 0..100 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let candidate = dir.join(format!("{name}.tvlogin-backup-{stamp}{suffix}"));
        let mut file = match new_file(&candidate) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::Other(format!(
                    "cannot write the backup {}: {e}",
                    candidate.display()
                )));
            }
        };
        let written = (|| {
            file.write_all(&bytes)?;
            if let Ok(meta) = std::fs::metadata(path) {
                file.set_permissions(meta.permissions())?;
            }
            file.sync_all()
        })();
        return match written {
            Ok(()) => Ok(Some(candidate)),
            Err(e) => {
                let _ = std::fs::remove_file(&candidate);
                Err(Error::Other(format!(
                    "cannot write the backup {}: {e}",
                    candidate.display()
                )))
            }
        };
    }
    Err(Error::Other(format!(
        "cannot find a free backup name beside {}",
        path.display()
    )))
}

/// A lock file `FILE.lock` created with O_CREAT|O_EXCL, the protocol client-go (kubectl)
/// and git use: whoever created it may write FILE; it is removed when dropped (or renamed
/// over FILE by [`Lock::commit`], git's way of writing).
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: Option<File>,
}

impl Lock {
    /// `FILE.lock` for `file`.
    pub fn path_for(file: &Path) -> PathBuf {
        let mut name = file.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes `FILE.lock`, waiting up to `wait` while another program holds it.
    pub fn acquire(file: &Path, wait: Duration) -> Result<Self, Error> {
        let path = Self::path_for(file);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::Other(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let start = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if start.elapsed() >= wait {
                        return Err(Error::Other(format!(
                            "{} has been locked by another program for {} s ({} exists); \
                             if no kubectl, git or editor is writing it, remove {}",
                            file.display(),
                            wait.as_secs(),
                            path.display(),
                            path.display()
                        )));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => {
                    return Err(Error::Other(format!(
                        "cannot create the lock {}: {e}",
                        path.display()
                    )));
                }
            }
        }
    }

    /// git's commit: the new contents go into the lock file, which is renamed over `target`
    /// (with `target`'s permissions). Releases the lock.
    pub fn commit(mut self, target: &Path, bytes: &[u8]) -> Result<(), Error> {
        let fail =
            |e: std::io::Error| Error::Other(format!("cannot write {}: {e}", target.display()));
        let Some(mut file) = self.file.take() else {
            return Err(Error::Other("the lock was already released".into()));
        };
        file.write_all(bytes).map_err(fail)?;
        let permissions = match std::fs::metadata(target) {
            Ok(meta) => Some(meta.permissions()),
            Err(_) => private_permissions(),
        };
        if let Some(p) = permissions {
            file.set_permissions(p).map_err(fail)?;
        }
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&self.path, target).map_err(fail)?;
        if let Some(dir) = target.parent() {
            sync_dir(dir);
        }
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // After a commit the lock file has become the target: nothing to remove.
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn writes_go_through_links_and_keep_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("dotfiles").join("config");
        std::fs::create_dir_all(real.parent().expect("parent")).expect("mkdir");
        std::fs::write(&real, "old").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("config");
        std::os::unix::fs::symlink("dotfiles/config", &link).expect("link");
        write_file(&link, b"new").expect("write through the link");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink(),
            "the link stays a link"
        );
        assert_eq!(std::fs::read(&real).expect("read"), b"new");
        let mode = std::fs::metadata(&real).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(real.parent().expect("parent"))
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn backups_keep_the_bytes_and_never_overwrite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("config.json");
        assert_eq!(backup(&file).expect("no file"), None);
        std::fs::write(&file, "{ \"a\": 1 }").expect("write");
        let one = backup(&file).expect("backup").expect("a backup");
        let two = backup(&file).expect("backup").expect("a backup");
        assert_ne!(one, two);
        assert!(
            one.to_string_lossy()
                .contains("config.json.tvlogin-backup-")
        );
        assert_eq!(std::fs::read(&one).expect("read"), b"{ \"a\": 1 }");
    }

    #[test]
    fn a_held_lock_makes_others_wait_and_is_removed_after() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("config");
        let held = Lock::acquire(&file, LOCK_WAIT).expect("first lock");
        let refused = Lock::acquire(&file, Duration::from_millis(50));
        assert!(refused.is_err(), "a second writer must wait");
        drop(held);
        assert!(!Lock::path_for(&file).exists(), "released on drop");
        let lock = Lock::acquire(&file, LOCK_WAIT).expect("free again");
        lock.commit(&file, b"x").expect("commit");
        assert_eq!(std::fs::read(&file).expect("read"), b"x");
        assert!(!Lock::path_for(&file).exists(), "the lock became the file");
    }
}
