//! The OTLP metrics messages tsunagi pushes (`POST /v1/metrics`, `application/x-protobuf`),
//! field for field as in opentelemetry-proto `opentelemetry/proto/collector/metrics/v1/
//! metrics_service.proto`, `metrics/v1/metrics.proto`, `resource/v1/resource.proto` and
//! `common/v1/common.proto` at commit `ac2c4b5` (2026). OTLP's `AnyValue`/`KeyValue` are
//! OpAMP's (the same messages and field numbers), so [`crate::proto`]'s are used.
//!
//! Only what an agent exporting gauges and cumulative sums writes is declared: histograms,
//! summaries, exemplars and entity references are left out (a receiver skips fields it does
//! not know, and tsunagi sends none of them). The e2e test decodes what the agent pushes with
//! the official Python `opentelemetry-proto` package.

use crate::proto::KeyValue;

/// `ExportMetricsServiceRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsServiceRequest {
    /// `repeated ResourceMetrics resource_metrics = 1`.
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `ResourceMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceMetrics {
    /// `Resource resource = 1`.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// `repeated ScopeMetrics scope_metrics = 2`.
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
    /// `string schema_url = 3`.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `Resource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// `repeated KeyValue attributes = 1`.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// `uint32 dropped_attributes_count = 2`.
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

/// `InstrumentationScope`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstrumentationScope {
    /// `string name = 1`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `string version = 2`.
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `ScopeMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeMetrics {
    /// `InstrumentationScope scope = 1`.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// `repeated Metric metrics = 2`.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// `string schema_url = 3`.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// `string name = 1`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `string description = 2`.
    #[prost(string, tag = "2")]
    pub description: String,
    /// `string unit = 3`.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// `oneof data` (gauge = 5, sum = 7; histogram 9, exponential_histogram 10, summary 11 unused).
    #[prost(oneof = "metric::Data", tags = "5, 7")]
    pub data: Option<metric::Data>,
}

/// The `oneof` of [`Metric`].
pub mod metric {
    /// `oneof data`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        /// `Gauge gauge = 5`.
        #[prost(message, tag = "5")]
        Gauge(super::Gauge),
        /// `Sum sum = 7`.
        #[prost(message, tag = "7")]
        Sum(super::Sum),
    }
}

/// `Gauge`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// `repeated NumberDataPoint data_points = 1`.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// `Sum`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sum {
    /// `repeated NumberDataPoint data_points = 1`.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// `AggregationTemporality aggregation_temporality = 2`.
    #[prost(enumeration = "AggregationTemporality", tag = "2")]
    pub aggregation_temporality: i32,
    /// `bool is_monotonic = 3`.
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// `AggregationTemporality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AggregationTemporality {
    /// `AGGREGATION_TEMPORALITY_UNSPECIFIED = 0`.
    Unspecified = 0,
    /// `AGGREGATION_TEMPORALITY_DELTA = 1`.
    Delta = 1,
    /// `AGGREGATION_TEMPORALITY_CUMULATIVE = 2`.
    Cumulative = 2,
}

/// `NumberDataPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NumberDataPoint {
    /// `repeated KeyValue attributes = 7`.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// `fixed64 start_time_unix_nano = 2`.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// `fixed64 time_unix_nano = 3`.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// `oneof value` (as_double = 4, as_int = 6).
    #[prost(oneof = "number_data_point::Value", tags = "4, 6")]
    pub value: Option<number_data_point::Value>,
    /// `uint32 flags = 8`.
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// The `oneof` of [`NumberDataPoint`].
pub mod number_data_point {
    /// `oneof value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `double as_double = 4`.
        #[prost(double, tag = "4")]
        AsDouble(f64),
        /// `sfixed64 as_int = 6`.
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

/// The OTLP/HTTP path for metrics.
pub const METRICS_PATH: &str = "/v1/metrics";
