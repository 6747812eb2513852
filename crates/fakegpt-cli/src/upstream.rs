//! `fakegpt upstream`: the emulator as a server of its own.

use std::io::Write;

use fakegpt_upstream::Emulator;

use crate::cli::UpstreamArgs;
use crate::report::Failure;

/// Runs the emulator until Ctrl-C.
pub async fn run(args: UpstreamArgs) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| {
            Failure::new(
                format!("could not listen on 127.0.0.1:{}: {e}", args.port),
                "pick another --port, or --port 0 for any free one",
            )
        })?;
    let emulator = Emulator::start_on(listener, args.emulation.to_config()).map_err(|e| {
        Failure::new(
            format!("could not start the emulator: {e}"),
            "try another --port",
        )
    })?;
    for spec in args.faults {
        emulator.inject(spec.fault, spec.times);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", emulator.url()).and_then(|()| stdout.flush());
    drop(stdout);
    tracing::info!(url = %emulator.url(), "emulator listening; Ctrl-C stops it");
    tokio::signal::ctrl_c().await.map_err(|e| {
        Failure::new(
            format!("could not wait for Ctrl-C: {e}"),
            "stop the process with a signal",
        )
    })?;
    Ok(())
}
