//! One module per noun; each command reads its flags into `common::tenant` types, makes one
//! store call (or a read and a conditional write) and returns its summary.

pub mod key;
pub mod tenant;

use crate::error::Error;
use common::tenant::TenantId;

fn tenant_id(raw: &str) -> Result<TenantId, Error> {
    TenantId::parse(raw).map_err(|e| Error::invalid("TENANT", e))
}
