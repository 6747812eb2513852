//! Building the provider the flags describe: a URL or the in-process
//! emulator, a CA file, a proxy, time limits and retries.

use fakegpt::{FakeGpt, Store};

use crate::cli::{EmulationArgs, TimeoutArgs, UpstreamChoice};
use crate::report::Failure;

/// The provider, and the emulator behind it when `--local` started one.
pub struct Upstream {
    /// The provider.
    pub provider: FakeGpt,
    /// Keeps an in-process emulator alive for `--local`.
    pub emulator: Option<fakegpt_upstream::Emulator>,
}

/// The store `choice` asks for, or the command's default: the state
/// directory for `chat` with a real upstream, memory otherwise.
pub fn store_for(choice: &UpstreamChoice, command: &str) -> Store {
    match &choice.store {
        Some(Store::Redis { url, .. }) => Store::Redis {
            url: url.clone(),
            prefix: choice.store_prefix.clone(),
        },
        Some(store) => store.clone(),
        // A session with an emulator of this process only is worth nothing later.
        None if command == "chat" && !choice.local => Store::state_dir().unwrap_or_else(|err| {
            tracing::debug!(%err, "keeping the session in memory");
            Store::Memory
        }),
        None => Store::Memory,
    }
}

/// Builds the provider for `choice` with `limits`; `command` names the
/// subcommand for hints. Unusable settings are usage errors.
pub async fn connect(
    choice: &UpstreamChoice,
    limits: &TimeoutArgs,
    command: &str,
) -> Result<Upstream, Failure> {
    let help = format!("see fakegpt {command} --help");
    let timeouts = limits
        .to_timeouts()
        .map_err(|e| Failure::usage(e, help.clone()))?;
    let mut builder = FakeGpt::builder()
        .timeouts(timeouts)
        .retry(limits.to_retry());
    if let Some(path) = &choice.ca_cert {
        let pem = std::fs::read(path).map_err(|e| {
            Failure::usage(
                format!("could not read --ca-cert {}: {e}", path.display()),
                "pass a readable PEM file",
            )
        })?;
        builder = builder.add_root_certificate_pem(pem);
    }
    if let Some(proxy) = &choice.proxy {
        builder = builder.proxy(proxy);
    }
    let emulator = if choice.local {
        // Auto: the stream is delta-encoded when --dialect v1 asks for it,
        // legacy otherwise, as a real backend answers either request.
        let config = fakegpt_upstream::Config {
            dialect: fakegpt_upstream::Dialect::Auto,
            ..EmulationArgs::default().to_config()
        };
        let emulator = fakegpt_upstream::Emulator::start(config)
            .await
            .map_err(|e| {
                Failure::new(
                    format!("could not start the local emulator: {e}"),
                    "is loopback networking available?",
                )
            })?;
        Some(emulator)
    } else {
        None
    };
    let base_url = emulator
        .as_ref()
        .map_or_else(|| choice.base_url.clone(), |e| e.url());
    let store = store_for(choice, command);
    let provider = builder
        .base_url(base_url)
        .store(store)
        .dialect(choice.dialect.to_dialect())
        .build()
        .map_err(|e| {
            let mut failure = Failure::from_error(&e, false);
            failure.usage = true;
            failure
        })?;
    Ok(Upstream { provider, emulator })
}
