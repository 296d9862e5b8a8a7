//! `tvlogin` with no command: the dashboard on a terminal, the `status` table otherwise (so
//! scripts and pipes get text, not escape sequences).

use crate::cli::StatusArgs;
use crate::clock::UnixTime;
use crate::error::Error;
use crate::exit::Exit;
use crate::session;
use crate::token::time::local_offset;
use crate::tui;
use crate::tui::dashboard::{self, Dashboard};
use crate::tui::theme::color_mode;

/// Runs the dashboard.
pub async fn dashboard() -> Result<Exit, Error> {
    if !tui::tui_possible() {
        return super::status(StatusArgs { json: false }).await;
    }
    let ctx = session::Context::from_env()?;
    let now = UnixTime::now();
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        // Asked now, before the TUI reads keys, for the login screens it may show.
        tui::dark_background();
    }
    let model = Dashboard::new(
        dashboard::Context {
            colors: color_mode(
                std::env::var("NO_COLOR").ok().as_deref(),
                std::env::var("COLORTERM").ok().as_deref(),
            ),
            config_path: ctx.paths.config_file().display().to_string(),
            offset: local_offset(now.secs()),
        },
        now,
    );
    dashboard::screen::run(model, ctx).await
}
