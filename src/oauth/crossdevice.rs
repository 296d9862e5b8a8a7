//! Cross-device guidance for the device flow (the IETF's cross-device security BCP, RFC 10027):
//! where the code belongs, said on its own next to the code, one sentence on whose code to
//! enter, and a warning when the verification page is not on the sign-in server's site.
//!
//! Device-code phishing works by sending someone a genuine code from the attacker's own login:
//! the victim enters it on the provider's real page and signs the attacker in. The client
//! cannot see who started the login, but it can say plainly where the code belongs and that
//! only the person at this screen should enter it; and it can notice a verification page on a
//! site other than the issuer's, which a genuine provider rarely uses without saying so.
//!
//! "Site" is the registrable domain (the public suffix plus one label), from the Public Suffix
//! List as the `psl` crate ships it, so `alice.github.io` and `mallory.github.io` are different
//! sites while `login.example.com` and `example.com` are the same one.

use url::{Host, Url};

/// What to compare a verification page against: the sign-in server's address, and the sites a
/// provider preset documents as its verification pages (Microsoft's `microsoft.com/devicelogin`
/// for `login.microsoftonline.com`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteCheck {
    /// The issuer (or, without one, the device authorization endpoint); `None`: nothing to
    /// compare with, so no warning.
    pub reference: Option<Url>,
    /// Registrable domains the provider documents for its verification page.
    pub documented: Vec<String>,
}

/// What the device login screens say next to the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guidance {
    /// The host (with a non-default port) where the code is entered, shown on its own. URL
    /// hosts are ASCII (internationalised names as punycode), so this is safe to print.
    pub host: String,
    /// The one line of advice, naming [`Guidance::host`].
    pub advice: String,
    /// The same advice in fewer words, for a screen with no room for the whole of it.
    pub short_advice: String,
    /// Warnings for people (and the `warnings` array of the JSON event).
    pub warnings: Vec<String>,
}

/// How a verification page's host relates to the sign-in server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteMatch {
    /// The same registrable domain (or the same host, when either has none), or both on this
    /// machine.
    Same,
    /// A different site that the provider preset documents.
    Documented,
    /// A different site: `page` and `issuer` are the sites compared.
    Different {
        /// The verification page's site.
        page: String,
        /// The sign-in server's site.
        issuer: String,
    },
}

/// The host part people should check, with the port when it is not the scheme's default.
pub fn display_host(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// A host's site: the registrable domain of a name, the address itself for an IP, the whole
/// name when it has no registrable domain (it is itself a public suffix, such as `github.io`,
/// or a single label such as `localhost`).
pub fn site(host: &Host<&str>) -> String {
    match host {
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            match psl::domain_str(&name) {
                Some(domain) => domain.to_owned(),
                None => name,
            }
        }
    }
}

/// [`super::http::is_loopback_host`], with a fully qualified `localhost.` too.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => super::http::is_loopback_host(&Host::Domain(d.trim_end_matches('.'))),
        other => super::http::is_loopback_host(other),
    }
}

/// Compares the verification page's host with the sign-in server's.
pub fn compare(page: &Url, issuer: &Url, documented: &[String]) -> SiteMatch {
    let (Some(page_host), Some(issuer_host)) = (page.host(), issuer.host()) else {
        return SiteMatch::Same;
    };
    // Two names for this machine (the demo, a local test server) are one place.
    if is_loopback(&page_host) && is_loopback(&issuer_host) {
        return SiteMatch::Same;
    }
    let (page_site, issuer_site) = (site(&page_host), site(&issuer_host));
    if page_site == issuer_site {
        SiteMatch::Same
    } else if documented
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&page_site))
    {
        SiteMatch::Documented
    } else {
        SiteMatch::Different {
            page: page_site,
            issuer: issuer_site,
        }
    }
}

impl SiteCheck {
    /// What to say about a verification page.
    pub fn guidance(&self, verification_uri: &Url) -> Guidance {
        let host = display_host(verification_uri);
        let advice = format!(
            "Only enter this code at {host}, and only if you started this login yourself on this screen. Never enter a code someone sent you."
        );
        let short_advice = format!("Only enter it at {host}, for a login you started yourself.");
        let mut warnings = Vec::new();
        if let Some(reference) = &self.reference
            && let SiteMatch::Different { page, issuer } =
                compare(verification_uri, reference, &self.documented)
        {
            warnings.push(format!(
                "The code page is on {page}, the sign-in server on {issuer}: enter the code only if {page} is your provider's."
            ));
        }
        Guidance {
            host,
            advice,
            short_advice,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_domain_comparison_table() {
        let ms = vec!["microsoft.com".to_owned()];
        let none: Vec<String> = vec![];
        let different = |page: &str, issuer: &str| SiteMatch::Different {
            page: page.into(),
            issuer: issuer.into(),
        };
        let table: Vec<(&str, &str, &Vec<String>, SiteMatch)> = vec![
            // Same host, same site.
            (
                "https://login.example.com/device",
                "https://login.example.com",
                &none,
                SiteMatch::Same,
            ),
            // A subdomain of the issuer's site, and the site itself.
            (
                "https://device.example.com/",
                "https://login.example.com/realms/x",
                &none,
                SiteMatch::Same,
            ),
            (
                "https://example.com/activate",
                "https://auth.eu.example.com",
                &none,
                SiteMatch::Same,
            ),
            // Case and a trailing dot do not make a different site.
            (
                "https://LOGIN.Example.COM./device",
                "https://example.com",
                &none,
                SiteMatch::Same,
            ),
            // A different site.
            (
                "https://example-login.com/device",
                "https://login.example.com",
                &none,
                different("example-login.com", "example.com"),
            ),
            // Multi-label public suffixes: co.uk is not a site.
            (
                "https://device.shop.co.uk/",
                "https://login.shop.co.uk",
                &none,
                SiteMatch::Same,
            ),
            (
                "https://evil.co.uk/",
                "https://login.shop.co.uk",
                &none,
                different("evil.co.uk", "shop.co.uk"),
            ),
            // github.io is a public suffix: two pages under it are two sites.
            (
                "https://mallory.github.io/device",
                "https://alice.github.io",
                &none,
                different("mallory.github.io", "alice.github.io"),
            ),
            (
                "https://alice.github.io/device",
                "https://sso.alice.github.io",
                &none,
                SiteMatch::Same,
            ),
            // IP addresses: only the same address is the same site.
            (
                "https://192.0.2.10/device",
                "https://192.0.2.10:8443",
                &none,
                SiteMatch::Same,
            ),
            (
                "https://192.0.2.11/device",
                "https://192.0.2.10",
                &none,
                different("192.0.2.11", "192.0.2.10"),
            ),
            (
                "https://[2001:db8::1]/device",
                "https://login.example.com",
                &none,
                different("2001:db8::1", "example.com"),
            ),
            // Loopback names are one place (the demo).
            (
                "http://localhost:8080/device",
                "http://127.0.0.1:8080",
                &none,
                SiteMatch::Same,
            ),
            // The documented Microsoft pairing, and the same page without the preset.
            (
                "https://microsoft.com/devicelogin",
                "https://login.microsoftonline.com/common/v2.0",
                &ms,
                SiteMatch::Documented,
            ),
            (
                "https://login.microsoft.com/device",
                "https://login.microsoftonline.com/contoso/v2.0",
                &ms,
                SiteMatch::Documented,
            ),
            (
                "https://microsoft.com/devicelogin",
                "https://login.microsoftonline.com/common/v2.0",
                &none,
                different("microsoft.com", "microsoftonline.com"),
            ),
            // The preset documents microsoft.com, not any site.
            (
                "https://microsoft-devicelogin.com/",
                "https://login.microsoftonline.com/common/v2.0",
                &ms,
                different("microsoft-devicelogin.com", "microsoftonline.com"),
            ),
            // Google's issuer and its verification page share google.com.
            (
                "https://www.google.com/device",
                "https://accounts.google.com",
                &none,
                SiteMatch::Same,
            ),
        ];
        for (page, issuer, documented, want) in table {
            assert_eq!(
                compare(&url(page), &url(issuer), documented),
                want,
                "{page} against {issuer}"
            );
        }
    }

    #[test]
    fn guidance_names_the_host_on_its_own_and_warns_only_for_another_site() {
        let check = SiteCheck {
            reference: Some(url("https://login.example.com")),
            documented: vec![],
        };
        let same = check.guidance(&url("https://login.example.com/device?x=1"));
        assert_eq!(same.host, "login.example.com");
        assert!(
            same.advice
                .contains("Only enter this code at login.example.com")
        );
        assert!(same.advice.contains("Never enter a code someone sent you"));
        assert!(same.warnings.is_empty());

        let other = check.guidance(&url("https://device-login.example.net:8443/d"));
        assert_eq!(other.host, "device-login.example.net:8443");
        assert_eq!(other.warnings.len(), 1);
        assert!(
            other.warnings[0].contains("example.net"),
            "{:?}",
            other.warnings
        );
        assert!(
            other.warnings[0].contains("example.com"),
            "{:?}",
            other.warnings
        );

        // Nothing to compare with: advice, no warning.
        let unknown = SiteCheck::default().guidance(&url("https://elsewhere.example.org/"));
        assert!(unknown.warnings.is_empty());
    }
}
