//! The subcommands: each turns its parsed flags into work and an exit code.

mod demo;
mod login;
mod serve;

pub use demo::demo;
pub use login::login;
pub use serve::serve;

/// Resolves on Ctrl-C, and on SIGTERM or SIGHUP where those exist.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = signal(SignalKind::hangup()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            Some(()) = async { term.as_mut()?.recv().await } => {}
            Some(()) = async { hup.as_mut()?.recv().await } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
