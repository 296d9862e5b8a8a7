//! The one way a profile's login settings are resolved, for every front end that logs in: the
//! command line (`login`), the dashboard (`l`, `n`) and the credential helpers (an inline
//! login when git, kubectl or docker asks for a token of a profile that is not logged in).
//! Layers, highest first: the run's settings (flags, or nothing but the profile), the
//! `TVLOGIN_*` variables that stand in for flags, the profile in config.toml (with its
//! provider preset), and what the profile remembers of its last login.

use super::persist::remembered_from_meta;
use crate::config::{ConfigFile, DEFAULT_PROFILE, LoginConfig, LoginSettings};
use crate::error::Error;
use crate::paths::Paths;
use crate::store::state::{self, SessionMeta};

/// The login configuration of the profile `settings` names (`default` when none): config.toml
/// is read now (it may have changed since the caller started), the profile's state for what
/// it remembers, and `held` (a session the caller already has in hand) when the state
/// remembers nothing. `settings` carries the flags with the variables that stand in for them
/// already applied (clap does it for `login`; [`LoginSettings::from_env`] for the others);
/// `env` is read for the client secret's variable.
pub fn login_config(
    paths: &Paths,
    settings: LoginSettings,
    env: &dyn Fn(&str) -> Option<String>,
    held: Option<&SessionMeta>,
) -> Result<LoginConfig, Error> {
    let path = paths.config_file();
    let file = ConfigFile::load(&path)?;
    let profile = settings.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
    let st = state::read(paths, profile).ok().flatten();
    let remembered = st
        .as_ref()
        .and_then(|s| s.login.clone())
        .or_else(|| {
            st.as_ref()
                .and_then(|s| s.session.as_ref())
                .map(remembered_from_meta)
        })
        .or_else(|| held.map(remembered_from_meta));
    LoginConfig::resolve_remembering(settings, &file, &path, env, remembered.as_ref())
}
