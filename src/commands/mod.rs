//! The subcommands: each turns its parsed flags into work and an exit code.

mod api;
mod dashboard;
mod demo;
mod docs;
mod doctor;
mod inspect;
mod login;
mod logout;
mod refresh;
mod serve;
mod status;
mod token;

// Tokens where people use them (git, kubectl, docker, exec) and their setup.
mod docker_credential;
mod exec;
mod git_credential;
mod helper;
mod kubectl_credential;
mod places;
mod setup;

pub use crate::session::{ProfileStatus, collect};
pub use api::api;
pub use dashboard::dashboard;
pub use demo::demo;
pub use docs::{completions, man};
pub use doctor::doctor;
pub use inspect::{
    Lookups, inspect, inspect_needs_no_runtime, inspect_without_runtime, inspector_tabs,
};
pub use login::{login, screen_parts};
pub use logout::logout;
pub use refresh::refresh;
pub use serve::serve;
pub use status::status;
/// The plain `status` table (for its snapshot).
pub use status::table as status_table;
pub use token::token;

pub use docker_credential::docker_credential;
pub use exec::exec;
pub use git_credential::git_credential;
pub use kubectl_credential::kubectl_credential;
pub use setup::setup;
