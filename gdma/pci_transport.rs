// SPDX-License-Identifier: GPL-2.0-only

//! The [`Transport`] of a MANA PCI function: BAR0, coherent DMA memory and MSI-X vectors.
//!
//! C: `mana_gd_init_registers()`, `mana_gd_init_vf_regs()`, `mana_gd_init_pf_regs()`,
//! `mana_gd_ring_doorbell()`, `mana_gd_alloc_memory()` and `mana_gd_setup_hwc_irqs()` in
//! `drivers/net/ethernet/microsoft/mana/gdma_main.c`.
//!
//! # Lifetimes and revocation
//!
//! The core holds its transport as an `Arc<dyn Transport>`, which must be `'static`, while every
//! PCI resource in 7.3 is tied to the bound device (`Bar<'bound>`, `IrqVectorRegistration<'bound>`,
//! `ThreadedRegistration<'bound, _>`). The resources are therefore split in two:
//!
//! - [`PciTransport`] (`'static`, shared with the core) holds only what can outlive the binding
//!   soundly:
//!   - BAR0 as a [`pci::DevresBar`] (a `Devres`): every register access and doorbell goes through
//!     `try_access()`, an RCU read-side section, and fails with `ENXIO` once the device is unbound
//!     and devres has unmapped the BAR. This is the pattern `Bar::into_devres()` exists for; it
//!     is lock-free and usable from any context.
//!   - A reference to the device for DMA allocations, behind a gate ([`PciTransport::close_dma`]):
//!     `Coherent` needs a `&Device<Bound>` and may sleep, so a revocable RCU guard cannot cover
//!     it. The gate is a mutex that is open from probe until the PCI driver's data is dropped
//!     (which `post_unbind` does while the device is still bound); an allocation holds the mutex,
//!     so the device is bound for its whole duration, and after the gate closes `alloc_dma`
//!     fails with `ENXIO`. Buffers already handed out keep an `ARef` to the device and are freed
//!     with it; that `Coherent` is not revoked on unbind is the kernel's own TODO (`dma.rs`).
//!   - The device's streaming DMA capability as a [`StreamDevice`] (a `Devres`): each packet's
//!     mapping (`map_skb`, `map_page`, from any context) takes it with `try_access()`, an RCU
//!     read-side section that proves the device bound, and fails with `ENXIO` once devres has
//!     revoked it at the unbind. No lock and no `unsafe` per packet.
//!   - The table of interrupt handlers ([`Handlers`]), shared with the IRQ registrations.
//! - The PCI driver's data (`pci_drv.rs`, `Data<'bound>`) holds the MSI-X allocation and one
//!   [`ThreadedRegistration`] per vector ([`register_irqs`]), so `free_irq()` and
//!   `pci_free_irq_vectors()` run on unbind, in that order, whatever the core still holds.
//!
//! # Interrupts
//!
//! Each vector gets a threaded registration (7.3's [`ThreadedRegistration`], whose
//! [`ThreadedHandler::handle`] is the hard interrupt handler). The core's handler of a vector
//! says where it runs ([`IrqContext`]):
//!
//! - The data path's ([`IrqContext::Hard`]: drain the event queue, re-arm it, schedule NAPI)
//!   is called from the hard interrupt handler, which then returns `IRQ_HANDLED` without
//!   waking the thread, as the C driver's `mana_gd_intr()` does: a received packet costs no
//!   thread wakeup.
//! - The hardware channel's ([`IrqContext::Thread`]: it takes a kernel `Mutex` and wakes
//!   waiters) makes the hard handler return `IRQ_WAKE_THREAD`; the IRQ thread calls it in
//!   process context.
//!
//! The handlers live in a [`SpinLockIrq`] because the hard handler reads it in interrupt
//! context; a caller clones the `Arc` under the lock and calls it outside. Replacing a handler
//! waits, as `synchronize_irq()` does, until no caller is between reading the slot and
//! dropping its clone (a count per vector), so the core may destroy what the old handler
//! touches (its event queue) as soon as `set_interrupt_handler` returns. The same wait makes
//! the interrupt's clone never the last reference: the replaced handler is dropped by the
//! replacer, in process context.
//!
//! # Registers of a PF
//!
//! The core reads the doorbell page offset, the doorbell page size and the SMC offset at the VF
//! offsets (0x08, 0x10, 0x18). A VF (and the PF 0x00C1) has them there; the PF 0x00B9 has its
//! own doorbell registers and finds the SMC through its SR-IOV configuration base. On such a PF
//! the transport reads the real registers once, checks them as `mana_gd_init_pf_regs()` does,
//! and answers those three reads from that snapshot ([`RegView`]). Nothing else of the core
//! reads these offsets: SMC accesses are at `shm + 4 * i` with `shm` checked to hold the whole
//! aperture, and doorbells are writes.

use kernel::{
    cpu::CpuId,
    cpumask::CpumaskVar,
    device::{
        Bound,
        Device as KDevice, //
    },
    devres::Devres,
    dma::{
        Coherent,
        DataDirection, //
    },
    dma_stream::{
        CpuPage,
        SharedPage,
        StreamDevice,
        StreamMapping, //
    },
    io::{
        io_project,
        Io, //
    },
    irq::{
        self,
        IrqReturn,
        ThreadedHandler,
        ThreadedIrqReturn,
        ThreadedRegistration, //
    },
    macros,
    netdev::skb::{
        MappedSkb,
        Skb, //
    },
    new_mutex,
    new_spinlock_irq,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Acquire,
            Atomic,
            Full, //
        },
        barrier::{
            dma_mb,
            mb,
            Read,
            Write, //
        },
        Arc,
        Mutex,
        SpinLockIrq, //
    },
    time::Delta, //
};

use crate::{
    dma::{
        check_range,
        DmaBuf,
        DmaMemory,
        DoorbellFrame,
        SkbMap,
        StreamMap,
        StreamMemory,
        UserMemory,
        UserPages, //
    },
    transport::{
        InterruptHandler,
        IrqContext,
        Transport, //
    },
    wire::{
        regs::{
            self,
            RegLayout, //
        },
        smc, //
    }, //
};

/// The most queue vectors the core may use (C: `MANA_MAX_NUM_QUEUES`).
const MAX_QUEUE_VECTORS: u32 = 64;

/// The most MSI-X vectors a function gets: the hardware channel's plus one per queue.
pub(crate) const MAX_VECTORS: usize = MAX_QUEUE_VECTORS as usize + 1;

/// Device-visible buffers are whole 4 KiB pages (C: `MANA_PAGE_SIZE`).
const DMA_PAGE: usize = 4096;

/// The name of the interrupts in `/proc/interrupts` (7.3 takes a `&'static CStr` only).
const IRQ_NAME: &CStr = c"mana_gdma";

/// How many MSI-X vectors to ask for on a machine with `cpus` CPUs: one per CPU for the queues
/// (at most [`MAX_QUEUE_VECTORS`]) and one for the hardware channel, as
/// `mana_gd_setup_hwc_irqs()` does. The PCI core further limits it to the function's MSI-X
/// table.
pub(crate) fn vector_budget(cpus: u32) -> u32 {
    cpus.clamp(1, MAX_QUEUE_VECTORS) + 1
}

/// Checks the SR-IOV configuration base of a PF 0x00B9 as `mana_gd_init_pf_regs()` does: inside
/// BAR0 (of `bar_size` bytes) with room for the SMC offset register, and 8-byte aligned.
pub(crate) fn pf_sriov_base(bar_size: u64, sriov_base: u64) -> Result<u64> {
    let room = (regs::GDMA_PF_REG_SHM_OFF + size_of::<u64>()) as u64;
    if sriov_base >= bar_size || bar_size - sriov_base < room || sriov_base % 8 != 0 {
        return Err(EPROTO);
    }
    Ok(sriov_base)
}

/// The SMC offset of a PF 0x00B9: `sriov_base + shm_off`, where the SMC aperture must fit in
/// BAR0 and `shm_off` must be 4-byte aligned (`mana_gd_init_pf_regs()`). `sriov_base` must
/// have passed [`pf_sriov_base`].
pub(crate) fn pf_shm_offset(bar_size: u64, sriov_base: u64, shm_off: u64) -> Result<u64> {
    let remaining = bar_size.checked_sub(sriov_base).ok_or(EPROTO)?;
    if shm_off >= remaining
        || remaining - shm_off < smc::SMC_APERTURE_SIZE as u64
        || shm_off % 4 != 0
    {
        return Err(EPROTO);
    }
    // Below `bar_size` (checked above), so no overflow; checked all the same.
    sriov_base.checked_add(shm_off).ok_or(EPROTO)
}

/// How the three location registers the core reads are answered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RegView {
    /// VF layout: read from BAR0 as they are.
    Direct,
    /// PF 0x00B9: read once from the PF registers, served at the VF offsets.
    Pf {
        /// The doorbell page offset (C: `GDMA_PF_REG_DB_PAGE_OFF`).
        db_page_off: u64,
        /// The doorbell page size register (C: `GDMA_PF_REG_DB_PAGE_SIZE`).
        db_page_size: u32,
        /// The SMC offset, already relative to BAR0.
        shm_off: u64,
    },
}

impl RegView {
    /// Reads the registers of a function with `layout` through `bar`, of `bar_size` bytes.
    pub(crate) fn read(
        bar: &pci::Bar<'_>,
        layout: RegLayout,
        bar_size: usize,
        dev: &KDevice,
    ) -> Result<Self> {
        match layout {
            RegLayout::Vf => Ok(Self::Direct),
            RegLayout::Pf => {
                let bar_size = bar_size as u64;
                let db_page_size = bar.try_read32(layout.db_page_size_reg())?;
                let db_page_off = bar.try_read64(layout.db_page_off_reg())?;
                let raw_base = bar.try_read64(regs::GDMA_SRIOV_REG_CFG_BASE_OFF)?;
                let sriov_base = pf_sriov_base(bar_size, raw_base).inspect_err(|_| {
                    dev_err!(
                        dev,
                        "SR-IOV base offset 0x{:x} out of range or unaligned (BAR0 0x{:x} bytes)\n",
                        raw_base,
                        bar_size
                    )
                })?;
                let shm_reg = usize::try_from(sriov_base)?
                    .checked_add(regs::GDMA_PF_REG_SHM_OFF)
                    .ok_or(EPROTO)?;
                let raw_shm = bar.try_read64(shm_reg)?;
                let shm_off = pf_shm_offset(bar_size, sriov_base, raw_shm).inspect_err(|_| {
                    dev_err!(
                        dev,
                        "SR-IOV SMC offset 0x{:x} out of range or unaligned (BAR0 0x{:x} bytes)\n",
                        raw_shm,
                        bar_size
                    )
                })?;
                Ok(Self::Pf {
                    db_page_off,
                    db_page_size,
                    shm_off,
                })
            }
        }
    }

    fn read32(&self, offset: usize) -> Option<u32> {
        match *self {
            Self::Pf { db_page_size, .. } if offset == regs::GDMA_REG_DB_PAGE_SIZE => {
                Some(db_page_size)
            }
            _ => None,
        }
    }

    fn read64(&self, offset: usize) -> Option<u64> {
        match *self {
            Self::Pf { db_page_off, .. } if offset == regs::GDMA_REG_DB_PAGE_OFFSET => {
                Some(db_page_off)
            }
            Self::Pf { shm_off, .. } if offset == regs::GDMA_REG_SHM_OFFSET => Some(shm_off),
            _ => None,
        }
    }
}

/// A handler the core installed, and where it runs (its [`InterruptHandler::context`], read
/// once when it is installed).
#[derive(Clone)]
struct Slot {
    handler: Arc<dyn InterruptHandler>,
    context: IrqContext,
}

/// What [`Handlers::call`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Called {
    /// The vector's handler ran.
    Handled,
    /// The handler must run in the IRQ thread; it was not called.
    NeedsThread,
    /// No handler is installed.
    Empty,
}

/// The interrupt handlers the core installed, one slot per vector.
#[pin_data]
pub(crate) struct Handlers {
    #[pin]
    slots: SpinLockIrq<[Option<Slot>; MAX_VECTORS]>,
    /// Per vector, the interrupts (hard handlers and IRQ threads) between taking a handler
    /// from its slot and dropping it: what [`Handlers::replace`] waits for, as
    /// `synchronize_irq()` would.
    calling: [Atomic<u32>; MAX_VECTORS],
}

impl Handlers {
    /// Creates an empty table.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                slots <- new_spinlock_irq!([const { None }; MAX_VECTORS]),
                calling: [const { Atomic::new(0) }; MAX_VECTORS],
            }),
            GFP_KERNEL,
        )
    }

    /// Calls the handler installed for `vector`, if any, outside the lock, from `context`: in
    /// hard interrupt context ([`IrqContext::Hard`]) only a handler that runs there, in the IRQ
    /// thread any handler.
    fn call(&self, vector: usize, context: IrqContext) -> Called {
        let Some(calling) = self.calling.get(vector) else {
            return Called::Empty;
        };
        // Counted before the slot is read: a `replace` that swapped the slot before this read
        // is not waited for (the new handler is taken), one that swaps it after sees the count.
        calling.fetch_add(1, Full);
        let taken = match self.slots.lock().get(vector) {
            Some(Some(slot)) if context == IrqContext::Thread || slot.context == context => {
                Ok(slot.handler.clone())
            }
            Some(Some(_)) => Err(Called::NeedsThread),
            _ => Err(Called::Empty),
        };
        let called = match taken {
            Ok(handler) => {
                handler.handle();
                // Not the last reference: `replace` holds the slot's until the count drops.
                drop(handler);
                Called::Handled
            }
            Err(called) => called,
        };
        calling.fetch_sub(1, Full);
        called
    }

    /// Installs `handler` for `vector` and returns the old one. Like `synchronize_irq()`: once
    /// this returns, no call of the old handler is running, so the caller may tear down what
    /// the handler touches. Must not be called from a handler of the same vector.
    fn replace(
        &self,
        vector: usize,
        handler: Option<Arc<dyn InterruptHandler>>,
    ) -> Result<Option<Arc<dyn InterruptHandler>>> {
        let calling = self.calling.get(vector).ok_or(EINVAL)?;
        let new = handler.map(|handler| Slot {
            context: handler.context(),
            handler,
        });
        let old = {
            let mut slots = self.slots.lock();
            let slot = slots.get_mut(vector).ok_or(EINVAL)?;
            core::mem::replace(slot, new)
        };
        while calling.load(Acquire) != 0 {
            kernel::time::delay::fsleep(Delta::from_micros(10));
        }
        Ok(old.map(|slot| slot.handler))
    }
}

/// The IRQ handler of one vector: dispatches to the handler the core installed for it.
#[pin_data]
pub(crate) struct VectorIrq {
    handlers: Arc<Handlers>,
    vector: usize,
}

impl ThreadedHandler for VectorIrq {
    /// The hard interrupt handler: calls a data-path handler here, wakes the thread for one
    /// that may sleep.
    fn handle(&self) -> ThreadedIrqReturn {
        match self.handlers.call(self.vector, IrqContext::Hard) {
            Called::Handled => ThreadedIrqReturn::Handled,
            Called::NeedsThread => ThreadedIrqReturn::WakeThread,
            Called::Empty => ThreadedIrqReturn::None,
        }
    }

    /// The IRQ thread: calls the handler installed now (which may have changed since the hard
    /// handler woke the thread).
    fn handle_threaded(&self) -> IrqReturn {
        match self.handlers.call(self.vector, IrqContext::Thread) {
            Called::Handled => IrqReturn::Handled,
            Called::NeedsThread | Called::Empty => IrqReturn::None,
        }
    }
}

/// The IRQ registrations of a function, one per allocated vector.
pub(crate) type Irqs<'bound> = KVec<Pin<KBox<ThreadedRegistration<'bound, VectorIrq>>>>;

/// The CPU the interrupt of queue vector `vector` (1 or more) goes to, of `cpus` CPUs: one
/// vector per CPU in turn, as `mana_gd_setup_irqs()` spreads them (vector 0, the hardware
/// channel's, keeps the default affinity).
pub(crate) fn queue_vector_cpu(vector: usize, cpus: u32) -> Option<u32> {
    let queue = u32::try_from(vector.checked_sub(1)?).ok()?;
    queue.checked_rem(cpus)
}

/// Requests a threaded IRQ for every vector of `vectors`, each dispatching to its slot in
/// `handlers` (in the hard handler or the thread, as the slot's handler says), and spreads the
/// queue vectors over the CPUs, so that each channel's NAPI runs on a CPU of its own.
pub(crate) fn register_irqs<'bound>(
    vectors: &'bound pci::IrqVectorRegistration<'bound>,
    handlers: &Arc<Handlers>,
) -> Result<Irqs<'bound>> {
    let mut irqs = KVec::with_capacity(vectors.len(), GFP_KERNEL)?;
    let mut mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    let cpus = kernel::cpu::nr_cpu_ids();
    for vector in 0..vectors.len() {
        let request: irq::IrqRequest<'bound> = vectors.index(vector)?.into();
        let shared = handlers.clone();
        let handler = try_pin_init!(VectorIrq {
            handlers: shared,
            vector,
        }? Error);
        // SAFETY: The registration goes into a pinned box owned by the returned vector, which
        // the PCI driver's data drops (never forgets) on unbind, before `vectors`.
        let registration = unsafe {
            ThreadedRegistration::new(request, irq::Flags::TRIGGER_NONE, IRQ_NAME, handler)
        };
        let registration = KBox::pin_init(registration, GFP_KERNEL)?;
        if let Some(cpu) = queue_vector_cpu(vector, cpus).and_then(CpuId::from_u32) {
            mask.set(cpu);
            // A CPU that is not online, or an interrupt that cannot move, keeps the default
            // affinity: a slower spread, not a failure.
            let _ = registration.set_affinity(&mask);
            mask.clear(cpu);
        }
        irqs.push(registration, GFP_KERNEL)?;
    }
    Ok(irqs)
}

/// One coherent DMA buffer of a PCI function.
struct PciDmaMemory {
    mem: Coherent<[u8]>,
}

impl DmaMemory for PciDmaMemory {
    fn dma_addr(&self) -> u64 {
        self.mem.dma_address()
    }

    fn size(&self) -> usize {
        self.mem.size()
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        check_range(offset, out.len(), self.mem.size())?;
        // Orders this copy after every earlier read of device-written memory, as the C driver's
        // `rmb()` after the owner bits of an EQE or CQE does.
        dma_mb(Read);
        let mem = &self.mem;
        let end = offset + out.len();
        io_project!(mem, [try: offset..end]).copy_to_slice(out);
        Ok(())
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result {
        check_range(offset, data.len(), self.mem.size())?;
        // The device reads what the core writes only after a doorbell, and
        // `ring_doorbell()` puts a write barrier before it.
        let mem = &self.mem;
        let end = offset + data.len();
        io_project!(mem, [try: offset..end]).copy_from_slice(data);
        Ok(())
    }
}

/// One streaming mapping of a PCI function.
struct PciStreamMemory(StreamMapping);

impl StreamMemory for PciStreamMemory {
    fn dma_addr(&self) -> u64 {
        self.0.dma_address()
    }

    fn is_unshared(&self) -> bool {
        self.0.is_unshared()
    }

    fn sync_for_cpu(&mut self, offset: usize, len: usize) -> Result {
        self.0.sync_for_cpu(offset, len)
    }

    fn sync_for_device(&mut self, offset: usize, len: usize) -> Result {
        self.0.sync_for_device(offset, len)
    }

    fn cpu_page(&mut self) -> Result<CpuPage<'_>> {
        self.0.cpu_page()
    }
}

/// The [`Transport`] of a bound MANA PCI function (see the module documentation).
#[pin_data]
pub(crate) struct PciTransport {
    bar: pci::DevresBar,
    /// The physical address of BAR0, for mapping doorbell pages into processes.
    bar_phys: u64,
    regs: RegView,
    dev: ARef<KDevice>,
    #[pin]
    dma_open: Mutex<bool>,
    /// The streaming DMA capability, revoked when the device is unbound.
    stream: Devres<StreamDevice>,
    handlers: Arc<Handlers>,
    num_vectors: u32,
    /// The Linux interrupt number of each vector.
    irq_numbers: KVec<u32>,
}

/// The Linux interrupt numbers of the vectors of `vectors`, in vector order.
pub(crate) fn irq_numbers(vectors: &pci::IrqVectorRegistration<'_>) -> Result<KVec<u32>> {
    let mut numbers = KVec::with_capacity(vectors.len(), GFP_KERNEL)?;
    for vector in 0..vectors.len() {
        let request: irq::IrqRequest<'_> = vectors.index(vector)?.into();
        numbers.push(request.irq(), GFP_KERNEL)?;
    }
    Ok(numbers)
}

impl PciTransport {
    /// Creates the transport of `dev` over BAR0 `bar` at physical address `bar_phys` (registers
    /// as `regs` says) with `num_vectors` MSI-X vectors dispatching to `handlers`.
    pub(crate) fn new(
        dev: &KDevice<Bound>,
        bar: pci::DevresBar,
        bar_phys: u64,
        regs: RegView,
        handlers: Arc<Handlers>,
        num_vectors: u32,
        irq_numbers: KVec<u32>,
    ) -> Result<Arc<Self>> {
        let stream = StreamDevice::new(dev)?;
        Arc::pin_init(
            try_pin_init!(Self {
                bar,
                bar_phys,
                regs,
                dev: dev.into(),
                dma_open <- new_mutex!(true),
                stream,
                handlers,
                num_vectors: num_vectors.min(MAX_VECTORS as u32),
                irq_numbers,
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Closes the gate of coherent allocations: from now on `alloc_dma` fails with `ENXIO`.
    /// Waits for an allocation in progress. Called before the PCI driver's data is gone, while
    /// the device is bound. (Streaming mappings need no gate: devres revokes them at the unbind.)
    pub(crate) fn close_dma(&self) {
        *self.dma_open.lock() = false;
    }

    fn with_bar<R>(&self, f: impl FnOnce(&pci::Bar<'_>) -> Result<R>) -> Result<R> {
        let bar = self.bar.try_access().ok_or(ENXIO)?;
        f(&bar)
    }
}

impl Transport for PciTransport {
    fn read32(&self, offset: usize) -> Result<u32> {
        if let Some(value) = self.regs.read32(offset) {
            return Ok(value);
        }
        self.with_bar(|bar| bar.try_read32(offset))
    }

    fn write32(&self, offset: usize, value: u32) -> Result {
        self.with_bar(|bar| bar.try_write32(value, offset))
    }

    fn read64(&self, offset: usize) -> Result<u64> {
        if let Some(value) = self.regs.read64(offset) {
            return Ok(value);
        }
        self.with_bar(|bar| bar.try_read64(offset))
    }

    fn ring_doorbell(&self, offset: usize, value: u64) -> Result {
        self.with_bar(|bar| {
            // C: `wmb(); writeq(...)` in `mana_gd_ring_doorbell()`: queue entries written to
            // DMA memory are visible before the device is told about them.
            mb(Write);
            bar.try_write64(value, offset)
        })
    }

    fn alloc_dma(&self, size: usize) -> Result<DmaBuf> {
        if size == 0 || size % DMA_PAGE != 0 {
            return Err(EINVAL);
        }
        let open = self.dma_open.lock();
        if !*open {
            return Err(ENXIO);
        }
        // SAFETY: The gate is open only while the PCI driver's data exists, i.e. while the
        // device is bound; closing it takes this lock, which is held until the allocation is
        // done, so `dev` stays bound for the lifetime of this reference.
        let dev = unsafe { self.dev.as_bound() };
        let mem = Coherent::<u8>::zeroed_slice(dev, size, GFP_KERNEL)?;
        drop(open);
        let mem: KBox<dyn DmaMemory> = KBox::new(PciDmaMemory { mem }, GFP_KERNEL)?;
        Ok(DmaBuf::new(mem))
    }

    fn map_page(
        &self,
        page: SharedPage,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Result<StreamMap> {
        // The network interfaces, which own the mappings, are gone before the device is unbound;
        // a mapping is undone with the device reference it keeps.
        let stream = self.stream.try_access().ok_or(ENXIO)?;
        let mapping = StreamMapping::new(stream.device(), page, offset, len, dir)?;
        drop(stream);
        let mem: KBox<dyn StreamMemory> = KBox::new(PciStreamMemory(mapping), GFP_ATOMIC)?;
        Ok(StreamMap::new(mem, offset, len, dir))
    }

    fn map_skb(&self, skb: Skb) -> Result<SkbMap> {
        let stream = self.stream.try_access().ok_or(ENXIO)?;
        let mapped = MappedSkb::new(stream.device(), skb)?;
        drop(stream);
        Ok(SkbMap::mapped(mapped))
    }

    fn set_interrupt_handler(
        &self,
        vector: u32,
        handler: Option<Arc<dyn InterruptHandler>>,
    ) -> Result {
        if vector >= self.num_vectors {
            return Err(EINVAL);
        }
        // Waits until no call of the old handler is running (the core destroys what it
        // touches next); the old handler is dropped here, outside the IRQ-disabling lock.
        let old = self.handlers.replace(vector as usize, handler)?;
        drop(old);
        Ok(())
    }

    fn num_vectors(&self) -> u32 {
        self.num_vectors
    }

    fn irq_number(&self, vector: u32) -> Option<u32> {
        if vector >= self.num_vectors {
            return None;
        }
        self.irq_numbers.get(vector as usize).copied()
    }

    fn map_user_pages(&self, pages: &[u64], _cpu: &Arc<dyn UserMemory>) -> Result<UserPages> {
        // The RDMA core mapped the pages for this function already (`ib_umem_get()` with the
        // PCI device as the IB device's DMA device): the bus addresses are the device's.
        let mut addrs = KVec::with_capacity(pages.len(), GFP_KERNEL)?;
        addrs.extend_from_slice(pages, GFP_KERNEL)?;
        Ok(UserPages::new(addrs, None))
    }

    fn with_doorbell_page(
        &self,
        _index: u32,
        offset: usize,
        map: &mut dyn FnMut(DoorbellFrame<'_>) -> Result,
    ) -> Result {
        let phys = self.bar_phys.checked_add(offset as u64).ok_or(EINVAL)?;
        map(DoorbellFrame::Io { phys })
    }
}

#[macros::kunit_tests(mana_rs_gdma_pci)]
mod tests {
    use kernel::sync::atomic::Release;

    use super::*;

    #[test]
    fn queue_vectors_go_to_one_cpu_each_in_turn() {
        // Vector 0 is the hardware channel's.
        assert_eq!(queue_vector_cpu(0, 4), None);
        assert_eq!(queue_vector_cpu(1, 4), Some(0));
        assert_eq!(queue_vector_cpu(4, 4), Some(3));
        assert_eq!(queue_vector_cpu(5, 4), Some(0));
        assert_eq!(queue_vector_cpu(3, 1), Some(0));
        assert_eq!(queue_vector_cpu(3, 0), None);
    }

    #[test]
    fn vector_budget_is_one_per_cpu_plus_hwc_capped() {
        assert_eq!(vector_budget(0), 2);
        assert_eq!(vector_budget(1), 2);
        assert_eq!(vector_budget(8), 9);
        assert_eq!(vector_budget(64), 65);
        assert_eq!(vector_budget(4096), MAX_VECTORS as u32);
    }

    #[test]
    fn pf_sriov_base_checks() {
        let bar = 0x10_0000u64;
        assert_eq!(pf_sriov_base(bar, 0x1000).ok(), Some(0x1000));
        // Exactly room for the 64-bit register at +0x70.
        assert_eq!(pf_sriov_base(bar, bar - 0x78).ok(), Some(bar - 0x78));
        assert!(pf_sriov_base(bar, bar - 0x70).is_err());
        assert!(pf_sriov_base(bar, bar).is_err());
        assert!(pf_sriov_base(bar, !7u64).is_err());
        assert!(pf_sriov_base(bar, 0x1004).is_err());
    }

    #[test]
    fn pf_shm_offset_checks() {
        let bar = 0x10_0000u64;
        let base = 0x8_0000u64;
        assert_eq!(pf_shm_offset(bar, base, 0x100).ok(), Some(0x8_0100));
        // The aperture ends exactly at the end of BAR0.
        let last = bar - base - smc::SMC_APERTURE_SIZE as u64;
        assert_eq!(pf_shm_offset(bar, base, last).ok(), Some(bar - 32));
        assert!(pf_shm_offset(bar, base, last + 4).is_err());
        assert!(pf_shm_offset(bar, base, bar - base).is_err());
        assert!(pf_shm_offset(bar, base, u64::MAX - 3).is_err());
        assert!(pf_shm_offset(bar, base, 0x102).is_err());
        assert!(pf_shm_offset(bar, bar + 8, 0).is_err());
    }

    /// A handler that records, in each call, how many callers the table counts as calling its
    /// vector.
    struct Probe {
        table: Arc<Handlers>,
        vector: usize,
        context: IrqContext,
        calls: Atomic<u32>,
        counted: Atomic<u32>,
    }

    impl InterruptHandler for Probe {
        fn handle(&self) {
            self.calls.fetch_add(1, Full);
            let n = self.table.calling[self.vector].load(Acquire);
            self.counted.store(n, Release);
        }

        fn context(&self) -> IrqContext {
            self.context
        }
    }

    fn probe(table: &Arc<Handlers>, vector: usize, context: IrqContext) -> Result<Arc<Probe>> {
        Ok(Arc::new(
            Probe {
                table: table.clone(),
                vector,
                context,
                calls: Atomic::new(0),
                counted: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    #[test]
    fn handler_calls_are_counted_for_replace() -> Result {
        let table = Handlers::new()?;
        let probe = probe(&table, 3, IrqContext::Thread)?;
        let handler: Arc<dyn InterruptHandler> = probe.clone();
        assert_eq!(table.call(3, IrqContext::Thread), Called::Empty);
        assert!(table.replace(3, Some(handler.clone()))?.is_none());
        assert_eq!(table.call(3, IrqContext::Thread), Called::Handled);
        assert_eq!(table.call(2, IrqContext::Thread), Called::Empty);
        // During the call the table counted it, so a `replace` would have waited for it.
        assert_eq!(probe.counted.load(Acquire), 1);
        assert_eq!(table.calling[3].load(Acquire), 0);
        // No call is running: `replace` returns the old handler at once.
        let old = table.replace(3, None)?;
        assert!(old.is_some_and(|h| Arc::ptr_eq(&h, &handler)));
        assert_eq!(table.call(3, IrqContext::Thread), Called::Empty);
        assert_eq!(probe.calls.load(Acquire), 1);
        assert!(table.replace(MAX_VECTORS, None).is_err());
        Ok(())
    }

    #[test]
    fn hard_interrupts_call_data_path_handlers_and_defer_the_rest() -> Result {
        let table = Handlers::new()?;
        let data = probe(&table, 1, IrqContext::Hard)?;
        let hwc = probe(&table, 0, IrqContext::Thread)?;
        table.replace(1, Some(data.clone()))?;
        table.replace(0, Some(hwc.clone()))?;
        // The data path runs in the hard handler; the thread is not woken.
        assert_eq!(table.call(1, IrqContext::Hard), Called::Handled);
        assert_eq!(data.calls.load(Acquire), 1);
        // The hardware channel's handler is not called there: the thread is woken for it.
        assert_eq!(table.call(0, IrqContext::Hard), Called::NeedsThread);
        assert_eq!(hwc.calls.load(Acquire), 0);
        assert_eq!(table.call(0, IrqContext::Thread), Called::Handled);
        assert_eq!(hwc.calls.load(Acquire), 1);
        // A thread woken for a handler since replaced by a data-path one still calls it.
        assert_eq!(table.call(1, IrqContext::Thread), Called::Handled);
        assert_eq!(data.calls.load(Acquire), 2);
        assert_eq!(table.call(5, IrqContext::Hard), Called::Empty);
        assert_eq!(
            table.calling[0].load(Acquire) + table.calling[1].load(Acquire),
            0
        );
        table.replace(0, None)?;
        table.replace(1, None)?;
        Ok(())
    }
}
