// SPDX-License-Identifier: GPL-2.0

//! 64-bit statistics counters with one writer, read consistently from anywhere
//! (`struct u64_stats_sync`, `u64_stats_t`).
//!
//! C header: [`include/linux/u64_stats_sync.h`](srctree/include/linux/u64_stats_sync.h).
//!
//! On 64-bit machines a counter is a `local64_t` and the sync object is empty: an update is an
//! add without a lock prefix and a read a plain load, so a data path pays no atomic
//! read-modify-write and no shared lock for its counters. On 32-bit machines a sequence count
//! around the updates makes readers retry a read that raced one.
//!
//! Both need a single writer. [`U64Stats::new`] returns the block, shared with the readers, and
//! its only [`StatsWriter`], which updates through `&mut self`: the writer keeps it where it
//! alone runs, such as the state of a NAPI poll ([`Poll::State`](crate::netdev::napi::Poll)),
//! which the core never runs twice at once.

use crate::{
    bindings,
    prelude::*,
    sync::Arc,
    types::Opaque, //
};

/// `N` 64-bit counters and the sync object of their single writer.
///
/// # Invariants
///
/// `sync` was initialised (`u64_stats_init`); `values` are updated only through the one
/// [`StatsWriter`] of the block, inside `u64_stats_update_begin`/`_end` on `sync`.
#[pin_data]
pub struct U64Stats<const N: usize> {
    #[pin]
    sync: Opaque<bindings::u64_stats_sync>,
    values: [Opaque<bindings::u64_stats_t>; N],
}

// SAFETY: The counters are read from any thread through the reader protocol of
// `u64_stats_sync`; they are written only through the `StatsWriter`, of which there is one.
unsafe impl<const N: usize> Send for U64Stats<N> {}

// SAFETY: As above.
unsafe impl<const N: usize> Sync for U64Stats<N> {}

impl<const N: usize> U64Stats<N> {
    /// Allocates `N` zeroed counters; returns them for the readers and their only writer.
    pub fn new(flags: crate::alloc::Flags) -> Result<(Arc<Self>, StatsWriter<N>)> {
        let init = pin_init!(Self {
            // SAFETY: `u64_stats_init` initialises the (possibly empty) sync object in place.
            sync <- Opaque::ffi_init(|p| unsafe { bindings::u64_stats_init(p) }),
            // SAFETY: A zeroed `u64_stats_t` is the counter 0 (`u64_stats_set(p, 0)`).
            values: core::array::from_fn(|_| Opaque::new(unsafe { core::mem::zeroed() })),
        });
        let stats = Arc::pin_init(init, flags)?;
        // INVARIANT: The only writer of the new block.
        let writer = StatsWriter {
            stats: stats.clone(),
        };
        Ok((stats, writer))
    }

    /// Returns a consistent snapshot of the counters (on 32-bit machines, retried until no
    /// update ran during the read).
    pub fn read(&self) -> [u64; N] {
        loop {
            // SAFETY: `sync` was initialised (type invariant).
            let start = unsafe { bindings::u64_stats_fetch_begin(self.sync.get()) };
            // SAFETY: Each counter is valid; the read pairs with the fetch protocol above.
            let out =
                core::array::from_fn(|i| unsafe { bindings::u64_stats_read(self.values[i].get()) });
            // SAFETY: As above, with the `start` it returned.
            if !unsafe { bindings::u64_stats_fetch_retry(self.sync.get(), start) } {
                return out;
            }
        }
    }

    /// Returns counter `index` (0 for an index out of range).
    pub fn get(&self, index: usize) -> u64 {
        self.read().get(index).copied().unwrap_or(0)
    }
}

/// The only writer of a [`U64Stats`] block.
///
/// # Invariants
///
/// One per block: created only by [`U64Stats::new`], neither `Clone` nor `Copy`.
pub struct StatsWriter<const N: usize> {
    stats: Arc<U64Stats<N>>,
}

impl<const N: usize> StatsWriter<N> {
    /// Starts an update (`u64_stats_update_begin`): every add in it is seen by a reader either
    /// all or not at all (on 32-bit machines; each counter on its own on 64-bit ones). It ends
    /// when the result is dropped.
    ///
    /// Readers that can interrupt the writer on its CPU (a hard-IRQ reader of a counter a task
    /// writes) would spin on 32-bit machines: update from the context readers cannot interrupt
    /// (a NAPI poll, a transmit path with bottom halves disabled), as C drivers do.
    pub fn update(&mut self) -> StatsUpdate<'_, N> {
        // SAFETY: `sync` was initialised; this is the only writer (type invariant), borrowed
        // exclusively, so no other update runs.
        unsafe { bindings::u64_stats_update_begin(self.stats.sync.get()) };
        StatsUpdate { writer: self }
    }

    /// Adds `n` to counter `index`, in an update of its own. Out-of-range indices are ignored.
    pub fn add(&mut self, index: usize, n: u64) {
        self.update().add(index, n);
    }

    /// Returns the block this writer updates.
    pub fn stats(&self) -> &Arc<U64Stats<N>> {
        &self.stats
    }
}

/// An update of a [`U64Stats`] block by its writer; dropping it ends the update
/// (`u64_stats_update_end`).
pub struct StatsUpdate<'a, const N: usize> {
    writer: &'a mut StatsWriter<N>,
}

impl<const N: usize> StatsUpdate<'_, N> {
    /// Adds `n` to counter `index` (`u64_stats_add`; wraps at 2^64 as the C counter does).
    /// Out-of-range indices are ignored.
    pub fn add(&self, index: usize, n: u64) {
        if let Some(v) = self.writer.stats.values.get(index) {
            // `u64_stats_add` takes an `unsigned long`: on 32-bit machines a larger `n` is
            // added in steps.
            let mut left = n;
            while left != 0 {
                let step = usize::try_from(left).unwrap_or(usize::MAX);
                // SAFETY: The counter is valid, and we are in an update by the only writer.
                unsafe { bindings::u64_stats_add(v.get(), step) };
                // CAST: `step` is at most `left`, a `u64`.
                left -= step as u64;
            }
        }
    }
}

impl<const N: usize> Drop for StatsUpdate<'_, N> {
    fn drop(&mut self) {
        // SAFETY: Pairs with the `u64_stats_update_begin` of `StatsWriter::update`.
        unsafe { bindings::u64_stats_update_end(self.writer.stats.sync.get()) };
    }
}

#[macros::kunit_tests(rust_u64_stats)]
mod tests {
    use super::*;

    /// Updates reach the readers; a reader holding the block after the writer is gone still
    /// reads the last values; adds wrap as the C counters do.
    #[test]
    fn one_writer_many_readers() -> Result {
        let (stats, mut writer) = U64Stats::<3>::new(GFP_KERNEL)?;
        assert_eq!(stats.read(), [0, 0, 0]);
        {
            let u = writer.update();
            u.add(0, 1);
            u.add(1, 1500);
            u.add(3, 7);
        }
        writer.add(0, 1);
        assert_eq!(stats.read(), [2, 1500, 0]);
        assert_eq!(stats.get(1), 1500);
        assert_eq!(stats.get(9), 0);
        assert!(Arc::ptr_eq(writer.stats(), &stats));
        writer.add(2, u64::MAX);
        writer.add(2, 2);
        assert_eq!(stats.get(2), 1);
        let reader = stats.clone();
        drop((stats, writer));
        assert_eq!(reader.read(), [2, 1500, 1]);
        Ok(())
    }
}
