//! The process exit codes of the command-line contract (DESIGN.md §1). Scripts branch on these,
//! so the numbers never change.

/// Why tvlogin exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what was asked.
    Ok,
    /// 1: any failure not covered below.
    Failure,
    /// 2: bad usage or configuration (flags, config file, a provider refusing the client), or
    /// storage the user must fix (an unusable keyring, folders others could write, a full or
    /// read-only disk).
    Usage,
    /// 3: the person at the verification page denied access.
    Denied,
    /// 4: the device code expired before anyone approved it.
    Expired,
    /// 5: the network or the server failed (unreachable, timeouts, 5xx, malformed answers).
    Network,
    /// 6: the token given to `inspect` is invalid, or not verifiable as asked.
    InvalidToken,
    /// 7: not logged in, or the session has ended (the server refused the refresh token):
    /// log in again. Scripts can do `tvlogin token || tvlogin login`.
    NotLoggedIn,
    /// 8: `api`: the server answered with a status other than 2xx (its body is still printed).
    HttpStatus,
    /// 126: `exec`'s command was found but cannot be executed (no permission, not an
    /// executable, a directory), as shells report it.
    CannotExecute,
    /// 127: `exec`'s command was not found (a missing path, or not on PATH), as shells
    /// report it.
    CommandNotFound,
    /// 130: the user cancelled (Ctrl-C, `q`).
    Cancelled,
    /// 128 + N: a signal (SIGTERM, SIGHUP, …) ended the command after it finished what could
    /// not be abandoned (a refresh answer on its way is stored first).
    Signal(u8),
}

impl Exit {
    /// The numeric code handed to the operating system.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Denied => 3,
            Exit::Expired => 4,
            Exit::Network => 5,
            Exit::InvalidToken => 6,
            Exit::NotLoggedIn => 7,
            Exit::HttpStatus => 8,
            Exit::CannotExecute => 126,
            Exit::CommandNotFound => 127,
            Exit::Cancelled => 130,
            Exit::Signal(number) => 128u8.saturating_add(number),
        }
    }
}

/// The contract's exit codes and what each means, in order: the one text the man page and
/// `--help` show (a signal's 128+N is described in the last line).
pub const CONTRACT: &[(&str, &str)] = &[
    ("0", "ok"),
    ("1", "other failure"),
    ("2", "usage or configuration"),
    ("3", "access denied"),
    ("4", "device code expired"),
    ("5", "network or server error"),
    ("6", "token invalid or not verifiable as asked (inspect)"),
    (
        "7",
        "not logged in, or the session has ended: log in again (`tvlogin token || tvlogin login`)",
    ),
    ("8", "api: the server answered a status other than 2xx"),
    ("126", "exec: the command cannot be executed"),
    ("127", "exec: the command was not found"),
    ("130", "cancelled by the user"),
    ("128+N", "ended by signal N"),
];

/// [`CONTRACT`] as one line of text: `0 ok, 1 other failure, …`.
pub fn contract_text() -> String {
    CONTRACT
        .iter()
        .map(|(code, meaning)| format!("{code} {meaning}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's text names every code an `Exit` can be.
    #[test]
    fn the_contract_text_lists_every_code() {
        let all = [
            Exit::Ok,
            Exit::Failure,
            Exit::Usage,
            Exit::Denied,
            Exit::Expired,
            Exit::Network,
            Exit::InvalidToken,
            Exit::NotLoggedIn,
            Exit::HttpStatus,
            Exit::CannotExecute,
            Exit::CommandNotFound,
            Exit::Cancelled,
        ];
        for exit in all {
            let code = exit.code().to_string();
            assert!(
                CONTRACT.iter().any(|(c, _)| *c == code),
                "{exit:?} ({code}) missing from the contract"
            );
        }
        assert_eq!(Exit::CannotExecute.code(), 126);
        assert_eq!(Exit::CommandNotFound.code(), 127);
        assert!(contract_text().contains("126 exec: the command cannot be executed"));
        assert!(contract_text().contains("127 exec: the command was not found"));
        assert_eq!(Exit::HttpStatus.code(), 8);
        assert!(contract_text().contains("8 api: the server answered a status other than 2xx"));
    }
}
