//! `fakegpt upstream`: the emulator as a server of its own.

use std::io::Write;

use fakegpt_upstream::{Emulator, Fault};

use crate::cli::UpstreamArgs;
use crate::report::Failure;

/// Parses `NAME[:ARG][@TIMES]`.
fn parse_fault(spec: &str) -> Result<(Fault, u64), String> {
    let (fault, times) = match spec.rsplit_once('@') {
        Some((fault, "always")) => (fault, u64::MAX),
        Some((fault, times)) => (
            fault,
            times
                .parse()
                .map_err(|_| format!("--fault {spec:?}: TIMES must be a number or \"always\""))?,
        ),
        None => (spec, 1),
    };
    Ok((
        Fault::parse(fault).map_err(|e| format!("--fault {spec:?}: {e}"))?,
        times,
    ))
}

/// Runs the emulator until Ctrl-C.
pub async fn run(args: UpstreamArgs) -> Result<(), Failure> {
    let faults = args
        .faults
        .iter()
        .map(|spec| parse_fault(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::new(e, "see fakegpt upstream --help for the fault names"))?;
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
    for (fault, times) in faults {
        emulator.inject(fault, times);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse() {
        assert_eq!(parse_fault("500").unwrap(), (Fault::ServerError, 1));
        assert_eq!(
            parse_fault("429:3@2").unwrap(),
            (Fault::TooManyRequests { retry_after: 3 }, 2)
        );
        assert_eq!(parse_fault("stall:5@always").unwrap().1, u64::MAX);
        assert!(parse_fault("500@x").unwrap_err().contains("TIMES"));
        assert!(parse_fault("boom").unwrap_err().contains("unknown fault"));
    }
}
