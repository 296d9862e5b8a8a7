//! `tvlogin serve`: the embedded authorization server in the foreground.

use crate::cli::ServeArgs;
use crate::error::Error;
use crate::exit::Exit;
use std::time::Duration;

use tvlogin_server::{Knobs, ServerConfig, ServerHandle};

use crate::signals::stop_requested;

/// `tvlogin serve`.
pub async fn serve(args: ServeArgs) -> Result<Exit, Error> {
    let quirks = args.quirks;
    let knobs = knobs(&args.knobs)?;
    let server = ServerHandle::start(ServerConfig {
        knobs,
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
        tvlogin_server::DEMO_CLIENT_ID,
        tvlogin_server::BASIC_CLIENT_ID,
        tvlogin_server::BASIC_CLIENT_SECRET,
        tvlogin_server::POST_CLIENT_ID,
        tvlogin_server::POST_CLIENT_SECRET,
        server.verification_uri(),
    );
    tokio::select! {
        result = server.wait() => result.map_err(|e| Error::Other(format!("the server stopped: {e}")))?,
        () = stop_requested() => {}
    }
    Ok(Exit::Ok)
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
                     lowercase-token-type, revoke-jwt-unsupported, revoke-refuses-public, \
                     revoke-status=N, revoke-delay-ms=N, device-grant-blocked, \
                     verification-uri=URL"
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
