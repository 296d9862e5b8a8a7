//! Opening the verification page in a browser, with an environment that holds no secret
//! ([`ChildEnv`]). The launcher is started here rather than by the `webbrowser` crate because
//! that crate hands the browser tvlogin's whole environment, client secret included.
//!
//! Which launcher: `$BROWSER` first (a `:`-separated list of commands; `%s` is replaced by the
//! URL, else the URL is appended: the convention of xdg-utils and Python's `webbrowser`), then
//! the platform's opener (`open` on macOS, `xdg-open` elsewhere on Unix, the URL protocol
//! handler on Windows). Only `http` and `https` URLs are opened: the verification URL comes
//! from the server, and `file:` or custom schemes must not reach a launcher.

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use url::Url;

use crate::child_env::ChildEnv;

/// Why opening a browser here would be wrong, from environment variables `var` reads: over
/// SSH it opens on the remote machine, without a display it cannot, and a text browser would
/// fight a terminal UI for the terminal. `None`: a browser can be opened. The `o` key of the
/// login screen and `login --flow auto` use the same rules.
pub fn unavailable_reason(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if var("SSH_CONNECTION").is_some() || var("SSH_TTY").is_some() {
        return Some("this is an SSH session".into());
    }
    if cfg!(all(unix, not(target_os = "macos")))
        && var("DISPLAY").is_none()
        && var("WAYLAND_DISPLAY").is_none()
    {
        return Some("there is no display here".into());
    }
    let text_browsers = ["lynx", "w3m", "links", "elinks", "browsh"];
    if var("BROWSER").is_some_and(|b| text_browsers.iter().any(|t| b.contains(t))) {
        return Some("BROWSER is a text browser".into());
    }
    None
}

/// How long to wait for a launcher to fail before calling the page opened (launchers such as
/// `xdg-open` return at once; a browser started directly keeps running).
const SETTLE: Duration = Duration::from_millis(1500);

/// Opens `url` with this process's environment, filtered by `env`.
pub fn open(url: &Url, env: &ChildEnv) -> Result<(), String> {
    open_from(url, env, std::env::vars_os().collect())
}

/// Opens `url` with the environment `vars` (read for `BROWSER`, then filtered by `env` for
/// the launcher). Blocks for up to a second and a half: call it off the async runtime.
pub fn open_from(url: &Url, env: &ChildEnv, vars: Vec<(OsString, OsString)>) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "refusing to open a {} URL; only http and https pages are opened",
            url.scheme()
        ));
    }
    let browser = vars
        .iter()
        .find(|(k, _)| k == "BROWSER")
        .map(|(_, v)| v.to_string_lossy().into_owned())
        .filter(|v| !v.trim().is_empty());
    let candidates: Vec<Vec<String>> = match browser {
        Some(list) => list
            .split(':')
            .filter(|c| !c.trim().is_empty())
            .map(|c| command_line(c, url.as_str()))
            .collect(),
        None => platform_openers(url.as_str()),
    };
    let mut last = "no browser launcher found".to_owned();
    for argv in candidates {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        env.apply_from(&mut command, vars.iter().cloned());
        match run(command) {
            Ok(()) => return Ok(()),
            Err(e) => last = format!("{program}: {e}"),
        }
    }
    Err(last)
}

/// One `$BROWSER` entry as argv: split on white space, `%s` replaced by the URL (else the URL
/// appended). No shell is involved, so the URL is one argument whatever it contains.
fn command_line(entry: &str, url: &str) -> Vec<String> {
    let mut argv: Vec<String> = entry.split_whitespace().map(str::to_owned).collect();
    let mut placed = false;
    for arg in &mut argv {
        if arg.contains("%s") {
            *arg = arg.replace("%s", url);
            placed = true;
        }
    }
    if !placed {
        argv.push(url.to_owned());
    }
    argv
}

fn platform_openers(url: &str) -> Vec<Vec<String>> {
    let with = |program: &str, pre: &[&str]| {
        let mut argv: Vec<String> = std::iter::once(program)
            .chain(pre.iter().copied())
            .map(str::to_owned)
            .collect();
        argv.push(url.to_owned());
        argv
    };
    if cfg!(target_os = "macos") {
        vec![with("open", &[])]
    } else if cfg!(windows) {
        vec![with("rundll32", &["url.dll,FileProtocolHandler"])]
    } else {
        vec![
            with("xdg-open", &[]),
            with("gio", &["open"]),
            with("sensible-browser", &[]),
        ]
    }
}

/// Starts `command`; a launcher that exits with failure within [`SETTLE`] failed, one still
/// running or exiting successfully opened the page. A browser still running is reaped by a
/// thread, so no zombie stays behind.
fn run(mut command: Command) -> Result<(), String> {
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SETTLE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_entries_become_argv_without_a_shell() {
        let url = "https://example.com/device?user_code=AB CD;rm -rf";
        assert_eq!(command_line("firefox", url), ["firefox", url]);
        assert_eq!(
            command_line("chromium --new-window %s", url),
            ["chromium", "--new-window", url]
        );
    }

    #[test]
    fn only_web_urls_are_opened() {
        for bad in ["file:///etc/passwd", "javascript:alert(1)", "x-custom://a"] {
            let url = Url::parse(bad).expect("parse the URL");
            let got = open_from(&url, &ChildEnv::new(), Vec::new());
            assert!(got.is_err_and(|e| e.contains("refusing")), "{bad}");
        }
    }
}
