//! The inspector screen: tabs of reports (a token, userinfo, introspection), a claims table
//! with live countdowns, verification results, a raw view with coloured segments, and secrets
//! hidden until asked for. The rooms: [`model`], the pure [`update()`], the key table
//! ([`keys`]), the [`view`], and the [`screen`] the terminal loop runs.

pub mod keys;
pub mod model;
pub mod screen;
pub mod update;
pub mod view;

pub use model::*;
pub use update::update;
