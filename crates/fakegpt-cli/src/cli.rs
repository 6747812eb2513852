//! The command line: every flag, its environment variable and its help.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use fakegpt_upstream::FaultSpec;

/// fakegpt: chat through the FakeGpt provider (the chat-shared ChatGPT
/// mirror), or run an emulator of that service.
#[derive(Debug, Parser)]
#[command(name = "fakegpt", version, about, propagate_version = true)]
pub struct Cli {
    /// A config file of settings for when neither a flag nor its
    /// environment variable gives one (default:
    /// $XDG_CONFIG_HOME/fakegpt/config.toml or ~/.config/fakegpt/config.toml,
    /// if it exists; /dev/null for none).
    #[arg(long, global = true, env = "FAKEGPT_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask a question (PROMPT, or stdin) and stream the answer to stdout;
    /// with no prompt on a terminal, chat interactively.
    #[command(after_long_help = crate::chat::interactive_help())]
    Chat(ChatArgs),
    /// Serve an OpenAI-compatible API (/v1/chat/completions, /v1/models)
    /// over the provider.
    Serve(ServeArgs),
    /// Run the emulator of the chat-shared service on 127.0.0.1.
    Upstream(UpstreamArgs),
    /// Send a load of chats to an OpenAI-compatible endpoint (--openai) or
    /// through the library to an upstream, and report latency and rate.
    Bench(BenchArgs),
    /// Show or forget the upstream session kept between runs.
    Session(SessionArgs),
    /// Print a completion script for a shell, e.g.
    /// `fakegpt completions bash > ~/.local/share/bash-completion/completions/fakegpt`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `fakegpt man | man -l -`.
    Man,
}

/// `fakegpt completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `fakegpt session`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The upstream whose session it is.
    #[arg(long, global = true, env = "FAKEGPT_BASE_URL", value_name = "URL", default_value = fakegpt::FakeGpt::DEFAULT_BASE_URL)]
    pub base_url: String,

    /// The store to look in: `file` (the state directory), `file:DIR` or
    /// a `redis://` URL.
    #[arg(long, global = true, env = "FAKEGPT_STORE", value_name = "STORE", default_value = "file", value_parser = parse_store)]
    pub store: fakegpt::Store,

    /// The prefix of a Redis store's keys.
    #[arg(
        long,
        global = true,
        env = "FAKEGPT_STORE_PREFIX",
        value_name = "PREFIX",
        default_value = "fakegpt:"
    )]
    pub store_prefix: String,

    /// What to do with it.
    #[command(subcommand)]
    pub action: SessionAction,
}

/// `fakegpt session show|clear`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum SessionAction {
    /// Print what is kept (upstream, account, age, where), no secret.
    Show,
    /// Forget the session, the accounts' passwords and cooldowns.
    Clear,
}

/// Parses `--store`.
pub fn parse_store(spec: &str) -> Result<fakegpt::Store, String> {
    spec.parse()
        .map_err(|e: fakegpt::Error| e.message().to_owned())
}

/// Parses a rate per minute: `N/min`, `N/m` or `N`, N at least 1.
pub fn parse_rate(spec: &str) -> Result<u32, String> {
    let spec = spec.trim();
    let count = spec
        .strip_suffix("/min")
        .or_else(|| spec.strip_suffix("/m"))
        .unwrap_or(spec)
        .trim();
    match count.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{spec:?} is not a rate: expected N/min with N at least 1, e.g. 60/min"
        )),
    }
}

/// `fakegpt bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// An OpenAI-compatible API base URL (e.g. http://127.0.0.1:1337/v1);
    /// without it, the library talks to the upstream directly.
    #[arg(long, value_name = "URL")]
    pub openai: Option<String>,

    /// The API key for --openai.
    #[arg(long, env = "FAKEGPT_BENCH_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    #[command(flatten)]
    pub upstream: UpstreamChoice,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,

    /// Requests in all.
    #[arg(long, short = 'n', default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub requests: u64,

    /// Requests in flight at once (with --rate: at most).
    #[arg(long, short = 'c', default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub concurrency: u64,

    /// Start requests at this steady rate per second, as users arrive,
    /// instead of each of C workers sending its next one when the last ends;
    /// latencies then count from when each request was due, so a server
    /// that falls behind cannot hide it.
    #[arg(long, value_name = "PER_SECOND", value_parser = positive_rate)]
    pub rate: Option<f64>,

    /// Ask for whole answers instead of streams (--openai only).
    #[arg(long)]
    pub no_stream: bool,

    /// The prompt; each request appends its number.
    #[arg(long, default_value = "Tell me a joke")]
    pub prompt: String,

    /// The model to ask for (--openai only).
    #[arg(long, default_value = "gpt-3.5-turbo")]
    pub model: String,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn positive_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 1e6 => Ok(rate),
        _ => Err("expected requests per second, more than 0 and at most 1000000".into()),
    }
}

/// Where the upstream is: a URL, or an emulator started in-process.
#[derive(Debug, Args)]
pub struct UpstreamChoice {
    /// The chat-shared service's base URL.
    #[arg(long, env = "FAKEGPT_BASE_URL", value_name = "URL", default_value = fakegpt::FakeGpt::DEFAULT_BASE_URL)]
    pub base_url: String,

    /// Start the emulator in-process on a free loopback port and use it
    /// instead of --base-url (works offline).
    #[arg(long)]
    pub local: bool,

    /// A proxy for the upstream: http://, https://, socks5:// or socks5h://
    /// URL, with optional user:password@.
    #[arg(long, env = "FAKEGPT_PROXY", value_name = "URL")]
    pub proxy: Option<String>,

    /// A PEM file of CA certificates to trust besides the usual web roots
    /// (for an upstream or proxy with a private certificate).
    #[arg(long, env = "FAKEGPT_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,

    /// Where the upstream session is kept: `memory` (this process only),
    /// `file` (the state directory, $XDG_STATE_HOME/fakegpt or
    /// ~/.local/state/fakegpt, so that the next run reuses it), `file:DIR`,
    /// or `redis://[USER:PASSWORD@]HOST:PORT[/DB]` (`rediss://` for TLS),
    /// shared by a fleet of gateways. Default: `file` for chat, `memory`
    /// for serve, bench and --local.
    #[arg(long, env = "FAKEGPT_STORE", value_name = "STORE", value_parser = parse_store, hide_env_values = true)]
    pub store: Option<fakegpt::Store>,

    /// The prefix of the Redis store's keys.
    #[arg(
        long,
        env = "FAKEGPT_STORE_PREFIX",
        value_name = "PREFIX",
        default_value = "fakegpt:"
    )]
    pub store_prefix: String,

    /// The event-stream dialect to ask the upstream for: `legacy`
    /// (cumulative events, the original request exactly) or `v1`
    /// (delta-encoded, as newer web clients ask). Answers are decoded in
    /// whichever dialect the upstream sends.
    #[arg(long, env = "FAKEGPT_DIALECT", value_enum, default_value_t = DialectArg::Legacy)]
    pub dialect: DialectArg,
}

/// `--dialect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DialectArg {
    /// Cumulative events.
    Legacy,
    /// Delta-encoded patches.
    V1,
}

impl DialectArg {
    /// The library's dialect.
    pub fn to_dialect(self) -> fakegpt::Dialect {
        match self {
            DialectArg::Legacy => fakegpt::Dialect::Legacy,
            DialectArg::V1 => fakegpt::Dialect::V1,
        }
    }
}

/// Time limits and retries for upstream requests.
#[derive(Debug, Args, Clone, Copy)]
pub struct TimeoutArgs {
    /// Seconds allowed to connect to the upstream or proxy (0: no limit).
    #[arg(
        long,
        env = "FAKEGPT_CONNECT_TIMEOUT",
        value_name = "SECS",
        default_value_t = default_secs(fakegpt::Timeouts::default().connect)
    )]
    pub connect_timeout: f64,
    /// Seconds allowed for the first answer text, per attempt (0: no limit).
    #[arg(
        long,
        env = "FAKEGPT_FIRST_BYTE_TIMEOUT",
        value_name = "SECS",
        default_value_t = default_secs(fakegpt::Timeouts::default().first_byte)
    )]
    pub first_byte_timeout: f64,
    /// Seconds allowed without any bytes from the upstream (0: no limit).
    #[arg(
        long,
        env = "FAKEGPT_IDLE_TIMEOUT",
        value_name = "SECS",
        default_value_t = default_secs(fakegpt::Timeouts::default().idle)
    )]
    pub idle_timeout: f64,
    /// Seconds allowed for the whole answer, retries included (0: no limit).
    #[arg(
        long,
        env = "FAKEGPT_TIMEOUT",
        value_name = "SECS",
        default_value_t = default_secs(fakegpt::Timeouts::default().total)
    )]
    pub timeout: f64,
    /// Attempts in all for failures before any answer text (connection
    /// errors, 429, 5xx), with jittered exponential backoff; 1: no retry.
    #[arg(long, env = "FAKEGPT_MAX_ATTEMPTS", value_name = "N", default_value_t = fakegpt::RetryPolicy::default().max_attempts, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

/// A library default as the flags spell it: seconds, 0 for no limit.
fn default_secs(limit: Option<Duration>) -> f64 {
    limit.map_or(0.0, |d| d.as_secs_f64())
}

impl TimeoutArgs {
    /// The limits as the library takes them, or the flag that is invalid.
    pub fn to_timeouts(self) -> Result<fakegpt::Timeouts, String> {
        let seconds = |value: f64, flag: &str| -> Result<Option<Duration>, String> {
            if !value.is_finite() || value < 0.0 {
                return Err(format!("{flag} must be a number of seconds, 0 or more"));
            }
            Ok((value > 0.0).then(|| Duration::from_secs_f64(value.min(1e9))))
        };
        Ok(fakegpt::Timeouts {
            connect: seconds(self.connect_timeout, "--connect-timeout")?,
            first_byte: seconds(self.first_byte_timeout, "--first-byte-timeout")?,
            idle: seconds(self.idle_timeout, "--idle-timeout")?,
            total: seconds(self.timeout, "--timeout")?,
        })
    }

    /// The retries these flags describe.
    pub fn to_retry(self) -> fakegpt::RetryPolicy {
        fakegpt::RetryPolicy {
            max_attempts: self.max_attempts,
            ..fakegpt::RetryPolicy::default()
        }
    }
}

/// `fakegpt chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The question, one or more words (quotes are not needed); read from
    /// stdin when absent and stdin is not a terminal, less one trailing
    /// newline. With neither, on a terminal: chat interactively.
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,

    #[command(flatten)]
    pub upstream: UpstreamChoice,

    /// The model to ask for [default: gpt-3.5-turbo; with --continue, the
    /// conversation's].
    #[arg(long, short, env = "FAKEGPT_MODEL")]
    pub model: Option<String>,

    /// A system message to put before the prompt.
    #[arg(long, short, value_name = "TEXT")]
    pub system: Option<String>,

    /// Keep the conversation on the upstream: each next turn sends only
    /// the new message, and `--continue` takes up the last conversation in
    /// a later run. On a shared account, a kept conversation may be
    /// visible to others who share it.
    #[arg(long, env = "FAKEGPT_NATIVE_CONVERSATIONS")]
    pub native_conversations: bool,

    /// Continue the last conversation kept by `fakegpt chat` (implies
    /// --native-conversations): PROMPT, or stdin, is the next question;
    /// with neither, on a terminal, chat on from where it ended.
    #[arg(long = "continue", conflicts_with_all = ["system", "local"])]
    pub continue_last: bool,

    /// Continue an answer the upstream cut at its length limit up to N
    /// times, stitched into one answer (only with native conversations;
    /// 0: never).
    #[arg(long, env = "FAKEGPT_AUTO_CONTINUE", value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub auto_continue: u32,

    /// Write answers as they come, without rendering their Markdown for
    /// the terminal (output into a pipe or a file is never rendered).
    #[arg(long, env = "FAKEGPT_RAW")]
    pub raw: bool,

    /// Write one JSON object a line for scripts: each piece of the answer
    /// (`{"type":"delta",…}`), then `{"type":"done",…}` with the finish
    /// reason, the usage and the conversation, or `{"type":"error",…}`.
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,

    /// Keep no history of the interactive mode's input (it is kept,
    /// private to the user, in the state directory otherwise).
    #[arg(long, env = "FAKEGPT_NO_HISTORY")]
    pub no_history: bool,

    /// The most lines the interactive mode's history keeps; the oldest go
    /// first.
    #[arg(long, env = "FAKEGPT_HISTORY_SIZE", value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub history_size: u32,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,
}

/// `fakegpt serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub upstream: UpstreamChoice,

    /// The address to listen on.
    #[arg(long, env = "FAKEGPT_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// The port to listen on (0: any free port).
    #[arg(long, short, env = "FAKEGPT_PORT", default_value_t = 1337)]
    pub port: u16,

    /// An API key clients must send as `Authorization: Bearer KEY`; repeat
    /// for several (the environment variable takes them comma-separated).
    #[arg(
        long = "api-key",
        env = "FAKEGPT_API_KEYS",
        value_name = "KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// Serve without API keys on a non-loopback address.
    #[arg(long, env = "FAKEGPT_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,

    #[command(flatten)]
    pub timeouts: TimeoutArgs,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "FAKEGPT_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds a client may take to send its request body (408 after).
    #[arg(
        long,
        env = "FAKEGPT_BODY_TIMEOUT",
        value_name = "SECS",
        default_value_t = 30.0
    )]
    pub body_timeout: f64,

    /// The most chat requests in flight; more get 429.
    #[arg(long, env = "FAKEGPT_MAX_CONCURRENCY", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrency: u32,

    /// The most chat requests in flight across every instance sharing the
    /// Redis store (--store redis://…); more get 429. A crashed instance's
    /// slots come back within 15 s.
    #[arg(long, env = "FAKEGPT_MAX_CONCURRENCY_GLOBAL", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrency_global: Option<u32>,

    /// The most chat requests per API key in any minute, as N/min (or N);
    /// more get 429 with Retry-After. Counted across the fleet with a Redis
    /// store, by each instance without one.
    #[arg(long, env = "FAKEGPT_KEY_RATE_LIMIT", value_name = "N/min", value_parser = parse_rate)]
    pub key_rate_limit: Option<u32>,

    /// An origin browsers may call the API from (`*` for any); repeat for
    /// several. CORS is off without one.
    #[arg(
        long = "cors-origin",
        env = "FAKEGPT_CORS_ORIGINS",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Seconds requests in flight may run on after SIGINT/SIGTERM.
    #[arg(
        long,
        env = "FAKEGPT_SHUTDOWN_GRACE",
        value_name = "SECS",
        default_value_t = 30.0
    )]
    pub shutdown_grace: f64,

    /// Serve an extra model id, as ALIAS=MODEL (MODEL one the provider
    /// serves, e.g. gpt-4o-mini=gpt-3.5-turbo); repeat for several.
    #[arg(
        long = "model-alias",
        env = "FAKEGPT_MODEL_ALIASES",
        value_name = "ALIAS=MODEL",
        value_delimiter = ','
    )]
    pub model_aliases: Vec<String>,

    /// Do not serve the chat page at `/` (the API only).
    #[arg(long, env = "FAKEGPT_NO_WEB")]
    pub no_web: bool,

    /// Continue conversations on the upstream: a request whose history the
    /// gateway answered before sends only its new message, in the
    /// conversation the upstream keeps. On a shared account, others who
    /// share it may see kept conversations.
    #[arg(long, env = "FAKEGPT_NATIVE_CONVERSATIONS")]
    pub native_conversations: bool,

    /// How long a conversation stays continuable after its last answer:
    /// seconds, or a number with s, m, h or d.
    #[arg(
        long,
        env = "FAKEGPT_CONVERSATION_TTL",
        value_name = "TIME",
        default_value = "24h",
        value_parser = parse_ttl,
        requires = "native_conversations"
    )]
    pub conversation_ttl: Duration,

    /// The most conversation turns remembered (in memory, or in the Redis
    /// store shared by instances); the oldest are forgotten first.
    #[arg(
        long,
        env = "FAKEGPT_MAX_CONVERSATIONS",
        value_name = "N",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u32).range(1..),
        requires = "native_conversations"
    )]
    pub max_conversations: u32,
}

/// Parses `--conversation-ttl`: seconds, or a number with `s`, `m`, `h` or
/// `d`; at least a second, at most a year.
pub fn parse_ttl(spec: &str) -> Result<Duration, String> {
    let spec = spec.trim();
    let (number, unit) = match spec.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => spec.split_at(at),
        None => (spec, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?}: use s, m, h or d (e.g. 24h)"
            ))
        }
    };
    let seconds = number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(|n| n * scale)
        .ok_or_else(|| format!("{spec:?} is not a time (e.g. 24h, 90m, 3600)"))?;
    if !(1.0..=365.0 * 86_400.0).contains(&seconds) {
        return Err("the time must be between 1s and 365d".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `fakegpt upstream`.
#[derive(Debug, Args)]
pub struct UpstreamArgs {
    /// The port to listen on, on 127.0.0.1 (0: any free port).
    #[arg(long, short, env = "FAKEGPT_UPSTREAM_PORT", default_value_t = 8080)]
    pub port: u16,

    #[command(flatten)]
    pub emulation: EmulationArgs,

    /// A fault to inject, as NAME[:ARG][@TIMES] (TIMES a number or
    /// `always`; once by default), e.g. `500`, `429:3@2`, `stall:5@always`.
    #[arg(long = "fault", value_name = "SPEC", long_help = fault_help())]
    pub faults: Vec<FaultSpec>,
}

/// `--fault`'s long help, with the names as the emulator knows them.
fn fault_help() -> String {
    format!(
        "A fault to inject, as NAME[:ARG][@TIMES] (TIMES a number or `always`; once by \
         default), e.g. `500`, `429:3@2`, `stall:5@always`.\n\nNames: {}.",
        fakegpt_upstream::Fault::names().join(", ")
    )
}

/// How the emulator streams its answers.
#[derive(Debug, Args, Clone)]
pub struct EmulationArgs {
    /// Characters each event adds to the answer.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub chars_per_event: u64,
    /// The stream's encoding: `legacy` (cumulative events), `v1`
    /// (delta-encoded frames, whatever the request asked) or `auto` (`v1`
    /// when the request lists it in `supported_encodings`).
    #[arg(
        long,
        value_name = "DIALECT",
        default_value = "legacy",
        value_parser = clap::builder::TypedValueParser::try_map(
            clap::builder::PossibleValuesParser::new(
                fakegpt_upstream::Dialect::ALL.map(fakegpt_upstream::Dialect::name),
            ),
            |name: String| name.parse::<fakegpt_upstream::Dialect>(),
        )
    )]
    pub dialect: fakegpt_upstream::Dialect,
    /// Think before a `v1` answer: reasoning, a commentary preamble and a
    /// tool call, none of them answer text.
    #[arg(long)]
    pub reasoning: bool,
    /// Milliseconds between events; fractions pace to the microsecond
    /// (e.g. 0.2).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 10.0,
        allow_negative_numbers = true,
        value_parser = fakegpt_upstream::config::parse_millis
    )]
    pub delay_ms: f64,
    /// What replies are made of: `prose`, `markdown` (every construct a
    /// chat page renders) or `hostile` (HTML and script payloads a client
    /// must show as text).
    #[arg(
        long,
        value_name = "KIND",
        default_value = "prose",
        value_parser = clap::builder::TypedValueParser::try_map(
            clap::builder::PossibleValuesParser::new(
                fakegpt_upstream::Replies::ALL.map(fakegpt_upstream::Replies::name),
            ),
            |name: String| name.parse::<fakegpt_upstream::Replies>(),
        )
    )]
    pub replies: fakegpt_upstream::Replies,
    /// Pad every reply to at least this many characters.
    #[arg(long, default_value_t = 0)]
    pub reply_chars: usize,
    /// End answers after this many characters, as cut at their token
    /// limit (`finish_details.type` `max_tokens`).
    #[arg(long, value_name = "N")]
    pub max_tokens_after: Option<usize>,
    /// End lines with CRLF.
    #[arg(long)]
    pub crlf: bool,
    /// Cut the body into random writes of 1 to 7 bytes.
    #[arg(long)]
    pub split_writes: bool,
    /// Interleave comments and events that carry no answer.
    #[arg(long)]
    pub noise: bool,
    /// Give every legacy event its send time as `create_time` (seconds
    /// with microseconds, before `content`), as the real service does.
    #[arg(long)]
    pub fresh_times: bool,
    /// Access tokens expire after this many conversations.
    #[arg(long, value_name = "N")]
    pub token_expires_after: Option<u64>,
    /// Milliseconds before answering each login.
    #[arg(long, default_value_t = 0)]
    pub login_delay_ms: u64,
    /// Compress answers (gzip, brotli or zstd, as the client accepts).
    #[arg(long)]
    pub compress: bool,
    /// Make each event's new text its send time (`<t:MICROSECONDS>` since
    /// the Unix epoch) instead of prose, so `fakegpt bench` can measure how
    /// long each chunk takes to arrive.
    #[arg(long)]
    pub stamp: bool,
}

impl EmulationArgs {
    /// The emulator configuration these flags describe.
    pub fn to_config(&self) -> fakegpt_upstream::Config {
        fakegpt_upstream::Config {
            chars_per_event: usize::try_from(self.chars_per_event).unwrap_or(usize::MAX),
            event_delay: fakegpt_upstream::config::millis(self.delay_ms),
            reply_chars: self.reply_chars,
            replies: self.replies,
            finish_after: self.max_tokens_after,
            dialect: self.dialect,
            reasoning: self.reasoning,
            fresh_times: self.fresh_times,
            crlf: self.crlf,
            split_writes: self.split_writes,
            noise: self.noise,
            token_expires_after: self.token_expires_after,
            login_delay: Duration::from_millis(self.login_delay_ms),
            compress: self.compress,
            stamp: self.stamp,
            ..fakegpt_upstream::Config::default()
        }
    }
}

impl Default for EmulationArgs {
    fn default() -> Self {
        EmulationArgs {
            chars_per_event: 4,
            dialect: fakegpt_upstream::Dialect::Legacy,
            reasoning: false,
            delay_ms: 10.0,
            replies: fakegpt_upstream::Replies::Prose,
            reply_chars: 0,
            max_tokens_after: None,
            crlf: false,
            split_writes: false,
            noise: false,
            fresh_times: false,
            token_expires_after: None,
            login_delay_ms: 0,
            compress: false,
            stamp: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn conversation_ttls_take_units() {
        assert_eq!(parse_ttl("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_ttl("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("1.5d"), Ok(Duration::from_secs(129_600)));
        for bad in ["", "h", "0", "-5m", "10y", "400d", "NaNs", "1e400"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn negative_timeouts_are_refused() {
        let args = TimeoutArgs {
            connect_timeout: -1.0,
            first_byte_timeout: 1.0,
            idle_timeout: 1.0,
            timeout: 0.0,
            max_attempts: 3,
        };
        assert!(args
            .to_timeouts()
            .unwrap_err()
            .contains("--connect-timeout"));
    }
}
