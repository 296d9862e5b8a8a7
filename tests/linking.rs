//! How the binaries are linked (build.rs): on x86-64 Linux (glibc), GCC's unwinder is linked
//! in, so a tvlogin process loads no `libgcc_s.so.1` (one shared library and one start-up CPU
//! probe fewer on every run), and panics still unwind: drops run, backtraces are taken,
//! threads' panics reach `join`.
#![cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The shipped binary's process, caught while it waits for a token on stdin: every shared
/// library it needs is mapped by then (ld.so maps them all before `main`), libgcc_s not
/// among them.
#[test]
fn the_binary_loads_no_libgcc_s() {
    assert_eq!(
        env!("TVLOGIN_UNWINDER"),
        "static",
        "build.rs linked libgcc_s.so.1 (could `cc -print-file-name=libgcc_eh.a` find it?)"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_tvlogin"))
        .args(["inspect", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tvlogin inspect");
    let maps_path = format!("/proc/{}/maps", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let maps = loop {
        let maps = std::fs::read_to_string(&maps_path).unwrap_or_default();
        if maps.contains("libc.so") || Instant::now() > deadline {
            break maps;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(child.stdin.take());
    let status = child.wait().expect("wait for tvlogin");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert!(maps.contains("libc.so"), "libc never appeared in:\n{maps}");
    assert!(!maps.contains("libgcc_s"), "libgcc_s is loaded:\n{maps}");
    // No token on stdin: a usage error, not a crash.
    assert_eq!(status.code(), Some(2), "{stderr}");
}

/// This test binary is linked the same way; a panic unwinds through it as it always did.
#[test]
fn panics_unwind_with_the_static_unwinder() {
    assert!(
        !std::fs::read_to_string("/proc/self/maps")
            .expect("read /proc/self/maps")
            .contains("libgcc_s"),
        "this test binary loaded libgcc_s"
    );
    struct Guard<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn deep(n: u32) -> u32 {
        if n == 0 {
            std::panic::panic_any("the bottom")
        } else {
            deep(n - 1) + 1
        }
    }
    let dropped = std::sync::atomic::AtomicBool::new(false);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = Guard(&dropped);
        deep(std::hint::black_box(20))
    }));
    assert!(caught.is_err(), "the panic was not caught");
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "no drop ran"
    );
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    assert!(
        trace.contains("panics_unwind_with_the_static_unwinder"),
        "the backtrace does not name this test:\n{trace}"
    );
    let thread = std::thread::spawn(|| std::panic::panic_any("in a thread"));
    assert!(
        thread.join().is_err(),
        "the thread's panic did not reach join"
    );
}
