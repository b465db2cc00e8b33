//! `POST /v1/otp/{id}/cancel`: the rule is [`common::lifecycle::cancel`].

use super::OtpService;
use crate::error::ApiError;
use common::domain::OtpId;
use common::lifecycle::CancelOutcome;
use common::tenant::Caller;
use serde::Serialize;

/// The 200 answer to a cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Canceled {
    pub otp_id: OtpId,
    pub status: &'static str,
}

impl OtpService {
    /// One conditional update: another tenant's OTP is not found and not touched; a verified
    /// one stays verified (409).
    pub async fn cancel(&self, caller: &Caller, id: OtpId) -> Result<Canceled, ApiError> {
        let now = self.clock.now();
        match self
            .store
            .cancel(caller.tenant.id.as_str(), id, now)
            .await?
        {
            CancelOutcome::Canceled => {
                tracing::info!(otp_id = %id, "otp canceled");
                Ok(Canceled {
                    otp_id: id,
                    status: "canceled",
                })
            }
            CancelOutcome::AlreadyVerified => Err(ApiError::AlreadyVerified),
            CancelOutcome::NotFound => Err(ApiError::NotFound),
        }
    }
}
