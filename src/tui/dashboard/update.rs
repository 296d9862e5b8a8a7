//! The dashboard's pure update step: one input in, the model changed and the effects the
//! screen must carry out. In the list, keys are read from the dashboard's table
//! ([`super::keys`]), the one the hint bar and help draw; the filter, the new-profile prompt
//! and the confirmations read typed text.

use crossterm::event::{KeyCode, KeyEvent};

use super::keys::{Action, table};
use super::model::*;
use super::new_profile::{NewProfileForm, Step};
use crate::clock::UnixTime;
use crate::exit::Exit;
use crate::session::RefreshReport;
use crate::tui::inspector::{self, Inspector};
use crate::tui::keys;

/// Applies one input and returns the work it asks for. Pure: no IO, time comes in ticks.
pub fn update(d: &mut Dashboard, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => tick(d, now),
        Msg::Resized => {
            d.dirty = true;
            Vec::new()
        }
        Msg::Terminate => {
            d.exit = Some(Exit::Cancelled);
            Vec::new()
        }
        Msg::Key(key) => {
            if keys::is_interrupt(&key) {
                d.exit = Some(Exit::Cancelled);
                return Vec::new();
            }
            d.dirty = true;
            key_press(d, key)
        }
        Msg::Loaded(rows, problems) => {
            loaded(d, rows, problems);
            Vec::new()
        }
        Msg::Refreshed { profile, result } => refreshed(d, &profile, result),
        Msg::RefreshBlocked { profile, message } => refresh_blocked(d, &profile, message),
        Msg::LoggedOut {
            profile,
            steps,
            failure,
        } => {
            d.dirty = true;
            match failure {
                None => d.say(
                    Tone::Ok,
                    format!("logged out of {profile}: {}", steps.join(", ")),
                ),
                Some(why) => d.say(Tone::Error, format!("logout of {profile}: {why}")),
            }
            reload(d)
        }
        Msg::Inspected { profile, result } => {
            d.dirty = true;
            // Only the latest Enter's answer opens, and only over the list: never over a
            // question or prompt the person is answering.
            if d.inspecting.as_deref() != Some(profile.as_str()) {
                return Vec::new();
            }
            d.inspecting = None;
            match result {
                Ok(tabs) if d.mode != Mode::List => {
                    drop(tabs);
                    d.say(
                        Tone::Info,
                        format!("the inspection of {profile} is ready; press Enter to see it"),
                    );
                }
                Ok(tabs) => {
                    d.toast = None;
                    d.mode = Mode::Inspect(Box::new(
                        Inspector::new(tabs, d.now, d.ctx.offset, d.ctx.colors)
                            .for_profile(&profile),
                    ));
                }
                Err(why) => d.say(Tone::Error, format!("cannot inspect {profile}: {why}")),
            }
            Vec::new()
        }
        Msg::Copied { profile, result } => {
            d.dirty = true;
            match result {
                Ok(left) => d.say(
                    Tone::Ok,
                    format!(
                        "copied the access token of {profile}{} (OSC 52: terminals without \
                         it ignore the request; in tmux, set -g set-clipboard on)",
                        left.map(|s| format!(
                            ", valid for {}",
                            crate::humanize::duration(std::time::Duration::from_secs(s))
                        ))
                        .unwrap_or_default()
                    ),
                ),
                Err(why) => d.say(Tone::Error, format!("cannot copy {profile}'s token: {why}")),
            }
            // Copying may have refreshed the token first.
            reload(d)
        }
        Msg::LoginEnded(result) => {
            d.dirty = true;
            match result {
                Ok(line) => d.say(Tone::Info, line),
                Err(why) => d.say(Tone::Error, why),
            }
            reload(d)
        }
    }
}

fn reload(d: &mut Dashboard) -> Vec<Effect> {
    if d.reloading {
        return Vec::new();
    }
    d.reloading = true;
    vec![Effect::Reload]
}

fn tick(d: &mut Dashboard, at: UnixTime) -> Vec<Effect> {
    if at == d.now {
        return Vec::new();
    }
    if let Mode::Inspect(i) = &mut d.mode {
        inspector::update(i, inspector::Msg::Tick(at));
        d.dirty |= i.take_dirty();
    } else if d.ticking(at) {
        d.dirty = true;
    }
    d.now = at;
    // Stored times are unsigned seconds (the session's state files).
    let now = at.unsigned();
    if d.toast
        .as_ref()
        .and_then(|t| t.until)
        .is_some_and(|u| now >= u)
    {
        d.toast = None;
    }
    let mut effects = Vec::new();
    let due: Vec<String> = d
        .rows
        .iter()
        .filter(|r| renewal_at(r).is_some_and(|at| now >= at))
        .map(|r| r.profile.clone())
        .collect();
    for profile in due {
        if let Some(row) = d.row_mut(&profile) {
            row.refresh = Refresh::Running {
                auto: true,
                failures: failures_so_far(&row.refresh),
            };
        }
        d.dirty = true;
        effects.push(Effect::Refresh(profile));
    }
    if now.is_multiple_of(RELOAD_EVERY) {
        effects.extend(reload(d));
    }
    effects
}

/// What a re-read of the files keeps of the refresh story this dashboard knows for `old`:
/// a new login starts afresh; a failure clears once the file shows a newer session (another
/// process refreshed) or no session (a logout elsewhere — unless this dashboard's own failed
/// refresh just ended it, which stays on the card to say why); a failure whose profile's file
/// changed otherwise is retried at once rather than after its back-off.
fn carried_refresh(
    old: &Row,
    fresh: &Row,
    now: UnixTime,
    own_failure_just_reported: bool,
) -> Refresh {
    let (was, is) = (old.session.as_ref(), fresh.session.as_ref());
    let new_login = is.is_some() && is.map(|m| m.obtained_at) != was.map(|m| m.obtained_at);
    if new_login {
        return Refresh::Idle;
    }
    let Refresh::Failed {
        at,
        message,
        failures,
        retry_at,
    } = &old.refresh
    else {
        return old.refresh.clone();
    };
    match (was, is) {
        (Some(w), Some(i)) if i.generation > w.generation => Refresh::Idle,
        (Some(_), None) if !own_failure_just_reported => Refresh::Idle,
        (w, i) if w != i && !own_failure_just_reported => Refresh::Failed {
            at: *at,
            message: message.clone(),
            failures: *failures,
            retry_at: (*retry_at).min(now.unsigned()),
        },
        _ => old.refresh.clone(),
    }
}

fn loaded(d: &mut Dashboard, rows: Vec<Row>, problems: Vec<String>) {
    d.reloading = false;
    let just_failed = std::mem::take(&mut d.just_failed);
    let merged: Vec<Row> = rows
        .into_iter()
        .map(|mut fresh| {
            if let Some(old) = d.rows.iter().find(|r| r.profile == fresh.profile) {
                // What this dashboard learned (a refresh under way or failed, a toggled
                // schedule) outlives a re-read of the files.
                // A new login (elsewhere, or with l) starts the refresh story afresh.
                fresh.refresh =
                    carried_refresh(old, &fresh, d.now, just_failed.contains(&old.profile));
                fresh.auto_refresh = old.auto_refresh;
                fresh.last_session = fresh
                    .session
                    .clone()
                    .or_else(|| old.session.clone())
                    .or_else(|| old.last_session.clone());
                if let (Refresh::Running { .. }, Some(old_meta), Some(new_meta)) =
                    (&old.refresh, &old.session, &fresh.session)
                    && new_meta.generation < old_meta.generation
                {
                    fresh.session = old.session.clone();
                }
            } else {
                fresh.last_session.clone_from(&fresh.session);
            }
            fresh
        })
        .collect();
    let renewed_elsewhere: Vec<String> = merged
        .iter()
        .filter(|r| r.refresh == Refresh::Idle && r.session.is_some())
        .filter(|r| {
            d.rows
                .iter()
                .any(|o| o.profile == r.profile && matches!(o.refresh, Refresh::Failed { .. }))
        })
        .map(|r| r.profile.clone())
        .collect();
    if let Some(p) = renewed_elsewhere.first() {
        d.say(
            Tone::Info,
            format!("{p} has a newer session (another tvlogin renewed it); its failure is cleared"),
        );
    }
    if merged != d.rows || problems != d.problems || !d.loaded {
        d.rows = merged;
        d.problems = problems;
        d.dirty = true;
    }
    d.loaded = true;
    d.fix_selection();
}

fn refreshed(
    d: &mut Dashboard,
    profile: &str,
    result: Result<RefreshReport, String>,
) -> Vec<Effect> {
    let now = d.now.unsigned();
    d.dirty = true;
    let Some(row) = d.row_mut(profile) else {
        return reload(d);
    };
    let auto = matches!(row.refresh, Refresh::Running { auto: true, .. });
    match result {
        Ok(report) => {
            row.refresh = Refresh::Done {
                at: now,
                rotated: report.rotated,
            };
            // Until the files are re-read, the report says enough to keep the schedule from
            // firing again for the old expiry.
            if let Some(meta) = &mut row.session {
                meta.access_expires_at = report.access_expires_at;
                meta.access_issued_at = now;
                meta.refresh_expires_at = report.refresh_expires_at;
                meta.refreshed_at = Some(now);
            }
            let left = report.access_expires_at.and_then(|at| at.checked_sub(now));
            let text = format!(
                "{}refreshed {profile}: new access token{}{}",
                if auto { "auto-" } else { "" },
                left.map(|s| format!(
                    " valid for {}",
                    crate::humanize::duration(std::time::Duration::from_secs(s))
                ))
                .unwrap_or_default(),
                if report.rotated {
                    ", refresh token rotated"
                } else {
                    ""
                }
            );
            d.say(Tone::Ok, text);
        }
        Err(message) => {
            let failures = failures_so_far(&row.refresh) + 1;
            row.refresh = Refresh::Failed {
                at: now,
                message: message.clone(),
                failures,
                retry_at: now + backoff(failures),
            };
            d.just_failed.push(profile.to_owned());
            d.say(
                Tone::Error,
                format!("refresh of {profile} failed: {message}"),
            );
        }
    }
    reload(d)
}

/// A refresh that cannot work until something outside changes (a client secret's variable
/// unset in the dashboard's environment): said once, and not retried by the schedule — only
/// by `r`, or when the profile's file changes.
fn refresh_blocked(d: &mut Dashboard, profile: &str, message: String) -> Vec<Effect> {
    d.dirty = true;
    let now = d.now.unsigned();
    let Some(row) = d.row_mut(profile) else {
        return reload(d);
    };
    // The schedule retrying after the file changed: the person was told already.
    let repeated =
        matches!(&row.refresh, Refresh::Running { auto: true, failures } if *failures > 0);
    row.refresh = Refresh::Failed {
        at: now,
        message: message.clone(),
        failures: failures_so_far(&row.refresh) + 1,
        retry_at: NEVER,
    };
    d.just_failed.push(profile.to_owned());
    if !repeated {
        d.say(Tone::Error, format!("cannot refresh {profile}: {message}"));
    }
    reload(d)
}

fn key_press(d: &mut Dashboard, key: KeyEvent) -> Vec<Effect> {
    match std::mem::replace(&mut d.mode, Mode::List) {
        Mode::Inspect(mut i) => {
            inspector::update(&mut i, inspector::Msg::Key(key));
            if i.exit.is_none() {
                d.mode = Mode::Inspect(i);
            }
            Vec::new()
        }
        // Any key closes help (q too: quitting from help would surprise).
        Mode::Help => Vec::new(),
        Mode::Filter => {
            match key.code {
                KeyCode::Enter => {}
                KeyCode::Esc => d.filter.clear(),
                KeyCode::Backspace => {
                    d.filter.pop();
                    d.mode = Mode::Filter;
                }
                KeyCode::Char(c) if !c.is_control() && d.filter.chars().count() < 64 => {
                    d.filter.push(c);
                    d.mode = Mode::Filter;
                }
                _ => d.mode = Mode::Filter,
            }
            d.fix_selection();
            Vec::new()
        }
        Mode::NewProfile(mut form) => {
            let exists = |name: &str| {
                d.rows.iter().any(|r| {
                    r.profile == name && (r.configured || r.remembered || r.session.is_some())
                })
            };
            match form.key(key, exists) {
                Step::Stay => {
                    d.mode = Mode::NewProfile(form);
                    Vec::new()
                }
                Step::Cancel => Vec::new(),
                Step::Login(name) => {
                    d.selected = Some(name.clone());
                    vec![Effect::Login(name)]
                }
                Step::Create(profile) => {
                    d.say(
                        Tone::Busy,
                        format!("adding profile {} to config.toml…", profile.name),
                    );
                    d.selected = Some(profile.name.clone());
                    vec![Effect::CreateProfile(profile)]
                }
            }
        }
        Mode::Confirm(question) => {
            if !matches!(key.code, KeyCode::Char('y' | 'Y')) {
                return Vec::new();
            }
            match question {
                Confirm::Logout(p) => {
                    d.say(
                        Tone::Busy,
                        format!("logging out of {p}: revoking the tokens…"),
                    );
                    vec![Effect::Logout(p)]
                }
                Confirm::Copy(p) => {
                    d.say(Tone::Busy, format!("reading the access token of {p}…"));
                    vec![Effect::Copy(p)]
                }
            }
        }
        Mode::List => list_key(d, key),
    }
}

fn list_key(d: &mut Dashboard, key: KeyEvent) -> Vec<Effect> {
    let selected = d.selected_row().cloned();
    let session = selected.as_ref().and_then(|r| r.session.clone());
    let name = selected.as_ref().map(|r| r.profile.clone());
    let label = name.clone();
    let need_session = |d: &mut Dashboard, what: &str| {
        let text = match &label {
            Some(p) => {
                format!("{p} is not logged in, so there is nothing to {what}; press l to log in")
            }
            None => "no profile selected; press l to log in".to_owned(),
        };
        d.say(Tone::Info, text);
        Vec::new()
    };
    match keys::action(table(), key.code) {
        Some(Action::Quit) => {
            d.exit = Some(Exit::Ok);
            Vec::new()
        }
        Some(Action::Back) => {
            if d.filter.is_empty() {
                d.exit = Some(Exit::Ok);
            } else {
                d.filter.clear();
                d.fix_selection();
            }
            Vec::new()
        }
        Some(Action::Down) => {
            d.move_selection(1);
            Vec::new()
        }
        Some(Action::Up) => {
            d.move_selection(-1);
            Vec::new()
        }
        Some(Action::Top) => {
            d.move_selection(isize::MIN / 2);
            Vec::new()
        }
        Some(Action::Bottom) => {
            d.move_selection(isize::MAX / 2);
            Vec::new()
        }
        Some(Action::Help) => {
            d.mode = Mode::Help;
            Vec::new()
        }
        Some(Action::Filter) => {
            d.mode = Mode::Filter;
            Vec::new()
        }
        Some(Action::New) => {
            d.mode = Mode::NewProfile(NewProfileForm::new());
            Vec::new()
        }
        Some(Action::Login) => {
            let profile = name.unwrap_or_else(|| crate::config::DEFAULT_PROFILE.to_owned());
            vec![Effect::Login(profile)]
        }
        Some(Action::Inspect) => match (name, session) {
            (Some(p), Some(_)) => {
                d.say(
                    Tone::Busy,
                    format!("inspecting {p}: reading the tokens and the issuer's keys…"),
                );
                d.inspecting = Some(p.clone());
                vec![Effect::Inspect(p)]
            }
            _ => need_session(d, "inspect"),
        },
        Some(Action::Refresh) => {
            match (name, session) {
                (Some(p), Some(m)) if !m.has_refresh_token => {
                    d.say(
                    Tone::Info,
                    format!("{p} has no refresh token (the server issued none); press l to log in again"),
                );
                    Vec::new()
                }
                (Some(p), Some(_)) => {
                    if let Some(row) = d.row_mut(&p) {
                        if matches!(row.refresh, Refresh::Running { .. }) {
                            return Vec::new();
                        }
                        row.refresh = Refresh::Running {
                            auto: false,
                            failures: failures_so_far(&row.refresh),
                        };
                    }
                    vec![Effect::Refresh(p)]
                }
                _ => need_session(d, "refresh"),
            }
        }
        Some(Action::Logout) => match (name, session) {
            (Some(p), Some(_)) => {
                d.mode = Mode::Confirm(Confirm::Logout(p));
                Vec::new()
            }
            _ => need_session(d, "log out of"),
        },
        Some(Action::Copy) => match (name, session) {
            (Some(p), Some(_)) => {
                d.mode = Mode::Confirm(Confirm::Copy(p));
                Vec::new()
            }
            _ => need_session(d, "copy"),
        },
        Some(Action::Auto) => {
            if let Some(p) = name
                && let Some(row) = d.row_mut(&p)
            {
                row.auto_refresh = !row.auto_refresh;
                let text = if row.auto_refresh {
                    format!("auto-refresh on for {p}")
                } else {
                    format!(
                        "auto-refresh off for {p} while the dashboard runs (auto_refresh = false \
                         in its config.toml table keeps it off)"
                    )
                };
                d.say(Tone::Info, text);
            }
            Vec::new()
        }
        None => {
            d.dirty = false;
            Vec::new()
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
