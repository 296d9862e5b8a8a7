//! The one redacting wrapper for secrets tvlogin holds beside the OAuth protocol's own.
//!
//! Every secret tvlogin holds is a [`Secret`]: the protocol's named ones ([`AccessToken`],
//! [`RefreshToken`], [`DeviceCode`], [`ClientSecret`]: newtypes over it, so one cannot be
//! passed where another is meant) and the rest (an id token, a token pasted into the
//! inspector, an HMAC key, a token handed to a script or on its way to the clipboard). No type
//! needs a hand-written `Debug` to stay quiet: a struct that holds its secrets in these types
//! can derive `Debug`.
//!
//! A leaf module: it imports nothing from tvlogin, so any part of it can use it.

use std::fmt;

/// A secret value whose `Debug` is `[redacted]`.
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

/// Read from configuration (`client_secret` in config.toml) as the value itself.
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

/// Declares a named secret: a newtype over [`Secret<String>`] whose `Debug` is
/// `Name([redacted])`.
macro_rules! named_secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Secret<String>);

        impl $name {
            /// Wraps a secret.
            pub fn new(value: String) -> Self {
                Self(Secret::new(value))
            }

            /// The secret itself.
            pub fn secret(&self) -> &String {
                self.0.secret()
            }

            /// The secret itself, unwrapped.
            pub fn into_secret(self) -> String {
                self.0.into_secret()
            }
        }
    };
}

named_secret!(
    /// An OAuth access token (RFC 6749 §1.4).
    AccessToken
);
named_secret!(
    /// An OAuth refresh token (RFC 6749 §1.5).
    RefreshToken
);
named_secret!(
    /// The device code of a device authorization (RFC 8628 §3.2): it polls for the tokens.
    DeviceCode
);
named_secret!(
    /// A confidential client's secret (RFC 6749 §2.3.1).
    ClientSecret
);

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

    #[test]
    fn named_secrets_say_what_they_are_and_nothing_else() {
        let token = AccessToken::new("hunter2".into());
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        assert_eq!(
            format!("{:?}", Some(ClientSecret::new("hunter2".into()))),
            "Some(ClientSecret([redacted]))"
        );
        assert_eq!(token.secret(), "hunter2");
        let read: ClientSecret = serde_json::from_str("\"s3cret\"").expect("a string");
        assert_eq!(read.secret(), "s3cret");
        assert_eq!(format!("{read:?}"), "ClientSecret([redacted])");
    }
}
