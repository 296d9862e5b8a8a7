//! `tvlogin inspect [FILE|-]`: decode any token and check what can be checked. Plain text or
//! `--json`; the token comes from a file or stdin, never from argv.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::secret::ClientSecret;
use url::Url;

use crate::cli::InspectArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::http::{HttpSettings, MAX_BODY, check_url};
use crate::token::jwt::Decoded;
use crate::token::remote::{self, JwksSource, Remote};
use crate::token::report::Lookup;
use crate::token::report::{self, Options};
use crate::token::time::local_offset;
use crate::token::verify::{HmacSecret, Leeway};
use crate::tui::inspector::{Inspector, Tab, TabBody};

/// Runs `tvlogin inspect`.
pub async fn inspect(args: InspectArgs) -> Result<Exit, Error> {
    let env = |name: &str| std::env::var(name).ok();
    let (token, options, settings) = prepare(&args, &env)?;
    let mut remote = Remote::lazy(settings);
    let lookups = Lookups {
        issuer: options.issuer.clone(),
        introspection: options.introspection.clone(),
        client: options.client.clone(),
    };
    let report = report::inspect(&token, options, &mut remote).await;
    if shows_tui(&args) {
        let colors = crate::tui::caps::colors();
        let now = crate::clock::UnixTime::now();
        let tabs = inspector_tabs(token, report, &lookups, &mut remote).await;
        return crate::tui::inspector::screen::run(Inspector::new(
            tabs,
            now,
            local_offset(now.secs()),
            colors,
        ))
        .await;
    }
    print(&report, &args)
}

/// What `inspect` was given to ask the issuer with, beyond the token's own checks.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// `--issuer URL`.
    pub issuer: Option<Url>,
    /// `--introspection-endpoint URL`, over the issuer's.
    pub introspection: Option<Url>,
    /// The client introspection authenticates as.
    pub client: Option<OAuthClient>,
}

/// The inspector's tabs for one token: the token, then userinfo and introspection. A signed
/// token is sent to the userinfo and introspection endpoints only of the `--issuer` it names
/// (its `iss` check passed), and an id token never to userinfo; when a lookup cannot be made
/// with what was given, its tab says why and what to pass.
pub async fn inspector_tabs(
    token: String,
    report: report::Report,
    lookups: &Lookups,
    remote: &mut Remote,
) -> Vec<Tab> {
    let title = tab_title(&report);
    let names_issuer = report
        .checks
        .iter()
        .any(|c| c.name == "iss" && matches!(c.outcome, crate::token::verify::Outcome::Passed(_)));
    let signed = matches!(report.decoded, Decoded::Jws(_));
    let fetch =
        signed && names_issuer && report.userinfo.is_none() && report.introspection.is_none();
    let info = match &lookups.issuer {
        Some(issuer) if fetch => remote.discover(issuer).await.ok(),
        _ => None,
    };
    let mut tabs = Inspector::tabs_for(title, token.clone(), report);
    let Some(info) = info else {
        return tabs;
    };
    let empty = |title: &str, why: &str| Tab {
        title: title.to_owned(),
        body: TabBody::Empty(why.to_owned()),
    };
    let fields = |title: &str, endpoint: &Url, result| Tab {
        title: title.to_owned(),
        body: TabBody::Fields(Lookup {
            endpoint: endpoint.to_string(),
            result,
        }),
    };
    tabs.push(match &info.userinfo {
        _ if title == "id token" => empty(
            "userinfo",
            "an id token is not sent to userinfo: that endpoint takes access tokens",
        ),
        Some(url) => fields("userinfo", url, remote.userinfo(url, &token).await),
        None => empty(
            "userinfo",
            "the issuer names no userinfo endpoint (it is part of OpenID Connect)",
        ),
    });
    let introspection = lookups
        .introspection
        .as_ref()
        .or(info.introspection.as_ref());
    tabs.push(match (introspection, lookups.client.as_ref()) {
        (Some(url), Some(client)) => fields(
            "introspection",
            url,
            remote.introspect(url, client, &token).await,
        ),
        (Some(_), None) => empty(
            "introspection",
            "the issuer offers introspection, but it needs a client: pass --client-id ID (and \
             --client-secret-env VAR for a confidential client)",
        ),
        (None, _) => empty(
            "introspection",
            "the issuer names no introspection endpoint (RFC 7662)",
        ),
    });
    tabs
}

/// Whether `inspect` with these flags runs without the async runtime: nothing can be fetched
/// (no `--issuer`, no key URL, no introspection client) and no screen is drawn. Such an
/// inspect is a decode and a signature check against local keys, and is benchmarked against
/// jwt-cli's, to which the runtime's set-up would be pure overhead.
pub fn inspect_needs_no_runtime(args: &InspectArgs) -> bool {
    let key_url = args.jwks.as_deref().is_some_and(is_url);
    args.issuer.is_none()
        && args.client_id.is_none()
        && args.introspection_endpoint.is_none()
        && !key_url
        && !shows_tui(args)
}

/// `inspect` for flags [`inspect_needs_no_runtime`] admits, without a runtime. Its [`Remote`]
/// refuses every request, so a change that made such an inspect fetch something would show up
/// as a failed check, never as a hang or a panic.
pub fn inspect_without_runtime(args: &InspectArgs) -> Result<Exit, Error> {
    let env = |name: &str| std::env::var(name).ok();
    let (token, options, _) = prepare(args, &env)?;
    let mut remote = Remote::offline();
    let report = poll_once(report::inspect(&token, options, &mut remote)).ok_or_else(|| {
        Error::Other("inspect: the report waited for the network without a runtime".into())
    })?;
    print(&report, args)
}

/// Polls `future` once. Without IO (an offline [`Remote`]) the report is ready at once; a
/// future that would wait is dropped and reported, rather than blocked on forever.
fn poll_once<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// Whether `--jwks` names a URL (fetched) rather than a file (read).
fn is_url(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// Whether the report is shown in the inspector TUI (a terminal, and neither `--json` nor
/// `--no-tui`).
fn shows_tui(args: &InspectArgs) -> bool {
    !args.json && !args.no_tui && crate::tui::caps::tui_output_possible()
}

/// Prints the report as JSON or plain text, in one write, and returns its exit code.
fn print(report: &report::Report, args: &InspectArgs) -> Result<Exit, Error> {
    let offset = |at: i64| local_offset(at);
    let mut text = Vec::with_capacity(4096);
    if args.json {
        // Serialized straight into one buffer: no intermediate JSON value, no second pass.
        crate::sanitize::write_json(&mut text, &report.to_json(&offset), true)
            .map_err(|e| Error::Other(format!("writing the report: {e}")))?;
        text.push(b'\n');
    } else {
        text = report.to_plain(&offset).into_bytes();
    }
    std::io::stdout()
        .lock()
        .write_all(&text)
        .map_err(|e| Error::Other(format!("writing the report: {e}")))?;
    Ok(report.exit())
}

/// "access token" for RFC 9068 tokens, "id token" when it has OpenID Connect's marks, else
/// "token".
fn tab_title(report: &report::Report) -> &'static str {
    match &report.decoded {
        Decoded::Jws(j) => {
            let typ = j
                .header
                .get("typ")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            if typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
            {
                "access token"
            } else if j.claims.contains_key("nonce")
                || j.claims.contains_key("at_hash")
                || j.claims.contains_key("auth_time")
            {
                "id token"
            } else {
                "token"
            }
        }
        _ => "token",
    }
}

/// Reads the token and resolves the flags; nothing is fetched yet.
pub fn prepare(
    args: &InspectArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Options, HttpSettings), Error> {
    let token = read_token(args.file.as_deref())?;
    let mut settings = HttpSettings {
        allow_http: args.allow_http,
        ..HttpSettings::default()
    };
    if let Some(secs) = args.timeout {
        settings.timeout = Duration::from_secs(secs.max(1));
    }
    let parse_url = |flag: &str, text: &str| {
        Url::parse(text).map_err(|e| Error::Usage(format!("{flag} {text}: not a URL ({e})")))
    };
    let jwks = match args.jwks.as_deref() {
        None => None,
        Some(text) if is_url(text) => {
            let url = parse_url("--jwks", text)?;
            check_url(&url, settings.allow_http)?;
            Some(JwksSource::Url {
                url,
                set: None,
                refetched: false,
            })
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Usage(format!("--jwks {path}: {e}")))?;
            Some(
                remote::parse_key_file(&text, path)
                    .map_err(|e| Error::Usage(format!("--jwks {path} {e}")))?,
            )
        }
    };
    let issuer = args
        .issuer
        .as_deref()
        .map(|t| parse_url("--issuer", t))
        .transpose()?;
    let introspection = args
        .introspection_endpoint
        .as_deref()
        .map(|t| parse_url("--introspection-endpoint", t))
        .transpose()?;
    if let Some(url) = &introspection {
        check_url(url, settings.allow_http)?;
    }
    let secret = match args.secret_env.as_deref() {
        None => None,
        Some(var) => {
            let value = env(var).ok_or_else(|| {
                Error::Usage(format!(
                    "--secret-env {var}: that environment variable is not set"
                ))
            })?;
            Some(
                HmacSecret::new(value.into_bytes())
                    .map_err(|e| Error::Usage(format!("--secret-env {var}: {e}")))?,
            )
        }
    };
    let client = match args.client_id.clone() {
        None => None,
        Some(id) => {
            let secret = match args.client_secret_env.as_deref() {
                None => None,
                Some(var) => Some(ClientSecret::new(env(var).ok_or_else(|| {
                    Error::Usage(format!(
                        "--client-secret-env {var}: that environment variable is not set"
                    ))
                })?)),
            };
            let auth = args.auth.unwrap_or(if secret.is_some() {
                AuthMethod::Basic
            } else {
                AuthMethod::None
            });
            Some(OAuthClient { id, secret, auth })
        }
    };
    Ok((
        token,
        Options {
            jwks,
            issuer,
            introspection,
            audience: args.audience.clone(),
            secret,
            client,
            leeway: args
                .leeway
                .map(|s| Leeway::uniform(i64::from(s)))
                .unwrap_or_default(),
        },
        settings,
    ))
}

/// The token from a file, or stdin for `-` or nothing. A path that does not exist but looks
/// like a token gets a pointed message: tokens on argv end up in shell history.
fn read_token(file: Option<&Path>) -> Result<String, Error> {
    let mut bytes = Vec::new();
    let limit = MAX_BODY as u64 + 1;
    match file {
        Some(path) if path.as_os_str() != "-" => {
            let f = std::fs::File::open(path).map_err(|e| {
                let text = path.to_string_lossy();
                if !path.exists() && (text.starts_with("eyJ") || text.len() > 64) {
                    Error::Usage(
                        "the argument is not a file; tvlogin never takes a token on the command \
                         line (it would stay in shell history): pipe it in, e.g. \
                         `pbpaste | tvlogin inspect`, or pass a file"
                            .into(),
                    )
                } else {
                    Error::Usage(format!("{}: {e}", crate::sanitize::escape(&text)))
                }
            })?;
            f.take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::Other(format!("reading the token: {e}")))?;
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("Paste a token, then press Enter and Ctrl-D:");
            }
            stdin
                .lock()
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::Other(format!("reading the token from stdin: {e}")))?;
        }
    }
    if bytes.len() as u64 >= limit {
        return Err(Error::Usage(format!(
            "the input is larger than {} KiB; that is not a token",
            MAX_BODY / 1024
        )));
    }
    // Bytes that are not UTF-8 become U+FFFD, which the decoder refuses as "not a token"
    // (exit 6, like any other input that cannot be a token).
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.trim().is_empty() {
        return Err(Error::Usage("no token: the input is empty".into()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only an inspect with nothing to fetch and no screen to draw skips the runtime; the
    /// rest need it (a request, or the inspector TUI).
    #[test]
    fn only_local_plain_inspects_run_without_the_runtime() {
        let json = |edit: fn(&mut InspectArgs)| {
            let mut args = InspectArgs {
                json: true,
                ..InspectArgs::default()
            };
            edit(&mut args);
            inspect_needs_no_runtime(&args)
        };
        assert!(json(|_| {}));
        assert!(json(|a| a.jwks = Some("keys.json".into())));
        assert!(json(|a| a.secret_env = Some("K".into())));
        assert!(json(|a| a.audience = Some("api".into())));
        assert!(!json(|a| a.jwks = Some("https://idp.example/jwks".into())));
        assert!(!json(|a| a.jwks = Some("http://127.0.0.1:9/jwks".into())));
        assert!(!json(|a| a.issuer = Some("https://idp.example".into())));
        assert!(!json(|a| a.client_id = Some("c".into())));
        assert!(!json(
            |a| a.introspection_endpoint = Some("https://idp.example/i".into())
        ));
    }

    /// The offline remote answers every request with an error at once: a report that tried
    /// to fetch without a runtime would show a failed lookup, never hang or panic.
    #[test]
    fn the_offline_remote_refuses_every_request() {
        let mut remote = Remote::offline();
        let issuer = Url::parse("https://idp.example").expect("a URL");
        let refused = poll_once(remote.discover(&issuer)).expect("answered without waiting");
        let error = refused.expect_err("refused").to_string();
        assert!(error.contains("makes no requests"), "{error}");
        let jwks = Url::parse("https://idp.example/jwks").expect("a URL");
        assert!(
            poll_once(remote.fetch_jwks(&jwks))
                .expect("answered without waiting")
                .is_err()
        );
    }
}
