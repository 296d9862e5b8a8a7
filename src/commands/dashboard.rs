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

/// Runs the dashboard.
pub async fn dashboard() -> Result<Exit, Error> {
    if !tui::caps::tui_possible() {
        return super::status(StatusArgs { json: false }).await;
    }
    let ctx = session::Context::from_env()?;
    let now = UnixTime::now();
    if tui::caps::no_color() {
        // Asked now, before the TUI reads keys, for the login screens it may show.
        tui::caps::dark_background();
    }
    let model = Dashboard::new(
        dashboard::Context {
            colors: tui::caps::colors(),
            config_path: ctx.paths.config_file().display().to_string(),
            offset: local_offset(now.secs()),
        },
        now,
    );
    dashboard::screen::run(model, ctx).await
}
