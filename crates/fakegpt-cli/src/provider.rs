//! Building the provider the flags describe: a URL or the in-process
//! emulator, a CA file, a proxy.

use fakegpt::FakeGpt;

use crate::cli::{EmulationArgs, UpstreamChoice};
use crate::report::Failure;

/// The provider, and the emulator behind it when `--local` started one.
pub struct Upstream {
    /// The provider.
    pub provider: FakeGpt,
    /// Whether it points at the (offline) public service, for hints.
    pub is_default: bool,
    /// Keeps an in-process emulator alive for `--local`.
    pub emulator: Option<fakegpt_upstream::Emulator>,
}

/// Builds the provider for `choice`.
pub async fn connect(choice: &UpstreamChoice) -> Result<Upstream, Failure> {
    let emulator = if choice.local {
        let emulator = fakegpt_upstream::Emulator::start(EmulationArgs::default().to_config())
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
    let mut builder = FakeGpt::builder().base_url(base_url);
    if let Some(path) = &choice.ca_cert {
        let pem = std::fs::read(path).map_err(|e| {
            Failure::new(
                format!("could not read --ca-cert {}: {e}", path.display()),
                "pass a readable PEM file",
            )
        })?;
        builder = builder.add_root_certificate_pem(pem);
    }
    let provider = builder
        .build()
        .map_err(|e| Failure::from_error(&e, false))?;
    if let Some(proxy) = &choice.proxy {
        // Checked now, so a bad proxy is reported before anything runs.
        fakegpt::fakegpt::check_proxy(proxy).map_err(|e| Failure::from_error(&e, false))?;
    }
    Ok(Upstream {
        is_default: emulator.is_none() && provider.base_url() == fakegpt::fakegpt::DEFAULT_BASE_URL,
        provider,
        emulator,
    })
}
