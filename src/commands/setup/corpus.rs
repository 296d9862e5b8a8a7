//! The round-trip corpus (filled below).
