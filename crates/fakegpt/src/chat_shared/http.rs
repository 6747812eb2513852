//! HTTP plumbing for the provider: browser-like headers, clients per proxy,
//! and turning responses and transport failures into [`Error`]s.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};

use super::cookies::SessionCookies;
use super::step::{excerpt, Step};
use crate::error::{Error, ErrorKind, TimeoutKind};

/// The Chrome 117 on Linux the original provider presented as.
pub const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36";

/// The most bytes of an error body read to build an excerpt.
const ERROR_BODY_BYTES: usize = 64 * 1024;

/// The most bytes of a login-step JSON answer accepted.
pub const JSON_BODY_BYTES: usize = 1024 * 1024;

/// The browser-like headers sent with every request, with `user_agent`
/// instead of [`USER_AGENT`] if given.
pub fn browser_headers(base: &url::Url, user_agent: Option<&str>) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    headers.insert("accept-language", HeaderValue::from_static("en-US"));
    let agent = match user_agent {
        Some(agent) => HeaderValue::from_str(agent).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "invalid user agent: it must be visible ASCII",
            )
        })?,
        None => HeaderValue::from_static(USER_AGENT),
    };
    headers.insert("user-agent", agent);
    let referer = format!("{}/?v=2", base.as_str().trim_end_matches('/'));
    if let Ok(value) = HeaderValue::from_str(&referer) {
        headers.insert("referer", value);
    }
    headers.insert(
        "sec-ch-ua",
        HeaderValue::from_static(
            r#""Google Chrome";v="117", "Not;A=Brand";v="8", "Chromium";v="117""#,
        ),
    );
    headers.insert("sec-ch-ua-platform", HeaderValue::from_static(r#""Linux""#));
    headers.insert("sec-ch-ua-mobile", HeaderValue::from_static("?0"));
    Ok(headers)
}

/// Checks a proxy URL and returns it parsed, or a clear error.
pub fn parse_proxy(raw: &str) -> Result<reqwest::Proxy, Error> {
    let invalid = |reason: &str| {
        Error::new(
            ErrorKind::Config,
            format!("invalid proxy URL {:?}: {reason}", redact_url_password(raw)),
        )
    };
    let url = url::Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "http" | "https" | "socks5" | "socks5h" => {}
        other => {
            return Err(invalid(&format!(
                "unsupported scheme {other:?} (use http, https, socks5 or socks5h)"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    reqwest::Proxy::all(url.as_str()).map_err(|e| invalid(&e.to_string()))
}

/// A URL with its password (if any) replaced, for messages. Works on text
/// that does not parse as a URL too.
pub fn redact_url_password(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://").map(|i| i + 3) else {
        return raw.to_owned();
    };
    let rest = &raw[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return raw.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &raw[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_even_in_broken_urls() {
        assert_eq!(
            redact_url_password("http://u:pw@h:1/x"),
            "http://u:***@h:1/x"
        );
        assert_eq!(redact_url_password("http://u:pw@"), "http://u:***@");
        assert_eq!(redact_url_password("socks5://u@h:1"), "socks5://u@h:1");
        assert_eq!(redact_url_password("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(redact_url_password("no url"), "no url");
    }

    #[test]
    fn proxies_are_checked() {
        assert!(parse_proxy("socks5h://u:p@127.0.0.1:1080").is_ok());
        let err = parse_proxy("socks4://u:secret@h:1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unsupported scheme") && !err.contains("secret"),
            "{err}"
        );
    }
}

/// What makes two requests need different `reqwest::Client`s.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    proxy: Option<String>,
    connect_timeout: Option<Duration>,
}

/// The most distinct clients kept; past it the least recently used goes.
const MAX_CLIENTS: usize = 16;

/// What every client of one provider shares.
pub struct ClientSetup {
    /// The cookie store.
    pub cookies: Arc<SessionCookies>,
    /// The headers sent with every request.
    pub headers: HeaderMap,
    /// CA certificates to trust besides the usual web roots.
    pub roots: Vec<reqwest::Certificate>,
    /// How long idle pooled connections are kept.
    pub pool_idle_timeout: Duration,
    /// Where client builders come from, if not `reqwest::Client::builder`.
    pub factory: Option<Arc<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>>,
}

/// `reqwest::Client`s by proxy and connect timeout, all sharing one cookie
/// store, so connections are pooled per proxy. Usually one (the provider's
/// settings); requests that override them add more, up to [`MAX_CLIENTS`],
/// the least recently used making room.
pub struct Clients {
    setup: ClientSetup,
    cache: Mutex<VecDeque<(ClientKey, reqwest::Client)>>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clients")
    }
}

impl Clients {
    /// Clients made as `setup` says.
    pub fn new(setup: ClientSetup) -> Self {
        Clients {
            setup,
            cache: Mutex::new(VecDeque::new()),
        }
    }

    /// The client for this proxy and connect timeout.
    pub fn get(
        &self,
        proxy: Option<&str>,
        connect_timeout: Option<Duration>,
    ) -> Result<reqwest::Client, Error> {
        let key = ClientKey {
            proxy: proxy.map(str::to_owned),
            connect_timeout,
        };
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = cache.iter().position(|(k, _)| *k == key) {
            // Most recently used first.
            if let Some(entry) = cache.remove(at) {
                let client = entry.1.clone();
                cache.push_front(entry);
                return Ok(client);
            }
        }
        let client = self.build(proxy, connect_timeout)?;
        if cache.len() >= MAX_CLIENTS {
            cache.pop_back();
        }
        cache.push_front((key, client.clone()));
        Ok(client)
    }

    fn build(
        &self,
        proxy: Option<&str>,
        connect_timeout: Option<Duration>,
    ) -> Result<reqwest::Client, Error> {
        let setup = &self.setup;
        let builder = match &setup.factory {
            Some(make) => make(),
            None => reqwest::Client::builder(),
        };
        let mut builder = builder
            .default_headers(setup.headers.clone())
            .cookie_provider(Arc::clone(&setup.cookies))
            .redirect(reqwest::redirect::Policy::limited(5))
            // Keep the fixed browser Referer on redirects, as a browser keeps its referrer.
            .referer(false)
            .tcp_nodelay(true)
            .pool_idle_timeout(setup.pool_idle_timeout);
        for root in &setup.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        builder = match proxy {
            Some(raw) => builder.proxy(parse_proxy(raw)?),
            None => builder.no_proxy(),
        };
        if let Some(timeout) = connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        builder.build().map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("could not set up the HTTP client: {}", error_chain(&e)),
            )
            .with_source(e)
        })
    }
}

/// Maps a transport error of `step` to an [`Error`] without URLs or secrets.
pub fn transport_error(
    step: Step,
    err: &reqwest::Error,
    connect_timeout: Option<Duration>,
) -> Error {
    if err.is_timeout() && err.is_connect() {
        if let Some(after) = connect_timeout {
            return step.timeout(TimeoutKind::Connect, after);
        }
    }
    step.error(
        ErrorKind::Connect,
        format!("could not reach the upstream: {}", error_chain(err)),
    )
}

/// The error and its sources joined by ": ", without the request URL.
pub fn error_chain(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts: Vec<String> = Vec::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper-util's wrappers ("client error (Connect)") add nothing.
        if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        let mut own = err.to_string();
        if let Some(url) = err.url() {
            own = own
                .replace(&format!(" ({url})"), "")
                .replace(url.as_str(), "the upstream");
        }
        parts.push(own);
    }
    parts.join(": ")
}

/// Fails with the upstream's status if the response is not 2xx, reading at
/// most a bounded excerpt of its body.
pub async fn check_status(
    step: Step,
    response: reqwest::Response,
) -> Result<reqwest::Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = read_capped(response, ERROR_BODY_BYTES)
        .await
        .unwrap_or_default();
    Err(step.status(status.as_u16(), retry_after, &excerpt(&body)))
}

/// Reads at most `cap` bytes of a body; `Err(bytes_so_far)` if it is longer.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, Vec<u8>> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    return Err(body);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) | Err(_) => return Ok(body),
        }
    }
}

/// The response's content type, lower-cased, without parameters.
pub fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Reads a 2xx answer of a login step and parses it as `T`, failing with a
/// clear protocol error when it is not the expected JSON.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    step: Step,
    response: reqwest::Response,
    what: &str,
) -> Result<T, Error> {
    let content_type = content_type(&response);
    let status = response.status().as_u16();
    let body = read_capped(response, JSON_BODY_BYTES)
        .await
        .map_err(|_| step.protocol(format!("the answer is larger than {JSON_BODY_BYTES} bytes")))?;
    serde_json::from_slice(&body).map_err(|e| {
        step.protocol(format!(
            "expected JSON with {what}, got HTTP {status} {} ({}): {}",
            if content_type.is_empty() {
                "without a content type"
            } else {
                &content_type
            },
            e,
            excerpt(&body)
        ))
    })
}
