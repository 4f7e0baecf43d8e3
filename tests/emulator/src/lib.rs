//! hoopauth-emulator: an offline, deterministic stand-in for the HighLevel / HoopAI
//! platform (OAuth, token rotation, API limits and errors, signed webhooks) served over
//! real HTTP on 127.0.0.1, for the hoopauth test suites.

mod config;
mod prng;
mod routes;
mod state;
mod webhooks;

pub use config::{parse_args, parse_hex32, EmulatorConfig, DEFAULT_WEBHOOK_SEED, USAGE};
pub use webhooks::iso_from_unix_ms;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use routes::Shared;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// A running emulator. Dropping it stops the server (open connections are aborted).
pub struct Running {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The webhook verification key as SPKI DER, base64.
    pub fn webhook_public_key(&self) -> String {
        self.shared.key.spki_base64()
    }

    pub fn client_id(&self) -> &str {
        &self.shared.app.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.app.client_secret
    }

    /// The one-line JSON the binary prints at start.
    pub fn startup_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Startup<'a> {
            base_url: String,
            webhook_public_key: String,
            client_id: &'a str,
            client_secret: &'a str,
        }
        serde_json::to_string(&Startup {
            base_url: self.base_url(),
            webhook_public_key: self.webhook_public_key(),
            client_id: self.client_id(),
            client_secret: self.client_secret(),
        })
        .unwrap_or_default()
    }

    /// Stops accepting, aborts open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds 127.0.0.1:`cfg.port` and serves until the returned handle is shut down or dropped.
pub async fn start(cfg: EmulatorConfig) -> std::io::Result<Running> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, cfg.port)).await?;
    let addr = listener.local_addr()?;
    let mut prng = prng::Prng::new(cfg.seed);
    let app = state::App {
        client_id: cfg.client_id.clone(),
        client_secret: cfg.client_secret.clone(),
        company_id: cfg.company_id.clone(),
        locations: cfg.locations.clone(),
        user_id: format!("user_{}", prng.token(20)),
        code_ttl_secs: cfg.code_ttl_secs,
        webhook_url: cfg.webhook_url.clone(),
    };
    let shared = Arc::new(Shared {
        app,
        key: webhooks::WebhookKey::from_seed(&cfg.webhook_seed),
        client: webhooks::http_client(),
        state: Mutex::new(state::State::new(&cfg, prng)),
    });
    let (tx, mut rx) = oneshot::channel::<()>();
    let sh = shared.clone();
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut rx => break,
                acc = listener.accept() => match acc {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let sh = sh.clone();
                        conns.spawn(async move {
                            let svc = service_fn(move |req| routes::handle(sh.clone(), req));
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                },
            }
            while conns.try_join_next().is_some() {}
        }
        conns.abort_all();
    });
    Ok(Running {
        addr,
        shared,
        stop: Some(tx),
        task: Some(task),
    })
}
