//! `tvlogin` with no command: the dashboard on a terminal, the `status` table otherwise (so
//! scripts and pipes get text, not escape sequences).

use crate::cli::StatusArgs;
use crate::clock::UnixTime;
use crate::dashboard::{self, Dashboard};
use crate::error::Error;
use crate::exit::Exit;
use crate::runtime;
use crate::session;
use crate::token::time::local_offset;
use crate::ui::theme::color_mode;

/// Runs the dashboard.
pub async fn dashboard() -> Result<Exit, Error> {
    if !runtime::tui_possible() {
        return super::status(StatusArgs { json: false }).await;
    }
    let ctx = session::Context::from_env()?;
    let now = UnixTime::now();
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        // Asked now, before the TUI reads keys, for the login screens it may show.
        runtime::dark_background();
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
    dashboard::run::run(model, ctx).await
}
