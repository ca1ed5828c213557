//! An endpoint the agent reports out to: the fleet's OpAMP server (`[fleet]`) or an
//! OpenTelemetry Collector (`[telemetry]`). Hospital networks allow outbound HTTPS only, and
//! what is sent must reach only the server meant: `https://` with the CA named in `ca_cert`
//! anywhere, plain `http://` only to loopback, an optional client certificate, a bearer token.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings both report sections share, borrowed from one of them.
pub struct Endpoint<'a> {
    /// `[fleet]`, `[telemetry]`.
    pub section: &'static str,
    /// The URL's key (`opamp_url`, `otlp_endpoint`).
    pub key: &'static str,
    /// The URL as written.
    pub url: &'a str,
    /// The CA the server's certificate chains to.
    pub ca_cert: Option<&'a Path>,
    /// Client certificate and key (both or neither).
    pub client_cert: Option<&'a Path>,
    /// See `client_cert`.
    pub client_key: Option<&'a Path>,
    /// Seconds between reports.
    pub interval_secs: u64,
}

/// What is wrong with an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Not a URL.
    Url(String),
    /// `http://` to a non-loopback host.
    PlainHttp,
    /// Neither http nor https.
    Scheme,
    /// https without `ca_cert`.
    NoCa,
    /// Zero interval.
    Interval,
    /// Only one of the client certificate and key.
    ClientPair,
    /// TLS files unusable, or the HTTP client could not be built.
    Tls(String),
}

/// Why an endpoint is refused, naming its section and key; English by `Display`, Japanese by
/// [`EndpointError::ja`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{section} {}", en(key, fault))]
pub struct EndpointError {
    /// `[fleet]`, `[telemetry]`.
    pub section: &'static str,
    /// The URL's key.
    pub key: &'static str,
    /// What is wrong.
    pub fault: Fault,
}

fn en(key: &str, fault: &Fault) -> String {
    match fault {
        Fault::Url(e) => format!("{key} is not a URL ({e}) / {key} が URL ではありません"),
        Fault::PlainHttp => format!("{key}: plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https / 平文の http は loopback のみ許可されます。https を使ってください"),
        Fault::Scheme => format!("{key} must start with https:// (or http:// on loopback) / {key} は https:// で始めてください"),
        Fault::NoCa => "https needs ca_cert (the CA the server's certificate chains to) / https には ca_cert が必要です".into(),
        Fault::Interval => "interval_secs must be at least 1 / interval_secs は 1 以上にしてください".into(),
        Fault::ClientPair => "client_cert and client_key go together / client_cert と client_key は両方指定してください".into(),
        Fault::Tls(e) => format!("TLS: {e} / TLS の設定を読めません"),
    }
}

impl EndpointError {
    /// The message in Japanese (the English one carries it too, after ` / `).
    pub fn ja(&self) -> String {
        let text = en(self.key, &self.fault);
        let ja = text.split_once(" / ").map_or(text.as_str(), |(_, ja)| ja);
        format!("{} {ja}", self.section)
    }
}

impl Endpoint<'_> {
    fn error(&self, fault: Fault) -> EndpointError {
        EndpointError {
            section: self.section,
            key: self.key,
            fault,
        }
    }

    /// The URL, checked: https anywhere (with a CA), http only to loopback.
    pub fn url(&self) -> Result<reqwest::Url, EndpointError> {
        let url =
            reqwest::Url::parse(self.url).map_err(|e| self.error(Fault::Url(e.to_string())))?;
        match url.scheme() {
            "https" if self.ca_cert.is_none() => return Err(self.error(Fault::NoCa)),
            "https" => {}
            "http" if loopback(&url) => {}
            "http" => return Err(self.error(Fault::PlainHttp)),
            _ => return Err(self.error(Fault::Scheme)),
        }
        if self.interval_secs == 0 {
            return Err(self.error(Fault::Interval));
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err(self.error(Fault::ClientPair));
        }
        Ok(url)
    }

    /// An HTTP client for it: the CA and client certificate, no redirects, no proxy.
    pub fn client(&self) -> Result<reqwest::Client, EndpointError> {
        let pair = self.client_cert.zip(self.client_key);
        let tls = crate::uplink::tls_client_config(self.ca_cert, pair)
            .map_err(|e| self.error(Fault::Tls(e.to_string())))?;
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("tsunagi/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| self.error(Fault::Tls(e.to_string())))
    }

    /// A fault found after the checks (e.g. the instance id could not be kept).
    pub fn fault(&self, fault: Fault) -> EndpointError {
        self.error(fault)
    }
}

/// Resolves the TLS file paths against the config file's directory.
pub fn resolve_paths(base: &Path, paths: [&mut Option<PathBuf>; 3]) {
    for p in paths.into_iter().flatten() {
        *p = crate::uplink::resolve(base, p);
    }
}

fn loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> Endpoint<'_> {
        Endpoint {
            section: "[telemetry]",
            key: "otlp_endpoint",
            url,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            interval_secs: 60,
        }
    }

    #[test]
    fn plain_http_only_to_loopback_and_https_needs_a_ca() {
        for ok in [
            "http://127.0.0.1:4318/v1/metrics",
            "http://[::1]:4318/",
            "http://localhost/",
        ] {
            assert!(at(ok).url().is_ok(), "{ok}");
        }
        let fault = |u: &str| at(u).url().unwrap_err().fault;
        assert_eq!(
            fault("http://collector.example.jp/v1/metrics"),
            Fault::PlainHttp
        );
        assert_eq!(
            fault("https://collector.example.jp/v1/metrics"),
            Fault::NoCa
        );
        assert_eq!(fault("ftp://x/"), Fault::Scheme);
        let e = at("http://collector.example.jp/").url().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("[telemetry] otlp_endpoint: plain http"),
            "{e}"
        );
        assert!(e.ja().starts_with("[telemetry] 平文"), "{}", e.ja());
    }
}
