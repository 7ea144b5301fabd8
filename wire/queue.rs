// SPDX-License-Identifier: GPL-2.0-only

//! GDMA queue formats: WQE header and SGE, CQE and EQE with their owner bits, doorbells.
//!
//! C: `include/net/mana/gdma.h` and `mana_gd_post_work_request()`, `mana_gd_read_cqe()`,
//! `mana_gd_process_eq_events()`, `mana_gd_ring_doorbell()` in `gdma_main.c`.
//!
//! # Owner bits
//!
//! CQs and EQs have no producer index the driver could read. Instead every entry carries 3
//! owner bits, the number of the pass of the producer over the ring modulo 8. Both sides count
//! entries with a free-running `u32` index that starts at `num_entries` (so the first pass has
//! owner value 1; C: `INITIALIZED_OWNER_BIT`) and whose entry slot is `index % num_entries`. The
//! device writes entry `index` with [`owner_bits`]`(index, num_entries)`; the consumer at
//! `index` sees an empty slot when the owner bits are those of the previous pass and an
//! overflow when they are neither ([`check_owner`]). Queue sizes are powers of two, so the
//! wrap of the `u32` index keeps the arithmetic consistent.

use core::num::NonZeroU32;

use crate::{
    Error,
    Pod,
    Result, //
};

use super::{
    wire_bitfield,
    wire_struct, //
};

/// Queue types (C: `enum gdma_queue_type`).
pub mod queue_type {
    /// Send queue.
    pub const SQ: u32 = 1;
    /// Receive queue.
    pub const RQ: u32 = 2;
    /// Completion queue.
    pub const CQ: u32 = 3;
    /// Event queue.
    pub const EQ: u32 = 4;
    /// Interrupt moderation (a doorbell only).
    pub const DIM: u32 = 5;
}

/// EQE types (C: `enum gdma_eqe_type`).
pub mod eqe_type {
    /// A CQ has completions; the data names the CQ.
    pub const COMPLETION: u8 = 3;
    /// The answer to `GDMA_GENERATE_TEST_EQE`.
    pub const TEST_EVENT: u8 = 64;
    /// HWC setup: EQ id and doorbell ([`super::super::hwc::HwcInitEqIdDb`]).
    pub const HWC_INIT_EQ_ID_DB: u8 = 129;
    /// HWC setup: one value ([`super::super::hwc::HwcInitTypeData`]).
    pub const HWC_INIT_DATA: u8 = 130;
    /// HWC setup done.
    pub const HWC_INIT_DONE: u8 = 131;
    /// The FPGA was reconfigured.
    pub const HWC_FPGA_RECONFIG: u8 = 132;
    /// Runtime reconfiguration: HWC timeout, link up/down.
    pub const HWC_SOC_RECONFIG_DATA: u8 = 133;
    /// Service event: RDMA suspend/resume.
    pub const HWC_SOC_SERVICE: u8 = 134;
    /// The device asks for a reset.
    pub const HWC_RESET_REQUEST: u8 = 135;
    /// An RNIC QP hit a fatal error.
    pub const RNIC_QP_FATAL: u8 = 176;
}

/// Service types of the `HWC_SOC_SERVICE` EQE (C: `enum gdma_service_type`).
pub mod service_type {
    /// None.
    pub const NONE: u32 = 0;
    /// Suspend RDMA.
    pub const RDMA_SUSPEND: u32 = 1;
    /// Resume RDMA.
    pub const RDMA_RESUME: u32 = 2;
}

/// Work request flags (C: `enum gdma_work_request_flags`).
pub mod wr_flags {
    /// The client OOB is in the SGL.
    pub const OOB_IN_SGL: u32 = 1 << 0;
    /// Pad by SGE 0.
    pub const PAD_BY_SGE0: u32 = 1 << 1;
}

/// The 4 KiB page of queue memory and DMA regions (C: `MANA_PAGE_SIZE`).
pub const MANA_PAGE_SIZE: u32 = 1 << 12;
/// The smallest queue (C: `MANA_MIN_QSIZE`).
pub const MIN_QUEUE_SIZE: u32 = MANA_PAGE_SIZE;
/// Size of a CQE (C: `GDMA_CQE_SIZE`).
pub const CQE_SIZE: u32 = 64;
/// Size of an EQE (C: `GDMA_EQE_SIZE`).
pub const EQE_SIZE: u32 = 16;
/// Data bytes of a CQE (C: `GDMA_COMP_DATA_SIZE`).
pub const COMP_DATA_SIZE: usize = 0x3C;
/// Data bytes of an EQE (C: `GDMA_EVENT_DATA_SIZE`).
pub const EVENT_DATA_SIZE: usize = 0xC;
/// The WQE basic unit; WQE sizes and SQ/RQ doorbell tails count in these (C:
/// `GDMA_WQE_BU_SIZE`).
pub const WQE_BU_SIZE: u32 = 32;
/// Largest SQ WQE (C: `GDMA_MAX_SQE_SIZE`).
pub const MAX_SQE_SIZE: u32 = 512;
/// Largest RQ WQE (C: `GDMA_MAX_RQE_SIZE`).
pub const MAX_RQE_SIZE: u32 = 256;
/// The short inline OOB (C: `INLINE_OOB_SMALL_SIZE`); RQ WQEs always have it.
pub const INLINE_OOB_SMALL_SIZE: u32 = 8;
/// The long inline OOB (C: `INLINE_OOB_LARGE_SIZE`).
pub const INLINE_OOB_LARGE_SIZE: u32 = 24;
/// Most SGEs of an SQ WQE (C: `MAX_TX_WQE_SGL_ENTRIES`).
pub const MAX_TX_WQE_SGL_ENTRIES: u32 =
    (MAX_SQE_SIZE - size_of::<Sge>() as u32 - INLINE_OOB_SMALL_SIZE) / size_of::<Sge>() as u32;
/// Most SGEs of an RQ WQE (C: `MAX_RX_WQE_SGL_ENTRIES`).
pub const MAX_RX_WQE_SGL_ENTRIES: u32 =
    (MAX_RQE_SIZE - size_of::<Sge>() as u32) / size_of::<Sge>() as u32;
/// Most SGEs the Ethernet driver puts in a TX WQE (C: `MANA_MAX_TX_WQE_SGL_ENTRIES`).
pub const MANA_MAX_TX_WQE_SGL_ENTRIES: u32 = 30;
/// Number of owner bits of CQEs and EQEs (C: `GDMA_CQE_OWNER_BITS`, `GDMA_EQE_OWNER_BITS`).
pub const OWNER_BITS: u32 = 3;
/// Mask of the owner bits (C: `GDMA_CQE_OWNER_MASK`).
pub const OWNER_MASK: u32 = (1 << OWNER_BITS) - 1;
/// A CQ without EQ (C: `GDMA_CQ_NO_EQ`).
pub const CQ_NO_EQ: u32 = 0xFFFF;
/// Invalid ids of the C driver (`INVALID_PDID`, `INVALID_DOORBELL`, `INVALID_MEM_KEY`,
/// `INVALID_QUEUE_ID`).
pub const INVALID_ID: u32 = u32::MAX;

wire_struct! {
    /// A scatter-gather entry of a WQE (C: `struct gdma_sge`, 16 bytes).
    pub struct Sge {
        /// DMA address.
        pub address: u64,
        /// Memory key (the GPA mkey for kernel buffers).
        pub mem_key: u32,
        /// Length in bytes.
        pub size: u32,
    }
}

wire_bitfield! {
    /// Word 0 of a WQE header.
    pub struct WqeHeaderWord0(u32) {
        /// With `PAD_BY_SGE0` and the OOB in the SGL: the size of SGE 0.
        31:24 last_vbytes;
    }
}

wire_bitfield! {
    /// Word 1 of a WQE header (C: the `flags` union of `struct gdma_wqe`).
    pub struct WqeHeaderFlags(u32) {
        /// Number of SGEs.
        7:0 num_sge;
        /// Inline OOB size in units of 4 bytes.
        10:8 inline_oob_size_div4;
        /// The client OOB is in the SGL.
        11:11 client_oob_in_sgl;
        /// SQ: the client data unit (e.g. TSO MSS).
        29:16 client_data_unit;
    }
}

wire_struct! {
    /// The 8-byte header of a WQE (C: `struct gdma_wqe`), followed by the inline OOB (8 or
    /// 24 bytes) and the SGEs; the WQE is padded to [`WQE_BU_SIZE`].
    pub struct WqeHeader {
        /// Word 0.
        pub word0: WqeHeaderWord0,
        /// Word 1.
        pub flags: WqeHeaderFlags,
    }
}

impl WqeHeader {
    /// The header `mana_gd_write_client_oob()` writes for `num_sge` SGEs and an inline OOB of
    /// `oob_size` bytes (8 or 24; RQ WQEs have 8) and, on an SQ, `client_data_unit`.
    pub fn new(num_sge: u8, oob_size: u32, client_data_unit: u32) -> Result<Self> {
        if oob_size != INLINE_OOB_SMALL_SIZE && oob_size != INLINE_OOB_LARGE_SIZE {
            return Err(Error::Invalid);
        }
        Ok(Self {
            word0: WqeHeaderWord0::ZERO,
            flags: WqeHeaderFlags::ZERO
                .with_num_sge(num_sge)
                .try_with_inline_oob_size_div4(oob_size / 4)?
                .try_with_client_data_unit(client_data_unit)?,
        })
    }

    /// The inline OOB size in bytes.
    pub fn inline_oob_size(&self) -> u32 {
        self.flags.inline_oob_size_div4().get() * 4
    }
}

/// The size of a WQE with an inline OOB of `oob_size` bytes and `num_sge` SGEs, rounded up to
/// [`WQE_BU_SIZE`], as `mana_gd_post_work_request()` computes it; `None` if it overflows.
pub fn wqe_size(oob_size: u32, num_sge: u32) -> Option<u32> {
    let sgl = num_sge.checked_mul(size_of::<Sge>() as u32)?;
    let raw = (size_of::<WqeHeader>() as u32)
        .checked_add(oob_size)?
        .checked_add(sgl)?;
    raw.checked_next_multiple_of(WQE_BU_SIZE)
}

wire_bitfield! {
    /// The info word of a CQE (C: `cqe_info` of `struct gdma_cqe`).
    pub struct CqeInfo(u32) {
        /// The WQ (SQ or RQ) that completed.
        23:0 wq_num;
        /// The WQ is an SQ.
        24:24 is_sq;
        /// Owner bits (see the module docs).
        31:29 owner_bits;
    }
}

wire_struct! {
    /// A completion queue entry (C: `struct gdma_cqe`, 64 bytes).
    pub struct Cqe {
        /// Client data (e.g. [`super::eth::RxCompOob`], [`super::hwc::HwcRxOob`]).
        pub cqe_data: [u32; COMP_DATA_SIZE / 4],
        /// WQ, direction and owner bits.
        pub info: CqeInfo,
    }
}

impl Cqe {
    /// The data bytes of the CQE.
    pub fn data_bytes(&self) -> &[u8] {
        self.cqe_data.wire_bytes()
    }
}

wire_bitfield! {
    /// The info word of an EQE (C: `union gdma_eqe_info`).
    pub struct EqeInfo(u32) {
        /// The EQE type ([`eqe_type`]).
        7:0 eqe_type;
        /// The client.
        17:16 client_id;
        /// Owner bits (see the module docs).
        31:29 owner_bits;
    }
}

wire_struct! {
    /// An event queue entry (C: `struct gdma_eqe`, 16 bytes).
    pub struct Eqe {
        /// Event data (for `COMPLETION`: the CQ id in `details[0]`).
        pub details: [u32; EVENT_DATA_SIZE / 4],
        /// Type and owner bits.
        pub info: EqeInfo,
    }
}

/// The largest event or completion queue, in entries: with its owner bits its free-running
/// index still fits in a `u32` many times over, and the doorbell tail mask cannot overflow.
pub const MAX_RING_ENTRIES: u32 = 1 << 24;

/// The number of entries of an event or completion queue: a power of two from 1 to
/// [`MAX_RING_ENTRIES`], as the device requires of queue sizes. Made once, where the size of
/// the queue is known; the ring arithmetic on it can neither divide by zero nor overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingEntries(NonZeroU32);

impl RingEntries {
    /// `n` entries, if `n` is a power of two no larger than [`MAX_RING_ENTRIES`].
    pub const fn new(n: u32) -> Option<Self> {
        if !n.is_power_of_two() || n > MAX_RING_ENTRIES {
            return None;
        }
        match NonZeroU32::new(n) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// `n` entries, for constants (`const X: RingEntries = RingEntries::constant(..)`): an
    /// invalid `n` fails the build. Use [`RingEntries::new`] for values known at run time.
    pub const fn constant(n: u32) -> Self {
        match Self::new(n) {
            Some(entries) => entries,
            None => panic!("not a valid number of ring entries"),
        }
    }

    /// The entries of `entry_size` bytes in a queue of `bytes` bytes, if they are a valid
    /// number (see [`RingEntries::new`]) and fill the queue exactly.
    pub const fn of_bytes(bytes: usize, entry_size: u32) -> Option<Self> {
        let entry_size = entry_size as usize;
        if entry_size == 0 || bytes % entry_size != 0 || bytes / entry_size > u32::MAX as usize {
            return None;
        }
        Self::new((bytes / entry_size) as u32)
    }

    /// The number of entries.
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The slot of free-running `index` (C: `index % num_entries`).
    pub const fn slot(self, index: u32) -> u32 {
        index & (self.0.get() - 1)
    }

    /// How many times the queue has been passed at free-running `index`
    /// (C: `index / num_entries`).
    const fn pass(self, index: u32) -> u32 {
        index >> self.0.trailing_zeros()
    }
}

/// The initial value of a CQ or EQ index (C: `INITIALIZED_OWNER_BIT(log2(num_entries))`).
pub const fn initial_index(entries: RingEntries) -> u32 {
    entries.get()
}

/// The owner bits of the entry at free-running `index` in a ring of `entries` entries
/// (C: `(head / num_entries) & GDMA_CQE_OWNER_MASK`): what the producer writes and what a
/// valid entry carries for the consumer.
pub const fn owner_bits(index: u32, entries: RingEntries) -> u32 {
    entries.pass(index) & OWNER_MASK
}

/// The owner bits of the previous pass at `index`: a slot with these is empty.
pub const fn stale_owner_bits(index: u32, entries: RingEntries) -> u32 {
    entries.pass(index).wrapping_sub(1) & OWNER_MASK
}

/// What the consumer at `index` finds in an entry with `owner` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerCheck {
    /// The entry is new: consume it (after a read barrier).
    Valid,
    /// The slot still holds the previous pass: the queue is empty.
    Empty,
    /// Neither: the producer lapped the consumer.
    Overflow,
}

/// Classifies an entry as `mana_gd_read_cqe()` and `mana_gd_process_eq_events()` do.
pub const fn check_owner(owner: u32, index: u32, entries: RingEntries) -> OwnerCheck {
    if owner == stale_owner_bits(index, entries) {
        OwnerCheck::Empty
    } else if owner == owner_bits(index, entries) {
        OwnerCheck::Valid
    } else {
        OwnerCheck::Overflow
    }
}

/// The tail a CQ or EQ doorbell reports for consumer `index` (C: `head % (num_entries <<
/// OWNER_BITS)`).
pub const fn cq_doorbell_tail(index: u32, entries: RingEntries) -> u32 {
    // A power of two of at least 1 and at most 2^27: shifted, at least 2^OWNER_BITS; the
    // remainder is a mask (the subtraction cannot wrap).
    index & (entries.get() << OWNER_BITS).wrapping_sub(1)
}

/// The tail an SQ or RQ doorbell reports for producer `head` in basic units (C:
/// `head * GDMA_WQE_BU_SIZE`: a byte count that wraps with `u32`).
pub const fn wq_doorbell_tail(head_bu: u32) -> u32 {
    head_bu.wrapping_mul(WQE_BU_SIZE)
}

/// Offset of the SQ doorbell in a doorbell page (C: `DOORBELL_OFFSET_SQ`).
pub const DOORBELL_OFFSET_SQ: u64 = 0x0;
/// Offset of the RQ doorbell.
pub const DOORBELL_OFFSET_RQ: u64 = 0x400;
/// Offset of the CQ doorbell.
pub const DOORBELL_OFFSET_CQ: u64 = 0x800;
/// Offset of the DIM (interrupt moderation) doorbell.
pub const DOORBELL_OFFSET_DIM: u64 = 0x820;
/// Offset of the EQ doorbell.
pub const DOORBELL_OFFSET_EQ: u64 = 0xFF8;

/// The smallest doorbell page the C driver accepts (it writes up to `0xFF8 + 8`).
pub const MIN_DOORBELL_PAGE_SIZE: u64 = 0x1000;

/// The offset of the doorbell of `queue_type` in doorbell page `db_index`, from the start of
/// the doorbell area (C: `db_page_size * db_index + DOORBELL_OFFSET_*`).
///
/// `EINVAL` for an unknown queue type or an overflow.
pub fn doorbell_offset(db_page_size: u64, db_index: u32, queue_type: u32) -> Result<u64> {
    let within = match queue_type {
        queue_type::SQ => DOORBELL_OFFSET_SQ,
        queue_type::RQ => DOORBELL_OFFSET_RQ,
        queue_type::CQ => DOORBELL_OFFSET_CQ,
        queue_type::EQ => DOORBELL_OFFSET_EQ,
        queue_type::DIM => DOORBELL_OFFSET_DIM,
        _ => return Err(Error::Invalid),
    };
    db_page_size
        .checked_mul(u64::from(db_index))
        .and_then(|page| page.checked_add(within))
        .ok_or(Error::Invalid)
}

/// Which doorbell of a page an offset within it (`offset % db_page_size`) is, if any.
pub fn doorbell_queue_type(offset_in_page: u64) -> Option<u32> {
    match offset_in_page {
        DOORBELL_OFFSET_SQ => Some(queue_type::SQ),
        DOORBELL_OFFSET_RQ => Some(queue_type::RQ),
        DOORBELL_OFFSET_CQ => Some(queue_type::CQ),
        DOORBELL_OFFSET_DIM => Some(queue_type::DIM),
        DOORBELL_OFFSET_EQ => Some(queue_type::EQ),
        _ => None,
    }
}

wire_bitfield! {
    /// The SQ doorbell (C: `gdma_doorbell_entry.sq`).
    pub struct SqDoorbell(u64) {
        /// The SQ id.
        23:0 id;
        /// The producer offset in bytes ([`wq_doorbell_tail`]).
        63:32 tail_ptr;
    }
}

impl SqDoorbell {
    /// The doorbell for SQ `id` at producer byte offset `tail`.
    pub fn new(id: u32, tail: u32) -> Result<Self> {
        Ok(Self::ZERO.try_with_id(id)?.with_tail_ptr(tail))
    }
}

wire_bitfield! {
    /// The RQ doorbell (C: `gdma_doorbell_entry.rq`).
    pub struct RqDoorbell(u64) {
        /// The RQ id.
        23:0 id;
        /// WQE count; the C driver writes 0, as the hardware specification asks.
        31:24 wqe_cnt;
        /// The producer offset in bytes ([`wq_doorbell_tail`]).
        63:32 tail_ptr;
    }
}

impl RqDoorbell {
    /// The doorbell for RQ `id` at producer byte offset `tail` (WQE count 0).
    pub fn new(id: u32, tail: u32) -> Result<Self> {
        Ok(Self::ZERO.try_with_id(id)?.with_tail_ptr(tail))
    }
}

wire_bitfield! {
    /// The CQ doorbell (C: `gdma_doorbell_entry.cq`).
    pub struct CqDoorbell(u64) {
        /// The CQ id.
        23:0 id;
        /// The consumer index ([`cq_doorbell_tail`]).
        62:32 tail_ptr;
        /// Arm: interrupt on the next completion.
        63:63 arm;
    }
}

impl CqDoorbell {
    /// The doorbell for CQ `id` at consumer tail `tail`, armed or not.
    pub fn new(id: u32, tail: u32, arm: bool) -> Result<Self> {
        Ok(Self::ZERO
            .try_with_id(id)?
            .try_with_tail_ptr(tail)?
            .with_arm(arm))
    }
}

wire_bitfield! {
    /// The EQ doorbell (C: `gdma_doorbell_entry.eq`).
    pub struct EqDoorbell(u64) {
        /// The EQ id (16 bits).
        15:0 id;
        /// The consumer index ([`cq_doorbell_tail`]).
        62:32 tail_ptr;
        /// Arm: interrupt on the next event.
        63:63 arm;
    }
}

impl EqDoorbell {
    /// The doorbell for EQ `id` at consumer tail `tail`, armed or not.
    pub fn new(id: u32, tail: u32, arm: bool) -> Result<Self> {
        Ok(Self::ZERO
            .try_with_id(id)?
            .try_with_tail_ptr(tail)?
            .with_arm(arm))
    }
}

wire_bitfield! {
    /// The interrupt moderation doorbell of a CQ (C: `gdma_doorbell_entry.dim`).
    pub struct DimDoorbell(u64) {
        /// The CQ id.
        23:0 id;
        /// Moderation time in microseconds.
        41:32 mod_usec;
        /// `mod_usec` is valid.
        47:47 mod_usec_vld;
        /// Moderation completion count.
        55:48 mod_comps;
        /// `mod_comps` is valid.
        63:63 mod_comps_vld;
    }
}
