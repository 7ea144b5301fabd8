// SPDX-License-Identifier: GPL-2.0

//! Rate limits for log lines that another party can trigger (user space with refused requests,
//! a device with malformed completions), so that it cannot flood the kernel log: at most a
//! burst of lines per interval, as `printk_ratelimited()`, then a count of those left out.
//!
//! The state is Rust atomics rather than C's `struct ratelimit_state`, whose spinlock would need
//! initialising: a [`Ratelimit`] is a plain `static`, usable from any context.

/// A rate limit for a log line that user space can trigger (a refused request), so that a
/// process cannot flood the kernel log: as `printk_ratelimited()`, at most
/// [`Ratelimit::BURST`] lines (or the burst it was made with) per [`Ratelimit::INTERVAL_MS`],
/// then a count of those left out.
///
/// Usually a `static` per call site, made by [`pr_err_ratelimited!`](crate::pr_err_ratelimited)
/// or a subsystem's macro (e.g. `ibdev_err_ratelimited!`).
pub struct Ratelimit {
    /// The start of the current interval, in nanoseconds of the monotonic clock; 0 before the
    /// first line.
    pub(crate) start: core::sync::atomic::AtomicI64,
    /// Lines allowed in the current interval.
    printed: core::sync::atomic::AtomicU32,
    /// Lines left out since the last one printed.
    missed: core::sync::atomic::AtomicU32,
    /// Lines allowed per interval.
    burst: u32,
}

impl Ratelimit {
    /// The length of an interval (`DEFAULT_RATELIMIT_INTERVAL`).
    pub const INTERVAL_MS: i64 = 5000;
    /// The lines allowed per interval (`DEFAULT_RATELIMIT_BURST`).
    pub const BURST: u32 = 10;

    /// Creates a rate limit that has allowed nothing yet.
    pub const fn new() -> Self {
        Self::new_burst(Self::BURST)
    }

    /// Creates a rate limit of `burst` lines per interval.
    pub const fn new_burst(burst: u32) -> Self {
        Self {
            start: core::sync::atomic::AtomicI64::new(0),
            printed: core::sync::atomic::AtomicU32::new(0),
            missed: core::sync::atomic::AtomicU32::new(0),
            burst,
        }
    }

    /// Returns whether a line may be printed now, with the number of lines left out since the
    /// last one that was (`Some(n)`), or `None` (the caller prints nothing).
    pub fn check(&self) -> Option<u32> {
        use core::sync::atomic::Ordering::Relaxed;
        let now = crate::time::Instant::<crate::time::Monotonic>::now().as_nanos();
        let start = self.start.load(Relaxed);
        if start == 0 || now.saturating_sub(start) >= Self::INTERVAL_MS * 1_000_000 {
            // A new interval; of two racing threads one wins, the other counts in it.
            if self
                .start
                .compare_exchange(start, now.max(1), Relaxed, Relaxed)
                .is_ok()
            {
                self.printed.store(0, Relaxed);
            }
        }
        if self.printed.fetch_add(1, Relaxed) < self.burst {
            Some(self.missed.swap(0, Relaxed))
        } else {
            self.missed.fetch_add(1, Relaxed);
            None
        }
    }
}

impl Ratelimit {
    /// Checks this call site's limit, then the shared `budget`: `Some(n)` (print, with `n`
    /// lines of this site left out since its last one) only if both allow a line. A line the
    /// budget refuses is counted as left out at this site.
    pub fn check_within(&self, budget: &Ratelimit) -> Option<u32> {
        use core::sync::atomic::Ordering::Relaxed;
        let missed = self.check()?;
        if budget.check().is_some() {
            Some(missed)
        } else {
            self.missed.fetch_add(missed + 1, Relaxed);
            None
        }
    }
}

impl Default for Ratelimit {
    fn default() -> Self {
        Self::new()
    }
}

/// Logs an error (`pr_err!`), rate-limited per call site ([`Ratelimit`]); lines left out are
/// counted in the next line of the same call site that is printed.
#[macro_export]
macro_rules! pr_err_ratelimited {
    ($($arg:tt)+) => {{
        static RATELIMIT: $crate::ratelimit::Ratelimit = $crate::ratelimit::Ratelimit::new();
        if let Some(missed) = RATELIMIT.check() {
            if missed > 0 {
                $crate::pr_warn!("{} similar messages suppressed\n", missed);
            }
            $crate::pr_err!($($arg)+);
        }
    }};
}

/// Logs a warning (`pr_warn!`), rate-limited per call site; see [`pr_err_ratelimited!`].
#[macro_export]
macro_rules! pr_warn_ratelimited {
    ($($arg:tt)+) => {{
        static RATELIMIT: $crate::ratelimit::Ratelimit = $crate::ratelimit::Ratelimit::new();
        if let Some(missed) = RATELIMIT.check() {
            if missed > 0 {
                $crate::pr_warn!("{} similar messages suppressed\n", missed);
            }
            $crate::pr_warn!($($arg)+);
        }
    }};
}
