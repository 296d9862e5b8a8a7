//! Widgets every screen may draw: the QR code ([`qr`]) and the block-letter code
//! ([`bigtext`]).

pub mod bigtext;
pub mod qr;
