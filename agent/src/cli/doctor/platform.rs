//! `platform` and `clock`: the platform answers over the configured route (Web API: a TLS
//! handshake with the client certificate, through the uplink's own client), and this machine's
//! clock is within five minutes of the platform's `Date` header (certificates and the platform's
//! time checks depend on it).

use std::path::Path;

use super::{fix, Check, Setting};
use crate::config::Config;
use crate::uplink::{resolve, Probed, Route, TransientKind, WebApiClient};

/// Largest accepted difference between our clock and the platform's.
const MAX_SKEW_SECS: i64 = 5 * 60;

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    match cfg.uplink.route {
        Route::WebApi => web_api(cfg, &s.base),
        Route::SharedFolder => vec![shared_folder(cfg, &s.base)],
    }
}

fn web_api(cfg: &Config, base: &Path) -> Vec<Check> {
    let Some(web) = &cfg.uplink.web_api else {
        return Vec::new();
    };
    let address = address_of(&web.url);
    let client = match WebApiClient::new(web, base) {
        Ok(c) => c,
        Err(e) => {
            return vec![Check::fail(
                "platform",
                format!("cannot set up the connection to {address}: {e}"),
                fix(
                    "証明書・鍵・URL の設定を直してください (cert:* の項目も参照)",
                    "fix the certificate, key or URL settings (see the cert:* checks too)",
                ),
            )]
        }
    };
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(client.probe())
                .map_err(|e| describe(e.kind, &e.reason))
        });
    match answer {
        Ok(probed) => vec![reached(&address, &probed), clock(&probed, chrono::Utc::now())],
        Err(reason) => vec![Check::fail(
            "platform",
            format!("cannot reach the platform at {address}: {reason}"),
            fix(
                format!("{address} への経路 (ネットワーク・ファイアウォール・名前解決) と、プラットフォームが稼働中かを確認してください。TLS の失敗なら証明書と ca_cert を確認"),
                format!("check the way to {address} (network, firewall, name resolution) and that the platform is up; for a TLS failure check the certificates and ca_cert"),
            ),
        )],
    }
}

fn describe(kind: Option<TransientKind>, reason: &str) -> String {
    let what = match kind {
        Some(TransientKind::Connect) => "connection failed",
        Some(TransientKind::Tls) => "TLS handshake failed",
        Some(TransientKind::Timeout) => "timed out",
        _ => "no answer",
    };
    format!("{what}: {reason}")
}

/// `host:port` of a URL (the address hospital IT checks the firewall for).
fn address_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| url.to_string())
}

fn reached(address: &str, p: &Probed) -> Check {
    let detail = format!(
        "{address} answered (HTTP {}) after a TLS handshake",
        p.status
    );
    if matches!(p.status, 401 | 403) {
        return Check::warn(
            "platform",
            format!("{detail}: access refused"),
            fix(
                "クライアント証明書が受け付けられていません。証明書の登録状況をプラットフォームの窓口に確認してください",
                "the client certificate is not accepted: ask the platform's help desk whether it is registered",
            ),
        );
    }
    Check::ok("platform", detail)
}

/// Our clock against the platform's `Date` header.
fn clock(p: &Probed, now: chrono::DateTime<chrono::Utc>) -> Check {
    let Some(theirs) = p
        .date
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
    else {
        return Check::warn(
            "clock",
            "the platform sent no usable Date header",
            fix(
                "時刻同期 (NTP) が有効かを確認してください",
                "check that time synchronisation (NTP) is on",
            ),
        );
    };
    let skew = now.timestamp() - theirs.timestamp();
    let detail = format!("{skew:+} s against the platform's clock (limit ±{MAX_SKEW_SECS} s)");
    if skew.abs() > MAX_SKEW_SECS {
        return Check::fail(
            "clock",
            detail,
            fix(
                "このマシンの時刻がずれています。時刻同期 (Linux: timedatectl / chrony、Windows: w32tm /resync) を設定してください",
                "this machine's clock is off: set up time synchronisation (Linux: timedatectl / chrony, Windows: w32tm /resync)",
            ),
        );
    }
    Check::ok("clock", detail)
}

/// The shared folder of the オンライン資格確認 terminal can be listed.
fn shared_folder(cfg: &Config, base: &Path) -> Check {
    let Some(shared) = &cfg.uplink.shared_folder else {
        return Check::fail(
            "platform",
            "route is shared-folder but [uplink.shared_folder] is missing",
            fix(
                "[uplink.shared_folder] dir を設定してください",
                "set [uplink.shared_folder] dir",
            ),
        );
    };
    let dir = resolve(base, &shared.dir);
    match super::sources::listable(dir.clone()) {
        Ok(()) => Check::ok(
            "platform",
            format!("shared folder {} reachable", dir.display()),
        ),
        Err(reason) => Check::fail(
            "platform",
            format!("cannot reach the shared folder {}: {reason}", dir.display()),
            fix(
                "資格確認端末の共有フォルダへの接続と資格情報を確認してください",
                "check the connection and credentials to the terminal's shared folder",
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probed(date: Option<&str>) -> Probed {
        Probed {
            status: 405,
            date: date.map(str::to_owned),
        }
    }

    #[test]
    fn the_clock_fails_beyond_five_minutes_and_needs_a_date() {
        let now = chrono::DateTime::parse_from_rfc2822("Sat, 05 Dec 2026 21:30:00 GMT")
            .unwrap()
            .to_utc();
        let near = clock(&probed(Some("Sat, 05 Dec 2026 21:26:00 GMT")), now);
        assert_eq!(near.status, super::super::Status::Ok, "{near:?}");
        let far = clock(&probed(Some("Sat, 05 Dec 2026 21:20:00 GMT")), now);
        assert_eq!(far.status, super::super::Status::Fail, "{far:?}");
        assert!(far.detail.starts_with("+600 s"), "{far:?}");
        let none = clock(&probed(None), now);
        assert_eq!(none.status, super::super::Status::Warn);
    }

    #[test]
    fn the_address_is_host_and_port() {
        assert_eq!(
            address_of("https://localhost:8443/clins/v1/bundles"),
            "localhost:8443"
        );
        assert_eq!(
            address_of("https://clins.example.jp/x"),
            "clins.example.jp:443"
        );
    }
}
