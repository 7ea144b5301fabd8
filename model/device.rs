// SPDX-License-Identifier: GPL-2.0-only

//! The device side of the software MANA device: registers, the SMC mailbox, the hardware
//! channel and the requests the core and the clients send.
//!
//! The model is host-agnostic: it reaches driver memory only through `DeviceMemory` (by DMA
//! address, bounds-checked by the host like an IOMMU would), reports interrupts by returning
//! them (`SwDevice::take_interrupts`) and owns no locks, threads or timers. Its hosts (the
//! software adapters of `mana_gdma`, the vfio-user server) serialize access and deliver
//! interrupts. Like the hardware, it has fixed-capacity tables, and like a strict hardware
//! model, it refuses protocol misuse: every violation is counted in
//! [`SwStats::protocol_errors`] and logged, so tests can fail on it.

use crate::{
    error::{
        Error,
        Result, //
    },
    table::Table,
    wire_ext::WireExt,
    zero::zeroable,
};

/// Where BAR0 holds the mailbox and the doorbell pages (the model crate's layout).
pub use crate::layout::{
    BAR0_SIZE,
    DB_PAGE_OFFSET,
    DB_PAGE_SIZE,
    NUM_DB_PAGES,
    SHM_OFFSET, //
};

pub use crate::{
    config::{
        Fault,
        SwConfig, //
    },
    stats::{
        SwStats,
        VportProgramming, //
    },
};

use crate::host::{
    DeviceMemory,
    Log,
    Observer,
    Wire, //
};

use crate::datapath::{
    DataPath,
    Scratch,
    HWC_DOORBELL_PAGE, //
};
use crate::stats::QueueStats;
use mana_wire::hwc::ServiceRequest;
use mana_wire::{
    gdma_msgs::{
        self,
        ListDevicesResp,
        QueryHwcTimeoutResp,
        QueryMaxResourcesResp,
        RegisterDeviceResp,
        VerifyVerReq,
        VerifyVerResp, //
    },
    hdr::{
        self,
        DevId,
        GeneralResp,
        ReqHdr,
        RespHdr,
        Response,
        STATUS_CMD_UNSUPPORTED, //
    },
    hwc::{
        init_data,
        HwcInitEqIdDb,
        HwcInitTypeData,
        HwcRxOob,
        HwcRxOobFlags,
        HwcSocServiceType,
        HwcTxOob, //
    },
    mana_msgs::{
        self,
        ConfigVportResp,
        QueryDevCfgResp,
        QueryVportCfgResp, //
    },
    queue::{
        self,
        Cqe,
        CqeInfo,
        Eqe,
        EqeInfo,
        Sge,
        WqeHeader, //
    },
    regs,
    smc::{
        self,
        EstablishHwc,
        SmcHdr, //
    }, //
};

/// Every hardware-channel queue is one 4 KiB page (the SMC passes only page frame numbers).
pub(crate) const HWC_QUEUE_SIZE: u32 = queue::MANA_PAGE_SIZE;
/// The deepest hardware channel the device offers: a request uses two CQEs (send and receive)
/// and the CQ is one page of 64 entries.
pub(crate) const HWC_MAX_DEPTH: u32 = HWC_QUEUE_SIZE / queue::CQE_SIZE / 2;
/// The largest request and response the device accepts on its hardware channel.
pub(crate) const HWC_MAX_MSG: u32 = 4096;

/// Ids the device gives the hardware channel's queues.
const HWC_EQ_ID: u32 = 0;
const HWC_CQ_ID: u32 = 0;
const HWC_RQ_ID: u32 = 1;
const HWC_SQ_ID: u32 = 2;
/// The data path's queue ids start after the hardware channel's.
const HWC_QUEUE_IDS: u32 = 3;
/// The memory key and PD of the hardware channel's buffers.
const HWC_GPA_MKEY: u32 = 0x4d4b;
/// The destination RQ and CQ a PF's hardware-channel requests must name.
const HWC_PF_DEST_RQ: u32 = 0x31;
const HWC_PF_DEST_CQ: u32 = 0x32;
const HWC_PDID: u32 = 0x10;

/// A fault armed for the next `count` requests with code `code` (the fault encoded, see
/// [`Fault::encode`], so that the table is zero-valid).
#[derive(Clone, Copy, Debug)]
struct ArmedFault {
    code: u32,
    kind: u8,
    arg: u32,
    count: u32,
}
zeroable!(ArmedFault {
    code,
    kind,
    arg,
    count
});

impl ArmedFault {
    fn fault(&self) -> Option<Fault> {
        Fault::decode(self.kind, self.arg)
    }
}

/// The most faults armed at once.
const MAX_FAULTS: usize = 16;

/// The doorbell page and PD the device gives the registered MANA device.
pub(crate) const MANA_DEV_DOORBELL: u32 = 1;
pub(crate) const MANA_DEV_PDID: u32 = 0x20;
/// The memory key the device gives the registered MANA device: SGEs with it carry DMA
/// addresses, on queues of [`MANA_DEV_PDID`] only (see [`crate::datapath`]).
pub(crate) const MANA_DEV_GPA_MKEY: u32 = 0x5a5a;
/// The device's vport handles: this base plus the vport index.
const VPORT_HANDLE_BASE: u64 = 0x1000;

/// The largest GDMA page type of a DMA region the model takes: 4 KiB << 9 = 2 MiB pages.
const MAX_PAGE_TYPE: u32 = 9;

/// The most objects of each kind the device holds, like a real device's tables.
const MAX_OBJECTS: usize = 256;
/// The largest id [`Objects::new_id`] hands out, less the largest offset added to one (MR keys
/// are `0x1000 + id`), so every id and key fits 24 bits.
const MAX_OBJECT_ID: u32 = (1 << 24) - 1 - 0x1000;

/// [`SwDevice`]'s registration bit of the Ethernet device.
const REG_MANA: u8 = 1 << 0;
/// [`SwDevice`]'s registration bit of the RDMA device.
const REG_MANA_IB: u8 = 1 << 1;

/// The registration bit of the device a REGISTER_DEVICE or DEREGISTER_DEVICE names: the RDMA
/// device's for its type, else the Ethernet device's (which drivers register first).
fn registration_of(hdr: &ReqHdr) -> u8 {
    if hdr.dev_id.ty == mana_wire::hdr::device_type::MANA_IB {
        REG_MANA_IB
    } else {
        REG_MANA
    }
}

/// A registered DMA region.
#[derive(Clone, Copy)]
struct Region {
    handle: u64,
    length: u64,
    /// Its pages, of 4 KiB << `shift` bytes each (GDMA page type `shift`).
    pages: u32,
    shift: u32,
    /// Pages the driver announced but has not sent yet (DMA_REGION_ADD_PAGES); the region is
    /// usable once none is missing.
    missing: u32,
}

/// An event queue.
#[derive(Clone, Copy)]
struct EqObj {
    id: u32,
    region: u64,
}

/// A work-queue object.
#[derive(Clone, Copy)]
struct WqObj {
    handle: u64,
    vport: u64,
    ty: u32,
    /// The ids of its work queue and of its completion queue.
    wq_id: u32,
    cq_id: u32,
    wq_region: u64,
    cq_region: u64,
    parent_eq: u32,
}

zeroable!(Region {
    handle,
    length,
    pages,
    shift,
    missing
});
zeroable!(EqObj { id, region });
zeroable!(WqObj {
    handle,
    vport,
    ty,
    wq_id,
    cq_id,
    wq_region,
    cq_region,
    parent_eq
});

/// The device's object tables.
struct Objects {
    regions: Table<Region, MAX_OBJECTS>,
    eqs: Table<EqObj, MAX_OBJECTS>,
    wq_objs: Table<WqObj, MAX_OBJECTS>,
    pds: Table<(u64, u32), MAX_OBJECTS>,
    /// (MR handle, PD handle, memory key).
    mrs: Table<(u64, u64, u32), MAX_OBJECTS>,
    /// Doorbell pages given out by ALLOCATE_RESOURCE_RANGE, one bit each.
    doorbells: u64,
    next_handle: u64,
    next_id: u32,
}

zeroable!(Objects {
    regions,
    eqs,
    wq_objs,
    pds,
    mrs,
    doorbells,
    next_handle,
    next_id
});

impl Objects {
    /// Forgets every object (a reset); handles and ids keep counting.
    fn clear(&mut self) {
        self.regions.clear();
        self.eqs.clear();
        self.wq_objs.clear();
        self.pds.clear();
        self.mrs.clear();
        self.doorbells = 0;
    }

    fn region_in_use(&self, handle: u64) -> bool {
        self.eqs.iter().any(|q| q.region == handle)
            || self
                .wq_objs
                .iter()
                .any(|w| w.wq_region == handle || w.cq_region == handle)
    }

    /// The length of region `handle`, if it exists and all its pages were sent.
    fn region_len(&self, handle: u64) -> Option<u64> {
        self.regions
            .iter()
            .find(|r| r.handle == handle && r.missing == 0)
            .map(|r| r.length)
    }

    /// Whether a live queue of any type has id `id`.
    fn queue_id_in_use(&self, id: u32) -> bool {
        self.eqs.iter().any(|q| q.id == id)
            || self.wq_objs.iter().any(|w| w.wq_id == id || w.cq_id == id)
    }

    /// The lowest free queue id when the device has `limit` data-path queues of all types,
    /// as the hardware numbers queues: an index into its queue table, reused once the queue is
    /// destroyed. Ids are unique across types (drivers may key one table by them) and never
    /// those of the hardware channel's queues (0 to [`HWC_QUEUE_IDS`] - 1). `None` when all
    /// `limit` are in use; never `taken` either (an id given out for a queue not yet stored).
    /// (The C driver indexes its CQ table with the id and refuses one at or beyond the
    /// MAX_NUM_CQS of the hardware channel's init data, which covers them all.)
    fn free_queue_id(&self, limit: u32, taken: Option<u32>) -> Option<u32> {
        (HWC_QUEUE_IDS..HWC_QUEUE_IDS.saturating_add(limit))
            .find(|&id| Some(id) != taken && !self.queue_id_in_use(id))
    }

    fn new_handle(&mut self) -> u64 {
        // 2^64 creations do not happen; wrapping keeps the arithmetic total.
        self.next_handle = self.next_handle.wrapping_add(1);
        0x1_0000u64.wrapping_add(self.next_handle)
    }

    /// A new id of an MR key or PD: 1..=[`MAX_OBJECT_ID`], wrapping around after that
    /// many creations (a driver that creates and destroys objects in a loop must not overflow
    /// the counter; the ids fit the 24-bit queue fields of CQEs and doorbells).
    fn new_id(&mut self) -> u32 {
        // Queue id 0 is the hardware channel's.
        self.next_id = (self.next_id % MAX_OBJECT_ID).wrapping_add(1);
        self.next_id
    }
}

/// The device's view of the hardware channel after ESTABLISH_HWC.
#[derive(Clone, Copy, Debug)]
struct HwcState {
    /// The channel exists (ESTABLISH_HWC done, no DESTROY_HWC since).
    up: bool,
    eq_addr: u64,
    cq_addr: u64,
    rq_addr: u64,
    sq_addr: u64,
    msix: u32,
    /// Next EQE / CQE index the device produces (starts at the entry count: owner bits 1).
    eq_index: u32,
    cq_index: u32,
    /// Bytes of SQ / RQ WQEs consumed, and the tails the driver rang.
    sq_consumed: u32,
    sq_tail: u32,
    /// When each SQ WQE became visible to the device (µs), by WQE position.
    arrival_us: [u64; (HWC_QUEUE_SIZE / HWC_SQ_WQE_SIZE) as usize],
    rq_consumed: u32,
    rq_tail: u32,
}

zeroable!(HwcState {
    up,
    eq_addr,
    cq_addr,
    rq_addr,
    sq_addr,
    msix,
    eq_index,
    cq_index,
    sq_consumed,
    sq_tail,
    arrival_us,
    rq_consumed,
    rq_tail
});

impl HwcState {
    /// The channel, if it exists.
    fn live(&self) -> Option<HwcState> {
        self.up.then_some(*self)
    }

    /// The channel, if it exists, for update.
    fn as_live(&mut self) -> Option<&mut HwcState> {
        if self.up {
            Some(self)
        } else {
            None
        }
    }
}

/// How the driver programmed one vport (the zero-valid form of [`VportProgramming`]).
#[derive(Clone, Copy, Debug)]
struct VportState {
    tx_set: bool,
    tx_pdid: u32,
    tx_doorbell: u32,
    rx_enabled: bool,
    rss_hash_types: u16,
    tx_configs: u32,
    /// The bandwidth clamp of the last SET_BW_CLAMP, in Mbit/s; 0 when none.
    bw_clamp_mbps: u32,
}
zeroable!(VportState {
    tx_set,
    tx_pdid,
    tx_doorbell,
    rx_enabled,
    rss_hash_types,
    tx_configs,
    bw_clamp_mbps
});

impl VportState {
    const fn zeroed_state() -> Self {
        Self {
            tx_set: false,
            tx_pdid: 0,
            tx_doorbell: 0,
            rx_enabled: false,
            rss_hash_types: 0,
            tx_configs: 0,
            bw_clamp_mbps: 0,
        }
    }

    fn programming(&self) -> VportProgramming {
        VportProgramming {
            tx: self.tx_set.then_some((self.tx_pdid, self.tx_doorbell)),
            rx_enabled: self.rx_enabled,
            rss_hash_types: self.rss_hash_types,
            tx_configs: self.tx_configs,
            bw_clamp_mbps: (self.bw_clamp_mbps != 0).then_some(self.bw_clamp_mbps),
        }
    }
}

/// One software MANA function: a driver's view of it through BAR0 and its memory.
///
/// The device is large (fixed tables, a page pool, packet buffers): a host allocates it zeroed
/// on its heap ([`crate::zero::Zeroable`]) and powers it on with [`SwDevice::power_on`].
pub struct SwDevice {
    core: Core,
    /// The request being answered.
    req: [u8; HWC_MAX_MSG as usize],
    /// The data path's packet buffers.
    scratch: Scratch,
}
zeroable!(SwDevice { core, req, scratch });

// SAFETY: `SwDevice` is `crate::zero::Zeroable` (proved field by field above): all-zero bytes
// are a valid value.
#[cfg(CONFIG_RUST)]
unsafe impl ::pin_init::Zeroable for SwDevice {}

/// The device's state, apart from the buffers of [`SwDevice`].
struct Core {
    config: SwConfig,
    /// Where protocol errors and refusals are reported (the host's log; set at power-on).
    log: Option<&'static dyn Log>,
    shm: [u32; smc::SMC_APERTURE_DWORDS],
    hwc: HwcState,
    faults: Table<ArmedFault, MAX_FAULTS>,
    stats: SwStats,
    pending_irqs: u64,
    /// The devices registered with REGISTER_DEVICE: [`REG_MANA`], [`REG_MANA_IB`].
    registered: u8,
    /// The capability flags of the driver's VERIFY_VF_DRIVER_VERSION.
    driver_caps: u64,
    /// The device sent a reset event and lost its state; it answers nothing until the driver
    /// destroys the hardware channel.
    resetting: bool,
    vports: [VportState; 16],
    objects: Objects,
    /// The data path (send and receive queues, the wire between ports).
    dp: DataPath,
}
zeroable!(Core {
    config,
    log,
    shm,
    hwc,
    faults,
    stats,
    pending_irqs,
    registered,
    driver_caps,
    resetting,
    vports,
    objects,
    dp
});

/// The mailbox dword at BAR0 `offset`, if `offset` is a dword of the mailbox.
fn shm_dword(offset: usize) -> Option<usize> {
    let in_shm = offset.checked_sub(SHM_OFFSET)?;
    (in_shm < smc::SMC_APERTURE_SIZE && in_shm % 4 == 0).then_some(in_shm / 4)
}

/// The bit of `n` in a 64-bit mask (vectors, doorbell pages), or none if `n` is out of range.
pub(crate) fn bit(n: u32) -> u64 {
    1u64.checked_shl(n).unwrap_or(0)
}

const EQ_ENTRIES: queue::RingEntries =
    queue::RingEntries::constant(HWC_QUEUE_SIZE / queue::EQE_SIZE);
const CQ_ENTRIES: queue::RingEntries =
    queue::RingEntries::constant(HWC_QUEUE_SIZE / queue::CQE_SIZE);
/// A hardware-channel SQ WQE: header, 24-byte OOB, one SGE.
const HWC_SQ_WQE_SIZE: u32 = 64;
/// A hardware-channel RQ WQE: header, 8-byte OOB, one SGE.
const HWC_RQ_WQE_SIZE: u32 = 32;

impl SwDevice {
    /// Checks `config` and puts the device in its power-on state with it, in place: what a
    /// host does once after allocating the device zeroed. Refusals are logged to `log`, which
    /// also receives the device's protocol errors from then on.
    pub fn power_on(&mut self, config: SwConfig, log: &'static dyn Log) -> Result {
        self.core.power_on(config, log)
    }

    /// A device allocated zeroed on the heap and powered on (the user-space host's way).
    #[cfg(not(CONFIG_RUST))]
    pub fn boxed(config: SwConfig, log: &'static dyn Log) -> Result<alloc::boxed::Box<Self>> {
        let mut dev = crate::zero::zeroed_box::<Self>();
        dev.power_on(config, log)?;
        Ok(dev)
    }

    /// The configuration.
    pub fn config(&self) -> &SwConfig {
        &self.core.config
    }

    /// What the device saw so far.
    pub fn stats(&self) -> SwStats {
        self.core.stats()
    }

    /// What the device counted on send queue (`is_sq`) or receive queue `wq_id`.
    pub fn queue_stats(&self, is_sq: bool, wq_id: u32) -> Option<QueueStats> {
        self.core.dp.queue_stats(is_sq, wq_id)
    }

    /// How vport `index` is programmed.
    pub fn vport(&self, index: u32) -> Option<VportProgramming> {
        self.core.vport(index)
    }

    /// Arms `fault` for the next `count` requests with code `code`; [`Error::NoSpace`] when
    /// 16 faults are armed.
    pub fn inject(&mut self, code: u32, fault: Fault, count: u32) -> Result {
        self.core.inject(code, fault, count)
    }

    /// Changes the per-request latency.
    pub fn set_latency_us(&mut self, latency_us: u32) {
        self.core.config.latency_us = latency_us;
    }

    /// Reports the link up or down to the driver (a SOC_RECONFIG_DATA event on the hardware
    /// channel's event queue), as the hardware does when the port's cable state changes.
    pub fn set_link(&mut self, mem: &dyn DeviceMemory, up: bool) -> Result {
        self.core.set_link(mem, up)
    }

    /// Asks the driver for a service operation (see [`ServiceRequest`]), as the hardware does:
    /// the event on the hardware channel's EQ. A reset (RESET_REQUEST, FPGA_RECONFIG) also
    /// resets the device: every object is gone, and the channel answers nothing until the
    /// driver destroys it through the SMC. [`Error::NotSupported`] if the driver did not
    /// advertise that it handles the event, [`Error::Busy`] during a reset or without a channel.
    pub fn service_event(&mut self, mem: &dyn DeviceMemory, request: ServiceRequest) -> Result {
        self.core.service_event(mem, request)
    }

    /// Returns and clears the set of MSI-X vectors raised since the last call (bit `n` is
    /// vector `n`). A host calls it after every other entry point and signals the vectors.
    pub fn take_interrupts(&mut self) -> u64 {
        self.core.take_interrupts()
    }

    /// A 32-bit register read at BAR0 `offset`.
    pub fn read32(&self, offset: usize) -> u32 {
        self.core.read32(offset)
    }

    /// A 64-bit register read at BAR0 `offset`.
    pub fn read64(&self, offset: usize) -> u64 {
        self.core.read64(offset)
    }

    /// A 32-bit register write at BAR0 `offset`. Writing the SMC's last dword hands the
    /// mailbox to the device, which answers in it before this returns.
    pub fn write32(&mut self, mem: &dyn DeviceMemory, offset: usize, value: u32) {
        self.core.write32(mem, offset, value)
    }

    /// A doorbell write at BAR0 `offset`, at time `now_us` (any monotonic microsecond clock):
    /// the hardware channel's page only records it (see [`SwDevice::process_one`]); a
    /// data-path page is processed at once (frames of ports linked outside the device go to
    /// `wire`).
    pub fn doorbell(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        offset: usize,
        value: u64,
        now_us: u64,
    ) {
        let page = offset.checked_sub(DB_PAGE_OFFSET).map(|o| {
            (
                o / DB_PAGE_SIZE,
                queue::doorbell_queue_type((o % DB_PAGE_SIZE) as u64),
            )
        });
        match page {
            Some((page, Some(qtype))) if page != HWC_DOORBELL_PAGE && page < NUM_DB_PAGES => {
                self.data_doorbell(mem, page, qtype, value);
                self.process_datapath(mem, wire);
            }
            _ => self.core.doorbell(offset, value, now_us),
        }
    }

    /// A doorbell on data-path page `page` (any page but the hardware channel's) at an offset
    /// that names `qtype`, recorded without processing: a host that batches doorbells calls
    /// [`SwDevice::process_datapath`] after a batch. The device takes it only on the page of
    /// the queue's owner (see [`crate::datapath`]).
    pub fn data_doorbell(&mut self, mem: &dyn DeviceMemory, page: usize, qtype: u32, value: u64) {
        self.core.dp.doorbell(mem, page, qtype, value);
    }

    /// Processes the posted send WQEs of every queue; frames of ports linked outside the
    /// device go to `wire`.
    pub fn process_datapath(&mut self, mem: &dyn DeviceMemory, wire: &mut dyn Wire) {
        self.core.dp.process(mem, wire, &mut self.scratch);
    }

    /// Links port `index` outside the device (`external`; its frames go to the [`Wire`] of
    /// the data-path entry points, and the host hands it frames with
    /// [`SwDevice::receive_frame`]) or back to its linked port of this device.
    pub fn set_external(&mut self, index: u32, external: bool) -> Result {
        self.core.dp.set_external(index as usize, external)
    }

    /// Receives `frame` from outside the device on port `index` (RX steering, RSS, an RX CQE
    /// as for a frame of a linked port); `vlan` is the tag the sender asked to insert.
    pub fn receive_frame(
        &mut self,
        mem: &dyn DeviceMemory,
        index: u32,
        frame: &[u8],
        vlan: Option<u16>,
    ) -> Result {
        self.core
            .dp
            .receive_external(mem, index as usize, frame, vlan)
    }

    /// Stalls the send queues of vport `index` (the device consumes none of their WQEs and
    /// completes nothing) or releases them (what was posted meanwhile is processed).
    pub fn set_tx_stall(
        &mut self,
        mem: &dyn DeviceMemory,
        wire: &mut dyn Wire,
        index: u32,
        stalled: bool,
    ) -> Result {
        self.core.dp.set_tx_stall(index as usize, stalled)?;
        if !stalled {
            self.process_datapath(mem, wire);
        }
        Ok(())
    }

    /// How long from `now_us` until the next hardware-channel request is due (its arrival
    /// plus the latency plus an injected late response), or `None` if no request is waiting.
    pub fn next_request_delay_us(&mut self, mem: &dyn DeviceMemory, now_us: u64) -> Option<u64> {
        self.core.next_request_delay_us(mem, now_us)
    }

    /// Answers one waiting hardware-channel request. Returns `false` if none was waiting.
    pub fn process_one(&mut self, mem: &dyn DeviceMemory) -> bool {
        self.core.process_one(mem, &mut self.req, None)
    }

    /// [`SwDevice::process_one`], showing `observer` the request and the response.
    pub fn process_one_observed(
        &mut self,
        mem: &dyn DeviceMemory,
        observer: &mut dyn Observer,
    ) -> bool {
        self.core.process_one(mem, &mut self.req, Some(observer))
    }
}

impl Core {
    /// Checks `config` and puts the device in its power-on state with it, in place.
    fn power_on(&mut self, config: SwConfig, log: &'static dyn Log) -> Result {
        if config.num_ports == 0 || config.num_ports > 16 {
            log.error(format_args!(
                "{} ports requested; a software adapter has 1..=16",
                config.num_ports
            ));
            return Err(Error::Invalid);
        }
        if config.hwc_depth == 0 || config.hwc_depth > HWC_MAX_DEPTH {
            log.error(format_args!(
                "hardware-channel depth {} requested; the device offers 1..={}",
                config.hwc_depth, HWC_MAX_DEPTH
            ));
            return Err(Error::Invalid);
        }
        if config.num_vectors == 0 || config.num_vectors > 64 {
            log.error(format_args!(
                "{} MSI-X vectors requested; the device offers 1..=64",
                config.num_vectors
            ));
            return Err(Error::Invalid);
        }
        self.config = config;
        self.log = Some(log);
        self.shm = [0; smc::SMC_APERTURE_DWORDS];
        self.hwc.up = false;
        self.stats = SwStats::default();
        self.pending_irqs = 0;
        self.driver_caps = 0;
        self.resetting = false;
        self.objects.next_handle = 0;
        self.objects.next_id = 0;
        self.lose_state();
        self.resetting = false;
        Ok(())
    }

    /// Logs one line through the host's log.
    fn log_error(&self, line: core::fmt::Arguments<'_>) {
        if let Some(log) = self.log {
            log.error(line);
        }
    }

    /// What the device saw so far.
    fn stats(&self) -> SwStats {
        let mut stats = self.stats;
        stats.datapath = self.dp.stats();
        stats
    }

    /// How vport `index` is programmed.
    fn vport(&self, index: u32) -> Option<VportProgramming> {
        if index < self.config.num_ports {
            self.vports.get(index as usize).map(VportState::programming)
        } else {
            None
        }
    }

    /// The vport index of a vport handle, if the handle names one of the device's vports.
    fn vport_of(&self, handle: u64) -> Option<usize> {
        let index = handle.checked_sub(VPORT_HANDLE_BASE)?;
        (index < u64::from(self.config.num_ports)).then_some(index as usize)
    }

    /// Arms `fault` for the next `count` requests with code `code`.
    fn inject(&mut self, code: u32, fault: Fault, count: u32) -> Result {
        let (kind, arg) = fault.encode();
        self.faults.push(ArmedFault {
            code,
            kind,
            arg,
            count,
        })
    }

    /// Reports the link up or down to the driver (a SOC_RECONFIG_DATA event on the hardware
    /// channel's event queue), as the hardware does when the port's cable state changes.
    fn set_link(&mut self, mem: &dyn DeviceMemory, up: bool) -> Result {
        let ty = if up {
            mana_wire::hwc::reconfig_data::HW_LINK_CONNECT
        } else {
            mana_wire::hwc::reconfig_data::HW_LINK_DISCONNECT
        };
        let data = HwcInitTypeData::ZERO.with_data_type(ty).into_raw();
        self.post_eqe(mem, queue::eqe_type::HWC_SOC_RECONFIG_DATA, [data, 0, 0])
    }

    /// Asks the driver for a service operation, as the hardware does: the event on the hardware
    /// channel's EQ. A reset (RESET_REQUEST, FPGA_RECONFIG) also resets the device: every object
    /// is gone, and the channel answers nothing until the driver destroys it through the SMC.
    /// Fails with `Error::NotSupported` if the driver did not advertise that it handles the event (the
    /// hardware does not send it then), and with `Error::Busy` during a reset.
    fn service_event(&mut self, mem: &dyn DeviceMemory, request: ServiceRequest) -> Result {
        use mana_wire::gdma_msgs::drv_cap1;
        if self.resetting || !self.hwc.up {
            return Err(Error::Busy);
        }
        let (ty, details, cap) = match request {
            ServiceRequest::Reset => (
                queue::eqe_type::HWC_RESET_REQUEST,
                0,
                drv_cap1::SELF_RESET_ON_EQE,
            ),
            ServiceRequest::FpgaReconfig => (
                queue::eqe_type::HWC_FPGA_RECONFIG,
                0,
                drv_cap1::HANDLE_RECONFIG_EQE,
            ),
            ServiceRequest::RdmaSuspend | ServiceRequest::RdmaResume => {
                let service = if request == ServiceRequest::RdmaSuspend {
                    queue::service_type::RDMA_SUSPEND
                } else {
                    queue::service_type::RDMA_RESUME
                };
                let data = HwcSocServiceType::ZERO
                    .try_with_service_type(service)?
                    .into_raw();
                (queue::eqe_type::HWC_SOC_SERVICE, data, 0)
            }
        };
        if self.driver_caps & cap != cap {
            self.log_error(format_args!(
                "the driver did not advertise that it handles {:?} (capability 0x{:x}); not sent",
                request, cap
            ));
            return Err(Error::NotSupported);
        }
        self.post_eqe(mem, ty, [details, 0, 0])?;
        if matches!(
            request,
            ServiceRequest::Reset | ServiceRequest::FpgaReconfig
        ) {
            self.lose_state();
        }
        Ok(())
    }

    /// What a reset does to the device: every object, registration and vport setting is gone,
    /// and the data path stops; the channel stays until the driver destroys it.
    fn lose_state(&mut self) {
        if let Some(log) = self.log {
            self.dp.reset(self.config.num_ports, log);
        }
        self.objects.clear();
        self.registered = 0;
        self.vports = [VportState::zeroed_state(); 16];
        self.faults.clear();
        let stats = &mut self.stats;
        stats.live_registrations = 0;
        stats.live_regions = 0;
        stats.live_eqs = 0;
        stats.live_wq_objs = 0;
        stats.live_pds = 0;
        stats.live_mrs = 0;
        stats.live_doorbells = 0;
        self.resetting = true;
    }

    /// Returns and clears the set of MSI-X vectors raised since the last call.
    fn take_interrupts(&mut self) -> u64 {
        self.pending_irqs |= self.dp.take_interrupts();
        core::mem::take(&mut self.pending_irqs)
    }

    fn protocol_error(&mut self, what: &str) {
        self.stats.protocol_errors = self.stats.protocol_errors.saturating_add(1);
        self.log_error(format_args!("protocol error: {}", what));
    }

    /// A 32-bit register read.
    fn read32(&self, offset: usize) -> u32 {
        match offset {
            regs::GDMA_REG_DB_PAGE_SIZE => DB_PAGE_SIZE as u32,
            o => shm_dword(o)
                .and_then(|d| self.shm.get(d))
                .copied()
                .unwrap_or(0),
        }
    }

    /// A 64-bit register read.
    fn read64(&self, offset: usize) -> u64 {
        match offset {
            regs::GDMA_REG_DB_PAGE_OFFSET => DB_PAGE_OFFSET as u64,
            regs::GDMA_REG_SHM_OFFSET => SHM_OFFSET as u64,
            o => {
                let high = o.checked_add(4).map_or(0, |h| self.read32(h));
                u64::from(self.read32(o)) | (u64::from(high) << 32)
            }
        }
    }

    /// A 32-bit register write. Writing the SMC's last dword hands the mailbox to the device.
    fn write32(&mut self, mem: &dyn DeviceMemory, offset: usize, value: u32) {
        let Some(dword) = shm_dword(offset) else {
            self.protocol_error("write to a read-only register");
            return;
        };
        let Some(slot) = self.shm.get_mut(dword) else {
            return;
        };
        *slot = value;
        if dword == smc::SMC_LAST_DWORD {
            self.smc_request(mem);
        }
    }

    fn smc_request(&mut self, mem: &dyn DeviceMemory) {
        let hdr = SmcHdr::from_raw(self.shm[smc::SMC_LAST_DWORD]);
        let msg_type = hdr.msg_type().get() as u8;
        let status = match msg_type {
            smc::MSG_TYPE_ESTABLISH_HWC => match EstablishHwc::decode(&self.shm) {
                Ok(req) => self.establish_hwc(mem, &req),
                Err(_) => {
                    self.protocol_error("malformed ESTABLISH_HWC");
                    1
                }
            },
            smc::MSG_TYPE_DESTROY_HWC => {
                if core::mem::take(&mut self.hwc.up) {
                    self.stats.live_hwc = self.stats.live_hwc.saturating_sub(1);
                    if core::mem::take(&mut self.resetting) {
                        self.stats.resets = self.stats.resets.saturating_add(1);
                    }
                    0
                } else {
                    self.protocol_error("DESTROY_HWC without a hardware channel");
                    1
                }
            }
            _ => {
                self.protocol_error("unknown SMC message");
                1
            }
        };
        self.shm = [0; smc::SMC_APERTURE_DWORDS];
        self.shm[smc::SMC_LAST_DWORD] = SmcHdr::response_to(hdr, status).into_raw();
    }

    fn establish_hwc(&mut self, mem: &dyn DeviceMemory, req: &EstablishHwc) -> u8 {
        if self.hwc.up {
            self.protocol_error("ESTABLISH_HWC while a hardware channel exists");
            return 1;
        }
        if u32::from(req.msix_index) >= self.config.num_vectors {
            self.protocol_error("ESTABLISH_HWC with an MSI-X vector the device does not have");
            return 1;
        }
        self.hwc = HwcState {
            up: true,
            eq_addr: req.eq_addr,
            cq_addr: req.cq_addr,
            rq_addr: req.rq_addr,
            sq_addr: req.sq_addr,
            msix: u32::from(req.msix_index),
            eq_index: queue::initial_index(EQ_ENTRIES),
            cq_index: queue::initial_index(CQ_ENTRIES),
            sq_consumed: 0,
            sq_tail: 0,
            arrival_us: [0; (HWC_QUEUE_SIZE / HWC_SQ_WQE_SIZE) as usize],
            rq_consumed: 0,
            rq_tail: 0,
        };
        self.stats.live_hwc = self.stats.live_hwc.saturating_add(1);

        // The init events, as the hardware sends them.
        let eq_db = HwcInitEqIdDb::ZERO
            .with_eq_id(HWC_EQ_ID as u16)
            .with_doorbell(0u16)
            .into_raw();
        let _ = self.post_eqe(mem, queue::eqe_type::HWC_INIT_EQ_ID_DB, [eq_db, 0, 0]);
        let depth = self.config.hwc_depth;
        for (ty, value) in [
            (init_data::CQID, HWC_CQ_ID),
            (init_data::RQID, HWC_RQ_ID),
            (init_data::SQID, HWC_SQ_ID),
            (init_data::QUEUE_DEPTH, depth),
            (init_data::MAX_REQUEST, HWC_MAX_MSG),
            (init_data::MAX_RESPONSE, HWC_MAX_MSG),
            // Every queue id is below this (see `Objects::free_queue_id`): the C driver sizes
            // its CQ table with it and refuses a CQ id beyond it.
            (
                init_data::MAX_NUM_CQS,
                HWC_QUEUE_IDS.saturating_add(self.queue_ids()),
            ),
            (init_data::GPA_MKEY, HWC_GPA_MKEY),
            (init_data::PDID, HWC_PDID),
        ] {
            let data = HwcInitTypeData::ZERO
                .with_data_type(ty)
                .try_with_value(value)
                .map_or(0, |d| d.into_raw());
            let _ = self.post_eqe(mem, queue::eqe_type::HWC_INIT_DATA, [data, 0, 0]);
        }
        if self.config.pf {
            for (ty, value) in [
                (init_data::PF_DEST_RQ_ID, HWC_PF_DEST_RQ),
                (init_data::PF_DEST_CQ_ID, HWC_PF_DEST_CQ),
            ] {
                let data = HwcInitTypeData::ZERO
                    .with_data_type(ty)
                    .try_with_value(value)
                    .map_or(0, |d| d.into_raw());
                let _ = self.post_eqe(mem, queue::eqe_type::HWC_INIT_DATA, [data, 0, 0]);
            }
        }
        let _ = self.post_eqe(mem, queue::eqe_type::HWC_INIT_DONE, [0, 0, 0]);
        0
    }

    fn post_eqe(&mut self, mem: &dyn DeviceMemory, eqe_type: u8, details: [u32; 3]) -> Result {
        let hwc = self.hwc.as_live().ok_or(Error::Invalid)?;
        let index = hwc.eq_index;
        let offset = u64::from(EQ_ENTRIES.slot(index)) * u64::from(queue::EQE_SIZE);
        let eqe = Eqe {
            details,
            info: EqeInfo::ZERO
                .with_eqe_type(eqe_type)
                .try_with_owner_bits(queue::owner_bits(index, EQ_ENTRIES))?,
        };
        hwc.eq_index = index.wrapping_add(1);
        let (addr, msix) = (hwc.eq_addr, hwc.msix);
        self.dma_write(mem, addr.wrapping_add(offset), eqe.as_bytes())?;
        self.pending_irqs |= bit(msix);
        Ok(())
    }

    fn post_cqe(
        &mut self,
        mem: &dyn DeviceMemory,
        wq_num: u32,
        is_sq: bool,
        data: &[u8],
    ) -> Result {
        let hwc = self.hwc.as_live().ok_or(Error::Invalid)?;
        let index = hwc.cq_index;
        let offset = u64::from(CQ_ENTRIES.slot(index)) * u64::from(queue::CQE_SIZE);
        let mut cqe = Cqe::zeroed();
        let n = data.len().min(queue::COMP_DATA_SIZE);
        cqe.cqe_data.as_bytes_mut()[..n].copy_from_slice(&data[..n]);
        cqe.info = CqeInfo::ZERO
            .try_with_wq_num(wq_num)?
            .with_is_sq(is_sq)
            .try_with_owner_bits(queue::owner_bits(index, CQ_ENTRIES))?;
        hwc.cq_index = index.wrapping_add(1);
        let addr = hwc.cq_addr;
        self.dma_write(mem, addr.wrapping_add(offset), cqe.as_bytes())
    }

    fn dma_write(&mut self, mem: &dyn DeviceMemory, addr: u64, data: &[u8]) -> Result {
        mem.dma_write(addr, data).inspect_err(|_| {
            self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
        })
    }

    fn dma_read(&mut self, mem: &dyn DeviceMemory, addr: u64, out: &mut [u8]) -> Result {
        mem.dma_read(addr, out).inspect_err(|_| {
            self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
        })
    }

    /// A doorbell write at `offset` in BAR0, at time `now_us`.
    fn doorbell(&mut self, offset: usize, value: u64, now_us: u64) {
        let Some(in_bar) = offset.checked_sub(DB_PAGE_OFFSET) else {
            self.protocol_error("doorbell below the doorbell pages");
            return;
        };
        if in_bar >= DB_PAGE_SIZE * NUM_DB_PAGES {
            self.protocol_error("doorbell beyond the doorbell pages");
            return;
        }
        let Some(qtype) = queue::doorbell_queue_type((in_bar % DB_PAGE_SIZE) as u64) else {
            self.protocol_error("doorbell at an offset that names no queue type");
            return;
        };
        let id = (value & 0xff_ffff) as u32;
        let tail = (value >> 32) as u32;
        let Some(hwc) = self.hwc.as_live() else {
            // Data-path queues are not modelled yet; doorbells for them are accepted.
            return;
        };
        match qtype {
            queue::queue_type::SQ if id == HWC_SQ_ID && self.resetting => {
                self.stats.requests_during_reset =
                    self.stats.requests_during_reset.saturating_add(1);
                hwc.sq_tail = tail;
                hwc.sq_consumed = tail;
            }
            queue::queue_type::SQ if id == HWC_SQ_ID => {
                // Requests are answered `latency_us` after they became visible, in parallel, as
                // a pipelined device does.
                let mut pos = hwc.sq_tail;
                while pos != tail && tail.wrapping_sub(pos) <= HWC_QUEUE_SIZE {
                    hwc.arrival_us[((pos % HWC_QUEUE_SIZE) / HWC_SQ_WQE_SIZE) as usize] = now_us;
                    pos = pos.wrapping_add(HWC_SQ_WQE_SIZE);
                }
                hwc.sq_tail = tail;
            }
            queue::queue_type::RQ if id == HWC_RQ_ID => hwc.rq_tail = tail,
            queue::queue_type::EQ if id & 0xffff == HWC_EQ_ID => {
                // The driver consumes a few events per interrupt (C's
                // mana_gd_process_eq_events() takes at most 5) and re-arms the queue: events it
                // has not consumed yet interrupt again, as the hardware does.
                let db = queue::EqDoorbell::from_raw(value);
                let produced = queue::cq_doorbell_tail(hwc.eq_index, EQ_ENTRIES);
                // CAST: the field is 31 bits wide.
                if db.arm().into_bool() && db.tail_ptr().get() as u32 != produced {
                    let msix = hwc.msix;
                    self.pending_irqs |= bit(msix);
                }
            }
            queue::queue_type::CQ | queue::queue_type::EQ => {}
            _ => self.protocol_error("doorbell for an unknown hardware-channel queue"),
        }
    }

    /// The code of the next request waiting on the hardware channel, if any.
    fn peek_request(&mut self, mem: &dyn DeviceMemory) -> Option<(u32, Sge)> {
        let hwc = self.hwc.live()?;
        if hwc.sq_consumed == hwc.sq_tail {
            return None;
        }
        let wqe_addr = hwc
            .sq_addr
            .wrapping_add(u64::from(hwc.sq_consumed % HWC_QUEUE_SIZE));
        let mut wqe = [0u8; HWC_SQ_WQE_SIZE as usize];
        self.dma_read(mem, wqe_addr, &mut wqe).ok()?;
        let hdr = WqeHeader::from_bytes_copy(&wqe[..8])?;
        let sge = Sge::from_bytes_copy(&wqe[32..48])?;
        let req = ReqHdr::from_bytes_copy(&self.read_prefix(mem, sge.address, 40)?)?;
        let _ = hdr;
        Some((req.req.msg_type, sge))
    }

    fn read_prefix(&mut self, mem: &dyn DeviceMemory, addr: u64, len: usize) -> Option<[u8; 40]> {
        let mut buf = [0u8; 40];
        self.dma_read(mem, addr, &mut buf[..len.min(40)]).ok()?;
        Some(buf)
    }

    /// How long from `now_us` until the next request is due (its arrival plus the latency plus
    /// an injected late response), or `None` if no request is waiting.
    fn next_request_delay_us(&mut self, mem: &dyn DeviceMemory, now_us: u64) -> Option<u64> {
        if self.resetting {
            return None;
        }
        let (code, _) = self.peek_request(mem)?;
        let hwc = self.hwc.live()?;
        let arrival =
            hwc.arrival_us[((hwc.sq_consumed % HWC_QUEUE_SIZE) / HWC_SQ_WQE_SIZE) as usize];
        let late = match self
            .faults
            .iter()
            .find(|f| f.code == code)
            .and_then(ArmedFault::fault)
        {
            Some(Fault::Late(ms)) => u64::from(ms).saturating_mul(1000),
            _ => 0,
        };
        let due = arrival
            .saturating_add(u64::from(self.config.latency_us))
            .saturating_add(late);
        Some(due.saturating_sub(now_us))
    }

    fn take_fault(&mut self, code: u32) -> Option<Fault> {
        let pos = self.faults.iter().position(|f| f.code == code)?;
        let armed = self.faults.get_mut(pos)?;
        let fault = armed.fault();
        armed.count = armed.count.saturating_sub(1);
        if armed.count == 0 {
            self.faults.remove(pos);
        }
        let fault = fault?;
        self.stats.faults_injected = self.stats.faults_injected.saturating_add(1);
        Some(fault)
    }

    /// Processes one waiting hardware-channel request. Returns `false` if none was waiting.
    fn process_one(
        &mut self,
        mem: &dyn DeviceMemory,
        req_buf: &mut [u8; HWC_MAX_MSG as usize],
        observer: Option<&mut dyn Observer>,
    ) -> bool {
        let Some(hwc) = self.hwc.live() else {
            return false;
        };
        if hwc.sq_consumed == hwc.sq_tail {
            return false;
        }
        if let Err(e) = self.process_request(mem, req_buf, observer) {
            self.log_error(format_args!(
                "hardware channel request failed on the device: {:?}",
                e
            ));
        }
        true
    }

    fn process_request(
        &mut self,
        mem: &dyn DeviceMemory,
        req_buf: &mut [u8; HWC_MAX_MSG as usize],
        mut observer: Option<&mut dyn Observer>,
    ) -> Result {
        let hwc = self.hwc.live().ok_or(Error::Invalid)?;
        // Consume the SQ WQE.
        let wqe_addr = hwc
            .sq_addr
            .wrapping_add(u64::from(hwc.sq_consumed % HWC_QUEUE_SIZE));
        if let Some(h) = self.hwc.as_live() {
            h.sq_consumed = h.sq_consumed.wrapping_add(HWC_SQ_WQE_SIZE);
        }
        let mut wqe = [0u8; HWC_SQ_WQE_SIZE as usize];
        self.dma_read(mem, wqe_addr, &mut wqe)?;
        let hdr = WqeHeader::from_bytes_copy(&wqe[..8]).ok_or(Error::Invalid)?;
        if hdr.flags.num_sge().get() != 1 || hdr.inline_oob_size() != queue::INLINE_OOB_LARGE_SIZE {
            self.protocol_error("hardware-channel SQ WQE must have one SGE and a 24-byte OOB");
            return Err(Error::Invalid);
        }
        let oob = HwcTxOob::from_bytes_copy(&wqe[8..32]).ok_or(Error::Invalid)?;
        if oob.vsq.vsq_id().get() != HWC_SQ_ID || oob.vscq.vscq_id().get() != HWC_CQ_ID {
            self.protocol_error("hardware-channel SQ WQE names the wrong SQ or CQ");
            return Err(Error::Invalid);
        }
        let dest = if self.config.pf {
            (HWC_PF_DEST_RQ, HWC_PF_DEST_CQ)
        } else {
            (0, 0)
        };
        if (oob.vrq.vrq_id().get(), oob.vrcq.vrcq_id().get()) != dest {
            self.protocol_error(
                "hardware-channel SQ WQE with the wrong destination RQ/CQ (a PF must name the ones of its init data, a VF none)",
            );
            return Err(Error::Invalid);
        }
        let sge = Sge::from_bytes_copy(&wqe[32..48]).ok_or(Error::Invalid)?;
        if sge.mem_key != HWC_GPA_MKEY {
            self.protocol_error("hardware-channel SGE with the wrong memory key");
            return Err(Error::Invalid);
        }
        let len = sge.size as usize;
        if len < size_of::<ReqHdr>() || len > HWC_MAX_MSG as usize {
            self.protocol_error("hardware-channel request size out of range");
            return Err(Error::Invalid);
        }
        let req = req_buf.get_mut(..len).ok_or(Error::Invalid)?;
        self.dma_read(mem, sge.address, req)?;
        let req = &*req;
        let req_hdr = req
            .get(..size_of::<ReqHdr>())
            .and_then(ReqHdr::from_bytes_copy)
            .ok_or(Error::Invalid)?;
        if req_hdr.req.msg_size as usize != len {
            self.protocol_error("request msg_size differs from the SGE size");
            return Err(Error::Invalid);
        }
        if u32::from(req_hdr.req.hwc_msg_id) >= self.config.hwc_depth {
            self.protocol_error("hwc_msg_id beyond the queue depth the device reported");
            return Err(Error::Invalid);
        }
        let code = req_hdr.req.msg_type;
        self.stats.record(code);

        // The send completion.
        let _ = self.post_cqe(mem, HWC_SQ_ID, true, &[]);

        let fault = self.take_fault(code);
        if matches!(fault, Some(Fault::NoResponse | Fault::Reset)) {
            if let Some(observer) = observer.as_mut() {
                observer.request(req, &[]);
            }
        }
        if fault == Some(Fault::NoResponse) {
            self.pending_irqs |= bit(hwc.msix);
            return Ok(());
        }
        if fault == Some(Fault::Reset) {
            return self.service_event(mem, ServiceRequest::Reset);
        }
        let resp_hdr_len = size_of::<RespHdr>();
        let mut resp = match fault {
            // The device refuses the request: no side effect, just the status.
            Some(Fault::Status(status)) => reply(&req_hdr, GeneralResp::zeroed(), status)?,
            _ => self.handle_request(mem, code, &req_hdr, req)?,
        };
        match fault {
            Some(Fault::Status(_)) => {}
            Some(Fault::ShortResponse) => resp.truncate(resp_hdr_len),
            Some(Fault::WrongMsgId | Fault::WrongActivityId | Fault::WrongDevId) => {
                let mut h = resp
                    .get(..resp_hdr_len)
                    .and_then(RespHdr::from_bytes_copy)
                    .ok_or(Error::Invalid)?;
                match fault {
                    Some(Fault::WrongMsgId) => {
                        // Another slot within range: the driver must not take it for its own.
                        h.response.hwc_msg_id = (u32::from(h.response.hwc_msg_id).wrapping_add(1))
                            .checked_rem(self.config.hwc_depth)
                            .unwrap_or(0) as u16
                    }
                    Some(Fault::WrongActivityId) => h.activity_id = h.activity_id.wrapping_add(1),
                    _ => h.dev_id = DevId::new(h.dev_id.ty ^ 0x7, h.dev_id.instance),
                }
                if let Some(dst) = resp.get_mut(..resp_hdr_len) {
                    dst.copy_from_slice(h.as_bytes());
                }
            }
            _ => {}
        }
        if let Some(observer) = observer {
            observer.request(req, &resp);
        }
        self.deliver_response(mem, &resp, fault)
    }

    fn deliver_response(
        &mut self,
        mem: &dyn DeviceMemory,
        resp: &[u8],
        fault: Option<Fault>,
    ) -> Result {
        let hwc = self.hwc.live().ok_or(Error::Invalid)?;
        if hwc.rq_consumed == hwc.rq_tail {
            self.protocol_error("response ready but no receive WQE posted");
            return Err(Error::NoSpace);
        }
        let wqe_offset = hwc.rq_consumed % HWC_QUEUE_SIZE;
        if let Some(h) = self.hwc.as_live() {
            h.rq_consumed = h.rq_consumed.wrapping_add(HWC_RQ_WQE_SIZE);
        }
        let mut wqe = [0u8; HWC_RQ_WQE_SIZE as usize];
        self.dma_read(
            mem,
            hwc.rq_addr.wrapping_add(u64::from(wqe_offset)),
            &mut wqe,
        )?;
        let hdr = WqeHeader::from_bytes_copy(&wqe[..8]).ok_or(Error::Invalid)?;
        if hdr.flags.num_sge().get() != 1 || hdr.inline_oob_size() != queue::INLINE_OOB_SMALL_SIZE {
            self.protocol_error("hardware-channel RQ WQE must have one SGE and an 8-byte OOB");
            return Err(Error::Invalid);
        }
        let sge = Sge::from_bytes_copy(&wqe[16..32]).ok_or(Error::Invalid)?;
        if (sge.size as usize) < resp.len() || sge.mem_key != HWC_GPA_MKEY {
            self.protocol_error("receive buffer too small or with the wrong memory key");
            return Err(Error::Invalid);
        }
        self.dma_write(mem, sge.address, resp)?;
        let rx_oob = HwcRxOob {
            flags: HwcRxOobFlags::ZERO.with_som(true).with_eom(true),
            wqe_offset: if fault == Some(Fault::BadWqeOffset) {
                HWC_QUEUE_SIZE * 4 + 8
            } else {
                wqe_offset
            },
            tx_oob_data_size: resp.len() as u32,
            ..HwcRxOob::zeroed()
        };
        let wq = if fault == Some(Fault::BadCqeQueueId) {
            0x77
        } else {
            HWC_RQ_ID
        };
        self.post_cqe(mem, wq, false, rx_oob.as_bytes())?;
        let cq = if fault == Some(Fault::BadEqeCqId) {
            0x55
        } else {
            HWC_CQ_ID
        };
        self.post_eqe(mem, queue::eqe_type::COMPLETION, [cq, 0, 0])?;
        self.stats.responses = self.stats.responses.saturating_add(1);
        Ok(())
    }

    /// Builds the response to one request: the body of the device.
    fn handle_request(
        &mut self,
        mem: &dyn DeviceMemory,
        code: u32,
        hdr: &ReqHdr,
        req: &[u8],
    ) -> Result<Reply> {
        match code {
            gdma_msgs::code::CREATE_DMA_REGION => self.create_dma_region(mem, hdr, req),
            gdma_msgs::code::DMA_REGION_ADD_PAGES => self.add_region_pages(mem, hdr, req),
            gdma_msgs::code::DESTROY_DMA_REGION => {
                let r =
                    gdma_msgs::DestroyDmaRegionReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let h = r.dma_region_handle;
                let objs = &mut self.objects;
                let Some(pos) = objs.regions.iter().position(|x| x.handle == h) else {
                    self.protocol_error("DESTROY_DMA_REGION of an unknown region");
                    return reply(hdr, GeneralResp::zeroed(), 0x2);
                };
                if objs.region_in_use(h) {
                    self.protocol_error("DESTROY_DMA_REGION of a region a queue still uses");
                    return reply(hdr, GeneralResp::zeroed(), 0x3);
                }
                objs.regions.remove(pos);
                self.dp.remove_region(h);
                self.stats.live_regions = self.stats.live_regions.saturating_sub(1);
                reply(hdr, GeneralResp::zeroed(), 0)
            }
            gdma_msgs::code::GENERATE_TEST_EQE => {
                let r =
                    gdma_msgs::GenerateTestEqeReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                // A TEST_EVENT EQE on the EQ named (C: mana_gd_test_eq(), which the C driver
                // runs on the hardware channel's EQ at probe and on each EQ it destroys).
                let posted = if r.queue_index == HWC_EQ_ID {
                    self.post_eqe(mem, queue::eqe_type::TEST_EVENT, [0; 3])
                } else {
                    self.dp
                        .post_event(mem, r.queue_index, queue::eqe_type::TEST_EVENT, [0; 3])
                };
                match posted {
                    Ok(()) => reply(hdr, GeneralResp::zeroed(), 0),
                    Err(Error::Fault) => Err(Error::Fault),
                    Err(_) => {
                        self.protocol_error("GENERATE_TEST_EQE for an unknown EQ");
                        reply(hdr, GeneralResp::zeroed(), 0x2)
                    }
                }
            }
            mana_msgs::code::QUERY_GF_STAT => {
                let r = mana_msgs::QueryGfStatReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                // What the device counts (it sends no broadcast or multicast of its own and
                // refuses rather than drops on TX); every other statistic reads 0.
                let dp = self.dp.stats();
                let mut s = mana_msgs::QueryGfStatResp::zeroed();
                s.reported_stats = r.req_stats;
                s.rx_discards_nowqe = dp.rx_no_buffer;
                s.hc_rx_bytes = dp.rx_bytes;
                s.hc_rx_ucast_pkts = dp.rx_packets;
                s.hc_rx_ucast_bytes = dp.rx_bytes;
                s.hc_tx_bytes = dp.tx_bytes;
                s.hc_tx_ucast_pkts = dp.tx_packets;
                s.hc_tx_ucast_bytes = dp.tx_bytes;
                reply(hdr, s, 0)
            }
            mana_msgs::code::FENCE_RQ => {
                let r = mana_msgs::FenceRqReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                match self.dp.fence_rq(mem, r.wq_obj_handle) {
                    Ok(()) => reply(hdr, mana_msgs::FenceRqResp::zeroed(), 0),
                    Err(Error::Fault) => Err(Error::Fault),
                    Err(_) => {
                        self.protocol_error("FENCE_RQ of an unknown receive queue");
                        reply(hdr, mana_msgs::FenceRqResp::zeroed(), 0x2)
                    }
                }
            }
            gdma_msgs::code::CREATE_QUEUE => self.create_queue(hdr, req),
            gdma_msgs::code::DISABLE_QUEUE => {
                let r = gdma_msgs::DisableQueueReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let objs = &mut self.objects;
                let found = objs.eqs.iter().position(|q| q.id == r.queue_index);
                let Some(pos) = found.filter(|_| r.ty == queue::queue_type::EQ) else {
                    self.protocol_error("DISABLE_QUEUE of an unknown queue");
                    return reply(hdr, GeneralResp::zeroed(), 0x2);
                };
                if objs.wq_objs.iter().any(|w| w.parent_eq == r.queue_index) {
                    self.protocol_error("DISABLE_QUEUE of an EQ that completion queues still use");
                    return reply(hdr, GeneralResp::zeroed(), 0x3);
                }
                objs.eqs.remove(pos);
                self.dp.remove_eq(r.queue_index);
                self.stats.live_eqs = self.stats.live_eqs.saturating_sub(1);
                reply(hdr, GeneralResp::zeroed(), 0)
            }
            mana_msgs::code::CREATE_WQ_OBJ => self.create_wq_obj(hdr, req),
            mana_msgs::code::DESTROY_WQ_OBJ => {
                let r = mana_msgs::DestroyWqObjReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let objs = &mut self.objects;
                let found = objs
                    .wq_objs
                    .iter()
                    .position(|w| w.handle == r.wq_obj_handle);
                let Some(pos) =
                    found.filter(|p| objs.wq_objs.get(*p).is_some_and(|w| w.ty == r.wq_type))
                else {
                    self.protocol_error(
                        "DESTROY_WQ_OBJ of an unknown object or with the wrong type",
                    );
                    return reply(hdr, mana_msgs::DestroyWqObjResp::zeroed(), 0x2);
                };
                let vport = objs.wq_objs.get(pos).map_or(0, |w| w.vport);
                if r.wq_type == queue::queue_type::RQ
                    && self
                        .vport_of(vport)
                        .and_then(|i| self.vports.get(i))
                        .is_some_and(|v| v.rx_enabled)
                {
                    // The stale-steering bug: the device would keep delivering to a dead RQ.
                    self.protocol_error("DESTROY_WQ_OBJ of a receive queue while RX steering is enabled on its vport");
                    return reply(hdr, mana_msgs::DestroyWqObjResp::zeroed(), 0x3);
                }
                let objs = &mut self.objects;
                objs.wq_objs.remove(pos);
                self.dp.remove_wq(r.wq_obj_handle);
                self.stats.live_wq_objs = self.stats.live_wq_objs.saturating_sub(1);
                reply(hdr, mana_msgs::DestroyWqObjResp::zeroed(), 0)
            }
            gdma_msgs::code::CREATE_MR => {
                let no = gdma_msgs::CreateMrResp::zeroed();
                let r = gdma_msgs::CreateMrReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let pdid = self
                    .objects
                    .pds
                    .iter()
                    .find(|p| p.0 == r.pd_handle)
                    .map(|p| p.1);
                let gva = r.mr_type == gdma_msgs::mr_type::GVA;
                let gva_or_zbva = gva || r.mr_type == gdma_msgs::mr_type::ZBVA;
                let region_len = self.objects.region_len(r.handle);
                // A GVA region's virtual addresses must not wrap around.
                let base = if gva { r.param } else { 0 };
                let fits = region_len.is_some_and(|len| base.checked_add(len).is_some());
                let Some(pdid) = pdid.filter(|_| gva_or_zbva && fits && r.access() & !0x3f == 0)
                else {
                    self.protocol_error(
                        "CREATE_MR with an unknown PD or region, type, virtual address or access flags",
                    );
                    return reply(hdr, no, 0x2);
                };
                if self.objects.mrs.len() >= MAX_OBJECTS {
                    return reply(hdr, no, 0x4);
                }
                let handle = self.objects.new_handle();
                // `new_id()` is at most `MAX_OBJECT_ID`: the key fits 24 bits. Never the
                // device's own key, never one a live MR has (ids wrap around).
                let mut key = self.objects.new_id().wrapping_add(0x1000);
                for _ in 0..MAX_OBJECTS + 1 {
                    if key != MANA_DEV_GPA_MKEY && !self.dp.has_mr(key) {
                        break;
                    }
                    key = self.objects.new_id().wrapping_add(0x1000);
                }
                self.dp.add_mr(key, pdid, r.handle, base, r.access())?;
                self.objects.mrs.push((handle, r.pd_handle, key))?;
                self.hand_over_region(r.handle);
                self.stats.live_mrs = self.stats.live_mrs.saturating_add(1);
                let mut resp = no;
                resp.mr_handle = handle;
                resp.lkey = key;
                resp.rkey = key;
                reply(hdr, resp, 0)
            }
            gdma_msgs::code::DESTROY_MR => {
                let r = gdma_msgs::DestroyMrReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let Some(pos) = self.objects.mrs.iter().position(|m| m.0 == r.mr_handle) else {
                    self.protocol_error("DESTROY_MR of an unknown MR");
                    return reply(hdr, gdma_msgs::DestroyMrResp::zeroed(), 0x2);
                };
                if let Some(m) = self.objects.mrs.get(pos) {
                    self.dp.remove_mr(m.2);
                }
                self.objects.mrs.remove(pos);
                self.stats.live_mrs = self.stats.live_mrs.saturating_sub(1);
                reply(hdr, gdma_msgs::DestroyMrResp::zeroed(), 0)
            }
            gdma_msgs::code::CREATE_PD => {
                if self.objects.pds.len() >= MAX_OBJECTS {
                    return reply(hdr, gdma_msgs::CreatePdResp::zeroed(), 0x4);
                }
                let handle = self.objects.new_handle();
                let id = self.objects.new_id().wrapping_add(0x100);
                self.objects.pds.push((handle, id))?;
                self.stats.live_pds = self.stats.live_pds.saturating_add(1);
                let mut r = gdma_msgs::CreatePdResp::zeroed();
                r.pd_handle = handle;
                r.pd_id = id;
                reply(hdr, r, 0)
            }
            gdma_msgs::code::DESTROY_PD => {
                let r = gdma_msgs::DestroyPdReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let Some(pos) = self.objects.pds.iter().position(|p| p.0 == r.pd_handle) else {
                    self.protocol_error("DESTROY_PD of an unknown PD");
                    return reply(hdr, gdma_msgs::DestroyPdResp::zeroed(), 0x2);
                };
                if self.objects.mrs.iter().any(|m| m.1 == r.pd_handle) {
                    self.protocol_error("DESTROY_PD of a PD that memory regions still use");
                    return reply(hdr, gdma_msgs::DestroyPdResp::zeroed(), 0x3);
                }
                self.objects.pds.remove(pos);
                self.stats.live_pds = self.stats.live_pds.saturating_sub(1);
                reply(hdr, gdma_msgs::DestroyPdResp::zeroed(), 0)
            }
            gdma_msgs::code::ALLOCATE_RESOURCE_RANGE => {
                let no = gdma_msgs::AllocateResourceRangeResp::zeroed();
                let r = gdma_msgs::AllocateResourceRangeReq::from_bytes_copy(req)
                    .ok_or(Error::Invalid)?;
                if r.resource_type != gdma_msgs::RESOURCE_DOORBELL_PAGE
                    || r.num_resources != 1
                    || r.alignment == 0
                    || !r.alignment.is_power_of_two()
                {
                    self.protocol_error(
                        "ALLOCATE_RESOURCE_RANGE of an unknown type, count or alignment",
                    );
                    return reply(hdr, no, 0x2);
                }
                // Pages 0 and the registered device's are never given out.
                let free = (0..NUM_DB_PAGES as u32).find(|&i| {
                    i != 0
                        && i != MANA_DEV_DOORBELL
                        && i.checked_rem(r.alignment) == Some(0)
                        && self.objects.doorbells & bit(i) == 0
                });
                let Some(index) = free else {
                    return reply(hdr, no, 0x4);
                };
                self.objects.doorbells |= bit(index);
                self.stats.live_doorbells = self.stats.live_doorbells.saturating_add(1);
                let mut resp = no;
                resp.allocated_resources = index;
                reply(hdr, resp, 0)
            }
            gdma_msgs::code::DESTROY_RESOURCE_RANGE => {
                let r = gdma_msgs::DestroyResourceRangeReq::from_bytes_copy(req)
                    .ok_or(Error::Invalid)?;
                let index = r.allocated_resources;
                if r.resource_type != gdma_msgs::RESOURCE_DOORBELL_PAGE
                    || r.num_resources != 1
                    || index as usize >= NUM_DB_PAGES
                    || self.objects.doorbells & bit(index) == 0
                {
                    self.protocol_error(
                        "DESTROY_RESOURCE_RANGE of a doorbell page that is not allocated",
                    );
                    return reply(hdr, GeneralResp::zeroed(), 0x2);
                }
                self.objects.doorbells &= !bit(index);
                self.stats.live_doorbells = self.stats.live_doorbells.saturating_sub(1);
                reply(hdr, GeneralResp::zeroed(), 0)
            }
            gdma_msgs::code::VERIFY_VF_DRIVER_VERSION => {
                let r = VerifyVerReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                self.driver_caps = r.gd_drv_cap_flags1;
                let mut r = VerifyVerResp::zeroed();
                r.gdma_protocol_ver = gdma_msgs::PROTOCOL_V1;
                r.pf_cap_flags1 = 0;
                reply(hdr, r, 0)
            }
            gdma_msgs::code::QUERY_MAX_RESOURCES => {
                let mut r = QueryMaxResourcesResp::zeroed();
                r.max_sq = self.queue_limit(queue::queue_type::SQ);
                r.max_rq = self.queue_limit(queue::queue_type::RQ);
                r.max_cq = self.queue_limit(queue::queue_type::CQ);
                // And the hardware channel's.
                r.max_eq = self.queue_limit(queue::queue_type::EQ).saturating_add(1);
                r.max_db = NUM_DB_PAGES as u32;
                r.max_msix = self.config.num_vectors;
                reply(hdr, r, 0)
            }
            gdma_msgs::code::LIST_DEVICES => {
                // No MANA_IB (RNIC) device: the model has no RC/UD QPs nor the MANA_IB_*
                // requests (GET_ADAPTER_CAP, CREATE_ADAPTER, ...) the C driver's mana_ib sends
                // to one, as a VF without RDMA offers none. Raw-packet RDMA works on the
                // Ethernet device.
                let mut r = ListDevicesResp::zeroed();
                r.num_of_devs = 2;
                r.devs[0] = DevId::new(hdr::device_type::HWC, 0);
                r.devs[1] = DevId::new(hdr::device_type::MANA, 0);
                reply(hdr, r, 0)
            }
            gdma_msgs::code::QUERY_HWC_TIMEOUT => {
                let mut r = QueryHwcTimeoutResp::zeroed();
                r.timeout_ms = 30_000;
                reply(hdr, r, 0)
            }
            gdma_msgs::code::REGISTER_DEVICE => {
                // The C driver registers the RDMA device too (mana_rdma_probe()), after the
                // Ethernet one; each device is registered once.
                let device = registration_of(hdr);
                if self.registered & device != 0 {
                    return reply(hdr, RegisterDeviceResp::zeroed(), 0x1);
                }
                self.registered |= device;
                self.stats.live_registrations = self.stats.live_registrations.saturating_add(1);
                let mut r = RegisterDeviceResp::zeroed();
                r.pdid = MANA_DEV_PDID;
                r.gpa_mkey = MANA_DEV_GPA_MKEY;
                r.db_id = MANA_DEV_DOORBELL;
                reply(hdr, r, 0)
            }
            gdma_msgs::code::DEREGISTER_DEVICE => {
                let device = registration_of(hdr);
                if self.registered & device == 0 {
                    self.protocol_error("DEREGISTER_DEVICE without REGISTER_DEVICE");
                    return reply(hdr, GeneralResp::zeroed(), 0x1);
                }
                self.registered &= !device;
                self.stats.live_registrations = self.stats.live_registrations.saturating_sub(1);
                reply(hdr, GeneralResp::zeroed(), 0)
            }
            mana_msgs::code::QUERY_DEV_CONFIG => {
                let mut r = QueryDevCfgResp::zeroed();
                r.max_num_vports = self.config.num_ports as u16;
                r.max_num_eqs = self.config.max_queues.saturating_mul(self.config.num_ports);
                r.adapter_mtu = self.config.adapter_mtu;
                r.bm_hostmode = u8::from(self.config.bm_hostmode);
                reply(hdr, r, 0)
            }
            mana_msgs::code::QUERY_VPORT_CONFIG => {
                let req =
                    mana_msgs::QueryVportCfgReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                if req.vport_index >= self.config.num_ports {
                    return reply(hdr, QueryVportCfgResp::zeroed(), 0x2);
                }
                let mut r = QueryVportCfgResp::zeroed();
                r.max_num_sq = self.config.max_queues;
                r.max_num_rq = self.config.max_queues;
                r.num_indirection_ent = 64;
                r.mac_addr = self.config.mac_base;
                r.mac_addr[5] = r.mac_addr[5].wrapping_add(req.vport_index as u8);
                r.vport = VPORT_HANDLE_BASE.wrapping_add(u64::from(req.vport_index));
                reply(hdr, r, 0)
            }
            mana_msgs::code::CONFIG_VPORT_TX => {
                let req = mana_msgs::ConfigVportReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let Some(index) = self.vport_of(req.vport) else {
                    self.protocol_error("CONFIG_VPORT_TX for an unknown vport handle");
                    return reply(hdr, ConfigVportResp::zeroed(), 0x2);
                };
                if self.registered & REG_MANA == 0 || !self.known_doorbell(req.doorbell_pageid) {
                    self.protocol_error(
                        "CONFIG_VPORT_TX with an unknown doorbell page or before REGISTER_DEVICE",
                    );
                    return reply(hdr, ConfigVportResp::zeroed(), 0x2);
                }
                let Some(v) = self.vports.get_mut(index) else {
                    return reply(hdr, ConfigVportResp::zeroed(), 0x2);
                };
                v.tx_set = true;
                v.tx_pdid = req.pdid;
                v.tx_doorbell = req.doorbell_pageid;
                v.tx_configs = v.tx_configs.saturating_add(1);
                self.dp.set_vport_tx(index, req.pdid, req.doorbell_pageid)?;
                let mut r = ConfigVportResp::zeroed();
                r.tx_vport_offset = 0;
                r.short_form_allowed = 1;
                reply(hdr, r, 0)
            }
            mana_msgs::code::CONFIG_VPORT_RX => {
                let Ok((rx, table)) = mana_msgs::CfgRxSteerReq::parse(req) else {
                    self.protocol_error("malformed CONFIG_VPORT_RX");
                    return reply(hdr, mana_msgs::CfgRxSteerResp::zeroed(), 0x2);
                };
                let Some(index) = self.vport_of(rx.vport) else {
                    self.protocol_error("CONFIG_VPORT_RX for an unknown vport handle");
                    return reply(hdr, mana_msgs::CfgRxSteerResp::zeroed(), 0x2);
                };
                if rx.rx_enable != 0 {
                    // Steering may only point at receive queues of this vport.
                    let vport = rx.vport;
                    let objs = &self.objects;
                    let valid = |h: u64| {
                        objs.wq_objs.iter().any(|w| {
                            w.handle == h && w.ty == queue::queue_type::RQ && w.vport == vport
                        })
                    };
                    let table_ok = table.iter().all(valid);
                    let default_ok = rx.update_default_rxobj == 0 || valid(rx.default_rxobj);
                    if !table_ok || !default_ok {
                        self.protocol_error("CONFIG_VPORT_RX steering to an object that is not a receive queue of the vport");
                        return reply(hdr, mana_msgs::CfgRxSteerResp::zeroed(), 0x2);
                    }
                }
                if let Some(v) = self.vports.get_mut(index) {
                    v.rx_enabled = rx.rx_enable != 0;
                    v.rss_hash_types = rx.rss_hash_types;
                }
                self.dp.set_steering(
                    index,
                    rx.rx_enable != 0,
                    rx.rss_hash_types,
                    (rx.update_hashkey != 0).then_some(&rx.hashkey),
                    (rx.update_default_rxobj != 0).then_some(rx.default_rxobj),
                    (rx.update_indir_tab != 0).then(|| table.iter()),
                )?;
                reply(hdr, mana_msgs::CfgRxSteerResp::zeroed(), 0)
            }
            mana_msgs::code::QUERY_LINK_CONFIG => {
                let req =
                    mana_msgs::QueryLinkConfigReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let zero = mana_msgs::QueryLinkConfigResp::zeroed();
                let Some(v) = self.vport_of(req.vport).and_then(|i| self.vports.get(i)) else {
                    self.protocol_error("QUERY_LINK_CONFIG for an unknown vport handle");
                    return reply(hdr, zero, 0x2);
                };
                // The vport's allowance, and the speed it runs at: the clamp if one is set.
                let qos = self.config.qos_speed_mbps;
                let mut r = zero;
                r.qos_speed_mbps = qos;
                r.link_speed_mbps = if v.bw_clamp_mbps != 0 {
                    v.bw_clamp_mbps
                } else {
                    qos
                };
                reply(hdr, r, 0)
            }
            mana_msgs::code::SET_BW_CLAMP => {
                let req = mana_msgs::SetBwClampReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
                let zero = mana_msgs::SetBwClampResp::zeroed();
                let qos = self.config.qos_speed_mbps;
                let Some(v) = self
                    .vport_of(req.vport)
                    .and_then(|i| self.vports.get_mut(i))
                else {
                    self.protocol_error("SET_BW_CLAMP for an unknown vport handle");
                    return reply(hdr, zero, 0x2);
                };
                match (req.enable_clamping, req.link_speed_mbps) {
                    // A clamp within the vport's allowance; the driver sends whole Mbit/s.
                    (mana_msgs::tri_state::TRUE, speed) if speed != 0 && speed <= qos => {
                        v.bw_clamp_mbps = speed;
                    }
                    // Back to the allowance (the speed is not looked at).
                    (mana_msgs::tri_state::FALSE, _) => v.bw_clamp_mbps = 0,
                    // A clamp of 0 or above the allowance, or no decision: refused, the clamp
                    // stays as it was. Not a protocol error: the speed comes from the user.
                    _ => return reply(hdr, zero, 0x2),
                }
                reply(hdr, zero, 0)
            }
            _ => reply(hdr, GeneralResp::zeroed(), STATUS_CMD_UNSUPPORTED),
        }
    }
}

impl Core {
    /// Hands region `handle` to the object just created with it: the device destroys it with
    /// that object, and the driver may no longer name it (as the hardware does). The object
    /// keeps its own copy of the page list.
    fn hand_over_region(&mut self, handle: u64) {
        if let Some(pos) = self.objects.regions.iter().position(|r| r.handle == handle) {
            self.objects.regions.remove(pos);
            self.stats.live_regions = self.stats.live_regions.saturating_sub(1);
            self.dp.remove_region(handle);
        }
    }

    /// Whether `index` is the registered device's doorbell page or one allocated since.
    fn known_doorbell(&self, index: u32) -> bool {
        (self.registered != 0 && index == MANA_DEV_DOORBELL)
            || ((index as usize) < NUM_DB_PAGES && self.objects.doorbells & bit(index) != 0)
    }

    fn known_pd(&self, pdid: u32) -> bool {
        (self.registered != 0 && pdid == MANA_DEV_PDID)
            || self.objects.pds.iter().any(|p| p.1 == pdid)
    }

    fn create_dma_region(
        &mut self,
        mem: &dyn DeviceMemory,
        hdr: &ReqHdr,
        req: &[u8],
    ) -> Result<Reply> {
        let no = gdma_msgs::CreateDmaRegionResp::zeroed();
        let Ok((r, pages)) = gdma_msgs::CreateDmaRegionReq::parse(req) else {
            self.protocol_error("malformed CREATE_DMA_REGION");
            return reply(hdr, no, 0x2);
        };
        // Pages of 4 KiB << page type (the C driver's mana_ib picks the largest its user
        // memory allows, ib_umem_find_best_pgsz()), each in 4 KiB entries of the page pool. The
        // length ends in the last page; the model has no region that starts inside its first
        // page (the drivers' queues and MRs here start at offset 0).
        let shift = r.gdma_page_type;
        let page = (shift <= MAX_PAGE_TYPE).then(|| u64::from(queue::MANA_PAGE_SIZE) << shift);
        let fits = |page: u64| {
            let end = u64::from(r.page_count).checked_mul(page);
            let start = u64::from(r.page_count.saturating_sub(1)).saturating_mul(page);
            end.is_some_and(|end| r.length <= end && r.length > start)
        };
        // The first `page_addr_list_len` pages come here, the rest in DMA_REGION_ADD_PAGES.
        let Some(page) = page.filter(|&p| {
            fits(p)
                && r.offset_in_page == 0
                && r.page_addr_list_len <= r.page_count
                && r.page_addr_list_len != 0
        }) else {
            self.protocol_error(
                "CREATE_DMA_REGION with inconsistent length, page type, offset or page count",
            );
            return reply(hdr, no, 0x2);
        };
        for addr in pages.iter() {
            if addr % page != 0 || !mem.is_mapped(addr, page as usize) {
                self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
                self.protocol_error("CREATE_DMA_REGION with a page the driver has not mapped");
                return reply(hdr, no, 0x2);
            }
        }
        let span = 1usize << shift;
        let count = (r.page_count as usize).saturating_mul(span);
        if self.objects.regions.len() >= MAX_OBJECTS || !self.dp.region_fits(count) {
            return reply(hdr, no, 0x4);
        }
        let handle = self.objects.new_handle();
        let missing = r.page_count.saturating_sub(r.page_addr_list_len);
        self.objects.regions.push(Region {
            handle,
            length: r.length,
            pages: r.page_count,
            shift,
            missing,
        })?;
        self.dp.add_region(handle, count, span, pages.iter())?;
        self.stats.live_regions = self.stats.live_regions.saturating_add(1);
        let mut resp = no;
        resp.dma_region_handle = handle;
        reply(hdr, resp, more_entries_if(missing))
    }

    /// DMA_REGION_ADD_PAGES: the next pages of a region CREATE_DMA_REGION announced.
    fn add_region_pages(
        &mut self,
        mem: &dyn DeviceMemory,
        hdr: &ReqHdr,
        req: &[u8],
    ) -> Result<Reply> {
        let no = GeneralResp::zeroed();
        let Ok((r, pages)) = gdma_msgs::DmaRegionAddPagesReq::parse(req) else {
            self.protocol_error("malformed DMA_REGION_ADD_PAGES");
            return reply(hdr, no, 0x2);
        };
        let found = self
            .objects
            .regions
            .iter()
            .position(|x| x.handle == r.dma_region_handle && x.missing != 0);
        let Some(pos) = found else {
            self.protocol_error("DMA_REGION_ADD_PAGES to an unknown or complete region");
            return reply(hdr, no, 0x2);
        };
        let region = self.objects.regions[pos];
        if r.page_addr_list_len == 0 || r.page_addr_list_len > region.missing {
            self.protocol_error("DMA_REGION_ADD_PAGES of more pages than the region announced");
            return reply(hdr, no, 0x2);
        }
        let page = u64::from(queue::MANA_PAGE_SIZE) << region.shift;
        for addr in pages.iter() {
            if addr % page != 0 || !mem.is_mapped(addr, page as usize) {
                self.stats.dma_faults = self.stats.dma_faults.saturating_add(1);
                self.protocol_error("DMA_REGION_ADD_PAGES with a page the driver has not mapped");
                return reply(hdr, no, 0x2);
            }
        }
        // `missing` of the region's pages are still to come: the first one is this index.
        let span = 1usize << region.shift;
        let sent = region.pages.saturating_sub(region.missing) as usize;
        self.dp
            .add_region_pages(region.handle, sent.saturating_mul(span), span, pages.iter())?;
        let missing = region.missing.saturating_sub(r.page_addr_list_len);
        self.objects.regions[pos].missing = missing;
        reply(hdr, no, more_entries_if(missing))
    }

    /// Checks that `handle` names a free region of at least `size` bytes, a power of two.
    fn usable_region(&mut self, handle: u64, size: u32, what: &str) -> bool {
        let ok = size >= queue::MANA_PAGE_SIZE
            && size.is_power_of_two()
            && self
                .objects
                .region_len(handle)
                .is_some_and(|len| len >= u64::from(size))
            && !self.objects.region_in_use(handle);
        if !ok {
            self.protocol_error(what);
        }
        ok
    }

    /// The data-path queue ids the device has: as many as its queues of all types.
    fn queue_ids(&self) -> u32 {
        [
            queue::queue_type::EQ,
            queue::queue_type::SQ,
            queue::queue_type::RQ,
            queue::queue_type::CQ,
        ]
        .iter()
        .fold(0u32, |n, &ty| n.saturating_add(self.queue_limit(ty)))
    }

    /// The queues of type `ty` the device offers (QUERY_MAX_RESOURCES): one SQ, RQ and EQ per
    /// queue of each vport, two CQs.
    fn queue_limit(&self, ty: u32) -> u32 {
        let queues = self.config.max_queues.saturating_mul(self.config.num_ports);
        if ty == queue::queue_type::CQ {
            queues.saturating_mul(2)
        } else {
            queues
        }
    }

    fn create_queue(&mut self, hdr: &ReqHdr, req: &[u8]) -> Result<Reply> {
        let no = gdma_msgs::CreateQueueResp::zeroed();
        let r = gdma_msgs::CreateQueueReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
        if r.ty != queue::queue_type::EQ {
            // Only event queues are created this way for MANA; SQ/RQ/CQ come with WQ objects.
            self.protocol_error("CREATE_QUEUE of a type other than EQ");
            return reply(hdr, no, 0x2);
        }
        if !self.usable_region(
            r.gdma_region,
            r.queue_size,
            "CREATE_QUEUE with an unknown, busy or too small region",
        ) {
            return reply(hdr, no, 0x2);
        }
        if r.eq_pci_msix_index >= self.config.num_vectors
            || !self.known_pd(r.pdid)
            || !self.known_doorbell(r.doorbell_id)
        {
            self.protocol_error("CREATE_QUEUE with an unknown MSI-X vector, PD or doorbell page");
            return reply(hdr, no, 0x2);
        }
        let Some(id) = self
            .objects
            .free_queue_id(self.queue_ids(), None)
            .filter(|_| self.objects.eqs.len() < MAX_OBJECTS)
        else {
            return reply(hdr, no, 0x4);
        };
        self.dp.add_eq(
            id,
            r.gdma_region,
            r.queue_size,
            r.eq_pci_msix_index,
            r.doorbell_id,
        )?;
        self.objects.eqs.push(EqObj {
            id,
            region: r.gdma_region,
        })?;
        self.hand_over_region(r.gdma_region);
        self.stats.live_eqs = self.stats.live_eqs.saturating_add(1);
        let mut resp = no;
        resp.queue_index = id;
        reply(hdr, resp, 0)
    }

    fn create_wq_obj(&mut self, hdr: &ReqHdr, req: &[u8]) -> Result<Reply> {
        let no = mana_msgs::CreateWqObjResp::zeroed();
        let r = mana_msgs::CreateWqObjReq::from_bytes_copy(req).ok_or(Error::Invalid)?;
        if self.vport_of(r.vport).is_none() {
            self.protocol_error("CREATE_WQ_OBJ for an unknown vport");
            return reply(hdr, no, 0x2);
        }
        if r.wq_type != queue::queue_type::SQ && r.wq_type != queue::queue_type::RQ {
            self.protocol_error("CREATE_WQ_OBJ of a type other than SQ or RQ");
            return reply(hdr, no, 0x2);
        }
        if r.wq_gdma_region == r.cq_gdma_region
            || !self.usable_region(
                r.wq_gdma_region,
                r.wq_size,
                "CREATE_WQ_OBJ with an unknown, busy or too small WQ region",
            )
            || !self.usable_region(
                r.cq_gdma_region,
                r.cq_size,
                "CREATE_WQ_OBJ with an unknown, busy or too small CQ region",
            )
        {
            return reply(hdr, no, 0x2);
        }
        if !self.objects.eqs.iter().any(|q| q.id == r.cq_parent_qid) {
            self.protocol_error("CREATE_WQ_OBJ whose CQ reports to an unknown EQ");
            return reply(hdr, no, 0x2);
        }
        let limit = self.queue_ids();
        let wq_id = self.objects.free_queue_id(limit, None);
        let ids = wq_id.zip(self.objects.free_queue_id(limit, wq_id));
        let Some((wq_id, cq_id)) = ids.filter(|_| self.objects.wq_objs.len() < MAX_OBJECTS) else {
            return reply(hdr, no, 0x4);
        };
        let handle = self.objects.new_handle();
        let vport = self.vport_of(r.vport).unwrap_or(0);
        self.dp.add_wq(
            handle,
            vport,
            r.wq_type == queue::queue_type::SQ,
            (wq_id, cq_id, r.cq_parent_qid),
            (r.wq_gdma_region, r.wq_size),
            (r.cq_gdma_region, r.cq_size),
        )?;
        self.objects.wq_objs.push(WqObj {
            handle,
            vport: r.vport,
            ty: r.wq_type,
            wq_id,
            cq_id,
            wq_region: r.wq_gdma_region,
            cq_region: r.cq_gdma_region,
            parent_eq: r.cq_parent_qid,
        })?;
        self.hand_over_region(r.wq_gdma_region);
        self.hand_over_region(r.cq_gdma_region);
        self.stats.live_wq_objs = self.stats.live_wq_objs.saturating_add(1);
        let mut resp = no;
        resp.wq_id = wq_id;
        resp.cq_id = cq_id;
        resp.wq_obj = handle;
        reply(hdr, resp, 0)
    }
}

/// The status of a response to a request that leaves `missing` pages of a region to come:
/// "more entries" until the last one.
fn more_entries_if(missing: u32) -> u32 {
    if missing > 0 {
        hdr::STATUS_MORE_ENTRIES
    } else {
        0
    }
}

/// Serializes response `resp` to request `req` with `status`, echoing the ids the way the
/// hardware does.
fn reply<T: Response>(req: &ReqHdr, mut resp: T, status: u32) -> Result<Reply> {
    let len = size_of::<T>();
    *resp.resp_hdr_mut() = RespHdr::reply_to(req, len as u32, status);
    let mut out = Reply {
        buf: [0; MAX_REPLY],
        len,
    };
    out.buf
        .get_mut(..len)
        .ok_or(Error::NoSpace)?
        .copy_from_slice(resp.as_bytes());
    Ok(out)
}

/// The largest response the device builds.
const MAX_REPLY: usize = 512;

/// A response to a hardware-channel request.
struct Reply {
    buf: [u8; MAX_REPLY],
    len: usize,
}

impl Reply {
    /// Shortens the response to `len` bytes (fault injection).
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl core::ops::Deref for Reply {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl core::ops::DerefMut for Reply {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests;
