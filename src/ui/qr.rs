//! The QR code as a widget. One cell holds two modules stacked vertically, drawn with the
//! half-block glyph whose *shape* matches them (` `, `▀`, `▄`, `█`), with explicit black and
//! white colours for polarity. So the code scans on dark and light themes alike, and it can
//! still be decoded from the plain text of the screen (the ink is the dark modules).

use std::sync::Mutex;

use qrcode::{EcLevel, QrCode};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use super::theme::Theme;

/// A QR code sized for a place on screen.
#[derive(Clone)]
pub struct Qr {
    code: QrCode,
    quiet: usize,
    /// 1: two modules per cell (half blocks); 2: one module per two cells (full blocks),
    /// for large screens where a bigger code scans from further away.
    scale: u16,
}

impl std::fmt::Debug for Qr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qr")
            .field("modules", &self.code.width())
            .field("quiet", &self.quiet)
            .field("scale", &self.scale)
            .finish()
    }
}

impl Qr {
    /// The largest comfortable rendering of `data` that fits in `width` x `height` cells:
    /// double size when there is room, else normal size with a 4-module quiet zone (the
    /// standard's), else 2 (widely tolerated); `None` if nothing fits.
    pub fn fit(data: &str, width: u16, height: u16) -> Option<Self> {
        let code = Self::encode(data)?;
        [(2, 4), (1, 4), (1, 2)]
            .into_iter()
            .map(|(scale, quiet)| Self {
                code: code.clone(),
                quiet,
                scale,
            })
            .find(|qr| {
                let (w, h) = qr.size();
                w <= width && h <= height
            })
    }

    /// The cells needed at the smallest rendering, for "enlarge to" messages.
    pub fn min_size(data: &str) -> Option<(u16, u16)> {
        Self::encode(data).map(|code| {
            Self {
                code,
                quiet: 2,
                scale: 1,
            }
            .size()
        })
    }

    /// Medium error correction unless low gives a smaller symbol (long URLs). The screen
    /// redraws every second while the code stays the same for minutes, and encoding is most
    /// of a frame's cost, so the last result is kept.
    fn encode(data: &str) -> Option<QrCode> {
        static LAST: Mutex<Option<(String, Option<QrCode>)>> = Mutex::new(None);
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, code)) = last.as_ref()
            && seen == data
        {
            return code.clone();
        }
        let code = Self::encode_uncached(data);
        *last = Some((data.to_owned(), code.clone()));
        code
    }

    fn encode_uncached(data: &str) -> Option<QrCode> {
        let medium = QrCode::with_error_correction_level(data, EcLevel::M).ok();
        let low = QrCode::with_error_correction_level(data, EcLevel::L).ok();
        match (medium, low) {
            (Some(m), Some(l)) if l.width() < m.width() => Some(l),
            (Some(m), _) => Some(m),
            (None, l) => l,
        }
    }

    /// Columns and rows this rendering takes.
    pub fn size(&self) -> (u16, u16) {
        let modules = u16::try_from(self.code.width() + 2 * self.quiet).unwrap_or(u16::MAX);
        match self.scale {
            1 => (modules, modules.div_ceil(2)),
            _ => (modules.saturating_mul(2), modules),
        }
    }

    /// Renders with the theme's black and white.
    pub fn widget<'a>(&'a self, theme: &Theme) -> QrWidget<'a> {
        let mut style = Style::new();
        if let Some(c) = theme.qr_dark {
            style = style.fg(c);
        }
        if let Some(c) = theme.qr_light {
            style = style.bg(c);
        }
        if theme.qr_reverse {
            style = style.add_modifier(ratatui::style::Modifier::REVERSED);
        }
        QrWidget { qr: self, style }
    }
}

/// A [`Qr`] bound to its colours.
pub struct QrWidget<'a> {
    qr: &'a Qr,
    style: Style,
}

impl Widget for QrWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let width = self.qr.code.width();
        let quiet = self.qr.quiet;
        let colors = self.qr.code.to_colors();
        let dark = |x: usize, y: usize| {
            let (Some(x), Some(y)) = (x.checked_sub(quiet), y.checked_sub(quiet)) else {
                return false;
            };
            x < width && y < width && colors[y * width + x] == qrcode::Color::Dark
        };
        let (cols, rows) = self.qr.size();
        let double = self.qr.scale == 2;
        for row in 0..rows.min(area.height) {
            for col in 0..cols.min(area.width) {
                // At double size a module is two full cells wide and one cell tall.
                let (x, top, bottom) = if double {
                    let (x, y) = (usize::from(col / 2), usize::from(row));
                    (x, y, y)
                } else {
                    let y = 2 * usize::from(row);
                    (usize::from(col), y, y + 1)
                };
                let symbol = match (dark(x, top), dark(x, bottom)) {
                    (true, true) => "█",
                    (true, false) => "▀",
                    (false, true) => "▄",
                    (false, false) => " ",
                };
                buf[(area.x + col, area.y + row)]
                    .set_symbol(symbol)
                    .set_style(self.style);
            }
        }
    }
}

/// How a QR code printed as text (plain mode, on stderr) keeps its polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPolarity {
    /// Explicit black on white (the colour cube's fixed 16 and 231).
    Colors,
    /// NO_COLOR on a dark background: reverse video.
    Reverse,
    /// NO_COLOR on a light background: the glyphs as they are.
    Plain,
}

/// `data` as lines of half-block text with a 2-module quiet zone, dark modules as ink,
/// for a terminal (the escapes keep dark modules dark on a light quiet zone); `None` if it
/// cannot be encoded.
pub fn text_lines(data: &str, polarity: TextPolarity) -> Option<Vec<String>> {
    let code = Qr::encode(data)?;
    let width = code.width();
    let quiet = 2;
    let colors = code.to_colors();
    let dark = |x: usize, y: usize| {
        let (Some(x), Some(y)) = (x.checked_sub(quiet), y.checked_sub(quiet)) else {
            return false;
        };
        x < width && y < width && colors[y * width + x] == qrcode::Color::Dark
    };
    let (on, off) = match polarity {
        TextPolarity::Colors => ("\x1b[38;5;16;48;5;231m", "\x1b[0m"),
        TextPolarity::Reverse => ("\x1b[7m", "\x1b[27m"),
        TextPolarity::Plain => ("", ""),
    };
    let modules = width + 2 * quiet;
    Some(
        (0..modules.div_ceil(2))
            .map(|row| {
                let glyphs: String = (0..modules)
                    .map(|x| match (dark(x, 2 * row), dark(x, 2 * row + 1)) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    })
                    .collect();
                format!("{on}{glyphs}{off}")
            })
            .collect(),
    )
}
