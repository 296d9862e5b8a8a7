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
    let ctx = Context::from_env()?;
    let profile = helper::profile_or_default(args.profile);
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
