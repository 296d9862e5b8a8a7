//! Where a credential helper may hand out a token: the place a request names (protocol, host,
//! port, path), checked against the places a profile was set up for (`git_hosts`,
//! `docker_registries`, `kube_servers` in config.toml).
//!
//! The rules every helper follows:
//! - **Transport**: a token goes over https, or over http only to a loopback host
//!   (`localhost`, 127.0.0.0/8, `::1`). Any other scheme gets nothing.
//! - **Hosts compare exactly**, ASCII case-insensitively, port included:
//!   `git.example.com` is neither `git.example.com:8443` nor `git.example.com.evil.example`.
//!   A scheme's default port (443, 80) is the same as no port.
//! - **Paths**: a setting with a path (`git.example.com/team`) matches a request for that path
//!   or below it at a `/` (`team/repo.git`), and never a request without a path (git sends the
//!   path only with `credential.useHttpPath`). `.` and `..` segments and empty segments never
//!   match a setting with a path. A setting without a path covers the whole host.
//! - **Malformed text names no place**: control characters (NUL, newline, escape…), spaces,
//!   userinfo (`@`), query or fragment, or characters no host name holds: nothing matches it.

use std::net::{IpAddr, Ipv6Addr};

/// One place a token could be sent to, normalised: lowercase scheme and host, no default
/// port, path without its leading and trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: Option<String>,
}

/// A place a profile was set up for: `[scheme://]host[:port][/path]`. Without a scheme it
/// stands for any scheme the transport rule allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
    path: Option<String>,
}

impl Place {
    /// A place from its parts as git sends them (`protocol`, `host` with an optional port,
    /// `path` without a leading `/`). `None` when any part is malformed.
    pub fn new(scheme: &str, authority: &str, path: Option<&str>) -> Option<Self> {
        let scheme = parse_scheme(scheme)?;
        let (host, port) = parse_authority(authority)?;
        let path = match path {
            Some(p) => parse_path(p)?,
            None => None,
        };
        Some(Self {
            port: without_default_port(&scheme, port),
            scheme,
            host,
            path,
        })
    }

    /// A place from a URL (`https://host:port/path`). Without `scheme://`, `default_scheme`
    /// applies (docker names registries by bare host); `None` there means a scheme is required.
    pub fn from_url(text: &str, default_scheme: Option<&str>) -> Option<Self> {
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None => (default_scheme?, text),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, Some(path)),
            None => (rest, None),
        };
        Self::new(scheme, authority, path)
    }

    /// Whether a token may travel there: https, or http to a loopback host.
    pub fn secure_transport(&self) -> bool {
        match self.scheme.as_str() {
            "https" => true,
            "http" => is_loopback_host(&self.host),
            _ => false,
        }
    }

    /// `scheme://host[:port][/path]`, for messages (escape it before printing: the host may
    /// hold non-ASCII letters).
    pub fn display(&self) -> String {
        let mut out = format!("{}://{}", self.scheme, self.host);
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        if let Some(path) = &self.path {
            out.push('/');
            out.push_str(path);
        }
        out
    }
}

impl Pattern {
    /// Reads one setting; `None` when it is malformed (it then matches nothing).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Some(parse_scheme(scheme)?), rest),
            None => (None, text),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, parse_path(path)?),
            None => (rest, None),
        };
        let (host, port) = parse_authority(authority)?;
        let port = match &scheme {
            Some(scheme) => without_default_port(scheme, port),
            None => port,
        };
        Some(Self {
            scheme,
            host,
            port,
            path,
        })
    }

    /// Whether `place` is this setting's host (and port), with its path at or below this
    /// setting's path. A setting without a scheme takes the default port of the place's
    /// scheme as no port.
    pub fn covers(&self, place: &Place) -> bool {
        self.same_origin(place)
            && match (&self.path, &place.path) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(want), Some(got)) => {
                    plain_path(got)
                        && (got == want
                            || got
                                .strip_prefix(want.as_str())
                                .is_some_and(|rest| rest.starts_with('/')))
                }
            }
    }

    /// Whether `place` is exactly this setting: same origin and the same path (or neither
    /// has one). For cluster servers, where a path names a different API endpoint.
    pub fn is_exactly(&self, place: &Place) -> bool {
        self.same_origin(place) && self.path == place.path
    }

    /// How specific the setting is: longer paths win over shorter ones and over none.
    pub fn specificity(&self) -> usize {
        self.path.as_ref().map_or(0, |p| p.len() + 1)
    }

    fn same_origin(&self, place: &Place) -> bool {
        let port = match &self.scheme {
            Some(_) => self.port,
            None => without_default_port(&place.scheme, self.port),
        };
        self.scheme.as_ref().is_none_or(|s| *s == place.scheme)
            && self.host == place.host
            && port == place.port
    }
}

/// The best of `settings` covering `place` (see [`Pattern::covers`]), by specificity.
/// Malformed settings are skipped.
pub fn best_cover<'a>(
    settings: impl IntoIterator<Item = &'a String>,
    place: &Place,
) -> Option<usize> {
    settings
        .into_iter()
        .filter_map(|s| Pattern::parse(s))
        .filter(|p| p.covers(place))
        .map(|p| p.specificity())
        .max()
}

/// Whether `host` (lowercase, IPv6 in brackets) is this machine: `localhost`, 127.0.0.0/8
/// or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn parse_scheme(text: &str) -> Option<String> {
    let ok = text.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    ok.then(|| text.to_ascii_lowercase())
}

/// `host[:port]` or `[v6][:port]`, lowercased; IPv6 in its canonical form.
fn parse_authority(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        let (inside, after) = v6.split_once(']')?;
        let ip: Ipv6Addr = inside.parse().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (format!("[{ip}]"), port)
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !host_ok {
            return None;
        }
        (host.to_lowercase(), port)
    };
    let port = match port {
        None => None,
        // Digits only: `+443` or `0x1bb` would parse elsewhere and compare as the same port.
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// A path without its leading and trailing `/`: `None` inside when it is empty, `None`
/// outside when it holds characters no URL path holds here.
fn parse_path(text: &str) -> Option<Option<String>> {
    let bad = |c: char| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '\\');
    if text.chars().any(bad) {
        return None;
    }
    let trimmed = text.trim_matches('/');
    Some((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// No `.`, `..` or empty segments: such a path may resolve outside the setting's path.
fn plain_path(path: &str) -> bool {
    path.split('/')
        .all(|s| !s.is_empty() && s != "." && s != "..")
}

fn without_default_port(scheme: &str, port: Option<u16>) -> Option<u16> {
    match (scheme, port) {
        ("https", Some(443)) | ("http", Some(80)) => None,
        _ => port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(scheme: &str, host: &str, path: Option<&str>) -> Option<Place> {
        Place::new(scheme, host, path)
    }

    #[test]
    fn hosts_match_exactly_port_included() {
        type Case<'a> = (&'a str, (&'a str, &'a str, Option<&'a str>), bool);
        let table: &[Case] = &[
            (
                "git.example.test",
                ("https", "git.example.test", None),
                true,
            ),
            (
                "git.example.test",
                ("https", "GIT.Example.TEST", None),
                true,
            ),
            (
                "git.example.test",
                ("https", "git.example.test:443", None),
                true,
            ),
            (
                "git.example.test:443",
                ("https", "git.example.test", None),
                true,
            ),
            (
                "git.example.test",
                ("https", "git.example.test:8443", None),
                false,
            ),
            (
                "git.example.test:8443",
                ("https", "git.example.test:8443", None),
                true,
            ),
            (
                "git.example.test:8443",
                ("https", "git.example.test", None),
                false,
            ),
            (
                "git.example.test",
                ("https", "git.example.test.evil.example", None),
                false,
            ),
            (
                "git.example.test",
                ("https", "evil-git.example.test", None),
                false,
            ),
            (
                "git.example.test",
                ("https", "sub.git.example.test", None),
                false,
            ),
            ("git.example.test", ("https", "example.test", None), false),
            (
                "git.example.test",
                ("https", "git.example.test.", None),
                false,
            ),
            ("git.example.test", ("https", "evil.example", None), false),
            ("git.example.test", ("https", "github.com", None), false),
            (
                "https://git.example.test",
                ("https", "git.example.test", None),
                true,
            ),
            (
                "https://git.example.test:443",
                ("https", "git.example.test", None),
                true,
            ),
            (
                "http://localhost:3000",
                ("https", "localhost:3000", None),
                false,
            ),
            (
                "http://localhost:3000",
                ("http", "localhost:3000", None),
                true,
            ),
            ("localhost:3000", ("http", "localhost:3000", None), true),
            ("[::1]:3000", ("http", "[0:0::1]:3000", None), true),
        ];
        for (setting, (scheme, host, path), want) in table {
            let pattern = Pattern::parse(setting).unwrap_or_else(|| panic!("{setting}"));
            let place = place(scheme, host, *path).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(pattern.covers(&place), *want, "{setting} vs {host}");
        }
    }

    #[test]
    fn paths_match_at_segment_boundaries_when_git_sends_one() {
        let table: &[(&str, Option<&str>, bool)] = &[
            ("git.example.test", None, true),
            ("git.example.test", Some("team/repo.git"), true),
            ("git.example.test/team", Some("team/repo.git"), true),
            ("git.example.test/team", Some("team"), true),
            ("git.example.test/team/", Some("/team/repo.git"), true),
            ("git.example.test/team", None, false),
            ("git.example.test/team", Some("teamevil/repo.git"), false),
            ("git.example.test/team", Some("other/repo.git"), false),
            (
                "git.example.test/team",
                Some("team/../other/repo.git"),
                false,
            ),
            ("git.example.test/team", Some("team//repo.git"), false),
            ("git.example.test/team", Some("team/./repo.git"), false),
            ("git.example.test/Team", Some("team/repo.git"), false),
            (
                "git.example.test/team/repo.git",
                Some("team/repo.git"),
                true,
            ),
            (
                "git.example.test/team/repo.git",
                Some("team/other.git"),
                false,
            ),
        ];
        for (setting, path, want) in table {
            let pattern = Pattern::parse(setting).unwrap_or_else(|| panic!("{setting}"));
            let place =
                place("https", "git.example.test", *path).unwrap_or_else(|| panic!("{path:?}"));
            assert_eq!(pattern.covers(&place), *want, "{setting} vs {path:?}");
        }
    }

    #[test]
    fn control_characters_and_url_tricks_name_no_place() {
        let hosts = [
            "git.example.test\0",
            "git.example.test\0.evil.example",
            "git.example.test\n",
            "git.example.test\r",
            "git.example.test\u{1b}[31m",
            "git.example.test\u{7f}",
            "git.example.test\u{9b}",
            "git example.test",
            "alice@git.example.test",
            "git.example.test@evil.example",
            "git.example.test#x",
            "git.example.test?x",
            "git.example.test/x",
            "git.example.test\\x",
            "git.example.test:",
            "git.example.test:+443",
            "git.example.test:99999",
            "git.example.test:443:443",
            "[::1",
            "[not-v6]",
            "",
        ];
        for host in hosts {
            assert_eq!(place("https", host, None), None, "{host:?}");
            // A setting is config text: surrounding whitespace is trimmed, a path is allowed.
            let setting = host.trim();
            if !setting.contains('/') && setting != "git.example.test" {
                assert_eq!(Pattern::parse(host), None, "{host:?}");
            }
        }
        for path in [
            "team\0/repo",
            "team/repo\n",
            "team/\u{1b}",
            "team repo",
            "a?b",
            "a#b",
        ] {
            assert_eq!(
                place("https", "git.example.test", Some(path)),
                None,
                "{path:?}"
            );
        }
        for scheme in ["", "ht\0tp", "https\n", "1https"] {
            assert_eq!(place(scheme, "git.example.test", None), None, "{scheme:?}");
        }
    }

    #[test]
    fn tokens_travel_over_https_or_to_loopback_only() {
        let table = [
            ("https", "git.example.test", true),
            ("http", "git.example.test", false),
            ("http", "127.0.0.1:8080", true),
            ("http", "127.5.5.5", true),
            ("http", "localhost", true),
            ("http", "LOCALHOST:80", true),
            ("http", "[::1]:80", true),
            ("http", "localhost.evil.example", false),
            ("http", "127.0.0.1.evil.example", false),
            ("http", "0.0.0.0", false),
            ("http", "[::]", false),
            ("ssh", "git.example.test", false),
            ("ftp", "localhost", false),
        ];
        for (scheme, host, want) in table {
            let p = place(scheme, host, None).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(p.secure_transport(), want, "{scheme}://{host}");
        }
    }

    #[test]
    fn urls_with_and_without_a_scheme() {
        let table = [
            (
                "https://registry.example.test/v2/",
                Some("https://registry.example.test/v2"),
            ),
            (
                "registry.example.test",
                Some("https://registry.example.test"),
            ),
            ("http://localhost:5000", Some("http://localhost:5000")),
            (
                "https://Registry.Example.test:443",
                Some("https://registry.example.test"),
            ),
            ("https://user:pw@registry.example.test", None),
            ("https://registry.example.test?x=1", None),
            ("https://", None),
        ];
        for (text, want) in table {
            assert_eq!(
                Place::from_url(text, Some("https"))
                    .map(|p| p.display())
                    .as_deref(),
                want,
                "{text}"
            );
        }
        assert_eq!(Place::from_url("registry.example.test", None), None);
    }

    #[test]
    fn cluster_servers_match_exactly_paths_included() {
        let setting = Pattern::parse("https://k8s.example.test:6443").unwrap_or_else(|| panic!());
        let table = [
            ("https://k8s.example.test:6443", true),
            ("https://K8S.example.test:6443/", true),
            ("https://k8s.example.test:6443/proxy", false),
            ("https://k8s.example.test", false),
            ("http://k8s.example.test:6443", false),
            ("https://k8s.example.test.evil.example:6443", false),
        ];
        for (url, want) in table {
            let place = Place::from_url(url, None).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(setting.is_exactly(&place), want, "{url}");
        }
    }

    #[test]
    fn the_most_specific_setting_wins() {
        let settings = vec![
            "git.example.test".to_owned(),
            "git.example.test/team".to_owned(),
        ];
        let p =
            place("https", "git.example.test", Some("team/repo.git")).unwrap_or_else(|| panic!());
        assert_eq!(best_cover(&settings, &p), Some(5));
        let p = place("https", "git.example.test", None).unwrap_or_else(|| panic!());
        assert_eq!(best_cover(&settings, &p), Some(0));
        let p = place("https", "evil.example", None).unwrap_or_else(|| panic!());
        assert_eq!(best_cover(&settings, &p), None);
    }
}
