//! The refresh_token grant through our HTTP client and the one token parser, against the
//! embedded server's rotating refresh tokens (a replayed one revokes the grant).
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;

use std::path::Path;

use common::server;
use tvlogin::cli::LoginArgs;
use tvlogin::config::{ConfigFile, LoginConfig};
use tvlogin::login::{self, OutputMode, Reporter};
use tvlogin::oauth::http::Http;
use tvlogin::oauth::refresh::{RefreshFailure, refresh};
use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, Quirks, ServerConfig};

async fn logged_in(
    quirks: Quirks,
) -> (
    tvlogin_server::ServerHandle,
    LoginConfig,
    tvlogin::oauth::token::TokenResponse,
) {
    tvlogin::install_crypto_provider();
    let server = server(ServerConfig {
        quirks,
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    })
    .await;
    let args = LoginArgs {
        device_authorization_endpoint: Some(server.device_authorization_endpoint().to_string()),
        token_endpoint: Some(server.token_endpoint().to_string()),
        client_id: Some(DEMO_CLIENT_ID.into()),
        scope: Some("openid offline_access".into()),
        ..LoginArgs::default()
    };
    let config = LoginConfig::resolve(&args, &ConfigFile::default(), Path::new("none"), &|_| None)
        .expect("resolve the login config");
    let mut reporter = Reporter::new(OutputMode::Json, Vec::new(), Vec::new());
    let tokens = login::login(&config, &mut reporter)
        .await
        .expect("log in to the embedded server")
        .tokens;
    (server, config, tokens)
}

#[tokio::test]
async fn rotation_and_replay_detection() {
    let (server, config, tokens) = logged_in(Quirks::Rfc).await;
    let http = Http::new(config.http).expect("build the HTTP client");
    let token_endpoint = server.token_endpoint();
    let first = tokens.refresh_token.expect("no refresh token");

    let renewed = refresh(&http, &config.client, &token_endpoint, &first, None)
        .await
        .expect("refresh with the first token");
    let second = renewed
        .refresh_token
        .clone()
        .expect("the refresh token was not rotated");
    assert_ne!(second.secret(), first.secret());
    assert_ne!(renewed.access_token.secret(), tokens.access_token.secret());
    assert!(renewed.id_token.is_some(), "the refresh keeps the id_token");

    // Replaying the rotated token is refused and kills the whole grant.
    let replay = refresh(&http, &config.client, &token_endpoint, &first, None).await;
    assert!(
        matches!(&replay, Err(RefreshFailure::Ended { detail }) if detail.contains("invalid_grant")),
        "{replay:?}"
    );
    let after = refresh(&http, &config.client, &token_endpoint, &second, None).await;
    assert!(
        matches!(&after, Err(RefreshFailure::Ended { detail }) if detail.contains("invalid_grant")),
        "{after:?}"
    );
    let outcomes: Vec<String> = server.refreshes().into_iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes.first().map(String::as_str),
        Some("tokens"),
        "{outcomes:?}"
    );
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
}

#[tokio::test]
async fn github_errors_with_http_200_reach_us_as_errors() {
    let (server, config, tokens) = logged_in(Quirks::Github).await;
    let http = Http::new(config.http).expect("build the HTTP client");
    let rt = tokens.refresh_token.expect("no refresh token");
    let renewed = refresh(&http, &config.client, &server.token_endpoint(), &rt, None)
        .await
        .expect("refresh");
    assert!(renewed.access_token.secret().starts_with("gho_"));
    let bogus = tvlogin::secret::RefreshToken::new("ghr_bogus".into());
    let err = refresh(
        &http,
        &config.client,
        &server.token_endpoint(),
        &bogus,
        None,
    )
    .await;
    assert!(matches!(&err, Err(RefreshFailure::Ended { .. })), "{err:?}");
}

#[tokio::test]
async fn google_keeps_the_refresh_token() {
    let (server, config, tokens) = logged_in(Quirks::Google).await;
    let http = Http::new(config.http).expect("build the HTTP client");
    let rt = tokens.refresh_token.expect("no refresh token");
    let renewed = refresh(&http, &config.client, &server.token_endpoint(), &rt, None)
        .await
        .expect("refresh");
    assert!(renewed.refresh_token.is_none(), "Google does not rotate");
    let again = refresh(&http, &config.client, &server.token_endpoint(), &rt, None).await;
    assert!(again.is_ok(), "{again:?}");
}
