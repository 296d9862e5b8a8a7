//! `setup git`: `credential.<URL>.helper` in git's global config, written all at once. The
//! value list (an empty value, which stops helpers configured for every URL from answering
//! for this one, then tvlogin) is computed first, then made by `git config` on a copy of the
//! file while git's own lock (`FILE.lock`) is held, and the copy's bytes are committed the
//! way git commits: written into the lock file, renamed over the file. A concurrent
//! `git config` either finishes before or waits for (fails on) the lock: there is no moment
//! where the user's helper is gone and tvlogin's not there yet.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use url::Url;

use crate::error::Error;
use crate::exit::Exit;
use crate::paths::Paths;

use super::files::{self, LOCK_WAIT, Lock};
use super::{Change, Mode, Program, names_tvlogin, refusal, report, say, shell_word};

/// `text` with any `user:password@` of a URL replaced by nothing, for messages about a URL
/// that may not even parse.
pub fn redact_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &text[..scheme_end + 3], &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// The URL git's configuration is keyed by — scheme, host, port and path as given, without a
/// trailing slash and without any user name or password (never stored, never printed) —
/// and its `host[:port]`. Tokens go over https, or http to this machine only.
pub fn git_url(text: &str) -> Result<(String, String), Error> {
    let shown = redact_userinfo(text.trim());
    let mut url = Url::parse(text.trim())
        .map_err(|e| Error::Usage(format!("{shown:?} is not a URL ({e}); use https://HOST")))?;
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let host = url
        .host_str()
        .ok_or_else(|| Error::Usage(format!("{shown:?} has no host")))?;
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(Error::Usage(format!(
            "{shown:?}: tvlogin hands tokens to git over https only (http only to this machine)"
        )));
    }
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let key = url.as_str().trim_end_matches('/').to_owned();
    Ok((key, host_port))
}

/// The helper value git runs. A plain name would make git run `git credential-NAME`, so the
/// tvlogin found on PATH goes through the shell (`!tvlogin …`); an absolute path is run as is.
pub fn helper_value(program: &Program, profile: &str) -> String {
    if program.on_path {
        format!("!tvlogin git-credential --profile {}", shell_word(profile))
    } else {
        format!(
            "{} git-credential --profile {}",
            shell_word(&program.command),
            shell_word(profile)
        )
    }
}

/// Whether a helper value is one tvlogin writes (`[!]…/tvlogin git-credential …`).
pub fn is_ours(value: &str) -> bool {
    let v = value.trim().trim_start_matches('!').trim_start();
    let (first, rest) = if let Some(quoted) = v.strip_prefix('\'') {
        match quoted.find('\'') {
            Some(end) => (&quoted[..end], &quoted[end + 1..]),
            None => return false,
        }
    } else {
        match v.split_once(char::is_whitespace) {
            Some((a, b)) => (a, b),
            None => (v, ""),
        }
    };
    names_tvlogin(first) && rest.split_whitespace().next() == Some("git-credential")
}

/// The new value list: `None` when setup must refuse (a helper tvlogin did not write).
pub fn plan_values(current: &[String], ours: &str, mode: Mode) -> Result<Vec<String>, Vec<String>> {
    if mode.undo {
        let mut kept: Vec<String> = Vec::new();
        for value in current {
            if is_ours(value) {
                // The empty value setup put just before its own goes with it.
                if kept.last().is_some_and(String::is_empty) {
                    kept.pop();
                }
                continue;
            }
            kept.push(value.clone());
        }
        return Ok(kept);
    }
    let wanted = vec![String::new(), ours.to_owned()];
    if current == wanted.as_slice() {
        return Ok(wanted);
    }
    let foreign: Vec<String> = current
        .iter()
        .filter(|v| !v.is_empty() && !is_ours(v))
        .cloned()
        .collect();
    if !foreign.is_empty() && !mode.force {
        return Err(foreign);
    }
    Ok(wanted)
}

/// git's global config file, as `git config --global` picks it for writing.
pub fn global_config() -> Result<PathBuf, Error> {
    if let Some(file) = std::env::var_os("GIT_CONFIG_GLOBAL").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(file));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_owned()))
        .ok_or_else(|| Error::Usage("no home directory for git's global config".into()))?;
    let dot = home.join(".gitconfig");
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"))
        .join("git")
        .join("config");
    Ok(if !dot.exists() && xdg.exists() {
        xdg
    } else {
        dot
    })
}

fn git(args: &[&str]) -> Result<Output, Error> {
    Command::new("git")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Other(format!("cannot run git: {e}")))
}

/// A scratch copy of the config that `git config --file` edits; removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut lock = self.0.as_os_str().to_owned();
        lock.push(".lock");
        let _ = std::fs::remove_file(PathBuf::from(lock));
    }
}

/// The helper values of `key` in `file` (a scratch copy).
fn values(file: &str, key: &str) -> Result<Vec<String>, Error> {
    let got = git(&["config", "--file", file, "--get-all", key])?;
    match got.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&got.stdout)
            .lines()
            .map(str::to_owned)
            .collect()),
        // 1: no such key.
        Some(1) => Ok(Vec::new()),
        _ => Err(Error::Usage(format!(
            "git cannot read its global config: {}",
            String::from_utf8_lossy(&got.stderr).trim()
        ))),
    }
}

fn checked(out: Output, what: &str) -> Result<(), Error> {
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "git config {what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Rewrites `key` in the scratch file to exactly `new` (and drops the section when tvlogin
/// emptied it).
fn rewrite(file: &str, key: &str, section: &str, new: &[String]) -> Result<(), Error> {
    let unset = git(&["config", "--file", file, "--unset-all", key])?;
    // 5: the key was not there.
    if !unset.status.success() && unset.status.code() != Some(5) {
        checked(unset, "--unset-all")?;
    }
    for value in new {
        checked(
            git(&["config", "--file", file, "--add", key, value])?,
            "--add",
        )?;
    }
    if new.is_empty() {
        let names = git(&["config", "--file", file, "--list", "--name-only"])?;
        let prefix = format!("{}.", section.to_ascii_lowercase());
        let left = String::from_utf8_lossy(&names.stdout)
            .lines()
            .any(|n| n.to_ascii_lowercase().starts_with(&prefix));
        if !left {
            // Absent (exit 128) is fine: the section had no header of its own.
            let _ = git(&["config", "--file", file, "--remove-section", section])?;
        }
    }
    Ok(())
}

fn shown(values: &[String]) -> String {
    if values.is_empty() {
        return "(nothing)".into();
    }
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `tvlogin setup git URL`.
pub fn setup_git(
    out: &mut impl Write,
    paths: &Paths,
    program: &Program,
    url: &str,
    profile: &str,
    mode: Mode,
) -> Result<Exit, Error> {
    let (url_key, host) = git_url(url)?;
    if url.contains('@') && redact_userinfo(url) != url {
        say(
            out,
            "note: the user name and password in the URL are left out of git's config",
        );
    }
    let section = format!("credential.{url_key}");
    let key = format!("{section}.helper");
    let ours = helper_value(program, profile);
    let file = global_config()?;
    let target = files::resolve_links(&file)?;
    // git's lock on the file it writes (a link's target, as git resolves it).
    let lock = if mode.dry_run {
        None
    } else {
        Some(Lock::acquire(&target, LOCK_WAIT)?)
    };
    let old = files::read_optional(&target)?.unwrap_or_default();
    // git edits a scratch copy (outside the user's directories: a dry run leaves no trace);
    // only its bytes are committed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let scratch = Scratch(
        std::env::temp_dir().join(format!("tvlogin-gitconfig-{}-{nanos}", std::process::id())),
    );
    // Private: a git config may hold secrets (credentials in `url.*.insteadOf`).
    files::new_file(&scratch.0)
        .and_then(|mut f| f.write_all(&old))
        .map_err(|e| Error::Other(format!("cannot write {}: {e}", scratch.0.display())))?;
    let scratch_name = scratch.0.to_string_lossy().into_owned();
    let current = values(&scratch_name, &key)?;
    let new = match plan_values(&current, &ours, mode) {
        Ok(new) => new,
        Err(foreign) => {
            return Err(refusal(
                &file,
                &format!("{key} = {}", shown(&foreign)),
                "Keep it and use tvlogin for another URL",
            ));
        }
    };
    let heading = format!("git ({}):", file.display());
    let change = if new == current {
        if mode.undo {
            Change::Unchanged(format!("{key}: no helper of tvlogin's"))
        } else {
            Change::Unchanged(format!("{key} = {}", shown(&new)))
        }
    } else if mode.undo {
        Change::Removed(format!(
            "{key} = {} (left: {})",
            shown(&current),
            shown(&new)
        ))
    } else if current.is_empty() {
        Change::Added(format!("{key} = {}", shown(&new)))
    } else {
        Change::Updated(format!("{key} = {} (was {})", shown(&new), shown(&current)))
    };
    if change.changed() {
        rewrite(&scratch_name, &key, &section, &new)?;
        let new_bytes = std::fs::read(&scratch.0)
            .map_err(|e| Error::Other(format!("cannot read {}: {e}", scratch.0.display())))?;
        if mode.dry_run {
            report(out, &heading, &[change], true);
            super::show_diff(
                out,
                &file,
                &String::from_utf8_lossy(&old),
                &String::from_utf8_lossy(&new_bytes),
            );
        } else {
            let foreign = current.iter().any(|v| !v.is_empty() && !is_ours(v));
            let backup = if mode.force && foreign && !mode.undo {
                files::backup(&file)?
            } else {
                None
            };
            if let Some(lock) = lock {
                lock.commit(&target, &new_bytes)?;
            }
            report(out, &heading, &[change], false);
            super::say_backup(out, backup.as_deref());
        }
    } else {
        drop(lock);
        report(out, &heading, &[change], mode.dry_run);
    }
    drop(scratch);
    super::profile_list(out, paths, profile, "git_hosts", &[host], mode)?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(command: &str, on_path: bool) -> Program {
        Program {
            command: command.into(),
            on_path,
            exe: PathBuf::from(command),
            warning: None,
        }
    }

    #[test]
    fn git_urls_lose_their_userinfo() {
        let table = [
            (
                "https://git.example.com",
                Some(("https://git.example.com", "git.example.com")),
            ),
            (
                "https://git.example.com/",
                Some(("https://git.example.com", "git.example.com")),
            ),
            (
                "https://alice:s3cr3t@git.example.com/org",
                Some(("https://git.example.com/org", "git.example.com")),
            ),
            (
                "https://alice@git.example.com:8443/org",
                Some(("https://git.example.com:8443/org", "git.example.com:8443")),
            ),
            (
                "http://127.0.0.1:3000",
                Some(("http://127.0.0.1:3000", "127.0.0.1:3000")),
            ),
            ("http://git.example.com", None),
            ("git.example.com", None),
        ];
        for (text, want) in table {
            let got = git_url(text).ok();
            assert_eq!(
                got,
                want.map(|(a, b)| (a.to_owned(), b.to_owned())),
                "{text}"
            );
        }
        for bad in [
            "http://bob:hunter2@git.example.com",
            "https://bob:hunter2@[::zz]/",
        ] {
            let message = git_url(bad).expect_err("refused").to_string();
            assert!(!message.contains("hunter2"), "{message}");
        }
        assert_eq!(
            redact_userinfo("https://a:b@h/p@q"),
            "https://h/p@q",
            "only the authority's userinfo"
        );
    }

    #[test]
    fn helper_values_and_ownership() {
        assert_eq!(
            helper_value(&program("tvlogin", true), "work"),
            "!tvlogin git-credential --profile work"
        );
        assert_eq!(
            helper_value(&program("/my tools/tvlogin", false), "a b"),
            "'/my tools/tvlogin' git-credential --profile 'a b'"
        );
        for (value, ours) in [
            ("!tvlogin git-credential --profile work", true),
            ("/usr/bin/tvlogin git-credential --profile default", true),
            ("'/my tools/tvlogin' git-credential --profile 'a b'", true),
            ("store", false),
            ("!gh auth git-credential", false),
            ("/usr/bin/tvlogin-other git-credential", false),
            ("tvlogin", false),
            ("", false),
        ] {
            assert_eq!(is_ours(value), ours, "{value:?}");
        }
    }

    #[test]
    fn the_new_value_list_never_drops_a_helper_it_does_not_own_unless_forced() {
        let ours = "!tvlogin git-credential --profile default";
        let v = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let set = Mode::default();
        let force = Mode {
            force: true,
            ..Mode::default()
        };
        let undo = Mode {
            undo: true,
            ..Mode::default()
        };
        assert_eq!(plan_values(&[], ours, set), Ok(v(&["", ours])));
        assert_eq!(
            plan_values(
                &v(&["", "/old/tvlogin git-credential --profile default"]),
                ours,
                set
            ),
            Ok(v(&["", ours])),
            "tvlogin's own entry is updated"
        );
        assert_eq!(
            plan_values(&v(&["store"]), ours, set),
            Err(v(&["store"])),
            "a user's helper is refused"
        );
        assert_eq!(plan_values(&v(&["store"]), ours, force), Ok(v(&["", ours])));
        assert_eq!(plan_values(&v(&["", ours]), ours, undo), Ok(v(&[])));
        assert_eq!(
            plan_values(&v(&["store", "", ours, "cache"]), ours, undo),
            Ok(v(&["store", "cache"])),
            "undo removes tvlogin's values only"
        );
        assert_eq!(plan_values(&v(&["store"]), ours, undo), Ok(v(&["store"])));
    }
}
