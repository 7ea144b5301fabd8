// SPDX-License-Identifier: GPL-2.0-only

//! Races: kernel threads taking and releasing leases concurrently, with lockdep watching.

use kernel::prelude::*;

#[kunit_tests(mana_rs_shared_vport_race)]
mod tests {
    use kernel::{
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Full,
                Relaxed, //
            },
            Arc, //
        },
        time::{
            Instant,
            Monotonic, //
        }, //
    };

    use super::super::{
        testing::{
            owner_is,
            run_workers,
            FakeHw,
            Workers, //
        },
        Owner,
        QpKind,
        RefusalLog,
        VportTable,
        VportTx, //
    };

    /// The owners racing for one vport: the netdev, PD 1 (on two threads, sharing its lease),
    /// PD 2 (RAW QPs) and PD 3 (an RSS QP).
    const IDENTITIES: usize = 4;

    /// The racing threads and the identity each one takes the vport for.
    const THREAD_IDENTITY: [usize; 5] = [0, 1, 1, 2, 3];

    /// Take attempts per thread: 5 x 24000 = 120000 operations in all.
    const ATTEMPTS: u32 = 24_000;

    /// What the threads of [`race_never_two_owners`] share.
    struct Race {
        table: VportTable,
        /// Per identity, the threads between their take and their release.
        inside: [Atomic<u32>; IDENTITIES],
        /// Times a thread holding a lease saw another identity holding one too, or saw an owner
        /// other than itself.
        violations: Atomic<u64>,
        /// Take attempts, grants and refusals with `EBUSY`.
        attempts: Atomic<u64>,
        grants: [Atomic<u64>; IDENTITIES],
        busy: Atomic<u64>,
        /// Any other result.
        errors: Atomic<u64>,
    }

    /// What identity `id` programs.
    fn tx_of(id: usize) -> VportTx {
        // CAST: identities are below `IDENTITIES`.
        VportTx {
            pd: id as u32,
            doorbell: 40,
        }
    }

    /// Returns whether `owner` is identity `id`.
    fn is_identity(owner: &Owner, id: usize) -> bool {
        match owner {
            Owner::Ethernet { .. } => id == 0,
            Owner::Rdma { pd, .. } => id != 0 && *pd as usize == id,
            Owner::Free => false,
        }
    }

    /// One racing thread: takes the vport for its identity, checks that it is the only owner,
    /// releases, again and again.
    fn racer(race: &Race, thread: u32) {
        let id = THREAD_IDENTITY[thread as usize % THREAD_IDENTITY.len()];
        for _ in 0..ATTEMPTS {
            let lease = match id {
                0 => race
                    .table
                    .take_ethernet(0, c"eth0", tx_of(0))
                    .map(|l| (Some(l), None)),
                3 => race
                    .table
                    .take_rdma(0, QpKind::Rss, tx_of(3))
                    .map(|l| (None, Some(l))),
                _ => race
                    .table
                    .take_rdma(0, QpKind::Raw, tx_of(id))
                    .map(|l| (None, Some(l))),
            };
            race.attempts.add(1, Relaxed);
            let held = match lease {
                Ok(held) => held,
                Err(e) if e == EBUSY => {
                    race.busy.add(1, Relaxed);
                    continue;
                }
                Err(_) => {
                    race.errors.add(1, Relaxed);
                    continue;
                }
            };
            // Entered after taking, left before releasing: two identities inside at once means
            // two owners at once. The fully ordered increment makes of two racing entries at
            // least one see the other.
            race.inside[id].fetch_add(1, Full);
            for (other, inside) in race.inside.iter().enumerate() {
                if other != id && inside.load(Relaxed) > 0 {
                    race.violations.add(1, Relaxed);
                }
            }
            if !race
                .table
                .get(0)
                .is_ok_and(|v| v.with_owner(|o| is_identity(o, id)))
            {
                race.violations.add(1, Relaxed);
            }
            race.grants[id].add(1, Relaxed);
            race.inside[id].fetch_sub(1, Full);
            drop(held);
        }
    }

    /// Five kernel threads race take/release on one vport for 120000 operations; no two owners
    /// ever hold it at once, every grant is programmed and quiesced once, and lockdep (on in the
    /// test kernel) sees every lock of the arbiter on both paths.
    #[test]
    fn race_never_two_owners() -> Result {
        let (table, hw) = FakeHw::table(1, RefusalLog::Count)?;
        let race = Arc::new(
            Race {
                table,
                inside: [const { Atomic::new(0) }; IDENTITIES],
                violations: Atomic::new(0),
                attempts: Atomic::new(0),
                grants: [const { Atomic::new(0) }; IDENTITIES],
                busy: Atomic::new(0),
                errors: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        // CAST: a handful of threads.
        let elapsed = run_workers(&race, THREAD_IDENTITY.len() as u32, racer)?;
        let attempts = race.attempts.load(Relaxed);
        let grants: u64 = race.grants.iter().map(|g| g.load(Relaxed)).sum();
        pr_info!(
            "mana_rs_shared_vport_race: {} threads, {} operations in {} ms: {} grants (eth {}, pd1 {}, pd2 {}, pd3 {}), {} EBUSY, {} violations\n",
            THREAD_IDENTITY.len(),
            attempts,
            elapsed / 1_000_000,
            grants,
            race.grants[0].load(Relaxed),
            race.grants[1].load(Relaxed),
            race.grants[2].load(Relaxed),
            race.grants[3].load(Relaxed),
            race.busy.load(Relaxed),
            race.violations.load(Relaxed)
        );
        assert_eq!(race.violations.load(Relaxed), 0);
        assert_eq!(race.errors.load(Relaxed), 0);
        assert!(attempts >= 100_000);
        assert_eq!(grants + race.busy.load(Relaxed), attempts);
        // The threads really met: the vport changed hands between identities, or takes were
        // refused while another identity held it. (Under TCG one thread can win every round
        // while the others only see EBUSY, so two winners alone is not a sound check.)
        let winners = race.grants.iter().filter(|g| g.load(Relaxed) > 0).count();
        assert!(winners >= 2 || race.busy.load(Relaxed) > 0);
        let vport = race.table.get(0)?;
        assert_eq!(vport.refusals(), race.busy.load(Relaxed));
        assert!(owner_is(&race.table, 0, "free"));
        // Every time the vport went from free to owned it was programmed, and quiesced when it
        // went back.
        assert!(hw.tx_calls() > 0);
        assert_eq!(hw.tx_calls(), hw.rx_calls());
        Ok(())
    }

    /// What the threads of [`mtu_change_while_rdma_requests_loop`] share.
    struct Window {
        table: VportTable,
        stop: Atomic<u32>,
        attempts: Atomic<u64>,
        granted: Atomic<u64>,
    }

    /// An RDMA client looping QP creations (RAW for thread 0, RSS for thread 1) until stopped.
    fn rdma_looper(w: &Window, thread: u32) {
        let (kind, pd) = if thread == 0 {
            (QpKind::Raw, 1)
        } else {
            (QpKind::Rss, 2)
        };
        while w.stop.load(Relaxed) == 0 {
            w.attempts.add(1, Relaxed);
            if w.table
                .take_rdma(0, kind, VportTx { pd, doorbell: 9 })
                .is_ok()
            {
                w.granted.add(1, Relaxed);
            }
        }
    }

    /// (c) An MTU change on an up interface while RDMA requests loop: every request gets
    /// `EBUSY` and the interface ends up (owner of its vport).
    #[test]
    fn mtu_change_while_rdma_requests_loop() -> Result {
        let (table, hw) = FakeHw::table(1, RefusalLog::Count)?;
        let w = Arc::new(
            Window {
                table,
                stop: Atomic::new(0),
                attempts: Atomic::new(0),
                granted: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let mut eth = w
            .table
            .take_ethernet(0, c"eth0", VportTx { pd: 0, doorbell: 1 })?;

        // The loopers run on their own threads while this one changes the MTU.
        let loopers = Workers::spawn(&w, 2, rdma_looper)?;
        let start = Instant::<Monotonic>::now();
        let mut reconfigs = 0u32;
        let mut changes = || -> Result {
            while (w.attempts.load(Relaxed) < 2000 || reconfigs < 100)
                && start.elapsed().as_millis() < 20_000
            {
                eth.reconfigure(|r| {
                    // Detach: RX off, old queues destroyed; attach: new queues, TX programmed.
                    r.quiesce_rx()?;
                    r.reprogram_tx()
                })?;
                reconfigs += 1;
            }
            Ok(())
        };
        let changed = changes();
        w.stop.store(1, Relaxed);
        loopers.wait()?;
        changed?;
        pr_info!(
            "mana_rs_shared_vport_race: {} MTU changes while {} RDMA requests looped: {} granted\n",
            reconfigs,
            w.attempts.load(Relaxed),
            w.granted.load(Relaxed)
        );
        assert_eq!(w.granted.load(Relaxed), 0);
        assert!(w.attempts.load(Relaxed) > 0);
        assert!(owner_is(&w.table, 0, "ethernet eth0"));
        assert_eq!(hw.tx_calls(), u64::from(reconfigs) + 1);
        drop(eth);
        assert!(owner_is(&w.table, 0, "free"));
        Ok(())
    }
}
