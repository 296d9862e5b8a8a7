//! The dashboard, `tvlogin` with no arguments: every stored profile with a status badge and
//! live countdowns, renewing access tokens shortly before they expire, and the inspector,
//! the login screen, logout and copy one key away. The model and its pure `update` live in
//! [`model`], the view in [`view`], the screen the terminal loop runs (and that carries out
//! the effects) in [`screen`]; [`tabs`] reads a stored profile into inspector tabs.

pub mod model;
pub mod screen;
pub mod tabs;
pub mod view;

pub use model::*;
