//! The dashboard's `n`: a small form asking for what a new profile needs (its name, a
//! provider or an issuer, a client id), then the profile written to config.toml (an edit
//! that keeps every other byte of the file, comments included, as `tvlogin setup` does) and
//! the login screen for it. A name that is already a profile logs in at once, as before.
//!
//! The form is pure ([`NewProfileForm::key`]); the config edit is a pure text function
//! ([`add_profile`]); only [`write_profile`] touches the disk, from the dashboard's tasks.

use std::io::Write;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};
use url::Url;

use crate::config::{ConfigFile, Provider};
use crate::paths::Paths;
use crate::sanitize::escape;
use crate::tui::theme::Theme;
use crate::tui::widgets::centered;

/// The longest text a field takes.
const MAX_FIELD: usize = 256;

/// The field being typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The profile's name.
    Name,
    /// A provider name or an issuer URL.
    Server,
    /// The OAuth client id.
    ClientId,
}

/// The form as typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfileForm {
    /// The profile's name.
    pub name: String,
    /// A provider (github, google, microsoft) or an issuer URL.
    pub server: String,
    /// The client id.
    pub client_id: String,
    /// Where the keys go.
    pub field: Field,
    /// Why the last Enter was refused (plain text, shown escaped).
    pub error: Option<String>,
}

/// Where the new profile's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// A provider preset that needs nothing more.
    Provider(Provider),
    /// An issuer URL (discovery).
    Issuer(String),
}

/// A complete new profile, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfile {
    /// The profile's name.
    pub name: String,
    /// Its provider or issuer.
    pub server: Server,
    /// Its client id.
    pub client_id: String,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Still typing.
    Stay,
    /// Esc: the form is closed.
    Cancel,
    /// The name is already a profile: log in to it.
    Login(String),
    /// Every field is valid: write this profile, then log in to it.
    Create(NewProfile),
}

impl Default for NewProfileForm {
    fn default() -> Self {
        Self::new()
    }
}

impl NewProfileForm {
    /// An empty form, at the name.
    pub fn new() -> Self {
        Self {
            name: String::new(),
            server: String::new(),
            client_id: String::new(),
            field: Field::Name,
            error: None,
        }
    }

    fn text_mut(&mut self) -> &mut String {
        match self.field {
            Field::Name => &mut self.name,
            Field::Server => &mut self.server,
            Field::ClientId => &mut self.client_id,
        }
    }

    fn next(&mut self) {
        self.field = match self.field {
            Field::Name => Field::Server,
            Field::Server | Field::ClientId => Field::ClientId,
        };
    }

    fn previous(&mut self) {
        self.field = match self.field {
            Field::Name | Field::Server => Field::Name,
            Field::ClientId => Field::Server,
        };
    }

    /// Applies one key. `exists` says whether a name is already a profile (configured,
    /// remembered or logged in): Enter on such a name logs in to it.
    pub fn key(&mut self, key: KeyEvent, exists: impl Fn(&str) -> bool) -> Step {
        match key.code {
            KeyCode::Esc => return Step::Cancel,
            KeyCode::Tab | KeyCode::Down => self.next(),
            KeyCode::BackTab | KeyCode::Up => self.previous(),
            KeyCode::Backspace => {
                self.text_mut().pop();
            }
            KeyCode::Enter => {
                self.error = None;
                if self.field == Field::Name && !self.name.is_empty() && exists(&self.name) {
                    return Step::Login(self.name.clone());
                }
                match self.complete(&exists) {
                    Ok(profile) => return Step::Create(profile),
                    Err((field, why)) => {
                        // Enter moves on through fields still empty; a wrong one is said.
                        let empty = match field {
                            Field::Name => self.name.is_empty(),
                            Field::Server => self.server.is_empty(),
                            Field::ClientId => self.client_id.is_empty(),
                        };
                        if !(empty && field != self.field && self.field != Field::ClientId) {
                            self.error = Some(why);
                        }
                        self.field = field;
                    }
                }
            }
            KeyCode::Char(c) => {
                let ok = match self.field {
                    Field::Name => is_profile_char(c),
                    Field::Server | Field::ClientId => !c.is_control() && !c.is_whitespace(),
                };
                if ok && self.text_mut().chars().count() < MAX_FIELD {
                    self.text_mut().push(c);
                }
            }
            _ => {}
        }
        Step::Stay
    }

    /// The profile the fields describe, or the first field that is wrong and why.
    fn complete(&self, exists: &impl Fn(&str) -> bool) -> Result<NewProfile, (Field, String)> {
        if self.name.is_empty() {
            return Err((Field::Name, "give the profile a name".into()));
        }
        if exists(&self.name) {
            return Err((Field::Name, format!("{} is already a profile", self.name)));
        }
        let server = parse_server(&self.server).map_err(|why| (Field::Server, why))?;
        if self.client_id.is_empty() {
            return Err((
                Field::ClientId,
                "give the client id the provider registered for tvlogin".into(),
            ));
        }
        Ok(NewProfile {
            name: self.name.clone(),
            server,
            client_id: self.client_id.clone(),
        })
    }
}

/// Characters allowed in a new profile's name (it becomes part of file names, encoded, and
/// of commands shown to the person).
pub fn is_profile_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A provider that needs nothing more than a client id, or an issuer URL: https, or http on
/// this machine (`tvlogin serve`).
pub fn parse_server(text: &str) -> Result<Server, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "give a provider (github, google, microsoft) or the issuer's URL (https://…)".into(),
        );
    }
    match text.to_ascii_lowercase().as_str() {
        "github" => return Ok(Server::Provider(Provider::Github)),
        "google" => return Ok(Server::Provider(Provider::Google)),
        "microsoft" => return Ok(Server::Provider(Provider::Microsoft)),
        name @ ("okta" | "auth0" | "keycloak") => {
            return Err(format!(
                "{name} needs its domain: give its issuer URL instead (e.g. \
                 https://sso.example.com/realms/demo), or use `tvlogin login --provider {name} \
                 --domain …`"
            ));
        }
        _ => {}
    }
    let url = Url::parse(text).map_err(|_| {
        format!("{text} is neither a provider (github, google, microsoft) nor a URL (https://…)")
    })?;
    let local = crate::oauth::http::is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => {
            return Err(format!(
                "the issuer must be https:// (http:// only on this machine): {text}"
            ));
        }
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("not an issuer URL: {text}"));
    }
    Ok(Server::Issuer(text.trim_end_matches('/').to_owned()))
}

/// config.toml's text with `[profiles.NAME]` added (provider or issuer, client id), every
/// other byte kept; refused when the profile is there already or the result would not load.
pub fn add_profile(text: &str, profile: &NewProfile) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("config.toml is not valid TOML: {e}"))?;
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or("config.toml: `profiles` is not a table")?;
    if profiles.contains_key(&profile.name) {
        return Err(format!(
            "config.toml already has a profile {}; it was left as it is",
            profile.name
        ));
    }
    let mut table = toml_edit::Table::new();
    match &profile.server {
        Server::Provider(p) => {
            let name = match p {
                Provider::Github => "github",
                Provider::Google => "google",
                Provider::Microsoft => "microsoft",
                Provider::Okta => "okta",
                Provider::Auth0 => "auth0",
                Provider::Keycloak => "keycloak",
            };
            table.insert("provider", toml_edit::value(name));
        }
        Server::Issuer(url) => {
            table.insert("issuer", toml_edit::value(url.as_str()));
        }
    }
    table.insert("client_id", toml_edit::value(profile.client_id.as_str()));
    profiles.insert(&profile.name, toml_edit::Item::Table(table));
    let new = doc.to_string();
    // What is written must still load: never leave a config tvlogin itself refuses.
    toml::from_str::<ConfigFile>(&new)
        .map_err(|e| format!("config.toml would not be valid: {e}"))?;
    Ok(new)
}

/// Adds the profile to `paths`' config.toml (created, private to the user, when missing),
/// replacing the file in one step. A config.toml that is a symbolic link is left alone
/// (tvlogin never follows one to its files). Errors are plain text for the status line.
pub fn write_profile(paths: &Paths, profile: &NewProfile) -> Result<(), String> {
    let path = paths.config_file();
    let shown = path.display().to_string();
    let text = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(format!(
                "{shown} is a symbolic link, which tvlogin does not follow; add the profile \
                 there yourself"
            ));
        }
        Ok(_) => std::fs::read_to_string(&path).map_err(|e| format!("cannot read {shown}: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let new = add_profile(&text, profile)?;
    replace(&path, new.as_bytes()).map_err(|e| format!("cannot write {shown}: {e}"))
}

/// Writes `bytes` to a new file beside `path` (mode 0600), then renames it over `path`;
/// an existing file keeps its permissions.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".config.toml.tvlogin-{}-{nanos}",
        std::process::id()
    ));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The config directory, made private to the user when it has to be created.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Draws the form over the list.
pub fn render(form: &NewProfileForm, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let width = 64.min(area.width);
    let field = |label: &str, value: &str, this: Field| {
        let active = form.field == this;
        let mut spans = vec![
            Span::styled(format!("{label:<20}"), theme.dim),
            Span::styled(
                format!("{}{}", if active { "> " } else { "  " }, escape(value)),
                theme.code,
            ),
        ];
        if active {
            spans.push(Span::styled("▏", theme.key));
        }
        Line::from(spans)
    };
    let mut lines = vec![
        field("Name", &form.name, Field::Name),
        field("Provider or issuer", &form.server, Field::Server),
        field("Client id", &form.client_id, Field::ClientId),
        Line::raw(""),
        Line::styled(
            match form.field {
                Field::Name => "A new name, or an existing profile to log in to it.",
                Field::Server => {
                    "github, google or microsoft; or the issuer's URL (https://…, or \
                     http://127.0.0.1:PORT for tvlogin serve)."
                }
                Field::ClientId => "The client id registered for tvlogin at the provider.",
            },
            theme.dim,
        ),
    ];
    if let Some(why) = &form.error {
        lines.push(Line::styled(escape(why), theme.error));
    }
    lines.push(Line::from(vec![
        Span::styled("Tab", theme.key),
        Span::raw(" next  "),
        Span::styled("Enter", theme.key),
        Span::raw(" save to config.toml and log in  "),
        Span::styled("Esc", theme.key),
        Span::raw(" cancel"),
    ]));
    // Borders, and a row for a line the width wraps.
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(
            Block::bordered()
                .title(" new profile ")
                .border_style(theme.dim),
        )
        .render(rect, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(form: &mut NewProfileForm, code: KeyCode) -> Step {
        form.key(KeyEvent::new(code, KeyModifiers::NONE), |n| n == "work")
    }

    fn typed(form: &mut NewProfileForm, text: &str) {
        for c in text.chars() {
            press(form, KeyCode::Char(c));
        }
    }

    /// Name, provider or issuer, client id: Enter moves through empty fields, says what is
    /// wrong, and hands back a complete profile; an existing name logs in at once.
    #[test]
    fn the_form_asks_for_what_a_profile_needs() {
        let mut form = NewProfileForm::new();
        typed(&mut form, "work");
        assert_eq!(press(&mut form, KeyCode::Enter), Step::Login("work".into()));

        let mut form = NewProfileForm::new();
        typed(&mut form, "staging/!");
        assert_eq!(form.name, "staging", "only name characters are taken");
        assert_eq!(press(&mut form, KeyCode::Enter), Step::Stay);
        assert_eq!(form.field, Field::Server);
        assert_eq!(form.error, None, "an empty next field is no error");
        typed(&mut form, "okta");
        assert_eq!(press(&mut form, KeyCode::Enter), Step::Stay);
        assert!(form.error.as_deref().unwrap_or("").contains("issuer URL"));
        for _ in 0..4 {
            press(&mut form, KeyCode::Backspace);
        }
        typed(&mut form, "GitHub");
        press(&mut form, KeyCode::Enter);
        assert_eq!(form.field, Field::ClientId);
        assert_eq!(press(&mut form, KeyCode::Enter), Step::Stay);
        assert!(form.error.as_deref().unwrap_or("").contains("client id"));
        typed(&mut form, "Iv1.abc");
        assert_eq!(
            press(&mut form, KeyCode::Enter),
            Step::Create(NewProfile {
                name: "staging".into(),
                server: Server::Provider(Provider::Github),
                client_id: "Iv1.abc".into(),
            })
        );
        press(&mut form, KeyCode::BackTab);
        assert_eq!(form.field, Field::Server);
        assert_eq!(press(&mut form, KeyCode::Esc), Step::Cancel);
    }

    #[test]
    fn issuers_must_be_https_or_on_this_machine() {
        assert_eq!(
            parse_server("https://sso.example.com/realms/demo/"),
            Ok(Server::Issuer("https://sso.example.com/realms/demo".into()))
        );
        assert_eq!(
            parse_server("http://127.0.0.1:8080"),
            Ok(Server::Issuer("http://127.0.0.1:8080".into()))
        );
        assert!(parse_server("http://sso.example.com").is_err());
        assert!(parse_server("ftp://sso.example.com").is_err());
        assert!(parse_server("sso.example.com").is_err());
        assert!(parse_server("").is_err());
    }

    /// The profile is added and every other byte kept; a name already there is refused.
    #[test]
    fn the_profile_is_added_keeping_the_file() {
        let text = "# my profiles\n[profiles.work] # the office\nprovider = \"github\"\nclient_id = \"a\"\n";
        let new = NewProfile {
            name: "lab".into(),
            server: Server::Issuer("http://127.0.0.1:8080".into()),
            client_id: "tvlogin-demo".into(),
        };
        let out = add_profile(text, &new).expect("added");
        assert!(out.starts_with(text), "{out}");
        let parsed: ConfigFile = toml::from_str(&out).expect("loads");
        let lab = &parsed.profiles["lab"];
        assert_eq!(lab.issuer.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(lab.client_id.as_deref(), Some("tvlogin-demo"));
        let again = add_profile(&out, &new).expect_err("refused");
        assert!(again.contains("already has a profile lab"), "{again}");
        let fresh = add_profile("", &new).expect("a new file");
        assert!(fresh.contains("[profiles.lab]"), "{fresh}");
    }

    /// A missing config.toml (and folder) is created private to the user; a linked one is
    /// left alone.
    #[test]
    fn write_profile_creates_the_file_and_refuses_links() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let paths = Paths {
            config_dir: dir.path().join("config"),
            data_dir: dir.path().join("data"),
        };
        let new = NewProfile {
            name: "gh".into(),
            server: Server::Provider(Provider::Github),
            client_id: "Iv1.abc".into(),
        };
        write_profile(&paths, &new).expect("written");
        let text = std::fs::read_to_string(paths.config_file()).expect("read");
        assert!(text.contains("[profiles.gh]") && text.contains("provider = \"github\""));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&paths.config_file()), 0o600);
            assert_eq!(mode(&paths.config_dir), 0o700);
            let real = dir.path().join("real.toml");
            std::fs::write(&real, "").expect("write");
            std::fs::remove_file(paths.config_file()).expect("remove");
            std::os::unix::fs::symlink(&real, paths.config_file()).expect("link");
            let why = write_profile(&paths, &new).expect_err("a link is not followed");
            assert!(why.contains("symbolic link"), "{why}");
            assert_eq!(std::fs::read_to_string(&real).expect("read"), "");
        }
    }
}
