//! `fakegpt serve`: the OpenAI-compatible gateway over the provider.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use fakegpt::Provider;
use fakegpt_gateway::GatewayConfig;

use crate::cli::ServeArgs;
use crate::report::Failure;

/// Runs the gateway until SIGINT or SIGTERM (a second one exits at once).
pub async fn run(args: ServeArgs) -> Result<(), Failure> {
    let config = settings(&args, None)?;
    config
        .check_exposure(&args.host)
        .map_err(|e| Failure::usage(e.to_string(), "pass --api-key KEY (or FAKEGPT_API_KEYS), or --allow-unauthenticated if that is really meant"))?;
    let upstream = crate::provider::connect(&args.upstream, &args.timeouts, "serve").await?;
    let provider: Arc<dyn Provider> = Arc::new(upstream.provider.clone());
    let config = if args.native_conversations {
        let store = crate::provider::store_for(&args.upstream, "serve");
        let index = store
            .conversation_index(
                upstream.provider.base_url(),
                args.conversation_ttl,
                args.max_conversations as usize,
            )
            .map_err(|e| Failure::usage(e.message().to_owned(), "see fakegpt serve --help"))?;
        settings(&args, Some(index))?
    } else {
        config
    };
    // Checked before binding, so a bad alias is a usage error, not a failed start.
    config.check_models(&provider.models()).map_err(|e| {
        Failure::usage(
            e.to_string(),
            format!(
                "e.g. --model-alias gpt-4o-mini={}",
                fakegpt::FakeGpt::MODELS[0]
            ),
        )
    })?;
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
        upstream = upstream.provider.base_url(),
        auth = if config.requires_key() { "api keys" } else { "off" },
        page = if config.serves_page() { "/" } else { "off" },
        native_conversations = config.native_conversations(),
        "serving the OpenAI-compatible API"
    );
    fakegpt_gateway::serve(listener, provider, config, shutdown_signal())
        .await
        .map_err(|e| Failure::new(format!("the server failed: {e}"), "see the log above"))?;
    drop(upstream.emulator);
    Ok(())
}

/// The gateway's settings from the flags, with the conversation index when
/// conversations are continued natively.
fn settings(
    args: &ServeArgs,
    conversations: Option<fakegpt::ConversationIndex>,
) -> Result<GatewayConfig, Failure> {
    let help = "see fakegpt serve --help";
    let seconds = |flag: &str, value: f64| {
        if value.is_finite() && value >= 0.0 {
            Ok(Duration::from_secs_f64(value.min(1e6)))
        } else {
            Err(Failure::usage(
                format!("{flag} must be a number of seconds, 0 or more"),
                help,
            ))
        }
    };
    let mut builder = GatewayConfig::builder()
        .allow_unauthenticated(args.allow_unauthenticated)
        .max_body_bytes(args.max_body_bytes)
        .body_timeout(seconds("--body-timeout", args.body_timeout)?)
        .max_concurrency(args.max_concurrency as usize)
        .web(!args.no_web)
        .shutdown_grace(seconds("--shutdown-grace", args.shutdown_grace)?);
    let store = crate::provider::store_for(&args.upstream, "serve");
    match store.fleet() {
        Ok(Some(fleet)) => builder = builder.fleet(fleet),
        Ok(None) if args.max_concurrency_global.is_some() => {
            return Err(Failure::usage(
                "--max-concurrency-global counts across instances and needs a Redis store",
                "add --store redis://HOST:PORT (the Redis the instances share)",
            ));
        }
        Ok(None) => {}
        Err(e) => return Err(Failure::usage(e.message().to_owned(), help)),
    }
    if let Some(index) = conversations {
        builder = builder.native_conversations(index);
    }
    if let Some(max) = args.max_concurrency_global {
        builder = builder.max_concurrency_global(max);
    }
    if let Some(per_minute) = args.key_rate_limit {
        builder = builder.key_rate_limit(per_minute);
    }
    for key in &args.api_keys {
        builder = builder.api_key(key);
    }
    for origin in &args.cors_origins {
        builder = builder.cors_origin(origin);
    }
    for alias in &args.model_aliases {
        let Some((name, model)) = alias.split_once('=') else {
            return Err(Failure::usage(
                format!("--model-alias {alias:?} is not ALIAS=MODEL"),
                format!(
                    "e.g. --model-alias gpt-4o-mini={}",
                    fakegpt::FakeGpt::MODELS[0]
                ),
            ));
        };
        builder = builder.model_alias(name, model);
    }
    builder
        .build()
        .map_err(|e| Failure::usage(e.to_string(), help))
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM; a second one ends
/// the process at once, with exit code 130.
async fn shutdown_signal() {
    signal().await;
    tracing::info!("press Ctrl-C again to stop at once");
    tokio::spawn(async {
        signal().await;
        tracing::warn!("stopping at once; requests in flight are cut");
        std::process::exit(130);
    });
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn signal() {
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
