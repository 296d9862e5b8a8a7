//! The browser-login screen's pure update: a message and the time in, effects out.

use std::time::Instant;

use super::keys::{Action, action};
use super::{BrowserApp, Effect, Msg, Stage};
use crate::error::Error;
use crate::exit::Exit;

/// How long a notice stays.
const TOAST_FOR: std::time::Duration = std::time::Duration::from_secs(4);

/// Applies `msg` at `now`.
pub fn update(app: &mut BrowserApp, msg: Msg, now: Instant) -> Vec<Effect> {
    app.now = now;
    app.dirty = true;
    if app.toast.as_ref().is_some_and(|(_, until)| now >= *until) {
        app.toast = None;
    }
    match msg {
        Msg::Tick => vec![],
        Msg::Terminate => {
            app.exit = Some(Exit::Cancelled);
            vec![Effect::Cancel]
        }
        Msg::Listening {
            url,
            redirect,
            opened,
        } => {
            if matches!(app.stage, Stage::Starting) {
                app.stage = Stage::Waiting {
                    url,
                    redirect,
                    opened,
                    since: now,
                };
            }
            vec![]
        }
        Msg::Finished(result) => {
            app.stage = match result {
                Ok(location) => Stage::LoggedIn { location },
                Err(e) => Stage::Failed(e),
            };
            vec![]
        }
        Msg::Key(key) => match action(app, key) {
            None => vec![],
            Some(Action::Help) => {
                app.help = !app.help;
                vec![]
            }
            Some(Action::CopyUrl) => match &app.stage {
                Stage::Waiting { url, .. } => {
                    app.toast = Some(("URL copied".into(), now + TOAST_FOR));
                    vec![Effect::Copy(url.to_string())]
                }
                _ => vec![],
            },
            Some(Action::Interrupt) => {
                app.exit = Some(Exit::Cancelled);
                vec![Effect::Cancel]
            }
            Some(Action::Quit) => {
                app.exit = Some(match &app.stage {
                    Stage::LoggedIn { .. } => Exit::Ok,
                    Stage::Failed(e) => e.exit(),
                    Stage::Starting | Stage::Waiting { .. } => Exit::Cancelled,
                });
                vec![Effect::Cancel]
            }
        },
    }
}

/// The line left in the scrollback once the terminal is restored.
pub fn summary(app: &BrowserApp) -> Option<String> {
    Some(match &app.stage {
        Stage::LoggedIn { location } => format!(
            "logged in (profile {}); tokens stored in {location}",
            app.ctx.profile
        ),
        Stage::Failed(e) => format!("login failed: {e}"),
        Stage::Starting | Stage::Waiting { .. } => "cancelled".into(),
    })
}

/// Whether `e` is the browser's answer never coming (for the failure screen's words).
pub fn timed_out(e: &Error) -> bool {
    matches!(e, Error::Expired { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::caps::ColorMode;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::time::Duration;

    fn app() -> (BrowserApp, Instant) {
        let t0 = Instant::now();
        let ctx = super::super::Context {
            profile: "work".into(),
            server: "https://login.example.com".into(),
            colors: ColorMode::None,
            no_browser: None,
        };
        (BrowserApp::new(ctx, Duration::from_secs(300), t0), t0)
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn the_update_table() {
        let (mut a, t0) = app();
        // Nothing to copy before the URL exists.
        assert!(update(&mut a, key('c'), t0).is_empty());
        let url = url::Url::parse("https://login.example.com/authorize?x=1").unwrap();
        let redirect = url::Url::parse("http://127.0.0.1:5000/callback").unwrap();
        update(
            &mut a,
            Msg::Listening {
                url: url.clone(),
                redirect,
                opened: Ok(()),
            },
            t0,
        );
        assert_eq!(a.remaining(), Some(Duration::from_secs(300)));
        update(&mut a, Msg::Tick, t0 + Duration::from_secs(10));
        assert_eq!(a.remaining(), Some(Duration::from_secs(290)));
        for c in ['c', 'u', 'U'] {
            assert_eq!(
                update(&mut a, key(c), t0),
                vec![Effect::Copy(url.to_string())]
            );
        }
        // q while waiting cancels: exit 130, the listener closes.
        let mut waiting = a.clone();
        assert_eq!(update(&mut waiting, key('q'), t0), vec![Effect::Cancel]);
        assert_eq!(waiting.exit, Some(Exit::Cancelled));
        // A failure's exit code is the error's; a login's is 0.
        let mut failed = a.clone();
        update(
            &mut failed,
            Msg::Finished(Err(Error::Denied {
                error: "access_denied".into(),
                description: None,
            })),
            t0,
        );
        update(&mut failed, key('q'), t0);
        assert_eq!(failed.exit.map(|e| e.code()), Some(3));
        update(&mut a, Msg::Finished(Ok("memory".into())), t0);
        update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            t0,
        );
        assert_eq!(a.exit, Some(Exit::Ok));
    }
}
