//! The browser-login screen's pure view: `impl Widget for &BrowserApp`.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use super::keys as keymap;
use super::update::timed_out;
use super::{BrowserApp, Stage};
use crate::humanize;
use crate::sanitize::escape;
use crate::tui::keys;
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::tui::widgets::gauge;

impl Widget for &BrowserApp {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme::new(self.ctx.colors);
        let [title, notice, body, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(u16::from(self.toast.is_some())),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        render_title(self, title, buf, &theme);
        if let Some((toast, _)) = &self.toast {
            Line::styled(format!(" {}", escape(toast)), theme.ok).render(notice, buf);
        }
        let inner = Rect {
            x: body.x + 2,
            y: body.y + 1,
            width: body.width.saturating_sub(4),
            height: body.height.saturating_sub(1),
        };
        let lines = body_lines(self, inner.width, &theme);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
        render_hints(self, hints, buf, &theme);
        if self.help {
            render_help(self, body, buf, &theme);
        }
    }
}

fn render_title(app: &BrowserApp, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let profile = format!("profile {}", escape(&app.ctx.profile));
    let fixed = text::width(" tvlogin ") + text::width(&profile) + 2;
    let room = usize::from(area.width).saturating_sub(fixed + 4);
    let middle = if room >= 8 {
        format!(
            "· {} · {profile}",
            text::fit(&escape(&app.ctx.server), room)
        )
    } else {
        format!("· {profile}")
    };
    Line::from(vec![
        Span::styled(" tvlogin ", theme.title),
        Span::styled(middle, theme.dim),
    ])
    .render(area, buf);
}

fn body_lines(app: &BrowserApp, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    match &app.stage {
        Stage::Starting => vec![
            Line::styled("Preparing the browser login…", theme.title),
            Line::raw(""),
            Line::styled(format!("Server: {}", escape(&app.ctx.server)), theme.dim),
        ],
        Stage::Waiting {
            url,
            redirect,
            opened,
            ..
        } => {
            let mut lines = vec![Line::styled("Log in in your browser", theme.title)];
            lines.push(Line::raw(""));
            lines.push(Line::raw(match opened {
                Ok(()) => "A browser was opened at the provider's login page. If it did not \
                           open, open this address in a browser on this machine:"
                    .to_owned(),
                Err(why) => format!(
                    "Open this address in a browser on this machine (no browser was opened: \
                     {}):",
                    escape(why)
                ),
            }));
            lines.push(Line::raw(""));
            lines.push(Line::styled(url.to_string(), theme.url));
            lines.push(Line::raw(""));
            if opened.as_ref().is_err_and(|why| why.contains("SSH")) {
                let port = redirect.port().unwrap_or(0);
                lines.push(Line::styled(
                    format!(
                        "Over SSH, forward the port from your own computer first: ssh -L \
                         {port}:127.0.0.1:{port} <this host>"
                    ),
                    theme.warn,
                ));
                lines.push(Line::raw(""));
            }
            let remaining = app.remaining().unwrap_or_default();
            lines.push(Line::raw(format!(
                "Waiting for the browser's answer at {redirect} (this machine only)."
            )));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!(
                "Gives up in {}",
                humanize::duration(remaining)
            )));
            let fraction = remaining.as_secs_f64() / app.timeout.as_secs_f64().max(1.0);
            lines.push(gauge(fraction, width.min(40), theme));
            lines
        }
        Stage::LoggedIn { location } => vec![
            Line::styled("✔ Logged in", theme.ok),
            Line::raw(""),
            Line::raw(format!("Tokens stored in {}", escape(location))),
            Line::raw(""),
            Line::styled("Press Enter to finish.", theme.dim),
        ],
        Stage::Failed(e) => {
            let head = if timed_out(e) {
                "⌛ The browser never answered".to_owned()
            } else {
                "✘ Login failed".to_owned()
            };
            let mut lines = vec![
                Line::styled(head, theme.error),
                Line::raw(""),
                Line::raw(escape(&e.to_string())),
            ];
            if let Some(hint) = e.hint() {
                lines.push(Line::raw(""));
                lines.push(Line::styled(format!("Hint: {hint}"), theme.dim));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled("Press q to quit.", theme.dim));
            lines
        }
    }
}

/// The key hints from the same table the keys use; quit and help always stay.
fn render_hints(app: &BrowserApp, area: Rect, buf: &mut Buffer, theme: &Theme) {
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

fn render_help(app: &BrowserApp, body: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut lines = vec![
        Line::styled("How this works", theme.title),
        Line::raw(""),
        Line::raw(
            "Log in at the provider's page in your browser. It sends the browser back to \
             this computer's own address, where tvlogin takes the answer once and closes.",
        ),
        Line::raw(""),
    ];
    for (key, what) in keys::hints(&keymap::bindings(app)) {
        lines.push(Line::from(vec![
            Span::styled(format!("{key:>8}  "), theme.key),
            Span::raw(what),
        ]));
    }
    lines.push(Line::styled("Any key closes this help.", theme.dim));
    let width = 64.min(body.width);
    let height = u16::try_from(
        Paragraph::new(lines.clone())
            .wrap(Wrap { trim: false })
            .line_count(width.saturating_sub(2)),
    )
    .unwrap_or(u16::MAX)
    .saturating_add(2)
    .min(body.height);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + body.height.saturating_sub(height) / 2,
        width,
        height,
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
