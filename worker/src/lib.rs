//! The otp-relay delivery worker: one library, two entry points (an SQS-triggered Lambda and a
//! long-polling loop), both handing each message to [`deliver::Deliverer`] and settling the
//! outcome through [`settle`].

pub mod backoff;
pub mod deliver;
pub mod lambda;
pub mod message;
pub mod metrics;
/// The pacer lives in `common` (the replayer's `--rate` uses it too).
pub use common::pacer;
pub mod poller;
pub mod serve;
pub mod settle;
#[cfg(test)]
mod test_support;
