//! The API router over the in-memory store and queue: no AWS and no sockets. The OpenAPI checks
//! and the request fuzzing drive it with `tower::ServiceExt::oneshot`, thousands of requests a
//! second.

use api::OtpService;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::AUTHORIZATION;
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
    /// The server key sent with every request that brings no `Authorization` of its own.
    pub api_key: String,
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
        let secret = ServiceSecret::generate();
        let keys = Arc::new(Keys::derive(&secret));
        let (tenants, api_key) =
            futures::executor::block_on(crate::tenants::Tenants::with_server_key(&secret, "acme"));
        let service = OtpService {
            rules,
            resolver: tenants.resolver,
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
            api_key: api_key.expose().to_owned(),
        }
    }

    /// One request through the router, answer read in full.
    pub async fn call(&self, mut request: Request<Body>) -> Reply {
        if !request.headers().contains_key(AUTHORIZATION) {
            let bearer = format!("Bearer {}", self.api_key);
            if let Ok(value) = bearer.parse() {
                request.headers_mut().insert(AUTHORIZATION, value);
            }
        }
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
