// SPDX-License-Identifier: GPL-2.0

//! XDP: BPF programs run by a network driver on each received frame, before any socket
//! buffer exists.
//!
//! C headers: [`include/net/xdp.h`](srctree/include/net/xdp.h),
//! [`include/linux/filter.h`](srctree/include/linux/filter.h),
//! [`include/linux/bpf.h`](srctree/include/linux/bpf.h).
//!
//! A driver with native XDP implements [`Driver::xdp_setup`] (`ndo_bpf` with
//! `XDP_SETUP_PROG`), which receives the program to install as a counted reference
//! ([`BpfProg`]), and keeps it in a [`ProgSlot`] that its NAPI polls read under RCU. For each
//! received frame the poll builds an [`Buff`] over the receive page (with
//! [`XDP_PACKET_HEADROOM`] bytes of headroom), runs the program ([`ProgRef::run`]) and acts on
//! the verdict ([`Action`]): pass the frame to the stack, drop it, send it back out
//! (`XDP_TX`), or hand it to the core to redirect it ([`Buff::redirect`], then [`flush`] at the
//! end of the poll). Each receive queue registers an [`RxQueueInfo`] naming its memory model.
//!
//! A driver that can be the target of a redirect implements [`Driver::xdp_xmit`]
//! (`ndo_xdp_xmit`): it takes frames ([`Frame`]) from a [`FrameBatch`] and transmits them.
//!
//! What the device supports is advertised with [`UnregisteredDevice::set_xdp_features`].

use crate::{
    bindings,
    dma_stream::{
        CpuPage,
        SharedPage, //
    },
    error::{
        from_result,
        to_result, //
    },
    ffi::c_int,
    netdev::{
        napi::{
            NapiPoll,
            Poll, //
        },
        skb::Skb,
        Device,
        Driver,
        Rtnl,
        TxQueue,
        UnregisteredDevice, //
    },
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        rcu, //
    },
    types::{
        NotThreadSafe,
        Opaque, //
    }, //
};
use core::{
    marker::PhantomData,
    ptr::{
        self,
        NonNull, //
    }, //
};

/// The headroom an XDP program may grow the frame into (`XDP_PACKET_HEADROOM`).
pub const XDP_PACKET_HEADROOM: u32 = bindings::XDP_PACKET_HEADROOM;

/// A counted reference to a BPF program (`struct bpf_prog`).
///
/// Cloning takes a reference (`bpf_prog_inc`), dropping puts one (`bpf_prog_put`). The program
/// is freed an RCU grace period after its last reference is put, so a reader that found it
/// under the RCU read lock may run it until it unlocks (see [`ProgSlot`]).
///
/// # Invariants
///
/// `self.0` is a valid program of which this object holds one reference.
pub struct BpfProg(NonNull<bindings::bpf_prog>);

// SAFETY: Program references may be taken, used and put on any thread.
unsafe impl Send for BpfProg {}

// SAFETY: A shared reference only reads the program, which is immutable once loaded.
unsafe impl Sync for BpfProg {}

impl BpfProg {
    /// Takes a new reference to `prog` (`bpf_prog_inc`).
    ///
    /// # Safety
    ///
    /// `prog` must be a valid program the caller holds a reference to for the duration of the
    /// call.
    pub unsafe fn from_raw_inc(prog: NonNull<bindings::bpf_prog>) -> Self {
        // SAFETY: The caller guarantees that `prog` is valid and referenced.
        unsafe { bindings::bpf_prog_inc(prog.as_ptr()) };
        // INVARIANT: The reference just taken is ours.
        Self(prog)
    }

    /// Returns the raw `struct bpf_prog` pointer.
    pub fn as_raw(&self) -> *mut bindings::bpf_prog {
        self.0.as_ptr()
    }

    /// Returns the program's id, as `bpftool prog` and `ip link` show it.
    pub fn id(&self) -> u32 {
        // SAFETY: By the type invariant the program is valid; its `aux` lives as long as it.
        unsafe { bindings::bpf_prog_id(self.as_raw()) }
    }
}

impl BpfProg {
    /// Returns whether the program handles frames in several buffers (loaded for the
    /// `xdp.frags` section, `BPF_F_XDP_HAS_FRAGS`): such a program also accepts frames larger
    /// than a page in one buffer.
    pub fn xdp_has_frags(&self) -> bool {
        // SAFETY: By the type invariant the program is valid; its `aux` lives as long as it.
        unsafe { bindings::bpf_prog_xdp_has_frags(self.as_raw()) }
    }
}

impl Clone for BpfProg {
    fn clone(&self) -> Self {
        // SAFETY: By the type invariant we hold a reference, so the program is valid.
        unsafe { Self::from_raw_inc(self.0) }
    }
}

impl Drop for BpfProg {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold a reference, which we put here; the program is
        // freed after an RCU grace period at the earliest.
        unsafe { bindings::bpf_prog_put(self.as_raw()) };
    }
}

/// The XDP program of a device (or of one of its receive queues), replaced under the rtnl lock
/// and read by the data path under RCU (C: an `__rcu` pointer with `rcu_assign_pointer` and
/// `rcu_dereference`).
///
/// # Invariants
///
/// `prog` is null or a program of which this slot holds one reference.
pub struct ProgSlot {
    prog: Atomic<*mut bindings::bpf_prog>,
}

// SAFETY: The slot only holds a program reference, which any thread may use and put.
unsafe impl Send for ProgSlot {}

// SAFETY: The pointer is read and replaced atomically; readers only use the program under the
// RCU read lock (see `with`), and a replaced program is freed after a grace period.
unsafe impl Sync for ProgSlot {}

impl ProgSlot {
    /// An empty slot.
    pub fn new() -> Self {
        // INVARIANT: Null.
        Self {
            prog: Atomic::new(ptr::null_mut()),
        }
    }

    /// Installs `prog` (or none) and returns the previous program, with the rtnl lock held
    /// (which serialises writers). Readers that found the previous program may still run it
    /// until they leave their RCU read-side section; dropping the returned reference is safe
    /// meanwhile (the program is freed after a grace period).
    pub fn replace(&self, prog: Option<BpfProg>, _rtnl: &Rtnl) -> Option<BpfProg> {
        let new = prog.map_or(ptr::null_mut(), |p| {
            let raw = p.as_raw();
            // The slot keeps the reference.
            core::mem::forget(p);
            raw
        });
        // Release: a reader that sees the pointer sees the program's initialisation.
        // INVARIANT: The slot holds the reference of `new`; that of `old` (null, or held by the
        // slot) moves to the caller.
        let old = self.prog.xchg(new, Release);
        NonNull::new(old).map(BpfProg)
    }

    /// Returns a new reference to the installed program, if any, with the rtnl lock held.
    pub fn get(&self, _rtnl: &Rtnl) -> Option<BpfProg> {
        let raw = NonNull::new(self.prog.load(Relaxed))?;
        // SAFETY: Writers are serialised by the rtnl lock, which is held, so the slot's
        // reference keeps the program valid during the call.
        Some(unsafe { BpfProg::from_raw_inc(raw) })
    }

    /// Returns whether a program is installed (racy outside the rtnl lock).
    pub fn is_installed(&self) -> bool {
        !self.prog.load(Relaxed).is_null()
    }

    /// Calls `f` with the installed program, if any, under the RCU read lock.
    pub fn with<R>(&self, f: impl FnOnce(Option<&ProgRef<'_>>) -> R) -> R {
        let guard = rcu::read_lock();
        let raw = NonNull::new(self.prog.load(Acquire));
        // INVARIANT: The program was installed when loaded under the RCU read lock, so it is
        // freed, at the earliest, a grace period after the lock (`guard`) is released.
        let prog = raw.map(|prog| ProgRef {
            prog,
            _rcu: PhantomData,
        });
        let ret = f(prog.as_ref());
        drop(guard);
        ret
    }
}

impl Default for ProgSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ProgSlot {
    fn drop(&mut self) {
        if let Some(p) = NonNull::new(*self.prog.get_mut()) {
            // By the type invariant the slot held a reference: put it (no reader is left, they
            // borrow the slot).
            drop(BpfProg(p));
        }
    }
}

/// A program found under the RCU read lock: valid until the lock is released.
///
/// # Invariants
///
/// `prog` is a valid program that is not freed while this object exists.
pub struct ProgRef<'a> {
    prog: NonNull<bindings::bpf_prog>,
    _rcu: PhantomData<(&'a rcu::Guard, NotThreadSafe)>,
}

impl ProgRef<'_> {
    /// Returns the raw `struct bpf_prog` pointer.
    pub fn as_raw(&self) -> *mut bindings::bpf_prog {
        self.prog.as_ptr()
    }

    /// Runs the program on `buff` (`bpf_prog_run_xdp`) from the NAPI poll `napi`, and returns
    /// its verdict. The program may move the frame's start and end ([`Buff::headroom`],
    /// [`Buff::len`]) and change its bytes.
    pub fn run<P: Poll>(&self, _napi: &NapiPoll<'_, P>, buff: &mut Buff<'_>) -> Action {
        // SAFETY: The program is valid (type invariant). `buff` describes a frame in memory
        // the driver gave up to the program (see `Buff::new`). A NAPI poll runs with bottom
        // halves disabled in a `net_rx_action()` cycle, as driver XDP hooks must be.
        let act = unsafe { bindings::bpf_prog_run_xdp(self.as_raw(), &mut buff.raw) };
        Action::from_raw(act)
    }

    /// Reports a verdict the driver does not know (`bpf_warn_invalid_xdp_action`: one warning
    /// per program, with the program and the device of the poll `napi`).
    pub fn warn_invalid_action<P: Poll>(&self, napi: &NapiPoll<'_, P>, act: u32) {
        // SAFETY: `napi->dev` is the context's valid device (set when it was added); the
        // program is valid (type invariant).
        unsafe { bindings::bpf_warn_invalid_xdp_action((*napi.as_raw()).dev, self.as_raw(), act) }
    }

    /// Reports a frame of the poll `napi` the program aborted on, or that could not be
    /// handled (the `xdp:xdp_exception` tracepoint).
    pub fn trace_exception<P: Poll>(&self, napi: &NapiPoll<'_, P>, act: u32) {
        // SAFETY: As in `warn_invalid_action`; the tracepoint only reads the device's ifindex
        // and the program's id.
        unsafe { bindings::trace_xdp_exception((*napi.as_raw()).dev, self.as_raw(), act) }
    }
}

/// The verdict of an XDP program (`enum xdp_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The program failed: drop the frame and report it (`XDP_ABORTED`).
    Aborted,
    /// Drop the frame (`XDP_DROP`).
    Drop,
    /// Hand the frame to the stack (`XDP_PASS`).
    Pass,
    /// Send the frame back out of the device it came in on (`XDP_TX`).
    Tx,
    /// Redirect the frame, as the program's `bpf_redirect*()` call chose (`XDP_REDIRECT`).
    Redirect,
    /// A value the kernel does not define: drop the frame and warn
    /// ([`ProgRef::warn_invalid_action`]).
    Invalid(u32),
}

impl Action {
    fn from_raw(act: u32) -> Self {
        match act {
            bindings::xdp_action_XDP_ABORTED => Self::Aborted,
            bindings::xdp_action_XDP_DROP => Self::Drop,
            bindings::xdp_action_XDP_PASS => Self::Pass,
            bindings::xdp_action_XDP_TX => Self::Tx,
            bindings::xdp_action_XDP_REDIRECT => Self::Redirect,
            other => Self::Invalid(other),
        }
    }

    /// Returns the raw `enum xdp_action` value.
    pub fn as_raw(self) -> u32 {
        match self {
            Self::Aborted => bindings::xdp_action_XDP_ABORTED,
            Self::Drop => bindings::xdp_action_XDP_DROP,
            Self::Pass => bindings::xdp_action_XDP_PASS,
            Self::Tx => bindings::xdp_action_XDP_TX,
            Self::Redirect => bindings::xdp_action_XDP_REDIRECT,
            Self::Invalid(v) => v,
        }
    }
}

/// The XDP view of a device's receive queue (`struct xdp_rxq_info`), registered with the core
/// for as long as it lives, with the memory model of its buffers.
///
/// The buffers are whole pages (or compound pages) the frames hold references to
/// (`MEM_TYPE_PAGE_SHARED`): a frame the core frees after a redirect puts one reference of its
/// page (`page_frag_free`), which [`Buff::redirect`] took for it.
///
/// # Invariants
///
/// `inner` is registered (`xdp_rxq_info_reg`) for a device that outlives this object.
#[pin_data(PinnedDrop)]
pub struct RxQueueInfo {
    #[pin]
    inner: Opaque<bindings::xdp_rxq_info>,
}

// SAFETY: The core only reads the registered information, from any thread.
unsafe impl Send for RxQueueInfo {}

// SAFETY: As above.
unsafe impl Sync for RxQueueInfo {}

impl RxQueueInfo {
    /// Registers receive queue `queue` of `dev`, served by the NAPI context `napi_id` (0 if
    /// none is known yet; only AF_XDP busy polling uses it).
    ///
    /// The device must outlive the returned object (a driver keeps it in its queues, which go
    /// before the device).
    pub fn new<T: Driver>(dev: &Device<T>, queue: u32, napi_id: u32) -> impl PinInit<Self, Error> {
        let raw_dev = dev.as_raw();
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` points to the uninitialised, pinned object.
            let info = unsafe { Opaque::cast_into(&raw const (*slot).inner) };
            // `__xdp_rxq_info_reg()` reads the registration state first: start zeroed.
            // SAFETY: `info` is the uninitialised field of `slot`, valid for writes.
            unsafe { ptr::write_bytes(info, 0, 1) };
            // SAFETY: `info` is zeroed memory that stays pinned; `raw_dev` is valid (the caller
            // keeps the device alive).
            to_result(unsafe { bindings::xdp_rxq_info_reg(info, raw_dev, queue, napi_id) })?;
            // SAFETY: `info` is registered; the page-shared model needs no allocator.
            let ret = unsafe {
                bindings::xdp_rxq_info_reg_mem_model(
                    info,
                    bindings::xdp_mem_type_MEM_TYPE_PAGE_SHARED,
                    ptr::null_mut(),
                )
            };
            if ret != 0 {
                // SAFETY: Registered above, unregistered once (the object is not created).
                unsafe { bindings::xdp_rxq_info_unreg(info) };
                return Err(Error::from_errno(ret));
            }
            // INVARIANT: Registered for `raw_dev`, which the caller keeps alive.
            Ok(())
        };
        // SAFETY: The closure initialises the whole object (its one field) on success, and on
        // failure leaves nothing to drop (the registration is undone).
        unsafe { pin_init::pin_init_from_closure(init) }
    }

    fn as_raw(&self) -> *mut bindings::xdp_rxq_info {
        self.inner.get()
    }
}

#[pinned_drop]
impl PinnedDrop for RxQueueInfo {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant it is registered; unregistered once, here.
        unsafe { bindings::xdp_rxq_info_unreg(self.as_raw()) };
    }
}

/// A received frame offered to an XDP program (`struct xdp_buff`), over a page to which the CPU
/// has exclusive access ([`CpuPage`]) and the driver the only reference.
///
/// # Invariants
///
/// `raw` describes a frame within the first `frame_sz` bytes of `page`, whose bytes nothing but
/// the program (and the driver, through this object) uses while it lives; `raw.rxq` is a
/// registered [`RxQueueInfo`] that outlives it.
pub struct Buff<'a> {
    raw: bindings::xdp_buff,
    page: &'a SharedPage,
    _cpu: PhantomData<&'a mut ()>,
    _rxq: PhantomData<&'a RxQueueInfo>,
}

impl<'a> Buff<'a> {
    /// Describes the `len` bytes at `headroom` of `page`'s first `frame_size` bytes, received
    /// on `rxq`: the program may grow the frame into the headroom and up to the end of the
    /// buffer, less the shared info of a socket buffer (`frame_size` is the buffer's
    /// truesize).
    ///
    /// The driver must have synced the frame for the CPU (which is how it got `page` from its
    /// mapping). Fails with `EBUSY` if anything else holds the page (the program may write it),
    /// `EINVAL` if the frame or the buffer do not fit.
    pub fn new(
        rxq: &'a RxQueueInfo,
        page: &'a mut CpuPage<'_>,
        frame_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<Self> {
        let page = page.page();
        let shinfo = crate::netdev::skb::SKB_SHARED_INFO_SIZE as u32;
        let end = headroom
            .checked_add(len)
            .and_then(|e| e.checked_add(shinfo))
            .ok_or(EINVAL)?;
        if end > frame_size || frame_size as usize > page.size() || len == 0 {
            return Err(EINVAL);
        }
        if !page.is_unshared() {
            return Err(EBUSY);
        }
        // SAFETY: `xdp_buff` is plain data; every field is set below.
        let mut raw: bindings::xdp_buff = unsafe { core::mem::zeroed() };
        // SAFETY: The page is valid and in the linear map (type invariant of `SharedPage`).
        let start = unsafe { bindings::page_address(page.as_ptr()) }.cast::<u8>();
        // SAFETY: `raw` is a local `xdp_buff`; `rxq` is registered and outlives `'a`; `start`
        // begins `frame_size` bytes of the page (checked above), of which `headroom + len`
        // hold the frame. Metadata is not offered (not carried to the socket buffer).
        unsafe {
            bindings::xdp_init_buff(&mut raw, frame_size, rxq.as_raw());
            bindings::xdp_prepare_buff(&mut raw, start, headroom as c_int, len as c_int, false);
        }
        // INVARIANT: As checked above. The CPU's access, borrowed exclusively for `'a`, keeps
        // devices, device models and other accesses away from the bytes, and its handle is the
        // only reference (checked above), so no socket buffer reads them.
        Ok(Self {
            raw,
            page,
            _cpu: PhantomData,
            _rxq: PhantomData,
        })
    }

    /// Returns the bytes between the buffer's start and the frame (moved by
    /// `bpf_xdp_adjust_head`).
    pub fn headroom(&self) -> u32 {
        (self.raw.data as usize).wrapping_sub(self.raw.data_hard_start as usize) as u32
    }

    /// Returns the length of the frame (moved by `bpf_xdp_adjust_head`/`_tail`).
    pub fn len(&self) -> u32 {
        (self.raw.data_end as usize).wrapping_sub(self.raw.data as usize) as u32
    }

    /// Returns whether the frame is empty (never, for a frame a program returned).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redirects the frame as the program chose (`xdp_do_redirect`), from the NAPI poll
    /// `napi` of device `dev`, after `prog` returned [`Action::Redirect`].
    ///
    /// The frame takes a reference to the page, which the core puts when it is done with it
    /// (the memory model of [`RxQueueInfo`]); the driver keeps its own and may give the page
    /// to the device again once [`SharedPage::is_unshared`] holds. On failure the frame was
    /// not taken (the driver drops it). Call [`flush`] before the poll ends.
    pub fn redirect<P: Poll>(&mut self, napi: &NapiPoll<'_, P>, prog: &ProgRef<'_>) -> Result {
        let frame_ref = self.page.clone();
        // SAFETY: `napi->dev` is the context's valid device (set when it was added).
        let dev = unsafe { (*napi.as_raw()).dev };
        // SAFETY: The device and the program are valid, `raw` describes the frame (type
        // invariant), and we are in a NAPI poll (bottom halves disabled, in the cycle whose
        // end `flush` marks). On success the frame owns the reference taken above.
        let ret = unsafe { bindings::xdp_do_redirect(dev, &mut self.raw, prog.as_raw()) };
        if ret == 0 {
            core::mem::forget(frame_ref);
        }
        to_result(ret)
    }
}

/// Sends the frames redirected during this NAPI poll on their way (`xdp_do_flush`); call it
/// before the poll returns if [`Buff::redirect`] succeeded.
pub fn flush<P: Poll>(_napi: &NapiPoll<'_, P>) {
    // SAFETY: Called from a NAPI poll, in the `net_rx_action()` cycle that queued the frames.
    unsafe { bindings::xdp_do_flush() }
}

/// A frame another device redirected to this one, owned by the driver until it is sent or
/// dropped (`struct xdp_frame`). Dropping it frees it (`xdp_return_frame`).
///
/// # Invariants
///
/// `self.0` is a valid frame owned by this object.
pub struct Frame(NonNull<bindings::xdp_frame>);

impl Frame {
    /// Returns the length of the frame.
    pub fn len(&self) -> u32 {
        // SAFETY: By the type invariant the frame is valid.
        unsafe { bindings::xdp_frame_len(self.0.as_ptr()) }
    }

    /// Returns whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Turns the frame into a socket buffer of `dev` around the same memory
    /// (`xdp_build_skb_from_frame`), to transmit it like a packet of the stack: its data starts
    /// at the Ethernet header (which the core's helper pulls, as for a received packet, and
    /// which is pushed back here). On failure the frame is freed and `ENOMEM` returned.
    pub fn into_skb<T: Driver>(self, dev: &Device<T>) -> Result<Skb> {
        let raw = self.0.as_ptr();
        // SAFETY: The frame is valid and ours; the device is valid. On success the buffer owns
        // the frame's memory, so the frame must not be returned.
        let skb = unsafe { bindings::xdp_build_skb_from_frame(raw, dev.as_raw()) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        core::mem::forget(self);
        // SAFETY: A non-null result is a new buffer that we own.
        let mut skb = unsafe { Skb::from_raw(skb) };
        // `eth_type_trans()` pulled exactly the header, so it is there to push back.
        skb.push(crate::netdev::ETH_HLEN as u32)?;
        Ok(skb)
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the frame; it is freed once, here.
        unsafe { bindings::xdp_return_frame(self.0.as_ptr()) }
    }
}

/// The frames of one `ndo_xdp_xmit` call ([`Driver::xdp_xmit`]).
///
/// The driver takes frames in order with [`FrameBatch::next_frame`]; every frame taken is the
/// driver's (sent, or dropped, which frees it), and the core frees the frames not taken.
pub struct FrameBatch<'a> {
    frames: &'a [*mut bindings::xdp_frame],
    taken: usize,
}

impl FrameBatch<'_> {
    /// Returns the number of frames in the batch.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Returns whether the batch has no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Returns the number of frames taken so far.
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// Takes the next frame, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let raw = *self.frames.get(self.taken)?;
        self.taken += 1;
        // INVARIANT: The core hands the first `taken` frames to the driver (`ndo_xdp_xmit`
        // returns how many it took); each is taken once.
        NonNull::new(raw).map(Frame)
    }
}

/// Where the core reports an error to the user of a netlink request
/// (`struct netlink_ext_ack`): `ip link` prints the message.
pub struct ExtAck(*mut bindings::netlink_ext_ack);

impl ExtAck {
    /// Sets the message reported with the request's error (`NL_SET_ERR_MSG`). The message
    /// should name the cause and the remedy.
    pub fn set_message(&self, msg: &'static CStr) {
        // SAFETY: `self.0` is null or the request's valid `netlink_ext_ack`; the message is
        // static, as the core keeps only the pointer.
        unsafe { bindings::netlink_set_err_msg(self.0, msg.as_char_ptr()) }
    }
}

/// The XDP features of a device (`xdp_features_t`, `NETDEV_XDP_ACT_*`), as `netdev` netlink
/// reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Features(u32);

impl Features {
    /// `XDP_ABORTED`, `XDP_DROP`, `XDP_PASS` and `XDP_TX` (`NETDEV_XDP_ACT_BASIC`).
    pub const BASIC: Self = Self(bindings::netdev_xdp_act_NETDEV_XDP_ACT_BASIC);
    /// `XDP_REDIRECT` (`NETDEV_XDP_ACT_REDIRECT`).
    pub const REDIRECT: Self = Self(bindings::netdev_xdp_act_NETDEV_XDP_ACT_REDIRECT);
    /// A target of redirects: `ndo_xdp_xmit` (`NETDEV_XDP_ACT_NDO_XMIT`).
    pub const NDO_XMIT: Self = Self(bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT);

    /// Returns the raw value.
    pub const fn as_raw(self) -> u32 {
        self.0
    }
}

impl core::ops::BitOr for Features {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl<T: Driver> UnregisteredDevice<T> {
    /// Advertises the XDP features of the device (`xdp_set_features_flag`), before
    /// registration.
    pub fn set_xdp_features(&mut self, features: Features) {
        // SAFETY: The device is valid and not registered (invisible, as the function requires
        // without the instance lock, which it takes itself).
        unsafe { bindings::xdp_set_features_flag(self.raw(), features.0) }
    }
}

impl TxQueue {
    /// Runs `f` with the queue's transmit lock held (`__netif_tx_lock`), as the core holds it
    /// around `ndo_start_xmit`: for transmitting from elsewhere (`XDP_TX` in a NAPI poll,
    /// `ndo_xdp_xmit`) on a queue the stack also uses. Bottom halves must be disabled (a NAPI
    /// poll or `ndo_xdp_xmit`), and the lock must not be held already.
    pub fn with_xmit_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: The queue is valid (type invariant); the caller runs with bottom halves
        // disabled, so the CPU does not change while the lock is held.
        unsafe { bindings::__netif_tx_lock_this_cpu(self.as_raw()) };
        let ret = f();
        // SAFETY: Taken above by this thread.
        unsafe { bindings::__netif_tx_unlock(self.as_raw()) };
        ret
    }
}

/// The CPU the caller runs on (`smp_processor_id`), for choosing a transmit queue in
/// [`Driver::xdp_xmit`] (bottom halves are disabled there, so it does not change).
pub fn current_cpu() -> u32 {
    crate::cpu::CpuId::current().as_u32()
}

/// `ndo_bpf` of driver `T`.
///
/// # Safety
///
/// Called by the core as `ndo_bpf` of a device of `T`, with the rtnl lock held.
pub(super) unsafe extern "C" fn bpf_callback<T: Driver>(
    dev: *mut bindings::net_device,
    bpf: *mut bindings::netdev_bpf,
) -> c_int {
    // SAFETY: The core calls `T`'s callbacks only for devices allocated by
    // `UnregisteredDevice::<T>::new`, alive for the call.
    let dev = unsafe { Device::<T>::from_raw(dev) };
    from_result(|| {
        // SAFETY: The core passes a valid `netdev_bpf`.
        let bpf = unsafe { &*bpf };
        if bpf.command != bindings::bpf_netdev_command_XDP_SETUP_PROG {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: For `XDP_SETUP_PROG` the first union member is the active one.
        let (prog, extack) = unsafe {
            let setup = &bpf.__bindgen_anon_1.__bindgen_anon_1;
            (setup.prog, setup.extack)
        };
        // The core holds a reference for the driver (`dev_xdp_install()`); the driver gets
        // its own, and the core's is put below if the driver accepts the program (the core
        // puts it itself on failure).
        let prog = NonNull::new(prog).map(|p| {
            // SAFETY: The core's reference keeps `p` valid during the call.
            unsafe { BpfProg::from_raw_inc(p) }
        });
        let core_ref = prog.as_ref().map(|p| p.0);
        // SAFETY: The core calls `ndo_bpf` with the rtnl lock held (`dev_xdp_install()`).
        let rtnl = unsafe { Rtnl::assume_held() };
        T::xdp_setup(dev, prog, &ExtAck(extack), &rtnl)?;
        if let Some(p) = core_ref {
            // The driver took its own reference: the core's is put here.
            drop(BpfProg(p));
        }
        Ok(0)
    })
}

/// `ndo_xdp_xmit` of driver `T`.
///
/// # Safety
///
/// Called by the core as `ndo_xdp_xmit` of a device of `T`, with `n` valid frames at `frames`.
pub(super) unsafe extern "C" fn xdp_xmit_callback<T: Driver>(
    dev: *mut bindings::net_device,
    n: c_int,
    frames: *mut *mut bindings::xdp_frame,
    flags: u32,
) -> c_int {
    // SAFETY: As in `bpf_callback`.
    let dev = unsafe { Device::<T>::from_raw(dev) };
    let Ok(n) = usize::try_from(n) else {
        return -(bindings::EINVAL as c_int);
    };
    if n == 0 || frames.is_null() {
        return 0;
    }
    // SAFETY: The core passes `n` frame pointers at `frames`, valid for the call.
    let frames = unsafe { core::slice::from_raw_parts(frames, n) };
    let mut batch = FrameBatch { frames, taken: 0 };
    T::xdp_xmit(dev, &mut batch, flags & bindings::XDP_XMIT_FLUSH != 0);
    // At most `n`, which fits.
    batch.taken as c_int
}

/// KUnit support: XDP programs loaded and attached through the core's own paths.
#[cfg(all(CONFIG_KUNIT = "y", CONFIG_BPF_SYSCALL))]
pub mod testing {
    use super::*;

    /// An XDP program loaded through the `bpf()` system call's kernel entry (checked by the
    /// verifier), held by a file descriptor of the calling thread; closed on drop.
    pub struct TestProg {
        fd: c_int,
    }

    impl TestProg {
        /// A program that returns `action`.
        pub fn returning(action: Action) -> Result<Self> {
            Self::load(action, 0, false)
        }

        /// A program for multi-buffer frames (`xdp.frags`) that returns `action`.
        pub fn returning_frags(action: Action) -> Result<Self> {
            Self::load(action, 0, true)
        }

        fn load(action: Action, ifindex: i32, frags: bool) -> Result<Self> {
            // SAFETY: Plain call; the helper builds the instructions itself.
            let fd = unsafe { bindings::xdp_testing_prog_load(action.as_raw(), ifindex, frags) };
            to_result(fd)?;
            Ok(Self { fd })
        }

        /// A program that redirects every frame to interface `ifindex` (`bpf_redirect`).
        pub fn redirecting(ifindex: i32) -> Result<Self> {
            if ifindex <= 0 {
                return Err(EINVAL);
            }
            Self::load(Action::Aborted, ifindex, false)
        }

        /// Returns a new reference to the program.
        pub fn prog(&self) -> Result<BpfProg> {
            // SAFETY: Plain call; the helper returns a referenced program or null.
            let raw = unsafe { bindings::xdp_testing_prog_get(self.fd) };
            // INVARIANT: The helper took a reference (`bpf_prog_get_type_dev`) for us.
            NonNull::new(raw).map(BpfProg).ok_or(EINVAL)
        }

        /// Attaches the program to `dev` in native mode as `ip link set dev DEV xdpdrv`
        /// does (`dev_change_xdp_fd`), taking the rtnl lock. On failure returns the error and
        /// the message the user would see.
        pub fn attach<T: Driver>(
            &self,
            dev: &Device<T>,
        ) -> core::result::Result<(), (Error, Option<&'static CStr>)> {
            attach_fd(dev, self.fd)
        }
    }

    impl Drop for TestProg {
        fn drop(&mut self) {
            // SAFETY: `fd` is ours, closed once.
            unsafe { bindings::xdp_testing_close(self.fd) };
        }
    }

    fn attach_fd<T: Driver>(
        dev: &Device<T>,
        fd: c_int,
    ) -> core::result::Result<(), (Error, Option<&'static CStr>)> {
        let mut msg: *const crate::ffi::c_char = ptr::null();
        // SAFETY: The device is valid; the helper takes the rtnl lock and writes `msg`.
        let ret = unsafe { bindings::xdp_testing_attach(dev.as_raw(), fd, &mut msg) };
        if ret == 0 {
            return Ok(());
        }
        let msg = (!msg.is_null()).then(|| {
            // SAFETY: Extack messages are static NUL-terminated strings.
            unsafe { CStr::from_char_ptr(msg) }
        });
        Err((Error::from_errno(ret), msg))
    }

    /// Detaches the native XDP program of `dev`, if any, taking the rtnl lock.
    pub fn detach<T: Driver>(dev: &Device<T>) -> Result {
        attach_fd(dev, -1).map_err(|(e, _)| e)
    }

    /// Returns the references to `prog` (its `aux->refcnt`).
    pub fn references(prog: &BpfProg) -> u64 {
        // SAFETY: The program is valid (type invariant of `BpfProg`).
        unsafe { bindings::xdp_testing_prog_refs(prog.as_raw()) }
    }

    /// Returns the id of the native XDP program the core has attached to `dev` (0: none).
    pub fn attached_id<T: Driver>(dev: &Device<T>) -> u32 {
        // SAFETY: The device is valid; the helper takes the rtnl lock.
        unsafe { bindings::xdp_testing_prog_id(dev.as_raw()) }
    }
}

#[cfg(all(CONFIG_KUNIT = "y", CONFIG_BPF_SYSCALL))]
#[kunit_tests(rust_netdev_xdp)]
mod tests {
    use super::{
        testing::{
            references,
            TestProg, //
        },
        *,
    };
    use crate::netdev::rtnl_lock;

    #[test]
    fn actions_round_trip() {
        for a in [
            Action::Aborted,
            Action::Drop,
            Action::Pass,
            Action::Tx,
            Action::Redirect,
        ] {
            assert_eq!(Action::from_raw(a.as_raw()), a);
        }
        assert_eq!(Action::from_raw(99), Action::Invalid(99));
    }

    /// The slot holds exactly one reference while a program is installed, hands it back on
    /// replacement, and readers under RCU see the installed program.
    #[test]
    fn prog_slot_holds_one_reference() -> Result {
        let loaded = TestProg::returning(Action::Drop)?;
        let prog = loaded.prog()?;
        let id = prog.id();
        assert_ne!(id, 0);
        let base = references(&prog);
        let copy = prog.clone();
        assert_eq!(references(&prog), base + 1);
        drop(copy);
        assert_eq!(references(&prog), base);

        let slot = ProgSlot::new();
        assert!(!slot.is_installed());
        assert!(slot.with(|p| p.is_none()));
        let rtnl = rtnl_lock();
        assert!(slot.replace(Some(prog.clone()), &rtnl).is_none());
        assert!(slot.is_installed());
        assert_eq!(references(&prog), base + 1);
        assert!(slot.with(|p| p.map(|p| p.as_raw()) == Some(prog.as_raw())));
        assert_eq!(slot.get(&rtnl).map(|p| p.id()), Some(id));
        assert_eq!(references(&prog), base + 1);
        let old = slot.replace(None, &rtnl);
        drop(rtnl);
        assert_eq!(old.as_ref().map(|p| p.id()), Some(id));
        drop(old);
        assert_eq!(references(&prog), base);
        assert!(!slot.is_installed());

        // A slot dropped with a program puts its reference.
        let slot = ProgSlot::new();
        let rtnl = rtnl_lock();
        drop(slot.replace(Some(prog.clone()), &rtnl));
        drop(rtnl);
        assert_eq!(references(&prog), base + 1);
        drop(slot);
        assert_eq!(references(&prog), base);
        Ok(())
    }

    /// A redirecting program passes the verifier (its helper call resolved); one to no
    /// interface is refused before anything is loaded. Multi-buffer programs say so.
    #[test]
    fn redirect_and_frags_programs_load() -> Result {
        assert_eq!(TestProg::redirecting(0).err(), Some(EINVAL));
        let redirect = TestProg::redirecting(1)?;
        assert!(!redirect.prog()?.xdp_has_frags());
        assert!(TestProg::returning_frags(Action::Pass)?
            .prog()?
            .xdp_has_frags());
        Ok(())
    }
}
