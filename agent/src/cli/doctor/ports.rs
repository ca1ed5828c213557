//! `port:NAME`: each address the agent listens on (MLLP, FHIR endpoints, the operations
//! surface) is free, or held by a running tsunagi (its `/healthz` answers). Checked by binding.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::{fix, Check, Setting};
use crate::config::Config;

const PROBE_LIMIT: Duration = Duration::from_secs(3);

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let ours = healthz_addr(cfg);
    listeners(cfg)
        .into_iter()
        .map(|(name, addr)| port(&name, addr, ours))
        .collect()
}

/// `(check name, address)` of every listener in the config.
fn listeners(cfg: &Config) -> Vec<(String, SocketAddr)> {
    let sources = cfg
        .source
        .described()
        .filter_map(|(_, s)| Some((format!("port:{}", s.name), s.listen?)));
    let ops = cfg
        .ops
        .listen_addr()
        .ok()
        .flatten()
        .map(|a| ("port:ops".to_string(), a));
    sources.chain(ops).collect()
}

/// Where our `/healthz` answers in plain HTTP (not when the surface is off, on a random port
/// or behind TLS).
fn healthz_addr(cfg: &Config) -> Option<SocketAddr> {
    let addr = cfg.ops.listen_addr().ok().flatten()?;
    (addr.port() != 0 && cfg.ops.tls().is_none()).then(|| reachable(addr))
}

/// `0.0.0.0:p` / `[::]:p` are reached on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

fn port(name: &str, addr: SocketAddr, ours: Option<SocketAddr>) -> Check {
    if addr.port() == 0 {
        return Check::ok(name, format!("{addr}: any free port"));
    }
    let err = match TcpListener::bind(addr) {
        Ok(_) => return Check::ok(name, format!("{addr} is free")),
        Err(e) => e,
    };
    if err.kind() != std::io::ErrorKind::AddrInUse {
        return Check::fail(
            name,
            format!("cannot listen on {addr}: {err}"),
            fix(
                format!("{addr} がこのマシンのアドレスか、1024未満のポートなら権限があるかを確認してください"),
                format!("check that {addr} is an address of this machine, and the right to use a port below 1024"),
            ),
        );
    }
    match ours {
        Some(ops) if answers_healthz(ops) => Check::ok(
            name,
            format!("{addr} is in use by the running tsunagi (its /healthz answers at {ops})"),
        ),
        _ => Check::fail(
            name,
            format!("{addr} is in use by another program (no tsunagi /healthz answers)"),
            fix(
                format!("使用中のプログラムを確認して止めるか、設定のポートを変えてください。確認方法: Linux `ss -ltnp 'sport = :{p}'`、Windows `netstat -ano | findstr :{p}`", p = addr.port()),
                format!("find the program and stop it, or change the port in the config. Who holds it: Linux `ss -ltnp 'sport = :{p}'`, Windows `netstat -ano | findstr :{p}`", p = addr.port()),
            ),
        ),
    }
}

/// Whether `GET /healthz` at `addr` answers 200 `ok` (the agent's liveness answer).
fn answers_healthz(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_LIMIT) else {
        return false;
    };
    let asked = stream
        .set_read_timeout(Some(PROBE_LIMIT))
        .and_then(|()| stream.set_write_timeout(Some(PROBE_LIMIT)))
        .and_then(|()| {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        });
    if asked.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    // A short read still tells: the status line and body arrive first.
    let _ = stream.take(4096).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.starts_with("HTTP/1.1 200") && answer.trim_end().ends_with("ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_held_by_a_stranger_fails_and_a_free_one_is_ok() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let c = port("port:x", addr, None);
        assert_eq!(c.status, super::super::Status::Fail, "{c:?}");
        assert!(
            c.detail.contains(&addr.to_string()) && c.fix_en.contains("ss -ltnp"),
            "{c:?}"
        );
        drop(held);
        assert_eq!(port("port:x", addr, None).status, super::super::Status::Ok);
    }
}
