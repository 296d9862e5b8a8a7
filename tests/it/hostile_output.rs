//! Against the hostile embedded server (`Quirks::Hostile`: C1 CSI/OSC, BEL, bidi overrides and
//! isolates, zero-width characters and a BOM in error descriptions, the scope, the `name`
//! claim, the user code and a message), no output of any command carries a raw control or
//! format character: every `--json` command, plain `status`, and the plain streams of the rest.
//! One rule for both: JSON values carry the server's exact text (dangerous characters as JSON
//! `\u` escapes, which a parser reads back as the same characters); text for people shows
//! visible escapes (`\x1b`, `\u{9b}`).

use crate::common;

use common::{Canned, Home, Run, canned, discovery_doc, server};
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
    // The hostile text did arrive, as JSON escapes, so the check below is not vacuous; and it
    // reads back as the server's own characters, not as escapes written for a terminal.
    assert!(run.stdout.contains("\\u202e"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("\\u{"),
        "escaped twice: {}",
        run.stdout
    );
    let events = run.events();
    let device = &events[0];
    assert_eq!(device["event"], "device_authorization", "{}", run.stdout);
    for field in ["user_code", "message"] {
        let text = device[field].as_str().unwrap_or_default();
        assert!(
            text.contains('\u{9b}') && text.contains('\u{202e}') && text.contains('\u{7}'),
            "{field}: {text:?}"
        );
    }
    let tokens = events.last().cloned().unwrap_or_default();
    assert!(
        tokens["scope"]
            .as_str()
            .is_some_and(|s| s.contains('\u{9d}')),
        "{tokens}"
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

/// What a hostile provider puts in its device answer's message and its denial: ESC (a CSI
/// colour and an OSC window title ended by BEL), a C1 CSI, a right-to-left override, a
/// directional isolate, a zero-width space and a byte-order mark.
const HOSTILE: &str =
    "\u{1b}[31mred\u{1b}]0;title\u{7} \u{9b}2J \u{202e}evil\u{2066}x\u{2069}\u{200b}\u{feff}";

/// `HOSTILE` as `sanitize::escape` shows it to people, spelled out by hand.
const HOSTILE_SHOWN: &str =
    "\\x1b[31mred\\x1b]0;title\\x07 \\u{9b}2J \\u{202e}evil\\u{2066}x\\u{2069}\\u{200b}\\u{feff}";

/// A provider that sends `HOSTILE` in the device answer's message, then denies the login on
/// the first poll with `HOSTILE` as the error description.
async fn provider_sending_hostile_text() -> String {
    let device = serde_json::json!({
        "device_code": "dc",
        "user_code": "ABCD-EFGH",
        "verification_uri": "{base}/verify",
        "expires_in": 30,
        "interval": 1,
        "message": format!("Enter the code {HOSTILE}"),
    });
    let denial = serde_json::json!({"error": "access_denied", "error_description": HOSTILE});
    canned(vec![
        (
            "/.well-known/openid-configuration",
            Canned::json(200, discovery_doc()),
        ),
        ("/device", Canned::json(200, device.to_string())),
        ("/token", Canned::json(400, denial.to_string())),
    ])
    .await
}

#[tokio::test]
async fn json_carries_the_servers_exact_text_and_plain_text_shows_escapes() {
    let base = provider_sending_hostile_text().await;
    let home = Home::new();
    let login = |json: bool| {
        let mut args = vec!["login", "--issuer", &base, "--client-id", "c", "--no-tui"];
        if json {
            args.push("--json");
        }
        args
    };

    let run = home.run(&login(true)).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_clean("login --json", &run);
    // No escape written for a terminal inside a JSON string: no `\u{…}`, no doubled backslash.
    assert!(
        !run.stdout.contains("\\u{") && !run.stdout.contains("\\\\"),
        "{}",
        run.stdout
    );
    for escaped in [
        "\\u001b", "\\u0007", "\\u009b", "\\u202e", "\\u2066", "\\ufeff",
    ] {
        assert!(run.stdout.contains(escaped), "{escaped}: {}", run.stdout);
    }
    let events = run.events();
    let device = events
        .iter()
        .find(|e| e["event"] == "device_authorization")
        .unwrap_or_else(|| panic!("no device_authorization event: {}", run.stdout));
    assert_eq!(
        device["message"].as_str(),
        Some(format!("Enter the code {HOSTILE}").as_str()),
        "{}",
        run.stdout
    );
    let error = events.last().cloned().unwrap_or_default();
    assert_eq!(error["event"], "error", "{}", run.stdout);
    assert_eq!(error["error"], "access_denied", "{}", run.stdout);
    let description = error["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(HOSTILE),
        "the server's words, exactly: {description:?}"
    );

    let run = home.run(&login(false)).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_clean("login (plain)", &run);
    assert!(
        run.stderr
            .contains(&format!("The server says: Enter the code {HOSTILE_SHOWN}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(HOSTILE_SHOWN),
        "the denial, shown: {}",
        run.stderr
    );
}
