// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: the netdev features users and the kernel's selftests check: the operational state,
//! `ethtool -x`/`-n rx-flow-hash`, queue statistics through the core, and NAPI contexts tied to
//! their queues with ids that survive `ethtool -L`.

use kernel::{
    netdev::{
        ethtool::{
            self,
            Channels,
            Operations, //
        },
        queue_stats::{
            RxQueueStats,
            TxQueueStats, //
        },
        rtnl_lock,
        Driver,
        OperState,
        QueueKind,
        Registration,
        Stats64, //
    },
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    },
};

use mana_gdma::{
    sw::{
        Fault,
        SwConfig, //
    },
    wire::mana_msgs::{
        code as mana_code,
        hash_type, //
    },
};

use crate::{
    datapath::rx_buf_cfg,
    port::{
        Port,
        PRIV_FULL_PAGE_RX, //
    },
    tests::adapter,
    tests_datapath::{
        close,
        frame_skb,
        open,
        send_udp, //
    },
};

const IPPROTO_TCP: u8 = 6;
const SD: u32 = ethtool::RXH_IP_SRC | ethtool::RXH_IP_DST;
const SDFN: u32 = SD | ethtool::RXH_L4_B_0_1 | ethtool::RXH_L4_B_2_3;

fn stats64(dev: &Registration<'_, Port>) -> Stats64 {
    let mut s = Stats64::default();
    Port::get_stats64(dev, &mut s);
    s
}

fn totals(dev: &Registration<'_, Port>) -> Result<(RxQueueStats, TxQueueStats)> {
    let rtnl = rtnl_lock();
    dev.queue_stats_total(&rtnl).ok_or(EINVAL)
}

/// Checks that the queue statistics the core adds up equal `ndo_get_stats64`, at a moment
/// when no packet (the stack's own IPv6 ones arrive at any time) changed the counters between
/// the reads.
fn qstats_match_stats64(dev: &Registration<'_, Port>) -> Result<bool> {
    for _ in 0..1000 {
        let before = stats64(dev);
        let (rx, tx) = totals(dev)?;
        if stats64(dev) != before {
            fsleep(Delta::from_millis(5));
            continue;
        }
        return Ok(rx.packets == Some(before.rx_packets)
            && rx.bytes == Some(before.rx_bytes)
            && tx.packets == Some(before.tx_packets)
            && tx.bytes == Some(before.tx_bytes));
    }
    Ok(false)
}

/// The operational state once pending carrier changes are applied. (Tests assert without the
/// rtnl lock: a failed KUnit assertion ends the test thread, and a lock it held stays held.)
fn oper_state(dev: &Registration<'_, Port>) -> OperState {
    let rtnl = rtnl_lock();
    dev.sync_link_state(&rtnl);
    dev.oper_state()
}

/// Waits up to 20 s for `dev`'s operational state to become `state`.
fn wait_oper_state(dev: &Registration<'_, Port>, state: OperState) -> bool {
    for _ in 0..20_000 {
        if oper_state(dev) == state {
            return true;
        }
        fsleep(Delta::from_millis(1));
    }
    false
}

fn set_channels(dev: &Registration<'_, Port>, n: u32) -> Result {
    let rtnl = rtnl_lock();
    Port::set_channels(
        dev,
        &Channels {
            combined_count: n,
            ..Channels::default()
        },
        &rtnl,
    )
}

/// Per receive queue, the packets whose checksums the device verified (the test's TCP and
/// UDP packets, not the stack's own ICMPv6).
fn verified_per_queue(dev: &Registration<'_, Port>) -> KVec<u64> {
    let mut v = KVec::new();
    for c in dev.data().queue_counters() {
        let _ = v.push(c.counts().rx_csum_ok, GFP_KERNEL);
    }
    v
}

/// Sends 32 TCP packets from `a` to `b` between the same addresses, source ports 3000..3032;
/// returns on how many receive queues of `b` they arrived (waiting up to 20 s for them: a bound
/// for slow emulation, not a timing assertion).
fn tcp_flows_spread(a: &Registration<'_, Port>, b: &Registration<'_, Port>) -> Result<usize> {
    let before = verified_per_queue(b);
    let total: u64 = before.iter().sum();
    for i in 0..32u16 {
        a.queue_xmit(frame_skb(
            b.mac_address(),
            a.mac_address(),
            IPPROTO_TCP,
            3000 + i,
            64,
        )?)?;
    }
    for _ in 0..20_000 {
        if b.data().rx_csum_ok() >= total + 32 {
            break;
        }
        fsleep(Delta::from_millis(1));
    }
    assert_eq!(b.data().rx_csum_ok(), total + 32);
    let after = verified_per_queue(b);
    Ok(after
        .iter()
        .zip(before.iter())
        .filter(|(n, o)| n > o)
        .count())
}

#[kunit_tests(mana_rs_eth_netfeat)]
mod tests {
    use super::*;

    /// `ip link` shows `state UP` (not UNKNOWN) once the interface is up with the link, and
    /// DOWN when the device reports the link down.
    #[test]
    fn oper_state_is_up_with_the_carrier() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        assert_eq!(oper_state(dev), OperState::Down);
        open(dev)?;
        assert!(dev.carrier_ok());
        assert_eq!(oper_state(dev), OperState::Up);
        sw.set_link(false)?;
        assert!(wait_oper_state(dev, OperState::Down));
        sw.set_link(true)?;
        assert!(wait_oper_state(dev, OperState::Up));
        close(dev);
        assert_eq!(oper_state(dev), OperState::Down);
        Ok(())
    }

    /// `ethtool eth0` shows the vport's bandwidth allowance as the speed, as the C driver does
    /// (from MANA_QUERY_LINK_CONFIG, up or down), whatever clamp is set; unknown when the
    /// device cannot say.
    #[test]
    fn link_speed_is_the_vport_allowance() -> Result {
        let (sw, ports) = adapter(2)?;
        let dev = ports.get(1).ok_or(EINVAL)?;
        let speed = || -> Result<u32> {
            let mut ks = ethtool::LinkSettings::default();
            Port::get_link_ksettings(dev, &mut ks)?;
            assert_eq!(ks.duplex, ethtool::DUPLEX_FULL);
            Ok(ks.speed)
        };
        let allowance = SwConfig::default().qos_speed_mbps;
        assert_eq!(speed()?, allowance);
        sw.adapter().set_bw_clamp(1, Some(1_000))?;
        open(dev)?;
        assert_eq!(speed()?, allowance);
        close(dev);
        sw.inject(mana_code::QUERY_LINK_CONFIG, Fault::Status(0x5), 1)?;
        assert_eq!(speed()?, ethtool::SPEED_UNKNOWN);
        assert_eq!(speed()?, allowance);
        Ok(())
    }

    /// `ethtool -x` needs the RX ring count; `ethtool -n/-N rx-flow-hash` report and change
    /// what the device hashes, within what NDIS hash types can express, and the device is
    /// programmed with it (now if up, at the next open if down).
    #[test]
    fn rx_ring_count_and_rx_flow_hash() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        assert_eq!(Port::get_rx_ring_count(b), 4);
        set_channels(b, 3)?;
        assert_eq!(Port::get_rx_ring_count(b), 3);
        set_channels(b, 4)?;

        for (flow, fields) in [
            (ethtool::TCP_V4_FLOW, SDFN),
            (ethtool::UDP_V4_FLOW, SDFN),
            (ethtool::TCP_V6_FLOW, SDFN),
            (ethtool::UDP_V6_FLOW, SDFN),
            (ethtool::IPV4_FLOW, SD),
            (ethtool::IPV6_FLOW, SD),
            (ethtool::SCTP_V4_FLOW, SD),
        ] {
            assert_eq!(Port::get_rxfh_fields(b, flow)?, fields);
        }
        assert_eq!(Port::get_rxfh_fields(b, 0x12).err(), Some(EOPNOTSUPP));
        let programmed = |index| sw.vport_programming(index).map(|p| p.rss_hash_types);
        assert_eq!(programmed(1), Some(hash_type::ENABLE_SUPPORTED));

        // Ports spread TCP flows over the queues.
        assert!(tcp_flows_spread(a, b)? > 1);
        let set_fields = |flow, fields| {
            let rtnl = rtnl_lock();
            Port::set_rxfh_fields(b, flow, fields, &rtnl)
        };
        set_fields(ethtool::TCP_V4_FLOW, SD)?;
        // What the device cannot hash is refused, and nothing changes.
        for (flow, fields) in [
            (ethtool::TCP_V4_FLOW, ethtool::RXH_IP_SRC),
            (ethtool::UDP_V4_FLOW, 0),
            (ethtool::IPV4_FLOW, SDFN),
            (ethtool::IPV6_FLOW, 0),
            (ethtool::TCP_V6_FLOW, SDFN | ethtool::RXH_L3_PROTO),
        ] {
            assert_eq!(set_fields(flow, fields).err(), Some(EINVAL));
        }
        assert_eq!(Port::get_rxfh_fields(b, ethtool::TCP_V4_FLOW)?, SD);
        assert_eq!(Port::get_rxfh_fields(b, ethtool::UDP_V4_FLOW)?, SDFN);
        assert_eq!(
            programmed(1),
            Some(hash_type::ENABLE_SUPPORTED & !hash_type::TCP_IPV4)
        );
        // The interface kept its vport and queues; all flows between two addresses now land
        // on one queue.
        assert!(b.data().holds_lease());
        assert_eq!(tcp_flows_spread(a, b)?, 1);

        // Down, the setting is kept and programmed at the next open.
        close(b);
        set_fields(ethtool::UDP_V6_FLOW, SD)?;
        set_fields(ethtool::TCP_V4_FLOW, SDFN)?;
        open(b)?;
        assert_eq!(
            programmed(1),
            Some(hash_type::ENABLE_SUPPORTED & !hash_type::UDP_IPV6)
        );
        assert!(tcp_flows_spread(a, b)? > 1);
        assert_eq!(sw.device_stats().protocol_errors, 0);
        close(a);
        close(b);
        Ok(())
    }

    /// The queue statistics of `netdev` netlink add up (through the core) to the interface
    /// statistics, also after `ethtool -L` lowered and raised the number of queues and after
    /// down/up; each active queue reports its own counters.
    #[test]
    fn queue_stats_match_the_interface_statistics() -> Result {
        let (_sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        assert_eq!(send_udp(a, b, 64, 200)?, 64);
        assert!(qstats_match_stats64(a)?);
        assert!(qstats_match_stats64(b)?);

        // Per queue: the receive queues' verified checksums are the port's.
        let rx_queue = |q| {
            let rtnl = rtnl_lock();
            b.queue_stats_rx(q, &rtnl)
        };
        let mut csum = 0;
        let mut used = 0;
        for q in 0..4 {
            let rx = rx_queue(q).ok_or(EINVAL)?;
            csum += rx.csum_unnecessary.ok_or(EINVAL)?;
            used += usize::from(rx.packets.ok_or(EINVAL)? > 0);
            assert_eq!(rx.alloc_fail, Some(0));
            assert!(rx.csum_none.is_some());
            let tx = {
                let rtnl = rtnl_lock();
                b.queue_stats_tx(q, &rtnl).ok_or(EINVAL)?
            };
            assert!(tx.wake.is_some() && tx.stop.is_some());
        }
        assert_eq!(csum, b.data().rx_csum_ok());
        assert!(used > 1);
        assert!(rx_queue(4).is_none());

        // Fewer queues: what queues 2 and 3 counted moves to the base, the totals stay.
        let (rx_before, _) = totals(b)?;
        set_channels(b, 2)?;
        assert!(rx_queue(2).is_none());
        let (rx_after, _) = totals(b)?;
        assert!(rx_after.packets >= rx_before.packets);
        assert!(qstats_match_stats64(b)?);
        assert_eq!(send_udp(a, b, 32, 100)?, 32);
        assert!(qstats_match_stats64(b)?);
        set_channels(b, 4)?;
        assert!(qstats_match_stats64(b)?);
        close(b);
        assert!(qstats_match_stats64(b)?);
        open(b)?;
        assert_eq!(send_udp(a, b, 16, 100)?, 16);
        assert!(qstats_match_stats64(a)?);
        assert!(qstats_match_stats64(b)?);
        close(a);
        close(b);
        Ok(())
    }

    /// Each queue names its channel's NAPI context (`queue-get`), and the contexts keep their
    /// ids across `ethtool -L` and down/up (persistent NAPI configurations). The software
    /// device's vectors are no interrupts, so no IRQ is reported for them.
    #[test]
    fn napi_ids_survive_channel_changes_and_queues_name_them() -> Result {
        let (_sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        open(dev)?;
        let first = dev.data().channel_napis()?;
        assert_eq!(first.len(), 4);
        for (i, (id, irq)) in first.iter().enumerate() {
            assert!(*id != 0);
            assert_eq!(*irq, None);
            assert!(first.iter().skip(i + 1).all(|(other, _)| other != id));
        }
        let queues_name = |ids: &[(u32, Option<u32>)]| -> bool {
            let rtnl = rtnl_lock();
            let n = dev.real_num_rx_queues();
            (0..dev.num_rx_queues()).all(|q| {
                let expected = ids.get(q as usize).filter(|_| q < n).map(|(id, _)| *id);
                dev.queue_napi_id(QueueKind::Rx, q, &rtnl) == expected
                    && dev.queue_napi_id(QueueKind::Tx, q, &rtnl) == expected
            })
        };
        assert!(queues_name(&first));

        set_channels(dev, 2)?;
        let two = dev.data().channel_napis()?;
        assert_eq!(two.len(), 2);
        assert_eq!(&two[..], &first[..2]);
        assert!(queues_name(&two));
        set_channels(dev, 4)?;
        assert_eq!(&dev.data().channel_napis()?[..], &first[..]);
        assert!(queues_name(&first));

        close(dev);
        // Down: no queue names a context.
        assert!(queues_name(&[]));
        open(dev)?;
        assert_eq!(&dev.data().channel_napis()?[..], &first[..]);
        assert!(queues_name(&first));
        close(dev);
        Ok(())
    }

    /// `full-page-rx`, the C driver's private flag: the one name of the private-flag string
    /// set, off by default, set and cleared down or up, kept across down/up; unknown bits are
    /// refused. A receive buffer is a page whatever the flag (the C driver's case in which the
    /// flag changes nothing): setting it up sends the device no request, so no queue is rebuilt
    /// and the vport lease stays, and traffic flows.
    #[test]
    fn full_page_rx_private_flag() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        let set = |flags: u32| {
            let rtnl = rtnl_lock();
            Port::set_priv_flags(b, flags, &rtnl)
        };
        assert_eq!(Port::get_sset_count(b, ethtool::SS_PRIV_FLAGS)?, 1);
        assert_eq!(Port::get_priv_flags(b), 0);
        set(PRIV_FULL_PAGE_RX)?;
        assert_eq!(Port::get_priv_flags(b), PRIV_FULL_PAGE_RX);
        open(a)?;
        open(b)?;
        // One buffer per page, with XDP's headroom, at the MTU of the interface.
        let cfg = rx_buf_cfg(b.mtu())?;
        assert_eq!((cfg.order, cfg.headroom, cfg.truesize), (0, 256, 4096));
        let requests = sw.device_stats().total_requests;
        set(0)?;
        assert_eq!(Port::get_priv_flags(b), 0);
        set(PRIV_FULL_PAGE_RX)?;
        assert_eq!(set(PRIV_FULL_PAGE_RX | 2), Err(EINVAL));
        assert_eq!(set(1 << 31), Err(EINVAL));
        assert_eq!(Port::get_priv_flags(b), PRIV_FULL_PAGE_RX);
        assert_eq!(sw.device_stats().total_requests, requests);
        assert!(b.data().holds_lease());
        assert_eq!(send_udp(a, b, 16, 1400)?, 16);
        close(b);
        open(b)?;
        assert_eq!(Port::get_priv_flags(b), PRIV_FULL_PAGE_RX);
        assert_eq!(send_udp(a, b, 16, 1400)?, 16);
        close(a);
        close(b);
        Ok(())
    }
}
