//! DPoP end to end (RFC 9449): a login bound to a key of this machine, refreshes that keep
//! the key, a stolen refresh token useless without it, server nonces, refresh-only binding,
//! a missing key, logout and a new key per login. Real binary, embedded server on 127.0.0.1.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{FILE_STORE, Home, logged_in, quick, read_json, refresh_outcomes};
use serde_json::Value;
use tvlogin::clock::UnixTime;
use tvlogin::oauth::dpop::{DpopAlg, DpopKey, ProofRequest};
use tvlogin_server::{DEMO_CLIENT_ID, DpopMode, Knobs, ServerConfig, ServerHandle};

/// A quick server that speaks DPoP (optional unless the knobs say more).
pub fn dpop_server(knobs: Knobs) -> ServerConfig {
    ServerConfig {
        knobs: Knobs {
            dpop: if knobs.dpop == DpopMode::Off {
                DpopMode::Optional
            } else {
                knobs.dpop
            },
            ..knobs
        },
        ..quick(3600)
    }
}

/// The claims of a JWT (no checks).
fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap_or_default();
    serde_json::from_slice(&B64.decode(part).unwrap_or_default()).unwrap_or(Value::Null)
}

fn tokens(home: &Home) -> Value {
    read_json(&home.tokens_file())
}

fn session(home: &Home) -> Value {
    read_json(&home.state_file())["session"].clone()
}

/// What the token endpoint answers a refresh with `refresh_token`, with a proof from `key`
/// when one is given (what a thief with a copy of the token file could send).
async fn refresh_as_thief(
    server: &ServerHandle,
    refresh_token: &str,
    key: Option<&DpopKey>,
) -> (u16, Value) {
    let endpoint = server.token_endpoint();
    let mut request = reqwest::Client::new().post(endpoint.clone()).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", DEMO_CLIENT_ID),
    ]);
    if let Some(key) = key {
        let proof = key
            .proof(
                &ProofRequest {
                    method: "POST",
                    url: &endpoint,
                    access_token: None,
                    nonce: None,
                },
                UnixTime::now(),
            )
            .expect("sign a proof");
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.expect("send the refresh");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_dpop_login_binds_the_session_and_refreshes_keep_the_key() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    let stored = tokens(&home);
    let meta = session(&home);
    let jkt = meta["dpop_jkt"].as_str().expect("the state names the key");
    assert_eq!(meta["token_type"], "DPoP", "{meta}");
    assert_eq!(meta["dpop_bound_access"], true, "{meta}");
    // The private key is in the 0600 token file with the refresh token, never in the state.
    let key_text = stored["dpop_key"].as_str().expect("the key is stored");
    let key = DpopKey::from_stored(key_text).expect("a readable key");
    assert_eq!(key.jkt(), jkt);
    let state_text = std::fs::read_to_string(home.state_file()).expect("state");
    assert!(!state_text.contains(key_text), "{state_text}");
    // The access token says so: cnf.jkt of this key, also in introspection.
    let at = stored["access_token"].as_str().expect("an access token");
    assert_eq!(claims(at)["cnf"]["jkt"], jkt);
    let intro = common::introspect(&server, at).await;
    assert_eq!(intro["cnf"]["jkt"], jkt, "{intro}");
    assert_eq!(intro["token_type"], "DPoP", "{intro}");
    // status --json shows the thumbprint, never the key.
    let status = home.run_with_env(&["status", "--json"], &FILE_STORE).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains(jkt), "{}", status.stdout);
    assert!(!status.stdout.contains(key_text), "{}", status.stdout);

    // A refresh rotates the refresh token and keeps the key.
    let old_rt = stored["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    let after = tokens(&home);
    assert_ne!(after["refresh_token"].as_str(), Some(old_rt.as_str()));
    assert_eq!(after["dpop_key"].as_str(), Some(key_text));
    assert_eq!(session(&home)["dpop_jkt"], jkt);
    let new_at = after["access_token"].as_str().unwrap_or_default();
    assert_eq!(claims(new_at)["cnf"]["jkt"], jkt);
    // And the one after (a new process: the server's answers carry no nonce to remember).
    let again = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens", "tokens"]);
}

#[tokio::test]
async fn a_stolen_refresh_token_is_refused_without_its_key() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    // The thief copies the token file but cannot use the key on another machine: either no
    // proof, or a proof from a key of their own.
    let rt = tokens(&home)["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let (status, body) = refresh_as_thief(&server, &rt, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let thief_key = DpopKey::generate(DpopAlg::Es256).expect("a key");
    let (status, body) = refresh_as_thief(&server, &rt, Some(&thief_key)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(
        refresh_outcomes(&server),
        ["dpop_proof_missing", "dpop_key_mismatch"]
    );
    // Nothing rotated or was revoked: the owner's next refresh works.
    let refresh = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    // The proof check is what refuses the thief: the owner's own key is accepted.
    let owner = DpopKey::from_stored(tokens(&home)["dpop_key"].as_str().unwrap_or_default())
        .expect("the owner's key");
    let rt = tokens(&home)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, body) = refresh_as_thief(&server, &rt, Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
}

#[tokio::test]
async fn server_nonces_are_answered_once_and_polls_stay_paced() {
    let (server, home) = logged_in(dpop_server(Knobs {
        dpop_nonce: true,
        ..Knobs::default()
    }))
    .await;
    assert!(session(&home)["dpop_jkt"].is_string());
    // No poll was early: the nonce retry happened at the device authorization request (the
    // polls then carried the nonce), and a challenge is not a poll.
    let polls = server.polls();
    assert!(!polls.is_empty());
    assert!(polls.iter().all(|p| !p.early), "{polls:?}");
    // A new process knows no nonce: its refresh is challenged once, then succeeds; after two
    // rotations the nonce it would have kept is stale too.
    server.rotate_dpop_nonce();
    server.rotate_dpop_nonce();
    let refresh = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
}

#[tokio::test]
async fn refresh_only_binding_keeps_bearer_access_tokens() {
    let server = common::server(dpop_server(Knobs {
        dpop_bind_refresh_only: true,
        ..Knobs::default()
    }))
    .await;
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "openid offline_access",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Said once: the server did not bind the access token.
    assert_eq!(
        run.stderr.matches("token_type \"Bearer\"").count(),
        1,
        "{}",
        run.stderr
    );
    let meta = session(&home);
    assert!(meta["dpop_jkt"].is_string(), "{meta}");
    assert_eq!(meta["dpop_bound_access"], Value::Null, "{meta}");
    let at = tokens(&home)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(claims(&at).get("cnf").is_none());
    // The refresh token is still bound: without the key it is refused.
    let rt = tokens(&home)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _) = refresh_as_thief(&server, &rt, None).await;
    assert_eq!(status, 400);
    let refresh = home.run_with_env(&["refresh"], &FILE_STORE).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
}

#[tokio::test]
async fn a_missing_key_ends_the_session_never_a_bearer_fallback() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    let mut stored = tokens(&home);
    stored
        .as_object_mut()
        .map(|o| o.remove("dpop_key"))
        .expect("an object");
    std::fs::write(home.tokens_file(), stored.to_string()).expect("write the token file");
    for command in [&["token"][..], &["refresh"][..]] {
        let run = home.run_with_env(command, &FILE_STORE).await;
        assert_eq!(run.code, 7, "{command:?}: {}", run.stderr);
        assert!(run.stderr.contains("DPoP key"), "{}", run.stderr);
        assert!(run.stderr.contains("tvlogin login"), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert!(
        server.refreshes().is_empty(),
        "nothing was sent without the key"
    );
}

#[tokio::test]
async fn logout_removes_the_key_and_a_new_login_makes_another() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    let first = session(&home)["dpop_jkt"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let logout = home.run_with_env(&["logout"], &FILE_STORE).await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    assert!(!home.tokens_file().exists(), "the key went with the tokens");
    // The remembered login binds again (auto), with a new key.
    let login = home.run_with_env(&["login", "--json"], &FILE_STORE).await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let second = session(&home)["dpop_jkt"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!second.is_empty());
    assert_ne!(first, second);
    let key = DpopKey::from_stored(tokens(&home)["dpop_key"].as_str().unwrap_or_default())
        .expect("the new key");
    assert_eq!(key.jkt(), second);
    drop(server);
}

async fn login_with(home: &Home, issuer: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "login",
        "--issuer",
        issuer,
        "--client-id",
        DEMO_CLIENT_ID,
        "--scope",
        "openid offline_access",
    ];
    args.extend_from_slice(extra);
    home.run_with_env(&args, &FILE_STORE).await
}

#[tokio::test]
async fn dpop_can_be_refused_by_flag_and_by_profile() {
    let server = common::server(dpop_server(Knobs::default())).await;
    let issuer = server.issuer_str();
    let flag = Home::new();
    let run = login_with(&flag, &issuer, &["--no-dpop"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(session(&flag)["dpop_jkt"].is_null());
    assert!(tokens(&flag).get("dpop_key").is_none());
    assert_eq!(session(&flag)["token_type"], "Bearer");

    let profile = Home::new();
    profile.config("[profiles.default]\ndpop = false\n");
    let run = login_with(&profile, &issuer, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(session(&profile)["dpop_jkt"].is_null());

    // And asked for against a server that does not advertise it: the proofs are sent anyway
    // (this server ignores them when DPoP is off), and the login says the server did not bind.
    let plain = common::server(quick(3600)).await;
    let home = Home::new();
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &plain.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--dpop",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("not bound"), "{}", run.stderr);
}

// ----- using a bound session: api, token --format dpop, the helpers -----

#[tokio::test]
async fn api_sends_a_proof_answers_the_nonce_challenge_and_exits_by_status() {
    let (server, home) = logged_in(dpop_server(Knobs {
        dpop_nonce: true,
        ..Knobs::default()
    }))
    .await;
    let api = server.api_url().to_string();
    // The resource server demands a nonce this process does not know yet: one challenge,
    // one retry, then the answer.
    let run = home.run_with_env(&["api", &api], &FILE_STORE).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body: Value = serde_json::from_str(&run.stdout).expect("the body is JSON");
    assert_eq!(body["dpop"], true, "{body}");
    assert_eq!(body["method"], "GET");
    // A body means POST; -i puts the status line and headers first.
    let run = home
        .run_with_env(
            &["api", "-i", "-d", "hello", "-H", "X-Test: 1", &api],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\"body\":\"hello\""), "{}", run.stdout);
    assert!(run.stdout.contains("\"method\":\"POST\""), "{}", run.stdout);
    // Another status: its body is printed, exit 8.
    let missing = format!("{}/nothing-here", server.issuer_str());
    let run = home.run_with_env(&["api", &missing], &FILE_STORE).await;
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(run.stdout.contains("not_found"), "{}", run.stdout);
    // No answer at all: exit 5. Plain http off this machine: refused before anything (2).
    let run = home
        .run_with_env(&["api", "http://127.0.0.1:9/x"], &FILE_STORE)
        .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let run = home
        .run_with_env(&["api", "http://example.com/x"], &FILE_STORE)
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    // Authorization is tvlogin's to send.
    let run = home
        .run_with_env(&["api", "-H", "Authorization: Bearer x", &api], &FILE_STORE)
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[tokio::test]
async fn api_refreshes_once_when_the_access_token_is_refused() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    let at = tokens(&home)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The server forgets the access token (revoked), the refresh token still works.
    let revoked = reqwest::Client::new()
        .post(server.revocation_endpoint())
        .form(&[
            ("token", at.as_str()),
            ("client_id", DEMO_CLIENT_ID),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .expect("revoke the access token");
    assert_eq!(revoked.status().as_u16(), 200);
    let run = home
        .run_with_env(&["api", server.api_url().as_str()], &FILE_STORE)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(refresh_outcomes(&server), ["tokens"]);
    assert_ne!(tokens(&home)["access_token"].as_str(), Some(at.as_str()));
}

#[tokio::test]
async fn api_sends_bearer_for_unbound_sessions() {
    let (server, home) = logged_in(quick(3600)).await;
    let run = home
        .run_with_env(&["api", server.api_url().as_str()], &FILE_STORE)
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("\"dpop\":false"), "{}", run.stdout);
}

#[tokio::test]
async fn token_format_dpop_prints_a_working_pair_of_headers() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    let api = server.api_url().to_string();
    let run = home
        .run_with_env(
            &[
                "token", "--format", "dpop", "--method", "get", "--url", &api,
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    let authorization = lines[0].strip_prefix("Authorization: ").expect("line 1");
    let proof = lines[1].strip_prefix("DPoP: ").expect("line 2");
    assert!(authorization.starts_with("DPoP "), "{authorization}");
    let answer = reqwest::Client::new()
        .get(&api)
        .header("Authorization", authorization)
        .header("DPoP", proof)
        .send()
        .await
        .expect("call the API");
    assert_eq!(answer.status().as_u16(), 200);
    // The same proof again is a replay.
    let again = reqwest::Client::new()
        .get(&api)
        .header("Authorization", authorization)
        .header("DPoP", proof)
        .send()
        .await
        .expect("call the API");
    assert_eq!(again.status().as_u16(), 401);
    // A header alone cannot work for a bound token: said, exit 2.
    let header = home
        .run_with_env(&["token", "--format", "header"], &FILE_STORE)
        .await;
    assert_eq!(header.code, 2, "{}", header.stderr);
    assert!(header.stderr.contains("--format dpop"), "{}", header.stderr);
    assert!(header.stdout.is_empty());
    // --format dpop needs the request it is for.
    let bare = home
        .run_with_env(&["token", "--format", "dpop"], &FILE_STORE)
        .await;
    assert_eq!(bare.code, 2, "{}", bare.stderr);
}

#[tokio::test]
async fn helpers_refuse_bound_access_tokens_and_work_with_refresh_only_binding() {
    let (_server, home) = logged_in(dpop_server(Knobs::default())).await;
    let exec = home
        .run_with_env(
            &["exec", "--", "sh", "-c", "echo \"$BEARER_TOKEN\""],
            &FILE_STORE,
        )
        .await;
    assert_eq!(exec.code, 2, "{}", exec.stderr);
    assert!(exec.stderr.contains("tvlogin api"), "{}", exec.stderr);
    assert!(exec.stdout.is_empty(), "{}", exec.stdout);
    let kube = home
        .run_with_env(&["kubectl-credential"], &FILE_STORE)
        .await;
    assert_eq!(kube.code, 2, "{}", kube.stderr);
    assert!(kube.stderr.contains("tvlogin api"), "{}", kube.stderr);

    let (_server, home) = logged_in(dpop_server(Knobs {
        dpop_bind_refresh_only: true,
        ..Knobs::default()
    }))
    .await;
    let exec = home
        .run_with_env(
            &[
                "exec",
                "--",
                "sh",
                "-c",
                "test -n \"$BEARER_TOKEN\" && echo ok",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(exec.stdout.trim(), "ok");
    let header = home
        .run_with_env(&["token", "--format", "header"], &FILE_STORE)
        .await;
    assert_eq!(header.code, 0, "{}", header.stderr);
    assert!(
        header.stdout.starts_with("Authorization: Bearer "),
        "{}",
        header.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_login_in_the_terminal_ui_binds_the_session() {
    use common::pty::{Pty, find_code, has};
    let server = common::server(ServerConfig {
        interval: 1,
        knobs: Knobs {
            dpop: DpopMode::Required,
            dpop_nonce: true,
            ..Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let home = Home::new();
    let issuer = server.issuer_str();
    let mut screen = Pty::tvlogin(
        home.dir.path(),
        &[
            "login",
            "--issuer",
            &issuer,
            "--client-id",
            DEMO_CLIENT_ID,
            "--scope",
            "openid offline_access",
        ],
        &FILE_STORE,
    );
    let code = screen.wait_for(std::time::Duration::from_secs(20), "user code", find_code);
    common::approve_at_the_page(&server, &code).await;
    screen.wait_for(
        std::time::Duration::from_secs(15),
        "success screen",
        |rows| has(rows, "✔ Logged in"),
    );
    screen.send(b"\r");
    assert_eq!(screen.wait_exit().await, 0);
    // The server requires proofs and nonces: tokens came only because every request had one.
    let meta = session(&home);
    let jkt = meta["dpop_jkt"].as_str().expect("bound");
    let stored = tokens(&home);
    let key = DpopKey::from_stored(stored["dpop_key"].as_str().unwrap_or_default())
        .expect("the key is stored");
    assert_eq!(key.jkt(), jkt);
    assert_eq!(
        claims(stored["access_token"].as_str().unwrap_or_default())["cnf"]["jkt"],
        jkt
    );
    assert!(
        server.polls().iter().all(|p| !p.early),
        "{:?}",
        server.polls()
    );
}

#[tokio::test]
async fn the_inspector_says_whose_key_the_access_token_is_bound_to() {
    use tvlogin::tui::inspector::TabBody;
    let (_server, home) = logged_in(dpop_server(Knobs::default())).await;
    let notes = || async {
        let ctx = tvlogin::session::Context {
            paths: home.paths(),
            file: tvlogin::config::ConfigFile::default(),
            env: Box::new(|_| None),
        };
        let tabs = tvlogin::tui::dashboard::tabs::profile_tabs(&ctx, "default")
            .await
            .expect("the profile's tabs");
        tabs.into_iter()
            .find_map(|t| match t.body {
                TabBody::Token { report, .. } if t.title == "access token" => {
                    Some(report.notes.join("\n"))
                }
                _ => None,
            })
            .unwrap_or_default()
    };
    let said = notes().await;
    assert!(said.contains("bound to this machine's key"), "{said}");
    // Another key in the store (a copied token file from another machine, say).
    let mut stored = tokens(&home);
    stored["dpop_key"] = Value::from(
        DpopKey::generate(DpopAlg::Es256)
            .expect("a key")
            .to_stored()
            .into_secret(),
    );
    std::fs::write(home.tokens_file(), stored.to_string()).expect("write");
    let said = notes().await;
    assert!(said.contains("bound to another key"), "{said}");
}

/// The resource route refuses every proof that does not fit its request, the way RFC 9449
/// §7.1 says: each row breaks one rule.
#[tokio::test]
async fn the_resource_server_checks_every_claim_of_a_proof() {
    let (server, home) = logged_in(dpop_server(Knobs::default())).await;
    let stored = tokens(&home);
    let at = stored["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = DpopKey::from_stored(stored["dpop_key"].as_str().unwrap_or_default()).expect("key");
    let other = DpopKey::generate(DpopAlg::Es256).expect("another key");
    let api = server.api_url();
    let elsewhere = url::Url::parse(&format!("{}/elsewhere", server.issuer_str())).expect("url");
    let now = UnixTime::now();
    let old = UnixTime::from_secs(now.secs() - 600);
    // (what, key, method claimed, url claimed, ath of, iat, scheme, status, error)
    type Row<'a> = (
        &'a str,
        &'a DpopKey,
        &'a str,
        &'a url::Url,
        Option<&'a str>,
        UnixTime,
        &'a str,
        u16,
        &'a str,
    );
    let rows: [Row<'_>; 8] = [
        ("good", &key, "GET", &api, Some(&at), now, "DPoP", 200, ""),
        (
            "htm",
            &key,
            "POST",
            &api,
            Some(&at),
            now,
            "DPoP",
            401,
            "invalid_dpop_proof",
        ),
        (
            "htu",
            &key,
            "GET",
            &elsewhere,
            Some(&at),
            now,
            "DPoP",
            401,
            "invalid_dpop_proof",
        ),
        (
            "iat",
            &key,
            "GET",
            &api,
            Some(&at),
            old,
            "DPoP",
            401,
            "invalid_dpop_proof",
        ),
        (
            "ath",
            &key,
            "GET",
            &api,
            Some("another"),
            now,
            "DPoP",
            401,
            "invalid_dpop_proof",
        ),
        (
            "no ath",
            &key,
            "GET",
            &api,
            None,
            now,
            "DPoP",
            401,
            "invalid_dpop_proof",
        ),
        (
            "key",
            &other,
            "GET",
            &api,
            Some(&at),
            now,
            "DPoP",
            401,
            "invalid_token",
        ),
        (
            "bearer",
            &key,
            "GET",
            &api,
            Some(&at),
            now,
            "Bearer",
            401,
            "invalid_token",
        ),
    ];
    for (what, signer, method, url, ath, iat, scheme, status, error) in rows {
        let proof = signer
            .proof(
                &ProofRequest {
                    method,
                    url,
                    access_token: ath,
                    nonce: None,
                },
                iat,
            )
            .expect("sign");
        let answer = reqwest::Client::new()
            .get(api.clone())
            .header("Authorization", format!("{scheme} {at}"))
            .header("DPoP", proof)
            .send()
            .await
            .expect("call the API");
        assert_eq!(answer.status().as_u16(), status, "{what}");
        let challenge = answer
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(challenge.contains(error), "{what}: {challenge}");
    }
}
