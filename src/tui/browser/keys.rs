//! The browser-login screen's keys, per stage, in the one table type every screen uses
//! ([`crate::tui::keys`]): the hint bar, the help overlay and the key handling read it.

use crossterm::event::KeyCode::{self, Char, Enter, Esc};
use crossterm::event::KeyEvent;

use super::{BrowserApp, Stage};
use crate::tui::keys::{self, Binding};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Copy the authorization URL.
    CopyUrl,
    /// Leave (cancel while waiting; finish afterwards).
    Quit,
    /// Ctrl-C: leave at once.
    Interrupt,
    /// Toggle help.
    Help,
}

const fn key(
    label: &'static str,
    hint: &'static str,
    keys: &'static [(KeyCode, Action)],
) -> Binding<Action> {
    Binding::new(label, hint, &[], keys)
}

const COPY: Binding<Action> = key(
    "c/u",
    "copy URL",
    &[(Char('c'), Action::CopyUrl), (Char('u'), Action::CopyUrl)],
);
const CANCEL: Binding<Action> = key(
    "q",
    "cancel",
    &[(Char('q'), Action::Quit), (Esc, Action::Quit)],
);
const DONE: Binding<Action> = key(
    "q/Enter",
    "done",
    &[
        (Char('q'), Action::Quit),
        (Enter, Action::Quit),
        (Esc, Action::Quit),
    ],
);
const HELP: Binding<Action> = key("?", "help", &[(Char('?'), Action::Help)]);

/// The keys that work in the current stage, in hint order.
pub fn bindings(app: &BrowserApp) -> Vec<Binding<Action>> {
    let mut keys = match &app.stage {
        Stage::Starting => vec![CANCEL],
        Stage::Waiting { .. } => vec![COPY, CANCEL],
        Stage::LoggedIn { .. } | Stage::Failed(_) => vec![DONE],
    };
    keys.push(HELP);
    keys
}

/// The action for a key press, if any. Letters work in either case.
pub fn action(app: &BrowserApp, key: KeyEvent) -> Option<Action> {
    if keys::is_interrupt(&key) {
        return Some(Action::Interrupt);
    }
    if app.help {
        return Some(Action::Help);
    }
    let code = match key.code {
        KeyCode::Char(c) => Char(c.to_ascii_lowercase()),
        other => other,
    };
    keys::action(&bindings(app), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_consistent() {
        for table in [
            vec![CANCEL, HELP],
            vec![COPY, CANCEL, HELP],
            vec![DONE, HELP],
        ] {
            assert!(keys::shadowed(&table).is_empty());
        }
    }
}
