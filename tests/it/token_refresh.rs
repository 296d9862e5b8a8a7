//! `token`, `refresh`, `status` and `logout` through the real binary, with the file store,
//! against the embedded server's rotating refresh tokens (a replayed one revokes the grant).

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{FILE_STORE, Home, introspect, logged_in, quick, read_json, refresh_outcomes, server};
use serde_json::Value;
use tvlogin_server::{DEMO_CLIENT_ID, ServerHandle};

/// Asserts `token` is a JWT from `server`, unexpired and active there.
async fn assert_valid_jwt(server: &ServerHandle, token: &str) {
    let claims =
        tvlogin::token::unverified_claims(token).unwrap_or_else(|| panic!("not a JWT: {token:?}"));
    assert_eq!(claims["iss"], server.issuer_str());
    let exp = claims["exp"].as_u64().unwrap_or(0);
    assert!(
        exp > tvlogin::clock::UnixTime::now().unsigned(),
        "expired: {claims:?}"
    );
    // The server must know the token. With one-second tokens on a busy machine it may also
    // have expired it by the time it is asked: inactive is only accepted once `exp` (whole
    // seconds, never later than the server's own expiry) has passed.
    let active = introspect(server, token).await["active"] == true;
    assert!(
        active || tvlogin::clock::UnixTime::now().unsigned() >= exp,
        "the server does not know a token that has not expired: {claims:?}"
    );
}

/// Sleeps until the stored access token has expired.
async fn wait_for_expiry(home: &Home) {
    let state = read_json(&home.state_file());
    let exp = state["session"]["access_expires_at"].as_u64().unwrap_or(0);
    while tvlogin::clock::UnixTime::now().unsigned() < exp {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_cached_token_is_printed_without_a_refresh() {
    let (server, home) = logged_in(quick(3600)).await;
    let run = home.run(&["token"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stored = read_json(&home.tokens_file());
    assert_eq!(
        run.stdout,
        format!("{}\n", stored["access_token"].as_str().unwrap_or("?"))
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert!(server.refreshes().is_empty());
    assert_valid_jwt(&server, run.stdout.trim()).await;

    let run = home.run(&["token", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    assert_eq!(doc["token"], stored["access_token"]);
    assert_eq!(doc["token_type"], "Bearer");
    assert_eq!(doc["scope"], "openid profile email offline_access");
    let left = doc["expires_in"].as_u64().unwrap_or(0);
    assert!((3590..=3600).contains(&left), "{doc}");
    let at = doc["expires_at"].as_u64().unwrap_or(0);
    assert!(
        at.abs_diff(tvlogin::clock::UnixTime::now().unsigned() + left) <= 2,
        "{doc}"
    );

    let run = home.run(&["token", "--id-token"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let claims = tvlogin::token::unverified_claims(run.stdout.trim()).unwrap_or_default();
    assert_eq!(claims["aud"], DEMO_CLIENT_ID);
    assert!(
        server.refreshes().is_empty(),
        "{:?}",
        refresh_outcomes(&server)
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    let (server, home) = logged_in(quick(1)).await;
    let before = read_json(&home.tokens_file());
    wait_for_expiry(&home).await;
    let run = home.run(&["token", "--min-ttl", "0"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
    let token = run.stdout.trim();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_ne!(token, before["access_token"].as_str().unwrap_or("?"));
    assert_valid_jwt(&server, token).await;
    // Stored before it was printed: the store holds the printed token and the rotated
    // refresh token.
    let after = read_json(&home.tokens_file());
    assert_eq!(after["access_token"].as_str(), Some(token));
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    let state = read_json(&home.state_file());
    assert_eq!(state["session"]["generation"], 2);
    assert!(state["session"]["refreshed_at"].is_u64());
}

#[tokio::test]
async fn two_concurrent_token_commands_make_one_refresh() {
    let (server, home) = logged_in(quick(2)).await;
    wait_for_expiry(&home).await;
    let (a, b) = tokio::join!(home.run(&["token"]), home.run(&["token"]));
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert_eq!(
        refresh_outcomes(&server),
        ["tokens"],
        "exactly one refresh reached the server"
    );
    assert_eq!(
        a.stdout, b.stdout,
        "the waiter used the token the other one stored"
    );
    assert_valid_jwt(&server, a.stdout.trim()).await;
    // The grant is alive: no replayed refresh token revoked it.
    let run = home.run(&["refresh"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("refresh token: rotated"),
        "{}",
        run.stderr
    );
    assert_eq!(refresh_outcomes(&server), ["tokens", "tokens"]);
}

#[tokio::test]
async fn killed_while_writing_the_store_keeps_the_old_refresh_token() {
    let (server, home) = logged_in(quick(1)).await;
    let before = read_json(&home.tokens_file());
    wait_for_expiry(&home).await;
    let mut child = home
        .command(
            &["token"],
            &[("TVLOGIN_TEST_PAUSE_BEFORE_RENAME_MS", "10000")],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tvlogin token");
    // The temp file is reserved at full size before the refresh is sent; once the server has
    // answered, the new tokens are written over it and it is cut to their size and fsynced;
    // the rename is next.
    let tmp = home
        .paths()
        .data_dir
        .join("profiles/.default.tokens.json.tmp");
    let written = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.len() > 0 && m.len() < 64 * 1024)
    };
    let started = Instant::now();
    while server.refreshes().is_empty() || !written(&tmp) {
        assert!(started.elapsed() < Duration::from_secs(5), "no temp file");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().expect("kill tvlogin token");
    let status = child.wait().await.expect("wait for tvlogin token");
    assert!(!status.success());
    // The server rotated, the process died before the rename: the store is intact and holds
    // the old refresh token.
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
    let after = read_json(&home.tokens_file());
    assert_eq!(after, before);
    assert!(
        after["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    read_json(&home.state_file());

    // That token was retired by the rotation, so the next command says plainly that a new
    // login is needed, and keeps nothing stale.
    let run = home.run(&["token"]).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("has ended"), "{}", run.stderr);
    assert!(run.stderr.contains("invalid_grant"), "{}", run.stderr);
    assert!(
        run.stderr.contains("tvlogin login --profile default"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert!(!home.tokens_file().exists());
    let status = home.run(&["status", "--json"]).await;
    let doc: Value = serde_json::from_str(&status.stdout).unwrap_or_default();
    assert_eq!(doc["profiles"][0]["logged_in"], false, "{doc}");
    assert_eq!(
        doc["profiles"][0]["store"], "file",
        "the choice is remembered: {doc}"
    );
}

#[tokio::test]
async fn status_json_matches_the_stored_state() {
    let (_server, home) = logged_in(quick(3600)).await;
    let state = read_json(&home.state_file());
    let session = &state["session"];
    let run = home.run(&["status", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    let p = &doc["profiles"][0];
    assert_eq!(doc["profiles"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(p["profile"], state["profile"]);
    assert_eq!(p["logged_in"], true);
    assert_eq!(p["store"], state["store"]);
    assert_eq!(p["store"], "file");
    for field in [
        "issuer",
        "client_id",
        "subject",
        "subject_label",
        "scope",
        "token_type",
        "obtained_at",
    ] {
        assert_eq!(p[field], session[field], "{field}");
        assert!(!p[field].is_null(), "{field} is missing: {doc}");
    }
    assert_eq!(
        p["access_token"]["expires_at"],
        session["access_expires_at"]
    );
    assert_eq!(
        p["refresh_token"]["expires_at"],
        session["refresh_expires_at"]
    );
    assert_eq!(p["refresh_token"]["present"], session["has_refresh_token"]);
    assert_eq!(p["id_token"]["expires_at"], session["id_expires_at"]);
    assert_eq!(p["endpoints"], session["endpoints"]);
    // The server's refresh tokens live 30 days.
    let left = p["refresh_token"]["expires_in"].as_u64().unwrap_or(0);
    assert!(left > 29 * 86_400, "{doc}");
    assert_eq!(p["subject_label"], "Demo User <demo@example.test>");
    // No secrets in the report.
    let secrets = read_json(&home.tokens_file());
    for key in ["access_token", "refresh_token", "id_token"] {
        let secret = secrets[key].as_str().unwrap_or("?");
        assert!(!run.stdout.contains(secret), "{key} leaked into status");
    }
    let table = home.run(&["status"]).await;
    assert!(table.stdout.starts_with("PROFILE"), "{}", table.stdout);
    assert!(table.stdout.contains("Demo User"), "{}", table.stdout);
}

#[tokio::test]
async fn logout_revokes_both_tokens_then_deletes_them() {
    let (server, home) = logged_in(quick(3600)).await;
    let run = home.run(&["logout"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let kinds: Vec<(Option<String>, String)> = server
        .revocations()
        .into_iter()
        .map(|r| (r.token_type_hint, r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (Some("refresh_token".into()), "refresh_token".into()),
            (Some("access_token".into()), "access_token".into()),
        ]
    );
    for step in [
        "revoke the refresh token: done",
        "revoke the access token: done",
        "delete the tokens from file",
        "delete the session metadata",
    ] {
        assert!(run.stderr.contains(step), "{step}: {}", run.stderr);
    }
    assert!(!home.tokens_file().exists());
    let again = home.run(&["logout"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("not logged in"), "{}", again.stderr);
    let token = home.run(&["token"]).await;
    assert_eq!(token.code, 7);
    assert!(
        token.stderr.contains("tvlogin login --profile default"),
        "{}",
        token.stderr
    );
}

#[tokio::test]
async fn logout_without_a_revocation_endpoint_says_so_and_still_deletes() {
    let server = server(quick(3600)).await;
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--profile",
                "work",
                "--device-authorization-endpoint",
                server.device_authorization_endpoint().as_str(),
                "--token-endpoint",
                server.token_endpoint().as_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "offline_access",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("stored in:     file "),
        "{}",
        run.stderr
    );
    // No openid scope, no id token: said plainly, without a refresh.
    let run = home
        .run(&["token", "--profile", "work", "--id-token"])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("has no id token"), "{}", run.stderr);
    assert!(server.refreshes().is_empty());
    let run = home.run(&["logout", "--profile", "work"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("no revocation endpoint"),
        "{}",
        run.stderr
    );
    assert!(server.revocations().is_empty());
    assert!(
        !home
            .paths()
            .data_dir
            .join("profiles/work.tokens.json")
            .exists()
    );
}

#[tokio::test]
async fn token_never_starts_a_login() {
    let home = Home::new();
    for args in [&["token"][..], &["refresh"]] {
        let run = home.run(args).await;
        assert_eq!(run.code, 7, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains("is not logged in"), "{}", run.stderr);
        assert!(run.stderr.contains("tvlogin login"), "{}", run.stderr);
    }
    // A profile nobody knows is a typo (exit 2); one config.toml names is not logged in.
    let run = home.run(&["token", "--profile", "work"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no profile \"work\""), "{}", run.stderr);
    home.config("[profiles.work]\nissuer = \"https://login.example.com\"\nclient_id = \"c\"\n");
    let run = home.run(&["token", "--profile", "work"]).await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("--profile work"), "{}", run.stderr);
    assert!(
        home.paths().data_dir.read_dir().is_err(),
        "no login was started, nothing stored"
    );
}

/// The file store, and the confidential client's secret in `MY_SECRET`.
const SECRET: [(&str, &str); 2] = [
    ("TVLOGIN_STORE", "file"),
    ("MY_SECRET", tvlogin_server::BASIC_CLIENT_SECRET),
];

/// A server issuing 1 s access tokens, and a home logged in to it as a
/// confidential client whose secret is read from `MY_SECRET`.
async fn logged_in_with_a_secret() -> (ServerHandle, Home) {
    let server = server(quick(1)).await;
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                tvlogin_server::BASIC_CLIENT_ID,
                "--client-secret-env",
                "MY_SECRET",
                "--scope",
                "openid offline_access",
            ],
            &SECRET,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    (server, home)
}

#[tokio::test]
async fn a_confidential_client_needs_its_secret_again_to_refresh() {
    let (server, home) = logged_in_with_a_secret().await;
    let stored = std::fs::read_to_string(home.state_file()).unwrap_or_default()
        + &std::fs::read_to_string(home.tokens_file()).unwrap_or_default();
    assert!(
        !stored.contains(tvlogin_server::BASIC_CLIENT_SECRET),
        "the secret was stored"
    );
    assert!(
        stored.contains("MY_SECRET"),
        "the variable's name is remembered"
    );
    wait_for_expiry(&home).await;
    let run = home.run(&["token"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("MY_SECRET"), "{}", run.stderr);
    let run = home.run_with_env(&["token"], &SECRET).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
}

/// A refresh whose answer has no id token keeps the old one with its old expiry: `token
/// --id-token` must then fail plainly rather than print an expired id token.
#[tokio::test]
async fn an_expired_id_token_is_not_printed_after_a_refresh_without_one() {
    let server = server(quick(3600)).await;
    let home = Home::new();
    // No openid scope: the server's refresh answers carry no id token.
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "profile offline_access",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // An id token from earlier, expired a while ago.
    let expired_id = "eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjEwMDB9.c2ln";
    let mut tokens = read_json(&home.tokens_file());
    tokens["id_token"] = Value::from(expired_id);
    std::fs::write(home.tokens_file(), tokens.to_string()).expect("write the tokens file");
    let mut state = read_json(&home.state_file());
    state["session"]["has_id_token"] = Value::from(true);
    state["session"]["id_expires_at"] =
        Value::from(tvlogin::clock::UnixTime::now().unsigned() - 600);
    std::fs::write(home.state_file(), state.to_string()).expect("write the state file");

    let run = home.run(&["token", "--id-token"]).await;
    assert_eq!(refresh_outcomes(&server), ["tokens"], "it refreshed first");
    assert_eq!(run.code, 1, "printed {:?}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("returned no new id token"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`tvlogin login`"), "{}", run.stderr);
}

/// A profile whose secret came from a named variable never falls back to
/// TVLOGIN_CLIENT_SECRET (perhaps another profile's secret for another server) at refresh
/// time: the unset variable is named, exit 2, and nothing is sent.
#[tokio::test]
async fn a_refresh_never_falls_back_to_the_global_client_secret() {
    let (server, home) = logged_in_with_a_secret().await;
    wait_for_expiry(&home).await;
    // The global variable holds a secret this server would even accept.
    let global = [("TVLOGIN_CLIENT_SECRET", tvlogin_server::BASIC_CLIENT_SECRET)];
    for args in [&["token"][..], &["refresh"]] {
        let run = home.run_with_env(args, &global).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("MY_SECRET"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert!(
        server.refreshes().is_empty(),
        "{:?}",
        refresh_outcomes(&server)
    );
}
