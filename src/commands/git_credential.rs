//! `tvlogin git-credential get|store|erase`: git's credential-helper protocol
//! (gitcredentials(7), git-credential(1)).
//!
//! git writes `key=value` lines ending with a blank line on stdin; `get` answers with
//! `username`, `password` (the access token) and `password_expiry_utc`, or — when git
//! announces `capability[]=authtype` and the profile sets `git_bearer` — with
//! `authtype=Bearer` and `credential=<token>`. stdout carries protocol lines only; everything
//! meant for a person goes to stderr (or, for a login, to /dev/tty).
//!
//! **Which requests are answered** ([`decide`]): a token goes only where a profile was set up
//! to send it, so that a helper configured globally (`credential.helper`) never hands one
//! to another host:
//! - A profile that lists `git_hosts` answers only for them (exact host, port included; a
//!   path in the setting is matched when git sends one, i.e. with `credential.useHttpPath`),
//!   whether it was named with `--profile` or found by its `git_hosts`.
//! - Without `--profile`, the profile whose `git_hosts` covers the request answers (the most
//!   specific setting wins); when none does, nobody answers. There is no fallback to
//!   `default`.
//! - A profile with no `git_hosts` setting at all answers only when named with `--profile`
//!   on the helper's command line (not through `TVLOGIN_PROFILE`, which every git command
//!   would inherit). `git_hosts = []` answers for nothing.
//! - In every case the token travels over https, or http to this machine only, and a host or
//!   path with control characters or URL tricks is never answered (see [`super::places`]).
//!
//! Not answering means printing nothing and exiting 0: git then asks its next helper. `store`
//! and `erase` follow the same rule, so that a refusal by another host never marks this
//! profile's token as refused.

use std::io::{BufRead, Read, Write};

use crate::cli::{GitCredentialArgs, GitOperation};
use crate::config::ConfigFile;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{self, Context, IssuedToken};

use super::helper::{self, Prompt};
use super::places::{self, Place};

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

    /// The place git asks about: `protocol`, `host` (with its port) and `path` when git sends
    /// one. `None` when git named no protocol or host, or when they are malformed.
    pub fn place(&self) -> Option<Place> {
        Place::new(self.get("protocol")?, self.get("host")?, self.get("path"))
    }
}

/// What the helper does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer from this profile.
    Answer(String),
    /// Print nothing, so git asks its next helper; with a line for stderr when a person
    /// would want to know why (a host set up for this profile but reached over plain http).
    Pass(Option<String>),
}

/// Which profile answers `request` (see the module documentation for the rules). `named` is
/// the helper's `--profile`.
pub fn decide(named: Option<&str>, file: &ConfigFile, request: &Request) -> Decision {
    if request.get("protocol").is_none() || request.get("host").is_none() {
        return Decision::Pass(None);
    }
    let Some(place) = request.place() else {
        return Decision::Pass(Some(
            "tvlogin: not answering: git asked for a host or path with characters no URL holds"
                .into(),
        ));
    };
    let hosts_of = |name: &str| file.profiles.get(name).and_then(|p| p.git_hosts.as_ref());
    let chosen = match named {
        Some(name) => match hosts_of(name) {
            Some(hosts) => places::best_cover(hosts, &place).map(|_| name.to_owned()),
            None => Some(name.to_owned()),
        },
        None => {
            let mut best: Option<(usize, &String)> = None;
            for (name, profile) in &file.profiles {
                let score = places::best_cover(profile.git_hosts.iter().flatten(), &place);
                if let Some(score) = score
                    && best.is_none_or(|(top, _)| score > top)
                {
                    best = Some((score, name));
                }
            }
            best.map(|(_, name)| name.clone())
        }
    };
    match chosen {
        None => Decision::Pass(None),
        Some(_) if !place.secure_transport() => Decision::Pass(Some(format!(
            "tvlogin: not answering for {}: tokens are only sent over https (or http to this \
             machine)",
            crate::sanitize::escape(&place.display())
        ))),
        Some(name) => Decision::Answer(name),
    }
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
    let profile = match decide(args.profile.as_deref(), &ctx.file, &request) {
        Decision::Answer(profile) => profile,
        Decision::Pass(why) => {
            if let Some(why) = why {
                eprintln!("{why}");
            }
            return Ok(Exit::Ok);
        }
    };
    helper::check_profile_exists(&ctx, &profile).await?;
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
            dpop_key: None,
            dpop_bound_access: false,
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
        assert_eq!(
            r.place().map(|p| p.display()).as_deref(),
            Some("https://git.example.com:8443")
        );
        assert_eq!(
            Request::parse("protocol=http\nhost=[::1]:80\npath=a/b.git\n")
                .place()
                .map(|p| p.display())
                .as_deref(),
            Some("http://[::1]/a/b.git")
        );
        assert_eq!(Request::parse("host=h\n").place(), None);
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

    fn file() -> ConfigFile {
        let mut file = ConfigFile::default();
        let with_hosts = |hosts: &[&str]| Profile {
            git_hosts: Some(hosts.iter().map(|h| (*h).to_owned()).collect()),
            ..Profile::default()
        };
        file.profiles.insert(
            "work".into(),
            with_hosts(&["git.work.example", "other:8443", "http://localhost:3000"]),
        );
        file.profiles
            .insert("team".into(), with_hosts(&["git.work.example/team"]));
        file.profiles
            .insert("default".into(), with_hosts(&["git.example.test"]));
        file.profiles.insert("open".into(), Profile::default());
        file.profiles.insert("none".into(), with_hosts(&[]));
        file
    }

    /// Who answers what: `None` is "print nothing" (git asks its next helper).
    #[test]
    fn only_the_places_a_profile_was_set_up_for_are_answered() {
        let f = file();
        let table: &[(Option<&str>, &str, Option<&str>)] = &[
            // Chosen by git_hosts, no --profile.
            (
                None,
                "protocol=https\nhost=git.work.example\n",
                Some("work"),
            ),
            (
                None,
                "protocol=https\nhost=GIT.work.example:443\n",
                Some("work"),
            ),
            (None, "protocol=https\nhost=other:8443\n", Some("work")),
            (None, "protocol=https\nhost=other:9999\n", None),
            (None, "protocol=https\nhost=other\n", None),
            (
                None,
                "protocol=https\nhost=git.example.test\n",
                Some("default"),
            ),
            (None, "protocol=https\nhost=elsewhere\n", None),
            (None, "protocol=https\nhost=evil.example\n", None),
            (None, "protocol=https\nhost=github.com\n", None),
            (
                None,
                "protocol=https\nhost=git.example.test.evil.example\n",
                None,
            ),
            (None, "protocol=https\nhost=git.example.test:8443\n", None),
            (None, "protocol=https\nhost=git.example.test\0\n", None),
            (
                None,
                "protocol=https\nhost=git.example.test\0.evil.example\n",
                None,
            ),
            (None, "protocol=https\nhost=git.example.test\u{1b}\n", None),
            (None, "protocol=https\nhost=alice@git.example.test\n", None),
            // With useHttpPath: the most specific setting wins; paths must stay below it.
            (
                None,
                "protocol=https\nhost=git.work.example\npath=team/r.git\n",
                Some("team"),
            ),
            (
                None,
                "protocol=https\nhost=git.work.example\npath=teamx/r.git\n",
                Some("work"),
            ),
            (
                None,
                "protocol=https\nhost=git.work.example\npath=team/../x.git\n",
                Some("work"),
            ),
            (
                None,
                "protocol=https\nhost=git.work.example\npath=a\0b\n",
                None,
            ),
            // Transport: https, or http to this machine.
            (None, "protocol=http\nhost=git.work.example\n", None),
            (None, "protocol=http\nhost=localhost:3000\n", Some("work")),
            (None, "protocol=https\nhost=localhost:3000\n", None),
            (None, "protocol=ssh\nhost=git.work.example\n", None),
            (None, "host=git.work.example\n", None),
            // --profile with git_hosts: still only those hosts.
            (
                Some("work"),
                "protocol=https\nhost=git.work.example\n",
                Some("work"),
            ),
            (Some("work"), "protocol=https\nhost=evil.example\n", None),
            (
                Some("work"),
                "protocol=https\nhost=git.example.test\n",
                None,
            ),
            (Some("default"), "protocol=https\nhost=github.com\n", None),
            (
                Some("default"),
                "protocol=https\nhost=git.example.test.evil.example\n",
                None,
            ),
            (
                Some("default"),
                "protocol=https\nhost=git.example.test\n",
                Some("default"),
            ),
            (
                Some("team"),
                "protocol=https\nhost=git.work.example\n",
                None,
            ),
            (
                Some("none"),
                "protocol=https\nhost=git.work.example\n",
                None,
            ),
            // --profile without any git_hosts: any https host, http only to this machine.
            (
                Some("open"),
                "protocol=https\nhost=anything.example\n",
                Some("open"),
            ),
            (Some("open"), "protocol=http\nhost=anything.example\n", None),
            (
                Some("open"),
                "protocol=http\nhost=127.0.0.1:8080\n",
                Some("open"),
            ),
            (Some("open"), "protocol=https\nhost=a\0b\n", None),
            (
                Some("unknown"),
                "protocol=https\nhost=h.example\n",
                Some("unknown"),
            ),
            // Without --profile, a profile without git_hosts is never chosen.
            (None, "protocol=https\nhost=anything.example\n", None),
        ];
        for (named, text, want) in table {
            let got = match decide(*named, &f, &Request::parse(text)) {
                Decision::Answer(p) => Some(p),
                Decision::Pass(_) => None,
            };
            assert_eq!(got.as_deref(), *want, "{named:?} {text:?}");
        }
    }

    #[test]
    fn a_person_learns_why_a_set_up_host_gets_nothing_over_http() {
        let f = file();
        let quiet = decide(
            None,
            &f,
            &Request::parse("protocol=https\nhost=evil.example\n"),
        );
        assert_eq!(quiet, Decision::Pass(None));
        let Decision::Pass(Some(why)) = decide(
            None,
            &f,
            &Request::parse("protocol=http\nhost=git.work.example\n"),
        ) else {
            panic!("http to a set-up host is refused with a reason");
        };
        assert!(why.contains("http://git.work.example"), "{why}");
        let Decision::Pass(Some(why)) = decide(
            None,
            &f,
            &Request::parse("protocol=https\nhost=x\u{1b}[31m\n"),
        ) else {
            panic!("a malformed host is refused with a reason");
        };
        assert!(!why.contains('\u{1b}'), "{why}");
    }
}
