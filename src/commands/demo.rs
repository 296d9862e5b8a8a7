//! `tvlogin demo`: the embedded server plus a login against it, with no account.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::DemoArgs;
use crate::config::{EndpointOverrides, EndpointSource, LoginConfig};
use crate::error::Error;
use crate::exit::Exit;
use crate::login::OutputMode;
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::device::DeviceRequest;
use crate::oauth::http::HttpSettings;
use crate::sanitize::escape;
use tvlogin_server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

use super::login::{plain_qr, run_login, run_tui};
use crate::tui::login::executor::DemoDecide;

/// `tvlogin demo`: the embedded server plus a login against it.
pub async fn demo(args: DemoArgs) -> Result<Exit, Error> {
    let server = ServerHandle::start(ServerConfig {
        quirks: args.quirks,
        // Short enough that approval shows up quickly, long enough to read each poll.
        interval: 2,
        // The demo shows a session bound to this machine's key (DPoP).
        knobs: tvlogin_server::Knobs {
            dpop: tvlogin_server::DpopMode::Optional,
            ..tvlogin_server::Knobs::default()
        },
        ..ServerConfig::default()
    })
    .await
    .map_err(|e| Error::Other(format!("cannot start the embedded server: {e}")))?;
    let config = LoginConfig {
        profile: "demo".into(),
        source: EndpointSource::Discover(server.issuer()),
        overrides: EndpointOverrides::default(),
        provider: None,
        client: OAuthClient {
            id: DEMO_CLIENT_ID.into(),
            secret: None,
            auth: AuthMethod::None,
        },
        request: DeviceRequest {
            scope: Some("openid profile email offline_access".into()),
            ..DeviceRequest::default()
        },
        http: HttpSettings::default(),
        // A demo never writes the user's keyring or files.
        store: Some(crate::store::Backend::Memory),
        client_secret_env: None,
        // Auto: the embedded server advertises DPoP, so the demo shows a bound session.
        dpop: None,
        flow: crate::oauth::authcode::LoginFlow::Device,
        redirect: crate::config::RedirectSettings::default(),
    };
    let mode = if args.json {
        OutputMode::Json
    } else {
        OutputMode::Plain
    };
    let server = Arc::new(server);
    let tui = !args.json && !args.no_tui && crate::tui::caps::tui_possible();
    let approver = spawn_approver(&server, args.approve_after, mode, tui);
    let result = if tui {
        let at_server = Arc::clone(&server);
        let decide: DemoDecide = Arc::new(move |user_code: &str, approve: bool| {
            let result = if approve {
                at_server.approve(user_code)
            } else {
                at_server.deny(user_code)
            };
            match (result, approve) {
                (Ok(()), true) => "Approved at the demo server".to_owned(),
                (Ok(()), false) => "Denied at the demo server".to_owned(),
                (Err(e), _) => e.to_string(),
            }
        });
        run_tui(config, Some(decide), false).await
    } else {
        run_login(&config, mode, plain_qr(mode, args.no_qr)).await
    };
    approver.abort();
    let _ = approver.await;
    if let Ok(server) = Arc::try_unwrap(server) {
        server.shutdown().await;
    }
    result
}

/// Stands in for the phone: approves after a delay, or on `a`/`d` typed at the terminal.
fn spawn_approver(
    server: &Arc<ServerHandle>,
    approve_after: Option<u64>,
    mode: OutputMode,
    tui: bool,
) -> tokio::task::JoinHandle<()> {
    let server = Arc::clone(server);
    if let Some(secs) = approve_after {
        // As `serve --approve-after`: each code `secs` after it was issued (waiting `secs`
        // from the start and approving whatever was pending then left a login that asked
        // late waiting until its code expired).
        return tokio::spawn(
            server
                .controls()
                .approve_each_after(Duration::from_secs(secs), None),
        );
    }
    // The TUI has its own a/d keys; the line reader is for plain mode on a terminal.
    if !tui && mode == OutputMode::Plain && std::io::stdin().is_terminal() {
        eprintln!(
            "Demo: tvlogin's embedded server at {} plays the provider.\n\
             Approve in a browser on this machine (link below; a phone cannot reach it),\n\
             or type a + Enter to approve, d + Enter to deny.\n",
            escape(&server.issuer_str())
        );
        // stdin is blocking; a thread keeps it off the runtime. It ends with the process.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        return tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                let approve = match line.trim() {
                    "a" | "A" => true,
                    "d" | "D" => false,
                    _ => continue,
                };
                for code in server.pending_user_codes() {
                    let _ = if approve {
                        server.approve(&code)
                    } else {
                        server.deny(&code)
                    };
                }
            }
        });
    }
    tokio::spawn(async {})
}
