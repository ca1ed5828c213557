//! The OpAMP messages, field for field as in opamp-spec `proto/opamp/v1/opamp.proto` and
//! `proto/opamp/v1/anyvalue.proto` (package `opamp.proto.v1`), at opamp-spec commit
//! `f56c7ae587e53e99f809f8d95ac5cc58cb7bb8dc` (v0.18.0 + 27 commits, 2026-07-23).
//!
//! Written by hand with prost's derive macros (no build script, no protoc). Every message an
//! agent sends is complete; of the server's messages, the parts a server offers to manage an
//! agent (remote config, connection settings, packages) are left out: tsunagi neither sends nor
//! accepts them, and protobuf decoding skips fields a type does not declare. The fixtures test
//! (`tests/fixtures.rs`) decodes bytes made by the official Python protobufs and the other way
//! round.

use std::collections::HashMap;

/// `AnyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    /// `oneof value`.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The `oneof` of [`AnyValue`].
pub mod any_value {
    /// `oneof value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `string string_value = 1`.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// `bool bool_value = 2`.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// `int64 int_value = 3`.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// `double double_value = 4`.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// `ArrayValue array_value = 5`.
        #[prost(message, tag = "5")]
        ArrayValue(super::ArrayValue),
        /// `KeyValueList kvlist_value = 6`.
        #[prost(message, tag = "6")]
        KvlistValue(super::KeyValueList),
        /// `bytes bytes_value = 7`.
        #[prost(bytes, tag = "7")]
        BytesValue(Vec<u8>),
    }
}

/// `ArrayValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrayValue {
    /// `repeated AnyValue values = 1`.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// `KeyValueList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValueList {
    /// `repeated KeyValue values = 1`.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

/// `KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// `string key = 1`.
    #[prost(string, tag = "1")]
    pub key: String,
    /// `AnyValue value = 2`.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `AgentToServer`: every message an agent sends.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentToServer {
    /// `bytes instance_uid = 1` (16 bytes, a UUID).
    #[prost(bytes = "vec", tag = "1")]
    pub instance_uid: Vec<u8>,
    /// `uint64 sequence_num = 2`.
    #[prost(uint64, tag = "2")]
    pub sequence_num: u64,
    /// `AgentDescription agent_description = 3`.
    #[prost(message, optional, tag = "3")]
    pub agent_description: Option<AgentDescription>,
    /// `uint64 capabilities = 4` (bits of `AgentCapabilities`).
    #[prost(uint64, tag = "4")]
    pub capabilities: u64,
    /// `ComponentHealth health = 5`.
    #[prost(message, optional, tag = "5")]
    pub health: Option<ComponentHealth>,
    /// `EffectiveConfig effective_config = 6`.
    #[prost(message, optional, tag = "6")]
    pub effective_config: Option<EffectiveConfig>,
    /// `RemoteConfigStatus remote_config_status = 7`.
    #[prost(message, optional, tag = "7")]
    pub remote_config_status: Option<RemoteConfigStatus>,
    /// `PackageStatuses package_statuses = 8`.
    #[prost(message, optional, tag = "8")]
    pub package_statuses: Option<PackageStatuses>,
    /// `AgentDisconnect agent_disconnect = 9`.
    #[prost(message, optional, tag = "9")]
    pub agent_disconnect: Option<AgentDisconnect>,
    /// `uint64 flags = 10` (bits of `AgentToServerFlags`).
    #[prost(uint64, tag = "10")]
    pub flags: u64,
    /// `CustomCapabilities custom_capabilities = 12`.
    #[prost(message, optional, tag = "12")]
    pub custom_capabilities: Option<CustomCapabilities>,
    /// `CustomMessage custom_message = 13`.
    #[prost(message, optional, tag = "13")]
    pub custom_message: Option<CustomMessage>,
}

/// `AgentDisconnect` (empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentDisconnect {}

/// `ServerToAgent` (without remote config, connection settings and package offers).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerToAgent {
    /// `bytes instance_uid = 1`.
    #[prost(bytes = "vec", tag = "1")]
    pub instance_uid: Vec<u8>,
    /// `ServerErrorResponse error_response = 2`.
    #[prost(message, optional, tag = "2")]
    pub error_response: Option<ServerErrorResponse>,
    /// `uint64 flags = 6` (bits of `ServerToAgentFlags`).
    #[prost(uint64, tag = "6")]
    pub flags: u64,
    /// `uint64 capabilities = 7` (bits of `ServerCapabilities`).
    #[prost(uint64, tag = "7")]
    pub capabilities: u64,
    /// `AgentIdentification agent_identification = 8`.
    #[prost(message, optional, tag = "8")]
    pub agent_identification: Option<AgentIdentification>,
    /// `ServerToAgentCommand command = 9`.
    #[prost(message, optional, tag = "9")]
    pub command: Option<ServerToAgentCommand>,
    /// `CustomCapabilities custom_capabilities = 10`.
    #[prost(message, optional, tag = "10")]
    pub custom_capabilities: Option<CustomCapabilities>,
    /// `CustomMessage custom_message = 11`.
    #[prost(message, optional, tag = "11")]
    pub custom_message: Option<CustomMessage>,
}

/// `ServerErrorResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerErrorResponse {
    /// `ServerErrorResponseType type = 1`: 0 Unknown, 1 BadRequest, 2 Unavailable.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// `string error_message = 2`.
    #[prost(string, tag = "2")]
    pub error_message: String,
    /// `oneof Details { RetryInfo retry_info = 3; }`.
    #[prost(message, optional, tag = "3")]
    pub retry_info: Option<RetryInfo>,
}

/// `RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    /// `uint64 retry_after_nanoseconds = 1`.
    #[prost(uint64, tag = "1")]
    pub retry_after_nanoseconds: u64,
}

/// `ServerToAgentCommand`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerToAgentCommand {
    /// `CommandType type = 1` (0: Restart).
    #[prost(int32, tag = "1")]
    pub r#type: i32,
}

/// `AgentIdentification`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentIdentification {
    /// `bytes new_instance_uid = 1`.
    #[prost(bytes = "vec", tag = "1")]
    pub new_instance_uid: Vec<u8>,
}

/// `AgentDescription`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentDescription {
    /// `repeated KeyValue identifying_attributes = 1`.
    #[prost(message, repeated, tag = "1")]
    pub identifying_attributes: Vec<KeyValue>,
    /// `repeated KeyValue non_identifying_attributes = 2`.
    #[prost(message, repeated, tag = "2")]
    pub non_identifying_attributes: Vec<KeyValue>,
}

/// `ComponentHealth`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ComponentHealth {
    /// `bool healthy = 1`.
    #[prost(bool, tag = "1")]
    pub healthy: bool,
    /// `fixed64 start_time_unix_nano = 2`.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// `string last_error = 3`.
    #[prost(string, tag = "3")]
    pub last_error: String,
    /// `string status = 4`.
    #[prost(string, tag = "4")]
    pub status: String,
    /// `fixed64 status_time_unix_nano = 5`.
    #[prost(fixed64, tag = "5")]
    pub status_time_unix_nano: u64,
    /// `map<string, ComponentHealth> component_health_map = 6`.
    #[prost(map = "string, message", tag = "6")]
    pub component_health_map: HashMap<String, ComponentHealth>,
    /// `repeated KeyValue attributes = 7`.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
}

/// `EffectiveConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EffectiveConfig {
    /// `AgentConfigMap config_map = 1`.
    #[prost(message, optional, tag = "1")]
    pub config_map: Option<AgentConfigMap>,
}

/// `AgentConfigMap`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentConfigMap {
    /// `map<string, AgentConfigFile> config_map = 1`.
    #[prost(map = "string, message", tag = "1")]
    pub config_map: HashMap<String, AgentConfigFile>,
}

/// `AgentConfigFile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgentConfigFile {
    /// `bytes body = 1`.
    #[prost(bytes = "vec", tag = "1")]
    pub body: Vec<u8>,
    /// `string content_type = 2`.
    #[prost(string, tag = "2")]
    pub content_type: String,
}

/// `RemoteConfigStatus` (read from other agents; tsunagi accepts no remote config).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RemoteConfigStatus {
    /// `bytes last_remote_config_hash = 1`.
    #[prost(bytes = "vec", tag = "1")]
    pub last_remote_config_hash: Vec<u8>,
    /// `RemoteConfigStatuses status = 2`.
    #[prost(int32, tag = "2")]
    pub status: i32,
    /// `string error_message = 3`.
    #[prost(string, tag = "3")]
    pub error_message: String,
}

/// `PackageStatuses`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageStatuses {
    /// `map<string, PackageStatus> packages = 1`.
    #[prost(map = "string, message", tag = "1")]
    pub packages: HashMap<String, PackageStatus>,
    /// `bytes server_provided_all_packages_hash = 2`.
    #[prost(bytes = "vec", tag = "2")]
    pub server_provided_all_packages_hash: Vec<u8>,
    /// `string error_message = 3`.
    #[prost(string, tag = "3")]
    pub error_message: String,
}

/// `PackageStatus` (without `download_details = 8`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageStatus {
    /// `string name = 1`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `string agent_has_version = 2`.
    #[prost(string, tag = "2")]
    pub agent_has_version: String,
    /// `bytes agent_has_hash = 3`.
    #[prost(bytes = "vec", tag = "3")]
    pub agent_has_hash: Vec<u8>,
    /// `string server_offered_version = 4`.
    #[prost(string, tag = "4")]
    pub server_offered_version: String,
    /// `bytes server_offered_hash = 5`.
    #[prost(bytes = "vec", tag = "5")]
    pub server_offered_hash: Vec<u8>,
    /// `PackageStatusEnum status = 6`.
    #[prost(int32, tag = "6")]
    pub status: i32,
    /// `string error_message = 7`.
    #[prost(string, tag = "7")]
    pub error_message: String,
}

/// `CustomCapabilities`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomCapabilities {
    /// `repeated string capabilities = 1`.
    #[prost(string, repeated, tag = "1")]
    pub capabilities: Vec<String>,
}

/// `CustomMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomMessage {
    /// `string capability = 1`.
    #[prost(string, tag = "1")]
    pub capability: String,
    /// `string type = 2`.
    #[prost(string, tag = "2")]
    pub r#type: String,
    /// `bytes data = 3`.
    #[prost(bytes = "vec", tag = "3")]
    pub data: Vec<u8>,
}
