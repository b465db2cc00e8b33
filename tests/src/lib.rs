//! Test support shared by the integration tests in `tests/api/`.

pub mod fault_proxy;
