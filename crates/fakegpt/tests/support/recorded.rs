//! What the emulator's recorded requests tell a test: which token asked,
//! which accounts logged in.

use fakegpt_upstream::Emulator;

/// The `X-Authorization` header of the emulator's last conversation
/// request: which token the last answer was asked with.
pub fn last_token(upstream: &Emulator) -> String {
    upstream
        .state()
        .recorded()
        .iter()
        .rev()
        .find(|r| r.target.starts_with("/api/conversation"))
        .and_then(|r| r.header("x-authorization").map(str::to_owned))
        .expect("a conversation was recorded")
}

/// The `token_key` of every login the emulator was asked for, in order.
#[allow(dead_code, reason = "not every suite looks at logins")]
pub fn login_accounts(upstream: &Emulator) -> Vec<String> {
    upstream
        .state()
        .recorded()
        .iter()
        .filter(|r| r.target.starts_with("/auth/login"))
        .filter_map(|r| {
            // The emulator's account names need no URL decoding.
            String::from_utf8_lossy(&r.body)
                .split('&')
                .find_map(|pair| pair.strip_prefix("token_key=").map(str::to_owned))
        })
        .collect()
}
