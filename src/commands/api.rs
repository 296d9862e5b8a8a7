//! `tvlogin api`: one HTTP request with a profile's authorization, like `gh api`.
//!
//! Bearer sessions send `Authorization: Bearer <token>`. Sessions whose access token is bound
//! to this machine's key (DPoP, RFC 9449) send `Authorization: DPoP <token>` and a fresh proof
//! with `htm`, `htu` and `ath`; a resource server's `401 WWW-Authenticate: DPoP
//! error="use_dpop_nonce"` is answered once at once with its `DPoP-Nonce` (§9). A `401` with
//! `error="invalid_token"` refreshes the session once and tries again. The body goes to stdout
//! as it came; `-i` puts the status line and headers before it. Exit 0 for 2xx, 8 for any
//! other status, 5 when no answer came. Like every request tvlogin sends: https, or http to
//! this machine; redirects are not followed.

use std::io::{Read, Write};

use url::Url;

use crate::cli::ApiArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::oauth::dpop::{self, Dpop};
use crate::oauth::http::{Http, HttpSettings, RawResponse};
use crate::session::{self, Context, IssuedToken, TokenKind};

use super::helper;

/// `tvlogin api`.
pub async fn api(args: ApiArgs) -> Result<Exit, Error> {
    let url = Url::parse(&args.url).map_err(|e| {
        Error::Usage(format!(
            "{:?} is not a URL: {e}",
            crate::sanitize::escape(&args.url)
        ))
    })?;
    // Refused before the token is read: a bearer token never goes over plain http elsewhere.
    crate::oauth::http::check_url(&url, false).map_err(|e| Error::Usage(e.to_string()))?;
    let body = body(&args)?;
    let method = method(args.method.as_deref(), body.is_some())?;
    let headers = headers(&args.headers)?;
    let ctx = Context::from_env()?;
    let profile = helper::profile_or_default(args.profile.clone());
    helper::check_profile_exists(&ctx, &profile).await?;
    let mut token = current(&ctx, &profile).await?;
    let http = Http::new(HttpSettings::default()).map_err(Error::Other)?;
    let request = Request {
        method: &method,
        url: &url,
        headers: &headers,
        body: body.as_deref(),
    };
    // Nonces are per resource server and live as long as this process.
    let mut dpop = signer(&token);
    let mut answer = request.send(&http, &token, dpop.as_ref()).await?;
    if let Some(d) = &dpop
        && d.nonces().remember(&answer)
        && dpop::is_nonce_challenge(&answer)
    {
        answer = request.send(&http, &token, dpop.as_ref()).await?;
        d.nonces().remember(&answer);
    }
    if answer.status == 401
        && dpop::challenge_error(&answer).as_deref() == Some("invalid_token")
        && !token.refreshed
    {
        if let Err(e) = session::force_refresh(&ctx, &profile).await {
            return Err(helper::with_login_hint(&ctx, &profile, e).await);
        }
        token = current(&ctx, &profile).await?;
        let kept = dpop.take();
        dpop = signer(&token);
        if let (Some(new), Some(old)) = (&dpop, &kept)
            && new.key().jkt() == old.key().jkt()
        {
            dpop = kept;
        }
        answer = request.send(&http, &token, dpop.as_ref()).await?;
        if let Some(d) = &dpop
            && d.nonces().remember(&answer)
            && dpop::is_nonce_challenge(&answer)
        {
            answer = request.send(&http, &token, dpop.as_ref()).await?;
        }
    }
    print(&answer, args.include);
    Ok(if (200..300).contains(&answer.status) {
        Exit::Ok
    } else {
        Exit::HttpStatus
    })
}

/// The session's access token (refreshed when needed), with the login hint when there is
/// none.
async fn current(ctx: &Context, profile: &str) -> Result<IssuedToken, Error> {
    let token =
        match session::current_token(ctx, profile, TokenKind::Access, session::DEFAULT_MIN_TTL)
            .await
        {
            Ok(token) => token,
            Err(e) => return Err(helper::with_login_hint(ctx, profile, e).await),
        };
    helper::printable(&token, "send it")?;
    Ok(token)
}

/// Proofs for a bound access token; `None` for Bearer (and refresh-only binding).
fn signer(token: &IssuedToken) -> Option<Dpop> {
    token
        .dpop_key
        .clone()
        .filter(|_| token.dpop_bound_access)
        .map(Dpop::new)
}

/// One request, as given on the command line.
struct Request<'a> {
    method: &'a str,
    url: &'a Url,
    headers: &'a [(http::HeaderName, http::HeaderValue)],
    body: Option<&'a [u8]>,
}

impl Request<'_> {
    async fn send(
        &self,
        http: &Http,
        token: &IssuedToken,
        dpop: Option<&Dpop>,
    ) -> Result<RawResponse, Error> {
        let mut builder = http::Request::builder()
            .method(self.method)
            .uri(self.url.as_str());
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        let secret = token.token.secret();
        builder = match dpop {
            Some(dpop) => {
                let proof = dpop
                    .header(self.method, self.url, Some(secret))
                    .map_err(|e| Error::Other(e.to_string()))?;
                builder
                    .header(http::header::AUTHORIZATION, format!("DPoP {secret}"))
                    .header("DPoP", proof)
            }
            None => builder.header(
                http::header::AUTHORIZATION,
                format!("{} {secret}", super::token::auth_scheme(&token.token_type)),
            ),
        };
        let request = builder
            .body(self.body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| Error::Usage(format!("cannot build the request: {e}")))?;
        Ok(http.execute(request).await?)
    }
}

/// `-X`, else GET (POST with a body).
fn method(given: Option<&str>, has_body: bool) -> Result<String, Error> {
    let method = given.unwrap_or(if has_body { "POST" } else { "GET" });
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Error::Usage(format!(
            "-X {:?} is not an HTTP method",
            crate::sanitize::escape(method)
        )));
    }
    Ok(method.to_ascii_uppercase())
}

/// `-H 'Name: value'` flags; the authorization headers are tvlogin's to send.
fn headers(given: &[String]) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, Error> {
    given
        .iter()
        .map(|h| {
            let bad = || {
                Error::Usage(format!(
                    "-H {:?} is not a header: write 'Name: value'",
                    crate::sanitize::escape(h)
                ))
            };
            let (name, value) = h.split_once(':').ok_or_else(bad)?;
            let name = http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
            if name == http::header::AUTHORIZATION || name.as_str() == "dpop" {
                return Err(Error::Usage(format!(
                    "-H {name}: tvlogin sends the {name} header itself, from the session"
                )));
            }
            let value = http::HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
            Ok((name, value))
        })
        .collect()
}

/// `-d DATA` or `--data-file F` (`-` for stdin).
fn body(args: &ApiArgs) -> Result<Option<Vec<u8>>, Error> {
    if let Some(data) = &args.data {
        return Ok(Some(data.as_bytes().to_vec()));
    }
    let Some(path) = &args.data_file else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(bytes))
}

/// The answer on stdout: the body as it came, after the status line and headers with `-i`
/// (their text escaped: a header is not data the caller asked for verbatim).
fn print(answer: &RawResponse, include: bool) {
    let mut out = std::io::stdout().lock();
    if include {
        let reason = http::StatusCode::from_u16(answer.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", answer.status);
        for (name, value) in &answer.headers {
            head.push_str(&format!(
                "{name}: {}\r\n",
                crate::sanitize::escape(&String::from_utf8_lossy(value.as_bytes()))
            ));
        }
        head.push_str("\r\n");
        let _ = out.write_all(head.as_bytes());
    }
    // A closed pipe is the reader's choice, not a failure of this command.
    let _ = out.write_all(&answer.body).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_headers_are_checked() {
        assert_eq!(method(None, false).ok().as_deref(), Some("GET"));
        assert_eq!(method(None, true).ok().as_deref(), Some("POST"));
        assert_eq!(method(Some("patch"), true).ok().as_deref(), Some("PATCH"));
        assert!(method(Some("GET /x"), false).is_err());
        let ok = headers(&["Accept: text/plain".into(), "X-A:b".into()]).unwrap_or_default();
        assert_eq!(ok.len(), 2);
        for bad in [
            "Authorization: Bearer x",
            "DPoP: x",
            "no colon",
            "Bad Name: v",
        ] {
            let e = headers(&[bad.into()]).err();
            assert_eq!(e.map(|e| e.exit().code()), Some(2), "{bad}");
        }
    }
}
