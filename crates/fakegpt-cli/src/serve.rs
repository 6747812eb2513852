//! `fakegpt serve`: the OpenAI-compatible gateway over the provider.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use fakegpt::Provider;
use fakegpt_gateway::models::Models;
use fakegpt_gateway::{AppState, GatewayConfig};

use crate::cli::ServeArgs;
use crate::report::Failure;

/// Runs the gateway until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<(), Failure> {
    let config = settings(&args)?;
    check_exposure(&args)?;
    let upstream = crate::provider::connect(&args.upstream).await?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            Failure::new(
                format!("could not listen on {}:{}: {e}", args.host, args.port),
                "pick another --port (0 for any free one) or --host",
            )
        })?;
    let addr = listener.local_addr().map_err(|e| {
        Failure::new(
            format!("could not read the listening address: {e}"),
            "try again",
        )
    })?;
    let url = format!("http://{addr}");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{url}").and_then(|()| stdout.flush());
    drop(stdout);
    tracing::info!(
        %url,
        upstream = upstream.provider.url(),
        auth = if config.api_keys.is_empty() { "off" } else { "api keys" },
        "serving the OpenAI-compatible API"
    );
    let provider: Arc<dyn Provider> = Arc::new(upstream.provider);
    let state = AppState::new(provider, config);
    fakegpt_gateway::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| Failure::new(format!("the server failed: {e}"), "see the log above"))?;
    drop(upstream.emulator);
    Ok(())
}

/// The gateway's settings from the flags.
fn settings(args: &ServeArgs) -> Result<GatewayConfig, Failure> {
    let upstream = args
        .timeouts
        .to_options(args.upstream.proxy.clone())
        .map_err(|e| Failure::new(e, "see fakegpt serve --help"))?;
    for (flag, value) in [
        ("--shutdown-grace", args.shutdown_grace),
        ("--body-timeout", args.body_timeout),
    ] {
        if !value.is_finite() || value < 0.0 {
            return Err(Failure::new(
                format!("{flag} must be a number of seconds, 0 or more"),
                "see fakegpt serve --help",
            ));
        }
    }
    let mut models = Models::from_provider(fakegpt::fakegpt::MODELS);
    for alias in &args.model_aliases {
        let (name, model) = alias
            .split_once('=')
            .filter(|(n, m)| !n.trim().is_empty() && fakegpt::fakegpt::MODELS.contains(&m.trim()))
            .ok_or_else(|| {
                Failure::new(
                    format!("--model-alias {alias:?} is not ALIAS=MODEL with a model the provider serves"),
                    format!("e.g. --model-alias gpt-4o-mini={}", fakegpt::fakegpt::MODELS[0]),
                )
            })?;
        models.add_alias(name.trim(), model.trim());
    }
    let api_keys: Vec<String> = args
        .api_keys
        .iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    Ok(GatewayConfig {
        api_keys,
        max_body_bytes: args.max_body_bytes,
        body_timeout: Duration::from_secs_f64(args.body_timeout.min(1e6)),
        max_concurrency: args.max_concurrency as usize,
        cors_origins: args.cors_origins.clone(),
        upstream,
        models,
        shutdown_grace: Duration::from_secs_f64(args.shutdown_grace.min(1e6)),
    })
}

/// Refuses to expose an unauthenticated API beyond this machine unless told to.
fn check_exposure(args: &ServeArgs) -> Result<(), Failure> {
    let has_keys = args.api_keys.iter().any(|k| !k.trim().is_empty());
    let loopback =
        args.host == "localhost" || args.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if has_keys || loopback || args.allow_unauthenticated {
        return Ok(());
    }
    Err(Failure::new(
        format!("refusing to serve without an API key on the non-loopback address {}", args.host),
        "pass --api-key KEY (or FAKEGPT_API_KEYS), or --allow-unauthenticated if that is really meant",
    ))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
