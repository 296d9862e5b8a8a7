//! `tvlogin serve`: the embedded authorization server in the foreground.

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::exit::Exit;
use std::time::Duration;

use std::io::{IsTerminal, Write};

use tokio::sync::mpsc::UnboundedReceiver;
use tvlogin_server::{GradeConfig, Knobs, Report, ServerConfig, ServerHandle};

use crate::signals::stop_requested;

/// `tvlogin serve`: the server, a log line per request on stderr, and optionally an
/// approver standing in for the person (`--approve-after`) or the grader (`--grade`).
pub async fn serve(args: ServeArgs) -> Result<Exit, Error> {
    let quirks = args.quirks;
    let mut knobs = knobs(&args.knobs)?;
    knobs.dpop = args.dpop;
    let grade = args.grade.then(|| GradeConfig {
        scenarios: args.grade_scenarios.clone(),
        idle: Duration::from_secs(args.grade_idle.max(1)),
        approve_after: args.approve_after.map(Duration::from_secs),
    });
    let mut json_out = match &args.grade_json {
        Some(path) if path.as_os_str() != "-" => Some(
            std::fs::File::create(path)
                .map_err(|e| Error::Other(format!("cannot write {}: {e}", path.display())))?,
        ),
        _ => None,
    };
    let json_stdout = args
        .grade_json
        .as_ref()
        .is_some_and(|p| p.as_os_str() == "-");
    let (log, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let server = ServerHandle::start_logged(
        ServerConfig {
            knobs,
            port: args.port,
            quirks,
            interval: args.interval.max(1),
            device_code_ttl: args.device_code_ttl.max(1),
            access_token_ttl: args.access_token_ttl.max(1),
            grade,
            ..ServerConfig::default()
        },
        log.clone(),
    )
    .await
    .map_err(|e| {
        Error::Other(format!(
            "cannot start the server on port {}: {e}",
            args.port
        ))
    })?;
    println!("{}", server.issuer_str());
    eprintln!("{}", banner(&server, args.approve_after));
    // The server's lines and the approver's go out one whole line at a time.
    let printer = tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            eprintln!("tvlogin serve: {line}");
        }
    });
    // In grading mode the grader decides (per scenario) instead of the approver.
    let approver = args.approve_after.filter(|_| !args.grade).map(|secs| {
        tokio::spawn(
            server
                .controls()
                .approve_each_after(Duration::from_secs(secs), Some(log)),
        )
    });
    let mut reports = server.grade_reports();
    let controls = server.controls();
    let card_on_stdout = !json_stdout;
    let color = !crate::tui::caps::no_color()
        && if card_on_stdout {
            std::io::stdout().is_terminal()
        } else {
            std::io::stderr().is_terminal()
        };
    let mut emit = |report: Report| -> Result<(), Error> {
        let card = report.render(color);
        let json = report.to_json().to_string();
        // The file, then the card, then the JSON on stdout: whoever has read one output can
        // rely on the ones before it being written.
        if let Some(file) = json_out.as_mut() {
            writeln!(file, "{json}")
                .and_then(|()| file.flush())
                .map_err(|e| Error::Other(format!("cannot write the grade JSON: {e}")))?;
        }
        if card_on_stdout {
            println!("{card}");
        } else {
            eprintln!("{card}");
        }
        if json_stdout {
            println!("{json}");
        }
        Ok(())
    };
    let wait = server.wait();
    tokio::pin!(wait);
    let stop = stop_requested();
    tokio::pin!(stop);
    let result = loop {
        tokio::select! {
            result = &mut wait => break result.map_err(|e| Error::Other(format!("the server stopped: {e}"))),
            () = &mut stop => {
                // The flows still open are graded as they stand.
                controls.finish_grading();
                if let Some(rx) = reports.as_mut() {
                    while let Ok(report) = rx.try_recv() {
                        emit(report)?;
                    }
                }
                break Ok(());
            }
            Some(report) = next_report(&mut reports) => emit(report)?,
        }
    };
    if let Some(approver) = approver {
        approver.abort();
        let _ = approver.await;
    }
    printer.abort();
    result.map(|()| Exit::Ok)
}

/// The next report of a grading server (never, without grading).
async fn next_report(reports: &mut Option<UnboundedReceiver<Report>>) -> Option<Report> {
    match reports {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The start-up text: what is replayed, where discovery is, the clients, and how to approve
/// a code from a script.
fn banner(server: &ServerHandle, approve_after: Option<u64>) -> String {
    let knobs = server.config().knobs.clone();
    let mut text = format!(
        "tvlogin serve: {} behaviour; discovery at {}/.well-known/openid-configuration \
         and {}/.well-known/oauth-authorization-server\n\
         clients: {} (public), {} / {} (client_secret_basic), {} / {} (client_secret_post)\n",
        server.config().quirks,
        server.issuer_str(),
        server.issuer_str(),
        tvlogin_server::DEMO_CLIENT_ID,
        tvlogin_server::BASIC_CLIENT_ID,
        tvlogin_server::BASIC_CLIENT_SECRET,
        tvlogin_server::POST_CLIENT_ID,
        tvlogin_server::POST_CLIENT_SECRET,
    );
    if knobs.discovery_without_device_endpoint {
        text.push_str(&format!(
            "device authorization endpoint (not in discovery): {}\n",
            server.device_authorization_endpoint()
        ));
    }
    text.push_str(&format!(
        "approve codes at {}, or from a script:\n  {}\n",
        server.verification_uri(),
        approve_command(server, "CODE")
    ));
    if let Some(secs) = approve_after {
        text.push_str(&format!(
            "every code is approved {secs}s after it is issued (--approve-after)\n"
        ));
    }
    if let Some(grade) = &server.config().grade {
        let scenarios: Vec<&str> = if grade.scenarios.is_empty() {
            tvlogin_server::Scenario::ALL
                .iter()
                .map(|s| s.name())
                .collect()
        } else {
            grade.scenarios.iter().map(|s| s.name()).collect()
        };
        text.push_str(&format!(
            "grading: successive flows provoke {} in turn; a report card per flow when it \
             ends (or {}s after its last request)\n",
            scenarios.join(", "),
            grade.idle.as_secs()
        ));
    }
    text.push_str("one line per request follows (no secrets); Ctrl-C stops");
    text
}

/// The `curl` command that approves `code` at the verification page (its form's fields:
/// `user_code`, and `action=approve`).
fn approve_command(server: &ServerHandle, code: &str) -> String {
    format!(
        "curl -d 'user_code={code}&action=approve' {}",
        server.verification_uri()
    )
}

/// Parses `--knob NAME[=VALUE]` flags.
fn knobs(flags: &[String]) -> Result<Knobs, Error> {
    let mut k = Knobs::default();
    for flag in flags {
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (flag.trim(), None),
        };
        let number = || {
            value.and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| {
                Error::Usage(format!("--knob {name} needs a number: --knob {name}=N"))
            })
        };
        match name {
            "refresh-delay-ms" => k.refresh_delay = Some(Duration::from_millis(number()?)),
            "revoke-delay-ms" => k.revoke_delay = Some(Duration::from_millis(number()?)),
            "revoke-status" => {
                k.revoke_status = Some(u16::try_from(number()?).unwrap_or(503));
            }
            "refresh-errors-empty" => k.refresh_errors_empty = true,
            "lowercase-token-type" => k.lowercase_token_type = true,
            "revoke-jwt-unsupported" => k.revoke_jwt_unsupported = true,
            "revoke-refuses-public" => k.revoke_refuses_public_clients = true,
            "revoke-jwt-ignored" => k.revoke_jwt_ignored = true,
            "no-device-endpoint-discovered" => k.discovery_without_device_endpoint = true,
            "endpoints-only-in-rfc8414" => k.management_endpoints_only_in_rfc8414 = true,
            "exact-content-type" => k.strict_form_content_type = true,
            "client-id-with-basic" => k.client_id_required_with_basic = true,
            "never-slow-down" => k.never_slow_down = true,
            "no-interval" => k.no_interval = true,
            "errors-with-200" => k.errors_with_200 = true,
            "id-token-only-on-refresh" => k.id_token_only_on_refresh = true,
            "introspection-needs-secret" => k.introspection_needs_secret = true,
            "dpop-nonce" => k.dpop_nonce = true,
            "dpop-bind-refresh-only" => k.dpop_bind_refresh_only = true,
            "device-grant-blocked" => k.device_grant_blocked = true,
            "verification-uri" => {
                let url = value
                    .and_then(|v| url::Url::parse(v).ok())
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        Error::Usage(
                            "--knob verification-uri needs an http(s) URL: --knob verification-uri=URL"
                                .into(),
                        )
                    })?;
                k.verification_uri = Some(url.to_string());
            }
            _ => {
                return Err(Error::Usage(format!(
                    "unknown --knob {name:?}; known: refresh-delay-ms=N, refresh-errors-empty, \
                     lowercase-token-type, revoke-jwt-unsupported, revoke-jwt-ignored, \
                     revoke-refuses-public, revoke-status=N, revoke-delay-ms=N, \
                     no-device-endpoint-discovered, endpoints-only-in-rfc8414, \
                     exact-content-type, client-id-with-basic, never-slow-down, no-interval, \
                     errors-with-200, id-token-only-on-refresh, introspection-needs-secret, \
                     device-grant-blocked, verification-uri=URL, dpop-nonce, \
                     dpop-bind-refresh-only"
                )));
            }
        }
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knob_flags() {
        let k = knobs(&[
            "refresh-delay-ms=250".into(),
            "revoke-refuses-public".into(),
        ])
        .expect("valid knobs");
        assert_eq!(k.refresh_delay, Some(Duration::from_millis(250)));
        assert!(k.revoke_refuses_public_clients && !k.revoke_jwt_unsupported);
        assert!(knobs(&["refresh-delay-ms".into()]).is_err());
        assert!(knobs(&["nope".into()]).is_err());
        let k = knobs(&[
            "device-grant-blocked".into(),
            "verification-uri=https://device.example.net/activate".into(),
        ])
        .expect("valid knobs");
        assert!(k.device_grant_blocked);
        assert_eq!(
            k.verification_uri.as_deref(),
            Some("https://device.example.net/activate")
        );
        assert!(knobs(&["verification-uri".into()]).is_err());
        assert!(knobs(&["verification-uri=javascript:alert(1)".into()]).is_err());
    }
}
