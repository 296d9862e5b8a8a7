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
            Exit::Cancelled => 130,
            Exit::Signal(number) => 128u8.saturating_add(number),
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
