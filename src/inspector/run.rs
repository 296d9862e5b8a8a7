//! The inspector's loop: it owns the terminal, feeds keys, a 1 s tick and signals to the pure
//! [`update`], and redraws only when the model says something visible changed.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;

use super::{Inspector, Msg, update};
use crate::error::Error;
use crate::exit::Exit;
use crate::runtime::Signals;
use crate::runtime::terminal::TerminalGuard;
use crate::token::time::now_unix;

/// Shows `model` until the person leaves; returns the exit code.
pub async fn run(mut model: Inspector) -> Result<Exit, Error> {
    let mut guard = TerminalGuard::enter()
        .map_err(|e| Error::Other(format!("cannot set up the terminal: {e}")))?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signals = Signals::new();
    loop {
        if model.take_dirty() {
            guard
                .terminal()
                .draw(|frame| frame.render_widget(&model, frame.area()))
                .map_err(|e| Error::Other(format!("cannot draw: {e}")))?;
        }
        if let Some(exit) = model.exit {
            return Ok(exit);
        }
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Some(Ok(Event::Resize(..))) => Msg::Resized,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(Error::Other(format!("cannot read the terminal: {e}"))),
                None => Msg::Terminate,
            },
            _ = tick.tick() => Msg::Tick(now_unix()),
            () = signals.recv() => Msg::Terminate,
        };
        update(&mut model, msg);
    }
}
