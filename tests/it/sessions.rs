//! Sessions are never lost: signals during a refresh, full and read-only stores, unsafe
//! folders, every kind of refresh answer, logout against each revocation behaviour, and
//! logging in again from what a profile remembers. Real binary, embedded server on 127.0.0.1.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Canned, FILE_STORE, Home, canned, logged_in, quick, read_json, refresh_outcomes};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tvlogin_server::{Knobs, ServerConfig, ServerHandle};

fn profiles(home: &Home) -> PathBuf {
    home.paths().data_dir.join("profiles")
}

fn stored_refresh_token(home: &Home) -> Option<String> {
    let path = home.tokens_file();
    path.exists()
        .then(|| {
            read_json(&path)["refresh_token"]
                .as_str()
                .map(str::to_owned)
        })
        .flatten()
}

fn with_knobs(knobs: Knobs) -> ServerConfig {
    ServerConfig {
        knobs,
        ..quick(3600)
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn sh(args: &[&str]) -> bool {
    std::process::Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Points the stored session's token endpoint somewhere else (a canned provider).
fn redirect_token_endpoint(home: &Home, to: &str) {
    let path = home.state_file();
    let mut state = read_json(&path);
    state["session"]["endpoints"]["token"] = Value::from(to);
    std::fs::write(&path, state.to_string()).expect("write the state file");
}

// ----- signals during a refresh -----

/// `command` is `refresh`, or `token` (which refreshes because the 2 s token has expired).
async fn signal_during_refresh(signal: &str, number: i32, command: &str) {
    let (server, home) = logged_in(ServerConfig {
        knobs: Knobs {
            refresh_delay: Some(Duration::from_millis(3000)),
            ..Knobs::default()
        },
        ..quick(2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let child = home
        .command(&[command], &FILE_STORE)
        .spawn()
        .expect("spawn tvlogin");
    let pid = child.id().expect("no pid");
    // Wait until the server has rotated the refresh token (its answer is now delayed).
    for _ in 0..500 {
        if !server.refreshes().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        refresh_outcomes(&server),
        ["tokens"],
        "the refresh never arrived"
    );
    assert!(
        sh(&["kill", "-s", signal, &pid.to_string()]),
        "kill -s {signal}"
    );
    if signal == "INT" {
        // A second Ctrl-C says what abandoning would cost, and still abandons nothing.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(sh(&["kill", "-s", signal, &pid.to_string()]));
    }
    let out = common::output_of(child, &format!("tvlogin {command}")).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(128 + number),
        "SIGNAL {signal}: {stderr}"
    );
    assert!(stderr.contains("finishing the refresh"), "{stderr}");
    // Told to stop: no token printed, though it was stored.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    if signal == "INT" {
        assert!(
            stderr.contains("can end the session") && stderr.contains("Ctrl-C once more"),
            "{stderr}"
        );
    }
    // The rotated token was stored: the next refresh works and nothing was replayed (the 2 s
    // tokens may make `token` refresh once more; every refresh must have been a success).
    let next = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(next.code, 0, "{}", next.stderr);
    let token = home.run_with_env(&["token"], &FILE_STORE).await;
    assert_eq!(token.code, 0, "{}", token.stderr);
    let seen = refresh_outcomes(&server);
    assert!(
        seen.len() >= 2 && seen.iter().all(|o| o == "tokens"),
        "a token was replayed: {seen:?}"
    );
}

#[tokio::test]
async fn sigint_during_a_refresh_loses_nothing() {
    signal_during_refresh("INT", 2, "refresh").await;
}

#[tokio::test]
async fn sigterm_during_a_token_refresh_loses_nothing() {
    signal_during_refresh("TERM", 15, "token").await;
}

#[tokio::test]
async fn sighup_during_a_refresh_loses_nothing() {
    signal_during_refresh("HUP", 1, "refresh").await;
}

#[tokio::test]
async fn a_process_stopped_past_its_timeout_still_keeps_the_answer() {
    let (server, home) = logged_in(with_knobs(Knobs {
        refresh_delay: Some(Duration::from_millis(300)),
        ..Knobs::default()
    }))
    .await;
    home.config("[profiles.default]\ntimeout = 1\n");
    let child = home
        .command(&["refresh"], &FILE_STORE)
        .spawn()
        .expect("spawn tvlogin refresh");
    let pid = child.id().expect("no pid").to_string();
    for _ in 0..500 {
        if !server.refreshes().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(sh(&["kill", "-s", "STOP", &pid]));
    // The answer arrives while the process is stopped, and its 1 s limit passes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(sh(&["kill", "-s", "CONT", &pid]));
    let out = common::output_of(child, "tvlogin refresh").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let next = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert_eq!(
        refresh_outcomes(&server),
        ["tokens", "tokens"],
        "a token was replayed"
    );
}

// ----- the store must be able to keep the successor -----

/// A tmpfs of `size` as the data directory (root only); `None` with the reason otherwise.
fn tmpfs_home(size: &str) -> Result<(Home, PathBuf), String> {
    if !is_root() {
        return Err("not running as root, so no tmpfs can be mounted".into());
    }
    let home = Home::new();
    let data = home.paths().data_dir;
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let opts = format!("size={size},mode=0700");
    if !sh(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        &opts,
        "tmpfs",
        &data.to_string_lossy(),
    ]) {
        return Err("mount -t tmpfs failed (no CAP_SYS_ADMIN here?)".into());
    }
    Ok((home, data))
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = sh(&["umount", "-l", &self.0.to_string_lossy()]);
    }
}

async fn login_into(home: &Home, server: &ServerHandle) {
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                tvlogin_server::DEMO_CLIENT_ID,
                "--scope",
                "openid offline_access",
                "--json",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[tokio::test]
async fn a_full_disk_sends_nothing_and_keeps_the_session() {
    let (home, data) = match tmpfs_home("256k") {
        Ok(x) => x,
        Err(why) => {
            common::skip::skip_or_fail("a_full_disk_sends_nothing_and_keeps_the_session", &why);
            return;
        }
    };
    let _unmount = Unmount(data.clone());
    let server = Arc::new(common::server(quick(3600)).await);
    login_into(&home, &server).await;
    let before = stored_refresh_token(&home);
    // Fill the file system to the last byte.
    let filler = data.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("create the filler file");
        let block = vec![1u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    // A full disk is the person's to fix: exit 2, like the StrictModes refusals.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing was sent")
            && run.stderr.contains("No space left")
            && run.stderr.contains("free some space"),
        "{}",
        run.stderr
    );
    assert!(server.refreshes().is_empty(), "a refresh was sent");
    assert_eq!(stored_refresh_token(&home), before);
    std::fs::remove_file(&filler).expect("remove the filler file");
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
}

#[tokio::test]
async fn a_read_only_folder_sends_nothing_and_keeps_the_session() {
    let root = is_root();
    let (server, home, data) = if root {
        match tmpfs_home("1m") {
            Ok((home, data)) => {
                let server = Arc::new(common::server(quick(3600)).await);
                login_into(&home, &server).await;
                (server, home, Some(data))
            }
            Err(why) => {
                common::skip::skip_or_fail(
                    "a_read_only_folder_sends_nothing_and_keeps_the_session",
                    &why,
                );
                return;
            }
        }
    } else {
        let (server, home) = logged_in(quick(3600)).await;
        (server, home, None)
    };
    let _unmount = data.clone().map(Unmount);
    let before = stored_refresh_token(&home);
    let read_only = match &data {
        // Root writes through any mode: make the file system itself read-only.
        Some(d) => sh(&["mount", "-o", "remount,ro", &d.to_string_lossy()]),
        None => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(profiles(&home), std::fs::Permissions::from_mode(0o500))
                .is_ok()
        }
    };
    assert!(read_only);
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    // Read-only (or, for a user who is not root, not writable): the person's to fix, exit 2.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nothing was sent"), "{}", run.stderr);
    assert!(
        run.stderr.contains(if data.is_some() {
            "mounted read-only"
        } else {
            "may not use it"
        }),
        "{}",
        run.stderr
    );
    assert!(server.refreshes().is_empty(), "a refresh was sent");
    match &data {
        Some(d) => assert!(sh(&["mount", "-o", "remount,rw", &d.to_string_lossy()])),
        None => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(profiles(&home), std::fs::Permissions::from_mode(0o700))
                .expect("chmod the profiles dir 0700");
        }
    }
    assert_eq!(stored_refresh_token(&home), before);
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Fills the file system holding `dir` to the last byte, then gives `free` bytes back: the
/// filler file, to be removed by the caller.
fn leave_free(dir: &std::path::Path, free: u64) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).expect("create the filler file");
    let block = vec![1u8; 4096];
    while f.write_all(&block).is_ok() {}
    let len = f
        .metadata()
        .map(|m| m.len())
        .expect("read the filler's size");
    f.set_len(len.saturating_sub(free))
        .expect("give room back from the filler");
    let _ = f.sync_all();
    filler
}

/// Issue 25 item 11: with 200 KiB free and a 300,000-byte access token in the answer, the
/// room reserved before the refresh (64 KiB) cannot take the answer, and the disk has no room
/// to grow it. The server has rotated the refresh token by then: its successor must be kept
/// (in the room already reserved), or the session is gone.
#[tokio::test]
async fn an_answer_larger_than_the_reserved_room_keeps_the_rotated_session() {
    let test = "an_answer_larger_than_the_reserved_room_keeps_the_rotated_session";
    let (home, data) = match tmpfs_home("1m") {
        Ok(x) => x,
        Err(why) => {
            common::skip::skip_or_fail(test, &why);
            return;
        }
    };
    let _unmount = Unmount(data.clone());
    let server = Arc::new(
        common::server(with_knobs(Knobs {
            access_token_bytes: Some(300_000),
            ..Knobs::default()
        }))
        .await,
    );
    login_into(&home, &server).await;
    let tokens = read_json(&home.tokens_file());
    let at_len = tokens["access_token"].as_str().map_or(0, str::len);
    assert!(at_len >= 299_000, "the access token is {at_len} bytes");
    let before = stored_refresh_token(&home);
    let filler = leave_free(&data, 200 * 1024);

    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
    assert!(
        run.stderr.contains("the new access token did not fit")
            && run.stderr.contains("the new refresh token was stored"),
        "{}",
        run.stderr
    );
    // The rotated refresh token is what the file holds now (the old one is retired).
    let after = stored_refresh_token(&home);
    assert!(after.is_some() && after != before, "{after:?} {before:?}");
    let tokens = read_json(&home.tokens_file());
    assert!(tokens.get("access_token").is_none(), "{tokens}");
    assert!(
        tokens.get("id_token").is_some(),
        "the id token fits: {tokens}"
    );

    // The session goes on: the stored refresh token is live (a replayed one would end it).
    let run = home.run_with_env(&["token"], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.trim().len() >= 299_000, "a whole access token");
    assert_eq!(refresh_outcomes(&server), ["tokens", "tokens"]);

    // With room again, the whole answer is kept.
    std::fs::remove_file(&filler).expect("remove the filler file");
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("did not fit"), "{}", run.stderr);
    let tokens = read_json(&home.tokens_file());
    assert!(
        tokens["access_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 299_000),
        "{}",
        run.stderr
    );
    assert_eq!(refresh_outcomes(&server), ["tokens", "tokens", "tokens"]);
}

/// The race of item 11: the disk fills to the last byte while the answer is on its way (after
/// the pre-flight, after the server rotated). The refresh token still has the room reserved
/// before the request was sent.
#[tokio::test]
async fn a_disk_filled_while_the_answer_is_on_its_way_keeps_the_rotated_session() {
    let test = "a_disk_filled_while_the_answer_is_on_its_way_keeps_the_rotated_session";
    let (home, data) = match tmpfs_home("1m") {
        Ok(x) => x,
        Err(why) => {
            common::skip::skip_or_fail(test, &why);
            return;
        }
    };
    let _unmount = Unmount(data.clone());
    let server = Arc::new(
        common::server(with_knobs(Knobs {
            access_token_bytes: Some(300_000),
            refresh_delay: Some(Duration::from_millis(1500)),
            ..Knobs::default()
        }))
        .await,
    );
    login_into(&home, &server).await;
    let before = stored_refresh_token(&home);
    let child = home
        .command(&["refresh"], &FILE_STORE)
        .spawn()
        .expect("spawn tvlogin refresh");
    for _ in 0..500 {
        if !server.refreshes().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(refresh_outcomes(&server), ["tokens"], "no refresh arrived");
    // Rotated, answer delayed: now nothing is left on the disk.
    let filler = leave_free(&data, 0);
    let out = common::output_of(child, "tvlogin refresh").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("did not fit"), "{stderr}");
    let after = stored_refresh_token(&home);
    assert!(after.is_some() && after != before, "{after:?} {before:?}");
    std::fs::remove_file(&filler).expect("remove the filler file");
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(
        run.code, 0,
        "the stored refresh token is live: {}",
        run.stderr
    );
    assert_eq!(refresh_outcomes(&server), ["tokens", "tokens"]);
}

// ----- StrictModes -----

#[tokio::test]
async fn a_world_writable_folder_is_refused_before_any_request() {
    use std::os::unix::fs::PermissionsExt;
    let (server, home) = logged_in(quick(3600)).await;
    let dir = profiles(&home);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
        .expect("chmod the data dir 0777");
    for args in [&["refresh"][..], &["token"], &["logout"]] {
        let run = home.run_with_env(args, &FILE_STORE).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("chmod go-w {}", dir.display())),
            "{}",
            run.stderr
        );
    }
    assert!(server.refreshes().is_empty() && server.revocations().is_empty());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .expect("chmod the data dir 0700");
    assert_eq!(home.run_with_env(&["refresh"], &FILE_STORE).await.code, 0);
}

#[tokio::test]
async fn a_foreign_owned_state_file_is_refused_before_any_request() {
    if !is_root() {
        common::skip::skip_or_fail(
            "a_foreign_owned_state_file_is_refused_before_any_request",
            "not running as root, so no file can be given to another user",
        );
        return;
    }
    let (server, home) = logged_in(quick(3600)).await;
    let state = home.state_file();
    assert!(sh(&["chown", "65534", &state.to_string_lossy()]));
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("owned by user id 65534") && run.stderr.contains("chown 0"),
        "{}",
        run.stderr
    );
    assert!(server.refreshes().is_empty());
}

#[tokio::test]
async fn a_symlinked_state_file_is_not_followed() {
    let (server, home) = logged_in(quick(3600)).await;
    let state = home.state_file();
    let planted = home.dir.path().join("planted.json");
    std::fs::rename(&state, &planted).expect("move the state file away");
    std::os::unix::fs::symlink(&planted, &state).expect("plant the symlink");
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(server.refreshes().is_empty());
}

// ----- refresh answers -----

/// Logs in, points the token endpoint at a canned answer, runs `refresh`.
async fn refresh_answered(answer: Canned) -> (Home, common::Run, Option<String>) {
    let (_server, home) = logged_in(quick(3600)).await;
    let before = stored_refresh_token(&home);
    let base = canned(vec![("/token", answer)]).await;
    redirect_token_endpoint(&home, &format!("{base}/token"));
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    (home, run, before)
}

#[tokio::test]
async fn an_empty_refresh_token_never_replaces_the_working_one() {
    let (home, run, before) = refresh_answered(Canned::json(
        200,
        r#"{"access_token":"A2","token_type":"Bearer","refresh_token":"","expires_in":600}"#,
    ))
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(before.is_some());
    assert_eq!(stored_refresh_token(&home), before);
    let token = home.run_with_env(&["token"], &FILE_STORE).await;
    assert_eq!(token.stdout.trim(), "A2");
}

#[tokio::test]
async fn a_new_refresh_token_without_an_access_token_is_kept() {
    let (home, run, before) = refresh_answered(Canned::json(
        200,
        r#"{"refresh_token":"R2","expires_in":600}"#,
    ))
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("without an access_token"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("was stored"), "{}", run.stderr);
    assert_ne!(before.as_deref(), Some("R2"));
    assert_eq!(stored_refresh_token(&home).as_deref(), Some("R2"));
}

#[tokio::test]
async fn negative_lifetimes_are_unknown_not_fatal() {
    let (home, run, _) = refresh_answered(Canned::json(
        200,
        r#"{"access_token":"A3","token_type":"Bearer","refresh_token":"R3","expires_in":-5,"refresh_expires_in":-1}"#,
    ))
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(stored_refresh_token(&home).as_deref(), Some("R3"));
    let state = read_json(&home.state_file());
    assert!(state["session"]["access_expires_at"].is_null(), "{state}");
}

#[tokio::test]
async fn a_bare_400_ends_the_session_with_exit_7() {
    let (home, run, _) = refresh_answered(Canned {
        status: 400,
        content_type: "text/plain",
        body: String::new(),
    })
    .await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("has ended"), "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 400"), "{}", run.stderr);
    assert!(
        run.stderr.contains("tvlogin login --profile default"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_refresh_token(&home), None);
    let status = home.run_with_env(&["status", "--json"], &FILE_STORE).await;
    let doc: Value = serde_json::from_str(&status.stdout).unwrap_or_default();
    assert_eq!(doc["profiles"][0]["logged_in"], false, "{doc}");
    assert!(
        doc["profiles"][0]["remembered_login"]["issuer"].is_string(),
        "{doc}"
    );
    let token = home.run_with_env(&["token"], &FILE_STORE).await;
    assert_eq!(token.code, 7, "{}", token.stderr);
}

#[tokio::test]
async fn a_502_html_page_is_exit_5_naming_it() {
    let (home, run, before) = refresh_answered(Canned::html(
        502,
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    ))
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("answered HTTP 502 (text/html)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("line 1 column"), "{}", run.stderr);
    assert_eq!(stored_refresh_token(&home), before, "the session survives");
}

// ----- logout per RFC 7009 -----

async fn logout_with(knobs: Knobs, extra: &[&str]) -> (Arc<ServerHandle>, Home, common::Run) {
    let (server, home) = logged_in(with_knobs(knobs)).await;
    let mut args = vec!["logout"];
    args.extend_from_slice(extra);
    let run = home.run_with_env(&args, &FILE_STORE).await;
    (server, home, run)
}

#[tokio::test]
async fn logout_revokes_both_tokens() {
    let (server, home, run) = logout_with(Knobs::default(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let kinds: Vec<String> = server.revocations().into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["refresh_token", "access_token"]);
    assert_eq!(stored_refresh_token(&home), None);
}

#[tokio::test]
async fn logout_when_jwt_access_tokens_cannot_be_revoked_exits_0() {
    let (_server, home, run) = logout_with(
        Knobs {
            revoke_jwt_unsupported: true,
            ..Knobs::default()
        },
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("unsupported_token_type"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("stays valid at the server until it expires, in"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_refresh_token(&home), None);
}

/// A server that answers 200 to the revocation of a JWT access token it cannot revoke:
/// introspection still calls the token active, and logout says so instead of "done".
#[tokio::test]
async fn logout_when_a_jwt_access_token_stays_active_says_so() {
    let (_server, home, run) = logout_with(
        Knobs {
            revoke_jwt_ignored: true,
            ..Knobs::default()
        },
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("still calls the token active")
            && run
                .stderr
                .contains("stays valid at the server until it expires, in"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_refresh_token(&home), None);
}

#[tokio::test]
async fn logout_when_public_clients_are_refused_exits_0() {
    let (server, home, run) = logout_with(
        Knobs {
            revoke_refuses_public_clients: true,
            ..Knobs::default()
        },
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refuses revocation requests from public clients (HTTP 401 (empty body))"),
        "{}",
        run.stderr
    );
    assert!(server.revocations().is_empty());
    assert_eq!(stored_refresh_token(&home), None);
}

#[tokio::test]
async fn logout_when_revocation_fails_deletes_locally_and_exits_5() {
    let (_server, home, run) = logout_with(
        Knobs {
            revoke_status: Some(503),
            ..Knobs::default()
        },
        &[],
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 503 (text/html)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("a live refresh token may remain"),
        "{}",
        run.stderr
    );
    assert_eq!(
        stored_refresh_token(&home),
        None,
        "deleted locally all the same"
    );
}

#[tokio::test]
async fn logout_timeout_bounds_a_hanging_endpoint() {
    let (_server, home, run) = logout_with(
        Knobs {
            revoke_delay: Some(Duration::from_secs(20)),
            ..Knobs::default()
        },
        &["--timeout", "1"],
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("did not answer within 1s"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_refresh_token(&home), None);
}

#[tokio::test]
async fn logout_without_a_revocation_endpoint_exits_0() {
    let server = Arc::new(common::server(quick(3600)).await);
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--device-authorization-endpoint",
                server.device_authorization_endpoint().as_str(),
                "--token-endpoint",
                server.token_endpoint().as_str(),
                "--client-id",
                tvlogin_server::DEMO_CLIENT_ID,
                "--json",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = home.run_with_env(&["logout"], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no revocation endpoint"),
        "{}",
        run.stderr
    );
    // …and it remembers the endpoints: `login` alone logs in again.
    let again = home.run_with_env(&["login", "--json"], &FILE_STORE).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
}

// ----- profiles remember how they logged in -----

#[tokio::test]
async fn login_alone_after_logout_and_after_the_session_ended() {
    let (server, home) = logged_in(quick(3600)).await;
    let logout = home.run_with_env(&["logout"], &FILE_STORE).await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let status = home.run_with_env(&["status"], &FILE_STORE).await;
    assert!(status.stdout.contains("(logged out)"), "{}", status.stdout);
    assert_eq!(home.run_with_env(&["token"], &FILE_STORE).await.code, 7);
    let again = home
        .run_with_env(&["login", "--profile", "default", "--json"], &FILE_STORE)
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(home.run_with_env(&["token"], &FILE_STORE).await.code, 0);

    // The server ends the grant (its refresh token revoked elsewhere): invalid_grant → 7.
    let rt = stored_refresh_token(&home).unwrap_or_default();
    let revoked = reqwest::Client::new()
        .post(server.revocation_endpoint())
        .form(&[
            ("token", rt.as_str()),
            ("client_id", tvlogin_server::DEMO_CLIENT_ID),
        ])
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(revoked.ok(), Some(200));
    let ended = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(ended.code, 7, "{}", ended.stderr);
    assert!(ended.stderr.contains("invalid_grant"), "{}", ended.stderr);
    // Nobody logged out: token and doctor say the server ended the session.
    let token = home.run_with_env(&["token"], &FILE_STORE).await;
    assert_eq!(token.code, 7, "{}", token.stderr);
    assert!(
        token.stderr.contains("ended by the server") && !token.stderr.contains("(logged out"),
        "{}",
        token.stderr
    );
    let doctor = home.run_with_env(&["doctor"], &FILE_STORE).await;
    assert!(
        doctor.stdout.contains("ended by the server") && !doctor.stdout.contains("logged out;"),
        "{}{}",
        doctor.stdout,
        doctor.stderr
    );
    let status = home.run_with_env(&["status"], &FILE_STORE).await;
    assert!(
        status.stdout.contains("(session ended by the server)")
            && !status.stdout.contains("(logged out)"),
        "{}",
        status.stdout
    );
    let again = home.run_with_env(&["login", "--json"], &FILE_STORE).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(home.run_with_env(&["token"], &FILE_STORE).await.code, 0);
}

#[tokio::test]
async fn logout_forget_removes_everything() {
    let (_server, home) = logged_in(quick(3600)).await;
    let run = home
        .run_with_env(&["logout", "--forget"], &FILE_STORE)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!home.state_file().exists());
    let again = home.run_with_env(&["login", "--json"], &FILE_STORE).await;
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("no authorization server given"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn never_logged_in_is_exit_7() {
    let home = Home::new();
    for args in [&["token"][..], &["refresh"]] {
        let run = home.run_with_env(args, &FILE_STORE).await;
        assert_eq!(run.code, 7, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("tvlogin login"), "{}", run.stderr);
    }
}

// ----- form posts and failed polls -----

/// A provider that records each request's head and body, answering device authorization
/// with an error (so the login ends there).
async fn recording_provider() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the test server's port on 127.0.0.1");
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .expect("read the test server's address")
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let mut read = 0;
            while let Ok(n) = stream.read(&mut buf[read..]).await {
                read += n;
                if n == 0 || buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            record
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(String::from_utf8_lossy(&buf[..read]).to_lowercase());
            let body = r#"{"error":"invalid_request","error_description":"recorded"}"#;
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (base, seen)
}

#[tokio::test]
async fn a_basic_device_authorization_request_is_a_form_naming_the_client() {
    let (base, seen) = recording_provider().await;
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--device-authorization-endpoint",
                &format!("{base}/device"),
                "--token-endpoint",
                &format!("{base}/token"),
                "--client-id",
                "confidential",
                "--auth",
                "basic",
                "--client-secret-env",
                "MY_SECRET",
                "--json",
            ],
            &[("MY_SECRET", "s3cret")],
        )
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let head = seen.first().cloned().unwrap_or_default();
    assert!(head.starts_with("post /device"), "{head}");
    assert!(
        head.contains("content-type: application/x-www-form-urlencoded"),
        "{head}"
    );
    assert!(head.contains("authorization: basic"), "{head}");
    // HTTP Basic, and the client named in the body too (django-oauth-toolkit requires it):
    // 22 bytes are `client_id=confidential`, with no room for the secret.
    assert!(head.contains("content-length: 22"), "{head}");
    assert!(!head.contains("s3cret"), "{head}");
}

#[tokio::test]
async fn a_login_whose_polls_all_failed_is_exit_5() {
    let device = r#"{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"{base}/verify","expires_in":3,"interval":1}"#;
    let base = canned(vec![("/device", Canned::json(200, device))]).await;
    // Nothing listens on port 9 of loopback: every poll is refused.
    let home = Home::new();
    let run = home
        .run(&[
            "login",
            "--device-authorization-endpoint",
            &format!("{base}/device"),
            "--token-endpoint",
            "http://127.0.0.1:9/token",
            "--client-id",
            "c",
            "--json",
        ])
        .await;
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("no poll reached"), "{}", run.stdout);
}

// ----- doctor and the server's knobs -----

#[tokio::test]
async fn doctor_lists_a_profile_whose_refresh_will_fail() {
    let server = Arc::new(common::server(quick(3600)).await);
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                tvlogin_server::POST_CLIENT_ID,
                "--auth",
                "post",
                "--client-secret-env",
                "WORK_SECRET",
                "--json",
            ],
            &[
                ("TVLOGIN_STORE", "file"),
                ("WORK_SECRET", tvlogin_server::POST_CLIENT_SECRET),
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let with = home
        .run_with_env(
            &["doctor", "--json"],
            &[("WORK_SECRET", tvlogin_server::POST_CLIENT_SECRET)],
        )
        .await;
    assert!(
        with.stdout.contains("the next refresh can work"),
        "{}",
        with.stdout
    );
    // The variable is unset in this shell: every refresh of the profile would fail.
    let without = home.run(&["doctor"]).await;
    assert_eq!(without.code, 1, "{}", without.stdout);
    let line = without
        .stdout
        .lines()
        .find(|l| l.contains("profile default"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("[error]")
            && line.contains("the next refresh will fail")
            && line.contains("WORK_SECRET"),
        "{}",
        without.stdout
    );
}

#[tokio::test]
async fn a_lower_case_bearer_is_kept_as_sent() {
    let (_server, home) = logged_in(with_knobs(Knobs {
        lowercase_token_type: true,
        ..Knobs::default()
    }))
    .await;
    let refresh = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    let token = home.run_with_env(&["token", "--json"], &FILE_STORE).await;
    let doc: Value = serde_json::from_str(&token.stdout).unwrap_or_default();
    assert_eq!(doc["token_type"], "bearer", "{doc}");
}

#[tokio::test]
async fn refresh_errors_as_a_bare_400_end_the_session() {
    let (server, home) = logged_in(with_knobs(Knobs {
        refresh_errors_empty: true,
        ..Knobs::default()
    }))
    .await;
    // Retire the stored refresh token behind tvlogin's back: the server answers a bare 400.
    let rt = stored_refresh_token(&home).unwrap_or_default();
    let _ = reqwest::Client::new()
        .post(server.revocation_endpoint())
        .form(&[
            ("token", rt.as_str()),
            ("client_id", tvlogin_server::DEMO_CLIENT_ID),
        ])
        .send()
        .await;
    let run = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 400 (empty body)"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn the_dashboards_login_key_works_for_a_remembered_profile() {
    let (server, home) = logged_in(quick(3600)).await;
    let logout = home.run_with_env(&["logout"], &FILE_STORE).await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    // A new dashboard process: no session in memory, only what the state file remembers.
    let ctx = tvlogin::session::Context {
        paths: home.paths(),
        file: tvlogin::config::ConfigFile::default(),
        env: Box::new(|_| None),
    };
    let config = tvlogin::tui::dashboard::screen::login_config(&ctx, "default", None)
        .expect("resolve the profile's login config");
    assert_eq!(config.client.id, tvlogin_server::DEMO_CLIENT_ID);
    match &config.source {
        tvlogin::config::EndpointSource::Discover(issuer) => {
            assert_eq!(issuer.as_str().trim_end_matches('/'), server.issuer_str());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        config.request.scope.as_deref(),
        Some("openid profile email offline_access")
    );
}

#[tokio::test]
async fn a_world_writable_config_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.config("[profiles.work]\nissuer = \"https://attacker.example\"\n");
    let path = home.dir.path().join("config/config.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
        .expect("chmod the file 0666");
    let run = home.run(&["token", "--profile", "work"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("chmod go-w {}", path.display())),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn help_lists_exit_7() {
    let home = Home::new();
    let top = home.run(&["--help"]).await;
    // The help text is wrapped to the terminal's width.
    let words = top.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("7 not logged in, or the session has ended: log in again"),
        "{}",
        top.stdout
    );
    let token = home.run(&["token", "--help"]).await;
    assert!(token.stdout.contains("7 not logged in"), "{}", token.stdout);
}

#[tokio::test]
async fn a_login_answer_with_only_a_refresh_token_is_kept() {
    let base = canned(vec![
        (
            "/device",
            Canned::json(
                200,
                r#"{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"{base}/verify","expires_in":30,"interval":1}"#,
            ),
        ),
        ("/token", Canned::json(200, r#"{"refresh_token":"R-only","token_type":"Bearer"}"#)),
    ])
    .await;
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--device-authorization-endpoint",
                &format!("{base}/device"),
                "--token-endpoint",
                &format!("{base}/token"),
                "--client-id",
                "c",
                "--json",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(stored_refresh_token(&home).as_deref(), Some("R-only"));
    let stored = read_json(&home.tokens_file());
    assert!(stored.get("access_token").is_none(), "{stored}");
}
