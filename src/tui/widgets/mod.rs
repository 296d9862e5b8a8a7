//! Widgets every screen may draw: the QR code ([`qr`]), the block-letter code ([`bigtext`]),
//! a progress gauge and a centred box.

pub mod bigtext;
pub mod qr;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

/// A bar of `width` cells, `fraction` of it filled.
pub fn gauge(fraction: f64, width: u16, theme: &Theme) -> Line<'static> {
    let width = usize::from(width);
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    Line::from(vec![
        Span::styled("━".repeat(filled), theme.gauge),
        Span::styled("─".repeat(width - filled), theme.dim),
    ])
}

/// A box of `width` × `height` cells in the middle of `area`, clipped to it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width: width.min(area.width),
        height: height.min(area.height),
    }
}
