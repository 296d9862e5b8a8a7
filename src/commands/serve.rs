//! `tvlogin serve`: the embedded authorization server in the foreground.

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::server::{ServerConfig, ServerHandle};

use super::shutdown_signal;

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
