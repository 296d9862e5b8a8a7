//! The inspector's model: the tabs, the selection, the scroll, and which secrets are shown;
//! [`update`](super::update::update) changes it.

use crossterm::event::KeyEvent;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::exit::Exit;
use crate::secret::Secret;
use crate::token::report::{Lookup, Report};
use crate::tui::caps::ColorMode;

/// What one tab shows.
#[derive(Debug, Clone, PartialEq)]
pub enum TabBody {
    /// A token: its report and the text itself (hidden until revealed).
    Token {
        /// The inspection.
        report: Box<Report>,
        /// The token as given (a secret).
        raw: RawToken,
    },
    /// Fields from an endpoint (userinfo, introspection).
    Fields(Lookup),
    /// Nothing to show, and why.
    Empty(String),
}

/// A token's text: a secret, so its `Debug` is redacted.
pub type RawToken = Secret<String>;

/// One tab.
#[derive(Debug, Clone, PartialEq)]
pub struct Tab {
    /// Its title ("access token", "userinfo", …).
    pub title: String,
    /// What it shows.
    pub body: TabBody,
}

/// The inspector's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspector {
    /// The tabs, in order.
    pub tabs: Vec<Tab>,
    /// The selected tab.
    pub selected: usize,
    /// Secrets (the raw token, signatures) shown instead of masked.
    pub reveal: bool,
    /// The raw view instead of the tables.
    pub raw: bool,
    /// Lines scrolled down in the body.
    pub scroll: u16,
    /// The help overlay is open.
    pub help: bool,
    /// Now (advanced by ticks, injected in tests).
    pub now: UnixTime,
    /// The local zone's offset from UTC, in seconds.
    pub offset: i32,
    /// Colour capability.
    pub colors: ColorMode,
    /// Set when the user leaves.
    pub exit: Option<Exit>,
    /// The profile the tokens belong to, when they came from one (the header names it).
    pub profile: Option<String>,
    /// The terminal's size in columns and rows (0×0 until known): scrolling stops where the
    /// text ends.
    pub size: (u16, u16),
    pub(super) dirty: bool,
    /// Each claim's explanation (what it means, where it is defined) is shown; folded away
    /// by default so the verdict, the checks and the values fit.
    pub explain: bool,
    /// Shown by the dashboard (over its list): `q` goes back rather than quitting, and hints
    /// name nothing that needs a command-line flag.
    pub inside_dashboard: bool,
}

/// Inputs to [`update`](super::update::update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// The clock advanced to this Unix second.
    Tick(UnixTime),
    /// The terminal changed size.
    Resized,
    /// A signal asked us to stop.
    Terminate,
    /// The terminal's size in columns and rows.
    Size(u16, u16),
}

impl Inspector {
    /// A model showing `tabs` at `now`.
    pub fn new(tabs: Vec<Tab>, now: UnixTime, offset: i32, colors: ColorMode) -> Self {
        Self {
            tabs,
            selected: 0,
            reveal: false,
            raw: false,
            scroll: 0,
            help: false,
            now,
            offset,
            colors,
            exit: None,
            profile: None,
            size: (0, 0),
            dirty: true,
            explain: false,
            inside_dashboard: false,
        }
    }

    /// The same, naming the profile the tokens belong to: the dashboard's inspector.
    pub fn for_profile(mut self, profile: &str) -> Self {
        self.profile = Some(profile.to_owned());
        self.inside_dashboard = true;
        self
    }

    /// Tabs for one inspected token: the token, then userinfo and introspection when they
    /// were asked.
    pub fn tabs_for(title: &str, raw: String, report: Report) -> Vec<Tab> {
        let mut tabs = Vec::new();
        let extra = [
            ("userinfo", report.userinfo.clone()),
            ("introspection", report.introspection.clone()),
        ];
        tabs.push(Tab {
            title: title.to_owned(),
            body: TabBody::Token {
                report: Box::new(report),
                raw: RawToken::new(raw),
            },
        });
        for (name, lookup) in extra {
            if let Some(l) = lookup {
                tabs.push(Tab {
                    title: name.to_owned(),
                    body: TabBody::Fields(l),
                });
            }
        }
        tabs
    }

    /// Whether the selected tab shows a table of claims or fields (which `e` explains).
    pub fn shows_a_table(&self) -> bool {
        match self.tabs.get(self.selected).map(|t| &t.body) {
            Some(TabBody::Token { report, .. }) => matches!(
                report.decoded,
                crate::token::jwt::Decoded::Jws(_) | crate::token::jwt::Decoded::Jwe(_)
            ),
            Some(TabBody::Fields(lookup)) => lookup.result.is_ok(),
            _ => false,
        }
    }

    /// Whether something visible changed since the last call (then it must be drawn).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The exit code when the user leaves: the first tab's verdict as shown now (a token
    /// that expired while on screen counts as expired).
    pub(super) fn exit_code(&self) -> Exit {
        match self.tabs.first().map(|t| &t.body) {
            Some(TabBody::Token { report, .. }) => report.judge_at(self.now).exit(),
            _ => Exit::Ok,
        }
    }

    /// Whether a field of `fields` holds a time that is shown relative to now (so a tick
    /// changes the screen).
    pub(super) fn has_countdown(fields: &Map<String, Value>) -> bool {
        ["exp", "iat", "nbf", "auth_time"]
            .iter()
            .any(|k| fields.contains_key(*k))
    }
}
