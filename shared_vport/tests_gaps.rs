// SPDX-License-Identifier: GPL-2.0-only

//! One test per gap of the C driver's vport sharing (G1-G6 in the project's reference notes on
//! the upstream driver): each fails on the C behaviour and passes on ours.
//!
//! They run at the arbiter level. Where the gap is in the netdev or the IB driver (G2-G6), the
//! test is the arbiter-level analogue of the scenario and says so; the driver-level versions
//! belong with mana_eth and mana_rdma.

use kernel::prelude::*;

#[kunit_tests(mana_rs_shared_vport_gaps)]
mod tests {
    use kernel::{
        new_mutex,
        prelude::*,
        sync::Mutex, //
    };

    use super::super::{
        testing::{
            owner_is,
            refusal_says,
            Event,
            FakeHw, //
        },
        QpKind,
        RefusalLog,
        VportTx, //
    };

    /// What the netdev programs.
    const ETH: VportTx = VportTx { pd: 1, doorbell: 2 };

    /// What a QP of `pd` programs.
    const fn qp(pd: u32) -> VportTx {
        VportTx { pd, doorbell: 3 }
    }

    /// G1, errno not uniform. C: an RSS QP while the netdev owns the port fails with `EINVAL`
    /// (no PD bound by a RAW QP), the raw-QP path returned `ENODEV`, and an RSS QP needs a RAW
    /// QP first. Ours: both kinds get `EBUSY` (as manadv(7) documents) with a line saying what
    /// to do, and an RSS QP takes a free port by itself.
    #[test]
    fn g1_errno_is_ebusy_for_raw_and_rss_alike() -> Result {
        let (t, _hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let eth = t.take_ethernet(0, c"eth0", ETH)?;
        assert_eq!(t.take_rdma(0, QpKind::Rss, qp(7)).err(), Some(EBUSY));
        assert!(refusal_says(
            &t,
            0,
            &["vport 0", "netdev eth0 (up)", "ip link set eth0 down"]
        ));
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(7)).err(), Some(EBUSY));
        assert!(refusal_says(
            &t,
            0,
            &["vport 0", "netdev eth0 (up)", "ip link set eth0 down"]
        ));
        drop(eth);
        let rss = t.take_rdma(1, QpKind::Rss, qp(8))?;
        assert!(owner_is(&t, 1, "rdma pd 8 qps 1"));
        drop(rss);
        Ok(())
    }

    /// G2, reconfiguration windows (arbiter-level analogue of change_mtu / set_ringparam / XDP,
    /// which detach and attach in the C driver without `channel_changing`): in C a RAW QP
    /// created between detach and attach wins the vport and the attach fails with `EBUSY`.
    /// Ours: the reconfiguration keeps the lease, the QP gets `EBUSY` and the attach succeeds.
    #[test]
    fn g2_reconfiguration_keeps_rdma_out() -> Result {
        let (t, hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let mut eth = t.take_ethernet(0, c"eth0", ETH)?;
        let mark = hw.events();
        eth.reconfigure(|r| {
            r.quiesce_rx()?;
            // Detached: the C driver's vport use count is zero here.
            if t.take_rdma(0, QpKind::Raw, qp(7)).err() != Some(EBUSY) {
                return Err(EPROTO);
            }
            r.reprogram_tx()
        })?;
        assert!(hw.events_since(
            mark,
            &[
                Event::RxOff { vport: 0 },
                Event::Tx {
                    vport: 0,
                    pd: 1,
                    doorbell: 2
                }
            ]
        ));
        assert!(owner_is(&t, 0, "ethernet eth0"));
        Ok(())
    }

    /// G3, ownership follows "queues allocated", not IFF_UP (arbiter-level analogue: the queue
    /// teardown of a failed attach). In C a port left up but detached has a free vport that
    /// RDMA can take. Ours: the lease is the interface's from open to stop, whatever happens to
    /// its queues; only stopping frees the vport.
    #[test]
    fn g3_ownership_follows_the_open_interface_not_its_queues() -> Result {
        let (t, _hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let mut eth = t.take_ethernet(0, c"eth0", ETH)?;
        // The attach fails after the old queues were destroyed.
        let res = eth.reconfigure(|r| -> Result {
            r.quiesce_rx()?;
            Err(ENOMEM)
        });
        assert_eq!(res.err(), Some(ENOMEM));
        assert!(owner_is(&t, 0, "ethernet eth0"));
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(7)).err(), Some(EBUSY));
        drop(eth);
        let _qp = t.take_rdma(0, QpKind::Raw, qp(7))?;
        Ok(())
    }

    /// G4, RDMA state inside the netdev's port context (C: RDMA's EQs and debugfs live in
    /// `mana_port_context`, a use-after-free when the port context is reconfigured or freed).
    /// Arbiter-level analogue: the RDMA lease holds its own reference to the vport, so it stays
    /// valid, visible and correctly quiesced when the table and the Ethernet side go away, and
    /// Ethernet activity on other ports does not touch it.
    #[test]
    fn g4_rdma_state_lives_in_its_own_lease() -> Result {
        let (t, hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let rdma = t.take_rdma(0, QpKind::Raw, qp(7))?;
        let eth = t.take_ethernet(1, c"eth1", ETH)?;
        drop(eth);
        drop(t);
        assert_eq!(rdma.vport().index(), 0);
        assert_eq!(rdma.pd(), 7);
        let shown = rdma.vport().with_owner(|o| {
            kernel::str::CString::try_from_fmt(fmt!("{}", o))
                .is_ok_and(|s| s.to_bytes() == b"rdma pd 7 qps 1")
        });
        assert!(shown);
        let mark = hw.events();
        drop(rdma);
        assert!(hw.events_since(mark, &[Event::RxOff { vport: 0 }]));
        Ok(())
    }

    /// G5, lock order (C: `pd->vport_mutex` -> `apc->vport_mutex`, rtnl on the Ethernet path
    /// only, and RDMA creating its EQs inside the netdev's context). Arbiter-level analogue,
    /// under lockdep: rtnl -> PD lock -> vport lock is followed by both paths, and the vport
    /// lock is not held while netdev code runs, so an RDMA request made from inside a
    /// reconfiguration (the netdev holding "rtnl") is refused instead of deadlocking.
    #[test]
    fn g5_documented_lock_order_and_no_vport_lock_across_client_code() -> Result {
        let (t, _hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let rtnl = KBox::pin_init(new_mutex!((), "g5_rtnl_analogue"), GFP_KERNEL)?;
        let pd_lock = KBox::pin_init(new_mutex!((), "g5_pd_lock_analogue"), GFP_KERNEL)?;
        let rtnl: &Mutex<()> = &rtnl;
        let pd_lock: &Mutex<()> = &pd_lock;

        // ndo_open under rtnl.
        let mut eth = {
            let _rtnl = rtnl.lock();
            t.take_ethernet(0, c"eth0", ETH)?
        };
        // A reconfiguration under rtnl; an RDMA create (PD lock) from inside it.
        {
            let _rtnl = rtnl.lock();
            eth.reconfigure(|_r| {
                let _pd = pd_lock.lock();
                match t.take_rdma(0, QpKind::Raw, qp(7)) {
                    Err(e) if e == EBUSY => Ok(()),
                    _ => Err(EPROTO),
                }
            })?;
        }
        // ndo_stop under rtnl, then a QP create under the PD lock.
        {
            let _rtnl = rtnl.lock();
            drop(eth);
        }
        let qp7 = {
            let _pd = pd_lock.lock();
            t.take_rdma(0, QpKind::Raw, qp(7))?
        };
        {
            let _pd = pd_lock.lock();
            drop(qp7);
        }
        assert!(owner_is(&t, 0, "free"));
        Ok(())
    }

    /// G6, teardown order (C: `remove_adev` runs first, so the RDMA device goes and RAW QPs
    /// are destroyed while the ports are still attached, and nothing stops a QP create racing
    /// removal). Arbiter-level analogue: the arbiter refuses to shut down while any lease lives
    /// and names it; after RDMA then Ethernet end their leases it shuts down, and no lease can
    /// be taken on the adapter that is going away.
    #[test]
    fn g6_teardown_waits_for_every_lease_in_order() -> Result {
        let (t, _hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let rdma = t.take_rdma(0, QpKind::Raw, qp(7))?;
        let eth = t.take_ethernet(1, c"eth1", ETH)?;
        assert_eq!(t.shutdown().err(), Some(EBUSY));
        // RDMA objects first.
        drop(rdma);
        assert_eq!(t.shutdown().err(), Some(EBUSY));
        // Then the netdevs.
        drop(eth);
        t.shutdown()?;
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(7)).err(), Some(ENODEV));
        assert_eq!(t.take_ethernet(1, c"eth1", ETH).err(), Some(ENODEV));
        assert!(refusal_says(&t, 1, &["vport 1", "shut down", "eth1"]));
        Ok(())
    }
}
