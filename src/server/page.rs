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

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem 2.25rem;border-radius:12px;\
box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.35rem;margin-top:0}\
label{display:block;font-weight:600;margin-bottom:.4rem}\
input[type=text]{font:1.5rem ui-monospace,monospace;letter-spacing:.15em;text-transform:uppercase;\
width:100%;box-sizing:border-box;padding:.5rem .7rem;border:1px solid #b8bfcc;border-radius:8px}\
.buttons{display:flex;gap:.75rem;margin-top:1.25rem}button{font-size:1rem;padding:.6rem 1.4rem;\
border-radius:8px;border:1px solid #b8bfcc;background:#fff;cursor:pointer}\
button.primary{background:#2457d6;border-color:#2457d6;color:#fff}\
.error{background:#fdecea;color:#8a1c12;padding:.7rem 1rem;border-radius:8px}\
.ok{background:#e7f6ec;color:#14532d;padding:.7rem 1rem;border-radius:8px}\
code{font-size:1.1em}ul{padding-left:1.2rem}.muted{color:#5b6475;font-size:.9rem}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} · tvlogin</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// The code entry form; `error` is shown above it, `prefill` is put in the field.
pub(crate) fn enter_code(prefill: &str, error: Option<&str>) -> String {
    let mut body = String::from("<h1>Connect a device</h1>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\">{}</p>", escape(e));
    }
    let _ = write!(
        body,
        "<p>Enter the code shown on your device.</p>\
<form method=\"get\" action=\"/device\">\
<label for=\"user_code\">Code</label>\
<input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{}\" placeholder=\"BCDF-GHJK\" \
autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" autofocus required>\
<div class=\"buttons\"><button class=\"primary\" type=\"submit\">Continue</button></div></form>",
        escape(prefill)
    );
    layout("Connect a device", &body)
}

/// What is being authorized, with Approve and Deny buttons.
pub(crate) fn confirm(
    user_code: &str,
    client_name: &str,
    scope: &str,
    audience: &[String],
) -> String {
    let mut body = String::from("<h1>Authorize this device?</h1>");
    let _ = write!(
        body,
        "<p><strong>{}</strong> is asking to sign in as <strong>Demo User</strong> \
(demo@example.test).</p><p>Code: <code>{}</code> — check that it matches your device.</p>",
        escape(client_name),
        escape(user_code)
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
        "<form method=\"post\" action=\"/device\">\
<input type=\"hidden\" name=\"user_code\" value=\"{}\">\
<div class=\"buttons\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></div></form>\
<p class=\"muted\">Only approve if you started this sign-in yourself.</p>",
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
        "<h1>{}</h1><p class=\"{class}\">{}</p><p class=\"muted\">Code <code>{}</code></p>",
        escape(title),
        escape(text),
        escape(user_code)
    );
    layout(title, &body)
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
}
