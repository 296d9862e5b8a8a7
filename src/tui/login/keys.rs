//! The login screen's keys, per state, in the one table type every screen uses
//! ([`crate::tui::keys`]): the hint bar, the help overlay and the key handling read it, so
//! they can never disagree with what the keys do.

use crossterm::event::KeyCode::{self, Char, Enter, Esc};
use crossterm::event::KeyEvent;

use super::{App, Flow};
use crate::tui::keys::{self, Binding};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Copy the user code.
    CopyCode,
    /// Copy the verification URL.
    CopyUrl,
    /// Open the verification page in a local browser.
    Open,
    /// Start again with a new code.
    Restart,
    /// Leave (cancel while waiting; finish on an outcome screen).
    Quit,
    /// Ctrl-C: leave at once.
    Interrupt,
    /// Toggle help.
    Help,
    /// Keep the tokens in the 0600 file store.
    UseFile,
    /// Keep the tokens in memory for this run.
    UseMemory,
    /// Demo: approve at the embedded server.
    DemoApprove,
    /// Demo: deny at the embedded server.
    DemoDeny,
}

const fn key(
    label: &'static str,
    hint: &'static str,
    keys: &'static [(KeyCode, Action)],
) -> Binding<Action> {
    Binding::new(label, hint, &[], keys)
}

const FILE: Binding<Action> = key("f", "file", &[(Char('f'), Action::UseFile)]);
const MEMORY: Binding<Action> = key("m", "memory", &[(Char('m'), Action::UseMemory)]);
const CANCEL: Binding<Action> = key(
    "q",
    "cancel",
    &[(Char('q'), Action::Quit), (Esc, Action::Quit)],
);
const APPROVE: Binding<Action> = key("a", "approve", &[(Char('a'), Action::DemoApprove)]);
const DENY: Binding<Action> = key("d", "deny", &[(Char('d'), Action::DemoDeny)]);
const COPY_CODE: Binding<Action> = key("c", "copy code", &[(Char('c'), Action::CopyCode)]);
const COPY_URL: Binding<Action> = key("u", "copy URL", &[(Char('u'), Action::CopyUrl)]);
const OPEN: Binding<Action> = key("o", "open browser", &[(Char('o'), Action::Open)]);
const NEW_CODE: Binding<Action> = key("r", "new code", &[(Char('r'), Action::Restart)]);
const DONE: Binding<Action> = key(
    "q/Enter",
    "done",
    &[
        (Char('q'), Action::Quit),
        (Enter, Action::Quit),
        (Esc, Action::Quit),
    ],
);
const TRY_AGAIN: Binding<Action> = key("r", "try again", &[(Char('r'), Action::Restart)]);
const QUIT: Binding<Action> = key(
    "q",
    "quit",
    &[(Char('q'), Action::Quit), (Esc, Action::Quit)],
);
const HELP: Binding<Action> = key("?", "help", &[(Char('?'), Action::Help)]);

/// The keys that work on the current screen, in the order the hint bar and help show them.
pub fn bindings(app: &App) -> Vec<Binding<Action>> {
    let mut keys = Vec::new();
    match &app.flow {
        Flow::ChooseStore { .. } => keys.extend([FILE, MEMORY, CANCEL]),
        Flow::Waiting(_) => {
            // The demo's own keys first: its screen tells people to press a.
            if app.ctx.demo {
                keys.extend([APPROVE, DENY]);
            }
            keys.extend([COPY_CODE, COPY_URL, OPEN, NEW_CODE, CANCEL]);
        }
        Flow::Discovering | Flow::Requesting => keys.push(CANCEL),
        Flow::Approved(_) => keys.push(DONE),
        Flow::Denied { .. } | Flow::Expired { .. } | Flow::Failed(_) => {
            keys.extend([TRY_AGAIN, QUIT]);
        }
    }
    keys.push(HELP);
    keys
}

/// The action for a key press on the current screen, if any. Letters work in either case.
pub fn action(app: &App, key: KeyEvent) -> Option<Action> {
    if keys::is_interrupt(&key) {
        return Some(Action::Interrupt);
    }
    if app.help {
        // Any key closes help.
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

    /// No state lists a key twice for different actions.
    #[test]
    fn the_tables_are_consistent() {
        for table in [
            vec![FILE, MEMORY, CANCEL, HELP],
            vec![
                APPROVE, DENY, COPY_CODE, COPY_URL, OPEN, NEW_CODE, CANCEL, HELP,
            ],
            vec![DONE, HELP],
            vec![TRY_AGAIN, QUIT, HELP],
        ] {
            assert!(keys::shadowed(&table).is_empty());
        }
    }
}
