//! `setup docker`: `credHelpers` entries in docker's `config.json` (`$DOCKER_CONFIG`
//! honoured), spliced into the text by `json_edit` (docker has no command for this), the
//! registries in the profile's `docker_registries`, and the `docker-credential-tvlogin`
//! link docker runs, made in a directory on PATH.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::exit::Exit;
use crate::paths::Paths;
use crate::sanitize::escape;

use super::files;
use super::json_edit::{self, HelperEdit};
use super::{Change, Mode, Program, find_on_path, refusal, report, say, shell_word};

/// The helper name docker runs as `docker-credential-<name>`.
pub const DOCKER_HELPER: &str = "tvlogin";

fn docker_config_path() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    let home = home()?;
    Ok(home.join(".docker").join("config.json"))
}

fn home() -> Result<PathBuf, Error> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_owned()))
        .ok_or_else(|| Error::Usage("no home directory; set DOCKER_CONFIG".into()))
}

/// A registry as docker's config keys it: `host[:port]`, no scheme or path.
fn registry_name(text: &str) -> Result<String, Error> {
    let name = crate::commands::docker_credential::registry_key(text);
    let name = name.rsplit('@').next().unwrap_or(&name).to_owned();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(Error::Usage(format!(
            "{:?} is not a registry host",
            super::git::redact_userinfo(text)
        )));
    }
    Ok(name)
}

/// The new text of docker's config and what changed, or the refusal for a registry whose
/// helper is not tvlogin's.
pub fn plan_docker(
    text: &str,
    registries: &[String],
    mode: Mode,
    path: &Path,
) -> Result<(String, Vec<Change>, bool), Error> {
    let bad = |e: String| Error::Usage(format!("{}: {e}; it was left as it is", path.display()));
    let mut new = text.to_owned();
    let mut changes = Vec::new();
    let mut forced = false;
    for registry in registries {
        let current = json_edit::cred_helper(&new, registry).map_err(bad)?;
        let what = format!("credHelpers[{registry:?}] = {DOCKER_HELPER:?}");
        match (current.as_deref(), mode.undo) {
            (Some(DOCKER_HELPER), true) => {
                new =
                    json_edit::edit_cred_helper(&new, registry, HelperEdit::Remove).map_err(bad)?;
                changes.push(Change::Removed(what));
            }
            (_, true) => changes.push(Change::Unchanged(format!(
                "credHelpers[{registry:?}]: no entry of tvlogin's"
            ))),
            (Some(DOCKER_HELPER), false) => changes.push(Change::Unchanged(what)),
            (Some(old), false) => {
                if !mode.force {
                    return Err(refusal(
                        path,
                        &format!("credHelpers[{registry:?}] = {old:?}"),
                        "Keep it and use tvlogin for another registry",
                    ));
                }
                forced = true;
                new = json_edit::edit_cred_helper(&new, registry, HelperEdit::Set(DOCKER_HELPER))
                    .map_err(bad)?;
                changes.push(Change::Updated(format!("{what} (was {old:?})")));
            }
            (None, false) => {
                new = json_edit::edit_cred_helper(&new, registry, HelperEdit::Set(DOCKER_HELPER))
                    .map_err(bad)?;
                changes.push(Change::Added(what));
            }
        }
    }
    Ok((new, changes, forced))
}

/// `tvlogin setup docker REGISTRY…`.
pub fn setup_docker(
    out: &mut impl Write,
    paths: &Paths,
    program: &Program,
    registries: &[String],
    profile: &str,
    mode: Mode,
) -> Result<Exit, Error> {
    let registries = registries
        .iter()
        .map(|r| registry_name(r))
        .collect::<Result<Vec<_>, _>>()?;
    let path = docker_config_path()?;
    let text = files::read_text(&path)?.unwrap_or_default();
    let (new, changes, forced) = plan_docker(&text, &registries, mode, &path)?;
    let heading = format!("docker ({}):", path.display());
    if new != text {
        if mode.dry_run {
            report(out, &heading, &changes, true);
            super::show_diff(out, &path, &text, &new);
        } else {
            let backup = if forced { files::backup(&path)? } else { None };
            files::write_file(&path, new.as_bytes())?;
            report(out, &heading, &changes, false);
            super::say_backup(out, backup.as_deref());
        }
    } else {
        report(out, &heading, &changes, mode.dry_run);
    }
    super::profile_list(out, paths, profile, "docker_registries", &registries, mode)?;
    if !mode.undo {
        helper_link(out, program, mode)?;
    }
    Ok(Exit::Ok)
}

/// Makes sure docker finds `docker-credential-tvlogin`: nothing when PATH has it; else a
/// link to this binary in `~/.local/bin` or `$CARGO_HOME/bin` when that directory exists and
/// is on PATH; else one message naming the directory to use.
fn helper_link(out: &mut impl Write, program: &Program, mode: Mode) -> Result<(), Error> {
    let name = format!("docker-credential-{DOCKER_HELPER}");
    let path_var = std::env::var_os("PATH");
    if find_on_path(&name, path_var.as_deref()).is_some() {
        return Ok(());
    }
    let home = home()?;
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cargo"))
        .join("bin");
    let local_bin = home.join(".local").join("bin");
    let on_path = |dir: &Path| {
        let Ok(want) = std::fs::canonicalize(dir) else {
            return false;
        };
        path_var.as_deref().is_some_and(|p| {
            std::env::split_paths(p).any(|d| std::fs::canonicalize(&d).is_ok_and(|d| d == want))
        })
    };
    let target = program.exe.to_string_lossy().into_owned();
    let chosen = [&local_bin, &cargo_bin]
        .into_iter()
        .find(|d| d.is_dir() && on_path(d));
    match chosen {
        Some(dir) => {
            let link = dir.join(&name);
            if mode.dry_run {
                say(
                    out,
                    &format!(
                        "  would link: {} -> {}",
                        escape(&link.to_string_lossy()),
                        escape(&target)
                    ),
                );
                return Ok(());
            }
            // Found on PATH it was not, so a link there is dangling (its binary is gone):
            // it is replaced.
            if std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()) {
                std::fs::remove_file(&link).map_err(|e| {
                    Error::Other(format!("cannot replace the link {}: {e}", link.display()))
                })?;
            }
            make_link(&program.exe, &link)?;
            say(
                out,
                &format!(
                    "  linked: {} -> {} (docker runs {name})",
                    escape(&link.to_string_lossy()),
                    escape(&target)
                ),
            );
        }
        None => say(
            out,
            &format!(
                "  note: docker runs {name}, which is not on PATH, and neither {} nor {} is a \
                 directory on PATH. Create it there, e.g.:\n    mkdir -p {} && ln -s {} {}\n  \
                 and add {} to PATH.",
                escape(&local_bin.to_string_lossy()),
                escape(&cargo_bin.to_string_lossy()),
                shell_word(&local_bin.to_string_lossy()),
                shell_word(&target),
                shell_word(&local_bin.join(&name).to_string_lossy()),
                escape(&local_bin.to_string_lossy()),
            ),
        ),
    }
    Ok(())
}

#[cfg(unix)]
fn make_link(target: &Path, link: &Path) -> Result<(), Error> {
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| Error::Other(format!("cannot create the link {}: {e}", link.display())))
}

#[cfg(not(unix))]
fn make_link(target: &Path, link: &Path) -> Result<(), Error> {
    std::fs::copy(target, link)
        .map(|_| ())
        .map_err(|e| Error::Other(format!("cannot copy to {}: {e}", link.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_helper_is_refused_unless_forced_and_undo_removes_only_tvlogins() {
        let path = Path::new("/home/u/.docker/config.json");
        let text = "{\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"old.io\": \"desktop\"\n\t},\n\t\"n\": 123456789012345678901234567890\n}\n";
        let regs = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let err = plan_docker(text, &regs(&["r.io", "old.io"]), Mode::default(), path)
            .expect_err("old.io is docker desktop's");
        assert!(err.to_string().contains("\"desktop\""), "{err}");
        assert_eq!(err.exit(), crate::exit::Exit::Usage);
        let force = Mode {
            force: true,
            ..Mode::default()
        };
        let (new, changes, forced) =
            plan_docker(text, &regs(&["r.io", "old.io"]), force, path).expect("forced");
        assert!(forced);
        assert!(matches!(
            changes.as_slice(),
            [Change::Added(_), Change::Updated(_)]
        ));
        assert!(new.contains("123456789012345678901234567890"), "{new}");
        assert!(new.contains("\"gcr.io\": \"gcloud\""), "{new}");
        let (same, changes, _) =
            plan_docker(&new, &regs(&["r.io"]), Mode::default(), path).expect("again");
        assert_eq!(same, new);
        assert!(changes.iter().all(|c| !c.changed()));
        let undo = Mode {
            undo: true,
            ..Mode::default()
        };
        let (back, _, _) = plan_docker(&new, &regs(&["r.io", "gcr.io"]), undo, path).expect("undo");
        assert!(!back.contains("\"r.io\""), "{back}");
        assert!(
            back.contains("\"gcr.io\": \"gcloud\""),
            "gcloud is not tvlogin's: {back}"
        );
        assert_eq!(
            registry_name("https://u:p@Reg.Example.com/v2/")
                .ok()
                .as_deref(),
            Some("reg.example.com")
        );
    }
}
