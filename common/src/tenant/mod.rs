//! Callers of the API: tenants (one relying application each, with its own policy) and the API
//! keys that act for them.
//!
//! - [`policy`]: what a tenant may do and its limits, each within [`crate::bounds`].
//! - [`key`]: the keys, their format, and the keyed hash that is all the store ever sees.
//! - [`store`]: the seam, with a DynamoDB adapter ([`DynamoTenantStore`]) and an in-memory fake
//!   ([`MemoryTenantStore`]) that apply the same rules ([`store::rules`]).
//! - [`resolve`]: from a presented key to its tenant, behind a short cache, so a warm API
//!   instance checks a key without an AWS call.

mod dynamo;
mod fields;
pub mod key;
mod memory;
pub mod policy;
pub mod resolve;
pub mod store;

pub use dynamo::DynamoTenantStore;
pub use fields::{Channels, CountryCode, Label, Origin, TenantId};
pub use key::{ApiKey, KeyHash, KeyHasher, KeyId, KeyKind, KeyRecord};
pub use memory::MemoryTenantStore;
pub use policy::{EmailSender, Limit, Limits, PolicyError, TenantPolicy};
pub use resolve::{Caller, KeyCache, KeyResolver, Refusal};
pub use store::{TenantStore, TenantStoreError, Versioned};
