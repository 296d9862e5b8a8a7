//! The browser-login screen as a [`Screen`]: the pure [`BrowserApp`] and one task that drives
//! the login ([`BrowserLogin`]: listen, open the browser, take the answer, exchange the code)
//! and stores the tokens like the device flow; its news comes back on a channel.

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use ratatui::Frame;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::update::summary;
use super::{BrowserApp, Context, Effect, Msg, update};
use crate::config::LoginConfig;
use crate::error::Error;
use crate::login::{BrowserLogin, open_browser};
use crate::paths::Paths;
use crate::tui::screen::{Input, Now, Outcome, Screen};

/// The browser-login screen.
pub struct BrowserScreen {
    app: BrowserApp,
    results: UnboundedReceiver<Msg>,
    task: JoinHandle<()>,
    signalled: bool,
}

impl BrowserScreen {
    /// Starts the login at once: the tokens go to the store chosen for the profile under
    /// `paths` (a keyring that does not work is an error here; `--store file` avoids it).
    pub fn new(config: Arc<LoginConfig>, ctx: Context, paths: Paths, now: Instant) -> Self {
        let (tx, results) = mpsc::unbounded_channel();
        let app = BrowserApp::new(ctx.clone(), config.redirect.timeout, now);
        let task = tokio::spawn(drive(config, ctx, paths, tx));
        Self {
            app,
            results,
            task,
            signalled: false,
        }
    }

    /// The model, for tests.
    pub fn app(&self) -> &BrowserApp {
        &self.app
    }

    fn apply(&mut self, msg: Msg, now: Instant) {
        for effect in update(&mut self.app, msg, now) {
            match effect {
                // Dropping the login closes the listener; stored tokens are written on a
                // detached task and are not cut in half.
                Effect::Cancel => self.task.abort(),
                Effect::Copy(text) => {
                    let _ = crossterm::execute!(
                        std::io::stdout(),
                        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
                    );
                }
            }
        }
    }
}

/// The login from start to stored tokens, reporting to the screen.
async fn drive(config: Arc<LoginConfig>, ctx: Context, paths: Paths, tx: UnboundedSender<Msg>) {
    let result = async {
        let choice = crate::store::choose(&paths, config.as_ref()).await?;
        let login = BrowserLogin::start(&config).await?;
        let opened = match &ctx.no_browser {
            Some(why) => Err(why.clone()),
            None => open_browser(&config, &login.url).await,
        };
        let _ = tx.send(Msg::Listening {
            url: login.url.clone(),
            redirect: login.redirect.clone(),
            opened,
        });
        let outcome = login.finish(&config).await?;
        let stored = crate::session::persist_login_detached(
            paths,
            (*config).clone(),
            outcome.endpoints,
            outcome.tokens,
            choice,
            outcome.dpop_key,
        )
        .await?;
        Ok::<_, Error>(stored.location)
    }
    .await;
    let _ = tx.send(Msg::Finished(result));
}

impl Drop for BrowserScreen {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Screen for BrowserScreen {
    fn input(&mut self, input: Input, now: Now) {
        let msg = match input {
            Input::Key(key) => Msg::Key(key),
            Input::Resize(..) | Input::Tick => Msg::Tick,
            Input::Terminate => {
                self.signalled = true;
                Msg::Terminate
            }
        };
        self.apply(msg, now.at);
    }

    fn poll_results(&mut self, cx: &mut TaskContext<'_>, now: Now) -> Poll<()> {
        match self.results.poll_recv(cx) {
            Poll::Ready(Some(msg)) => {
                self.apply(msg, now.at);
                Poll::Ready(())
            }
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }

    fn view(&self, frame: &mut Frame<'_>) {
        frame.render_widget(&self.app, frame.area());
    }

    fn take_dirty(&mut self) -> bool {
        self.app.take_dirty()
    }

    fn outcome(&self) -> Option<Outcome> {
        self.app.exit.map(|exit| Outcome {
            exit,
            summary: summary(&self.app),
            signalled: self.signalled,
        })
    }
}
