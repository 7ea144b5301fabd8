// SPDX-License-Identifier: GPL-2.0

//! Streaming DMA mappings of kernel pages.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h).
//!
//! [`SharedPage`] is a counted reference to a page (or a compound page) of the kernel's linear
//! map: cloning it takes a reference (`get_page`), dropping it puts one (`put_page`), and the
//! memory lives until the last reference is gone, whoever holds it (a driver, or a socket buffer
//! built on it). [`StreamMapping`] maps part of such a page for a device
//! (`dma_map_page_attrs`), holds the page for as long as the mapping lives, and unmaps it when
//! dropped (`dma_unmap_page_attrs`).
//!
//! # Cost
//!
//! Mapping is cheap without an IOMMU (the bus address is the physical address), an IOVA
//! allocation and a page table update with one, and a copy through a bounce buffer where the
//! device cannot reach the page (swiotlb, as in a confidential VM). Unmapping is the reverse and,
//! with a strict IOMMU, an IOTLB invalidation. Receive buffers are therefore mapped once and
//! recycled while mapped, with [`StreamMapping::sync_for_cpu`] and
//! [`StreamMapping::sync_for_device`] handing the bytes between the CPU and the device.

use crate::{
    alloc::Flags,
    bindings,
    device::{
        Bound,
        Device, //
    },
    dma::{
        DataDirection,
        DmaAddress, //
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::ARef, //
};
use core::ptr::NonNull;

/// A counted reference to a page, or to the head of a compound page of `2^order` pages, in the
/// kernel's linear map.
///
/// # Invariants
///
/// `page` is a valid page (the head of a compound page if `order > 0`) not in high memory, of
/// which this object holds one reference.
pub struct SharedPage {
    page: NonNull<bindings::page>,
    order: u32,
}

// SAFETY: A page reference may be taken, used and put on any thread.
unsafe impl Send for SharedPage {}

// SAFETY: Shared references only read the reference count and copy bytes through raw pointers.
unsafe impl Sync for SharedPage {}

impl SharedPage {
    /// The largest order [`SharedPage::alloc`] accepts (64 KiB with 4 KiB pages).
    pub const MAX_ORDER: u32 = 4;

    /// Allocates `2^order` contiguous pages (a compound page if `order > 0`).
    ///
    /// Fails with `EINVAL` for an order above [`SharedPage::MAX_ORDER`] or flags asking for
    /// high memory, `ENOMEM` if no memory is free.
    pub fn alloc(order: u32, flags: Flags) -> Result<Self> {
        if order > Self::MAX_ORDER || flags.as_raw() & bindings::__GFP_HIGHMEM != 0 {
            return Err(EINVAL);
        }
        let comp = if order > 0 { bindings::__GFP_COMP } else { 0 };
        // SAFETY: Plain allocation; the flags say whether it may sleep.
        let page = unsafe { bindings::alloc_pages(flags.as_raw() | comp, order) };
        // INVARIANT: A non-null result is a new page (compound for `order > 0`) of which we hold
        // the only reference, not in high memory (no `__GFP_HIGHMEM`).
        NonNull::new(page)
            .map(|page| Self { page, order })
            .ok_or(ENOMEM)
    }

    /// Returns the raw page.
    pub fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// Returns the order of the allocation.
    pub fn order(&self) -> u32 {
        self.order
    }

    /// Returns the size of the memory in bytes.
    pub fn size(&self) -> usize {
        PAGE_SIZE << self.order
    }

    /// Returns the number of references to the page (`page_ref_count`): 1 while this object is
    /// the only holder.
    pub fn ref_count(&self) -> u32 {
        // SAFETY: By the type invariant, the page is valid.
        let count = unsafe { bindings::page_ref_count(self.as_ptr()) };
        u32::try_from(count).unwrap_or(0)
    }

    /// Returns whether this object holds the only reference: nothing else (no socket buffer,
    /// no clone) reads or writes the memory.
    pub fn is_unshared(&self) -> bool {
        self.ref_count() == 1
    }

    fn range(&self, offset: usize, len: usize) -> Result<*mut u8> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size() => {}
            _ => return Err(EFAULT),
        }
        // SAFETY: By the type invariant, the page is valid and in the linear map, where its
        // `size()` bytes are contiguous; `offset` is within them (checked above).
        Ok(unsafe {
            bindings::page_address(self.as_ptr())
                .cast::<u8>()
                .add(offset)
        })
    }

    /// Copies `out.len()` bytes at `offset` into `out`, as a device reading the page would.
    ///
    /// For software models of a device, which reach the memory of a [`StreamMapping`]-like
    /// mapping only through it. Fails with `EFAULT` if the range is not within the page.
    pub fn device_read(&self, offset: usize, out: &mut [u8]) -> Result {
        let src = self.range(offset, out.len())?;
        // SAFETY: `src` starts `out.len()` bytes of the page (checked by `range`), which the
        // reference keeps allocated; `out` is a distinct Rust buffer. No Rust reference to the
        // page's bytes exists: they are only reached through raw pointers, like a device's DMA.
        unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` to `offset`, as a device writing into the page would.
    ///
    /// For software models of a device: the caller writes only memory the owner handed to the
    /// device (mapped from the CPU to the device), as hardware would. Fails with `EFAULT` if
    /// the range is not within the page.
    pub fn device_write(&self, offset: usize, data: &[u8]) -> Result {
        let dst = self.range(offset, data.len())?;
        // SAFETY: `dst` starts `data.len()` bytes of the page (checked by `range`), which the
        // reference keeps allocated; `data` is a distinct Rust buffer. The bytes are only
        // reached through raw pointers (see `device_read`).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }
}

impl Clone for SharedPage {
    fn clone(&self) -> Self {
        // SAFETY: By the type invariant, the page is valid; the new object holds the reference.
        unsafe { bindings::get_page(self.as_ptr()) };
        // INVARIANT: One more reference, held by the new object.
        Self {
            page: self.page,
            order: self.order,
        }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, we hold a reference, which we put here.
        unsafe { bindings::put_page(self.as_ptr()) };
    }
}

/// A streaming DMA mapping of `len` bytes of a [`SharedPage`] for a device.
///
/// Holds the page for as long as it lives; dropping it unmaps the range.
///
/// # Invariants
///
/// `addr` is the device's address of `len` bytes of `page`, mapped for `dev` in direction
/// `dir` by `dma_map_page_attrs` and not unmapped yet.
pub struct StreamMapping {
    dev: ARef<Device>,
    addr: DmaAddress,
    len: usize,
    dir: DataDirection,
    page: SharedPage,
}

impl StreamMapping {
    /// Maps `len` bytes at `offset` of `page` for `dev` in direction `dir`
    /// (`dma_map_page_attrs`).
    ///
    /// Fails with `EINVAL` for an empty range, a range outside the page or the direction
    /// [`DataDirection::None`], and `ENOMEM` if the mapping failed (`dma_mapping_error`). Does
    /// not sleep.
    pub fn new(
        dev: &Device<Bound>,
        page: SharedPage,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Result<Self> {
        if len == 0 || dir == DataDirection::None || page.range(offset, len).is_err() {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is a bound device; `page` is a valid page in the linear map of which
        // `len` bytes at `offset` exist (checked above), and stays so while the mapping holds
        // it.
        let addr = unsafe {
            bindings::dma_map_page_attrs(dev.as_raw(), page.as_ptr(), offset, len, dir.into(), 0)
        };
        // SAFETY: `addr` is what `dma_map_page_attrs` just returned for `dev`.
        if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
            return Err(ENOMEM);
        }
        // INVARIANT: Mapped just above.
        Ok(Self {
            dev: dev.into(),
            addr,
            len,
            dir,
            page,
        })
    }

    /// Returns the device's address of the first byte.
    pub fn dma_address(&self) -> DmaAddress {
        self.addr
    }

    /// Returns the number of bytes mapped.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the mapping is empty (never: mappings have at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the page.
    pub fn page(&self) -> &SharedPage {
        &self.page
    }

    fn check(&self, offset: usize, len: usize) -> Result {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Gives `len` bytes at `offset` of the mapping to the CPU, after the device wrote them
    /// (`dma_sync_single_for_cpu`). Fails with `EINVAL` outside the mapping.
    pub fn sync_for_cpu(&self, offset: usize, len: usize) -> Result {
        self.check(offset, len)?;
        // SAFETY: By the type invariant, `addr` maps `len` bytes for `dev`; the range is within
        // them (checked above).
        unsafe {
            bindings::dma_sync_single_for_cpu(
                self.dev.as_raw(),
                self.addr + offset as DmaAddress,
                len,
                self.dir.into(),
            )
        };
        Ok(())
    }

    /// Gives `len` bytes at `offset` of the mapping back to the device
    /// (`dma_sync_single_for_device`). Fails with `EINVAL` outside the mapping.
    pub fn sync_for_device(&self, offset: usize, len: usize) -> Result {
        self.check(offset, len)?;
        // SAFETY: As in `sync_for_cpu`.
        unsafe {
            bindings::dma_sync_single_for_device(
                self.dev.as_raw(),
                self.addr + offset as DmaAddress,
                len,
                self.dir.into(),
            )
        };
        Ok(())
    }
}

impl Drop for StreamMapping {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `addr` maps `len` bytes for `dev` in `dir`; it is not
        // used after this. The page is put after the unmapping (fields drop after `drop`).
        unsafe {
            bindings::dma_unmap_page_attrs(
                self.dev.as_raw(),
                self.addr,
                self.len,
                self.dir.into(),
                0,
            )
        };
    }
}

#[macros::kunit_tests(rust_dma_stream)]
mod tests {
    use super::*;

    #[test]
    fn shared_page_references() -> Result {
        let page = SharedPage::alloc(0, GFP_KERNEL)?;
        assert!(page.is_unshared());
        assert_eq!(page.size(), PAGE_SIZE);
        let other = page.clone();
        assert_eq!(page.ref_count(), 2);
        assert!(!other.is_unshared());
        drop(other);
        assert!(page.is_unshared());
        Ok(())
    }

    #[test]
    fn shared_page_compound_and_limits() -> Result {
        let page = SharedPage::alloc(2, GFP_KERNEL)?;
        assert_eq!(page.size(), 4 * PAGE_SIZE);
        // The last byte of the fourth page is reachable, one past it is not.
        page.device_write(4 * PAGE_SIZE - 1, &[0xa5])?;
        let mut b = [0u8; 1];
        page.device_read(4 * PAGE_SIZE - 1, &mut b)?;
        assert_eq!(b, [0xa5]);
        assert_eq!(page.device_write(4 * PAGE_SIZE, &[1]), Err(EFAULT));
        assert_eq!(page.device_read(usize::MAX, &mut b), Err(EFAULT));
        assert_eq!(
            SharedPage::alloc(SharedPage::MAX_ORDER + 1, GFP_KERNEL).err(),
            Some(EINVAL)
        );
        assert_eq!(
            SharedPage::alloc(0, GFP_KERNEL | crate::alloc::flags::__GFP_HIGHMEM).err(),
            Some(EINVAL)
        );
        Ok(())
    }
}
