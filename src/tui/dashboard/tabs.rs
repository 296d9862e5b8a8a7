//! A stored profile's tokens as inspector tabs: the access token, the id token and the
//! refresh token (decoded when it is a JWT), then userinfo and introspection of the access
//! token. Signatures are checked against the issuer's JWKS (from discovery, or the stored
//! `jwks_uri`). Nothing is refreshed: the inspector shows what is stored.

use url::Url;

use crate::error::Error;
use crate::session::{self, StoredSession};
use crate::store::Secrets;
use crate::token::jwt::{self, Decoded};
use crate::token::remote::{IssuerInfo, JwksSource, Remote};
use crate::token::report::{self, Lookup, Options, Report};
use crate::tui::inspector::{RawToken, Tab, TabBody};

/// The tokens as plain strings, gathered once (each is a secret; the tabs keep them in
/// [`RawToken`], whose Debug is redacted).
struct Tokens {
    access: Option<String>,
    id: Option<String>,
    refresh: Option<String>,
}

impl From<&Secrets> for Tokens {
    fn from(s: &Secrets) -> Self {
        Self {
            access: s.access_token.as_ref().map(|t| t.secret().clone()),
            id: s.id_token.as_ref().map(|t| t.secret().to_owned()),
            refresh: s.refresh_token.as_ref().map(|t| t.secret().clone()),
        }
    }
}

/// Reads `profile`'s tokens and checks each; the tabs in display order.
pub async fn profile_tabs(ctx: &session::Context, profile: &str) -> Result<Vec<Tab>, Error> {
    let stored = session::stored_session(ctx, profile).await?;
    Ok(tabs_for(stored).await)
}

/// The tabs for a stored session (the IO is only to the issuer).
pub async fn tabs_for(stored: StoredSession) -> Vec<Tab> {
    let StoredSession {
        meta,
        secrets,
        http,
        client,
    } = stored;
    let tokens = Tokens::from(&secrets);
    let mut remote = Remote::new(http);
    let issuer = meta.issuer.as_deref().and_then(|i| Url::parse(i).ok());
    let jwks_uri = meta
        .endpoints
        .jwks_uri
        .as_deref()
        .and_then(|u| Url::parse(u).ok());
    let introspection = meta
        .endpoints
        .introspection
        .as_deref()
        .and_then(|u| Url::parse(u).ok());
    let client = client.ok();
    let options = |audience: Option<String>, with_client: bool| Options {
        // With an issuer, discovery names the keys; the stored jwks_uri serves sessions
        // set up with manual endpoints.
        jwks: jwks_uri
            .clone()
            .filter(|_| issuer.is_none())
            .map(|url| JwksSource::Url {
                url,
                set: None,
                refetched: false,
            }),
        issuer: issuer.clone(),
        introspection: introspection.clone(),
        audience,
        secret: None,
        client: client.clone().filter(|_| with_client),
        leeway: crate::token::verify::Leeway::default(),
    };

    let mut tabs = Vec::new();
    let mut lookups: (Option<Lookup>, Option<Lookup>) = (None, None);
    match &tokens.access {
        Some(at) => {
            let mut report = report::inspect(at, options(None, true), &mut remote).await;
            let key = secrets.dpop_key.as_ref().map(|k| k.jkt());
            if let Some(note) = report::key_binding(&report.decoded, key) {
                report.notes.push(note);
            }
            lookups = (report.userinfo.clone(), report.introspection.clone());
            tabs.push(token_tab("access token", at, report));
        }
        None => tabs.push(empty(
            "access token",
            "no access token is stored (a keyring may have refused a large one); `tvlogin token` \
             gets a new one with the refresh token",
        )),
    }
    match &tokens.id {
        Some(id) => {
            // An id token's audience is the client itself (OpenID Connect Core §2).
            let report = report::inspect(
                id,
                options(Some(meta.client_id.clone()), false),
                &mut remote,
            )
            .await;
            tabs.push(token_tab("id token", id, report));
        }
        None => tabs.push(empty(
            "id token",
            "no id token: the server issues one when the login asks for the openid scope",
        )),
    }
    match &tokens.refresh {
        Some(rt) if matches!(jwt::decode(jwt::clean(rt)), Decoded::Opaque) => tabs.push(empty(
            "refresh token",
            "the refresh token is opaque: only the issuer can read it, and it is never sent \
             anywhere but the token endpoint, so nothing more can be shown",
        )),
        Some(rt) => {
            // A JWT refresh token (Keycloak) is decoded and its signature checked, but it is
            // never sent to userinfo or introspection.
            let mut o = options(None, false);
            o.issuer = None;
            if o.jwks.is_none() {
                o.jwks = jwks_uri.clone().map(|url| JwksSource::Url {
                    url,
                    set: None,
                    refetched: false,
                });
            }
            let report = report::inspect(rt, o, &mut remote).await;
            tabs.push(token_tab("refresh token", rt, report));
        }
        None => tabs.push(empty(
            "refresh token",
            "no refresh token: the server issued none, so a new login is needed when the access \
             token expires",
        )),
    }
    let (mut userinfo, mut introspection) = lookups;
    if let Some(at) = &tokens.access {
        if userinfo.is_none()
            && let Some(url) = endpoint(&mut remote, &meta.endpoints.userinfo, &issuer, |i| {
                i.userinfo.clone()
            })
            .await
        {
            let result = remote.userinfo(&url, at).await;
            userinfo = Some(Lookup {
                endpoint: url.to_string(),
                result,
            });
        }
        if introspection.is_none()
            && let Some(c) = &client
            && let Some(url) = endpoint(&mut remote, &meta.endpoints.introspection, &issuer, |i| {
                i.introspection.clone()
            })
            .await
        {
            let result = remote.introspect(&url, c, at).await;
            introspection = Some(Lookup {
                endpoint: url.to_string(),
                result,
            });
        }
    }
    tabs.push(match userinfo {
        Some(l) => fields("userinfo", l),
        None => empty(
            "userinfo",
            "the issuer names no userinfo endpoint (it is part of OpenID Connect)",
        ),
    });
    tabs.push(match introspection {
        Some(l) => fields("introspection", l),
        None if client.is_none() => empty(
            "introspection",
            "introspection needs the client's secret, which is not available here",
        ),
        None => empty(
            "introspection",
            "the issuer names no introspection endpoint (RFC 7662)",
        ),
    });
    tabs
}

/// An endpoint stored with the session, else from the issuer's discovery document.
async fn endpoint(
    remote: &mut Remote,
    stored: &Option<String>,
    issuer: &Option<Url>,
    pick: impl Fn(&IssuerInfo) -> Option<Url>,
) -> Option<Url> {
    if let Some(url) = stored.as_deref().and_then(|u| Url::parse(u).ok()) {
        return Some(url);
    }
    let issuer = issuer.as_ref()?;
    remote.discover(issuer).await.ok().as_ref().and_then(pick)
}

fn token_tab(title: &str, raw: &str, report: Report) -> Tab {
    Tab {
        title: title.to_owned(),
        body: TabBody::Token {
            report: Box::new(report),
            raw: RawToken::new(raw.to_owned()),
        },
    }
}

fn fields(title: &str, lookup: Lookup) -> Tab {
    Tab {
        title: title.to_owned(),
        body: TabBody::Fields(lookup),
    }
}

fn empty(title: &str, why: &str) -> Tab {
    Tab {
        title: title.to_owned(),
        body: TabBody::Empty(why.to_owned()),
    }
}
