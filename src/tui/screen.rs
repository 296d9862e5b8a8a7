//! The one loop that owns the terminal for every screen (login, dashboard, inspector): one
//! key/resize stream, one signal set, one 1 s tick, the screens' effect results, and a redraw
//! only when the screen on top says something visible changed.
//!
//! A screen is a small [`Screen`]: it turns [`Input`] and its own effects' results into its
//! messages, runs its pure `update` with the time given, draws with a pure view, and says when
//! it is done ([`Screen::outcome`]). A screen may push another (the dashboard pushes the
//! login screen); the pushed one gets the keys until it is done, then its parent hears how it
//! ended. Every screen on the stack gets the ticks and its results, so a dashboard under a
//! login screen keeps renewing tokens.
//!
//! Keys every screen shares are handled here: Ctrl-Z suspends (as SIGTSTP does).

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::{Stream, StreamExt};
use ratatui::Frame;

use crate::clock::UnixTime;
use crate::error::Error;
use crate::exit::Exit;

/// The time an input happened, in both clocks the screens use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic (countdowns, poll intervals).
    pub at: Instant,
    /// Wall clock (token expiries).
    pub unix: UnixTime,
}

/// Where the runtime reads the time: tokio's clock (so tests can pause and advance it) and
/// the system's wall clock, or a wall clock that starts at a fixed second and advances with
/// tokio's (tests).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: tokio::time::Instant,
    fixed_unix: Option<UnixTime>,
}

impl Clock {
    /// The system's clocks.
    pub fn system() -> Self {
        Self {
            start: tokio::time::Instant::now(),
            fixed_unix: None,
        }
    }

    /// A wall clock that reads `unix` now and advances with tokio's clock.
    pub fn starting_at(unix: UnixTime) -> Self {
        Self {
            start: tokio::time::Instant::now(),
            fixed_unix: Some(unix),
        }
    }

    /// Now.
    pub fn now(&self) -> Now {
        let at = tokio::time::Instant::now();
        let unix = match self.fixed_unix {
            Some(u) => u.saturating_add(at.duration_since(self.start)),
            None => UnixTime::now(),
        };
        Now {
            at: at.into_std(),
            unix,
        }
    }
}

/// What the runtime feeds a screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A key press (only the screen on top gets keys).
    Key(KeyEvent),
    /// The terminal's size in columns and rows: once before a screen is first drawn, then
    /// on every change (every screen on the stack gets it).
    Resize(u16, u16),
    /// The 1 s tick (every screen on the stack gets it).
    Tick,
    /// A signal (SIGTERM, SIGHUP, SIGINT, SIGQUIT) or the terminal going away: stop.
    Terminate,
}

/// How a screen ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code.
    pub exit: Exit,
    /// A line describing the outcome (printed after the terminal is restored, or shown by
    /// the parent screen).
    pub summary: Option<String>,
    /// A signal (not a key) ended it: the screens under it stop too.
    pub signalled: bool,
}

/// One screen of the TUI. The runtime calls these from one task, in order; none blocks.
pub trait Screen: Send {
    /// Applies an input at `now`; effects it asks for start at once (as tokio tasks).
    fn input(&mut self, input: Input, now: Now);
    /// Applies one result of the screen's own effects if one is ready (`Ready`), else
    /// registers `cx` to be woken when one comes.
    fn poll_results(&mut self, cx: &mut Context<'_>, now: Now) -> Poll<()>;
    /// Draws the screen. Pure.
    fn view(&self, frame: &mut Frame<'_>);
    /// Whether something visible changed since the last call.
    fn take_dirty(&mut self) -> bool;
    /// `Some` once the screen is done.
    fn outcome(&self) -> Option<Outcome>;
    /// A screen this one wants on top of it.
    fn take_pushed(&mut self) -> Option<Box<dyn Screen>> {
        None
    }
    /// The screen this one pushed is done.
    fn child_ended(&mut self, _outcome: Outcome, _now: Now) {}
}

/// A signal, as the runtime sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT: stop.
    Stop,
    /// SIGTSTP: give the terminal back and stop the process until SIGCONT.
    Suspend,
    /// SIGCONT: the terminal may have been changed meanwhile; set it up again and redraw.
    Resume,
}

/// The terminal as the runtime uses it: the real one, or a test backend.
pub trait Term {
    /// Draws `screen`.
    fn draw(&mut self, screen: &dyn Screen) -> io::Result<()>;
    /// Clears it, so the next draw repaints every cell.
    fn clear(&mut self) -> io::Result<()>;
    /// Leaves the alternate screen, restores cooked mode and the cursor, stops the process
    /// (job control), and on continuing sets the terminal up again.
    fn suspend(&mut self) -> io::Result<()>;
    /// Sets the terminal up again after the process was continued (raw mode, alternate
    /// screen, hidden cursor).
    fn resume(&mut self) -> io::Result<()>;
    /// Its size in columns and rows.
    fn size(&self) -> io::Result<(u16, u16)>;
}

/// Which wake-up the loop got.
enum Woke {
    Event(Option<io::Result<Event>>),
    Signal(Option<Sig>),
    Tick,
    Result,
}

fn is_suspend_key(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('z')
}

/// Runs `root` (and whatever it pushes) until it is done; returns how it ended.
pub async fn run<T, E, S>(
    root: Box<dyn Screen>,
    term: &mut T,
    events: &mut E,
    signals: &mut S,
    clock: Clock,
) -> Result<Outcome, Error>
where
    T: Term + ?Sized,
    E: Stream<Item = io::Result<Event>> + Unpin + ?Sized,
    S: Stream<Item = Sig> + Unpin + ?Sized,
{
    let draw_error = |e: io::Error| Error::Other(format!("cannot draw: {e}"));
    let mut size = term.size().map_err(draw_error)?;
    let mut root = root;
    root.input(Input::Resize(size.0, size.1), clock.now());
    let mut stack: Vec<Box<dyn Screen>> = vec![root];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut repaint = true;
    let mut events_open = true;
    let mut signals_open = true;
    loop {
        // Pushes and pops first: the screen on top is the one drawn and given keys.
        loop {
            let depth = stack.len();
            let Some(top) = stack.last_mut() else {
                return Err(Error::Other("no screen".into()));
            };
            if let Some(mut child) = top.take_pushed() {
                child.input(Input::Resize(size.0, size.1), clock.now());
                stack.push(child);
                repaint = true;
                continue;
            }
            if depth > 1
                && let Some(outcome) = top.outcome()
            {
                stack.pop();
                if let Some(parent) = stack.last_mut() {
                    parent.child_ended(outcome, clock.now());
                }
                repaint = true;
                continue;
            }
            break;
        }
        let Some(top) = stack.last_mut() else {
            return Err(Error::Other("no screen".into()));
        };
        if let Some(outcome) = top.outcome() {
            return Ok(outcome);
        }
        if top.take_dirty() || repaint {
            if repaint {
                term.clear().map_err(draw_error)?;
            }
            term.draw(top.as_ref()).map_err(draw_error)?;
            repaint = false;
        }
        let woke = tokio::select! {
            event = events.next(), if events_open => Woke::Event(event),
            signal = signals.next(), if signals_open => Woke::Signal(signal),
            _ = tick.tick() => Woke::Tick,
            () = poll_fn(|cx| {
                let now = clock.now();
                // The top screen first: its results are what the person is waiting for.
                for screen in stack.iter_mut().rev() {
                    if screen.poll_results(cx, now).is_ready() {
                        return Poll::Ready(());
                    }
                }
                Poll::Pending
            }) => Woke::Result,
        };
        let now = clock.now();
        let Some(top_index) = stack.len().checked_sub(1) else {
            continue;
        };
        match woke {
            Woke::Event(Some(Ok(Event::Key(key)))) if key.kind == KeyEventKind::Press => {
                if is_suspend_key(&key) {
                    term.suspend()
                        .map_err(|e| Error::Other(format!("cannot suspend: {e}")))?;
                    repaint = true;
                } else {
                    stack[top_index].input(Input::Key(key), now);
                }
            }
            Woke::Event(Some(Ok(Event::Resize(width, height)))) => {
                size = (width, height);
                for screen in &mut stack {
                    screen.input(Input::Resize(width, height), now);
                }
                repaint = true;
            }
            Woke::Event(Some(Ok(_))) => {}
            Woke::Event(Some(Err(e))) => {
                return Err(Error::Other(format!("cannot read the terminal: {e}")));
            }
            // The terminal went away (hangup): stop as if signalled.
            Woke::Event(None) => {
                events_open = false;
                stack[top_index].input(Input::Terminate, now);
            }
            Woke::Signal(Some(Sig::Stop)) => stack[top_index].input(Input::Terminate, now),
            Woke::Signal(Some(Sig::Suspend)) => {
                term.suspend()
                    .map_err(|e| Error::Other(format!("cannot suspend: {e}")))?;
                repaint = true;
            }
            Woke::Signal(Some(Sig::Resume)) => {
                term.resume()
                    .map_err(|e| Error::Other(format!("cannot resume: {e}")))?;
                repaint = true;
            }
            Woke::Signal(None) => signals_open = false,
            Woke::Tick => {
                for screen in &mut stack {
                    screen.input(Input::Tick, now);
                }
            }
            Woke::Result => {}
        }
    }
}
