//! The end-to-end, CLI, PTY, snapshot and real-tool tests of tvlogin, as one test binary:
//! one link of the whole program instead of one per file. Each file is a module named for
//! what it tests; `common` holds the fixtures they share (the private home, the embedded
//! server, canned providers, the PTY and screen helpers, the real Secret Service and browser),
//! and `skip` is the one way a test says it cannot run here (a failure under
//! `TVLOGIN_REQUIRE_REAL_PARTS=1`).
//!
//! `tests/store_keyring.rs` stays a binary of its own: it installs a process-wide default
//! keyring store.
// Helpers outside #[test] functions use `expect` too: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;
mod resource_server;

mod assets;
mod browser;
mod browser_env;
mod browser_login;
mod cli;
mod dashboard;
mod dashboard_e2e;
mod dpop;
mod faults;
mod hostile_output;
mod inspect;
mod inspector;
mod integrations;
mod integrations_login;
mod keyring_real;
mod login_e2e;
mod poll_timing;
mod pty;
mod refresh;
mod runtime;
mod sessions;
mod store_file;
mod token_refresh;
mod tui;
mod verdict_fuzz;
