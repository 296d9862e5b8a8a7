//! The inspector's model and its pure [`update`]: the tabs, the selection, the scroll, and
//! which secrets are shown.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

use super::view;
use crate::clock::UnixTime;
use crate::exit::Exit;
use crate::secret::Secret;
use crate::token::report::{Lookup, Report};
use crate::tui::login::ColorMode;

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
    dirty: bool,
}

/// Inputs to [`update`].
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

/// The key table: key, what it does (for the hint bar and help).
pub const KEYS: &[(&str, &str)] = &[
    ("←/→", "tab"),
    ("↑/↓", "scroll"),
    ("w", "raw view"),
    ("s", "show secrets"),
    ("?", "help"),
    ("q", "quit"),
];

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
        }
    }

    /// The same, naming the profile the tokens belong to.
    pub fn for_profile(mut self, profile: &str) -> Self {
        self.profile = Some(profile.to_owned());
        self
    }

    /// The furthest the body can scroll: its wrapped text's height less the rows it has
    /// (unlimited while the size is unknown).
    fn max_scroll(&self) -> u16 {
        if self.size == (0, 0) {
            return u16::MAX;
        }
        view::max_scroll(self)
    }

    fn scroll_to(&mut self, to: u16) {
        self.scroll = to.min(self.max_scroll());
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

    /// Whether something visible changed since the last call (then it must be drawn).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The exit code when the user leaves: the first tab's verdict as shown now (a token
    /// that expired while on screen counts as expired).
    fn exit_code(&self) -> Exit {
        match self.tabs.first().map(|t| &t.body) {
            Some(TabBody::Token { report, .. }) => report.judge_at(self.now).exit(),
            _ => Exit::Ok,
        }
    }

    /// Whether a field of `fields` holds a time that is shown relative to now (so a tick
    /// changes the screen).
    fn has_countdown(fields: &Map<String, Value>) -> bool {
        ["exp", "iat", "nbf", "auth_time"]
            .iter()
            .any(|k| fields.contains_key(*k))
    }
}

/// Rows one PgUp/PgDn moves: the body's height less one for context, at least one.
fn page(m: &Inspector) -> u16 {
    view::body_rows(m.size.1).saturating_sub(1).max(1)
}

/// Applies one input. Pure: no IO, time comes in the message.
pub fn update(m: &mut Inspector, msg: Msg) {
    match msg {
        Msg::Tick(now) => {
            if now != m.now {
                let live = m.tabs.get(m.selected).is_some_and(|t| match &t.body {
                    TabBody::Token { report, .. } => match &report.decoded {
                        crate::token::jwt::Decoded::Jws(j) => Inspector::has_countdown(&j.claims),
                        _ => false,
                    },
                    TabBody::Fields(Lookup { result: Ok(f), .. }) => Inspector::has_countdown(f),
                    _ => false,
                });
                m.now = now;
                m.dirty |= live && !m.raw;
            }
        }
        Msg::Resized => m.dirty = true,
        Msg::Size(width, height) => {
            m.size = (width, height);
            m.scroll_to(m.scroll);
            m.dirty = true;
        }
        Msg::Terminate => m.exit = Some(Exit::Cancelled),
        Msg::Key(key) => {
            m.dirty = true;
            if key.modifiers.contains(KeyModifiers::CONTROL)
                && matches!(key.code, KeyCode::Char('c' | 'd'))
            {
                m.exit = Some(Exit::Cancelled);
                return;
            }
            // Any key closes help, q too (as on every screen).
            if m.help {
                m.help = false;
                return;
            }
            let count = m.tabs.len().max(1);
            match key.code {
                KeyCode::Char('q') | KeyCode::Esc => m.exit = Some(m.exit_code()),
                KeyCode::Right | KeyCode::Tab | KeyCode::Char('l') => {
                    m.selected = (m.selected + 1) % count;
                    m.scroll = 0;
                }
                KeyCode::Left | KeyCode::BackTab | KeyCode::Char('h') => {
                    m.selected = (m.selected + count - 1) % count;
                    m.scroll = 0;
                }
                KeyCode::Char(c @ '1'..='9') => {
                    let i = c as usize - '1' as usize;
                    if i < m.tabs.len() {
                        m.selected = i;
                        m.scroll = 0;
                    }
                }
                KeyCode::Down | KeyCode::Char('j') => m.scroll_to(m.scroll.saturating_add(1)),
                KeyCode::Up | KeyCode::Char('k') => m.scroll_to(m.scroll.saturating_sub(1)),
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    m.scroll_to(m.scroll.saturating_add(page(m)));
                }
                KeyCode::PageUp => m.scroll_to(m.scroll.saturating_sub(page(m))),
                KeyCode::Home | KeyCode::Char('g') => m.scroll = 0,
                KeyCode::End | KeyCode::Char('G') => m.scroll_to(u16::MAX),
                // The other view has other text: keep the place where it still exists.
                KeyCode::Char('w') => {
                    m.raw = !m.raw;
                    m.scroll_to(m.scroll);
                }
                KeyCode::Char('s') => {
                    m.reveal = !m.reveal;
                    m.scroll_to(m.scroll);
                }
                KeyCode::Char('?') => m.help = true,
                _ => m.dirty = false,
            }
        }
    }
}
