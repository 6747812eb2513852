//! # fakegpt-gateway
//!
//! An OpenAI-compatible HTTP API over any [`fakegpt::Provider`], so every
//! OpenAI client can use it. It owns request validation, OpenAI-shaped
//! answers, chunks and errors, API keys, limits, health, metrics and
//! graceful shutdown; it never sees the upstream's wire format.
//!
//! Its modules (private):
//! - `chat`: `POST /v1/chat/completions`, whole or streamed;
//! - `validate`: request bodies → chats, or errors naming the field;
//! - `models`: `GET /v1/models[/{id}]`: the provider's models and aliases;
//! - `openai`: the wire types; `error`: OpenAI's error shape, and the
//!   status of each kind of provider failure;
//! - `auth`, `health`, `metrics`, `observe`: keys, probes, Prometheus,
//!   request ids and access logs;
//! - `limits`: the fleet-wide concurrency cap and the per-key request
//!   rates (in the shared Redis when there is one);
//! - `tokens`: `usage` with the real `cl100k_base` encoding;
//! - `web`: the chat page at `/`, embedded in the binary;
//! - `config`: [`GatewayConfig`], checked when built.
//!
//! [`router`] builds the routes (tests call it without a socket);
//! [`serve`] runs them on a listener until a shutdown future completes;
//! [`Running`] does that in the background on a free loopback port.

mod auth;
mod chat;
mod config;
mod cutoff;
mod error;
mod health;
mod limits;
mod metrics;
#[doc(hidden)]
pub mod models;
mod native;
mod observe;
#[doc(hidden)]
pub mod openai;
mod state;
#[doc(hidden)]
pub mod tokens;
#[doc(hidden)]
pub mod validate;
mod web;

use std::future::{Future, IntoFuture};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use config::{ConfigError, GatewayConfig, GatewayConfigBuilder};
use error::ApiError;
#[doc(hidden)]
pub use state::AppState;

/// The gateway's routes: `provider` served as `config` says. Fails when a
/// model alias names a model the provider does not serve.
pub fn router(
    provider: Arc<dyn fakegpt::Provider>,
    config: GatewayConfig,
) -> Result<Router, ConfigError> {
    Ok(routes(AppState::new(provider, config)?))
}

fn routes(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::retrieve))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_key,
        ));
    let mut router = Router::new()
        .merge(v1)
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    if state.config.web {
        router = router
            .route("/", get(web::index))
            .route("/assets/{name}", get(web::asset));
    }
    if let Some(cors) = cors(&state.config.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            observe::observe,
        ))
        .with_state(state)
}

async fn not_found(request: Request) -> Response {
    ApiError::route_not_found(request.method().as_str(), request.uri().path()).into_response()
}

async fn method_not_allowed(request: Request) -> Response {
    ApiError::method_not_allowed(request.method().as_str(), request.uri().path()).into_response()
}

fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, Any, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(Any)
            .expose_headers([axum::http::HeaderName::from_static("x-request-id")]),
    )
}

/// Serves `provider` as `config` says on `listener` until `shutdown`
/// completes; then readiness fails, new connections are refused, and
/// requests in flight may finish within the configured grace period before
/// the rest are cut.
///
/// Refuses (`InvalidInput`) to serve without API keys on a non-loopback
/// address unless the config allows it, and a model alias the provider
/// cannot serve.
pub async fn serve(
    listener: tokio::net::TcpListener,
    provider: Arc<dyn fakegpt::Provider>,
    config: GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let invalid = |e: ConfigError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    config
        .check_exposure(&listener.local_addr()?.ip().to_string())
        .map_err(invalid)?;
    let state = AppState::new(provider, config).map_err(invalid)?;
    run(listener, state, shutdown).await
}

async fn run(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    tokio::task::spawn_blocking(tokens::warm_up);
    let grace = state.config.shutdown_grace;
    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let signalled = Arc::clone(&state);
    let signal = async move {
        shutdown.await;
        signalled.accepting.store(false, Ordering::SeqCst);
        tracing::info!(
            ?grace,
            "shutting down: not ready, no new connections, finishing requests in flight"
        );
        let _ = stopping.send(true);
    };
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, routes(Arc::clone(&state)))
        .with_graceful_shutdown(signal)
        .into_future();
    tokio::pin!(server);
    let deadline = async move {
        if stopped.wait_for(|s| *s).await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = &mut server => return result,
        () = deadline => {}
    }
    tracing::warn!("the grace period is over; ending the requests still in flight");
    state.cut.send_replace(true);
    match tokio::time::timeout(std::time::Duration::from_secs(5), server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("connections still open 5 s after the grace period; leaving them");
            Ok(())
        }
    }
}

/// A gateway serving on a free loopback port in the background, for tests
/// and for programs that embed it.
pub struct Running {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its shared state (settings, metrics, readiness), for tests.
    #[doc(hidden)]
    pub state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Starts `provider` behind a gateway with `config` on `127.0.0.1`.
    pub async fn start(
        provider: Arc<dyn fakegpt::Provider>,
        config: GatewayConfig,
    ) -> std::io::Result<Running> {
        let state = AppState::new(provider, config)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, Arc::clone(&state), async {
            let _ = stopped.await;
        }));
        Ok(Running {
            url,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// Begins the graceful shutdown (see [`serve`]) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.begin_shutdown();
        match (&mut self.task).await {
            Ok(result) => result,
            Err(err) => Err(std::io::Error::other(err)),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}
