// SPDX-License-Identifier: GPL-2.0-only

//! Memory shared with the device: queues and message buffers.
//!
//! The core never touches device-visible memory through plain references: the device may change
//! it at any time (and in a confidential VM the host is not trusted), so every access copies a
//! value in or out through [`DmaMemory`], with the offset checked against the buffer.

use kernel::{
    prelude::*,
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
