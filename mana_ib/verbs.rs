// SPDX-License-Identifier: GPL-2.0-only

//! The verbs objects of `manae_<N>` that user space (rdma-core's libmana, DPDK) creates: user
//! contexts with their doorbell page, CQs, WQs, RAW_PACKET send QPs, RSS receive QPs and MRs.
//!
//! The uverbs ABI is `include/uapi/rdma/mana-abi.h` version 1, request by request as the C
//! driver (`drivers/infiniband/hw/mana`) reads and answers it. Where the C driver trusts user
//! space, this one checks: RSS hash key length, a queue or CQ used by two device queues at
//! once, objects of another user context, buffers that are not page aligned powers of two.
//!
//! Queue memory is user memory: a CQ or WQ pins its buffer and maps it for the device when it
//! is created; the DMA regions and the device queues (CREATE_WQ_OBJ) are made when a QP uses
//! them, and go with the QP. A CQ or WQ serves one device queue at a time.
//!
//! Ownership: RAW and RSS QPs take the vport through the core's arbiter
//! ([`mana_gdma::shared_vport`]) for their PD, which programs CONFIG_VPORT_TX with the PD and
//! the context's doorbell page: `EBUSY` while the netdev (or another PD) owns the vport,
//! `EINVAL` for a PD used on two ports, one line in the kernel log naming the owner. The RSS QP
//! enables RX steering to its WQs; destroying it disables steering before its receive queues
//! go, so the next owner never inherits steering to dead queues. The event queues the CQs
//! report to belong to the PD while it has QPs (per vport, not shared with the netdev); their
//! interrupts deliver the completion events of armed CQs to the CQs' completion channels
//! ([`crate::events`]).
//!
//! Lock order: a PD's binding lock, then the arbiter's vport lock.

use kernel::{
    mm::virt::VmaNew,
    new_mutex,
    prelude::*,
    rdma::{
        self,
        mmap::mmap_pgoff,
        umem::{
            Umem,
            ACCESS_LOCAL_WRITE, //
        },
        Cq,
        CqInitAttr,
        Mr,
        NewCq,
        NewMr,
        NewQp,
        NewUcontext,
        NewWq,
        Pd,
        Qp,
        QpInitAttr,
        QpQuery,
        QpState,
        QpType,
        UData,
        Ucontext,
        UserMrArgs,
        Wq,
        WqInitAttr, //
    },
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};

use mana_gdma::{
    dma::{
        DoorbellFrame,
        UserMemory,
        UserPages, //
    },
    objects::{
        DoorbellPage,
        MemoryRegion,
        PageListRegion,
        ProtectionDomain,
        UserWqObject,
        WqKind, //
    },
    shared_vport::{
        QpKind,
        RdmaLease,
        VportTx, //
    },
    wire::{
        abi::{
            AllocUcontextResp,
            CreateCq,
            CreateCqResp,
            CreateQp,
            CreateQpResp,
            CreateQpRss,
            CreateQpRssResp,
            CreateWq,
            MANA_IB_CREATE_RNIC_CQ,
            MANA_IB_RX_HASH_FUNC_TOEPLITZ,
            MANA_IB_UCNTX_ALLOC_PDN_SUPPORT,
            RSS_KEY_LEN,
            RSS_RESP_ENTRIES, //
        },
        gdma_msgs::access,
        mana_msgs::Handle,
        queue::MANA_PAGE_SIZE,
    },
    Adapter,
};

use crate::{
    device::{
        ManaIb,
        PdSlot,
        MAX_QUEUE_BYTES, //
    },
    events::{
        CqEvents,
        PdEq, //
    },
};

/// The size of a completion queue entry (C: `COMP_ENTRY_SIZE`).
pub(crate) const CQE_SIZE: u32 = 64;

/// Scatter/gather entries of a send and a receive WQE (C: `MAX_TX_WQE_SGL_ENTRIES`,
/// `MAX_RX_WQE_SGL_ENTRIES`).
pub(crate) const MAX_TX_SGE: u32 = 30;
pub(crate) const MAX_RX_SGE: u32 = 15;

/// The largest RSS indirection table (C: `MANA_INDIRECT_TABLE_DEF_SIZE`).
pub(crate) const MAX_RSS_TABLE: usize = 64;

/// `IB_RX_HASH_*` bits an RSS QP may ask for (`include/rdma/ib_verbs.h`).
const RX_HASH_FIELDS: u64 = 0xff | (1 << 8) | (1 << 31);

/// `IB_ACCESS_*` flags of MRs (C: `VALID_MR_FLAGS`, `IB_ACCESS_OPTIONAL`).
const IB_ACCESS_LOCAL_WRITE: i32 = 1 << 0;
const IB_ACCESS_REMOTE_WRITE: i32 = 1 << 1;
const IB_ACCESS_REMOTE_READ: i32 = 1 << 2;
const IB_ACCESS_REMOTE_ATOMIC: i32 = 1 << 3;
const IB_ACCESS_MW_BIND: i32 = 1 << 4;
const IB_ZERO_BASED: i32 = 1 << 5;
const IB_ACCESS_OPTIONAL: i32 = 0x3ff << 20;
const VALID_MR_FLAGS: i32 = IB_ACCESS_LOCAL_WRITE
    | IB_ACCESS_REMOTE_WRITE
    | IB_ACCESS_REMOTE_READ
    | IB_ACCESS_REMOTE_ATOMIC
    | IB_ACCESS_MW_BIND
    | IB_ZERO_BASED;

/// Numbers the user contexts, so that objects know which context made them.
static NEXT_CONTEXT: Atomic<u64> = Atomic::new(1);

/// The adapter of a device.
fn adapter(dev: &rdma::Device<ManaIb>) -> &Arc<Adapter> {
    dev.data().get_ref().adapter()
}

/// The uverbs call's context, or `EINVAL` for a kernel caller: the device's objects are for
/// user space only (raw packet QPs).
fn user_context<'a>(
    dev: &rdma::Device<ManaIb>,
    ctx: Option<&'a Ucontext<ManaIb>>,
    what: &str,
) -> Result<&'a IbUcontext> {
    match ctx {
        Some(ctx) => Ok(ctx.data().get_ref()),
        None => {
            kernel::ibdev_err_ratelimited!(
                dev,
                "{} is only for user space (a uverbs context)\n",
                what
            );
            Err(EINVAL)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// User contexts

/// The data of a user context: its doorbell page, until the context is deallocated or
/// detached from the device.
#[pin_data]
pub(crate) struct IbUcontext {
    id: u64,
    #[pin]
    doorbell: Mutex<Option<DoorbellPage>>,
}

impl IbUcontext {
    /// The context's doorbell page index; `EIO` once the context was detached.
    pub(crate) fn doorbell(&self) -> Result<u32> {
        self.doorbell
            .lock()
            .as_ref()
            .map(DoorbellPage::index)
            .ok_or(EIO)
    }
}

/// `disassociate_ucontext`: the device is going away while a process still has the context
/// open. The core has destroyed the context's objects; the doorbell page goes now, while the
/// adapter is still there, rather than when the process closes the device.
pub(crate) fn disassociate_ucontext(ctx: &Ucontext<ManaIb>) {
    drop(ctx.data().get_ref().doorbell.lock().take());
}

/// `alloc_ucontext`: allocates the context's doorbell page (no request; the response says
/// that PDs may ask for a short PDN).
pub(crate) fn alloc_ucontext(
    ctx: &NewUcontext<ManaIb>,
    udata: Option<&UData>,
) -> Result<impl PinInit<IbUcontext, Error>> {
    let dev = ctx.device();
    if let Some(udata) = udata {
        udata.check_in_empty().inspect_err(|e| {
            kernel::ibdev_err_ratelimited!(
                dev,
                "a user context takes no driver request ({} bytes given: {:?}): update rdma-core\n",
                udata.in_len(),
                e
            )
        })?;
    }
    let doorbell = DoorbellPage::new(&adapter(dev).objects()).inspect_err(|e| {
        kernel::ibdev_err_ratelimited!(
            dev,
            "allocating a doorbell page for a user context failed: {:?}\n",
            e
        )
    })?;
    if let Some(udata) = udata {
        let resp = AllocUcontextResp {
            comp_mask: MANA_IB_UCNTX_ALLOC_PDN_SUPPORT,
        };
        // On failure `doorbell` is dropped: DESTROY_RESOURCE_RANGE.
        udata
            .respond(&resp)
            .inspect_err(|e| bad_response(dev, "a user context", *e))?;
    }
    Ok(try_pin_init!(IbUcontext {
        id: NEXT_CONTEXT.fetch_add(1, Relaxed),
        doorbell <- new_mutex!(Some(doorbell)),
    }? Error))
}

/// `mmap`: offset 0 maps the context's doorbell page, write-combined.
pub(crate) fn mmap(ctx: &Ucontext<ManaIb>, vma: &VmaNew) -> Result {
    let dev = ctx.device();
    if mmap_pgoff(vma) != 0 {
        kernel::ibdev_err_ratelimited!(
            dev,
            "mmap at page offset {}: only offset 0 (the doorbell page) exists\n",
            mmap_pgoff(vma)
        );
        return Err(EINVAL);
    }
    let index = ctx.data().get_ref().doorbell()?;
    adapter(dev).with_doorbell_page(index, &mut |frame| match frame {
        DoorbellFrame::Io { phys } => {
            let pfn = usize::try_from(phys >> kernel::page::PAGE_SHIFT).map_err(|_| EINVAL)?;
            // SAFETY: `pfn` is the doorbell page `index` of the function's BAR0, which the
            // device gave this context (ALLOCATE_RESOURCE_RANGE) until the context is
            // deallocated; the core zaps the mapping before that (disassociation).
            unsafe {
                ctx.mmap_io(
                    vma,
                    pfn,
                    kernel::page::PAGE_SIZE,
                    rdma::mmap::MmapCache::WriteCombine,
                )
            }
        }
        DoorbellFrame::Memory(page) => ctx.mmap_page(vma, page),
    })
}

// ---------------------------------------------------------------------------------------------
// Queue memory

/// User memory pinned for the device: what the software device reads and writes through the
/// CPU (a PCI function uses the pages' bus addresses).
pub(crate) struct PinnedUser(Umem);

impl UserMemory for PinnedUser {
    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.0.read(offset, out)
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result {
        self.0.write(offset, data)
    }
}

/// Pins `len` bytes of user memory at `addr` with `access` and maps its 4 KiB pages for the
/// device.
fn pin_user(
    dev: &rdma::Device<ManaIb>,
    udata: &UData,
    (addr, len): (u64, usize),
    access: i32,
    capacity: usize,
) -> Result<(UserPages, Arc<PinnedUser>)> {
    let umem = Arc::new(
        PinnedUser(Umem::get(dev, udata, addr, len, access)?),
        GFP_KERNEL,
    )?;
    let mut blocks = KVec::with_capacity(capacity, GFP_KERNEL)?;
    for block in umem.0.dma_blocks(MANA_PAGE_SIZE as usize)? {
        blocks.push(block, GFP_KERNEL)?;
    }
    let cpu: Arc<dyn UserMemory> = umem.clone();
    let pages = adapter(dev).map_user_pages(&blocks, &cpu)?;
    Ok((pages, umem))
}

/// A queue's buffer in user memory: pinned and mapped for the device.
pub(crate) struct UserQueue {
    // Unmapped before it is unpinned (field order).
    pages: UserPages,
    _umem: Arc<PinnedUser>,
    bytes: u32,
}

impl UserQueue {
    /// Pins and maps `bytes` of user memory at `addr`: a page-aligned power of two of at least
    /// one page and at most the largest queue (1 MiB), as the device's queues are.
    fn new(
        dev: &rdma::Device<ManaIb>,
        udata: &UData,
        addr: u64,
        bytes: u32,
        what: &str,
    ) -> Result<Self> {
        if !(MANA_PAGE_SIZE..=MAX_QUEUE_BYTES).contains(&bytes)
            || !bytes.is_power_of_two()
            || addr % u64::from(MANA_PAGE_SIZE) != 0
        {
            kernel::ibdev_err_ratelimited!(
                dev,
                "{} buffer of {} bytes at 0x{:x}: it must be a power of two of {} to {} bytes, page aligned\n",
                what,
                bytes,
                addr,
                MANA_PAGE_SIZE,
                MAX_QUEUE_BYTES
            );
            return Err(EINVAL);
        }
        let (pages, umem) = pin_user(
            dev,
            udata,
            (addr, bytes as usize),
            ACCESS_LOCAL_WRITE,
            (bytes / MANA_PAGE_SIZE) as usize,
        )?;
        Ok(Self {
            pages,
            _umem: umem,
            bytes,
        })
    }

    /// Registers the buffer as a DMA region of the device.
    fn region(&self, adapter: &Adapter) -> Result<PageListRegion> {
        PageListRegion::new(&adapter.objects(), self.pages.addrs())
    }
}

/// A queue buffer and whether a device queue uses it.
#[pin_data]
pub(crate) struct SharedQueue {
    queue: UserQueue,
    #[pin]
    in_use: Mutex<bool>,
}

impl SharedQueue {
    fn new(queue: UserQueue) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                queue,
                in_use <- new_mutex!(false),
            }),
            GFP_KERNEL,
        )
    }

    /// Reserves the buffer for one device queue; `EINVAL` if another one uses it.
    fn bind(self: &Arc<Self>, dev: &rdma::Device<ManaIb>, what: &str) -> Result<QueueBinding> {
        let mut in_use = self.in_use.lock();
        if *in_use {
            kernel::ibdev_err_ratelimited!(
                dev,
                "the {} already serves another queue: MANA needs one per queue\n",
                what
            );
            return Err(EINVAL);
        }
        *in_use = true;
        Ok(QueueBinding(self.clone()))
    }
}

/// The reservation of a queue buffer by a device queue; dropping it frees the buffer for
/// another one. It keeps the buffer pinned and mapped, whatever the RDMA core destroys.
pub(crate) struct QueueBinding(Arc<SharedQueue>);

impl QueueBinding {
    fn queue(&self) -> &UserQueue {
        &self.0.queue
    }
}

impl Drop for QueueBinding {
    fn drop(&mut self) {
        *self.0.in_use.lock() = false;
    }
}

// ---------------------------------------------------------------------------------------------
// CQs and WQs

/// The data of a CQ: its buffer (of its entries) and completion vector.
pub(crate) struct IbCq {
    ctx: u64,
    buf: Arc<SharedQueue>,
    comp_vector: u32,
}

/// `create_cq`: reads `struct mana_ib_create_cq`, pins `cqe` entries of 64 bytes at
/// `buf_addr`, answers `struct mana_ib_create_cq_resp` (the CQ id comes with its QP).
pub(crate) fn create_cq(
    cq: &NewCq<ManaIb>,
    attr: &CqInitAttr,
    ctx: Option<&Ucontext<ManaIb>>,
    udata: Option<&UData>,
) -> Result<IbCq> {
    let dev = cq.device();
    let uctx = user_context(dev, ctx, "a CQ")?;
    let udata = udata.ok_or(EINVAL)?;
    let req: CreateCq = read_req(
        dev,
        udata,
        core::mem::offset_of!(CreateCq, buf_addr) + 8,
        "a CQ",
    )?;
    check_mask(
        dev,
        "a CQ's comp_mask",
        req.comp_mask.into(),
        MANA_IB_CREATE_RNIC_CQ.into(),
    )?;
    if req.comp_mask & MANA_IB_CREATE_RNIC_CQ != 0 {
        kernel::ibdev_err_ratelimited!(
            dev,
            "RNIC CQs are for mana_N devices, not {}\n",
            &*dev.name()
        );
        return Err(EOPNOTSUPP);
    }
    let max = dev.data().get_ref().caps().max_qp_wr;
    let cqe = attr.cqe();
    if cqe == 0 || cqe > max {
        kernel::ibdev_err_ratelimited!(dev, "a CQ of {} entries: 1..={} are possible\n", cqe, max);
        return Err(EINVAL);
    }
    let bytes = cqe.checked_mul(CQE_SIZE).ok_or(EINVAL)?;
    let buf = SharedQueue::new(UserQueue::new(dev, udata, req.buf_addr, bytes, "CQ")?)?;
    cq.set_cqe(cqe)?;
    let resp = CreateCqResp {
        cqid: u32::MAX,
        reserved: 0,
    };
    udata
        .respond(&resp)
        .inspect_err(|e| bad_response(dev, "a CQ", *e))?;
    let vectors = dev.num_comp_vectors().max(1);
    Ok(IbCq {
        ctx: uctx.id,
        buf,
        comp_vector: attr.comp_vector() % vectors,
    })
}

/// The data of a WQ: its buffer.
pub(crate) struct IbWq {
    ctx: u64,
    buf: Arc<SharedQueue>,
}

/// `create_wq`: reads `struct mana_ib_create_wq` and pins the WQ's buffer.
pub(crate) fn create_wq(
    _pd: &Pd<ManaIb>,
    wq: &NewWq<ManaIb>,
    attr: &WqInitAttr<'_, ManaIb>,
    ctx: Option<&Ucontext<ManaIb>>,
    udata: Option<&UData>,
) -> Result<IbWq> {
    let dev = wq.device();
    let uctx = user_context(dev, ctx, "a WQ")?;
    let udata = udata.ok_or(EINVAL)?;
    let req: CreateWq = read_req(dev, udata, size_of::<CreateWq>(), "a WQ")?;
    check_queue_limits(dev, "a WQ", (attr.max_wr(), attr.max_sge()), MAX_RX_SGE)?;
    let buf = SharedQueue::new(UserQueue::new(
        dev,
        udata,
        req.wq_buf_addr,
        req.wq_buf_size,
        "WQ",
    )?)?;
    udata
        .respond_empty()
        .inspect_err(|e| bad_response(dev, "a WQ", *e))?;
    Ok(IbWq { ctx: uctx.id, buf })
}

/// No driver request or response (`ib_no_udata_io()`): a request that is not empty or all
/// zero is `EOPNOTSUPP`, an unreadable one or an unwritable response `EFAULT`.
pub(crate) fn no_udata_io(dev: &rdma::Device<ManaIb>, udata: Option<&UData>, what: &str) -> Result {
    if let Some(udata) = udata {
        udata.check_in_empty().inspect_err(|e| {
            kernel::ibdev_err_ratelimited!(
                dev,
                "{}: the driver request of {} bytes must be empty or zero ({:?}): update rdma-core\n",
                what,
                udata.in_len(),
                e
            )
        })?;
        udata
            .respond_empty()
            .inspect_err(|e| bad_response(dev, what, *e))?;
    }
    Ok(())
}

/// Reads the driver request `R` of `what`, at least `min` bytes of it (older versions may be
/// shorter), with one line in the log when it cannot be read or is too short.
pub(crate) fn read_req<R: kernel::transmute::FromBytes>(
    dev: &rdma::Device<ManaIb>,
    udata: &UData,
    min: usize,
    what: &str,
) -> Result<R> {
    udata.read_in(min).inspect_err(|e| {
        kernel::ibdev_err_ratelimited!(
            dev,
            "{}: the driver request ({} bytes, {} needed) could not be read ({:?}): check rdma-core's libmana and the request buffer\n",
            what,
            udata.in_len(),
            min,
            e
        )
    })
}

/// Logs that the response of `what` could not be written to user space.
pub(crate) fn bad_response(dev: &rdma::Device<ManaIb>, what: &str, e: Error) {
    kernel::ibdev_err_ratelimited!(
        dev,
        "{}: the response could not be written to user space ({:?}): the response buffer must be writable\n",
        what,
        e
    )
}

/// Checks a request's `comp_mask` (or flag word) against the `valid` bits: `EOPNOTSUPP` with
/// a line naming the unknown ones.
pub(crate) fn check_mask(dev: &rdma::Device<ManaIb>, what: &str, mask: u64, valid: u64) -> Result {
    UData::check_comp_mask(mask, valid).inspect_err(|_| {
        kernel::ibdev_err_ratelimited!(
            dev,
            "{}: unsupported bits 0x{:x} (0x{:x} are known): this kernel does not offer them\n",
            what,
            mask & !valid,
            valid
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Protection domains and their binding to a port

/// What a PD's QPs share: the event queues their CQs report to, while the PD has QPs.
pub(crate) struct PdBinding {
    qps: u32,
    eqs: KVec<Option<PdEq>>,
}

/// The data of a protection domain: the device's PD, destroyed when dropped.
#[pin_data]
pub(crate) struct IbPd {
    pub(crate) pd: ProtectionDomain,
    // Given back after DESTROY_PD (field order).
    _slot: PdSlot,
    /// The user context that allocated it (0: a kernel PD).
    pub(crate) ctx: u64,
    #[pin]
    binding: Mutex<PdBinding>,
}

impl IbPd {
    /// The data of a new PD, which holds its place in the device's count.
    pub(crate) fn new(pd: ProtectionDomain, slot: PdSlot, ctx: u64) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            pd,
            _slot: slot,
            ctx,
            binding <- new_mutex!(PdBinding {
                qps: 0,
                eqs: KVec::new(),
            }),
        }? Error)
    }

    /// The PD number.
    pub(crate) fn pdn(&self) -> u32 {
        self.pd.id()
    }
}

/// The context id of a PD's user context, for [`IbPd::new`].
pub(crate) fn context_id(ctx: Option<&Ucontext<ManaIb>>) -> u64 {
    ctx.map_or(0, |c| c.data().get_ref().id)
}

impl PdBinding {
    /// The EQ for completion vector `vector`, created on first use on MSI-X vector
    /// `vector + 1` (vector 0 is the hardware channel's).
    /// Its interrupt handler is installed with it (see [`crate::events`]).
    fn eq(&mut self, adapter: &Arc<Adapter>, vector: u32) -> Result<&PdEq> {
        let index = vector as usize;
        while self.eqs.len() <= index {
            self.eqs.push(None, GFP_KERNEL)?;
        }
        let slot = self.eqs.get_mut(index).ok_or(EINVAL)?;
        if slot.is_none() {
            let msix = vector
                .saturating_add(1)
                .min(adapter.num_vectors().saturating_sub(1))
                .max(1);
            *slot = Some(PdEq::new(adapter, msix)?);
        }
        slot.as_ref().ok_or(EINVAL)
    }
}

// ---------------------------------------------------------------------------------------------
// QPs

/// A receive queue of an RSS QP.
struct RssQueue {
    // The CQ leaves its EQ's table first, then the device queue goes, then the buffers are
    // released (field order).
    _events: CqEvents,
    _obj: UserWqObject,
    _wq: QueueBinding,
    _cq: QueueBinding,
}

/// What a QP holds.
enum QpKindData {
    /// A RAW_PACKET send QP.
    Raw {
        // The CQ leaves its EQ's table first, then the queue is destroyed, then its buffers
        // are released (field order).
        _events: CqEvents,
        _obj: UserWqObject,
        _sq: KBox<UserQueue>,
        _cq: QueueBinding,
    },
    /// An RSS receive QP: its receive queues.
    Rss { _queues: KVec<RssQueue> },
}

/// The data of a QP.
///
/// Field order is drop order: the lease goes first, so that an RSS QP's RX steering is
/// disabled before its receive queues are destroyed (the device keeps steering to whatever
/// it was told), and the vport is free once the PD's last QP is gone.
pub(crate) struct IbQp {
    _lease: RdmaLease,
    _kind: QpKindData,
    /// What `query_qp` reports: the (work requests, SGEs) of the send and receive queues.
    send_caps: (u32, u32),
    recv_caps: (u32, u32),
}

impl IbQp {
    /// Whether it is an RSS receive QP (else a send QP).
    fn is_rss(&self) -> bool {
        matches!(self._kind, QpKindData::Rss { .. })
    }
}

/// `query_qp`: a raw packet QP works from its creation until it is destroyed (no state
/// machine, as in the C driver, which has no `modify_qp` for them): a send QP is ready to
/// send (RTS), an RSS QP ready to receive (RTR). Its capacities are the ones it was created
/// with.
pub(crate) fn query_qp(qp: &Qp<ManaIb>, query: &mut QpQuery) -> Result {
    let data = qp.data().get_ref();
    let state = if data.is_rss() {
        QpState::Rtr
    } else {
        QpState::Rts
    };
    query
        .set_state(state)
        .set_caps(data.send_caps, data.recv_caps);
    Ok(())
}

/// Reports the QP number and port of a new QP: the number is the id of its device queue (a
/// send QP's send queue, an RSS QP's first receive queue), as the C driver numbers its QPs
/// (`ibqp.qp_num` is a queue id), so that `rdma res show qp` lists each QP under a number
/// the device's own tools know.
fn set_qp_identity(dev: &rdma::Device<ManaIb>, qp: &NewQp<ManaIb>, num: u32, port: u32) -> Result {
    qp.set_qp_num(num).inspect_err(|_| {
        pr_err!(
            "{}: device queue id {} is not a valid QP number (at most 24 bits)\n",
            &*dev.name(),
            num
        )
    })?;
    qp.set_port(port)
}

/// Checks the `(work requests, SGEs)` a queue asks for against the device's limits.
fn check_queue_limits(
    dev: &rdma::Device<ManaIb>,
    what: &str,
    (wr, sge): (u32, u32),
    max_sge: u32,
) -> Result {
    let max_wr = dev.data().get_ref().caps().max_qp_wr;
    if wr > max_wr || sge > max_sge {
        kernel::ibdev_err_ratelimited!(
            dev,
            "{} of {} requests of {} SGEs: at most {} of {}\n",
            what,
            wr,
            sge,
            max_wr,
            max_sge
        );
        return Err(EINVAL);
    }
    Ok(())
}

/// Takes `vport` for a `kind` QP of `pd`, transmitting through the context's doorbell page.
fn take_vport(
    adapter: &Adapter,
    vport: u32,
    kind: QpKind,
    pd: &IbPd,
    uctx: &IbUcontext,
) -> Result<RdmaLease> {
    adapter.vports().take_rdma(
        vport,
        kind,
        VportTx {
            pd: pd.pdn(),
            doorbell: uctx.doorbell()?,
        },
    )
}

/// Reads the port of a QP request: 1..=ports, the vport is `port - 1`.
fn vport_of_port(dev: &rdma::Device<ManaIb>, port: u32) -> Result<(u32, Handle)> {
    let ports = adapter(dev).ports();
    let vport = port.checked_sub(1);
    match vport.zip(vport.and_then(|v| ports.get(v as usize))) {
        Some((vport, info)) => Ok((vport, info.handle)),
        None => {
            kernel::ibdev_err_ratelimited!(
                dev,
                "port {} does not exist (ports 1..={})\n",
                port,
                ports.len()
            );
            Err(EINVAL)
        }
    }
}

/// Checks that an object belongs to the calling context.
fn same_context(dev: &rdma::Device<ManaIb>, ctx: &IbUcontext, owner: u64, what: &str) -> Result {
    if owner != ctx.id {
        kernel::ibdev_err_ratelimited!(dev, "the {} belongs to another user context\n", what);
        return Err(EINVAL);
    }
    Ok(())
}

/// `create_qp`: RAW_PACKET QPs only, a send QP or (with an indirection table) an RSS QP.
pub(crate) fn create_qp(
    qp: &NewQp<ManaIb>,
    attr: &QpInitAttr<'_, ManaIb>,
    ctx: Option<&Ucontext<ManaIb>>,
    udata: Option<&UData>,
) -> Result<IbQp> {
    let dev = qp.device();
    if attr.qp_type() != QpType::RAW_PACKET {
        kernel::ibdev_err_ratelimited!(
            dev,
            "QP type {} is not supported: manae devices offer RAW_PACKET QPs\n",
            attr.qp_type().0
        );
        return Err(EOPNOTSUPP);
    }
    let uctx = user_context(dev, ctx, "a raw packet QP")?;
    let udata = udata.ok_or(EINVAL)?;
    let pd = qp.pd().ok_or(EINVAL)?;
    same_context(dev, uctx, pd.data().get_ref().ctx, "PD")?;
    if attr.rwq_ind_table().is_some() {
        create_rss_qp(dev, qp, pd, attr, uctx, udata)
    } else {
        create_raw_qp(dev, qp, pd, attr, uctx, udata)
    }
}

fn create_raw_qp(
    dev: &rdma::Device<ManaIb>,
    qp: &NewQp<ManaIb>,
    pd: &Pd<ManaIb>,
    attr: &QpInitAttr<'_, ManaIb>,
    uctx: &IbUcontext,
    udata: &UData,
) -> Result<IbQp> {
    let req: CreateQp = read_req(dev, udata, size_of::<CreateQp>(), "a raw packet QP")?;
    check_queue_limits(
        dev,
        "a send queue",
        (attr.max_send_wr(), attr.max_send_sge()),
        MAX_TX_SGE,
    )?;
    let (vport, vport_handle) = vport_of_port(dev, req.port)?;
    let Some(send_cq) = attr.send_cq() else {
        kernel::ibdev_err_ratelimited!(dev, "a raw packet QP needs a send CQ\n");
        return Err(EINVAL);
    };
    let cq = send_cq.data().get_ref();
    same_context(dev, uctx, cq.ctx, "send CQ")?;
    let adapter = adapter(dev);
    let ibpd = pd.data().get_ref();
    // Pinning the buffer first: a bad buffer never programs the vport.
    // Boxed: the queue holds the umem and its device references, which would make the RAW
    // variant of `QpKindData` ten times the RSS one.
    let sq = KBox::new(
        UserQueue::new(dev, udata, req.sq_buf_addr, req.sq_buf_size, "send queue")?,
        GFP_KERNEL,
    )?;

    let mut binding = ibpd.binding.lock();
    let qps = binding.qps.checked_add(1).ok_or(ENOSPC)?;
    let lease = take_vport(adapter, vport, QpKind::Raw, ibpd, uctx)?;
    let cq_binding = cq.buf.bind(dev, "send CQ")?;
    let eq = binding.eq(adapter, cq.comp_vector)?;
    let obj = UserWqObject::new(
        &adapter.objects(),
        vport_handle,
        WqKind::Send,
        (sq.region(adapter)?, sq.bytes),
        (
            cq_binding.queue().region(adapter)?,
            cq_binding.queue().bytes,
        ),
        eq.eq(),
    )
    .inspect_err(|e| {
        kernel::ibdev_err_ratelimited!(dev, "creating the send queue failed: {:?}\n", e)
    })?;
    // The CQ's events reach its completion channel from now on.
    let events = eq.irq().register(obj.cq_id(), send_cq.notifier())?;
    set_qp_identity(dev, qp, obj.wq_id(), req.port)?;
    let resp = CreateQpResp {
        sqid: obj.wq_id(),
        cqid: obj.cq_id(),
        tx_vp_offset: lease.tx_grant().vport_offset.into(),
        reserved: 0,
    };
    udata
        .respond(&resp)
        .inspect_err(|e| bad_response(dev, "a raw packet QP", *e))?;
    binding.qps = qps;
    Ok(IbQp {
        _lease: lease,
        _kind: QpKindData::Raw {
            _events: events,
            _obj: obj,
            _sq: sq,
            _cq: cq_binding,
        },
        send_caps: (attr.max_send_wr(), attr.max_send_sge()),
        recv_caps: (0, 0),
    })
}

fn create_rss_qp(
    dev: &rdma::Device<ManaIb>,
    qp: &NewQp<ManaIb>,
    pd: &Pd<ManaIb>,
    attr: &QpInitAttr<'_, ManaIb>,
    uctx: &IbUcontext,
    udata: &UData,
) -> Result<IbQp> {
    let req: CreateQpRss = read_req(dev, udata, size_of::<CreateQpRss>(), "an RSS QP")?;
    check_queue_limits(
        dev,
        "an RSS QP",
        (attr.max_recv_wr(), attr.max_recv_sge()),
        MAX_RX_SGE,
    )?;
    let table = attr.rwq_ind_table().ok_or(EINVAL)?;
    let size = 1usize.checked_shl(table.log_size()).unwrap_or(usize::MAX);
    if size > MAX_RSS_TABLE.min(RSS_RESP_ENTRIES) {
        kernel::ibdev_err_ratelimited!(
            dev,
            "an indirection table of {} WQs: at most {}\n",
            size,
            MAX_RSS_TABLE
        );
        return Err(EINVAL);
    }
    if req.rx_hash_function != MANA_IB_RX_HASH_FUNC_TOEPLITZ {
        kernel::ibdev_err_ratelimited!(
            dev,
            "RX hash function 0x{:x}: only Toeplitz (0x{:x}) exists\n",
            req.rx_hash_function,
            MANA_IB_RX_HASH_FUNC_TOEPLITZ
        );
        return Err(EINVAL);
    }
    let key_len = req.rx_hash_key_len as usize;
    if key_len == 0 || key_len > RSS_KEY_LEN {
        kernel::ibdev_err_ratelimited!(
            dev,
            "an RSS key of {} bytes: 1..={} are possible\n",
            key_len,
            RSS_KEY_LEN
        );
        return Err(EINVAL);
    }
    check_mask(
        dev,
        "an RSS QP's hash fields",
        req.rx_hash_fields_mask,
        RX_HASH_FIELDS,
    )?;
    let (vport, handle) = vport_of_port(dev, req.port)?;
    for wq in table.wqs() {
        same_context(dev, uctx, wq.data().get_ref().ctx, "WQ")?;
        let cq = wq.cq().ok_or(EINVAL)?;
        same_context(dev, uctx, cq.data().get_ref().ctx, "CQ of a WQ")?;
    }
    let mut key = [0u8; RSS_KEY_LEN];
    key[..key_len].copy_from_slice(&req.rx_hash_key[..key_len]);
    let adapter = adapter(dev);
    let ibpd = pd.data().get_ref();

    let mut binding = ibpd.binding.lock();
    let qps = binding.qps.checked_add(1).ok_or(ENOSPC)?;
    let lease = take_vport(adapter, vport, QpKind::Rss, ibpd, uctx)?;
    let mut queues = KVec::with_capacity(size, GFP_KERNEL)?;
    let mut resp: CreateQpRssResp = pin_init::zeroed();
    let mut objects = KVec::with_capacity(size, GFP_KERNEL)?;
    for (i, wq) in table.wqs().enumerate() {
        let wq_data = wq.data().get_ref();
        let ibcq = wq.cq().ok_or(EINVAL)?;
        let cq = ibcq.data().get_ref();
        let wq_binding = wq_data.buf.bind(dev, "WQ")?;
        let cq_binding = cq.buf.bind(dev, "CQ of a WQ")?;
        let eq = binding.eq(adapter, cq.comp_vector)?;
        let obj = UserWqObject::new(
            &adapter.objects(),
            handle,
            WqKind::Receive,
            (
                wq_binding.queue().region(adapter)?,
                wq_binding.queue().bytes,
            ),
            (
                cq_binding.queue().region(adapter)?,
                cq_binding.queue().bytes,
            ),
            eq.eq(),
        )
        .inspect_err(|e| {
            kernel::ibdev_err_ratelimited!(dev, "creating receive queue {} failed: {:?}\n", i, e)
        })?;
        let events = eq.irq().register(obj.cq_id(), ibcq.notifier())?;
        // `size` (checked against the response's entries) WQs.
        let entry = resp.entries.get_mut(i).ok_or(EINVAL)?;
        entry.cqid = obj.cq_id();
        entry.wqid = obj.wq_id();
        objects.push(obj.handle(), GFP_KERNEL)?;
        queues.push(
            RssQueue {
                _events: events,
                _obj: obj,
                _wq: wq_binding,
                _cq: cq_binding,
            },
            GFP_KERNEL,
        )?;
    }
    resp.num_entries = queues.len() as u64;
    let steered = set_qp_identity(dev, qp, resp.entries[0].wqid, req.port)
        .and_then(|()| adapter.enable_rx_steering(vport, &objects, &key))
        .and_then(|()| {
            udata
                .respond(&resp)
                .inspect_err(|e| bad_response(dev, "an RSS QP", *e))
        });
    if let Err(e) = steered {
        // The lease first: it turns steering off, then the receive queues may go (locals
        // would drop the other way round).
        drop(lease);
        drop(queues);
        return Err(e);
    }
    binding.qps = qps;
    Ok(IbQp {
        _lease: lease,
        _kind: QpKindData::Rss { _queues: queues },
        send_caps: (0, 0),
        recv_caps: (attr.max_recv_wr(), attr.max_recv_sge()),
    })
}

/// `destroy_qp`: the QP's data is dropped after this: its lease (RX steering off for an RSS
/// QP, the vport free after the PD's last QP), then its device queues. It never fails.
pub(crate) fn destroy_qp(qp: &Qp<ManaIb>) -> Result {
    if let Some(pd) = qp.pd() {
        let mut binding = pd.data().get_ref().binding.lock();
        binding.qps = binding.qps.saturating_sub(1);
        if binding.qps == 0 {
            // The EQs' interrupt handlers go now; the QP's queues hold their EQs until they
            // are destroyed.
            binding.eqs.clear();
        }
    }
    Ok(())
}

#[cfg(CONFIG_KUNIT = "y")]
impl IbQp {
    /// The device ids of the QP's queues: (work queue, completion queue) pairs.
    pub(crate) fn queue_ids(&self) -> KVec<(u32, u32)> {
        let mut ids = KVec::new();
        match &self._kind {
            QpKindData::Raw { _obj: obj, .. } => {
                let _ = ids.push((obj.wq_id(), obj.cq_id()), GFP_KERNEL);
            }
            QpKindData::Rss { _queues: queues } => {
                for q in queues.iter() {
                    let _ = ids.push((q._obj.wq_id(), q._obj.cq_id()), GFP_KERNEL);
                }
            }
        }
        ids
    }

    /// The vport the QP holds.
    pub(crate) fn vport(&self) -> u32 {
        self._lease.vport().index()
    }
}

// ---------------------------------------------------------------------------------------------
// MRs

/// The data of a memory region.
pub(crate) struct IbMr {
    // The MR goes first (the device destroys the region it owns with it), then the memory is
    // unmapped and unpinned.
    _mr: MemoryRegion,
    _region: PageListRegion,
    _pages: UserPages,
    _umem: Arc<PinnedUser>,
}

/// `reg_user_mr`: pins the memory and registers it as a GVA (or zero-based) MR of the PD.
pub(crate) fn reg_user_mr(
    pd: &Pd<ManaIb>,
    mr: &NewMr<ManaIb>,
    args: &UserMrArgs,
    udata: Option<&UData>,
) -> Result<IbMr> {
    let dev = mr.device();
    no_udata_io(dev, udata, "an MR")?;
    // User memory is pinned for the process of a uverbs command only.
    let udata = udata.ok_or(EINVAL)?;
    let flags = args.access & !IB_ACCESS_OPTIONAL;
    if flags & !VALID_MR_FLAGS != 0 {
        kernel::ibdev_err_ratelimited!(
            dev,
            "MR access flags 0x{:x} include unsupported ones (0x{:x} are possible)\n",
            args.access,
            VALID_MR_FLAGS
        );
        return Err(EINVAL);
    }
    let page = u64::from(MANA_PAGE_SIZE);
    if args.start % page != 0 || args.iova % page != 0 {
        kernel::ibdev_err_ratelimited!(
            dev,
            "MR at 0x{:x} with I/O address 0x{:x}: both must be 4 KiB aligned\n",
            args.start,
            args.iova
        );
        return Err(EINVAL);
    }
    let len = usize::try_from(args.length).map_err(|_| EINVAL)?;
    let (pages, umem) = pin_user(dev, udata, (args.start, len), flags, 0)?;
    let adapter = adapter(dev);
    let mut region = PageListRegion::new(&adapter.objects(), pages.addrs())?;
    let mut gdma = access::LOCAL_READ;
    for (ib, g) in [
        (IB_ACCESS_LOCAL_WRITE, access::LOCAL_WRITE),
        (IB_ACCESS_REMOTE_WRITE, access::REMOTE_WRITE),
        (IB_ACCESS_REMOTE_READ, access::REMOTE_READ),
        (IB_ACCESS_REMOTE_ATOMIC, access::REMOTE_ATOMIC),
        (IB_ACCESS_MW_BIND, access::BIND_MW),
    ] {
        if flags & ib != 0 {
            gdma |= g;
        }
    }
    let ibpd = &pd.data().get_ref().pd;
    let created = if flags & IB_ZERO_BASED != 0 {
        MemoryRegion::new_zbva(&adapter.objects(), ibpd, &mut region, gdma)
    } else {
        MemoryRegion::new_gva(&adapter.objects(), ibpd, &mut region, args.iova, gdma)
    }
    .inspect_err(|e| kernel::ibdev_err_ratelimited!(dev, "CREATE_MR failed: {:?}\n", e))?;
    mr.set_keys(created.lkey(), created.rkey());
    Ok(IbMr {
        _mr: created,
        _region: region,
        _pages: pages,
        _umem: umem,
    })
}

/// Destroy operations whose work is done when the object's data is dropped: they never fail
/// (the core would warn and leak the object, e.g. when it aborts a CQ whose response could
/// not be copied).
pub(crate) fn destroy_cq(_cq: &Cq<ManaIb>) -> Result {
    Ok(())
}

/// See [`destroy_cq`].
pub(crate) fn destroy_wq(_wq: &Wq<ManaIb>) -> Result {
    Ok(())
}

/// See [`destroy_cq`].
pub(crate) fn dereg_mr(_mr: &Mr<ManaIb>) -> Result {
    Ok(())
}
