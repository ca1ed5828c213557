//! OpAMP (Open Agent Management Protocol, <https://opentelemetry.io/docs/specs/opamp/>) for
//! tsunagi: the protobuf messages ([`proto`]) and the constants and attribute helpers both ends
//! use — the agent's reporting client (`agent/src/fleet/`) and the fleet server (`fleet/`). Also
//! the OTLP metrics messages ([`otlp`]) the agent pushes to an OpenTelemetry Collector: the two
//! OpenTelemetry protocols share their attribute types.
//!
//! HTTP transport only: the agent `POST`s an [`proto::AgentToServer`] to `/v1/opamp` with
//! `Content-Type: application/x-protobuf` and reads a [`proto::ServerToAgent`] from the answer.

pub mod otlp;
pub mod proto;

pub use prost::Message;
use proto::{any_value::Value, AnyValue, KeyValue};

/// The HTTP path of the OpAMP endpoint.
pub const PATH: &str = "/v1/opamp";
/// The HTTP content type of both directions.
pub const CONTENT_TYPE: &str = "application/x-protobuf";

/// `AgentCapabilities` bits (opamp.proto).
pub mod agent_caps {
    /// `ReportsStatus`.
    pub const REPORTS_STATUS: u64 = 0x1;
    /// `AcceptsRemoteConfig` (tsunagi never sets it).
    pub const ACCEPTS_REMOTE_CONFIG: u64 = 0x2;
    /// `ReportsEffectiveConfig`.
    pub const REPORTS_EFFECTIVE_CONFIG: u64 = 0x4;
    /// `ReportsPackageStatuses`.
    pub const REPORTS_PACKAGE_STATUSES: u64 = 0x10;
    /// `ReportsHealth`.
    pub const REPORTS_HEALTH: u64 = 0x800;
    /// `ReportsHeartbeat`.
    pub const REPORTS_HEARTBEAT: u64 = 0x2000;
}

/// `PackageStatusEnum` values (opamp.proto).
pub mod package_status {
    /// `PackageStatusEnum_Installed`.
    pub const INSTALLED: i32 = 0;
    /// `PackageStatusEnum_InstallPending`.
    pub const INSTALL_PENDING: i32 = 1;
    /// `PackageStatusEnum_Installing`.
    pub const INSTALLING: i32 = 2;
    /// `PackageStatusEnum_InstallFailed`.
    pub const INSTALL_FAILED: i32 = 3;
}

/// `ServerCapabilities` bits.
pub mod server_caps {
    /// `AcceptsStatus`.
    pub const ACCEPTS_STATUS: u64 = 0x1;
    /// `AcceptsEffectiveConfig`.
    pub const ACCEPTS_EFFECTIVE_CONFIG: u64 = 0x4;
    /// `AcceptsPackagesStatus`.
    pub const ACCEPTS_PACKAGES_STATUS: u64 = 0x10;
}

/// `ServerToAgentFlags_ReportFullState`.
pub const REPORT_FULL_STATE: u64 = 0x1;
/// `ServerErrorResponseType_BadRequest`.
pub const ERROR_BAD_REQUEST: i32 = 1;
/// `ServerErrorResponseType_Unavailable`.
pub const ERROR_UNAVAILABLE: i32 = 2;

/// The attribute keys tsunagi reports beyond OpenTelemetry's semantic conventions: its
/// description's 医療機関番号 and uplink route, and the figures an operator ranks hospitals by
/// (attributes of the top-level `ComponentHealth`, so that any OpAMP server shows them).
pub mod keys {
    /// 保険医療機関番号 (non-identifying attribute).
    pub const INSTITUTION: &str = "tsunagi.institution_number";
    /// The uplink route (`web-api`, `shared-folder`; non-identifying attribute).
    pub const ROUTE: &str = "tsunagi.uplink.route";
    /// Bundles not yet delivered.
    pub const BACKLOG: &str = "tsunagi.backlog";
    /// Age of the oldest bundle not yet delivered, seconds.
    pub const OLDEST_PENDING_S: &str = "tsunagi.oldest_pending_age_s";
    /// Bundles delivered today (JST).
    pub const DELIVERED_TODAY: &str = "tsunagi.delivered_today";
    /// Rejections today (JST).
    pub const REJECTED_TODAY: &str = "tsunagi.rejected_today";
    /// Items held today (JST).
    pub const HELD_TODAY: &str = "tsunagi.held_today";
    /// Coded rate this month (JST), percent of coded items mapped to national codes.
    pub const CODED_RATE_MONTH: &str = "tsunagi.coded_rate_month_percent";
    /// Last delivery, unix ms.
    pub const LAST_DELIVERY_MS: &str = "tsunagi.last_delivery_unix_ms";
    /// A newer version the update manifest offers (`tsunagi update check`), when there is one.
    pub const UPDATE_AVAILABLE: &str = "tsunagi.update.available";
    /// Versions rolled back after failing their health check, comma-separated.
    pub const UPDATE_FAILED: &str = "tsunagi.update.failed";
}

/// A string attribute.
pub fn kv_str(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
    }
}

/// An integer attribute.
pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
    }
}

/// A floating-point attribute.
pub fn kv_double(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::DoubleValue(value)),
        }),
    }
}

/// The value of `key` in `attrs`, as text (strings as they are, numbers and booleans printed;
/// arrays, lists and bytes are not shown: `None`).
pub fn attr_text(attrs: &[KeyValue], key: &str) -> Option<String> {
    let v = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match v.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        Value::BoolValue(b) => Some(b.to_string()),
        Value::IntValue(i) => Some(i.to_string()),
        Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

/// The value of `key` in `attrs` as a number (integers and doubles).
pub fn attr_number(attrs: &[KeyValue], key: &str) -> Option<f64> {
    let v = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match v.value.as_ref()? {
        Value::IntValue(i) => Some(*i as f64),
        Value::DoubleValue(d) => Some(*d),
        Value::StringValue(s) => s.parse().ok(),
        _ => None,
    }
}

/// A UUID's 16 bytes in the usual hyphenated hex form (any other length: plain hex).
pub fn uid_text(uid: &[u8]) -> String {
    let hex: String = uid.iter().map(|b| format!("{b:02x}")).collect();
    if uid.len() != 16 {
        return hex;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_read_back() {
        let attrs = vec![kv_str("a", "x"), kv_int("n", 7), kv_double("d", 1.5)];
        assert_eq!(attr_text(&attrs, "a").as_deref(), Some("x"));
        assert_eq!(attr_text(&attrs, "n").as_deref(), Some("7"));
        assert_eq!(attr_number(&attrs, "d"), Some(1.5));
        assert_eq!(attr_number(&attrs, "missing"), None);
    }

    #[test]
    fn uid_prints_as_uuid() {
        let uid: Vec<u8> = (0u8..16).collect();
        assert_eq!(uid_text(&uid), "00010203-0405-0607-0809-0a0b0c0d0e0f");
        assert_eq!(uid_text(&[0xab]), "ab");
    }
}
