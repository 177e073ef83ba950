//! Shared server state and the wrappers that run the (synchronous) store off the async
//! executor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use labguard_identity::{CsrfKey, HashParams, SessionPolicy, ThrottlePolicy};
use labguard_store::{SharedSecret, Store};

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

/// Counters for `/metrics`. Only counts: no identifiers, no patient data.
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    pub sign_in_failures: AtomicU64,
    pub sign_ins: AtomicU64,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
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
