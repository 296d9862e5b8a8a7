//! The dashboard's keys in its list: one table for the hint bar, the help overlay and the key
//! handling.

use crossterm::event::KeyCode::{Char, Down, End, Enter, Esc, Home, Up};

use crate::tui::keys::Binding;

/// What a key asks the dashboard's list for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Select the next profile.
    Down,
    /// Select the previous profile.
    Up,
    /// Select the first profile.
    Top,
    /// Select the last profile.
    Bottom,
    /// Inspect the selected profile's tokens.
    Inspect,
    /// Refresh its access token now.
    Refresh,
    /// Log in to it.
    Login,
    /// Log out of it (asks).
    Logout,
    /// Copy its access token (asks).
    Copy,
    /// Filter the list.
    Filter,
    /// Log in to a new profile.
    New,
    /// Auto-refresh on or off.
    Auto,
    /// Open the help.
    Help,
    /// Leave.
    Quit,
    /// Esc: clear the filter, or leave when there is none.
    Back,
}

/// The list's keys: the hint bar shows them in this order, as many as fit, and always the
/// last two; the help lists those that have help text.
const TABLE: &[Binding<Action>] = &[
    Binding::new(
        "↑/↓ j/k",
        "",
        &["select a profile"],
        &[
            (Down, Action::Down),
            (Char('j'), Action::Down),
            (Up, Action::Up),
            (Char('k'), Action::Up),
        ],
    ),
    Binding::new(
        "Enter",
        "inspect",
        &[
            "inspect its tokens (signatures checked",
            "against the issuer's keys)",
        ],
        &[(Enter, Action::Inspect)],
    ),
    Binding::new(
        "r",
        "refresh",
        &["refresh the access token now"],
        &[(Char('r'), Action::Refresh)],
    ),
    Binding::new(
        "l",
        "log in",
        &["log in to the selected profile"],
        &[(Char('l'), Action::Login)],
    ),
    Binding::new(
        "d",
        "log out",
        &["log out: revoke, then delete (asks)"],
        &[(Char('d'), Action::Logout)],
    ),
    Binding::new(
        "c",
        "copy",
        &["copy the access token via OSC 52 (asks)"],
        &[(Char('c'), Action::Copy)],
    ),
    Binding::new(
        "/",
        "filter",
        &["filter; Esc clears"],
        &[(Char('/'), Action::Filter)],
    ),
    Binding::new(
        "n",
        "new",
        &["log in to a new profile"],
        &[(Char('n'), Action::New)],
    ),
    Binding::new(
        "a",
        "auto",
        &["auto-refresh on/off for this profile"],
        &[(Char('a'), Action::Auto)],
    ),
    Binding::new("?", "help", &[], &[(Char('?'), Action::Help)]),
    Binding::new("q", "quit", &["quit"], &[(Char('q'), Action::Quit)]),
    Binding::hidden(&[
        (Esc, Action::Back),
        (Home, Action::Top),
        (Char('g'), Action::Top),
        (End, Action::Bottom),
        (Char('G'), Action::Bottom),
    ]),
];

/// The list's key table.
pub fn table() -> &'static [Binding<Action>] {
    TABLE
}

#[cfg(test)]
mod tests {
    use crate::tui::keys::{hints, shadowed};

    /// Every key acts as its row says, and the hint bar ends with help and quit (the two it
    /// always keeps).
    #[test]
    fn the_table_is_consistent() {
        assert!(shadowed(super::table()).is_empty());
        let hints = hints(super::table());
        assert_eq!(hints[hints.len() - 2..], [("?", "help"), ("q", "quit")]);
    }
}
