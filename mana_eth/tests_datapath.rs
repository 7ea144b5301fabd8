// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: packets through the data path: real skbs sent on one port of a software adapter and
//! received on its linked port, offloads, reconfiguration with traffic, and the device's
//! handling of malformed send WQEs.

use kernel::{
    netdev::{
        ethtool::{
            Channels,
            Operations,
            RingParam,
            SS_STATS, //
        },
        rtnl_lock,
        skb::{
            Skb,
            GSO_TCPV4, //
        },
        Driver,
        Registration,
        Stats64, //
    },
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    },
    transmute::FromBytes, //
};

use mana_gdma::{
    objects::{
        EventQueue,
        WqKind,
        WqObject, //
    },
    sw::{
        SwAdapter,
        SwConfig, //
    },
    wire::{
        eth::{
            cqe_type,
            TxCompOob,
            TxOob,
            TxShortOob, //
        },
        queue::{
            queue_type,
            CqeInfo,
            Sge,
            SqDoorbell,
            WqeHeader, //
        }, //
    },
};

use crate::{
    datapath::Counts,
    port::{
        Port,
        PORT_STATS,
        QUEUE_STATS, //
    },
    tests::adapter, //
};

pub(crate) const IPPROTO_TCP: u8 = 6;
pub(crate) const IPPROTO_UDP: u8 = 17;

fn sum16(mut sum: u32, data: &[u8]) -> u32 {
    for c in data.chunks(2) {
        let hi = u32::from(c[0]) << 8;
        let lo = c.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// An IPv4 frame from port 0 to port 1 with a UDP or TCP header (`sport` → 9) and `payload`
/// bytes; the IPv4 checksum is right, the L4 checksum holds the pseudo-header sum, as the stack
/// leaves it for `CHECKSUM_PARTIAL`.
fn frame(dst: [u8; 6], src: [u8; 6], proto: u8, sport: u16, payload: usize) -> Result<KVec<u8>> {
    let l4 = if proto == IPPROTO_TCP { 20 } else { 8 };
    let ip_len = 20 + l4 + payload;
    let mut f = KVec::from_elem(0u8, 14 + ip_len, GFP_KERNEL)?;
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let c = !fold(sum16(0, ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let t = &mut f[34..34 + l4];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&9u16.to_be_bytes());
    if proto == IPPROTO_TCP {
        t[4..8].copy_from_slice(&1000u32.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = 0x18; // PSH, ACK
        t[14..16].copy_from_slice(&0xffffu16.to_be_bytes());
    } else {
        t[4..6].copy_from_slice(&((8 + payload) as u16).to_be_bytes());
    }
    for (i, b) in f[34 + l4..].iter_mut().enumerate() {
        *b = i as u8;
    }
    // The pseudo-header sum, not complemented.
    let pseudo = sum16(0, &[10, 0, 0, 1, 10, 0, 0, 2]) + u32::from(proto) + (l4 + payload) as u32;
    let field = if proto == IPPROTO_TCP {
        34 + 16
    } else {
        34 + 6
    };
    f[field..field + 2].copy_from_slice(&fold(pseudo).to_be_bytes());
    Ok(f)
}

/// An skb of `bytes` with checksum offload requested for its L4 header.
fn skb(bytes: &[u8], proto: u8) -> Result<Skb> {
    let mut skb = Skb::alloc(bytes.len() as u32 + 64, GFP_KERNEL)?;
    skb.reserve(32)?;
    skb.put_data(bytes)?;
    skb.set_protocol(0x0800);
    skb.set_network_header(14)?;
    skb.set_transport_header(34)?;
    skb.set_partial_csum(34, if proto == IPPROTO_TCP { 16 } else { 6 })?;
    Ok(skb)
}

/// An skb of [`frame`] with checksum offload requested.
pub(crate) fn frame_skb(
    dst: [u8; 6],
    src: [u8; 6],
    proto: u8,
    sport: u16,
    payload: usize,
) -> Result<Skb> {
    skb(&frame(dst, src, proto, sport, payload)?, proto)
}

fn stats(dev: &Registration<'_, Port>) -> Stats64 {
    let mut s = Stats64::default();
    Port::get_stats64(dev, &mut s);
    s
}

/// Waits (up to 20 s) until `dev` received `n` IPv4 TCP/UDP packets whose checksums the device
/// verified (the stack's own IPv6 traffic of the linked port is not counted), and returns how
/// many it received.
fn wait_rx(dev: &Registration<'_, Port>, n: u64) -> u64 {
    for _ in 0..20_000 {
        if dev.data().rx_csum_ok() >= n {
            break;
        }
        fsleep(Delta::from_millis(1));
    }
    dev.data().rx_csum_ok()
}

/// Sends `count` UDP frames with different source ports from `tx` to `rx`; returns how many
/// arrived with their checksums verified by the device.
pub(crate) fn send_udp(
    tx: &Registration<'_, Port>,
    rx: &Registration<'_, Port>,
    count: u16,
    size: usize,
) -> Result<u64> {
    let before = rx.data().rx_csum_ok();
    for i in 0..count {
        let f = frame(
            rx.mac_address(),
            tx.mac_address(),
            IPPROTO_UDP,
            1000 + i,
            size,
        )?;
        tx.queue_xmit(skb(&f, IPPROTO_UDP)?)?;
    }
    Ok(wait_rx(rx, before + u64::from(count)) - before)
}

/// The buffers and mappings the core holds for more than the packets in flight: the least of
/// `sw.live_buffers()` over 200 ms (a transmitted packet's mapping lives until its completion,
/// and the stack sends packets of its own at any time, on any CPU). An upper bound: under load
/// a packet can stay in flight longer than that, so compare with `<=` after waiting.
pub(crate) fn lasting_buffers(sw: &SwAdapter) -> usize {
    let mut least = sw.live_buffers();
    for _ in 0..100 {
        fsleep(Delta::from_millis(2));
        least = least.min(sw.live_buffers());
    }
    least
}

/// Writes a send WQE at byte `off` of `sq`: a header with one SGE and the short OOB, `oob`,
/// then `sge` (what the driver posts for a one-part packet).
pub(crate) fn write_send_wqe(sq: &WqObject, off: usize, sge: Sge, oob: &TxShortOob) -> Result {
    sq.wq_mem().write_obj(off, &WqeHeader::new(1, 8, 0)?)?;
    sq.wq_mem().write_obj(off + 8, oob)?;
    sq.wq_mem().write_obj(off + 16, &sge)
}

/// Reads completion `i` of `sq`'s completion queue: its info word (owner bits, queue) and the
/// CQE type of its TX OOB.
pub(crate) fn tx_cqe_at(sq: &WqObject, i: usize) -> Result<(CqeInfo, u32)> {
    let info = sq.cq_mem().read_obj::<CqeInfo>(i * 64 + 60)?;
    let mut data = [0u8; 60];
    sq.cq_mem().read_bytes(i * 64, &mut data)?;
    let oob = TxCompOob::from_bytes_copy(&data).ok_or(EINVAL)?;
    Ok((info, oob.cqe_hdr.cqe_type().get()))
}

pub(crate) fn open(dev: &Registration<'_, Port>) -> Result {
    let rtnl = rtnl_lock();
    dev.open(&rtnl)
}

pub(crate) fn close(dev: &Registration<'_, Port>) {
    let rtnl = rtnl_lock();
    dev.close(&rtnl);
}

#[kunit_tests(mana_rs_eth_datapath)]
mod tests {
    use super::*;

    /// `ethtool -K eth1 rx off` (and `rxhash off`): received packets are no longer marked as
    /// checksum-verified; back on, they are again. VLAN stripping cannot be turned off.
    #[test]
    fn receive_offloads_follow_ethtool_k() -> Result {
        use kernel::netdev::Features;
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        assert!(b.features().contains(Features::HW_VLAN_CTAG_RX));
        assert!(!b.hw_features().contains(Features::HW_VLAN_CTAG_RX));
        open(a)?;
        open(b)?;
        let on = b.features();
        {
            let rtnl = rtnl_lock();
            b.set_wanted_features(on & !(Features::RXCSUM | Features::RXHASH), &rtnl);
        }
        assert!(!b.features().contains(Features::RXCSUM));
        let verified = b.data().rx_csum_ok();
        let delivered = sw.device_stats().datapath.rx_packets;
        for i in 0..16u16 {
            let f = frame(b.mac_address(), a.mac_address(), IPPROTO_UDP, 2000 + i, 64)?;
            a.queue_xmit(skb(&f, IPPROTO_UDP)?)?;
        }
        // Wait until the device delivered them and the ports' polls took every packet the
        // device delivered (the device counts a packet before the poll that receives it; the
        // stack's own IPv6 packets may come in between, so this is retried), then check that
        // none was marked verified.
        let polled = || {
            let d = sw.device_stats().datapath.rx_packets;
            d >= delivered + 16 && d == stats(a).rx_packets + stats(b).rx_packets
        };
        let mut taken = polled();
        for _ in 0..20_000 {
            if taken {
                break;
            }
            fsleep(Delta::from_millis(1));
            taken = polled();
        }
        assert!(taken);
        assert_eq!(b.data().rx_csum_ok(), verified);
        {
            let rtnl = rtnl_lock();
            b.set_wanted_features(on, &rtnl);
        }
        assert!(b.features().contains(Features::RXCSUM));
        assert_eq!(send_udp(a, b, 16, 64)?, 16);
        close(a);
        close(b);
        Ok(())
    }

    #[test]
    fn skbs_cross_to_the_linked_port_on_several_queues() -> Result {
        let (sw, ports) = adapter(2)?;
        let buffers = sw.live_buffers();
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        assert_eq!(send_udp(a, b, 64, 100)?, 64);
        // And back.
        assert_eq!(send_udp(b, a, 16, 1400)?, 16);
        // A sender counts a packet when its NAPI reaps the completion, which on another CPU may
        // come after the receiver counted the packet: wait for both sides (up to 20 s).
        let counted = || {
            let (sa, sb) = (stats(a), stats(b));
            sa.tx_packets >= 64 && sb.rx_packets >= 64 && sb.tx_packets >= 16 && sa.rx_packets >= 16
        };
        for _ in 0..20_000 {
            if counted() {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        let (sa, sb) = (stats(a), stats(b));
        // The stack's own IPv6 packets (neighbour discovery) travel too.
        assert!(sa.tx_packets >= 64 && sb.rx_packets >= 64);
        assert!(sb.tx_packets >= 16 && sa.rx_packets >= 16);
        assert!(sb.rx_bytes >= 64 * (14 + 20 + 8 + 100));
        assert_eq!(
            sa.tx_errors + sa.rx_errors + sb.rx_dropped + sb.tx_errors,
            0
        );
        // ethtool -S: the port counters, then those of each queue; they add up to the totals.
        let n = Port::get_sset_count(a, SS_STATS)? as usize;
        let port = PORT_STATS.len();
        let per_queue = QUEUE_STATS.len();
        assert_eq!(n, port + 4 * per_queue);
        let mut v = KVec::from_elem(0u64, n, GFP_KERNEL)?;
        Port::get_ethtool_stats(a, &mut v);
        let tx: u64 = (0..4).map(|q| v[port + q * per_queue]).sum();
        // The stack may send (IPv6 neighbour discovery) meanwhile: the queues' sum read between
        // two readings of the total lies between them.
        assert!(sa.tx_packets <= tx && tx <= stats(a).tx_packets);
        // RSS spread the flows over more than one receive queue.
        let used = b.data().rx_queues_used();
        assert!(used > 1);
        // The device counts a packet before the poll that receives or completes it, and the
        // stack's own packets (IPv6 neighbour discovery, MLD after the carrier came on) keep
        // coming: compare at a moment when nothing is in between.
        let agree = || {
            let d = sw.device_stats();
            let (sa, sb) = (stats(a), stats(b));
            d.datapath.rx_packets == sa.rx_packets + sb.rx_packets
                && d.datapath.tx_packets == sa.tx_packets + sb.tx_packets
        };
        let mut agreed = agree();
        for _ in 0..20_000 {
            if agreed {
                break;
            }
            fsleep(Delta::from_millis(1));
            agreed = agree();
        }
        assert!(agreed);
        let d = sw.device_stats();
        assert_eq!(d.datapath.wqe_faults + d.datapath.dma_faults, 0);
        assert_eq!(d.protocol_errors, 0);
        close(a);
        close(b);
        let d = sw.device_stats();
        assert_eq!((d.live_eqs, d.live_wq_objs, d.live_regions), (0, 0, 0));
        assert_eq!(sw.live_buffers(), buffers);
        Ok(())
    }

    #[test]
    fn a_port_with_steering_off_drops_and_counts() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        let f = frame(b.mac_address(), a.mac_address(), IPPROTO_UDP, 7, 64)?;
        a.queue_xmit(skb(&f, IPPROTO_UDP)?)?;
        for _ in 0..20_000 {
            if stats(a).tx_packets >= 1 {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        let d = sw.device_stats().datapath;
        assert!(d.tx_packets >= 1);
        assert_eq!(d.rx_no_steering, d.tx_packets);
        assert_eq!(d.rx_packets, 0);
        close(a);
        Ok(())
    }

    #[test]
    fn vlan_tagged_packets_use_the_long_oob_and_arrive() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        for i in 0..8u16 {
            let f = frame(b.mac_address(), a.mac_address(), IPPROTO_UDP, 2000 + i, 300)?;
            let mut s = skb(&f, IPPROTO_UDP)?;
            // VLAN 5, priority 3: inserted by the device from the long OOB.
            s.put_vlan_tag(0x8100, (3 << 13) | 5);
            a.queue_xmit(s)?;
        }
        assert_eq!(wait_rx(b, 8), 8);
        let d = sw.device_stats();
        // A lower bound only (the stack's own packets travel too): tagged frames on the wire.
        assert!(d.datapath.tx_bytes >= 8 * (14 + 4 + 20 + 8 + 300));
        assert_eq!(d.datapath.wqe_faults, 0);
        assert_eq!(stats(a).tx_errors, 0);
        close(a);
        close(b);
        Ok(())
    }

    #[test]
    fn tso_is_segmented_by_the_mss_with_checksums() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        let f = frame(b.mac_address(), a.mac_address(), IPPROTO_TCP, 5555, 4000)?;
        let mut s = skb(&f, IPPROTO_TCP)?;
        s.set_gso(1000, GSO_TCPV4, 4)?;
        a.queue_xmit(s)?;
        // Four segments arrive, each with its checksums verified by the receiving device.
        assert_eq!(wait_rx(b, 4), 4);
        let d = sw.device_stats().datapath;
        assert_eq!(d.tso_packets, 1);
        assert_eq!(stats(a).tx_errors + stats(b).rx_dropped, 0);
        // The queue statistics count it as the device's segmentation (`tx-hw-gso-*`, what
        // hw/tso.py reads) once completed: one packet of 4054 bytes, four on the wire, each with
        // the 54 bytes of headers.
        let tso = || {
            let rtnl = rtnl_lock();
            a.queue_stats_total(&rtnl).map(|(_, tx)| {
                (
                    tx.hw_gso_packets,
                    tx.hw_gso_bytes,
                    tx.hw_gso_wire_packets,
                    tx.hw_gso_wire_bytes,
                )
            })
        };
        for _ in 0..5000 {
            if tso().and_then(|t| t.0) == Some(1) {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        assert_eq!(
            tso(),
            Some((Some(1), Some(4054), Some(4), Some(4054 + 3 * 54)))
        );
        close(a);
        close(b);
        Ok(())
    }

    #[test]
    fn traffic_resumes_after_mtu_channels_and_ring_changes() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        assert_eq!(send_udp(a, b, 8, 200)?, 8);
        {
            let rtnl = rtnl_lock();
            Port::change_mtu(b, 9000, &rtnl)?;
            Port::change_mtu(a, 9000, &rtnl)?;
        }
        // Jumbo frames now fit the receive pages (compound pages), more than a page's worth of
        // frames per queue at once.
        assert_eq!(send_udp(a, b, 100, 8000)?, 100);
        assert_eq!(sw.device_stats().datapath.rx_no_buffer, 0);
        {
            let rtnl = rtnl_lock();
            let two = Channels {
                combined_count: 2,
                ..Channels::default()
            };
            Port::set_channels(b, &two, &rtnl)?;
            let mut ring = RingParam::default();
            Port::get_ringparam(a, &mut ring);
            ring.rx_pending = 128;
            ring.tx_pending = 128;
            Port::set_ringparam(a, &ring, &rtnl)?;
        }
        assert!(a.data().holds_lease() && b.data().holds_lease());
        assert_eq!(send_udp(a, b, 32, 1000)?, 32);
        assert_eq!(send_udp(b, a, 8, 1000)?, 8);
        let d = sw.device_stats();
        assert_eq!(d.protocol_errors, 0);
        assert_eq!(d.datapath.rx_no_buffer, 0);
        close(a);
        close(b);
        let d = sw.device_stats();
        assert_eq!((d.live_eqs, d.live_wq_objs, d.live_regions), (0, 0, 0));
        Ok(())
    }

    #[test]
    fn malformed_send_wqes_are_counted_faults_with_error_completions() -> Result {
        let sw = SwAdapter::new(
            SwConfig {
                num_ports: 1,
                ..SwConfig::default()
            },
            false,
        )?;
        let adapter = sw.adapter();
        let ctx = adapter.objects();
        let caps = *adapter.caps();
        let vport = adapter.ports().first().ok_or(EINVAL)?.handle;
        let eq = EventQueue::new(&ctx, 4096, 1, caps.pdid, caps.doorbell)?;
        let sq = WqObject::new(&ctx, vport, WqKind::Send, 4096, 4096, &eq)?;
        let buf = adapter.alloc_dma(4096)?;
        let ring = |tail: u32| -> Result {
            adapter.ring_doorbell(
                queue_type::SQ,
                SqDoorbell::new(sq.wq_id(), tail)?.into_raw(),
            )
        };
        let wait_cqes = |n: u64| {
            for _ in 0..20_000 {
                if sw.device_stats().datapath.cqes >= n {
                    break;
                }
                fsleep(Delta::from_millis(1));
            }
            sw.device_stats().datapath.cqes
        };
        let cqe_type_at = |i: usize| tx_cqe_at(&sq, i).map(|(info, ty)| (ty, info));
        let mut oob = TxShortOob::zeroed();
        oob.word0 = oob.word0.try_with_vcq_num(sq.cq_id())?;

        // 1: no SGE at all.
        sq.wq_mem().write_obj(0, &WqeHeader::new(0, 8, 0)?)?;
        ring(32)?;
        assert_eq!(wait_cqes(1), 1);
        let (ty, info) = cqe_type_at(0)?;
        assert_eq!(ty, cqe_type::TX_INVALID_OOB);
        assert_eq!(info.wq_num().get(), sq.wq_id());
        assert!(info.is_sq().into_bool());
        assert_eq!(info.owner_bits().get(), 1);

        // 2: an SGE pointing at memory the driver never mapped.
        let wqe_at = |off: usize, sge: Sge, oob: &TxShortOob| write_send_wqe(&sq, off, sge, oob);
        let bad = Sge {
            address: 0x1000,
            mem_key: caps.gpa_mkey,
            size: 64,
        };
        wqe_at(32, bad, &oob)?;
        ring(64)?;
        assert_eq!(wait_cqes(2), 2);
        assert_eq!(cqe_type_at(1)?.0, cqe_type::TX_HDR_PROCESSING_ERROR);

        // 3: the OOB names another CQ.
        let f = frame([0xff; 6], [2, 0, 0, 0, 0, 1], IPPROTO_UDP, 1, 18)?;
        buf.write_bytes(0, &f)?;
        let good = Sge {
            address: buf.dma_addr(),
            mem_key: caps.gpa_mkey,
            size: f.len() as u32,
        };
        let mut other = oob;
        other.word0 = other.word0.try_with_vcq_num(sq.cq_id() + 100)?;
        wqe_at(64, good, &other)?;
        ring(96)?;
        assert_eq!(wait_cqes(3), 3);
        assert_eq!(cqe_type_at(2)?.0, cqe_type::TX_INVALID_OOB);

        // 4: a well-formed WQE is sent (and dropped at the port, whose steering is off).
        wqe_at(96, good, &oob)?;
        ring(128)?;
        assert_eq!(wait_cqes(4), 4);
        assert_eq!(cqe_type_at(3)?.0, cqe_type::TX_OKAY);

        // 5: a tail beyond the queue: everything posted is dropped with one error CQE.
        ring(128 + 8192)?;
        assert_eq!(wait_cqes(5), 5);
        assert_eq!(cqe_type_at(4)?.0, cqe_type::TX_INVALID_OOB);

        let d = sw.device_stats().datapath;
        assert_eq!(d.wqe_faults, 4);
        assert_eq!(d.dma_faults, 1);
        assert_eq!((d.tx_packets, d.rx_no_steering), (1, 1));
        let q = sw.queue_stats(true, sq.wq_id()).ok_or(EINVAL)?;
        assert_eq!((q.packets, q.faults), (1, 4));
        // The long OOB is 24 bytes: a WQE claiming a 16-byte OOB is malformed too.
        assert_eq!(core::mem::size_of::<TxOob>(), 24);
        drop(sq);
        drop(eq);
        drop(buf);
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs, s.live_regions), (0, 0, 0));
        assert_eq!(s.protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn steady_state_allocates_no_device_buffers() -> Result {
        let (sw, ports) = adapter(2)?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        open(a)?;
        open(b)?;
        let buffers = lasting_buffers(&sw);
        // A page per receive position and spare pages, all mapped at open.
        assert!(sw.live_streams() >= 2 * 4 * 128);
        let sum = |port: &Registration<'_, Port>, get: fn(&Counts) -> u64| -> u64 {
            port.data()
                .queue_counters()
                .iter()
                .map(|c| get(&c.counts()))
                .sum()
        };
        for size in [64, 1400, 64] {
            assert_eq!(send_udp(a, b, 200, size)?, 200);
        }
        // The receive pages came back from the stack and were posted again: no buffer, no
        // mapping and no page was allocated for the 600 packets. (Once the last completions
        // are reaped: under load a sent packet's mapping can outlive any fixed window, so
        // this waits, up to 20 s, for the count to come back; `buffers` is at least what the
        // open left, as it may include a packet of the stack's that was in flight then.)
        let mut settled = sw.live_buffers() <= buffers;
        for _ in 0..20_000 {
            if settled {
                break;
            }
            fsleep(Delta::from_millis(1));
            settled = sw.live_buffers() <= buffers;
        }
        assert!(settled);
        assert_eq!(sum(b, |c| c.rx_page_allocs), 0);
        assert_eq!(sum(b, |c| c.rx_dropped), 0);
        assert!(sum(b, |c| c.rx_packets) >= 600);
        close(a);
        close(b);
        Ok(())
    }
}
