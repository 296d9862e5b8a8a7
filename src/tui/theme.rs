//! Colours by role. A small palette of ANSI roles (no hard-coded white text), collapsed to
//! plain attributes under `NO_COLOR`, with the QR code's black and white chosen per terminal.

use ratatui::style::{Color, Modifier, Style};

use crate::tui::caps::ColorMode;

/// Styles by what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// The title bar.
    pub title: Style,
    /// Secondary text.
    pub dim: Style,
    /// Key names in hints.
    pub key: Style,
    /// The verification URL.
    pub url: Style,
    /// The user code.
    pub code: Style,
    /// Success.
    pub ok: Style,
    /// Warnings (slow_down, retries, expiring).
    pub warn: Style,
    /// Errors.
    pub error: Style,
    /// The filled part of a gauge.
    pub gauge: Style,
    /// QR dark modules (`None` under NO_COLOR: shapes only).
    pub qr_dark: Option<Color>,
    /// QR light modules and quiet zone.
    pub qr_light: Option<Color>,
    /// Draw the QR code in reverse video (NO_COLOR on a dark background: the glyphs' ink,
    /// the dark modules, takes the background's dark colour, the rest the text's light one).
    pub qr_reverse: bool,
}

impl Theme {
    /// The theme for a colour capability.
    pub fn new(colors: ColorMode) -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        match colors {
            ColorMode::None | ColorMode::NoneOnDark => Self {
                title: bold,
                dim: Style::new(),
                key: bold,
                url: Style::new().add_modifier(Modifier::UNDERLINED),
                code: bold,
                ok: bold,
                warn: bold,
                error: bold,
                gauge: Style::new(),
                qr_dark: None,
                qr_light: None,
                qr_reverse: colors == ColorMode::NoneOnDark,
            },
            ColorMode::Ansi256 | ColorMode::TrueColor => {
                // Indexed 16 and 231 are the colour cube's fixed black and white, which themes
                // do not remap (unlike ANSI 0 and 7): the QR keeps its polarity everywhere.
                let (black, white) = if colors == ColorMode::TrueColor {
                    (Color::Rgb(0, 0, 0), Color::Rgb(255, 255, 255))
                } else {
                    (Color::Indexed(16), Color::Indexed(231))
                };
                Self {
                    title: bold.fg(Color::Cyan),
                    dim: Style::new().fg(Color::DarkGray),
                    key: bold.fg(Color::Cyan),
                    url: Style::new()
                        .fg(Color::Cyan)
                        .add_modifier(Modifier::UNDERLINED),
                    code: bold.fg(Color::Yellow),
                    ok: bold.fg(Color::Green),
                    warn: Style::new().fg(Color::Yellow),
                    error: bold.fg(Color::Red),
                    gauge: Style::new().fg(Color::Green),
                    qr_dark: Some(black),
                    qr_light: Some(white),
                    qr_reverse: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_means_no_qr_colours() {
        assert_eq!(Theme::new(ColorMode::None).qr_dark, None);
    }
}
