//! The dashboard, `tvlogin` with no arguments: every stored profile with a status badge and
//! live countdowns, renewing access tokens shortly before they expire, and the inspector,
//! the login screen, logout and copy one key away. The rooms: [`model`], the pure
//! [`update()`], the key table ([`keys`]), the [`view`], and the [`screen`] the terminal loop
//! runs (which carries out the effects); [`tabs`] reads a stored profile into inspector tabs;
//! [`new_profile`] is `n`'s form and its config.toml edit.

pub mod keys;
pub mod model;
pub mod new_profile;
pub mod screen;
pub mod tabs;
pub mod update;
pub mod view;

pub use model::*;
pub use update::update;
