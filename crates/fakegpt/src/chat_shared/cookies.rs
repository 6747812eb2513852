//! The session's cookie jar: kept by hand rather than with a general cookie
//! store, so that cookie values are never logged (general stores log them
//! at debug level) and never sent to any host but the upstream's.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

use reqwest::cookie::CookieStore;
use reqwest::header::HeaderValue;

/// Cookies set by one upstream origin, sent back only to it. Enough of
/// RFC 6265 for a single-origin session: `name=value` pairs, replaced by
/// name, removed by `Max-Age` ≤ 0 or an empty value; other attributes are
/// not needed with one origin.
#[derive(Default)]
pub struct SessionCookies {
    /// The scheme, host and port cookies belong to; `None` accepts any.
    origin: Option<String>,
    jar: RwLock<BTreeMap<String, String>>,
}

fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

impl SessionCookies {
    /// A jar for the upstream at `base`.
    pub fn for_origin(base: &url::Url) -> Self {
        SessionCookies {
            origin: Some(origin_of(base)),
            jar: RwLock::default(),
        }
    }

    /// Forgets every cookie.
    pub fn clear(&self) {
        self.jar.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The cookies held, by name.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.jar.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the cookies with `cookies` (from a stored session).
    pub fn restore(&self, cookies: BTreeMap<String, String>) {
        *self.jar.write().unwrap_or_else(|p| p.into_inner()) = cookies;
    }

    /// How many cookies are held.
    pub fn len(&self) -> usize {
        self.jar.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn ours(&self, url: &url::Url) -> bool {
        self.origin.as_deref().is_none_or(|o| o == origin_of(url))
    }

    fn set(&self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b'=') {
            return;
        }
        let expired = parts.any(|attr| {
            let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
            key.trim().eq_ignore_ascii_case("max-age")
                && val.trim().parse::<i64>().is_ok_and(|age| age <= 0)
        });
        let mut jar = self.jar.write().unwrap_or_else(|p| p.into_inner());
        if expired || value.is_empty() {
            jar.remove(name);
        } else if value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
}

impl CookieStore for SessionCookies {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &url::Url) {
        if !self.ours(url) {
            return;
        }
        for header in cookie_headers {
            if let Ok(text) = header.to_str() {
                self.set(text);
            }
        }
    }

    fn cookies(&self, url: &url::Url) -> Option<HeaderValue> {
        if !self.ours(url) {
            return None;
        }
        let jar = self.jar.read().unwrap_or_else(|p| p.into_inner());
        if jar.is_empty() {
            return None;
        }
        let joined = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut value = HeaderValue::from_str(&joined).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for SessionCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionCookies({} [redacted])", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn set(jar: &SessionCookies, at: &str, headers: &[&str]) {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_str(h).unwrap())
            .collect();
        jar.set_cookies(&mut values.iter(), &url(at));
    }

    #[test]
    fn cookies_go_back_to_their_origin_only() {
        let jar = SessionCookies::for_origin(&url("http://127.0.0.1:8080"));
        set(
            &jar,
            "http://127.0.0.1:8080/auth/login",
            &["s=abc; Path=/; HttpOnly", "t=1"],
        );
        set(&jar, "http://evil.example/", &["x=stolen"]);
        let sent = jar
            .cookies(&url("http://127.0.0.1:8080/api/auth/session"))
            .unwrap();
        assert_eq!(sent, "s=abc; t=1");
        assert!(sent.is_sensitive());
        assert!(jar.cookies(&url("http://evil.example/")).is_none());
        assert!(jar.cookies(&url("http://127.0.0.1:9090/")).is_none());
        assert_eq!(format!("{jar:?}"), "SessionCookies(2 [redacted])");
    }

    #[test]
    fn cookies_are_replaced_expired_and_cleared() {
        let jar = SessionCookies::for_origin(&url("https://h"));
        set(&jar, "https://h/", &["s=1", "s=2", "t=x"]);
        assert_eq!(jar.cookies(&url("https://h/")).unwrap(), "s=2; t=x");
        set(
            &jar,
            "https://h/",
            &["t=gone; Max-Age=0", "bad name=1", "=novalue"],
        );
        assert_eq!(jar.cookies(&url("https://h/")).unwrap(), "s=2");
        jar.clear();
        assert!(jar.cookies(&url("https://h/")).is_none());
    }
}
