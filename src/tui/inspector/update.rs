//! The inspector's pure update step: one input in, the model changed; the keys it reads are
//! the inspector's table ([`super::keys`]), the one the hint bar and help draw.

use super::keys::{Action, table};
use super::model::{Inspector, Msg, TabBody};
use super::view;
use crate::exit::Exit;
use crate::token::report::Lookup;
use crate::tui::keys;

/// Scrolls to `to`, or as far as the body's wrapped text goes (the view measures it; no
/// limit while the size is unknown).
fn scroll_to(m: &mut Inspector, to: u16) {
    let most = if m.size == (0, 0) {
        u16::MAX
    } else {
        view::max_scroll(m)
    };
    m.scroll = to.min(most);
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
            scroll_to(m, m.scroll);
            m.dirty = true;
        }
        Msg::Terminate => m.exit = Some(Exit::Cancelled),
        Msg::Key(key) => {
            m.dirty = true;
            if keys::is_interrupt(&key) {
                m.exit = Some(Exit::Cancelled);
                return;
            }
            // Any key closes help, q too (as on every screen).
            if m.help {
                m.help = false;
                return;
            }
            let count = m.tabs.len().max(1);
            let Some(action) = keys::action(&table(m), key.code) else {
                m.dirty = false;
                return;
            };
            match action {
                Action::Quit => m.exit = Some(m.exit_code()),
                Action::NextTab => {
                    m.selected = (m.selected + 1) % count;
                    m.scroll = 0;
                }
                Action::PrevTab => {
                    m.selected = (m.selected + count - 1) % count;
                    m.scroll = 0;
                }
                Action::Tab(i) => {
                    if i < m.tabs.len() {
                        m.selected = i;
                        m.scroll = 0;
                    }
                }
                Action::Down => scroll_to(m, m.scroll.saturating_add(1)),
                Action::Up => scroll_to(m, m.scroll.saturating_sub(1)),
                Action::PageDown => scroll_to(m, m.scroll.saturating_add(page(m))),
                Action::PageUp => scroll_to(m, m.scroll.saturating_sub(page(m))),
                Action::Top => m.scroll = 0,
                Action::Bottom => scroll_to(m, u16::MAX),
                // The other view has other text: keep the place where it still exists.
                Action::Raw => {
                    m.raw = !m.raw;
                    scroll_to(m, m.scroll);
                }
                Action::Secrets => {
                    m.reveal = !m.reveal;
                    scroll_to(m, m.scroll);
                }
                Action::Explain => {
                    m.explain = !m.explain;
                    scroll_to(m, m.scroll);
                }
                Action::Help => m.help = true,
            }
        }
    }
}
