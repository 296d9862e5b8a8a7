//! The keyring backend through keyring-core's mock store: what goes in which entry, errors a
//! real keyring gives (locked, too long), a keyring that never answers, and the probe that
//! runs before a login.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, CredentialStore, Entry, Error as KError, mock};
use tvlogin::cli::LoginArgs;
use tvlogin::config::{ConfigFile, EndpointSource, LoginConfig, Paths};
use tvlogin::oauth::token::{IdToken, TokenResponse};
use tvlogin::secret::{AccessToken, RefreshToken};
use tvlogin::session::{self, Context, TokenKind};
use tvlogin::store::keyring::{KeyringKind, KeyringStore};
use tvlogin::store::{self, Backend, Secrets, Store, StoreError, TokenStore};

static MOCK: Once = Once::new();

/// Every test in this binary uses keyring-core's mock store as the default store, which
/// tvlogin's keyring backend then uses instead of the OS keyring.
fn mock_store() -> Arc<CredentialStore> {
    MOCK.call_once(|| {
        let store = mock::Store::new().expect("create the mock store");
        keyring_core::set_default_store(store);
    });
    keyring_core::get_default_store().expect("no default store")
}

fn entry(slot: &str, profile: &str) -> Entry {
    mock_store()
        .build("tvlogin", &format!("{slot}:{profile}"), None)
        .expect("build the keyring entry")
}

fn fail_next(slot: &str, profile: &str, error: KError) {
    let e = entry(slot, profile);
    let cred: &mock::Cred = e.as_any().downcast_ref().expect("not a mock credential");
    cred.set_error(error);
}

fn password(slot: &str, profile: &str) -> Option<String> {
    match entry(slot, profile).get_password() {
        Ok(p) => Some(p),
        Err(KError::NoEntry) => None,
        Err(e) => panic!("read the {slot}:{profile} entry: {e}"),
    }
}

fn secrets(rt: &str, at: &str) -> Secrets {
    Secrets {
        refresh_token: Some(RefreshToken::new(rt.into())),
        access_token: Some(AccessToken::new(at.into())),
        id_token: Some(IdToken::new(format!("id-{rt}"))),
        dpop_key: None,
    }
}

fn config(profile: &str) -> LoginConfig {
    let args = LoginArgs {
        profile: Some(profile.into()),
        device_authorization_endpoint: Some("https://idp.example/device".into()),
        token_endpoint: Some("https://idp.example/token".into()),
        client_id: Some("c".into()),
        scope: Some("openid offline_access".into()),
        ..LoginArgs::default()
    };
    LoginConfig::resolve(&args, &ConfigFile::default(), Path::new("none"), &|_| None)
        .expect("resolve the login config")
}

fn paths(dir: &tempfile::TempDir) -> Paths {
    Paths {
        config_dir: dir.path().join("config"),
        data_dir: dir.path().join("data"),
    }
}

#[tokio::test]
async fn a_login_goes_to_the_keyring_and_only_metadata_to_disk() {
    mock_store();
    let dir = tempfile::tempdir().expect("create a temp dir");
    let paths = paths(&dir);
    let config = config("kr-login");
    let choice = store::choose(&paths, &config)
        .await
        .expect("choose the store");
    assert_eq!(choice.backend, Backend::Keyring);
    assert_eq!(choice.keyring, Some(KeyringKind::Default));
    assert_eq!(choice.reason, "default");
    assert_eq!(password("probe", "kr-login"), None, "the probe cleans up");

    let EndpointSource::Fixed(endpoints) = &config.source else {
        panic!("fixed endpoints expected")
    };
    let tokens = TokenResponse {
        access_token: AccessToken::new("at-1".into()),
        token_type: "Bearer".into(),
        expires_in: Some(3600),
        refresh_token: Some(RefreshToken::new("rt-1".into())),
        id_token: None,
        scope: Some("openid offline_access".into()),
        refresh_expires_in: Some(1800),
        extra: serde_json::Map::new(),
    };
    let stored = session::persist_login(&paths, "kr-login", &config, endpoints, &tokens, &choice)
        .await
        .expect("persist the login");
    assert_eq!(stored.backend, Backend::Keyring);
    assert_eq!(stored.location, "keyring (keyring-core default store)");
    // The refresh token alone in its entry; the access token cached in its own.
    assert_eq!(password("refresh", "kr-login").as_deref(), Some("rt-1"));
    assert_eq!(password("access", "kr-login").as_deref(), Some("at-1"));
    assert_eq!(password("id", "kr-login"), None);
    // The data directory holds metadata only.
    let state_path = paths.data_dir.join("profiles/kr-login.state.json");
    let state = std::fs::read_to_string(&state_path).expect("read the state file");
    assert!(
        !state.contains("rt-1") && !state.contains("at-1"),
        "{state}"
    );
    assert!(state.contains("\"store\": \"keyring\""), "{state}");
    assert!(state.contains("\"keyring\": \"default\""), "{state}");
    assert!(
        !paths
            .data_dir
            .join("profiles/kr-login.tokens.json")
            .exists()
    );

    // `token` reads the cached access token back from the keyring.
    let ctx = Context {
        paths: paths.clone(),
        file: ConfigFile::default(),
        env: Box::new(|_| None),
    };
    let t = session::current_token(&ctx, "kr-login", TokenKind::Access, 60)
        .await
        .expect("get the current token");
    assert_eq!(t.token, "at-1");
    assert!(!t.refreshed);

    // Logout without a revocation endpoint: reported, and the entries are gone.
    let mut steps = Vec::new();
    let out = session::logout(&ctx, "kr-login", &mut |s| steps.push(s.clone()))
        .await
        .expect("log out");
    assert!(out);
    assert!(
        steps
            .iter()
            .any(|s| matches!(&s.outcome, session::StepOutcome::Skipped(w) if w.contains("no revocation endpoint"))),
        "{steps:?}"
    );
    assert_eq!(password("refresh", "kr-login"), None);
    assert_eq!(password("access", "kr-login"), None);
    // The store choice outlives the session.
    let again = store::choose(&paths, &config)
        .await
        .expect("choose the store");
    assert_eq!(again.reason, "remembered for this profile");
}

fn keyring() -> KeyringStore {
    KeyringStore::with_store(mock_store(), KeyringKind::Default)
}

/// A DPoP login's key goes to its own entry beside the refresh token, in the same write, and
/// logout deletes it; the state names only its thumbprint.
#[tokio::test]
async fn a_dpop_key_lives_beside_the_refresh_token_and_dies_with_it() {
    use tvlogin::oauth::dpop::{DpopAlg, DpopKey};
    mock_store();
    let dir = tempfile::tempdir().expect("create a temp dir");
    let paths = paths(&dir);
    let config = config("kr-dpop");
    let choice = store::choose(&paths, &config)
        .await
        .expect("choose the store");
    let EndpointSource::Fixed(endpoints) = &config.source else {
        panic!("fixed endpoints expected")
    };
    let tokens = TokenResponse {
        access_token: AccessToken::new("at-d".into()),
        token_type: "DPoP".into(),
        expires_in: Some(3600),
        refresh_token: Some(RefreshToken::new("rt-d".into())),
        id_token: None,
        scope: None,
        refresh_expires_in: None,
        extra: serde_json::Map::new(),
    };
    let key = DpopKey::generate(DpopAlg::Es256).expect("a key");
    session::persist_bound_login(
        &paths,
        "kr-dpop",
        &config,
        endpoints,
        &tokens,
        &choice,
        Some(&key),
    )
    .await
    .expect("persist the login");
    let stored = password("dpop", "kr-dpop").expect("the key's entry");
    assert_eq!(
        DpopKey::from_stored(&stored).map(|k| k.jkt().to_owned()),
        Ok(key.jkt().to_owned())
    );
    assert_eq!(password("refresh", "kr-dpop").as_deref(), Some("rt-d"));
    let state = std::fs::read_to_string(paths.data_dir.join("profiles/kr-dpop.state.json"))
        .expect("read the state file");
    assert!(state.contains(key.jkt()), "{state}");
    assert!(!state.contains(&stored), "{state}");
    let ctx = Context {
        paths: paths.clone(),
        file: ConfigFile::default(),
        env: Box::new(|_| None),
    };
    let t = session::current_token(&ctx, "kr-dpop", TokenKind::Access, 60)
        .await
        .expect("get the current token");
    assert_eq!(t.dpop_key.as_ref().map(DpopKey::jkt), Some(key.jkt()));
    assert!(t.dpop_bound_access);
    session::logout(&ctx, "kr-dpop", &mut |_| {})
        .await
        .expect("log out");
    assert_eq!(password("dpop", "kr-dpop"), None);
    assert_eq!(password("refresh", "kr-dpop"), None);
}

#[test]
fn an_oversized_cache_entry_is_skipped_not_fatal() {
    let store = keyring();
    fail_next("access", "kr-big", KError::TooLong("secret".into(), 2560));
    store
        .save("kr-big", &secrets("rt-big", "at-big"))
        .expect("save the secrets");
    let loaded = store
        .load("kr-big")
        .expect("load the secrets")
        .unwrap_or_default();
    assert_eq!(
        loaded.refresh_token.as_ref().map(|t| t.secret().as_str()),
        Some("rt-big")
    );
    assert!(loaded.access_token.is_none(), "not cached at all");
    assert_eq!(
        loaded.id_token.as_ref().map(IdToken::secret),
        Some("id-rt-big")
    );
}

#[test]
fn an_oversized_refresh_token_is_a_size_limit() {
    let store = keyring();
    fail_next("refresh", "kr-huge", KError::TooLong("secret".into(), 2560));
    let err = store.save("kr-huge", &secrets("rt", "at")).err();
    let text = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(err, Some(StoreError::KeyringUnavailable { .. })));
    assert!(text.contains("size limit"), "{text}");
    assert!(text.contains("--store file"), "{text}");
}

#[test]
fn a_locked_keyring_keeps_the_old_refresh_token() {
    let store = keyring();
    store
        .save("kr-locked", &secrets("rt-old", "at-old"))
        .expect("save the secrets");
    fail_next(
        "refresh",
        "kr-locked",
        KError::NoStorageAccess("Locked".to_owned().into()),
    );
    let err = store
        .save("kr-locked", &secrets("rt-new", "at-new"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("locked"), "{err}");
    let loaded = store.load("kr-locked").ok().flatten().unwrap_or_default();
    assert_eq!(loaded, secrets("rt-old", "at-old"));
}

#[tokio::test]
async fn a_locked_keyring_is_reported_before_the_flow() {
    mock_store();
    let dir = tempfile::tempdir().expect("create a temp dir");
    fail_next(
        "probe",
        "kr-probe",
        KError::NoStorageAccess("Locked".to_owned().into()),
    );
    let err = store::choose(&paths(&dir), &config("kr-probe")).await.err();
    let Some(StoreError::KeyringUnavailable { reason }) = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("collection is locked"), "{reason}");
    let error: tvlogin::error::Error = err.expect("choose failed above").into();
    assert_eq!(error.exit().code(), 2);
}

/// A keyring that never answers, like a Secret Service collection waiting for an unlock
/// prompt nobody sees.
#[derive(Debug)]
struct Hanging;

#[derive(Debug)]
struct HangingCred;

fn hang() {
    std::thread::sleep(Duration::from_secs(3));
}

impl CredentialStoreApi for Hanging {
    fn vendor(&self) -> String {
        "hanging".into()
    }
    fn id(&self) -> String {
        "hanging".into()
    }
    fn build(
        &self,
        _service: &str,
        _user: &str,
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> keyring_core::Result<Entry> {
        Ok(Entry::new_with_credential(Arc::new(HangingCred)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl CredentialApi for HangingCred {
    fn set_secret(&self, _secret: &[u8]) -> keyring_core::Result<()> {
        hang();
        Ok(())
    }
    fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
        hang();
        Err(KError::NoEntry)
    }
    fn delete_credential(&self) -> keyring_core::Result<()> {
        hang();
        Ok(())
    }
    fn get_credential(&self) -> keyring_core::Result<Option<Arc<Credential>>> {
        Ok(None)
    }
    fn get_specifiers(&self) -> Option<(String, String)> {
        None
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[tokio::test]
async fn a_keyring_that_never_answers_cannot_hang_tvlogin() {
    let hanging: Arc<CredentialStore> = Arc::new(Hanging);
    let store = Store::new(Arc::new(KeyringStore::with_store(
        hanging,
        KeyringKind::SecretService,
    )))
    .with_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = store.load("p").await.err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let Some(StoreError::KeyringUnavailable { reason }) = err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("did not answer"), "{reason}");
    assert!(reason.contains("locked collection"), "{reason}");
}

/// The login TUI calls these from tokio tasks: their futures must be `Send`.
#[test]
fn the_tui_api_is_usable_from_spawned_tasks() {
    fn send<T: Send + 'static>(_: &T) {}
    fn send_ref<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().expect("create a temp dir");
    let paths = paths(&dir);
    let config = config("kr-send");
    let EndpointSource::Fixed(endpoints) = &config.source else {
        panic!("fixed endpoints expected")
    };
    let tokens = TokenResponse {
        access_token: AccessToken::new("a".into()),
        token_type: "Bearer".into(),
        expires_in: None,
        refresh_token: None,
        id_token: None,
        scope: None,
        refresh_expires_in: None,
        extra: serde_json::Map::new(),
    };
    let choice = store::StoreChoice::file(&paths, "kr-send");
    send(&choice);
    send_ref(&store::choose(&paths, &config));
    send_ref(&store::remember(&paths, "kr-send", Backend::File));
    send_ref(&session::persist_login(
        &paths, "kr-send", &config, endpoints, &tokens, &choice,
    ));
}

fn response(at: &str, rt: &str, id: Option<&str>) -> TokenResponse {
    TokenResponse {
        access_token: AccessToken::new(at.into()),
        token_type: "Bearer".into(),
        expires_in: Some(3600),
        refresh_token: Some(RefreshToken::new(rt.into())),
        id_token: id.map(|i| IdToken::new(i.into())),
        scope: Some("openid offline_access".into()),
        refresh_expires_in: None,
        extra: serde_json::Map::new(),
    }
}

/// Logs `profile` in through `persist_login` with `tokens` into `choice`.
async fn persist(
    paths: &Paths,
    profile: &str,
    tokens: &TokenResponse,
    choice: &store::StoreChoice,
) -> Result<store::Stored, tvlogin::error::Error> {
    let config = config(profile);
    let EndpointSource::Fixed(endpoints) = &config.source else {
        panic!("fixed endpoints expected")
    };
    session::persist_login(paths, profile, &config, endpoints, tokens, choice).await
}

fn keyring_choice() -> store::StoreChoice {
    store::StoreChoice {
        backend: Backend::Keyring,
        keyring: Some(KeyringKind::Default),
        location: "keyring (keyring-core default store)".into(),
        reason: "asked for",
    }
}

/// A new login whose keyring writes fail part-way must never leave the new refresh token
/// next to the earlier session's access or id token: `token` would hand those out.
#[tokio::test]
async fn a_relogin_that_fails_part_way_never_mixes_two_sessions() {
    mock_store();
    for (n, failing) in ["access", "id"].into_iter().enumerate() {
        let profile = format!("kr-mix-{n}");
        let dir = tempfile::tempdir().expect("create a temp dir");
        let paths = paths(&dir);
        persist(
            &paths,
            &profile,
            &response("at-old", "rt-old", Some("id-old")),
            &keyring_choice(),
        )
        .await
        .expect("persist the login");
        fail_next(
            failing,
            &profile,
            KError::NoStorageAccess("Locked".to_owned().into()),
        );
        let err = persist(
            &paths,
            &profile,
            &response("at-new", "rt-new", Some("id-new")),
            &keyring_choice(),
        )
        .await;
        assert!(err.is_err(), "{failing}: the write was meant to fail");
        let (rt, at, id) = (
            password("refresh", &profile),
            password("access", &profile),
            password("id", &profile),
        );
        let old = |v: &Option<String>| v.as_deref().is_some_and(|v| v.ends_with("-old"));
        if rt.as_deref() == Some("rt-new") {
            assert!(
                !old(&at) && !old(&id),
                "{failing}: new refresh token with the old session's tokens: {at:?} {id:?}"
            );
        } else {
            assert_eq!(rt.as_deref(), Some("rt-old"), "{failing}");
        }
    }
}

/// The state is written before the earlier store's secrets are deleted: when the state
/// cannot be written, it still points at a store that holds the earlier session.
#[tokio::test]
async fn a_failed_state_write_keeps_the_earlier_stores_secrets() {
    mock_store();
    let dir = tempfile::tempdir().expect("create a temp dir");
    let paths = paths(&dir);
    let profile = "kr-move";
    let file_choice = store::StoreChoice::file(&paths, profile);
    persist(
        &paths,
        profile,
        &response("at-f", "rt-f", None),
        &file_choice,
    )
    .await
    .expect("persist the login");
    let profiles = paths.data_dir.join("profiles");
    let state_path = profiles.join(format!("{profile}.state.json"));
    let state_before = std::fs::read_to_string(&state_path).expect("read the state file");
    // The state file's temp file cannot be created: its name is taken by a directory.
    std::fs::create_dir(profiles.join(format!(".{profile}.state.json.tmp")))
        .expect("take the temp file's name with a directory");
    let result = persist(
        &paths,
        profile,
        &response("at-k", "rt-k", None),
        &keyring_choice(),
    )
    .await;
    assert!(result.is_err(), "the state write was meant to fail");
    let state_after = std::fs::read_to_string(&state_path).expect("read the state file");
    assert_eq!(
        state_after, state_before,
        "the state still names the file store"
    );
    let file = store::file::FileStore::new(&paths)
        .load(profile)
        .expect("load from the file store")
        .unwrap_or_default();
    assert_eq!(
        file.refresh_token.as_ref().map(|t| t.secret().as_str()),
        Some("rt-f"),
        "the secrets the state points at are still there"
    );
}

/// A logout that cannot read the tokens revokes nothing, says so, and keeps the session so
/// the tokens are not orphaned in the keyring.
#[tokio::test]
async fn a_logout_that_cannot_read_the_keyring_keeps_the_session() {
    mock_store();
    let dir = tempfile::tempdir().expect("create a temp dir");
    let paths = paths(&dir);
    let profile = "kr-logout-locked";
    persist(
        &paths,
        profile,
        &response("at-l", "rt-l", None),
        &keyring_choice(),
    )
    .await
    .expect("persist the login");
    let state_path = paths
        .data_dir
        .join(format!("profiles/{profile}.state.json"));
    let state_before = std::fs::read_to_string(&state_path).expect("read the state file");
    fail_next(
        "refresh",
        profile,
        KError::NoStorageAccess("Locked".to_owned().into()),
    );
    let ctx = Context {
        paths: paths.clone(),
        file: ConfigFile::default(),
        env: Box::new(|_| None),
    };
    let mut steps = Vec::new();
    let result = session::logout(&ctx, profile, &mut |s| steps.push(s.clone())).await;
    let Err(e) = result else {
        panic!("logout succeeded: {steps:?}")
    };
    assert_ne!(e.exit().code(), 0);
    for name in ["refresh token", "access token"] {
        let step = steps
            .iter()
            .find(|s| s.what == format!("revoke the {name}"))
            .unwrap_or_else(|| panic!("no revocation step for the {name}: {steps:?}"));
        let session::StepOutcome::Failed(why) = &step.outcome else {
            panic!("{step:?}")
        };
        assert!(why.to_string().contains("locked"), "{why}");
    }
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s.outcome, session::StepOutcome::Done)),
        "{steps:?}"
    );
    let state_after = std::fs::read_to_string(&state_path).expect("read the state file");
    assert_eq!(state_after, state_before, "the session is kept");
    assert_eq!(password("refresh", profile).as_deref(), Some("rt-l"));
    assert_eq!(password("access", profile).as_deref(), Some("at-l"));
}

/// Storing a login's tokens runs to completion even when whoever awaited it gives up (a
/// Ctrl-C that cancels the login future while the tokens are being written).
#[tokio::test]
async fn a_cancelled_caller_does_not_stop_the_tokens_from_being_stored() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let paths = paths(&dir);
    let profile = "kr-detached";
    let config = config(profile);
    let EndpointSource::Fixed(endpoints) = config.source.clone() else {
        panic!("fixed endpoints expected")
    };
    let choice = store::StoreChoice::file(&paths, profile);
    // Another process holds the profile's lock, so the store write waits for it.
    let held = store::lock::ProfileLock::acquire(&paths, profile, Duration::ZERO)
        .await
        .expect("take the profile lock");
    let persisting = session::persist_login_detached(
        paths.clone(),
        config,
        endpoints,
        response("at-d", "rt-d", None),
        choice,
        None,
    );
    let cancelled = tokio::time::timeout(Duration::from_millis(100), persisting).await;
    assert!(cancelled.is_err(), "the caller gave up while it waited");
    drop(held);
    let state_path = paths
        .data_dir
        .join(format!("profiles/{profile}.state.json"));
    let started = Instant::now();
    while !state_path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the tokens were never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = store::file::FileStore::new(&paths)
        .load(profile)
        .expect("load from the file store")
        .unwrap_or_default();
    assert_eq!(
        stored.refresh_token.as_ref().map(|t| t.secret().as_str()),
        Some("rt-d")
    );
}
