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
//! # Who may touch the bytes
//!
//! Rust code reaches the bytes of a [`SharedPage`] by reference only through a [`CpuPage`]: a
//! socket buffer built on it ([`CpuPage::build_skb`]) or an XDP buffer over it
//! (`netdev::xdp::Buff`). Everything else copies through raw pointers. The two never meet:
//!
//! - a [`CpuPage`] is exclusive access of the CPU to the bytes: it comes from a page handle
//!   borrowed exclusively ([`SharedPage::cpu`]), or from a mapping while the CPU owns the bytes
//!   ([`StreamMapping::cpu_page`], [`ModelMapping::cpu_page`]), and it writes them, or hands
//!   them to a buffer, only while the page has no other holder;
//! - a software device writes ([`SharedPage::device_write`], `&mut`) or reads
//!   ([`SharedPage::device_read`]) only a page nothing else holds, so never a page a buffer
//!   still refers to;
//! - a mapping belongs to the device from its creation and from each `sync_for_device`, and
//!   to the CPU from each `sync_for_cpu`. It gives a [`CpuPage`] only while the CPU owns the
//!   bytes, and goes back to the device only once no buffer holds the page.
//!
//! `sync_for_cpu` is where the driver states, as with the C DMA API, that the device finished
//! writing (it saw the completion). A [`ModelMapping`] (a device model in software, which copies
//! the bytes itself) enforces the other half too: its [`ModelAccess`] reads and writes only
//! while the device owns the bytes, and no lock is held while the CPU owns them (an XDP program
//! runs on the page, and may transmit through the same device model, without one).
//!
//! # Binding
//!
//! A mapping is made for a bound device (`&Device<Bound>`). Code that keeps a device for longer
//! than a callback (a `'static` transport of a bus device, an interrupt handler) holds a
//! [`StreamDevice`] instead: it lives inside a [`Devres`], which devres drops when the device is
//! unbound, so each access to it ([`Devres::try_access`], an RCU read-side section, no lock)
//! either proves the device bound for its duration or fails. The mapping functions need no
//! `unsafe` and no lock of the driver's in any context, and after the unbind they fail.
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
    devres::Devres,
    dma::{
        DataDirection,
        DmaAddress, //
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        SpinLockIrq, //
    },
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

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

// SAFETY: Shared references only read the reference count, take references, and copy bytes out
// through raw pointers while no other holder exists (`device_read`); writing the bytes, or
// handing them to a socket buffer, takes `&mut`.
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
    /// mapping only through it. Fails with `EFAULT` if the range is not within the page, and
    /// with `EBUSY` if anything else holds the page (a socket buffer built on it may be writing
    /// it).
    pub fn device_read(&self, offset: usize, out: &mut [u8]) -> Result {
        let src = self.range(offset, out.len())?;
        if !self.is_unshared() {
            return Err(EBUSY);
        }
        // SAFETY: `src` starts `out.len()` bytes of the page (checked by `range`), which the
        // reference keeps allocated; `out` is a distinct Rust buffer. This handle holds the only
        // reference (checked above), and while it does, no socket buffer refers to the bytes
        // and none can be built (that takes `&mut self`, or another reference first): nothing
        // writes them, only `device_write` through `&mut self`, excluded by our `&self`.
        unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` to `offset`, as a device writing into the page would.
    ///
    /// For software models of a device: the caller writes only memory the owner handed to the
    /// device (mapped from the CPU to the device), as hardware would. Fails with `EFAULT` if
    /// the range is not within the page, and with `EBUSY` if anything else holds the page (a
    /// socket buffer built on it may be reading it).
    pub fn device_write(&mut self, offset: usize, data: &[u8]) -> Result {
        let dst = self.range(offset, data.len())?;
        if !self.is_unshared() {
            return Err(EBUSY);
        }
        // SAFETY: `dst` starts `data.len()` bytes of the page (checked by `range`), which the
        // reference keeps allocated; `data` is a distinct Rust buffer. This handle holds the only
        // reference (checked above) and is borrowed exclusively: no other handle, and so no
        // socket buffer or reader, exists, and none can appear during the copy.
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

/// Exclusive access of the CPU to the bytes of a page, for as long as it lives: no device, no
/// device model and no other handle reads or writes them except through this object.
///
/// It lets the CPU write the bytes (an XDP program, `netdev::xdp::Buff`) or hand them to a
/// socket buffer ([`CpuPage::build_skb`]), each only while nothing else holds the page
/// ([`CpuPage::is_unshared`]). Obtained from a page handle borrowed exclusively
/// ([`SharedPage::cpu`]), or from a mapping while the CPU owns its bytes
/// ([`StreamMapping::cpu_page`], [`ModelMapping::cpu_page`]); the borrow keeps the mapping from
/// going back to the device meanwhile.
///
/// # Invariants
///
/// While `'a` lasts, no other [`CpuPage`] of `page` exists, and while `page` is the only
/// reference to the page ([`SharedPage::is_unshared`]), nothing but this object reads or
/// writes its bytes (no device, no device model). While the page has other holders (socket
/// buffers, clones, a mapping for the device to read), they and this object only read them.
pub struct CpuPage<'a> {
    page: &'a SharedPage,
    _exclusive: PhantomData<&'a mut SharedPage>,
}

impl<'a> CpuPage<'a> {
    /// Returns whether nothing else (no socket buffer, no clone) holds the page: only then may
    /// the CPU write the bytes or hand them to a buffer.
    pub fn is_unshared(&self) -> bool {
        self.page.is_unshared()
    }

    /// Returns the size of the memory in bytes.
    pub fn size(&self) -> usize {
        self.page.size()
    }

    /// Returns the page, for the abstractions that give the bytes to the CPU (they check
    /// [`SharedPage::is_unshared`] first: a clone taken from the result makes it false).
    pub(crate) fn page(&self) -> &'a SharedPage {
        self.page
    }

    /// Builds a socket buffer around the fragment `offset..offset + frag_size` of the page, the
    /// packet being the `len` bytes at `headroom` in it, with no copy
    /// ([`Skb::build_from_shared_page`](crate::netdev::skb::Skb::build_from_shared_page)).
    /// The buffer holds the page until the stack frees it ([`CpuPage::is_unshared`] then holds
    /// again).
    ///
    /// Fails with `EBUSY` if anything else holds the page (a previous buffer still lives),
    /// `EINVAL` if the fragment is not within the page or not cache-line aligned, `EMSGSIZE` if
    /// it cannot hold the packet and the shared info, and `ENOMEM`.
    #[cfg(CONFIG_NET)]
    pub fn build_skb(
        &mut self,
        offset: u32,
        frag_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<crate::netdev::skb::Skb> {
        crate::netdev::skb::Skb::build_on_cpu_page(self, offset, frag_size, headroom, len)
    }
}

impl SharedPage {
    /// Returns the CPU's exclusive access to the bytes through this handle (which may not be
    /// the only one: [`CpuPage::is_unshared`] says).
    pub fn cpu(&mut self) -> CpuPage<'_> {
        // INVARIANT: The handle is borrowed exclusively for the lifetime. Any other holder of
        // the page (a clone, a socket buffer, a mapping, which holds its own handle) only reads
        // the bytes or refuses to touch them while the page is shared, which it is while it
        // exists besides this handle.
        CpuPage {
            page: self,
            _exclusive: PhantomData,
        }
    }
}

/// A device's capability to make streaming DMA mappings, for as long as it is bound.
///
/// It exists only inside the [`Devres`] that [`StreamDevice::new`] returns, and is reached
/// only by reference through it: devres drops it when the device is unbound, after every access
/// ([`Devres::try_access`], an RCU read-side section) has ended, and refuses access from then
/// on. A `&StreamDevice` is therefore proof that the device is bound, and gives the
/// `&Device<Bound>` the mapping functions ([`StreamMapping::new`],
/// `netdev::skb::MappedSkb::new`) take, to code that holds no bound device of its own, in any
/// context, without a lock and without `unsafe`.
///
/// Mappings made through it unmap themselves when dropped, with the reference to the device they
/// hold: unmapping needs the device's DMA state (its DMA operations, its IOMMU domain), which the
/// bus sets up and which outlives the driver's binding. A driver drops its mappings before its
/// device is unbound (the DMA debugging code reports those it leaves as a leak); a mapping it
/// still holds fails nothing afterwards, and no new one can be made.
///
/// # Invariants
///
/// `dev` is bound for as long as a reference to `self` exists.
pub struct StreamDevice {
    dev: ARef<Device>,
}

impl StreamDevice {
    /// Returns the streaming DMA capability of `dev`, revoked when `dev` is unbound.
    ///
    /// Fails with `ENOMEM`.
    pub fn new(dev: &Device<Bound>) -> Result<Devres<Self>> {
        // INVARIANT: The object moves into a `Devres` of `dev` and never out of it (a `Devres`
        // gives its data only by reference). Every reference to it comes from an access to the
        // `Devres`: `try_access` holds the RCU read lock, which the revocation at the unbind of
        // `dev` waits for before dropping the object, and `access` needs a `&Device<Bound>` of
        // `dev` that lives as long as the reference.
        Devres::new(dev, Self { dev: dev.into() })
    }

    /// Returns the device, bound while `self` is borrowed.
    pub fn device(&self) -> &Device<Bound> {
        // SAFETY: By the type invariant, `dev` is bound for as long as `self` is borrowed,
        // which bounds the lifetime of the result.
        unsafe { self.dev.as_bound() }
    }
}

fn device_writes(dir: DataDirection) -> bool {
    matches!(
        dir,
        DataDirection::FromDevice | DataDirection::Bidirectional
    )
}

/// A streaming DMA mapping of `len` bytes of a [`SharedPage`] for a device.
///
/// Holds the page for as long as it lives; dropping it unmaps the range.
///
/// The bytes belong to the device from the mapping and from each
/// [`StreamMapping::sync_for_device`], and to the CPU from each
/// [`StreamMapping::sync_for_cpu`]: only then does [`StreamMapping::cpu_page`] give them to the
/// CPU, and a mapping the device may write goes back to the device only once nothing else
/// holds the page.
///
/// # Invariants
///
/// `addr` is the device's address of `len` bytes of `page`, mapped for `dev` in direction
/// `dir` by `dma_map_page_attrs` and not unmapped yet. If `device_owned` is set and `dir` lets
/// the device write, `page` holds the only reference to the page (no socket buffer refers to
/// it).
pub struct StreamMapping {
    dev: ARef<Device>,
    addr: DmaAddress,
    len: usize,
    dir: DataDirection,
    device_owned: bool,
    page: SharedPage,
}

impl StreamMapping {
    /// Maps `len` bytes at `offset` of `page` for `dev` in direction `dir`
    /// (`dma_map_page_attrs`).
    ///
    /// Fails with `EINVAL` for an empty range, a range outside the page or the direction
    /// [`DataDirection::None`], `EBUSY` if the device may write the page and anything else
    /// holds it (a socket buffer built on it), and `ENOMEM` if the mapping failed
    /// (`dma_mapping_error`). Does not sleep.
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
        if device_writes(dir) && !page.is_unshared() {
            return Err(EBUSY);
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
        // INVARIANT: Mapped just above; the page is unshared if the device may write it
        // (checked above). The device owns the bytes from now on.
        Ok(Self {
            dev: dev.into(),
            addr,
            len,
            dir,
            device_owned: true,
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

    /// Returns whether the mapping holds the only reference to its page: no socket buffer built
    /// on it is alive.
    pub fn is_unshared(&self) -> bool {
        self.page.is_unshared()
    }

    /// Returns whether the device owns the bytes ([`StreamMapping::sync_for_cpu`] gives them
    /// to the CPU).
    pub fn is_device_owned(&self) -> bool {
        self.device_owned
    }

    /// Returns the CPU's access to the page (all of it, not only the mapped range), while the
    /// CPU owns the bytes; fails with `EBUSY` while the device owns them (no
    /// [`StreamMapping::sync_for_cpu`] since it last got them). The borrow keeps the mapping
    /// from going back to the device while the access lives.
    pub fn cpu_page(&mut self) -> Result<CpuPage<'_>> {
        if self.device_owned {
            return Err(EBUSY);
        }
        // INVARIANT: The CPU owns the bytes: the device does not access them until
        // `sync_for_device`, which takes `&mut self`, as the result does for its lifetime. The
        // page handle is private and borrowed exclusively through `self`.
        Ok(CpuPage {
            page: &self.page,
            _exclusive: PhantomData,
        })
    }

    fn check(&self, offset: usize, len: usize) -> Result {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Gives `len` bytes at `offset` of the mapping to the CPU, after the device wrote them
    /// (`dma_sync_single_for_cpu`). Fails with `EINVAL` outside the mapping.
    ///
    /// The call states that the device is done with the mapping (the driver saw its
    /// completion), as for the C function: from now on, [`StreamMapping::cpu_page`] gives the
    /// bytes to the CPU.
    pub fn sync_for_cpu(&mut self, offset: usize, len: usize) -> Result {
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
        // INVARIANT: The CPU owns the bytes; `page` may be shared from now on.
        self.device_owned = false;
        Ok(())
    }

    /// Gives `len` bytes at `offset` of the mapping back to the device
    /// (`dma_sync_single_for_device`). Fails with `EINVAL` outside the mapping, and with
    /// `EBUSY` if a mapping the device may write is still held by a socket buffer built on it
    /// (the device would write under the stack's feet).
    pub fn sync_for_device(&mut self, offset: usize, len: usize) -> Result {
        self.check(offset, len)?;
        if device_writes(self.dir) && !self.page.is_unshared() {
            return Err(EBUSY);
        }
        // SAFETY: As in `sync_for_cpu`.
        unsafe {
            bindings::dma_sync_single_for_device(
                self.dev.as_raw(),
                self.addr + offset as DmaAddress,
                len,
                self.dir.into(),
            )
        };
        // INVARIANT: The page is unshared if the device may write it (checked above); no
        // `CpuPage` lives (it would borrow `self`), and `cpu_page` refuses from now on.
        self.device_owned = true;
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

/// The state a [`ModelMapping`] and its [`ModelAccess`] share.
///
/// # Invariants
///
/// While `device_owned` is set, `page` holds the only reference to the page and no
/// [`CpuPage`] of it exists.
#[pin_data]
struct ModelShared {
    page: SharedPage,
    dir: DataDirection,
    #[pin]
    device_owned: SpinLockIrq<bool>,
}

/// A page lent to a device model in software, which copies the bytes itself (it has no bus
/// address): the counterpart of a [`StreamMapping`] with the same ownership rules, enforced
/// for the device as well.
///
/// The bytes belong to the device from [`ModelMapping::new`] and from each
/// [`ModelMapping::sync_for_device`], and to the CPU from each [`ModelMapping::sync_for_cpu`]
/// and once the mapping is dropped. The device model reaches them through a [`ModelAccess`]
/// ([`ModelMapping::access`]), which copies only while the device owns them; the CPU through
/// [`ModelMapping::cpu_page`], only while it owns them. The two never hold a lock across their
/// use of the bytes beyond one copy.
pub struct ModelMapping {
    shared: Arc<ModelShared>,
}

/// The device model's side of a [`ModelMapping`]: copies to and from the page while the device
/// owns the bytes, and refuses (`EBUSY`) while the CPU does.
#[derive(Clone)]
pub struct ModelAccess {
    shared: Arc<ModelShared>,
}

impl ModelMapping {
    /// Lends `page` to a device model in direction `dir`. Fails with `EINVAL` for the
    /// direction [`DataDirection::None`], `EBUSY` if anything else holds the page (the model
    /// copies only bytes nothing else refers to, whatever the direction), and `ENOMEM`. Does
    /// not sleep.
    pub fn new(page: SharedPage, dir: DataDirection) -> Result<Self> {
        if dir == DataDirection::None {
            return Err(EINVAL);
        }
        if !page.is_unshared() {
            return Err(EBUSY);
        }
        // INVARIANT: The page is unshared (checked above) and no `CpuPage` exists: the only
        // handle is moved into the new state.
        let shared = Arc::pin_init(
            pin_init!(ModelShared {
                page,
                dir,
                device_owned <- crate::new_spinlock_irq!(true, "ModelShared::device_owned"),
            }),
            GFP_ATOMIC,
        )?;
        Ok(Self { shared })
    }

    /// Returns the device model's access to the page.
    pub fn access(&self) -> ModelAccess {
        ModelAccess {
            shared: self.shared.clone(),
        }
    }

    /// Returns the size of the page in bytes.
    pub fn size(&self) -> usize {
        self.shared.page.size()
    }

    /// Returns whether nothing else (no socket buffer built on the page) holds the page.
    pub fn is_unshared(&self) -> bool {
        self.shared.page.is_unshared()
    }

    /// Gives the bytes to the CPU: the driver saw the device's completion. From now on the
    /// device model's accesses fail.
    pub fn sync_for_cpu(&mut self) {
        // INVARIANT: Clearing the flag allows `CpuPage`s; the page may be shared from now on.
        *self.shared.device_owned.lock() = false;
    }

    /// Gives the bytes back to the device. Fails with `EBUSY` while anything else (a socket
    /// buffer built on the page) holds the page: the model would copy under its feet.
    pub fn sync_for_device(&mut self) -> Result {
        let mut owned = self.shared.device_owned.lock();
        if !self.shared.page.is_unshared() {
            return Err(EBUSY);
        }
        // INVARIANT: The page is unshared (checked above, and only a `CpuPage` of this mapping
        // could share it again, whose creation the flag now refuses); no `CpuPage` lives (it
        // would borrow `self`).
        *owned = true;
        Ok(())
    }

    /// Returns the CPU's access to the page while the CPU owns the bytes; fails with `EBUSY`
    /// while the device owns them. No lock is held while the result lives: the device model is
    /// kept out by the ownership, which only [`ModelMapping::sync_for_device`] gives back.
    pub fn cpu_page(&mut self) -> Result<CpuPage<'_>> {
        if *self.shared.device_owned.lock() {
            return Err(EBUSY);
        }
        // INVARIANT: The CPU owns the bytes, and only `sync_for_device` (which takes `&mut
        // self`, as the result does for its lifetime) gives them back: until then every
        // `ModelAccess` refuses to copy. The page handle is private and reached only through
        // `self` and the accesses.
        Ok(CpuPage {
            page: &self.shared.page,
            _exclusive: PhantomData,
        })
    }
}

impl Drop for ModelMapping {
    fn drop(&mut self) {
        // Revoked: the model's remaining accesses fail from now on.
        *self.shared.device_owned.lock() = false;
    }
}

impl ModelAccess {
    /// Returns the direction of the mapping.
    pub fn direction(&self) -> DataDirection {
        self.shared.dir
    }

    /// Copies `out.len()` bytes at `offset` of the page into `out`, as the device reading the
    /// page. Fails with `EFAULT` outside the page or for a mapping the device may not read,
    /// and `EBUSY` while the CPU owns the bytes (or the mapping is gone).
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        if self.shared.dir == DataDirection::FromDevice {
            return Err(EFAULT);
        }
        let src = self.shared.page.range(offset, out.len())?;
        let owned = self.shared.device_owned.lock();
        if !*owned {
            return Err(EBUSY);
        }
        // SAFETY: `src` starts `out.len()` bytes of the page (checked by `range`), which the
        // shared state's reference keeps allocated; `out` is a distinct Rust buffer. The device
        // owns the bytes (checked above, and the lock keeps it so during the copy): by the
        // invariant of `ModelShared` no `CpuPage` exists and nothing else holds the page, so
        // nothing else reads or writes them.
        unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` to `offset` of the page, as the device writing the page. Fails with
    /// `EFAULT` outside the page or for a mapping the device may not write, and `EBUSY` while
    /// the CPU owns the bytes (or the mapping is gone).
    pub fn write(&self, offset: usize, data: &[u8]) -> Result {
        if !device_writes(self.shared.dir) {
            return Err(EFAULT);
        }
        let dst = self.shared.page.range(offset, data.len())?;
        let owned = self.shared.device_owned.lock();
        if !*owned {
            return Err(EBUSY);
        }
        // SAFETY: As in `read`, with `data` the distinct source.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
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
        let mut page = SharedPage::alloc(2, GFP_KERNEL)?;
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

    /// A device model copies a page only while the device owns the bytes; the CPU gets them
    /// only after `sync_for_cpu`, with no lock held while it has them, and gives them back only
    /// once no socket buffer holds the page; dropping the mapping revokes the model's access.
    #[test]
    fn model_mapping_hands_the_bytes_over() -> Result {
        let page = SharedPage::alloc(0, GFP_KERNEL)?;
        assert_eq!(
            ModelMapping::new(page.clone(), DataDirection::None).err(),
            Some(EINVAL)
        );
        assert_eq!(
            ModelMapping::new(page.clone(), DataDirection::ToDevice).err(),
            Some(EBUSY)
        );
        let mut map = ModelMapping::new(page, DataDirection::Bidirectional)?;
        let dev = map.access();
        let mut got = [0u8; 3];
        dev.write(100, &[1, 2, 3])?;
        dev.read(100, &mut got)?;
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(dev.write(PAGE_SIZE - 1, &[0; 2]), Err(EFAULT));
        assert_eq!(map.cpu_page().err(), Some(EBUSY));

        map.sync_for_cpu();
        assert_eq!(dev.write(100, &[9]), Err(EBUSY));
        assert_eq!(dev.read(100, &mut got), Err(EBUSY));
        {
            let cpu = map.cpu_page()?;
            assert!(cpu.is_unshared());
            assert_eq!(cpu.size(), PAGE_SIZE);
            // No lock is held while the CPU has the page: the model's access, on this very
            // thread, takes the state's lock and refuses (rather than deadlocking).
            assert_eq!(dev.write(100, &[9]), Err(EBUSY));
        }
        #[cfg(CONFIG_NET)]
        {
            let skb = map.cpu_page()?.build_skb(0, PAGE_SIZE as u32, 96, 8)?;
            assert_eq!(&skb.data()[4..7], &[1, 2, 3]);
            assert_eq!(
                map.cpu_page()?.build_skb(0, PAGE_SIZE as u32, 96, 8).err(),
                Some(EBUSY)
            );
            assert!(!map.is_unshared());
            assert_eq!(map.sync_for_device(), Err(EBUSY));
            assert_eq!(dev.write(100, &[9]), Err(EBUSY));
            assert_eq!(skb.data()[4], 1);
        }
        map.sync_for_device()?;
        dev.write(100, &[4])?;
        dev.read(100, &mut got)?;
        assert_eq!(got, [4, 2, 3]);

        // The device reads a transmit mapping and writes a receive mapping, not the reverse.
        let to = ModelMapping::new(SharedPage::alloc(0, GFP_KERNEL)?, DataDirection::ToDevice)?;
        to.access().read(0, &mut got)?;
        assert_eq!(to.access().write(0, &[1]), Err(EFAULT));
        let from = ModelMapping::new(SharedPage::alloc(0, GFP_KERNEL)?, DataDirection::FromDevice)?;
        from.access().write(0, &[1])?;
        assert_eq!(from.access().read(0, &mut got), Err(EFAULT));

        // Unmapped: the model's remaining access is revoked.
        drop(map);
        assert_eq!(dev.write(100, &[1]), Err(EBUSY));
        assert_eq!(dev.read(100, &mut got), Err(EBUSY));
        Ok(())
    }
}
