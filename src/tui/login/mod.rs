//! The login screen (the device flow on a terminal), in the rooms every screen has: the model
//! ([`model`], with its messages in [`msg`]), the pure [`update()`], the key table ([`keys`]:
//! hints, help and key handling all read it), the views ([`view`], and its screens), and the
//! screen the terminal loop runs ([`screen`]) with the executor that does its IO
//! ([`executor`]).

pub mod executor;
pub mod keys;
pub mod model;
pub mod msg;
pub mod screen;
pub(crate) mod screens;
pub mod update;
pub mod view;

pub use crate::qr::QrMatrix;
pub use model::*;
pub use msg::{Effect, Msg};
pub use update::update;
