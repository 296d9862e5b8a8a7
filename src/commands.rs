//! The subcommands: each turns its parsed flags into work and an exit code.

use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use crate::cli::{DemoArgs, LoginArgs, ServeArgs};
use crate::config::{ConfigFile, EndpointOverrides, EndpointSource, LoginConfig, Paths};
use crate::error::Error;
use crate::exit::Exit;
use crate::login::{self, OutputMode, Reporter};
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::device::DeviceRequest;
use crate::oauth::http::HttpSettings;
use crate::sanitize::escape;
use crate::server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

/// `tvlogin login`.
pub async fn login(args: LoginArgs) -> Result<Exit, Error> {
    let paths = Paths::from_env()?;
    let path = paths.config_file();
    let file = ConfigFile::load(&path)?;
    let config = LoginConfig::resolve(&args, &file, &path, &|var| std::env::var(var).ok())?;
    let mode = if args.json {
        OutputMode::Json
    } else {
        OutputMode::Plain
    };
    run_login(&config, mode).await
}

/// Runs a login with the process's stdout/stderr, cancelled by Ctrl-C or SIGTERM.
async fn run_login(config: &LoginConfig, mode: OutputMode) -> Result<Exit, Error> {
    let mut reporter = Reporter::new(mode, std::io::stdout(), std::io::stderr());
    let result = tokio::select! {
        result = login::login(config, &mut reporter) => result.map(|_| Exit::Ok),
        () = shutdown_signal() => Err(Error::Cancelled),
    };
    if let Err(e) = &result {
        reporter.error(e);
    }
    result
}

/// Resolves on Ctrl-C, and on SIGTERM or SIGHUP where those exist.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = signal(SignalKind::hangup()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            Some(()) = async { term.as_mut()?.recv().await } => {}
            Some(()) = async { hup.as_mut()?.recv().await } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `tvlogin serve`.
pub async fn serve(args: ServeArgs) -> Result<Exit, Error> {
    let quirks = args.quirks;
    let server = ServerHandle::start(ServerConfig {
        port: args.port,
        quirks,
        interval: args.interval.max(1),
        device_code_ttl: args.device_code_ttl.max(1),
        access_token_ttl: args.access_token_ttl.max(1),
        ..ServerConfig::default()
    })
    .await
    .map_err(|e| {
        Error::Other(format!(
            "cannot start the server on port {}: {e}",
            args.port
        ))
    })?;
    println!("{}", server.issuer_str());
    eprintln!(
        "tvlogin serve: {quirks} behaviour; discovery at {}/.well-known/openid-configuration\n\
         clients: {} (public), {} / {} (client_secret_basic), {} / {} (client_secret_post)\n\
         approve codes at {}; Ctrl-C stops",
        server.issuer_str(),
        crate::server::DEMO_CLIENT_ID,
        crate::server::BASIC_CLIENT_ID,
        crate::server::BASIC_CLIENT_SECRET,
        crate::server::POST_CLIENT_ID,
        crate::server::POST_CLIENT_SECRET,
        server.verification_uri(),
    );
    tokio::select! {
        result = server.wait() => result.map_err(|e| Error::Other(format!("the server stopped: {e}")))?,
        () = shutdown_signal() => {}
    }
    Ok(Exit::Ok)
}

/// `tvlogin demo`: the embedded server plus a login against it.
pub async fn demo(args: DemoArgs) -> Result<Exit, Error> {
    let server = ServerHandle::start(ServerConfig {
        quirks: args.quirks,
        // Short enough that approval shows up quickly, long enough to read each poll.
        interval: 2,
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
    };
    let mode = if args.json {
        OutputMode::Json
    } else {
        OutputMode::Plain
    };
    let server = std::sync::Arc::new(server);
    let approver = spawn_approver(&server, args.approve_after, mode);
    let result = run_login(&config, mode).await;
    approver.abort();
    let _ = approver.await;
    if let Ok(server) = std::sync::Arc::try_unwrap(server) {
        server.shutdown().await;
    }
    result
}

/// Stands in for the phone: approves after a delay, or on `a`/`d` typed at the terminal.
fn spawn_approver(
    server: &std::sync::Arc<ServerHandle>,
    approve_after: Option<u64>,
    mode: OutputMode,
) -> tokio::task::JoinHandle<()> {
    let server = std::sync::Arc::clone(server);
    if let Some(secs) = approve_after {
        return tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            for code in server.pending_user_codes() {
                let _ = server.approve(&code);
            }
        });
    }
    if mode == OutputMode::Plain && std::io::stdin().is_terminal() {
        eprintln!(
            "This is a demo: tvlogin's embedded server at {} plays the provider.\n\
             Open the link below in a browser on this machine, or type a then Enter to approve,\n\
             d then Enter to deny.",
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
