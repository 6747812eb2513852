//! Settings for a [`FakeGpt`] instance.

use std::sync::Arc;
use std::time::Duration;

use super::cookies::SessionCookies;
use super::session::{LoginBackoff, Session};
use super::{http, FakeGpt, Inner, DEFAULT_BASE_URL};
use crate::decode::{DEFAULT_MAX_ANSWER_BYTES, DEFAULT_MAX_LINE_BYTES};
use crate::error::Error;

/// Settings for a [`FakeGpt`] instance; [`FakeGpt::builder`] starts one.
#[derive(Debug, Clone)]
pub struct FakeGptBuilder {
    base_url: String,
    max_line: usize,
    max_answer: usize,
    roots: Vec<Vec<u8>>,
    login_backoff: LoginBackoff,
    account_cooldown: Duration,
    pool_idle_timeout: Duration,
}

impl Default for FakeGptBuilder {
    fn default() -> Self {
        FakeGptBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            max_line: DEFAULT_MAX_LINE_BYTES,
            max_answer: DEFAULT_MAX_ANSWER_BYTES,
            roots: Vec::new(),
            login_backoff: LoginBackoff::default(),
            account_cooldown: Duration::from_secs(60),
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

impl FakeGptBuilder {
    /// The upstream's base URL (`http` or `https`), e.g. an emulator's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The longest event line accepted, in bytes (default 16 MiB).
    pub fn max_line_bytes(mut self, max: usize) -> Self {
        self.max_line = max;
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
            let bundle = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::InvalidCertificate(e.to_string()))?;
            if bundle.is_empty() {
                return Err(Error::InvalidCertificate("no PEM certificate found".into()));
            }
            roots.extend(bundle);
        }
        let cookies = Arc::new(SessionCookies::for_origin(&base));
        let session = Session::with(Arc::clone(&cookies), self.login_backoff);
        let clients = http::Clients::new(
            cookies,
            http::browser_headers(&base),
            roots,
            self.pool_idle_timeout,
        );
        Ok(FakeGpt {
            inner: Arc::new(Inner {
                base: base.as_str().trim_end_matches('/').to_owned(),
                session,
                clients,
                max_line: self.max_line,
                max_answer: self.max_answer,
                account_cooldown: self.account_cooldown,
            }),
        })
    }
}

fn parse_base_url(raw: &str) -> Result<url::Url, Error> {
    let invalid = |reason: String| Error::InvalidBaseUrl {
        url: raw.to_owned(),
        reason,
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
