// SPDX-License-Identifier: GPL-2.0-only

//! The arbiter's benchmark: figures printed with `pr_info!`, nothing timed asserted.
//!
//! The suite `mana_rs_shared_vport_bench` is run on its own by `scripts/bench-vport.sh`
//! (`MANA_RS_KUNIT_FILTER=mana_rs_shared_vport_bench`); it is not in the list of suites `make
//! test` requires. Every figure line starts with `mana_rs_shared_vport_bench:`.

use kernel::prelude::*;

#[kunit_tests(mana_rs_shared_vport_bench)]
mod bench {
    use kernel::{
        new_mutex,
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
            Mutex, //
        },
        time::{
            Instant,
            Monotonic, //
        }, //
    };

    use super::super::{
        testing::run_workers,
        QpKind,
        RefusalLog,
        VportTable,
        VportTx, //
    };

    /// Iterations of each uncontended loop.
    const ROUNDS: u32 = 50_000;

    /// Take+release per thread in the scaling runs.
    const PER_THREAD: u32 = 10_000;

    /// What the leases program (the table's device does nothing).
    const TX: VportTx = VportTx { pd: 1, doorbell: 1 };

    /// Nanoseconds per iteration of `f` over [`ROUNDS`] iterations (best of three runs, to
    /// keep the noise of an emulated machine out).
    fn per_op(mut f: impl FnMut() -> Result) -> Result<i64> {
        let mut best = i64::MAX;
        for _ in 0..3 {
            let start = Instant::<Monotonic>::now();
            for _ in 0..ROUNDS {
                f()?;
            }
            best = best.min(start.elapsed().as_nanos());
        }
        Ok(best / i64::from(ROUNDS))
    }

    /// A ratio `num / den` as a fixed-point string's integer and hundredths.
    fn ratio(num: i64, den: i64) -> (i64, i64) {
        let hundredths = num.saturating_mul(100) / den.max(1);
        (hundredths / 100, hundredths % 100)
    }

    /// Uncontended take+release against a bare kernel mutex lock+unlock, in the same run.
    #[test]
    fn uncontended_take_release_vs_mutex() -> Result {
        let table = VportTable::new(u32::MAX, 1)?;
        let mutex = KBox::pin_init(new_mutex!(0u64), GFP_KERNEL)?;
        let mutex: &Mutex<u64> = &mutex;
        let bare = per_op(|| {
            *mutex.lock() += 1;
            Ok(())
        })?;
        let eth = per_op(|| {
            drop(table.take_ethernet(0, c"eth0", TX)?);
            Ok(())
        })?;
        let rdma = per_op(|| {
            drop(table.take_rdma(0, QpKind::Raw, TX)?);
            Ok(())
        })?;
        let shared = {
            let _first = table.take_rdma(0, QpKind::Raw, TX)?;
            per_op(|| {
                drop(table.take_rdma(0, QpKind::Raw, TX)?);
                Ok(())
            })?
        };
        let (ei, ef) = ratio(eth, bare);
        let (ri, rf) = ratio(rdma, bare);
        let (si, sf) = ratio(shared, bare);
        // Taking programs the device and releasing quiesces it, each serialised with the other
        // side under the vport lock: two lock sections are the floor, so also give the ratio to
        // two bare lock+unlock pairs.
        let (e2i, e2f) = ratio(eth, 2 * bare);
        let (r2i, r2f) = ratio(rdma, 2 * bare);
        pr_info!(
            "mana_rs_shared_vport_bench: uncontended: mutex lock+unlock {} ns; ethernet take+release {} ns ({}.{:02}x); rdma take+release {} ns ({}.{:02}x); rdma share of a held lease {} ns ({}.{:02}x)\n",
            bare,
            eth,
            ei,
            ef,
            rdma,
            ri,
            rf,
            shared,
            si,
            sf
        );
        pr_info!(
            "mana_rs_shared_vport_bench: uncontended per lock section: ethernet take+release {}.{:02}x, rdma take+release {}.{:02}x of two mutex lock+unlock\n",
            e2i,
            e2f,
            r2i,
            r2f
        );
        Ok(())
    }

    /// What the scaling threads share.
    struct Scale {
        table: VportTable,
        /// Whether every thread uses vport 0 (else thread `i` uses vport `i`).
        one_vport: bool,
        done: Atomic<u64>,
        failed: Atomic<u64>,
    }

    /// One scaling thread: take+release in a loop, RDMA leases of one PD per vport (all
    /// threads share PD 1 on the shared vport, so that every take succeeds and only the lock is
    /// contended; apart, thread `i` uses PD `i + 1` on vport `i`).
    fn scaler(s: &Scale, thread: u32) {
        let (index, pd) = if s.one_vport {
            (0, 1)
        } else {
            (thread, thread + 1)
        };
        let tx = VportTx { pd, doorbell: 1 };
        for _ in 0..PER_THREAD {
            if s.table.take_rdma(index, QpKind::Raw, tx).is_ok() {
                s.done.add(1, Relaxed);
            } else {
                s.failed.add(1, Relaxed);
            }
        }
    }

    /// Runs `threads` scaling threads; returns take+release per second.
    fn scale(threads: u32, one_vport: bool) -> Result<i64> {
        let s = Arc::new(
            Scale {
                table: VportTable::with_hw(
                    u32::MAX,
                    threads,
                    Arc::new(super::super::NoHw, GFP_KERNEL)?,
                    RefusalLog::Count,
                )?,
                one_vport,
                done: Atomic::new(0),
                failed: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let ns = run_workers(&s, threads, scaler)?;
        // Not a timed assertion: every take must succeed for the figure to mean anything.
        assert_eq!(s.failed.load(Relaxed), 0);
        // CAST: the counts are far below `i64::MAX`.
        let ops = s.done.load(Relaxed) as i64;
        Ok(ops.saturating_mul(1_000_000_000) / ns.max(1))
    }

    /// N vports on N threads (no lock shared between vports) against N threads on one vport.
    #[test]
    fn n_vports_on_n_threads() -> Result {
        let base = scale(1, false)?;
        for n in [1u32, 2, 4] {
            let apart = scale(n, false)?;
            let together = scale(n, true)?;
            let (ai, af) = ratio(apart, base);
            let (ti, tf) = ratio(together, base);
            pr_info!(
                "mana_rs_shared_vport_bench: scaling: {} threads: {} vports {} take+release/s ({}.{:02}x of 1 thread); 1 vport {} take+release/s ({}.{:02}x)\n",
                n,
                n,
                apart,
                ai,
                af,
                together,
                ti,
                tf
            );
        }
        Ok(())
    }
}
