//! The model's only mutator: a pure function of the model, one message and the time.

use std::time::Instant;

use super::keys::{self as keymap, Action};
use super::{App, Approved, Effect, Flow, Msg, Notice, QrMatrix, Saved, TOAST_FOR, Toast, Waiting};
use crate::error::Error;
use crate::exit::Exit;
use crate::oauth::poll::{Next, PollOutcome, Poller};
use crate::sanitize::escape;
use crate::store::Backend;

/// Applies `msg` at `now`; returns the work to start. Never does IO.
pub fn update(app: &mut App, msg: Msg, now: Instant) -> Vec<Effect> {
    app.now = now;
    match msg {
        Msg::Key(key) => match keymap::action(app, key) {
            Some(action) => {
                app.dirty = true;
                act(app, action, now)
            }
            None => vec![],
        },
        Msg::Tick => tick(app, now),
        Msg::Resized => {
            app.dirty = true;
            vec![]
        }
        Msg::Terminate => {
            app.exit = Some(Exit::Cancelled);
            vec![]
        }
        Msg::Done { text } => {
            toast(app, text, now);
            vec![]
        }
        Msg::Discovered { attempt, .. }
        | Msg::CodeIssued { attempt, .. }
        | Msg::Polled { attempt, .. }
        | Msg::Saved { attempt, .. }
            if attempt != app.attempt =>
        {
            // A reply for a flow the person already restarted.
            vec![]
        }
        Msg::Discovered { result, .. } => {
            app.dirty = true;
            match result {
                Ok(endpoints) => {
                    let endpoint = endpoints.device_authorization.clone();
                    app.endpoints = Some(endpoints);
                    app.flow = Flow::Requesting;
                    vec![Effect::RequestCode {
                        attempt: app.attempt,
                        endpoint,
                    }]
                }
                Err(e) => {
                    app.flow = Flow::Failed(e);
                    vec![]
                }
            }
        }
        Msg::CodeIssued { result, at, .. } => {
            app.dirty = true;
            match result {
                Ok(auth) => {
                    let poller = Poller::new(auth.interval, auth.expires_in, at);
                    let next = poller.first(at);
                    // Encoded here, once per code; the view only draws it.
                    let qr = QrMatrix::encode(auth.qr_url().as_str());
                    let guidance = app.ctx.site.guidance(&auth.verification_uri);
                    app.flow = Flow::Waiting(Box::new(Waiting {
                        auth,
                        guidance,
                        qr,
                        issued: at,
                        poller,
                        next,
                        last: None,
                        notice: None,
                    }));
                    schedule(app)
                }
                Err(e) => {
                    app.flow = Flow::Failed(e);
                    vec![]
                }
            }
        }
        Msg::Polled { answer, at, .. } => polled(app, answer, at),
        Msg::Saved { result, .. } => {
            if let Flow::Approved(approved) = &mut app.flow {
                approved.saved = match result {
                    Ok(place) => Saved::Done(place),
                    Err(why) => Saved::Failed(why),
                };
                app.dirty = true;
                if app.exit_after_save {
                    app.exit = Some(approved_exit(&approved.saved));
                }
            }
            vec![]
        }
    }
}

/// Logged in but the tokens were not stored is a failure: the next `token` would find nothing.
fn approved_exit(saved: &Saved) -> Exit {
    match saved {
        Saved::Failed(_) => Exit::Failure,
        Saved::Done(_) | Saved::Saving => Exit::Ok,
    }
}

fn toast(app: &mut App, text: String, now: Instant) {
    app.toast = Some(Toast {
        text,
        until: now + TOAST_FOR,
    });
    app.dirty = true;
}

fn tick(app: &mut App, now: Instant) -> Vec<Effect> {
    if app.toast.as_ref().is_some_and(|t| t.until <= now) {
        app.toast = None;
        app.dirty = true;
    }
    match &app.flow {
        Flow::Waiting(w) => {
            // The countdown moved.
            app.dirty = true;
            // The deadline is enforced here, not by a poll: none is scheduled past it, and
            // one still in flight (a slow server) is abandoned.
            if now >= w.poller.deadline() {
                // The code expired, unless no poll ever reached the server: then the network
                // is the story (exit 5, the last failure named), as in plain mode.
                app.flow = match w.poller.expiry_error() {
                    Error::Expired { description } => Flow::Expired { description },
                    other => Flow::Failed(other),
                };
                return vec![Effect::CancelPending];
            }
        }
        Flow::Approved(_) => app.dirty = true,
        _ => {}
    }
    vec![]
}

/// The next poll, if the waiting state has one due.
fn schedule(app: &App) -> Vec<Effect> {
    let (Flow::Waiting(w), Some(endpoints)) = (&app.flow, &app.endpoints) else {
        return vec![];
    };
    match w.next {
        Next::PollAt(at) => vec![Effect::Poll {
            attempt: app.attempt,
            at,
            token_endpoint: endpoints.token.clone(),
            device_code: w.auth.device_code.clone(),
        }],
        Next::ExpireAt(_) | Next::Done => vec![],
    }
}

fn polled(
    app: &mut App,
    answer: Result<crate::oauth::normalize::OAuthResponse, crate::oauth::http::HttpError>,
    at: Instant,
) -> Vec<Effect> {
    let Flow::Waiting(w) = &mut app.flow else {
        return vec![];
    };
    app.dirty = true;
    let step = w.poller.step(answer, at);
    w.next = step.next;
    match step.outcome {
        PollOutcome::Pending => {
            w.last = Some("not approved yet".into());
            // A real answer ends an earlier transient trouble; a slow_down notice stays.
            if matches!(w.notice, Some(Notice::Retrying { .. })) {
                w.notice = None;
            }
        }
        PollOutcome::UseNonce => {
            // The same poll again at once with the server's DPoP nonce; nothing to show.
        }
        PollOutcome::SlowDown { interval } => {
            w.last = Some("asked to slow down".into());
            w.notice = Some(Notice::SlowDown { interval });
        }
        PollOutcome::Transient { reason, .. } => {
            w.last = Some("no answer".into());
            // The full reason went to the poll record; the screen gets one short line.
            w.notice = Some(Notice::Retrying {
                reason: crate::sanitize::escape_truncated(&reason, 72),
            });
        }
        PollOutcome::Tokens(tokens) => {
            app.flow = Flow::Approved(Box::new(Approved {
                tokens: (*tokens).clone(),
                received: at,
                saved: Saved::Saving,
            }));
            return vec![Effect::Save {
                attempt: app.attempt,
                tokens,
            }];
        }
        PollOutcome::Finished(Error::Denied { error, description }) => {
            app.flow = Flow::Denied { error, description };
            return vec![];
        }
        PollOutcome::Finished(Error::Expired { description }) => {
            app.flow = Flow::Expired { description };
            return vec![];
        }
        PollOutcome::Finished(e) => {
            app.flow = Flow::Failed(e);
            return vec![];
        }
    }
    schedule(app)
}

fn act(app: &mut App, action: Action, now: Instant) -> Vec<Effect> {
    let waiting = match &app.flow {
        Flow::Waiting(w) => Some(w.as_ref()),
        _ => None,
    };
    match action {
        Action::Help => {
            app.help = !app.help;
            vec![]
        }
        Action::Interrupt | Action::Quit if matches!(&app.flow, Flow::Approved(a) if a.saved == Saved::Saving) =>
        {
            // Leaving now would abort the write half-way; leave as soon as it is done.
            app.exit_after_save = true;
            toast(app, "Saving the tokens, then leaving…".into(), now);
            vec![]
        }
        Action::Interrupt => {
            app.exit = Some(match &app.flow {
                Flow::Approved(a) => approved_exit(&a.saved),
                _ => Exit::Cancelled,
            });
            vec![]
        }
        Action::Quit => {
            app.exit = Some(match &app.flow {
                Flow::Approved(a) => approved_exit(&a.saved),
                Flow::Denied { .. } => Exit::Denied,
                Flow::Expired { .. } => Exit::Expired,
                Flow::Failed(e) => e.exit(),
                Flow::ChooseStore { .. }
                | Flow::Discovering
                | Flow::Requesting
                | Flow::Waiting(_) => Exit::Cancelled,
            });
            vec![]
        }
        Action::CopyCode => {
            let Some(w) = waiting else { return vec![] };
            let code = w.auth.user_code.clone();
            toast(
                app,
                format!("Copied the code {} (OSC 52)", escape(&code)),
                now,
            );
            vec![Effect::Copy(code)]
        }
        Action::CopyUrl => {
            let Some(w) = waiting else { return vec![] };
            let url = w.auth.qr_url().to_string();
            toast(app, "Copied the URL (OSC 52)".into(), now);
            vec![Effect::Copy(url)]
        }
        Action::Open => {
            let Some(w) = waiting else { return vec![] };
            let url = w.auth.qr_url().clone();
            match app.ctx.no_browser.clone() {
                Some(why) => {
                    // One wording about phones, chosen from the address (loopback: this
                    // machine only).
                    let reach = crate::oauth::reach::Reach::of(&w.auth.verification_uri);
                    let demo = if app.ctx.demo { " Or press a." } else { "" };
                    toast(
                        app,
                        format!("Not opening a browser: {why}. {}{demo}", reach.sentence()),
                        now,
                    );
                    vec![]
                }
                None => {
                    toast(app, "Opening the browser…".into(), now);
                    vec![Effect::OpenBrowser(url)]
                }
            }
        }
        Action::UseFile | Action::UseMemory => {
            if !matches!(app.flow, Flow::ChooseStore { .. }) {
                return vec![];
            }
            let backend = if action == Action::UseFile {
                Backend::File
            } else {
                Backend::Memory
            };
            app.flow = App::first_step(app.endpoints.is_some());
            let mut effects = vec![Effect::UseStore(backend)];
            effects.extend(app.start());
            effects
        }
        Action::DemoApprove | Action::DemoDeny => {
            let Some(w) = waiting else { return vec![] };
            vec![Effect::DemoDecide {
                approve: action == Action::DemoApprove,
                user_code: w.auth.user_code.clone(),
            }]
        }
        Action::Restart => {
            if matches!(app.flow, Flow::Approved(_)) {
                return vec![];
            }
            app.attempt += 1;
            app.help = false;
            let mut effects = vec![Effect::CancelPending];
            match &app.endpoints {
                Some(endpoints) => {
                    app.flow = Flow::Requesting;
                    effects.push(Effect::RequestCode {
                        attempt: app.attempt,
                        endpoint: endpoints.device_authorization.clone(),
                    });
                }
                None => {
                    app.flow = Flow::Discovering;
                    effects.push(Effect::Discover {
                        attempt: app.attempt,
                    });
                }
            }
            effects
        }
    }
}
