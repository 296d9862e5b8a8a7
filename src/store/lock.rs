//! The per-profile lock that serialises refreshes and store writes across processes.
//!
//! `DATA_DIR/profiles/PROFILE.lock` is locked exclusively with the operating system's file
//! lock (`flock` / `LockFileEx`, std's `File::lock`), which the kernel releases when the
//! process ends however it ends, so a killed process never leaves a stale lock behind. The
//! wait polls `try_lock` on the async runtime, so it never blocks a worker thread and can be
//! cancelled.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::file::{ensure_private_dir, profiles_dir};
use super::{StoreError, file_stem};
use crate::paths::Paths;

/// How long to wait for another process's refresh (which is bounded by its HTTP timeout).
pub const LOCK_WAIT: Duration = Duration::from_secs(90);

/// How often a waiting process tries again.
const POLL: Duration = Duration::from_millis(15);

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct ProfileLock {
    _file: File,
    path: PathBuf,
}

impl ProfileLock {
    /// The lock file of `profile`.
    pub fn path(paths: &Paths, profile: &str) -> PathBuf {
        profiles_dir(paths).join(format!("{}.lock", file_stem(profile)))
    }

    /// Waits (up to `wait`) for the lock of `profile`.
    pub async fn acquire(
        paths: &Paths,
        profile: &str,
        wait: Duration,
    ) -> Result<ProfileLock, StoreError> {
        let path = Self::path(paths, profile);
        if let Some(dir) = path.parent() {
            ensure_private_dir(dir)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        // An existing lock file on a read-only file system can still be locked when opened
        // for reading: the command then gets as far as the pre-flight, which says clearly
        // that nothing can be stored (and sends nothing).
        let file = options
            .open(&path)
            .or_else(|e| {
                if path.exists() {
                    OpenOptions::new().read(true).open(&path)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| StoreError::io("cannot open the lock file", &path, &e))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ProfileLock { _file: file, path }),
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    tokio::time::sleep(POLL).await;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::LockTimeout {
                        profile: profile.to_owned(),
                        path,
                        waited: started.elapsed(),
                    });
                }
                Err(TryLockError::Error(e)) => {
                    return Err(StoreError::io("cannot lock", &path, &e));
                }
            }
        }
    }

    /// The lock file.
    pub fn file_path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time() {
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let paths = Paths {
            config_dir: tmp.path().join("c"),
            data_dir: tmp.path().join("d"),
        };
        let held = ProfileLock::acquire(&paths, "p", LOCK_WAIT)
            .await
            .expect("take the profile lock");
        // A second open file description of the same file conflicts, as another process's would.
        let second = ProfileLock::acquire(&paths, "p", Duration::from_millis(60)).await;
        assert!(
            matches!(second, Err(StoreError::LockTimeout { .. })),
            "{second:?}"
        );
        // Other profiles are independent.
        assert!(
            ProfileLock::acquire(&paths, "q", Duration::ZERO)
                .await
                .is_ok()
        );
        drop(held);
        assert!(
            ProfileLock::acquire(&paths, "p", Duration::ZERO)
                .await
                .is_ok()
        );
    }
}
