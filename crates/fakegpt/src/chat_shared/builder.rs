//! Settings for a [`FakeGpt`] instance.

use std::sync::Arc;
use std::time::Duration;

use super::cookies::SessionCookies;
use super::decode::{DEFAULT_MAX_ANSWER_BYTES, DEFAULT_MAX_EVENT_BYTES};
use super::session::{LoginBackoff, Session};
use super::store::{Backend, Store};
use super::{http, Dialect, FakeGpt, Inner, Settings};
use crate::error::{Error, ErrorKind};
use crate::request::{RetryPolicy, Timeouts};

/// Makes the `reqwest::ClientBuilder` the provider's HTTP clients start from.
type ClientFactory = Arc<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>;

/// Settings for a [`FakeGpt`] instance; [`FakeGpt::builder`] starts one.
///
/// Proxy, time limits and retries set here are every request's defaults;
/// a [`ChatRequest`](crate::ChatRequest) may override them.
#[derive(Clone)]
pub struct FakeGptBuilder {
    base_url: String,
    proxy: Option<String>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    user_agent: Option<String>,
    client: Option<ClientFactory>,
    max_event: usize,
    max_answer: usize,
    dialect: Dialect,
    roots: Vec<Vec<u8>>,
    login_backoff: LoginBackoff,
    account_cooldown: Duration,
    pool_idle_timeout: Duration,
    store: Store,
}

impl Default for FakeGptBuilder {
    fn default() -> Self {
        FakeGptBuilder {
            base_url: FakeGpt::DEFAULT_BASE_URL.into(),
            proxy: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            user_agent: None,
            client: None,
            max_event: DEFAULT_MAX_EVENT_BYTES,
            max_answer: DEFAULT_MAX_ANSWER_BYTES,
            dialect: Dialect::Legacy,
            roots: Vec::new(),
            login_backoff: LoginBackoff::default(),
            account_cooldown: Duration::from_secs(60),
            pool_idle_timeout: Duration::from_secs(90),
            store: Store::Memory,
        }
    }
}

impl std::fmt::Debug for FakeGptBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGptBuilder")
            .field("base_url", &self.base_url)
            .field(
                "proxy",
                &self.proxy.as_deref().map(http::redact_url_password),
            )
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl FakeGptBuilder {
    /// The upstream's base URL (`http` or `https`), e.g. an emulator's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sends every request through this proxy (`http://`, `https://`,
    /// `socks5://` or `socks5h://`, with optional `user:password@`) unless
    /// a request names its own.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Every request's time limits, unless a request sets its own (default
    /// [`Timeouts::default`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Every request's retries, unless a request sets its own (default
    /// [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The `User-Agent` sent (default: the Chrome 117 on Linux the original
    /// provider presented as).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Starts the provider's HTTP clients from the builders `make` returns,
    /// for settings of your own (local address, DNS, TLS…). The provider
    /// then sets its headers, cookie store, redirects, proxy and connect
    /// timeout on top; `make` is called once per distinct proxy.
    pub fn http_client(
        mut self,
        make: impl Fn() -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.client = Some(Arc::new(make));
        self
    }

    /// The longest event accepted, in bytes (default 16 MiB).
    pub fn max_event_bytes(mut self, max: usize) -> Self {
        self.max_event = max;
        self
    }

    /// Which event-stream dialect to ask for: [`Dialect::Legacy`] (the
    /// default, the original request body exactly) or [`Dialect::V1`],
    /// which adds `"supported_encodings": ["v1"]`. Either way the answer is
    /// decoded in whichever dialect the upstream actually sends.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// The longest answer accepted, in bytes (default 4 MiB).
    pub fn max_answer_bytes(mut self, max: usize) -> Self {
        self.max_answer = max;
        self
    }

    /// Trusts these CA certificates (PEM, one or more) besides the usual
    /// web roots, e.g. for an upstream or proxy with a private certificate.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// Where the session is kept (default: [`Store::Memory`], this process
    /// only). With [`Store::File`], a session outlives the process and is
    /// shared with every process using the same directory.
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// How long failed logins hold back the next one (default 1 s,
    /// doubling to 60 s; zero turns it off).
    pub fn login_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.login_backoff = LoginBackoff { base, max };
        self
    }

    /// How long an account that refused a login is left alone, unless its
    /// `Retry-After` says otherwise (default 60 s).
    pub fn account_cooldown(mut self, cooldown: Duration) -> Self {
        self.account_cooldown = cooldown;
        self
    }

    /// How long an idle pooled connection to the upstream is kept (default
    /// 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Checks the settings and builds the provider.
    pub fn build(self) -> Result<FakeGpt, Error> {
        let base = parse_base_url(&self.base_url)?;
        let mut roots = Vec::new();
        for pem in &self.roots {
            let bundle = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                Error::new(ErrorKind::Config, format!("invalid CA certificate: {e}"))
            })?;
            if bundle.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    "invalid CA certificate: no PEM certificate found",
                ));
            }
            roots.extend(bundle);
        }
        let cookies = Arc::new(SessionCookies::for_origin(&base));
        let backend = Backend::new(&self.store, base.as_str())?;
        let session = Session::with(
            Arc::clone(&cookies),
            self.login_backoff,
            backend,
            base.as_str(),
        );
        let headers = http::browser_headers(&base, self.user_agent.as_deref())?;
        let clients = http::Clients::new(http::ClientSetup {
            cookies,
            headers,
            roots,
            pool_idle_timeout: self.pool_idle_timeout,
            factory: self.client,
        });
        // Checked and built now, so a bad proxy fails here, not at the first request.
        clients.get(self.proxy.as_deref(), self.timeouts.connect)?;
        Ok(FakeGpt {
            inner: Arc::new(Inner {
                base: base.as_str().trim_end_matches('/').to_owned(),
                session: Arc::new(session),
                clients,
                settings: Settings {
                    proxy: self.proxy,
                    timeouts: self.timeouts,
                    retry: self.retry,
                    max_event: self.max_event,
                    max_answer: self.max_answer,
                    dialect: self.dialect,
                    account_cooldown: self.account_cooldown,
                },
            }),
        })
    }
}

fn parse_base_url(raw: &str) -> Result<url::Url, Error> {
    let invalid = |reason: String| {
        Error::new(
            ErrorKind::Config,
            format!("invalid base URL {raw:?}: {reason}"),
        )
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment".into()));
    }
    Ok(url)
}
