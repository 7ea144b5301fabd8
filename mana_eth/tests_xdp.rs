// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: native XDP on the software adapter. Programs are loaded through the `bpf()` system
//! call's kernel entry (checked by the verifier) and attached through the core's path of
//! `ip link set dev DEV xdpdrv` (`dev_change_xdp_fd`), then real frames cross the linked ports.

use kernel::{
    netdev::{
        xdp::{
            testing::{
                attached_id,
                detach,
                TestProg, //
            },
            Action, //
        },
        Registration, //
    },
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
    time::{
        delay::fsleep,
        Delta, //
    },
    workqueue, //
};

use mana_gdma::{
    shared_vport::QpKind,
    sw::{
        SwAdapter,
        SwConfig, //
    },
};

use crate::{
    datapath::{
        Counts,
        XDP_MAX_MTU, //
    },
    port::{
        Port,
        Ports, //
    },
    tests::{
        adapter,
        rdma_doorbell,
        RDMA_TX, //
    },
    tests_datapath::{
        close,
        frame_skb,
        open,
        send_udp,
        IPPROTO_UDP, //
    },
};

/// The sum over the queues of `dev` of the counter `f` picks.
fn sum(dev: &Registration<'_, Port>, f: impl Fn(&Counts) -> u64) -> u64 {
    dev.data()
        .queue_counters()
        .iter()
        .map(|c| f(&c.counts()))
        .sum()
}

/// Waits (up to 20 s) until `cond` holds; returns whether it does.
fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..20_000 {
        if cond() {
            return true;
        }
        fsleep(Delta::from_millis(1));
    }
    cond()
}

/// Sends `count` UDP frames from `tx` to the MAC address of `to` (not waiting for them).
fn blast(tx: &Registration<'_, Port>, to: &Registration<'_, Port>, count: u16) -> Result {
    blast_sized(tx, to, count, 100)
}

/// Sends `count` UDP frames of `size` payload bytes from `tx` to the MAC address of `to`.
fn blast_sized(
    tx: &Registration<'_, Port>,
    to: &Registration<'_, Port>,
    count: u16,
    size: usize,
) -> Result {
    for i in 0..count {
        tx.queue_xmit(frame_skb(
            to.mac_address(),
            tx.mac_address(),
            IPPROTO_UDP,
            3000 + i,
            size,
        )?)?;
    }
    Ok(())
}

fn attach(prog: &TestProg, dev: &Registration<'_, Port>) -> Result {
    prog.attach(dev).map_err(|(e, _)| e)
}

fn port<'a>(ports: &'a Ports<'_>, i: usize) -> Result<&'a Registration<'a, Port>> {
    ports.get(i).ok_or(EINVAL)
}

#[kunit_tests(mana_rs_eth_xdp)]
mod tests {
    use super::*;

    /// XDP_DROP drops every frame before the stack sees it and reposts the same page (no page
    /// allocated); replacing the program with XDP_PASS on the up interface delivers again, and
    /// so does detaching it. The interface keeps its vport lease throughout.
    #[test]
    fn drop_then_pass_then_detach_on_an_up_interface() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (port(&ports, 0)?, port(&ports, 1)?);
        open(a)?;
        open(b)?;
        let drop_prog = TestProg::returning(Action::Drop)?;
        attach(&drop_prog, b)?;
        assert_ne!(attached_id(b), 0);
        assert!(b.data().holds_lease());
        let allocs = sum(b, |c| c.rx_page_allocs);
        let verified = b.data().rx_csum_ok();
        let dropped = sum(b, |c| c.rx_xdp_drop);
        blast(a, b, 64)?;
        assert!(wait_for(|| sum(b, |c| c.rx_xdp_drop) >= dropped + 64));
        // Nothing reached the driver's stack path, and no page was allocated.
        assert_eq!(b.data().rx_csum_ok(), verified);
        assert_eq!(sum(b, |c| c.rx_page_allocs), allocs);
        // XDP is the first layer of the stack: the frames count as received.
        assert!(sum(b, |c| c.rx_packets) >= 64);

        let pass = TestProg::returning(Action::Pass)?;
        let first = attached_id(b);
        attach(&pass, b)?;
        assert_ne!(attached_id(b), first);
        assert_eq!(send_udp(a, b, 32, 100)?, 32);
        assert!(b.data().holds_lease());

        detach(b)?;
        assert_eq!(attached_id(b), 0);
        assert_eq!(send_udp(a, b, 16, 1400)?, 16);
        let d = sw.device_stats();
        assert_eq!(d.datapath.wqe_faults + d.datapath.dma_faults, 0);
        close(a);
        close(b);
        Ok(())
    }

    /// XDP_TX sends each frame back out of the port it came in on (to the linked port, whose
    /// driver sees it); XDP_ABORTED drops and counts.
    #[test]
    fn tx_sends_frames_back_and_aborted_drops() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (port(&ports, 0)?, port(&ports, 1)?);
        open(a)?;
        open(b)?;
        let tx = TestProg::returning(Action::Tx)?;
        attach(&tx, b)?;
        let back = a.data().rx_csum_ok();
        let sent = sum(b, |c| c.tx_packets);
        blast(a, b, 32)?;
        assert!(wait_for(|| sum(b, |c| c.rx_xdp_tx) >= 32));
        // The frames (addressed to b) come back to a, checksums intact.
        assert!(wait_for(|| a.data().rx_csum_ok() >= back + 32));
        assert!(wait_for(|| sum(b, |c| c.tx_packets) >= sent + 32));
        assert_eq!(sum(b, |c| c.tx_errors), 0);

        let aborted = TestProg::returning(Action::Aborted)?;
        attach(&aborted, b)?;
        let dropped = sum(b, |c| c.rx_xdp_drop);
        let verified = b.data().rx_csum_ok();
        blast(a, b, 16)?;
        assert!(wait_for(|| sum(b, |c| c.rx_xdp_drop) >= dropped + 16));
        assert_eq!(b.data().rx_csum_ok(), verified);
        detach(b)?;
        let d = sw.device_stats();
        assert_eq!(d.datapath.wqe_faults + d.datapath.dma_faults, 0);
        close(a);
        close(b);
        Ok(())
    }

    /// XDP_REDIRECT from port 1 to port 2 (`ndo_xdp_xmit`), which sends the frames to its
    /// linked port 3; to port 1 itself, which sends them back to its linked port 0; and to a
    /// port that is down, which fails the redirect (dropped and counted).
    #[test]
    fn redirect_to_other_ports_and_back_to_the_linked_port() -> Result {
        let (sw, ports) = adapter(4)?;
        let (p0, p1, p2, p3) = (
            port(&ports, 0)?,
            port(&ports, 1)?,
            port(&ports, 2)?,
            port(&ports, 3)?,
        );
        for p in [p0, p1, p2, p3] {
            open(p)?;
        }
        let to_p2 = TestProg::redirecting(p2.ifindex())?;
        attach(&to_p2, p1)?;
        let seen = p3.data().rx_csum_ok();
        blast(p0, p1, 32)?;
        assert!(wait_for(|| p3.data().rx_csum_ok() >= seen + 32));
        assert!(sum(p1, |c| c.rx_xdp_redirect) >= 32);
        assert!(sum(p2, |c| c.tx_xdp_xmit) >= 32);

        let to_self = TestProg::redirecting(p1.ifindex())?;
        attach(&to_self, p1)?;
        let back = p0.data().rx_csum_ok();
        blast(p0, p1, 32)?;
        assert!(wait_for(|| p0.data().rx_csum_ok() >= back + 32));
        assert!(sum(p1, |c| c.tx_xdp_xmit) >= 32);

        // A target that is down: the core refuses the redirect.
        close(p2);
        attach(&to_p2, p1)?;
        let dropped = sum(p1, |c| c.rx_xdp_drop);
        blast(p0, p1, 16)?;
        assert!(wait_for(|| sum(p1, |c| c.rx_xdp_drop) >= dropped + 16));
        detach(p1)?;
        // The redirected pages came back: the ports still pass traffic.
        assert_eq!(send_udp(p0, p1, 16, 200)?, 16);
        let d = sw.device_stats();
        assert_eq!(d.datapath.wqe_faults + d.datapath.dma_faults, 0);
        for p in [p0, p1, p3] {
            close(p);
        }
        Ok(())
    }

    /// A program cannot be attached while the MTU is larger than one page holds (the error
    /// says why); attached, it lowers the maximum MTU, detached it restores it.
    #[test]
    fn mtu_above_one_page_is_refused_with_a_message() -> Result {
        let sw = SwAdapter::new(
            SwConfig {
                num_ports: 2,
                max_queues: 2,
                adapter_mtu: 9014,
                ..SwConfig::default()
            },
            false,
        )?;
        let ports = Ports::new(&sw.adapter())?;
        let b = port(&ports, 1)?;
        let max = b.max_mtu();
        assert_eq!(max, 9000);
        {
            let rtnl = kernel::netdev::rtnl_lock();
            <Port as kernel::netdev::Driver>::change_mtu(b, 9000, &rtnl)?;
        }
        let prog = TestProg::returning(Action::Pass)?;
        match prog.attach(b) {
            Err((e, msg)) => {
                assert_eq!(e, EOPNOTSUPP);
                let msg = msg.ok_or(EINVAL)?;
                assert!(msg.to_bytes().windows(3).any(|w| w == b"MTU"));
            }
            Ok(()) => return Err(EINVAL),
        }
        assert_eq!(attached_id(b), 0);
        {
            let rtnl = kernel::netdev::rtnl_lock();
            <Port as kernel::netdev::Driver>::change_mtu(b, 1500, &rtnl)?;
        }
        attach(&prog, b)?;
        assert_eq!(b.max_mtu(), XDP_MAX_MTU);
        detach(b)?;
        assert_eq!(b.max_mtu(), max);

        // A program for multi-buffer frames takes jumbo frames (in one compound page), at any
        // MTU, and leaves the maximum alone.
        let a = port(&ports, 0)?;
        {
            let rtnl = kernel::netdev::rtnl_lock();
            <Port as kernel::netdev::Driver>::change_mtu(a, 9000, &rtnl)?;
            <Port as kernel::netdev::Driver>::change_mtu(b, 9000, &rtnl)?;
        }
        let frags_pass = TestProg::returning_frags(Action::Pass)?;
        attach(&frags_pass, b)?;
        assert_eq!(b.max_mtu(), max);
        open(a)?;
        open(b)?;
        assert_eq!(send_udp(a, b, 8, 8000)?, 8);
        let frags_drop = TestProg::returning_frags(Action::Drop)?;
        attach(&frags_drop, b)?;
        let dropped = sum(b, |c| c.rx_xdp_drop);
        blast_sized(a, b, 8, 8000)?;
        assert!(wait_for(|| sum(b, |c| c.rx_xdp_drop) >= dropped + 8));
        // A single-buffer program cannot replace it at this MTU.
        assert_eq!(prog.attach(b).err().map(|(e, _)| e), Some(EOPNOTSUPP));
        assert_ne!(attached_id(b), 0);
        detach(b)?;
        close(a);
        close(b);
        Ok(())
    }

    /// Attach, replace and detach race RAW QP creation on the vport (a worker tries to take
    /// the vport for RDMA all along): every attempt is refused, the interface never gives the
    /// vport away, and traffic flows afterwards (C detaches and re-attaches the port here).
    #[test]
    fn attach_replace_detach_race_raw_qp_creation() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (port(&ports, 0)?, port(&ports, 1)?);
        let _doorbell = rdma_doorbell(&sw)?;
        open(a)?;
        open(b)?;
        let drop_prog = TestProg::returning(Action::Drop)?;
        let pass = TestProg::returning(Action::Pass)?;
        let stop = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let done = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let tries = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
        let won = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
        let adapter = sw.adapter();
        let (s, d, t, w) = (stop.clone(), done.clone(), tries.clone(), won.clone());
        workqueue::system_long()
            .spawn(GFP_KERNEL, move || {
                while s.load(Relaxed) == 0 {
                    match adapter.vports().take_rdma(1, QpKind::Raw, RDMA_TX) {
                        Ok(lease) => {
                            w.fetch_add(1, Relaxed);
                            drop(lease);
                        }
                        Err(_) => {
                            t.fetch_add(1, Relaxed);
                        }
                    }
                }
                d.store(1, Relaxed);
            })
            .map_err(|_| ENOMEM)?;
        for _ in 0..20 {
            attach(&drop_prog, b)?;
            attach(&pass, b)?;
            detach(b)?;
        }
        // The worker tried at least once while the loop ran or right after.
        let tried = wait_for(|| tries.load(Relaxed) > 0);
        stop.store(1, Relaxed);
        assert!(wait_for(|| done.load(Relaxed) == 1));
        assert!(tried);
        assert_eq!(won.load(Relaxed), 0);
        assert!(b.data().holds_lease());
        assert_eq!(send_udp(a, b, 16, 100)?, 16);
        close(a);
        close(b);
        Ok(())
    }
}
