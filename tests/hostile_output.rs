//! Against the hostile embedded server (`Quirks::Hostile`: C1 CSI/OSC, BEL, bidi overrides and
//! isolates, zero-width characters and a BOM in error descriptions, the scope, the `name`
//! claim, the user code and a message), no output of any command carries a raw control or
//! format character: every `--json` command, plain `status`, and the plain streams of the rest.

mod common;

use common::{Home, Run, server};
use tvlogin_server::{AutoDecision, DEMO_CLIENT_ID, Quirks, ServerConfig};

/// Every byte of both streams is printable, or a line break.
fn assert_clean(what: &str, run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let bad: Vec<String> = text
            .chars()
            .filter(|c| *c != '\n' && tvlogin::sanitize::is_dangerous(*c))
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        assert!(bad.is_empty(), "{what}: raw {bad:?} on {stream}:\n{text:?}");
    }
}

fn hostile(approve: bool) -> ServerConfig {
    ServerConfig {
        quirks: Quirks::Hostile,
        interval: 1,
        auto_decision: Some(AutoDecision {
            on_poll: 2,
            approve,
        }),
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn no_command_prints_the_servers_control_characters() {
    tvlogin::install_crypto_provider();
    let server = server(hostile(true)).await;
    let issuer = server.issuer_str();
    let home = Home::new();
    let file_store = [("TVLOGIN_STORE", "file")];
    let login = |json: bool, profile: &'static str| {
        let mut args = vec![
            "login",
            "--issuer",
            &issuer,
            "--client-id",
            DEMO_CLIENT_ID,
            "--scope",
            "openid profile offline_access",
            "--profile",
            profile,
            "--no-tui",
        ];
        if json {
            args.push("--json");
        }
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };

    let run = home
        .run_with_env(&as_refs(&login(true, "default")), &file_store)
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    // The hostile text did arrive (escaped), so the check below is not vacuous.
    assert!(
        run.stdout.contains("\\u{202e}") || run.stdout.contains("\\\\u{202e}"),
        "{}",
        run.stdout
    );
    assert_clean("login --json", &run);
    let run = home
        .run_with_env(&as_refs(&login(false, "plain")), &file_store)
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("\\u{9b}"), "{}", run.stderr);
    assert_clean("login (plain)", &run);

    let run = home.run(&["status", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("\\u009b"),
        "the scope is there, escaped: {}",
        run.stdout
    );
    let doc: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert!(
        doc.to_string().contains('\u{202e}'),
        "JSON still carries the text itself"
    );
    assert_clean("status --json", &run);
    let run = home.run(&["status"]).await;
    assert_clean("status", &run);

    let run = home.run(&["token", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_clean("token --json", &run);
    let run = home.run(&["token", "--id-token"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let id_token = home.dir.path().join("id");
    std::fs::write(&id_token, run.stdout.trim()).expect("write the id token file");
    let id_token = id_token.to_string_lossy().into_owned();
    let run = home
        .run(&["inspect", "--json", "--issuer", &issuer, &id_token])
        .await;
    assert!(
        run.stdout.contains("\\u202e"),
        "the name claim, escaped: {}",
        run.stdout
    );
    assert_clean("inspect --json", &run);
    let run = home.run(&["inspect", "--issuer", &issuer, &id_token]).await;
    assert_clean("inspect", &run);

    let run = home.run(&["refresh"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_clean("refresh", &run);
    let run = home.run(&["doctor", "--json", "--issuer", &issuer]).await;
    assert_clean("doctor --json", &run);
    let run = home.run(&["doctor", "--issuer", &issuer]).await;
    assert_clean("doctor", &run);
    let run = home.run(&["logout", "--profile", "plain"]).await;
    assert_clean("logout", &run);
    let run = home.run(&["status", "--json"]).await;
    assert_clean("status --json after logout", &run);

    // A denial: the error event carries the server's description.
    let denying = server_denying().await;
    let run = home
        .run(&[
            "login",
            "--issuer",
            &denying.issuer_str(),
            "--client-id",
            DEMO_CLIENT_ID,
            "--profile",
            "denied",
            "--json",
        ])
        .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("\"event\":\"error\""), "{}", run.stdout);
    assert_clean("login --json (denied)", &run);
}

fn as_refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

async fn server_denying() -> tvlogin_server::ServerHandle {
    server(hostile(false)).await
}
