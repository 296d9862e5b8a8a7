//! The dashboard's executor and its [`Screen`] on the runtime: keys, the tick, results and
//! signals become messages for the pure [`update()`], effects run as tokio tasks, and `l`/`n`
//! push the login screen.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ratatui::Frame;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::tabs::profile_tabs;
use super::{Dashboard, Effect, Msg, Row, update};
use crate::clock::UnixTime;
use crate::config::{ConfigFile, LoginConfig, LoginSettings};
use crate::error::Error;
use crate::exit::Exit;
use crate::sanitize::escape;
use crate::session::{self, ProfileStatus, StepOutcome, TokenKind, collect};
use crate::store::state::SessionMeta;
use crate::tui::browser::screen::BrowserScreen;
use crate::tui::inspector::screen::InspectorScreen;
use crate::tui::login::executor::Storage;
use crate::tui::login::screen::LoginScreen;
use crate::tui::run_screen;
use crate::tui::screen::{Input, Now, Outcome, Screen};

/// What a task hands back: a message, for a copy the text to put on the clipboard (written
/// by the screen, which owns the terminal's output), or a login ready to be shown.
enum Reply {
    Msg(Msg),
    /// The token is a secret, so its Debug is redacted.
    Clipboard(crate::secret::Secret<String>, Msg),
    LoginReady(Result<Box<dyn Screen>, String>),
}

/// Shows the dashboard until the person leaves; returns the exit code.
pub async fn run(model: Dashboard, ctx: session::Context) -> Result<Exit, Error> {
    let screen = DashboardScreen::new(model, ctx, Box::new(std::io::stdout()));
    Ok(run_screen(Box::new(screen)).await?.exit)
}

/// Which screen the dashboard pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pushed {
    Login,
    Inspector,
}

/// How long quitting waits for a refresh or logout to store its tokens: a little longer
/// than one HTTP timeout.
const FINISH_WITHIN: u64 = 35;

/// The dashboard as a [`Screen`] of the runtime: the pure model, its tasks, and the login
/// screen it pushes for `l` and `n` (the same terminal session, no flicker back to the
/// shell).
pub struct DashboardScreen {
    model: Dashboard,
    ctx: Arc<session::Context>,
    tasks: Tasks,
    tx: UnboundedSender<Reply>,
    results: UnboundedReceiver<Reply>,
    clipboard: Box<dyn Write + Send>,
    pushed: Option<Box<dyn Screen>>,
    /// A login screen is being set up or shown.
    login_open: bool,
    /// The screen this one pushed and that is still open.
    showing: Option<Pushed>,
    /// Quitting, waiting for token writes until this Unix second.
    finishing: Option<UnixTime>,
    done: bool,
}

impl DashboardScreen {
    /// A dashboard screen writing clipboard requests (OSC 52) to `clipboard` (the terminal),
    /// with its first effects started.
    pub fn new(model: Dashboard, ctx: session::Context, clipboard: Box<dyn Write + Send>) -> Self {
        let (tx, results) = mpsc::unbounded_channel();
        let mut screen = Self {
            model,
            ctx: Arc::new(ctx),
            tasks: Tasks::default(),
            tx,
            results,
            clipboard,
            pushed: None,
            login_open: false,
            showing: None,
            finishing: None,
            done: false,
        };
        let start = screen.model.start();
        screen.run_effects(start);
        screen
    }

    /// The model.
    pub fn model(&self) -> &Dashboard {
        &self.model
    }

    fn apply(&mut self, msg: Msg, now: UnixTime) {
        let effects = update(&mut self.model, msg);
        self.run_effects(effects);
        // An inspection that opened becomes a screen of its own on top of the list.
        // (Not over a login screen: the inspection is dropped, Enter reads it again.)
        if matches!(self.model.mode, super::Mode::Inspect(_))
            && let super::Mode::Inspect(inspector) =
                std::mem::replace(&mut self.model.mode, super::Mode::List)
            && self.showing.is_none()
        {
            self.pushed = Some(Box::new(InspectorScreen::new(*inspector)));
            self.showing = Some(Pushed::Inspector);
        }
        self.check_exit(now);
    }

    fn run_effects(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                // One login screen at a time (a second l while one is being set up).
                Effect::Login(_) if self.login_open => {}
                Effect::Login(profile) => {
                    self.login_open = true;
                    let meta = self
                        .model
                        .rows
                        .iter()
                        .find(|r| r.profile == profile)
                        .and_then(|r| r.session.as_ref().or(r.last_session.as_ref()))
                        .cloned();
                    let ctx = Arc::clone(&self.ctx);
                    self.tasks.spawn(&self.tx, false, async move {
                        let screen = prepare_login(&ctx, &profile, meta.as_ref()).await;
                        Reply::LoginReady(screen)
                    });
                }
                Effect::CreateProfile(_) if self.login_open => {}
                // The profile is written, then its login screen is set up as for `l`.
                Effect::CreateProfile(profile) => {
                    self.login_open = true;
                    let ctx = Arc::clone(&self.ctx);
                    self.tasks.spawn(&self.tx, true, async move {
                        let written = tokio::task::spawn_blocking({
                            let paths = ctx.paths.clone();
                            let profile = profile.clone();
                            move || super::new_profile::write_profile(&paths, &profile)
                        })
                        .await
                        .unwrap_or_else(|e| Err(format!("writing config.toml: {e}")));
                        match written {
                            Ok(()) => {
                                Reply::LoginReady(prepare_login(&ctx, &profile.name, None).await)
                            }
                            Err(why) => Reply::LoginReady(Err(escape(&why))),
                        }
                    });
                }
                effect => self.tasks.start(effect, &self.ctx, &self.tx),
            }
        }
    }

    /// Once the model says quit: at once, or after the token writes under way (any key or
    /// signal stops the wait).
    fn check_exit(&mut self, now: UnixTime) {
        if self.model.exit.is_none() || self.finishing.is_some() || self.done {
            return;
        }
        self.tasks.writes.retain(|t| !t.is_finished());
        if self.tasks.writes.is_empty() {
            self.done = true;
            return;
        }
        self.finishing = Some(now.plus_secs(FINISH_WITHIN));
        self.model.mode = super::Mode::List;
        self.model.say(
            super::Tone::Busy,
            "finishing a token refresh or logout before quitting… (any key quits now)".into(),
        );
        self.model.dirty = true;
    }

    fn reply(&mut self, reply: Reply, now: UnixTime) {
        match reply {
            Reply::Msg(msg) => self.apply(msg, now),
            Reply::Clipboard(text, msg) => {
                let written = crossterm::execute!(
                    self.clipboard,
                    crossterm::clipboard::CopyToClipboard::to_clipboard_from(text.into_secret())
                );
                let msg = match (written, msg) {
                    (Err(e), Msg::Copied { profile, .. }) => Msg::Copied {
                        profile,
                        result: Err(format!("cannot write to the terminal: {e}")),
                    },
                    (_, msg) => msg,
                };
                self.apply(msg, now);
            }
            Reply::LoginReady(Ok(screen))
                if self.finishing.is_none() && !self.done && self.showing.is_none() =>
            {
                self.pushed = Some(screen);
                self.showing = Some(Pushed::Login);
            }
            Reply::LoginReady(Ok(_)) => self.login_open = false,
            Reply::LoginReady(Err(why)) => {
                self.login_open = false;
                self.apply(Msg::LoginEnded(Err(why)), now);
            }
        }
    }
}

impl Screen for DashboardScreen {
    fn input(&mut self, input: Input, now: Now) {
        if self.finishing.is_some() {
            match input {
                Input::Key(_) | Input::Terminate => self.done = true,
                Input::Tick if self.finishing.is_some_and(|end| now.unix >= end) => {
                    self.done = true;
                }
                Input::Tick | Input::Resize(..) => {}
            }
            return;
        }
        let msg = match input {
            Input::Key(key) => Msg::Key(key),
            Input::Resize(..) => Msg::Resized,
            Input::Tick => Msg::Tick(now.unix),
            Input::Terminate => Msg::Terminate,
        };
        self.apply(msg, now.unix);
    }

    fn poll_results(&mut self, cx: &mut Context<'_>, now: Now) -> Poll<()> {
        if self.finishing.is_some() && !self.done {
            self.tasks
                .writes
                .retain_mut(|t| Pin::new(t).poll(cx).is_pending());
            if self.tasks.writes.is_empty() {
                self.done = true;
                return Poll::Ready(());
            }
        }
        match self.results.poll_recv(cx) {
            Poll::Ready(Some(reply)) => {
                self.reply(reply, now.unix);
                Poll::Ready(())
            }
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }

    fn view(&self, frame: &mut Frame<'_>) {
        frame.render_widget(&self.model, frame.area());
    }

    fn take_dirty(&mut self) -> bool {
        self.model.take_dirty()
    }

    fn outcome(&self) -> Option<Outcome> {
        self.done.then(|| Outcome {
            exit: self.model.exit.unwrap_or(Exit::Ok),
            summary: None,
            signalled: false,
        })
    }

    fn take_pushed(&mut self) -> Option<Box<dyn Screen>> {
        self.pushed.take()
    }

    fn child_ended(&mut self, outcome: Outcome, now: Now) {
        if self.showing.take() == Some(Pushed::Inspector) {
            if outcome.signalled {
                self.apply(Msg::Terminate, now.unix);
            }
            self.apply(Msg::Resized, now.unix);
            return;
        }
        self.login_open = false;
        let line = escape(
            outcome
                .summary
                .as_deref()
                .unwrap_or("left the login screen"),
        );
        self.apply(Msg::LoginEnded(Ok(line)), now.unix);
        if outcome.signalled {
            self.apply(Msg::Terminate, now.unix);
        }
        // Redraw even when nothing else changed: the login screen drew over everything.
        self.apply(Msg::Resized, now.unix);
    }
}

/// The running tasks. Reads are aborted when the loop ends; writes get [`finish_writes`].
#[derive(Default)]
struct Tasks {
    reads: Vec<JoinHandle<()>>,
    writes: Vec<JoinHandle<()>>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in self.reads.drain(..).chain(self.writes.drain(..)) {
            t.abort();
        }
    }
}

impl Tasks {
    fn spawn(
        &mut self,
        tx: &UnboundedSender<Reply>,
        writes: bool,
        work: impl Future<Output = Reply> + Send + 'static,
    ) {
        let tx = tx.clone();
        let list = if writes {
            &mut self.writes
        } else {
            &mut self.reads
        };
        list.retain(|t| !t.is_finished());
        list.push(tokio::spawn(async move {
            let _ = tx.send(work.await);
        }));
    }

    fn start(&mut self, effect: Effect, ctx: &Arc<session::Context>, tx: &UnboundedSender<Reply>) {
        let ctx = Arc::clone(ctx);
        match effect {
            Effect::Copy(profile) => self.spawn(tx, true, async move {
                match session::current_token(
                    &ctx,
                    &profile,
                    TokenKind::Access,
                    session::DEFAULT_MIN_TTL,
                )
                .await
                {
                    Ok(t) => {
                        // An effect (an edge): the lifetime left once the token is in hand.
                        let left = session::seconds_left(UnixTime::now(), t.expires_at);
                        Reply::Clipboard(
                            t.token,
                            Msg::Copied {
                                profile,
                                result: Ok(left),
                            },
                        )
                    }
                    Err(e) => Reply::Msg(Msg::Copied {
                        profile,
                        result: Err(escape(&e.to_string())),
                    }),
                }
            }),
            // Needs the terminal: the screen pushes it.
            Effect::Login(_) | Effect::CreateProfile(_) => {}
            effect => self.spawn(
                tx,
                matches!(effect, Effect::Refresh(_) | Effect::Logout(_)),
                async move {
                    let msg = perform(effect, &ctx).await;
                    Reply::Msg(msg.unwrap_or(Msg::Resized))
                },
            ),
        }
    }
}

/// Carries out an effect that needs neither the terminal nor the clipboard and returns its
/// result as a message (`None` for copy and login, which the loop runs itself).
pub async fn perform(effect: Effect, ctx: &session::Context) -> Option<Msg> {
    Some(match effect {
        Effect::Reload => {
            let (rows, problems) = read_rows(ctx).await;
            Msg::Loaded(rows, problems)
        }
        Effect::Refresh(profile) => match session::force_refresh(ctx, &profile).await {
            // A configuration problem (the secret's variable unset here): retrying cannot help.
            Err(Error::Usage(why)) => Msg::RefreshBlocked {
                profile,
                message: escape(&why),
            },
            result => Msg::Refreshed {
                profile,
                result: result.map_err(|e| escape(&e.to_string())),
            },
        },
        Effect::Logout(profile) => {
            let mut steps = Vec::new();
            let mut report = |s: &session::Step| {
                steps.push(match &s.outcome {
                    StepOutcome::Done => s.what.clone(),
                    StepOutcome::Skipped(why) => format!("{}: skipped ({why})", s.what),
                    StepOutcome::Failed(e) => format!("{}: failed ({e})", s.what),
                });
            };
            let result = session::logout(ctx, &profile, &mut report).await;
            let steps: Vec<String> = steps.iter().map(|s| escape(s)).collect();
            let failure = match result {
                Ok(true) => None,
                Ok(false) => Some("it was not logged in".to_owned()),
                Err(e) => Some(escape(&format!("{e} ({})", steps.join("; ")))),
            };
            Msg::LoggedOut {
                profile,
                steps,
                failure,
            }
        }
        Effect::Inspect(profile) => {
            let result = profile_tabs(ctx, &profile)
                .await
                .map_err(|e| escape(&e.to_string()));
            Msg::Inspected { profile, result }
        }
        Effect::Copy(_) | Effect::Login(_) | Effect::CreateProfile(_) => return None,
    })
}

/// Every profile with the dashboard's settings from config.toml (read again each time, so a
/// profile added there shows up, and can be logged in to, without a restart); problems
/// escaped.
pub async fn read_rows(ctx: &session::Context) -> (Vec<Row>, Vec<String>) {
    let paths = ctx.paths.clone();
    let read = tokio::task::spawn_blocking(move || {
        let (file, problem) = match ConfigFile::load(&paths.config_file()) {
            Ok(file) => (file, None),
            Err(e) => (ConfigFile::default(), Some(e.to_string())),
        };
        let (statuses, mut problems) = collect(&paths, &file);
        problems.extend(problem);
        (statuses, problems, file)
    })
    .await;
    let (statuses, problems, file) = match read {
        Ok(r) => r,
        Err(e) => (
            Vec::new(),
            vec![format!("reading the profiles: {e}")],
            ConfigFile::default(),
        ),
    };
    let rows = statuses.into_iter().map(|s| row_for(&file, s)).collect();
    (rows, problems.iter().map(|p| escape(p)).collect())
}

/// A [`Row`] from what is on disk, with the profile's `auto_refresh` and `refresh_before`.
pub fn row_for(file: &ConfigFile, status: ProfileStatus) -> Row {
    let settings = file.profiles.get(&status.profile);
    let mut row = Row::new(
        &status.profile,
        status.configured,
        status.state.as_ref().and_then(|s| s.store),
    );
    let login = status.state.as_ref().and_then(|s| s.login.as_ref());
    row.remembered = login.is_some();
    row.ended_by_server = login.is_some_and(|l| l.session_ended.is_some());
    row.session = status.state.and_then(|s| s.session);
    if let Some(p) = settings {
        row.auto_refresh = p.auto_refresh.unwrap_or(true);
        row.refresh_before = p.refresh_before.unwrap_or(super::DEFAULT_REFRESH_BEFORE);
    }
    row
}

/// The login screen for `profile`, set up off the dashboard's loop (reading the config and
/// probing the keyring take a moment); why not, escaped. The profile's flow decides which:
/// the browser-login screen for `browser` (and for `auto` where a browser can be opened),
/// else the device flow's.
async fn prepare_login(
    ctx: &session::Context,
    profile: &str,
    meta: Option<&SessionMeta>,
) -> Result<Box<dyn Screen>, String> {
    let config = login_config(ctx, profile, meta)
        .map_err(|e| escape(&format!("cannot log in to {profile} from here: {e}")))?;
    let browser_ctx = crate::tui::browser_context(&config, false);
    let browser = match config.flow {
        crate::oauth::authcode::LoginFlow::Device => false,
        crate::oauth::authcode::LoginFlow::Browser => true,
        crate::oauth::authcode::LoginFlow::Auto => browser_ctx.no_browser.is_none(),
    };
    if browser {
        return Ok(Box::new(BrowserScreen::new(
            Arc::new(config),
            browser_ctx,
            ctx.paths.clone(),
            std::time::Instant::now(),
        )));
    }
    let screen = async {
        // The dashboard's own directories (not re-read from the environment).
        let app_ctx =
            crate::tui::context(&config.profile, &crate::login::server_label(&config), false);
        let (choice, problem) = match crate::store::choose(&ctx.paths, &config).await {
            Ok(choice) => (Some(choice), None),
            Err(crate::store::StoreError::KeyringUnavailable { reason }) => (None, Some(reason)),
            Err(e) => return Err(Error::from(e)),
        };
        let storage = Storage {
            paths: ctx.paths.clone(),
            choice,
        };
        LoginScreen::new(
            Arc::new(config),
            app_ctx,
            None,
            storage,
            problem,
            std::time::Instant::now(),
        )
    };
    screen
        .await
        .map(|s| Box::new(s) as Box<dyn Screen>)
        .map_err(|e| escape(&format!("login to {profile}: {e}")))
}

/// The login settings of `profile`: config.toml and `TVLOGIN_*` variables as `tvlogin login
/// --profile NAME` would read them; for a profile logged in with flags, where nothing else
/// names a server, the stored session's issuer or endpoints, client and scope.
pub fn login_config(
    ctx: &session::Context,
    profile: &str,
    meta: Option<&SessionMeta>,
) -> Result<LoginConfig, Error> {
    let settings = LoginSettings::from_env(profile, ctx.env.as_ref())?;
    session::login_config(&ctx.paths, settings, ctx.env.as_ref(), meta)
}
