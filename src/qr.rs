//! The QR code of the verification address, as the model keeps it: encoded once, when the
//! device code arrives (the login screen's update on `Msg::CodeIssued`), and only drawn after that,
//! or written as text lines by the plain login (which is why it lives outside the TUI).
//! The screen redraws every second while the code stays the same for minutes, and encoding
//! is most of a frame's cost, so the view never encodes.

use qrcode::{EcLevel, QrCode};

/// An encoded QR symbol: a square of modules, dark or light.
#[derive(Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl std::fmt::Debug for QrMatrix {
    // The modules spell the address; a count is all a debug line needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrMatrix")
            .field("modules", &self.width)
            .finish()
    }
}

impl QrMatrix {
    /// Encodes `data` with medium error correction unless low gives a smaller symbol (long
    /// URLs); `None` if it cannot be encoded at all (too long).
    pub fn encode(data: &str) -> Option<Self> {
        let medium = QrCode::with_error_correction_level(data, EcLevel::M).ok();
        let low = QrCode::with_error_correction_level(data, EcLevel::L).ok();
        let code = match (medium, low) {
            (Some(m), Some(l)) if l.width() < m.width() => l,
            (Some(m), _) => m,
            (None, l) => l?,
        };
        Some(Self {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Modules per side.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module in column `x`, row `y` is dark; outside the symbol, light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
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
/// cannot be encoded. Plain mode prints it once, so it encodes here.
pub fn text_lines(data: &str, polarity: TextPolarity) -> Option<Vec<String>> {
    let code = QrMatrix::encode(data)?;
    let width = code.width();
    let quiet = 2;
    let dark = |x: usize, y: usize| {
        let (Some(x), Some(y)) = (x.checked_sub(quiet), y.checked_sub(quiet)) else {
            return false;
        };
        code.is_dark(x, y)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_once_with_the_smaller_symbol_and_refuses_what_cannot_fit() {
        let url = "https://login.example.com/device?user_code=WDJB-MJHT";
        let m = QrMatrix::encode(url);
        let width = |ec| QrCode::with_error_correction_level(url, ec).map(|c| c.width());
        let smaller = width(EcLevel::M).ok().zip(width(EcLevel::L).ok());
        assert_eq!(
            m.as_ref().map(QrMatrix::width),
            smaller.map(|(m, l)| m.min(l))
        );
        // Finder pattern corner: dark; outside the symbol: light.
        assert!(m.as_ref().is_some_and(|m| m.is_dark(0, 0)));
        assert!(m.as_ref().is_some_and(|m| !m.is_dark(m.width(), 0)));
        assert_eq!(QrMatrix::encode(&"x".repeat(8000)), None);
        assert!(!format!("{m:?}").contains("WDJB"));
    }
}
