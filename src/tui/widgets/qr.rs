//! The QR code as a widget. One cell holds two modules stacked vertically, drawn with the
//! half-block glyph whose *shape* matches them (` `, `▀`, `▄`, `█`), with explicit black and
//! white colours for polarity. So the code scans on dark and light themes alike, and it can
//! still be decoded from the plain text of the screen (the ink is the dark modules).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use crate::tui::login::QrMatrix;
use crate::tui::theme::Theme;

/// A QR code sized for a place on screen: the model's encoded matrix, borrowed, and how
/// large to draw it. Nothing here encodes.
#[derive(Debug, Clone, Copy)]
pub struct Qr<'a> {
    code: &'a QrMatrix,
    quiet: usize,
    /// 1: two modules per cell (half blocks); 2: one module per two cells (full blocks),
    /// for large screens where a bigger code scans from further away.
    scale: u16,
}

impl<'a> Qr<'a> {
    /// The largest comfortable rendering of `code` that fits in `width` x `height` cells:
    /// double size when there is room, else normal size with a 4-module quiet zone (the
    /// standard's), else 2 (widely tolerated); `None` if nothing fits.
    pub fn fit(code: &'a QrMatrix, width: u16, height: u16) -> Option<Self> {
        [2, 1]
            .into_iter()
            .find_map(|scale| Self::fit_at(code, scale, width, height))
    }

    /// The rendering of `code` at `scale` (1: half blocks, 2: double size) that fits in
    /// `width` x `height` cells, with the standard 4-module quiet zone when there is room,
    /// else 2 (widely tolerated); `None` if neither fits.
    pub fn fit_at(code: &'a QrMatrix, scale: u16, width: u16, height: u16) -> Option<Self> {
        [4, 2]
            .into_iter()
            .map(|quiet| Self { code, quiet, scale })
            .find(|qr| {
                let (w, h) = qr.size();
                w <= width && h <= height
            })
    }

    /// 1: two modules per cell; 2: double size.
    pub fn scale(&self) -> u16 {
        self.scale
    }

    /// The cells needed at the smallest rendering, for "enlarge to" messages.
    pub fn min_size(code: &'a QrMatrix) -> (u16, u16) {
        Self {
            code,
            quiet: 2,
            scale: 1,
        }
        .size()
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
    pub fn widget(&self, theme: &Theme) -> QrWidget<'a> {
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
        QrWidget { qr: *self, style }
    }
}

/// A [`Qr`] bound to its colours.
pub struct QrWidget<'a> {
    qr: Qr<'a>,
    style: Style,
}

impl Widget for QrWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (code, quiet) = (self.qr.code, self.qr.quiet);
        let dark = |x: usize, y: usize| {
            let (Some(x), Some(y)) = (x.checked_sub(quiet), y.checked_sub(quiet)) else {
                return false;
            };
            code.is_dark(x, y)
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

// Plain mode's QR text lives with the matrix (the plain login output sits below the TUI).
pub use crate::qr::{TextPolarity, text_lines};
