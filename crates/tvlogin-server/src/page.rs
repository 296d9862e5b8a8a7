//! The HTML verification page at `/device` (RFC 8628 §3.3): plain forms, no JavaScript.
//!
//! Everything that came from a request or from configuration is HTML-escaped.

use std::fmt::Write as _;

/// Escape text for use in HTML element content and double- or single-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The one style sheet, inline. Sized for a phone first: the code to compare in large
/// monospace, buttons at least 52 px tall and full width side by side, nothing wider than the
/// screen.
const STYLE: &str = "*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}\
body{font:1.0625rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f5f7;\
color:#1d2330;margin:0;padding:1rem}\
main{max-width:30rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:12px;\
box-shadow:0 2px 12px rgba(0,0,0,.08)}\
h1{font-size:1.45rem;line-height:1.25;margin:0 0 1rem}p{margin:0 0 1rem}\
.code{font:700 2.1rem/1.2 ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace;\
letter-spacing:.12em;text-align:center;background:#eef2fb;border:2px dashed #2457d6;\
border-radius:10px;padding:.7rem .5rem;margin:0 0 1rem;overflow-wrap:anywhere}\
label{display:block;font-weight:600;margin-bottom:.4rem}\
input[type=text]{font:600 1.6rem ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',\
monospace;letter-spacing:.12em;text-transform:uppercase;width:100%;min-height:3.4rem;\
padding:.5rem .75rem;border:2px solid #8b94a7;border-radius:10px;color:#1d2330}\
input[type=text]:focus{outline:3px solid #2457d6;outline-offset:2px}\
input::placeholder{color:#a3aab8;opacity:1}\
.buttons{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.25rem 0 1rem}\
button{flex:1 1 8rem;min-height:3.25rem;font:600 1.15rem system-ui,-apple-system,'Segoe UI',\
Roboto,sans-serif;padding:.7rem 1.25rem;border-radius:10px;border:2px solid #8b94a7;\
background:#fff;color:#1d2330;cursor:pointer}\
button:focus{outline:3px solid #1d2330;outline-offset:2px}\
button.primary{background:#2457d6;border-color:#2457d6;color:#fff}\
button.deny{border-color:#b42318;color:#b42318}\
.error{background:#fdecea;color:#8a1c12;border-left:4px solid #b42318;padding:.7rem 1rem;\
border-radius:8px}\
.ok{background:#e7f6ec;color:#14532d;border-left:4px solid #15803d;padding:.7rem 1rem;\
border-radius:8px}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace;\
background:#f0f2f5;padding:.05em .3em;border-radius:4px;overflow-wrap:anywhere}\
ul{padding-left:1.2rem;margin:0 0 1rem}li{margin:.2rem 0}\
.muted{color:#5b6475;font-size:.95rem}";

/// The `Content-Security-Policy` of every page: nothing may load or run, only this page's own
/// style sheet (named by its hash, so no injected `<style>` or `style=` applies), forms post
/// only back here, and no other site may frame the page (clickjacking the Approve button).
pub(crate) fn content_security_policy() -> &'static str {
    static POLICY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use base64::Engine as _;
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
        format!(
            "default-src 'none'; style-src 'sha256-{}'; img-src 'none'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
            base64::engine::general_purpose::STANDARD.encode(hash.as_ref())
        )
    });
    &POLICY
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"color-scheme\" content=\"light\">\
<title>{title} · tvlogin</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// The code entry form; `error` is shown above it, `prefill` is put in the field.
pub(crate) fn enter_code(prefill: &str, error: Option<&str>) -> String {
    let mut body = String::from("<h1>Connect a device</h1>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", escape(e));
    }
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/device\">\
<label for=\"user_code\">Enter the code shown on your device</label>\
<input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{}\" placeholder=\"BCDF-GHJK\" \
autocomplete=\"off\" autocapitalize=\"characters\" autocorrect=\"off\" spellcheck=\"false\" \
inputmode=\"text\" maxlength=\"64\" autofocus required>\
<div class=\"buttons\"><button class=\"primary\" type=\"submit\">Continue</button></div></form>",
        escape(prefill)
    );
    layout("Connect a device", &body)
}

/// When and from where a device code was requested, for the confirmation page: someone who
/// was sent a code by a phisher sees a request they did not make (RFC 10027, BCP 247).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Requested {
    /// How long ago.
    pub(crate) ago: Option<std::time::Duration>,
    /// From which address.
    pub(crate) from: Option<std::net::IpAddr>,
}

impl Requested {
    fn sentence(&self) -> String {
        let when = match self.ago.map(|d| d.as_secs()) {
            Some(0) => "just now".to_owned(),
            Some(1) => "1 second ago".to_owned(),
            Some(s) if s < 120 => format!("{s} seconds ago"),
            Some(s) => format!("{} minutes ago", s / 60),
            None => "at an unknown time".to_owned(),
        };
        let from = match self.from {
            Some(ip) if ip.is_loopback() => format!(" from this computer ({ip})"),
            Some(ip) => format!(" from the address {ip}"),
            None => String::new(),
        };
        format!("This code was requested {when}{from}.")
    }
}

/// What is being authorized, with Approve and Deny buttons: the client and the scopes, when
/// and from where the code was requested, and the cross-device question.
pub(crate) fn confirm(
    user_code: &str,
    client_name: &str,
    scope: &str,
    audience: &[String],
    requested: &Requested,
) -> String {
    let mut body = String::from("<h1>Authorize this device?</h1>");
    let _ = write!(
        body,
        "<p>Check that this code matches the one on your device:</p>\
<p class=\"code\" id=\"user-code\">{}</p>\
<p><strong>{}</strong> is asking to sign in as <strong>Demo User</strong> \
(demo@example.test).</p>",
        escape(user_code),
        escape(client_name),
    );
    body.push_str("<p>It will be allowed to:</p><ul>");
    for s in scope.split_whitespace() {
        let _ = write!(body, "<li><code>{}</code></li>", escape(s));
    }
    body.push_str("</ul>");
    if !audience.is_empty() {
        body.push_str("<p>For use with:</p><ul>");
        for a in audience {
            let _ = write!(body, "<li><code>{}</code></li>", escape(a));
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        "<p>{}</p><p><strong>Did you start this on a device you are holding? If someone sent you \
this code, deny.</strong></p>",
        escape(&requested.sentence())
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/device\">\
<input type=\"hidden\" name=\"user_code\" value=\"{}\">\
<div class=\"buttons\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
<button class=\"deny\" type=\"submit\" name=\"action\" value=\"deny\">Deny</button></div></form>\
<p class=\"muted\">Only approve if you started this sign-in yourself. If the codes differ, \
choose Deny.</p>",
        escape(user_code)
    );
    layout("Authorize this device?", &body)
}

/// The page after a decision.
pub(crate) fn decided(approved: bool, user_code: &str) -> String {
    let (title, text) = if approved {
        (
            "Device approved",
            "Device approved — you can return to your terminal.",
        )
    } else {
        (
            "Device denied",
            "Access denied — the device will not be signed in. You can close this page.",
        )
    };
    let class = if approved { "ok" } else { "error" };
    let body = format!(
        "<h1>{}</h1><p class=\"{class}\" role=\"status\">{}</p><p class=\"muted\">Code <code>{}</code></p>",
        escape(title),
        escape(text),
        escape(user_code)
    );
    layout(title, &body)
}

/// The consent page of `/authorize` (the authorization code flow).
pub(crate) fn consent(id: &str, client_name: &str, scope: &str, redirect_uri: &url::Url) -> String {
    layout(
        "Sign in to this application?",
        &super::authorize::consent_body(id, client_name, scope, redirect_uri),
    )
}

/// An `/authorize` request that cannot be answered with a redirect.
pub(crate) fn authorize_problem(text: &str) -> String {
    let body = format!(
        "<h1>This sign-in request cannot be used</h1><p class=\"error\" role=\"alert\">{}</p>",
        escape(text)
    );
    layout("Sign-in request refused", &body)
}

/// A small landing page at `/` pointing at the useful URLs.
pub(crate) fn index(issuer: &str) -> String {
    let issuer = escape(issuer);
    let body = format!(
        "<h1>tvlogin test authorization server</h1>\
<p>Issuer <code>{issuer}</code></p><ul>\
<li><a href=\"/device\">Enter a device code</a></li>\
<li><a href=\"/.well-known/openid-configuration\">OpenID configuration</a></li>\
<li><a href=\"/jwks\">JWK Set</a></li></ul>\
<p class=\"muted\">Signs everyone in as Demo User. For testing only.</p>"
    );
    layout("tvlogin test server", &body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        let page = enter_code("\"><script>alert(1)</script>", Some("<b>bad</b>"));
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<b>bad"));
    }

    #[test]
    fn the_confirmation_page_asks_the_cross_device_question() {
        let requested = Requested {
            ago: Some(std::time::Duration::from_secs(12)),
            from: Some("192.0.2.7".parse().unwrap()),
        };
        let page = confirm("ABCD-EFGH", "Acme CLI", "openid email", &[], &requested);
        assert!(page.contains("Acme CLI"), "{page}");
        assert!(page.contains("<code>email</code>"), "{page}");
        assert!(
            page.contains("This code was requested 12 seconds ago from the address 192.0.2.7."),
            "{page}"
        );
        assert!(
            page.contains(
                "Did you start this on a device you are holding? If someone sent you this code, deny."
            ),
            "{page}"
        );
        let local = Requested {
            ago: Some(std::time::Duration::from_secs(300)),
            from: Some("127.0.0.1".parse().unwrap()),
        };
        assert_eq!(
            local.sentence(),
            "This code was requested 5 minutes ago from this computer (127.0.0.1)."
        );
    }

    #[test]
    fn the_policy_allows_exactly_this_style_sheet() {
        use base64::Engine as _;
        let policy = content_security_policy();
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(hash.as_ref());
        assert!(
            policy.contains(&format!("style-src 'sha256-{b64}'")),
            "{policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        // The page's <style> holds exactly STYLE, the text the hash is of.
        let page = enter_code("", None);
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        // No script anywhere: the pages work without JavaScript.
        for page in [
            enter_code("ABCD", Some("x")),
            confirm(
                "ABCD-EFGH",
                "c",
                "openid",
                &["https://api".into()],
                &Requested::default(),
            ),
            decided(true, "ABCD-EFGH"),
            index("http://127.0.0.1:1"),
        ] {
            assert!(!page.contains("<script"), "{page}");
            // No event handler attributes (` onclick=` …).
            let handler = page.match_indices(" on").any(|(i, _)| {
                let rest = &page[i + 3..];
                let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
                !name.is_empty() && rest[name.len()..].starts_with('=')
            });
            assert!(!handler, "{page}");
        }
    }
}
