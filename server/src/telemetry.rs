//! Request traces over OpenTelemetry (`tracing.provider: otel`): every
//! request span (see `http::request_span`) becomes an OTLP span, posted as
//! JSON to the collector's `/v1/traces` in batches, off the request path.
//! A request carrying a W3C `traceparent` continues its caller's trace.
//! With no provider configured nothing is built and spans stay local logs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::KeyValue;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use bia_config::TracingConfig;

/// Whether spans are exported by this process: request spans name
/// themselves for OpenTelemetry only then, so requests pay nothing otherwise.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether a [`Telemetry`] exporter was built in this process.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Why traces cannot be exported as configured.
#[derive(Debug, thiserror::Error)]
#[error("tracing.providers.otlp: {0}")]
pub struct TelemetryError(String);

/// The exporting side of tracing: flushes what is buffered on [`Self::shutdown`].
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// The exporter and tracer for `config`, or `None` when no provider is
    /// configured. Must be called inside the async runtime.
    pub fn from_config(config: &TracingConfig) -> Result<Option<Self>, TelemetryError> {
        if !config.exports() {
            return Ok(None);
        }
        let otlp = &config.providers.otlp;
        let mut headers = HashMap::new();
        if let Some(value) = &otlp.authorization_header {
            headers.insert("Authorization".to_owned(), value.clone());
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(config.otlp_endpoint())
            .with_headers(headers)
            .build()
            .map_err(|e| TelemetryError(e.to_string()))?;
        let mut resource = Resource::builder()
            .with_service_name(config.service_name.clone().unwrap_or_else(|| "bia".into()));
        if let Some(environment) = &config.deployment_environment {
            resource = resource
                .with_attribute(KeyValue::new("deployment.environment", environment.clone()));
        }
        let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sampling_ratio(),
        )));
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler)
            .with_resource(resource.build())
            .build();
        EXPORTING.store(true, Ordering::Relaxed);
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("bia"))
    }

    /// Exports what is still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "traces could not all be exported at shutdown");
        }
    }
}

/// Makes `span` continue the trace a request's `traceparent` header names
/// (W3C Trace Context); without one, or with a malformed one, the span
/// starts a trace of its own.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let context = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let _ = span.set_parent(context);
}

/// Reads propagation headers from an HTTP header map.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
