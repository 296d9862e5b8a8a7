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
    /// Show or hide each claim's explanation.
    Explain,
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
const EXPLAIN: Binding<Action> = Binding::new(
    "e",
    "explain",
    &["explain each claim"],
    &[(Char('e'), Action::Explain)],
);
const HELP: Binding<Action> = Binding::new("?", "help", &["help"], &[(Char('?'), Action::Help)]);
const QUIT: Binding<Action> = Binding::new(
    "q",
    "quit",
    &["quit"],
    &[(Char('q'), Action::Quit), (Esc, Action::Quit)],
);
/// `q` inside the dashboard: it goes back to the list, and says so.
const BACK: Binding<Action> = Binding::new(
    "q",
    "back",
    &["back to the list of profiles"],
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

/// The keys in the inspector's present state and place; the toggles say what they would do
/// now, tab keys exist only with more than one tab, and `q` says "back" inside the dashboard.
pub fn table(m: &Inspector) -> Vec<Binding<Action>> {
    let mut rows = Vec::with_capacity(8);
    if m.tabs.len() > 1 {
        rows.push(TABS);
    }
    rows.push(SCROLL);
    if !m.raw && m.shows_a_table() {
        rows.push(if m.explain {
            EXPLAIN.hinting("hide explanations")
        } else {
            EXPLAIN
        });
    }
    rows.push(if m.raw { RAW.hinting("tables") } else { RAW });
    rows.push(if m.reveal {
        SECRETS.hinting("hide secrets")
    } else {
        SECRETS
    });
    rows.push(HELP);
    rows.push(if m.inside_dashboard { BACK } else { QUIT });
    rows.push(MORE);
    rows
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

    fn tab(title: &str) -> super::super::Tab {
        super::super::Tab {
            title: title.into(),
            body: super::super::TabBody::Empty("nothing".into()),
        }
    }

    /// The table is a function of the model: tab keys only with tabs to switch between,
    /// `q` labelled for what it does where the inspector is shown.
    #[test]
    fn keys_are_labelled_for_the_place() {
        use crate::tui::keys::{action, hints};
        use crossterm::event::KeyCode::{Char, Right};
        let one = super::Inspector::new(
            vec![tab("token")],
            UnixTime::from_secs(0),
            0,
            ColorMode::Ansi256,
        );
        let hinted = hints(&super::table(&one));
        assert!(!hinted.iter().any(|(k, _)| *k == "←/→"), "{hinted:?}");
        assert_eq!(action(&super::table(&one), Right), None);
        assert!(hinted.contains(&("q", "quit")), "{hinted:?}");
        // An empty tab has nothing to explain.
        assert!(!hinted.iter().any(|(k, _)| *k == "e"), "{hinted:?}");

        let two = super::Inspector::new(
            vec![tab("access token"), tab("userinfo")],
            UnixTime::from_secs(0),
            0,
            ColorMode::Ansi256,
        )
        .for_profile("work");
        let hinted = hints(&super::table(&two));
        assert!(hinted.contains(&("←/→", "tab")), "{hinted:?}");
        assert!(hinted.contains(&("q", "back")), "{hinted:?}");
        assert!(!hinted.contains(&("q", "quit")), "{hinted:?}");
        assert_eq!(
            action(&super::table(&two), Char('q')),
            Some(super::Action::Quit)
        );
    }
}
