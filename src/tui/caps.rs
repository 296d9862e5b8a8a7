//! What this terminal can do, read in one place: whether a full-screen UI is possible at all
//! (both ends terminals, not `TERM=dumb`), the colours allowed (`NO_COLOR` wins, then
//! `COLORTERM`), whether the background is dark (asked once, only where it matters), and
//! whether OSC 8 hyperlinks are safe. Every screen and the plain login read these, never the
//! variables themselves.

use std::io::IsTerminal;

/// How colours may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// `NO_COLOR` is set: no colours, only shapes and bold/underline (the terminal's
    /// background is light, or this is not a terminal: text drawn as is).
    None,
    /// `NO_COLOR` is set and the terminal's background is dark (or did not say): the QR code
    /// is drawn in reverse video, so its dark modules still come out dark on light.
    NoneOnDark,
    /// The 256-colour palette.
    Ansi256,
    /// 24-bit colour (`COLORTERM=truecolor|24bit`).
    TrueColor,
}

/// The colour mode for an environment: `NO_COLOR` (any value) wins, then `COLORTERM`.
pub fn color_mode(no_color: Option<&str>, colorterm: Option<&str>) -> ColorMode {
    if no_color.is_some_and(|v| !v.is_empty()) {
        ColorMode::None
    } else if colorterm
        .is_some_and(|v| v.eq_ignore_ascii_case("truecolor") || v.eq_ignore_ascii_case("24bit"))
    {
        ColorMode::TrueColor
    } else {
        ColorMode::Ansi256
    }
}

/// The colour mode of this process's environment.
pub fn colors() -> ColorMode {
    color_mode(
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("COLORTERM").ok().as_deref(),
    )
}

/// [`colors`], and under `NO_COLOR` whether the background is dark (the QR code is then
/// drawn in reverse video so its dark modules still come out dark).
pub fn colors_for_background() -> ColorMode {
    match colors() {
        ColorMode::None if dark_background() => ColorMode::NoneOnDark,
        mode => mode,
    }
}

/// Whether `NO_COLOR` asks for no colours (set and not empty).
pub fn no_color() -> bool {
    colors() == ColorMode::None
}

/// Whether the terminal says it can do nothing but print (`TERM=dumb`).
pub fn dumb() -> bool {
    std::env::var("TERM").is_ok_and(|t| t == "dumb")
}

/// Whether OSC 8 hyperlinks can be sent: not to the Linux console or a dumb terminal, which
/// would print the escape.
pub fn hyperlinks() -> bool {
    !matches!(
        std::env::var("TERM").ok().as_deref(),
        Some("linux" | "dumb")
    )
}

/// Whether this process can show the TUI: both ends are terminals and the terminal is not
/// `dumb`.
pub fn tui_possible() -> bool {
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal() && !dumb()
}

/// Whether output can be a TUI when the input was piped in: stdout is a terminal and the
/// terminal is not `dumb` (keys are then read from the controlling terminal).
pub fn tui_output_possible() -> bool {
    std::io::stdout().is_terminal() && !dumb()
}

/// Whether the terminal's background is dark, asked once (OSC 11, answered within 200 ms
/// or taken as dark, the default of most terminals). Only asked under NO_COLOR, before the
/// TUI reads keys; the dashboard asks at start so its login screens use the answer.
pub fn dark_background() -> bool {
    static DARK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DARK.get_or_init(|| {
        let mut options = terminal_colorsaurus::QueryOptions::default();
        options.timeout = std::time::Duration::from_millis(200);
        !matches!(
            terminal_colorsaurus::theme_mode(options),
            Ok(terminal_colorsaurus::ThemeMode::Light)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_decides_colours() {
        assert_eq!(color_mode(Some("1"), Some("truecolor")), ColorMode::None);
        assert_eq!(color_mode(Some(""), Some("24bit")), ColorMode::TrueColor);
        assert_eq!(color_mode(None, Some("TrueColor")), ColorMode::TrueColor);
        assert_eq!(color_mode(None, None), ColorMode::Ansi256);
    }
}
