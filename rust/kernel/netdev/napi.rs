// SPDX-License-Identifier: GPL-2.0

//! NAPI: polling a device for received packets and transmit completions.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h).
//!
//! A [`Napi`] is a NAPI context of a network device with the driver's data `P` and its poll
//! function [`Poll::poll`]. The interrupt handler calls [`Napi::schedule`]; the core then calls
//! the poll function in softirq context, which processes up to `budget` packets and, when it is
//! done, calls [`NapiPoll::complete_done`] and re-arms the interrupt.

use crate::{
    bindings,
    ffi::c_int,
    netdev::{
        skb::{
            GroResult,
            Skb, //
        },
        Device,
        Driver,
        Features,
        TxQueue, //
    },
    new_mutex,
    page::{
        Page,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::Mutex,
    types::{
        NotThreadSafe,
        Opaque, //
    }, //
};
use core::{
    cell::Cell,
    ops::Deref,
    ptr::{
        self,
        NonNull, //
    }, //
};


/// The lock class name of every NAPI context's `enabled` lock. A static, not a literal in the
/// generic constructor: a literal in generic code is emitted once per crate that instantiates
/// it, and lockdep warns when one lock class key comes with two name pointers.
static ENABLED_NAME: &CStr = c"Napi::enabled";

/// The lock class of every NAPI context's `enabled` lock.
// SAFETY: The key is in static memory, pinned there; a static is never dropped.
static ENABLED_CLASS: crate::sync::LockClassKey =
    unsafe { crate::sync::LockClassKey::new_static() };

/// The default NAPI weight (`NAPI_POLL_WEIGHT`).
pub const NAPI_POLL_WEIGHT: u32 = bindings::NAPI_POLL_WEIGHT;

/// The poll function of a [`Napi`] context, implemented by its data.
pub trait Poll: Sized + Send + Sync {
    /// Processes up to `budget` packets and returns how many were processed.
    ///
    /// Called with bottom halves disabled (in softirq context, or in process context for busy
    /// polling), never concurrently for one context. When less than `budget`
    /// was processed, the poll is over: call [`NapiPoll::complete_done`] and, if it returns
    /// `true`, re-enable the device's interrupt. When `budget` was used up, do not complete: the
    /// core polls again. Returned values are clamped to that contract.
    fn poll(napi: NapiPoll<'_, Self>, budget: i32) -> i32;
}

/// A NAPI context (`struct napi_struct`) of a network device, with the data `P` of its poll
/// function.
///
/// Created disabled by [`Napi::new`] (`netif_napi_add_weight`). Dropping it disables it if
/// needed and removes it from its device (`netif_napi_del`), which may sleep.
///
/// A `Napi` refers to its device: drop it before the device goes, e.g. in [`Driver::stop`] or
/// as part of the device's private data. If one outlives the private data of its device, the
/// device is leaked rather than freed.
///
/// # Invariants
///
/// `napi` was added to a device with `netif_napi_add_weight()` and the poll callback of this
/// type; it is enabled exactly when `enabled` holds `true`.
#[pin_data(PinnedDrop)]
pub struct Napi<P: Poll> {
    #[pin]
    napi: Opaque<bindings::napi_struct>,
    #[pin]
    enabled: Mutex<bool>,
    #[pin]
    data: P,
}

// SAFETY: The NAPI functions used through `&Napi` may be called from any thread, and `P` is
// `Send + Sync`.
unsafe impl<P: Poll> Send for Napi<P> {}

// SAFETY: As above.
unsafe impl<P: Poll> Sync for Napi<P> {}

impl<P: Poll> Napi<P> {
    /// Creates a NAPI context of `dev`, polled with weight `weight` (usually
    /// [`NAPI_POLL_WEIGHT`]), with the poll data `data`. The context starts disabled.
    pub fn new<'a, T: Driver, E: 'a>(
        dev: &'a Device<T>,
        weight: u32,
        data: impl PinInit<P, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        P: 'a,
        Error: From<E>,
    {
        let weight = c_int::try_from(weight).unwrap_or(c_int::MAX);
        // SAFETY: The closure initialises `slot` with `data` under the same contract: `slot` is
        // pinned, and on failure it is left uninitialised.
        let data = unsafe {
            pin_init::pin_init_from_closure(move |slot: *mut P| {
                pin_init::raw_try_init(slot, data).map_err(Error::from)
            })
        };
        try_pin_init!(Self {
            data <- data,
            enabled <- Mutex::new(false, ENABLED_NAME, Pin::static_ref(&ENABLED_CLASS)),
            napi <- Opaque::ffi_init(move |slot: *mut bindings::napi_struct| {
                // SAFETY: `slot` is valid for writes of a `napi_struct`, which the core expects
                // zeroed before it is added. `dev` is a valid device (borrowed for `'a`);
                // the poll callback matches `Self`, where the context is pinned. It is removed
                // from the device when dropped.
                unsafe {
                    ptr::write_bytes(slot, 0, 1);
                    bindings::netif_napi_add_weight(dev.as_raw(), slot, Some(Self::poll_callback), weight)
                };
            }),
        }? Error)
    }

    /// Returns the raw `struct napi_struct` pointer.
    pub fn as_raw(&self) -> *mut bindings::napi_struct {
        self.napi.get()
    }

    /// Returns the data of the poll function.
    pub fn data(&self) -> &P {
        &self.data
    }

    /// Enables the context (`napi_enable`), if disabled. May sleep.
    pub fn enable(&self) {
        let mut enabled = self.enabled.lock();
        if !*enabled {
            // SAFETY: The context was added to its device and is disabled.
            unsafe { bindings::napi_enable(self.as_raw()) };
            // INVARIANT: Enabled, under the lock.
            *enabled = true;
        }
    }

    /// Disables the context (`napi_disable`), if enabled, waiting for a running poll to finish.
    ///
    /// May sleep. Calling it from the context's own poll function deadlocks.
    pub fn disable(&self) {
        let mut enabled = self.enabled.lock();
        if *enabled {
            // SAFETY: The context was added to its device and is enabled.
            unsafe { bindings::napi_disable(self.as_raw()) };
            // INVARIANT: Disabled, under the lock.
            *enabled = false;
        }
    }

    /// Schedules a poll (`napi_schedule`), from any context. Returns `false` if a poll was
    /// already scheduled or the context is disabled.
    pub fn schedule(&self) -> bool {
        // SAFETY: The context was added to its device.
        unsafe { bindings::napi_schedule(self.as_raw()) }
    }

    /// Returns whether a poll is scheduled or running (`napi_is_scheduled`).
    pub fn is_scheduled(&self) -> bool {
        // SAFETY: The context was added to its device.
        unsafe { bindings::napi_is_scheduled(self.as_raw()) }
    }

    /// # Safety
    ///
    /// Called by the core as the poll function of a context added by [`Napi::new`].
    unsafe extern "C" fn poll_callback(napi: *mut bindings::napi_struct, budget: c_int) -> c_int {
        // SAFETY: `napi` is the `napi` field of a pinned `Napi<P>` (only `Napi::new` adds
        // contexts with this callback), which stays alive while it is scheduled: dropping it
        // disables it first, which waits for the poll to end.
        let this = unsafe { &*crate::container_of!(Opaque::cast_from(napi), Self, napi) };
        let completed = Cell::new(false);
        let work = P::poll(
            NapiPoll {
                napi: this,
                budget,
                completed: &completed,
                _not_send: NotThreadSafe,
            },
            budget,
        );
        let work = work.clamp(0, budget.max(0));
        if completed.get() && work >= budget {
            // The core would keep polling a context the driver completed.
            (budget - 1).max(0)
        } else {
            work
        }
    }
}

#[pinned_drop]
impl<P: Poll> PinnedDrop for Napi<P> {
    fn drop(self: Pin<&mut Self>) {
        self.disable();
        // SAFETY: The context was added to its device, which is still allocated (see the type
        // documentation), and is disabled, so no poll runs or can be scheduled. The function
        // waits for an RCU grace period, after which the memory may go.
        unsafe { bindings::netif_napi_del(self.as_raw()) };
    }
}

/// A running poll of a [`Napi`] context, given to [`Poll::poll`].
///
/// # Invariants
///
/// Exists only during a call of the poll function of `napi`, with bottom halves disabled, while the
/// context is scheduled (owned by this poll). `completed` is `true` once the poll called
/// [`NapiPoll::complete_done`].
pub struct NapiPoll<'a, P: Poll> {
    napi: &'a Napi<P>,
    budget: i32,
    completed: &'a Cell<bool>,
    _not_send: NotThreadSafe,
}

impl<P: Poll> Deref for NapiPoll<'_, P> {
    type Target = Napi<P>;

    fn deref(&self) -> &Napi<P> {
        self.napi
    }
}

impl<'a, P: Poll> NapiPoll<'a, P> {
    /// Returns the budget of this poll (0 for netpoll, which only wants transmit completions).
    pub fn budget(&self) -> i32 {
        self.budget
    }

    /// Returns the context being polled, for use after [`Self::complete_done`] (e.g. to re-arm
    /// the device's interrupt): the context outlives the poll, and its data is `Sync`, so a
    /// poll that starts on another CPU once this one completed may share it.
    pub fn context(&self) -> &'a Napi<P> {
        self.napi
    }

    /// Ends the poll after `work_done` packets (`napi_complete_done`).
    ///
    /// Returns `false` if the device should not re-enable its interrupt (e.g. busy polling
    /// takes over or a new poll is already due).
    pub fn complete_done(self, work_done: i32) -> bool {
        self.completed.set(true);
        // SAFETY: By the type invariant the context is scheduled and owned by this poll, which
        // completes it once (`self` is consumed).
        unsafe { bindings::napi_complete_done(self.napi.as_raw(), work_done) }
    }

    /// Hands a received packet to GRO and the stack (`napi_gro_receive`).
    pub fn gro_receive(&self, skb: Skb) -> GroResult {
        // SAFETY: We are in the context's poll (bottom halves disabled), and the packet's
        // ownership passes to the stack.
        GroResult::from_raw(unsafe {
            bindings::napi_gro_receive(self.napi.as_raw(), skb.into_raw().as_ptr())
        })
    }

    /// Sets the protocol of a received frame from its Ethernet header, sets its packet type and
    /// device to the context's device, and pulls the header (`eth_type_trans`).
    pub fn eth_type_trans(&self, skb: &mut Skb) -> Result {
        if (skb.headlen() as usize) < crate::netdev::ETH_HLEN {
            return Err(EINVAL);
        }
        // SAFETY: The context was added to its device with `netif_napi_add_weight()`, which set
        // `napi->dev`; the device outlives the context (see [`Napi`]).
        let dev = unsafe { (*self.napi.as_raw()).dev };
        // SAFETY: `skb.as_raw()` is a valid `sk_buff` that we own with a whole Ethernet header in
        // its linear part; `dev` is a valid `net_device`.
        let protocol = unsafe { bindings::eth_type_trans(skb.as_raw(), dev) };
        // SAFETY: `skb.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_protocol(skb.as_raw(), protocol) };
        Ok(())
    }

    /// Returns the active features of the context's device, e.g. whether the user turned
    /// receive checksum or hash offload off (`ethtool -K rx off`).
    pub fn features(&self) -> Features {
        // SAFETY: As in `eth_type_trans`, `napi->dev` is the context's valid device.
        let dev = unsafe { (*self.napi.as_raw()).dev };
        // SAFETY: `dev` is a valid `net_device`; the volatile read tolerates the core's
        // concurrent updates of the field (`netdev_update_features()` under rtnl).
        Features::from_raw(unsafe { ptr::read_volatile(&raw const (*dev).features) })
    }

    /// Returns transmit queue `index` of the context's device, e.g. to wake it after
    /// completions, or `None` if the device has no such queue.
    pub fn tx_queue(&self, index: u32) -> Option<&TxQueue> {
        // SAFETY: As in `eth_type_trans`, `napi->dev` is the context's valid device.
        let dev = unsafe { (*self.napi.as_raw()).dev };
        // SAFETY: `dev` is a valid `net_device`.
        if index >= unsafe { (*dev).num_tx_queues } {
            return None;
        }
        // SAFETY: `dev` is a valid `net_device` and `index` is within its array of
        // `num_tx_queues` queues, which lives as long as the device, so as long as the context.
        let queue = unsafe { bindings::netdev_get_tx_queue(dev, index) };
        // SAFETY: `queue` is a valid `netdev_queue` that outlives `self`.
        Some(unsafe { TxQueue::from_raw(queue) })
    }

    /// Allocates a receive buffer of `len` bytes from the per-CPU NAPI cache
    /// (`napi_alloc_skb`).
    pub fn alloc_skb(&self, len: u32) -> Result<Skb> {
        // SAFETY: We are in the context's poll (bottom halves disabled), as the cache requires.
        let skb = unsafe { bindings::napi_alloc_skb(self.napi.as_raw(), len) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A non-null result is a new buffer owned by the caller.
        Ok(unsafe { Skb::from_raw(skb) })
    }

    /// Builds a buffer around `page` with the NAPI cache (`napi_build_skb`), like
    /// [`Skb::build_from_page`].
    pub fn build_skb(&self, page: Page, headroom: u32, len: u32) -> Result<Skb> {
        Skb::check_frag(0, PAGE_SIZE as u32, headroom, len)?;
        // SAFETY: `page.as_ptr()` is a page we own, mapped in the kernel's linear map.
        let data = unsafe { bindings::page_address(page.as_ptr()) };
        // SAFETY: Bottom halves are disabled (poll); `data` is the start of a whole page we own, with
        // room for the shared info after `headroom + len`; the buffer takes the page over.
        let skb = unsafe { bindings::napi_build_skb(data, PAGE_SIZE as u32) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        core::mem::forget(page);
        // SAFETY: `napi_build_skb()` returned a new buffer that we own.
        let mut skb = unsafe { Skb::from_raw(skb) };
        skb.reserve(headroom)?;
        skb.put(len)?;
        Ok(skb)
    }

    /// Builds a buffer around a fragment of a page the caller keeps, with the NAPI cache
    /// (`napi_build_skb`), like [`Skb::build_from_page_frag`].
    ///
    /// # Safety
    ///
    /// As for [`Skb::build_from_page_frag`]: the fragment must not be part of another live
    /// buffer, and must not be written until the returned buffer and its clones are freed.
    pub unsafe fn build_skb_frag(
        &self,
        page: &Page,
        offset: u32,
        frag_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<Skb> {
        Skb::check_frag(offset, frag_size, headroom, len)?;
        // SAFETY: `page.as_ptr()` is a valid page, mapped in the kernel's linear map; `offset` is
        // within it (checked above).
        let data = unsafe { bindings::page_address(page.as_ptr()).byte_add(offset as usize) };
        // SAFETY: `page` is valid; the reference is the buffer's, dropped when it frees its head.
        unsafe { bindings::get_page(page.as_ptr()) };
        // SAFETY: Bottom halves are disabled (poll); `data` starts a cache-aligned fragment of
        // `frag_size` bytes with room for the shared info (checked above) that no other buffer
        // uses and nothing writes (see the safety requirements); the buffer takes the reference
        // taken above.
        let skb = unsafe { bindings::napi_build_skb(data, frag_size) };
        let Some(skb) = NonNull::new(skb) else {
            // SAFETY: Drops the reference taken above, which the buffer did not take.
            unsafe { bindings::put_page(page.as_ptr()) };
            return Err(ENOMEM);
        };
        // SAFETY: `napi_build_skb()` returned a new buffer that we own.
        let mut skb = unsafe { Skb::from_raw(skb) };
        skb.reserve(headroom)?;
        skb.put(len)?;
        Ok(skb)
    }
}
