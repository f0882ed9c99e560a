//! What to send, and the rule that it only ever goes to this machine.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, Result, bail};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

/// Makes the request for sequence number `seq` (0, 1, 2, ... across warm-up and measurement).
///
/// Scenarios that need more than a fixed list (a signed webhook body, a fresh
/// `Idempotency-Key` per request) implement this; [`Rotation`] covers the plain cases.
pub trait RequestSource: Send + Sync + 'static {
    fn request(&self, client: &reqwest::Client, seq: u64) -> reqwest::RequestBuilder;

    /// Every URL the source may produce, checked against [`ensure_loopback`] before the run.
    fn urls(&self) -> Vec<Url>;

    /// One line for the report.
    fn describe(&self) -> String;
}

/// The same method, headers and body, going round a list of URLs in order.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub method: Method,
    pub urls: Vec<Url>,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

impl Rotation {
    pub fn get(urls: Vec<Url>) -> Self {
        Self { method: Method::GET, urls, headers: HeaderMap::new(), body: None }
    }

    /// Adds a header written as `Name: value`.
    pub fn with_header_line(mut self, line: &str) -> Result<Self> {
        let (name, value) = line.split_once(':').with_context(|| format!("header {line:?} is not `Name: value`"))?;
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).with_context(|| format!("bad header name in {line:?}"))?;
        let value = HeaderValue::from_str(value.trim()).with_context(|| format!("bad header value in {line:?}"))?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// The URL used for request `seq`.
    pub fn url_for(&self, seq: u64) -> &Url {
        // `urls` is never empty once built through `parse_url_list`; a modulo by zero would
        // be a programming error caught by the run's own check.
        &self.urls[(seq % self.urls.len() as u64) as usize]
    }
}

impl RequestSource for Rotation {
    fn request(&self, client: &reqwest::Client, seq: u64) -> reqwest::RequestBuilder {
        let mut rb = client.request(self.method.clone(), self.url_for(seq).clone()).headers(self.headers.clone());
        if let Some(body) = &self.body {
            rb = rb.body(body.clone());
        }
        rb
    }

    fn urls(&self) -> Vec<Url> {
        self.urls.clone()
    }

    fn describe(&self) -> String {
        match self.urls.as_slice() {
            [one] => format!("{} {one}", self.method),
            [first, ..] => format!("{} {} URLs in rotation, first {first}", self.method, self.urls.len()),
            [] => format!("{} (no URLs)", self.method),
        }
    }
}

/// Reads a URL list: one per line; blank lines and lines starting with `#` are skipped.
/// A line may be a path (`/api/v1/...`), joined onto `base`.
pub fn parse_url_list(text: &str, base: Option<&Url>) -> Result<Vec<Url>> {
    let mut urls = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let url = match (line.starts_with('/'), base) {
            (true, Some(base)) => base.join(line),
            _ => Url::parse(line),
        }
        .with_context(|| format!("line {}: {line:?} is not a URL", n + 1))?;
        urls.push(url);
    }
    if urls.is_empty() {
        bail!("no URLs given");
    }
    Ok(urls)
}

/// Refuses anything but http(s) to a loopback address: this tool makes thousands of
/// requests a second and must never be pointed at someone else's server by mistake.
/// Names are resolved and every address they resolve to must be loopback.
pub async fn ensure_loopback(url: &Url) -> Result<Vec<SocketAddr>> {
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{url}: only http and https are supported");
    }
    let host = url.host_str().with_context(|| format!("{url}: no host"))?;
    let port = url.port_or_known_default().with_context(|| format!("{url}: no port"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else if host == "localhost" || host.ends_with(".localhost") {
        tokio::net::lookup_host((host, port)).await.with_context(|| format!("{url}: cannot resolve {host}"))?.collect()
    } else {
        bail!("{url}: refusing a non-loopback target; use 127.0.0.1, [::1] or localhost");
    };
    if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
        bail!("{url}: refusing a target that is not a loopback address ({addrs:?})");
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_loopback_targets_are_accepted() {
        for ok in ["http://127.0.0.1:8080/x", "http://127.8.9.10/", "http://[::1]:9000/", "http://localhost:1/"] {
            assert!(ensure_loopback(&Url::parse(ok).unwrap()).await.is_ok(), "{ok} should pass");
        }
        for bad in [
            "http://10.0.0.1/",
            "http://192.168.1.1:8080/",
            "http://0.0.0.0:8080/",
            "http://example.com/",
            "https://localhost.example.com/",
            "http://[2001:db8::1]/",
            "ftp://127.0.0.1/",
        ] {
            assert!(ensure_loopback(&Url::parse(bad).unwrap()).await.is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn url_lists_rotate_in_order() {
        let base = Url::parse("http://127.0.0.1:8080").unwrap();
        let text = "# accounts\n/api/v1/a\n\n  http://127.0.0.1:8080/api/v1/b  \n/api/v1/c\n";
        let r = Rotation::get(parse_url_list(text, Some(&base)).unwrap());
        let paths: Vec<_> = (0..7).map(|i| r.url_for(i).path().to_owned()).collect();
        assert_eq!(paths, ["/api/v1/a", "/api/v1/b", "/api/v1/c", "/api/v1/a", "/api/v1/b", "/api/v1/c", "/api/v1/a"]);
        assert!(parse_url_list("# nothing\n\n", Some(&base)).is_err());
        assert!(parse_url_list("/relative-without-base", None).is_err());
    }

    #[test]
    fn header_lines() {
        let r = Rotation::get(vec![Url::parse("http://127.0.0.1/").unwrap()])
            .with_header_line("Authorization: Bearer abc: def")
            .unwrap();
        assert_eq!(r.headers["authorization"], "Bearer abc: def");
        assert!(Rotation::get(vec![]).with_header_line("no colon").is_err());
    }
}
