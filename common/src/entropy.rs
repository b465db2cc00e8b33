//! Random bytes for the request path: the OS CSPRNG's output, fetched a block at a time.
//!
//! A send needs three random values (the OTP id, the code, the seal's nonce) and a verify one
//! (its request token). One `getrandom` system call each cost more CPU than any other step of a
//! send (the kernel's ChaCha state set-up, measured with `perf`: about a tenth of the service's
//! own time). Linux 6.11 answers `getrandom` in the vDSO for the same reason, but only with
//! glibc 2.41 or later, and Lambda's runtime has an older one. So each thread keeps a small
//! block of bytes from the OS generator and hands them out once each: every byte still comes
//! from the OS CSPRNG, none is used twice, and a byte is wiped from the block as it is handed
//! out, so a later memory disclosure cannot reveal values already drawn.
//!
//! Long-lived secrets (API keys, the service secret) do not use this; they call the OS directly.

use std::cell::RefCell;

/// Bytes fetched per system call: enough for about seven sends.
const BLOCK: usize = 256;

struct Pool {
    bytes: [u8; BLOCK],
    /// Bytes before this index have been handed out (and wiped).
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; BLOCK], next: BLOCK }) };
}

/// Fills `dest` with bytes from the OS CSPRNG.
pub fn fill(dest: &mut [u8]) {
    if dest.len() > BLOCK {
        os_fill(dest);
        return;
    }
    POOL.with_borrow_mut(|pool| {
        if BLOCK - pool.next < dest.len() {
            os_fill(&mut pool.bytes);
            pool.next = 0;
        }
        let taken = &mut pool.bytes[pool.next..pool.next + dest.len()];
        dest.copy_from_slice(taken);
        taken.fill(0);
        pool.next += dest.len();
    });
}

/// A `u64` from the OS CSPRNG (through [`fill`]).
pub fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// A random (version 4) UUID from the OS CSPRNG (through [`fill`]).
pub fn uuid_v4() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn os_fill(dest: &mut [u8]) {
    // The OS generator failing means the machine cannot make secrets at all; there is no
    // sensible fallback, and continuing with a weak value would be worse than stopping.
    #[allow(clippy::expect_used)]
    getrandom::fill(dest).expect("the OS random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_value_is_handed_out_twice_across_refills() {
        // 10,000 draws cross the block boundary many times, with odd sizes that straddle it.
        let mut seen = HashSet::new();
        for i in 0..10_000 {
            let mut bytes = [0u8; 13];
            fill(&mut bytes);
            assert!(seen.insert(bytes), "draw {i} repeated an earlier one");
        }
    }

    #[test]
    fn handed_out_bytes_are_wiped_from_the_pool() {
        let mut bytes = [0u8; 32];
        fill(&mut bytes);
        POOL.with_borrow(|pool| {
            assert!(pool.next >= 32);
            assert!(pool.bytes[..pool.next].iter().all(|b| *b == 0));
        });
    }

    #[test]
    fn large_requests_go_straight_to_the_os_and_are_filled() {
        let mut big = [0u8; BLOCK + 1];
        fill(&mut big);
        assert!(big.iter().any(|b| *b != 0));
    }

    #[test]
    fn uuids_are_version_4() {
        assert_eq!(uuid_v4().get_version_num(), 4);
        assert_ne!(uuid_v4(), uuid_v4());
    }
}
