//! Tests of real parts (a Secret Service, a browser) where a part cannot be had: they say so
//! where `cargo test` shows it, never pass silently, and fail outright where CI promised the
//! parts (`TVLOGIN_REQUIRE_REAL_PARTS`, set by .ci/run once it has installed them).

use std::io::Write as _;

/// A test that cannot run here: says so on the terminal (past the test harness's capture) and
/// returns, or fails when `TVLOGIN_REQUIRE_REAL_PARTS` is set.
pub fn skip_or_fail(test: &str, reason: &str) {
    if std::env::var_os("TVLOGIN_REQUIRE_REAL_PARTS").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: {reason} (TVLOGIN_REQUIRE_REAL_PARTS is set, so this is a failure)");
    }
    // Straight to the process's stderr: `eprintln!` would be captured and hidden for a test
    // that passes.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Prints a note where `cargo test` shows it (a part of a test that does not apply here).
pub fn note(test: &str, text: &str) {
    let _ = writeln!(std::io::stderr(), "NOTE {test}: {text}");
}
