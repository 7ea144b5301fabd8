// SPDX-License-Identifier: GPL-2.0-only

//! Device-visible memory of the software MANA device, with an IOMMU's strictness.
//!
//! Each buffer the core allocates gets a range of fake DMA addresses, separated from the next by
//! an unmapped guard page. The device model reaches memory only by address through
//! [`SwMemory`], which refuses any access that is not wholly inside one live buffer, so a driver
//! bug (a wrong address, a buffer freed while the device still uses it) is a counted fault, not a
//! stray write.
//!
//! Streaming mappings of kernel pages ([`SwMemory::map_page`]) get a slot in a second table,
//! at a fixed fake address per slot (constant-time lookup on the data path). The device reaches
//! the page only through its slot, only within the mapped range and only in the mapped
//! direction (it reads what was mapped to the device, writes what was mapped from it); any other
//! access, and any access after the unmapping, fails and the device model counts it as a fault.
//!
//! The locks are interrupt-safe: the drivers reach queue memory from their transmit path and
//! NAPI polls (bottom halves off), the device model from its work item.

use kernel::{
    dma::DataDirection,
    dma_stream::{
        CpuPage,
        ModelAccess,
        ModelMapping,
        SharedPage, //
    },
    netdev::skb::Skb,
    new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        SpinLockIrq, //
    }, //
};

use mana_model::{
    error::{
        Error as ModelError,
        Result as ModelResult, //
    },
    host::DeviceMemory,
};

use crate::dma::{
    check_range,
    DmaBuf,
    DmaMemory,
    SkbMap,
    SkbTable,
    StreamMap,
    StreamMemory,
    UserMemory,
    UserPages, //
};

/// The first fake DMA address (well away from zero, so a zero address is always a fault).
const DMA_BASE: u64 = 0x10_0000_0000;
/// Alignment and guard size of every buffer.
const DMA_PAGE: u64 = 4096;
/// The fake DMA address of streaming mapping slot 0 (above every buffer address).
const STREAM_BASE: u64 = 0x100_0000_0000;
/// The address space of one streaming mapping slot: the largest page, then an unmapped guard.
const STREAM_SLOT: u64 = 2 * (DMA_PAGE << SharedPage::MAX_ORDER);
/// The most streaming mappings at once.
const MAX_STREAMS: usize = 1 << 20;
/// The most parts of a transmit buffer.
const MAX_SKB_PARTS: usize = kernel::netdev::skb::MAX_SKB_PARTS;

/// The device's side of one streaming mapping: `len` bytes at `offset` of the page of
/// `access`, in direction `dir`. The model copies through `access`, which refuses while the CPU
/// owns the bytes (between the core's `sync_for_cpu` and `sync_for_device`), as a device that
/// writes a buffer it completed would corrupt what the stack reads.
struct SwStream {
    access: ModelAccess,
    offset: usize,
    len: usize,
    dir: DataDirection,
}

impl SwStream {
    /// Checks a device access of `len` bytes at `at` in the mapping, and returns the offset in
    /// the page.
    fn check(&self, at: usize, len: usize, write: bool) -> Result<usize> {
        let allowed = match self.dir {
            DataDirection::Bidirectional => true,
            DataDirection::ToDevice => !write,
            DataDirection::FromDevice => write,
            DataDirection::None => false,
        };
        if !allowed {
            return Err(EFAULT);
        }
        check_range(at, len, self.len)?;
        Ok(self.offset + at)
    }
}

/// What a slot of the streaming table maps.
enum SwMapping {
    /// Part of a page.
    Page(Arc<SwStream>),
    /// A transmit buffer, for the device to read: packet byte `n` is at slot address `n`, and an
    /// access must stay inside one part (the linear part or one fragment), as if each part were
    /// mapped on its own.
    Skb(Skb),
}

/// The part of `skb` (the linear part, then each non-empty fragment) that holds packet byte
/// `at`: its first byte and its length.
fn skb_part(skb: &Skb, at: usize) -> Option<(usize, usize)> {
    let mut start = skb.headlen() as usize;
    if at < start {
        return Some((0, start));
    }
    for i in 0..skb.nr_frags() {
        let len = skb.frag(i)?.len() as usize;
        if at < start + len {
            return Some((start, len));
        }
        start += len;
    }
    None
}

impl SwMapping {
    /// Whether `len` bytes at `at` are inside one mapped range.
    fn covers(&self, at: usize, len: usize) -> bool {
        match self {
            Self::Page(stream) => check_range(at, len, stream.len).is_ok(),
            Self::Skb(skb) => skb_part(skb, at)
                .is_some_and(|(start, plen)| check_range(at - start, len, plen).is_ok()),
        }
    }

    /// A device read of `out.len()` bytes at `at` in the mapping.
    fn read(&self, at: usize, out: &mut [u8]) -> Result {
        match self {
            Self::Page(stream) => {
                let offset = stream.check(at, out.len(), false)?;
                stream.access.read(offset, out)
            }
            Self::Skb(skb) => {
                if !self.covers(at, out.len()) {
                    return Err(EFAULT);
                }
                skb.copy_bits(u32::try_from(at).map_err(|_| EFAULT)?, out)
            }
        }
    }

    /// A device write of `data` at `at` in the mapping.
    fn write(&self, at: usize, data: &[u8]) -> Result {
        match self {
            Self::Page(stream) => {
                let offset = stream.check(at, data.len(), true)?;
                stream.access.write(offset, data)
            }
            // Mapped for the device to read only.
            Self::Skb(_) => Err(EFAULT),
        }
    }
}

/// The table of streaming mappings: slot `i` is mapped at `STREAM_BASE + i * STREAM_SLOT`.
struct StreamTable {
    slots: KVec<Option<SwMapping>>,
    /// Free slots below `slots.len()`.
    free: KVec<u32>,
    live: usize,
}

impl StreamTable {
    /// The mapping at `addr` and the offset of `addr` in it.
    fn get(&self, addr: u64) -> Option<(&SwMapping, usize)> {
        let rel = addr.checked_sub(STREAM_BASE)?;
        let slot = usize::try_from(rel / STREAM_SLOT).ok()?;
        let mapping = self.slots.get(slot)?.as_ref()?;
        Some((mapping, (rel % STREAM_SLOT) as usize))
    }

    /// Puts `mapping` in a free slot; returns the slot.
    fn insert(&mut self, mapping: SwMapping) -> Result<usize> {
        let slot = match self.free.pop() {
            Some(slot) => slot as usize,
            None if self.slots.len() < MAX_STREAMS => {
                // Room for every slot in the free list, so that unmapping cannot fail.
                let room = self.slots.len() + 1 - self.free.len();
                self.free.reserve(room, GFP_ATOMIC)?;
                self.slots.push(None, GFP_ATOMIC)?;
                self.slots.len() - 1
            }
            None => return Err(ENOMEM),
        };
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Some(mapping);
        }
        self.live += 1;
        Ok(slot)
    }

    /// Empties `slot`; returns what it mapped (to be dropped outside the lock).
    fn remove(&mut self, slot: usize) -> Option<SwMapping> {
        let old = self.slots.get_mut(slot).and_then(Option::take);
        if old.is_some() {
            self.live -= 1;
            // Cannot fail: the free list has room for every slot.
            let _ = self.free.push_within_capacity(slot as u32);
        }
        old
    }
}

/// One buffer.
#[pin_data]
struct SwRegion {
    addr: u64,
    size: usize,
    /// User memory the RDMA core pinned, reached through the CPU (its bytes are not in
    /// `data`).
    user: Option<Arc<dyn UserMemory>>,
    #[pin]
    data: SpinLockIrq<KVVec<u8>>,
}

impl SwRegion {
    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        check_range(offset, out.len(), self.size)?;
        if let Some(user) = &self.user {
            return user.read(offset, out).map_err(|_| EFAULT);
        }
        out.copy_from_slice(&self.data.lock()[offset..offset + out.len()]);
        Ok(())
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result {
        check_range(offset, data.len(), self.size)?;
        if let Some(user) = &self.user {
            return user.write(offset, data).map_err(|_| EFAULT);
        }
        self.data.lock()[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}

/// The table of live buffers.
struct Table {
    regions: KVec<Arc<SwRegion>>,
    next_addr: u64,
}

/// All device-visible memory of one software adapter.
#[pin_data]
pub(crate) struct SwMemory {
    #[pin]
    table: SpinLockIrq<Table>,
    #[pin]
    streams: SpinLockIrq<StreamTable>,
}

impl SwMemory {
    /// Creates an empty address space.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                table <- new_spinlock_irq!(Table {
                    regions: KVec::new(),
                    next_addr: DMA_BASE,
                }),
                streams <- new_spinlock_irq!(StreamTable {
                    slots: KVec::new(),
                    free: KVec::new(),
                    live: 0,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// Allocates `size` zeroed bytes.
    pub(crate) fn alloc(self: &Arc<Self>, size: usize) -> Result<DmaBuf> {
        if size == 0 || size % DMA_PAGE as usize != 0 {
            return Err(EINVAL);
        }
        let data = KVVec::from_elem(0u8, size, GFP_KERNEL)?;
        let addr = {
            let mut table = self.table.lock();
            let addr = table.next_addr;
            table.next_addr = addr + size as u64 + DMA_PAGE;
            addr
        };
        let region = Arc::pin_init(
            pin_init!(SwRegion {
                addr,
                size,
                user: None,
                data <- new_spinlock_irq!(data),
            }),
            GFP_KERNEL,
        )?;
        self.table.lock().regions.push(region.clone(), GFP_ATOMIC)?;
        let handle: KBox<dyn DmaMemory> = KBox::new(
            SwDmaHandle {
                region,
                memory: self.clone(),
            },
            GFP_KERNEL,
        )?;
        Ok(DmaBuf::new(handle))
    }

    /// Maps the user pages `pages` (kernel addresses, as the RDMA core's virtual DMA mapping of a
    /// device without a DMA device gives them) at fresh device addresses, like an IOMMU would;
    /// the model reaches their bytes through `cpu`.
    pub(crate) fn map_user(
        self: &Arc<Self>,
        pages: &[u64],
        cpu: &Arc<dyn UserMemory>,
    ) -> Result<UserPages> {
        if pages.is_empty() || pages.iter().any(|p| p % DMA_PAGE != 0) {
            return Err(EINVAL);
        }
        let size = pages.len().checked_mul(DMA_PAGE as usize).ok_or(EINVAL)?;
        let addr = {
            let mut table = self.table.lock();
            let addr = table.next_addr;
            table.next_addr = addr + size as u64 + DMA_PAGE;
            addr
        };
        let region = Arc::pin_init(
            pin_init!(SwRegion {
                addr,
                size,
                user: Some(cpu.clone()),
                data <- new_spinlock_irq!(KVVec::new()),
            }),
            GFP_KERNEL,
        )?;
        let mut addrs = KVec::with_capacity(pages.len(), GFP_KERNEL)?;
        for i in 0..pages.len() {
            addrs.push(addr + i as u64 * DMA_PAGE, GFP_KERNEL)?;
        }
        self.table.lock().regions.push(region.clone(), GFP_ATOMIC)?;
        let unmap: KBox<dyn Send + Sync> = KBox::new(
            SwDmaHandle {
                region,
                memory: self.clone(),
            },
            GFP_KERNEL,
        )?;
        Ok(UserPages::new(addrs, Some(unmap)))
    }

    /// Maps `len` bytes at `offset` of `page` for the device in direction `dir`, in a free slot
    /// of the streaming table. Does not sleep. The device model copies only a page nothing else
    /// holds (`ModelMapping::new`, `EBUSY` otherwise), stricter than a PCI function, which
    /// accepts a shared page the device only reads.
    pub(crate) fn map_page(
        self: &Arc<Self>,
        page: SharedPage,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Result<StreamMap> {
        if len == 0 || dir == DataDirection::None {
            return Err(EINVAL);
        }
        check_range(offset, len, page.size()).map_err(|_| EINVAL)?;
        let mapping = ModelMapping::new(page, dir)?;
        let stream = Arc::new(
            SwStream {
                access: mapping.access(),
                offset,
                len,
                dir,
            },
            GFP_ATOMIC,
        )?;
        let slot = self
            .streams
            .lock()
            .insert(SwMapping::Page(stream.clone()))?;
        let mem: KBox<dyn StreamMemory> = KBox::new(
            SwStreamHandle {
                mapping,
                addr: STREAM_BASE + slot as u64 * STREAM_SLOT,
                memory: self.clone(),
            },
            GFP_ATOMIC,
        )
        .inspect_err(|_| self.unmap(slot))?;
        Ok(StreamMap::new(mem, offset, len, dir))
    }

    fn unmap(&self, slot: usize) {
        let old = self.streams.lock().remove(slot);
        // The page reference may be the last one: put outside the lock.
        drop(old);
    }

    /// Maps the transmit buffer `skb` for the device to read: one slot holds the buffer, each
    /// part (linear part, fragments) at its packet offset in the slot. Does not sleep.
    pub(crate) fn map_skb(self: &Arc<Self>, skb: Skb) -> Result<SkbMap> {
        if u64::from(skb.len()) > STREAM_SLOT - DMA_PAGE {
            return Err(EINVAL);
        }
        let mut parts = [(0u64, 0u32); MAX_SKB_PARTS];
        let mut count = 0;
        let mut start = 0u64;
        let mut add = |len: u32| -> Result {
            if len > 0 {
                let part = parts.get_mut(count).ok_or(EINVAL)?;
                *part = (start, len);
                count += 1;
                start += u64::from(len);
            }
            Ok(())
        };
        add(skb.headlen())?;
        for i in 0..skb.nr_frags() {
            add(skb.frag(i).map_or(0, |f| f.len()))?;
        }
        let slot = self.streams.lock().insert(SwMapping::Skb(skb))?;
        let base = STREAM_BASE + slot as u64 * STREAM_SLOT;
        for part in parts.iter_mut().take(count) {
            part.0 += base;
        }
        let table: Arc<dyn SkbTable> = self.clone();
        Ok(SkbMap::in_table(table, slot, parts, count))
    }

    /// The number of live buffers and streaming mappings (for leak checks).
    pub(crate) fn live_buffers(&self) -> usize {
        self.table.lock().regions.len() + self.streams.lock().live
    }

    /// The number of live streaming mappings.
    pub(crate) fn live_streams(&self) -> usize {
        self.streams.lock().live
    }

    fn find(&self, addr: u64, len: usize) -> Result<(Arc<SwRegion>, usize)> {
        let table = self.table.lock();
        for region in table.regions.iter() {
            if addr >= region.addr && addr < region.addr + region.size as u64 {
                let offset = (addr - region.addr) as usize;
                check_range(offset, len, region.size)?;
                return Ok((region.clone(), offset));
            }
        }
        Err(EFAULT)
    }

    fn remove(&self, addr: u64) {
        let mut table = self.table.lock();
        if let Some(pos) = table.regions.iter().position(|r| r.addr == addr) {
            // Dropping the table's reference under the lock is fine: the handle still holds one.
            let _ = table.regions.remove(pos);
        }
    }
}

impl DeviceMemory for SwMemory {
    fn is_mapped(&self, addr: u64, len: usize) -> bool {
        if addr >= STREAM_BASE {
            let table = self.streams.lock();
            return table.get(addr).is_some_and(|(m, at)| m.covers(at, len));
        }
        self.find(addr, len).is_ok()
    }

    fn dma_read(&self, addr: u64, out: &mut [u8]) -> ModelResult {
        if addr >= STREAM_BASE {
            // The copy is made under the lock, so the mapping cannot go away during it.
            let table = self.streams.lock();
            let (mapping, at) = table.get(addr).ok_or(ModelError::Fault)?;
            return mapping.read(at, out).map_err(|_| ModelError::Fault);
        }
        let (region, offset) = self.find(addr, out.len()).map_err(|_| ModelError::Fault)?;
        region.read(offset, out).map_err(|_| ModelError::Fault)
    }

    fn dma_write(&self, addr: u64, data: &[u8]) -> ModelResult {
        if addr >= STREAM_BASE {
            let table = self.streams.lock();
            let (mapping, at) = table.get(addr).ok_or(ModelError::Fault)?;
            return mapping.write(at, data).map_err(|_| ModelError::Fault);
        }
        let (region, offset) = self.find(addr, data.len()).map_err(|_| ModelError::Fault)?;
        region.write(offset, data).map_err(|_| ModelError::Fault)
    }
}

impl SkbTable for SwMemory {
    fn take(&self, slot: usize) -> Option<Skb> {
        let old = self.streams.lock().remove(slot);
        match old {
            Some(SwMapping::Skb(skb)) => Some(skb),
            // Not a transmit buffer: dropped (outside the lock).
            _ => None,
        }
    }
}

/// The core's handle on one streaming mapping; dropping it unmaps it.
struct SwStreamHandle {
    mapping: ModelMapping,
    addr: u64,
    memory: Arc<SwMemory>,
}

impl StreamMemory for SwStreamHandle {
    fn dma_addr(&self) -> u64 {
        self.addr
    }

    fn is_unshared(&self) -> bool {
        self.mapping.is_unshared()
    }

    // The device model copies the page itself: no cache or bounce buffer to hand over, only
    // the ownership of the bytes.
    fn sync_for_cpu(&mut self, _offset: usize, _len: usize) -> Result {
        self.mapping.sync_for_cpu();
        Ok(())
    }

    fn sync_for_device(&mut self, _offset: usize, _len: usize) -> Result {
        self.mapping.sync_for_device()
    }

    fn cpu_page(&mut self) -> Result<CpuPage<'_>> {
        self.mapping.cpu_page()
    }
}

impl Drop for SwStreamHandle {
    fn drop(&mut self) {
        self.memory
            .unmap(((self.addr - STREAM_BASE) / STREAM_SLOT) as usize);
    }
}

/// The core's handle on one buffer; dropping it unmaps the buffer.
struct SwDmaHandle {
    region: Arc<SwRegion>,
    memory: Arc<SwMemory>,
}

impl DmaMemory for SwDmaHandle {
    fn dma_addr(&self) -> u64 {
        self.region.addr
    }

    fn size(&self) -> usize {
        self.region.size
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.region.read(offset, out)
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result {
        self.region.write(offset, data)
    }
}

impl Drop for SwDmaHandle {
    fn drop(&mut self) {
        self.memory.remove(self.region.addr);
    }
}

#[kunit_tests(mana_rs_gdma_sw_memory)]
mod tests {
    use super::*;
    use crate::sw::host::errno;

    #[test]
    fn streaming_mappings_are_checked_like_an_iommu() -> Result {
        let memory = SwMemory::new()?;
        let page = SharedPage::alloc(0, GFP_KERNEL)?;
        // The model copies only a page nothing else holds.
        assert_eq!(
            memory
                .map_page(page.clone(), 256, 1024, DataDirection::FromDevice)
                .err(),
            Some(EBUSY)
        );
        let mut rx = memory.map_page(page, 256, 1024, DataDirection::FromDevice)?;
        assert_eq!(memory.live_streams(), 1);
        assert!(rx.is_unshared());
        let addr = rx.dma_addr();
        assert!(addr >= STREAM_BASE);
        // The device writes what was mapped from it, at the mapped offset of the page, while it
        // owns the bytes; the CPU gets them only after `sync_for_cpu`.
        memory.dma_write(addr + 10, &[1, 2, 3]).map_err(errno)?;
        assert_eq!(rx.cpu_page().err(), Some(EBUSY));
        assert_eq!(rx.build_skb(0, 4096, 256, 16).err(), Some(EBUSY));
        rx.sync_for_cpu(0, 16)?;
        let skb = {
            let mut cpu = rx.cpu_page()?;
            // While the CPU owns the bytes, the device's accesses fault; no lock is held
            // meanwhile (the model's own locks are free to take).
            assert_eq!(memory.dma_write(addr + 10, &[9]), Err(ModelError::Fault));
            assert!(memory.is_mapped(addr, 1024));
            let skb = cpu.build_skb(0, 4096, 256, 16)?;
            assert_eq!(cpu.build_skb(0, 4096, 256, 16).err(), Some(EBUSY));
            skb
        };
        assert_eq!(&skb.data()[10..13], &[1, 2, 3]);
        // While the stack holds the packet, the mapping cannot go back to the device.
        assert!(!rx.is_unshared());
        assert_eq!(rx.sync_for_device(0, 1024), Err(EBUSY));
        assert_eq!(memory.dma_write(addr + 10, &[9]), Err(ModelError::Fault));
        assert_eq!(skb.data()[10], 1);
        drop(skb);
        rx.sync_for_device(0, 1024)?;
        memory.dma_write(addr + 10, &[4]).map_err(errno)?;
        assert!(memory.is_mapped(addr, 1024));
        assert!(!memory.is_mapped(addr, 1025));
        // Reading it, or writing past its end, is a fault.
        let mut got = [0u8; 3];
        assert_eq!(memory.dma_read(addr, &mut got), Err(ModelError::Fault));
        assert_eq!(
            memory.dma_write(addr + 1022, &[0; 3]),
            Err(ModelError::Fault)
        );
        assert_eq!(memory.dma_write(addr + 1024, &[0]), Err(ModelError::Fault));
        // A transmit mapping is read-only for the device.
        let mut out = SharedPage::alloc(0, GFP_KERNEL)?;
        out.device_write(0, &[7; 4])?;
        let tx = memory.map_page(out, 0, 64, DataDirection::ToDevice)?;
        let mut four = [0u8; 4];
        memory.dma_read(tx.dma_addr(), &mut four).map_err(errno)?;
        assert_eq!(four, [7; 4]);
        assert_eq!(
            memory.dma_write(tx.dma_addr(), &[0]),
            Err(ModelError::Fault)
        );
        // Unmapped: every access faults.
        drop(rx);
        assert_eq!(memory.dma_write(addr, &[0]), Err(ModelError::Fault));
        assert!(!memory.is_mapped(addr, 1));
        drop(tx);
        assert_eq!(memory.live_streams(), 0);
        // Neither an address between slots nor one below the first slot is mapped.
        assert_eq!(
            memory.dma_read(STREAM_BASE - 1, &mut got),
            Err(ModelError::Fault)
        );
        let page = SharedPage::alloc(0, GFP_KERNEL)?;
        assert_eq!(
            memory
                .map_page(page.clone(), 4000, 200, DataDirection::ToDevice)
                .err(),
            Some(EINVAL)
        );
        assert_eq!(
            memory
                .map_page(page.clone(), 0, 0, DataDirection::ToDevice)
                .err(),
            Some(EINVAL)
        );
        assert!(page.is_unshared());
        Ok(())
    }

    #[test]
    fn transmit_buffers_are_mapped_part_by_part_for_reading() -> Result {
        use kernel::page::Page;

        let memory = SwMemory::new()?;
        let mut skb = Skb::alloc(256, GFP_KERNEL)?;
        skb.put_data(&[0x11; 100])?;
        let page = Page::alloc_page(GFP_KERNEL)?;
        let frag: [u8; 300] = core::array::from_fn(|i| i as u8);
        // SAFETY: `frag` is readable for 300 bytes and 200 + 300 lies within the page.
        unsafe { page.write_raw(frag.as_ptr(), 200, frag.len())? };
        skb.add_rx_frag(page, 200, 300, 4096)?;
        let map = memory.map_skb(skb)?;
        assert_eq!(memory.live_streams(), 1);
        let parts: KVec<(u64, u32)> = {
            let mut v = KVec::new();
            v.extend_from_slice(map.parts(), GFP_KERNEL)?;
            v
        };
        assert_eq!((parts.len(), parts[0].1, parts[1].1), (2, 100, 300));
        // The device reads each part where it is; it cannot write them or read past them.
        let mut head = [0u8; 100];
        memory.dma_read(parts[0].0, &mut head).map_err(errno)?;
        assert_eq!(head, [0x11; 100]);
        let mut tail = [0u8; 10];
        memory
            .dma_read(parts[1].0 + 290, &mut tail)
            .map_err(errno)?;
        assert_eq!(&tail[..], &frag[290..]);
        assert_eq!(
            memory.dma_read(parts[1].0 + 291, &mut tail),
            Err(ModelError::Fault)
        );
        // Nor across the end of one part into the next.
        assert_eq!(
            memory.dma_read(parts[0].0 + 95, &mut tail),
            Err(ModelError::Fault)
        );
        assert!(memory.is_mapped(parts[1].0, 300) && !memory.is_mapped(parts[0].0, 101));
        assert_eq!(memory.dma_write(parts[0].0, &[0]), Err(ModelError::Fault));
        // The completion unmaps the parts and gives the packet back.
        let skb = map.into_skb().ok_or(EINVAL)?;
        assert_eq!(skb.len(), 400);
        assert_eq!(memory.live_streams(), 0);
        assert_eq!(
            memory.dma_read(parts[0].0, &mut head),
            Err(ModelError::Fault)
        );
        // Dropping a mapping unmaps it too (and frees the packet).
        let mut skb2 = Skb::alloc(64, GFP_KERNEL)?;
        skb2.put_data(&[1; 60])?;
        let map = memory.map_skb(skb2)?;
        assert_eq!(memory.live_streams(), 1);
        drop(map);
        assert_eq!(memory.live_streams(), 0);
        drop(skb);
        Ok(())
    }

    #[test]
    fn streaming_slots_are_reused() -> Result {
        let memory = SwMemory::new()?;
        let page = || SharedPage::alloc(0, GFP_KERNEL);
        let a = memory.map_page(page()?, 0, 100, DataDirection::Bidirectional)?;
        let b = memory.map_page(page()?, 0, 100, DataDirection::Bidirectional)?;
        assert_ne!(a.dma_addr(), b.dma_addr());
        let first = a.dma_addr();
        drop(a);
        let c = memory.map_page(page()?, 0, 100, DataDirection::Bidirectional)?;
        assert_eq!(c.dma_addr(), first);
        drop((b, c));
        assert_eq!(memory.live_streams(), 0);
        Ok(())
    }
}
