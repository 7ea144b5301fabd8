// SPDX-License-Identifier: GPL-2.0

//! Pinned user memory (`struct ib_umem`) and its DMA blocks.
//!
//! C headers: [`include/rdma/ib_umem.h`](srctree/include/rdma/ib_umem.h),
//! [`include/rdma/iter.h`](srctree/include/rdma/iter.h).

use super::{
    udata::UData,
    Device,
    Driver, //
};
use crate::{
    bindings,
    device,
    error::{
        from_err_ptr,
        to_result, //
    },
    prelude::*,
    sync::aref::ARef, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

/// `IB_ACCESS_LOCAL_WRITE`: the device may write the memory.
pub const ACCESS_LOCAL_WRITE: i32 = bindings::ib_access_flags_IB_ACCESS_LOCAL_WRITE as i32;

/// User memory pinned and mapped for DMA by a device (`ib_umem_get_va`), released on drop
/// (`ib_umem_release`).
///
/// It holds references to the RDMA device and to the device that does its DMA, which
/// `ib_umem_release()` unmaps the memory for (`umem->ibdev`), so the release is valid however
/// long the object lives.
///
/// # Invariants
///
/// `umem` is a `struct ib_umem` returned by `ib_umem_get_va()`, owned by this object; its
/// scatterlist is mapped for `umem->ibdev`. `_ibdev` is a reference to `umem->ibdev->dev` and
/// `_dma_dev` one to `umem->ibdev->dma_device` (if set).
pub struct Umem {
    umem: NonNull<bindings::ib_umem>,
    _ibdev: ARef<device::Device>,
    _dma_dev: Option<ARef<device::Device>>,
}

// SAFETY: A umem may be released from any thread; it keeps its own reference to the mm.
unsafe impl Send for Umem {}

// SAFETY: Shared references only read fields that do not change after creation.
unsafe impl Sync for Umem {}

impl Umem {
    /// Pins `len` bytes of the memory of the process that issued the uverbs command `udata`
    /// at user address `addr` and maps them for DMA by `dev` (`ib_umem_get_va`). `access`
    /// holds `IB_ACCESS_*` flags, e.g. [`ACCESS_LOCAL_WRITE`] for memory the device writes.
    ///
    /// `ib_umem_get_va()` pins the memory of the current task (`current->mm`): the command's
    /// `udata`, which only exists while its process runs the command, is the proof that the
    /// current task is that process, and not a kernel thread (no `mm`) or another process.
    ///
    /// Fails with `EINVAL` for an empty or wrapping range, `EFAULT` without a user address
    /// space, `ENOMEM` beyond `RLIMIT_MEMLOCK` (without `CAP_IPC_LOCK`) and `EFAULT` for
    /// unmapped memory.
    pub fn get<T: Driver>(
        dev: &Device<T>,
        _udata: &UData,
        addr: u64,
        len: usize,
        access: i32,
    ) -> Result<Self> {
        let addr = usize::try_from(addr).map_err(|_| EINVAL)?;
        if len == 0 {
            return Err(EINVAL);
        }
        // `UData` promises the current task's memory; a kernel thread has none, and
        // `ib_umem_get_va()` would dereference the missing `mm`.
        if crate::current!().mm().is_none() {
            return Err(EFAULT);
        }
        // SAFETY: `dev` is a valid device, so `dev.dev` is a live `struct device` and
        // `dma_device` null or one the device holds a reference to (its parent).
        let (ibdev, dma_dev) = unsafe {
            let raw = dev.as_raw();
            let dma = (*raw).dma_device;
            (
                device::Device::get_device(&raw mut (*raw).__bindgen_anon_1.dev),
                (!dma.is_null()).then(|| device::Device::get_device(dma)),
            )
        };
        // SAFETY: `dev` is a valid device; the function checks the range and pins the memory
        // of the current task, which has an address space (checked above).
        let umem =
            from_err_ptr(unsafe { bindings::ib_umem_get_va(dev.as_raw(), addr, len, access) })?;
        // INVARIANT: `umem` was returned by `ib_umem_get_va()` for `dev` and is now owned; the
        // references are to `dev`'s devices.
        Ok(Self {
            umem: NonNull::new(umem).ok_or(ENOMEM)?,
            _ibdev: ibdev,
            _dma_dev: dma_dev,
        })
    }

    /// Copies `out.len()` bytes at byte `offset` of the memory into `out`
    /// (`ib_umem_copy_from`), as a device reads it: through the pinned pages, whatever the
    /// process does meanwhile (it may change the bytes during the copy). `EINVAL` beyond the
    /// end.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        // SAFETY: By the type invariant the umem is valid and its pages pinned; the function
        // checks the range and copies into `out`, which is valid for `out.len()` bytes.
        to_result(unsafe {
            bindings::ib_umem_copy_from(out.as_mut_ptr().cast(), self.as_raw(), offset, out.len())
        })
    }

    /// Copies `data` to byte `offset` of the memory, as a device writes it: through the
    /// pinned pages, whatever the process does meanwhile. `EINVAL` beyond the end, `EPERM` for
    /// memory pinned without write access (its pages may be shared read-only, e.g. a file's).
    pub fn write(&self, offset: usize, data: &[u8]) -> Result {
        let end = offset.checked_add(data.len()).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        let umem = self.as_raw();
        // SAFETY: By the type invariant the umem is valid; the fields never change.
        let (writable, skip) = unsafe {
            (
                (*umem).writable() != 0,
                (*umem).address & (crate::page::PAGE_SIZE - 1),
            )
        };
        if !writable {
            return Err(EPERM);
        }
        let start = offset
            .checked_add(skip)
            .and_then(|s| isize::try_from(s).ok())
            .ok_or(EINVAL)?;
        // SAFETY: The umem is valid and its pages pinned for writing (checked above), listed
        // in its mapped scatterlist (`sgt_append.sgt`), which never changes; the function
        // copies `data.len()` bytes from `data` to the pages, starting `start` bytes in, as
        // `ib_umem_copy_from()` does the other way.
        let copied = unsafe {
            let sgt = &raw const (*umem).sgt_append.sgt;
            bindings::sg_pcopy_from_buffer(
                (*sgt).sgl,
                (*sgt).orig_nents,
                data.as_ptr().cast(),
                data.len(),
                start,
            )
        };
        if copied != data.len() {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Returns the raw pointer.
    pub fn as_raw(&self) -> *mut bindings::ib_umem {
        self.umem.as_ptr()
    }

    /// Returns the length in bytes.
    pub fn len(&self) -> usize {
        // SAFETY: By the type invariant the umem is valid; the field never changes.
        unsafe { (*self.as_raw()).length }
    }

    /// Returns `true` if the umem is empty (never, in practice: pinning refuses that).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the user address the memory starts at.
    pub fn address(&self) -> usize {
        // SAFETY: By the type invariant the umem is valid; the field never changes.
        unsafe { (*self.as_raw()).address }
    }

    /// Returns the number of `pgsz`-byte blocks the memory spans (`ib_umem_num_dma_blocks`).
    ///
    /// `pgsz` must be a power of two, else `EINVAL`.
    pub fn num_dma_blocks(&self, pgsz: usize) -> Result<usize> {
        if !pgsz.is_power_of_two() {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant the umem is valid, and `pgsz` is a power of two.
        Ok(unsafe { bindings::ib_umem_num_dma_blocks(self.as_raw(), pgsz) })
    }

    /// Returns the largest page size in `pgsz_bitmap` that can map the memory at I/O virtual
    /// address `virt` (`ib_umem_find_best_pgsz`), `None` if none can.
    pub fn find_best_pgsz(&self, pgsz_bitmap: usize, virt: u64) -> Option<usize> {
        // SAFETY: By the type invariant the umem is valid and mapped.
        let pgsz = unsafe { bindings::ib_umem_find_best_pgsz(self.as_raw(), pgsz_bitmap, virt) };
        (pgsz != 0).then_some(pgsz)
    }

    /// Iterates over the DMA addresses of the `pgsz`-aligned blocks of the memory
    /// (`rdma_umem_for_each_dma_block`), exactly [`Umem::num_dma_blocks`] of them.
    ///
    /// `pgsz` must be a power of two, else `EINVAL`; it should be at most `PAGE_SIZE` or come
    /// from [`Umem::find_best_pgsz`], otherwise the blocks do not describe the memory.
    pub fn dma_blocks(&self, pgsz: usize) -> Result<DmaBlocks<'_>> {
        if !pgsz.is_power_of_two() {
            return Err(EINVAL);
        }
        let mut iter: bindings::ib_block_iter = pin_init::zeroed();
        // SAFETY: By the type invariant the umem is valid and its scatterlist mapped; `iter`
        // is a local the iteration state is written to.
        unsafe { bindings::__rdma_umem_block_iter_start(&mut iter, self.as_raw(), pgsz) };
        // INVARIANT: Started on this umem, which the borrow keeps alive.
        Ok(DmaBlocks {
            iter,
            _umem: PhantomData,
        })
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self` owns the umem; it is not used after this. Its
        // `ibdev` and that device's DMA device are alive: this object holds references to them,
        // dropped after this (fields drop after `drop`).
        unsafe { bindings::ib_umem_release(self.as_raw()) };
    }
}

/// An iterator over the DMA blocks of a [`Umem`], from [`Umem::dma_blocks`].
///
/// # Invariants
///
/// `iter` was started on a umem that is borrowed for `'a`.
pub struct DmaBlocks<'a> {
    iter: bindings::ib_block_iter,
    _umem: PhantomData<&'a Umem>,
}

impl Iterator for DmaBlocks<'_> {
    type Item = bindings::dma_addr_t;

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: By the type invariant `iter` iterates over a live umem's scatterlist; the
        // function stops at its end.
        if !unsafe { bindings::__rdma_umem_block_iter_next(&mut self.iter) } {
            return None;
        }
        // SAFETY: `iter` holds the current block, just returned by the iteration.
        Some(unsafe { bindings::rdma_block_iter_dma_address(&mut self.iter) })
    }
}
