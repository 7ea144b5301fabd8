// SPDX-License-Identifier: GPL-2.0-only

//! Device-visible memory of the software MANA device, with an IOMMU's strictness.
//!
//! Each buffer the core allocates gets a range of fake DMA addresses, separated from the next by
//! an unmapped guard page. The device model reaches memory only by address through
//! [`SwMemory`], which refuses any access that is not wholly inside one live buffer, so a driver
//! bug (a wrong address, a buffer freed while the device still uses it) is a counted fault, not a
//! stray write.
//!
//! The locks are interrupt-safe: the drivers reach queue memory from their transmit path and
//! NAPI polls (bottom halves off), the device model from its work item.

use kernel::{
    new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        SpinLockIrq, //
    }, //
};

use super::device::DeviceMemory;
use crate::dma::{
    check_range,
    DmaBuf,
    DmaMemory,
    UserPages, //
};

/// The first fake DMA address (well away from zero, so a zero address is always a fault).
const DMA_BASE: u64 = 0x10_0000_0000;
/// Alignment and guard size of every buffer.
const DMA_PAGE: u64 = 4096;

/// One buffer.
#[pin_data]
struct SwRegion {
    addr: u64,
    size: usize,
    /// User pages the RDMA core pinned: mapped for the device, but the model has no RDMA data
    /// path, so it never reads or writes them (an access is a fault).
    user: bool,
    #[pin]
    data: SpinLockIrq<KVVec<u8>>,
}

impl SwRegion {
    fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        if self.user {
            return Err(EFAULT);
        }
        check_range(offset, out.len(), self.size)?;
        out.copy_from_slice(&self.data.lock()[offset..offset + out.len()]);
        Ok(())
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result {
        if self.user {
            return Err(EFAULT);
        }
        check_range(offset, data.len(), self.size)?;
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
                user: false,
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
    /// device without a DMA device gives them) at fresh device addresses, like an IOMMU would.
    pub(crate) fn map_user(self: &Arc<Self>, pages: &[u64]) -> Result<UserPages> {
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
                user: true,
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

    /// The number of live buffers (for leak checks).
    pub(crate) fn live_buffers(&self) -> usize {
        self.table.lock().regions.len()
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
        self.find(addr, len).is_ok()
    }

    fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result {
        let (region, offset) = self.find(addr, out.len())?;
        region.read(offset, out)
    }

    fn dma_write(&self, addr: u64, data: &[u8]) -> Result {
        let (region, offset) = self.find(addr, data.len())?;
        region.write(offset, data)
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
