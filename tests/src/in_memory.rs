//! The API router over the in-memory store and queue: no AWS and no sockets. The OpenAPI checks
//! and the request fuzzing drive it with `tower::ServiceExt::oneshot`, thousands of requests a
//! second.

use api::OtpService;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use common::clock::ShiftedClock;
use common::config::Rules;
use common::crypto::Keys;
use common::queue::MemoryQueue;
use common::secret::ServiceSecret;
use common::store::MemoryStore;
use std::sync::Arc;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct InMemory {
    pub router: Router,
    pub store: Arc<MemoryStore>,
    pub queue: Arc<MemoryQueue>,
    pub clock: Arc<ShiftedClock>,
    pub keys: Arc<Keys>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl InMemory {
    pub fn new(rules: Rules) -> Self {
        let store = Arc::new(MemoryStore::default());
        let queue = Arc::new(MemoryQueue::default());
        let clock = Arc::new(ShiftedClock::default());
        let keys = Arc::new(Keys::derive(&ServiceSecret::generate()));
        let service = OtpService {
            rules,
            store: store.clone(),
            queue: queue.clone(),
            keys: keys.clone(),
            clock: clock.clone(),
        };
        Self {
            router: api::router(Arc::new(service)),
            store,
            queue,
            clock,
            keys,
        }
    }

    /// One request through the router, answer read in full.
    pub async fn call(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router's error type is Infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("read an in-memory body");
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}
