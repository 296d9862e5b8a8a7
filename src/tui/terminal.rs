//! The terminal's raw mode and alternate screen, restored on every way out: drop (normal
//! return, `?` errors), panics (ratatui's hook restores before the message prints), signals
//! (the loop turns SIGTERM/SIGHUP into a normal exit, so the drop runs), and job control
//! (SIGTSTP or Ctrl-Z gives the terminal back in cooked mode before the process stops).

use std::io::{self, Write};

use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::DefaultTerminal;

use super::screen::{Screen, Term};

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

    /// Gives the terminal back as the shell expects it: cooked mode, the normal screen, a
    /// visible cursor.
    fn leave(&mut self) -> io::Result<()> {
        self.terminal.show_cursor()?;
        crossterm::terminal::disable_raw_mode()?;
        crossterm::execute!(io::stdout(), LeaveAlternateScreen)?;
        io::stdout().flush()
    }
}

impl Term for TerminalGuard {
    fn draw(&mut self, screen: &dyn Screen) -> io::Result<()> {
        self.terminal.draw(|frame| screen.view(frame)).map(drop)
    }

    fn clear(&mut self) -> io::Result<()> {
        // ratatui's own clear asks the terminal where the cursor is, which a terminal that
        // does not answer turns into an error; clearing, then drawing an empty frame, makes
        // ratatui's idea of the screen blank, so the next draw repaints every cell.
        crossterm::execute!(io::stdout(), Clear(ClearType::All))?;
        self.terminal.draw(|_| {}).map(drop)
    }

    fn suspend(&mut self) -> io::Result<()> {
        self.leave()?;
        stop_job();
        self.resume()
    }

    fn size(&self) -> io::Result<(u16, u16)> {
        crossterm::terminal::size()
    }

    fn resume(&mut self) -> io::Result<()> {
        crossterm::terminal::enable_raw_mode()?;
        crossterm::execute!(io::stdout(), EnterAlternateScreen)?;
        self.terminal.hide_cursor()?;
        self.clear()
    }
}

/// Stops this process's whole process group until SIGCONT, as shells and editors do on
/// Ctrl-Z: the terminal would have sent SIGTSTP to the whole foreground group, but in raw mode
/// Ctrl-Z is a key that only tvlogin reads. Stopping only this process would leave a wrapper
/// script that started it running (waiting for it), so the shell would never see its job
/// stop: no prompt, and `fg` would do nothing. SIGSTOP cannot be caught or ignored, and
/// unlike SIGTSTP it also stops a group that has no parent shell in the session.
fn stop_job() {
    #[cfg(unix)]
    {
        let _ = rustix::process::kill_current_process_group(rustix::process::Signal::STOP);
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        let _ = ratatui::try_restore();
    }
}
