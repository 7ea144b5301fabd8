// SPDX-License-Identifier: GPL-2.0-only

//! Memory shared with the device: queues and message buffers.
//!
//! The core never touches device-visible memory through plain references: the device may change
//! it at any time (and in a confidential VM the host is not trusted), so every access copies a
//! value in or out through [`DmaMemory`], with the offset checked against the buffer.

use kernel::{
    dma::DataDirection,
    dma_stream::CpuPage,
    netdev::skb::{
        MappedSkb,
        Skb,
        MAX_SKB_PARTS, //
    },
    prelude::*,
    sync::Arc,
    transmute::{
        AsBytes,
        FromBytes, //
    }, //
};

/// One device-visible buffer, as the transport provides it.
pub trait DmaMemory: Send + Sync {
    /// The address the device uses for the first byte.
    fn dma_addr(&self) -> u64;

    /// The size of the buffer in bytes.
    fn size(&self) -> usize;

    /// Copies `out.len()` bytes at `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result;

    /// Copies `data` to `offset`.
    fn write(&self, offset: usize, data: &[u8]) -> Result;
}

/// An owned device-visible buffer; dropping it gives the memory back.
pub struct DmaBuf(KBox<dyn DmaMemory>);

impl DmaBuf {
    /// Wraps a buffer allocated by a transport.
    pub(crate) fn new(mem: KBox<dyn DmaMemory>) -> Self {
        Self(mem)
    }

    /// The address the device uses for the first byte.
    pub fn dma_addr(&self) -> u64 {
        self.0.dma_addr()
    }

    /// The size of the buffer in bytes.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// Reads a `T` at `offset` (a copy: later device writes do not change it).
    pub fn read_obj<T: FromBytes + AsBytes + Zeroable>(&self, offset: usize) -> Result<T> {
        let mut value = T::zeroed();
        self.read_into(offset, &mut value)?;
        Ok(value)
    }

    /// Reads into `value` from `offset`.
    pub fn read_into<T: FromBytes + AsBytes>(&self, offset: usize, value: &mut T) -> Result {
        self.0.read(offset, value.as_bytes_mut())
    }

    /// Writes `value` at `offset`.
    pub fn write_obj<T: AsBytes>(&self, offset: usize, value: &T) -> Result {
        self.0.write(offset, value.as_bytes())
    }

    /// Copies `out.len()` bytes at `offset` into `out`.
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Result {
        self.0.read(offset, out)
    }

    /// Copies `data` to `offset`.
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> Result {
        self.0.write(offset, data)
    }

    /// Zeroes the whole buffer.
    pub fn clear(&self) -> Result {
        let zeros = [0u8; 256];
        let mut offset = 0;
        while offset < self.size() {
            let n = zeros.len().min(self.size() - offset);
            self.0.write(offset, &zeros[..n])?;
            offset += n;
        }
        Ok(())
    }
}

/// The CPU's access to user memory the RDMA core pinned (a `kernel::rdma::umem::Umem`), byte
/// `0` being the first byte of the first page given to [`Transport::map_user_pages`], for a
/// device that reaches memory through the CPU (the software device). Reads and writes go
/// through the pinned pages, as DMA does; the process may change the bytes meanwhile.
///
/// [`Transport::map_user_pages`]: crate::transport::Transport::map_user_pages
pub trait UserMemory: Send + Sync {
    /// Copies `out.len()` bytes at `offset` into `out`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result;

    /// Copies `data` to `offset`; `EPERM` if the memory was pinned without write access.
    fn write(&self, offset: usize, data: &[u8]) -> Result;
}

/// Pages of memory the core did not allocate (user memory the RDMA core pinned and mapped),
/// made reachable by the device; dropping the value makes them unreachable again.
///
/// The owner of the pages keeps them pinned for as long as this value lives.
pub struct UserPages {
    addrs: KVec<u64>,
    /// Undoes the transport's mapping when dropped (before `addrs` is freed).
    _unmap: Option<KBox<dyn Send + Sync>>,
}

impl UserPages {
    /// Wraps the device addresses `addrs` of a transport's mapping, which `unmap` undoes when
    /// it is dropped.
    pub(crate) fn new(addrs: KVec<u64>, unmap: Option<KBox<dyn Send + Sync>>) -> Self {
        Self {
            addrs,
            _unmap: unmap,
        }
    }

    /// The device address of each 4 KiB page.
    pub fn addrs(&self) -> &[u64] {
        &self.addrs
    }
}

/// A transport's streaming mapping of part of a kernel page (see [`StreamMap`]).
pub trait StreamMemory: Send + Sync {
    /// The address the device uses for the first mapped byte.
    fn dma_addr(&self) -> u64;

    /// Whether the mapping holds the only reference to its page (no socket buffer built on it
    /// is alive).
    fn is_unshared(&self) -> bool;

    /// Gives `len` bytes at `offset` of the mapping to the CPU after the device wrote them.
    fn sync_for_cpu(&mut self, offset: usize, len: usize) -> Result;

    /// Gives `len` bytes at `offset` of the mapping back to the device; `EBUSY` while a socket
    /// buffer built on a page the device may write is alive.
    fn sync_for_device(&mut self, offset: usize, len: usize) -> Result;

    /// The CPU's access to the page while it owns the bytes (`StreamMapping::cpu_page`);
    /// `EBUSY` while the device owns them.
    fn cpu_page(&mut self) -> Result<CpuPage<'_>>;
}

/// Part of a kernel page mapped for the device in one direction; dropping it unmaps it (and puts
/// the page reference it holds).
///
/// Between a device write and a CPU read of the mapped bytes, [`StreamMap::sync_for_cpu`] must
/// be called, and [`StreamMap::sync_for_device`] before the device uses them again. In between
/// the CPU owns the bytes: [`StreamMap::cpu_page`] gives them to an XDP program or a socket
/// buffer ([`StreamMap::build_skb`]), without a lock on either transport, and the mapping goes
/// back to the device only once the stack freed that buffer.
pub struct StreamMap {
    mem: KBox<dyn StreamMemory>,
    offset: usize,
    len: usize,
    dir: DataDirection,
}

impl StreamMap {
    /// Wraps the mapping `mem` of `len` bytes at `offset` of its page in direction `dir`.
    pub(crate) fn new(
        mem: KBox<dyn StreamMemory>,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Self {
        Self {
            mem,
            offset,
            len,
            dir,
        }
    }

    /// The address the device uses for the first mapped byte.
    pub fn dma_addr(&self) -> u64 {
        self.mem.dma_addr()
    }

    /// The number of bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped (never: a mapping has at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offset of the first mapped byte in the page.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The direction of the mapping.
    pub fn direction(&self) -> DataDirection {
        self.dir
    }

    /// Whether the mapping holds the only reference to its page: the stack freed the socket
    /// buffers built on it.
    pub fn is_unshared(&self) -> bool {
        self.mem.is_unshared()
    }

    /// Gives `len` bytes at `offset` of the mapping to the CPU after the device wrote them: the
    /// device is done with the mapping (its completion was seen).
    pub fn sync_for_cpu(&mut self, offset: usize, len: usize) -> Result {
        check_range(offset, len, self.len)?;
        self.mem.sync_for_cpu(offset, len)
    }

    /// Gives `len` bytes at `offset` of the mapping back to the device. Fails with `EBUSY`
    /// while a socket buffer built on a page the device may write is alive.
    pub fn sync_for_device(&mut self, offset: usize, len: usize) -> Result {
        check_range(offset, len, self.len)?;
        self.mem.sync_for_device(offset, len)
    }

    /// Builds a socket buffer around the fragment `offset..offset + frag_size` of the page (page
    /// offsets, not mapping offsets), the packet being the `len` bytes at `headroom` in it, with
    /// no copy (`build_skb`). The buffer holds the page until the stack frees it
    /// ([`StreamMap::is_unshared`] then holds again).
    ///
    /// Fails with `EBUSY` while the device owns the bytes (no [`StreamMap::sync_for_cpu`] since
    /// it last got them) or a previous buffer holds the page, `EINVAL` for a fragment that is
    /// not within the page or not cache-line aligned, `EMSGSIZE` if it cannot hold the packet
    /// and the socket buffer's shared info, and `ENOMEM`.
    pub fn build_skb(
        &mut self,
        offset: u32,
        frag_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<Skb> {
        self.mem
            .cpu_page()?
            .build_skb(offset, frag_size, headroom, len)
    }

    /// The CPU's access to the page (all of it), while the CPU owns the bytes: after
    /// [`StreamMap::sync_for_cpu`], until [`StreamMap::sync_for_device`], which the borrow
    /// excludes meanwhile. Fails with `EBUSY` while the device owns them.
    pub fn cpu_page(&mut self) -> Result<CpuPage<'_>> {
        self.mem.cpu_page()
    }
}

/// A transport that keeps mapped transmit buffers in a table of its own (the software
/// device, whose model reads the buffers through the table).
pub trait SkbTable: Send + Sync {
    /// Unmaps the buffer in `slot` and gives it back.
    fn take(&self, slot: usize) -> Option<Skb>;
}

/// Who holds a mapped transmit buffer.
enum SkbHolder {
    /// The mapping itself (a PCI function's DMA mappings).
    Mapped(MappedSkb),
    /// The transport's table, at `slot`; `parts` are the device addresses of the parts.
    Table {
        table: Arc<dyn SkbTable>,
        slot: usize,
        parts: [(u64, u32); MAX_SKB_PARTS],
        count: usize,
    },
    /// Nobody: the buffer was given back.
    Gone,
}

/// A transmit buffer whose parts (linear part, fragments) are mapped for the device to read.
/// It owns the buffer; dropping it unmaps the parts and frees the buffer as dropped. It needs
/// no allocation: it lives in the driver's table of pending packets.
pub struct SkbMap(SkbHolder);

impl SkbMap {
    /// A buffer mapped with DMA mappings.
    pub(crate) fn mapped(mapped: MappedSkb) -> Self {
        Self(SkbHolder::Mapped(mapped))
    }

    /// A buffer the transport keeps in slot `slot` of `table`, its `count` parts at `parts`.
    pub(crate) fn in_table(
        table: Arc<dyn SkbTable>,
        slot: usize,
        parts: [(u64, u32); MAX_SKB_PARTS],
        count: usize,
    ) -> Self {
        Self(SkbHolder::Table {
            table,
            slot,
            parts,
            count,
        })
    }

    /// The device address and length of each part of the packet, in order (empty parts left
    /// out).
    pub fn parts(&self) -> &[(u64, u32)] {
        match &self.0 {
            SkbHolder::Mapped(m) => m.parts(),
            SkbHolder::Table { parts, count, .. } => parts.get(..*count).unwrap_or(&[]),
            SkbHolder::Gone => &[],
        }
    }

    /// Unmaps the parts and gives the buffer back, leaving the map empty; in place, so that a
    /// map kept in a ring slot is never moved through the stack (it is a few hundred bytes).
    pub fn take_skb(&mut self) -> Option<Skb> {
        match core::mem::replace(&mut self.0, SkbHolder::Gone) {
            SkbHolder::Mapped(m) => m.into_skb(),
            SkbHolder::Table { table, slot, .. } => table.take(slot),
            SkbHolder::Gone => None,
        }
    }

    /// Unmaps the parts and gives the buffer back, e.g. to consume it after its completion.
    pub fn into_skb(mut self) -> Option<Skb> {
        self.take_skb()
    }
}

impl Drop for SkbMap {
    fn drop(&mut self) {
        drop(self.take_skb());
    }
}

/// The memory behind a doorbell page, as a process maps it.
pub enum DoorbellFrame<'a> {
    /// Device memory at physical address `phys` (BAR0 of a PCI function): map it as I/O,
    /// write-combined.
    Io {
        /// The physical address of the page.
        phys: u64,
    },
    /// A page of system memory standing in for the doorbell page (the software device).
    Memory(&'a kernel::page::Page),
}

/// Checks that `len` bytes at `offset` fit in a buffer of `size` bytes.
pub(crate) fn check_range(offset: usize, len: usize, size: usize) -> Result {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(EFAULT),
    }
}
