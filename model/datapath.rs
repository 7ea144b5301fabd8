// SPDX-License-Identifier: GPL-2.0-only

//! The data path of the software MANA device: send queues, receive queues, their completion
//! queues and event queues, and the wire between linked ports.
//!
//! The model reads send WQEs from queue memory the way the hardware does (header, short or long
//! TX OOB, SGEs, all validated; a malformed WQE is a counted fault answered by an error CQE and
//! never leads to an out-of-bounds access), gathers the packet from the SGE addresses through
//! `DeviceMemory`, applies the requested offloads (IPv4 header checksum, TCP and UDP
//! checksums, TSO segmentation by the MSS in the WQE's client data unit, VLAN tag insertion from
//! the long OOB) and delivers every resulting frame to the linked port.
//!
//! # Links
//!
//! Ports are linked in pairs: port 0 with port 1, port 2 with port 3, and so on; the last port
//! of an adapter with an odd number of ports is linked to itself (a loopback). A frame sent on a
//! port is received on its linked port. A host can link a port outside the device instead (`SwDevice::set_external`):
//! its frames then go to the host's [`Wire`] (e.g. to a port of another device), and the host
//! hands it frames from outside (`SwDevice::receive_frame`).
//!
//! # Reception
//!
//! A received frame is dropped (and counted) while the linked port's RX steering is off. Else
//! the device strips an 802.1Q tag, computes the Toeplitz hash of the IPv4/IPv6 addresses (and
//! TCP/UDP ports) with the key CONFIG_VPORT_RX programmed, picks the receive queue from the
//! indirection table (`hash % entries`), consumes the oldest posted RX WQE of that queue (no
//! buffer posted: dropped and counted), writes the frame into its SGEs and reports it with an RX
//! CQE (`mana_rxcomp_oob`: length, hash, hash type, checksum results of IPv4, TCP and UDP).
//!
//! # Completions and events
//!
//! Each completion is written with the owner bits of its pass. When the completion queue is
//! armed (CQ doorbell with the arm bit), the device posts a COMPLETION EQE naming the CQ on the
//! CQ's event queue, disarms the CQ and raises the EQ's MSI-X vector. Arming a CQ that already
//! holds completions the driver has not consumed raises the event at once.
//!
//! Doorbells of the hardware channel's page (0) are the device model's business
//! ([`crate::device`]); every other doorbell page belongs to the data path.
//!
//! # Owners, doorbell pages and memory keys
//!
//! CONFIG_VPORT_TX programs a vport with the PD and doorbell page of its owner: the Ethernet
//! driver (the registered device's PD and page) or a user context whose RAW and RSS QPs hold
//! the vport (its PD and the doorbell page of its context, which user space has mapped). Until
//! the first CONFIG_VPORT_TX (and after a reset) a vport belongs to the registered device, the
//! function's own driver. The device takes a send, receive or completion queue's doorbell only
//! on the page of its vport's owner, and an EQ's only on the page the EQ was created with: a
//! doorbell on any other page (another context's, the kernel's for a user queue, a user's for
//! a kernel queue) is refused and counted in [`DpStats::foreign_doorbells`], so one context
//! cannot drive another one's queues.
//!
//! An SGE's memory key says what its address is. The device's own key (REGISTER_DEVICE's
//! `gpa_mkey`) makes it a DMA address, for queues of the registered device's PD only. Any other
//! key must be the key of a memory region (CREATE_MR) of the vport owner's PD: the address is
//! a virtual address of a GVA region (offset = address - its virtual address) or an offset
//! into a zero-based one (ZBVA), the bytes must lie within the region and the region must
//! allow the access (local read to send, local write to receive); the device then reaches the
//! region's pages by their DMA addresses. An SGE that fails any of this is never used: a send
//! WQE completes with an error CQE, a receive buffer with a truncated-packet CQE, and both are
//! counted ([`DpStats::key_faults`], [`DpStats::wqe_faults`]) and logged.
//!
//! # Stalled send queues
//!
//! A test can stall the send queues of a vport (`SwDevice::set_tx_stall`): the device keeps
//! taking their doorbells but consumes no WQE and writes no completion, like a hung queue, until
//! the stall is released; then it processes what was posted meanwhile.

use core::num::{
    NonZeroU32,
    NonZeroUsize, //
};

use crate::{
    error::{
        Error,
        Result, //
    },
    table::Table,
    wire_ext::WireExt,
    zero::zeroable,
};

pub use crate::stats::{
    DpStats,
    QueueStats, //
};

use crate::packet::{
    be16,
    be32,
    ipv4_csum_ok,
    ipv4_fix_csum,
    l4_csum_ok,
    l4_fix_csum,
    parse,
    put16,
    put32,
    rss_hash,
    Parsed,
    ETH_HLEN,
    ETH_P_8021Q,
    IPPROTO_TCP,
    IPPROTO_UDP, //
};

use crate::device::{
    MANA_DEV_DOORBELL,
    MANA_DEV_GPA_MKEY,
    MANA_DEV_PDID, //
};

use crate::host::{
    DeviceMemory,
    Log,
    Wire, //
};

use mana_wire::{
    eth::{
        cqe_type,
        pkt_fmt,
        CqeHeader,
        RxCompFlags,
        RxCompOob,
        RxCompPerPktInfo,
        TxCompOffsets,
        TxCompOob,
        TxOob,
        MANA_CQE_COMPLETION, //
    },
    gdma_msgs::access,
    mana_msgs::{
        hash_type,
        HASH_KEY_SIZE,
        INDIRECT_TABLE_MAX_SIZE, //
    },
    queue::{
        self,
        queue_type,
        CqDoorbell,
        Cqe,
        CqeInfo,
        Eqe,
        EqeInfo,
        RqDoorbell,
        Sge,
        SqDoorbell,
        WqeHeader, //
    }, //
};

/// The largest packet a send WQE may gather (a 64 KiB TSO packet and its headers).
pub const MAX_TX_PACKET: usize = 65536 + 256;
/// The largest frame on the wire (adapter MTU plus a VLAN tag, with room to spare).
pub const MAX_FRAME: usize = 16384;
/// The most ports of an adapter.
const MAX_PORTS: usize = 16;
/// The doorbell page of the hardware channel.
pub const HWC_DOORBELL_PAGE: usize = 0;
/// The most work queues (send and receive) the data path holds.
const MAX_WQS: usize = 256;
/// The most event queues the data path holds.
const MAX_EQS: usize = 256;
/// The most DMA regions not yet handed to a queue.
const MAX_REGIONS: usize = 256;
/// The most memory regions the data path translates SGEs through.
const MAX_MRS: usize = 256;
/// The pages of every region and queue, by DMA address: 64 MiB of queue memory.
const POOL_PAGES: usize = 16384;

/// A range of the page pool: `count` pages from `start`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Pages {
    start: u32,
    count: u32,
}
zeroable!(Pages { start, count });

impl Pages {
    /// The DMA addresses of the range's pages in `pool` (empty if the range is not in it).
    fn of(self, pool: &[u64]) -> &[u64] {
        let start = self.start as usize;
        pool.get(start..start.saturating_add(self.count as usize))
            .unwrap_or(&[])
    }

    /// Whether the range overlaps `start..end`.
    fn overlaps(self, start: u32, end: u32) -> bool {
        self.count != 0 && self.start < end && start < self.start.saturating_add(self.count)
    }
}

/// A queue's memory: its size and its 4 KiB pages by DMA address (in the page pool).
#[derive(Clone, Copy)]
struct QueueMem {
    /// Bytes (never zero in a live queue; see [`QueueMem::size`]).
    bytes: u32,
    pages: Pages,
}
zeroable!(QueueMem { bytes, pages });

impl QueueMem {
    /// The size in bytes, never zero (queue arithmetic divides by it).
    fn size(&self) -> NonZeroU32 {
        NonZeroU32::new(self.bytes).unwrap_or(NonZeroU32::MIN)
    }

    /// Copies `out.len()` bytes at byte `offset` of the ring (wrapping) into `out`.
    fn read(&self, pool: &[u64], mem: &dyn DeviceMemory, offset: u32, out: &mut [u8]) -> Result {
        self.access(pool, offset, out.len(), |addr, range| {
            mem.dma_read(addr, out.get_mut(range).ok_or(Error::Invalid)?)
        })
    }

    /// Copies `data` to byte `offset` of the ring (wrapping).
    fn write(&self, pool: &[u64], mem: &dyn DeviceMemory, offset: u32, data: &[u8]) -> Result {
        self.access(pool, offset, data.len(), |addr, range| {
            mem.dma_write(addr, data.get(range).ok_or(Error::Invalid)?)
        })
    }

    fn access(
        &self,
        pool: &[u64],
        offset: u32,
        len: usize,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> Result,
    ) -> Result {
        let page = queue::MANA_PAGE_SIZE as usize;
        let size = self.size().get() as usize;
        if len > size {
            return Err(Error::Invalid);
        }
        let pages = self.pages.of(pool);
        let mut done = 0;
        while done < len {
            // `off < size` and `done < len <= size`: no sum below overflows.
            let off = (offset as usize % size + done) % size;
            let n = (len - done).min(page - off % page).min(size - off);
            let addr = *pages.get(off / page).ok_or(Error::Fault)?;
            let addr = addr.checked_add((off % page) as u64).ok_or(Error::Fault)?;
            f(addr, done..done + n)?;
            done += n;
        }
        Ok(())
    }
}

/// A registered DMA region the data path may build queues on.
#[derive(Clone, Copy)]
struct DpRegion {
    handle: u64,
    pages: Pages,
}
zeroable!(DpRegion { handle, pages });

/// A memory region (CREATE_MR): what an SGE naming its key reaches.
///
/// An SGE address is translated to an offset into the region (`address - base`: the virtual
/// address of a GVA MR, 0 for a zero-based one), checked against its length, then to the DMA
/// address of the page that offset falls in: the pages need not be contiguous.
#[derive(Clone, Copy)]
struct DpMr {
    /// The memory key (lkey) SGEs name.
    key: u32,
    /// The id of the PD the MR was created in.
    pdid: u32,
    /// The SGE address of the MR's first byte.
    base: u64,
    /// The access flags (`gdma_msgs::access`).
    access: u32,
    /// The region's pages; the MR is their count times 4 KiB long.
    pages: Pages,
}
zeroable!(DpMr {
    key,
    pdid,
    base,
    access,
    pages
});

impl DpMr {
    fn length(&self) -> u64 {
        u64::from(self.pages.count) * u64::from(queue::MANA_PAGE_SIZE)
    }
}

/// The owner of a vport's queues as CONFIG_VPORT_TX programmed it: its PD, whose memory keys
/// SGEs may use, and its doorbell page, the only one its queues may be rung on.
#[derive(Clone, Copy)]
struct VportOwner {
    pdid: u32,
    doorbell: u32,
}
zeroable!(VportOwner { pdid, doorbell });

/// The owner of every vport until CONFIG_VPORT_TX: the registered device.
const DEVICE_OWNER: VportOwner = VportOwner {
    pdid: MANA_DEV_PDID,
    doorbell: MANA_DEV_DOORBELL,
};

/// Why an SGE could not be used.
enum SgeFault {
    /// The key, PD, bounds or access was refused (what to log).
    Key(&'static str),
    /// A DMA access failed.
    Dma,
}

/// The bit of vport `vport` in a mask of vports (none if out of range).
fn vport_bit(vport: usize) -> u32 {
    u32::try_from(vport)
        .ok()
        .and_then(|v| 1u32.checked_shl(v))
        .unwrap_or(0)
}

/// Sets (`on`) or clears the bit of `vport` in `mask`, a mask of a device with `num_ports` vports.
fn set_vport_flag(mask: &mut u32, num_ports: usize, vport: usize, on: bool) -> Result {
    if vport >= num_ports {
        return Err(Error::Invalid);
    }
    if on {
        *mask |= vport_bit(vport);
    } else {
        *mask &= !vport_bit(vport);
    }
    Ok(())
}

/// An event queue.
#[derive(Clone, Copy)]
struct DpEq {
    id: u32,
    mem: QueueMem,
    /// Entries of the queue (see [`DpEq::entries`]).
    num_entries: u32,
    msix: u32,
    /// The doorbell page the EQ was created with (its doorbells are rung there).
    doorbell: u32,
    /// Next EQE index (free-running, starts at the entry count).
    index: u32,
}

/// A send or receive queue with its completion queue.
#[derive(Clone, Copy)]
struct DpWq {
    handle: u64,
    vport: usize,
    is_sq: bool,
    wq_id: u32,
    cq_id: u32,
    eq_id: u32,
    wq: QueueMem,
    cq: QueueMem,
    /// Bytes of WQEs consumed and the producer offset the driver rang (free-running).
    head: u32,
    tail: u32,
    /// Next CQE index (free-running, starts at the entry count).
    cq_index: u32,
    /// Entries of the completion queue (see [`DpWq::cq_entries`]).
    cq_num_entries: u32,
    /// The consumer tail of the last CQ doorbell.
    cq_tail: u32,
    armed: bool,
    stats: QueueStats,
}

zeroable!(DpEq {
    id,
    mem,
    num_entries,
    msix,
    doorbell,
    index
});
zeroable!(DpWq {
    handle,
    vport,
    is_sq,
    wq_id,
    cq_id,
    eq_id,
    wq,
    cq,
    head,
    tail,
    cq_index,
    cq_num_entries,
    cq_tail,
    armed,
    stats
});

/// The ring entries of `n` (checked when the queue was created; one entry if not).
fn ring_entries(n: u32) -> queue::RingEntries {
    queue::RingEntries::new(n).unwrap_or(queue::RingEntries::constant(1))
}

impl DpEq {
    fn entries(&self) -> queue::RingEntries {
        ring_entries(self.num_entries)
    }
}

impl DpWq {
    fn cq_entries(&self) -> queue::RingEntries {
        ring_entries(self.cq_num_entries)
    }
}

/// The RX steering of one vport.
struct Steering {
    enabled: bool,
    /// The packet types hashed (`hash_type`).
    hash_types: u16,
    key: [u8; HASH_KEY_SIZE],
    /// The indirection table: its first `table_len` entries.
    table: [u64; INDIRECT_TABLE_MAX_SIZE],
    table_len: usize,
    default_rxobj: u64,
}
zeroable!(Steering {
    enabled,
    hash_types,
    key,
    table,
    table_len,
    default_rxobj
});

/// The scratch buffers of the data path: the gathered packet and one segment. They live next
/// to the [`DataPath`] (in the device), not in it, so that its methods can fill them while
/// they update the queues.
pub struct Scratch {
    packet: [u8; MAX_TX_PACKET],
    frame: [u8; MAX_FRAME],
}
zeroable!(Scratch { packet, frame });

/// The data path of one software device.
pub struct DataPath {
    num_ports: usize,
    /// Where malformed work requests are reported (the host's log; set by [`DataPath::reset`]).
    log: Option<&'static dyn Log>,
    regions: Table<DpRegion, MAX_REGIONS>,
    eqs: Table<DpEq, MAX_EQS>,
    wqs: Table<DpWq, MAX_WQS>,
    mrs: Table<DpMr, MAX_MRS>,
    /// The owner of each vport's queues (CONFIG_VPORT_TX).
    owners: [VportOwner; MAX_PORTS],
    steering: [Steering; MAX_PORTS],
    stats: DpStats,
    pending_irqs: u64,
    /// Vports whose send queues are stalled, one bit each.
    tx_stalled: u32,
    /// Vports linked outside the device (their frames go to the host's [`Wire`]), one bit each.
    external: u32,
    /// The page lists of the regions and queues (see [`Pages`]).
    pool: [u64; POOL_PAGES],
}
zeroable!(DataPath {
    num_ports,
    log,
    regions,
    eqs,
    wqs,
    mrs,
    owners,
    steering,
    stats,
    pending_irqs,
    tx_stalled,
    external,
    pool
});

/// The indirection-table slot of `hash` in a table of `len` entries (none if it is empty).
fn hash_slot(hash: u32, len: usize) -> Option<usize> {
    (hash as usize).checked_rem(len)
}

/// An error CQE type and what to log.
type TxFault = (u32, &'static str);

impl DataPath {
    /// Puts the data path of a device with `num_ports` ports in its power-on state (no queue,
    /// steering off), in place.
    pub(crate) fn reset(&mut self, num_ports: u32, log: &'static dyn Log) {
        self.num_ports = (num_ports as usize).min(MAX_PORTS);
        self.log = Some(log);
        self.regions.clear();
        self.eqs.clear();
        self.wqs.clear();
        self.mrs.clear();
        self.owners = [DEVICE_OWNER; MAX_PORTS];
        for s in self.steering.iter_mut() {
            s.enabled = false;
            s.hash_types = hash_type::ENABLE_SUPPORTED;
            s.key = [0; HASH_KEY_SIZE];
            s.table_len = 0;
            s.default_rxobj = 0;
        }
        self.stats = DpStats::default();
        self.pending_irqs = 0;
        self.tx_stalled = 0;
        self.external = 0;
    }

    /// Logs one line through the host's log.
    fn log_error(&self, line: core::fmt::Arguments<'_>) {
        if let Some(log) = self.log {
            log.error(line);
        }
    }

    /// What the data path counted.
    pub(crate) fn stats(&self) -> DpStats {
        self.stats
    }

    /// What the device counted on the send or receive queue `wq_id`.
    pub(crate) fn queue_stats(&self, is_sq: bool, wq_id: u32) -> Option<QueueStats> {
        self.wqs
            .iter()
            .find(|w| w.is_sq == is_sq && w.wq_id == wq_id)
            .map(|w| w.stats)
    }

    /// The interrupts raised since the last call.
    pub(crate) fn take_interrupts(&mut self) -> u64 {
        core::mem::take(&mut self.pending_irqs)
    }

    /// The port linked to `vport` (see the module documentation).
    pub(crate) fn peer(&self, vport: usize) -> usize {
        let other = vport ^ 1;
        if other < self.num_ports {
            other
        } else {
            vport
        }
    }

    // Hooks called by the device model when the driver creates or destroys objects.

    /// Whether a region of `count` pages fits the tables and the page pool.
    pub(crate) fn region_fits(&self, count: usize) -> bool {
        !self.regions.is_full()
            && u32::try_from(count)
                .ok()
                .and_then(|c| self.free_pages(c))
                .is_some()
    }

    /// The first free range of `count` pages in the pool (first fit), if any.
    fn free_pages(&self, count: u32) -> Option<u32> {
        let mut start = 0u32;
        'search: loop {
            let end = start.checked_add(count)?;
            if end as usize > POOL_PAGES {
                return None;
            }
            let used = self
                .regions
                .iter()
                .map(|r| r.pages)
                .chain(self.eqs.iter().map(|q| q.mem.pages))
                .chain(self.mrs.iter().map(|m| m.pages))
                .chain(self.wqs.iter().flat_map(|w| [w.wq.pages, w.cq.pages]));
            for p in used {
                if p.overlaps(start, end) {
                    // Past this range: `start` only grows, so the search ends.
                    start = p.start.saturating_add(p.count);
                    continue 'search;
                }
            }
            return Some(start);
        }
    }

    /// A DMA region `handle` was created over `pages` (the device checked
    /// [`DataPath::region_fits`]).
    /// DMA region `handle` of `count` 4 KiB pages, listed as pages of `span` 4 KiB pages each
    /// (its GDMA page size), the first of them in `pages`.
    pub(crate) fn add_region(
        &mut self,
        handle: u64,
        count: usize,
        span: usize,
        pages: impl Iterator<Item = u64>,
    ) -> Result {
        let count = u32::try_from(count).map_err(|_| Error::NoSpace)?;
        let start = self.free_pages(count).ok_or(Error::NoSpace)?;
        let range = Pages { start, count };
        let slots = self
            .pool
            .get_mut(start as usize..start as usize + count as usize)
            .ok_or(Error::NoSpace)?;
        // Not `zip`: its size hint would divide by the chunk size of the request's page list,
        // a division-by-zero panic path objtool does not know to be noreturn.
        for (n, p) in pages.enumerate() {
            fill_span(slots, n, span, p);
        }
        self.regions.push(DpRegion {
            handle,
            pages: range,
        })
    }

    /// Pages `first..` of region `handle` arrived (DMA_REGION_ADD_PAGES; the device checked
    /// that they fit the region).
    /// The next pages of region `handle`, each of `span` 4 KiB pages, from its 4 KiB page
    /// `first` on.
    pub(crate) fn add_region_pages(
        &mut self,
        handle: u64,
        first: usize,
        span: usize,
        pages: impl Iterator<Item = u64>,
    ) -> Result {
        let r = self
            .regions
            .iter()
            .find(|r| r.handle == handle)
            .ok_or(Error::Invalid)?
            .pages;
        let start = (r.start as usize).saturating_add(first);
        let end = (r.start as usize).saturating_add(r.count as usize);
        let slots = self.pool.get_mut(start..end).ok_or(Error::Invalid)?;
        // Not `zip`: see `add_region`.
        for (n, p) in pages.enumerate() {
            if !fill_span(slots, n, span, p) {
                return Err(Error::Invalid);
            }
        }
        Ok(())
    }

    /// DMA region `handle` was destroyed (or handed to an object, which took its pages).
    pub(crate) fn remove_region(&mut self, handle: u64) {
        if let Some(pos) = self.regions.iter().position(|r| r.handle == handle) {
            self.regions.remove(pos);
        }
    }

    /// The memory of a queue of `size` bytes on region `region`: the region's first pages.
    fn queue_mem(&self, region: u64, size: u32) -> Result<QueueMem> {
        let r = self
            .regions
            .iter()
            .find(|r| r.handle == region)
            .ok_or(Error::Invalid)?;
        let needed = size.div_ceil(queue::MANA_PAGE_SIZE);
        if size == 0 || r.pages.count < needed {
            return Err(Error::Invalid);
        }
        Ok(QueueMem {
            bytes: size,
            pages: Pages {
                start: r.pages.start,
                count: needed,
            },
        })
    }

    /// Event queue `id` of `size` bytes on `region`, raising vector `msix` and rung on doorbell
    /// page `doorbell`, was created.
    pub(crate) fn add_eq(
        &mut self,
        id: u32,
        region: u64,
        size: u32,
        msix: u32,
        doorbell: u32,
    ) -> Result {
        let mem = self.queue_mem(region, size)?;
        let entries =
            queue::RingEntries::of_bytes(size as usize, queue::EQE_SIZE).ok_or(Error::Invalid)?;
        self.eqs.push(DpEq {
            id,
            mem,
            num_entries: entries.get(),
            msix,
            doorbell,
            index: queue::initial_index(entries),
        })
    }

    /// Memory region `key` of PD `pdid` was created over region `region` (which it takes),
    /// with SGE address `base` for its first byte (see [`DpMr`]) and `access` flags.
    pub(crate) fn add_mr(
        &mut self,
        key: u32,
        pdid: u32,
        region: u64,
        base: u64,
        access: u32,
    ) -> Result {
        let pos = self
            .regions
            .iter()
            .position(|r| r.handle == region)
            .ok_or(Error::Invalid)?;
        let pages = self.regions[pos].pages;
        self.mrs.push(DpMr {
            key,
            pdid,
            base,
            access,
            pages,
        })?;
        self.regions.remove(pos);
        Ok(())
    }

    /// Whether a memory region with `key` exists.
    pub(crate) fn has_mr(&self, key: u32) -> bool {
        self.mrs.iter().any(|m| m.key == key)
    }

    /// Memory region `key` was destroyed: its pages are free, SGEs naming it are refused.
    pub(crate) fn remove_mr(&mut self, key: u32) {
        if let Some(pos) = self.mrs.iter().position(|m| m.key == key) {
            self.mrs.remove(pos);
        }
    }

    /// CONFIG_VPORT_TX for `vport`: its queues now belong to PD `pdid` and are rung on doorbell
    /// page `doorbell`.
    pub(crate) fn set_vport_tx(&mut self, vport: usize, pdid: u32, doorbell: u32) -> Result {
        let o = self.owners.get_mut(vport).ok_or(Error::Invalid)?;
        *o = VportOwner { pdid, doorbell };
        Ok(())
    }

    /// The owner of `vport`'s queues (none for a vport the device does not have).
    fn owner(&self, vport: usize) -> Option<VportOwner> {
        self.owners.get(vport).copied()
    }

    /// The PD of the owner of `vport`'s queues.
    fn owner_pd(&self, vport: usize) -> Option<u32> {
        self.owner(vport).map(|o| o.pdid)
    }

    /// Whether a doorbell on `page` may name a queue of `vport`; counts and logs it if not.
    fn doorbell_allowed(&mut self, page: usize, vport: usize, what: &str, id: u32) -> bool {
        let owner = self.owner(vport);
        if owner.is_some_and(|o| o.doorbell as usize == page) {
            return true;
        }
        self.stats.foreign_doorbells = self.stats.foreign_doorbells.saturating_add(1);
        self.log_error(format_args!(
            "{} {} of vport {} rung on doorbell page {}, not on its owner's page {}; ignored",
            what,
            id,
            vport,
            page,
            owner.map_or(0, |o| o.doorbell)
        ));
        false
    }

    /// Calls `f` for each DMA range of the `len` bytes at byte `offset` of the buffer of
    /// `sge`, on a queue of PD `pdid` (see the module documentation), with the range of those
    /// `len` bytes it covers; `write` if the device writes them. The caller checked that
    /// `offset + len` is within the SGE's size.
    fn sge_access(
        &self,
        pdid: Option<u32>,
        sge: &Sge,
        offset: usize,
        len: usize,
        write: bool,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> Result,
    ) -> core::result::Result<(), SgeFault> {
        let offset = offset as u64;
        if sge.mem_key == MANA_DEV_GPA_MKEY {
            if pdid != Some(MANA_DEV_PDID) {
                return Err(SgeFault::Key(
                    "the device's DMA-address key on a queue of another PD than the device's",
                ));
            }
            let addr = sge.address.checked_add(offset).ok_or(SgeFault::Dma)?;
            return f(addr, 0..len).map_err(|_| SgeFault::Dma);
        }
        let mr = self
            .mrs
            .iter()
            .find(|m| m.key == sge.mem_key)
            .ok_or(SgeFault::Key("unknown memory key"))?;
        if Some(mr.pdid) != pdid {
            return Err(SgeFault::Key(
                "memory key of a region of another PD than the vport owner's",
            ));
        }
        let needed = if write {
            access::LOCAL_WRITE
        } else {
            access::LOCAL_READ
        };
        if mr.access & needed == 0 {
            return Err(SgeFault::Key(if write {
                "memory region without local write access"
            } else {
                "memory region without local read access"
            }));
        }
        const OUTSIDE: &str = "buffer outside its memory region";
        let start = sge
            .address
            .checked_sub(mr.base)
            .and_then(|s| s.checked_add(offset))
            .ok_or(SgeFault::Key(OUTSIDE))?;
        let end = start
            .checked_add(len as u64)
            .ok_or(SgeFault::Key(OUTSIDE))?;
        if end > mr.length() {
            return Err(SgeFault::Key(OUTSIDE));
        }
        let pages = mr.pages.of(&self.pool);
        let page = u64::from(queue::MANA_PAGE_SIZE);
        let mut done = 0usize;
        while done < len {
            // `start + done < end <= length`, which fits the page list.
            let at = start.saturating_add(done as u64);
            let in_page = at % page;
            let n = ((page - in_page) as usize).min(len - done);
            let base = *pages.get((at / page) as usize).ok_or(SgeFault::Dma)?;
            let addr = base.checked_add(in_page).ok_or(SgeFault::Dma)?;
            f(addr, done..done + n).map_err(|_| SgeFault::Dma)?;
            done += n;
        }
        Ok(())
    }

    /// Event queue `id` was disabled.
    pub(crate) fn remove_eq(&mut self, id: u32) {
        if let Some(pos) = self.eqs.iter().position(|q| q.id == id) {
            self.eqs.remove(pos);
        }
    }

    /// A work-queue object was created (the device checked the arguments).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_wq(
        &mut self,
        handle: u64,
        vport: usize,
        is_sq: bool,
        (wq_id, cq_id, eq_id): (u32, u32, u32),
        (wq_region, wq_size): (u64, u32),
        (cq_region, cq_size): (u64, u32),
    ) -> Result {
        let wq = self.queue_mem(wq_region, wq_size)?;
        let cq = self.queue_mem(cq_region, cq_size)?;
        let entries = queue::RingEntries::of_bytes(cq_size as usize, queue::CQE_SIZE)
            .ok_or(Error::Invalid)?;
        self.wqs.push(DpWq {
            handle,
            vport,
            is_sq,
            wq_id,
            cq_id,
            eq_id,
            wq,
            cq,
            head: 0,
            tail: 0,
            cq_index: queue::initial_index(entries),
            cq_tail: queue::cq_doorbell_tail(queue::initial_index(entries), entries),
            cq_num_entries: entries.get(),
            armed: false,
            stats: QueueStats::default(),
        })
    }

    /// FENCE_RQ of receive object `handle`: the device has finished every receive WQE posted
    /// before it (this model consumes them as frames arrive), so the fence completes at once
    /// with an RX CQE of type RX_OBJECT_FENCE on the queue's CQ, which the C driver's
    /// `mana_fence_rq()` waits for before it destroys the queue. [`Error::Invalid`] if no
    /// receive queue has `handle`.
    pub(crate) fn fence_rq(&mut self, mem: &dyn DeviceMemory, handle: u64) -> Result {
        let pos = self
            .wqs
            .iter()
            .position(|w| w.handle == handle && !w.is_sq)
            .ok_or(Error::Invalid)?;
        let mut oob = RxCompOob::zeroed();
        oob.cqe_hdr = CqeHeader::ZERO
            .try_with_cqe_type(cqe_type::RX_OBJECT_FENCE)?
            .try_with_client_type(MANA_CQE_COMPLETION)?;
        self.post_cqe(mem, pos, oob.as_bytes())
    }

    /// Work-queue object `handle` was destroyed.
    pub(crate) fn remove_wq(&mut self, handle: u64) {
        if let Some(pos) = self.wqs.iter().position(|w| w.handle == handle) {
            self.wqs.remove(pos);
        }
    }

    /// CONFIG_VPORT_RX for `vport` (the device checked the table).
    pub(crate) fn set_steering(
        &mut self,
        vport: usize,
        enable: bool,
        hash_types: u16,
        key: Option<&[u8; HASH_KEY_SIZE]>,
        default_rxobj: Option<u64>,
        table: Option<impl Iterator<Item = u64>>,
    ) -> Result {
        let s = self.steering.get_mut(vport).ok_or(Error::Invalid)?;
        s.hash_types = hash_types;
        if let Some(key) = key {
            s.key = *key;
        }
        if let Some(d) = default_rxobj {
            s.default_rxobj = d;
        }
        if let Some(table) = table {
            s.table_len = 0;
            for (n, h) in table.enumerate() {
                *s.table.get_mut(n).ok_or(Error::Invalid)? = h;
                s.table_len = n + 1;
            }
        }
        s.enabled = enable;
        Ok(())
    }

    /// A doorbell write on data-path doorbell page `page`. `qtype` is the queue type its
    /// offset names. Returns `true` if send queues have work.
    pub(crate) fn doorbell(
        &mut self,
        mem: &dyn DeviceMemory,
        page: usize,
        qtype: u32,
        value: u64,
    ) -> bool {
        match qtype {
            queue_type::SQ | queue_type::RQ => {
                let (id, tail) = if qtype == queue_type::SQ {
                    let db = SqDoorbell::from_raw(value);
                    // CAST: the fields are 24 and 32 bits wide.
                    (db.id().get() as u32, db.tail_ptr().get() as u32)
                } else {
                    let db = RqDoorbell::from_raw(value);
                    // CAST: as above.
                    (db.id().get() as u32, db.tail_ptr().get() as u32)
                };
                let is_sq = qtype == queue_type::SQ;
                let Some(pos) = self
                    .wqs
                    .iter()
                    .position(|w| w.is_sq == is_sq && w.wq_id == id)
                else {
                    self.stats.unknown_doorbells = self.stats.unknown_doorbells.saturating_add(1);
                    return false;
                };
                let what = if is_sq { "SQ" } else { "RQ" };
                if !self.doorbell_allowed(page, self.wqs[pos].vport, what, id) {
                    return false;
                }
                let w = &mut self.wqs[pos];
                w.tail = tail;
                is_sq && w.head != w.tail
            }
            queue_type::CQ => {
                let db = CqDoorbell::from_raw(value);
                // CAST: the fields are 24 and 31 bits wide.
                let (id, tail, arm) = (
                    db.id().get() as u32,
                    db.tail_ptr().get() as u32,
                    db.arm().into_bool(),
                );
                let Some(pos) = self.wqs.iter().position(|w| w.cq_id == id) else {
                    self.stats.unknown_doorbells = self.stats.unknown_doorbells.saturating_add(1);
                    return false;
                };
                if !self.doorbell_allowed(page, self.wqs[pos].vport, "CQ", id) {
                    return false;
                }
                let w = &mut self.wqs[pos];
                w.cq_tail = tail;
                w.armed = arm;
                let produced = queue::cq_doorbell_tail(w.cq_index, w.cq_entries());
                if arm && produced != tail {
                    // Completions the driver has not seen yet: signal them now.
                    let _ = self.signal(mem, pos);
                }
                false
            }
            queue_type::EQ => {
                // EQs raise their vector on every event; interrupt moderation is not modelled.
                // The page is checked all the same (ids are 16 bits in the doorbell).
                let id = (value & 0xffff) as u32;
                if let Some(q) = self.eqs.iter().find(|q| q.id & 0xffff == id) {
                    if q.doorbell as usize != page {
                        let expected = q.doorbell;
                        self.stats.foreign_doorbells =
                            self.stats.foreign_doorbells.saturating_add(1);
                        self.log_error(format_args!(
                            "EQ {} rung on doorbell page {}, not on its page {}; ignored",
                            id, page, expected
                        ));
                    }
                }
                false
            }
            _ => false,
        }
    }

    /// Stalls (or releases) the send queues of `vport`; see the module documentation.
    pub(crate) fn set_tx_stall(&mut self, vport: usize, stalled: bool) -> Result {
        let num_ports = self.num_ports;
        set_vport_flag(&mut self.tx_stalled, num_ports, vport, stalled)
    }

    /// Processes every posted send WQE of the queues that are not stalled. Returns `true` if
    /// any was processed.
    pub(crate) fn process(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        scratch: &mut Scratch,
    ) -> bool {
        let mut any = false;
        for pos in 0..self.wqs.len() {
            if self.tx_stalled & vport_bit(self.wqs[pos].vport) != 0 {
                continue;
            }
            while self.wqs[pos].is_sq && self.wqs[pos].head != self.wqs[pos].tail {
                any = true;
                self.process_send(mem, wire, scratch, pos);
            }
        }
        any
    }

    fn dma_fault(&mut self) {
        self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
    }

    /// Processes the send WQE at the head of queue `pos`.
    fn process_send(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        scratch: &mut Scratch,
        pos: usize,
    ) {
        let w = &self.wqs[pos];
        let (head, tail, size) = (w.head, w.tail, w.wq.size().get());
        let avail = tail.wrapping_sub(head);
        if avail > size || avail % queue::WQE_BU_SIZE != 0 {
            // A tail no producer can have written: nothing posted can be trusted.
            self.log_error(format_args!(
                "SQ {}: doorbell tail {} with head {} on a {}-byte queue; queue reset",
                w.wq_id, tail, head, size
            ));
            self.wqs[pos].head = tail;
            self.wqs[pos].stats.faults = self.wqs[pos].stats.faults.saturating_add(1);
            self.stats.wqe_faults = self.stats.wqe_faults.saturating_add(1);
            let _ = self.tx_complete(mem, pos, head, cqe_type::TX_INVALID_OOB);
            return;
        }
        let mut hdr_bytes = [0u8; 8];
        if w.wq.read(&self.pool, mem, head, &mut hdr_bytes).is_err() {
            self.dma_fault();
            self.wqs[pos].head = tail;
            return;
        }
        let Some(hdr) = WqeHeader::from_bytes_copy(&hdr_bytes) else {
            return;
        };
        let num_sge = hdr.flags.num_sge().get();
        let oob_size = hdr.inline_oob_size();
        let wqe_size = queue::wqe_size(oob_size, num_sge).unwrap_or(u32::MAX);
        let fault: Option<TxFault> = if wqe_size > queue::MAX_SQE_SIZE || wqe_size > avail {
            Some((
                cqe_type::TX_INVALID_OOB,
                "WQE larger than the largest SQ WQE or than what was posted",
            ))
        } else if oob_size != queue::INLINE_OOB_SMALL_SIZE
            && oob_size != queue::INLINE_OOB_LARGE_SIZE
        {
            Some((
                cqe_type::TX_INVALID_OOB,
                "inline OOB neither 8 nor 24 bytes",
            ))
        } else if hdr.flags.client_oob_in_sgl().into_bool() {
            Some((cqe_type::TX_INVALID_OOB, "client OOB in the SGL"))
        } else if num_sge == 0 || num_sge > queue::MAX_TX_WQE_SGL_ENTRIES {
            Some((cqe_type::TX_INVALID_OOB, "SGE count out of range"))
        } else {
            None
        };
        if let Some((ty, what)) = fault {
            // Skip the WQE if its size can be trusted, else everything posted.
            let skip = if wqe_size <= avail && wqe_size <= queue::MAX_SQE_SIZE {
                wqe_size
            } else {
                avail
            };
            self.tx_fault(mem, pos, head, skip, ty, what);
            return;
        }
        let result = self.send_wqe(
            mem,
            wire,
            scratch,
            pos,
            head,
            oob_size,
            num_sge,
            hdr.flags.client_data_unit().get(),
        );
        self.wqs[pos].head = head.wrapping_add(wqe_size);
        match result {
            Ok(suppress) => {
                if !suppress {
                    let _ = self.tx_complete(mem, pos, head, cqe_type::TX_OKAY);
                }
            }
            Err((ty, what)) => self.tx_fault(mem, pos, head, 0, ty, what),
        }
    }

    fn tx_fault(
        &mut self,
        mem: &dyn DeviceMemory,
        pos: usize,
        head: u32,
        skip: u32,
        ty: u32,
        what: &str,
    ) {
        let w = &self.wqs[pos];
        self.log_error(format_args!(
            "SQ {}: malformed WQE at offset {}: {}",
            w.wq_id,
            head % w.wq.size(),
            what
        ));
        let w = &mut self.wqs[pos];
        w.head = w.head.wrapping_add(skip);
        w.stats.faults = w.stats.faults.saturating_add(1);
        self.stats.wqe_faults = self.stats.wqe_faults.saturating_add(1);
        let _ = self.tx_complete(mem, pos, head, ty);
    }

    /// Reads the OOB and SGEs of a validated WQE, gathers and sends its packet. Returns
    /// whether the CQE is suppressed.
    #[allow(clippy::too_many_arguments)]
    fn send_wqe(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        scratch: &mut Scratch,
        pos: usize,
        head: u32,
        oob_size: u32,
        num_sge: u32,
        mss: u32,
    ) -> core::result::Result<bool, TxFault> {
        let dma = (
            cqe_type::TX_HDR_PROCESSING_ERROR,
            "DMA fault reading the WQE",
        );
        let w = &self.wqs[pos];
        let mut oob = TxOob::zeroed();
        w.wq.read(
            &self.pool,
            mem,
            head.wrapping_add(8),
            &mut oob.as_bytes_mut()[..oob_size as usize],
        )
        .map_err(|_| dma)?;
        let s = oob.s_oob;
        let fmt = s.word0.pkt_fmt().get();
        let long = oob_size == queue::INLINE_OOB_LARGE_SIZE;
        if (fmt == pkt_fmt::LONG) != long || fmt > pkt_fmt::LONG {
            return Err((
                cqe_type::TX_INVALID_OOB,
                "packet format does not match the OOB size",
            ));
        }
        if s.word0.vcq_num().get() != w.cq_id {
            return Err((
                cqe_type::TX_INVALID_OOB,
                "OOB names another CQ than the SQ's",
            ));
        }
        let suppress = s.word0.suppress_txcqe_gen().into_bool();
        let pdid = self.owner_pd(w.vport);
        // Gather.
        let Scratch { packet, frame } = scratch;
        let mut len = 0usize;
        let sgl = head.wrapping_add(8).wrapping_add(oob_size);
        let mut gathered = Ok(());
        for i in 0..num_sge {
            let mut sge = Sge::zeroed();
            let w = &self.wqs[pos];
            if w.wq
                .read(
                    &self.pool,
                    mem,
                    sgl.wrapping_add(i.wrapping_mul(16)),
                    sge.as_bytes_mut(),
                )
                .is_err()
            {
                gathered = Err(dma);
                break;
            }
            let n = sge.size as usize;
            let end = len.saturating_add(n);
            let dst = match packet.get_mut(len..end) {
                Some(dst) if n != 0 => dst,
                _ => {
                    gathered = Err((cqe_type::TX_INVALID_OOB, "SGE empty or packet too large"));
                    break;
                }
            };
            let read = self.sge_access(pdid, &sge, 0, n, false, |addr, range| {
                mem.dma_read(addr, dst.get_mut(range).ok_or(Error::Invalid)?)
            });
            match read {
                Ok(()) => {}
                Err(SgeFault::Dma) => {
                    self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
                    gathered = Err((
                        cqe_type::TX_HDR_PROCESSING_ERROR,
                        "SGE outside mapped memory",
                    ));
                    break;
                }
                Err(SgeFault::Key(why)) => {
                    self.stats.key_faults = self.stats.key_faults.saturating_add(1);
                    gathered = Err((cqe_type::TX_HDR_PROCESSING_ERROR, why));
                    break;
                }
            }
            len = end;
        }
        gathered?;
        let packet = packet
            .get_mut(..len)
            .ok_or((cqe_type::TX_INVALID_OOB, "packet too large"))?;
        self.transmit(mem, wire, frame, pos, packet, &oob, mss)?;
        Ok(suppress)
    }

    /// Applies the offloads of `oob` to `packet` and sends the resulting frames.
    #[allow(clippy::too_many_arguments)]
    fn transmit(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        frame: &mut [u8; MAX_FRAME],
        pos: usize,
        packet: &mut [u8],
        oob: &TxOob,
        mss: u32,
    ) -> core::result::Result<(), TxFault> {
        let bad = (
            cqe_type::TX_HDR_PROCESSING_ERROR,
            "headers do not match the offloads",
        );
        let s = oob.s_oob;
        let l = oob.l_oob;
        let vlan = (s.word0.pkt_fmt().get() == pkt_fmt::LONG
            && l.word0.inject_vlan_pri_tag().into_bool())
        .then(|| {
            (l.word0.pcp().get() << 13 | l.word0.dei().get() << 12 | l.word0.vlan_id().get()) as u16
        });
        let ip_csum = s.word0.comp_iphdr_csum().into_bool();
        let tcp_csum = s.word0.comp_tcp_csum().into_bool();
        let udp_csum = s.word0.comp_udp_csum().into_bool();
        let trans_off = s.word1.trans_off().get() as usize;
        if packet.len() < ETH_HLEN {
            return Err(bad);
        }
        let parsed = parse(packet);
        let vport = self.wqs[pos].vport;
        if mss != 0 && tcp_csum {
            let p = parsed
                .as_ref()
                .filter(|p| p.proto == IPPROTO_TCP && p.l4 == trans_off)
                .ok_or(bad)?;
            let thl = packet
                .get(p.l4.saturating_add(12))
                .map(|b| usize::from(b >> 4) * 4)
                .filter(|t| *t >= 20)
                .ok_or(bad)?;
            let hlen = p.l4.saturating_add(thl);
            let mss = mss as usize;
            if hlen > packet.len() || hlen.saturating_add(mss) > MAX_FRAME - 4 {
                return Err(bad);
            }
            if packet.len() > hlen.saturating_add(mss) {
                self.stats.tso_packets = self.stats.tso_packets.saturating_add(1);
                return self.segment(mem, wire, frame, pos, vport, packet, p, hlen, mss, vlan);
            }
        }
        if let Some(p) = &parsed {
            if ip_csum && p.is_v4 {
                ipv4_fix_csum(packet, p.l3);
            }
            if (tcp_csum && p.proto == IPPROTO_TCP) || (udp_csum && p.proto == IPPROTO_UDP) {
                if p.l4 != trans_off {
                    return Err(bad);
                }
                l4_fix_csum(packet, p);
            }
        } else if ip_csum || tcp_csum || udp_csum {
            return Err(bad);
        }
        self.send_frame(mem, wire, pos, vport, packet, vlan);
        Ok(())
    }

    /// Splits a TSO packet with headers of `hlen` bytes into segments of `mss` payload bytes.
    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        frame: &mut [u8; MAX_FRAME],
        pos: usize,
        vport: usize,
        packet: &[u8],
        p: &Parsed,
        hlen: usize,
        mss: usize,
        vlan: Option<u16>,
    ) -> core::result::Result<(), TxFault> {
        // The caller refuses an MSS of 0; checked again here, where it divides.
        let Some(mss) = NonZeroUsize::new(mss) else {
            return Err((cqe_type::TX_INVALID_OOB, "TSO with an MSS of 0"));
        };
        let mss = mss.get();
        let bad = (
            cqe_type::TX_HDR_PROCESSING_ERROR,
            "TSO headers out of range",
        );
        // The caller checked `hlen <= packet.len()` and `hlen + mss` fits a frame; checked
        // again here, where every slice below depends on it.
        let (headers, payload) = packet.split_at_checked(hlen).ok_or(bad)?;
        let segs = payload.len().div_ceil(mss);
        let seq = be32(packet, p.l4.saturating_add(4));
        let ip_id = if p.is_v4 {
            be16(packet, p.l3.saturating_add(4))
        } else {
            0
        };
        for (i, chunk) in payload.chunks(mss).enumerate() {
            let total = hlen.saturating_add(chunk.len());
            let out = frame.get_mut(..total).ok_or(bad)?;
            let (out_headers, out_payload) = out.split_at_mut(hlen);
            out_headers.copy_from_slice(headers);
            out_payload.copy_from_slice(chunk);
            // The lengths fit 16 bits: a frame is at most `MAX_FRAME` bytes.
            let l3_len = total.saturating_sub(p.l3);
            if p.is_v4 {
                put16(out, p.l3.saturating_add(2), l3_len as u16);
                put16(out, p.l3.saturating_add(4), ip_id.wrapping_add(i as u16));
                ipv4_fix_csum(out, p.l3);
            } else {
                put16(
                    out,
                    p.l3.saturating_add(4),
                    l3_len.saturating_sub(40) as u16,
                );
            }
            put32(
                out,
                p.l4.saturating_add(4),
                seq.wrapping_add(i.wrapping_mul(mss) as u32),
            );
            if let Some(flags) = out.get_mut(p.l4.saturating_add(13)) {
                if i.saturating_add(1) < segs {
                    // FIN and PSH only on the last segment.
                    *flags &= !0x09;
                }
                if i > 0 {
                    // CWR only on the first.
                    *flags &= !0x80;
                }
            }
            l4_fix_csum(out, p);
            self.send_frame(mem, wire, pos, vport, out, vlan);
        }
        Ok(())
    }

    /// Puts one frame on the wire of `vport` (sent from queue `pos`): to the linked port, or
    /// to `wire` if the port leaves the device.
    fn send_frame(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        pos: usize,
        vport: usize,
        frame: &[u8],
        vlan: Option<u16>,
    ) {
        let wire_len = frame
            .len()
            .saturating_add(if vlan.is_some() { 4 } else { 0 });
        let w = &mut self.wqs[pos];
        w.stats.packets = w.stats.packets.saturating_add(1);
        w.stats.bytes = w.stats.bytes.saturating_add(wire_len as u64);
        self.stats.tx_packets = self.stats.tx_packets.saturating_add(1);
        self.stats.tx_bytes = self.stats.tx_bytes.saturating_add(wire_len as u64);
        if self.external & vport_bit(vport) != 0 {
            // CAST: `vport` is below `MAX_PORTS`.
            wire.transmit(vport as u32, frame, vlan);
            return;
        }
        let peer = self.peer(vport);
        self.receive(mem, peer, frame, vlan);
    }

    /// Links port `vport` outside the device (`external`: its frames go to the host's
    /// [`Wire`], and the host delivers frames to it with [`DataPath::receive_external`]) or
    /// back to its linked port.
    pub(crate) fn set_external(&mut self, vport: usize, external: bool) -> Result {
        let num_ports = self.num_ports;
        set_vport_flag(&mut self.external, num_ports, vport, external)
    }

    /// Receives a frame from outside the device on `vport` (see [`DataPath::set_external`]).
    pub(crate) fn receive_external(
        &mut self,
        mem: &dyn DeviceMemory,
        vport: usize,
        frame: &[u8],
        vlan: Option<u16>,
    ) -> Result {
        if vport >= self.num_ports {
            return Err(Error::Invalid);
        }
        self.receive(mem, vport, frame, vlan);
        Ok(())
    }

    /// Receives a frame on `vport`; `vlan` is a tag the sender asked to insert.
    fn receive(&mut self, mem: &dyn DeviceMemory, vport: usize, frame: &[u8], vlan: Option<u16>) {
        let Some(steer) = self.steering.get(vport).filter(|s| s.enabled) else {
            self.stats.rx_no_steering = self.stats.rx_no_steering.saturating_add(1);
            return;
        };
        // The tag is inserted on the wire and stripped again by the receiver: either way it is
        // reported in the CQE, not in the buffer. A tag already in the frame is stripped.
        let (mut tag, mut body) = (vlan, frame);
        let mut stripped = [0u8; 12];
        let tagged_in_frame = frame.len() >= ETH_HLEN + 4 && be16(frame, 12) == ETH_P_8021Q;
        if tagged_in_frame {
            tag = Some(be16(frame, 14));
            if let (Some(macs), Some(rest)) = (frame.get(..12), frame.get(4..)) {
                stripped.copy_from_slice(macs);
                body = rest;
            }
        }
        let parsed = parse(body);
        let (hash, htype) = match &parsed {
            Some(p) => rss_hash(&steer.key, steer.hash_types, body, p),
            None => (0, 0),
        };
        let table = steer.table.get(..steer.table_len).unwrap_or(&[]);
        let rxobj = match hash_slot(hash, table.len()) {
            Some(slot) => table.get(slot).copied().unwrap_or(steer.default_rxobj),
            None => steer.default_rxobj,
        };
        let Some(pos) = self.wqs.iter().position(|w| !w.is_sq && w.handle == rxobj) else {
            self.stats.rx_no_steering = self.stats.rx_no_steering.saturating_add(1);
            return;
        };
        let mut flags = RxCompFlags::ZERO;
        if let Some(t) = tag {
            flags = flags
                .with_rx_vlantag_present(true)
                .try_with_rx_vlan_id(u32::from(t & 0xfff))
                .unwrap_or(flags);
        }
        flags = flags
            .try_with_rx_hashtype(u32::from(htype))
            .unwrap_or(flags);
        if let Some(p) = &parsed {
            if p.is_v4 {
                let ok = ipv4_csum_ok(body, p.l3);
                flags = flags
                    .with_rx_iphdr_csum_succeed(ok)
                    .with_rx_iphdr_csum_fail(!ok);
            }
            if p.proto == IPPROTO_TCP {
                let ok = l4_csum_ok(body, p);
                flags = flags
                    .with_rx_tcp_csum_succeed(ok)
                    .with_rx_tcp_csum_fail(!ok);
            } else if p.proto == IPPROTO_UDP {
                let ok = l4_csum_ok(body, p);
                flags = flags
                    .with_rx_udp_csum_succeed(ok)
                    .with_rx_udp_csum_fail(!ok);
            }
        }
        let header = tagged_in_frame.then_some(&stripped[..]);
        self.deliver(mem, pos, header, body, hash, flags);
    }

    /// Writes `header` (the MAC addresses of a frame whose tag was stripped, then `body` from
    /// its ethertype on) or `body` alone into the next buffer of receive queue `pos`.
    fn deliver(
        &mut self,
        mem: &dyn DeviceMemory,
        pos: usize,
        header: Option<&[u8]>,
        body: &[u8],
        hash: u32,
        flags: RxCompFlags,
    ) {
        let (data_body, hlen) = match header {
            Some(h) => (body.get(12..).unwrap_or(&[]), h.len()),
            None => (body, 0),
        };
        let len = hlen.saturating_add(data_body.len());
        let w = &self.wqs[pos];
        let (head, tail, size) = (w.head, w.tail, w.wq.size().get());
        let avail = tail.wrapping_sub(head);
        if avail == 0 || avail > size {
            self.wqs[pos].stats.drops = self.wqs[pos].stats.drops.saturating_add(1);
            self.stats.rx_no_buffer = self.stats.rx_no_buffer.saturating_add(1);
            return;
        }
        let mut hdr_bytes = [0u8; 8];
        if w.wq.read(&self.pool, mem, head, &mut hdr_bytes).is_err() {
            self.dma_fault();
            return;
        }
        let Some(hdr) = WqeHeader::from_bytes_copy(&hdr_bytes) else {
            return;
        };
        let num_sge = hdr.flags.num_sge().get();
        let wqe_size = queue::wqe_size(queue::INLINE_OOB_SMALL_SIZE, num_sge).unwrap_or(u32::MAX);
        if num_sge == 0
            || num_sge > queue::MAX_RX_WQE_SGL_ENTRIES
            || hdr.inline_oob_size() != queue::INLINE_OOB_SMALL_SIZE
            || wqe_size > queue::MAX_RQE_SIZE
            || wqe_size > avail
        {
            self.log_error(format_args!(
                "RQ {}: malformed RX WQE; queue reset",
                w.wq_id
            ));
            let w = &mut self.wqs[pos];
            w.head = tail;
            w.stats.faults = w.stats.faults.saturating_add(1);
            w.stats.drops = w.stats.drops.saturating_add(1);
            self.stats.wqe_faults = self.stats.wqe_faults.saturating_add(1);
            return;
        }
        self.wqs[pos].head = head.wrapping_add(wqe_size);
        let pdid = self.owner_pd(self.wqs[pos].vport);
        // Scatter.
        let mut written = 0usize;
        let mut fault = false;
        let mut refused: Option<&'static str> = None;
        // What is left to write: of the header, then of the body.
        let (mut cur, mut next) = (header.unwrap_or(&[]), data_body);
        let sgl = head.wrapping_add(8 + queue::INLINE_OOB_SMALL_SIZE);
        for i in 0..num_sge {
            if written == len {
                break;
            }
            let mut sge = Sge::zeroed();
            if self.wqs[pos]
                .wq
                .read(
                    &self.pool,
                    mem,
                    sgl.wrapping_add(i.wrapping_mul(16)),
                    sge.as_bytes_mut(),
                )
                .is_err()
            {
                fault = true;
                break;
            }
            let sge_size = sge.size as usize;
            let mut room = sge_size;
            while room > 0 {
                if cur.is_empty() {
                    if next.is_empty() {
                        break;
                    }
                    cur = core::mem::take(&mut next);
                    continue;
                }
                let (now, later) = cur.split_at(room.min(cur.len()));
                // `room <= sge_size`: what was written of this SGE so far.
                let at = sge_size.saturating_sub(room);
                let wrote = self.sge_access(pdid, &sge, at, now.len(), true, |addr, range| {
                    mem.dma_write(addr, now.get(range).ok_or(Error::Invalid)?)
                });
                match wrote {
                    Ok(()) => {}
                    Err(SgeFault::Dma) => fault = true,
                    Err(SgeFault::Key(why)) => refused = Some(why),
                }
                if fault || refused.is_some() {
                    break;
                }
                cur = later;
                written = written.saturating_add(now.len());
                room = room.saturating_sub(now.len());
            }
            if fault || refused.is_some() {
                break;
            }
        }
        let (ty, ok) = if let Some(why) = refused {
            let w = &self.wqs[pos];
            self.log_error(format_args!(
                "RQ {}: receive WQE at offset {} refused: {}",
                w.wq_id,
                head % size,
                why
            ));
            let w = &mut self.wqs[pos];
            w.stats.faults = w.stats.faults.saturating_add(1);
            self.stats.key_faults = self.stats.key_faults.saturating_add(1);
            self.stats.wqe_faults = self.stats.wqe_faults.saturating_add(1);
            (cqe_type::RX_TRUNCATED, false)
        } else if fault {
            self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
            self.wqs[pos].stats.faults = self.wqs[pos].stats.faults.saturating_add(1);
            (cqe_type::RX_TRUNCATED, false)
        } else if written < len {
            self.stats.rx_no_buffer = self.stats.rx_no_buffer.saturating_add(1);
            self.wqs[pos].stats.drops = self.wqs[pos].stats.drops.saturating_add(1);
            (cqe_type::RX_TRUNCATED, false)
        } else {
            (cqe_type::RX_OKAY, true)
        };
        if ok {
            let w = &mut self.wqs[pos];
            w.stats.packets = w.stats.packets.saturating_add(1);
            w.stats.bytes = w.stats.bytes.saturating_add(len as u64);
            self.stats.rx_packets = self.stats.rx_packets.saturating_add(1);
            self.stats.rx_bytes = self.stats.rx_bytes.saturating_add(len as u64);
        }
        let mut oob = RxCompOob::zeroed();
        oob.cqe_hdr = CqeHeader::ZERO
            .try_with_cqe_type(ty)
            .and_then(|h| h.try_with_client_type(MANA_CQE_COMPLETION))
            .unwrap_or(CqeHeader::ZERO);
        oob.flags = flags;
        oob.ppi[0] = RxCompPerPktInfo::one(if ok { len as u16 } else { 0 }, hash);
        oob.rx_wqe_offset = head % size;
        let _ = self.post_cqe(mem, pos, oob.as_bytes());
    }

    fn tx_complete(&mut self, mem: &dyn DeviceMemory, pos: usize, head: u32, ty: u32) -> Result {
        let mut oob = TxCompOob::zeroed();
        oob.cqe_hdr = CqeHeader::ZERO
            .try_with_cqe_type(ty)?
            .try_with_client_type(MANA_CQE_COMPLETION)?;
        let offset = head % self.wqs[pos].wq.size();
        oob.offsets = TxCompOffsets::ZERO.try_with_tx_wqe_offset(offset / queue::WQE_BU_SIZE)?;
        self.post_cqe(mem, pos, oob.as_bytes())
    }

    /// Writes a completion of queue `pos` and signals it if the CQ is armed.
    fn post_cqe(&mut self, mem: &dyn DeviceMemory, pos: usize, data: &[u8]) -> Result {
        let w = &mut self.wqs[pos];
        let entries = w.cq_entries();
        let index = w.cq_index;
        let mut cqe = Cqe::zeroed();
        let n = data.len().min(queue::COMP_DATA_SIZE);
        cqe.as_bytes_mut()[..n].copy_from_slice(&data[..n]);
        cqe.info = CqeInfo::ZERO
            .try_with_wq_num(w.wq_id)?
            .with_is_sq(w.is_sq)
            .try_with_owner_bits(queue::owner_bits(index, entries))?;
        w.cq_index = index.wrapping_add(1);
        let written = w.cq.write(
            &self.pool,
            mem,
            entries.slot(index).saturating_mul(queue::CQE_SIZE),
            cqe.as_bytes(),
        );
        if written.is_err() {
            self.dma_fault();
            return written;
        }
        self.stats.cqes = self.stats.cqes.saturating_add(1);
        if self.wqs[pos].armed {
            self.signal(mem, pos)?;
        }
        Ok(())
    }

    /// Posts a COMPLETION event for the CQ of queue `pos` and disarms it.
    fn signal(&mut self, mem: &dyn DeviceMemory, pos: usize) -> Result {
        let (cq_id, eq_id) = (self.wqs[pos].cq_id, self.wqs[pos].eq_id);
        self.wqs[pos].armed = false;
        self.post_event(mem, eq_id, queue::eqe_type::COMPLETION, [cq_id, 0, 0])
    }

    /// Posts an event of `eqe_type` with `details` on EQ `eq_id` and raises its vector;
    /// [`Error::Invalid`] if there is no such EQ.
    pub(crate) fn post_event(
        &mut self,
        mem: &dyn DeviceMemory,
        eq_id: u32,
        eqe_type: u8,
        details: [u32; 3],
    ) -> Result {
        let eq = self
            .eqs
            .iter_mut()
            .find(|q| q.id == eq_id)
            .ok_or(Error::Invalid)?;
        let entries = eq.entries();
        let index = eq.index;
        let eqe = Eqe {
            details,
            info: EqeInfo::ZERO
                .with_eqe_type(eqe_type)
                .try_with_owner_bits(queue::owner_bits(index, entries))?,
        };
        eq.index = index.wrapping_add(1);
        let msix = eq.msix;
        let written = eq.mem.write(
            &self.pool,
            mem,
            entries.slot(index).saturating_mul(queue::EQE_SIZE),
            eqe.as_bytes(),
        );
        if written.is_err() {
            self.dma_fault();
            return written;
        }
        self.stats.eqes = self.stats.eqes.saturating_add(1);
        self.pending_irqs |= 1u64 << (msix % 64);
        Ok(())
    }
}

/// Fills the 4 KiB slots of listed page `n` of `span` 4 KiB pages starting at `addr`; false if
/// they are not all in `slots`.
fn fill_span(slots: &mut [u64], n: usize, span: usize, addr: u64) -> bool {
    let first = n.saturating_mul(span);
    let Some(dst) = slots.get_mut(first..first.saturating_add(span)) else {
        return false;
    };
    let mut page = addr;
    for slot in dst {
        *slot = page;
        page = page.wrapping_add(u64::from(queue::MANA_PAGE_SIZE));
    }
    true
}
