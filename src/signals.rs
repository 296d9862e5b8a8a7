//! The one way tvlogin listens for signals from outside (`kill`, a closing terminal, the
//! shell's job control): the terminal runtime, the critical sections that finish a refresh
//! before obeying, and the commands that stop on Ctrl-C all use [`Listener`].
//!
//! Each signal has a task of its own that forwards every arrival into one channel, so none is
//! missed between two waits of the listener's owner, whatever else that owner's `select!`
//! was doing. Dropping the listener stops the tasks; tokio keeps its process-wide handler
//! installed, so a signal arriving after that is swallowed rather than killing the process
//! with its default action — the owner decides when it has stopped caring.

/// Hang-up: the terminal closed.
pub const HUP: i32 = 1;
/// Interrupt (Ctrl-C outside raw mode).
pub const INT: i32 = 2;
/// Quit (Ctrl-\ outside raw mode).
pub const QUIT: i32 = 3;
/// Terminate: `kill`'s default.
pub const TERM: i32 = 15;
/// Stop from the terminal (Ctrl-Z outside raw mode); its number differs between systems.
#[cfg(unix)]
pub const TSTP: i32 = rustix::process::Signal::TSTP.as_raw();
/// Continue after a stop; its number differs between systems.
#[cfg(unix)]
pub const CONT: i32 = rustix::process::Signal::CONT.as_raw();

/// The signals that ask a command to stop: Ctrl-C, SIGTERM and SIGHUP.
pub const STOP: [i32; 3] = [INT, TERM, HUP];

/// Listens for some signals from the moment it is made until it is dropped.
#[derive(Debug)]
pub struct Listener {
    arrivals: tokio::sync::mpsc::UnboundedReceiver<i32>,
    forwarders: Vec<tokio::task::JoinHandle<()>>,
}

impl Listener {
    /// Starts listening for `signals` (by number). Signals that cannot be listened for on this
    /// system are left out; elsewhere than Unix only Ctrl-C ([`INT`]) can be. Needs a tokio
    /// runtime.
    pub fn new(signals: &[i32]) -> Self {
        let (tx, arrivals) = tokio::sync::mpsc::unbounded_channel();
        let mut forwarders = Vec::new();
        #[cfg(unix)]
        for &n in signals {
            use tokio::signal::unix::{SignalKind, signal};
            // Registered here, before the owner's work starts.
            let Ok(mut stream) = signal(SignalKind::from_raw(n)) else {
                continue;
            };
            let tx = tx.clone();
            forwarders.push(tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    if tx.send(n).is_err() {
                        return;
                    }
                }
            }));
        }
        #[cfg(not(unix))]
        if signals.contains(&INT) {
            forwarders.push(tokio::spawn(async move {
                while tokio::signal::ctrl_c().await.is_ok() {
                    if tx.send(INT).is_err() {
                        return;
                    }
                }
            }));
        }
        Self {
            arrivals,
            forwarders,
        }
    }

    /// The next signal's number, in the order they arrived. Never resolves when none of the
    /// signals could be listened for.
    pub async fn recv(&mut self) -> i32 {
        match self.arrivals.recv().await {
            Some(n) => n,
            None => std::future::pending().await,
        }
    }

    /// The arrivals as a stream.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = i32> + Unpin + Send {
        Box::pin(futures_util::stream::unfold(
            self,
            |mut listener| async move {
                let n = listener.recv().await;
                Some((n, listener))
            },
        ))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for forwarder in &self.forwarders {
            forwarder.abort();
        }
    }
}

/// Resolves at the first Ctrl-C, SIGTERM or SIGHUP from now on.
pub async fn stop_requested() {
    Listener::new(&STOP).recv().await;
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_numbers_are_the_systems() {
        use rustix::process::Signal as S;
        for (ours, theirs) in [
            (HUP, S::HUP),
            (INT, S::INT),
            (QUIT, S::QUIT),
            (TERM, S::TERM),
        ] {
            assert_eq!(ours, theirs.as_raw(), "{theirs:?}");
        }
    }

    /// Every arrival reaches the owner, in order, even when it was not waiting.
    #[tokio::test]
    async fn arrivals_are_kept_until_asked_for() {
        // SIGCONT: harmless to send to ourselves (its default action is to continue).
        let mut listener = Listener::new(&[CONT]);
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::CONT)
            .expect("send SIGCONT");
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
            .await
            .expect("the signal arrives");
        assert_eq!(got, CONT);
    }
}
