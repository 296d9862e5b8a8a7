//! Choosing the store at login through the real binary: the file store on disk (private,
//! atomic, remembered), memory for `demo`, and this machine's missing keyring.

use crate::common;

use common::{Home, server};
use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, ServerConfig};

fn quick() -> ServerConfig {
    ServerConfig {
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 1,
            approve: true,
        }),
        ..ServerConfig::default()
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn a_file_login_is_private_and_remembered() {
    let server = server(quick()).await;
    let home = Home::new();
    let login = |store: Option<&'static str>| {
        let issuer = server.issuer_str();
        let home = &home;
        async move {
            let mut args = vec![
                "login".to_owned(),
                "--issuer".into(),
                issuer,
                "--client-id".into(),
                DEMO_CLIENT_ID.into(),
                "--scope".into(),
                "openid offline_access".into(),
                "--json".into(),
            ];
            if let Some(s) = store {
                args.extend(["--store".into(), s.into()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // No TVLOGIN_STORE: only the flag or the remembered choice decide.
            home.run_with_env(&args, &[("TVLOGIN_STORE", "")]).await
        }
    };
    let run = login(Some("file")).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events().pop().unwrap_or_default()["store"], "file");
    let dir = home.paths().data_dir.join("profiles");
    let tokens = dir.join("default.tokens.json");
    let state = dir.join("default.state.json");
    let text = std::fs::read_to_string(&tokens).expect("read the tokens file");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    assert!(doc["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        doc["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("eyJ"))
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&tokens), 0o600);
        assert_eq!(mode(&state), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    // Only the two files and the lock: no temp file left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert_eq!(
        names,
        ["default.lock", "default.state.json", "default.tokens.json"]
    );

    // The next login of the profile remembers the file store without being told.
    let run = login(None).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events().pop().unwrap_or_default()["store"], "file");
    let again = std::fs::read_to_string(&tokens).unwrap_or_default();
    assert_ne!(again, text, "replaced by the new login");
}

#[tokio::test]
async fn no_keyring_here_fails_before_the_flow_and_names_the_way_out() {
    // The message is this machine's: if a keyring works where the tests run, there is no
    // missing-keyring path to show.
    let probe = tokio::task::spawn_blocking(|| tvlogin::store::keyring::probe("tvlogin-test"))
        .await
        .expect("join the keyring probe");
    if probe.is_ok() {
        // Not a missing part: on a machine with a keyring this path does not exist.
        crate::common::skip::note(
            "no_keyring_here_fails_before_the_flow_and_names_the_way_out",
            "a keyring works on this machine, so there is no missing-keyring path to show",
        );
        return;
    }
    let server = server(quick()).await;
    let home = Home::new();
    for (args, env) in [
        // The default store (nothing said): the keyring.
        (vec![], [("TVLOGIN_STORE", "")]),
        (vec!["--store", "keyring"], [("TVLOGIN_STORE", "")]),
        (vec![], [("TVLOGIN_STORE", "keyring")]),
    ] {
        let issuer = server.issuer_str();
        let mut all = vec!["login", "--issuer", &issuer, "--client-id", DEMO_CLIENT_ID];
        all.extend(args);
        let run = home.run_with_env(&all, &env).await;
        assert_eq!(run.code, 2, "{all:?}: {}", run.stderr);
        for want in [
            "the OS keyring is not available",
            "--store file",
            "TVLOGIN_STORE=file",
        ] {
            assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
        }
        // On Linux the reason names what is missing.
        #[cfg(target_os = "linux")]
        assert!(
            run.stderr.contains("D-Bus") || run.stderr.contains("Secret Service"),
            "{}",
            run.stderr
        );
        // Nobody was asked to type a code.
        assert!(!run.stderr.contains("Enter the code"), "{}", run.stderr);
    }
    assert!(server.pending_user_codes().is_empty());
    assert!(server.polls().is_empty());
    // JSON mode reports it as an error event too.
    let issuer = server.issuer_str();
    let run = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &issuer,
                "--client-id",
                DEMO_CLIENT_ID,
                "--json",
            ],
            &[("TVLOGIN_STORE", "keyring")],
        )
        .await;
    assert_eq!(run.code, 2);
    let last = run.events().pop().unwrap_or_default();
    assert_eq!(last["event"], "error");
    assert_eq!(last["exit_code"], 2);
    // doctor explains it too, and still exits 0: the file store works.
    let run = home.run(&["doctor"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[warning] keyring"), "{}", run.stdout);
    assert!(run.stdout.contains("[ok]      file"), "{}", run.stdout);
}

#[tokio::test]
async fn demo_always_keeps_its_tokens_in_memory() {
    let home = Home::new();
    let run = home
        .run_with_env(
            &["demo", "--json", "--approve-after", "1"],
            &[("TVLOGIN_STORE", "file")],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events().pop().unwrap_or_default()["store"], "memory");
    assert!(
        !home.paths().data_dir.exists(),
        "a demo wrote to the data dir"
    );
}

#[tokio::test]
async fn doctor_reports_paths_stores_and_the_issuer_clock() {
    let server = server(quick()).await;
    let home = Home::new();
    let run = home
        .run(&["doctor", "--json", "--issuer", &server.issuer_str()])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    assert_eq!(doc["ok"], true, "{doc}");
    let checks = doc["checks"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    for want in ["config", "data", "file", "memory", "login", "issuer"] {
        assert!(names.contains(&want), "{want}: {doc}");
    }
    let issuer = checks
        .iter()
        .find(|c| c["check"] == "issuer")
        .cloned()
        .unwrap_or_default();
    assert_eq!(issuer["status"], "ok", "{issuer}");
    assert!(
        issuer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("clock skew +0 s")
                || d.contains("clock skew -1 s")
                || d.contains("clock skew +1 s")),
        "{issuer}"
    );
    // An unreachable issuer is an error (exit 1).
    let run = home
        .run(&["doctor", "--issuer", "http://127.0.0.1:9"])
        .await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("[error]   issuer"), "{}", run.stdout);
}

/// `--store memory` replaces the profile's saved session like any login: a later `token`
/// must not print the earlier session's token, and its secrets do not linger on disk.
#[tokio::test]
async fn a_memory_login_ends_the_saved_session() {
    let server = server(quick()).await;
    let home = Home::new();
    let login = |store: &'static str| {
        let issuer = server.issuer_str();
        let home = &home;
        async move {
            let args = [
                "login",
                "--issuer",
                &issuer,
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "openid offline_access",
                "--json",
                "--store",
                store,
            ];
            home.run_with_env(&args, &[("TVLOGIN_STORE", "")]).await
        }
    };
    let run = login("file").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = home.paths().data_dir.join("profiles");
    assert!(dir.join("default.tokens.json").exists());
    let run = login("memory").await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events().pop().unwrap_or_default()["store"], "memory");
    let token = home.run(&["token"]).await;
    // Exit 7: no session to use (the profile remembers how it logged in).
    assert_eq!(
        token.code, 7,
        "the earlier session's token: {}",
        token.stdout
    );
    assert!(token.stdout.is_empty());
    assert!(
        token.stderr.contains("is not logged in (logged out"),
        "{}",
        token.stderr
    );
    assert!(
        !dir.join("default.tokens.json").exists(),
        "the earlier session's secrets are still on disk"
    );
    // The store choice for later logins is kept.
    let status = home.run(&["status", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap_or_default();
    assert_eq!(doc["profiles"][0]["logged_in"], false, "{doc}");
    assert_eq!(doc["profiles"][0]["store"], "file", "{doc}");
}
