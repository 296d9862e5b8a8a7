//! The inspector's keys: one table for the hint bar, the help overlay and the key handling.

use crossterm::event::KeyCode::{
    BackTab, Char, Down, End, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};

use super::model::Inspector;
use crate::tui::keys::Binding;

/// What a key asks the inspector for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The next tab (wrapping).
    NextTab,
    /// The previous tab (wrapping).
    PrevTab,
    /// The tab with this index.
    Tab(usize),
    /// Scroll one line down.
    Down,
    /// Scroll one line up.
    Up,
    /// Scroll a page down.
    PageDown,
    /// Scroll a page up.
    PageUp,
    /// Scroll to the top.
    Top,
    /// Scroll to the end.
    Bottom,
    /// Raw view or tables.
    Raw,
    /// Show or hide the secrets.
    Secrets,
    /// Open the help.
    Help,
    /// Leave.
    Quit,
}

const TABS: Binding<Action> = Binding::new(
    "←/→",
    "tab",
    &["tab"],
    &[
        (Right, Action::NextTab),
        (Tab, Action::NextTab),
        (Char('l'), Action::NextTab),
        (Left, Action::PrevTab),
        (BackTab, Action::PrevTab),
        (Char('h'), Action::PrevTab),
    ],
);
const SCROLL: Binding<Action> = Binding::new(
    "↑/↓",
    "scroll",
    &["scroll"],
    &[
        (Down, Action::Down),
        (Char('j'), Action::Down),
        (Up, Action::Up),
        (Char('k'), Action::Up),
    ],
);
const RAW: Binding<Action> =
    Binding::new("w", "raw view", &["raw view"], &[(Char('w'), Action::Raw)]);
const SECRETS: Binding<Action> = Binding::new(
    "s",
    "show secrets",
    &["show secrets"],
    &[(Char('s'), Action::Secrets)],
);
const HELP: Binding<Action> = Binding::new("?", "help", &["help"], &[(Char('?'), Action::Help)]);
const QUIT: Binding<Action> = Binding::new(
    "q",
    "quit",
    &["quit"],
    &[(Char('q'), Action::Quit), (Esc, Action::Quit)],
);
const MORE: Binding<Action> = Binding::hidden(&[
    (PageDown, Action::PageDown),
    (Char(' '), Action::PageDown),
    (PageUp, Action::PageUp),
    (Home, Action::Top),
    (Char('g'), Action::Top),
    (End, Action::Bottom),
    (Char('G'), Action::Bottom),
    (Char('1'), Action::Tab(0)),
    (Char('2'), Action::Tab(1)),
    (Char('3'), Action::Tab(2)),
    (Char('4'), Action::Tab(3)),
    (Char('5'), Action::Tab(4)),
    (Char('6'), Action::Tab(5)),
    (Char('7'), Action::Tab(6)),
    (Char('8'), Action::Tab(7)),
    (Char('9'), Action::Tab(8)),
]);

/// The keys in the inspector's present state; the toggles say what they would do now.
pub fn table(m: &Inspector) -> Vec<Binding<Action>> {
    vec![
        TABS,
        SCROLL,
        if m.raw { RAW.hinting("tables") } else { RAW },
        if m.reveal {
            SECRETS.hinting("hide secrets")
        } else {
            SECRETS
        },
        HELP,
        QUIT,
        MORE,
    ]
}

#[cfg(test)]
mod tests {
    use crate::clock::UnixTime;
    use crate::tui::caps::ColorMode;
    use crate::tui::keys::shadowed;

    /// Every key acts as its row says, whatever the toggles.
    #[test]
    fn the_table_is_consistent() {
        let mut m =
            super::Inspector::new(Vec::new(), UnixTime::from_secs(0), 0, ColorMode::TrueColor);
        for (raw, reveal) in [(false, false), (true, true)] {
            m.raw = raw;
            m.reveal = reveal;
            assert!(shadowed(&super::table(&m)).is_empty());
        }
    }
}
