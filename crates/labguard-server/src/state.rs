//! Shared server state and the wrappers that run the (synchronous) store off the async
//! executor.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use labguard_identity::{CsrfKey, HashParams, SessionPolicy, ThrottlePolicy};
use labguard_store::{SharedSecret, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::{ApiError, ApiResult};

/// Settings a deployment may change.
#[derive(Debug, Clone)]
pub struct Settings {
    pub session: SessionPolicy,
    pub throttle: ThrottlePolicy,
    /// Argon2id cost for new password hashes (tests use the cheapest).
    pub hash_params: HashParams,
    /// Shown in the UI and kept out of passwords.
    pub lab_name: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Longest an API token may live (requests for longer, or for none, are refused).
    pub token_max_lifetime: TimeDelta,
    /// Bearer token for `/metrics`; without one the route answers 404.
    pub metrics_token: Option<Arc<crate::metrics::MetricsToken>>,
    /// Single sign-on with the lab's directory (None: local accounts only).
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session: SessionPolicy::default(),
            throttle: ThrottlePolicy::default(),
            hash_params: HashParams::default(),
            lab_name: "labguard".into(),
            body_limit: 64 * 1024,
            token_max_lifetime: TimeDelta::days(90),
            metrics_token: None,
            oidc: None,
        }
    }
}

/// What `/metrics` shows, in a prometheus-client registry. Only counts and durations,
/// labelled by fixed vocabularies (method, status class, route template): no identifiers,
/// no patient data.
pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub durations: Family<RouteLabel, Histogram, fn() -> Histogram>,
    pub sign_in_failures: Counter,
    pub sign_ins: Counter,
    registry: Mutex<Registry>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// "2xx" .. "5xx": the class, so the label set stays small.
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// The route template (`/api/v1/patients/{id}`), never the request path.
    pub route: String,
}

fn duration_histogram() -> Histogram {
    // 0.5 ms to ~4 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let m = Metrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            sign_in_failures: Counter::default(),
            sign_ins: Counter::default(),
            registry: Mutex::new(Registry::default()),
        };
        m.register(|r| {
            r.register(
                "labguard_http_requests",
                "HTTP requests answered, by method and status class",
                m.requests.clone(),
            );
            r.register(
                "labguard_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template",
                m.durations.clone(),
            );
            r.register(
                "labguard_sign_ins",
                "Completed sign-ins",
                m.sign_ins.clone(),
            );
            r.register(
                "labguard_sign_in_failures",
                "Failed sign-in and second-factor attempts",
                m.sign_in_failures.clone(),
            );
        });
        m
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(..)")
    }
}

impl Metrics {
    pub fn inc(c: &Counter) {
        c.inc();
    }

    /// Adds metrics another part of the process owns (the instrument listeners').
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        f(&mut self.registry.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Counts one answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let class = match status {
            ..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                status: class,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        let reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        prometheus_client::encoding::text::encode(&mut out, &reg)?;
        Ok(out)
    }
}

pub struct Inner {
    pub store: Arc<Store>,
    pub settings: Settings,
    pub csrf: CsrfKey,
    pub metrics: Metrics,
    /// Clock for session checks (tests move it forward).
    pub clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// The latest "verify log" run started from the UI or API.
    pub verify_job: crate::verify_job::VerifyJob,
    /// Sign-in attempts for one account name or source address run one at a time, so
    /// parallel guesses cannot lose each other's failure counts.
    pub throttle_locks: ThrottleLocks,
}

pub use labguard_app::signin::ThrottleLocks;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// State whose CSRF key is the lab's shared one ([`SharedSecret::CsrfTokens`]): every
    /// node behind a load balancer, and this node after a restart, accepts the tokens of
    /// every other. A token stays bound to its session, which sign-out ends.
    pub fn new(store: Arc<Store>, settings: Settings) -> ApiResult<AppState> {
        let key = store.shared_secret(SharedSecret::CsrfTokens)?;
        Ok(AppState(Arc::new(Inner {
            store,
            settings,
            csrf: CsrfKey::from_bytes(&key),
            metrics: Metrics::default(),
            clock: Arc::new(Utc::now),
            verify_job: Default::default(),
            throttle_locks: Default::default(),
        })))
    }

    pub fn with_clock(
        store: Arc<Store>,
        settings: Settings,
        clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    ) -> ApiResult<AppState> {
        let key = store.shared_secret(SharedSecret::CsrfTokens)?;
        Ok(AppState(Arc::new(Inner {
            store,
            settings,
            csrf: CsrfKey::from_bytes(&key),
            metrics: Metrics::default(),
            clock,
            verify_job: Default::default(),
            throttle_locks: Default::default(),
        })))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub fn idle_timeout(&self) -> TimeDelta {
        self.settings.session.idle_timeout
    }

    /// Runs `f` with the store on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|_| ApiError::internal())?
    }
}

/// Bytes from the OS CSPRNG.
pub fn random<const N: usize>() -> ApiResult<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| ApiError::internal())?;
    Ok(b)
}
