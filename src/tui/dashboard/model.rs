//! The dashboard's model; [`update`](super::update::update) changes it, and the screen
//! carries out the [`Effect`]s it asks for.
//! Time comes in with [`Msg::Tick`], so countdowns, badges and the auto-refresh schedule are
//! table-tested and snapshots are deterministic.

use crossterm::event::KeyEvent;

use crate::clock::UnixTime;
use crate::exit::Exit;
use crate::session::{self, RefreshReport, TokenView};
use crate::store::Backend;
use crate::store::state::SessionMeta;
use crate::tui::caps::ColorMode;
use crate::tui::inspector::{self, Inspector};

/// Seconds before expiry the dashboard renews an access token unless the profile says
/// otherwise (`refresh_before`); capped at half the token's lifetime.
pub const DEFAULT_REFRESH_BEFORE: u64 = 60;

/// An access token with less than this left (and no renewal coming) is shown as expiring.
pub const EXPIRING_WITHIN: u64 = 300;

/// How often the state files are re-read, in ticks, to show what other `tvlogin` processes
/// did (a `tvlogin token` that refreshed, a login in another terminal).
pub const RELOAD_EVERY: u64 = 5;

/// How long a message stays in the status line, in seconds.
pub(super) const TOAST_SECS: u64 = 10;

/// One profile as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The profile's name.
    pub profile: String,
    /// Whether config.toml has a table for it.
    pub configured: bool,
    /// The store holding its tokens.
    pub store: Option<Backend>,
    /// The live session, if logged in.
    pub session: Option<SessionMeta>,
    /// Whether the dashboard renews the access token before expiry.
    pub auto_refresh: bool,
    /// How many seconds before expiry it renews.
    pub refresh_before: u64,
    /// The latest refresh this dashboard made.
    pub refresh: Refresh,
    /// The session this dashboard last saw, kept after a logout so that `l` can log in
    /// again with the same server, client and scope.
    pub last_session: Option<SessionMeta>,
    /// Whether the state file remembers how the profile logged in (after a logout or the end
    /// of its session), so that `l` logs in again without config.toml.
    pub remembered: bool,
    /// The server ended the last session (it refused the refresh token): nobody logged out.
    pub ended_by_server: bool,
}

impl Row {
    /// A row for a profile read from disk.
    pub fn new(profile: &str, configured: bool, store: Option<Backend>) -> Self {
        Self {
            profile: profile.to_owned(),
            configured,
            store,
            session: None,
            auto_refresh: true,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            refresh: Refresh::Idle,
            last_session: None,
            remembered: false,
            ended_by_server: false,
        }
    }
}

/// The latest refresh of one profile made by this dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// None yet.
    Idle,
    /// One is under way (`auto`: started by the schedule, not a key).
    Running {
        /// Started by the schedule.
        auto: bool,
        /// Failures in a row before it (kept so the back-off keeps growing).
        failures: u32,
    },
    /// The latest one worked.
    Done {
        /// When.
        at: u64,
        /// Whether the server issued a new refresh token.
        rotated: bool,
    },
    /// The latest one failed.
    Failed {
        /// When.
        at: u64,
        /// Why, in the server's words where it gave any (already escaped for display).
        message: String,
        /// Failures in a row, for the back-off.
        failures: u32,
        /// When the schedule may try again.
        retry_at: u64,
    },
}

/// The status badge of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    /// The access token is valid for a while.
    Valid,
    /// It expires within [`EXPIRING_WITHIN`] and will not be renewed in time.
    Expiring,
    /// It has expired.
    Expired,
    /// The latest refresh failed.
    RefreshFailed,
    /// Valid, but there is no refresh token: a new login is needed when it expires.
    NoRefreshToken,
    /// A refresh is under way.
    Refreshing,
    /// No session.
    NotLoggedIn,
}

impl Badge {
    /// The badge's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::RefreshFailed => "refresh failed",
            Self::NoRefreshToken => "no refresh token",
            Self::Refreshing => "refreshing…",
            Self::NotLoggedIn => "not logged in",
        }
    }
}

/// The badge of `row` at `now`.
pub fn badge(row: &Row, now: UnixTime) -> Badge {
    if matches!(row.refresh, Refresh::Running { .. }) {
        return Badge::Refreshing;
    }
    let failed = matches!(row.refresh, Refresh::Failed { .. });
    let Some(meta) = &row.session else {
        return if failed {
            Badge::RefreshFailed
        } else {
            Badge::NotLoggedIn
        };
    };
    if failed {
        return Badge::RefreshFailed;
    }
    let left = session::seconds_left(now, meta.access_expires_at);
    if left == Some(0) {
        return Badge::Expired;
    }
    let renews = row.auto_refresh && meta.has_refresh_token;
    match left {
        Some(l) if l <= EXPIRING_WITHIN && !renews => Badge::Expiring,
        _ if !meta.has_refresh_token => Badge::NoRefreshToken,
        _ => Badge::Valid,
    }
}

/// When the schedule renews `row`'s access token: the expiry minus `refresh_before` (capped
/// at half the lifetime), or the back-off after a failure. `None` when it will not.
pub fn renewal_at(row: &Row) -> Option<u64> {
    let meta = row.session.as_ref()?;
    if !row.auto_refresh || !meta.has_refresh_token {
        return None;
    }
    let exp = meta.access_expires_at?;
    let view = TokenView {
        present: true,
        expires_at: Some(exp),
        issued_at: meta.access_issued_at,
    };
    let at = exp.saturating_sub(session::effective_min_ttl(row.refresh_before, &view));
    match &row.refresh {
        Refresh::Running { .. } => None,
        Refresh::Failed { retry_at, .. } => Some(at.max(*retry_at)),
        // The guard is for an answer that was already due when it came (`expires_in: 0`, a
        // skewed clock); a token with time left is renewed on its own schedule.
        Refresh::Done { at: done, .. } if at <= *done => Some(done + MIN_GAP_AFTER_REFRESH),
        Refresh::Done { .. } => Some(at),
        Refresh::Idle => Some(at),
    }
}

/// How long the schedule waits after a refresh whose new token was already due (a server
/// answering `expires_in: 0`, a skewed clock): such a server must not be asked again every
/// second. A new token with time left is renewed on its own schedule, never later.
pub const MIN_GAP_AFTER_REFRESH: u64 = 30;

/// Failed refreshes in a row up to and including `refresh`.
pub(super) fn failures_so_far(refresh: &Refresh) -> u32 {
    match refresh {
        Refresh::Failed { failures, .. } | Refresh::Running { failures, .. } => *failures,
        _ => 0,
    }
}

/// Seconds to wait after `failures` failed refreshes in a row: 30 s, doubling, at most
/// 10 minutes (a server that is down is not hammered; a token endpoint back up is noticed).
pub fn backoff(failures: u32) -> u64 {
    (30u64 << failures.saturating_sub(1).min(5)).min(600)
}

/// A question waiting for y/n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Log out of this profile.
    Logout(String),
    /// Copy this profile's access token to the clipboard.
    Copy(String),
}

/// What the screen shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// The list of profiles.
    List,
    /// Typing a filter.
    Filter,
    /// The new-profile form: name, provider or issuer, client id.
    NewProfile(super::new_profile::NewProfileForm),
    /// The help overlay.
    Help,
    /// A y/n question.
    Confirm(Confirm),
    /// The inspector, for one profile's tokens.
    Inspect(Box<Inspector>),
}

/// How a status-line message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Work under way.
    Busy,
    /// Something worked.
    Ok,
    /// Something failed.
    Error,
    /// Just information.
    Info,
}

/// A message in the status line (already escaped for display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// The words.
    pub text: String,
    /// How it reads.
    pub tone: Tone,
    /// When it goes away (`None`: when replaced, for work under way).
    pub until: Option<u64>,
}

/// Facts that do not change while the dashboard runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Colour capability.
    pub colors: ColorMode,
    /// Where config.toml is (for the welcome screen).
    pub config_path: String,
    /// The local zone's offset from UTC, in seconds (for the inspector).
    pub offset: i32,
}

/// The dashboard's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// Facts about the session.
    pub ctx: Context,
    /// Every profile, sorted by name.
    pub rows: Vec<Row>,
    /// State files that could not be read (escaped).
    pub problems: Vec<String>,
    /// The selected profile's name.
    pub selected: Option<String>,
    /// The filter (case-insensitive, on name, issuer, subject and scope).
    pub filter: String,
    /// What the screen shows.
    pub mode: Mode,
    /// The status line.
    pub toast: Option<Toast>,
    /// Now, as the last tick said.
    pub now: UnixTime,
    /// Set when the person leaves.
    pub exit: Option<Exit>,
    /// Whether the rows have been read at least once.
    pub loaded: bool,
    /// The profile whose inspection is under way (a later Enter replaces it).
    pub inspecting: Option<String>,
    pub(super) reloading: bool,
    pub(super) dirty: bool,
    /// Profiles whose refresh failed since the files were last read.
    pub(super) just_failed: Vec<String>,
}

/// Inputs to [`update`](super::update::update).
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// The clock advanced to this second.
    Tick(UnixTime),
    /// The terminal changed size.
    Resized,
    /// A signal asked us to stop.
    Terminate,
    /// The profiles as read from disk, and the state files that could not be read.
    Loaded(Vec<Row>, Vec<String>),
    /// A refresh ended.
    Refreshed {
        /// The profile.
        profile: String,
        /// What it did, or why it failed (escaped).
        result: Result<RefreshReport, String>,
    },
    /// A refresh could not start for a reason a retry will not fix (the client secret's
    /// variable is not set here): shown once and not retried by the schedule.
    RefreshBlocked {
        /// The profile.
        profile: String,
        /// Why, plainly (escaped).
        message: String,
    },
    /// A logout ended: each step's line, and whether all went well.
    LoggedOut {
        /// The profile.
        profile: String,
        /// The steps as reported (escaped).
        steps: Vec<String>,
        /// The first failure, if any (escaped).
        failure: Option<String>,
    },
    /// A profile's tokens were read and checked.
    Inspected {
        /// The profile.
        profile: String,
        /// The tabs, or why there are none (escaped).
        result: Result<Vec<inspector::Tab>, String>,
    },
    /// The access token was sent to the clipboard (or why not).
    Copied {
        /// The profile.
        profile: String,
        /// How long the token has left, or why it could not be copied (escaped).
        result: Result<Option<u64>, String>,
    },
    /// The login screen was left: its last line, or why it could not start (escaped).
    LoginEnded(Result<String, String>),
}

/// Work for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Read the profiles from disk.
    Reload,
    /// Refresh a profile.
    Refresh(String),
    /// Revoke and delete a profile's tokens.
    Logout(String),
    /// Read a profile's tokens into inspector tabs.
    Inspect(String),
    /// Send a profile's access token to the clipboard (OSC 52).
    Copy(String),
    /// Hand the terminal to the login screen for this profile.
    Login(String),
    /// Add this profile to config.toml, then log in to it as [`Effect::Login`] does.
    CreateProfile(super::new_profile::NewProfile),
}

impl Dashboard {
    /// A dashboard at `now`, before the profiles are read.
    pub fn new(ctx: Context, now: UnixTime) -> Self {
        Self {
            ctx,
            rows: Vec::new(),
            problems: Vec::new(),
            selected: None,
            filter: String::new(),
            mode: Mode::List,
            toast: None,
            now,
            exit: None,
            loaded: false,
            inspecting: None,
            reloading: false,
            dirty: true,
            just_failed: Vec::new(),
        }
    }

    /// The effects to start with.
    pub fn start(&mut self) -> Vec<Effect> {
        self.reloading = true;
        vec![Effect::Reload]
    }

    /// Whether something visible changed since the last call (then it must be drawn).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Indexes of the rows the filter lets through.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| needle.is_empty() || matches_filter(r, &needle))
            .map(|(i, _)| i)
            .collect()
    }

    /// The selected row, if it is visible.
    pub fn selected_row(&self) -> Option<&Row> {
        let name = self.selected.as_ref()?;
        self.visible()
            .into_iter()
            .map(|i| &self.rows[i])
            .find(|r| &r.profile == name)
    }

    pub(super) fn row_mut(&mut self, profile: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.profile == profile)
    }

    /// Shows a message. Escaped here as a whole (profile names come from files), which is
    /// safe for parts escaped before: escaping leaves the escapes' backslashes alone.
    pub(super) fn say(&mut self, tone: Tone, text: String) {
        let until = (tone != Tone::Busy).then_some(self.now.unsigned() + TOAST_SECS);
        self.toast = Some(Toast {
            text: crate::sanitize::escape(&text),
            tone,
            until,
        });
    }

    /// Keeps the selection on a visible row: the same one if it still shows, else the first.
    pub(super) fn fix_selection(&mut self) {
        let visible = self.visible();
        let still = self
            .selected
            .as_ref()
            .is_some_and(|s| visible.iter().any(|&i| &self.rows[i].profile == s));
        if !still {
            self.selected = visible.first().map(|&i| self.rows[i].profile.clone());
        }
    }

    pub(super) fn move_selection(&mut self, by: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let at = visible
            .iter()
            .position(|&i| Some(&self.rows[i].profile) == self.selected.as_ref())
            .unwrap_or(0);
        let to = (at as isize + by).clamp(0, visible.len() as isize - 1) as usize;
        self.selected = Some(self.rows[visible[to]].profile.clone());
    }

    /// Whether a tick at a new second changes what is drawn: a countdown that is running, or
    /// a message that times out.
    pub(super) fn ticking(&self, now: UnixTime) -> bool {
        // Stored times are unsigned seconds (the session's state files).
        let (now, last) = (now.unsigned(), self.now.unsigned());
        // A time at or after the last tick is still counting down (or just reached zero).
        let counting = |at: Option<u64>| at.is_some_and(|at| at >= last);
        let countdown = self.visible().into_iter().any(|i| {
            let r = &self.rows[i];
            matches!(r.refresh, Refresh::Failed { retry_at, .. } if retry_at >= last)
                || r.session.as_ref().is_some_and(|m| {
                    counting(m.access_expires_at)
                        || counting(m.id_expires_at)
                        || counting(m.refresh_expires_at)
                })
        });
        let toast_ends = self
            .toast
            .as_ref()
            .and_then(|t| t.until)
            .is_some_and(|until| now >= until);
        countdown || toast_ends
    }
}

pub(super) fn matches_filter(row: &Row, needle: &str) -> bool {
    let mut hay = vec![row.profile.as_str()];
    if let Some(m) = &row.session {
        hay.extend(m.issuer.as_deref());
        hay.extend(m.subject.as_deref());
        hay.extend(m.subject_label.as_deref());
        hay.extend(m.scope.as_deref());
    }
    hay.iter().any(|h| h.to_lowercase().contains(needle))
}

/// A `retry_at` the schedule never reaches.
pub const NEVER: u64 = u64::MAX;
