//! The login screen as a [`Screen`] of the runtime: the pure [`App`] and its [`Executor`],
//! whose results come back on a channel the runtime polls.

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use ratatui::Frame;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::executor::{DemoDecide, Executor, Storage};
use crate::config::{EndpointSource, LoginConfig};
use crate::error::Error;
use crate::oauth::http::Http;
use crate::tui::login::{App, Context, Flow, Msg, update};
use crate::tui::screen::{Input, Now, Outcome, Screen};

/// The login screen: a device flow from the first request to the stored tokens.
pub struct LoginScreen {
    app: App,
    executor: Executor,
    results: UnboundedReceiver<Msg>,
    signalled: bool,
}

impl LoginScreen {
    /// Sets the screen up and starts its first effects (discovery or the device request, or
    /// the store question when `store_problem` says the keyring cannot be used).
    pub fn new(
        config: Arc<LoginConfig>,
        mut ctx: Context,
        demo: Option<DemoDecide>,
        storage: Storage,
        store_problem: Option<String>,
        now: Instant,
    ) -> Result<Self, Error> {
        ctx.site = crate::login::site_check(&config);
        let http = Http::new(config.http).map_err(Error::Other)?;
        let endpoints = match &config.source {
            EndpointSource::Fixed(e) => {
                http.check_url(&e.token)?;
                Some(e.clone())
            }
            EndpointSource::Discover(_) => None,
        };
        let (tx, results) = mpsc::unbounded_channel();
        let file = crate::store::StoreChoice::file(&storage.paths, &config.profile).location;
        let mut executor = Executor::new(http, config, demo, storage, tx);
        let mut app = App::new(ctx, endpoints, now);
        if let Some(reason) = store_problem {
            app = app.asking_for_store(reason, file);
        }
        executor.set_endpoints(app.endpoints.clone());
        for effect in app.start() {
            executor.run(effect);
        }
        Ok(Self {
            app,
            executor,
            results,
            signalled: false,
        })
    }

    /// The model, for tests and the caller.
    pub fn app(&self) -> &App {
        &self.app
    }

    fn apply(&mut self, msg: Msg, now: Instant) {
        let discovered = matches!(msg, Msg::Discovered { .. });
        let effects = update(&mut self.app, msg, now);
        // Before the effects: the code request after discovery needs the endpoints (whether
        // the server speaks DPoP, and with which algorithms).
        if discovered {
            self.executor.set_endpoints(self.app.endpoints.clone());
        }
        for effect in effects {
            self.executor.run(effect);
        }
    }
}

impl Screen for LoginScreen {
    fn input(&mut self, input: Input, now: Now) {
        let msg = match input {
            Input::Key(key) => Msg::Key(key),
            Input::Resize(..) => Msg::Resized,
            Input::Tick => Msg::Tick,
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
            // The executor holds a sender for as long as the screen lives.
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

/// The line left in the scrollback after the alternate screen is gone.
pub fn summary(app: &App) -> Option<String> {
    match &app.flow {
        Flow::Approved(a) => Some(match &a.saved {
            crate::tui::login::Saved::Done(place) => format!(
                "logged in (profile {}); tokens stored in {place}",
                app.ctx.profile
            ),
            crate::tui::login::Saved::Failed(why) => format!(
                "logged in (profile {}), but the tokens were not stored: {why}",
                app.ctx.profile
            ),
            crate::tui::login::Saved::Saving => format!("logged in (profile {})", app.ctx.profile),
        }),
        Flow::Denied { error, .. } => Some(format!("access denied ({error})")),
        Flow::Expired { .. } => Some("the code expired before it was approved".into()),
        Flow::Failed(e) => Some(format!("login failed: {e}")),
        _ => Some("cancelled".into()),
    }
}
