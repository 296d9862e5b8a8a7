//! One function per screen of the login flow.

use std::num::NonZeroU16;
use std::time::Duration;

use ratatui::buffer::{Buffer, CellDiffOption};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::error::Error;
use crate::humanize;
use crate::oauth::poll::Next;
use crate::oauth::reach::Reach;
use crate::sanitize::escape;
use crate::token;
use crate::tui::login::{App, Approved, Flow, Notice, QrMatrix, Saved, Waiting};
use crate::tui::theme::Theme;
use crate::tui::widgets::bigtext;
use crate::tui::widgets::gauge;
use crate::tui::widgets::qr::Qr;

/// Below this size only a short message (with the URL and code) is shown.
pub const MIN_WIDTH: u16 = 40;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 12;

/// The narrowest the text column beside the QR code may get.
const LEFT_MIN: u16 = 36;
/// The widest it gets; more only spreads the text thin.
const TEXT_MAX: u16 = 64;

/// Chooses the big code's scale and the QR code's size for the body area. The QR code is
/// drawn at the code's scale, so both grow together: both at double size, then both at
/// normal size, then the QR without the big code (the plain code is always shown), then the
/// big code alone.
pub(super) fn waiting_layout<'a>(
    code: &str,
    matrix: Option<&'a QrMatrix>,
    area: Rect,
) -> (Option<(Vec<String>, u16)>, Option<Qr<'a>>) {
    let qr_width = area.width.saturating_sub(LEFT_MIN + 2);
    let big = |scale: u16| {
        bigtext::width(code, scale)
            .filter(|w| w + 4 <= area.width)
            .and_then(|_| bigtext::render(code, scale))
            .map(|rows| (rows, scale))
    };
    for scale in [2, 1] {
        if let Some(band) = big(scale) {
            let below = area.height.saturating_sub(bigtext::height(scale));
            if let Some(qr) = matrix.and_then(|m| Qr::fit_at(m, scale, qr_width, below)) {
                return (Some(band), Some(qr));
            }
        }
    }
    match matrix.and_then(|m| Qr::fit_at(m, 1, qr_width, area.height)) {
        Some(qr) => (None, Some(qr)),
        None => (big(1), None),
    }
}

/// Rows (0 to 2) the body can give up at its bottom for a notice without changing what it
/// shows: a function of the screen and its size only, so a notice never moves the code or
/// the QR code when it comes and goes. A notice longer than this covers the body's last rows.
pub fn notice_room(app: &App, body: Rect) -> u16 {
    let shape = |area: Rect| match &app.flow {
        Flow::Waiting(w) => {
            let (band, qr) = waiting_layout(&w.auth.user_code, w.qr.as_ref(), area);
            (
                band.map(|(_, scale)| scale),
                qr.map(|q| (q.size(), q.scale())),
            )
        }
        _ => (None, None),
    };
    let full = shape(body);
    (1..=2)
        .rev()
        .find(|&rows| {
            let less = Rect {
                height: body.height.saturating_sub(rows),
                ..body
            };
            // Text screens need about 14 rows; the waiting screen its code and QR code.
            less.height >= 14 && shape(less) == full
        })
        .unwrap_or(0)
}

/// Writes lines top to bottom, wrapping long text at word boundaries.
struct Column<'b> {
    area: Rect,
    y: u16,
    buf: &'b mut Buffer,
}

impl<'b> Column<'b> {
    fn new(area: Rect, buf: &'b mut Buffer) -> Self {
        Self {
            area,
            y: area.y,
            buf,
        }
    }

    fn room(&self) -> bool {
        self.y < self.area.bottom()
    }

    /// One row; text too wide goes on to the next rows, between words, indented two more
    /// than it starts (never cut mid-word). Returns the first row's area for decoration.
    fn line(&mut self, line: Line<'_>) -> Option<Rect> {
        let owned = Line::from(
            line.spans
                .iter()
                .map(|s| Span::styled(s.content.to_string(), s.style))
                .collect::<Vec<_>>(),
        )
        .style(line.style);
        let lead = owned
            .spans
            .first()
            .map_or(0, |s| s.content.len() - s.content.trim_start().len());
        let mut first = None;
        for part in crate::tui::text::fit_line(owned, usize::from(self.area.width), lead + 2) {
            if !self.room() {
                break;
            }
            let row = Rect {
                y: self.y,
                height: 1,
                ..self.area
            };
            part.render(row, self.buf);
            self.y += 1;
            first.get_or_insert(row);
        }
        first
    }

    fn blank(&mut self) {
        self.y = self.y.saturating_add(1);
    }

    /// A labelled row: `label` in a fixed column, `value` wrapped beside it.
    fn field(&mut self, label: &str, value: &str, label_style: Style, style: Style) {
        const LABEL: usize = 15;
        let width = usize::from(self.area.width).saturating_sub(LABEL).max(8);
        for (i, row) in wrap(value, width).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            self.line(Line::from(vec![
                Span::styled(format!("{label:<LABEL$}"), label_style),
                Span::styled(row, style),
            ]));
        }
    }

    /// `text` wrapped to the width, each row prefixed by `indent`.
    fn wrapped(&mut self, indent: &str, text: &str, style: Style) {
        let width = usize::from(self.area.width)
            .saturating_sub(indent.chars().count())
            .max(8);
        for row in wrap(text, width) {
            self.line(Line::from(vec![
                Span::raw(indent.to_owned()),
                Span::styled(row, style),
            ]));
        }
    }
}

/// Greedy word wrap; words longer than the width are split, a path after a separator.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = vec![];
    let mut row = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_owned();
        while word.chars().count() > width {
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            let room: String = word.chars().take(width).collect();
            // A path breaks after a separator, so no file or folder name is cut in two.
            let cut = room
                .rfind(['/', '\\'])
                .map(|at| at + 1)
                .filter(|&at| at < room.len())
                .unwrap_or(room.len());
            let head = room[..cut].to_owned();
            word = word[head.len()..].to_owned();
            rows.push(head);
        }
        if row.is_empty() {
            row = word;
        } else if row.chars().count() + 1 + word.chars().count() <= width {
            row.push(' ');
            row.push_str(&word);
        } else {
            rows.push(std::mem::replace(&mut row, word));
        }
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

/// Turns a rendered row into an OSC 8 hyperlink, two cells per escape as ratatui's
/// hyperlink example does (a terminal without OSC 8 shows the plain text).
fn hyperlink(buf: &mut Buffer, row: Rect, start: u16, len: u16, url: &str) {
    let end = (row.x + start + len).min(row.right());
    let mut x = row.x + start;
    while x < end {
        let pair = if x + 1 < end {
            format!(
                "{}{}",
                buf[(x, row.y)].symbol(),
                buf[(x + 1, row.y)].symbol()
            )
        } else {
            buf[(x, row.y)].symbol().to_owned()
        };
        let cells = if x + 1 < end { 2 } else { 1 };
        buf[(x, row.y)]
            .set_symbol(&format!("\x1b]8;;{url}\x1b\\{pair}\x1b]8;;\x1b\\"))
            .set_diff_option(CellDiffOption::ForcedWidth(
                NonZeroU16::new(cells).unwrap_or(NonZeroU16::MIN),
            ));
        if cells == 2 {
            buf[(x + 1, row.y)].set_diff_option(CellDiffOption::Skip);
        }
        x += 2;
    }
}

/// The keyring does not work here: where should the tokens go?
pub fn choose_store(
    app: &App,
    reason: &str,
    file: &str,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let mut col = Column::new(inset(area), buf);
    col.blank();
    col.line(Line::styled(
        "Where should tvlogin keep your tokens?",
        theme.title,
    ));
    col.blank();
    col.wrapped(
        "",
        &format!("The OS keyring is not available here: {}", escape(reason)),
        theme.warn,
    );
    col.blank();
    col.line(Line::from(vec![
        Span::styled("f ", theme.key),
        Span::raw("in a file only you can read (mode 0600):"),
    ]));
    col.wrapped("  ", &escape(file), theme.dim);
    col.line(Line::from(vec![
        Span::styled("m ", theme.key),
        Span::raw("in memory, for this run only (log in again next time)"),
    ]));
    col.line(Line::from(vec![
        Span::styled("q ", theme.key),
        Span::raw("cancel"),
    ]));
    col.blank();
    col.wrapped(
        "",
        &format!(
            "The choice is remembered for profile {}. To choose without this question, use              --store file|memory or TVLOGIN_STORE.",
            escape(&app.ctx.profile)
        ),
        theme.dim,
    );
}

/// Discovering and requesting: one line saying what is happening.
pub fn busy(app: &App, what: &str, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut col = Column::new(inset(area), buf);
    col.blank();
    col.line(Line::styled(what.to_owned(), theme.title));
    col.blank();
    col.wrapped(
        "",
        &format!("Server: {}", escape(&app.ctx.server)),
        theme.dim,
    );
}

fn inset(area: Rect) -> Rect {
    Rect {
        x: area.x + 2,
        width: area.width.saturating_sub(4),
        ..area
    }
}

/// The smart-TV screen: big code, URL, QR, countdown and poll state.
pub fn waiting(app: &App, w: &Waiting, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let code = &w.auth.user_code;
    let (big, qr) = waiting_layout(code, w.qr.as_ref(), area);
    let band_height = big.as_ref().map_or(0, |(_, scale)| bigtext::height(*scale));
    let [band_area, rest] =
        Layout::vertical([Constraint::Length(band_height), Constraint::Fill(1)]).areas(area);
    if let Some((rows, _)) = &big {
        for (row, y) in rows.iter().zip(band_area.y..) {
            let at = Rect {
                x: band_area.x + 2,
                y,
                width: band_area.width.saturating_sub(2),
                height: 1,
            };
            Line::styled(row.clone(), theme.code).render(at, buf);
        }
    }
    // The text column keeps a readable width and the QR code sits right beside it.
    let (left, right) = match &qr {
        Some(qr) => {
            let (qw, _) = qr.size();
            let text = rest.width.saturating_sub(qw + 2).min(TEXT_MAX);
            let [left, right, _] = Layout::horizontal([
                Constraint::Length(text),
                Constraint::Length(qw + 2),
                Constraint::Fill(1),
            ])
            .areas(rest);
            (left, Some(right))
        }
        None => (rest, None),
    };
    // The QR code starts level with the text (under the big code), not lower down.
    if let (Some(qr), Some(right)) = (&qr, right) {
        let (qw, qh) = qr.size();
        let at = Rect {
            x: right.x + right.width.saturating_sub(qw) / 2,
            y: right.y,
            width: qw.min(right.width),
            height: qh.min(right.height),
        };
        qr.widget(theme).render(at, buf);
    }
    let band = big.as_ref();

    let now = app.now;
    let mut col = Column::new(inset(left), buf);
    if band.is_none() || qr.is_none() {
        col.blank();
    }
    // One wording about phones, chosen from the address (loopback: this machine only).
    let reach = Reach::of(&w.auth.verification_uri);
    let open = reach.open_step();
    col.line(Line::from(vec![
        Span::styled("1 ", theme.key),
        Span::raw(open),
    ]));
    let url = w.auth.verification_uri.as_str();
    if let Some(row) = col.line(Line::from(vec![
        Span::raw("  "),
        Span::styled(url.to_owned(), theme.url),
    ])) && app.ctx.hyperlinks
        && url.chars().count() + 2 <= usize::from(row.width)
    {
        hyperlink(
            col.buf,
            row,
            2,
            u16::try_from(url.chars().count()).unwrap_or(0),
            url,
        );
    }
    let shown_above = if band.is_some() { " shown above" } else { "" };
    col.line(Line::from(vec![
        Span::styled("2 ", theme.key),
        Span::raw(format!("Enter the code{shown_above}")),
    ]));
    // The host on its own, beside the code: where the code belongs is the one thing a
    // phished person gets wrong (RFC 10027).
    col.line(Line::from(vec![
        Span::raw("  "),
        Span::styled(escape(code), theme.code),
        Span::raw("  at "),
        Span::styled(w.guidance.host.clone(), theme.title),
    ]));
    if qr.is_some() {
        let how = match (reach, w.auth.verification_uri_complete.is_some()) {
            (Reach::ThisMachine, _) => "or press a to approve (demo)",
            (Reach::AnyDevice, true) => "or scan the QR code (code included)",
            (Reach::AnyDevice, false) => "or scan the QR code, then type the code",
        };
        if reach == Reach::AnyDevice || app.ctx.demo {
            col.wrapped("  ", how, theme.dim);
        }
    } else if app.ctx.demo {
        col.wrapped("  ", "or press a to approve (demo)", theme.dim);
    }
    for warning in &w.guidance.warnings {
        col.wrapped("", &format!("⚠ {warning}"), theme.warn);
    }
    col.blank();

    let remaining = w.remaining(now);
    let expiry_style = if remaining < Duration::from_secs(60) {
        theme.warn
    } else {
        Style::new()
    };
    col.line(Line::styled(
        format!("Code expires in {}", humanize::duration(remaining)),
        expiry_style,
    ));
    let fraction = remaining.as_secs_f64() / w.lifetime().as_secs_f64().max(1.0);
    let bar_width = col.area.width.min(40);
    col.line(gauge(fraction, bar_width, theme));

    let status = match (w.poller.attempts(), &w.last) {
        (0, _) => "Waiting for approval".to_owned(),
        (n, Some(last)) => format!("Check {n}: {last}"),
        (n, None) => format!("Check {n}"),
    };
    col.wrapped("", &status, theme.dim);
    let next = match w.next {
        Next::PollAt(at) => format!(
            "Next check in {}",
            humanize::duration(at.saturating_duration_since(now))
        ),
        Next::ExpireAt(_) => "No more checks: the code expires first".into(),
        Next::Done => String::new(),
    };
    col.wrapped("", &next, theme.dim);
    // Whose code to enter (RFC 10027), after the countdown so a small window keeps that.
    // All of it when it fits, else the short form: never a sentence cut off at the edge.
    let rows_left = usize::from(col.area.bottom().saturating_sub(col.y));
    let width = usize::from(col.area.width).max(8);
    let advice = if wrap(&w.guidance.advice, width).len() <= rows_left {
        &w.guidance.advice
    } else {
        &w.guidance.short_advice
    };
    col.wrapped("", advice, theme.dim);
    match &w.notice {
        Some(Notice::SlowDown { interval }) => col.wrapped(
            "",
            &format!(
                "⚠ The server asked to slow down: checking every {}",
                humanize::duration(*interval)
            ),
            theme.warn,
        ),
        Some(Notice::Retrying { reason }) => {
            col.wrapped("", &format!("⚠ {reason}; will retry"), theme.warn);
        }
        None => {}
    }
    if let Some(message) = &w.auth.message {
        col.blank();
        col.wrapped(
            "",
            &format!("The server says: {}", escape(message)),
            theme.dim,
        );
    }
    if qr.is_none() {
        col.blank();
        let need =
            w.qr.as_ref()
                .map(Qr::min_size)
                .map(|(qw, qh)| format!(" to {}x{}", qw + LEFT_MIN + 2, qh + 2))
                .unwrap_or_default();
        col.wrapped(
            "",
            &format!(
                "No room for the QR code: enlarge the window{need}, or use the address and code."
            ),
            theme.dim,
        );
    }
}

/// Logged in: who, scopes, expiry, where the tokens went.
pub fn approved(app: &App, a: &Approved, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut col = Column::new(inset(area), buf);
    col.blank();
    col.line(Line::styled("✔ Logged in", theme.ok));
    if let Some(who) = token::who(&a.tokens).label.map(|label| escape(&label)) {
        col.line(Line::raw(format!("  as {who}")));
    }
    col.blank();
    let access = match a.tokens.expires_in {
        Some(secs) => {
            let left = a
                .received
                .checked_add(Duration::from_secs(secs))
                .map_or(Duration::MAX, |end| end.saturating_duration_since(app.now));
            if left.is_zero() {
                format!("{} · expired", escape(&a.tokens.token_type))
            } else {
                format!(
                    "{} · expires in {}",
                    escape(&a.tokens.token_type),
                    humanize::duration(left)
                )
            }
        }
        None => format!("{} · no expiry given", escape(&a.tokens.token_type)),
    };
    col.field("Access token", &access, theme.dim, Style::new());
    let scope = a
        .tokens
        .scope
        .as_deref()
        .map(escape)
        .unwrap_or_else(|| "(as requested)".into());
    col.field("Scope", &scope, theme.dim, Style::new());
    let refresh = match (&a.tokens.refresh_token, a.tokens.refresh_expires_in) {
        (Some(_), Some(s)) => format!(
            "received · expires in {}",
            humanize::duration(Duration::from_secs(s))
        ),
        (Some(_), None) => "received".into(),
        (None, _) => "none".into(),
    };
    col.field("Refresh token", &refresh, theme.dim, Style::new());
    let id = if a.tokens.id_token.is_some() {
        "received"
    } else {
        "none"
    };
    col.field("ID token", id, theme.dim, Style::new());
    let (stored, style) = match &a.saved {
        Saved::Saving => ("saving…".to_owned(), theme.dim),
        Saved::Done(place) => (escape(place), Style::new()),
        Saved::Failed(why) => (format!("not saved: {}", escape(why)), theme.error),
    };
    col.field("Stored in", &stored, theme.dim, style);
    col.blank();
    col.line(Line::styled("Press Enter to finish.", theme.dim));
}

/// The person declined.
pub fn denied(error: &str, description: Option<&str>, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut col = Column::new(inset(area), buf);
    col.blank();
    col.line(Line::styled("✘ Access denied", theme.error));
    col.blank();
    col.wrapped(
        "",
        &format!(
            "The request was declined at the verification page ({}).",
            escape(error)
        ),
        Style::new(),
    );
    if let Some(d) = description {
        col.wrapped("", &format!("The server says: {}", escape(d)), theme.dim);
    }
    col.blank();
    col.line(Line::styled(
        "Press r to try again with a new code, or q to quit.",
        theme.dim,
    ));
}

/// The code ran out.
pub fn expired(description: Option<&str>, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut col = Column::new(inset(area), buf);
    col.blank();
    col.line(Line::styled("⌛ The code expired", theme.warn));
    col.blank();
    let why = match description {
        Some(d) => format!("Nobody approved it in time. The server says: {}", escape(d)),
        None => "Nobody approved it before the time the server gave it ran out.".into(),
    };
    col.wrapped("", &why, Style::new());
    col.blank();
    col.line(Line::styled(
        "Press r for a new code, or q to quit.",
        theme.dim,
    ));
}

/// Any other end: the server's words and what to do next.
pub fn failed(error: &Error, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut col = Column::new(inset(area), buf);
    col.blank();
    col.line(Line::styled("✘ Login failed", theme.error));
    col.blank();
    col.wrapped("", &escape(&error.to_string()), Style::new());
    if let Some(hint) = error.hint() {
        col.blank();
        col.wrapped("", &format!("Hint: {hint}"), theme.dim);
    }
    col.blank();
    col.line(Line::styled("Press r to retry, or q to quit.", theme.dim));
}

/// Below the minimum size: what the person needs most, as plain lines.
pub fn too_small(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut col = Column::new(area, buf);
    col.wrapped(
        "",
        &format!(
            "tvlogin: enlarge the window (at least {}x{}).",
            MIN_WIDTH, MIN_HEIGHT
        ),
        theme.warn,
    );
    match &app.flow {
        Flow::Waiting(w) => {
            col.wrapped(
                "",
                &format!("Open {}", w.auth.verification_uri),
                Style::new(),
            );
            col.wrapped(
                "",
                &format!("Code {} at {}", escape(&w.auth.user_code), w.guidance.host),
                theme.code,
            );
        }
        Flow::Approved(_) => col.wrapped("", "Logged in. Press Enter.", theme.ok),
        Flow::ChooseStore { .. } => {
            col.wrapped("", "No keyring: press f (file) or m (memory).", theme.warn)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{QrMatrix, Rect, waiting_layout, wrap};

    #[test]
    fn wraps_at_words_and_splits_long_ones() {
        assert_eq!(wrap("the quick brown fox", 9), ["the quick", "brown fox"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("  ", 4), Vec::<String>::new());
    }

    /// A path too long for a row breaks after a separator: no file or folder name is cut.
    #[test]
    fn paths_wrap_at_separators() {
        let path = "file /home/ada/.local/share/tvlogin/profiles/default.tokens.json";
        let rows = wrap(path, 30);
        assert_eq!(rows.concat(), path.replace(' ', ""), "{rows:?}");
        assert!(
            rows.iter().any(|r| r.ends_with("default.tokens.json")),
            "{rows:?}"
        );
        for row in &rows[1..rows.len() - 1] {
            assert!(row.ends_with('/'), "{rows:?}");
        }
        assert_eq!(
            wrap(r"C:\Users\ada\AppData\Roaming\tvlogin", 16),
            [r"C:\Users\ada\", r"AppData\Roaming\", "tvlogin"]
        );
        // A name longer than a row still goes on, split where it must.
        assert_eq!(wrap("/a/bcdefghijk", 5), ["/a/", "bcdef", "ghijk"]);
    }

    /// The QR code is drawn at the big code's scale at every size: never a double code over
    /// a single-size QR code.
    #[test]
    fn the_qr_code_grows_with_the_code() {
        let matrix = QrMatrix::encode("https://login.example.com/device?user_code=WDJB-MJHT")
            .expect("encode");
        let mut doubled = false;
        for (w, h) in [
            (80, 24),
            (100, 30),
            (120, 40),
            (160, 45),
            (200, 50),
            (240, 70),
        ] {
            let body = Rect::new(0, 0, w, h - 2);
            let (band, qr) = waiting_layout("WDJB-MJHT", Some(&matrix), body);
            if let (Some((_, scale)), Some(qr)) = (band, qr) {
                assert_eq!(qr.scale(), scale, "{w}x{h}");
                doubled |= scale == 2;
            }
        }
        assert!(doubled, "no size drew both at double size");
        // At 120x40 both are doubled (the QR code with the tolerated 2-module quiet zone).
        let (band, qr) = waiting_layout("WDJB-MJHT", Some(&matrix), Rect::new(0, 0, 120, 38));
        assert_eq!(band.map(|(_, s)| s), Some(2));
        assert_eq!(qr.map(|q| q.scale()), Some(2));
    }
}
