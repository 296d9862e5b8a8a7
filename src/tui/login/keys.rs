//! Keys to actions, per screen. The hint bar and the help overlay read the same table, so
//! they can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Flow};

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

/// The keys that work on the current screen: (key label, description, action).
pub fn bindings(app: &App) -> Vec<(&'static str, &'static str, Action)> {
    let mut keys = Vec::new();
    match &app.flow {
        Flow::ChooseStore { .. } => {
            keys.push(("f", "file", Action::UseFile));
            keys.push(("m", "memory", Action::UseMemory));
            keys.push(("q", "cancel", Action::Quit));
        }
        Flow::Waiting(_) => {
            // The demo's own keys first: its screen tells people to press a.
            if app.ctx.demo {
                keys.push(("a", "approve", Action::DemoApprove));
                keys.push(("d", "deny", Action::DemoDeny));
            }
            keys.push(("c", "copy code", Action::CopyCode));
            keys.push(("u", "copy URL", Action::CopyUrl));
            keys.push(("o", "open browser", Action::Open));
            keys.push(("r", "new code", Action::Restart));
            keys.push(("q", "cancel", Action::Quit));
        }
        Flow::Discovering | Flow::Requesting => keys.push(("q", "cancel", Action::Quit)),
        Flow::Approved(_) => keys.push(("q/Enter", "done", Action::Quit)),
        Flow::Denied { .. } | Flow::Expired { .. } | Flow::Failed(_) => {
            keys.push(("r", "try again", Action::Restart));
            keys.push(("q", "quit", Action::Quit));
        }
    }
    keys.push(("?", "help", Action::Help));
    keys
}

/// The action for a key press on the current screen, if any.
pub fn action(app: &App, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c') | KeyCode::Char('d'))
            .then_some(Action::Interrupt);
    }
    if app.help {
        // Any key closes help.
        return Some(Action::Help);
    }
    let label = match key.code {
        KeyCode::Esc => return Some(Action::Quit),
        KeyCode::Enter if matches!(app.flow, Flow::Approved(_)) => return Some(Action::Quit),
        KeyCode::Char(c) => c.to_ascii_lowercase(),
        _ => return None,
    };
    bindings(app)
        .into_iter()
        .find(|(keys, _, _)| {
            keys.split('/')
                .any(|k| k.len() == 1 && k.starts_with(label))
        })
        .map(|(_, _, action)| action)
}
