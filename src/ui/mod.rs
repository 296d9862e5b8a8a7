//! Pure views of the login TUI: `impl Widget for &App`. Views read the model (and its `now`)
//! and never change it or do IO, so each state renders the same way every time.

pub mod bigtext;
pub mod qr;
pub mod theme;

pub(crate) mod screens;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use crate::app::{App, Flow, keymap};
use crate::sanitize::escape;
use theme::Theme;

/// Below this size only a short message (with the URL and code) is shown.
pub const MIN_WIDTH: u16 = 40;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 12;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme::new(self.ctx.colors);
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            screens::too_small(self, area, buf, &theme);
            return;
        }
        let [title, body, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        render_title(self, title, buf, &theme);
        match &self.flow {
            Flow::ChooseStore { reason, file } => {
                screens::choose_store(self, reason, file, body, buf, &theme)
            }
            Flow::Discovering => screens::busy(
                self,
                "Reading the provider's configuration…",
                body,
                buf,
                &theme,
            ),
            Flow::Requesting => screens::busy(self, "Asking for a code…", body, buf, &theme),
            Flow::Waiting(w) => screens::waiting(self, w, body, buf, &theme),
            Flow::Approved(a) => screens::approved(self, a, body, buf, &theme),
            Flow::Denied { error, description } => {
                screens::denied(error, description.as_deref(), body, buf, &theme)
            }
            Flow::Expired { description } => {
                screens::expired(description.as_deref(), body, buf, &theme)
            }
            Flow::Failed(error) => screens::failed(error, body, buf, &theme),
        }
        render_hints(self, hints, buf, &theme);
        if self.help {
            render_help(self, body, buf, &theme);
        }
    }
}

fn render_title(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut spans = vec![
        Span::styled(" tvlogin ", theme.title),
        Span::styled(
            format!(
                "· {} · profile {}",
                escape(&app.ctx.server),
                escape(&app.ctx.profile)
            ),
            theme.dim,
        ),
    ];
    if app.ctx.demo {
        spans.push(Span::styled(" · demo", theme.warn));
    }
    Line::from(spans).render(area, buf);
    if let Some(toast) = &app.toast {
        let text = format!(" {} ", escape(&toast.text));
        let width = u16::try_from(text.chars().count())
            .unwrap_or(u16::MAX)
            .min(area.width);
        let at = Rect {
            x: area.right().saturating_sub(width),
            width,
            ..area
        };
        Clear.render(at, buf);
        Line::styled(text, theme.ok).render(at, buf);
    }
}

/// The key hints, from the same table the keys use; cut at whole hints when narrow.
fn render_hints(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what, _) in keymap::bindings(app) {
        let len = key.chars().count() + what.chars().count() + 3;
        if used + len > usize::from(area.width) {
            break;
        }
        used += len;
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::styled(format!(" {what}  "), theme.dim));
    }
    Line::from(spans).render(area, buf);
}

fn render_help(app: &App, body: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut lines = vec![
        Line::styled("How this works", theme.title),
        Line::raw(""),
        Line::raw("Open the address on any device with a browser (your phone"),
        Line::raw("is fine), sign in there, and enter the code shown here."),
        Line::raw("This terminal notices the approval by itself."),
        Line::raw(""),
    ];
    for (key, what, _) in keymap::bindings(app) {
        lines.push(Line::from(vec![
            Span::styled(format!("{key:>8}  "), theme.key),
            Span::raw(what),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled(format!("{:>8}  ", "Ctrl-C"), theme.key),
        Span::raw("quit at once"),
    ]));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Copying uses OSC 52: in tmux, `set -g set-clipboard on`.",
        theme.dim,
    ));
    lines.push(Line::styled("Any key closes this help.", theme.dim));
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX) + 2;
    let width = 64.min(body.width);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + body.height.saturating_sub(height) / 2,
        width,
        height: height.min(body.height),
    };
    Clear.render(area, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::bordered()
                .border_type(BorderType::Rounded)
                .border_style(theme.key)
                .title(" help "),
        )
        .style(Style::new())
        .render(area, buf);
}
