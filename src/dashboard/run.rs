//! The dashboard's loop and executor: it owns the terminal, feeds keys, a 1 s tick, results
//! and signals to the pure [`update`], runs effects as tokio tasks, and hands the terminal to
//! the login screen for `l` and `n` (the same terminal session, no flicker back to the shell).

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use super::tabs::profile_tabs;
use super::{Dashboard, Effect, Msg, Row, update};
use crate::cli::{Cli, Command, LoginArgs};
use crate::commands::{ProfileStatus, collect, screen_parts};
use crate::config::{ConfigFile, DEFAULT_PROFILE, LoginConfig, Profile};
use crate::error::Error;
use crate::exit::Exit;
use crate::runtime::terminal::TerminalGuard;
use crate::runtime::{Screen, Signals, drive_login};
use crate::sanitize::escape;
use crate::session::{self, StepOutcome, TokenKind};
use crate::store::state::SessionMeta;

/// What a task hands back: a message, and for a copy, the text to put on the clipboard
/// (written by the loop, which owns the terminal).
enum Reply {
    Msg(Msg),
    Clipboard(ClipboardText, Msg),
}

/// A token on its way to the clipboard; Debug is redacted.
struct ClipboardText(String);

/// Shows the dashboard until the person leaves; returns the exit code.
pub async fn run(mut model: Dashboard, ctx: session::Context) -> Result<Exit, Error> {
    let ctx = Arc::new(ctx);
    let mut guard = TerminalGuard::enter()
        .map_err(|e| Error::Other(format!("cannot set up the terminal: {e}")))?;
    let mut events = EventStream::new();
    let mut signals = Signals::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Tasks::default();
    let mut pending: Vec<Effect> = model.start();
    loop {
        for effect in std::mem::take(&mut pending) {
            if let Effect::Login(profile) = effect {
                let mut screen = Screen {
                    guard: &mut guard,
                    events: &mut events,
                    signals: &mut signals,
                };
                let (msg, signalled) = login(&mut screen, &ctx, &model, &profile).await;
                // The login screen drew over everything.
                let _ = guard.terminal().clear();
                // Re-read at once: a tick before the new session is known would renew the
                // old one's expired token.
                let (rows, problems) = read_rows(&ctx).await;
                pending.extend(update(&mut model, Msg::Loaded(rows, problems)));
                pending.extend(update(&mut model, msg));
                if signalled {
                    update(&mut model, Msg::Terminate);
                }
                // Redraw even when nothing else changed.
                update(&mut model, Msg::Resized);
            } else {
                tasks.start(effect, &ctx, &tx);
            }
        }
        if model.take_dirty() {
            guard
                .terminal()
                .draw(|frame| frame.render_widget(&model, frame.area()))
                .map_err(|e| Error::Other(format!("cannot draw: {e}")))?;
        }
        if let Some(exit) = model.exit {
            finish_writes(
                &mut model,
                &mut guard,
                &mut tasks,
                &mut events,
                &mut signals,
            )
            .await;
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
            Some(reply) = rx.recv() => match reply {
                Reply::Msg(msg) => msg,
                Reply::Clipboard(text, msg) => {
                    let written = crossterm::execute!(
                        std::io::stdout(),
                        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text.0)
                    );
                    match (written, msg) {
                        (Err(e), Msg::Copied { profile, .. }) => Msg::Copied {
                            profile,
                            result: Err(format!("cannot write to the terminal: {e}")),
                        },
                        (_, msg) => msg,
                    }
                }
            },
            _ = tick.tick() => Msg::Tick(session::now()),
            () = signals.recv() => Msg::Terminate,
        };
        pending.extend(update(&mut model, msg));
    }
}

/// Waits, on the way out, for work that writes tokens (a refresh, a logout, a copy that
/// refreshes): aborting a refresh after the server rotated the refresh token but before the
/// new one is stored would lose the session. At most a little longer than one HTTP timeout;
/// any key or signal stops waiting.
async fn finish_writes(
    model: &mut Dashboard,
    guard: &mut TerminalGuard,
    tasks: &mut Tasks,
    events: &mut EventStream,
    signals: &mut Signals,
) {
    tasks.writes.retain(|t| !t.is_finished());
    if tasks.writes.is_empty() {
        return;
    }
    model.mode = super::Mode::List;
    model.say(
        super::Tone::Busy,
        "finishing a token refresh or logout before quitting… (any key quits now)".into(),
    );
    let _ = guard
        .terminal()
        .draw(|frame| frame.render_widget(&*model, frame.area()));
    let writes = futures_util::future::join_all(tasks.writes.drain(..));
    tokio::select! {
        _ = tokio::time::timeout(Duration::from_secs(35), writes) => {}
        _ = events.next() => {}
        () = signals.recv() => {}
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
                        let left = session::seconds_left(session::now(), t.expires_at);
                        Reply::Clipboard(
                            ClipboardText(t.token),
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
            // Needs the terminal: the loop runs it.
            Effect::Login(_) => {}
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
        Effect::Copy(_) | Effect::Login(_) => return None,
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
    row.session = status.state.and_then(|s| s.session);
    if let Some(p) = settings {
        row.auto_refresh = p.auto_refresh.unwrap_or(true);
        row.refresh_before = p.refresh_before.unwrap_or(super::DEFAULT_REFRESH_BEFORE);
    }
    row
}

/// Runs the login screen for `profile` on the dashboard's terminal. Returns the message
/// for the dashboard and whether a signal ended it.
async fn login(
    screen: &mut Screen<'_>,
    ctx: &session::Context,
    model: &Dashboard,
    profile: &str,
) -> (Msg, bool) {
    let meta = model
        .rows
        .iter()
        .find(|r| r.profile == profile)
        .and_then(|r| r.session.as_ref().or(r.last_session.as_ref()));
    let config = match login_config(ctx, profile, meta) {
        Ok(c) => c,
        Err(e) => {
            return (
                Msg::LoginEnded(Err(escape(&format!(
                    "cannot log in to {profile} from here: {e}"
                )))),
                false,
            );
        }
    };
    let run = async {
        let (app_ctx, storage, problem) = screen_parts(&config, false).await?;
        drive_login(screen, Arc::new(config), app_ctx, None, storage, problem).await
    };
    match run.await {
        Ok(ended) => (
            Msg::LoginEnded(Ok(escape(
                ended.summary.as_deref().unwrap_or("left the login screen"),
            ))),
            ended.signalled,
        ),
        Err(e) => (
            Msg::LoginEnded(Err(escape(&format!("login to {profile}: {e}")))),
            false,
        ),
    }
}

/// The login settings of `profile`: config.toml and `TVLOGIN_*` variables as `tvlogin login
/// --profile NAME` would read them; for a profile logged in with flags, where nothing else
/// names a server, the stored session's issuer or endpoints, client and scope.
pub fn login_config(
    ctx: &session::Context,
    profile: &str,
    meta: Option<&SessionMeta>,
) -> Result<LoginConfig, Error> {
    let mut args = match Cli::try_parse_from(["tvlogin", "login", "--profile", profile]) {
        Ok(Cli {
            command: Some(Command::Login(args)),
        }) => args,
        Ok(_) => LoginArgs::default(),
        Err(e) => return Err(Error::Usage(e.to_string())),
    };
    // Read again: the person may have added the profile since the dashboard started.
    let path = ctx.paths.config_file();
    let file = ConfigFile::load(&path)?;
    let configured = file.profiles.get(profile).cloned().unwrap_or_default();
    let names_server = args.issuer.is_some()
        || args.provider.is_some()
        || configured.issuer.is_some()
        || configured.provider.is_some()
        || configured.token_endpoint.is_some();
    if let Some(m) = meta
        && !names_server
    {
        fill_from_session(&mut args, &configured, m);
    }
    if profile == DEFAULT_PROFILE && args.profile.is_none() {
        args.profile = Some(DEFAULT_PROFILE.to_owned());
    }
    LoginConfig::resolve(&args, &file, &path, ctx.env.as_ref())
}

/// Fills what neither the flags' variables nor the profile's table say.
fn fill_from_session(args: &mut LoginArgs, configured: &Profile, m: &SessionMeta) {
    if let Some(issuer) = &m.issuer {
        args.issuer = Some(issuer.clone());
    } else {
        args.device_authorization_endpoint = Some(m.endpoints.device_authorization.clone());
        args.token_endpoint = Some(m.endpoints.token.clone());
        args.jwks_uri.clone_from(&m.endpoints.jwks_uri);
        args.revocation_endpoint.clone_from(&m.endpoints.revocation);
        args.introspection_endpoint
            .clone_from(&m.endpoints.introspection);
        args.userinfo_endpoint.clone_from(&m.endpoints.userinfo);
    }
    if args.client_id.is_none() && configured.client_id.is_none() {
        args.client_id = Some(m.client_id.clone());
    }
    if args.scope.is_none() && configured.scope.is_none() {
        args.scope.clone_from(&m.scope);
    }
    if args.auth.is_none() && configured.auth.is_none() {
        args.auth = Some(m.auth);
    }
    if args.client_secret_env.is_none() && configured.client_secret_env.is_none() {
        args.client_secret_env.clone_from(&m.client_secret_env);
    }
    args.allow_http |= m.allow_http;
}
