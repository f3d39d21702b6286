//! A rate limit on the public endpoints that write for anyone who asks (sign-up,
//! contact form, account recovery, as JSON and as pages): per client address (behind a
//! trusted proxy, the forwarded client's), [`PER_MINUTE`] in a minute with a burst of as
//! many. Past it: 429 with `Retry-After`, and nothing is done. Sign-in has its own
//! throttle on failures (`core::accounts::throttle`).
//!
//! Loopback clients are not limited: they are the machine itself, or a proxy on it
//! that is not configured as trusted (then every visitor would share one budget).

use crate::api::accounts::ClientAddr;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Writes a client address may make a minute on the limited endpoints.
pub const PER_MINUTE: u32 = 10;

pub(crate) const LIMITED: [&str; 6] = [
    "/api/v1/accounts",
    "/api/v1/contact",
    "/api/v1/recovery",
    "/signup",
    "/contact",
    "/recover",
];

/// Each address's budget; one per router.
#[derive(Clone)]
pub(crate) struct PublicWrites(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl Default for PublicWrites {
    fn default() -> Self {
        let per_minute = NonZeroU32::new(PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        PublicWrites(Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
            per_minute,
        ))))
    }
}

impl std::fmt::Debug for PublicWrites {
    /// Addresses are personal data: only how many are tracked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicWrites")
            .field("addresses", &self.0.len())
            .finish()
    }
}

pub(crate) async fn public_writes(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || !LIMITED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(client) = client.filter(|c| !c.to_canonical().is_loopback()) else {
        return next.run(request).await;
    };
    let limiter = &state.public_writes.0;
    if limiter.len() > 100_000 {
        limiter.retain_recent();
    }
    match limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs().max(1);
            metrics::counter!("datavow_rate_limited_total").increment(1);
            let mut error = crate::ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many requests from your address; try again in {seconds} s"),
            );
            error.retry_after = Some(seconds);
            error.into_response()
        }
    }
}
