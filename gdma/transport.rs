// SPDX-License-Identifier: GPL-2.0-only

//! The one narrow interface between the core and a MANA function.
//!
//! Everything above it (SMC, hardware channel, queues, clients) is the same code whether the
//! function is a PCI device or the software MANA device.

use kernel::{
    dma::DataDirection,
    dma_stream::SharedPage,
    netdev::skb::Skb,
    prelude::*,
    sync::Arc, //
};

use crate::dma::{
    DmaBuf,
    DoorbellFrame,
    SkbMap,
    StreamMap,
    UserMemory,
    UserPages, //
};

/// Where an [`InterruptHandler`] runs on a PCI function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqContext {
    /// In the hard interrupt handler, as the C driver's `mana_gd_intr()`: the handler must not
    /// sleep (no mutex, no `GFP_KERNEL`) and takes interrupt-safe locks only. The data path:
    /// drain the event queue, re-arm it, schedule NAPI.
    Hard,
    /// In the vector's IRQ thread (process context): the handler may sleep. The hardware
    /// channel, which takes a mutex and wakes the requests waiting for it.
    Thread,
}

/// Receives the interrupts of one MSI-X vector.
pub trait InterruptHandler: Send + Sync {
    /// Called when the device raises the vector, in the context [`Self::context`] names or in
    /// process context (a software function calls every handler from its workqueue, and a
    /// PCI function may call a [`IrqContext::Hard`] handler from the IRQ thread when it was
    /// installed while a thread was already woken).
    fn handle(&self);

    /// Where [`Self::handle`] may run; constant for a handler.
    fn context(&self) -> IrqContext;
}

/// Register access, doorbells, device-visible memory and interrupts of one MANA function.
pub trait Transport: Send + Sync {
    /// Reads the 32-bit register at `offset` in BAR0.
    fn read32(&self, offset: usize) -> Result<u32>;

    /// Writes the 32-bit register at `offset` in BAR0.
    fn write32(&self, offset: usize, value: u32) -> Result;

    /// Reads the 64-bit register at `offset` in BAR0.
    fn read64(&self, offset: usize) -> Result<u64>;

    /// Rings a doorbell: one 64-bit write at `offset` in BAR0, after a write barrier.
    fn ring_doorbell(&self, offset: usize, value: u64) -> Result;

    /// Allocates `size` bytes (a multiple of 4 KiB) of zeroed device-visible memory.
    fn alloc_dma(&self, size: usize) -> Result<DmaBuf>;

    /// Maps `len` bytes at `offset` of `page` for the device in direction `dir` (a streaming
    /// mapping: packet buffers, not queues). The result holds the page and unmaps it when
    /// dropped. Does not sleep: called from the transmit path and NAPI polls.
    ///
    /// Cost: a PCI function maps with `dma_map_page_attrs()`, which is nearly free without an
    /// IOMMU, an IOVA allocation and page-table update with one, and a bounce-buffer copy under
    /// swiotlb (a confidential VM); unmapping undoes it (an IOTLB flush with a strict IOMMU). A
    /// software function gives the range a slot in its address table (constant time, one small
    /// allocation). Map long-lived buffers (receive pages) once and recycle them.
    fn map_page(
        &self,
        page: SharedPage,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Result<StreamMap>;

    /// Maps the parts of the transmit buffer `skb` (linear part, fragments) for the device to
    /// read, per packet (the transmit zero-copy path). On failure the buffer is freed. Does
    /// not sleep. Cost: one `map_page` per part on a PCI function, one table slot on the
    /// software device; no allocation.
    fn map_skb(&self, skb: Skb) -> Result<SkbMap>;

    /// Installs `handler` for MSI-X vector `vector`, replacing any previous one.
    fn set_interrupt_handler(
        &self,
        vector: u32,
        handler: Option<Arc<dyn InterruptHandler>>,
    ) -> Result;

    /// The number of MSI-X vectors the function offers.
    fn num_vectors(&self) -> u32;

    /// The Linux interrupt number of MSI-X vector `vector`, if the vector is a real interrupt
    /// (a PCI function's; the software device delivers its vectors from a workqueue). Network
    /// drivers report it with their NAPI contexts (`netdev` netlink `napi-get`).
    fn irq_number(&self, _vector: u32) -> Option<u32> {
        None
    }

    /// Makes the 4 KiB pages at `pages` reachable by the device: addresses the RDMA core's
    /// mapping of pinned user memory gave (bus addresses for a PCI function), in the order of
    /// `cpu`'s bytes (page `i` holds bytes `4096 * i` on). Returns the addresses the device
    /// uses, valid until the result is dropped. A PCI function uses the addresses; the software
    /// device reaches the bytes through `cpu`, which it holds until then.
    fn map_user_pages(&self, pages: &[u64], cpu: &Arc<dyn UserMemory>) -> Result<UserPages>;

    /// Calls `map` with the memory behind the doorbell page at BAR0 offset `offset` (page
    /// `index`), so that it can be mapped into a process.
    fn with_doorbell_page(
        &self,
        index: u32,
        offset: usize,
        map: &mut dyn FnMut(DoorbellFrame<'_>) -> Result,
    ) -> Result;
}
