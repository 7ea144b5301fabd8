// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: handing a vport from a DPDK-style RDMA owner back to the interface, with traffic.
//!
//! The C driver's stale-steering bug (fixed upstream by "RDMA/mana_ib: Disable RX steering on
//! RSS QP destroy"): the device kept steering to an RSS QP's destroyed receive queues, and a
//! later `ip link set up` saw RX completions land on the wrong CQs. Here the RDMA side is what
//! an RSS QP of mana_rdma does on the device (its lease, receive queues, steering), and the
//! interface's own packets must arrive on its own queues afterwards.

use kernel::{
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    },
};

use mana_gdma::{
    objects::{
        DoorbellPage,
        EventQueue,
        WqKind,
        WqObject, //
    },
    shared_vport::{
        QpKind,
        VportTx, //
    },
    wire::mana_msgs::HASH_KEY_SIZE,
};

use crate::tests::adapter;
use crate::tests_datapath::{
    close,
    frame_skb,
    open,
    send_udp,
    IPPROTO_UDP, //
};

#[kunit_tests(mana_rs_eth_handoff)]
mod tests {
    use super::*;

    #[test]
    fn after_an_rss_qp_the_interface_receives_on_its_own_queues() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        let ad = sw.adapter();
        let ctx = ad.objects();
        let caps = ad.caps();
        open(a)?;

        // DPDK owns b's vport 1 with an RSS QP: its lease, two receive queues, steering.
        let doorbell = DoorbellPage::new(&ctx)?;
        let tx = VportTx {
            pd: 7,
            doorbell: doorbell.index(),
        };
        let lease = ad.vports().take_rdma(1, QpKind::Rss, tx)?;
        let eq = EventQueue::new(&ctx, 4096, 1, caps.pdid, caps.doorbell)?;
        let handle = ad.ports()[1].handle;
        let rq1 = WqObject::new(&ctx, handle, WqKind::Receive, 8192, 4096, &eq)?;
        let rq2 = WqObject::new(&ctx, handle, WqKind::Receive, 8192, 4096, &eq)?;
        ad.enable_rx_steering(1, &[rq1.handle(), rq2.handle()], &[0x6d; HASH_KEY_SIZE])?;
        assert!(sw.vport_programming(1).ok_or(EINVAL)?.rx_enabled);
        // While DPDK has it, `ip link set up` is refused.
        let rtnl = kernel::netdev::rtnl_lock();
        assert_eq!(b.open(&rtnl).err(), Some(EBUSY));
        drop(rtnl);
        // Traffic to b goes to DPDK's queues (which have no buffers posted here).
        for i in 0..8 {
            a.queue_xmit(frame_skb(
                b.mac_address(),
                a.mac_address(),
                IPPROTO_UDP,
                100 + i,
                64,
            )?)?;
        }
        let mut dropped = 0;
        for _ in 0..20_000 {
            dropped = sw.device_stats().datapath.rx_no_buffer;
            if dropped >= 8 {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        assert!(dropped >= 8);

        // DPDK exits: the lease goes first (steering off), then its queues.
        drop(lease);
        assert!(!sw.vport_programming(1).ok_or(EINVAL)?.rx_enabled);
        drop((rq1, rq2, eq, doorbell));

        // The interface takes the vport back; its packets complete on its own queues. (The
        // stack of `a` keeps sending its own IPv6 frames to b meanwhile; those that arrived
        // while nothing received on vport 1 were dropped too, so the count starts here: the
        // device answers the open's requests only after the frames sent before them.)
        open(b)?;
        let dropped_before = sw.device_stats().datapath.rx_no_buffer;
        assert_eq!(send_udp(a, b, 32, 200)?, 32);
        let d = sw.device_stats();
        assert_eq!(d.datapath.wqe_faults + d.datapath.dma_faults, 0);
        assert_eq!(d.datapath.rx_no_buffer, dropped_before);
        // Nothing was destroyed while steered to, nothing stale was programmed.
        assert_eq!(d.protocol_errors, 0);
        close(a);
        close(b);
        let d = sw.device_stats();
        assert_eq!((d.live_eqs, d.live_wq_objs, d.live_regions), (0, 0, 0));
        Ok(())
    }
}
