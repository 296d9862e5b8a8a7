//! `tvlogin git-credential get|store|erase`: git's credential-helper protocol
//! (gitcredentials(7), git-credential(1)).
//!
//! git writes `key=value` lines ending with a blank line on stdin; `get` answers with
//! `username`, `password` (the access token) and `password_expiry_utc`, or — when git
//! announces `capability[]=authtype` and the profile sets `git_bearer` — with
//! `authtype=Bearer` and `credential=<token>`. stdout carries protocol lines only; everything
//! meant for a person goes to stderr (or, for a login, to /dev/tty).

use std::io::{BufRead, Read, Write};

use crate::cli::{GitCredentialArgs, GitOperation};
use crate::config::{ConfigFile, DEFAULT_PROFILE};
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{self, Context, IssuedToken};

use super::helper::{self, Prompt};

/// The username answered when the profile sets no `git_username`.
pub const DEFAULT_USERNAME: &str = "oauth2";

/// Most git sends is a few hundred bytes; anything this large is not git.
const MAX_INPUT: u64 = 64 * 1024;

/// One request from git: its attributes in order (repeated keys such as `capability[]`
/// keep every value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    attributes: Vec<(String, String)>,
}

impl Request {
    /// Parses git's `key=value` lines up to the first blank line (or the end).
    pub fn parse(text: &str) -> Self {
        let attributes = text
            .lines()
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self { attributes }
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether git announced `capability[]=NAME`.
    pub fn has_capability(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|(k, v)| k == "capability[]" && v == name)
    }

    /// The host without a port, lowercased.
    fn host_name(&self) -> Option<String> {
        let host = self.get("host")?;
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => host.rsplit_once(':').map_or(host, |(name, _)| name),
        };
        Some(name.to_ascii_lowercase())
    }
}

/// Whether a token may be sent for this request: https, or http to a loopback host only
/// (a bearer token in clear text over a network is given away).
pub fn may_send(request: &Request) -> bool {
    match request.get("protocol") {
        Some("https") => true,
        Some("http") => request
            .host_name()
            .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "::1"),
        _ => false,
    }
}

/// The profile answering `request`: the one named on the command line, else the profile
/// whose `git_hosts` lists the request's host (`host` or `host:port`), else `default`.
pub fn pick_profile(named: Option<String>, file: &ConfigFile, request: &Request) -> String {
    if let Some(name) = named {
        return name;
    }
    let host = request.get("host").map(str::to_ascii_lowercase);
    let host_name = request.host_name();
    file.profiles
        .iter()
        .find(|(_, p)| {
            p.git_hosts.iter().flatten().any(|h| {
                let h = h.to_ascii_lowercase();
                Some(&h) == host.as_ref() || Some(&h) == host_name.as_ref()
            })
        })
        .map_or_else(|| DEFAULT_PROFILE.to_owned(), |(name, _)| name.clone())
}

/// The lines answering `get` (without the final blank line git does not need).
pub fn answer(request: &Request, token: &IssuedToken, username: &str, bearer: bool) -> String {
    let mut out = String::new();
    if bearer && request.has_capability("authtype") {
        out.push_str("capability[]=authtype\n");
        out.push_str(&format!(
            "authtype={}\n",
            super::token::auth_scheme(&token.token_type)
        ));
        out.push_str(&format!("credential={}\n", token.token.secret()));
    } else {
        out.push_str(&format!("username={username}\n"));
        out.push_str(&format!("password={}\n", token.token.secret()));
    }
    if let Some(at) = token.expires_at {
        out.push_str(&format!("password_expiry_utc={at}\n"));
    }
    out
}

/// Reads git's request up to its blank line (or the end): git closes stdin after writing,
/// but a person typing a request ends it with an empty line. The cap keeps a runaway writer
/// out.
fn read_request(input: impl BufRead) -> String {
    let mut text = String::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        if line.is_empty() {
            break;
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// `tvlogin git-credential`.
pub async fn git_credential(args: GitCredentialArgs) -> Result<Exit, Error> {
    let request = Request::parse(&read_request(std::io::stdin().lock().take(MAX_INPUT)));
    let ctx = Context::from_env()?;
    let profile = pick_profile(args.profile, &ctx.file, &request);
    match args.operation {
        // tvlogin keeps its own tokens; what git would store is already there.
        GitOperation::Store => Ok(Exit::Ok),
        GitOperation::Erase => {
            // Only a token tvlogin handed out is worth remembering as refused.
            if let Some(password) = request.get("password").or(request.get("credential")) {
                helper::mark_refused(&ctx, &profile, password)?;
            }
            Ok(Exit::Ok)
        }
        GitOperation::Get => {
            if !may_send(&request) {
                eprintln!(
                    "tvlogin: not answering for {}://{}: tokens are only sent over https (or \
                     http to this machine)",
                    crate::sanitize::escape(request.get("protocol").unwrap_or("?")),
                    crate::sanitize::escape(request.get("host").unwrap_or("?"))
                );
                return Ok(Exit::Ok);
            }
            let token =
                helper::access_token(&ctx, &profile, session::DEFAULT_MIN_TTL, Prompt::Tty).await?;
            helper::printable(&token, "hand it out")?;
            let settings = ctx.file.profiles.get(&profile);
            let username = settings
                .and_then(|p| p.git_username.clone())
                .unwrap_or_else(|| DEFAULT_USERNAME.into());
            let bearer = settings.and_then(|p| p.git_bearer).unwrap_or(false);
            // git reads lines: a username with a newline would inject attributes.
            if username.contains(['\n', '\r', '\0']) {
                return Err(Error::Usage(format!(
                    "git_username of profile {profile:?} contains a line break"
                )));
            }
            let mut out = std::io::stdout().lock();
            let _ = out
                .write_all(answer(&request, &token, &username, bearer).as_bytes())
                .and_then(|()| out.flush());
            Ok(Exit::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn token() -> IssuedToken {
        IssuedToken {
            token: "tok".into(),
            token_type: "Bearer".into(),
            expires_at: Some(1234),
            scope: None,
            refreshed: false,
        }
    }

    #[test]
    fn requests_parse_up_to_the_blank_line() {
        let r = Request::parse(
            "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=git.example.com:8443\n\nhost=evil\n",
        );
        assert_eq!(r.get("protocol"), Some("https"));
        assert_eq!(r.get("host"), Some("git.example.com:8443"));
        assert!(r.has_capability("authtype"));
        assert!(r.has_capability("state"));
        assert!(!r.has_capability("other"));
        assert_eq!(r.host_name().as_deref(), Some("git.example.com"));
        assert_eq!(
            Request::parse("host=[::1]:80\n").host_name().as_deref(),
            Some("::1")
        );
    }

    #[test]
    fn answers() {
        let plain = Request::parse("protocol=https\nhost=h\n");
        let capable = Request::parse("capability[]=authtype\nprotocol=https\nhost=h\n");
        let table = [
            (
                &plain,
                false,
                "username=oauth2\npassword=tok\npassword_expiry_utc=1234\n",
            ),
            (
                &plain,
                true,
                "username=oauth2\npassword=tok\npassword_expiry_utc=1234\n",
            ),
            (
                &capable,
                false,
                "username=oauth2\npassword=tok\npassword_expiry_utc=1234\n",
            ),
            (
                &capable,
                true,
                "capability[]=authtype\nauthtype=Bearer\ncredential=tok\npassword_expiry_utc=1234\n",
            ),
        ];
        for (request, bearer, want) in table {
            assert_eq!(answer(request, &token(), "oauth2", bearer), want);
        }
    }

    #[test]
    fn tokens_go_over_https_or_to_loopback_only() {
        let table = [
            ("protocol=https\nhost=git.example.com\n", true),
            ("protocol=http\nhost=git.example.com\n", false),
            ("protocol=http\nhost=127.0.0.1:8080\n", true),
            ("protocol=http\nhost=localhost\n", true),
            ("protocol=http\nhost=[::1]:80\n", true),
            ("protocol=http\nhost=localhost.evil.com\n", false),
            ("protocol=ssh\nhost=git.example.com\n", false),
            ("host=git.example.com\n", false),
        ];
        for (text, want) in table {
            assert_eq!(may_send(&Request::parse(text)), want, "{text}");
        }
    }

    #[test]
    fn profiles_follow_git_hosts() {
        let mut file = ConfigFile::default();
        file.profiles.insert(
            "work".into(),
            Profile {
                git_hosts: Some(vec!["git.work.example".into(), "other:8443".into()]),
                ..Profile::default()
            },
        );
        let table = [
            (None, "protocol=https\nhost=git.work.example\n", "work"),
            (None, "protocol=https\nhost=GIT.work.example:443\n", "work"),
            (None, "protocol=https\nhost=other:8443\n", "work"),
            (None, "protocol=https\nhost=other:9999\n", "default"),
            (None, "protocol=https\nhost=elsewhere\n", "default"),
            (Some("me"), "protocol=https\nhost=git.work.example\n", "me"),
        ];
        for (named, text, want) in table {
            assert_eq!(
                pick_profile(named.map(str::to_owned), &file, &Request::parse(text)),
                want,
                "{text}"
            );
        }
    }
}
