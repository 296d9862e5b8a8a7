//! The critical section of a session: from the moment a refresh request is sent until the new
//! refresh token is durably stored (and likewise a login's save and a logout's steps).
//!
//! A server that rotates refresh tokens retires the old one when it answers. A process that
//! dies while that answer is on its way has lost the session. So inside a section SIGINT,
//! SIGTERM and SIGHUP do not end the process: they are noted, the work runs to its end (its
//! own request timeout bounds it), and then the command exits with 128 + the signal's number.
//!
//! - The first signal is announced on stderr: tvlogin is finishing, and how long that takes
//!   at most.
//! - A second Ctrl-C says what abandoning would cost, and that one more abandons.
//! - A third Ctrl-C abandons: the process exits 130 at once (the person was told the cost).
//!
//! [`protect`] runs the work on a task of its own, so a caller that stops waiting (a
//! dashboard quitting, a `select!` taking another branch) does not cancel it; [`settle`]
//! waits for every section still running before the process exits (`lib::run` calls it), and
//! [`interrupted`] says which signal, if any, arrived meanwhile. [`shield`] does the same for
//! work that borrows from its caller and so runs in place.
//!
//! Once a section has listened for these signals their default action (ending the process)
//! stays replaced for the rest of the process: a one-shot command finishes its short work
//! and `lib::run` exits with the noted signal's code; long-running callers (the dashboard,
//! `login`) listen for the signals themselves.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::Error;
use crate::signals;

/// The first signal noted during a section, 0 when none.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// Sections running now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

fn idle() -> &'static Notify {
    static IDLE: OnceLock<Notify> = OnceLock::new();
    IDLE.get_or_init(Notify::new)
}

/// The signal that arrived during a section (its number: 2, 15, 1), if one did.
pub fn interrupted() -> Option<u8> {
    u8::try_from(PENDING.load(Ordering::SeqCst))
        .ok()
        .filter(|n| *n > 0)
}

/// Sections running now.
pub fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Waits until no section runs, at most `limit`. Returns whether none does.
pub async fn settle(limit: Duration) -> bool {
    let wait = async {
        loop {
            let notified = idle().notified();
            if running() == 0 {
                return;
            }
            notified.await;
        }
    };
    tokio::time::timeout(limit, wait).await.is_ok()
}

/// Counts a section from creation to drop.
struct Running;

impl Running {
    fn start() -> Self {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        idle().notify_waiters();
    }
}

/// What a section is doing, for the messages a signal prints.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// "refreshing profile work's tokens".
    pub doing: &'static str,
    /// What abandoning costs, one sentence.
    pub cost: &'static str,
    /// At most how long it still takes.
    pub bound: Duration,
}

/// The section of a refresh.
pub const REFRESH: Section = Section {
    doing: "the refresh in progress",
    cost: "the server may already have replaced the refresh token, so abandoning now can end \
           the session and you would have to log in again",
    bound: Duration::from_secs(30),
};

/// The section of a login's save.
pub const LOGIN_SAVE: Section = Section {
    doing: "storing the new session",
    cost: "the server has issued the tokens; abandoning now loses them and the login has to \
           be done again",
    bound: Duration::from_secs(10),
};

/// The section of a logout.
pub const LOGOUT: Section = Section {
    doing: "the logout",
    cost: "abandoning now may leave a live refresh token at the server or a revoked one in \
           the store",
    bound: Duration::from_secs(30),
};

/// Runs `work` to its end on a task of its own, with SIGINT, SIGTERM and SIGHUP noted instead
/// of obeyed (see the module header). A caller that stops waiting does not stop `work`.
pub async fn protect<T: Send + 'static>(
    section: Section,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, Error> {
    let mut signals = Signals::listen();
    let running = Running::start();
    let mut task = tokio::spawn(async move {
        let out = work.await;
        drop(running);
        out
    });
    loop {
        tokio::select! {
            biased;
            done = &mut task => {
                return done.map_err(|e| Error::Other(format!("{} did not finish: {e}", section.doing)));
            }
            n = signals.next() => signals.noted(n, &section),
        }
    }
}

/// [`protect`] for work that borrows from its caller: it runs in place, so it ends if the
/// caller drops it, but signals are noted instead of obeyed while it runs.
pub async fn shield<T>(section: Section, work: impl Future<Output = T>) -> T {
    let mut signals = Signals::listen();
    let _running = Running::start();
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            out = &mut work => return out,
            n = signals.next() => signals.noted(n, &section),
        }
    }
}

/// The three stop signals, listened for while a section runs ([`signals::Listener`] keeps
/// every arrival), and how many Ctrl-Cs came.
struct Signals {
    listener: signals::Listener,
    interrupts: u32,
}

impl Signals {
    fn listen() -> Self {
        Self {
            listener: signals::Listener::new(&signals::STOP),
            interrupts: 0,
        }
    }

    /// The next signal's number (never resolves when none can be listened for).
    async fn next(&mut self) -> i32 {
        self.listener.recv().await
    }

    fn noted(&mut self, n: i32, section: &Section) {
        let first = PENDING
            .compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        let name = match n {
            signals::INT => "Ctrl-C",
            signals::TERM => "SIGTERM",
            signals::HUP => "SIGHUP",
            _ => "a signal",
        };
        if n == signals::INT {
            self.interrupts += 1;
        }
        if self.interrupts >= 3 {
            eprintln!("tvlogin: abandoned {} at the third Ctrl-C.", section.doing);
            std::process::exit(130);
        } else if n == signals::INT && self.interrupts == 2 {
            eprintln!(
                "tvlogin: still finishing {}: {}. Press Ctrl-C once more to abandon it anyway; \
                 otherwise tvlogin exits as soon as it is done (at most {}s).",
                section.doing,
                section.cost,
                section.bound.as_secs()
            );
        } else if first {
            eprintln!(
                "tvlogin: {name} received; finishing {} first (at most {}s), then exiting{}.",
                section.doing,
                section.bound.as_secs(),
                if n == signals::INT {
                    " (Ctrl-C again to see what stopping now would cost)"
                } else {
                    ""
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn protected_work_outlives_a_caller_that_gives_up() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let work = async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = tx.send("stored");
        };
        // The caller stops waiting after 20 ms…
        let gave_up = tokio::time::timeout(Duration::from_millis(20), protect(REFRESH, work)).await;
        assert!(gave_up.is_err());
        // …but the work runs to its end, and settle waits for it.
        assert!(settle(Duration::from_secs(5)).await);
        assert_eq!(rx.await.ok(), Some("stored"));
    }
}
