//! End-to-end logins against the embedded authorization server: every provider quirks
//! profile with public, client_secret_basic and client_secret_post clients, through the same
//! library code the binary runs; then the binary itself for the exit-code contract.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{Home, approve_when_pending, server};
use tvlogin::cli::LoginArgs;
use tvlogin::config::{ConfigFile, LoginConfig};
use tvlogin::login::{self, OutputMode, Reporter};
use tvlogin::oauth::client::AuthMethod;
use tvlogin::store::{Backend, Stored};
use tvlogin_server::{
    AutoDecision, BASIC_CLIENT_ID, BASIC_CLIENT_SECRET, DEMO_CLIENT_ID, POST_CLIENT_ID,
    POST_CLIENT_SECRET, Quirks, ServerConfig, ServerHandle,
};

fn quick(quirks: Quirks) -> ServerConfig {
    ServerConfig {
        quirks,
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 2,
            approve: true,
        }),
        ..ServerConfig::default()
    }
}

/// Flags for a login against `server` as `client`. GitHub has no discovery, so its flows use
/// explicit endpoints as its preset does; the others discover.
fn args(
    server: &ServerHandle,
    quirks: Quirks,
    client: &str,
    auth: AuthMethod,
    secret_var: Option<&str>,
) -> LoginArgs {
    let mut args = LoginArgs {
        client_id: Some(client.into()),
        auth: Some(auth),
        client_secret_env: secret_var.map(str::to_owned),
        scope: Some("openid profile email offline_access".into()),
        ..LoginArgs::default()
    };
    if quirks == Quirks::Github {
        args.device_authorization_endpoint =
            Some(server.device_authorization_endpoint().to_string());
        args.token_endpoint = Some(server.token_endpoint().to_string());
        args.scope = Some("repo read:org".into());
    } else {
        args.issuer = Some(server.issuer_str());
    }
    if quirks == Quirks::Dot {
        // Its discovery names no device endpoint: the flag alone fills it in.
        args.device_authorization_endpoint =
            Some(server.device_authorization_endpoint().to_string());
    }
    args
}

#[tokio::test]
async fn every_quirks_profile_with_every_client_authentication() {
    tvlogin::install_crypto_provider();
    let env = |var: &str| match var {
        "BASIC" => Some(BASIC_CLIENT_SECRET.to_string()),
        "POST" => Some(POST_CLIENT_SECRET.to_string()),
        _ => None,
    };
    let mut flows = Vec::new();
    for quirks in Quirks::ALL {
        let server = Arc::new(server(quick(quirks)).await);
        for (client, auth, var) in [
            (DEMO_CLIENT_ID, AuthMethod::None, None),
            (BASIC_CLIENT_ID, AuthMethod::Basic, Some("BASIC")),
            (POST_CLIENT_ID, AuthMethod::Post, Some("POST")),
        ] {
            let args = args(&server, quirks, client, auth, var);
            let config =
                LoginConfig::resolve(&args, &ConfigFile::default(), Path::new("none"), &env)
                    .unwrap_or_else(|e| panic!("{quirks} {client}: {e}"));
            let server = Arc::clone(&server);
            flows.push(tokio::spawn(async move {
                let mut reporter = Reporter::new(OutputMode::Json, Vec::new(), Vec::new());
                let result = login::login(&config, &mut reporter)
                    .await
                    .map(|outcome| outcome.tokens);
                // The caller reports the tokens once they are stored (here: nowhere).
                if let Ok(tokens) = &result {
                    let stored = Stored {
                        backend: Backend::Memory,
                        location: "memory".into(),
                    };
                    reporter.tokens(tokens, &config.profile, &stored);
                }
                let (out, _) = reporter.into_inner();
                (
                    quirks,
                    client,
                    result,
                    String::from_utf8_lossy(&out).into_owned(),
                    server,
                )
            }));
        }
    }
    for flow in flows {
        let (quirks, client, result, out, server) = flow.await.expect("join a login flow");
        let tokens = result.unwrap_or_else(|e| panic!("{quirks} {client}: {e}\n{out}"));
        let what = format!("{quirks} {client}");
        assert!(!tokens.access_token.secret().is_empty(), "{what}");
        assert!(tokens.refresh_token.is_some(), "{what}: refresh token");
        match quirks {
            Quirks::Github => {
                assert!(tokens.access_token.secret().starts_with("gho_"), "{what}");
                assert!(tokens.id_token.is_none(), "{what}");
                assert_eq!(tokens.refresh_expires_in, Some(15_897_600), "{what}");
            }
            Quirks::Google => {
                assert!(tokens.access_token.secret().starts_with("ya29."), "{what}");
                assert!(tokens.id_token.is_some(), "{what}");
            }
            Quirks::Dot => {
                assert_eq!(tokens.access_token.secret().len(), 30, "{what}");
                assert!(
                    tokens.id_token.is_none(),
                    "{what}: only a refresh brings one"
                );
            }
            _ => {
                let claims = tvlogin::token::unverified_claims(tokens.access_token.secret())
                    .unwrap_or_else(|| panic!("{what}: access token is not a JWT"));
                assert_eq!(claims["iss"], server.issuer_str(), "{what}");
                assert_eq!(claims["client_id"], client, "{what}");
                assert!(tokens.id_token.is_some(), "{what}");
            }
        }
        // The JSON events follow the contract and never carry a secret.
        let names: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap_or_default()["event"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            ["device_authorization", "poll", "poll", "tokens"],
            "{what}: {out}"
        );
        assert!(
            !out.contains(tokens.access_token.secret()),
            "{what}: access token leaked"
        );
        for polled in server.polls() {
            assert!(
                !polled.early,
                "{what}: a poll came before the interval: {polled:?}"
            );
        }
    }
}

#[tokio::test]
async fn microsoft_message_and_google_url_reach_the_output() {
    for (quirks, want) in [
        (Quirks::Microsoft, "To sign in, use a web browser"),
        (Quirks::Google, "/device"),
    ] {
        let server = server(quick(quirks)).await;
        let home = Home::new();
        let run = home
            .run(&[
                "login",
                "--issuer",
                &server.issuer_str(),
                "--client-id",
                DEMO_CLIENT_ID,
                "--no-tui",
            ])
            .await;
        assert_eq!(run.code, 0, "{quirks}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{quirks}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("Logged in as Demo User <demo@example.test>"),
            "{}",
            run.stderr
        );
        // stderr is a pipe here: no QR code goes into it.
        assert!(
            !run.stderr.contains('▀') && !run.stderr.contains("scan this"),
            "a QR code went into a pipe: {}",
            run.stderr
        );
    }
}

#[tokio::test]
async fn json_contract_of_a_successful_login() {
    let server = server(quick(Quirks::Rfc)).await;
    let home = Home::new();
    let run = home
        .run(&[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--json",
            "--scope",
            "openid offline_access",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.events();
    assert_eq!(
        run.event_names(),
        ["device_authorization", "poll", "poll", "tokens"]
    );
    let device = &events[0];
    for field in [
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    ] {
        assert!(
            !device[field].is_null(),
            "device_authorization lacks {field}: {device}"
        );
    }
    assert_eq!(events[1]["outcome"], "authorization_pending");
    assert_eq!(events[1]["attempt"], 1);
    assert_eq!(events[1]["next_poll_in"], 1);
    assert_eq!(events[2]["outcome"], "tokens");
    let tokens = &events[3];
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["has_refresh_token"], true);
    assert_eq!(tokens["has_id_token"], true);
    assert_eq!(tokens["store"], "memory");
    assert!(tokens["expires_in"].as_u64().is_some_and(|s| s > 3000));
    assert!(
        !run.stdout.contains("eyJ"),
        "a JWT reached stdout: {}",
        run.stdout
    );
    assert!(
        !run.stderr.contains("eyJ"),
        "a JWT reached stderr: {}",
        run.stderr
    );
}

#[tokio::test]
async fn denial_exits_3() {
    let server = Arc::new(
        server(ServerConfig {
            interval: 1,
            ..ServerConfig::default()
        })
        .await,
    );
    let decider = approve_when_pending(&server, false);
    let home = Home::new();
    let run = home
        .run(&[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--json",
        ])
        .await;
    decider.abort();
    assert_eq!(run.code, 3, "{}", run.stderr);
    let last = run.events().pop().unwrap_or_default();
    assert_eq!(last["event"], "error");
    assert_eq!(last["error"], "access_denied");
    assert_eq!(last["exit_code"], 3);
    assert!(run.stderr.contains("access denied"), "{}", run.stderr);
}

#[tokio::test]
async fn microsoft_declined_is_a_denial_too() {
    let server = server(ServerConfig {
        quirks: Quirks::Microsoft,
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: false,
        }),
        ..ServerConfig::default()
    })
    .await;
    let run = Home::new()
        .run(&[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
        ])
        .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("authorization_declined"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn expiry_exits_4_for_every_quirks_profile() {
    let mut runs = Vec::new();
    for quirks in Quirks::ALL {
        runs.push(tokio::spawn(async move {
            let server = server(ServerConfig {
                quirks,
                interval: 1,
                device_code_ttl: 2,
                ..ServerConfig::default()
            })
            .await;
            let mut args = vec![
                "login".to_string(),
                "--client-id".into(),
                DEMO_CLIENT_ID.into(),
                "--json".into(),
            ];
            if quirks == Quirks::Github {
                args.extend([
                    "--device-authorization-endpoint".into(),
                    server.device_authorization_endpoint().to_string(),
                    "--token-endpoint".into(),
                    server.token_endpoint().to_string(),
                ]);
            } else {
                args.extend(["--issuer".into(), server.issuer_str()]);
            }
            if quirks == Quirks::Dot {
                args.extend([
                    "--device-authorization-endpoint".into(),
                    server.device_authorization_endpoint().to_string(),
                ]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            (quirks, Home::new().run(&args).await)
        }));
    }
    for run in runs {
        let (quirks, run) = run.await.expect("join a login run");
        assert_eq!(run.code, 4, "{quirks}: {}", run.stderr);
        assert!(
            run.elapsed < Duration::from_secs(10),
            "{quirks}: took {:?}",
            run.elapsed
        );
        assert!(run.stderr.contains("expired"), "{quirks}: {}", run.stderr);
        assert_eq!(
            run.events().pop().unwrap_or_default()["error"],
            "expired_token",
            "{quirks}"
        );
    }
}

/// The whole life of a session against a server with django-oauth-toolkit's rules
/// (`Quirks::Dot`): no device endpoint in discovery, revocation and introspection only in the
/// RFC 8414 document, an exact form content type, `client_id` in the body with HTTP Basic,
/// opaque tokens, the ID token only with a refresh. Each step fails if one of the client's
/// fixes is removed: the lone `--device-authorization-endpoint` (login), `client_id` beside
/// Basic (every request), the merged metadata (introspection, revocation), the ID token
/// fetched by a refresh (`token --id-token`), and why introspection was not attempted.
#[tokio::test]
async fn a_django_oauth_toolkit_session_from_login_to_logout() {
    let server = server(ServerConfig {
        quirks: Quirks::Dot,
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let issuer = server.issuer_str();
    let home = Home::new();
    let env = [
        ("TVLOGIN_STORE", "file"),
        ("DOT_SECRET", BASIC_CLIENT_SECRET),
    ];
    let login = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &issuer,
                "--device-authorization-endpoint",
                server.device_authorization_endpoint().as_str(),
                "--client-id",
                BASIC_CLIENT_ID,
                "--auth",
                "basic",
                "--client-secret-env",
                "DOT_SECRET",
                "--scope",
                "openid profile offline_access",
                "--json",
            ],
            &env,
        )
        .await;
    assert_eq!(login.code, 0, "{}{}", login.stdout, login.stderr);
    let tokens = login.events().pop().unwrap_or_default();
    assert_eq!(tokens["event"], "tokens", "{}", login.stdout);
    assert_eq!(tokens["has_id_token"], false, "{}", login.stdout);

    // The ID token arrives with the first refresh at this server.
    let id = home.run_with_env(&["token", "--id-token"], &env).await;
    assert_eq!(id.code, 0, "{}", id.stderr);
    assert_eq!(id.stdout.trim().split('.').count(), 3, "{}", id.stdout);
    assert_eq!(common::refresh_outcomes(&server), ["tokens"]);

    let refresh = home.run_with_env(&["refresh"], &env).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    assert_eq!(common::refresh_outcomes(&server), ["tokens", "tokens"]);

    // An opaque token, verified by introspection found in the RFC 8414 document only.
    let access = home.run_with_env(&["token"], &env).await;
    assert_eq!(access.code, 0, "{}", access.stderr);
    let token_file = home.dir.path().join("access.token");
    std::fs::write(&token_file, access.stdout.trim()).expect("write the token file");
    let token_path = token_file.to_string_lossy().into_owned();
    let inspect = |extra: &'static [&'static str]| {
        let mut args = vec![
            "inspect".to_string(),
            token_path.clone(),
            "--issuer".into(),
            issuer.clone(),
            "--json".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_string()));
        args
    };
    let args = inspect(&[
        "--client-id",
        BASIC_CLIENT_ID,
        "--client-secret-env",
        "DOT_SECRET",
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let verified = home.run_with_env(&args, &env).await;
    let report: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap_or_default();
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    assert_eq!(report["verdict"], "verified", "{report}");

    // --introspection-endpoint alone, without discovery.
    let introspect_at = server.introspection_endpoint().to_string();
    let direct = home
        .run_with_env(
            &[
                "inspect",
                &token_path,
                "--introspection-endpoint",
                &introspect_at,
                "--client-id",
                BASIC_CLIENT_ID,
                "--client-secret-env",
                "DOT_SECRET",
                "--json",
            ],
            &env,
        )
        .await;
    let report: serde_json::Value = serde_json::from_str(&direct.stdout).unwrap_or_default();
    assert_eq!(
        report["verdict"], "verified",
        "{}{}",
        direct.stdout, direct.stderr
    );

    // Without a client, the report says introspection was not attempted, and why.
    let args = inspect(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let unverified = home.run_with_env(&args, &env).await;
    assert_eq!(unverified.code, 6, "{}", unverified.stderr);
    assert!(
        unverified
            .stdout
            .contains("introspection was not attempted")
            && unverified.stdout.contains("--client-id")
            && !unverified.stdout.contains("did not vouch"),
        "{}",
        unverified.stdout
    );

    let logout = home.run_with_env(&["logout"], &env).await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    let revoked: Vec<String> = server.revocations().into_iter().map(|r| r.kind).collect();
    assert!(
        revoked.iter().any(|k| k == "refresh_token"),
        "logout revoked nothing: {revoked:?}\n{}",
        logout.stderr
    );
}

/// A server that sends no `interval`, never `slow_down`, and its errors with HTTP 200: the
/// client waits RFC 8628's 5 seconds and reads the 200 answers as the errors they are.
#[tokio::test]
async fn no_interval_and_errors_with_200_still_log_in() {
    let server = server(ServerConfig {
        knobs: tvlogin_server::Knobs {
            no_interval: true,
            errors_with_200: true,
            never_slow_down: true,
            ..tvlogin_server::Knobs::default()
        },
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 2,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let run = Home::new()
        .run(&[
            "login",
            "--issuer",
            &server.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--json",
        ])
        .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let events = run.events();
    assert_eq!(events[0]["interval"], 5, "{}", run.stdout);
    let polls: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "poll").collect();
    assert_eq!(polls.len(), 2, "{}", run.stdout);
    assert_eq!(
        polls[0]["outcome"], "authorization_pending",
        "{}",
        run.stdout
    );
    assert_eq!(run.event_names().last().map(String::as_str), Some("tokens"));
    let gaps: Vec<_> = server.polls().iter().map(|p| p.early).collect();
    assert_eq!(gaps, [false, false]);
}
