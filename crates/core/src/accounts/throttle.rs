//! Slows down password guessing: after a few failures within a window, further
//! attempts for the same account from the same client address, or from that address
//! at all, are refused until the window ends; other addresses are not held up. Kept in memory per node (a restart or another node starts afresh;
//! the Argon2 cost still bounds guessing there).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per account and client address within [`WINDOW`].
pub const PER_ACCOUNT: u32 = 5;
/// Failures allowed per client address within [`WINDOW`].
pub const PER_CLIENT: u32 = 20;
/// The window that failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
struct Count {
    failures: u32,
    since: Instant,
}

/// Failure counters by key (`account:<digest>:<address>` or `client:<address>`). Prints only how
/// many keys it holds: client addresses are personal data.
#[derive(Default)]
pub struct Throttle {
    counts: Mutex<HashMap<String, Count>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.counts.lock().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("Throttle").field("keys", &keys).finish()
    }
}

impl Throttle {
    /// How long `key` must wait, if it has used up `limit` failures.
    pub fn wait(&self, key: &str, limit: u32) -> Option<Duration> {
        let counts = self.counts.lock().ok()?;
        let count = counts.get(key)?;
        let elapsed = count.since.elapsed();
        (count.failures >= limit && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Counts a failure for `key`.
    pub fn fail(&self, key: &str) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        if counts.len() > 100_000 {
            counts.retain(|_, c| c.since.elapsed() < WINDOW);
        }
        let count = counts.entry(key.to_owned()).or_insert(Count {
            failures: 0,
            since: Instant::now(),
        });
        if count.since.elapsed() >= WINDOW {
            *count = Count {
                failures: 0,
                since: Instant::now(),
            };
        }
        count.failures += 1;
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(key);
        }
    }
}
