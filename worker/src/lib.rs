//! The otp-relay delivery worker: one library, two entry points (an SQS-triggered Lambda and a
//! long-polling loop), both handing each message to [`deliver::Deliverer`].

pub mod deliver;
pub mod lambda;
pub mod message;
pub mod poller;
pub mod serve;
