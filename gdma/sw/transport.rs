// SPDX-License-Identifier: GPL-2.0-only

//! The kernel host of the software MANA device: it serializes the device model, runs it on a
//! workqueue the way hardware runs beside the CPU, and delivers its interrupts.

use kernel::{
    alloc::flags::__GFP_ZERO,
    dma::DataDirection,
    dma_stream::SharedPage,
    netdev::skb::Skb,
    new_mutex,
    new_spinlock,
    new_spinlock_irq,
    page::Page,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed, //
        },
        Arc,
        Mutex,
        SpinLock,
        SpinLockIrq, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
    workqueue::{
        self,
        impl_has_work,
        new_work,
        Work,
        WorkItem, //
    }, //
};

use super::{
    datapath::HWC_DOORBELL_PAGE,
    device::{
        SwConfig,
        SwDevice,
        BAR0_SIZE,
        DB_PAGE_OFFSET,
        DB_PAGE_SIZE,
        NUM_DB_PAGES, //
    },
    host::errno,
    memory::SwMemory, //
};
use crate::{
    dma::{
        DmaBuf,
        DoorbellFrame,
        SkbMap,
        StreamMap,
        UserMemory,
        UserPages, //
    },
    hwc::ServiceRequest,
    transport::{
        InterruptHandler,
        Transport, //
    },
    wire::queue, //
};
use mana_model::host::NoWire;

/// The most MSI-X vectors a software device offers.
const MAX_VECTORS: usize = 64;
/// The most data-path doorbells waiting for the device (one per queue and type suffices: a
/// later write to the same queue's doorbell replaces an earlier one).
const MAX_PENDING_DOORBELLS: usize = 1024;

/// One software MANA function as the core sees it.
#[pin_data]
pub(crate) struct SwTransport {
    #[pin]
    device: Mutex<KVBox<SwDevice>>,
    memory: Arc<SwMemory>,
    #[pin]
    handlers: SpinLock<[Option<Arc<dyn InterruptHandler>>; MAX_VECTORS]>,
    /// Calls of each vector's handler in progress.
    delivering: [Atomic<u32>; MAX_VECTORS],
    /// Data-path doorbell writes (doorbell page, queue type, value) not yet seen by the device.
    /// Doorbells are rung from atomic context (transmit, NAPI), where the device's mutex cannot
    /// be taken: like posted PCI writes, they reach the device a little later, in order per
    /// queue.
    #[pin]
    doorbells: SpinLockIrq<KVec<(usize, u32, u64)>>,
    lost_doorbells: Atomic<u32>,
    #[pin]
    work: Work<SwTransport>,
    epoch: Instant<Monotonic>,
    /// System pages standing in for the doorbell pages when a process maps one (allocated on
    /// first use); the model does not watch them (KUnit rings a process's doorbells with
    /// `SwAdapter::ring_user_doorbell`).
    #[pin]
    doorbell_pages: Mutex<KVec<Option<Page>>>,
}

impl_has_work! {
    impl HasWork<Self> for SwTransport { self.work }
}

impl SwTransport {
    /// Creates a software function with `config`.
    pub(crate) fn new(config: SwConfig) -> Result<Arc<Self>> {
        // The device is hundreds of KiB (fixed tables, packet buffers): zeroed in place.
        let mut device = KVBox::init(pin_init::zeroed::<SwDevice>(), GFP_KERNEL)?;
        device
            .power_on(config, &super::host::KERNEL_LOG)
            .map_err(errno)?;
        let memory = SwMemory::new()?;
        let doorbells = KVec::with_capacity(MAX_PENDING_DOORBELLS, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                device <- new_mutex!(device),
                memory,
                handlers <- new_spinlock!([const { None }; MAX_VECTORS]),
                delivering: [const { Atomic::new(0) }; MAX_VECTORS],
                doorbells <- new_spinlock_irq!(doorbells),
                lost_doorbells: Atomic::new(0),
                work <- new_work!("SwTransport::work"),
                epoch: Instant::now(),
                doorbell_pages <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// The device model's clock: microseconds since the device was created.
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_nanos().max(0) as u64 / 1000
    }

    /// Runs `f` on the device model (fault injection, statistics).
    pub(crate) fn with_device<R>(&self, f: impl FnOnce(&mut SwDevice) -> R) -> R {
        f(&mut self.device.lock())
    }

    /// Has the device report a link change, and delivers the event.
    pub(crate) fn set_link(self: &Arc<Self>, up: bool) -> Result {
        self.device
            .lock()
            .set_link(&*self.memory, up)
            .map_err(errno)?;
        self.kick();
        Ok(())
    }

    /// Has the device ask the driver for a service operation, and delivers the event.
    pub(crate) fn service(self: &Arc<Self>, request: ServiceRequest) -> Result {
        self.device
            .lock()
            .service_event(&*self.memory, request)
            .map_err(errno)?;
        self.kick();
        Ok(())
    }

    /// Like [`Self::service`], and runs `arm` on the device in the same hold of its lock, after
    /// the event: a reset clears the faults armed before it, and a fault armed after the call
    /// returned can come too late for the bring-up (the driver may run the whole cycle first).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn service_then(
        self: &Arc<Self>,
        request: ServiceRequest,
        arm: impl FnOnce(&mut SwDevice) -> Result,
    ) -> Result {
        {
            let mut dev = self.device.lock();
            dev.service_event(&*self.memory, request).map_err(errno)?;
            arm(&mut dev)?;
        }
        self.kick();
        Ok(())
    }

    /// Stalls or releases the send queues of vport `index`, and delivers the completions a
    /// release produced.
    pub(crate) fn set_tx_stall(&self, index: u32, stalled: bool) -> Result {
        let irqs = {
            let mut dev = self.device.lock();
            dev.set_tx_stall(&*self.memory, &mut NoWire, index, stalled)
                .map_err(errno)?;
            dev.take_interrupts()
        };
        self.deliver(irqs);
        Ok(())
    }

    /// The number of device-visible buffers and streaming mappings the core holds.
    pub(crate) fn live_buffers(&self) -> usize {
        self.memory.live_buffers()
    }

    /// The number of streaming mappings the core holds.
    pub(crate) fn live_streams(&self) -> usize {
        self.memory.live_streams()
    }

    fn deliver(&self, mut vectors: u64) {
        while vectors != 0 {
            let vector = vectors.trailing_zeros() as usize;
            vectors &= vectors - 1;
            // Counted before the handler is looked up, so that `set_interrupt_handler` can wait
            // for this call to end (see there).
            self.delivering[vector].fetch_add(1, Full);
            let handler = self.handlers.lock()[vector].clone();
            if let Some(handler) = handler {
                handler.handle();
            }
            self.delivering[vector].fetch_sub(1, Full);
        }
    }

    fn kick(self: &Arc<Self>) {
        // Already queued is fine: the queued run will see the new work.
        let _ = workqueue::system_long().enqueue(self.clone());
    }
}

impl WorkItem for SwTransport {
    type Pointer = Arc<SwTransport>;

    fn run(this: Arc<SwTransport>) {
        // One batch of data-path doorbells, then every hardware-channel request that is due,
        // in turns: the hardware runs its control path beside the data path, so a steady
        // stream of packets must not hold a request back (an `ethtool -X` under traffic waited
        // seconds while every run drained the doorbells first).
        loop {
            let more_packets = this.run_datapath_batch();
            let mut wait_us = None;
            loop {
                let delay = this
                    .device
                    .lock()
                    .next_request_delay_us(&*this.memory, this.now_us());
                match delay {
                    None => break,
                    Some(0) => {
                        let irqs = {
                            let mut dev = this.device.lock();
                            dev.process_one(&*this.memory);
                            dev.take_interrupts()
                        };
                        this.deliver(irqs);
                    }
                    Some(us) => {
                        wait_us = Some(us);
                        break;
                    }
                }
            }
            if more_packets {
                continue;
            }
            match wait_us {
                Some(us) => kernel::time::delay::fsleep(Delta::from_micros(us as i64)),
                None => break,
            }
        }
        let irqs = this.device.lock().take_interrupts();
        this.deliver(irqs);
    }
}

impl SwTransport {
    /// Hands the waiting data-path doorbells to the device, lets it process what they posted
    /// and delivers the interrupts. Returns whether more doorbells were rung meanwhile.
    fn run_datapath_batch(&self) -> bool {
        // Most runs are for the hardware channel: no buffer to swap in then.
        if self.doorbells.lock().is_empty() {
            return false;
        }
        // The device gets the waiting doorbells; the transport gets a fresh buffer.
        let mut batch = KVec::<(usize, u32, u64)>::new();
        let _ = batch.reserve(MAX_PENDING_DOORBELLS, GFP_KERNEL);
        core::mem::swap(&mut batch, &mut *self.doorbells.lock());
        let irqs = {
            let mut dev = self.device.lock();
            for (page, qtype, value) in batch.iter() {
                dev.data_doorbell(&*self.memory, *page, *qtype, *value);
            }
            dev.process_datapath(&*self.memory, &mut NoWire);
            dev.take_interrupts()
        };
        self.deliver(irqs);
        !self.doorbells.lock().is_empty()
    }

    /// Rings doorbell `qtype` (SQ, RQ or CQ) of data-path doorbell page `page` with `value`,
    /// as a process that mapped the page writes it; `EINVAL` for the hardware channel's page,
    /// a page the device does not have or another doorbell.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn ring_on_page(self: &Arc<Self>, page: u32, qtype: u32, value: u64) -> Result {
        let page = page as usize;
        if page == HWC_DOORBELL_PAGE
            || page >= NUM_DB_PAGES
            || !matches!(
                qtype,
                queue::queue_type::SQ | queue::queue_type::RQ | queue::queue_type::CQ
            )
        {
            return Err(EINVAL);
        }
        self.post_doorbell(page, qtype, value);
        self.kick();
        Ok(())
    }

    /// Queues a data-path doorbell write on doorbell page `page` for the device.
    fn post_doorbell(&self, page: usize, qtype: u32, value: u64) {
        let id = value & 0xff_ffff;
        let mut pending = self.doorbells.lock();
        if let Some(d) = pending
            .iter_mut()
            .find(|d| d.0 == page && d.1 == qtype && d.2 & 0xff_ffff == id)
        {
            d.2 = value;
        } else if pending.push((page, qtype, value), GFP_ATOMIC).is_err() {
            drop(pending);
            if self.lost_doorbells.fetch_add(1, Relaxed) == 0 {
                pr_err!("mana_sw: too many doorbells waiting; doorbell lost\n");
            }
        }
    }
}

/// The [`Transport`] of a software function: an `Arc<SwTransport>`.
pub(crate) struct SwTransportRef(pub(crate) Arc<SwTransport>);

impl Transport for SwTransportRef {
    fn read32(&self, offset: usize) -> Result<u32> {
        if offset + 4 > BAR0_SIZE {
            return Err(EINVAL);
        }
        Ok(self.0.device.lock().read32(offset))
    }

    fn write32(&self, offset: usize, value: u32) -> Result {
        if offset + 4 > BAR0_SIZE {
            return Err(EINVAL);
        }
        self.0.device.lock().write32(&*self.0.memory, offset, value);
        // Interrupts the write raised are delivered from the device's own context, never from
        // the writer's.
        self.0.kick();
        Ok(())
    }

    fn read64(&self, offset: usize) -> Result<u64> {
        if offset + 8 > BAR0_SIZE {
            return Err(EINVAL);
        }
        Ok(self.0.device.lock().read64(offset))
    }

    fn ring_doorbell(&self, offset: usize, value: u64) -> Result {
        if offset + 8 > BAR0_SIZE {
            return Err(EINVAL);
        }
        if let Some(in_pages) = offset.checked_sub(DB_PAGE_OFFSET) {
            let page = in_pages / DB_PAGE_SIZE;
            let qtype = queue::doorbell_queue_type((in_pages % DB_PAGE_SIZE) as u64);
            if page != HWC_DOORBELL_PAGE && page < NUM_DB_PAGES {
                if let Some(qtype) = qtype {
                    self.0.post_doorbell(page, qtype, value);
                    self.0.kick();
                    return Ok(());
                }
            }
        }
        self.0
            .device
            .lock()
            .doorbell(&*self.0.memory, &mut NoWire, offset, value, self.0.now_us());
        self.0.kick();
        Ok(())
    }

    fn alloc_dma(&self, size: usize) -> Result<DmaBuf> {
        self.0.memory.alloc(size)
    }

    fn map_page(
        &self,
        page: SharedPage,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Result<StreamMap> {
        self.0.memory.map_page(page, offset, len, dir)
    }

    fn map_skb(&self, skb: Skb) -> Result<SkbMap> {
        self.0.memory.map_skb(skb)
    }

    fn set_interrupt_handler(
        &self,
        vector: u32,
        handler: Option<Arc<dyn InterruptHandler>>,
    ) -> Result {
        let max = self.0.device.lock().config().num_vectors;
        if vector >= max {
            return Err(EINVAL);
        }
        let old = core::mem::replace(&mut self.0.handlers.lock()[vector as usize], handler);
        drop(old);
        // Like `synchronize_irq()`: once this returns, no call of the old handler is running
        // and the device holds no reference to it. A delivery that starts now finds the new one.
        while self.0.delivering[vector as usize].load(Acquire) != 0 {
            kernel::time::delay::fsleep(Delta::from_micros(10));
        }
        Ok(())
    }

    fn num_vectors(&self) -> u32 {
        self.0.device.lock().config().num_vectors
    }

    fn map_user_pages(&self, pages: &[u64], cpu: &Arc<dyn UserMemory>) -> Result<UserPages> {
        self.0.memory.map_user(pages, cpu)
    }

    fn with_doorbell_page(
        &self,
        index: u32,
        _offset: usize,
        map: &mut dyn FnMut(DoorbellFrame<'_>) -> Result,
    ) -> Result {
        let index = index as usize;
        if index >= NUM_DB_PAGES {
            return Err(EINVAL);
        }
        let mut pages = self.0.doorbell_pages.lock();
        while pages.len() <= index {
            pages.push(None, GFP_KERNEL)?;
        }
        let slot = &mut pages[index];
        if slot.is_none() {
            *slot = Some(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?);
        }
        match slot {
            Some(page) => map(DoorbellFrame::Memory(page)),
            None => Err(ENOMEM),
        }
    }
}
