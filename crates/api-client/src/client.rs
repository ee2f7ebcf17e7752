//! The GraphQL transport.
//!
//! Per request: wait for the rate limiter, add credentials, POST, classify the answer.
//! Transient failures (network, timeout, 5xx, 429, a body cut short) are retried with
//! exponential backoff and jitter, capped, honouring `Retry-After`. A 401 refreshes the token
//! once and retries. A write that is not idempotent is retried only when the server cannot
//! have processed it (the connection was never made, or 429/503 refused it up front): a
//! duplicate appointment is worse than a failed push, which the outbox will retry safely.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use url::Url;

use crate::auth::{AuthState, Authenticator, Credentials, parse_retry_after};
use crate::documents::Operation;
use crate::error::ApiError;
use crate::model::FieldError;
use crate::token_store::TokenStore;

/// Transport settings. `Default` is what the daemon uses unless configured.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Scheme and host: `https://gazelleapp.io/`, or the simulator's address.
    pub base_url: Url,
    pub page_size: u32,
    pub requests_per_second: u32,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Attempts after the first one, for transient failures.
    pub max_retries: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: Url::parse("https://gazelleapp.io/")
                .unwrap_or_else(|_| unreachable!("a valid literal")),
            page_size: 100,
            requests_per_second: 5,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_retries: 5,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// A client of Gazelle's private API.
pub struct GazelleClient {
    http: reqwest::Client,
    graphql_url: Url,
    auth: Authenticator,
    limiter: RateLimiter,
    options: ClientOptions,
}

impl GazelleClient {
    pub fn new(
        options: ClientOptions,
        credentials: Credentials,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .gzip(true)
            .user_agent(concat!("assistant-gazelle/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let graphql_url = options
            .base_url
            .join("graphql/private/")
            .map_err(|e| ApiError::Setup(format!("bad base URL {}: {e}", options.base_url)))?;
        let auth = Authenticator::new(credentials, store, http.clone(), &options.base_url)?;
        Ok(GazelleClient {
            http,
            graphql_url,
            auth,
            limiter: RateLimiter::new(options.requests_per_second),
            options,
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    pub async fn auth_state(&self) -> AuthState {
        self.auth.state().await
    }

    /// Sends `operation` and decodes `data` into `T`, retrying what may be retried.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        operation: Operation,
        variables: Value,
    ) -> Result<T, ApiError> {
        self.execute_document(operation, operation.document, variables)
            .await
    }

    /// Sends `document`, built at run time, under `operation`'s name and retry rule (a
    /// probe's aliases, whose number depends on the data: see [`crate::probe`]).
    pub async fn execute_document<T: DeserializeOwned>(
        &self,
        operation: Operation,
        document: &str,
        variables: Value,
    ) -> Result<T, ApiError> {
        let body =
            json!({ "query": document, "variables": variables, "operationName": operation.name });
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.options.min_backoff)
            .with_max_delay(self.options.max_backoff)
            .with_max_times(self.options.max_retries)
            .with_jitter();
        let data = (|| self.attempt(operation, &body))
            .retry(backoff)
            .when(|e: &Failure| e.error.is_transient() && (operation.idempotent || !e.maybe_processed))
            .adjust(|e: &Failure, delay| match &e.error {
                // The server said when: wait that long (within reason), not our guess.
                ApiError::Transient { retry_after: Some(after), .. } => {
                    delay.map(|_| (*after).min(self.options.max_backoff))
                }
                _ => delay,
            })
            .notify(|e: &Failure, delay| {
                tracing::warn!(operation = operation.name, error = %e.error, retry_in = ?delay, "retrying");
            })
            .await
            .map_err(|f| f.error)?;
        decode(operation.name, "data", data)
    }

    /// Sends a mutation and returns its payload's `field` object, or the service's refusal.
    pub async fn mutate<T: DeserializeOwned>(
        &self,
        operation: Operation,
        payload: &str,
        object: &str,
        variables: Value,
    ) -> Result<T, ApiError> {
        let mut data: Map<String, Value> = self.execute(operation, variables).await?;
        let mut payload_value = match data.remove(payload) {
            Some(Value::Object(map)) => map,
            _ => {
                return Err(ApiError::Decode {
                    operation: operation.name.into(),
                    path: format!("data.{payload}"),
                    message: "the payload is missing".into(),
                });
            }
        };
        let errors: Vec<FieldError> = decode(
            operation.name,
            &format!("data.{payload}.mutationErrors"),
            payload_value
                .remove("mutationErrors")
                .unwrap_or(Value::Array(vec![])),
        )?;
        if !errors.is_empty() {
            return Err(ApiError::Rejected {
                operation: operation.name.into(),
                errors,
            });
        }
        decode(
            operation.name,
            &format!("data.{payload}.{object}"),
            payload_value.remove(object).unwrap_or(Value::Null),
        )
    }

    /// One try, with one token refresh on 401.
    async fn attempt(&self, operation: Operation, body: &Value) -> Result<Value, Failure> {
        let mut refreshed = false;
        loop {
            self.limiter.wait().await;
            let (header, value) = self
                .auth
                .header(operation.name)
                .await
                .map_err(Failure::not_sent)?;
            crate::meter::request_sent();
            let sent = self
                .http
                .post(self.graphql_url.clone())
                .header(header, &value)
                .json(body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    // `is_connect`: the request never reached the server.
                    let maybe_processed = !e.is_connect();
                    let what = if e.is_timeout() {
                        "timed out"
                    } else {
                        "network error"
                    };
                    return Err(Failure {
                        error: ApiError::transient(
                            operation.name,
                            format!("{what}: {}", e.without_url()),
                        ),
                        maybe_processed,
                    });
                }
            };
            let status = response.status();
            if status.as_u16() == 401 {
                if !refreshed
                    && self
                        .auth
                        .recover_from_401(operation.name, &value)
                        .await
                        .map_err(Failure::not_sent)?
                {
                    refreshed = true;
                    continue;
                }
                return Err(Failure::not_sent(ApiError::Auth {
                    operation: operation.name.into(),
                    message: "HTTP 401: the credentials were refused".into(),
                }));
            }
            if status.as_u16() == 429 || status.is_server_error() {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                // 429 and 503 refuse the request before doing it; 500/502/504 may come after.
                let refused_up_front = matches!(status.as_u16(), 429 | 503);
                return Err(Failure {
                    error: ApiError::Transient {
                        operation: operation.name.into(),
                        message: format!("HTTP {status}"),
                        retry_after,
                        throttled: status.as_u16() == 429,
                    },
                    maybe_processed: !refused_up_front,
                });
            }
            if !status.is_success() {
                return Err(Failure::processed(ApiError::GraphQl {
                    operation: operation.name.into(),
                    messages: vec![format!("HTTP {status}")],
                }));
            }
            let bytes = response.bytes().await.map_err(|e| {
                Failure::processed(ApiError::transient(
                    operation.name,
                    format!("the answer was cut short: {}", e.without_url()),
                ))
            })?;
            crate::meter::received(bytes.len());
            let mut envelope: Map<String, Value> = match serde_json::from_slice(&bytes) {
                Ok(Value::Object(map)) => map,
                // Truncated or not JSON (a proxy's error page): a transport accident.
                Ok(_) | Err(_) => {
                    let preview: String =
                        String::from_utf8_lossy(&bytes).chars().take(80).collect();
                    return Err(Failure::processed(ApiError::transient(
                        operation.name,
                        format!(
                            "the answer is not a JSON object ({} bytes, starting `{preview}`)",
                            bytes.len()
                        ),
                    )));
                }
            };
            let data = envelope.remove("data").unwrap_or(Value::Null);
            if let Some(Value::Array(errors)) = envelope.remove("errors")
                && !errors.is_empty()
            {
                let messages = errors
                    .iter()
                    .map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("(no message)")
                            .to_owned()
                    })
                    .collect();
                // Partial data with errors is still a failure for a mirror: never store half.
                return Err(Failure::processed(ApiError::GraphQl {
                    operation: operation.name.into(),
                    messages,
                }));
            }
            if data.is_null() {
                return Err(Failure::processed(ApiError::Decode {
                    operation: operation.name.into(),
                    path: "data".into(),
                    message: "no data and no errors".into(),
                }));
            }
            return Ok(data);
        }
    }

    /// Sends a raw document, for diagnostics (`gazellectl doctor`) and tests.
    pub async fn execute_raw(
        &self,
        name: &'static str,
        document: &'static str,
        variables: Value,
    ) -> Result<Value, ApiError> {
        let op = Operation {
            name,
            document,
            idempotent: true,
        };
        self.execute(op, variables).await
    }
}

/// An attempt's error, and whether the server may have acted on the request.
struct Failure {
    error: ApiError,
    maybe_processed: bool,
}

impl Failure {
    fn not_sent(error: ApiError) -> Failure {
        Failure {
            error,
            maybe_processed: false,
        }
    }
    fn processed(error: ApiError) -> Failure {
        Failure {
            error,
            maybe_processed: true,
        }
    }
}

/// Decodes `value` into `T`; a mismatch names the path inside the answer.
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &str,
    prefix: &str,
    value: Value,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| ApiError::Decode {
        operation: operation.into(),
        path: if e.path().to_string() == "." {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", e.path())
        },
        message: e.inner().to_string(),
    })
}

/// At most `rate` requests per second, spaced evenly.
struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimiter {
    fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + self.interval;
    }
}
