//! The memory backend: secrets live as long as this process (tests, `demo`, one-shot runs).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use super::{Backend, Secrets, StoreError, TokenStore};

/// How a memory store is described to people.
pub const LOCATION: &str = "memory (this run only)";

static GLOBAL: LazyLock<Arc<Mutex<HashMap<String, Secrets>>>> =
    LazyLock::new(|| Arc::new(Mutex::new(HashMap::new())));

/// Secrets in this process's memory.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    map: Arc<Mutex<HashMap<String, Secrets>>>,
}

impl MemoryStore {
    /// The process-wide memory store (what `--store memory` uses).
    pub fn global() -> Self {
        Self {
            map: Arc::clone(&GLOBAL),
        }
    }

    /// A store of its own (tests).
    pub fn isolated() -> Self {
        Self {
            map: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Secrets>> {
        // Nothing can panic while the lock is held; recover the data if something did.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryStore {
    fn backend(&self) -> Backend {
        Backend::Memory
    }

    fn location(&self, _profile: &str) -> String {
        LOCATION.into()
    }

    fn load(&self, profile: &str) -> Result<Option<Secrets>, StoreError> {
        Ok(self.map().get(profile).cloned())
    }

    fn save(&self, profile: &str, secrets: &Secrets) -> Result<(), StoreError> {
        self.map().insert(profile.to_owned(), secrets.clone());
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<(), StoreError> {
        self.map().remove(profile);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::RefreshToken;

    #[test]
    fn round_trip() {
        let store = MemoryStore::isolated();
        let s = Secrets {
            refresh_token: Some(RefreshToken::new("r".into())),
            ..Secrets::default()
        };
        assert_eq!(store.load("p").ok(), Some(None));
        assert!(store.save("p", &s).is_ok());
        assert_eq!(store.load("p").ok().flatten(), Some(s));
        assert!(store.delete("p").is_ok());
        assert_eq!(store.load("p").ok(), Some(None));
    }
}
