//! A real browser for tests: Chromium, headless, at phone size, driven over WebDriver by
//! chromedriver on a free 127.0.0.1 port. Fresh profile per browser; no network beyond
//! loopback is needed (background networking, updates, sync and QUIC are off). Page JavaScript
//! is switched off, as the verification page must work without it. chromedriver and the
//! Chromium it starts share one process group, killed when the value drops.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::json;

/// Phone viewport, CSS pixels (an iPhone 12-15 class screen).
pub const PHONE: (u32, u32) = (390, 844);

/// The programs, and the Debian package of each.
pub const PROGRAMS: [(&str, &str); 2] = [
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
];

/// chromedriver with one Chromium session.
pub struct Browser {
    pub client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// The chromedriver process; dropping it kills its process group (Chromium included).
struct Driver(Child);

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn free_port() -> u16 {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind chromedriver's port on 127.0.0.1");
    listener
        .local_addr()
        .expect("read chromedriver's port")
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. `Err` is a reason to skip (a program is
    /// missing); anything else going wrong panics.
    pub async fn start() -> Result<Self, String> {
        if let Some((program, package)) = PROGRAMS.into_iter().find(|(p, _)| !on_path(p)) {
            return Err(format!(
                "{program} is not installed (Debian package {package}); .ci/run installs it"
            ));
        }
        let port = free_port();
        let driver = Driver(
            Command::new("chromedriver")
                .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start chromedriver"),
        );
        let profile = tempfile::tempdir().expect("create chromedriver's profile dir");
        Ok(Self {
            client: connect(port, &profile).await,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Opens `url` and waits for the page.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The element matching CSS `selector` (waits up to 10 s for it).
    pub async fn find(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    /// The visible text of the element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        self.find(selector)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    /// Clicks the element matching `selector` and waits for the page that follows (until the
    /// current page's root element is gone).
    pub async fn click(&self, selector: &str) {
        let old = self.find("html").await;
        self.find(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
        let started = Instant::now();
        while old.tag_name().await.is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no new page after clicking {selector}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("take a screenshot")
    }
}

async fn connect(port: u16, profile: &tempfile::TempDir) -> Client {
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        "--force-device-scale-factor=1".into(),
        format!("--window-size={},{}", PHONE.0, PHONE.1),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "args": args,
            // A phone's viewport: a desktop window cannot be made narrower than 500 px.
            "mobileEmulation": {
                "deviceMetrics": {"width": PHONE.0, "height": PHONE.1, "pixelRatio": 1.0,
                                  "mobile": true, "touch": false},
            },
            // The page must work without JavaScript: switch it off for every site.
            "prefs": {"profile.managed_default_content_settings.javascript": 2},
        },
    });
    let caps = caps.as_object().cloned().unwrap_or_default();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match Client::with_capabilities_and_connector(&url, &caps, connector).await {
            Ok(client) => return client,
            // chromedriver may not be listening yet.
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session after 30 s: {e}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver and every Chromium process it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}
