//! The OAuth client's identity and how it authenticates at the server's endpoints.

use crate::secret::ClientSecret;
use serde::{Deserialize, Serialize};

use super::http::BasicAuth;

/// Client authentication method at the token and device endpoints (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// Public client: `client_id` in the form body, no secret (`none`).
    None,
    /// `client_secret_basic`: id and secret in an HTTP Basic `Authorization` header.
    Basic,
    /// `client_secret_post`: id and secret in the form body.
    Post,
}

impl AuthMethod {
    /// The name registered in RFC 8414's `token_endpoint_auth_methods_supported`.
    pub fn rfc_name(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::Basic => "client_secret_basic",
            AuthMethod::Post => "client_secret_post",
        }
    }
}

/// The registered client tvlogin acts as.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// `client_id`.
    pub id: String,
    /// The secret, for confidential clients. Never printed: its `Debug` is redacted.
    pub secret: Option<ClientSecret>,
    /// How the client authenticates.
    pub auth: AuthMethod,
}

impl OAuthClient {
    /// Adds the client's credentials to a request: form fields for `none` and `post`, an HTTP
    /// Basic header for `basic`. With `basic` the body names the client too (`client_id`
    /// without the secret): RFC 6749 §2.3.1 forbids only a second way to send the secret, not
    /// identifying the client, and some servers (django-oauth-toolkit) refuse a request whose
    /// body has no `client_id`.
    pub fn authenticate<'a>(&'a self, form: &mut Vec<(&'a str, &'a str)>) -> Option<BasicAuth<'a>> {
        match (self.auth, self.secret.as_ref()) {
            (AuthMethod::Basic, Some(secret)) => {
                form.push(("client_id", &self.id));
                return Some(BasicAuth {
                    user: &self.id,
                    password: secret,
                });
            }
            (AuthMethod::Post, Some(secret)) => {
                form.push(("client_id", &self.id));
                form.push(("client_secret", secret.secret()));
            }
            _ => form.push(("client_id", &self.id)),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(auth: AuthMethod, secret: Option<&str>) -> OAuthClient {
        OAuthClient {
            id: "cid".into(),
            secret: secret.map(|s| ClientSecret::new(s.into())),
            auth,
        }
    }

    #[test]
    fn each_method_puts_credentials_in_its_place() {
        let public = client(AuthMethod::None, None);
        let mut form = vec![];
        assert!(public.authenticate(&mut form).is_none());
        assert_eq!(form, vec![("client_id", "cid")]);

        let c = client(AuthMethod::Post, Some("s3"));
        let mut form = vec![];
        assert!(c.authenticate(&mut form).is_none());
        assert_eq!(form, vec![("client_id", "cid"), ("client_secret", "s3")]);

        let c = client(AuthMethod::Basic, Some("s3"));
        let mut form = vec![];
        let basic = c.authenticate(&mut form);
        assert_eq!(
            form,
            vec![("client_id", "cid")],
            "Basic names the client in the body too"
        );
        assert_eq!(
            basic.map(|b| (b.user, b.password.secret().as_str())),
            Some(("cid", "s3"))
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", client(AuthMethod::Basic, Some("hunter2")));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
