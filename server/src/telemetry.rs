//! Logs (text for people, JSON for machines) and Prometheus metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Traces leave the process only when this is set (the OpenTelemetry
/// standard variable; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
/// `OTEL_SERVICE_NAME`, `OTEL_BSP_*` work as the standard says).
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The log and trace pipeline; `shutdown` sends the spans still queued.
pub struct Telemetry {
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.traces {
            if let Err(e) = provider.shutdown() {
                eprintln!("sending the last traces failed: {e}");
            }
        }
    }
}

/// Logs to standard error (text, or one JSON object per line carrying the
/// `trace_id` of the span it was written in), and, with
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, a span per request and per worker step
/// exported over OTLP (HTTP, protobuf) to Jaeger or any collector. Called
/// before any async runtime starts: the exporter's HTTP client runs on the
/// batch processor's own thread.
pub fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;

    let filter = EnvFilter::try_from_env("PAYQUEST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(WithTraceId(
                tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            ))
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let endpoint = std::env::var(OTLP_ENDPOINT_VAR).unwrap_or_default();
    let (traces, provider) = if endpoint.is_empty() {
        (None, None)
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()?;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("payquest")
                    .build(),
            )
            .build();
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        // Our own spans (requests, validation, disbursement, reconciliation),
        // whatever the log filter says; not the libraries' internals.
        let ours = tracing_subscriber::filter::Targets::new()
            .with_target("payquest", tracing::Level::INFO)
            .with_target("payquest_domain", tracing::Level::INFO)
            .with_target("payquest_app", tracing::Level::INFO);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("payquest"))
            .with_filter(ours)
            .boxed();
        (Some(layer), Some(provider))
    };
    tracing_subscriber::registry()
        .with(traces)
        .with(logs)
        .try_init()?;
    if provider.is_some() {
        tracing::info!(endpoint = %payquest_domain::secret::redact_url(&endpoint), "traces are exported over OTLP");
    }
    Ok(Telemetry { traces: provider })
}

/// The JSON event format with the OpenTelemetry trace id of the current
/// span first (`"trace_id":"…"`), so a log line leads to its trace.
struct WithTraceId<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithTraceId<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let trace_id = ctx
            .lookup_current()
            .and_then(|span| {
                span.extensions()
                    .get::<tracing_opentelemetry::OtelData>()
                    .and_then(|d| d.trace_id())
            })
            .filter(|id| *id != opentelemetry::TraceId::INVALID);
        let Some(id) = trace_id else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(
            ctx,
            tracing_subscriber::fmt::format::Writer::new(&mut line),
            event,
        )?;
        match line.strip_prefix('{') {
            Some(rest) => std::fmt::Write::write_fmt(
                &mut writer,
                format_args!("{{\"trace_id\":\"{id}\",{rest}"),
            ),
            None => writer.write_str(&line),
        }
    }
}

/// The W3C `traceparent` of an incoming request, as the parent of its span.
pub fn remote_parent(headers: &axum::http::HeaderMap) -> opentelemetry::Context {
    struct Headers<'a>(&'a axum::http::HeaderMap);
    impl opentelemetry::propagation::Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(|k| k.as_str()).collect()
        }
    }
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)))
}

const LATENCY_BUCKETS_S: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const PIPELINE_BUCKETS_S: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
    3600.0,
];

pub struct Metrics {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

impl Metrics {
    pub fn install() -> anyhow::Result<Metrics> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS_S,
            )?
            // The pipeline's own durations (validation, chain confirmation,
            // schedule lateness) run from milliseconds to an hour.
            .set_buckets_for_metric(Matcher::Prefix("payquest_".into()), PIPELINE_BUCKETS_S)?
            .install_recorder()?;
        let process = metrics_process::Collector::default();
        process.describe();
        Ok(Metrics { handle, process })
    }

    pub fn render(&self) -> String {
        self.process.collect();
        self.handle.render()
    }
}

/// Counts requests by route and status and records their latency. Runs as a
/// route layer, where the matched route template is known (never the raw
/// path, so ids in URLs can't explode the label set).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "fallback".to_owned());
    observe(route, req, next).await
}

/// The same for the fallback (static files, not found).
pub async fn track_fallback(req: Request, next: Next) -> Response {
    observe("fallback".to_owned(), req, next).await
}

async fn observe(route: String, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}
