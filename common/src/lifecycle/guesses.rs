//! The guess budget of a destination: wrong guesses per tenant and destination per hour, across
//! all its codes.
//!
//! Each code locks after its own `max_attempts` wrong guesses, but an attacker who asks for a
//! new code whenever the last one locks gets `max_attempts` more each time: five guesses times
//! five codes an hour. The budget caps the total. When a wrong guess spends it, every code sent
//! to the destination in this hour or the last (a code lives at most an hour) is locked, and
//! sends to it are refused until the hour ends, so no later guess is evaluated.
//!
//! Exact for guesses made one after another; a burst in parallel is bounded differently. A
//! guess is evaluated and counted on its own record in one atomic update (each code's
//! `max_attempts` is a hard cap whatever the timing), and only then counted against the
//! destination, so simultaneous guesses can all be evaluated before the lock lands. A destination
//! has one live code at a time ([`super::live`]), so such a burst gets at most that code's own
//! attempts. Making it exact would mean counting on the destination before evaluating, which a
//! verify by id cannot address without a read first: a second call on every verify, the right
//! ones included.
//!
//! Where it is kept: on the destination's hourly send counter (`rate#dest#<hmac>#h<hour>` in
//! DynamoDB), which every send already writes in its transaction and which records the ids of the
//! codes sent in that hour. A right guess costs nothing extra (still one `UpdateItem`); a wrong
//! one costs a second `UpdateItem` (the count); the guess that spends the budget a few more (the
//! locks), once per destination and hour.

use super::limits::{LimitScope, RateLimited, SendGuards};

/// One tenant's budget, resolved for one verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessBudget {
    pub max_wrong_per_hour: u32,
}

/// Whether `wrong_this_hour` wrong guesses (this one included) spend the budget: then no
/// further guess at this destination's codes may be evaluated in this hour.
pub fn guesses_spent(wrong_this_hour: u32, budget: GuessBudget) -> bool {
    wrong_this_hour >= budget.max_wrong_per_hour
}

/// The hour a guess at `now` counts in (the same buckets as the send counters).
pub fn guess_hour(now: i64) -> i64 {
    now.div_euclid(3600)
}

/// A send to a destination whose guess budget is spent: refused until the hour ends, since its
/// code could not be verified anyway.
pub fn guesses_refusal(guards: &SendGuards) -> RateLimited {
    guards.hourly(LimitScope::DestinationGuesses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_spent_by_its_last_wrong_guess() {
        let budget = GuessBudget {
            max_wrong_per_hour: 10,
        };
        assert!(!guesses_spent(9, budget));
        assert!(guesses_spent(10, budget));
        assert!(guesses_spent(11, budget));
        assert_eq!(guess_hour(7199), 1);
        assert_eq!(guess_hour(7200), 2);
    }
}
