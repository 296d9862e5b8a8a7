//! The real runtime ([`tvlogin::tui::screen::run`]) on a test backend: keys, resizes and
//! signals injected through channels, the screen read back as text, suspends counted.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tvlogin::error::Error;
use tvlogin::tui::screen::{Clock, Outcome, Screen, Sig, Term, run};

/// What the test terminal saw.
pub struct Seen {
    /// The terminal.
    pub terminal: Terminal<TestBackend>,
    /// Draws so far.
    pub draws: usize,
    /// Clears (full repaints) so far.
    pub clears: usize,
    /// Suspends (SIGTSTP, Ctrl-Z) so far.
    pub suspends: usize,
    /// Resumes (SIGCONT) so far.
    pub resumes: usize,
}

struct TestTerm(Arc<Mutex<Seen>>);

impl TestTerm {
    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Term for TestTerm {
    fn draw(&mut self, screen: &dyn Screen) -> io::Result<()> {
        let mut seen = self.seen();
        seen.draws += 1;
        let _ = seen.terminal.draw(|f| screen.view(f));
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        let mut seen = self.seen();
        seen.clears += 1;
        let _ = seen.terminal.clear();
        Ok(())
    }

    fn suspend(&mut self) -> io::Result<()> {
        self.seen().suspends += 1;
        Ok(())
    }

    fn size(&self) -> io::Result<(u16, u16)> {
        let seen = self.seen();
        let area = seen.terminal.backend().buffer().area;
        Ok((area.width, area.height))
    }

    fn resume(&mut self) -> io::Result<()> {
        self.seen().resumes += 1;
        Ok(())
    }
}

fn channel_stream<T: Send + 'static>(
    rx: UnboundedReceiver<T>,
) -> impl Stream<Item = T> + Unpin + Send {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|t| (t, rx))
    }))
}

/// A screen running on the real runtime.
pub struct Driven {
    events: Option<UnboundedSender<io::Result<Event>>>,
    signals: UnboundedSender<Sig>,
    seen: Arc<Mutex<Seen>>,
    done: JoinHandle<Result<Outcome, Error>>,
}

/// Starts `root` on a `width`×`height` test terminal.
pub fn drive(root: Box<dyn Screen>, width: u16, height: u16, clock: Clock) -> Driven {
    let terminal =
        Terminal::new(TestBackend::new(width, height)).expect("create the test terminal");
    let seen = Arc::new(Mutex::new(Seen {
        terminal,
        draws: 0,
        clears: 0,
        suspends: 0,
        resumes: 0,
    }));
    let (events, event_rx) = mpsc::unbounded_channel();
    let (signals, signal_rx) = mpsc::unbounded_channel();
    let mut term = TestTerm(Arc::clone(&seen));
    let done = tokio::spawn(async move {
        let mut events = channel_stream(event_rx);
        let mut signals = channel_stream(signal_rx);
        run(root, &mut term, &mut events, &mut signals, clock).await
    });
    Driven {
        events: Some(events),
        signals,
        seen,
        done,
    }
}

impl Driven {
    /// What the terminal saw.
    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The screen as text, one string per row (trailing blanks trimmed).
    pub fn rows(&self) -> Vec<String> {
        let seen = self.seen();
        let buffer = seen.terminal.backend().buffer();
        let area = buffer.area;
        (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    /// The screen as one text.
    pub fn text(&self) -> String {
        self.rows().join("\n")
    }

    fn send(&self, event: Event) {
        if let Some(events) = &self.events {
            let _ = events.send(Ok(event));
        }
    }

    /// Presses a key.
    pub fn key(&self, code: KeyCode) {
        self.send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Types a character.
    pub fn char(&self, c: char) {
        self.key(KeyCode::Char(c));
    }

    /// Presses Ctrl and a character.
    pub fn ctrl(&self, c: char) {
        self.send(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    /// Resizes the terminal, as a window manager would, and says so.
    pub fn resize(&self, width: u16, height: u16) {
        self.seen().terminal.backend_mut().resize(width, height);
        self.send(Event::Resize(width, height));
    }

    /// Sends a signal.
    pub fn signal(&self, sig: Sig) {
        let _ = self.signals.send(sig);
    }

    /// Closes the key stream (the terminal went away).
    pub fn hang_up(&mut self) {
        self.events = None;
    }

    /// Waits (on tokio's clock, so paused time advances) until `found` holds for the screen.
    pub async fn wait_until(&self, limit: Duration, what: &str, found: impl Fn(&str) -> bool) {
        let step = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        while !found(&self.text()) {
            assert!(
                waited < limit && !self.done.is_finished(),
                "no {what} on screen after {waited:?}:\n{}",
                self.text()
            );
            tokio::time::sleep(step).await;
            waited += step;
        }
    }

    /// Waits until the screen shows `text`.
    pub async fn wait_for(&self, text: &str) {
        self.wait_until(Duration::from_secs(20), text, |s| s.contains(text))
            .await;
    }

    /// Whether the runtime has returned.
    pub fn finished(&self) -> bool {
        self.done.is_finished()
    }

    /// Waits for the runtime to return.
    pub async fn finish(self) -> Outcome {
        tokio::time::timeout(Duration::from_secs(60), self.done)
            .await
            .expect("the runtime did not return")
            .expect("join the runtime's task")
            .expect("run the runtime")
    }
}
