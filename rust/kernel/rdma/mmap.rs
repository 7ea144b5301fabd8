// SPDX-License-Identifier: GPL-2.0

//! Device memory mapped into user space through a user context (`rdma_user_mmap_*`).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h).
//!
//! A driver publishes a range of device memory, e.g. a doorbell page, by inserting an entry
//! into the context ([`Ucontext::insert_mmap_entry`]) and telling user space the entry's
//! [`offset`](MmapEntryHandle::offset); user space passes that offset to `mmap()`, and the
//! driver's [`Driver::mmap`] maps the entry with [`Ucontext::mmap_entry`]. The core keeps the
//! entry while mappings of it exist; once the driver removed it (dropping the handle) and the
//! last mapping is gone, the abstraction frees it (`mmap_free`).

use super::{
    Driver,
    NewUcontext,
    Ucontext, //
};
use crate::{
    bindings,
    error::to_result,
    mm::virt::VmaNew,
    page::{
        Page,
        PAGE_SIZE, //
    },
    prelude::*,
    types::Opaque, //
};
use core::ptr::NonNull;

/// How the memory of an entry is mapped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MmapCache {
    /// Uncached (`pgprot_noncached`): device registers.
    Uncached,
    /// Write-combined (`pgprot_writecombine`): doorbell pages.
    WriteCombine,
}

/// An entry of a user context's mmap table: `struct rdma_user_mmap_entry` and the memory it
/// describes.
///
/// # Invariants
///
/// Allocated by `insert` in a `KBox` and freed by the `mmap_free` operation; `entry` is
/// inserted into the table of one user context.
#[repr(C)]
pub struct MmapEntry {
    entry: Opaque<bindings::rdma_user_mmap_entry>,
    pfn: usize,
    len: usize,
    cache: MmapCache,
}

/// The driver's reference to an [`MmapEntry`]; dropping it removes the entry from the table
/// (`rdma_user_mmap_entry_remove`), so no new mapping of it can be made.
///
/// # Invariants
///
/// `entry` is an inserted entry whose driver reference this object owns; its user context
/// outlives this object (the safety contract of [`Ucontext::insert_mmap_entry`]).
pub struct MmapEntryHandle {
    entry: NonNull<MmapEntry>,
}

// SAFETY: Removing an entry takes the locks it needs and may happen on any thread.
unsafe impl Send for MmapEntryHandle {}

// SAFETY: Shared references only read fields that do not change after insertion.
unsafe impl Sync for MmapEntryHandle {}

impl MmapEntryHandle {
    /// Returns the offset user space passes to `mmap()` for this entry
    /// (`rdma_user_mmap_get_offset`).
    pub fn offset(&self) -> u64 {
        // SAFETY: By the type invariant the entry is inserted and alive; `start_pgoff` is set
        // by the insertion and never changes.
        unsafe {
            bindings::rdma_user_mmap_get_offset(
                self.entry.as_ptr().cast::<bindings::rdma_user_mmap_entry>(),
            )
        }
    }

    /// Returns the length of the entry in bytes.
    pub fn len(&self) -> usize {
        // SAFETY: By the type invariant the entry is alive; `len` never changes.
        unsafe { (*self.entry.as_ptr()).len }
    }

    /// Returns `true` if the entry is empty (never: insertion refuses that).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for MmapEntryHandle {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the entry is inserted, its user context is alive, and
        // `self` owns the driver's reference, dropped here.
        unsafe {
            bindings::rdma_user_mmap_entry_remove(
                self.entry.as_ptr().cast::<bindings::rdma_user_mmap_entry>(),
            )
        };
    }
}

/// Inserts an entry for `len` bytes of device memory at page frame `pfn` into `ctx`.
///
/// # Safety
///
/// `ctx` must be a user context created by uverbs (its `ufile` is set) that outlives the
/// returned handle, and `pfn..pfn + len` device memory that user space may access.
unsafe fn insert(
    ctx: *mut bindings::ib_ucontext,
    pfn: usize,
    len: usize,
    cache: MmapCache,
) -> Result<MmapEntryHandle> {
    if len == 0 {
        return Err(EINVAL);
    }
    let entry = KBox::new(
        MmapEntry {
            entry: Opaque::zeroed(),
            pfn,
            len,
            cache,
        },
        GFP_KERNEL,
    )?;
    let raw = KBox::into_raw(entry);
    // SAFETY: `raw` is a valid, zeroed entry, and `ctx` a valid uverbs user context (the
    // caller's guarantee). The function initialises the entry and inserts it.
    let ret = unsafe {
        bindings::rdma_user_mmap_entry_insert(
            ctx,
            raw.cast::<bindings::rdma_user_mmap_entry>(),
            len,
        )
    };
    if ret != 0 {
        // SAFETY: The insertion failed, so nothing else refers to the entry: take the box
        // back and free it.
        drop(unsafe { KBox::from_raw(raw) });
        return Err(Error::from_errno(ret));
    }
    // INVARIANT: The entry is inserted and the reference of the insertion is ours; the
    // caller guarantees that the context outlives the handle.
    Ok(MmapEntryHandle {
        // SAFETY: `raw` comes from `KBox::into_raw`, so it is not null.
        entry: unsafe { NonNull::new_unchecked(raw) },
    })
}

/// Maps `len` bytes at page frame `pfn` into `vma` for `ctx` (`rdma_user_mmap_io`).
///
/// # Safety
///
/// `ctx` must be a valid user context, `vma` the area being mapped for it, `entry` null or an
/// entry of `ctx`, and `pfn..pfn + len` device memory that user space may access.
unsafe fn map_io(
    ctx: *mut bindings::ib_ucontext,
    vma: &VmaNew,
    pfn: usize,
    len: usize,
    cache: MmapCache,
    entry: *mut bindings::rdma_user_mmap_entry,
) -> Result {
    let vma = vma.as_ptr();
    // SAFETY: `vma` is valid while the mmap operation runs; `vm_page_prot` is plain data.
    let prot = unsafe { (*vma).vm_page_prot };
    let prot = match cache {
        // SAFETY: Pure computation on a value.
        MmapCache::Uncached => unsafe { bindings::rdma_pgprot_noncached(prot) },
        // SAFETY: Pure computation on a value.
        MmapCache::WriteCombine => unsafe { bindings::rdma_pgprot_writecombine(prot) },
    };
    // SAFETY: Guaranteed by the caller; the function checks that the area is `len` bytes and
    // records the mapping so that disassociation can zap it.
    to_result(unsafe { bindings::rdma_user_mmap_io(ctx, vma, pfn, len, prot, entry) })
}

impl<T: Driver> NewUcontext<T> {
    /// Inserts an entry for `len` bytes of device memory at page frame `pfn`
    /// (`rdma_user_mmap_entry_insert`), e.g. the context's doorbell page.
    ///
    /// # Safety
    ///
    /// The handle must be dropped before the context's data is (keep it in
    /// [`Driver::UcontextData`]), and `pfn..pfn + len` must be device memory this context's
    /// process may access.
    pub unsafe fn insert_mmap_entry(
        &self,
        pfn: usize,
        len: usize,
        cache: MmapCache,
    ) -> Result<MmapEntryHandle> {
        // SAFETY: A `NewUcontext` is only made by `alloc_ucontext`, called by uverbs with
        // `ufile` set; the rest is the caller's guarantee.
        unsafe { insert(self.as_raw(), pfn, len, cache) }
    }
}

impl<T: Driver> Ucontext<T> {
    /// Inserts an entry for `len` bytes of device memory at page frame `pfn`
    /// (`rdma_user_mmap_entry_insert`).
    ///
    /// # Safety
    ///
    /// The handle must be dropped before the context's data is (keep it in
    /// [`Driver::UcontextData`] or in an object of this context), and `pfn..pfn + len` must
    /// be device memory this context's process may access.
    pub unsafe fn insert_mmap_entry(
        &self,
        pfn: usize,
        len: usize,
        cache: MmapCache,
    ) -> Result<MmapEntryHandle> {
        // SAFETY: A complete `Ucontext` was allocated by uverbs, with `ufile` set; the rest is
        // the caller's guarantee.
        unsafe { insert(self.as_raw(), pfn, len, cache) }
    }

    /// Maps the entry named by the offset of `vma` (`rdma_user_mmap_entry_get`, then
    /// `rdma_user_mmap_io`): `EINVAL` if there is none, the area is not shared, or its length
    /// differs from the entry's.
    pub fn mmap_entry(&self, vma: &VmaNew) -> Result {
        // SAFETY: The context and the area are valid during the mmap operation.
        let raw = unsafe { bindings::rdma_user_mmap_entry_get(self.as_raw(), vma.as_ptr()) };
        if raw.is_null() {
            return Err(EINVAL);
        }
        let entry = raw.cast::<MmapEntry>();
        // SAFETY: Every entry of a context of this driver was inserted by `insert`, so it is
        // an `MmapEntry`, kept alive by the reference `rdma_user_mmap_entry_get()` took.
        let (pfn, len, cache) = unsafe { ((*entry).pfn, (*entry).len, (*entry).cache) };
        // SAFETY: `raw` is an entry of this context, whose memory the driver allowed when it
        // inserted it.
        let ret = unsafe { map_io(self.as_raw(), vma, pfn, len, cache, raw) };
        // SAFETY: Drops the reference taken above; a successful mapping holds its own.
        unsafe { bindings::rdma_user_mmap_entry_put(raw) };
        ret
    }

    /// Maps the system page `page` into `vma`, which must be shared and one page long
    /// (`vm_insert_page`), e.g. memory a software device uses in place of a doorbell page.
    ///
    /// The mapping holds its own reference on the page, so `page` may be freed before the
    /// process unmaps it. Fails with `EINVAL` for a private or wrongly sized area.
    pub fn mmap_page(&self, vma: &VmaNew, page: &Page) -> Result {
        let shared = vma.flags() & crate::mm::virt::flags::SHARED != 0;
        if !shared || vma.end() - vma.start() != PAGE_SIZE {
            return Err(EINVAL);
        }
        vma.set_mixedmap().vm_insert_page(vma.start(), page)
    }

    /// Maps `len` bytes of device memory at page frame `pfn` into `vma` without an entry
    /// (`rdma_user_mmap_io` with no entry), e.g. a doorbell page the context owns until it is
    /// deallocated.
    ///
    /// # Safety
    ///
    /// `pfn..pfn + len` must be device memory this context's process may access.
    pub unsafe fn mmap_io(&self, vma: &VmaNew, pfn: usize, len: usize, cache: MmapCache) -> Result {
        // SAFETY: The context and the area are valid during the mmap operation; the memory is
        // the caller's guarantee.
        unsafe { map_io(self.as_raw(), vma, pfn, len, cache, core::ptr::null_mut()) }
    }
}

/// Returns the offset the process mapped at, in pages (`vm_pgoff`): which of the context's
/// mappings it asks for.
pub fn mmap_pgoff(vma: &VmaNew) -> usize {
    // SAFETY: `vma` is a valid area during the mmap operation; `vm_pgoff` is plain data set
    // before the driver is called.
    unsafe { (*vma.as_ptr()).vm_pgoff }
}

/// The `mmap_free` operation: frees an entry once it is removed and no longer mapped.
///
/// # Safety
///
/// `entry` must be an entry inserted by [`insert`], with no reference left.
pub(super) unsafe extern "C" fn mmap_free_callback(entry: *mut bindings::rdma_user_mmap_entry) {
    // SAFETY: By the invariant of `MmapEntry`, the entry was allocated by `insert` in a
    // `KBox`, and the core calls this once the last reference is gone.
    drop(unsafe { KBox::from_raw(entry.cast::<MmapEntry>()) });
}
