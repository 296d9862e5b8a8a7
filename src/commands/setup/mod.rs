//! `tvlogin setup git|kubectl|docker`: writes the consumer's configuration so it gets its
//! tokens from tvlogin, and says what it changed. Every target follows the same rules:
//!
//! - The tool's own way first: `git config` (on a copy, committed under git's own lock) for
//!   git; `kubectl config set-credentials … --exec-*` / `set-context` when kubectl is on PATH;
//!   for docker (which has no command for this) and for a kubeconfig without kubectl, text
//!   editors that keep every byte they do not need to change (`json_edit`, `yaml_edit`).
//! - Writes go to a symbolic link's target, through a temporary file beside it, fsync and
//!   rename, keeping the mode; the owner's lock (`FILE.lock`) is honoured.
//! - Nothing is destroyed: an entry of the same name that tvlogin did not write is refused
//!   (exit 2) unless `--force`, which backs the file up first (`FILE.tvlogin-backup-…`).
//! - `--dry-run` prints the diff of every file and writes nothing; `--undo` removes what
//!   setup added and nothing else.
//! - The command written is plain `tvlogin` when that is the binary running, else its
//!   absolute path (with a warning when it lies in a cargo build directory).

mod diff;
mod docker;
mod files;
mod git;
mod json_edit;
mod kube;
mod yaml_edit;

#[cfg(test)]
mod corpus;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{SetupArgs, SetupCommon, SetupTool};
use crate::error::Error;
use crate::exit::Exit;
use crate::paths::Paths;
use crate::sanitize::{escape, is_dangerous};

use super::helper;

/// What one setup step did (or would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Something new was added.
    Added(String),
    /// Something was replaced (tvlogin's own entry, or another under `--force`).
    Updated(String),
    /// Something tvlogin had added was removed (`--undo`).
    Removed(String),
    /// Already as wanted.
    Unchanged(String),
}

impl Change {
    fn changed(&self) -> bool {
        !matches!(self, Change::Unchanged(_))
    }

    fn line(&self, dry_run: bool) -> String {
        let (verb, what) = match self {
            Change::Added(w) if dry_run => ("would add", w),
            Change::Updated(w) if dry_run => ("would update", w),
            Change::Removed(w) if dry_run => ("would remove", w),
            Change::Added(w) => ("added", w),
            Change::Updated(w) => ("updated", w),
            Change::Removed(w) => ("removed", w),
            Change::Unchanged(w) => ("unchanged", w),
        };
        format!("  {verb}: {}", escape(what))
    }
}

/// How a setup run was asked to behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode {
    /// Show the diff, write nothing.
    pub dry_run: bool,
    /// Replace entries tvlogin did not write (after a backup).
    pub force: bool,
    /// Remove what setup added.
    pub undo: bool,
}

impl Mode {
    fn of(common: &SetupCommon) -> Self {
        Self {
            dry_run: common.dry_run,
            force: common.force,
            undo: common.undo,
        }
    }
}

/// The tvlogin a consumer's configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// What the configuration runs: `tvlogin` when the `tvlogin` found on PATH is this very
    /// binary, else this binary's absolute path.
    pub command: String,
    /// Whether `command` is found through PATH (git then needs a shell: `!tvlogin …`).
    pub on_path: bool,
    /// This binary.
    pub exe: PathBuf,
    /// Said once on stderr: the path would break when the build directory goes.
    pub warning: Option<String>,
}

/// Whether two paths are the same file (links followed).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// The first `name` in the directories of `path_var` (what a shell would run).
pub fn find_on_path(name: &str, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether `path` lies in a cargo build directory (`…/target/debug/…`, `…/target/release/…`,
/// `…/target/TRIPLE/release/…`), which `cargo clean` or the next build replaces.
pub fn in_build_dir(path: &Path) -> bool {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.iter().enumerate().any(|(i, part)| {
        part == "target"
            && parts[i + 1..]
                .iter()
                .take(2)
                .any(|p| p == "debug" || p == "release")
    })
}

impl Program {
    /// The program for this binary `exe`, given the PATH the consumer will search.
    pub fn new(exe: &Path, path_var: Option<&std::ffi::OsStr>) -> Self {
        let on_path = find_on_path(PROGRAM_NAME, path_var).is_some_and(|p| same_file(&p, exe));
        if on_path {
            return Self {
                command: PROGRAM_NAME.into(),
                on_path,
                exe: exe.to_owned(),
                warning: None,
            };
        }
        let warning = in_build_dir(exe).then(|| {
            format!(
                "warning: writing the path {}, which is in a cargo build directory: \
                 `cargo clean` or a rebuild will break what is set up here. Install tvlogin \
                 (`cargo install --locked --path .`) and run setup again with the installed one.",
                escape(&exe.to_string_lossy())
            )
        });
        Self {
            command: exe.to_string_lossy().into_owned(),
            on_path,
            exe: exe.to_owned(),
            warning,
        }
    }
}

/// The program's name on PATH.
pub const PROGRAM_NAME: &str = "tvlogin";

/// Whether `word` (a command's first word) names a tvlogin binary.
pub fn names_tvlogin(word: &str) -> bool {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    base == PROGRAM_NAME || base == "tvlogin.exe"
}

/// `tvlogin setup`.
pub async fn setup(args: SetupArgs) -> Result<Exit, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot find tvlogin's own path: {e}")))?;
    let path_var = std::env::var_os("PATH");
    let program = Program::new(&exe, path_var.as_deref());
    let paths = Paths::from_env()?;
    // A mistyped --profile is caught before anything is written for it (undo may name a
    // profile that is gone: it only removes).
    let named = match &args.tool {
        SetupTool::Git { common, .. }
        | SetupTool::Kubectl { common, .. }
        | SetupTool::Docker { common, .. } => common.profile.clone().filter(|_| !common.undo),
    };
    if let Some(profile) = named {
        let ctx = crate::session::Context::from_env()?;
        helper::check_profile_exists(&ctx, &profile).await?;
    }
    let mut out = std::io::stdout().lock();
    let (mode, result) = match args.tool {
        SetupTool::Git { url, common } => {
            let mode = Mode::of(&common);
            let profile = helper::profile_or_default(common.profile.clone());
            (
                mode,
                git::setup_git(&mut out, &paths, &program, &url, &profile, mode),
            )
        }
        SetupTool::Kubectl {
            kubeconfig,
            user,
            context,
            cluster,
            common,
        } => {
            let mode = Mode::of(&common);
            let profile = helper::profile_or_default(common.profile.clone());
            let plan = kube::KubePlan {
                user: user.unwrap_or_else(|| format!("tvlogin-{profile}")),
                command: program.command.clone(),
                profile,
                context,
                cluster,
            };
            let path = match kubeconfig {
                Some(path) => path,
                None => kube::default_kubeconfig()?,
            };
            (
                mode,
                kube::setup_kubectl(&mut out, &paths, &path, &plan, mode),
            )
        }
        SetupTool::Docker { registries, common } => {
            let mode = Mode::of(&common);
            let profile = helper::profile_or_default(common.profile.clone());
            (
                mode,
                docker::setup_docker(&mut out, &paths, &program, &registries, &profile, mode),
            )
        }
    };
    // Said once, after what was written (or would be) names the path.
    if result.is_ok()
        && !mode.undo
        && let Some(w) = &program.warning
    {
        let _ = writeln!(std::io::stderr(), "{w}");
    }
    result
}

fn say(out: &mut impl Write, line: &str) {
    let _ = writeln!(out, "{line}");
}

fn report(out: &mut impl Write, heading: &str, changes: &[Change], dry_run: bool) {
    say(out, heading);
    for change in changes {
        say(out, &change.line(dry_run));
    }
}

/// Prints the diff of one file (for `--dry-run`): the file's own text, with only the
/// characters a terminal would act on made visible (tabs are kept).
fn show_diff(out: &mut impl Write, path: &Path, old: &str, new: &str) {
    let name = path.display().to_string();
    let diff = diff::unified(&name, &format!("{name} (after setup)"), old, new);
    for line in diff.lines() {
        let shown: String = line
            .chars()
            .map(|c| {
                if c != '\t' && is_dangerous(c) {
                    escape(&c.to_string())
                } else {
                    c.to_string()
                }
            })
            .collect();
        say(out, &shown);
    }
}

/// Says which backup was written before a forced change.
fn say_backup(out: &mut impl Write, backup: Option<&Path>) {
    if let Some(b) = backup {
        say(
            out,
            &format!(
                "  backup: {} (the file as it was)",
                escape(&b.to_string_lossy())
            ),
        );
    }
}

/// The refusal when an entry tvlogin did not write is in the way.
fn refusal(file: &Path, what: &str, how: &str) -> Error {
    Error::Usage(format!(
        "{} already has {what}, which tvlogin did not write; it was left as it is. {how}, \
         or pass --force to replace it (the file is backed up first)",
        file.display()
    ))
}

// ----- tvlogin's own config -----

/// Adds `values` to (or, with `remove`, removes them from) the list `key` of
/// `[profiles.PROFILE]` in config.toml's text, keeping everything else (comments
/// included). Returns the new text and what changed.
pub fn edit_list(
    text: &str,
    profile: &str,
    key: &str,
    values: &[String],
    remove: bool,
) -> Result<(String, Vec<Change>), Error> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::Usage(format!("config.toml is not valid TOML: {e}")))?;
    if remove {
        let mut changes = Vec::new();
        let list = doc
            .get_mut("profiles")
            .and_then(|p| p.get_mut(profile))
            .and_then(|p| p.get_mut(key))
            .and_then(toml_edit::Item::as_array_mut);
        let Some(list) = list else {
            return Ok((text.to_owned(), changes));
        };
        for value in values {
            let before = list.len();
            list.retain(|v| !v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(value)));
            if list.len() != before {
                changes.push(Change::Removed(format!(
                    "profiles.{profile}.{key} had {value:?}"
                )));
            }
        }
        if changes.is_empty() {
            return Ok((text.to_owned(), changes));
        }
        return Ok((doc.to_string(), changes));
    }
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| Error::Usage("config.toml: `profiles` is not a table".into()))?;
    let table = profiles
        .entry(profile)
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| Error::Usage(format!("config.toml: profiles.{profile} is not a table")))?;
    let list = table
        .entry(key)
        .or_insert(toml_edit::value(toml_edit::Array::new()))
        .as_array_mut()
        .ok_or_else(|| {
            Error::Usage(format!(
                "config.toml: profiles.{profile}.{key} is not a list"
            ))
        })?;
    let mut changes = Vec::new();
    for value in values {
        let present = list
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(value)));
        let what = format!("profiles.{profile}.{key} has {value:?}");
        if present {
            changes.push(Change::Unchanged(what));
        } else {
            list.push(value.as_str());
            changes.push(Change::Added(what));
        }
    }
    if !changes.iter().any(Change::changed) {
        return Ok((text.to_owned(), changes));
    }
    Ok((doc.to_string(), changes))
}

/// Edits the profile's list `key` in tvlogin's config.toml and reports it.
fn profile_list(
    out: &mut impl Write,
    paths: &Paths,
    profile: &str,
    key: &str,
    values: &[String],
    mode: Mode,
) -> Result<(), Error> {
    let path = paths.config_file();
    let text = files::read_text(&path)?.unwrap_or_default();
    let (new_text, changes) = edit_list(&text, profile, key, values, mode.undo)?;
    if changes.iter().any(Change::changed) {
        if mode.dry_run {
            show_diff(out, &path, &text, &new_text);
        } else {
            // What is written must still load: never leave a config tvlogin itself refuses.
            toml::from_str::<crate::config::ConfigFile>(&new_text)
                .map_err(|e| Error::Usage(format!("{} would not be valid: {e}", path.display())))?;
            files::write_file(&path, new_text.as_bytes())?;
        }
    }
    if !changes.is_empty() {
        report(
            out,
            &format!("tvlogin ({}):", path.display()),
            &changes,
            mode.dry_run,
        );
    }
    Ok(())
}

pub use crate::sanitize::shell_word;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_toml_lists_keep_comments_and_are_idempotent() {
        let text =
            "# my settings\n[profiles.work]\nissuer = \"https://id.example.com\" # the IdP\n";
        let (new, changes) = edit_list(
            text,
            "work",
            "git_hosts",
            &["git.example.com".into()],
            false,
        )
        .expect("edit");
        assert!(
            matches!(changes.as_slice(), [Change::Added(_)]),
            "{changes:?}"
        );
        assert!(
            new.contains("# my settings") && new.contains("# the IdP"),
            "{new}"
        );
        assert!(new.contains("git_hosts = [\"git.example.com\"]"), "{new}");
        let (again, changes) = edit_list(
            &new,
            "work",
            "git_hosts",
            &["git.example.com".into()],
            false,
        )
        .expect("edit");
        assert_eq!(again, new);
        assert!(matches!(changes.as_slice(), [Change::Unchanged(_)]));
        let (fresh, _) =
            edit_list("", "default", "docker_registries", &["r.io".into()], false).expect("edit");
        let parsed: crate::config::ConfigFile = toml::from_str(&fresh).expect("valid");
        assert_eq!(
            parsed.profiles["default"].docker_registries,
            Some(vec!["r.io".to_owned()])
        );
        // Undo removes the value and nothing else.
        let (removed, changes) =
            edit_list(&new, "work", "git_hosts", &["git.example.com".into()], true).expect("edit");
        assert!(
            matches!(changes.as_slice(), [Change::Removed(_)]),
            "{changes:?}"
        );
        assert!(
            removed.contains("# the IdP") && !removed.contains("git.example.com"),
            "{removed}"
        );
        let (same, changes) =
            edit_list(text, "work", "git_hosts", &["git.example.com".into()], true).expect("edit");
        assert_eq!(same, text);
        assert!(changes.is_empty());
    }

    #[test]
    fn the_command_is_plain_tvlogin_only_when_path_finds_this_binary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        let build = dir.path().join("src/target/release");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::fs::create_dir_all(&build).expect("mkdir");
        let installed = bin.join("tvlogin");
        std::fs::write(&installed, "one").expect("write");
        let built = build.join("tvlogin");
        std::fs::write(&built, "two").expect("write");
        let path = std::env::join_paths([&bin]).expect("PATH");
        let p = Program::new(&installed, Some(&path));
        assert_eq!(p.command, "tvlogin");
        assert!(p.on_path && p.warning.is_none());
        // Another tvlogin on PATH: the absolute path, with a warning for a build directory.
        let p = Program::new(&built, Some(&path));
        assert_eq!(p.command, built.to_string_lossy());
        assert!(!p.on_path);
        assert!(
            p.warning
                .as_deref()
                .is_some_and(|w| w.contains("cargo build directory"))
        );
        // A link on PATH to this binary is the same file.
        #[cfg(unix)]
        {
            let links = dir.path().join("links");
            std::fs::create_dir_all(&links).expect("mkdir");
            std::os::unix::fs::symlink(&built, links.join("tvlogin")).expect("link");
            let path = std::env::join_paths([&links]).expect("PATH");
            assert_eq!(Program::new(&built, Some(&path)).command, "tvlogin");
        }
        for (path, want) in [
            ("/home/a/src/tvlogin/target/debug/tvlogin", true),
            (
                "/home/a/src/tvlogin/target/x86_64-unknown-linux-gnu/release/tvlogin",
                true,
            ),
            ("/home/a/.cargo/bin/tvlogin", false),
            ("/opt/target/tvlogin", false),
        ] {
            assert_eq!(in_build_dir(Path::new(path)), want, "{path}");
        }
        assert!(names_tvlogin("/usr/local/bin/tvlogin") && names_tvlogin("tvlogin"));
        assert!(!names_tvlogin("/usr/bin/tvlogin-old") && !names_tvlogin("gcloud"));
    }
}
