//! Every profile tvlogin knows: the ones with a state file (logged in, or remembered after a
//! logout) and the ones `config.toml` names. `status` prints them; the dashboard shows them.

use std::collections::BTreeMap;

use crate::config::ConfigFile;
use crate::paths::Paths;
use crate::store::state::{self, ProfileState};

/// One row of the report: a profile from the state files, config.toml, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileStatus {
    /// The profile's name.
    pub profile: String,
    /// Whether config.toml has a `[profiles.NAME]` table for it.
    pub configured: bool,
    /// Its state, if any.
    pub state: Option<ProfileState>,
}

/// Every profile tvlogin knows, sorted by name, plus the state files it could not read.
pub fn collect(paths: &Paths, file: &ConfigFile) -> (Vec<ProfileStatus>, Vec<String>) {
    let mut rows: BTreeMap<String, ProfileStatus> = BTreeMap::new();
    let mut errors = Vec::new();
    for entry in state::list(paths) {
        match entry {
            Ok(st) => {
                rows.insert(
                    st.profile.clone(),
                    ProfileStatus {
                        profile: st.profile.clone(),
                        configured: false,
                        state: Some(st),
                    },
                );
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    for name in file.profiles.keys() {
        rows.entry(name.clone())
            .or_insert_with(|| ProfileStatus {
                profile: name.clone(),
                configured: true,
                state: None,
            })
            .configured = true;
    }
    (rows.into_values().collect(), errors)
}
