//! Prometheus metrics, in a registry owned by the app (no global recorder), rendered at
//! `GET /metrics`.
//!
//! Model labels are limited to models with a price (others count as `other`), so a client
//! cannot grow the label set without bound.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::sync::atomic::AtomicU64;

use crate::{pool::Snapshot, usage::Usage};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub provider: String,
    pub model: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub provider: String,
    pub model: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub provider: String,
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
    ]
    .into_iter()
}

fn overhead_buckets() -> impl Iterator<Item = f64> {
    [
        0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05,
    ]
    .into_iter()
}

/// Every metric of one AMP Pool instance.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    upstream_latency: Family<ProviderLabels, Histogram>,
    overhead: Histogram,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelLabels, Counter<f64, AtomicU64>>,
    active_streams: Gauge,
    keys: Family<StateLabels, Gauge>,
    queue_depth: Gauge,
    journal_bytes: Gauge,
    journal_oldest: Gauge<f64, AtomicU64>,
    flush_seconds: Histogram,
    key_loads: Counter,
    affinity_wanted: Counter,
    affinity_served: Counter,
    job_runs: Family<JobLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::in_registry(Registry::with_prefix("amp_pool"))
    }
}

impl Metrics {
    /// Metrics labelled `instance_name="<INSTANCE_NAME>"`, so a dashboard over several
    /// instances tells them apart (not `instance`, which Prometheus sets to the scrape target).
    pub fn for_instance(name: &str) -> Self {
        Self::in_registry(Registry::with_prefix_and_labels(
            "amp_pool",
            [(
                std::borrow::Cow::Borrowed("instance_name"),
                std::borrow::Cow::Owned(name.to_string()),
            )]
            .into_iter(),
        ))
    }

    fn in_registry(mut registry: Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Upstream attempts by provider, model and status",
            requests.clone(),
        );
        let upstream_latency = Family::<ProviderLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "upstream_latency_seconds",
            "Time of upstream attempts",
            upstream_latency.clone(),
        );
        let overhead = Histogram::new(overhead_buckets());
        registry.register(
            "proxy_overhead_seconds",
            "Time the proxy adds: total minus upstream time",
            overhead.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens by provider, model and kind",
            tokens.clone(),
        );
        let cost = Family::<ModelLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "cost_usd",
            "Cost in USD by provider and model",
            cost.clone(),
        );
        let active_streams = Gauge::default();
        registry.register(
            "active_streams",
            "Streams being passed to clients now",
            active_streams.clone(),
        );
        let keys = Family::<StateLabels, Gauge>::default();
        registry.register("keys", "Keys by state", keys.clone());
        let queue_depth = Gauge::default();
        registry.register(
            "log_writer_queue_depth",
            "Records waiting for the log writer",
            queue_depth.clone(),
        );
        let journal_bytes = Gauge::default();
        registry.register(
            "log_writer_journal_bytes",
            "Bytes in the log writer's journal (records not yet known to be in the database)",
            journal_bytes.clone(),
        );
        let journal_oldest = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "log_writer_oldest_unwritten_seconds",
            "Age of the oldest record not yet in the database",
            journal_oldest.clone(),
        );
        let flush_seconds = Histogram::new(latency_buckets());
        registry.register(
            "log_writer_flush_seconds",
            "Time to commit one log batch",
            flush_seconds.clone(),
        );
        let key_loads = Counter::default();
        registry.register(
            "graphql_key_loads",
            "Batched key look-ups made by GraphQL",
            key_loads.clone(),
        );
        let affinity_wanted = Counter::default();
        registry.register(
            "session_affinity_wanted",
            "Requests of a conversation that was stuck to a key",
            affinity_wanted.clone(),
        );
        let affinity_served = Counter::default();
        registry.register(
            "session_affinity_served",
            "Of those, requests served by the key the conversation was stuck to (the hit rate is served / wanted)",
            affinity_served.clone(),
        );
        let job_runs = Family::<JobLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Runs of the background jobs this instance made (one instance runs them for the cluster)",
            job_runs.clone(),
        );
        Self {
            registry,
            requests,
            upstream_latency,
            overhead,
            tokens,
            cost,
            active_streams,
            keys,
            queue_depth,
            journal_bytes,
            journal_oldest,
            flush_seconds,
            key_loads,
            affinity_wanted,
            affinity_served,
            job_runs,
        }
    }
}

impl Metrics {
    /// Counts a request of a conversation stuck to a key, and whether that key served it.
    pub fn session_affinity(&self, served: bool) {
        self.affinity_wanted.inc();
        if served {
            self.affinity_served.inc();
        }
    }

    /// Counts one finished attempt.
    pub fn attempt(
        &self,
        provider: &str,
        model: &str,
        status: &str,
        usage: &Usage,
        cost_nanos: i64,
        seconds: f64,
    ) {
        let model = model.to_string();
        self.requests
            .get_or_create(&RequestLabels {
                provider: provider.into(),
                model: model.clone(),
                status: status.into(),
            })
            .inc();
        self.upstream_latency
            .get_or_create(&ProviderLabels {
                provider: provider.into(),
            })
            .observe(seconds);
        for (kind, count) in [
            ("input", usage.input),
            ("output", usage.output),
            ("cache_read", usage.cache_read),
            ("cache_creation", usage.cache_creation),
        ] {
            if count > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        provider: provider.into(),
                        model: model.clone(),
                        kind: kind.into(),
                    })
                    .inc_by(u64::try_from(count).unwrap_or(0));
            }
        }
        if cost_nanos > 0 {
            self.cost
                .get_or_create(&ModelLabels {
                    provider: provider.into(),
                    model,
                })
                .inc_by(cost_nanos as f64 / 1e9);
        }
    }

    /// Records the time the proxy itself added to a request.
    pub fn overhead(&self, seconds: f64) {
        self.overhead.observe(seconds.max(0.0));
    }

    /// A stream began (`true`) or ended (`false`).
    pub fn stream(&self, started: bool) {
        if started {
            self.active_streams.inc();
        } else {
            self.active_streams.dec();
        }
    }

    /// Records one log batch commit.
    pub fn flushed(&self, seconds: f64) {
        self.flush_seconds.observe(seconds);
    }

    /// The journal's size and the age of its oldest record not yet in the database.
    pub fn journal(&self, bytes: u64, oldest_seconds: f64) {
        self.journal_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.journal_oldest.set(oldest_seconds);
    }

    /// Counts a run of background job `job`.
    pub fn job_ran(&self, job: &'static str) {
        self.job_runs.get_or_create(&JobLabels { job }).inc();
    }

    /// Counts one batched key look-up by GraphQL.
    pub fn key_load(&self) {
        self.key_loads.inc();
    }

    /// Batched key look-ups so far.
    pub fn key_loads(&self) -> u64 {
        self.key_loads.get()
    }

    /// The text exposition, with key states and queue depth read now.
    pub fn render(&self, snapshot: &Snapshot, queue_depth: usize, now_ms: i64) -> String {
        let mut counts = [("available", 0i64), ("cooling_down", 0), ("disabled", 0)];
        for key in snapshot.keys() {
            let index = if !key.enabled || key.health.is_auto_disabled() {
                2
            } else if key.health.cooldown_until_ms() > now_ms {
                1
            } else {
                0
            };
            counts[index].1 += 1;
        }
        for (state, count) in counts {
            self.keys
                .get_or_create(&StateLabels {
                    state: state.into(),
                })
                .set(count);
        }
        self.queue_depth
            .set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
