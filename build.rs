//! How the binaries are linked on x86-64 Linux (glibc), built there for there with the
//! default linker. A short-lived process pays for every shared library it loads and every
//! page of the binary it touches, and tvlogin runs as one: `inspect` is benchmarked against
//! jwt-cli (`scripts/bench-inspect.sh`), and git, kubectl and docker start tvlogin's
//! credential helpers on every command.
//!
//! - GCC's unwinder is linked statically, as `-static-libgcc` does, in every profile (so the
//!   tests, whose failures unwind, run with it): the process loads no `libgcc_s.so.1`, and
//!   that library's start-up CPU probe (`cpuid`, slow under virtualization) never runs.
//! - Release builds linked by rustc's own lld (the default since Rust 1.90) fold identical
//!   functions (`--icf=safe`), keep cold code apart (`-z keep-text-section-prefix`), and place
//!   the functions the one-shot commands run side by side (`scripts/startup-order.txt`, made
//!   by `scripts/startup-order.py`): `inspect` touched 31 separate 64 KiB stretches of the
//!   code, spread over 7 MB, and now touches 13, as many as jwt-cli.
//!
//! Anywhere else (other targets, cross builds, a configured linker, older compilers, a source
//! package without the order file) nothing is changed. None of this changes what the code
//! does: a stale order file only places less of it.

use std::env;
use std::path::Path;
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-gnu";

fn main() {
    println!("cargo:rerun-if-changed=scripts/startup-order.txt");
    println!("cargo:rerun-if-env-changed=TVLOGIN_LINK_MAP");
    // tests/linking.rs holds the binaries to what was done here.
    let unwinder = if default_native_link() && static_unwinder() {
        "static"
    } else {
        "shared"
    };
    println!("cargo:rustc-env=TVLOGIN_UNWINDER={unwinder}");
    if !default_native_link() {
        return;
    }
    if var("PROFILE") == "release" && rustc_at_least(1, 90) {
        release_layout();
    }
}

fn var(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

/// A build on x86-64 Linux (glibc) for itself, with no linker or linker flavour configured.
fn default_native_link() -> bool {
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    var("TARGET") == TARGET
        && var("HOST") == TARGET
        && env::var_os("RUSTC_LINKER").is_none()
        && !["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|f| flags.contains(f))
}

/// rustc asks for `-lgcc_s`; a linker script of that name, found first, hands the linker
/// `libgcc_eh.a` and `libgcc.a` instead (GCC's own `libgcc_s.so` is such a script). Skipped
/// when the C compiler cannot name both archives. Returns whether it was done.
fn static_unwinder() -> bool {
    let archive = |name: &str| -> Option<String> {
        let out = Command::new("cc")
            .arg(format!("-print-file-name={name}"))
            .output()
            .ok()?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (Path::new(&path).is_absolute() && Path::new(&path).is_file()).then_some(path)
    };
    let (Some(eh), Some(gcc)) = (archive("libgcc_eh.a"), archive("libgcc.a")) else {
        return false;
    };
    let dir = Path::new(&var("OUT_DIR")).join("static-libgcc");
    let script = format!(
        "/* tvlogin's build.rs: the unwinder, linked statically */\nGROUP ( {eh} {gcc} )\n"
    );
    let written = std::fs::create_dir_all(&dir).is_ok()
        && std::fs::write(dir.join("libgcc_s.so"), script).is_ok();
    if written {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    written
}

/// Code layout for lld: folding, cold code apart, the start-up order.
fn release_layout() {
    for arg in ["--icf=safe", "-z", "keep-text-section-prefix"] {
        println!("cargo:rustc-link-arg-bins=-Wl,{arg}");
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("startup-order.txt");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names this build does not have (the file is made from one build) are skipped; the
        // linker would otherwise warn about each.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    // scripts/startup-order.py reads the link map to name the functions a run entered.
    if let Ok(map) = env::var("TVLOGIN_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

/// Whether the compiler is at least `major.minor` (`rustc -vV` says `release: 1.95.0`).
fn rustc_at_least(major: u32, minor: u32) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-vV").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let release = text
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or_default();
    let mut parts = release
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}
