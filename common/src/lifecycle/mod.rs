//! Every rule about an OTP record or a delivery job, and nothing else: no SDK, no I/O, no clock.
//!
//! The DynamoDB adapter cannot call these functions: it expresses the same rules as condition
//! expressions, each with a doc comment naming the function here it mirrors. Everything else
//! (the in-memory fake, the API, the worker, the replayer) calls them, so a fake cannot drift
//! from the rule and a newcomer finds each rule in one file:
//!
//! | Rule | File |
//! |---|---|
//! | a record's status (pending, verified, locked, expired); what a guess does | [`status`] |
//! | whether a job may be claimed, delivered or replayed, and why not ([`SkipReason`]) | [`delivery`] |
//! | which send rate limits a send would exceed; why a resend is refused | [`limits`] |
//! | how long to wait before retrying a job, from its receive count | [`backoff`] |
//! | which phone numbers a tenant may text (country, kind of line) | [`destination`] |
//! | how many wrong guesses a destination may take in an hour, across its codes | [`guesses`] |
//! | one live code per destination: when a send may take it, and what it does if not | [`live`] |
//! | what a cancel writes and answers | [`cancel`] |

pub mod backoff;
pub mod cancel;
pub mod delivery;
pub mod destination;
pub mod guesses;
pub mod limits;
pub mod live;
pub mod status;

pub use cancel::{CancelOutcome, cancel_outcome, cancel_stamp};
pub use delivery::{
    Claim, DeliveryResult, LeaseHolder, SkipReason, claim_allowed, claim_refusal, delivery_state,
    replay_precheck, replay_skip, skip_reason,
};
pub use destination::{NotAllowedReason, listable_country, sms_refusal, textable_kind};
pub use guesses::{GuessBudget, guess_hour, guesses_refusal, guesses_spent};
pub use limits::{
    LimitScope, RateLimited, ResendRefusal, SeenCounts, SendGuards, TenantBudget, resend_refusal,
    sends_exhausted,
};
pub use live::{Held, LivePointer, held_by, live_key, pointer_free};
pub use status::{OtpStatus, VerifyOutcome, guess_is_counted, verify_outcome, visible_to};
