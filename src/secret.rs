//! The one redacting wrapper for secrets tvlogin holds beside the OAuth protocol's own.
//!
//! The oauth2 crate's newtypes (`AccessToken`, `RefreshToken`, `DeviceCode`, `ClientSecret`)
//! carry the protocol's named secrets; everything else that is a secret (an id token, a token
//! pasted into the inspector, an HMAC key, a token handed to a script or on its way to the
//! clipboard) is held in [`Secret`], so no type needs a hand-written `Debug` to stay quiet:
//! a struct that holds its secrets in these types can derive `Debug`.
//!
//! A leaf module: std only, so any part of tvlogin can use it.

use std::fmt;

/// A secret value whose `Debug` is `[redacted]`, like oauth2's `AccessToken([redacted])`.
/// It has no `Display`: the value leaves only through [`Secret::secret`], so every place a
/// secret is used is visible as such.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself.
    pub fn secret(&self) -> &T {
        &self.0
    }

    /// The secret itself, unwrapped.
    pub fn into_secret(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Compares with plain text (as the `String` it replaces did), so a test or a check can say
/// `token == "…"` without taking the secret out first.
impl PartialEq<&str> for Secret<String> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Debug shows, alone and inside derived Debug of the structs that hold it.
    #[test]
    fn debug_never_shows_the_secret() {
        #[derive(Debug)]
        struct Holder {
            token: Secret<String>,
            key: Option<Secret<Vec<u8>>>,
        }
        let holder = Holder {
            token: Secret::from("hunter2"),
            key: Some(Secret::new(b"hunter3".to_vec())),
        };
        for shown in [format!("{holder:?}"), format!("{holder:#?}")] {
            assert!(!shown.contains("hunter"), "{shown}");
            // Nor the bytes of a byte secret ("hunter3" begins 104, 117, …).
            assert!(!shown.contains("104"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
        assert_eq!(format!("{:?}", holder.token), "[redacted]");
        assert_eq!(holder.token.secret(), "hunter2");
        assert_eq!(
            holder.key.map(Secret::into_secret),
            Some(b"hunter3".to_vec())
        );
    }
}
