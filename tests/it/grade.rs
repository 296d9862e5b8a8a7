//! `serve --grade` against tvlogin itself: with every scenario, the real binary's login,
//! refreshes and logout earn full marks (a regression test of our own client's manners), and
//! the checks each scenario is there to exercise are exercised. Then `serve --grade` as a
//! process: the report card and the JSON document reach their outputs.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tvlogin_server::{
    DEMO_CLIENT_ID, DpopMode, GradeConfig, Knobs, Report, Scenario, ServerConfig, Verdict,
};

use crate::common::{self, FILE_STORE, Home};

/// Starts a grading server for one scenario: interval 1 s, approval after 1 s, a flow ends
/// 2 s after its last request, DPoP optional (so tvlogin binds its session and the DPoP
/// checks are exercised).
async fn grading(scenario: Scenario) -> tvlogin_server::ServerHandle {
    common::server(ServerConfig {
        interval: 1,
        knobs: Knobs {
            dpop: DpopMode::Optional,
            ..Knobs::default()
        },
        grade: Some(GradeConfig {
            scenarios: vec![scenario],
            idle: Duration::from_secs(2),
            approve_after: Some(Duration::from_secs(1)),
        }),
        ..ServerConfig::default()
    })
    .await
}

/// Logs in with tvlogin (exit code as given), runs the follow-up commands (each must exit
/// 0), and returns the flow's report.
async fn graded_run(scenario: Scenario, login_exit: i32, then: &[&[&str]]) -> Report {
    let server = grading(scenario).await;
    let mut reports = server.grade_reports().expect("grading reports");
    let home = Home::new();
    let issuer = server.issuer_str();
    let login = home
        .run_with_env(
            &[
                "login",
                "--issuer",
                &issuer,
                "--client-id",
                DEMO_CLIENT_ID,
                "--scope",
                "openid offline_access",
                "--no-browser",
            ],
            &FILE_STORE,
        )
        .await;
    assert_eq!(login.code, login_exit, "{scenario}: {}", login.stderr);
    for args in then {
        let run = home.run_with_env(args, &FILE_STORE).await;
        assert_eq!(run.code, 0, "{scenario}: tvlogin {args:?}: {}", run.stderr);
    }
    let report = tokio::time::timeout(Duration::from_secs(30), reports.recv())
        .await
        .unwrap_or_else(|_| panic!("{scenario}: no report within 30 s"))
        .expect("a report");
    server.shutdown().await;
    report
}

/// Full marks, nothing failed, and `exercised` passed (not merely not exercised).
#[track_caller]
fn full_marks(report: &Report, scenario: Scenario, exercised: &[&str]) {
    let card = report.render(false);
    assert_eq!(report.scenario, scenario.name(), "{card}");
    assert_eq!((report.score, report.grade), (100, 'A'), "{card}");
    assert_eq!(report.failures().count(), 0, "{card}");
    for id in exercised {
        let f = report.finding(id).expect("every check is reported");
        assert_eq!(
            f.verdict,
            Verdict::Pass,
            "{scenario}: {id} {}\n{card}",
            f.evidence
        );
    }
}

const REFRESH_LOGOUT: &[&[&str]] = &[&["refresh"], &["logout"]];

const SHAPE: [&str; 6] = [
    "shape.post",
    "shape.form",
    "shape.client-id",
    "shape.grant-type",
    "shape.no-query-secrets",
    "shape.accept-json",
];

#[tokio::test]
async fn tvlogin_earns_full_marks_pending() {
    let r = graded_run(Scenario::Pending, 0, REFRESH_LOGOUT).await;
    let mut must = SHAPE.to_vec();
    must.extend([
        "pacing.interval",
        "pacing.stop-on-error",
        "tokens.revocation",
        "tokens.client-auth",
    ]);
    full_marks(&r, Scenario::Pending, &must);
}

#[tokio::test]
async fn tvlogin_earns_full_marks_slow_down() {
    let r = graded_run(Scenario::SlowDown, 0, REFRESH_LOGOUT).await;
    full_marks(
        &r,
        Scenario::SlowDown,
        &["pacing.interval", "pacing.slow-down"],
    );
}

#[tokio::test]
async fn tvlogin_earns_full_marks_backoff() {
    let r = graded_run(Scenario::Backoff, 0, REFRESH_LOGOUT).await;
    full_marks(&r, Scenario::Backoff, &["pacing.backoff"]);
}

#[tokio::test]
async fn tvlogin_earns_full_marks_rotate() {
    let r = graded_run(
        Scenario::Rotate,
        0,
        &[&["refresh"], &["refresh"], &["logout"]],
    )
    .await;
    full_marks(
        &r,
        Scenario::Rotate,
        &[
            "tokens.newest-refresh",
            "tokens.revocation",
            "tokens.client-auth",
        ],
    );
}

#[tokio::test]
async fn tvlogin_earns_full_marks_deny() {
    let r = graded_run(Scenario::Deny, 3, &[]).await;
    full_marks(&r, Scenario::Deny, &["pacing.stop-on-error"]);
    let stop = r
        .finding("pacing.stop-on-error")
        .map(|f| f.evidence.clone());
    assert!(
        stop.as_deref().is_some_and(|e| e.contains("access_denied")),
        "{stop:?}"
    );
}

#[tokio::test]
async fn tvlogin_earns_full_marks_expire() {
    let r = graded_run(Scenario::Expire, 4, &[]).await;
    full_marks(
        &r,
        Scenario::Expire,
        &["pacing.stop-at-expiry", "pacing.interval"],
    );
}

#[tokio::test]
async fn tvlogin_earns_full_marks_no_interval() {
    let r = graded_run(Scenario::NoInterval, 0, REFRESH_LOGOUT).await;
    full_marks(&r, Scenario::NoInterval, &["pacing.default-interval"]);
}

#[tokio::test]
async fn tvlogin_earns_full_marks_redirect() {
    // tvlogin never follows a redirect from the token endpoint: the login fails instead.
    let r = graded_run(Scenario::Redirect, 5, &[]).await;
    full_marks(&r, Scenario::Redirect, &["redirect.not-followed"]);
}

#[tokio::test]
async fn tvlogin_earns_full_marks_nonce() {
    // tvlogin proves possession of its key on every request and answers the nonce challenge.
    let r = graded_run(Scenario::Nonce, 0, REFRESH_LOGOUT).await;
    full_marks(
        &r,
        Scenario::Nonce,
        &[
            "dpop.every-request",
            "dpop.same-key",
            "dpop.fresh-jti",
            "dpop.claims",
            "dpop.nonce",
        ],
    );
}

/// `serve --grade --grade-json -` as a process: the issuer on the first line, then one JSON
/// document per flow on stdout, the report card on stderr (written before the JSON);
/// Ctrl-C-free: the flow ends idle.
#[tokio::test]
async fn serve_grade_prints_json_and_the_card() {
    let home = Home::new();
    let mut serve = home
        .command(
            &[
                "serve",
                "--grade",
                "--grade-json",
                "-",
                "--grade-scenario",
                "pending",
                "--interval",
                "1",
                "--approve-after",
                "1",
                "--grade-idle",
                "1",
            ],
            &[("NO_COLOR", "1")],
        )
        .spawn()
        .expect("spawn tvlogin serve");
    let stdout = serve.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let issuer = lines
        .next_line()
        .await
        .expect("read stdout")
        .expect("the issuer line");
    let login = home
        .run_with_env(
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
        )
        .await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("a JSON line within 20 s")
        .expect("read stdout")
        .expect("a line");
    let doc: serde_json::Value = serde_json::from_str(&line).expect("one JSON document per line");
    assert_eq!(doc["schema_version"], 1, "{doc}");
    assert_eq!(doc["scenario"], "pending", "{doc}");
    assert_eq!(doc["client_id"], DEMO_CLIENT_ID, "{doc}");
    assert_eq!(doc["score"], 100, "{doc}");
    assert_eq!(doc["grade"], "A", "{doc}");
    assert_eq!(doc["checks"].as_array().map(Vec::len), Some(21), "{doc}");
    serve.start_kill().expect("stop serve");
    let out = common::output_of(serve, "tvlogin serve").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Report card flow 1 · scenario pending"),
        "{stderr}"
    );
    assert!(stderr.contains("score 100/100 · grade A"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "NO_COLOR: {stderr}");
}

/// A second real client: curl, scripted as RFC 8628's examples read (form posts, the
/// interval from the answer or 5 s, +5 s on `slow_down`, stop on anything else). It earns
/// full marks in the pending and slow-down scenarios.
#[tokio::test]
async fn curl_scripted_as_the_rfc_example_earns_full_marks() {
    let test = "grade::curl_scripted_as_the_rfc_example_earns_full_marks";
    let curl = std::process::Command::new("curl")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !curl {
        common::skip::skip_or_fail(test, "curl is not available here");
        return;
    }
    const SCRIPT: &str = r#"
set -eu
field() { printf '%s' "$2" | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
da=$(curl -sS -d client_id=tvlogin-demo -d scope=openid "$ISSUER/device_authorization")
device_code=$(field device_code "$da")
interval=$(field interval "$da")
interval=${interval:-5}
while :; do
  sleep "$interval"
  answer=$(curl -sS -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
    -d "device_code=$device_code" -d client_id=tvlogin-demo "$ISSUER/token")
  case "$(field error "$answer")" in
    authorization_pending) ;;
    slow_down) interval=$((interval + 5)) ;;
    "") echo tokens; exit 0 ;;
    *) echo "$answer"; exit 1 ;;
  esac
done
"#;
    let server = common::server(ServerConfig {
        interval: 1,
        grade: Some(GradeConfig {
            scenarios: vec![Scenario::Pending, Scenario::SlowDown],
            idle: Duration::from_secs(2),
            approve_after: Some(Duration::from_secs(1)),
        }),
        ..ServerConfig::default()
    })
    .await;
    let mut reports = server.grade_reports().expect("grading reports");
    for _ in 0..2 {
        let child = tokio::process::Command::new("bash")
            .args(["-c", SCRIPT])
            .env("ISSUER", server.issuer_str())
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn bash");
        let out = common::output_of(child, "the curl client").await;
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        let report = tokio::time::timeout(Duration::from_secs(30), reports.recv())
            .await
            .expect("a report within 30 s")
            .expect("a report");
        got.push(report);
    }
    got.sort_by_key(|r| r.flow);
    full_marks(
        &got[0],
        Scenario::Pending,
        &["pacing.interval", "shape.form"],
    );
    full_marks(&got[1], Scenario::SlowDown, &["pacing.slow-down"]);
    server.shutdown().await;
}

/// `serve --grade --grade-json FILE`: the card on stdout, without colours when stdout is not
/// a terminal (even without NO_COLOR), and the JSON document in the file (written before the
/// card is printed).
#[tokio::test]
async fn serve_grade_writes_the_card_to_stdout_and_json_to_a_file() {
    let home = Home::new();
    let file = home.dir.path().join("grades.jsonl");
    let file_arg = file.to_string_lossy().into_owned();
    let mut serve = home
        .command(
            &[
                "serve",
                "--grade",
                "--grade-json",
                &file_arg,
                "--grade-scenario",
                "deny",
                "--interval",
                "1",
                "--grade-idle",
                "1",
            ],
            &[],
        )
        .spawn()
        .expect("spawn tvlogin serve");
    let stdout = serve.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let issuer = lines
        .next_line()
        .await
        .expect("read stdout")
        .expect("the issuer line");
    let login = home
        .run_with_env(
            &["login", "--issuer", &issuer, "--client-id", DEMO_CLIENT_ID],
            &FILE_STORE,
        )
        .await;
    assert_eq!(
        login.code, 3,
        "denied without --approve-after: {}",
        login.stderr
    );
    let mut card = String::new();
    while !card.contains("redirect.not-followed") {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the card within 20 s")
            .expect("read stdout")
            .expect("a line");
        card.push_str(&line);
        card.push('\n');
    }
    assert!(
        card.contains("Report card flow 1 · scenario deny"),
        "{card}"
    );
    assert!(!card.contains('\u{1b}'), "no colours into a pipe: {card}");
    serve.start_kill().expect("stop serve");
    let _ = common::output_of(serve, "tvlogin serve").await;
    let text = std::fs::read_to_string(&file).expect("the JSON file");
    let doc: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or_default()).expect("JSON");
    assert_eq!(doc["scenario"], "deny", "{doc}");
    assert_eq!(doc["score"], 100, "{doc}");
}

/// The README's checks table is the table the grader uses: every id with its RFC and weight.
#[test]
fn the_readme_lists_every_check_with_its_weight() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let section = readme
        .split("## Grading a device-flow client")
        .nth(1)
        .expect("the README has the grading section");
    for c in tvlogin_server::grade::CHECKS {
        let row = format!("| `{}` | {} | {} | {} |", c.id, c.what, c.rfc, c.weight);
        assert!(section.contains(&row), "README lacks the row {row}");
    }
}
