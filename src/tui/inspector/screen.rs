//! The inspector as a [`Screen`] of the runtime: keys, the tick and signals become its
//! messages for the pure [`update()`]; it has no effects of its own.

use std::task::{Context, Poll};

use ratatui::Frame;

use super::{Inspector, Msg, update};
use crate::error::Error;
use crate::exit::Exit;
use crate::tui::run_screen;
use crate::tui::screen::{Input, Now, Outcome, Screen};

/// The inspector on its own (`tvlogin inspect` on a terminal).
pub struct InspectorScreen {
    model: Inspector,
    signalled: bool,
}

impl InspectorScreen {
    /// A screen showing `model`.
    pub fn new(model: Inspector) -> Self {
        Self {
            model,
            signalled: false,
        }
    }

    /// The model.
    pub fn model(&self) -> &Inspector {
        &self.model
    }
}

impl Screen for InspectorScreen {
    fn input(&mut self, input: Input, now: Now) {
        let msg = match input {
            Input::Key(key) => Msg::Key(key),
            Input::Resize(width, height) => Msg::Size(width, height),
            Input::Tick => Msg::Tick(now.unix),
            Input::Terminate => {
                self.signalled = true;
                Msg::Terminate
            }
        };
        update(&mut self.model, msg);
    }

    fn poll_results(&mut self, _cx: &mut Context<'_>, _now: Now) -> Poll<()> {
        Poll::Pending
    }

    fn view(&self, frame: &mut Frame<'_>) {
        frame.render_widget(&self.model, frame.area());
    }

    fn take_dirty(&mut self) -> bool {
        self.model.take_dirty()
    }

    fn outcome(&self) -> Option<Outcome> {
        self.model.exit.map(|exit| Outcome {
            exit,
            summary: None,
            signalled: self.signalled,
        })
    }
}

/// Shows `model` until the person leaves; returns the exit code.
pub async fn run(model: Inspector) -> Result<Exit, Error> {
    Ok(run_screen(Box::new(InspectorScreen::new(model)))
        .await?
        .exit)
}
