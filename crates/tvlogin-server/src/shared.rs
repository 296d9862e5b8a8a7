//! The state every request handler shares: the server's fixed environment and its mutable
//! state behind one lock. Its own module so that the routes and the limits both build on it
//! without importing each other.

use std::sync::{Mutex, MutexGuard};

use super::authorize::Authorizations;
use super::config::ClientRegistration;
use super::state::{Env, State as ServerState};

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) env: Env,
    state: Mutex<ServerState>,
    /// The authorization code grant's consents and codes (its own lock: the code exchange
    /// takes it, then the state's to mint tokens, never both at once).
    authz: Mutex<Authorizations>,
    /// Grading mode's recorder (`ServerConfig::grade`).
    pub(crate) grade: Option<super::grade::Grader>,
}

impl Shared {
    pub(crate) fn new(env: Env) -> Shared {
        let state = ServerState::new(&env.cfg);
        let grade = env.cfg.grade.clone().map(super::grade::Grader::new);
        Shared {
            env,
            state: Mutex::new(state),
            authz: Mutex::new(Authorizations::default()),
            grade,
        }
    }

    /// Lock the state. A panic while holding the lock cannot leave it half-updated in a way
    /// that matters more than losing the test server, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lock the authorization code grant's state (poisoning ignored, as for [`Shared::lock`]).
    pub(crate) fn authz(&self) -> MutexGuard<'_, Authorizations> {
        self.authz.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn clients(&self) -> &[ClientRegistration] {
        &self.env.cfg.clients
    }
}
