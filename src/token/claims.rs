//! What each registered JOSE header parameter and JWT claim means, for the claims table.
//!
//! Sources: RFC 7515/7516 (header), RFC 7519 (registered claims), OpenID Connect Core 1.0 §2 and
//! §5.1, RFC 9068 (JWT access tokens), RFC 8693 (`act`, `may_act`), RFC 7800 (`cnf`), RFC 8707
//! and RFC 9449 (DPoP `cnf.jkt`).

/// How a claim's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Seconds since the Unix epoch: shown as local time, UTC and relative.
    Time,
    /// Anything else: shown as text or JSON.
    Plain,
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The claim or parameter name.
    pub name: &'static str,
    /// A short explanation.
    pub about: &'static str,
    /// Where it is defined.
    pub spec: &'static str,
    /// How the value is shown.
    pub kind: Kind,
}

const fn e(name: &'static str, about: &'static str, spec: &'static str) -> Entry {
    Entry {
        name,
        about,
        spec,
        kind: Kind::Plain,
    }
}

const fn t(name: &'static str, about: &'static str, spec: &'static str) -> Entry {
    Entry {
        name,
        about,
        spec,
        kind: Kind::Time,
    }
}

/// Registered JWT claims.
pub const CLAIMS: &[Entry] = &[
    e(
        "iss",
        "Issuer: who created and signed the token",
        "RFC 7519 §4.1.1",
    ),
    e("sub", "Subject: whom the token is about", "RFC 7519 §4.1.2"),
    e(
        "aud",
        "Audience: who the token is meant for",
        "RFC 7519 §4.1.3",
    ),
    t(
        "exp",
        "Expiration time: not valid at or after this",
        "RFC 7519 §4.1.4",
    ),
    t(
        "nbf",
        "Not before: not valid before this",
        "RFC 7519 §4.1.5",
    ),
    t("iat", "Issued at", "RFC 7519 §4.1.6"),
    e(
        "jti",
        "JWT ID: unique identifier of this token",
        "RFC 7519 §4.1.7",
    ),
    t("auth_time", "When the user authenticated", "OIDC Core §2"),
    e(
        "nonce",
        "Value from the authentication request, against replay",
        "OIDC Core §2",
    ),
    e(
        "acr",
        "Authentication context class reference",
        "OIDC Core §2",
    ),
    e(
        "amr",
        "Authentication methods used (pwd, otp, mfa, …)",
        "OIDC Core §2",
    ),
    e(
        "azp",
        "Authorized party: the client the token was issued to",
        "OIDC Core §2",
    ),
    e(
        "at_hash",
        "Access token hash (left half of its SHA-2 digest)",
        "OIDC Core §3.1.3.6",
    ),
    e("c_hash", "Authorization code hash", "OIDC Core §3.3.2.11"),
    e(
        "sid",
        "Session ID at the provider",
        "OIDC Front-Channel Logout §3",
    ),
    e("name", "Full name", "OIDC Core §5.1"),
    e("given_name", "Given name(s)", "OIDC Core §5.1"),
    e("family_name", "Surname(s)", "OIDC Core §5.1"),
    e("middle_name", "Middle name(s)", "OIDC Core §5.1"),
    e("nickname", "Casual name", "OIDC Core §5.1"),
    e(
        "preferred_username",
        "Shorthand name the user wants to be called",
        "OIDC Core §5.1",
    ),
    e("profile", "Profile page URL", "OIDC Core §5.1"),
    e("picture", "Profile picture URL", "OIDC Core §5.1"),
    e("website", "Web page or blog URL", "OIDC Core §5.1"),
    e("email", "E-mail address", "OIDC Core §5.1"),
    e(
        "email_verified",
        "Whether the provider verified the e-mail address",
        "OIDC Core §5.1",
    ),
    e("gender", "Gender", "OIDC Core §5.1"),
    e("birthdate", "Birthday (YYYY-MM-DD)", "OIDC Core §5.1"),
    e(
        "zoneinfo",
        "Time zone (e.g. Europe/Paris)",
        "OIDC Core §5.1",
    ),
    e("locale", "Locale (e.g. en-US)", "OIDC Core §5.1"),
    e("phone_number", "Telephone number", "OIDC Core §5.1"),
    e(
        "phone_number_verified",
        "Whether the phone number was verified",
        "OIDC Core §5.1",
    ),
    e(
        "address",
        "Postal address (JSON object)",
        "OIDC Core §5.1.1",
    ),
    t(
        "updated_at",
        "When the user's information was last updated",
        "OIDC Core §5.1",
    ),
    e(
        "client_id",
        "The OAuth client the token was issued to",
        "RFC 9068 §2.2",
    ),
    e(
        "scope",
        "Scopes granted, space-separated",
        "RFC 9068 §2.2.3",
    ),
    e("scp", "Scopes granted (Microsoft/Okta spelling)", "vendor"),
    e(
        "groups",
        "Groups of the subject",
        "RFC 9068 §2.2.3.1 / RFC 7643",
    ),
    e(
        "roles",
        "Roles of the subject",
        "RFC 9068 §2.2.3.1 / RFC 7643",
    ),
    e(
        "entitlements",
        "Entitlements of the subject",
        "RFC 9068 §2.2.3.1 / RFC 7643",
    ),
    e(
        "act",
        "Actor: who acts on behalf of the subject (delegation)",
        "RFC 8693 §4.1",
    ),
    e(
        "may_act",
        "Who may act on behalf of the subject",
        "RFC 8693 §4.4",
    ),
    e(
        "cnf",
        "Confirmation: key the token is bound to (jkt = DPoP, x5t#S256 = mTLS)",
        "RFC 7800 / RFC 9449 / RFC 8705",
    ),
    e("events", "Security event token events", "RFC 8417"),
    e(
        "active",
        "Introspection: whether the token is currently active",
        "RFC 7662 §2.2",
    ),
    e(
        "username",
        "Introspection: human-readable name of the resource owner",
        "RFC 7662 §2.2",
    ),
    e(
        "token_type",
        "Introspection: type of the token (e.g. Bearer)",
        "RFC 7662 §2.2",
    ),
    e("tid", "Tenant ID (Microsoft Entra)", "vendor"),
    e("oid", "Object ID of the user (Microsoft Entra)", "vendor"),
    e("ver", "Token format version (Microsoft Entra)", "vendor"),
    t("rat", "Refresh (re-authentication) time (Okta)", "vendor"),
];

/// Registered JOSE header parameters.
pub const HEADER: &[Entry] = &[
    e(
        "alg",
        "Algorithm: how the token is signed (JWS) or its key wrapped (JWE)",
        "RFC 7515 §4.1.1",
    ),
    e(
        "typ",
        "Media type of the whole token (at+jwt = access token, RFC 9068)",
        "RFC 7515 §4.1.9",
    ),
    e(
        "cty",
        "Content type of the payload (JWT = nested token)",
        "RFC 7515 §4.1.10",
    ),
    e(
        "kid",
        "Key ID: which key of the issuer's JWKS signed it",
        "RFC 7515 §4.1.4",
    ),
    e(
        "jku",
        "URL of a JWKS (never trusted to pick the key)",
        "RFC 7515 §4.1.2",
    ),
    e(
        "jwk",
        "Embedded public key (never trusted to verify)",
        "RFC 7515 §4.1.3",
    ),
    e(
        "x5u",
        "URL of an X.509 certificate chain",
        "RFC 7515 §4.1.5",
    ),
    e("x5c", "X.509 certificate chain", "RFC 7515 §4.1.6"),
    e(
        "x5t",
        "SHA-1 thumbprint of the X.509 certificate",
        "RFC 7515 §4.1.7",
    ),
    e(
        "x5t#S256",
        "SHA-256 thumbprint of the X.509 certificate",
        "RFC 7515 §4.1.8",
    ),
    e(
        "crit",
        "Extensions the recipient must understand",
        "RFC 7515 §4.1.11",
    ),
    e(
        "enc",
        "Content encryption algorithm (JWE)",
        "RFC 7516 §4.1.2",
    ),
    e(
        "zip",
        "Compression of the plaintext (JWE)",
        "RFC 7516 §4.1.3",
    ),
    e(
        "epk",
        "Ephemeral public key (JWE ECDH-ES)",
        "RFC 7518 §4.6.1.1",
    ),
    e(
        "apu",
        "Agreement PartyUInfo (JWE ECDH-ES)",
        "RFC 7518 §4.6.1.2",
    ),
    e(
        "apv",
        "Agreement PartyVInfo (JWE ECDH-ES)",
        "RFC 7518 §4.6.1.3",
    ),
    e(
        "iv",
        "Initialization vector for key wrapping (JWE AES-GCMKW)",
        "RFC 7518 §4.7.1.1",
    ),
    e(
        "tag",
        "Authentication tag for key wrapping (JWE AES-GCMKW)",
        "RFC 7518 §4.7.1.2",
    ),
    e("p2s", "PBES2 salt (JWE)", "RFC 7518 §4.8.1.1"),
    e("p2c", "PBES2 iteration count (JWE)", "RFC 7518 §4.8.1.2"),
    e(
        "b64",
        "Whether the payload is base64url-encoded",
        "RFC 7797",
    ),
];

/// The catalogue entry for a claim, if it is registered.
pub fn claim(name: &str) -> Option<&'static Entry> {
    CLAIMS.iter().find(|e| e.name == name)
}

/// The catalogue entry for a header parameter, if it is registered.
pub fn header(name: &str) -> Option<&'static Entry> {
    HEADER.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_claim_is_explained() {
        for name in [
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "azp",
            "client_id",
            "scope",
            "act",
            "may_act",
            "cnf",
            "email",
            "at_hash",
        ] {
            assert!(claim(name).is_some(), "{name}");
        }
        assert_eq!(claim("exp").map(|e| e.kind), Some(Kind::Time));
        assert!(claim("x-custom").is_none());
        assert!(header("kid").is_some());
        let mut names: Vec<_> = CLAIMS.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CLAIMS.len(), "duplicate entries");
    }
}
