// SPDX-License-Identifier: GPL-2.0-only

//! The PCI function QEMU talks to: the vfio-user backend, and the host side the device model
//! sees.
//!
//! Regions: BAR0 (GDMA registers, SMC mailbox, doorbell pages), BAR2 (MSI-X table and PBA) and
//! the configuration space; the other region indices exist with size 0, as vfio expects.
//! Interrupts: MSI-X only, 64 vectors, one eventfd each.
//!
//! `vfio_user::Server::run()` answers a backend error with an error reply even when the message
//! asked for none (a posted write), which leaves QEMU reading a reply to the wrong message. So
//! every handler of a message that may be posted (region writes, DMA map and unmap, SET_IRQS,
//! reset) returns `Ok` and counts and logs what it refused instead; only region reads, which
//! always take a reply, report errors.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE, VFIO_IRQ_SET_ACTION_TRIGGER,
    VFIO_IRQ_SET_ACTION_TYPE_MASK, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
    VFIO_IRQ_SET_DATA_TYPE_MASK, VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS, VFIO_REGION_INFO_FLAG_READ,
    VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_user::{DmaMapFlags, DmaUnmapFlags, IrqInfo, ServerBackend, ServerRegion};

use crate::bar0::{Bar0Layout, Bar0Registers, Mailbox, WriteEffect, SHM_OFFSET};
use crate::config::{Bar, ConfigEffect, ConfigSpace, MsixPlacement};
use crate::device::{DeviceEvent, DeviceHost, DeviceModel, ModelThread};
use crate::dma::{DmaFault, GuestMemory, Mapped};
use crate::msix::{
    Delivery, Msix, NoSuchVector, MSIX_BAR_INDEX, MSIX_BAR_SIZE, MSIX_PBA_OFFSET,
    MSIX_TABLE_OFFSET, MSIX_VECTORS,
};
use crate::record::Recorder;

/// How many refusals are logged one by one before the log falls silent (they are all counted).
const LOGGED_ERRORS: u64 = 32;

/// The counters of the exit report.
#[derive(Default)]
pub struct Counters {
    /// Requests of the driver or of QEMU the function refused.
    pub protocol_errors: AtomicU64,
    /// Device-model accesses to guest memory outside the DMA mappings.
    pub dma_faults: AtomicU64,
    /// Configuration space reads.
    pub config_reads: AtomicU64,
    /// Configuration space writes.
    pub config_writes: AtomicU64,
    /// BAR0 reads.
    pub bar0_reads: AtomicU64,
    /// BAR0 writes.
    pub bar0_writes: AtomicU64,
    /// MSI-X BAR accesses.
    pub msix_bar_accesses: AtomicU64,
    /// Mailbox requests handed to the model.
    pub smc_requests: AtomicU64,
    /// Doorbells handed to the model.
    pub doorbells: AtomicU64,
    /// DMA maps with guest memory behind them.
    pub dma_maps: AtomicU64,
    /// DMA maps without a descriptor (ROMs), accepted and unreachable.
    pub dma_maps_unbacked: AtomicU64,
    /// DMA unmaps (mappings removed).
    pub dma_unmaps: AtomicU64,
    /// MSI-X eventfds QEMU attached.
    pub msix_eventfds: AtomicU64,
    /// Vectors the model raised whose eventfd was signalled.
    pub msix_signalled: AtomicU64,
    /// Vectors raised without an eventfd (left pending).
    pub msix_pending: AtomicU64,
    /// Vectors whose eventfd could not be written.
    pub msix_lost: AtomicU64,
    /// Function resets (QEMU's DEVICE_RESET and FLRs).
    pub resets: AtomicU64,
    /// Function level resets the driver initiated.
    pub flrs: AtomicU64,
}

/// A counter's name and value, in report order.
type Field<'a> = (&'a str, &'a AtomicU64);

impl Counters {
    fn fields(&self) -> [Field<'_>; 18] {
        [
            ("protocol_errors", &self.protocol_errors),
            ("dma_faults", &self.dma_faults),
            ("config_reads", &self.config_reads),
            ("config_writes", &self.config_writes),
            ("bar0_reads", &self.bar0_reads),
            ("bar0_writes", &self.bar0_writes),
            ("msix_bar_accesses", &self.msix_bar_accesses),
            ("smc_requests", &self.smc_requests),
            ("doorbells", &self.doorbells),
            ("dma_maps", &self.dma_maps),
            ("dma_maps_unbacked", &self.dma_maps_unbacked),
            ("dma_unmaps", &self.dma_unmaps),
            ("msix_eventfds", &self.msix_eventfds),
            ("msix_signalled", &self.msix_signalled),
            ("msix_pending", &self.msix_pending),
            ("msix_lost", &self.msix_lost),
            ("resets", &self.resets),
            ("flrs", &self.flrs),
        ]
    }

    /// The counters as `name=value` pairs separated by spaces.
    pub fn report(&self) -> String {
        self.fields()
            .iter()
            .map(|(name, value)| format!("{name}={}", value.load(Relaxed)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Counts a refused request and logs it while the log is not yet flooded.
    fn protocol_error(&self, what: std::fmt::Arguments<'_>) {
        let n = self.protocol_errors.fetch_add(1, Relaxed) + 1;
        if n <= LOGGED_ERRORS {
            eprintln!("mana-vfio-user: protocol error: {what}");
        }
        if n == LOGGED_ERRORS {
            eprintln!("mana-vfio-user: further protocol errors are only counted");
        }
    }
}

/// Takes a lock even if a thread panicked while holding it: the state behind these locks is
/// registers and tables that every operation leaves consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_lock<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// The state shared by QEMU's message loop and the device model's thread.
pub struct Shared {
    regs: Mutex<Bar0Registers>,
    msix: Mutex<Msix>,
    memory: RwLock<GuestMemory>,
    /// The counters of the exit report.
    pub counters: Counters,
}

impl DeviceHost for Shared {
    fn is_mapped(&self, addr: u64, len: usize) -> bool {
        read_lock(&self.memory).is_mapped(addr, len)
    }

    fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result<(), DmaFault> {
        read_lock(&self.memory)
            .read(addr, out)
            .inspect_err(|fault| {
                self.counters.dma_faults.fetch_add(1, Relaxed);
                eprintln!("mana-vfio-user: {fault}");
            })
    }

    fn dma_write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
        read_lock(&self.memory)
            .write(addr, data)
            .inspect_err(|fault| {
                self.counters.dma_faults.fetch_add(1, Relaxed);
                eprintln!("mana-vfio-user: {fault}");
            })
    }

    fn raise_msix(&self, vector: u16) -> Result<(), NoSuchVector> {
        let delivery = lock(&self.msix).raise(vector)?;
        self.count_delivery(delivery);
        Ok(())
    }

    fn smc_respond(&self, response: Mailbox) {
        lock(&self.regs).smc_respond(response);
    }
}

impl Shared {
    fn count_delivery(&self, delivery: Delivery) {
        let counter = match delivery {
            Delivery::Signalled => &self.counters.msix_signalled,
            Delivery::Pending => &self.counters.msix_pending,
            Delivery::Failed => &self.counters.msix_lost,
        };
        counter.fetch_add(1, Relaxed);
    }
}

/// The BARs the function has.
fn bars(layout: Bar0Layout) -> [Bar; 2] {
    [
        Bar {
            index: VFIO_PCI_BAR0_REGION_INDEX as usize,
            size: layout.bar_size(),
        },
        Bar {
            index: MSIX_BAR_INDEX,
            size: MSIX_BAR_SIZE,
        },
    ]
}

/// Where MSI-X lives.
const MSIX_PLACEMENT: MsixPlacement = MsixPlacement {
    vectors: MSIX_VECTORS as u16,
    bar: MSIX_BAR_INDEX,
    table_offset: MSIX_TABLE_OFFSET as u32,
    pba_offset: MSIX_PBA_OFFSET as u32,
};

/// The MANA VF as a vfio-user device.
pub struct Function {
    layout: Bar0Layout,
    config: ConfigSpace,
    shared: Arc<Shared>,
    model: ModelThread,
    /// Where register reads, resets and the guest's step marks are recorded (`--record`).
    recorder: Option<Arc<Recorder>>,
}

impl Function {
    /// A function with BAR0 shaped as `layout`, hosting `model` on its own thread.
    pub fn new(layout: Bar0Layout, model: Box<dyn DeviceModel>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            regs: Mutex::new(Bar0Registers::new(layout)),
            msix: Mutex::new(Msix::new()),
            memory: RwLock::new(GuestMemory::new()),
            counters: Counters::default(),
        });
        let model = ModelThread::spawn(model, shared.clone())?;
        Ok(Self {
            layout,
            config: ConfigSpace::new(&bars(layout), MSIX_PLACEMENT),
            shared,
            model,
            recorder: None,
        })
    }

    /// Records register reads, function level resets and the guest's step marks (writes to
    /// the cache-line-size register) to `recorder`.
    pub fn record_to(&mut self, recorder: Arc<Recorder>) {
        self.recorder = Some(recorder);
    }

    /// Records the configuration write of `data` at `offset`, if it marks a step or resets.
    fn record_config_write(&self, offset: u64, data: &[u8], effect: ConfigEffect) {
        let Some(r) = &self.recorder else { return };
        if effect == ConfigEffect::FunctionLevelReset {
            r.flr();
        } else if offset == crate::config::REG_CACHE_LINE as u64 {
            if let Some(&step) = data.first() {
                r.mark(step);
            }
        }
    }

    /// The regions for `vfio_user::Server::new()`: every PCI region index, absent ones empty.
    pub fn regions(&self) -> Vec<ServerRegion> {
        let rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
        (0..VFIO_PCI_NUM_REGIONS)
            .map(|index| {
                let size = match index {
                    VFIO_PCI_CONFIG_REGION_INDEX => crate::config::CONFIG_SPACE_SIZE as u64,
                    i => bars(self.layout)
                        .iter()
                        .find(|b| b.index == i as usize)
                        .map_or(0, |b| b.size),
                };
                let mut region_info = vfio_bindings::bindings::vfio::vfio_region_info {
                    argsz: std::mem::size_of::<vfio_bindings::bindings::vfio::vfio_region_info>()
                        as u32,
                    index,
                    size,
                    ..Default::default()
                };
                if size > 0 {
                    region_info.flags = rw;
                }
                ServerRegion {
                    region_info,
                    sparse_areas: Vec::new(),
                    mmap_fd: None,
                }
            })
            .collect()
    }

    /// The interrupt indices for `vfio_user::Server::new()`: only MSI-X has vectors.
    pub fn irqs(&self) -> Vec<IrqInfo> {
        (0..VFIO_PCI_NUM_IRQS)
            .map(|index| {
                if index == VFIO_PCI_MSIX_IRQ_INDEX {
                    IrqInfo {
                        index,
                        flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE,
                        count: MSIX_VECTORS as u32,
                    }
                } else {
                    IrqInfo {
                        index,
                        flags: 0,
                        count: 0,
                    }
                }
            })
            .collect()
    }

    /// The counters of the exit report.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// A sender of events to this function's model: what a linked function's model sends its
    /// frames through.
    pub fn model_sender(&self) -> Option<std::sync::mpsc::Sender<DeviceEvent>> {
        self.model.sender()
    }

    /// Stops the device model after it has handled what was queued; false if it panicked.
    pub fn stop_model(&mut self) -> bool {
        self.model.stop()
    }

    /// The report line: the function's counters, then what the model reported when it stopped.
    pub fn report(&self) -> String {
        let mut line = self.counters().report();
        for (name, value) in self.model.report() {
            line.push_str(&format!(" {name}={value}"));
        }
        line
    }

    /// A function reset, from QEMU (DEVICE_RESET) or the driver (FLR): configuration space,
    /// registers and MSI-X go back to their reset state, and the model drops its objects.
    fn reset_function(&mut self) {
        self.counters().resets.fetch_add(1, Relaxed);
        self.config = ConfigSpace::new(&bars(self.layout), MSIX_PLACEMENT);
        lock(&self.shared.regs).reset();
        lock(&self.shared.msix).reset();
        if !self.model.send(DeviceEvent::Reset) {
            self.counters()
                .protocol_error(format_args!("the device model is gone; reset dropped"));
        }
    }

    fn bar0_write(&mut self, offset: u64, data: &[u8]) {
        let effect = lock(&self.shared.regs).write(offset, data);
        let event = match effect {
            Ok(WriteEffect::None) => return,
            Ok(WriteEffect::SmcRequest(request)) => {
                self.counters().smc_requests.fetch_add(1, Relaxed);
                DeviceEvent::SmcRequest(request)
            }
            Ok(WriteEffect::Doorbell(doorbell)) => {
                self.counters().doorbells.fetch_add(1, Relaxed);
                DeviceEvent::Doorbell(doorbell)
            }
            Err(e) => return self.counters().protocol_error(format_args!("{e}")),
        };
        if !self.model.send(event.clone()) {
            self.counters()
                .protocol_error(format_args!("the device model is gone; {event:?} dropped"));
        }
    }

    fn set_msix_irqs(&mut self, flags: u32, start: u32, count: u32, fds: Vec<File>) {
        let counters = &self.shared.counters;
        let action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
        let data = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
        if action != VFIO_IRQ_SET_ACTION_TRIGGER {
            return counters.protocol_error(format_args!(
                "SET_IRQS MSI-X action 0x{action:x}: only TRIGGER is supported (vectors are not maskable here)"
            ));
        }
        let mut msix = lock(&self.shared.msix);
        if data == VFIO_IRQ_SET_DATA_NONE && count == 0 {
            // MSI-X disabled.
            msix.clear_triggers();
            return;
        }
        let end = start
            .checked_add(count)
            .filter(|&end| end <= MSIX_VECTORS as u32);
        let Some(end) = end else {
            return counters.protocol_error(format_args!(
                "SET_IRQS MSI-X vectors {start}+{count} past the {MSIX_VECTORS} the function has"
            ));
        };
        match data {
            // Trigger from the host side (a loopback test of the wiring).
            VFIO_IRQ_SET_DATA_NONE => {
                for vector in start..end {
                    if let Ok(delivery) = msix.raise(vector as u16) {
                        self.shared.count_delivery(delivery);
                    }
                }
            }
            VFIO_IRQ_SET_DATA_EVENTFD if fds.is_empty() => {
                for vector in start..end {
                    // Cannot fail: the range was checked.
                    let _ = msix.set_trigger(vector as u16, None);
                }
            }
            VFIO_IRQ_SET_DATA_EVENTFD if fds.len() == count as usize => {
                for (vector, fd) in (start..end).zip(fds) {
                    counters.msix_eventfds.fetch_add(1, Relaxed);
                    if let Ok(Some(delivery)) = msix.set_trigger(vector as u16, Some(fd)) {
                        self.shared.count_delivery(delivery);
                    }
                }
            }
            _ => counters.protocol_error(format_args!(
                "SET_IRQS MSI-X data 0x{data:x} with {} descriptors for {count} vectors",
                fds.len()
            )),
        }
    }
}

impl ServerBackend for Function {
    fn region_read(&mut self, region: u32, offset: u64, data: &mut [u8]) -> std::io::Result<()> {
        let counters = &self.shared.counters;
        let result = match region {
            VFIO_PCI_CONFIG_REGION_INDEX => {
                counters.config_reads.fetch_add(1, Relaxed);
                self.config.read(offset, data).map_err(|e| e.to_string())
            }
            VFIO_PCI_BAR0_REGION_INDEX => {
                counters.bar0_reads.fetch_add(1, Relaxed);
                if let Some(r) = self.recorder.as_ref().filter(|_| offset < SHM_OFFSET) {
                    r.register_read(offset);
                }
                lock(&self.shared.regs)
                    .read(offset, data)
                    .map_err(|e| e.to_string())
            }
            r if r as usize == MSIX_BAR_INDEX => {
                counters.msix_bar_accesses.fetch_add(1, Relaxed);
                lock(&self.shared.msix)
                    .read(offset, data)
                    .map_err(|e| e.to_string())
            }
            r => Err(format!("read of region {r}, which is empty")),
        };
        result.map_err(|e| {
            counters.protocol_error(format_args!("{e}"));
            std::io::Error::from_raw_os_error(libc::EINVAL)
        })
    }

    fn region_write(&mut self, region: u32, offset: u64, data: &[u8]) -> std::io::Result<()> {
        match region {
            VFIO_PCI_CONFIG_REGION_INDEX => {
                self.counters().config_writes.fetch_add(1, Relaxed);
                let effect = self.config.write(offset, data);
                if let Ok(effect) = effect {
                    self.record_config_write(offset, data, effect);
                }
                match effect {
                    Ok(ConfigEffect::None) => {}
                    Ok(ConfigEffect::FunctionLevelReset) => {
                        self.counters().flrs.fetch_add(1, Relaxed);
                        self.reset_function();
                    }
                    Err(e) => self.counters().protocol_error(format_args!("{e}")),
                }
            }
            VFIO_PCI_BAR0_REGION_INDEX => {
                self.counters().bar0_writes.fetch_add(1, Relaxed);
                self.bar0_write(offset, data);
            }
            r if r as usize == MSIX_BAR_INDEX => {
                self.counters().msix_bar_accesses.fetch_add(1, Relaxed);
                let result = lock(&self.shared.msix).write(offset, data);
                if let Err(e) = result {
                    self.counters().protocol_error(format_args!("{e}"));
                }
            }
            r => self
                .counters()
                .protocol_error(format_args!("write to region {r}, which is empty")),
        }
        // Never an error: the write may have been posted (see the module documentation).
        Ok(())
    }

    fn dma_map(
        &mut self,
        flags: DmaMapFlags,
        offset: u64,
        address: u64,
        size: u64,
        fd: Option<File>,
    ) -> std::io::Result<()> {
        let writable = flags.contains(DmaMapFlags::WRITE);
        let result = write_lock(&self.shared.memory).map(address, size, offset, writable, fd);
        let counters = &self.shared.counters;
        match result {
            Ok(Mapped::Backed) => counters.dma_maps.fetch_add(1, Relaxed),
            Ok(Mapped::Unbacked) => counters.dma_maps_unbacked.fetch_add(1, Relaxed),
            Err(e) => {
                counters.protocol_error(format_args!("{e}"));
                0
            }
        };
        Ok(())
    }

    fn dma_unmap(&mut self, flags: DmaUnmapFlags, address: u64, size: u64) -> std::io::Result<()> {
        let all = flags.contains(DmaUnmapFlags::UNMAP_ALL);
        let result = write_lock(&self.shared.memory).unmap(address, size, all);
        let counters = &self.shared.counters;
        match result {
            Ok(n) => {
                counters.dma_unmaps.fetch_add(n as u64, Relaxed);
            }
            Err(e) => counters.protocol_error(format_args!("{e}")),
        }
        Ok(())
    }

    fn reset(&mut self) -> std::io::Result<()> {
        self.reset_function();
        Ok(())
    }

    fn set_irqs(
        &mut self,
        index: u32,
        flags: u32,
        start: u32,
        count: u32,
        fds: Vec<File>,
    ) -> std::io::Result<()> {
        if index == VFIO_PCI_MSIX_IRQ_INDEX {
            self.set_msix_irqs(flags, start, count, fds);
        } else if count > 0 {
            self.counters().protocol_error(format_args!(
                "SET_IRQS on interrupt index {index}, which has no vectors"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bar0::{DB_PAGE_OFFSET, SHM_OFFSET};
    use crate::device::{ModelConfig, NullModel};
    use crate::test_support::eventfd;
    use std::io::Read;

    fn function() -> Function {
        let layout = Bar0Layout { db_pages: 64 };
        let model = NullModel::new(ModelConfig {
            vports: 1,
            db_pages: 64,
        });
        Function::new(layout, Box::new(model)).unwrap()
    }

    fn errors(f: &Function) -> u64 {
        f.counters().protocol_errors.load(Relaxed)
    }

    #[test]
    fn regions_cover_every_pci_index_with_the_right_sizes() {
        let f = function();
        let regions = f.regions();
        assert_eq!(regions.len(), 9);
        let size = |i: usize| regions[i].region_info.size;
        assert_eq!(size(0), 0x8_0000);
        assert_eq!(size(1), 0, "the upper half of the 64-bit BAR0");
        assert_eq!(size(2), MSIX_BAR_SIZE);
        assert_eq!(size(7), 4096);
        for (i, r) in regions.iter().enumerate() {
            assert_eq!(r.region_info.index as usize, i);
            assert_eq!(r.region_info.flags != 0, r.region_info.size != 0);
        }
        let irqs = f.irqs();
        assert_eq!(irqs.len(), 5);
        assert_eq!(irqs[2].count, 64);
        assert_eq!(irqs.iter().map(|i| i.count).sum::<u32>(), 64);
    }

    #[test]
    fn refused_writes_are_counted_never_returned() {
        let mut f = function();
        // A read-only register, a misaligned mailbox write, past BAR0, an empty region, the
        // PBA, past the configuration space.
        assert!(f.region_write(0, 0x08, &[0; 8]).is_ok());
        assert!(f.region_write(0, SHM_OFFSET + 1, &[0; 4]).is_ok());
        assert!(f.region_write(0, 0x10_0000, &[0; 4]).is_ok());
        assert!(f.region_write(4, 0, &[0; 4]).is_ok());
        assert!(f.region_write(2, MSIX_PBA_OFFSET, &[0; 8]).is_ok());
        assert!(f.region_write(7, 0x1000, &[0; 4]).is_ok());
        assert_eq!(errors(&f), 6);
        // Nor for DMA maps, unmaps or SET_IRQS it refuses.
        assert!(f
            .dma_map(DmaMapFlags::READ_WRITE, 0, 0x1000, 0, None)
            .is_ok());
        assert!(f.dma_unmap(DmaUnmapFlags::empty(), u64::MAX, 2).is_ok());
        assert!(f
            .set_irqs(
                VFIO_PCI_MSIX_IRQ_INDEX,
                VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD,
                63,
                2,
                vec![eventfd(), eventfd()]
            )
            .is_ok());
        assert!(f
            .set_irqs(
                0,
                VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD,
                0,
                1,
                vec![eventfd()]
            )
            .is_ok());
        assert_eq!(errors(&f), 10);
        // Reads, which always get a reply, report it.
        let mut b = [0; 4];
        assert!(f.region_read(0, 0x10_0000, &mut b).is_err());
        assert!(f.region_read(5, 0, &mut b).is_err());
        assert_eq!(errors(&f), 12);
    }

    #[test]
    fn config_and_bar0_read_through_the_backend() {
        let mut f = function();
        let mut b = [0; 4];
        f.region_read(7, 0, &mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), 0x00BA_1414);
        f.region_read(0, 0x10, &mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), 0x1000);
        let mut q = [0; 8];
        f.region_read(0, 0x08, &mut q).unwrap();
        assert_eq!(u64::from_le_bytes(q), DB_PAGE_OFFSET);
        assert_eq!(errors(&f), 0);
    }

    #[test]
    fn mailbox_and_doorbells_go_to_the_model() {
        let mut f = function();
        f.region_write(0, SHM_OFFSET + 28, &1u32.to_le_bytes())
            .unwrap();
        f.region_write(0, DB_PAGE_OFFSET + 0xFF8, &5u64.to_le_bytes())
            .unwrap();
        assert_eq!(f.counters().smc_requests.load(Relaxed), 1);
        assert_eq!(f.counters().doorbells.load(Relaxed), 1);
        // The null model does not answer: the device keeps the mailbox.
        assert!(f.stop_model());
        let mut b = [0; 4];
        f.region_read(0, SHM_OFFSET + 28, &mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), 0x8000_0001);
        assert_eq!(errors(&f), 0);
    }

    #[test]
    fn flr_resets_the_function() {
        let mut f = function();
        f.region_write(0, SHM_OFFSET + 28, &1u32.to_le_bytes())
            .unwrap();
        f.region_write(7, 0x04, &0x0006u16.to_le_bytes()).unwrap();
        f.region_write(7, 0x48, &0x8000u16.to_le_bytes()).unwrap();
        assert_eq!(f.counters().flrs.load(Relaxed), 1);
        assert_eq!(f.counters().resets.load(Relaxed), 1);
        let mut b = [0; 4];
        f.region_read(0, SHM_OFFSET + 28, &mut b).unwrap();
        assert_eq!(
            u32::from_le_bytes(b),
            0,
            "the mailbox is the driver's again"
        );
        f.region_read(7, 0x04, &mut b).unwrap();
        assert_eq!(
            u32::from_le_bytes(b) & 0xFFFF,
            0,
            "memory and bus master are off"
        );
        assert_eq!(errors(&f), 0);
    }

    #[test]
    fn msix_eventfds_arrive_one_per_message_and_deliver() {
        let mut f = function();
        let trigger = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD;
        let mut fds = Vec::new();
        for v in 0..64 {
            let fd = eventfd();
            fds.push(fd.try_clone().unwrap());
            f.set_irqs(VFIO_PCI_MSIX_IRQ_INDEX, trigger, v, 1, vec![fd])
                .unwrap();
        }
        assert_eq!(f.counters().msix_eventfds.load(Relaxed), 64);
        f.shared.raise_msix(17).unwrap();
        assert!(f.shared.raise_msix(64).is_err());
        let mut b = [0; 8];
        assert_eq!(fds[17].read(&mut b).unwrap(), 8);
        assert_eq!(u64::from_ne_bytes(b), 1);
        assert!(fds[16].read(&mut b).is_err(), "only vector 17 fired");
        // Disabled: raising leaves the vector pending.
        f.set_irqs(
            VFIO_PCI_MSIX_IRQ_INDEX,
            VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE,
            0,
            0,
            Vec::new(),
        )
        .unwrap();
        f.shared.raise_msix(3).unwrap();
        assert_eq!(f.counters().msix_pending.load(Relaxed), 1);
        assert_eq!(errors(&f), 0);
    }

    #[test]
    fn dma_maps_without_a_descriptor_are_accepted() {
        let mut f = function();
        f.dma_map(DmaMapFlags::READ, 0, 0xFFFC_0000, 0x4_0000, None)
            .unwrap();
        assert_eq!(f.counters().dma_maps_unbacked.load(Relaxed), 1);
        let mut b = [0; 4];
        assert!(f.shared.dma_read(0xFFFC_0000, &mut b).is_err());
        assert_eq!(f.counters().dma_faults.load(Relaxed), 1);
        assert_eq!(errors(&f), 0);
    }

    #[test]
    fn report_is_one_line_of_name_value_pairs() {
        let f = function();
        let report = f.counters().report();
        assert!(!report.contains('\n'));
        assert!(report.starts_with("protocol_errors=0 dma_faults=0 "));
        assert!(report.split(' ').all(|kv| kv
            .split_once('=')
            .is_some_and(|(_, v)| v.parse::<u64>().is_ok())));
    }
}
