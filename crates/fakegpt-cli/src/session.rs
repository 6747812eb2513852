//! `fakegpt session show|clear`: what the store keeps between runs.

use std::io::Write as _;
use std::time::Duration;

use crate::cli::{SessionAction, SessionArgs};
use crate::report::Failure;

/// Shows or clears the session kept for `--base-url`.
pub async fn run(args: SessionArgs) -> Result<(), Failure> {
    let hint = if matches!(args.store, fakegpt::Store::Redis { .. }) {
        "check that Redis is reachable at the --store URL"
    } else {
        "check the permissions of the state directory, or pass --store file:DIR"
    };
    let store_failure = |e: fakegpt::Error| Failure::new(e.to_string(), hint);
    let upstream = args.base_url.trim_end_matches('/');
    let store = match &args.store {
        fakegpt::Store::Redis { url, .. } => fakegpt::Store::Redis {
            url: url.clone(),
            prefix: args.store_prefix.clone(),
        },
        other => other.clone(),
    };
    let text = match args.action {
        SessionAction::Show => match store.summary(upstream).await.map_err(store_failure)? {
            Some(summary) => format!(
                "upstream   {}\naccount    {}\nlogged in  {} ago\npasswords  kept for {} account(s)\nkept in    {}\n",
                summary.upstream,
                summary.account,
                age(summary.age()),
                summary.accounts_with_password,
                summary.location,
            ),
            None => format!("no session kept for {upstream} in {store}\n"),
        },
        SessionAction::Clear => {
            if store.clear(upstream).await.map_err(store_failure)? {
                format!("forgot the session for {upstream}\n")
            } else {
                format!("no session kept for {upstream} in {store}\n")
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    Ok(())
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
fn age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(Duration::from_secs(42)), "42 s");
        assert_eq!(age(Duration::from_secs(330)), "5 min");
        assert_eq!(age(Duration::from_secs(3 * 3600 + 5)), "3 h");
        assert_eq!(age(Duration::from_secs(2 * 86_400)), "2 days");
    }
}
