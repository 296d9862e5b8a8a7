//! Drawing the inspector. Pure: `impl Widget for &Inspector`, nothing is mutated; every piece
//! of token or server text goes through [`escape`].

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Padding, Paragraph, Tabs, Widget, Wrap};
use serde_json::{Map, Value};

use super::keys::table as key_table;
use super::{Inspector, TabBody};
use crate::clock::UnixTime;
use crate::sanitize::escape;
use crate::token::claims::{self, Kind};
use crate::token::jwt::Decoded;
use crate::token::report::{Lookup, Report, show_value};
use crate::token::time::{TimeView, numeric_date, relative};
use crate::token::verdict::Verdict;
use crate::token::verify::{self, Check, Outcome};
use crate::tui::keys;
use crate::tui::text::wrap;
use crate::tui::theme::Theme;

impl Widget for &Inspector {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme::new(self.colors);
        let [title, tabs, body, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        // Narrow: the parts between the name and the verdict go first; the verdict stays.
        let cols = usize::from(title.width).saturating_sub(1);
        let mut title_line = title_bar(self, &theme);
        while title_line.width() > cols && title_line.spans.len() > 2 {
            title_line.spans.remove(title_line.spans.len() - 2);
        }
        if title_line.width() > cols {
            let plain: String = title_line
                .spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect();
            title_line = Line::styled(crate::tui::text::fit(&plain, cols), theme.title);
        }
        title_line.render(title, buf);
        let full: Vec<String> = self
            .tabs
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} {}", i + 1, t.title))
            .collect();
        // Narrow: other tabs show only their number (the selected one keeps its name).
        let need: usize = full.iter().map(|t| crate::tui::text::width(t) + 3).sum();
        let titles: Vec<Line> = full
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                if need < usize::from(tabs.width) || i == self.selected {
                    Line::from(t)
                } else {
                    Line::from(format!("{}", i + 1))
                }
            })
            .collect();
        Tabs::new(titles)
            .select(self.selected)
            .highlight_style(theme.key)
            .divider("│")
            .render(tabs, buf);
        // Text wraps to the model's size; drawn before any size arrived (a first frame, a
        // test), it wraps to the area it is drawn in.
        let sized;
        let m = if self.size == (0, 0) {
            let mut copy = self.clone();
            copy.size = (area.width, area.height);
            sized = copy;
            &sized
        } else {
            self
        };
        let text = body_text(m, &theme);
        let most = text
            .line_count(body.width.saturating_sub(1))
            .saturating_sub(usize::from(body.height));
        let scroll = self.scroll.min(u16::try_from(most).unwrap_or(u16::MAX));
        text.scroll((scroll, 0)).render(body, buf);
        let keys = keys::hints(&key_table(self));
        // Narrow: the least useful hints go first; help and quit always stay.
        let kept = crate::tui::text::fit_hints(&keys, usize::from(hints.width), |k| {
            matches!(*k, "?" | "q")
        });
        let mut spans = vec![Span::raw(" ")];
        for (i, (key, what)) in kept.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled("  ", theme.dim));
            }
            spans.push(Span::styled(key, theme.key));
            spans.push(Span::styled(format!(" {what}"), theme.dim));
        }
        Line::from(spans).render(hints, buf);
        if self.help {
            help(self, area, buf, &theme);
        }
    }
}

/// The selected tab's body as a wrapped paragraph under a rule.
fn body_text<'a>(m: &Inspector, theme: &Theme) -> Paragraph<'a> {
    let lines = match m.tabs.get(m.selected).map(|t| &t.body) {
        Some(TabBody::Token { report, raw }) if m.raw => raw_view(raw.secret(), report, m, theme),
        Some(TabBody::Token { report, raw }) => token_view(report, raw.secret(), m, theme),
        Some(TabBody::Fields(lookup)) => fields_view(lookup, m, theme),
        Some(TabBody::Empty(why)) => vec![Line::styled(escape(why), theme.dim)],
        None => vec![Line::styled("nothing to inspect", theme.dim)],
    };
    Paragraph::new(lines)
        // One column stays free at the right edge: wrapped text never runs into it.
        .block(
            Block::new()
                .borders(Borders::TOP)
                .border_style(theme.dim)
                .padding(Padding::right(1)),
        )
        .wrap(Wrap { trim: false })
}

/// Rows of the body (with its rule) on a terminal `height` rows high: less the title, the
/// tabs and the hint bar.
pub(super) fn body_rows(height: u16) -> u16 {
    height.saturating_sub(3)
}

/// The furthest the body of `m` can scroll at its size: the last line at the bottom.
pub(super) fn max_scroll(m: &Inspector) -> u16 {
    let theme = Theme::new(m.colors);
    let need = body_text(m, &theme).line_count(m.size.0.saturating_sub(1));
    u16::try_from(need.saturating_sub(usize::from(body_rows(m.size.1)))).unwrap_or(u16::MAX)
}

/// The title bar: the verdict of the tab being shown (each token tab has its own; an
/// endpoint's answer or an empty tab has none).
fn title_bar<'a>(m: &Inspector, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(" tvlogin inspect ", theme.title)];
    if let Some(p) = &m.profile {
        spans.push(Span::styled(
            format!("· profile {} ", escape(p)),
            theme.title,
        ));
    }
    let Some(tab) = m.tabs.get(m.selected) else {
        return Line::from(spans);
    };
    match &tab.body {
        TabBody::Token { report, .. } => {
            let judgement = report.judge_at(m.now);
            let style = match judgement.verdict {
                Verdict::Verified => theme.ok,
                Verdict::Invalid => theme.error,
                Verdict::Unverified => theme.warn,
            };
            spans.push(Span::styled(
                format!("· {}: {} ", escape(&tab.title), kind_label(report)),
                theme.dim,
            ));
            spans.push(Span::styled(judgement.verdict.badge(), style));
        }
        TabBody::Fields(lookup) => {
            let (what, style) = match &lookup.result {
                Ok(_) => ("answered by the issuer", theme.dim),
                Err(_) => ("✗ the request failed", theme.error),
            };
            spans.push(Span::styled(
                format!("· {}: ", escape(&tab.title)),
                theme.dim,
            ));
            spans.push(Span::styled(what, style));
        }
        TabBody::Empty(_) => spans.push(Span::styled(
            format!("· {}: nothing to check", escape(&tab.title)),
            theme.dim,
        )),
    }
    Line::from(spans)
}

fn kind_label(report: &Report) -> String {
    match &report.decoded {
        Decoded::Jws(j) => format!(
            "signed JWT, alg {}",
            escape(j.alg().unwrap_or("(none given)"))
        ),
        Decoded::Jwe(_) => "encrypted JWT (JWE)".into(),
        Decoded::Opaque => "opaque token".into(),
        Decoded::Malformed(_) => "malformed token".into(),
    }
}

/// The report's checks with the time and claim checks run again at `now`, so a token
/// expiring while on screen turns red.
pub fn live_checks(report: &Report, now: UnixTime) -> Vec<Check> {
    report.checks_at(now)
}

fn heading<'a>(text: &str, theme: &Theme) -> Line<'a> {
    Line::styled(text.to_owned(), theme.title)
}

fn masked(raw: &str) -> String {
    let n = raw.chars().count();
    let shown: String = raw.chars().take(6).collect();
    format!(
        "{shown}{} ({n} characters, hidden: press s to show)",
        "•".repeat(8)
    )
}

/// A token's tab, answer first: the verdict, each check, the clock and the notes; then the
/// header and the claims (their explanations folded behind `e`).
fn token_view<'a>(report: &Report, raw: &str, m: &Inspector, theme: &Theme) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let raw = crate::token::jwt::clean(raw);
    out.push(Line::from(vec![
        Span::styled("token    ", theme.dim),
        Span::raw(if m.reveal {
            escape(raw)
        } else {
            masked(&escape(raw))
        }),
    ]));
    let judgement = report.judge_at(m.now);
    let style = match judgement.verdict {
        Verdict::Verified => theme.ok,
        Verdict::Invalid => theme.error,
        Verdict::Unverified => theme.warn,
    };
    let badge = judgement.verdict.badge();
    hanging(
        &mut out,
        vec![
            Span::styled("Verdict  ", theme.title),
            Span::styled(badge, style),
            Span::raw("  "),
        ],
        &escape(&for_place(&judgement.reason, m.inside_dashboard)),
        m,
    );
    let checks = live_checks(report, m.now);
    if !checks.is_empty() {
        out.push(Line::raw(""));
        out.push(heading("Checks", theme));
        let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &checks {
            let (mark, style) = match c.outcome {
                Outcome::Passed(_) => ("✓ passed     ", theme.ok),
                Outcome::Failed(_) => ("✗ failed     ", theme.error),
                Outcome::NotChecked(_) => ("– not checked", theme.dim),
            };
            hanging(
                &mut out,
                vec![
                    Span::raw(format!("  {:<width$}  ", c.name)),
                    Span::styled(mark, style),
                    Span::raw("  "),
                ],
                &escape(&for_place(c.outcome.detail(), m.inside_dashboard)),
                m,
            );
        }
    }
    if let Some(skew) = report.skew {
        let style = if skew.seconds.abs() > verify::CLOCK_SKEW {
            theme.error
        } else if skew.seconds.abs() > 1 {
            theme.warn
        } else {
            theme.dim
        };
        out.push(Line::from(vec![
            Span::styled("Clock    ", theme.title),
            Span::styled(skew.describe(), style),
        ]));
    }
    for note in &report.notes {
        hanging(
            &mut out,
            vec![Span::styled("Note     ", theme.warn)],
            &escape(&for_place(note, m.inside_dashboard)),
            m,
        );
    }
    match &report.decoded {
        Decoded::Jws(j) => {
            out.push(Line::raw(""));
            out.push(heading("Header", theme));
            table(&mut out, &j.header, claims::header, m, theme);
            out.push(Line::raw(""));
            out.push(heading("Claims", theme));
            table(&mut out, &j.claims, claims::claim, m, theme);
        }
        Decoded::Jwe(j) => {
            out.push(Line::raw(""));
            out.push(heading("Header", theme));
            table(&mut out, &j.header, claims::header, m, theme);
            out.push(Line::raw(""));
            out.push(heading("Payload", theme));
            out.push(Line::styled(
                "  encrypted: only the intended recipient can decrypt it",
                theme.warn,
            ));
        }
        Decoded::Opaque => {
            out.push(Line::raw(""));
            out.push(Line::raw(
                "An opaque token: not a JWT, so it carries nothing readable. Its meaning is kept by the server that issued it.",
            ));
        }
        Decoded::Malformed(e) => {
            out.push(Line::raw(""));
            out.push(Line::styled(
                format!("Malformed: {}", escape(&e.to_string())),
                theme.error,
            ));
        }
    }
    out
}

/// `head` then `text`, the text wrapped under itself (a hanging indent as wide as `head`),
/// one column free at the edge; unwrapped while the size is unknown.
fn hanging<'a>(out: &mut Vec<Line<'a>>, head: Vec<Span<'a>>, text: &str, m: &Inspector) {
    let indent: usize = head
        .iter()
        .map(|s| crate::tui::text::width(&s.content))
        .sum();
    let room = usize::from(m.size.0).saturating_sub(indent + 1);
    if m.size.0 == 0 || room < 12 {
        let mut spans = head;
        spans.push(Span::raw(text.to_owned()));
        out.push(Line::from(spans));
        return;
    }
    for (i, part) in wrap(text, room, 64).into_iter().enumerate() {
        let mut spans = if i == 0 {
            head.clone()
        } else {
            vec![Span::raw(" ".repeat(indent))]
        };
        spans.push(Span::raw(part));
        out.push(Line::from(spans));
    }
}

/// A check's detail or a note as it should read where it is shown: inside the dashboard no
/// flag can be passed, so a "pass --flag" hint says instead that nothing here names it.
pub fn for_place(text: &str, inside_dashboard: bool) -> String {
    if !inside_dashboard {
        return text.to_owned();
    }
    match text.find(": pass --").or_else(|| text.find(" (pass --")) {
        Some(at) => {
            let head = &text[..at];
            let tail = &text[at..];
            // Keep whatever follows the hint's parenthesis ("; an opaque token …").
            let rest = if tail.starts_with(" (") {
                tail.find(')').map(|end| &tail[end + 1..]).unwrap_or("")
            } else {
                ""
            };
            format!("{head} (the profile names none){rest}")
        }
        None => text.to_owned(),
    }
}

fn table<'a>(
    out: &mut Vec<Line<'a>>,
    fields: &Map<String, Value>,
    lookup: fn(&str) -> Option<&'static claims::Entry>,
    m: &Inspector,
    theme: &Theme,
) {
    let names: Vec<String> = fields.keys().map(|k| escape(k)).collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    let pad = " ".repeat(width + 4);
    for ((key, value), name) in fields.iter().zip(&names) {
        let entry = lookup(key);
        // Values and descriptions wrap under themselves (hanging indent), never back at
        // column 0; one column stays free at the edge.
        let room = usize::from(m.size.0).saturating_sub(pad.len() + 1).max(12);
        let hang = |text: &str| -> Vec<String> {
            if m.size.0 == 0 {
                vec![text.to_owned()]
            } else {
                wrap(text, room, 12)
            }
        };
        let value_lines = hang(&show_value(value));
        let last = value_lines.len() - 1;
        let time = entry
            .filter(|e| e.kind == Kind::Time)
            .and_then(|_| numeric_date(value));
        for (i, part) in value_lines.into_iter().enumerate() {
            let mut spans = vec![if i == 0 {
                Span::styled(format!("  {name:<width$}  "), theme.key)
            } else {
                Span::raw(pad.clone())
            }];
            spans.push(Span::raw(part));
            if i == last
                && let Some(at) = time
            {
                let style = match key.as_str() {
                    "exp" if at <= m.now.secs() => theme.error,
                    "exp" if m.now.until(UnixTime::from_secs(at)) < 300 => theme.warn,
                    _ => theme.ok,
                };
                spans.push(Span::styled(format!("  {}", relative(at, m.now)), style));
            }
            out.push(Line::from(spans));
        }
        if let Some(at) = time {
            let v = TimeView::new(at, m.now, m.offset);
            for part in hang(&format!("{} · {}", v.local, v.utc)) {
                out.push(Line::styled(format!("{pad}{part}"), theme.dim));
            }
        }
        if !m.explain {
            continue;
        }
        let about = match entry {
            Some(e) => format!("{} ({})", e.about, e.spec),
            None => "(not a registered name)".to_owned(),
        };
        for part in hang(&about) {
            out.push(Line::styled(format!("{pad}{part}"), theme.dim));
        }
    }
}

fn fields_view<'a>(lookup: &Lookup, m: &Inspector, theme: &Theme) -> Vec<Line<'a>> {
    let endpoint = escape(&lookup.endpoint);
    let parts = if m.size.0 == 0 {
        vec![endpoint]
    } else {
        wrap(
            &endpoint,
            usize::from(m.size.0).saturating_sub(7).max(12),
            4,
        )
    };
    let mut out: Vec<Line<'a>> = parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let label = if i == 0 { "from  " } else { "      " };
            Line::from(vec![Span::styled(label, theme.dim), Span::raw(part)])
        })
        .collect();
    out.push(Line::raw(""));
    match &lookup.result {
        Ok(fields) => table(&mut out, fields, claims::claim, m, theme),
        Err(e) => out.push(Line::styled(format!("failed: {}", escape(e)), theme.error)),
    }
    out
}

fn raw_view<'a>(raw: &str, report: &Report, m: &Inspector, theme: &Theme) -> Vec<Line<'a>> {
    let raw = crate::token::jwt::clean(raw);
    let mut out = Vec::new();
    let segments: Vec<&str> = raw.split('.').collect();
    let named = match &report.decoded {
        Decoded::Jws(_) => vec![
            ("header", theme.error),
            ("payload", theme.code),
            ("signature", theme.url),
        ],
        Decoded::Jwe(_) => vec![
            ("header", theme.error),
            ("encrypted key", theme.code),
            ("iv", theme.ok),
            ("ciphertext", theme.url),
            ("tag", theme.warn),
        ],
        _ => vec![],
    };
    if named.len() != segments.len() {
        out.push(Line::raw(if m.reveal {
            escape(raw)
        } else {
            masked(&escape(raw))
        }));
        return out;
    }
    // The last segment (signature or tag) is what makes the token usable: hidden by default.
    let mut spans = Vec::new();
    for (i, (seg, (_, style))) in segments.iter().zip(&named).enumerate() {
        if i > 0 {
            spans.push(Span::styled(".", theme.dim));
        }
        let last = i + 1 == segments.len();
        let text = if last && !m.reveal && !seg.is_empty() {
            "•".repeat(seg.len().min(16))
        } else {
            escape(seg)
        };
        spans.push(Span::styled(text, *style));
    }
    out.push(Line::from(spans));
    out.push(Line::raw(""));
    for ((seg, (name, style)), i) in segments.iter().zip(&named).zip(1..) {
        let hidden = i == segments.len() && !m.reveal && !seg.is_empty();
        out.push(Line::from(vec![
            Span::styled(format!("  {i} {name:<14}"), *style),
            Span::styled(
                format!(
                    "{} characters{}",
                    seg.len(),
                    if hidden {
                        " (hidden: press s to show)"
                    } else {
                        ""
                    }
                ),
                theme.dim,
            ),
        ]));
    }
    out
}

fn help(m: &Inspector, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let rows = keys::help_lines(&key_table(m));
    let width = 44.min(area.width);
    let height = (rows.len() as u16 + 4).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(rect, buf);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<10}"), theme.key),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::styled(" any key closes this", theme.dim));
    Paragraph::new(lines)
        .block(Block::bordered().title(" keys ").border_style(theme.dim))
        .render(rect, buf);
}
