//! `tvlogin exec [--profile P] [--env NAME] -- CMD [ARGS…]`: runs CMD with a valid access
//! token in `$NAME` (default `BEARER_TOKEN`, the WLCG bearer-token discovery convention used
//! by HTCondor, XRootD, gfal…).
//!
//! On Unix the command replaces tvlogin (`execvp`), so its exit status and the signals sent
//! to it are its own with nothing in between; elsewhere tvlogin waits and passes the status
//! on. The command's environment holds no client secret: the variables a profile names for
//! its secret and `TVLOGIN_CLIENT_SECRET` are removed.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use crate::cli::ExecArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::Context;
use crate::store::state;

use super::helper::{self, Prompt};

/// The variable a confidential client's secret is read from when nothing else names one.
const DEFAULT_SECRET_VAR: &str = "TVLOGIN_CLIENT_SECRET";

/// Whether `name` can be an environment variable name a shell can read: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The variables removed from a child's environment: every name that may hold a client
/// secret of this profile, and the default secret variable.
pub fn secret_vars(ctx: &Context, profile: &str) -> Vec<String> {
    let mut names = vec![DEFAULT_SECRET_VAR.to_owned()];
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

/// Applies the child's environment to `command`: the secrets removed, the token set.
/// (The parent's environment is inherited otherwise: the command is the user's own.)
pub fn child_environment(command: &mut Command, remove: &[String], name: &str, token: &str) {
    for var in remove {
        command.env_remove(var);
    }
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
    let ctx = Context::from_env()?;
    let profile = helper::profile_or_default(args.profile);
    let token =
        helper::access_token(&ctx, &profile, args.min_ttl, Prompt::stderr_if_terminal()).await?;
    helper::printable(&token)?;
    let mut command = Command::new(program);
    command.args(rest);
    child_environment(
        &mut command,
        &secret_vars(&ctx, &profile),
        &args.env_name,
        &token.token,
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

fn cannot_run(program: &OsStr, error: &std::io::Error) -> Error {
    Error::Other(format!(
        "cannot run {}: {error}",
        crate::sanitize::escape(&OsString::from(program).to_string_lossy())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        command.env("KEEP", "1").env("MY_SECRET", "s");
        child_environment(
            &mut command,
            &["MY_SECRET".into(), "TVLOGIN_CLIENT_SECRET".into()],
            "BEARER_TOKEN",
            "tok",
        );
        let envs: Vec<(String, Option<String>)> = command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        assert!(envs.contains(&("MY_SECRET".into(), None)));
        assert!(envs.contains(&("TVLOGIN_CLIENT_SECRET".into(), None)));
        assert!(envs.contains(&("BEARER_TOKEN".into(), Some("tok".into()))));
        assert!(envs.contains(&("KEEP".into(), Some("1".into()))));
    }
}
