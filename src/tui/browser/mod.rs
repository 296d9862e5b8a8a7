//! The browser-login screen (`login --flow browser`, or what `auto` picks here): the
//! authorization URL, `c`/`u` to copy it, what is being waited for, a countdown, `q` to
//! cancel. The same rooms as the other screens: the model ([`model`]), the pure
//! [`update()`], the key table ([`keys`]), the view ([`view`]) and the screen the terminal
//! loop runs ([`screen`]), whose one task drives the login (`crate::login::BrowserLogin`)
//! and stores the tokens.

pub mod keys;
pub mod model;
pub mod screen;
pub mod update;
pub mod view;

pub use model::*;
pub use update::update;
