//! The inspector screen: tabs of reports (a token, userinfo, introspection), a claims table
//! with live countdowns, verification results, a raw view with coloured segments, and secrets
//! hidden until asked for. The model and its pure `update` live in [`model`], the view in
//! [`view`], the screen the terminal loop runs in [`screen`].

pub mod model;
pub mod screen;
pub mod view;

pub use model::*;
