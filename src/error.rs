//! The error every command returns, the exit code each kind maps to, and the HTTP failure
//! kinds (`HttpError`) the oauth layer reports: defined here, below `oauth`, so the two never
//! import each other.

use std::time::Duration;

use crate::exit::Exit;

/// The largest HTTP response body tvlogin reads (1 MiB); the oauth layer's `MAX_BODY` is this.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Why a command failed. Messages are written for the person at the terminal; they may
/// contain text from servers, so they are escaped before printing (see `sanitize`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Flags or configuration are wrong or incomplete.
    #[error("{0}")]
    Usage(String),
    /// The HTTP exchange failed (or was refused by policy).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The server answered, but not in a form tvlogin can use.
    #[error("{0}")]
    Protocol(String),
    /// The server answered with an OAuth error (RFC 6749 §5.2).
    #[error("{context}: the server answered {error}{}", describe(.description))]
    Server {
        /// Which request failed, e.g. "device authorization request".
        context: String,
        /// The `error` code.
        error: String,
        /// The `error_description`.
        description: Option<String>,
    },
    /// The person at the verification page refused.
    #[error("access denied: the request was declined at the verification page ({error}{})", describe(.description))]
    Denied {
        /// `access_denied` or a provider's name for it (`authorization_declined`).
        error: String,
        /// The server's words, if any.
        description: Option<String>,
    },
    /// The device code expired before anyone approved it.
    #[error("the code expired before it was approved{}; run the login again for a new code", expired_detail(.description))]
    Expired {
        /// The server's words, or `None` when tvlogin's own deadline ended the flow.
        description: Option<String>,
    },
    /// There is no usable session: never logged in, logged out, or the server ended the
    /// grant (`invalid_grant`, a refused refresh). The profile's settings are kept, so
    /// `tvlogin login --profile P` alone logs in again.
    #[error("{reason}")]
    NotLoggedIn {
        /// The profile concerned.
        profile: String,
        /// What happened, in the person's words (may hold server text: escaped on output).
        reason: String,
        /// The profile has never logged in and nothing says where it would: its settings,
        /// the environment and its memory name no server or client. The hint then shows a
        /// whole `tvlogin login --issuer URL --client-id ID` line instead of
        /// `tvlogin login --profile P`, which would fail.
        first_login: bool,
    },
    /// `exec`'s command could not be started: not found (exit 127) or not executable
    /// (exit 126), as shells report it.
    #[error("{command}: {detail}")]
    CannotRun {
        /// The command as given (escaped on output).
        command: String,
        /// Why, e.g. "command not found", "Permission denied".
        detail: String,
        /// Whether the command was not found (127) rather than found but not executable (126).
        not_found: bool,
    },
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Anything else (local IO, the embedded server failing to start, …).
    #[error("{0}")]
    Other(String),
}

/// Why an HTTP exchange produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// A remote `http://` URL without `--allow-http`.
    #[error(
        "refusing plain http:// for {url}: only loopback hosts may use http (pass --allow-http to override)"
    )]
    Insecure {
        /// The refused URL.
        url: String,
    },
    /// A scheme other than http or https.
    #[error("unsupported URL scheme in {url}: only https (and http on loopback) can be used")]
    UnsupportedScheme {
        /// The refused URL.
        url: String,
    },
    /// The TCP or TLS connection could not be made.
    #[error("could not connect to {url}: {detail}")]
    Connect {
        /// The requested URL.
        url: String,
        /// The underlying cause, e.g. "Connection refused (os error 111)".
        detail: String,
    },
    /// No complete answer within the request timeout.
    #[error("{url} did not answer within {}s", .after.as_secs())]
    Timeout {
        /// The requested URL.
        url: String,
        /// The timeout in force.
        after: Duration,
    },
    /// The connection broke (reset, closed early, malformed HTTP).
    #[error("connection to {url} failed: {detail}")]
    Transport {
        /// The requested URL.
        url: String,
        /// The underlying cause.
        detail: String,
    },
    /// The body exceeded [`MAX_RESPONSE_BODY`].
    #[error("{url} sent a response larger than {} KiB; refusing to read it", MAX_RESPONSE_BODY / 1024)]
    TooLarge {
        /// The requested URL.
        url: String,
    },
}

impl HttpError {
    /// Whether trying again later may succeed (network trouble, not a policy refusal).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            HttpError::Connect { .. } | HttpError::Timeout { .. } | HttpError::Transport { .. }
        )
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

fn expired_detail(description: &Option<String>) -> String {
    match description {
        Some(d) => format!(" (server: {d})"),
        None => " (the server's expires_in has passed)".to_owned(),
    }
}

/// OAuth error codes that mean the client registration or request is wrong, not the server.
const CLIENT_CONFIG_ERRORS: [&str; 8] = [
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "invalid_request",
    "unsupported_grant_type",
    "device_flow_disabled",
    "incorrect_client_credentials",
    "invalid_target",
];

impl Error {
    /// The exit code of DESIGN.md §1 for this failure.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Http(HttpError::Insecure { .. } | HttpError::UnsupportedScheme { .. }) => {
                Exit::Usage
            }
            Error::Http(_) | Error::Protocol(_) => Exit::Network,
            Error::Server { error, .. } if CLIENT_CONFIG_ERRORS.contains(&error.as_str()) => {
                Exit::Usage
            }
            Error::Server { .. } => Exit::Network,
            Error::Denied { .. } => Exit::Denied,
            Error::Expired { .. } => Exit::Expired,
            Error::NotLoggedIn { .. } => Exit::NotLoggedIn,
            Error::CannotRun {
                not_found: true, ..
            } => Exit::CommandNotFound,
            Error::CannotRun { .. } => Exit::CannotExecute,
            Error::Cancelled => Exit::Cancelled,
            Error::Other(_) => Exit::Failure,
        }
    }

    /// The OAuth-ish error code for machine output (`--json` error events).
    pub fn code(&self) -> String {
        match self {
            Error::Usage(_) => "usage".into(),
            Error::Http(HttpError::Insecure { .. } | HttpError::UnsupportedScheme { .. }) => {
                "insecure_url".into()
            }
            Error::Http(HttpError::TooLarge { .. }) => "response_too_large".into(),
            Error::Http(_) => "network_error".into(),
            Error::Protocol(_) => "invalid_response".into(),
            Error::Server { error, .. } | Error::Denied { error, .. } => error.clone(),
            Error::Expired { .. } => "expired_token".into(),
            Error::NotLoggedIn { .. } => "not_logged_in".into(),
            Error::CannotRun {
                not_found: true, ..
            } => "command_not_found".into(),
            Error::CannotRun { .. } => "command_not_executable".into(),
            Error::Cancelled => "cancelled".into(),
            Error::Other(_) => "error".into(),
        }
    }

    /// A hint on what to do next, for the errors where one helps.
    pub fn hint(&self) -> Option<String> {
        if let Error::NotLoggedIn {
            profile,
            first_login,
            ..
        } = self
        {
            // "default" is config::DEFAULT_PROFILE (config sits above this module): a new
            // user's first line has no --profile at all.
            let flag = if profile == "default" && *first_login {
                String::new()
            } else {
                format!(" --profile {}", crate::sanitize::escape(profile))
            };
            return Some(if *first_login {
                format!(
                    "log in first: tvlogin login{flag} --issuer URL --client-id ID (or \
                     --provider NAME --client-id ID; `tvlogin demo` shows the flow with no \
                     account)"
                )
            } else {
                format!("log in again: tvlogin login{flag}")
            });
        }
        let hint: &'static str = match self {
            Error::Server { error, .. } => match error.as_str() {
                "invalid_client" | "unauthorized_client" | "incorrect_client_credentials" => {
                    "check --client-id and the client secret, and that the client may use the device flow"
                }
                "device_flow_disabled" => {
                    "enable the device flow in the app's settings at the provider"
                }
                "invalid_scope" => "check --scope against what the provider allows",
                "bad_verification_code" => {
                    "the server no longer knows this device code; log in again"
                }
                _ => return None,
            },
            _ => return None,
        };
        Some(hint.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let server = |e: &str| Error::Server {
            context: "x".into(),
            error: e.into(),
            description: None,
        };
        let table = [
            (Error::Usage("u".into()), 2),
            (Error::Http(HttpError::Insecure { url: "u".into() }), 2),
            (
                Error::Http(HttpError::Connect {
                    url: "u".into(),
                    detail: "d".into(),
                }),
                5,
            ),
            (Error::Http(HttpError::TooLarge { url: "u".into() }), 5),
            (Error::Protocol("p".into()), 5),
            (server("invalid_client"), 2),
            (server("weird_error"), 5),
            (
                Error::Denied {
                    error: "access_denied".into(),
                    description: None,
                },
                3,
            ),
            (Error::Expired { description: None }, 4),
            (
                Error::NotLoggedIn {
                    profile: "p".into(),
                    reason: "r".into(),
                    first_login: false,
                },
                7,
            ),
            (
                Error::CannotRun {
                    command: "c".into(),
                    detail: "command not found".into(),
                    not_found: true,
                },
                127,
            ),
            (
                Error::CannotRun {
                    command: "c".into(),
                    detail: "Permission denied".into(),
                    not_found: false,
                },
                126,
            ),
            (Error::Cancelled, 130),
            (Error::Other("o".into()), 1),
        ];
        for (error, code) in table {
            assert_eq!(error.exit().code(), code, "{error:?}");
        }
    }

    #[test]
    fn login_hints_are_commands_that_work() {
        let hint = |profile: &str, first_login| {
            Error::NotLoggedIn {
                profile: profile.into(),
                reason: "r".into(),
                first_login,
            }
            .hint()
            .unwrap_or_default()
        };
        assert_eq!(
            hint("work", false),
            "log in again: tvlogin login --profile work"
        );
        let first = hint("default", true);
        assert!(
            first.starts_with(
                "log in first: tvlogin login --issuer URL --client-id ID (or --provider NAME"
            ),
            "{first}"
        );
        assert!(
            hint("work", true)
                .starts_with("log in first: tvlogin login --profile work --issuer URL"),
        );
    }
}
