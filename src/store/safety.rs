//! Folder and file safety, like OpenSSH's StrictModes: before tvlogin reads a state or token
//! file, the file and the folders holding it must be writable by nobody but their owner, and
//! owned by the user running tvlogin (or root). Otherwise another local user could have put
//! their own endpoints in the state file and received the next refresh token.
//!
//! A refusal names the exact `chmod` or `chown` that fixes it (exit 2).

use std::fs::Metadata;
use std::path::Path;

use super::StoreError;

/// Why a path is not safe to trust, if it is not. Pure: `meta`'s mode and owner against the
/// user `me`.
#[cfg(unix)]
pub fn judge(path: &Path, meta: &Metadata, me: u32) -> Option<StoreError> {
    use std::os::unix::fs::MetadataExt;
    judge_mode(path, meta.mode(), meta.uid(), meta.is_dir(), me)
}

/// [`judge`] on the raw numbers.
pub fn judge_mode(path: &Path, mode: u32, owner: u32, is_dir: bool, me: u32) -> Option<StoreError> {
    let quoted = crate::sanitize::shell_word(&path.display().to_string());
    if owner != me && owner != 0 {
        return Some(StoreError::Unsafe {
            path: path.to_path_buf(),
            problem: format!("it is owned by user id {owner}, not by you (user id {me})"),
            fix: format!("chown {me} {quoted}"),
        });
    }
    if mode & 0o022 != 0 {
        let kind = if is_dir { "folder" } else { "file" };
        return Some(StoreError::Unsafe {
            path: path.to_path_buf(),
            problem: format!(
                "the {kind} is writable by {} (mode {:04o})",
                if mode & 0o002 != 0 {
                    "every user"
                } else {
                    "its group"
                },
                mode & 0o7777
            ),
            fix: format!("chmod go-w {quoted}"),
        });
    }
    None
}

/// The effective user id of this process.
#[cfg(unix)]
pub fn current_user() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Checks a folder that holds state or token files (when it exists).
pub fn check_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(dir)
        && let Some(problem) = judge(dir, &meta, current_user())
    {
        return Err(problem);
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Checks an opened file (its metadata from the open descriptor, so a swap between the check
/// and the read is impossible) and the folders above it up to the data directory.
pub fn check_file(path: &Path, meta: &Metadata) -> Result<(), StoreError> {
    #[cfg(unix)]
    if let Some(problem) = judge(path, meta, current_user()) {
        return Err(problem);
    }
    #[cfg(not(unix))]
    let _ = meta;
    // The profiles folder and the data folder above it.
    let mut dir = path.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        check_dir(d)?;
        dir = d.parent();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_owners() {
        let p = Path::new("/home/me/.local/share/tvlogin/profiles");
        // (mode, owner, dir, me, refused, fix contains)
        let table = [
            (0o700, 1000, true, 1000, None),
            (0o755, 1000, true, 1000, None),
            (0o600, 1000, false, 1000, None),
            (0o700, 0, true, 1000, None), // root-owned is trusted, as OpenSSH does
            (0o777, 1000, true, 1000, Some("chmod go-w /home/me")),
            (0o1777, 1000, true, 1000, Some("chmod go-w")),
            (0o720, 1000, true, 1000, Some("chmod go-w")),
            (0o666, 1000, false, 1000, Some("chmod go-w")),
            (0o700, 65534, true, 1000, Some("chown 1000 /home/me")),
            (0o600, 65534, false, 0, Some("chown 0 ")),
        ];
        for (mode, owner, dir, me, want) in table {
            let got = judge_mode(p, mode, owner, dir, me);
            match (want, &got) {
                (None, None) => {}
                (Some(fix), Some(StoreError::Unsafe { fix: f, .. })) => {
                    assert!(f.contains(fix), "{mode:o} {owner}: {f}");
                }
                _ => panic!("{mode:o} {owner} {me}: {got:?}"),
            }
        }
        let odd = judge_mode(Path::new("/tmp/it's here"), 0o777, 0, true, 0);
        assert!(
            matches!(&odd, Some(StoreError::Unsafe { fix, .. }) if fix == r"chmod go-w '/tmp/it'\''s here'"),
            "{odd:?}"
        );
    }

    #[test]
    fn refusals_exit_2_and_say_why() {
        let e =
            judge_mode(Path::new("/x"), 0o777, 0, true, 0).unwrap_or_else(|| panic!("not refused"));
        let text = e.to_string();
        assert!(
            text.contains("writable by every user (mode 0777)"),
            "{text}"
        );
        assert!(text.contains("chmod go-w /x"), "{text}");
        assert_eq!(crate::error::Error::from(e).exit().code(), 2);
    }
}
