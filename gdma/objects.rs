// SPDX-License-Identifier: GPL-2.0-only

//! Device objects the clients create through the core: DMA regions, event queues, work-queue
//! objects (a send or receive queue with its completion queue) and protection domains.
//!
//! Each object is a value: creating it sends the create request, dropping it sends the
//! matching destroy request. A DMA region given to a queue or an MR belongs to that object on
//! the device from then on, and goes with it (as in the C driver, which forgets the handle):
//! the core never destroys it again. A queue's memory is freed after the queue is destroyed.
//! A failed destroy is logged; the memory is freed only after the device was told to stop
//! using it or the channel is gone.

use kernel::{
    prelude::*,
    sync::Arc,
    transmute::AsBytes, //
};

use crate::{
    adapter::request,
    dma::DmaBuf,
    hwc::Hwc,
    transport::Transport,
    wire::{
        gdma_msgs::{
            AllocateResourceRangeReq,
            CreateDmaRegionReq,
            CreateDmaRegionResp,
            CreateMrReq,
            CreatePdReq,
            CreateQueueReq,
            DestroyDmaRegionReq,
            DestroyMrReq,
            DestroyPdReq,
            DestroyResourceRangeReq,
            DisableQueueReq,
            DmaRegionAddPagesReq,
            INVALID_DMA_REGION,
            RESOURCE_DOORBELL_PAGE, //
        },
        hdr::{
            new_request,
            DevId,
            GeneralResp,
            Request,
            STATUS_MORE_ENTRIES,
            STATUS_SUCCESS, //
        },
        mana_msgs::{
            CreateWqObjReq,
            DestroyWqObjReq,
            FenceRqReq,
            Handle, //
        },
        queue::{
            self,
            queue_type, //
        }, //
    }, //
};

/// The smallest queue: one 4 KiB page.
const MIN_QUEUE_BYTES: u32 = queue::MANA_PAGE_SIZE;
/// The log2 of an event queue's throttle limit (C: `LOG2_EQ_THROTTLE`).
const LOG2_EQ_THROTTLE: u32 = 3;

/// What object requests need: the channel and the device they are addressed to.
#[derive(Clone)]
pub struct ObjectContext {
    pub(crate) hwc: Arc<Hwc>,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) dev: DevId,
}

impl ObjectContext {
    fn send<R: Request>(&self, mut req: R) -> Result<R::Response> {
        req.req_hdr_mut().dev_id = self.dev;
        request(&self.hwc, &mut req)
    }
}

/// Checks a queue size: a power of two of at least one page.
fn check_queue_bytes(bytes: u32) -> Result {
    if bytes < MIN_QUEUE_BYTES || !bytes.is_power_of_two() {
        pr_err!(
            "queue size {} is not a power of two of at least {} bytes\n",
            bytes,
            MIN_QUEUE_BYTES
        );
        return Err(EINVAL);
    }
    Ok(())
}

/// Device-visible memory registered with the device as a DMA region.
///
/// A region given to a queue or MR the device creates belongs to that object from then on:
/// the device destroys it with the object (the C driver forgets the handle,
/// `GDMA_INVALID_DMA_REGION`), so the core must not destroy it again.
pub struct DmaRegion {
    ctx: ObjectContext,
    handle: u64,
    // Freed after the region is destroyed (field order).
    mem: DmaBuf,
}

/// Registers the 4 KiB pages at `pages` (device addresses) as one region; returns its handle.
///
/// As `mana_ib_gd_create_dma_region()`: CREATE_DMA_REGION announces every page and lists as
/// many as one request of the channel carries; DMA_REGION_ADD_PAGES requests list the rest, in
/// order. Each answer but the last says that more pages are due (`STATUS_MORE_ENTRIES`), the
/// last one succeeds plainly; any other answer is `EPROTO`. A failure after CREATE_DMA_REGION
/// destroys the partial region.
fn create_region(ctx: &ObjectContext, pages: &[u64]) -> Result<u64> {
    let count = u32::try_from(pages.len()).map_err(|_| EINVAL)?;
    if count == 0
        || pages
            .iter()
            .any(|a| a % u64::from(queue::MANA_PAGE_SIZE) != 0)
    {
        pr_err!("a DMA region needs at least one page, each 4 KiB aligned\n");
        return Err(EINVAL);
    }
    let length = u64::from(count) * u64::from(queue::MANA_PAGE_SIZE);
    let max_req = ctx.hwc.max_request();
    let per_request = |fixed: usize, wire_max: usize| {
        (max_req.saturating_sub(fixed) / size_of::<u64>()).min(wire_max)
    };
    let first_max = per_request(
        size_of::<CreateDmaRegionReq>(),
        CreateDmaRegionReq::MAX_PAGES,
    );
    let add_max = per_request(
        size_of::<DmaRegionAddPagesReq>(),
        DmaRegionAddPagesReq::MAX_PAGES,
    );
    if first_max == 0 || add_max == 0 {
        pr_err!(
            "the hardware channel's requests ({} bytes) cannot carry a page list\n",
            max_req
        );
        return Err(EINVAL);
    }
    // One buffer for every request of the region.
    let mut msg = KVec::from_elem(0u8, max_req, GFP_KERNEL)?;
    let (first, rest) = pages.split_at(pages.len().min(first_max));

    let listed = u32::try_from(first.len()).map_err(|_| EINVAL)?;
    let mut req = CreateDmaRegionReq::new(length, count, listed)?;
    req.hdr.dev_id = ctx.dev;
    let len = req.write(first, &mut msg)?;
    let mut resp = CreateDmaRegionResp::zeroed();
    let min = size_of_val(&resp);
    ctx.hwc.send(&mut msg[..len], resp.as_bytes_mut(), min)?;
    if resp.dma_region_handle == INVALID_DMA_REGION {
        // The device made no region: nothing to destroy.
        kernel::pr_err_ratelimited!("the device returned an invalid DMA region handle\n");
        return Err(EPROTO);
    }
    let handle = resp.dma_region_handle;
    let added = region_status("CREATE_DMA_REGION", resp.hdr.status, !rest.is_empty())
        .and_then(|()| add_region_pages(ctx, handle, rest, add_max, &mut msg));
    if let Err(e) = added {
        kernel::pr_err_ratelimited!(
            "registering a DMA region of {} pages failed ({:?}); destroying it\n",
            count,
            e
        );
        destroy_region(ctx, handle);
        return Err(e);
    }
    Ok(handle)
}

/// Sends `pages`, the rest of region `handle`, in DMA_REGION_ADD_PAGES requests of at most
/// `per_request` pages each, built in `msg`.
fn add_region_pages(
    ctx: &ObjectContext,
    handle: u64,
    mut pages: &[u64],
    per_request: usize,
    msg: &mut [u8],
) -> Result {
    while !pages.is_empty() {
        let (now, later) = pages.split_at(pages.len().min(per_request));
        let listed = u32::try_from(now.len()).map_err(|_| EINVAL)?;
        let mut req = DmaRegionAddPagesReq::new(handle, listed)?;
        req.hdr.dev_id = ctx.dev;
        let len = req.write(now, msg)?;
        let mut resp = GeneralResp::zeroed();
        let min = size_of_val(&resp);
        ctx.hwc
            .send(msg.get_mut(..len).ok_or(EINVAL)?, resp.as_bytes_mut(), min)?;
        region_status("DMA_REGION_ADD_PAGES", resp.hdr.status, !later.is_empty())?;
        pages = later;
    }
    Ok(())
}

/// Checks the status of an answer to a request of a region whose pages are `more` to come
/// (`STATUS_MORE_ENTRIES`) or complete (success).
fn region_status(what: &str, status: u32, more: bool) -> Result {
    let expected = if more {
        STATUS_MORE_ENTRIES
    } else {
        STATUS_SUCCESS
    };
    if status != expected {
        kernel::pr_err_ratelimited!(
            "{} answered status 0x{:x}, expected 0x{:x}\n",
            what,
            status,
            expected
        );
        return Err(EPROTO);
    }
    Ok(())
}

/// Logs a failed destroy request, except when the hardware channel is closed (a device reset,
/// or removal): the device's objects went away with it, so there is nothing to report.
fn destroy_failed(what: core::fmt::Arguments<'_>, e: Error) {
    if e != ESHUTDOWN {
        pr_err!("{} failed: {:?}\n", what, e);
    }
}

fn destroy_region(ctx: &ObjectContext, handle: u64) {
    if handle == INVALID_DMA_REGION {
        // A device object owns it, and destroyed it with itself.
        return;
    }
    if let Err(e) = ctx.send(DestroyDmaRegionReq::new(handle)) {
        destroy_failed(fmt!("DESTROY_DMA_REGION 0x{:x}", handle), e);
    }
}

impl DmaRegion {
    /// Allocates `bytes` (a power of two of at least 4 KiB) and registers them.
    pub fn new(ctx: &ObjectContext, bytes: u32) -> Result<Self> {
        check_queue_bytes(bytes)?;
        let mem = ctx.transport.alloc_dma(bytes as usize)?;
        let pages = bytes / queue::MANA_PAGE_SIZE;
        let mut list = KVec::with_capacity(pages as usize, GFP_KERNEL)?;
        for i in 0..pages {
            list.push(
                mem.dma_addr() + u64::from(i * queue::MANA_PAGE_SIZE),
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            ctx: ctx.clone(),
            handle: create_region(ctx, &list)?,
            mem,
        })
    }

    /// The device's handle of the region.
    pub fn handle(&self) -> u64 {
        self.handle
    }

    /// The memory.
    pub fn mem(&self) -> &DmaBuf {
        &self.mem
    }
}

impl DmaRegion {
    /// Records that a device object now owns the region (see [`DmaRegion`]).
    fn handed_over(&mut self) {
        self.handle = INVALID_DMA_REGION;
    }
}

impl Drop for DmaRegion {
    fn drop(&mut self) {
        destroy_region(&self.ctx, self.handle);
    }
}

/// Memory the caller owns (e.g. pinned user pages), registered with the device as a DMA
/// region. The caller keeps the pages mapped for as long as this value lives, and as long as a
/// device object it was handed to (a queue, an MR) lives.
pub struct PageListRegion {
    ctx: ObjectContext,
    handle: u64,
    pages: u32,
}

impl PageListRegion {
    /// Registers the 4 KiB pages at the device addresses `pages`.
    pub fn new(ctx: &ObjectContext, pages: &[u64]) -> Result<Self> {
        Ok(Self {
            ctx: ctx.clone(),
            handle: create_region(ctx, pages)?,
            pages: u32::try_from(pages.len()).map_err(|_| EINVAL)?,
        })
    }

    /// The device's handle of the region.
    pub fn handle(&self) -> u64 {
        self.handle
    }

    /// Whether the region is empty (never: a region has at least one page).
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }

    /// The region's length in bytes.
    pub fn len(&self) -> u64 {
        u64::from(self.pages) * u64::from(queue::MANA_PAGE_SIZE)
    }
}

impl PageListRegion {
    /// Records that a device object now owns the region (see [`DmaRegion`]).
    fn handed_over(&mut self) {
        self.handle = INVALID_DMA_REGION;
    }
}

impl Drop for PageListRegion {
    fn drop(&mut self) {
        destroy_region(&self.ctx, self.handle);
    }
}

/// A memory region: a registered DMA region made accessible to a protection domain.
///
/// The region it covers must outlive it; the ib core destroys MRs before their PD.
pub struct MemoryRegion {
    ctx: ObjectContext,
    handle: u64,
    lkey: u32,
    rkey: u32,
}

impl MemoryRegion {
    /// Registers `region` for `pd` at virtual address `va` with `access` flags
    /// (`wire::gdma_msgs::access`), as `reg_user_mr` does for a GVA MR. The MR owns the region
    /// from then on; its pages must stay mapped until the MR is dropped.
    pub fn new_gva(
        ctx: &ObjectContext,
        pd: &ProtectionDomain,
        region: &mut PageListRegion,
        va: u64,
        access: u32,
    ) -> Result<Self> {
        let resp = ctx.send(CreateMrReq::new_gva(
            pd.handle(),
            region.handle(),
            va,
            access,
        ))?;
        region.handed_over();
        Ok(Self {
            ctx: ctx.clone(),
            handle: resp.mr_handle,
            lkey: resp.lkey,
            rkey: resp.rkey,
        })
    }

    /// Registers `region` for `pd` as a zero-based MR with `access` flags.
    pub fn new_zbva(
        ctx: &ObjectContext,
        pd: &ProtectionDomain,
        region: &mut PageListRegion,
        access: u32,
    ) -> Result<Self> {
        let resp = ctx.send(CreateMrReq::new_zbva(pd.handle(), region.handle(), access))?;
        region.handed_over();
        Ok(Self {
            ctx: ctx.clone(),
            handle: resp.mr_handle,
            lkey: resp.lkey,
            rkey: resp.rkey,
        })
    }

    /// The local key.
    pub fn lkey(&self) -> u32 {
        self.lkey
    }

    /// The remote key.
    pub fn rkey(&self) -> u32 {
        self.rkey
    }
}

impl Drop for MemoryRegion {
    fn drop(&mut self) {
        if let Err(e) = self.ctx.send(DestroyMrReq::new(self.handle)) {
            destroy_failed(fmt!("DESTROY_MR 0x{:x}", self.handle), e);
        }
    }
}

/// An event queue.
pub struct EventQueue {
    ctx: ObjectContext,
    id: u32,
    // Owned by the queue on the device; freed after the queue is disabled (field order).
    region: DmaRegion,
}

impl EventQueue {
    /// Creates an event queue of `bytes` delivering to MSI-X vector `msix`, for the PD and
    /// doorbell page `pdid`/`doorbell`.
    ///
    /// The queue is shared: every [`WqObject`] whose completion queue reports to it holds a
    /// reference, so it cannot be disabled while one of them lives.
    pub fn new(
        ctx: &ObjectContext,
        bytes: u32,
        msix: u32,
        pdid: u32,
        doorbell: u32,
    ) -> Result<Arc<Self>> {
        let mut region = DmaRegion::new(ctx, bytes)?;
        let req = CreateQueueReq::new_eq(
            pdid,
            doorbell,
            region.handle(),
            bytes,
            LOG2_EQ_THROTTLE,
            msix,
        );
        let resp = ctx.send(req)?;
        region.handed_over();
        let eq = Self {
            ctx: ctx.clone(),
            id: resp.queue_index,
            region,
        };
        Ok(Arc::new(eq, GFP_KERNEL)?)
    }

    /// The queue's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The queue's memory.
    pub fn mem(&self) -> &DmaBuf {
        self.region.mem()
    }
}

impl Drop for EventQueue {
    fn drop(&mut self) {
        if let Err(e) = self.ctx.send(DisableQueueReq::new(queue_type::EQ, self.id)) {
            destroy_failed(fmt!("DISABLE_QUEUE for EQ {}", self.id), e);
        }
    }
}

/// The kind of a work-queue object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WqKind {
    /// A send queue.
    Send,
    /// A receive queue.
    Receive,
}

impl WqKind {
    fn raw(self) -> u32 {
        match self {
            WqKind::Send => queue_type::SQ,
            WqKind::Receive => queue_type::RQ,
        }
    }
}

/// The device side of a work-queue object (CREATE_WQ_OBJ / DESTROY_WQ_OBJ), whatever memory
/// its queues are in: destroyed when dropped.
struct DeviceWq {
    ctx: ObjectContext,
    kind: WqKind,
    handle: Handle,
    wq_id: u32,
    cq_id: u32,
}

impl DeviceWq {
    /// Creates a `kind` queue of `wq.1` bytes in region `wq.0` on `vport`, with a completion
    /// queue of `cq.1` bytes in region `cq.0` whose events go to `eq`.
    fn create(
        ctx: &ObjectContext,
        vport: Handle,
        kind: WqKind,
        (wq, wq_bytes): (u64, u32),
        (cq, cq_bytes): (u64, u32),
        eq: &EventQueue,
    ) -> Result<Self> {
        let req = CreateWqObjReq::new(vport, kind.raw(), wq, wq_bytes, cq, cq_bytes, eq.id());
        let resp = ctx.send(req)?;
        Ok(Self {
            ctx: ctx.clone(),
            kind,
            handle: resp.wq_obj,
            wq_id: resp.wq_id,
            cq_id: resp.cq_id,
        })
    }
}

impl Drop for DeviceWq {
    fn drop(&mut self) {
        if let Err(e) = self
            .ctx
            .send(DestroyWqObjReq::new(self.kind.raw(), self.handle))
        {
            destroy_failed(fmt!("DESTROY_WQ_OBJ 0x{:x}", self.handle), e);
        }
    }
}

/// A send or receive queue with its completion queue (MANA's CREATE_WQ_OBJ).
pub struct WqObject {
    // Destroyed first; the regions it owns on the device are released after it (field order),
    // and the EQ after them.
    obj: DeviceWq,
    wq: DmaRegion,
    cq: DmaRegion,
    eq: Arc<EventQueue>,
}

impl WqObject {
    /// Creates a `kind` queue of `wq_bytes` on `vport` with a completion queue of `cq_bytes`
    /// whose events go to event queue `eq`.
    pub fn new(
        ctx: &ObjectContext,
        vport: Handle,
        kind: WqKind,
        wq_bytes: u32,
        cq_bytes: u32,
        eq: &Arc<EventQueue>,
    ) -> Result<Self> {
        check_queue_bytes(wq_bytes)?;
        check_queue_bytes(cq_bytes)?;
        let mut wq = DmaRegion::new(ctx, wq_bytes)?;
        let mut cq = DmaRegion::new(ctx, cq_bytes)?;
        let obj = DeviceWq::create(
            ctx,
            vport,
            kind,
            (wq.handle(), wq_bytes),
            (cq.handle(), cq_bytes),
            eq,
        )?;
        wq.handed_over();
        cq.handed_over();
        Ok(Self {
            obj,
            wq,
            cq,
            eq: eq.clone(),
        })
    }

    /// The event queue the completion queue reports to.
    pub fn eq(&self) -> &Arc<EventQueue> {
        &self.eq
    }

    /// The work queue's id.
    pub fn wq_id(&self) -> u32 {
        self.obj.wq_id
    }

    /// The completion queue's id.
    pub fn cq_id(&self) -> u32 {
        self.obj.cq_id
    }

    /// The device's handle of the object.
    pub fn handle(&self) -> Handle {
        self.obj.handle
    }

    /// Fences a receive queue (MANA_FENCE_RQ): the device then writes an RX_OBJECT_FENCE
    /// completion to the queue's completion queue after every receive it began before. Once
    /// the driver has read it, the device writes nothing more into the queue's buffers. `EINVAL`
    /// for a send queue.
    pub fn fence(&self) -> Result {
        if self.obj.kind != WqKind::Receive {
            return Err(EINVAL);
        }
        self.obj.ctx.send(FenceRqReq::new(self.obj.handle))?;
        Ok(())
    }

    /// The work queue's memory.
    pub fn wq_mem(&self) -> &DmaBuf {
        self.wq.mem()
    }

    /// The completion queue's memory.
    pub fn cq_mem(&self) -> &DmaBuf {
        self.cq.mem()
    }
}

/// A protection domain.
pub struct ProtectionDomain {
    ctx: ObjectContext,
    handle: u64,
    id: u32,
}

impl ProtectionDomain {
    /// Creates a protection domain with `flags` (e.g. short PDN).
    pub fn new(ctx: &ObjectContext, flags: u32) -> Result<Self> {
        let mut req = new_request::<CreatePdReq>();
        req.flags = flags;
        let resp = ctx.send(req)?;
        Ok(Self {
            ctx: ctx.clone(),
            handle: resp.pd_handle,
            id: resp.pd_id,
        })
    }

    /// The PD number.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The device's handle of the PD.
    pub fn handle(&self) -> u64 {
        self.handle
    }
}

impl Drop for ProtectionDomain {
    fn drop(&mut self) {
        if let Err(e) = self.ctx.send(DestroyPdReq::new(self.handle)) {
            destroy_failed(fmt!("DESTROY_PD {}", self.id), e);
        }
    }
}

/// A receive or send queue in memory the caller owns (user memory of an RDMA process) with
/// its completion queue, as an RDMA RAW or RSS QP creates it (MANA's CREATE_WQ_OBJ).
pub struct UserWqObject {
    // Destroyed first; the regions it owns on the device are released after it (field order),
    // and the EQ after them.
    obj: DeviceWq,
    _wq: PageListRegion,
    _cq: PageListRegion,
    eq: Arc<EventQueue>,
}

impl UserWqObject {
    /// Creates a `kind` queue of `wq.1` bytes in region `wq.0` on `vport`, with a completion
    /// queue of `cq.1` bytes in region `cq.0` whose events go to `eq`. On failure the regions
    /// are destroyed.
    pub fn new(
        ctx: &ObjectContext,
        vport: Handle,
        kind: WqKind,
        (mut wq, wq_bytes): (PageListRegion, u32),
        (mut cq, cq_bytes): (PageListRegion, u32),
        eq: &Arc<EventQueue>,
    ) -> Result<Self> {
        check_queue_bytes(wq_bytes)?;
        check_queue_bytes(cq_bytes)?;
        if u64::from(wq_bytes) > wq.len() || u64::from(cq_bytes) > cq.len() {
            pr_err!(
                "a queue of {} bytes does not fit its region of {} bytes (or {} in {})\n",
                wq_bytes,
                wq.len(),
                cq_bytes,
                cq.len()
            );
            return Err(EINVAL);
        }
        let obj = DeviceWq::create(
            ctx,
            vport,
            kind,
            (wq.handle(), wq_bytes),
            (cq.handle(), cq_bytes),
            eq,
        )?;
        wq.handed_over();
        cq.handed_over();
        Ok(Self {
            obj,
            _wq: wq,
            _cq: cq,
            eq: eq.clone(),
        })
    }

    /// The event queue the completion queue reports to.
    pub fn eq(&self) -> &Arc<EventQueue> {
        &self.eq
    }

    /// The work queue's id.
    pub fn wq_id(&self) -> u32 {
        self.obj.wq_id
    }

    /// The completion queue's id.
    pub fn cq_id(&self) -> u32 {
        self.obj.cq_id
    }

    /// The device's handle of the object.
    pub fn handle(&self) -> Handle {
        self.obj.handle
    }
}

/// A doorbell page of the device (ALLOCATE_RESOURCE_RANGE), e.g. one RDMA user context's.
pub struct DoorbellPage {
    ctx: ObjectContext,
    index: u32,
}

impl DoorbellPage {
    /// Allocates a doorbell page, aligned to a system page as the C driver asks.
    pub fn new(ctx: &ObjectContext) -> Result<Self> {
        let align = (kernel::page::PAGE_SIZE as u32 / queue::MANA_PAGE_SIZE).max(1);
        // Addressed to the GDMA device itself (dev_id 0), as in the C driver.
        let mut req = AllocateResourceRangeReq::new(RESOURCE_DOORBELL_PAGE, 1, align);
        let resp = request(&ctx.hwc, &mut req)?;
        Ok(Self {
            ctx: ctx.clone(),
            index: resp.allocated_resources,
        })
    }

    /// The page's index.
    pub fn index(&self) -> u32 {
        self.index
    }
}

impl Drop for DoorbellPage {
    fn drop(&mut self) {
        let mut req = DestroyResourceRangeReq::new(RESOURCE_DOORBELL_PAGE, 1, self.index);
        if let Err(e) = request(&self.ctx.hwc, &mut req) {
            destroy_failed(
                fmt!("DESTROY_RESOURCE_RANGE of doorbell page {}", self.index),
                e,
            );
        }
    }
}
