//! Drawing the dashboard. Pure: `impl Widget for &Dashboard`, nothing is mutated; every
//! piece of text that came from a server or a token (issuer, subject, scope, error words)
//! goes through [`escape`].

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::keys::table;
use super::{Badge, Confirm, Dashboard, Mode, Refresh, Row, Tone, badge, renewal_at};
use crate::humanize;
use crate::sanitize::{escape, escape_truncated};
use crate::tui::keys;
use crate::tui::text::{fit_line, wrap, wrap_spans};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, gauge};

impl Widget for &Dashboard {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if let Mode::Inspect(inspector) = &self.mode {
            inspector.as_ref().render(area, buf);
            return;
        }
        let theme = Theme::new(self.ctx.colors);
        let status_text = status_line(self, &theme);
        // A long message gets a second line rather than losing its end, indented like the
        // first (never back at column 0).
        let status_lines = indented(&status_text, area.width);
        let status_height = status_lines.len().clamp(1, 2) as u16;
        let [title, body, status, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(status_height),
            Constraint::Length(1),
        ])
        .areas(area);
        title_bar(self, &theme).render(title, buf);
        if !self.loaded {
            Paragraph::new(Line::styled(" reading the profiles…", theme.dim)).render(body, buf);
        } else if self.rows.is_empty() {
            welcome(self, body.width, &theme).render(body, buf);
        } else {
            cards(self, body, buf, &theme);
        }
        Paragraph::new(status_lines).render(status, buf);
        hint_bar(hints.width, &theme).render(hints, buf);
        match &self.mode {
            Mode::Help => help(area, buf, &theme),
            Mode::Confirm(q) => confirm(self, q, area, buf, &theme),
            Mode::NewProfile(form) => super::new_profile::render(form, area, buf, &theme),
            _ => {}
        }
    }
}

fn title_bar(d: &Dashboard, theme: &Theme) -> Line<'static> {
    let visible = d.visible().len();
    let count = match (d.rows.len(), d.filter.is_empty()) {
        (1, true) => "1 profile".to_owned(),
        (n, true) => format!("{n} profiles"),
        (n, false) => format!("{visible} of {n} profiles"),
    };
    let mut spans = vec![
        Span::styled(" tvlogin", theme.title),
        Span::styled(" · token dashboard · ", theme.dim),
        Span::raw(count),
    ];
    if d.mode == Mode::Filter || !d.filter.is_empty() {
        spans.push(Span::styled("  filter: ", theme.dim));
        spans.push(Span::styled(escape(&d.filter), theme.key));
        if d.mode == Mode::Filter {
            spans.push(Span::styled("▏", theme.key));
        }
    }
    Line::from(spans)
}

fn welcome(d: &Dashboard, width: u16, theme: &Theme) -> Paragraph<'static> {
    let cols = usize::from(width).saturating_sub(1);
    // Wrapped with hanging indents: continuation lines stay under their first line.
    let para = |text: &str, indent: usize, more: usize, style: Style| -> Vec<Line<'static>> {
        wrap(text, cols.saturating_sub(indent + more).max(10), 6)
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let pad = if i == 0 { indent } else { indent + more };
                Line::styled(format!("{}{l}", " ".repeat(pad)), style)
            })
            .collect()
    };
    let mut lines = vec![
        Line::raw(""),
        Line::styled("  Welcome to tvlogin", theme.title),
        Line::raw(""),
    ];
    lines.extend(para(
        "No profiles yet. Log in with the device flow, for example:",
        2,
        0,
        Style::new(),
    ));
    lines.push(Line::raw(""));
    lines.extend(para(
        "tvlogin login --issuer https://login.example.com --client-id ID",
        5,
        2,
        theme.code,
    ));
    lines.extend(para(
        "tvlogin login --provider github --client-id ID",
        5,
        2,
        theme.code,
    ));
    lines.push(Line::raw(""));
    lines.extend(para(
        &format!(
            "or add a [profiles.NAME] table to {} and press n here to log in to it.",
            escape(&d.ctx.config_path)
        ),
        2,
        0,
        Style::new(),
    ));
    lines.push(Line::raw(""));
    lines.extend(para(
        "To see the whole flow with no account, try:",
        2,
        0,
        Style::new(),
    ));
    lines.extend(para("tvlogin demo", 5, 2, theme.code));
    Paragraph::new(lines)
}

/// The profiles as cards, scrolled so the selected one shows.
fn cards(d: &Dashboard, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let visible = d.visible();
    if visible.is_empty() {
        Paragraph::new(Line::styled(
            format!(
                " no profile matches \"{}\"; Esc clears the filter",
                escape(&d.filter)
            ),
            theme.dim,
        ))
        .render(area, buf);
        return;
    }
    let cards: Vec<(bool, Vec<Line>)> = visible
        .iter()
        .map(|&i| {
            let row = &d.rows[i];
            let selected = d.selected.as_ref() == Some(&row.profile);
            (
                selected,
                fitted(card(d, row, selected, area.width, theme), area.width),
            )
        })
        .collect();
    // Scroll whole cards: the first card drawn is the one that lets the selected card end
    // on screen.
    let at = cards.iter().position(|(s, _)| *s).unwrap_or(0);
    let mut first = 0;
    let height = usize::from(area.height);
    while first < at
        && cards[first..=at]
            .iter()
            .map(|(_, c)| c.len() + 1)
            .sum::<usize>()
            > height
    {
        first += 1;
    }
    let mut lines = Vec::new();
    if first > 0 {
        lines.push(Line::styled(format!("  ↑ {first} more"), theme.dim));
    }
    for (_, card) in &cards[first..] {
        lines.extend(card.iter().cloned());
        lines.push(Line::raw(""));
    }
    Paragraph::new(lines).render(area, buf);
}

fn badge_style(b: Badge, theme: &Theme) -> Style {
    match b {
        Badge::Valid => theme.ok,
        Badge::Expiring | Badge::NoRefreshToken | Badge::Refreshing => theme.warn,
        Badge::Expired | Badge::RefreshFailed => theme.error,
        Badge::NotLoggedIn => theme.dim,
    }
}

/// Lines wider than `width` broken between words onto indented lines (never cut
/// mid-word; a word wider than a line ends in `…`), one column left free at the edge.
fn fitted(lines: Vec<Line<'static>>, width: u16) -> Vec<Line<'static>> {
    let cols = usize::from(width).saturating_sub(1);
    lines
        .into_iter()
        .flat_map(|line| fit_line(line, cols, 13))
        .collect()
}

fn card(d: &Dashboard, row: &Row, selected: bool, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let b = badge(row, d.now);
    // Stored times are unsigned seconds (the session's state files).
    let now = d.now.unsigned();
    let marker = if selected { "▶ " } else { "  " };
    let name_style = if selected { theme.key } else { theme.title };
    let mut first = vec![
        Span::styled(marker, theme.key),
        Span::styled(escape(&row.profile), name_style),
        Span::raw("  "),
        Span::styled(
            format!(
                "{} {}",
                if b == Badge::NotLoggedIn {
                    "○"
                } else {
                    "●"
                },
                b.label()
            ),
            badge_style(b, theme),
        ),
    ];
    let mut lines = Vec::new();
    let Some(meta) = &row.session else {
        lines.push(Line::from(first));
        let how = if row.configured {
            "configured in config.toml; press l to log in".to_owned()
        } else if row.ended_by_server {
            "session ended by the server; press l to log in again the same way".to_owned()
        } else if row.last_session.is_some() || row.remembered {
            "logged out; press l to log in again the same way".to_owned()
        } else {
            format!(
                "not in config.toml: add [profiles.{0}] there, or run `tvlogin login --profile \
                 {0} --issuer URL --client-id ID`",
                row.profile
            )
        };
        lines.push(Line::styled(
            format!(
                "    {}",
                escape_truncated(&how, usize::from(width).saturating_sub(5))
            ),
            theme.dim,
        ));
        lines.extend(failure_lines(d, row, width, theme));
        return lines;
    };
    let used: usize = first.iter().map(|s| s.content.chars().count()).sum();
    let room = usize::from(width).saturating_sub(used + 3);
    if let Some(who) = meta.subject_label.as_deref().or(meta.subject.as_deref())
        && room > 8
    {
        let who = escape_truncated(who, room);
        let pad = room - who.chars().count();
        first.push(Span::raw(" ".repeat(pad + 1)));
        first.push(Span::raw(who));
    }
    lines.push(Line::from(first));

    let mut facts = vec![
        meta.issuer
            .clone()
            .unwrap_or_else(|| meta.endpoints.token.clone()),
    ];
    facts.extend(row.store.map(|s| s.name().to_owned()));
    if meta.dpop_jkt.is_some() {
        facts.push("DPoP-bound".to_owned());
    }
    let scope = meta
        .scope
        .clone()
        .unwrap_or_else(|| "(no scope given)".into());
    let facts = format!("{} · {}", facts.join(" · "), scope);
    lines.push(Line::styled(
        format!(
            "    {}",
            escape_truncated(&facts, usize::from(width).saturating_sub(5))
        ),
        theme.dim,
    ));

    let bar = usize::from(width).saturating_sub(52).clamp(4, 30) as u16;
    let mut access = meter(
        "access",
        meta.access_expires_at,
        meta.access_issued_at,
        now,
        d.ctx.offset,
        bar,
        theme,
    );
    access.spans.extend(renewal(row, now, theme));
    // Narrow: what does not fit goes on the next line, under the gauge, never cut.
    lines.extend(wrap_spans(access.spans, usize::from(width), 13));
    if meta.has_id_token {
        lines.push(meter(
            "id",
            meta.id_expires_at,
            meta.access_issued_at,
            now,
            d.ctx.offset,
            bar,
            theme,
        ));
    }
    if !meta.has_refresh_token {
        lines.push(Line::from(vec![
            Span::raw(format!("    {:<9}", "refresh")),
            Span::styled(
                "none: a new login is needed when the access token expires",
                theme.warn,
            ),
        ]));
    } else if meta.refresh_expires_at.is_some() {
        lines.push(meter(
            "refresh",
            meta.refresh_expires_at,
            meta.obtained_at,
            now,
            d.ctx.offset,
            bar,
            theme,
        ));
    } else {
        lines.push(Line::from(vec![
            Span::raw(format!("    {:<9}", "refresh")),
            Span::styled("stored; the server gave no expiry", theme.dim),
        ]));
    }
    lines.extend(failure_lines(d, row, width, theme));
    lines
}

/// `label ━━━━──── 42m 10s left`, or when it expired, or that no expiry is known.
fn meter(
    label: &str,
    expires_at: Option<u64>,
    issued_at: u64,
    now: u64,
    offset: i32,
    bar: u16,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::raw(format!("    {label:<9}"))];
    match expires_at {
        None => spans.push(Span::styled("no expiry given", theme.dim)),
        Some(at) if at <= now => {
            spans.extend(gauge(0.0, bar, theme).spans);
            spans.push(Span::styled(
                format!("  expired at {}", clock(at, now, offset)),
                theme.error,
            ));
        }
        Some(at) => {
            let left = at - now;
            let total = at.saturating_sub(issued_at).max(left).max(1);
            spans.extend(gauge(left as f64 / total as f64, bar, theme).spans);
            let style = if left <= super::EXPIRING_WITHIN {
                theme.warn
            } else {
                Style::new()
            };
            spans.push(Span::styled(
                format!("  {} left", humanize::duration(Duration::from_secs(left))),
                style,
            ));
        }
    }
    Line::from(spans)
}

/// What the schedule will do about the access token.
fn renewal(row: &Row, now: u64, theme: &Theme) -> Vec<Span<'static>> {
    let has_rt = row.session.as_ref().is_some_and(|m| m.has_refresh_token);
    if !has_rt {
        return Vec::new();
    }
    if matches!(row.refresh, Refresh::Running { .. }) {
        return vec![Span::styled(" · renewing…", theme.warn)];
    }
    if !row.auto_refresh {
        return vec![Span::styled(" · auto-refresh off", theme.dim)];
    }
    match renewal_at(row) {
        Some(at) if at > now => vec![Span::styled(
            format!(
                " · renews in {}",
                humanize::duration(Duration::from_secs(at - now))
            ),
            theme.dim,
        )],
        Some(_) => vec![Span::styled(" · renewing…", theme.warn)],
        None => Vec::new(),
    }
}

/// The latest failed refresh, in the server's words (wrapped, at most three lines).
fn failure_lines(d: &Dashboard, row: &Row, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let Refresh::Failed {
        at,
        message,
        retry_at,
        ..
    } = &row.refresh
    else {
        return Vec::new();
    };
    let retry = if *retry_at == super::NEVER {
        " (not retried by itself: press r once it is fixed)".to_owned()
    } else if row.auto_refresh && row.session.as_ref().is_some_and(|m| m.has_refresh_token) {
        format!(
            " (retry in {})",
            humanize::duration(Duration::from_secs(d.now.left_until(*retry_at)))
        )
    } else {
        String::new()
    };
    let text = format!(
        "✗ refresh at {} failed: {message}{retry}",
        clock(*at, d.now.unsigned(), d.ctx.offset)
    );
    wrap(&text, usize::from(width).saturating_sub(6).max(20), 3)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let indent = if i == 0 { "    " } else { "      " };
            Line::styled(format!("{indent}{l}"), theme.error)
        })
        .collect()
}

/// A one-styled status line (text after a one-space margin) word-wrapped into at most two
/// lines that both start after the margin.
fn indented(line: &Line<'static>, width: u16) -> Vec<Line<'static>> {
    let style = line
        .spans
        .first()
        .map_or(line.style, |s| line.style.patch(s.style));
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let text = text.strip_prefix(' ').unwrap_or(&text);
    if text.is_empty() {
        return vec![line.clone()];
    }
    wrap(text, usize::from(width).saturating_sub(2).max(10), 2)
        .into_iter()
        .map(|l| Line::styled(format!(" {l}"), style))
        .collect()
}

/// A local clock time; with the date when it is not today.
fn clock(at: u64, now: u64, offset: i32) -> String {
    let zone = FixedOffset::east_opt(offset).unwrap_or_else(|| Utc.fix());
    let local = |t: u64| {
        DateTime::<Utc>::from_timestamp(i64::try_from(t).unwrap_or(i64::MAX), 0)
            .map(|t| t.with_timezone(&zone))
    };
    match (local(at), local(now)) {
        (Some(a), Some(n)) if a.date_naive() == n.date_naive() => a.format("%H:%M:%S").to_string(),
        (Some(a), _) => a.format("%Y-%m-%d %H:%M").to_string(),
        _ => at.to_string(),
    }
}

fn status_line(d: &Dashboard, theme: &Theme) -> Line<'static> {
    if let Some(t) = &d.toast {
        let style = match t.tone {
            Tone::Busy => theme.warn,
            Tone::Ok => theme.ok,
            Tone::Error => theme.error,
            Tone::Info => Style::new(),
        };
        return Line::styled(format!(" {}", t.text), style);
    }
    if let Some(p) = d.problems.first() {
        return Line::styled(format!(" cannot read a state file: {p}"), theme.warn);
    }
    match d.mode {
        Mode::Filter => Line::styled(
            " type to filter by name, issuer, subject or scope · Enter keeps it · Esc clears it",
            theme.dim,
        ),
        _ => Line::raw(""),
    }
}

/// The keys that fit, always ending with help and quit.
fn hint_bar(width: u16, theme: &Theme) -> Line<'static> {
    let hints = keys::hints(table());
    let (optional, always) = hints.split_at(hints.len().saturating_sub(2));
    let cost = |(key, what): &(&str, &str)| key.chars().count() + what.chars().count() + 3;
    let mut room = usize::from(width).saturating_sub(1 + always.iter().map(cost).sum::<usize>());
    let mut shown: Vec<&(&str, &str)> = Vec::new();
    for k in optional {
        if cost(k) > room {
            break;
        }
        room -= cost(k);
        shown.push(k);
    }
    shown.extend(always);
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, what)) in shown.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*key, theme.key));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

fn help(area: Rect, buf: &mut Buffer, theme: &Theme) {
    let rows = keys::help_lines(table());
    let rect = centered(area, 56, rows.len() as u16 + 5);
    Clear.render(rect, buf);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<9}"), theme.key),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::styled(
        " Access tokens are renewed before they expire:",
        theme.dim,
    ));
    lines.push(Line::styled(
        " refresh_before in config.toml, default 60 s",
        theme.dim,
    ));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" keys · any key closes ")
                .border_style(theme.dim),
        )
        .render(rect, buf);
}

fn confirm(d: &Dashboard, q: &Confirm, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let (title, text) = match q {
        Confirm::Logout(p) => (
            " log out ",
            format!(
                "Log out of {}? The refresh and access tokens are revoked at the issuer, then \
                 deleted here.",
                escape(p)
            ),
        ),
        Confirm::Copy(p) => {
            let left = d
                .rows
                .iter()
                .find(|r| &r.profile == p)
                .and_then(|r| r.session.as_ref())
                .and_then(|m| crate::session::seconds_left(d.now, m.access_expires_at))
                .filter(|s| *s > 0)
                .map(|s| format!(" for {}", humanize::duration(Duration::from_secs(s))))
                .unwrap_or_default();
            (
                " copy token ",
                format!(
                    "Copy the access token of {} to the clipboard? Anything that can read \
                     your clipboard can use it{left}.",
                    escape(p)
                ),
            )
        }
    };
    let rect = centered(area, 52, 7);
    Clear.render(rect, buf);
    let lines = vec![
        Line::raw(text),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", theme.key),
            Span::raw(" yes   "),
            Span::styled("any other key", theme.key),
            Span::raw(" no"),
        ]),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(Block::bordered().title(title).border_style(theme.warn))
        .render(rect, buf);
}
