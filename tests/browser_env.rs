//! The browser is started with an environment holding no secret: a stand-in browser named by
//! `BROWSER` writes the environment it received, and neither the client secret's variable,
//! `TVLOGIN_CLIENT_SECRET` nor any value carrying a secret is in it.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;

use tvlogin::child_env::ChildEnv;

#[test]
fn the_browser_gets_no_secret() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("env.txt");
    let script = dir.path().join("stand-in-browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > '{}'\necho \"$1\" >> '{}'\n",
            out.display(),
            out.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let client_secret = "client-secret-value-42";
    let vars: Vec<(OsString, OsString)> = [
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/home/someone"),
        ("BROWSER", script.to_str().unwrap_or_default()),
        ("MY_CLIENT_SECRET", client_secret),
        ("TVLOGIN_CLIENT_SECRET", "global-secret-value-43"),
        ("SOME_COPY", client_secret),
        ("LANG", "C.UTF-8"),
    ]
    .iter()
    .map(|(k, v)| (OsString::from(k), OsString::from(v)))
    .collect();
    let env = ChildEnv::new()
        .without_var("MY_CLIENT_SECRET")
        .without_value(client_secret);
    let url = url::Url::parse("https://idp.example/device?user_code=ABCD-EFGH")
        .unwrap_or_else(|e| panic!("{e}"));
    tvlogin::browser::open_from(&url, &env, vars).unwrap_or_else(|e| panic!("{e}"));
    // The launcher is waited for (it exits at once), so the file is complete.
    let seen = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        seen.contains(url.as_str()),
        "the URL is the argument: {seen}"
    );
    assert!(
        seen.contains("HOME=/home/someone"),
        "the rest is kept: {seen}"
    );
    for secret in [
        client_secret,
        "global-secret-value-43",
        "MY_CLIENT_SECRET",
        "TVLOGIN_CLIENT_SECRET",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the browser: {seen}"
        );
    }
}
