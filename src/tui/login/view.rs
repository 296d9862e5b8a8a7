//! Pure views of the login TUI: `impl Widget for &App`. Views read the model (and its `now`)
//! and never change it or do IO, so each state renders the same way every time.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use super::keys as keymap;
use super::screens::{self, MIN_HEIGHT, MIN_WIDTH};
use super::{App, Flow};
use crate::sanitize::escape;
use crate::tui::keys;
use crate::tui::text;
use crate::tui::theme::Theme;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme::new(self.ctx.colors);
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            screens::too_small(self, area, buf, &theme);
            return;
        }
        let [title, rest, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        // A notice sits just above the key hints, on rows the body keeps free whenever that
        // costs it nothing: the code and the QR code never move when a notice comes and goes.
        let reserved = screens::notice_room(self, rest);
        let body = Rect {
            height: rest.height.saturating_sub(reserved),
            ..rest
        };
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
        let notice_lines = notice_lines(self, area.width);
        let rows = u16::try_from(notice_lines.len())
            .unwrap_or(0)
            .min(rest.height);
        if rows > 0 {
            let notice = Rect {
                y: rest.bottom() - rows,
                height: rows,
                ..rest
            };
            Clear.render(notice, buf);
            Paragraph::new(
                notice_lines
                    .into_iter()
                    .map(|l| Line::styled(l, theme.ok))
                    .collect::<Vec<_>>(),
            )
            .render(notice, buf);
        }
        render_hints(self, hints, buf, &theme);
        if self.help {
            render_help(self, body, buf, &theme);
        }
    }
}

fn render_title(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    // The profile and the demo mark always show; the server gets what room is left.
    let profile = format!("profile {}", escape(&app.ctx.profile));
    let demo = if app.ctx.demo { " · demo" } else { "" };
    let fixed = text::width(" tvlogin ") + text::width(&profile) + 2 + text::width(demo);
    let room = usize::from(area.width).saturating_sub(fixed + 4);
    let server = escape(&app.ctx.server);
    let middle = if room >= 8 {
        format!("· {} · {profile}", text::fit(&server, room))
    } else {
        format!("· {profile}")
    };
    let mut spans = vec![
        Span::styled(" tvlogin ", theme.title),
        Span::styled(middle, theme.dim),
    ];
    if app.ctx.demo {
        spans.push(Span::styled(demo, theme.warn));
    }
    let line = Line::from(spans);
    if line.width() > usize::from(area.width) {
        let plain: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        Line::styled(text::fit(&plain, usize::from(area.width)), theme.title).render(area, buf);
    } else {
        line.render(area, buf);
    }
}

/// The latest notice, on its own lines (at most two, the second under the first's text;
/// cut at a word with `…` beyond that).
fn notice_lines(app: &App, width: u16) -> Vec<String> {
    let Some(toast) = &app.toast else {
        return Vec::new();
    };
    text::wrap(
        &escape(&toast.text),
        usize::from(width).saturating_sub(2),
        2,
    )
    .into_iter()
    .map(|l| format!(" {l}"))
    .collect()
}

/// The key hints, from the same table the keys use; when narrow, whole hints are dropped
/// from the least useful end, but quit/cancel and help always stay.
fn render_hints(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let hints = keys::hints(&keymap::bindings(app));
    let kept = text::fit_hints(&hints, usize::from(area.width), |k| {
        matches!(*k, "?" | "q" | "q/Enter")
    });
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in kept {
        spans.push(Span::styled(key, theme.key));
        spans.push(Span::styled(format!(" {what}  "), theme.dim));
    }
    Line::from(spans).render(area, buf);
}

fn render_help(app: &App, body: Rect, buf: &mut Buffer, theme: &Theme) {
    // One wording about phones, chosen from the address (loopback: this machine only).
    let reach = match &app.flow {
        Flow::Waiting(w) => Some(crate::oauth::reach::Reach::of(&w.auth.verification_uri)),
        _ => None,
    };
    let demo = if app.ctx.demo {
        " Or press a to approve as the demo user."
    } else {
        ""
    };
    let how = format!(
        "{} Sign in there and enter the code shown here.{demo} This terminal notices the \
         approval by itself.",
        reach.map_or(
            "Open the address shown on any device that can reach it.",
            |r| r.sentence()
        )
    );
    let mut lines = vec![
        Line::styled("How this works", theme.title),
        Line::raw(""),
        Line::raw(how),
        Line::raw(""),
    ];
    for (key, what) in keys::hints(&keymap::bindings(app)) {
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
    let width = 64.min(body.width);
    let wrapped = Paragraph::new(lines.clone())
        .wrap(Wrap { trim: false })
        .line_count(width.saturating_sub(2));
    let height = u16::try_from(wrapped).unwrap_or(u16::MAX) + 2;
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
