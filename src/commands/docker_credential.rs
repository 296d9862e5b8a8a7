//! `tvlogin docker-credential get|store|erase|list|version`, also run as
//! `docker-credential-tvlogin`: the docker-credential-helpers protocol.
//!
//! `get` reads the server URL on stdin and answers `{"ServerURL","Username","Secret"}`
//! only for a registry a profile lists in `docker_registries` (exact host and port), reached
//! over https — a bare host means https — or over http to this machine only. Anything else (a
//! registry no profile lists, a plain-http registry elsewhere, a URL with control characters
//! or userinfo) answers `credentials not found in native keychain` on stdout with exit 1 —
//! the exact text docker and its libraries match. Errors go to stdout too (the protocol's error channel: docker
//! discards a helper's stderr); they are also written to stderr for a person running it.

use std::io::{Read, Write};

use serde_json::{Map, Value, json};

use crate::cli::{DockerCredentialArgs, DockerOperation};
use crate::config::ConfigFile;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{self, Context};

use super::helper::{self, Prompt};
use super::places::{Pattern, Place};

/// The one "not found" message docker recognises.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// The username answered with the access token. (A username of `<token>` would tell docker
/// the secret is an identity token, which it is not.)
pub const USERNAME: &str = "oauth2";

const MAX_INPUT: u64 = 64 * 1024;

/// A registry as docker names it, reduced to `host[:port]` lowercased: docker passes bare
/// hosts (`registry.example.com`) and URLs (`https://index.docker.io/v1/`) alike. (What
/// `setup docker` records; `get` matches through [`profile_for`].)
pub fn registry_key(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or(s).to_ascii_lowercase()
}

/// The profile serving `server` (as docker names it: a bare `host[:port]`, which means
/// https, or a URL), if a profile lists it in `docker_registries` and a token may travel
/// there (https, or http to this machine).
pub fn profile_for<'a>(file: &'a ConfigFile, server: &str) -> Option<&'a str> {
    let place = Place::from_url(server.trim(), Some("https"))?;
    if !place.secure_transport() {
        return None;
    }
    let registry = |r: &String| {
        // A registry setting names a host, not a path: docker's URLs carry API paths (`/v1/`).
        Pattern::parse(r).is_some_and(|p| p.specificity() == 0 && p.covers(&place))
    };
    file.profiles
        .iter()
        .find(|(_, p)| p.docker_registries.iter().flatten().any(registry))
        .map(|(name, _)| name.as_str())
}

/// `list`: every registry tvlogin serves, with the username it answers.
pub fn list(file: &ConfigFile) -> Value {
    let mut map = Map::new();
    for profile in file.profiles.values() {
        for registry in profile.docker_registries.iter().flatten() {
            map.insert(registry.clone(), Value::String(USERNAME.into()));
        }
    }
    Value::Object(map)
}

/// `tvlogin docker-credential`.
pub async fn docker_credential(args: DockerCredentialArgs) -> Result<Exit, Error> {
    let outcome = run(args.operation).await;
    match outcome {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            Ok(Exit::Ok)
        }
        Err(Failure::NotFound) => {
            print!("{NOT_FOUND}");
            let _ = std::io::stdout().flush();
            Ok(Exit::Failure)
        }
        Err(Failure::Error(e)) => {
            // stdout is what docker shows; stderr is for a person running it by hand.
            let mut text = crate::sanitize::escape(&e.to_string());
            if let Some(hint) = e.hint() {
                text.push_str(&format!(" ({hint})"));
            }
            print!("{text}");
            let _ = std::io::stdout().flush();
            Err(e)
        }
    }
}

enum Failure {
    NotFound,
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

fn read_stdin() -> String {
    let mut input = String::new();
    let _ = std::io::stdin().take(MAX_INPUT).read_to_string(&mut input);
    input
}

async fn run(operation: DockerOperation) -> Result<String, Failure> {
    if operation == DockerOperation::Version {
        return Ok(format!("tvlogin {}\n", env!("CARGO_PKG_VERSION")));
    }
    let ctx = Context::from_env()?;
    match operation {
        DockerOperation::Version => Ok(String::new()),
        DockerOperation::List => Ok(crate::sanitize::json(&list(&ctx.file))),
        DockerOperation::Get => {
            let server = read_stdin().trim().to_owned();
            let Some(profile) = profile_for(&ctx.file, &server) else {
                return Err(Failure::NotFound);
            };
            let token = helper::access_token(
                &ctx,
                profile,
                session::DEFAULT_MIN_TTL,
                Prompt::stderr_if_terminal(),
            )
            .await?;
            helper::printable(&token, "hand it out")?;
            Ok(crate::sanitize::json(&json!({
                "ServerURL": server,
                "Username": USERNAME,
                "Secret": token.token.secret(),
            })))
        }
        DockerOperation::Store | DockerOperation::Erase => {
            let input = read_stdin();
            // `store` sends the credential JSON, `erase` the bare URL.
            let server = serde_json::from_str::<Value>(&input)
                .ok()
                .and_then(|v| v.get("ServerURL")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| input.trim().to_owned());
            if profile_for(&ctx.file, &server).is_some() {
                Ok(String::new())
            } else {
                Err(Failure::Error(Error::Usage(format!(
                    "tvlogin does not keep docker credentials for {server:?}; it serves only \
                     the registries in its profiles' docker_registries"
                ))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn file() -> ConfigFile {
        let mut file = ConfigFile::default();
        file.profiles.insert(
            "work".into(),
            Profile {
                docker_registries: Some(vec![
                    "registry.example.com".into(),
                    "localhost:5000".into(),
                ]),
                ..Profile::default()
            },
        );
        file.profiles.insert(
            "open".into(),
            Profile {
                docker_registries: Some(vec!["http://plain.example.com".into()]),
                ..Profile::default()
            },
        );
        file
    }

    #[test]
    fn registries_match_however_docker_spells_them() {
        let f = file();
        let table = [
            ("registry.example.com", Some("work")),
            ("https://registry.example.com", Some("work")),
            ("https://Registry.Example.com/v2/", Some("work")),
            ("localhost:5000", Some("work")),
            ("localhost", None),
            ("https://index.docker.io/v1/", None),
            ("registry.example.com.evil", None),
            ("registry.example.com:5000", None),
            ("http://registry.example.com", None),
            ("http://registry.example.com:443", None),
            ("ftp://registry.example.com", None),
            ("https://user:pw@registry.example.com", None),
            ("https://registry.example.com@evil.example", None),
            ("registry.example.com\0", None),
            ("registry.example.com\0.evil.example", None),
            ("registry.example.com\u{1b}[2J", None),
            ("http://localhost:5000", Some("work")),
            ("http://localhost:5000/v2/", Some("work")),
            ("https://localhost:5000", Some("work")),
            ("http://plain.example.com", None),
            ("https://plain.example.com", None),
            ("  registry.example.com\n", Some("work")),
            ("", None),
        ];
        for (server, want) in table {
            assert_eq!(profile_for(&f, server), want, "{server}");
        }
    }

    #[test]
    fn list_names_every_registry() {
        assert_eq!(
            list(&file()),
            json!({
                "registry.example.com": "oauth2",
                "localhost:5000": "oauth2",
                "http://plain.example.com": "oauth2",
            })
        );
    }
}
