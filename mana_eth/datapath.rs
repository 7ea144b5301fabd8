// SPDX-License-Identifier: GPL-2.0-only

//! The data path of an up interface: one channel per queue pair, each with an event queue, a
//! send queue and a receive queue (with their completion queues) and a NAPI context.
//!
//! # Receive buffers
//!
//! Each receive position holds its own page (C: `mana_get_rxbuf_cfg()` with one buffer per
//! page): `RX_HEADROOM` bytes (`XDP_PACKET_HEADROOM`, whether an XDP program is attached or
//! not, so that attaching one needs no new buffers), the frame (MTU, Ethernet header, VLAN tag:
//! the SGE), then the skb's shared info; a jumbo MTU takes a compound page. The page
//! is mapped for the device once, through the core's streaming mappings
//! ([`Adapter::map_page`]), for the frame area only and from the device.
//!
//! At a completion the frame is synced for the CPU and the skb is built around the page
//! ([`StreamMap::build_skb`]: `build_skb`, no copy). The page then joins the channel's
//! ring of spare pages, and the position is reposted with the oldest spare page whose packet
//! the stack has freed (its mapping holds the only reference again), synced for the device.
//! Only when there is none is a page allocated and mapped (`rx_page_allocs`): all pages are
//! allocated at open, so steady state allocates none. When the ring is full and its oldest
//! page is still held by the stack, that page is let go (the stack frees it with its packet).
//! Without a page to repost, the frame is dropped and its page reposted.
//!
//! This is `page_pool`'s recycling without `page_pool`: a pool would have to map its pages
//! itself (`PP_FLAG_DMA_MAP`, with the PCI device's DMA operations), which the software device
//! cannot check, or they would have to be mapped again at each allocation. Keeping the pages
//! mapped in the driver gives one mapping per page on both transports, and the software device
//! faults any write outside a posted page's frame area.
//!
//! # XDP
//!
//! With an XDP program attached (read under RCU from the port's [`ProgSlot`] for each frame),
//! the frame is synced for the CPU and offered to the program in its page before any skb
//! exists (`MEM_TYPE_PAGE_SHARED`). `XDP_DROP`, `XDP_ABORTED` and unknown verdicts repost the
//! same page; `XDP_PASS` builds the skb at the frame's new bounds; `XDP_TX` builds it too and
//! posts it on the channel's own send queue under that queue's transmit lock (the queue is
//! shared with the stack, as in C); `XDP_REDIRECT` hands the frame, with a reference to its
//! page, to the core, and the page waits in the spare ring until the target frees it. No
//! program runs with the pool's lock held. Frames redirected to this interface
//! (`ndo_xdp_xmit`) become skbs around their own memory and take the send queue of the CPU
//! (`cpu % queues`), like C. Packets XDP handles count in `rx_packets` (XDP is the first layer
//! of the stack), and in the per-queue `rx_xdp_*`/`tx_xdp_*` counters.
//!
//! # Transmit
//!
//! A packet becomes one send WQE: the short TX OOB (the long one when a VLAN tag is inserted),
//! checksum offload flags from `CHECKSUM_PARTIAL` (IPv4 header, TCP, UDP), TSO with the MSS in
//! the client data unit, and one SGE per part of the skb (the linear part and each fragment),
//! linearized first past 30 parts like the C driver. The parts are mapped for the device to read
//! where they are ([`Adapter::map_skb`]: `dma_map_single` and `skb_frag_dma_map` on a PCI
//! function, C: `mana_map_skb()`), no copy; the mapping owns the skb until its completion,
//! which unmaps the parts and frees the skb into the NAPI cache. The queue is stopped when a
//! worst-case WQE or the pending table no longer has room, and woken from the completion path.
//! Byte queue limits count the bytes at transmit and completion (reset when the channels are
//! built); the doorbell is rung once for a burst the stack hands over at once (`xmit_more`),
//! and at once if the queue stopped or a packet of the burst was not posted.
//!
//! # Interrupts and NAPI
//!
//! The event queue's interrupt handler drains the EQ, schedules the channel's NAPI for
//! completion events and re-arms the EQ. The poll reaps TX completions, then up to `budget` RX
//! completions; when done it re-arms both completion queues with their consumer tails, so a
//! completion that raced with the poll raises the interrupt again.

use core::num::NonZeroU32;

use kernel::{
    dma::DataDirection,
    dma_stream::SharedPage,
    netdev::{
        napi::{
            Napi,
            NapiPoll,
            Poll, //
        },
        skb::{
            Checksum,
            HashType,
            Skb,
            SKB_SHARED_INFO_SIZE, //
        },
        xdp::{
            self,
            Action,
            Buff,
            FrameBatch,
            ProgSlot,
            RxQueueInfo,
            XDP_PACKET_HEADROOM, //
        },
        xmit_more,
        Device,
        Features,
        TxQueue,
        TxResult, //
    },
    new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        SpinLockIrq, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    },
    u64_stats::{
        StatsWriter,
        U64Stats, //
    }, //
};

use mana_gdma::{
    dma::{
        DmaBuf,
        SkbMap,
        StreamMap, //
    },
    objects::{
        EventQueue,
        WqKind,
        WqObject, //
    },
    ring::{
        read_cqe,
        read_eqe,
        RingRead, //
    },
    transport::{
        InterruptHandler,
        IrqContext, //
    },
    wire::{
        eth::{
            cqe_type,
            pkt_fmt,
            RxCompOob,
            TxCompOob,
            TxOob, //
        },
        mana_msgs::{
            hash_type,
            Handle, //
        },
        queue::{
            self,
            cq_doorbell_tail,
            queue_type,
            CqDoorbell,
            EqDoorbell,
            RingEntries,
            RqDoorbell,
            Sge,
            SqDoorbell,
            WqeHeader, //
        }, //
    },
    Adapter, //
};

use crate::port::Port;

/// The largest packet the interface transmits (the TSO limit).
pub(crate) const TX_MAX_PACKET: u32 = 65536;
/// Bytes before the frame in a receive page: what an XDP program may grow the frame into, and
/// room for headers the stack pushes.
const RX_HEADROOM: u32 = XDP_PACKET_HEADROOM;
/// The most receive pages a channel keeps aside while the stack holds the packets built on them.
const RX_SPARE_MAX: u32 = 256;
/// The smallest unit of a receive page.
const PAGE_BYTES: u32 = 4096;
/// The event queue of each channel, in bytes (C: `EQ_SIZE`, 8 pages).
const EQ_BYTES: u32 = 8 * 4096;
/// How long the device may take to complete the fence of a receive queue (C: 10 s).
const RX_FENCE_WAIT_MS: u32 = 10_000;
/// Bytes per ring entry in a work queue and in a completion queue.
const WQE_BYTES: u32 = 32;
const CQE_BYTES: u32 = 64;
/// The most parts of a packet given to the device as SGEs (C: `MAX_TX_WQE_SGL_ENTRIES`).
const MAX_TX_SGES: usize = queue::MANA_MAX_TX_WQE_SGL_ENTRIES as usize;
/// Completed packets freed per batch (outside the send queue's lock).
const TX_REAP_BATCH: usize = 32;
/// The size of an RX WQE: header, 8-byte OOB, one SGE.
const RX_WQE_BYTES: u32 = 32;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Writes `data` at `offset` of the ring `mem`, wrapping at its end.
fn write_ring(mem: &DmaBuf, offset: u32, data: &[u8]) -> Result {
    let offset = offset as usize;
    let first = mem.size().saturating_sub(offset).min(data.len());
    mem.write_bytes(offset, &data[..first])?;
    mem.write_bytes(0, &data[first..])
}

/// Queue bytes for `entries` entries of `unit` bytes: a power of two of at least a page.
/// `entries` is a ring size the user chose (`ethtool -G`): too large a ring is `EINVAL`.
pub(crate) fn ring_bytes(entries: u32, unit: u32) -> Result<u32> {
    entries
        .checked_mul(unit)
        .and_then(|bytes| bytes.max(4096).checked_next_power_of_two())
        .ok_or(EINVAL)
}

/// The layout of a receive page for an MTU (C: `mana_get_rxbuf_cfg()`, one buffer per page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RxBufCfg {
    /// The page holds `2^order` pages (a compound page for jumbo frames).
    pub(crate) order: u32,
    /// The frame starts this far into the page.
    pub(crate) headroom: u32,
    /// The most bytes of a frame (the SGE size): the MTU, the Ethernet header and a VLAN tag.
    pub(crate) datasize: u32,
    /// The bytes of the page, all of which the packet accounts for.
    pub(crate) truesize: u32,
}

/// The receive page layout for `mtu`: headroom, the frame, then the skb's shared info.
pub(crate) fn rx_buf_cfg(mtu: u32) -> Result<RxBufCfg> {
    let datasize = mtu.checked_add(14 + 4).ok_or(EINVAL)?;
    let need = datasize
        .checked_add(RX_HEADROOM + SKB_SHARED_INFO_SIZE as u32)
        .ok_or(EINVAL)?;
    let order = need
        .div_ceil(PAGE_BYTES)
        .next_power_of_two()
        .trailing_zeros();
    if order > SharedPage::MAX_ORDER {
        return Err(EINVAL);
    }
    Ok(RxBufCfg {
        order,
        headroom: RX_HEADROOM,
        datasize,
        truesize: PAGE_BYTES << order,
    })
}

/// The largest MTU whose frames fit in one page with the headroom and the shared info: the
/// limit while an XDP program is attached (single-buffer XDP, C: `MANA_XDP_MTU_MAX`).
pub(crate) const XDP_MAX_MTU: u32 = PAGE_BYTES - RX_HEADROOM - SKB_SHARED_INFO_SIZE as u32 - 14 - 4;

/// The counters a channel's NAPI poll writes: receive, send completions, XDP verdicts, and
/// the `XDP_TX` frames it could not send.
mod poll_stat {
    pub(super) const TX_PACKETS: usize = 0;
    pub(super) const TX_BYTES: usize = 1;
    pub(super) const TX_ERRORS: usize = 2;
    pub(super) const TX_WAKE: usize = 3;
    pub(super) const TX_TSO_PACKETS: usize = 4;
    pub(super) const TX_TSO_BYTES: usize = 5;
    pub(super) const TX_TSO_WIRE_PACKETS: usize = 6;
    pub(super) const TX_TSO_WIRE_BYTES: usize = 7;
    pub(super) const TX_DROPPED: usize = 8;
    pub(super) const RX_PACKETS: usize = 9;
    pub(super) const RX_BYTES: usize = 10;
    pub(super) const RX_DROPPED: usize = 11;
    pub(super) const RX_ERRORS: usize = 12;
    pub(super) const RX_CSUM_OK: usize = 13;
    pub(super) const RX_CSUM_NONE: usize = 14;
    pub(super) const RX_ALLOC_FAIL: usize = 15;
    pub(super) const RX_PAGE_ALLOCS: usize = 16;
    pub(super) const RX_XDP_DROP: usize = 17;
    pub(super) const RX_XDP_TX: usize = 18;
    pub(super) const RX_XDP_REDIRECT: usize = 19;
    pub(super) const N: usize = 20;
}

/// The counters the send path writes under the channel's send lock (`start_xmit`,
/// `ndo_xdp_xmit` and `XDP_TX`, each under the stack's transmit lock of the queue as well).
mod xmit_stat {
    pub(super) const TX_DROPPED: usize = 0;
    pub(super) const TX_STOPPED: usize = 1;
    pub(super) const TX_XDP_XMIT: usize = 2;
    pub(super) const TX_XDP_XMIT_DROP: usize = 3;
    pub(super) const N: usize = 4;
}

type PollWriter = StatsWriter<{ poll_stat::N }>;
type XmitWriter = StatsWriter<{ xmit_stat::N }>;

/// The counters of one queue pair, kept by the port across rebuilds of its channels.
///
/// Two blocks of `u64_stats` counters, each with a single writer, which the queue's channel
/// holds while it exists ([`PortCounters`] lends them): the NAPI poll's (its
/// [`Poll::State`]), and the send path's (in the send state, under the channel's send lock).
/// No counter update is an atomic operation; readers add the two blocks ([`QueueCounters::counts`]).
pub(crate) struct QueueCounters {
    poll: Arc<U64Stats<{ poll_stat::N }>>,
    xmit: Arc<U64Stats<{ xmit_stat::N }>>,
}

/// The values of a queue pair's counters.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_errors: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) tx_stopped: u64,
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) rx_errors: u64,
    pub(crate) rx_csum_ok: u64,
    /// Received packets whose checksums the device did not verify (or the user turned the
    /// offload off).
    pub(crate) rx_csum_none: u64,
    /// Receive pages that could not be allocated (the frame was dropped, its page reposted).
    pub(crate) rx_alloc_fail: u64,
    /// Times the completion path woke the stopped send queue.
    pub(crate) tx_wake: u64,
    /// Receive pages the refill path allocated because no page came back from the stack in
    /// time (0 per packet in steady state; the pages of open are not counted).
    pub(crate) rx_page_allocs: u64,
    /// Frames the XDP program dropped (`XDP_DROP`, `XDP_ABORTED`, unknown verdicts, failed
    /// redirects).
    pub(crate) rx_xdp_drop: u64,
    /// Frames the XDP program sent back out (`XDP_TX`).
    pub(crate) rx_xdp_tx: u64,
    /// Frames the XDP program redirected (`XDP_REDIRECT`).
    pub(crate) rx_xdp_redirect: u64,
    /// Frames other devices redirected here that were posted (`ndo_xdp_xmit`).
    pub(crate) tx_xdp_xmit: u64,
    /// Frames redirected here that were dropped (send queue full or stopped, no skb).
    pub(crate) tx_xdp_xmit_drop: u64,
    /// Completed packets the device segmented (TSO), and their bytes.
    pub(crate) tx_tso_packets: u64,
    pub(crate) tx_tso_bytes: u64,
    /// The segments the device made of them for the wire, and their bytes (the headers
    /// repeated in each).
    pub(crate) tx_tso_wire_packets: u64,
    pub(crate) tx_tso_wire_bytes: u64,
}

impl QueueCounters {
    /// Reads the counters (each block consistently; counters wrap, as C's do).
    pub(crate) fn counts(&self) -> Counts {
        use poll_stat as p;
        let v = self.poll.read();
        let x = self.xmit.read();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        let xt = |i: usize| x.get(i).copied().unwrap_or(0);
        Counts {
            tx_packets: at(p::TX_PACKETS),
            tx_bytes: at(p::TX_BYTES),
            tx_errors: at(p::TX_ERRORS),
            tx_dropped: at(p::TX_DROPPED).wrapping_add(xt(xmit_stat::TX_DROPPED)),
            tx_stopped: xt(xmit_stat::TX_STOPPED),
            rx_packets: at(p::RX_PACKETS),
            rx_bytes: at(p::RX_BYTES),
            rx_dropped: at(p::RX_DROPPED),
            rx_errors: at(p::RX_ERRORS),
            rx_csum_ok: at(p::RX_CSUM_OK),
            rx_csum_none: at(p::RX_CSUM_NONE),
            rx_alloc_fail: at(p::RX_ALLOC_FAIL),
            tx_wake: at(p::TX_WAKE),
            rx_page_allocs: at(p::RX_PAGE_ALLOCS),
            rx_xdp_drop: at(p::RX_XDP_DROP),
            rx_xdp_tx: at(p::RX_XDP_TX),
            rx_xdp_redirect: at(p::RX_XDP_REDIRECT),
            tx_xdp_xmit: xt(xmit_stat::TX_XDP_XMIT),
            tx_xdp_xmit_drop: xt(xmit_stat::TX_XDP_XMIT_DROP),
            tx_tso_packets: at(p::TX_TSO_PACKETS),
            tx_tso_bytes: at(p::TX_TSO_BYTES),
            tx_tso_wire_packets: at(p::TX_TSO_WIRE_PACKETS),
            tx_tso_wire_bytes: at(p::TX_TSO_WIRE_BYTES),
        }
    }
}

/// The writers of a queue pair that no channel holds.
#[derive(Default)]
struct Parked {
    poll: Option<PollWriter>,
    xmit: Option<XmitWriter>,
}

/// A counter writer that parks in a [`Parked`] slot.
trait Parkable: Sized {
    fn slot(parked: &mut Parked) -> &mut Option<Self>;
}

impl Parkable for PollWriter {
    fn slot(parked: &mut Parked) -> &mut Option<Self> {
        &mut parked.poll
    }
}

impl Parkable for XmitWriter {
    fn slot(parked: &mut Parked) -> &mut Option<Self> {
        &mut parked.xmit
    }
}

/// The counters of every queue pair of a port ([`QueueCounters`], by queue index), and the
/// writers no channel holds.
#[pin_data]
pub(crate) struct PortCounters {
    queues: KVec<QueueCounters>,
    #[pin]
    parked: SpinLockIrq<KVec<Parked>>,
}

impl PortCounters {
    /// Zeroed counters for `queues` queue pairs.
    pub(crate) fn new(queues: u32) -> Result<Arc<Self>> {
        let mut list = KVec::with_capacity(queues as usize, GFP_KERNEL)?;
        let mut parked = KVec::with_capacity(queues as usize, GFP_KERNEL)?;
        for _ in 0..queues {
            let (poll, poll_writer) = U64Stats::new(GFP_KERNEL)?;
            let (xmit, xmit_writer) = U64Stats::new(GFP_KERNEL)?;
            list.push(QueueCounters { poll, xmit }, GFP_KERNEL)?;
            parked.push(
                Parked {
                    poll: Some(poll_writer),
                    xmit: Some(xmit_writer),
                },
                GFP_KERNEL,
            )?;
        }
        Arc::pin_init(
            pin_init!(Self {
                queues: list,
                parked <- new_spinlock_irq!(parked),
            }),
            GFP_KERNEL,
        )
    }

    /// Lends the writer `W` of queue pair `index` to a channel; `EBUSY` if a channel has it.
    fn lend<W: Parkable>(self: &Arc<Self>, index: u32) -> Result<Lent<W>> {
        let mut parked = self.parked.lock();
        let slot = parked.get_mut(index as usize).ok_or(EINVAL)?;
        let writer = W::slot(slot).take().ok_or(EBUSY)?;
        Ok(Lent {
            home: self.clone(),
            index,
            writer: Some(writer),
        })
    }

    fn park<W: Parkable>(&self, index: u32, writer: W) {
        if let Some(slot) = self.parked.lock().get_mut(index as usize) {
            *W::slot(slot) = Some(writer);
        }
    }
}

impl core::ops::Deref for PortCounters {
    type Target = [QueueCounters];

    fn deref(&self) -> &[QueueCounters] {
        &self.queues
    }
}

/// A counter writer a channel holds; parked again when the channel is taken down
/// ([`Lent::park`]) or, on an error path, dropped.
struct Lent<W: Parkable> {
    home: Arc<PortCounters>,
    index: u32,
    writer: Option<W>,
}

impl<W: Parkable> Lent<W> {
    /// Gives the writer back to the port: counts after this are lost (the channel is gone).
    fn park(&mut self) {
        if let Some(w) = self.writer.take() {
            self.home.park(self.index, w);
        }
    }
}

impl<W: Parkable> Drop for Lent<W> {
    fn drop(&mut self) {
        self.park();
    }
}

impl<const N: usize> Lent<StatsWriter<N>>
where
    StatsWriter<N>: Parkable,
{
    /// Adds `n` to counter `index`.
    fn add(&mut self, index: usize, n: u64) {
        if let Some(w) = self.writer.as_mut() {
            w.add(index, n);
        }
    }
}

/// A packet the device has not completed yet.
struct TxPending {
    /// The packet, its parts mapped for the device until the completion.
    map: SkbMap,
    len: u32,
    wqe_offset: u32,
    wqe_bytes: u32,
    /// A TSO packet: the segments the device makes of it and their bytes on the wire.
    tso: Option<TsoSegments>,
}

/// What the device makes of a TSO packet.
#[derive(Clone, Copy)]
struct TsoSegments {
    packets: u16,
    bytes: u32,
}

impl TsoSegments {
    /// The segments of the TCP GSO packet `skb` of `len` bytes: each carries the headers.
    fn of(skb: &Skb, len: u32) -> Option<Self> {
        if !skb.is_gso() {
            return None;
        }
        let packets = skb.gso_segs().max(1);
        let headers = skb.tcp_all_headers().unwrap_or(0);
        let bytes = u32::from(packets - 1)
            .checked_mul(headers)
            .and_then(|h| h.checked_add(len))
            .unwrap_or(u32::MAX);
        Some(Self { packets, bytes })
    }
}

/// The send side of a channel.
struct TxState {
    /// Producer and consumer byte offsets in the SQ (free-running).
    head: u32,
    tail: u32,
    /// Pending packets by WQE count (free-running), `prod - cons` of them.
    pending: KVVec<Option<TxPending>>,
    prod: u32,
    cons: u32,
    cq_head: u32,
    /// The producer offset the doorbell was last rung with.
    rung: u32,
    /// The writer of the send path's counters.
    stats: Lent<XmitWriter>,
}

/// The receive side of a channel: the state of its NAPI poll ([`Poll::State`]), which only the
/// poll uses once the channel is started ([`ChannelSet::start`] fills it before that), through
/// `&mut`: no lock, no atomics. The stack is entered (GRO) without any lock held.
pub(crate) struct RxState {
    /// Posted and completed WQEs (free-running counts).
    prod: u32,
    cons: u32,
    cq_head: u32,
    /// The pages.
    pool: RxPool,
    /// The writer of the poll's counters.
    stats: Lent<PollWriter>,
}

/// The receive pages of a channel, each mapped for the device once.
struct RxPool {
    /// The page posted at each WQE position (`prod % rx_bufs`).
    posted: KVec<Option<StreamMap>>,
    /// Pages given to the stack in received packets, oldest first (a ring): each is posted
    /// again once the stack freed its packet, i.e. once the mapping holds the only reference.
    spare: KVec<Option<StreamMap>>,
    spare_head: usize,
    spare_len: usize,
}

impl RxPool {
    /// Takes the oldest spare page if the stack is done with it. If it is not and the ring is
    /// full, lets it go (the stack frees it with its packet) to make room.
    fn take_spare(&mut self) -> Option<StreamMap> {
        let cap = self.spare.len();
        let head = self.spare_head;
        let entry = self.spare.get_mut(head)?;
        let free = entry.as_ref()?.is_unshared();
        if !free && self.spare_len < cap {
            return None;
        }
        let map = entry.take();
        // `head` indexes the non-empty ring, so `cap` > 0 and `head + 1` <= `cap`.
        self.spare_head = (head + 1).checked_rem(cap).unwrap_or(0);
        self.spare_len = self.spare_len.saturating_sub(1);
        // A page the stack still holds is let go here: the stack frees it with its packet.
        map.filter(|_| free)
    }

    /// Puts `map` at the end of the spare ring (lets it go if the ring is full).
    fn put_spare(&mut self, map: StreamMap) {
        let cap = self.spare.len();
        if self.spare_len < cap {
            // Below `cap` each, so no overflow; `cap` > 0 here.
            let tail = (self.spare_head + self.spare_len)
                .checked_rem(cap)
                .unwrap_or(0);
            if let Some(entry) = self.spare.get_mut(tail) {
                *entry = Some(map);
                self.spare_len += 1;
            }
        }
    }
}

/// What became of a received frame.
enum RxFrame {
    /// A packet for the stack.
    Stack(Skb),
    /// XDP consumed the frame (dropped, sent or redirected it); counted.
    Xdp,
    /// Dropped before XDP or the stack saw it.
    Dropped,
}

/// What is left to do with a frame after XDP.
enum Verdict {
    /// Build the packet at the frame's bounds; for the stack, or to send out (`XDP_TX`).
    Build { headroom: u32, len: u32, tx: bool },
    /// The frame went to the core with a reference to its page.
    Redirected,
    /// Dropped: post the same page again.
    Recycle,
}

/// What a channel's NAPI poll works on.
#[pin_data]
pub(crate) struct ChannelPoll {
    adapter: Arc<Adapter>,
    index: u32,
    /// The MSI-X vector of the channel's event queue: `index + 1` (vector 0 is the hardware
    /// channel's).
    vector: u32,
    counters: Arc<PortCounters>,
    sq: WqObject,
    rq: WqObject,
    eq: Arc<EventQueue>,
    rx_cfg: RxBufCfg,
    rings: Rings,
    gpa_mkey: u32,
    /// The port's XDP program.
    xdp: Arc<ProgSlot>,
    /// The receive queue as XDP knows it.
    #[pin]
    xdp_rxq: RxQueueInfo,
    #[pin]
    tx: SpinLockIrq<TxState>,
    #[pin]
    eq_head: SpinLockIrq<u32>,
}

/// The sizes of a channel's queues, fixed when the channel is made. None is zero, so the ring
/// arithmetic of the data path can neither divide by zero nor overflow.
#[derive(Clone, Copy)]
struct Rings {
    /// Bytes of the send and of the receive queue.
    sq_bytes: NonZeroU32,
    rq_bytes: NonZeroU32,
    /// Entries of the send and of the receive completion queue.
    scq: RingEntries,
    rcq: RingEntries,
    /// Packets the send queue can have pending (its slots in `TxState::pending`).
    tx_slots: NonZeroU32,
    /// Receive pages posted (slots in `RxPool::posted`).
    rx_bufs: NonZeroU32,
}

impl Rings {
    /// The sizes of the queues `sq` and `rq`, with `rx_bufs` receive pages.
    fn new(sq: &WqObject, rq: &WqObject, rx_bufs: u32) -> Result<Self> {
        let bytes = |mem: &DmaBuf| {
            u32::try_from(mem.size())
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or(EINVAL)
        };
        let entries = |mem: &DmaBuf| RingEntries::of_bytes(mem.size(), CQE_BYTES).ok_or(EINVAL);
        let sq_bytes = bytes(sq.wq_mem())?;
        Ok(Self {
            sq_bytes,
            rq_bytes: bytes(rq.wq_mem())?,
            scq: entries(sq.cq_mem())?,
            rcq: entries(rq.cq_mem())?,
            tx_slots: NonZeroU32::new(sq_bytes.get() / WQE_BYTES).ok_or(EINVAL)?,
            rx_bufs: NonZeroU32::new(rx_bufs).ok_or(EINVAL)?,
        })
    }
}

/// The entries of a channel's event queue.
const EQ_ENTRIES: RingEntries = RingEntries::constant(EQ_BYTES / queue::EQE_SIZE);

/// A channel: the NAPI context and what it polls.
pub(crate) type Channel = Napi<ChannelPoll>;

/// The interrupt handler of a channel's event queue vector.
struct Irq {
    channel: Arc<Channel>,
}

impl InterruptHandler for Irq {
    fn handle(&self) {
        if self.channel.data().process_eq() {
            self.channel.schedule();
        }
    }

    /// Draining the event queue takes only its interrupt-safe head lock and rings the EQ
    /// doorbell; NAPI is scheduled from the hard interrupt, as `mana_gd_intr()` does.
    fn context(&self) -> IrqContext {
        IrqContext::Hard
    }
}

/// The channels of an up interface.
///
/// Dropping it removes the interrupt handlers and disables the NAPI contexts first, then
/// destroys the queues (frees pending packets).
pub(crate) struct ChannelSet {
    adapter: Arc<Adapter>,
    pub(crate) list: KVec<Arc<Channel>>,
    /// The interrupt handler of each started channel.
    irqs: KVec<Arc<dyn InterruptHandler>>,
}

impl Drop for ChannelSet {
    fn drop(&mut self) {
        for (ch, irq) in self.list.iter().zip(self.irqs.iter()) {
            self.adapter.remove_interrupt_handler(ch.data().vector, irq);
        }
        for ch in self.list.iter() {
            ch.disable();
            // The counters' writers go back to the port now, for the next channels of these
            // queues, whoever still holds a reference to this one. Taken out of the send lock
            // first: the port's lock is not nested in it.
            let _ = ch.with_disabled_state(|rx| rx.stats.park());
            let xmit = ch.data().tx.lock().stats.writer.take();
            if let Some(w) = xmit {
                ch.data().counters.park(ch.data().index, w);
            }
        }
        // The vport no longer steers to the receive queues (the owner turned steering off), but
        // the device may still be writing a frame into a receive page: fence each queue before
        // the queues and the pages go (C: mana_fence_rqs()).
        for ch in self.list.iter() {
            let _ = ch.with_disabled_state(|rx| ch.data().fence_rx(rx));
        }
    }
}

impl ChannelSet {
    /// No channels (an interface being reconfigured).
    pub(crate) fn empty(adapter: &Arc<Adapter>) -> Self {
        Self {
            adapter: adapter.clone(),
            list: KVec::new(),
            irqs: KVec::new(),
        }
    }

    /// Creates `count` channels of `dev` on `vport` with rings of `tx_ring`/`rx_ring` entries.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dev: &Device<Port>,
        adapter: &Arc<Adapter>,
        vport: Handle,
        count: u32,
        tx_ring: u32,
        rx_ring: u32,
        counters: &Arc<PortCounters>,
        xdp: &Arc<ProgSlot>,
    ) -> Result<Self> {
        let mut channels = Self {
            adapter: adapter.clone(),
            list: KVec::with_capacity(count as usize, GFP_KERNEL)?,
            irqs: KVec::with_capacity(count as usize, GFP_KERNEL)?,
        };
        let sq_bytes = ring_bytes(tx_ring, WQE_BYTES)?;
        let rq_bytes = ring_bytes(rx_ring, WQE_BYTES)?;
        let scq_bytes = ring_bytes(tx_ring, CQE_BYTES)?;
        // One entry more than the receive WQEs: the fence completion (C: mana_alloc_rx_wqe()).
        let rcq_bytes = ring_bytes(rx_ring.checked_add(1).ok_or(EINVAL)?, CQE_BYTES)?;
        let rx_cfg = rx_buf_cfg(dev.mtu())?;
        let rx_bufs = rx_ring.min(rq_bytes / RX_WQE_BYTES).max(1);
        let spare_cap = rx_bufs.min(RX_SPARE_MAX) as usize;
        let ctx = adapter.objects();
        let caps = adapter.caps();
        for q in 0..count {
            if counters.get(q as usize).is_none() {
                return Err(EINVAL);
            }
            // The packets of the previous channels (gone, with their NAPI contexts) were never
            // completed: start the byte queue limits afresh.
            if let Some(txq) = dev.tx_queue(q) {
                txq.reset();
            }
            // Vector 0 is the hardware channel's.
            let vector = q.checked_add(1).ok_or(EINVAL)?;
            let eq = EventQueue::new(&ctx, EQ_BYTES, vector, caps.pdid, caps.doorbell)?;
            let sq = WqObject::new(&ctx, vport, WqKind::Send, sq_bytes, scq_bytes, &eq)?;
            let rq = WqObject::new(&ctx, vport, WqKind::Receive, rq_bytes, rcq_bytes, &eq)?;
            let rings = Rings::new(&sq, &rq, rx_bufs)?;
            let mut posted = KVec::with_capacity(rx_bufs as usize, GFP_KERNEL)?;
            for _ in 0..rx_bufs {
                posted.push(None, GFP_KERNEL)?;
            }
            let mut spare = KVec::with_capacity(spare_cap, GFP_KERNEL)?;
            for _ in 0..spare_cap {
                spare.push(None, GFP_KERNEL)?;
            }
            // The counters' writers, lent to this channel until it is taken down.
            let xmit_stats = counters.lend::<XmitWriter>(q)?;
            let poll_stats = counters.lend::<PollWriter>(q)?;
            let slots = rings.tx_slots.get() as usize;
            let mut pending = KVVec::with_capacity(slots, GFP_KERNEL)?;
            for _ in 0..slots {
                pending.push(None, GFP_KERNEL)?;
            }
            let poll = pin_init!(ChannelPoll {
                adapter: adapter.clone(),
                index: q,
                vector,
                counters: counters.clone(),
                sq,
                rq,
                eq,
                rx_cfg,
                rings,
                gpa_mkey: caps.gpa_mkey,
                xdp: xdp.clone(),
                // The NAPI id is not known before the context exists; only AF_XDP (not
                // offered) uses it.
                xdp_rxq <- RxQueueInfo::new(dev, q, 0),
                tx <- new_spinlock_irq!(TxState {
                    head: 0,
                    tail: 0,
                    pending,
                    prod: 0,
                    cons: 0,
                    cq_head: queue::initial_index(rings.scq),
                    rung: 0,
                    stats: xmit_stats,
                }),
                eq_head <- new_spinlock_irq!(queue::initial_index(EQ_ENTRIES)),
            }? Error);
            // The poll's own state, dropped after the queues (`Napi` drops it after its
            // data): the device no longer writes into the pages.
            let rx = RxState {
                prod: 0,
                cons: 0,
                cq_head: queue::initial_index(rings.rcq),
                pool: RxPool {
                    posted,
                    spare,
                    spare_head: 0,
                    spare_len: 0,
                },
                stats: poll_stats,
            };
            // Channel `q`'s context takes the persistent NAPI configuration `q`: its id and
            // the user's settings (threaded polling, ...) survive `ethtool -L` and down/up.
            let ch = Arc::pin_init(Napi::new_with_config(dev, q, poll, rx), GFP_KERNEL)?;
            channels.list.push(ch, GFP_KERNEL)?;
        }
        Ok(channels)
    }

    /// Starts the channels: receive pages posted, NAPI on, interrupt handlers in, completion
    /// queues armed.
    pub(crate) fn start(&mut self) -> Result {
        for ch in self.list.iter() {
            // The pages are allocated (may sleep) and posted before the poll can run.
            let rx_cq_head = ch.with_disabled_state(|rx| {
                ch.data().post_rx_all(rx)?;
                Ok::<_, Error>(rx.cq_head)
            })??;
            // Reported with the context (`napi-get`), if the vector is a real interrupt.
            ch.set_irq(self.adapter.irq_number(ch.data().vector));
            ch.enable();
            let irq: Arc<dyn InterruptHandler> = Arc::new(
                Irq {
                    channel: ch.clone(),
                },
                GFP_KERNEL,
            )?;
            self.irqs.push(irq.clone(), GFP_KERNEL)?;
            self.adapter.add_interrupt_handler(ch.data().vector, irq)?;
            let poll = ch.data();
            poll.arm_cqs(rx_cq_head);
            poll.arm_eq(*poll.eq_head.lock());
        }
        Ok(())
    }

    /// The receive queue handle of channel `index`.
    pub(crate) fn rq_handle(&self, index: usize) -> Option<Handle> {
        self.list.get(index).map(|c| c.data().rq.handle())
    }
}

impl ChannelPoll {
    /// Fences the receive queue and reads its completions until the device's RX_OBJECT_FENCE
    /// (dropping the frames before it, whose pages go with the queue), for at most
    /// [`RX_FENCE_WAIT_MS`]. Runs with the poll disabled.
    fn fence_rx(&self, rx: &mut RxState) {
        if let Err(e) = self.rq.fence() {
            // As the C driver: give the device time instead. ESHUTDOWN is the device's own reset
            // (its hardware channel is closed until the reset cycle sets it up again), which
            // is expected and not worth a log line.
            if e != ESHUTDOWN {
                kernel::pr_err_ratelimited!(
                    "RX queue {}: FENCE_RQ failed ({:?}); waiting 100 ms before freeing its buffers\n",
                    self.index,
                    e
                );
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(100));
            return;
        }
        let mem = self.rq.cq_mem();
        let mut waited_ms = 0;
        while waited_ms < RX_FENCE_WAIT_MS {
            match read_cqe(mem, rx.cq_head, self.rings.rcq) {
                RingRead::Entry(cqe) => {
                    rx.cq_head = rx.cq_head.wrapping_add(1);
                    let fence = RxCompOob::from_bytes_copy(cqe.data_bytes())
                        .is_some_and(|o| o.cqe_hdr.cqe_type().get() == cqe_type::RX_OBJECT_FENCE);
                    let ours =
                        !cqe.info.is_sq().into_bool() && cqe.info.wq_num().get() == self.rq.wq_id();
                    if fence && ours {
                        return;
                    }
                }
                RingRead::Empty => {
                    kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
                    waited_ms += 1;
                }
                RingRead::Overflow => {
                    kernel::pr_err_ratelimited!(
                        "RX queue {}: completion queue overflow while fencing\n",
                        self.index
                    );
                    return;
                }
            }
        }
        kernel::pr_err_ratelimited!(
            "RX queue {}: the device did not complete the fence in {} ms\n",
            self.index,
            RX_FENCE_WAIT_MS
        );
    }

    fn ring(&self, qtype: u32, value: u64) {
        let _ = self.adapter.ring_doorbell(qtype, value);
    }

    /// Arms both completion queues; `rx_cq_head` is the receive completion queue's head.
    fn arm_cqs(&self, rx_cq_head: u32) {
        let st = cq_doorbell_tail(self.tx.lock().cq_head, self.rings.scq);
        let rt = cq_doorbell_tail(rx_cq_head, self.rings.rcq);
        if let Ok(db) = CqDoorbell::new(self.sq.cq_id(), st, true) {
            self.ring(queue_type::CQ, db.into_raw());
        }
        if let Ok(db) = CqDoorbell::new(self.rq.cq_id(), rt, true) {
            self.ring(queue_type::CQ, db.into_raw());
        }
    }

    fn arm_eq(&self, head: u32) {
        let tail = cq_doorbell_tail(head, EQ_ENTRIES);
        if let Ok(db) = EqDoorbell::new(self.eq.id(), tail, true) {
            self.ring(queue_type::EQ, db.into_raw());
        }
    }

    /// Drains the event queue; returns whether a completion event for this channel came.
    fn process_eq(&self) -> bool {
        let entries = EQ_ENTRIES;
        let mem = self.eq.mem();
        let mut head = self.eq_head.lock();
        let mut ours = false;
        let mut handled = false;
        // At most one pass over the ring per interrupt, as C's `mana_gd_process_eq_events()`:
        // a device that keeps writing events cannot hold the handler. Events left are
        // signalled again once the queue is re-armed.
        for _ in 0..entries.get() {
            let index = *head;
            let eqe = match read_eqe(mem, index, entries) {
                RingRead::Entry(eqe) => eqe,
                RingRead::Empty => break,
                RingRead::Overflow => {
                    kernel::pr_err_ratelimited!("channel {}: event queue overflow\n", self.index);
                    *head = index.wrapping_add(1);
                    break;
                }
            };
            *head = index.wrapping_add(1);
            handled = true;
            let cq = eqe.details[0] & 0xff_ffff;
            if eqe.info.eqe_type().get() == u32::from(queue::eqe_type::COMPLETION)
                && (cq == self.sq.cq_id() || cq == self.rq.cq_id())
            {
                ours = true;
            } else {
                kernel::pr_warn_ratelimited!(
                    "channel {}: unexpected event (type {}, CQ {}); ignored\n",
                    self.index,
                    eqe.info.eqe_type().get(),
                    cq
                );
            }
        }
        if handled {
            self.arm_eq(*head);
        }
        ours
    }

    /// Maps a new receive page: the device may write the frame area only.
    fn new_rx_page(&self, flags: kernel::alloc::Flags) -> Result<StreamMap> {
        let cfg = &self.rx_cfg;
        let page = SharedPage::alloc(cfg.order, flags)?;
        self.adapter.map_page(
            page,
            cfg.headroom as usize,
            cfg.datasize as usize,
            DataDirection::FromDevice,
        )
    }

    /// Posts the receive WQE of page `map` at WQE position `prod` (slot `prod % rx_bufs`).
    fn post_rx(&self, rx: &mut RxState, map: StreamMap) -> Result {
        let prod = rx.prod;
        let slot = rx
            .pool
            .posted
            .get_mut((prod % self.rings.rx_bufs) as usize)
            .ok_or(EINVAL)?;
        let mem = self.rq.wq_mem();
        let offset = (prod.wrapping_mul(RX_WQE_BYTES) % self.rings.rq_bytes) as usize;
        let hdr = WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)?;
        let sge = Sge {
            address: map.dma_addr(),
            mem_key: self.gpa_mkey,
            size: self.rx_cfg.datasize,
        };
        let mut wqe = [0u8; RX_WQE_BYTES as usize];
        wqe[..8].copy_from_slice(hdr.as_bytes());
        wqe[16..32].copy_from_slice(sge.as_bytes());
        mem.write_bytes(offset, &wqe)?;
        *slot = Some(map);
        rx.prod = prod.wrapping_add(1);
        Ok(())
    }

    fn ring_rq(&self, rx: &RxState) {
        let tail = rx.prod.wrapping_mul(RX_WQE_BYTES);
        if let Ok(db) = RqDoorbell::new(self.rq.wq_id(), tail) {
            self.ring(queue_type::RQ, db.into_raw());
        }
    }

    /// Posts a page at every receive position and fills the spare ring (process context,
    /// before the poll runs).
    fn post_rx_all(&self, rx: &mut RxState) -> Result {
        while rx.prod.wrapping_sub(rx.cons) < self.rings.rx_bufs.get() {
            let map = self.new_rx_page(GFP_KERNEL)?;
            self.post_rx(rx, map)?;
        }
        while rx.pool.spare_len < rx.pool.spare.len() {
            let map = self.new_rx_page(GFP_KERNEL)?;
            rx.pool.put_spare(map);
        }
        self.ring_rq(rx);
        Ok(())
    }

    /// Transmits `skb` on this channel.
    fn xmit(&self, dev: &Device<Port>, skb: Skb) -> TxResult {
        match self.post_tx(dev.tx_queue(self.index), skb) {
            Ok(()) => TxResult::Consumed,
            Err(result) => {
                // Not posted: ring for the packets posted before it if none follows.
                if !xmit_more() {
                    self.flush_sq();
                }
                result
            }
        }
    }

    /// Rings the send queue's doorbell if WQEs were posted since it was last rung.
    fn flush_sq(&self) {
        let mut tx = self.tx.lock();
        if tx.rung != tx.head {
            if let Ok(db) = SqDoorbell::new(self.sq.wq_id(), tx.head) {
                self.ring(queue_type::SQ, db.into_raw());
            }
            tx.rung = tx.head;
        }
    }

    /// Posts the WQE of `skb` for the stack's transmit queue `queue` (whose lock the caller
    /// holds); the error is the transmit result of a packet not posted.
    fn post_tx(&self, queue: Option<&TxQueue>, mut skb: Skb) -> core::result::Result<(), TxResult> {
        // The linear part takes one SGE besides the fragments.
        if skb.nr_frags() >= MAX_TX_SGES && skb.linearize().is_err() {
            self.xmit_dropped();
            return Err(TxResult::Consumed);
        }
        let len = skb.len();
        if !(14..=TX_MAX_PACKET + 256).contains(&len) {
            self.xmit_dropped();
            return Err(TxResult::Consumed);
        }
        let Ok(oob) = self.tx_oob(&mut skb) else {
            self.xmit_dropped();
            return Err(TxResult::Consumed);
        };
        let long = oob.s_oob.word0.pkt_fmt().get() == pkt_fmt::LONG;
        let oob_size = if long {
            queue::INLINE_OOB_LARGE_SIZE
        } else {
            queue::INLINE_OOB_SMALL_SIZE
        };
        let mss = if skb.is_gso() {
            u32::from(skb.gso_size())
        } else {
            0
        };
        let tso = TsoSegments::of(&skb, len);
        // The parts of the packet (the linear part, then each fragment), mapped for the device
        // to read until the completion.
        let Ok(map) = self.adapter.map_skb(skb) else {
            self.xmit_dropped();
            return Err(TxResult::Consumed);
        };
        let nparts = map.parts().len();
        if nparts == 0 || nparts > MAX_TX_SGES {
            self.xmit_dropped();
            return Err(TxResult::Consumed);
        }
        let Some(wqe_bytes) = queue::wqe_size(oob_size, nparts as u32) else {
            self.xmit_dropped();
            return Err(TxResult::Consumed);
        };
        let mut tx = self.tx.lock();
        let (sq_size, slots) = (self.rings.sq_bytes, self.rings.tx_slots);
        if tx.head.wrapping_sub(tx.tail).saturating_add(wqe_bytes) > sq_size.get()
            || tx.prod.wrapping_sub(tx.cons) >= slots.get()
        {
            // Should not happen: the queue is stopped before it fills up.
            if let Some(q) = queue {
                q.stop();
            }
            tx.stats.add(xmit_stat::TX_STOPPED, 1);
            drop(tx);
            return match map.into_skb() {
                Some(skb) => Err(TxResult::Busy(skb)),
                None => Err(TxResult::Consumed),
            };
        }
        // Write the WQE into the ring: header and OOB, then the SGEs, each piece wrapping at
        // the end of the ring (no staging copy on the stack: a WQE may be 512 bytes).
        let Ok(hdr) = WqeHeader::new(nparts as u8, oob_size, mss) else {
            tx.stats.add(xmit_stat::TX_DROPPED, 1);
            return Err(TxResult::Consumed);
        };
        let offset = tx.head % sq_size;
        let mem = self.sq.wq_mem();
        let mut head = [0u8; 8 + queue::INLINE_OOB_LARGE_SIZE as usize];
        head[..8].copy_from_slice(hdr.as_bytes());
        head[8..8 + oob_size as usize].copy_from_slice(&oob.as_bytes()[..oob_size as usize]);
        let mut at = 8 + oob_size;
        let mut written = write_ring(mem, offset, &head[..at as usize]);
        for &(address, size) in map.parts() {
            let sge = Sge {
                address,
                mem_key: self.gpa_mkey,
                size,
            };
            written = written
                .and_then(|()| write_ring(mem, offset.wrapping_add(at) % sq_size, sge.as_bytes()));
            at += 16;
        }
        if written.is_err() {
            tx.stats.add(xmit_stat::TX_DROPPED, 1);
            return Err(TxResult::Consumed);
        }
        let slot = (tx.prod % slots) as usize;
        let Some(entry) = tx.pending.get_mut(slot) else {
            tx.stats.add(xmit_stat::TX_DROPPED, 1);
            return Err(TxResult::Consumed);
        };
        *entry = Some(TxPending {
            map,
            len,
            wqe_offset: offset,
            wqe_bytes,
            tso,
        });
        tx.prod = tx.prod.wrapping_add(1);
        tx.head = tx.head.wrapping_add(wqe_bytes);
        if !self.tx_room(&tx) {
            if let Some(q) = queue {
                q.stop();
                tx.stats.add(xmit_stat::TX_STOPPED, 1);
            }
        }
        // Byte queue limits; the doorbell waits while the stack has more packets at once,
        // unless the queue stopped (C: `__netdev_tx_sent_queue()`).
        let ring = match queue {
            Some(q) => q.sent_more(len, xmit_more()),
            None => true,
        };
        if ring {
            if let Ok(db) = SqDoorbell::new(self.sq.wq_id(), tx.head) {
                self.ring(queue_type::SQ, db.into_raw());
            }
            tx.rung = tx.head;
        }
        Ok(())
    }

    /// Counts a packet the send path dropped before it took the send lock (rare: a packet the
    /// device cannot take or a mapping failure).
    fn xmit_dropped(&self) {
        self.tx.lock().stats.add(xmit_stat::TX_DROPPED, 1);
    }

    /// Whether a worst-case packet still fits.
    fn tx_room(&self, tx: &TxState) -> bool {
        tx.head
            .wrapping_sub(tx.tail)
            .saturating_add(queue::MAX_SQE_SIZE)
            <= self.rings.sq_bytes.get()
            && tx.prod.wrapping_sub(tx.cons) < tx.pending.len() as u32
    }

    /// The TX OOB of `skb` (checksum and TSO offloads, VLAN tag).
    fn tx_oob(&self, skb: &mut Skb) -> Result<TxOob> {
        let mut oob = TxOob::zeroed();
        let mut w0 = oob.s_oob.word0.try_with_vcq_num(self.sq.cq_id())?;
        let mut w1 = oob.s_oob.word1;
        let proto = skb.protocol();
        let (v4, v6) = (proto == ETH_P_IP, proto == ETH_P_IPV6);
        w0 = w0.with_is_outer_ipv4(v4).with_is_outer_ipv6(v6);
        if let Some(tci) = skb.vlan_tag() {
            w0 = w0.try_with_pkt_fmt(pkt_fmt::LONG)?;
            oob.l_oob.word0 = oob
                .l_oob
                .word0
                .with_inject_vlan_pri_tag(true)
                .try_with_pcp(u32::from(tci >> 13))?
                .try_with_dei(u32::from((tci >> 12) & 1))?
                .try_with_vlan_id(u32::from(tci & 0xfff))?;
        }
        if skb.is_gso() {
            let off = u32::try_from(skb.transport_offset()).map_err(|_| EINVAL)?;
            w0 = w0.with_comp_iphdr_csum(v4).with_comp_tcp_csum(true);
            w1 = w1.try_with_trans_off(off)?;
        } else if skb.ip_summed() == Checksum::Partial {
            let l4 = self.l4_proto(skb, v4, v6);
            let off = u32::try_from(skb.transport_offset()).map_err(|_| EINVAL)?;
            match l4 {
                Some(IPPROTO_TCP) => {
                    w0 = w0.with_comp_tcp_csum(true);
                    w1 = w1.try_with_trans_off(off)?;
                }
                Some(IPPROTO_UDP) => {
                    w0 = w0.with_comp_udp_csum(true);
                    w1 = w1.try_with_trans_off(off)?;
                }
                _ => skb.checksum_help()?,
            }
        }
        oob.s_oob.word0 = w0;
        oob.s_oob.word1 = w1;
        Ok(oob)
    }

    /// The transport protocol of an IPv4/IPv6 packet, read from its network header.
    fn l4_proto(&self, skb: &Skb, v4: bool, v6: bool) -> Option<u8> {
        let nh = usize::try_from(skb.network_offset()).ok()?;
        let data = skb.data();
        if v4 {
            data.get(nh + 9).copied()
        } else if v6 {
            data.get(nh + 6).copied()
        } else {
            None
        }
    }

    /// Reaps send completions; frees the packets (outside the lock, in batches) and wakes the
    /// queue.
    fn poll_tx(&self, napi: &NapiPoll<'_, ChannelPoll>, stats: &mut Lent<PollWriter>) {
        let mut any = false;
        let (mut packets, mut bytes) = (0u32, 0u32);
        loop {
            // The buffers only (a pointer each): the mappings were undone in their ring slots.
            let mut batch: [Option<Skb>; TX_REAP_BATCH] = [const { None }; TX_REAP_BATCH];
            let (n, done_bytes) = self.reap_tx(&mut batch, stats);
            // CAST: `n` is at most `TX_REAP_BATCH`. The sums wrap as the byte queue limits'
            // counters do.
            packets = packets.wrapping_add(n as u32);
            bytes = bytes.wrapping_add(done_bytes);
            for skb in batch.iter_mut().take(n).filter_map(Option::take) {
                // Freed into the NAPI cache.
                skb.napi_consume(napi);
            }
            any |= n > 0;
            if n < TX_REAP_BATCH {
                break;
            }
        }
        if any {
            if let Some(q) = napi.tx_queue(self.index) {
                q.completed(packets, bytes);
            }
        }
        if any && self.tx_room(&self.tx.lock()) {
            if let Some(q) = napi.tx_queue(self.index) {
                if q.is_stopped() {
                    q.wake();
                    stats.add(poll_stat::TX_WAKE, 1);
                }
            }
        }
    }

    /// Takes up to `batch.len()` completed packets off the send queue, their parts unmapped in
    /// their ring slots. Returns how many and the bytes the stack reported at transmit.
    fn reap_tx(&self, batch: &mut [Option<Skb>], stats: &mut Lent<PollWriter>) -> (usize, u32) {
        let mem = self.sq.cq_mem();
        let entries = self.rings.scq;
        let mut tx = self.tx.lock();
        let slots = self.rings.tx_slots;
        let mut done = 0;
        let mut bytes = 0u32;
        while done < batch.len() {
            let index = tx.cq_head;
            let cqe = match read_cqe(mem, index, entries) {
                RingRead::Entry(cqe) => cqe,
                RingRead::Empty => break,
                RingRead::Overflow => {
                    kernel::pr_err_ratelimited!(
                        "TX queue {}: completion queue overflow\n",
                        self.index
                    );
                    stats.add(poll_stat::TX_ERRORS, 1);
                    break;
                }
            };
            tx.cq_head = index.wrapping_add(1);
            if !cqe.info.is_sq().into_bool() || cqe.info.wq_num().get() != self.sq.wq_id() {
                kernel::pr_err_ratelimited!(
                    "TX queue {}: completion for another queue\n",
                    self.index
                );
                stats.add(poll_stat::TX_ERRORS, 1);
                continue;
            }
            if tx.prod == tx.cons {
                kernel::pr_err_ratelimited!(
                    "TX queue {}: completion with nothing pending\n",
                    self.index
                );
                stats.add(poll_stat::TX_ERRORS, 1);
                continue;
            }
            let Some(oob) = TxCompOob::from_bytes_copy(cqe.data_bytes()) else {
                continue;
            };
            let slot = tx.cons % slots;
            tx.cons = tx.cons.wrapping_add(1);
            // In place: the pending entry (its mapping included) is not moved out of the ring.
            let Some(entry) = tx.pending.get_mut(slot as usize) else {
                continue;
            };
            let Some(p) = entry.as_mut() else {
                continue;
            };
            let (len, wqe_bytes, wqe_offset, tso) = (p.len, p.wqe_bytes, p.wqe_offset, p.tso);
            let skb = p.map.take_skb();
            *entry = None;
            tx.tail = tx.tail.wrapping_add(wqe_bytes);
            let ty = oob.cqe_hdr.cqe_type().get();
            // The device's offset, in units: checked, a wrong one only counts as an error.
            let at = oob
                .offsets
                .tx_wqe_offset()
                .get()
                .checked_mul(queue::WQE_BU_SIZE);
            if ty == cqe_type::TX_OKAY && at == Some(wqe_offset) {
                stats.add(poll_stat::TX_PACKETS, 1);
                stats.add(poll_stat::TX_BYTES, u64::from(len));
                if let Some(seg) = tso {
                    stats.add(poll_stat::TX_TSO_PACKETS, 1);
                    stats.add(poll_stat::TX_TSO_BYTES, u64::from(len));
                    stats.add(poll_stat::TX_TSO_WIRE_PACKETS, u64::from(seg.packets));
                    stats.add(poll_stat::TX_TSO_WIRE_BYTES, u64::from(seg.bytes));
                }
            } else {
                if ty != cqe_type::TX_OKAY {
                    kernel::pr_warn_ratelimited!(
                        "TX queue {}: the device failed a packet (CQE type {})\n",
                        self.index,
                        ty
                    );
                }
                stats.add(poll_stat::TX_ERRORS, 1);
            }
            if let Some(out) = batch.get_mut(done) {
                *out = skb;
            }
            done += 1;
            bytes = bytes.wrapping_add(len);
        }
        (done, bytes)
    }

    /// Reaps up to `budget` receive completions and hands the frames to GRO.
    fn poll_rx(&self, napi: &NapiPoll<'_, ChannelPoll>, rx: &mut RxState, budget: i32) -> i32 {
        let mem = self.rq.cq_mem();
        let entries = self.rings.rcq;
        let rq_size = self.rings.rq_bytes;
        let mut done = 0;
        let mut redirected = false;
        while done < budget {
            let index = rx.cq_head;
            let cqe = match read_cqe(mem, index, entries) {
                RingRead::Entry(cqe) => cqe,
                RingRead::Empty => break,
                RingRead::Overflow => {
                    kernel::pr_err_ratelimited!(
                        "RX queue {}: completion queue overflow\n",
                        self.index
                    );
                    rx.stats.add(poll_stat::RX_ERRORS, 1);
                    break;
                }
            };
            rx.cq_head = index.wrapping_add(1);
            done += 1;
            if cqe.info.is_sq().into_bool() || cqe.info.wq_num().get() != self.rq.wq_id() {
                kernel::pr_err_ratelimited!(
                    "RX queue {}: completion for another queue\n",
                    self.index
                );
                rx.stats.add(poll_stat::RX_ERRORS, 1);
                continue;
            }
            let Some(oob) = RxCompOob::from_bytes_copy(cqe.data_bytes()) else {
                continue;
            };
            let cons = rx.cons;
            if rx.prod == cons || oob.rx_wqe_offset != cons.wrapping_mul(RX_WQE_BYTES) % rq_size {
                kernel::pr_err_ratelimited!(
                    "RX queue {}: completion for WQE offset {} out of order\n",
                    self.index,
                    oob.rx_wqe_offset
                );
                rx.stats.add(poll_stat::RX_ERRORS, 1);
                continue;
            }
            let slot = (cons % self.rings.rx_bufs) as usize;
            rx.cons = cons.wrapping_add(1);
            let ty = oob.cqe_hdr.cqe_type().get();
            let len = u32::from(oob.ppi[0].pkt_len());
            let ok = ty == cqe_type::RX_OKAY && (14..=self.rx_cfg.datasize).contains(&len);
            let frame = if ok {
                self.rx_frame(napi, rx, slot, len, &mut redirected)
            } else {
                self.rx_repost(rx, slot, false).map(|()| RxFrame::Dropped)
            };
            match frame {
                Ok(RxFrame::Stack(skb)) => self.receive(napi, &mut rx.stats, &oob, skb, len),
                Ok(RxFrame::Xdp) => {}
                Ok(RxFrame::Dropped) => rx.stats.add(poll_stat::RX_DROPPED, 1),
                Err(_) => {
                    rx.stats.add(poll_stat::RX_ERRORS, 1);
                    rx.stats.add(poll_stat::RX_DROPPED, 1);
                }
            }
        }
        if redirected {
            xdp::flush(napi);
        }
        if done > 0 {
            self.ring_rq(rx);
        }
        done
    }

    /// Reposts the page of receive slot `slot` (a frame dropped); `cpu_touched` if the frame
    /// was synced for the CPU (and maybe written by an XDP program) since the device wrote it.
    fn rx_repost(&self, rx: &mut RxState, slot: usize, cpu_touched: bool) -> Result {
        let map = rx
            .pool
            .posted
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or(EINVAL)?;
        self.repost(rx, map, cpu_touched)
    }

    /// Posts `map` again at the next position.
    fn repost(&self, rx: &mut RxState, mut map: StreamMap, cpu_touched: bool) -> Result {
        if cpu_touched {
            // Owned by the CPU since the frame was synced for it: back to the device.
            map.sync_for_device(0, self.rx_cfg.datasize as usize)?;
        }
        self.post_rx(rx, map)
    }

    /// Handles the frame of `len` bytes in receive slot `slot`: runs the XDP program, if any,
    /// and builds the packet for the stack unless the program consumed the frame. The slot is
    /// reposted, with a page the stack gave back (or a new one) if the frame's page went on
    /// with the frame, else with the same page. `redirected` is set when a frame went to the
    /// core for a redirect.
    fn rx_frame(
        &self,
        napi: &NapiPoll<'_, ChannelPoll>,
        rx: &mut RxState,
        slot: usize,
        len: u32,
        redirected: &mut bool,
    ) -> Result<RxFrame> {
        let cfg = &self.rx_cfg;
        let mut map = rx
            .pool
            .posted
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or(EINVAL)?;
        // The page to post instead, taken before the frame is looked at: a frame that goes on
        // (to the stack, out again, or redirected) cannot be taken back.
        let fresh = match rx.pool.take_spare() {
            Some(mut m) => m.sync_for_device(0, cfg.datasize as usize).map(|()| m),
            None => {
                rx.stats.add(poll_stat::RX_PAGE_ALLOCS, 1);
                self.new_rx_page(GFP_ATOMIC)
            }
        };
        let Ok(fresh) = fresh else {
            // No page to post instead: drop the frame and keep the page.
            rx.stats.add(poll_stat::RX_ALLOC_FAIL, 1);
            self.repost(rx, map, false)?;
            return Ok(RxFrame::Dropped);
        };
        let verdict = match map
            .sync_for_cpu(0, len as usize)
            .and_then(|()| map.cpu_page())
        {
            Ok(mut page) => self.run_xdp(napi, &mut rx.stats, &mut page, len, redirected),
            Err(_) => Verdict::Recycle,
        };
        let (headroom, len, tx) = match verdict {
            Verdict::Recycle => {
                rx.pool.put_spare(fresh);
                self.repost(rx, map, true)?;
                return Ok(RxFrame::Xdp);
            }
            Verdict::Redirected => {
                // The page waits in the spare ring until the redirect target frees the frame.
                rx.pool.put_spare(map);
                self.post_rx(rx, fresh)?;
                return Ok(RxFrame::Xdp);
            }
            Verdict::Build { headroom, len, tx } => (headroom, len, tx),
        };
        match map.build_skb(0, cfg.truesize, headroom, len) {
            Ok(skb) => {
                rx.pool.put_spare(map);
                self.post_rx(rx, fresh)?;
                if tx {
                    self.xdp_tx(napi, &mut rx.stats, skb);
                    return Ok(RxFrame::Xdp);
                }
                Ok(RxFrame::Stack(skb))
            }
            Err(_) => {
                rx.pool.put_spare(fresh);
                self.repost(rx, map, true)?;
                Ok(RxFrame::Dropped)
            }
        }
    }

    /// Runs the port's XDP program, if any, on the `len` bytes at the headroom of `page` and
    /// acts on a redirect; returns what is left to do with the frame.
    fn run_xdp(
        &self,
        napi: &NapiPoll<'_, ChannelPoll>,
        stats: &mut Lent<PollWriter>,
        page: &mut kernel::dma_stream::CpuPage<'_>,
        len: u32,
        redirected: &mut bool,
    ) -> Verdict {
        let cfg = &self.rx_cfg;
        self.xdp.with(|prog| {
            let pass = Verdict::Build {
                headroom: cfg.headroom,
                len,
                tx: false,
            };
            let Some(prog) = prog else {
                return pass;
            };
            let Ok(mut buff) = Buff::new(&self.xdp_rxq, page, cfg.truesize, cfg.headroom, len)
            else {
                return pass;
            };
            let act = prog.run(napi, &mut buff);
            // XDP is the first layer of the stack: what it consumes counts as received
            // (`XDP_PASS` counts when the stack gets the packet).
            if act != Action::Pass {
                stats.add(poll_stat::RX_PACKETS, 1);
                stats.add(poll_stat::RX_BYTES, u64::from(len));
            }
            match act {
                Action::Pass => Verdict::Build {
                    headroom: buff.headroom(),
                    len: buff.len(),
                    tx: false,
                },
                Action::Tx => {
                    stats.add(poll_stat::RX_XDP_TX, 1);
                    Verdict::Build {
                        headroom: buff.headroom(),
                        len: buff.len(),
                        tx: true,
                    }
                }
                Action::Redirect => match buff.redirect(napi, prog) {
                    Ok(()) => {
                        *redirected = true;
                        stats.add(poll_stat::RX_XDP_REDIRECT, 1);
                        Verdict::Redirected
                    }
                    Err(_) => {
                        prog.trace_exception(napi, act.as_raw());
                        stats.add(poll_stat::RX_XDP_DROP, 1);
                        Verdict::Recycle
                    }
                },
                Action::Aborted => {
                    prog.trace_exception(napi, act.as_raw());
                    stats.add(poll_stat::RX_XDP_DROP, 1);
                    Verdict::Recycle
                }
                Action::Drop => {
                    stats.add(poll_stat::RX_XDP_DROP, 1);
                    Verdict::Recycle
                }
                Action::Invalid(v) => {
                    prog.warn_invalid_action(napi, v);
                    prog.trace_exception(napi, v);
                    stats.add(poll_stat::RX_XDP_DROP, 1);
                    Verdict::Recycle
                }
            }
        })
    }

    /// Sends `skb` (an `XDP_TX` frame, from its Ethernet header) on this channel's send queue,
    /// under the stack's transmit lock of the queue; drops it if the queue is stopped or full.
    fn xdp_tx(&self, napi: &NapiPoll<'_, ChannelPoll>, stats: &mut Lent<PollWriter>, mut skb: Skb) {
        skb.set_queue_mapping(self.index as u16);
        let Some(q) = napi.tx_queue(self.index) else {
            stats.add(poll_stat::TX_DROPPED, 1);
            return;
        };
        let posted = q.with_xmit_lock(|| {
            if q.is_stopped() {
                return Err(TxResult::Busy(skb));
            }
            self.post_tx(Some(q), skb)
        });
        if let Err(TxResult::Busy(skb)) = posted {
            stats.add(poll_stat::TX_DROPPED, 1);
            drop(skb);
        }
    }

    fn receive(
        &self,
        napi: &NapiPoll<'_, ChannelPoll>,
        stats: &mut Lent<PollWriter>,
        oob: &RxCompOob,
        mut skb: Skb,
        len: u32,
    ) {
        if napi.eth_type_trans(&mut skb).is_err() {
            stats.add(poll_stat::RX_DROPPED, 1);
            return;
        }
        let f = oob.flags;
        // What the user turned off with `ethtool -K` is not reported (as C does); the device
        // always strips VLAN tags, so that feature is fixed on.
        let features = napi.features();
        if features.contains(Features::RXCSUM)
            && f.rx_iphdr_csum_succeed().into_bool()
            && (f.rx_tcp_csum_succeed().into_bool() || f.rx_udp_csum_succeed().into_bool())
        {
            skb.set_csum_unnecessary();
            stats.add(poll_stat::RX_CSUM_OK, 1);
        } else {
            stats.add(poll_stat::RX_CSUM_NONE, 1);
        }
        let ht = if features.contains(Features::RXHASH) {
            f.rx_hashtype().get() as u16
        } else {
            0
        };
        let l4 = hash_type::TCP_IPV4
            | hash_type::UDP_IPV4
            | hash_type::TCP_IPV6
            | hash_type::UDP_IPV6
            | hash_type::TCP_IPV6_EX
            | hash_type::UDP_IPV6_EX;
        if ht & l4 != 0 {
            skb.set_hash(oob.ppi[0].pkt_hash(), HashType::L4);
        } else if ht != 0 {
            skb.set_hash(oob.ppi[0].pkt_hash(), HashType::L3);
        }
        if f.rx_vlantag_present().into_bool() {
            skb.put_vlan_tag(ETH_P_8021Q, f.rx_vlan_id().get() as u16);
        }
        skb.record_rx_queue(self.index as u16);
        stats.add(poll_stat::RX_PACKETS, 1);
        stats.add(poll_stat::RX_BYTES, u64::from(len));
        let _ = napi.gro_receive(skb);
    }
}

impl Poll for ChannelPoll {
    type State = RxState;

    fn poll(napi: NapiPoll<'_, Self>, rx: &mut RxState, budget: i32) -> i32 {
        let ch = napi.context().data();
        ch.poll_tx(&napi, &mut rx.stats);
        let done = ch.poll_rx(&napi, rx, budget);
        if done < budget && napi.complete_done(done) {
            ch.arm_cqs(rx.cq_head);
        }
        done
    }
}

/// Transmits `skb` on channel `ch` of `dev`.
pub(crate) fn xmit(dev: &Device<Port>, ch: &Channel, skb: Skb) -> TxResult {
    ch.data().xmit(dev, skb)
}

/// Transmits frames redirected to `dev` on channel `ch` (`ndo_xdp_xmit`), under the stack's
/// transmit lock of its queue: as many as fit, in order; the rest stay with the core.
pub(crate) fn xdp_xmit(dev: &Device<Port>, ch: &Channel, frames: &mut FrameBatch<'_>) {
    let p = ch.data();
    let Some(q) = dev.tx_queue(p.index) else {
        return;
    };
    q.with_xmit_lock(|| {
        let (mut sent, mut dropped) = (0u64, 0u64);
        while !q.is_stopped() {
            let Some(frame) = frames.next_frame() else {
                break;
            };
            let Ok(mut skb) = frame.into_skb(dev) else {
                dropped += 1;
                continue;
            };
            skb.set_queue_mapping(p.index as u16);
            match p.post_tx(Some(q), skb) {
                Ok(()) => sent += 1,
                Err(TxResult::Busy(skb)) => {
                    // Full: this one is dropped, the rest go back to the core.
                    drop(skb);
                    dropped += 1;
                    break;
                }
                Err(TxResult::Consumed) => dropped += 1,
            }
        }
        if sent + dropped > 0 {
            let mut tx = p.tx.lock();
            tx.stats.add(xmit_stat::TX_XDP_XMIT, sent);
            tx.stats.add(xmit_stat::TX_XDP_XMIT_DROP, dropped);
        }
    });
}
