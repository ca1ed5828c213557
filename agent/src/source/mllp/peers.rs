//! Which peers may connect: the `allow` list of `[[source.mllp]]`, one IP address or CIDR block
//! per entry (`"10.0.0.0/8"`, `"192.168.1.20"`, `"fd00::/8"`). An IPv4 peer seen over an IPv6
//! socket (`::ffff:10.0.0.1`) is matched as the IPv4 address it is.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// One allowed network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why an `allow` entry is not an address or CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (e.g. \"10.0.0.0/8\", \"192.168.1.20\") / IPアドレスまたはCIDRで指定してください")]
pub struct BadPeerNet(String);

impl FromStr for PeerNet {
    type Err = BadPeerNet;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPeerNet(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?,
        };
        Ok(PeerNet { addr, prefix })
    }
}

impl fmt::Display for PeerNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> Deserialize<'de> for PeerNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl PeerNet {
    /// Whether `peer` lies in this network.
    pub fn contains(&self, peer: IpAddr) -> bool {
        match (self.addr, peer.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `width`-bit address.
fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    bits >> (width - prefix)
}

/// Whether `peer` may connect: an empty list allows everyone (loopback listeners, TLS with
/// client certificates), otherwise the peer must lie in one of the networks.
pub fn allowed(allow: &[PeerNet], peer: IpAddr) -> bool {
    allow.is_empty() || allow.iter().any(|n| n.contains(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_and_single_addresses_match() {
        let nets: Vec<PeerNet> = ["10.0.0.0/8", "192.168.1.20", "fd00::/8"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(allowed(&nets, ip("10.200.3.4")));
        assert!(allowed(&nets, ip("192.168.1.20")));
        assert!(allowed(&nets, ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6");
        assert!(allowed(&nets, ip("fd12::1")));
        assert!(!allowed(&nets, ip("192.168.1.21")));
        assert!(!allowed(&nets, ip("11.0.0.1")));
        assert!(!allowed(&nets, ip("fe80::1")));
        assert!(allowed(&[], ip("203.0.113.9")), "an empty list allows all");
        let all: PeerNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "10.0.0.0/33",
            "host.example",
            "10.0.0/8",
            "::/129",
            "1.2.3.4/x",
            "",
        ] {
            assert!(bad.parse::<PeerNet>().is_err(), "{bad}");
        }
        assert_eq!(
            "10.1.2.3/8".parse::<PeerNet>().unwrap().to_string(),
            "10.1.2.3/8"
        );
    }
}
