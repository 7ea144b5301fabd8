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
        DeviceMemRef,
        Driver,
        Features,
        TxQueue, //
    },
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
    cell::{
        Cell,
        UnsafeCell, //
    },
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
///
/// The data `Self` is shared: the interrupt handler, the transmit path and the control path
/// reach it through the context ([`Napi::data`]). What only the poll function works on (ring
/// positions, buffers to repost, the writer of per-queue counters) is [`Poll::State`], which
/// each poll gets exclusively (`&mut`), without a lock or atomic operations: the core never runs
/// two polls of one context at once.
pub trait Poll: Sized + Send + Sync {
    /// The state only the poll function uses (`()` if none).
    type State: Send;

    /// Processes up to `budget` packets and returns how many were processed; `state` is the
    /// context's [`Poll::State`].
    ///
    /// Called with bottom halves disabled (in softirq context, or in process context for busy
    /// polling), never concurrently for one context. When less than `budget`
    /// was processed, the poll is over: call [`NapiPoll::complete_done`] and, if it returns
    /// `true`, re-enable the device's interrupt. When `budget` was used up, do not complete: the
    /// core polls again. Returned values are clamped to that contract.
    fn poll(napi: NapiPoll<'_, Self>, state: &mut Self::State, budget: i32) -> i32;
}

/// A NAPI context (`struct napi_struct`) of a network device, with the data `P` of its poll
/// function.
///
/// Created disabled by [`Napi::new`] (`netif_napi_add_weight`). Dropping it disables it if
/// needed and removes it from its device (`netif_napi_del`), which may sleep.
///
/// The poll's state ([`Poll::State`]) is dropped after the data `P`: a driver that keeps its
/// queues in `P` and the buffers posted to them in the state frees the buffers after the
/// queues are gone.
///
/// A `Napi` holds a reference to its device's memory (not to its private data nor to its
/// registration): drop it before the device goes, e.g. in [`Driver::stop`] or as part of the
/// device's private data; one that outlives the device's private data (it escaped it) frees the
/// device when it goes.
///
/// # Invariants
///
/// `napi` was added to a device with `netif_napi_add_weight()` and the poll callback of this
/// type; it is enabled exactly when `enabled` holds `true`. `state` is accessed only by the poll
/// callback, and by [`Napi::with_disabled_state`] under `enabled` while the context is disabled.
#[pin_data(PinnedDrop)]
pub struct Napi<P: Poll> {
    #[pin]
    napi: Opaque<bindings::napi_struct>,
    #[pin]
    enabled: Mutex<bool>,
    #[pin]
    data: P,
    state: UnsafeCell<P::State>,
    /// Dropped last, after `netif_napi_del` and the data: the device's memory.
    mem: DeviceMemRef,
}

// SAFETY: The NAPI functions used through `&Napi` may be called from any thread, `P` is
// `Send + Sync` and `P::State` is `Send`.
unsafe impl<P: Poll> Send for Napi<P> {}

// SAFETY: As above. `P::State` is reached from one thread at a time (type invariant: by the
// poll, of which the core runs one at a time, or under `enabled` while no poll can run), so it
// needs only `Send`.
unsafe impl<P: Poll> Sync for Napi<P> {}

impl<P: Poll> Napi<P> {
    /// Creates a NAPI context of `dev`, polled with weight `weight` (usually
    /// [`NAPI_POLL_WEIGHT`]), with the poll data `data` and the poll's own state `state`. The
    /// context starts disabled.
    pub fn new<'a, T: Driver, E: 'a>(
        dev: &'a Device<T>,
        weight: u32,
        data: impl PinInit<P, E> + 'a,
        state: P::State,
    ) -> impl PinInit<Self, Error> + 'a
    where
        P: 'a,
        Error: From<E>,
    {
        let weight = c_int::try_from(weight).unwrap_or(c_int::MAX);
        Self::add(dev, data, state, move |dev, slot| {
            // SAFETY: As required by `add`: `dev` is valid, `slot` is zeroed and pinned, the
            // callback matches `Self`.
            unsafe {
                bindings::netif_napi_add_weight(dev, slot, Some(Self::poll_callback), weight)
            };
            Ok(())
        })
    }

    /// Creates NAPI context number `index` of `dev` with the persistent configuration of that
    /// index (`netif_napi_add_config`), polled with [`NAPI_POLL_WEIGHT`]. The context starts
    /// disabled.
    ///
    /// The core keeps what users set per context (`netdev` netlink `napi-set`: threaded
    /// polling, IRQ deferral, busy-poll timeout) and its NAPI id in the device, by index, and
    /// gives them to the next context of the same index: a driver that rebuilds its channels
    /// (`ethtool -L`, a reset) keeps the ids and settings by creating channel `i`'s context with
    /// index `i`. `index` must be below the larger of the device's numbers of receive and
    /// transmit queues (else `EINVAL`); two live contexts of one index would share an id, which
    /// the core does not expect.
    pub fn new_with_config<'a, T: Driver, E: 'a>(
        dev: &'a Device<T>,
        index: u32,
        data: impl PinInit<P, E> + 'a,
        state: P::State,
    ) -> impl PinInit<Self, Error> + 'a
    where
        P: 'a,
        Error: From<E>,
    {
        Self::add(dev, data, state, move |raw, slot| {
            // SAFETY: `raw` is a valid `net_device`; `num_napi_configs` is fixed at allocation.
            let configs = unsafe { (*raw).num_napi_configs };
            let index = c_int::try_from(index)
                .ok()
                .filter(|i| (*i as u32) < configs)
                .ok_or(EINVAL)?;
            // SAFETY: As required by `add`; `index` is below the number of configurations the
            // device allocated (`napi_config`), as the function requires.
            unsafe { bindings::netif_napi_add_config(raw, slot, Some(Self::poll_callback), index) };
            Ok(())
        })
    }

    /// Initialises a context of `dev` with the poll data `data`; `add_to` adds the zeroed
    /// `napi_struct` to the device with [`Self::poll_callback`], or fails without adding it.
    ///
    /// `add_to` is called with a valid device and a zeroed, pinned `napi_struct` that is
    /// removed from the device when dropped (if `add_to` succeeded).
    fn add<'a, T: Driver, E: 'a>(
        dev: &'a Device<T>,
        data: impl PinInit<P, E> + 'a,
        state: P::State,
        add_to: impl FnOnce(*mut bindings::net_device, *mut bindings::napi_struct) -> Result + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        P: 'a,
        Error: From<E>,
    {
        // SAFETY: The closure initialises `slot` with `data` under the same contract: `slot` is
        // pinned, and on failure it is left uninitialised.
        let data = unsafe {
            pin_init::pin_init_from_closure(move |slot: *mut P| {
                pin_init::raw_try_init(slot, data).map_err(Error::from)
            })
        };
        // SAFETY: On success the closure added `slot`, zeroed first as the core expects, to
        // `dev`, a valid device (borrowed for `'a`), with the poll callback of `Self`, where the
        // context is pinned; it is removed from the device when dropped. On failure nothing was
        // added and the zeroed `slot` needs no cleanup.
        let napi = unsafe {
            pin_init::pin_init_from_closure(move |slot: *mut Opaque<bindings::napi_struct>| {
                let slot = Opaque::cast_into(slot);
                ptr::write_bytes(slot, 0, 1);
                add_to(dev.as_raw(), slot)
            })
        };
        let mem = DeviceMemRef::new(dev);
        // The context is added last: nothing fails after it.
        try_pin_init!(Self {
            mem,
            data <- data,
            state: UnsafeCell::new(state),
            enabled <- Mutex::new(false, ENABLED_NAME, Pin::static_ref(&ENABLED_CLASS)),
            napi <- napi,
        }? Error)
    }

    /// Returns the raw `struct napi_struct` pointer.
    pub fn as_raw(&self) -> *mut bindings::napi_struct {
        self.napi.get()
    }

    /// Returns the NAPI id (`napi_id`), by which `netdev` netlink (`napi-get`) and sockets
    /// (`SO_INCOMING_NAPI_ID`) name the context; 0 before it is first enabled.
    pub fn id(&self) -> u32 {
        // SAFETY: The context was added to its device; `napi_id` is written by the core under
        // the device's instance lock, and the volatile read tolerates that.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).napi_id) }
    }

    /// Associates the context with interrupt `irq` (`netif_napi_set_irq`), or with none, so
    /// that `netdev` netlink reports it (`napi-get`: `irq`). May sleep (takes the device's
    /// instance lock).
    pub fn set_irq(&self, irq: Option<u32>) {
        let irq = irq.and_then(|i| c_int::try_from(i).ok()).unwrap_or(-1);
        // SAFETY: The context was added to its device, which `napi->dev` points to; the helper
        // takes the device's instance lock as the function requires. The device sets no
        // automatic IRQ affinity or RFS map, so nothing is registered with the interrupt.
        unsafe { bindings::netif_napi_set_irq(self.as_raw(), irq) }
    }

    /// Returns the interrupt the context is associated with, if any.
    pub fn irq(&self) -> Option<u32> {
        // SAFETY: The context was added to its device; `irq` is written under the instance
        // lock, the volatile read tolerates that.
        let irq = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).irq) };
        u32::try_from(irq).ok()
    }

    /// Returns the data of the poll function.
    pub fn data(&self) -> &P {
        &self.data
    }

    /// Runs `f` on the poll's state while the context is disabled: before it is first enabled
    /// (to fill the rings) or after [`Napi::disable`]. Fails with `EBUSY` if the context is
    /// enabled (a poll may be running). May sleep, and `f` may too: the context stays disabled
    /// until it returns.
    pub fn with_disabled_state<R>(&self, f: impl FnOnce(&mut P::State) -> R) -> Result<R> {
        let enabled = self.enabled.lock();
        if *enabled {
            return Err(EBUSY);
        }
        // SAFETY: The context is disabled (checked under `enabled`, which `enable` takes): it
        // was added with, or `napi_disable` left it with, `NAPI_STATE_SCHED` and
        // `NAPI_STATE_NPSVC` set, so neither the softirq, a busy poll, a threaded poll nor
        // netpoll runs the poll callback, the only other user of `state` (type invariant).
        // `enabled` is held until `f` returns, so the context cannot be enabled meanwhile, and
        // another call of this function waits for it.
        let state = unsafe { &mut *self.state.get() };
        let r = f(state);
        drop(enabled);
        Ok(r)
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
        // SAFETY: The core runs the poll function of a context only while it owns the context
        // (`NAPI_STATE_SCHED`, taken by `napi_schedule_prep()` or a busy poll, and with
        // `CONFIG_NETPOLL` the `poll_owner` that netpoll and `__napi_poll()` callers take):
        // never two at once, and never while it is disabled, when `with_disabled_state` may
        // run. Nothing else uses `state` (type invariant), so the reference is exclusive for
        // the call.
        let state = unsafe { &mut *this.state.get() };
        let completed = Cell::new(false);
        let work = P::poll(
            NapiPoll {
                napi: this,
                budget,
                completed: &completed,
                _not_send: NotThreadSafe,
            },
            state,
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
        // SAFETY: The context was added to its device, which is still allocated (`self.mem`
        // holds its memory), and is disabled, so no poll runs or can be scheduled. The function
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
        // SAFETY: Bottom halves are disabled (poll); `data` is the start of a whole page we own,
        // with room for the shared info after `headroom + len`; the buffer takes the page over.
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
