//! The `tracing` section: where request traces go (OpenTelemetry), with
//! Kratos's keys. Only the `otel` provider (OTLP over HTTP) is read; the
//! others are reported as unsupported by the checks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::is_default;

/// The `tracing` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TracingConfig {
    /// The tracing back-end: `otel` exports spans over OTLP/HTTP; empty (the
    /// default) exports nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The `service.name` of exported spans (`bia` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The `deployment.environment` of exported spans, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_environment: Option<String>,
    /// Settings per provider.
    #[serde(skip_serializing_if = "is_default")]
    pub providers: TracingProviders,
}

/// `tracing.providers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TracingProviders {
    /// The OTLP exporter of the `otel` provider.
    #[serde(skip_serializing_if = "is_default")]
    pub otlp: OtlpConfig,
}

/// `tracing.providers.otlp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OtlpConfig {
    /// The collector's OTLP/HTTP address as `host:port` (`localhost:4318`
    /// by default); spans are posted to `/v1/traces` there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// Plain HTTP instead of HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Sampling.
    #[serde(skip_serializing_if = "is_default")]
    pub sampling: OtlpSampling,
    /// An `Authorization` header sent with every export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_header: Option<String>,
}

/// `tracing.providers.otlp.sampling`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OtlpSampling {
    /// The share of traces kept, from 0 to 1 (1 by default). A request that
    /// arrives with a sampled `traceparent` is always kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_ratio: Option<f64>,
}

impl TracingConfig {
    /// Whether spans are exported (`provider: otel`).
    pub fn exports(&self) -> bool {
        self.provider.as_deref() == Some("otel")
    }

    /// The collector's traces endpoint, e.g. `http://localhost:4318/v1/traces`.
    pub fn otlp_endpoint(&self) -> String {
        let otlp = &self.providers.otlp;
        let address = otlp
            .server_url
            .as_deref()
            .unwrap_or("localhost:4318")
            .trim_end_matches('/');
        if address.contains("://") {
            return format!("{address}/v1/traces");
        }
        let scheme = if otlp.insecure == Some(true) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{address}/v1/traces")
    }

    /// The sampling ratio in force, between 0 and 1.
    pub fn sampling_ratio(&self) -> f64 {
        self.providers
            .otlp
            .sampling
            .sampling_ratio
            .unwrap_or(1.0)
            .clamp(0.0, 1.0)
    }
}
