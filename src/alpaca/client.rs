//! The one Alpaca client every Alpaca call goes through: authentication
//! from the secrets, a shared rate budget, retries with backoff and jitter,
//! a circuit breaker per dependency ([`super::breakers`]), per-request
//! timeouts, and counters for the run report
//! and metrics. Every endpoint module of [`crate::alpaca`] is a thin caller
//! of [`AlpacaClient::get`] (reads, retried) or [`AlpacaClient::send`] (orders:
//! one attempt).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

use super::api::Dependency;
use super::breaker::Admission;
use super::breakers::{Breakers, Verdict};
use super::error::AlpacaError;
use super::error_body::{error_message, server_wait_hint};
use super::gate::RateGate;
use super::scrub::Scrubber;
use crate::config::{ConfigError, MarketSettings, Secrets};
use crate::market::RequestCounters;

/// Client tuning, from `[market]`.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Market-data base URL.
    pub data_url: String,
    /// Trading base URL.
    pub trading_url: String,
    /// Budget per minute.
    pub requests_per_minute: u32,
    /// Burst.
    pub burst: u32,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff.
    pub retry_base: Duration,
    /// Consecutive failures that open a dependency's breaker.
    pub breaker_threshold: u32,
    /// Breaker cool-down.
    pub breaker_cooldown: Duration,
}

impl ClientSettings {
    /// From the `[market]` section.
    pub fn from_market(m: &MarketSettings) -> Self {
        Self {
            data_url: m.data_url.trim_end_matches('/').to_string(),
            trading_url: m.trading_url.trim_end_matches('/').to_string(),
            requests_per_minute: m.requests_per_minute,
            burst: m.burst,
            timeout: Duration::from_secs(m.request_timeout_secs),
            max_retries: m.max_retries,
            retry_base: Duration::from_millis(m.retry_base_ms),
            breaker_threshold: m.breaker_threshold,
            breaker_cooldown: Duration::from_secs(m.breaker_cooldown_secs),
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    waits: AtomicU64,
    wait_micros: AtomicU64,
    by_status: Mutex<BTreeMap<String, u64>>,
}

/// The client. `Debug` shows no credentials.
pub struct AlpacaClient {
    http: reqwest::Client,
    settings: ClientSettings,
    auth: HeaderMap,
    /// The key values, to scrub from anything a server echoes back.
    scrub: Scrubber,
    /// The one rate budget every dependency shares.
    gate: RateGate,
    breakers: Breakers,
    counters: Counters,
}

impl std::fmt::Debug for AlpacaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaClient")
            .field("data_url", &self.settings.data_url)
            .field("trading_url", &self.settings.trading_url)
            .field("credentials", &"[redacted]")
            .finish()
    }
}

/// Follow a redirect only within the origin (scheme, host and port) first
/// asked for; anything else is returned as the 3xx it is.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Backoff cap.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest server-requested wait we honour inside a run.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(120);

impl AlpacaClient {
    /// Build the client with the key pair.
    pub fn new(
        settings: ClientSettings,
        key_id: &SecretString,
        secret_key: &SecretString,
    ) -> Result<Self, String> {
        let mut auth = HeaderMap::new();
        for (name, secret) in [
            ("APCA-API-KEY-ID", key_id),
            ("APCA-API-SECRET-KEY", secret_key),
        ] {
            let mut v = HeaderValue::from_str(secret.expose_secret())
                .map_err(|_| format!("{name} holds characters not allowed in an HTTP header"))?;
            // Keeps the value out of any Debug of the request.
            v.set_sensitive(true);
            auth.insert(name, v);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("dipwatch/", env!("CARGO_PKG_VERSION")))
            // The keys are ordinary headers to reqwest, which strips only
            // the standard auth headers on a cross-host redirect: a
            // redirect away from the origin asked for is not followed, so
            // the keys never reach a host they were not configured for.
            .redirect(same_origin_redirects())
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            gate: RateGate::new(settings.requests_per_minute, settings.burst),
            breakers: Breakers::new(settings.breaker_threshold, settings.breaker_cooldown),
            settings,
            auth,
            scrub: Scrubber::new(&[key_id, secret_key]),
            counters: Counters::default(),
        })
    }

    /// The client for `[market]` and the key pair in the secrets: a
    /// configuration error names what is missing or unusable.
    pub fn from_config(market: &MarketSettings, secrets: &Secrets) -> Result<Self, ConfigError> {
        let (key_id, secret) = secrets.alpaca_credentials()?;
        Self::new(ClientSettings::from_market(market), key_id, secret).map_err(|message| {
            ConfigError::Invalid {
                key: "market.provider".into(),
                message,
            }
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> RequestCounters {
        RequestCounters {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            rate_limit_waits: self.counters.waits.load(Ordering::Relaxed),
            rate_limit_wait_secs: self.counters.wait_micros.load(Ordering::Relaxed) as f64 / 1e6,
            breakers: self.breakers.counters(),
            by_status: self
                .counters
                .by_status
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
        }
    }

    fn count_status(&self, label: String) {
        if let Ok(mut m) = self.counters.by_status.lock() {
            *m.entry(label).or_insert(0) += 1;
        }
    }

    fn count_wait(&self, d: Duration) {
        if !d.is_zero() {
            self.counters.waits.fetch_add(1, Ordering::Relaxed);
            self.counters.wait_micros.fetch_add(
                u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
    }

    fn admit(&self, dep: Dependency) -> Result<(), AlpacaError> {
        match self.breakers.admit(dep, Instant::now()) {
            Admission::Go | Admission::Probe => Ok(()),
            Admission::Reject(wait) => Err(AlpacaError::CircuitOpen {
                breaker: dep.name(),
                wait,
            }),
        }
    }

    /// What an outcome tells the breaker: a service failure counts against
    /// it; any answer, even an unreadable one, proves the service is up.
    fn verdict(outcome: Result<(), &AlpacaError>) -> Verdict {
        match outcome {
            Err(e) if e.is_service_failure() => Verdict::Failed,
            Err(AlpacaError::CircuitOpen { .. }) => Verdict::Nothing,
            _ => Verdict::Answered,
        }
    }

    /// `GET base+path?query` of `dep` and parse the 200 body with `parse`,
    /// retrying transient failures. A parse failure is retried too (a cut
    /// transfer looks the same) and reported as `Malformed` in the end.
    pub async fn get<T>(
        &self,
        dep: Dependency,
        path: &str,
        query: &[(&str, String)],
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, AlpacaError> {
        let api = dep.api();
        let url = format!("{}{path}", self.base(dep));
        let mut attempt = 0u32;
        loop {
            self.admit(dep)?;
            // With a sibling's breaker open the API itself may be down:
            // one attempt, so isolating the dependencies does not multiply
            // the requests a down API gets.
            let max_retries = if self.breakers.sibling_down(dep) {
                0
            } else {
                self.settings.max_retries
            };
            let waited = self.gate.acquire().await;
            self.count_wait(waited);
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            if attempt > 0 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let span = tracing::debug_span!("alpaca_request", ?api, path, attempt);
            let request = self.http.get(&url).query(query);
            let (result, hint) = self.attempt(request, &parse).instrument(span).await;
            // Every error leaves the client scrubbed of the key values, so
            // no log, report, reply or endpoint can repeat what a server
            // echoed back.
            let result = result.map_err(|e| self.scrub.error(e));
            self.breakers.record(
                dep,
                Self::verdict(result.as_ref().map(|_| ())),
                Instant::now(),
            );
            let error = match result {
                Ok(value) => {
                    self.count_status("200".into());
                    return Ok(value);
                }
                Err(e) => e,
            };
            self.count_status(error.label());
            if !error.retryable() || attempt >= max_retries {
                tracing::warn!(breaker = dep.name(), path, attempt, error = %error, "alpaca request failed");
                return Err(error);
            }
            let backoff = self.backoff(attempt);
            let wait = match hint {
                Some(h) => {
                    let h = h.min(MAX_SERVER_WAIT);
                    self.count_wait(h);
                    h.max(backoff / 4)
                }
                None => backoff,
            };
            tracing::info!(path, attempt, error = %error, wait_ms = wait.as_millis() as u64, "alpaca request retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// `method base+path` of `dep` with a JSON `body`, ONE attempt: a
    /// request that changes something (an order, a cancellation) is never
    /// sent again blindly, whatever happened to the first (the caller
    /// looks up what it did). The answer's body is parsed with `parse`
    /// (empty for a 204).
    pub async fn send<T>(
        &self,
        dep: Dependency,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, AlpacaError> {
        let url = format!("{}{path}", self.base(dep));
        self.admit(dep)?;
        let waited = self.gate.acquire().await;
        self.count_wait(waited);
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            request = request.json(b);
        }
        let span = tracing::debug_span!("alpaca_request", %method, path);
        let (result, _) = self.attempt(request, &parse).instrument(span).await;
        let result = result.map_err(|e| self.scrub.error(e));
        self.breakers.record(
            dep,
            Self::verdict(result.as_ref().map(|_| ())),
            Instant::now(),
        );
        match &result {
            Ok(_) => self.count_status("200".into()),
            Err(e) => {
                self.count_status(e.label());
                tracing::warn!(breaker = dep.name(), %method, path, error = %e, "alpaca request failed");
            }
        }
        result
    }

    /// The base URL of `dep`'s API.
    fn base(&self, dep: Dependency) -> &str {
        match dep.api() {
            super::Api::Data => &self.settings.data_url,
            super::Api::Trading => &self.settings.trading_url,
        }
    }

    /// One attempt: the result and any server wait hint.
    async fn attempt<T>(
        &self,
        request: reqwest::RequestBuilder,
        parse: &impl Fn(&[u8]) -> Result<T, String>,
    ) -> (Result<T, AlpacaError>, Option<Duration>) {
        let started = Instant::now();
        let sent = request
            .headers(self.auth.clone())
            .timeout(self.settings.timeout)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return (Err(self.transport_error(&e)), None),
        };
        let status = resp.status();
        let hint = if status.as_u16() == 429 {
            server_wait_hint(resp.headers(), chrono::Utc::now())
        } else {
            None
        };
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return (Err(self.transport_error(&e)), hint),
        };
        tracing::debug!(
            status = status.as_u16(),
            bytes = body.len(),
            ms = started.elapsed().as_millis() as u64,
            "alpaca answered"
        );
        if status.is_redirection() {
            return (
                Err(AlpacaError::Status {
                    status: status.as_u16(),
                    message: "redirect to another host not followed (the keys go to the configured host only)"
                        .into(),
                }),
                None,
            );
        }
        if !status.is_success() {
            return (
                Err(AlpacaError::Status {
                    status: status.as_u16(),
                    // Scrubbed before it is shortened, so a cut cannot leave
                    // half a key behind.
                    message: error_message(&self.scrub.bytes(&body)),
                }),
                hint,
            );
        }
        // A key echoed inside a 200 body is masked before parsing, so it
        // cannot reach a stored object or a skipped entry's reason either.
        let body = self.scrub.bytes(&body);
        let parsed = parse(&body).map_err(|message| {
            // Complete JSON of the wrong shape will be the same next time;
            // anything else may be a transfer cut short.
            if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
                AlpacaError::Schema(message)
            } else {
                AlpacaError::Malformed(message)
            }
        });
        (parsed, None)
    }

    /// A transport error as a typed error, without the URL.
    fn transport_error(&self, e: &reqwest::Error) -> AlpacaError {
        if e.is_timeout() {
            return AlpacaError::Timeout(self.settings.timeout);
        }
        let mut msg = String::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = source {
            msg = s.to_string();
            source = s.source();
        }
        if msg.is_empty() {
            msg = e.to_string();
        }
        AlpacaError::Connect(msg)
    }

    /// Exponential backoff with jitter in [50%, 100%] of the step.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .settings
            .retry_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(MAX_BACKOFF);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = 0.5 + f64::from(nanos % 1_000_000) / 2_000_000.0;
        step.mul_f64(jitter)
    }
}
