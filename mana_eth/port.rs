// SPDX-License-Identifier: GPL-2.0-only

//! One network interface per vport.
//!
//! Opening the interface takes the vport's Ethernet lease from the core's arbiter (which
//! programs CONFIG_VPORT_TX with the Ethernet PD and doorbell); stopping it releases the lease
//! (RX steering disabled first). While an RDMA PD holds the vport, `ip link set up` fails with
//! EBUSY and the arbiter logs who holds it and what to do. Reconfiguring an up interface keeps
//! the lease throughout.
//!
//! Opening follows the C driver's order: CONFIG_VPORT_TX (through the lease), then per queue an
//! event queue and a send and a receive WQ object with their completion queues, then
//! CONFIG_VPORT_RX steering to the receive queues. Stopping disables steering first, then
//! destroys the queues, then gives the vport back.
//!
//! # Transmit timeouts
//!
//! When a send queue stays stopped longer than the watchdog timeout (15 s, as the C driver),
//! the core calls [`Port::tx_timeout`]: it logs the queue and how long it was stuck, counts the
//! timeout, and schedules a reset. The reset runs under rtnl and rebuilds every queue of the
//! interface like a reconfiguration, keeping the vport lease throughout, so RDMA cannot take
//! the vport meanwhile. It does nothing if the interface went down before it ran. If the queues
//! cannot be rebuilt, the interface is taken down (vport freed) with a log line saying so.
//!
//! # XDP
//!
//! Attaching, replacing or detaching an XDP program (`ip link set dev DEV xdp ...`) swaps the
//! program the channels read under RCU, and nothing else: the receive pages always have XDP's
//! headroom, so the queues are not rebuilt and the vport lease is not even touched (C detaches
//! and re-attaches the port, a window in which RDMA could take the vport). While a
//! single-buffer program is attached the MTU is limited to what one page holds (`max_mtu`
//! lowered; attaching one with a larger MTU is refused with a message saying so); a program for
//! multi-buffer frames (`xdp.frags`) gets jumbo frames in one compound page, at any MTU.
//!
//! The data path (packets, completions, NAPI) is in [`crate::datapath`].

use core::num::NonZeroU32;

use kernel::{
    device,
    netdev::skb::Skb,
    netdev::{
        self,
        ethtool::{
            self,
            Channels,
            Coalesce,
            DrvInfo,
            LinkSettings,
            RingParam,
            RxfhGet,
            RxfhSet, //
        },
        queue_stats::{
            QueueStats,
            RxQueueStats,
            TxQueueStats, //
        },
        rtnl_lock,
        xdp::{
            self,
            BpfProg,
            ExtAck,
            FrameBatch,
            ProgSlot, //
        },
        Device,
        DeviceHandle,
        Features,
        QueueKind,
        Registration,
        Rtnl,
        RtnlOuter,
        Stats64,
        TxResult,
        UnregisteredDevice,
        ETH_MIN_MTU, //
    },
    new_mutex,
    new_spinlock_irq,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex,
        SpinLockIrq, //
    }, //
};

use crate::datapath::{
    self,
    Channel,
    ChannelSet,
    Counts,
    PortCounters,
    QueueCounters,
    TX_MAX_PACKET,
    XDP_MAX_MTU, //
};
use mana_gdma::{
    hwc::LinkListener,
    shared_vport::{
        EthernetLease,
        VportTx, //
    },
    wire::mana_msgs::{
        hash_type,
        HASH_KEY_SIZE, //
    },
    Adapter, //
};

/// The Ethernet header the adapter MTU includes.
const ETH_HEADER: u32 = 14;
/// The most queues an interface gets (the C driver's default).
const MAX_QUEUES: u32 = 16;

/// Ring sizes (entries) as the C driver offers them: defaults and ranges, powers of two.
const RX_RING_DEFAULT: u32 = 1024;
const TX_RING_DEFAULT: u32 = 256;
const RING_MIN: u32 = 128;
const RX_RING_MAX: u32 = 8192;
const TX_RING_MAX: u32 = 16384;
/// The largest RSS indirection table.
const MAX_INDIRECTION: usize = 512;
/// How long a send queue may stay stopped before it is reset (the C driver's).
const TX_TIMEOUT_MS: u32 = 15_000;
/// The private flags, by bit (`ethtool --show-priv-flags`), as the C driver names them.
const PRIV_FLAGS: [&str; 1] = ["full-page-rx"];
/// `full-page-rx`: one receive buffer per page (C: `MANA_PRIV_FLAG_USE_FULL_PAGE_RXBUF`). The
/// C driver packs several buffers into a page (page pool fragments) unless the flag is set, an
/// XDP program is attached, or the MTU leaves room for one buffer only; in those cases it keeps
/// the flag and rebuilds nothing. mana_eth's layout is always one buffer per page
/// ([`crate::datapath`], receive buffers): the skb and the XDP buffer are built over a page
/// the driver owns alone, with XDP's headroom. So the flag is the C driver's forced case: kept
/// and reported, the queues and the vport lease untouched.
pub(crate) const PRIV_FULL_PAGE_RX: u32 = 1 << 0;
/// The private flags the driver knows.
const PRIV_ALL: u32 = PRIV_FULL_PAGE_RX;
/// No reset scheduled (see [`PortData::reset_queue`]).
const NO_RESET: u32 = u32::MAX;

/// The configuration an up interface's queues are built from; changed by ethtool. The
/// indirection table (2 KiB) is on the heap: a reconfiguration holds two configurations, and
/// the stack of an ethtool or rtnetlink request must not carry them.
pub(crate) struct PortConfig {
    pub(crate) rx_ring: u32,
    pub(crate) tx_ring: u32,
    pub(crate) rss_key: [u8; HASH_KEY_SIZE],
    /// Indirection entries in use (the device's table size).
    pub(crate) indirection_len: usize,
    /// Channel index per indirection entry.
    pub(crate) indirection: KBox<[u32; MAX_INDIRECTION]>,
    /// The packet types the RSS hash covers (NDIS hash types, `hash_type`); changed by
    /// `ethtool -N DEV rx-flow-hash`.
    pub(crate) hash_types: u16,
    /// The private flags (`PRIV_*`, `ethtool --set-priv-flags`).
    pub(crate) priv_flags: u32,
}

impl PortConfig {
    fn new(indirection_len: usize, channels: u32) -> Result<Self> {
        let mut indirection = Self::new_table()?;
        let channels = NonZeroU32::new(channels).unwrap_or(NonZeroU32::MIN);
        for (i, e) in (0u32..).zip(indirection.iter_mut()) {
            *e = i % channels;
        }
        Ok(Self {
            rx_ring: RX_RING_DEFAULT,
            tx_ring: TX_RING_DEFAULT,
            rss_key: DEFAULT_RSS_KEY,
            indirection_len,
            indirection,
            hash_types: hash_type::ENABLE_SUPPORTED,
            priv_flags: 0,
        })
    }

    /// A copy (the table is allocated anew).
    fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            rx_ring: self.rx_ring,
            tx_ring: self.tx_ring,
            rss_key: self.rss_key,
            indirection_len: self.indirection_len,
            indirection: {
                let mut table = Self::new_table()?;
                table.copy_from_slice(&self.indirection[..]);
                table
            },
            hash_types: self.hash_types,
            priv_flags: self.priv_flags,
        })
    }

    /// A zeroed indirection table, made in place on the heap.
    fn new_table() -> Result<KBox<[u32; MAX_INDIRECTION]>> {
        KBox::init(pin_init::init_zeroed(), GFP_KERNEL)
    }
}

/// The default Toeplitz key (the RSS verification key of Microsoft's specification), used until
/// ethtool sets one.
const DEFAULT_RSS_KEY: [u8; HASH_KEY_SIZE] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The device queues of an up interface: its channels.
struct Queues {
    channels: ChannelSet,
}

impl Queues {
    /// Builds the channels of `cfg`, starts them and steers the vport to them; then lets
    /// `start_xmit` reach them and ties each queue to its channel's NAPI context.
    fn build(dev: &Device<Port>, count: u32, cfg: &PortConfig, rtnl: &Rtnl) -> Result<Self> {
        let data = dev.data();
        let adapter = &data.adapter;
        let vport = adapter
            .ports()
            .get(data.index as usize)
            .ok_or(EINVAL)?
            .handle;
        let mut channels = ChannelSet::new(
            dev,
            adapter,
            vport,
            count,
            cfg.tx_ring,
            cfg.rx_ring,
            &data.counters,
            &data.xdp,
        )?;
        channels.start()?;
        steer(dev, &channels, cfg, cfg.hash_types)?;
        let mut live = KVec::with_capacity(channels.list.len(), GFP_KERNEL)?;
        for ch in channels.list.iter() {
            live.push(ch.clone(), GFP_KERNEL)?;
        }
        // `unpublish` undoes both steps.
        let linked = (0u32..).zip(channels.list.iter()).try_for_each(|(q, ch)| {
            dev.set_queue_napi(QueueKind::Rx, q, Some(ch), rtnl)?;
            dev.set_queue_napi(QueueKind::Tx, q, Some(ch), rtnl)
        });
        if let Err(e) = linked {
            unlink_queues(dev, rtnl);
            return Err(e);
        }
        let old = core::mem::replace(&mut *data.live.lock(), live);
        drop(old);
        Ok(Self { channels })
    }

    /// No queues (while an interface is rebuilt).
    fn empty(dev: &Device<Port>) -> Self {
        Self {
            channels: ChannelSet::empty(&dev.data().adapter),
        }
    }
}

/// Steers the vport of `dev` to `channels` by `cfg`'s indirection table and key, hashing the
/// packet types `hash_types` (MANA_CONFIG_VPORT_RX). The caller holds the vport's lease.
fn steer(dev: &Device<Port>, channels: &ChannelSet, cfg: &PortConfig, hash_types: u16) -> Result {
    let data = dev.data();
    let mut table = KVec::with_capacity(cfg.indirection_len, GFP_KERNEL)?;
    for channel in cfg.indirection.get(..cfg.indirection_len).ok_or(EINVAL)? {
        table.push(
            channels.rq_handle(*channel as usize).ok_or(EINVAL)?,
            GFP_KERNEL,
        )?;
    }
    data.adapter
        .enable_rx_steering_hashed(data.index, &table, &cfg.rss_key, hash_types)
}

/// The NDIS hash types behind an ethtool flow type: that of its IP version and, for TCP and
/// UDP, that of its transport (0 for the other IP protocols, hashed on their addresses).
fn flow_hash_types(flow_type: u32) -> Option<(u16, u16)> {
    Some(match flow_type {
        ethtool::TCP_V4_FLOW => (hash_type::IPV4, hash_type::TCP_IPV4),
        ethtool::UDP_V4_FLOW => (hash_type::IPV4, hash_type::UDP_IPV4),
        ethtool::IPV4_FLOW | ethtool::SCTP_V4_FLOW | ethtool::AH_ESP_V4_FLOW => {
            (hash_type::IPV4, 0)
        }
        ethtool::TCP_V6_FLOW => (hash_type::IPV6, hash_type::TCP_IPV6),
        ethtool::UDP_V6_FLOW => (hash_type::IPV6, hash_type::UDP_IPV6),
        ethtool::IPV6_FLOW | ethtool::SCTP_V6_FLOW | ethtool::AH_ESP_V6_FLOW => {
            (hash_type::IPV6, 0)
        }
        _ => return None,
    })
}

/// The name `ethtool` gives flow type `flow_type`, for log lines.
fn flow_name(flow_type: u32) -> &'static str {
    match flow_type {
        ethtool::TCP_V4_FLOW => "tcp4",
        ethtool::UDP_V4_FLOW => "udp4",
        ethtool::SCTP_V4_FLOW => "sctp4",
        ethtool::AH_ESP_V4_FLOW => "ah4/esp4",
        ethtool::IPV4_FLOW => "ip4",
        ethtool::TCP_V6_FLOW => "tcp6",
        ethtool::UDP_V6_FLOW => "udp6",
        ethtool::SCTP_V6_FLOW => "sctp6",
        ethtool::AH_ESP_V6_FLOW => "ah6/esp6",
        ethtool::IPV6_FLOW => "ip6",
        _ => "other",
    }
}

/// The RSS hash covers the source and destination addresses.
const RXH_ADDRS: u32 = ethtool::RXH_IP_SRC | ethtool::RXH_IP_DST;
/// The RSS hash covers the addresses and the TCP/UDP ports.
const RXH_ADDRS_PORTS: u32 = RXH_ADDRS | ethtool::RXH_L4_B_0_1 | ethtool::RXH_L4_B_2_3;

/// The header fields (`RXH_*`) hashed for packets of the flow type of `(ip, l4)` when the
/// device hashes the packet types `enabled`.
fn hashed_fields(enabled: u16, (ip, l4): (u16, u16)) -> u32 {
    if l4 != 0 && enabled & l4 != 0 {
        RXH_ADDRS_PORTS
    } else if enabled & ip != 0 {
        RXH_ADDRS
    } else {
        0
    }
}

/// Stops transmission, hides the channels from `start_xmit` and unties the queues from their
/// NAPI contexts, before the channels are destroyed.
fn unpublish(dev: &Device<Port>, rtnl: &Rtnl) {
    dev.tx_disable();
    let old = core::mem::take(&mut *dev.data().live.lock());
    // `ndo_xdp_xmit` (softirq, under RCU) may have taken a channel from the list before it
    // was emptied: wait for it, so that the list's references are the last ones.
    kernel::sync::rcu::synchronize_rcu();
    drop(old);
    unlink_queues(dev, rtnl);
}

/// Unties every queue from its NAPI context (the device lets go of the contexts).
fn unlink_queues(dev: &Device<Port>, rtnl: &Rtnl) {
    for q in 0..dev.num_rx_queues() {
        let _ = dev.set_queue_napi::<datapath::ChannelPoll>(QueueKind::Rx, q, None, rtnl);
    }
    for q in 0..dev.num_tx_queues() {
        let _ = dev.set_queue_napi::<datapath::ChannelPoll>(QueueKind::Tx, q, None, rtnl);
    }
}

/// What an up interface holds. Taken apart in order by [`Port::stop`].
struct Active {
    lease: EthernetLease,
    queues: Queues,
}

/// The private data of one interface.
#[pin_data]
pub(crate) struct PortData {
    adapter: Arc<Adapter>,
    index: u32,
    /// The vport lease and the queues, while the interface is up.
    #[pin]
    active: Mutex<Option<Active>>,
    /// What the queues are built from. Lock order: `active`, then `config`.
    #[pin]
    config: Mutex<PortConfig>,
    tx_dropped: Atomic<u64>,
    /// Counters per queue pair, kept across rebuilds.
    counters: Arc<PortCounters>,
    /// The channels `start_xmit` may use (a copy of the up interface's list).
    #[pin]
    live: SpinLockIrq<KVec<Arc<Channel>>>,
    /// The send queue whose timeout scheduled a reset not run yet, or [`NO_RESET`].
    reset_queue: Atomic<u32>,
    /// Transmit timeouts the core reported.
    tx_timeouts: Atomic<u64>,
    /// Resets after a transmit timeout that rebuilt the queues, and those that failed.
    tx_timeout_resets: Atomic<u64>,
    tx_timeout_reset_failures: Atomic<u64>,
    /// The XDP program the channels run (see the module documentation).
    xdp: Arc<ProgSlot>,
    /// The largest MTU the adapter allows (without an XDP program).
    max_mtu: u32,
}

impl PortData {
    /// Whether the interface holds its vport's lease.
    pub(crate) fn holds_lease(&self) -> bool {
        self.active.lock().is_some()
    }

    /// The counters of each queue pair.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn queue_counters(&self) -> &[QueueCounters] {
        &self.counters
    }

    /// The NAPI id and interrupt of each channel of the up interface.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn channel_napis(&self) -> Result<KVec<(u32, Option<u32>)>> {
        let live = self.live.lock();
        let mut ids = KVec::with_capacity(live.len(), GFP_ATOMIC)?;
        for ch in live.iter() {
            ids.push((ch.id(), ch.irq()), GFP_ATOMIC)?;
        }
        Ok(ids)
    }

    /// Received packets whose checksums the device verified.
    pub(crate) fn rx_csum_ok(&self) -> u64 {
        self.counters
            .iter()
            .fold(0, |sum, c| sum.wrapping_add(c.counts().rx_csum_ok))
    }

    /// The number of receive queues that received packets.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn rx_queues_used(&self) -> usize {
        self.counters
            .iter()
            .filter(|c| c.counts().rx_packets > 0)
            .count()
    }

    /// Transmit timeouts so far, and the resets that followed them: (timeouts, resets, failed
    /// resets).
    pub(crate) fn tx_timeout_counts(&self) -> (u64, u64, u64) {
        (
            self.tx_timeouts.load(Relaxed),
            self.tx_timeout_resets.load(Relaxed),
            self.tx_timeout_reset_failures.load(Relaxed),
        )
    }

    /// Whether a transmit-timeout reset is scheduled and has not started yet. (A reset that
    /// started runs under the rtnl lock, so with the lock held this is false exactly when no
    /// reset is pending or running.)
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn tx_timeout_reset_pending(&self) -> bool {
        self.reset_queue.load(Relaxed) != NO_RESET
    }

    /// The number of send queues the interface has on the device (0 while down).
    pub(crate) fn device_queues(&self) -> usize {
        self.active
            .lock()
            .as_ref()
            .map_or(0, |a| a.queues.channels.list.len())
    }
}

/// The netdev operations of a MANA port.
pub(crate) struct Port;

#[vtable]
impl netdev::Driver for Port {
    type Data = PortData;

    fn open(dev: &Device<Self>, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        let caps = data.adapter.caps();
        let tx = VportTx {
            pd: caps.pdid,
            doorbell: caps.doorbell,
        };
        // The arbiter logs a refusal (owner and remedy) itself. From here on, every error path
        // drops what it built, and dropping the lease frees the vport.
        let lease = data
            .adapter
            .vports()
            .take_ethernet(data.index, dev.name(), tx)?;
        let mut active = data.active.lock();
        let cfg = data.config.lock();
        let queues = Queues::build(dev, dev.real_num_tx_queues(), &cfg, rtnl).inspect_err(|e| {
            pr_err!("{}: cannot create the device queues: {:?}\n", dev.name(), e)
        })?;
        *active = Some(Active { lease, queues });
        drop(active);
        if data.adapter.hwc().link_up() {
            dev.carrier_on();
        } else {
            dev.carrier_off();
        }
        dev.tx_start_all_queues();
        Ok(())
    }

    fn stop(dev: &Device<Self>, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        // A reset scheduled by a timeout has nothing left to do. If its work already runs, it
        // waits for the rtnl lock held here and then finds no reset to do.
        data.reset_queue.store(NO_RESET, Relaxed);
        dev.cancel_rtnl_work();
        dev.carrier_off();
        unpublish(dev, rtnl);
        let Some(Active { mut lease, queues }) = data.active.lock().take() else {
            return Ok(());
        };
        // Steering off before the receive queues go (no stale steering), queues destroyed
        // while the vport is still ours, then the vport is given back.
        let quiesced = lease.reconfigure(|r| r.quiesce_rx());
        drop(queues);
        quiesced.and(lease.release())
    }

    fn start_xmit(dev: &Device<Self>, skb: Skb) -> TxResult {
        let data = dev.data();
        let channel = data.live.lock().get(skb.queue_mapping() as usize).cloned();
        match channel {
            // Not the last reference: `unpublish` disables transmission before the channels
            // go, so they outlive every transmit call.
            Some(ch) => datapath::xmit(dev, &ch, skb),
            None => {
                data.tx_dropped.fetch_add(1, Relaxed);
                drop(skb);
                TxResult::Consumed
            }
        }
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        let data = dev.data();
        stats.tx_dropped = data.tx_dropped.load(Relaxed);
        // Counters wrap (as the C stack's `u64_stats` do); so do their sums.
        let add = |sum: &mut u64, v: u64| *sum = sum.wrapping_add(v);
        for c in data.counters.iter() {
            let c = c.counts();
            add(&mut stats.tx_packets, c.tx_packets);
            add(&mut stats.tx_bytes, c.tx_bytes);
            add(&mut stats.tx_errors, c.tx_errors);
            add(&mut stats.tx_dropped, c.tx_dropped);
            add(&mut stats.rx_packets, c.rx_packets);
            add(&mut stats.rx_bytes, c.rx_bytes);
            add(&mut stats.rx_dropped, c.rx_dropped);
            add(&mut stats.rx_errors, c.rx_errors);
        }
    }

    fn tx_timeout(dev: &Device<Self>, txqueue: u32) {
        let data = dev.data();
        data.tx_timeouts.fetch_add(1, Relaxed);
        // Called again each watchdog period the queue stays stopped: one reset, one log line.
        if data
            .reset_queue
            .cmpxchg(NO_RESET, txqueue, Relaxed)
            .is_err()
        {
            return;
        }
        let stuck_ms = dev
            .tx_queue(txqueue)
            .map_or(0, |q| q.ms_since_last_transmit());
        kernel::netdev_warn!(
            dev,
            "TX queue {} stuck for {} ms (no completions from the device); resetting the interface's queues\n",
            txqueue,
            stuck_ms
        );
        dev.schedule_rtnl_work();
    }

    fn rtnl_work(dev: &Device<Self>, rtnl: &RtnlOuter) {
        let data = dev.data();
        let queue = data.reset_queue.xchg(NO_RESET, Relaxed);
        // Down since the timeout (`stop` cleared the request): nothing to reset.
        if queue == NO_RESET || !dev.is_running() || !data.holds_lease() {
            return;
        }
        Self::reset_after_tx_timeout(dev, rtnl, queue);
    }

    fn xdp_setup(
        dev: &Device<Self>,
        prog: Option<BpfProg>,
        extack: &ExtAck,
        rtnl: &Rtnl,
    ) -> Result {
        let data = dev.data();
        // A frame is always in one buffer (a compound page for a jumbo MTU). A program for
        // frames in several buffers (`xdp.frags`) takes such a buffer at any MTU; another one
        // needs each frame in one page.
        let one_page = prog.as_ref().is_some_and(|p| !p.xdp_has_frags());
        let max_mtu = if one_page {
            if dev.mtu() > XDP_MAX_MTU {
                kernel::netdev_err!(
                    dev,
                    "XDP needs each frame in one page: MTU {} is above {}; lower it first (ip link set dev {} mtu {})\n",
                    dev.mtu(),
                    XDP_MAX_MTU,
                    dev.name(),
                    XDP_MAX_MTU
                );
                extack.set_message(
                    c"mana_eth: MTU too large for XDP (one page per frame); lower the MTU first",
                );
                return Err(EOPNOTSUPP);
            }
            data.max_mtu.min(XDP_MAX_MTU)
        } else {
            data.max_mtu
        };
        dev.set_max_mtu(max_mtu, rtnl)?;
        // The channels see the new program at their next frame; the old one is freed after
        // an RCU grace period, once no poll runs it any more. Queues and lease stay as they are.
        drop(data.xdp.replace(prog, rtnl));
        Ok(())
    }

    fn xdp_xmit(dev: &Device<Self>, frames: &mut FrameBatch<'_>, _flush: bool) {
        let data = dev.data();
        // The doorbell is rung for each frame (no `xmit_more` outside the stack), so there is
        // nothing left to flush. The queue of this CPU, as C chooses it.
        let queues = dev.real_num_tx_queues().max(1);
        let index = xdp::current_cpu() % queues;
        let channel = data.live.lock().get(index as usize).cloned();
        // Down or being rebuilt: the core frees the frames.
        if let Some(ch) = channel {
            datapath::xdp_xmit(dev, &ch, frames);
        }
    }

    fn change_mtu(dev: &Device<Self>, new_mtu: u32, rtnl: &Rtnl) -> Result {
        if !dev.data().holds_lease() {
            return dev.set_mtu(new_mtu, rtnl);
        }
        // Up: the receive buffers are sized by the MTU, so the queues are rebuilt under the
        // held lease; the vport is never free in between and RDMA cannot take it.
        let channels = dev.real_num_tx_queues();
        Self::reconfigure(dev, rtnl, |_, rtnl| {
            dev.set_mtu(new_mtu, rtnl)?;
            Ok(channels)
        })
    }
}

impl Port {
    /// Rebuilds the queues of the up interface `dev` after send queue `queue` timed out,
    /// keeping the vport lease (see the module documentation).
    fn reset_after_tx_timeout(dev: &Device<Self>, rtnl: &RtnlOuter, queue: u32) {
        let data = dev.data();
        let channels = dev.real_num_tx_queues();
        match Self::reconfigure(dev, rtnl, |_, _| Ok(channels)) {
            Ok(()) => {
                data.tx_timeout_resets.fetch_add(1, Relaxed);
                kernel::netdev_info!(
                    dev,
                    "queues rebuilt after the TX timeout on queue {}\n",
                    queue
                );
            }
            Err(e) if data.device_queues() > 0 => {
                // The queues of the unchanged configuration were restored (or never torn down).
                data.tx_timeout_reset_failures.fetch_add(1, Relaxed);
                kernel::netdev_err!(
                    dev,
                    "reset after the TX timeout on queue {} failed ({:?}); the interface stays up with queues of its configuration\n",
                    queue,
                    e
                );
            }
            Err(e) => {
                data.tx_timeout_reset_failures.fetch_add(1, Relaxed);
                kernel::netdev_err!(
                    dev,
                    "reset after the TX timeout on queue {} failed: cannot rebuild the device queues ({:?}); taking the interface down (bring it up again with `ip link set dev {} up`)\n",
                    queue,
                    e,
                    dev.name()
                );
                dev.close(rtnl);
            }
        }
    }

    /// Applies `change` to the configuration; if the interface is up, rebuilds its queues from
    /// the new configuration under the held vport lease (RX steering off, old queues destroyed,
    /// new queues built and steered to, CONFIG_VPORT_TX sent again), so the vport is never free
    /// in between. On failure the old configuration is restored and rebuilt.
    ///
    /// The interface is detached from the stack (`netif_device_detach`) while its queues are
    /// rebuilt, as the C driver's `mana_detach()` does: its transmit queues are stopped then, and
    /// the core's transmit watchdog must not take a rebuild that outlasts the watchdog timeout
    /// (large rings on many channels; seconds under emulation) for a hung queue, and schedule a
    /// reset that rebuilds everything again. Attaching it again wakes the queues and restarts
    /// the watchdog, whatever the outcome.
    fn reconfigure(
        dev: &Device<Self>,
        rtnl: &Rtnl,
        change: impl FnOnce(&mut PortConfig, &Rtnl) -> Result<u32>,
    ) -> Result {
        let data = dev.data();
        let mut active = data.active.lock();
        let mut config = data.config.lock();
        let old_cfg = config.try_clone()?;
        let old_channels = dev.real_num_tx_queues();
        let mut new_cfg = config.try_clone()?;
        let channels = change(&mut new_cfg, rtnl)?;
        let Some(up) = &mut *active else {
            set_channels(dev, channels, rtnl)?;
            *config = new_cfg;
            return Ok(());
        };
        let Active { lease, queues } = up;
        dev.device_detach();
        let result = lease.reconfigure(|r| {
            r.quiesce_rx()?;
            // The old queues go before the new ones are built: the device's tables are finite.
            unpublish(dev, rtnl);
            *queues = Queues::empty(dev);
            let built = set_channels(dev, channels, rtnl)
                .and_then(|()| Queues::build(dev, channels, &new_cfg, rtnl));
            match built {
                Ok(q) => {
                    *queues = q;
                    *config = new_cfg;
                    r.reprogram_tx()
                }
                Err(e) => {
                    pr_err!(
                        "{}: reconfiguration failed ({:?}); restoring the previous one\n",
                        dev.name(),
                        e
                    );
                    set_channels(dev, old_channels, rtnl)?;
                    *queues = Queues::build(dev, old_channels, &old_cfg, rtnl)?;
                    r.reprogram_tx()?;
                    Err(e)
                }
            }
        });
        dev.device_attach();
        result
    }
}

fn set_channels(dev: &Device<Port>, channels: u32, rtnl: &Rtnl) -> Result {
    dev.set_real_num_tx_queues(channels, rtnl)?;
    dev.set_real_num_rx_queues(channels, rtnl)
}

/// What a port reports as its coalescing: one packet per receive completion, no interrupt
/// moderation (the device advertises neither CQE coalescing nor moderation).
const NO_COALESCING: Coalesce = Coalesce {
    rx_usecs: 0,
    rx_max_frames: 0,
    tx_usecs: 0,
    tx_max_frames: 0,
    use_adaptive_rx: false,
    use_adaptive_tx: false,
    rx_cqe_frames: 1,
    rx_cqe_nsecs: 0,
};

#[vtable]
impl ethtool::Operations for Port {
    // As the C driver: the parameters a device with moderation support could take.
    const SUPPORTED_COALESCE_PARAMS: u32 = ethtool::COALESCE_RX_CQE_FRAMES
        | ethtool::COALESCE_RX_USECS
        | ethtool::COALESCE_RX_MAX_FRAMES
        | ethtool::COALESCE_TX_USECS
        | ethtool::COALESCE_TX_MAX_FRAMES
        | ethtool::COALESCE_USE_ADAPTIVE_RX
        | ethtool::COALESCE_USE_ADAPTIVE_TX;

    fn get_drvinfo(dev: &Device<Self>, info: &mut DrvInfo) {
        info.set_driver(c"mana_eth");
        if let Ok(bus) = CString::try_from_fmt(fmt!("mana_gdma.{}", dev.data().adapter.id())) {
            info.set_bus_info(&bus);
        }
    }

    fn get_link(dev: &Device<Self>) -> bool {
        dev.carrier_ok()
    }

    fn get_coalesce(_dev: &Device<Self>, coalesce: &mut Coalesce) -> Result {
        *coalesce = NO_COALESCING;
        Ok(())
    }

    fn set_coalesce(dev: &Device<Self>, coalesce: &Coalesce, _rtnl: &Rtnl) -> Result {
        if *coalesce != NO_COALESCING {
            pr_err!(
                "{}: the device offers no interrupt moderation or CQE coalescing; only the reported settings (one packet per completion, no delays, not adaptive) are possible\n",
                dev.name()
            );
            return Err(EOPNOTSUPP);
        }
        Ok(())
    }

    fn get_ringparam(dev: &Device<Self>, ring: &mut RingParam) {
        let data = dev.data();
        let cfg = data.config.lock();
        ring.rx_max_pending = RX_RING_MAX;
        ring.tx_max_pending = TX_RING_MAX;
        ring.rx_pending = cfg.rx_ring;
        ring.tx_pending = cfg.tx_ring;
    }

    fn set_ringparam(dev: &Device<Self>, ring: &RingParam, rtnl: &Rtnl) -> Result {
        for (n, what) in [(ring.rx_pending, "rx"), (ring.tx_pending, "tx")] {
            if n < RING_MIN || !n.is_power_of_two() {
                pr_err!(
                    "{}: {} ring size {} must be a power of two of at least {}\n",
                    dev.name(),
                    what,
                    n,
                    RING_MIN
                );
                return Err(EINVAL);
            }
        }
        let channels = dev.real_num_tx_queues();
        Self::reconfigure(dev, rtnl, |cfg, _| {
            cfg.rx_ring = ring.rx_pending;
            cfg.tx_ring = ring.tx_pending;
            Ok(channels)
        })
    }

    fn get_channels(dev: &Device<Self>, ch: &mut Channels) {
        ch.max_combined = dev.num_tx_queues();
        ch.combined_count = dev.real_num_tx_queues();
    }

    fn set_channels(dev: &Device<Self>, ch: &Channels, rtnl: &Rtnl) -> Result {
        let Some(n) = NonZeroU32::new(ch.combined_count)
            .filter(|_| ch.rx_count == 0 && ch.tx_count == 0 && ch.other_count == 0)
        else {
            pr_err!("{}: only combined channels are supported\n", dev.name());
            return Err(EINVAL);
        };
        // A table the user set stays as it is (the ethtool core refuses fewer channels than
        // it uses); the driver's own table spreads over the new channels.
        let keep_table = dev.rxfh_configured();
        Self::reconfigure(dev, rtnl, |cfg, _| {
            let table = cfg
                .indirection
                .get_mut(..cfg.indirection_len)
                .ok_or(EINVAL)?;
            if !keep_table {
                for (i, e) in (0u32..).zip(table.iter_mut()) {
                    *e = i % n;
                }
            } else if let Some(used) = table.iter().find(|c| **c >= n.get()) {
                kernel::netdev_err!(
                    dev,
                    "cannot reduce to {} channels: the RSS indirection table uses channel {}; change it first (ethtool -X {} default or equal {})\n",
                    n.get(),
                    used,
                    dev.name(),
                    n.get()
                );
                return Err(EINVAL);
            }
            Ok(n.get())
        })
    }

    fn get_rx_ring_count(dev: &Device<Self>) -> u32 {
        dev.real_num_rx_queues()
    }

    fn get_rxfh_fields(dev: &Device<Self>, flow_type: u32) -> Result<u32> {
        let types = flow_hash_types(flow_type).ok_or(EOPNOTSUPP)?;
        Ok(hashed_fields(dev.data().config.lock().hash_types, types))
    }

    fn set_rxfh_fields(dev: &Device<Self>, flow_type: u32, fields: u32, _rtnl: &Rtnl) -> Result {
        let (ip, l4) = flow_hash_types(flow_type).ok_or(EOPNOTSUPP)?;
        let data = dev.data();
        let active = data.active.lock();
        let mut config = data.config.lock();
        let current = config.hash_types;
        if fields == hashed_fields(current, (ip, l4)) {
            return Ok(());
        }
        // The device hashes a packet type on fixed fields: TCP and UDP on the addresses and
        // ports, or (their type off) on the addresses as other IP packets.
        let new = match fields {
            RXH_ADDRS_PORTS if l4 != 0 => current | l4,
            RXH_ADDRS if l4 != 0 && current & ip != 0 => current & !l4,
            _ => {
                kernel::netdev_err!(
                    dev,
                    "rx-flow-hash {}: cannot hash on fields {:#x}; MANA hashes TCP and UDP on both addresses and ports (sdfn) or both addresses (sd), other IP packets on both addresses (sd)\n",
                    flow_name(flow_type),
                    fields
                );
                return Err(EINVAL);
            }
        };
        if let Some(up) = &*active {
            steer(dev, &up.queues.channels, &config, new)?;
        }
        config.hash_types = new;
        Ok(())
    }

    fn get_rxfh_key_size(_dev: &Device<Self>) -> u32 {
        HASH_KEY_SIZE as u32
    }

    fn get_rxfh_indir_size(dev: &Device<Self>) -> u32 {
        dev.data().config.lock().indirection_len as u32
    }

    fn get_rxfh(dev: &Device<Self>, rxfh: &mut RxfhGet<'_>) -> Result {
        let data = dev.data();
        let cfg = data.config.lock();
        rxfh.hfunc = ethtool::RSS_HASH_TOP;
        if let Some(indir) = rxfh.indir.as_deref_mut() {
            let n = indir.len().min(cfg.indirection_len);
            let (to, from) = indir
                .get_mut(..n)
                .zip(cfg.indirection.get(..n))
                .ok_or(EINVAL)?;
            to.copy_from_slice(from);
        }
        if let Some(key) = rxfh.key.as_deref_mut() {
            let n = key.len().min(HASH_KEY_SIZE);
            key[..n].copy_from_slice(&cfg.rss_key[..n]);
        }
        Ok(())
    }

    fn set_rxfh(dev: &Device<Self>, rxfh: &RxfhSet<'_>, _rtnl: &Rtnl) -> Result {
        if rxfh.hfunc != 0 && rxfh.hfunc != ethtool::RSS_HASH_TOP {
            kernel::netdev_err!(dev, "only the Toeplitz hash is supported\n");
            return Err(EOPNOTSUPP);
        }
        let channels = dev.real_num_rx_queues();
        let data = dev.data();
        let active = data.active.lock();
        let mut config = data.config.lock();
        let mut new_cfg = config.try_clone()?;
        if let Some(indir) = rxfh.indir {
            if indir.len() != new_cfg.indirection_len {
                return Err(EINVAL);
            }
            if let Some((i, c)) = indir.iter().enumerate().find(|(_, c)| **c >= channels) {
                kernel::netdev_err!(
                    dev,
                    "RSS indirection entry {} names channel {}, but only {} are configured\n",
                    i,
                    c,
                    channels
                );
                return Err(EINVAL);
            }
            new_cfg
                .indirection
                .get_mut(..indir.len())
                .ok_or(EINVAL)?
                .copy_from_slice(indir);
        }
        if let Some(key) = rxfh.key {
            new_cfg.rss_key = key.try_into().map_err(|_| EINVAL)?;
        }
        // As the C driver: a new key or table only reprograms the vport's steering
        // (MANA_CONFIG_VPORT_RX); the queues keep running, no packet is dropped for it.
        if let Some(up) = &*active {
            steer(dev, &up.queues.channels, &new_cfg, new_cfg.hash_types)?;
        }
        *config = new_cfg;
        Ok(())
    }

    fn get_priv_flags(dev: &Device<Self>) -> u32 {
        dev.data().config.lock().priv_flags
    }

    fn set_priv_flags(dev: &Device<Self>, flags: u32, _rtnl: &Rtnl) -> Result {
        if flags & !PRIV_ALL != 0 {
            kernel::pr_err_ratelimited!(
                "{}: unknown private flags {:#x} (known: {:#x}, see ethtool --show-priv-flags {})\n",
                dev.name(),
                flags & !PRIV_ALL,
                PRIV_ALL,
                dev.name()
            );
            return Err(EINVAL);
        }
        // `full-page-rx` asks for what the receive buffers always are (see `PRIV_FULL_PAGE_RX`):
        // nothing to rebuild, up or down.
        dev.data().config.lock().priv_flags = flags;
        Ok(())
    }

    fn get_sset_count(dev: &Device<Self>, sset: u32) -> Result<u32> {
        if sset == ethtool::SS_PRIV_FLAGS {
            return Ok(PRIV_FLAGS.len() as u32);
        }
        if sset != ethtool::SS_STATS {
            return Err(EOPNOTSUPP);
        }
        dev.data()
            .counters
            .len()
            .checked_mul(QUEUE_STATS.len())
            .and_then(|n| n.checked_add(PORT_STATS.len()))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(EINVAL)
    }

    fn get_strings(dev: &Device<Self>, sset: u32, strings: &mut ethtool::Strings<'_>) {
        if sset == ethtool::SS_PRIV_FLAGS {
            for name in PRIV_FLAGS {
                let _ = strings.push(fmt!("{}", name));
            }
            return;
        }
        if sset != ethtool::SS_STATS {
            return;
        }
        for name in PORT_STATS {
            let _ = strings.push(fmt!("{}", name));
        }
        for q in 0..dev.data().counters.len() {
            for name in QUEUE_STATS {
                let _ = strings.push(fmt!("{}_{}", name.0, q));
            }
        }
    }

    fn get_ethtool_stats(dev: &Device<Self>, out: &mut [u64]) {
        let data = dev.data();
        let mut values = out.iter_mut();
        let (timeouts, resets, failures) = data.tx_timeout_counts();
        let port = [
            data.tx_dropped.load(Relaxed),
            data.rx_csum_ok(),
            timeouts,
            resets,
            failures,
        ];
        for v in port {
            if let Some(slot) = values.next() {
                *slot = v;
            }
        }
        for c in data.counters.iter() {
            let c = c.counts();
            for (_, get) in QUEUE_STATS {
                if let Some(slot) = values.next() {
                    *slot = get(&c);
                }
            }
        }
    }

    fn get_link_ksettings(dev: &Device<Self>, settings: &mut LinkSettings) -> Result {
        // As the C driver: the vport's bandwidth allowance, whatever clamp a shaper set;
        // unknown when the device cannot say (the request failed, no QoS configured).
        let data = dev.data();
        if let Ok(link) = data.adapter.query_link_config(data.index) {
            settings.speed = link.qos_speed_mbps;
        }
        settings.duplex = ethtool::DUPLEX_FULL;
        settings.port = ethtool::PORT_OTHER;
        Ok(())
    }
}

/// The queue statistics of `netdev` netlink (`qstats-get`): per active queue pair the
/// counters it kept since the interface was created, and as the base the counters of the queue
/// pairs not active now, so that the totals are those of `ndo_get_stats64` across `ethtool -L`.
#[vtable]
impl QueueStats for Port {
    fn get_queue_stats_rx(dev: &Device<Self>, index: u32, stats: &mut RxQueueStats) {
        if let Some(c) = dev.data().counters.get(index as usize) {
            add_rx(stats, &c.counts());
        }
    }

    fn get_queue_stats_tx(dev: &Device<Self>, index: u32, stats: &mut TxQueueStats) {
        if let Some(c) = dev.data().counters.get(index as usize) {
            add_tx(stats, &c.counts());
        }
    }

    fn get_base_stats(dev: &Device<Self>, rx: &mut RxQueueStats, tx: &mut TxQueueStats) {
        let counters = &dev.data().counters;
        let zero = Counts::default();
        add_rx(rx, &zero);
        add_tx(tx, &zero);
        for c in counters.iter().skip(dev.real_num_rx_queues() as usize) {
            add_rx(rx, &c.counts());
        }
        for c in counters.iter().skip(dev.real_num_tx_queues() as usize) {
            add_tx(tx, &c.counts());
        }
    }
}

/// Adds the receive counters of `c` to `stats` (sets those not set).
fn add_rx(stats: &mut RxQueueStats, c: &Counts) {
    let plus = |s: &mut Option<u64>, v: u64| {
        *s = Some(s.unwrap_or(0).wrapping_add(v));
    };
    plus(&mut stats.packets, c.rx_packets);
    plus(&mut stats.bytes, c.rx_bytes);
    plus(&mut stats.alloc_fail, c.rx_alloc_fail);
    plus(&mut stats.csum_unnecessary, c.rx_csum_ok);
    plus(&mut stats.csum_none, c.rx_csum_none);
}

/// Adds the transmit counters of `c` to `stats` (sets those not set).
fn add_tx(stats: &mut TxQueueStats, c: &Counts) {
    let plus = |s: &mut Option<u64>, v: u64| {
        *s = Some(s.unwrap_or(0).wrapping_add(v));
    };
    plus(&mut stats.packets, c.tx_packets);
    plus(&mut stats.bytes, c.tx_bytes);
    plus(&mut stats.stop, c.tx_stopped);
    plus(&mut stats.wake, c.tx_wake);
    plus(&mut stats.hw_gso_packets, c.tx_tso_packets);
    plus(&mut stats.hw_gso_bytes, c.tx_tso_bytes);
    plus(&mut stats.hw_gso_wire_packets, c.tx_tso_wire_packets);
    plus(&mut stats.hw_gso_wire_bytes, c.tx_tso_wire_bytes);
}

/// The port-wide statistics of `ethtool -S`.
pub(crate) const PORT_STATS: [&str; 5] = [
    "tx_no_queue_dropped",
    "rx_csum_verified",
    "tx_timeouts",
    "tx_timeout_resets",
    "tx_timeout_reset_failures",
];

/// The per-queue statistics of `ethtool -S` (suffixed with the queue number).
pub(crate) type CounterOf = fn(&Counts) -> u64;
pub(crate) const QUEUE_STATS: [(&str, CounterOf); 19] = [
    ("tx_packets", |c| c.tx_packets),
    ("tx_bytes", |c| c.tx_bytes),
    ("tx_errors", |c| c.tx_errors),
    ("tx_dropped", |c| c.tx_dropped),
    ("tx_stops", |c| c.tx_stopped),
    ("tx_wakes", |c| c.tx_wake),
    ("rx_packets", |c| c.rx_packets),
    ("rx_bytes", |c| c.rx_bytes),
    ("rx_dropped", |c| c.rx_dropped),
    ("rx_errors", |c| c.rx_errors),
    ("rx_csum_ok", |c| c.rx_csum_ok),
    ("rx_csum_none", |c| c.rx_csum_none),
    ("rx_alloc_fails", |c| c.rx_alloc_fail),
    ("rx_page_allocs", |c| c.rx_page_allocs),
    ("rx_xdp_drop", |c| c.rx_xdp_drop),
    ("rx_xdp_tx", |c| c.rx_xdp_tx),
    ("rx_xdp_redirect", |c| c.rx_xdp_redirect),
    ("tx_xdp_xmit", |c| c.tx_xdp_xmit),
    ("tx_xdp_xmit_drop", |c| c.tx_xdp_xmit_drop),
];

/// The interfaces of one adapter, children of the bound device `'a` (see [`Ports::with_parent`]).
///
/// Dropping it unregisters them, after the core's link events stopped reaching them.
pub(crate) struct Ports<'a> {
    adapter: Arc<Adapter>,
    ports: KVec<Registration<'a, Port>>,
    _list: Arc<PortList>,
}

/// Handles to the registered interfaces, told about link changes by the core (which keeps it
/// for as long as it likes: it holds no registration).
struct PortList {
    ports: KVec<DeviceHandle<Port>>,
}

impl LinkListener for PortList {
    fn link_changed(&self, up: bool) {
        let rtnl = rtnl_lock();
        for handle in self.ports.iter() {
            // An interface already being unregistered is left alone.
            handle.with(&rtnl, |dev| {
                // The carrier follows the link only while the interface is up.
                if up && dev.data().holds_lease() {
                    dev.carrier_on();
                } else {
                    dev.carrier_off();
                }
            });
        }
    }
}

impl Drop for Ports<'_> {
    fn drop(&mut self) {
        // No link event reaches the interfaces once they start going away.
        self.adapter.hwc().set_link_listener(None);
    }
}

impl Ports<'static> {
    /// Creates and registers one interface per vport of `adapter`, with no parent device.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn new(adapter: &Arc<Adapter>) -> Result<Self> {
        Self::with_parent(adapter, None)
    }
}

impl<'a> Ports<'a> {
    /// Creates and registers one interface per vport of `adapter`, children of `parent` (the
    /// adapter's PCI function or software device, as the RDMA device's), numbered by vport
    /// (`dev_port`): how DPDK finds the netdev of an RDMA port.
    pub(crate) fn with_parent(
        adapter: &Arc<Adapter>,
        parent: Option<&'a device::Device<device::Bound>>,
    ) -> Result<Self> {
        let max_mtu = u32::from(adapter.caps().adapter_mtu)
            .checked_sub(ETH_HEADER)
            .filter(|m| *m >= ETH_MIN_MTU)
            .ok_or_else(|| {
                pr_err!(
                    "adapter {}: adapter MTU {} is too small\n",
                    adapter.id(),
                    adapter.caps().adapter_mtu
                );
                EINVAL
            })?;
        let mut ports = KVec::with_capacity(adapter.ports().len(), GFP_KERNEL)?;
        for (index, info) in adapter.ports().iter().enumerate() {
            // One event queue, and so one MSI-X vector besides the channel's, per queue, within
            // what the device offers.
            let budget = adapter.max_queues();
            if budget == 0 {
                pr_err!(
                    "adapter {}: no MSI-X vector or device queue left for the interfaces' queues ({} vectors, device limits {:?})\n",
                    adapter.id(),
                    adapter.num_vectors(),
                    adapter.caps()
                );
                return Err(ENOSPC);
            }
            let queues = info
                .max_sq
                .min(info.max_rq)
                .min(budget)
                .clamp(1, MAX_QUEUES);
            let counters = PortCounters::new(queues)?;
            let config = PortConfig::new(
                (info.indirection_entries as usize).clamp(1, MAX_INDIRECTION),
                queues,
            )?;
            let xdp = Arc::new(ProgSlot::new(), GFP_KERNEL)?;
            let mut dev = UnregisteredDevice::<Port>::new(
                queues,
                queues,
                pin_init!(PortData {
                    adapter: adapter.clone(),
                    index: index as u32,
                    active <- new_mutex!(None),
                    config <- new_mutex!(config),
                    tx_dropped: Atomic::new(0),
                    counters,
                    live <- new_spinlock_irq!(KVec::new()),
                    reset_queue: Atomic::new(NO_RESET),
                    tx_timeouts: Atomic::new(0),
                    tx_timeout_resets: Atomic::new(0),
                    tx_timeout_reset_failures: Atomic::new(0),
                    xdp,
                    max_mtu,
                }),
            )?;
            let offloads = Features::SG
                | Features::IP_CSUM
                | Features::IPV6_CSUM
                | Features::TSO
                | Features::TSO6
                | Features::RXCSUM
                | Features::RXHASH
                | Features::HW_VLAN_CTAG_TX;
            dev.set_hw_features(offloads);
            // The device strips VLAN tags whatever the driver asks: reported, and fixed on.
            dev.set_features(offloads | Features::HW_VLAN_CTAG_RX | Features::GRO);
            dev.set_vlan_features(Features::SG | Features::IP_CSUM | Features::IPV6_CSUM);
            dev.set_tso_max_size(TX_MAX_PACKET);
            dev.set_mac_address(&info.mac);
            dev.set_dev_port(u16::try_from(index).map_err(|_| EINVAL)?);
            dev.set_ethtool_ops();
            dev.set_queue_stats_ops();
            dev.set_xdp_features(
                xdp::Features::BASIC | xdp::Features::REDIRECT | xdp::Features::NDO_XMIT,
            );
            // Off until `open` finds the link up: the first `carrier_on` is then a change,
            // which makes the core report the operational state UP instead of UNKNOWN.
            dev.carrier_off();
            dev.set_watchdog_timeout_ms(TX_TIMEOUT_MS);
            dev.set_mtu_bounds(ETH_MIN_MTU, max_mtu)?;
            let reg = match parent {
                Some(parent) => Registration::new(parent, dev)?,
                None => Registration::new_virtual(dev)?,
            };
            ports.push(reg, GFP_KERNEL)?;
        }
        let mut handles = KVec::with_capacity(ports.len(), GFP_KERNEL)?;
        for reg in ports.iter() {
            handles.push(reg.handle(), GFP_KERNEL)?;
        }
        let list = Arc::new(PortList { ports: handles }, GFP_KERNEL)?;
        adapter.hwc().set_link_listener(Some(list.clone()));
        Ok(Self {
            adapter: adapter.clone(),
            ports,
            _list: list,
        })
    }

    /// The interfaces, by vport index.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn get(&self, index: usize) -> Option<&Registration<'a, Port>> {
        self.ports.get(index)
    }
}
