//! `tvlogin exec [--profile P] [--env NAME] -- CMD [ARGS…]`: runs CMD with a valid access
//! token in `$NAME` (default `BEARER_TOKEN`, the WLCG bearer-token discovery convention used
//! by HTCondor, XRootD, gfal…).
//!
//! On Unix the command replaces tvlogin (`execvp`), so its exit status and the signals sent
//! to it are its own with nothing in between; elsewhere tvlogin waits and passes the status
//! on. The command's environment is [`ChildEnv`]'s: no client secret (`TVLOGIN_CLIENT_SECRET`,
//! the variables the profile names for its secret, any variable holding the secret's value),
//! no tvlogin token variables — and then the one token it is meant to have.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use crate::child_env::ChildEnv;
use crate::cli::ExecArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::Context;
use crate::store::state;

use super::helper::{self, Prompt};

/// Whether `name` can be an environment variable name a shell can read: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Every variable name that may hold a client secret of this profile: the one its config
/// names and the one its login named (`TVLOGIN_CLIENT_SECRET` is [`ChildEnv`]'s already).
pub fn secret_vars(ctx: &Context, profile: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(name) = ctx
        .file
        .profiles
        .get(profile)
        .and_then(|p| p.client_secret_env.clone())
    {
        names.push(name);
    }
    if let Ok(Some(st)) = state::read(&ctx.paths, profile)
        && let Some(name) = st.session.and_then(|m| m.client_secret_env)
    {
        names.push(name);
    }
    names.sort();
    names.dedup();
    names
}

/// What the child must not see for `profile`: its secret variables by name, and the
/// secret's value wherever it appears (from those variables, or the config file).
pub fn child_env(ctx: &Context, profile: &str) -> ChildEnv {
    let mut env = ChildEnv::new();
    for name in secret_vars(ctx, profile) {
        if let Some(value) = (ctx.env)(&name) {
            env = env.without_value(&value);
        }
        env = env.without_var(&name);
    }
    if let Some(value) = (ctx.env)(crate::child_env::GLOBAL_SECRET_VAR) {
        env = env.without_value(&value);
    }
    if let Some(secret) = ctx
        .file
        .profiles
        .get(profile)
        .and_then(|p| p.client_secret.as_ref())
    {
        env = env.without_value(secret.secret());
    }
    env
}

/// Gives `command` the parent's environment `vars` without what `env` removes, plus the
/// token in `name`.
pub fn child_environment(
    command: &mut Command,
    env: &ChildEnv,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    name: &str,
    token: &str,
) {
    env.apply_from(command, vars);
    command.env(name, token);
}

/// `tvlogin exec`.
pub async fn exec(args: ExecArgs) -> Result<Exit, Error> {
    if !valid_var_name(&args.env_name) {
        return Err(Error::Usage(format!(
            "--env {:?} is not a variable name (letters, digits and _, not starting with a digit)",
            crate::sanitize::escape(&args.env_name)
        )));
    }
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage("no command given after --".into()));
    };
    // Before any login: a mistyped command should not cost a device login first.
    findable(program, std::env::var_os("PATH").as_deref())?;
    let ctx = Context::from_env()?;
    let profile = helper::profile_or_default(args.profile);
    helper::check_profile_exists(&ctx, &profile).await?;
    let token =
        helper::access_token(&ctx, &profile, args.min_ttl, Prompt::stderr_if_terminal()).await?;
    helper::printable(&token, "hand it out")?;
    let mut command = Command::new(program);
    command.args(rest);
    child_environment(
        &mut command,
        &child_env(&ctx, &profile),
        std::env::vars_os(),
        &args.env_name,
        token.token.secret(),
    );
    run(command, program)
}

#[cfg(unix)]
fn run(mut command: Command, program: &OsStr) -> Result<Exit, Error> {
    use std::os::unix::process::CommandExt;
    // Only returns when the command could not be started.
    let error = command.exec();
    Err(cannot_run(program, &error))
}

#[cfg(not(unix))]
fn run(mut command: Command, program: &OsStr) -> Result<Exit, Error> {
    let status = command.status().map_err(|e| cannot_run(program, &e))?;
    std::process::exit(status.code().unwrap_or(1));
}

/// Whether `program` can be found the way `execvp` looks for it: as a path when it holds
/// a `/`, else in each PATH entry (an empty entry is the current directory), skipping
/// directories as bash does. A file that exists but cannot be executed makes the answer 126
/// unless a later one can; none at all is 127. The `execvp` that follows has the last word; this only spares a login for a command
/// that cannot run.
pub fn findable(program: &OsStr, path_var: Option<&OsStr>) -> Result<(), Error> {
    use std::io::{Error as IoError, ErrorKind};
    let not_found = || cannot_run(program, &IoError::from(ErrorKind::NotFound));
    if program.is_empty() {
        return Err(not_found());
    }
    let candidates: Vec<std::path::PathBuf> = if program.to_string_lossy().contains('/') {
        vec![program.into()]
    } else {
        std::env::split_paths(path_var.unwrap_or_default())
            .map(|dir| {
                if dir.as_os_str().is_empty() {
                    std::path::PathBuf::from(".").join(program)
                } else {
                    dir.join(program)
                }
            })
            .collect()
    };
    let by_path = candidates.len() == 1 && program.to_string_lossy().contains('/');
    let mut refused = None;
    for candidate in &candidates {
        match std::fs::metadata(candidate) {
            Ok(meta) if meta.is_file() && executable(&meta) => return Ok(()),
            // As bash does: a directory on PATH is not the command.
            Ok(meta) if meta.is_dir() && !by_path => {}
            Ok(_) => {
                refused.get_or_insert_with(|| {
                    cannot_run(program, &IoError::from(ErrorKind::PermissionDenied))
                });
            }
            Err(_) => {}
        }
    }
    Err(refused.unwrap_or_else(not_found))
}

#[cfg(unix)]
fn executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_: &std::fs::Metadata) -> bool {
    true
}

/// Why `program` could not be started, the way shells say it: not found (exit 127) when
/// the file does not exist or no PATH entry holds it; otherwise found but not executable
/// (exit 126: no permission, not an executable format, a directory).
fn cannot_run(program: &OsStr, error: &std::io::Error) -> Error {
    let path = std::path::Path::new(program);
    // execvp reports a directory as "Permission denied"; shells name it.
    let is_dir = program.to_string_lossy().contains('/') && path.is_dir();
    let (detail, not_found) = match error.kind() {
        _ if is_dir => ("Is a directory".to_owned(), false),
        std::io::ErrorKind::NotFound if program.to_string_lossy().contains('/') => {
            ("No such file or directory".to_owned(), true)
        }
        std::io::ErrorKind::NotFound => ("command not found".to_owned(), true),
        std::io::ErrorKind::PermissionDenied => ("Permission denied".to_owned(), false),
        _ => (format!("cannot execute: {}", without_os_code(error)), false),
    };
    Error::CannotRun {
        command: OsString::from(program).to_string_lossy().into_owned(),
        detail,
        not_found,
    }
}

/// The OS's words without Rust's " (os error N)".
fn without_os_code(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn commands_that_cannot_run_exit_as_in_shells() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(bin.join("subdir")).expect("mkdir");
        let write = |name: &str, mode: u32| {
            let path = bin.join(name);
            std::fs::write(&path, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            path
        };
        let runnable = write("runnable", 0o755);
        let plain = write("plain", 0o644);
        let path_var = std::env::join_paths([bin.clone()]).expect("PATH");
        let subdir = bin.join("subdir");
        let code = |program: &OsStr| {
            findable(program, Some(&path_var))
                .err()
                .map(|e| (e.exit().code(), e.to_string()))
        };
        assert_eq!(code(OsStr::new("runnable")), None);
        assert_eq!(code(runnable.as_os_str()), None);
        let table: [(&OsStr, u8, &str); 7] = [
            (
                OsStr::new("no-such-command"),
                127,
                "no-such-command: command not found",
            ),
            (OsStr::new(""), 127, ": command not found"),
            (
                OsStr::new("./no/such/file"),
                127,
                "./no/such/file: No such file or directory",
            ),
            (OsStr::new("plain"), 126, "plain: Permission denied"),
            (plain.as_os_str(), 126, "Permission denied"),
            (subdir.as_os_str(), 126, "Is a directory"),
            (OsStr::new("subdir"), 127, "subdir: command not found"),
        ];
        for (program, want, text) in table {
            let (got, message) = code(program).unwrap_or_else(|| panic!("{program:?} runs"));
            assert_eq!(got, want, "{program:?}");
            assert!(message.ends_with(text), "{program:?}: {message}");
        }
        // A runnable one later on PATH wins over a non-executable one earlier.
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).expect("mkdir");
        std::fs::copy(&runnable, other.join("plain")).expect("copy");
        std::fs::set_permissions(other.join("plain"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let both = std::env::join_paths([bin, other]).expect("PATH");
        assert!(findable(OsStr::new("plain"), Some(&both)).is_ok());
        // What execvp itself reports maps the same way.
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(cannot_run(OsStr::new("x"), &missing).exit().code(), 127);
        let format = std::io::Error::from_raw_os_error(8);
        let e = cannot_run(OsStr::new("x"), &format);
        assert_eq!(e.exit().code(), 126);
        assert!(e.to_string().starts_with("x: cannot execute: "), "{e}");
        assert!(!e.to_string().contains("os error"), "{e}");
    }

    #[test]
    fn variable_names() {
        for good in ["BEARER_TOKEN", "_x", "a1", "TOKEN_2"] {
            assert!(valid_var_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=B", "Ä", "A\n"] {
            assert!(!valid_var_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_child_environment_loses_the_secrets_and_gains_the_token() {
        let mut command = Command::new("true");
        let env = ChildEnv::new()
            .without_var("MY_SECRET")
            .without_value("the-secret-value");
        let parent = [
            ("KEEP", "1"),
            ("MY_SECRET", "the-secret-value"),
            ("COPY", "x-the-secret-value-x"),
            ("TVLOGIN_CLIENT_SECRET", "other"),
            ("TVLOGIN_REFRESH_TOKEN", "rt"),
            ("BEARER_TOKEN", "stale"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        child_environment(&mut command, &env, parent, "BEARER_TOKEN", "tok");
        let mut envs: Vec<(String, String)> = command
            .get_envs()
            .filter_map(|(k, v)| {
                Some((
                    k.to_string_lossy().into_owned(),
                    v?.to_string_lossy().into_owned(),
                ))
            })
            .collect();
        envs.sort();
        assert_eq!(
            envs,
            vec![
                ("BEARER_TOKEN".to_owned(), "tok".to_owned()),
                ("KEEP".to_owned(), "1".to_owned()),
            ]
        );
    }
}
