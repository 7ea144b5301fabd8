// SPDX-License-Identifier: GPL-2.0

//! Uverbs calls made by KUnit tests: a user context of a registered device and objects created
//! in it with a driver request and response in user memory, as `ib_uverbs` makes them.
//!
//! A driver's uverbs entry points need what only a process has: a user context, a udata whose
//! buffers are user memory, a uverbs attribute bundle linking the two. [`UserContext`] builds
//! them in a KUnit test thread: the buffers are anonymous memory of the test's own mm
//! (`kunit_vm_mmap()`), the context and the objects are allocated, linked and counted
//! (`usecnt`) the way `ib_uverbs` does, and destroyed through the core's `ib_*_user()`
//! functions, which refuse (`EBUSY`) an object still in use. Dropping the context, or
//! [`UserContext::close`], tears everything down as closing the uverbs file does: every object
//! still alive, in reverse order of creation with retries, then the context.
//!
//! The context has the part of a uverbs file that mmap entries use (the umap lock, the
//! context's mmap table: [`Ucontext::insert_mmap_entry`](super::Ucontext::insert_mmap_entry)
//! works), and a file of its own whose `mmap()` calls the driver's `mmap` operation
//! ([`UserContext::mmap`]), so [`Ucontext::mmap_page`](super::Ucontext::mmap_page) can be
//! tested. Closing checks that the driver removed every mmap entry, as the core does.
//!
//! A context opened with [`UserContext::open_owned`] owns the device's [`Registration`], so a
//! test can unregister the device while the context is open
//! ([`UserContext::unregister_device`]): the core's unregistration removes a client of the
//! context, which tears the context down as uverbs does for an open file (objects,
//! `disassociate_ucontext`, `dealloc_ucontext`); the context's calls then fail with `ENODEV`.
//!
//! What it does not model: the uverbs device behind the file (its disassociation lock, which
//! `rdma_user_mmap_io()` asserts, so [`Ucontext::mmap_entry`](super::Ucontext::mmap_entry)
//! and [`Ucontext::mmap_io`](super::Ucontext::mmap_io) cannot be used, and the zapping of a
//! context's mappings at disassociation), uobjects (so [`Pd::ucontext`](super::Pd::ucontext)
//! is `None`) and resource tracking.

use super::{
    Device,
    Driver,
    Registration,
    UserMrArgs, //
};
use crate::{
    alloc::flags::__GFP_ZERO,
    bindings,
    error::{
        from_err_ptr,
        to_result, //
    },
    ffi::c_void,
    page::Page,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        Arc, //
    },
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};
use core::ptr::{
    self,
    NonNull, //
};

/// The user memory of the requests and responses: one page each.
const BUF_LEN: usize = 4096;

// `asm-generic/mman-common.h`.
const PROT_READ: usize = 0x1;
const PROT_WRITE: usize = 0x2;
const MAP_SHARED: usize = 0x01;
const MAP_PRIVATE: usize = 0x02;
const MAP_ANONYMOUS: usize = 0x20;

/// Maps `len` bytes of anonymous memory, readable and writable, into the test's own mm
/// (`kunit_vm_mmap()`); it is unmapped when the test ends. Must be called from a KUnit test.
pub fn user_mem(len: usize) -> Result<usize> {
    // SAFETY: Reading the current test has no preconditions; it is null outside a test.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: `test` is the running test; KUnit unmaps the area when the test ends.
    let addr = unsafe {
        bindings::kunit_vm_mmap(
            test,
            ptr::null_mut(),
            0,
            len,
            PROT_READ | PROT_WRITE,
            MAP_ANONYMOUS | MAP_PRIVATE,
            0,
        )
    };
    // `vm_mmap()` returns an address or a negative errno; KUnit's wrapper 0 on failure.
    if addr == 0 || addr > usize::MAX - 4095 {
        return Err(ENOMEM);
    }
    Ok(addr)
}

/// Copies `bytes` to user address `addr` of the current mm.
pub fn user_write(addr: usize, bytes: &[u8]) -> Result {
    UserSlice::new(UserPtr::from_addr(addr), bytes.len())
        .writer()
        .write_slice(bytes)
}

/// Copies `bytes.len()` bytes from user address `addr` of the current mm.
pub fn user_read(addr: usize, bytes: &mut [u8]) -> Result {
    UserSlice::new(UserPtr::from_addr(addr), bytes.len())
        .reader()
        .read_slice(bytes)
}

/// Returns the page frame number of `page` (`page_to_pfn()`), e.g. for an mmap entry.
pub fn page_pfn(page: &Page) -> usize {
    // SAFETY: `page` is a valid page; the computation reads nothing else.
    unsafe { bindings::rdma_testing_page_pfn(page.as_ptr()) }
}

/// An object created through a [`UserContext`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ObjId(usize);

#[derive(Clone, Copy)]
enum Object {
    Pd(*mut bindings::ib_pd),
    Cq(*mut bindings::ib_cq),
    Wq(*mut bindings::ib_wq),
    Table(*mut bindings::ib_rwq_ind_table),
    Qp(*mut bindings::ib_qp),
    Mr(*mut bindings::ib_mr),
}

/// What a QP is created with (the fields of `struct ib_qp_init_attr` a raw-packet QP uses).
#[derive(Clone, Copy, Debug, Default)]
pub struct QpAttr {
    /// `send_cq`.
    pub send_cq: Option<ObjId>,
    /// `recv_cq`.
    pub recv_cq: Option<ObjId>,
    /// `rwq_ind_tbl`: an RSS QP's indirection table.
    pub rwq_ind_table: Option<ObjId>,
    /// `qp_type`, e.g. `IB_QPT_RAW_PACKET`.
    pub qp_type: u32,
    /// `port_num`.
    pub port: u32,
    /// `cap.max_send_wr`.
    pub max_send_wr: u32,
    /// `cap.max_recv_wr`.
    pub max_recv_wr: u32,
    /// `cap.max_send_sge`.
    pub max_send_sge: u32,
    /// `cap.max_recv_sge`.
    pub max_recv_sge: u32,
}

/// A completion channel of a KUnit test: the completion handler of the CQs created with it
/// ([`UserContext::create_cq_with_channel`]) counts their events, where uverbs would queue
/// them for `ibv_get_cq_event()`.
///
/// Give each CQ its own channel to count its events alone.
pub struct CompChannel {
    events: Atomic<u32>,
    last_cq: Atomic<usize>,
}

impl CompChannel {
    /// A channel that has seen no event.
    pub fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                events: Atomic::new(0),
                last_cq: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// The completion events reported so far.
    pub fn events(&self) -> u32 {
        self.events.load(Acquire)
    }

    /// The address of the `struct ib_cq` of the last event, 0 before the first.
    pub fn last_cq(&self) -> usize {
        self.last_cq.load(Relaxed)
    }

    /// The CQs' completion handler (`ib_comp_handler`).
    ///
    /// # Safety
    ///
    /// `context` must be the `cq_context` [`UserContext::create_cq_with_channel`] set: a
    /// channel the context keeps alive.
    unsafe extern "C" fn comp_handler(cq: *mut bindings::ib_cq, context: *mut c_void) {
        // SAFETY: `context` is a live channel (caller).
        let this = unsafe { &*context.cast::<Self>() };
        this.last_cq.store(cq as usize, Relaxed);
        this.events.fetch_add(1, Release);
    }
}

/// A user context of a registered device of driver `T`, made by a KUnit test.
///
/// # Invariants
///
/// `dev` is the device of `reg`, registered, or null once [`UserContext::unregister_device`]
/// unregistered it; `ctx` is a user context of `dev` whose `alloc_ucontext` succeeded and which
/// is not deallocated (null once torn down); `ufile` is its uverbs file state, allocated by
/// `rdma_testing_ufile_alloc()` (null once torn down); `file` is null or a file referring to
/// `ctx`, whose reference is ours; `bundle` is an allocated bundle, zeroed but for `context`
/// (always `ctx`) and `driver_udata`; every `Some` entry of `objects` is a live object created
/// in this context.
pub struct UserContext<'a, T: Driver> {
    reg: Reg<'a, T>,
    dev: *mut bindings::ib_device,
    ctx: *mut bindings::ib_ucontext,
    ufile: *mut bindings::ib_uverbs_file,
    file: *mut bindings::file,
    bundle: NonNull<bindings::uverbs_attr_bundle>,
    inbuf: usize,
    outbuf: usize,
    objects: KVec<Option<Object>>,
    /// The channels of the CQs; dropped after the objects (`Drop`).
    channels: KVec<Arc<CompChannel>>,
}

/// The registration of a [`UserContext`]'s device: borrowed, or owned so that the context can
/// unregister the device while it is open.
enum Reg<'a, T: Driver> {
    Borrowed(&'a Registration<'a, T>),
    Owned(Option<Registration<'a, T>>),
}

impl<'a, T: Driver> UserContext<'a, T> {
    /// Opens a user context of `reg`'s device (`alloc_ucontext`) with request `req`; the
    /// driver's response is copied to `resp`.
    pub fn open(reg: &'a Registration<'a, T>, req: &[u8], resp: &mut [u8]) -> Result<Self> {
        Self::open_reg(Reg::Borrowed(reg), reg.as_raw(), req, resp)
    }

    /// Opens a user context (`alloc_ucontext`) of the device `reg` registers, as
    /// [`UserContext::open`] does, and keeps the registration: [`Self::unregister_device`] then
    /// unregisters the device while the context is open, as a driver's unbind does while a
    /// process has the device open.
    pub fn open_owned(reg: Registration<'a, T>, req: &[u8], resp: &mut [u8]) -> Result<Self> {
        let dev = reg.as_raw();
        Self::open_reg(Reg::Owned(Some(reg)), dev, req, resp)
    }

    fn open_reg(
        reg: Reg<'a, T>,
        dev: *mut bindings::ib_device,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<Self> {
        // SAFETY: `dev` is a registered device, whose operations are `T`'s.
        let ops = unsafe { &(*dev).ops };
        let alloc = ops.alloc_ucontext.ok_or(EOPNOTSUPP)?;
        let inbuf = user_mem(2 * BUF_LEN)?;
        // Zeroed memory of the size the driver asked for, as `rdma_zalloc_drv_obj()`.
        let ctx = Self::zalloc(ops.size_ib_ucontext)?.cast::<bindings::ib_ucontext>();
        // SAFETY: `ctx` is a zeroed context; as `ib_uverbs_get_context()`: it belongs to `dev`.
        unsafe { (*ctx).device = dev };
        // SAFETY: `ctx` is a zeroed context; the helper links a new file state to it.
        let ufile = unsafe { bindings::rdma_testing_ufile_alloc(ctx) };
        if ufile.is_null() {
            // SAFETY: Nothing refers to the context yet.
            unsafe { bindings::kfree(ctx.cast()) };
            return Err(ENOMEM);
        }
        // SAFETY: Allocating has no preconditions.
        let bundle = unsafe { bindings::rdma_testing_bundle_alloc(ctx) };
        let Some(bundle) = NonNull::new(bundle) else {
            // SAFETY: Nothing refers to the context or the file state yet.
            unsafe {
                bindings::rdma_testing_ufile_free(ufile);
                bindings::kfree(ctx.cast());
            }
            return Err(ENOMEM);
        };
        let mut this = Self {
            reg,
            dev,
            ctx,
            ufile,
            file: ptr::null_mut(),
            bundle,
            inbuf,
            outbuf: inbuf + BUF_LEN,
            objects: KVec::new(),
            channels: KVec::new(),
        };
        // The context is not alive until `alloc_ucontext` succeeds: `Drop` must not free it.
        let ret = this.call(req, resp, |udata, _| {
            // SAFETY: `ctx` is a new context of the device and `udata` a uverbs udata of it.
            to_result(unsafe { alloc(ctx, udata) })
        });
        if let Err(e) = ret {
            this.ctx = ptr::null_mut();
            this.ufile = ptr::null_mut();
            // SAFETY: `alloc_ucontext` failed, so nothing refers to the context or its file
            // state; `Drop` frees the bundle only.
            unsafe {
                bindings::rdma_testing_ufile_free(ufile);
                bindings::kfree(ctx.cast());
            }
            return Err(e);
        }
        Ok(this)
    }

    /// Maps `len` bytes at byte offset `offset` of the context's file into the test's mm, as
    /// `mmap()` of the uverbs file does: the driver's `mmap` operation decides what is mapped
    /// (`MAP_SHARED` if `shared`, else `MAP_PRIVATE`; readable and writable). Returns the user
    /// address; the mapping lasts until [`Self::munmap`] or the end of the test's mm.
    pub fn mmap(&mut self, offset: u64, len: usize, shared: bool) -> Result<usize> {
        self.live()?;
        if self.file.is_null() {
            // SAFETY: By the type invariant `ctx` is a live context; the file refers to it and
            // is released (with `fput()`) before the context is freed.
            let file = from_err_ptr(unsafe { bindings::rdma_testing_file(self.ctx) })?;
            self.file = file;
        }
        let offset = usize::try_from(offset).map_err(|_| EINVAL)?;
        let flags = if shared { MAP_SHARED } else { MAP_PRIVATE };
        // SAFETY: `file` is a file of ours (type invariant); `vm_mmap()` checks the arguments and
        // maps into the current mm, the test's.
        let addr =
            unsafe { bindings::vm_mmap(self.file, 0, len, PROT_READ | PROT_WRITE, flags, offset) };
        // An address, or a negative errno (`IS_ERR_VALUE()`).
        if addr > usize::MAX - 4095 {
            // The value is in -4095..0, which fits.
            return Err(Error::from_errno(addr as i32));
        }
        Ok(addr)
    }

    /// Unmaps `len` bytes at user address `addr` of the test's mm (`vm_munmap()`).
    pub fn munmap(&mut self, addr: usize, len: usize) -> Result {
        // SAFETY: `vm_munmap()` checks its arguments; it only touches the current mm, and no
        // kernel reference points into user mappings.
        to_result(unsafe { bindings::vm_munmap(addr, len) })
    }

    /// The device, while it is registered.
    pub fn device(&self) -> Option<&Device<T>> {
        match &self.reg {
            Reg::Borrowed(reg) => Some(&***reg),
            Reg::Owned(reg) => reg.as_deref(),
        }
    }

    /// The device, for an operation on the open context: `ENODEV` once the device is
    /// unregistered, `EINVAL` once the context is closed.
    fn live(&self) -> Result<*mut bindings::ib_device> {
        if self.dev.is_null() {
            return Err(ENODEV);
        }
        if self.ctx.is_null() {
            return Err(EINVAL);
        }
        Ok(self.dev)
    }

    /// Unregisters the device of a context opened with [`UserContext::open_owned`] while the
    /// context is open, as a driver's unbind does while a process has the device open: the
    /// core's unregistration removes its clients, and a client of this context then does what
    /// uverbs does for its files (`uverbs_destroy_ufile_hw()`): destroys the context's objects,
    /// calls `disassociate_ucontext`, then deallocates the context. The device's data is
    /// dropped and the device freed before this returns; the context's operations fail with
    /// `ENODEV` from then on.
    pub fn unregister_device(&mut self) -> Result {
        let Reg::Owned(slot) = &mut self.reg else {
            return Err(EINVAL);
        };
        let reg = slot.take().ok_or(ENODEV)?;
        let dev = self.dev;
        let mut raw = bindings::ib_client {
            name: c"rdma_testing".as_char_ptr(),
            remove: Some(Self::client_remove),
            ..pin_init::zeroed()
        };
        // Added to devices without kernel verbs too, as uverbs is.
        raw.set_no_kverbs_req(1);
        let client = KBox::new(Opaque::new(raw), GFP_KERNEL)?;
        // SAFETY: `client` is a zeroed client but for its name, `remove` and `no_kverbs_req`,
        // at a stable address until it is unregistered below.
        to_result(unsafe { bindings::ib_register_client(client.get()) })?;
        let this: *mut Self = self;
        // SAFETY: The client is registered, hence added to every registered device, `dev`
        // among them (no `add` callback refuses it). Its data for `dev` is this context, which
        // stays in place while the registration is dropped below: `client_remove` is called
        // from within that drop, on this thread, and nothing else uses the context meanwhile.
        unsafe { bindings::ib_set_client_data(dev, client.get(), this.cast()) };
        // `ib_unregister_device()`: the core removes the clients, ours first (the last
        // registered), which tears the context down; then the device is freed.
        drop(reg);
        // SAFETY: `this` is `self`, reborrowed; `client_remove` ran and is done.
        let this = unsafe { &mut *this };
        this.dev = ptr::null_mut();
        // SAFETY: The client was registered above; the other devices' data is null, which
        // `client_remove` ignores. After this the client is not used.
        unsafe { bindings::ib_unregister_client(client.get()) };
        drop(client);
        if this.ctx.is_null() {
            Ok(())
        } else {
            // The core did not remove the client from the device before freeing it: the
            // context cannot be deallocated any more, so it is leaked.
            pr_err!("rdma testing: unregistering the device did not remove the test client\n");
            this.ctx = ptr::null_mut();
            this.ufile = ptr::null_mut();
            this.file = ptr::null_mut();
            this.objects.clear();
            Err(EIO)
        }
    }

    /// The `remove` callback of the client of [`Self::unregister_device`].
    ///
    /// # Safety
    ///
    /// Called by the RDMA core with the client's data for `dev`: null, or the context that
    /// registered the client, not otherwise in use during the call.
    unsafe extern "C" fn client_remove(
        _dev: *mut bindings::ib_device,
        data: *mut core::ffi::c_void,
    ) {
        if data.is_null() {
            return;
        }
        // SAFETY: The caller's guarantee: `data` is the context, exclusively ours here.
        let this = unsafe { &mut *data.cast::<Self>() };
        if this.ctx.is_null() {
            return;
        }
        // As `uverbs_destroy_ufile_hw(RDMA_REMOVE_DRIVER_REMOVE)`: the objects, then
        // `disassociate_ucontext` and `dealloc_ucontext` (`ufile_destroy_ucontext()`).
        if let Err(e) = this.disassociate() {
            pr_err!("rdma testing: disassociating a context failed: {:?}\n", e);
        }
        let _ = this.teardown();
        // Objects the driver refused to destroy are leaked with the device.
        this.objects.clear();
    }

    /// The raw `struct ib_ucontext`.
    pub fn as_raw(&self) -> *mut bindings::ib_ucontext {
        self.ctx
    }

    /// Runs `f` with a udata of this context carrying `req` and room for `resp`, then copies
    /// the response out.
    fn call<R>(
        &mut self,
        req: &[u8],
        resp: &mut [u8],
        f: impl FnOnce(*mut bindings::ib_udata, *mut bindings::uverbs_attr_bundle) -> Result<R>,
    ) -> Result<R> {
        if req.len() > BUF_LEN || resp.len() > BUF_LEN {
            return Err(EINVAL);
        }
        user_write(self.inbuf, req)?;
        user_write(self.outbuf, &[0u8; BUF_LEN][..resp.len()])?;
        let bundle = self.bundle.as_ptr();
        // SAFETY: By the type invariant `bundle` is allocated; its driver udata is plain data.
        let udata = unsafe { bindings::rdma_attrs_to_udata(bundle) };
        // SAFETY: `udata` points into the bundle, which nothing else uses now.
        unsafe {
            *udata = bindings::ib_udata {
                inbuf: UserPtr::from_addr(self.inbuf).as_const_ptr(),
                outbuf: UserPtr::from_addr(self.outbuf).as_mut_ptr(),
                inlen: req.len(),
                outlen: resp.len(),
            }
        };
        let r = f(udata, bundle)?;
        user_read(self.outbuf, resp)?;
        Ok(r)
    }

    fn add(&mut self, obj: Object) -> Result<ObjId> {
        self.objects.push(Some(obj), GFP_KERNEL)?;
        Ok(ObjId(self.objects.len() - 1))
    }

    fn get(&self, id: ObjId) -> Result<Object> {
        self.objects.get(id.0).copied().flatten().ok_or(ENOENT)
    }

    fn pd(&self, id: ObjId) -> Result<*mut bindings::ib_pd> {
        match self.get(id)? {
            Object::Pd(p) => Ok(p),
            _ => Err(EINVAL),
        }
    }

    fn cq(&self, id: ObjId) -> Result<*mut bindings::ib_cq> {
        match self.get(id)? {
            Object::Cq(p) => Ok(p),
            _ => Err(EINVAL),
        }
    }

    /// The raw `struct ib_wq` of WQ `id`.
    pub fn wq_raw(&self, id: ObjId) -> Result<*mut bindings::ib_wq> {
        match self.get(id)? {
            Object::Wq(p) => Ok(p),
            _ => Err(EINVAL),
        }
    }

    /// The raw `struct ib_qp` of QP `id`.
    pub fn qp_raw(&self, id: ObjId) -> Result<*mut bindings::ib_qp> {
        match self.get(id)? {
            Object::Qp(p) => Ok(p),
            _ => Err(EINVAL),
        }
    }

    /// Allocates `size` zeroed bytes with `kmalloc`, which the core frees with `kfree()`.
    fn zalloc(size: usize) -> Result<*mut u8> {
        let flags = (GFP_KERNEL | __GFP_ZERO).as_raw();
        // SAFETY: A new allocation (no old pointer) has no preconditions.
        let p = unsafe {
            bindings::krealloc_node_align(ptr::null(), size, 1, flags, bindings::NUMA_NO_NODE)
        };
        if p.is_null() {
            return Err(ENOMEM);
        }
        Ok(p.cast())
    }

    /// Allocates a PD (`alloc_pd`) with request `req`.
    pub fn alloc_pd(&mut self, req: &[u8], resp: &mut [u8]) -> Result<ObjId> {
        let dev = self.live()?;
        // SAFETY: `dev` is registered; its operations are `T`'s.
        let ops = unsafe { &(*dev).ops };
        let alloc = ops.alloc_pd.ok_or(EOPNOTSUPP)?;
        let pd = Self::zalloc(ops.size_ib_pd)?.cast::<bindings::ib_pd>();
        // SAFETY: `pd` is a new zeroed PD; as `ib_uverbs_alloc_pd()`.
        unsafe { (*pd).device = dev };
        let ret = self.call(req, resp, |udata, _| {
            // SAFETY: `pd` is a new PD of the device, `udata` a udata of this context.
            to_result(unsafe { alloc(pd, udata) })
        });
        if let Err(e) = ret {
            // SAFETY: `alloc_pd` failed: nothing refers to the PD.
            unsafe { bindings::kfree(pd.cast()) };
            return Err(e);
        }
        self.add(Object::Pd(pd))
    }

    /// Creates a CQ of `cqe` entries on completion vector `comp_vector` (`create_cq`).
    pub fn create_cq(
        &mut self,
        cqe: u32,
        comp_vector: u32,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<ObjId> {
        self.create_cq_inner(cqe, comp_vector, None, req, resp)
    }

    /// Creates a CQ as [`Self::create_cq`] whose completion events go to `channel`, as uverbs
    /// creates a CQ with a completion channel (`ibv_create_cq(..., channel, ...)`): the core
    /// part has the channel's handler and context before the driver sees the CQ.
    pub fn create_cq_with_channel(
        &mut self,
        cqe: u32,
        comp_vector: u32,
        channel: &Arc<CompChannel>,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<ObjId> {
        self.create_cq_inner(cqe, comp_vector, Some(channel), req, resp)
    }

    fn create_cq_inner(
        &mut self,
        cqe: u32,
        comp_vector: u32,
        channel: Option<&Arc<CompChannel>>,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<ObjId> {
        if let Some(channel) = channel {
            // Kept until the context is dropped, after every CQ.
            self.channels.push(channel.clone(), GFP_KERNEL)?;
        }
        let dev = self.live()?;
        // SAFETY: `dev` is registered; its operations are `T`'s.
        let ops = unsafe { &(*dev).ops };
        let create = ops.create_cq.ok_or(EOPNOTSUPP)?;
        let cq = Self::zalloc(ops.size_ib_cq)?.cast::<bindings::ib_cq>();
        // SAFETY: `cq` is a new zeroed CQ; as `create_cq()` of uverbs. The channel lives in
        // `self.channels` until the context is dropped, after its CQs.
        unsafe {
            (*cq).device = dev;
            if let Some(channel) = channel {
                (*cq).comp_handler = Some(CompChannel::comp_handler);
                (*cq).cq_context = Arc::as_ptr(channel).cast_mut().cast();
            }
        }
        let attr = bindings::ib_cq_init_attr {
            cqe,
            comp_vector,
            flags: 0,
        };
        let ret = self.call(req, resp, |_, bundle| {
            // SAFETY: `cq` is a new CQ of the device, `bundle` a bundle of this context.
            to_result(unsafe { create(cq, &attr, bundle) })
        });
        if let Err(e) = ret {
            // SAFETY: `create_cq` failed: nothing refers to the CQ.
            unsafe { bindings::kfree(cq.cast()) };
            return Err(e);
        }
        self.add(Object::Cq(cq))
    }

    /// Creates a receive WQ of `pd` completing on `cq` (`create_wq`).
    pub fn create_wq(
        &mut self,
        pd: ObjId,
        cq: ObjId,
        max_wr: u32,
        max_sge: u32,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<ObjId> {
        let (pd, cq) = (self.pd(pd)?, self.cq(cq)?);
        let dev = self.live()?;
        // SAFETY: `dev` is registered; its operations are `T`'s.
        let create = unsafe { (*dev).ops.create_wq }.ok_or(EOPNOTSUPP)?;
        let mut attr: bindings::ib_wq_init_attr = pin_init::zeroed();
        attr.wq_type = bindings::ib_wq_type_IB_WQT_RQ;
        attr.max_wr = max_wr;
        attr.max_sge = max_sge;
        attr.cq = cq;
        let wq = self.call(req, resp, |udata, _| {
            // SAFETY: `pd` and `cq` are live objects of this context, `udata` a udata of it.
            from_err_ptr(unsafe { create(pd, &mut attr, udata) })
        })?;
        // SAFETY: `wq` is the new WQ; as `ib_uverbs_ex_create_wq()`: link it and count its uses.
        unsafe {
            (*wq).wq_type = attr.wq_type;
            (*wq).cq = cq;
            (*wq).pd = pd;
            (*wq).device = dev;
            bindings::atomic_set(&raw mut (*wq).usecnt, 0);
            bindings::atomic_inc(&raw mut (*pd).usecnt);
            bindings::atomic_inc(&raw mut (*cq).usecnt);
        }
        self.add(Object::Wq(wq))
    }

    /// Creates an RSS indirection table of `wqs` (`create_rwq_ind_table`); their number must
    /// be a power of two.
    pub fn create_rwq_ind_table(&mut self, wqs: &[ObjId]) -> Result<ObjId> {
        let mut raw = KVec::with_capacity(wqs.len(), GFP_KERNEL)?;
        for id in wqs {
            raw.push(self.wq_raw(*id)?, GFP_KERNEL)?;
        }
        // SAFETY: The WQs are live objects of this context; destroying them fails (`EBUSY`)
        // while the table uses them.
        unsafe { self.create_rwq_ind_table_raw(&raw) }
    }

    /// Creates an RSS indirection table of the WQs `wqs`, which may belong to another context
    /// of the same device (what a confused or hostile process could ask for).
    ///
    /// # Safety
    ///
    /// Each of `wqs` must be a live WQ of this context's device that stays alive while the
    /// table does; the table counts itself as their user.
    pub unsafe fn create_rwq_ind_table_raw(
        &mut self,
        wqs: &[*mut bindings::ib_wq],
    ) -> Result<ObjId> {
        if !wqs.len().is_power_of_two() {
            return Err(EINVAL);
        }
        let dev = self.live()?;
        // SAFETY: `dev` is registered; its operations are `T`'s.
        let ops = unsafe { &(*dev).ops };
        let create = ops.create_rwq_ind_table.ok_or(EOPNOTSUPP)?;
        let list = Self::zalloc(size_of_val(wqs))?.cast::<*mut bindings::ib_wq>();
        for (i, wq) in wqs.iter().enumerate() {
            // SAFETY: `list` has room for `wqs.len()` pointers.
            unsafe { *list.add(i) = *wq };
        }
        let table = match Self::zalloc(ops.size_ib_rwq_ind_table) {
            Ok(t) => t.cast::<bindings::ib_rwq_ind_table>(),
            Err(e) => {
                // SAFETY: Not handed to anyone yet.
                unsafe { bindings::kfree(list.cast()) };
                return Err(e);
            }
        };
        let log = wqs.len().trailing_zeros();
        let mut attr = bindings::ib_rwq_ind_table_init_attr {
            log_ind_tbl_size: log,
            ind_tbl: list,
        };
        // SAFETY: `table` is a new zeroed table; as `ib_uverbs_ex_create_rwq_ind_table()`.
        unsafe {
            (*table).device = dev;
            (*table).ind_tbl = list;
            (*table).log_ind_tbl_size = log;
        }
        let ret = self.call(&[], &mut [], |udata, _| {
            // SAFETY: `table` is a new table of the device whose WQs are live WQs of it.
            to_result(unsafe { create(table, &mut attr, udata) })
        });
        if let Err(e) = ret {
            // SAFETY: `create_rwq_ind_table` failed: nothing refers to the table or the list.
            unsafe {
                bindings::kfree(table.cast());
                bindings::kfree(list.cast());
            }
            return Err(e);
        }
        for i in 0..wqs.len() {
            // SAFETY: Each entry is a live WQ; the table uses it.
            unsafe { bindings::atomic_inc(&raw mut (**list.add(i)).usecnt) };
        }
        self.add(Object::Table(table))
    }

    /// Creates a QP of `pd` (`ib_create_qp_user()`) with `caps`: completing on its CQs or
    /// receiving through its RSS indirection table.
    pub fn create_qp(
        &mut self,
        pd: ObjId,
        caps: QpAttr,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<ObjId> {
        let pd = self.pd(pd)?;
        let send_cq = caps.send_cq.map(|c| self.cq(c)).transpose()?;
        let recv_cq = caps.recv_cq.map(|c| self.cq(c)).transpose()?;
        let table = match caps.rwq_ind_table {
            Some(t) => match self.get(t)? {
                Object::Table(p) => Some(p),
                _ => return Err(EINVAL),
            },
            None => None,
        };
        let mut attr: bindings::ib_qp_init_attr = pin_init::zeroed();
        attr.qp_type = caps.qp_type;
        attr.port_num = caps.port;
        attr.cap.max_send_wr = caps.max_send_wr;
        attr.cap.max_recv_wr = caps.max_recv_wr;
        attr.cap.max_send_sge = caps.max_send_sge;
        attr.cap.max_recv_sge = caps.max_recv_sge;
        attr.send_cq = send_cq.unwrap_or(ptr::null_mut());
        attr.recv_cq = recv_cq.unwrap_or(ptr::null_mut());
        attr.rwq_ind_tbl = table.unwrap_or(ptr::null_mut());
        let dev = self.live()?;
        let qp = self.call(req, resp, |_, bundle| {
            // SAFETY: The objects are live objects of this context; `bundle` is a bundle of it.
            from_err_ptr(unsafe {
                bindings::rdma_testing_create_qp_user(dev, pd, &mut attr, bundle)
            })
        })?;
        // SAFETY: `qp` is the new QP; as `ib_uverbs_create_qp()` (`ib_qp_usecnt_inc()`).
        unsafe {
            bindings::atomic_inc(&raw mut (*pd).usecnt);
            if let Some(c) = send_cq {
                bindings::atomic_inc(&raw mut (*c).usecnt);
            }
            if let Some(c) = recv_cq {
                bindings::atomic_inc(&raw mut (*c).usecnt);
            }
            if let Some(t) = table {
                bindings::atomic_inc(&raw mut (*t).usecnt);
            }
        }
        self.add(Object::Qp(qp))
    }

    /// Registers user memory as an MR of `pd` (`reg_user_mr`).
    pub fn reg_user_mr(
        &mut self,
        pd: ObjId,
        args: UserMrArgs,
        req: &[u8],
        resp: &mut [u8],
    ) -> Result<ObjId> {
        let pd = self.pd(pd)?;
        let UserMrArgs {
            start,
            length: len,
            iova,
            access,
        } = args;
        let dev = self.live()?;
        // SAFETY: `dev` is registered; its operations are `T`'s.
        let reg = unsafe { (*dev).ops.reg_user_mr }.ok_or(EOPNOTSUPP)?;
        let mr = self.call(req, resp, |udata, _| {
            // SAFETY: `pd` is a live PD of this context, `udata` a udata of it.
            from_err_ptr(unsafe { reg(pd, start, len, iova, access, ptr::null_mut(), udata) })
        })?;
        // SAFETY: `mr` is the new MR; as `ib_uverbs_reg_mr()`.
        unsafe {
            (*mr).device = dev;
            (*mr).pd = pd;
            (*mr).type_ = bindings::ib_mr_type_IB_MR_TYPE_USER;
            (*mr).iova = iova;
            (*mr).length = len;
            bindings::atomic_inc(&raw mut (*pd).usecnt);
        }
        self.add(Object::Mr(mr))
    }

    /// The local key of MR `id` (`lkey`), which the SGEs of user WQEs name.
    pub fn mr_lkey(&self, id: ObjId) -> Result<u32> {
        match self.get(id)? {
            // SAFETY: Every object of `objects` is alive (type invariant); the key is written
            // once, at registration.
            Object::Mr(p) => Ok(unsafe { (*p).lkey }),
            _ => Err(EINVAL),
        }
    }

    /// Queries QP `id` through the core (`ib_query_qp`), as `ibv_query_qp()` and
    /// `rdma res show qp` do.
    pub fn query_qp(&self, id: ObjId) -> Result<(bindings::ib_qp_attr, bindings::ib_qp_init_attr)> {
        let qp = self.qp_raw(id)?;
        let mut attr: bindings::ib_qp_attr = pin_init::zeroed();
        let mut init: bindings::ib_qp_init_attr = pin_init::zeroed();
        // SAFETY: `qp` is a live QP of this context; `attr` and `init` are locals.
        to_result(unsafe { bindings::ib_query_qp(qp, &mut attr, 0, &mut init) })?;
        Ok((attr, init))
    }

    /// Whether the core's resource tracker (`rdma res show qp`) lists QP `id` under its
    /// number.
    pub fn qp_tracked(&self, id: ObjId) -> Result<bool> {
        let qp = self.qp_raw(id)?;
        // SAFETY: `qp` is a live QP of this context; its number does not change.
        let num = unsafe { (*qp).qp_num };
        let dev = self.live()?;
        // SAFETY: The device is registered; a found entry is held until the put below.
        let entry = from_err_ptr(unsafe {
            bindings::rdma_restrack_get_byid(
                dev,
                bindings::rdma_restrack_type_RDMA_RESTRACK_QP,
                num,
            )
        });
        let Ok(entry) = entry else {
            return Ok(false);
        };
        // SAFETY: `qp` is live; `entry` is a held tracker entry, released right after.
        let found = unsafe {
            let same = ptr::eq(entry, &raw const (*qp).res);
            bindings::rdma_restrack_put(entry);
            same
        };
        Ok(found)
    }

    /// The use count of object `id`: how many other objects use it.
    pub fn usecnt(&self, id: ObjId) -> Result<i32> {
        // SAFETY: Every object of `objects` is alive (type invariant).
        Ok(unsafe {
            match self.get(id)? {
                Object::Pd(p) => bindings::atomic_read(&raw const (*p).usecnt),
                Object::Cq(p) => bindings::atomic_read(&raw const (*p).usecnt),
                Object::Wq(p) => bindings::atomic_read(&raw const (*p).usecnt),
                Object::Table(p) => bindings::atomic_read(&raw const (*p).usecnt),
                Object::Qp(p) => bindings::atomic_read(&raw const (*p).usecnt),
                Object::Mr(_) => 0,
            }
        })
    }

    /// Destroys object `id` as the uverbs destroy command does: `EBUSY` while another object
    /// uses it, the driver's error if it refuses (the object stays alive).
    pub fn destroy(&mut self, id: ObjId) -> Result {
        self.destroy_with_udata(id, &[], &mut [])
    }

    /// Destroys object `id` with `req` and `resp` as the udata, as the core does when it
    /// aborts an object whose creation failed after the driver created it (the response could
    /// not be copied, `RDMA_REMOVE_ABORT`): the udata is then the create request's.
    pub fn destroy_with_udata(&mut self, id: ObjId, req: &[u8], resp: &mut [u8]) -> Result {
        self.live()?;
        let obj = self.get(id)?;
        if self.usecnt(id)? != 0 {
            return Err(EBUSY);
        }
        self.call(req, resp, |udata, _| {
            // SAFETY: `obj` is a live object of this context, unused by any other; on success
            // the core frees it and it is forgotten below.
            unsafe {
                match obj {
                    Object::Pd(p) => to_result(bindings::ib_dealloc_pd_user(p, udata)),
                    Object::Cq(p) => to_result(bindings::ib_destroy_cq_user(p, udata)),
                    Object::Wq(p) => to_result(bindings::ib_destroy_wq_user(p, udata)),
                    Object::Qp(p) => to_result(bindings::ib_destroy_qp_user(p, udata)),
                    Object::Mr(p) => to_result(bindings::ib_dereg_mr_user(p, udata)),
                    Object::Table(p) => {
                        let destroy = (*(*p).device).ops.destroy_rwq_ind_table.ok_or(EOPNOTSUPP)?;
                        to_result(destroy(p))?;
                        // As `ib_destroy_rwq_ind_table()` of uverbs.
                        let list = (*p).ind_tbl;
                        for i in 0..(1usize << (*p).log_ind_tbl_size) {
                            bindings::atomic_dec(&raw mut (**list.add(i)).usecnt);
                        }
                        bindings::kfree(p.cast());
                        bindings::kfree(list.cast());
                        Ok(())
                    }
                }
            }
        })?;
        self.objects[id.0] = None;
        Ok(())
    }

    /// The number of objects alive in the context.
    pub fn live_objects(&self) -> usize {
        self.objects.iter().filter(|o| o.is_some()).count()
    }

    /// Tears the context down as closing the uverbs file does: destroys every object still
    /// alive, last created first, retrying those still in use, then deallocates the context.
    /// Returns the first error of an object that could not be destroyed (it is leaked).
    pub fn close(mut self) -> Result {
        self.teardown()
    }

    /// Detaches the context as unregistering the device does while a process still has it
    /// open: destroys every object, then calls `disassociate_ucontext`. The context itself is
    /// deallocated when dropped, as when the process finally closes the device.
    pub fn disassociate(&mut self) -> Result {
        let dev = self.live()?;
        let ret = self.destroy_all();
        // SAFETY: `dev` is registered; its operations are `T`'s; by the type invariant `ctx`
        // is an allocated context, now without objects.
        unsafe {
            if let Some(disassociate) = (*dev).ops.disassociate_ucontext {
                disassociate(self.ctx);
            }
        }
        ret
    }

    /// Destroys every object still alive, last created first, retrying those still in use.
    /// Returns the first error of an object that could not be destroyed (it is leaked).
    fn destroy_all(&mut self) -> Result {
        let mut first_err = Ok(());
        // Each pass destroys at least one object unless one refuses; the objects form a DAG.
        for _ in 0..=self.objects.len() {
            let mut progress = false;
            for i in (0..self.objects.len()).rev() {
                if self.objects[i].is_some() && self.destroy(ObjId(i)).is_ok() {
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        for i in (0..self.objects.len()).rev() {
            if self.objects[i].is_some() {
                if let Err(e) = self.destroy(ObjId(i)) {
                    pr_err!(
                        "rdma testing: object {} of a closed context leaked: {:?}\n",
                        i,
                        e
                    );
                    first_err = first_err.and(Err(e));
                }
            }
        }
        first_err
    }

    fn teardown(&mut self) -> Result {
        if self.ctx.is_null() {
            return Ok(());
        }
        let ret = self.destroy_all();
        let dev = self.dev;
        // SAFETY: By the type invariant `ctx` is a context of `dev`, which is registered while
        // the context is allocated; its operations are `T`'s; `ctx` is now without objects,
        // deallocated once here.
        let entries_left = unsafe {
            if let Some(dealloc) = (*dev).ops.dealloc_ucontext {
                dealloc(self.ctx);
            }
            !bindings::rdma_testing_mmap_table_empty(self.ctx)
        };
        if entries_left {
            // The core WARNs here (`ufile_destroy_ucontext()`); the entries leak.
            pr_err!("rdma testing: the driver left mmap entries in a deallocated context\n");
        } else {
            // SAFETY: The context is deallocated and its mmap table empty: nothing refers to
            // the file state or the context any more but our file, which is released first
            // and whose `mmap()` is not called again.
            unsafe {
                if !self.file.is_null() {
                    bindings::fput(self.file);
                }
                bindings::rdma_testing_ufile_free(self.ufile);
                bindings::kfree(self.ctx.cast());
            }
        }
        self.file = ptr::null_mut();
        self.ufile = ptr::null_mut();
        self.ctx = ptr::null_mut();
        if entries_left {
            return ret.and(Err(EBUSY));
        }
        ret
    }
}

impl<T: Driver> Drop for UserContext<'_, T> {
    fn drop(&mut self) {
        let _ = self.teardown();
        if self.live_objects() != 0 {
            // A leaked CQ may still report events to its channel: leak the channels too.
            core::mem::forget(core::mem::take(&mut self.channels));
        }
        // SAFETY: By the type invariant the bundle is allocated; nothing uses it any more.
        unsafe { bindings::kfree(self.bundle.as_ptr().cast()) };
    }
}
