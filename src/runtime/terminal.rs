//! The terminal's raw mode and alternate screen, restored on every way out: drop (normal
//! return, `?` errors), panics (ratatui's hook restores before the message prints), and
//! signals (the loop turns SIGTERM/SIGHUP into a normal exit, so the drop runs).

use ratatui::DefaultTerminal;

/// Owns the terminal while the TUI runs.
pub struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen.
    pub fn enter() -> std::io::Result<Self> {
        Ok(Self {
            terminal: ratatui::try_init()?,
        })
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut DefaultTerminal {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        let _ = ratatui::try_restore();
    }
}
