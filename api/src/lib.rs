//! The otp-relay HTTP API: one axum `Router` over [`service::OtpService`].

pub mod app;
pub mod auth;
pub mod cors;
pub mod error;
pub mod extract;
pub mod routes;
pub mod serve;
pub mod service;

pub use app::router;
pub use service::OtpService;
