//! Reading screens: render a model to text (plus a colour summary for snapshots), and decode
//! a QR code from screen text by the shapes of its half-block glyphs alone.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// The screen of `app` at `width` x `height`, as text lines (trailing spaces kept off).
pub fn lines<W>(app: &W, width: u16, height: u16) -> (Vec<String>, String)
where
    for<'a> &'a W: ratatui::widgets::Widget,
{
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("create the test terminal");
    terminal
        .draw(|frame| frame.render_widget(app, frame.area()))
        .expect("draw the screen");
    let buffer = terminal.backend().buffer().clone();
    let mut rows = Vec::new();
    let mut colours: BTreeMap<String, usize> = BTreeMap::new();
    for y in 0..height {
        let mut row = String::new();
        for x in 0..width {
            let cell = &buffer[(x, y)];
            row.push_str(cell.symbol());
            if cell.fg != Color::Reset || cell.bg != Color::Reset {
                *colours
                    .entry(format!("fg {:?} on bg {:?}", cell.fg, cell.bg))
                    .or_default() += 1;
            }
        }
        rows.push(row.trim_end().to_owned());
    }
    let summary = colours
        .iter()
        .map(|(k, n)| format!("{k}: {n} cells"))
        .collect::<Vec<_>>()
        .join("\n");
    (rows, summary)
}

/// A snapshot: the screen in a frame, then which colours it uses.
pub fn snapshot<W>(app: &W, width: u16, height: u16) -> String
where
    for<'a> &'a W: ratatui::widgets::Widget,
{
    let (rows, colours) = lines(app, width, height);
    let mut out = String::new();
    for row in rows {
        out.push('|');
        out.push_str(&row);
        out.push('\n');
    }
    out.push_str("--- colours ---\n");
    out.push_str(if colours.is_empty() {
        "(none)"
    } else {
        &colours
    });
    out.push('\n');
    out
}

/// Decodes every QR code found in screen text: `█` both modules dark, `▀` top, `▄` bottom,
/// anything else light.
pub fn decode_qr(rows: &[String]) -> Vec<String> {
    const SCALE: usize = 4;
    let width = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let cells: Vec<Vec<char>> = rows.iter().map(|r| r.chars().collect()).collect();
    let (w, h) = (width * SCALE, rows.len() * 2 * SCALE);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let (col, module_row) = (x / SCALE, y / SCALE);
        let c = cells
            .get(module_row / 2)
            .and_then(|r| r.get(col))
            .copied()
            .unwrap_or(' ');
        let dark = match c {
            '█' => true,
            '▀' => module_row % 2 == 0,
            '▄' => module_row % 2 == 1,
            _ => false,
        };
        if dark { 0 } else { 255 }
    });
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

/// Layout rules every screen keeps at every size: the footer (last row) offers `q` and `?`;
/// no row runs into the right edge with a letter or digit (text cut mid-word);
/// `header` is the first row as it reads without any notice.
pub fn check_layout(rows: &[String], width: u16, header: &str, what: &str) {
    let screen = rows.join("\n");
    let footer = rows.last().map(String::as_str).unwrap_or_default();
    let words: Vec<&str> = footer.split_whitespace().collect();
    assert!(
        words.contains(&"?") && (words.contains(&"q") || words.contains(&"q/Enter")),
        "{what}: the footer lacks q or ?:\n{screen}"
    );
    for (i, row) in rows.iter().enumerate() {
        let cols = unicode_width::UnicodeWidthStr::width(row.as_str());
        let last = row.chars().last().unwrap_or(' ');
        assert!(
            !(cols >= usize::from(width) && last.is_alphanumeric()),
            "{what}: row {i} is cut at the edge: {row:?}\n{screen}"
        );
    }
    assert_eq!(rows[0], header, "{what}: the header changed:\n{screen}");
}

/// Decodes every QR code as a person would see the screen on a terminal whose default
/// colours are light on dark (`dark_terminal`) or dark on light: each cell's glyph shape
/// with its colours, reverse video applied; text cells count as their background.
pub fn decode_qr_as_seen<W>(app: &W, width: u16, height: u16, dark_terminal: bool) -> Vec<String>
where
    for<'a> &'a W: ratatui::widgets::Widget,
{
    use ratatui::style::Modifier;
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("create the test terminal");
    terminal
        .draw(|frame| frame.render_widget(app, frame.area()))
        .expect("draw the screen");
    let buffer = terminal.backend().buffer().clone();
    let light = |c: Color, default_light: bool| match c {
        Color::Reset => default_light,
        Color::Black | Color::Indexed(16) | Color::DarkGray => false,
        Color::Rgb(r, g, b) => u32::from(r) + u32::from(g) + u32::from(b) > 384,
        Color::Indexed(i) => i >= 231 || i == 7 || i == 15,
        _ => true,
    };
    const SCALE: usize = 4;
    let (w, h) = (usize::from(width) * SCALE, usize::from(height) * 2 * SCALE);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let (col, half) = (x / SCALE, y / SCALE);
        let cell = &buffer[(col as u16, (half / 2) as u16)];
        let mut ink = light(cell.fg, dark_terminal);
        let mut paper = light(cell.bg, !dark_terminal);
        if cell.modifier.contains(Modifier::REVERSED) {
            std::mem::swap(&mut ink, &mut paper);
        }
        let inked = match cell.symbol() {
            "█" => true,
            "▀" => half % 2 == 0,
            "▄" => half % 2 == 1,
            _ => false,
        };
        let is_light = if inked { ink } else { paper };
        if is_light { 255 } else { 0 }
    });
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}
