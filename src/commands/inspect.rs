//! `tvlogin inspect [FILE|-]`: decode any token and check what can be checked. Plain text or
//! `--json`; the token comes from a file or stdin, never from argv.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use crate::secret::ClientSecret;
use url::Url;

use crate::cli::InspectArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::inspector::Inspector;
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::http::{HttpSettings, MAX_BODY, check_url};
use crate::sanitize::json_pretty;
use crate::token::jwt::Decoded;
use crate::token::remote::{self, JwksSource, Remote};
use crate::token::report::{self, Options};
use crate::token::time::local_offset;
use crate::token::verify::{HmacSecret, Leeway};

/// Runs `tvlogin inspect`.
pub async fn inspect(args: InspectArgs) -> Result<Exit, Error> {
    let env = |name: &str| std::env::var(name).ok();
    let (token, options, settings) = prepare(&args, &env)?;
    let mut remote = Remote::lazy(settings);
    let report = report::inspect(&token, options, &mut remote).await;
    let offset = |at: i64| local_offset(at);
    if !args.json && !args.no_tui && crate::runtime::tui_output_possible() {
        let colors = crate::ui::theme::color_mode(
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("COLORTERM").ok().as_deref(),
        );
        let now = crate::clock::UnixTime::now();
        let title = tab_title(&report);
        let tabs = Inspector::tabs_for(title, token, report);
        return crate::inspector::run::run(Inspector::new(
            tabs,
            now,
            local_offset(now.secs()),
            colors,
        ))
        .await;
    }
    if args.json {
        println!("{}", json_pretty(&report.to_json(&offset)));
    } else {
        print!("{}", report.to_plain(&offset));
    }
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
        Some(text) if text.starts_with("https://") || text.starts_with("http://") => {
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
