//! Turns [`Effect`]s into work: tokio tasks for network and storage, direct writes for the
//! clipboard. Results come back to the loop as [`Msg`]s tagged with their attempt.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::config::LoginConfig;
use crate::error::Error;
use crate::login::{dpop_for_login, resolve_endpoints};
use crate::oauth::device;
use crate::oauth::discovery::Endpoints;
use crate::oauth::dpop::Dpop;
use crate::oauth::http::Http;
use crate::paths::Paths;
use crate::session::persist_login_detached;
use crate::store::{Backend, StoreChoice};
use crate::tui::login::{Effect, Msg};

/// The demo's stand-in for the phone: decides the user code (`true`: approve) at the embedded
/// server and says what happened, in a line for the screen. `tvlogin demo` hands one in, so
/// the terminal UI never depends on the server itself; other logins have none.
pub type DemoDecide = Arc<dyn Fn(&str, bool) -> String + Send + Sync>;

/// Where a login's tokens go.
#[derive(Debug, Clone)]
pub struct Storage {
    /// tvlogin's directories.
    pub paths: Paths,
    /// The chosen store; `None` until the person answers the store question.
    pub choice: Option<StoreChoice>,
}

/// Everything effects need.
pub struct Executor {
    http: Http,
    config: Arc<LoginConfig>,
    endpoints: Option<Endpoints>,
    demo: Option<DemoDecide>,
    storage: Storage,
    tx: UnboundedSender<Msg>,
    tasks: Vec<JoinHandle<()>>,
    /// The DPoP key (and nonces) of the code being polled for, when the login binds one: a
    /// new one with every code requested.
    dpop: Option<Dpop>,
}

impl Executor {
    /// An executor sending results on `tx`. `demo` decides codes when this is `tvlogin demo`.
    pub fn new(
        http: Http,
        config: Arc<LoginConfig>,
        demo: Option<DemoDecide>,
        storage: Storage,
        tx: UnboundedSender<Msg>,
    ) -> Self {
        Self {
            http,
            config,
            endpoints: None,
            demo,
            storage,
            tx,
            tasks: Vec::new(),
            dpop: None,
        }
    }

    fn spawn(&mut self, work: impl Future<Output = Msg> + Send + 'static) {
        let tx = self.tx.clone();
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(tokio::spawn(async move {
            let _ = tx.send(work.await);
        }));
    }

    /// Starts one effect.
    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Discover { attempt } => {
                let (http, config) = (self.http.clone(), Arc::clone(&self.config));
                self.spawn(async move {
                    let result = async {
                        let endpoints = resolve_endpoints(&http, &config).await?;
                        http.check_url(&endpoints.token)?;
                        Ok::<_, Error>(endpoints)
                    }
                    .await;
                    Msg::Discovered { attempt, result }
                });
            }
            Effect::RequestCode { attempt, endpoint } => {
                let (http, config) = (self.http.clone(), Arc::clone(&self.config));
                let dpop = match &self.endpoints {
                    Some(endpoints) => dpop_for_login(&config, endpoints),
                    None => Ok(None),
                };
                self.dpop = dpop.as_ref().ok().cloned().flatten();
                self.spawn(async move {
                    let result = match dpop {
                        Ok(dpop) => {
                            device::request_device_authorization(
                                &http,
                                &config.client,
                                &endpoint,
                                &config.request,
                                dpop.as_ref(),
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    };
                    Msg::CodeIssued {
                        attempt,
                        result,
                        at: Instant::now(),
                    }
                });
            }
            Effect::Poll {
                attempt,
                at,
                token_endpoint,
                device_code,
            } => {
                let (http, config) = (self.http.clone(), Arc::clone(&self.config));
                let dpop = self.dpop.clone();
                self.spawn(async move {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                    let answer = device::poll_once(
                        &http,
                        &config.client,
                        &token_endpoint,
                        &device_code,
                        dpop.as_ref(),
                    )
                    .await;
                    Msg::Polled {
                        attempt,
                        answer,
                        at: Instant::now(),
                    }
                });
            }
            Effect::Save { attempt, tokens } => {
                // Said once, as plain and JSON logins say it: the server did not bind the
                // access token to the key the login proved.
                if let Some(text) = crate::login::bearer_notice(&tokens, self.dpop.as_ref()) {
                    let _ = self.tx.send(Msg::Done { text });
                }
                let (config, storage) = (Arc::clone(&self.config), self.storage.clone());
                let endpoints = self.endpoints.clone();
                let dpop_key = self.dpop.as_ref().map(|d| d.key().clone());
                self.spawn(async move {
                    let result = match (endpoints, storage.choice) {
                        // Detached: leaving the screen cannot cut a write in half.
                        (Some(endpoints), Some(choice)) => persist_login_detached(
                            storage.paths,
                            (*config).clone(),
                            endpoints,
                            *tokens,
                            choice,
                            dpop_key,
                        )
                        .await
                        .map(|stored| stored.location)
                        .map_err(|e| e.to_string()),
                        (None, _) => Err("the endpoints are unknown".into()),
                        (_, None) => Err("no store was chosen".into()),
                    };
                    Msg::Saved { attempt, result }
                });
            }
            Effect::UseStore(backend) => {
                let storage = &mut self.storage;
                storage.choice = Some(match backend {
                    Backend::File => StoreChoice::file(&storage.paths, &self.config.profile),
                    Backend::Memory | Backend::Keyring => StoreChoice::memory(),
                });
            }
            Effect::CancelPending => {
                for task in self.tasks.drain(..) {
                    task.abort();
                }
            }
            Effect::Copy(text) => {
                let done = crossterm::execute!(
                    std::io::stdout(),
                    crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
                );
                if let Err(e) = done {
                    let _ = self.tx.send(Msg::Done {
                        text: format!("Copy failed: {e}"),
                    });
                }
            }
            Effect::OpenBrowser(url) => {
                let tx = self.tx.clone();
                // The browser gets no secret: not the client secret's variable, not its value.
                let mut env = crate::child_env::ChildEnv::new();
                if let Some(var) = &self.config.client_secret_env {
                    env = env.without_var(var);
                }
                if let Some(secret) = &self.config.client.secret {
                    env = env.without_value(secret.secret());
                }
                // Launching blocks for a moment; keep it off the runtime.
                tokio::task::spawn_blocking(move || {
                    let text = match crate::browser::open(&url, &env) {
                        Ok(()) => "Opened the browser".to_owned(),
                        Err(e) => format!("Could not open a browser: {e}"),
                    };
                    let _ = tx.send(Msg::Done { text });
                });
            }
            Effect::DemoDecide { approve, user_code } => {
                let text = match &self.demo {
                    Some(decide) => decide(&user_code, approve),
                    None => "Not a demo".to_owned(),
                };
                let _ = self.tx.send(Msg::Done { text });
            }
        }
    }

    /// Remembers the endpoints once known (the save step needs them).
    pub fn set_endpoints(&mut self, endpoints: Option<Endpoints>) {
        self.endpoints = endpoints;
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}
