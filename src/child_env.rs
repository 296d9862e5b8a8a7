//! The environment of every process tvlogin starts (the browser, and `tvlogin exec`'s
//! command): tvlogin's own, minus anything that holds a secret. A browser, a launcher script
//! or a command run "with a token" has no business reading the client secret or tokens it was
//! not handed on purpose, and environments leak (`/proc/PID/environ`, crash reports, logs).
//!
//! A leaf module: std and the [`Secret`] wrapper (itself a leaf) only, so any part of tvlogin
//! can use it.
//!
//! ```
//! use tvlogin::child_env::ChildEnv;
//! let mut command = std::process::Command::new("true");
//! ChildEnv::new().without_var("MY_CLIENT_SECRET").apply(&mut command);
//! ```

use std::ffi::{OsStr, OsString};
use std::process::Command;

use crate::secret::Secret;

/// The variable tvlogin reads a client secret from when nothing else names one.
pub const GLOBAL_SECRET_VAR: &str = "TVLOGIN_CLIENT_SECRET";

/// What a child's environment must not contain: variables by name, and any variable whose
/// value is (or contains) one of the secrets. `Debug` shows the names only (the values are
/// redacted).
#[derive(Debug, Clone)]
pub struct ChildEnv {
    names: Vec<String>,
    values: Vec<Secret<String>>,
}

impl Default for ChildEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl ChildEnv {
    /// Drops `TVLOGIN_CLIENT_SECRET` and tvlogin's own variables that name secrets or tokens
    /// (`TVLOGIN_*SECRET*`, `TVLOGIN_*TOKEN*`).
    pub fn new() -> Self {
        Self {
            names: vec![GLOBAL_SECRET_VAR.to_owned()],
            values: Vec::new(),
        }
    }

    /// Also drops the variable `name` (e.g. the one `--client-secret-env` named).
    pub fn without_var(mut self, name: &str) -> Self {
        if !name.is_empty() {
            self.names.push(name.to_owned());
        }
        self
    }

    /// Also drops every variable whose value contains `secret` (a client secret, a token).
    /// Values shorter than 8 characters are ignored: they would match innocent variables and
    /// are no secret worth the name.
    pub fn without_value(mut self, secret: &str) -> Self {
        if secret.len() >= 8 {
            self.values.push(secret.into());
        }
        self
    }

    /// Whether a variable may be passed on.
    pub fn keeps(&self, name: &OsStr, value: &OsStr) -> bool {
        let name = name.to_string_lossy();
        let upper = name.to_ascii_uppercase();
        if self.names.iter().any(|n| *n == name) {
            return false;
        }
        if upper.starts_with("TVLOGIN_") && (upper.contains("SECRET") || upper.contains("TOKEN")) {
            return false;
        }
        let value = value.to_string_lossy();
        !self
            .values
            .iter()
            .any(|s| value.contains(s.secret().as_str()))
    }

    /// `vars` without what must not be passed on.
    pub fn filter(
        &self,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        vars.into_iter()
            .filter(|(name, value)| self.keeps(name, value))
            .collect()
    }

    /// Gives `command` this process's environment, filtered (the command starts from an
    /// empty environment, so nothing inherited slips through).
    pub fn apply(&self, command: &mut Command) {
        self.apply_from(command, std::env::vars_os());
    }

    /// Gives `command` the environment `vars`, filtered.
    pub fn apply_from(
        &self,
        command: &mut Command,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) {
        command.env_clear();
        command.envs(self.filter(vars));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        list.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn secrets_are_dropped_and_the_rest_kept() {
        let env = ChildEnv::new()
            .without_var("MY_SECRET")
            .without_value("ghr_a-refresh-token-value")
            .without_value("short");
        let kept = env.filter(vars(&[
            ("PATH", "/usr/bin"),
            ("HOME", "/home/a"),
            ("TVLOGIN_CLIENT_SECRET", "s3cret-global"),
            ("MY_SECRET", "s3cret-named"),
            ("TVLOGIN_TOKEN", "x"),
            ("tvlogin_other_secret", "x"),
            ("COPY", "Bearer ghr_a-refresh-token-value"),
            ("SHORT", "short"),
            ("TVLOGIN_CONFIG_DIR", "/c"),
        ]));
        let names: Vec<String> = kept
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["PATH", "HOME", "SHORT", "TVLOGIN_CONFIG_DIR"]);
        let shown = format!("{env:?}");
        assert!(!shown.contains("ghr_"), "{shown}");
    }
}
