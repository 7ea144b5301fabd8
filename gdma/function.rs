// SPDX-License-Identifier: GPL-2.0-only

//! One MANA function over its lifetime: the adapter the core brought up, the clients'
//! auxiliary devices, and the service operations the device asks for.
//!
//! A function (a PCI function, or a software adapter) is bound once but may be brought up
//! several times: the device can ask for a reset (RESET_REQUEST, FPGA_RECONFIG), after which
//! everything it knew is gone. The function then runs a reset cycle, as the C driver's
//! `mana_serv_reset()` does with suspend and resume:
//!
//! 1. The clients' auxiliary devices are unregistered, RDMA first (DESIGN §3: RDMA objects, then
//!    netdevs, then the core). Unbinding ends every vport lease: user contexts are
//!    disassociated, the netdevs are unregistered.
//! 2. The core takes the adapter down ([`Adapter::remove`]). The hardware channel was closed
//!    when the event arrived, so the requests of the teardown fail at once instead of waiting
//!    for a device that no longer answers; DESTROY_HWC goes through the SMC.
//! 3. The function waits the service period (the C driver's 10 s), then brings a new adapter up
//!    with the same number and registers the clients again. Their drivers probe as at boot.
//!
//! Unlike the C driver, which keeps its netdevs registered across the cycle, the netdevs are
//! created again: every path through the cycle is the same path as unbind and bind, which the
//! tests exercise. In Azure, hv_netvsc takes the new VF netdev over by its MAC, as it does after
//! a VF hot-add. If the device does not come back, the function stays down with one log line,
//! until it is unbound.
//!
//! SOC_SERVICE events suspend and resume only the RDMA client (C: `mana_rdma_service_event()`).
//!
//! Service operations run on the function's own ordered workqueue, one at a time; removal
//! waits for a running one, and destroying the queue drains what is left, so no service work
//! outlives the function.

use kernel::{
    auxiliary,
    debugfs::Dir,
    device::{
        Bound,
        Device as KDevice, //
    },
    new_condvar,
    new_mutex,
    owned_workqueue::OwnedQueue,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        CondVar,
        Mutex,
        MutexGuard, //
    },
    time::{
        delay::fsleep,
        msecs_to_jiffies,
        Delta, //
    },
    workqueue::Queue, //
};

use core::marker::PhantomData;

use crate::{
    client::{
        ClientData,
        ClientHandle,
        ClientKind,
        ETH_AUX_NAME,
        RDMA_AUX_NAME, //
    },
    hwc::{
        ServiceListener,
        ServiceRequest, //
    },
    transport::Transport,
    Adapter,
    MODULE_NAME, //
};

/// How long a reset cycle leaves the device alone before bringing it up again (C:
/// `MANA_SERVICE_PERIOD`, 10 s).
pub(crate) const SERVICE_PERIOD_MS: u32 = 10_000;

/// How a function is set up.
pub(crate) struct FunctionConfig {
    /// BAR0's size.
    pub(crate) bar_size: usize,
    /// The function is a PF.
    pub(crate) is_pf: bool,
    /// Register the clients' auxiliary devices (under `parent`).
    pub(crate) with_clients: bool,
    /// The reset cycle's wait, in milliseconds.
    pub(crate) service_period_ms: u32,
}

/// What the function has up at a moment.
struct Incarnation {
    /// The adapter; after a reset took it down and until the next one is up, the removed one.
    adapter: Arc<Adapter>,
    /// The RDMA client's auxiliary device (absent while suspended by the device).
    rdma: Option<auxiliary::Registration<'static, ClientData>>,
    /// The Ethernet client's auxiliary device.
    eth: Option<auxiliary::Registration<'static, ClientData>>,
    /// The device suspended the RDMA client (SOC_SERVICE); a reset cycle keeps it suspended.
    rdma_suspended: bool,
    /// Set by [`Function`]'s drop: no new service operation starts.
    stopping: bool,
    /// A service operation is running.
    servicing: bool,
    /// Reset cycles completed (the adapter came back).
    resets: u32,
    /// Reset cycles after which the device did not come back.
    failed_resets: u32,
}

/// The part of a function its service work uses.
struct Shared {
    /// The device the clients' auxiliary devices hang from.
    ///
    /// Valid while [`Function`] lives: its drop unregisters every client device and drains the
    /// service queue before the `'a` of `Function<'a>` ends, and nothing uses `parent` after
    /// `stopping` is set.
    parent: Option<&'static KDevice<Bound>>,
    /// The function's service queue.
    ///
    /// Valid while [`Function`] lives: its drop removes the adapter (which detaches the hook that
    /// queues here) before it destroys the queue, and no service work queues more work.
    queue: &'static Queue,
    transport: Arc<dyn Transport>,
    debugfs: Option<Dir>,
    id: u32,
    config: FunctionConfig,
    state: Pin<KBox<Mutex<Incarnation>>>,
    cv: Pin<KBox<CondVar>>,
    /// Service requests received from the device (queued or dropped).
    requests_seen: Atomic<u32>,
}

/// Queues the device's service requests on the function's workqueue; installed in the
/// hardware channel of every adapter the function brings up.
struct ServiceHook {
    shared: Arc<Shared>,
}

impl ServiceListener for ServiceHook {
    fn service_requested(&self, request: ServiceRequest) {
        self.shared.requests_seen.fetch_add(1, Relaxed);
        let shared = self.shared.clone();
        if self
            .shared
            .queue
            .spawn(GFP_ATOMIC, move || shared.service(request))
            .is_err()
        {
            pr_err!(
                "mana adapter {}: service request {:?} lost: out of memory; unbind and bind the device to recover\n",
                self.shared.id,
                request
            );
        }
    }
}

/// One bound MANA function; dropping it unregisters the clients and takes the adapter down.
///
/// Drop order: [`Drop`] stops the function (waits for a running service operation,
/// unregisters the clients, removes the adapter, which detaches the service hook), then the
/// fields go: the service queue (its destruction drains queued work, which finds the function
/// stopping and does nothing, and drops its references to the shared state), then the shared
/// state with the removed adapter.
pub(crate) struct Function<'a> {
    queue: OwnedQueue,
    shared: Arc<Shared>,
    _parent: PhantomData<&'a KDevice<Bound>>,
}

impl<'a> Function<'a> {
    /// Brings the function behind `transport` up as adapter `id`, and registers its clients
    /// under `parent` if `config.with_clients`.
    pub(crate) fn new(
        parent: Option<&'a KDevice<Bound>>,
        transport: Arc<dyn Transport>,
        debugfs: Option<&Dir>,
        id: u32,
        config: FunctionConfig,
    ) -> Result<Self> {
        let probe = || {
            Adapter::probe(
                transport.clone(),
                config.bar_size,
                config.is_pf,
                debugfs,
                id,
            )
        };
        let adapter = match probe() {
            // The device asked for a reset during bring-up (its channel closed on the event):
            // it is being serviced, so bring it up again after the service period, as the C
            // driver does for a reset event in probe.
            Err(e) if e == ESHUTDOWN => {
                pr_info!(
                    "mana adapter {}: the device went into service during bring-up; retrying in {} ms\n",
                    id,
                    config.service_period_ms
                );
                fsleep(Delta::from_millis(i64::from(config.service_period_ms)));
                probe()?
            }
            result => result?,
        };
        let name = CString::try_from_fmt(fmt!("mana_svc{}", id))?;
        let queue = OwnedQueue::new_ordered(&name).inspect_err(|_| adapter.remove())?;
        // SAFETY: The workqueue stays where it is when `queue` moves into the returned
        // `Function`, which destroys it only after every user is gone (see `Shared::queue`).
        let queue_ref = unsafe { &*core::ptr::from_ref::<Queue>(&queue) };
        let shared = Arc::new(
            Shared {
                // SAFETY: `Function<'a>` keeps `parent` borrowed for `'a` (`_parent`), and its drop
                // ends every use of it (see the field's documentation) before `'a` ends.
                parent: parent.map(|p| unsafe { extend_parent(p) }),
                queue: queue_ref,
                transport,
                debugfs: debugfs.cloned(),
                id,
                config,
                state: KBox::pin_init(
                    new_mutex!(Incarnation {
                        adapter: adapter.clone(),
                        rdma: None,
                        eth: None,
                        rdma_suspended: false,
                        stopping: false,
                        servicing: false,
                        resets: 0,
                        failed_resets: 0,
                    }),
                    GFP_KERNEL,
                )?,
                cv: KBox::pin_init(new_condvar!("Function::cv"), GFP_KERNEL)?,
                requests_seen: Atomic::new(0),
            },
            GFP_KERNEL,
        )
        .inspect_err(|_| adapter.remove())?;
        let this = Self {
            queue,
            shared,
            _parent: PhantomData,
        };
        // From here on, a failure drops `this`, which takes everything down.
        this.shared.start(&adapter)?;
        Ok(this)
    }

    /// The adapter: the live one, or while a reset has the function down, the removed one.
    pub(crate) fn adapter(&self) -> Arc<Adapter> {
        self.shared.state.lock().adapter.clone()
    }

    /// Whether the function's adapter is up (not removed by a reset, a stop or removal).
    pub(crate) fn is_up(&self) -> bool {
        !self.shared.state.lock().adapter.is_removed()
    }

    /// Reset cycles completed and reset cycles after which the device did not come back.
    pub(crate) fn resets(&self) -> (u32, u32) {
        let state = self.shared.state.lock();
        (state.resets, state.failed_resets)
    }

    /// Whether the RDMA client is registered.
    pub(crate) fn has_rdma_client(&self) -> bool {
        self.shared.state.lock().rdma.is_some()
    }

    /// Service requests received from the device so far.
    pub(crate) fn requests_seen(&self) -> u32 {
        self.shared.requests_seen.load(Relaxed)
    }

    /// Waits until no service operation is running or queued ahead of this call.
    pub(crate) fn wait_idle(&self) {
        // The queue is ordered: once an empty item queued now has run, everything queued
        // before it has too.
        let done = Arc::pin_init(new_mutex!(false), GFP_KERNEL);
        let cv = Arc::pin_init(new_condvar!("Function::wait_idle"), GFP_KERNEL);
        let (Ok(done), Ok(cv)) = (done, cv) else {
            return;
        };
        let (d, c) = (done.clone(), cv.clone());
        if self
            .queue
            .spawn(GFP_KERNEL, move || {
                *d.lock() = true;
                c.notify_all();
            })
            .is_err()
        {
            return;
        }
        let mut guard = done.lock();
        while !*guard {
            cv.wait(&mut guard);
        }
    }
}

/// Returns `parent` with a lifetime chosen by the caller.
///
/// # Safety
///
/// The caller must stop using the returned reference before `parent`'s lifetime ends.
unsafe fn extend_parent<'b>(parent: &KDevice<Bound>) -> &'b KDevice<Bound> {
    // SAFETY: The caller guarantees the reference is not used after the device it names stops
    // being valid.
    unsafe { &*core::ptr::from_ref(parent) }
}

impl Shared {
    /// Installs the service hook in `adapter`'s channel and registers the clients.
    fn start(self: &Arc<Self>, adapter: &Arc<Adapter>) -> Result {
        let hook = Arc::new(
            ServiceHook {
                shared: self.clone(),
            },
            GFP_KERNEL,
        )?;
        adapter.hwc().set_service_listener(Some(hook));
        let Some(parent) = self.parent.filter(|_| self.config.with_clients) else {
            return Ok(());
        };
        // Registration binds the client drivers, which probe synchronously: no lock of ours is
        // held meanwhile. Only service work and the function's creation get here, and drop waits
        // for both, so nothing else changes the registrations concurrently.
        let eth = register_client(parent, adapter, ClientKind::Ethernet)?;
        self.state.lock().eth = Some(eth);
        if !self.state.lock().rdma_suspended {
            let rdma = register_client(parent, adapter, ClientKind::Rdma)?;
            self.state.lock().rdma = Some(rdma);
        }
        Ok(())
    }

    /// Runs one service operation (on the function's workqueue).
    fn service(self: &Arc<Self>, request: ServiceRequest) {
        {
            let mut state = self.state.lock();
            if state.stopping {
                return;
            }
            state.servicing = true;
        }
        match request {
            ServiceRequest::Reset | ServiceRequest::FpgaReconfig => self.reset_cycle(request),
            ServiceRequest::RdmaSuspend => self.suspend_rdma(),
            ServiceRequest::RdmaResume => self.resume_rdma(),
        }
        self.state.lock().servicing = false;
        self.cv.notify_all();
    }

    fn suspend_rdma(&self) {
        let mut state = self.state.lock();
        state.rdma_suspended = true;
        let rdma = state.rdma.take();
        drop(state);
        if rdma.is_some() {
            pr_info!(
                "mana adapter {}: the device suspended RDMA; the RDMA device is removed until it resumes\n",
                self.id
            );
        }
        drop(rdma);
    }

    fn resume_rdma(&self) {
        let adapter = {
            let mut state = self.state.lock();
            state.rdma_suspended = false;
            if state.adapter.is_removed() || state.rdma.is_some() {
                return;
            }
            state.adapter.clone()
        };
        let Some(parent) = self.parent.filter(|_| self.config.with_clients) else {
            return;
        };
        match register_client(parent, &adapter, ClientKind::Rdma) {
            Ok(reg) => {
                self.state.lock().rdma = Some(reg);
                pr_info!("mana adapter {}: the device resumed RDMA\n", self.id);
            }
            Err(e) => pr_err!(
                "mana adapter {}: cannot register the RDMA device after the device resumed RDMA: {:?}\n",
                self.id,
                e
            ),
        }
    }

    /// Takes everything down, waits the service period and brings the adapter up again.
    fn reset_cycle(self: &Arc<Self>, request: ServiceRequest) {
        pr_info!(
            "mana adapter {}: device {:?}: reset cycle start; the adapter is down for {} ms\n",
            self.id,
            request,
            self.config.service_period_ms
        );
        self.take_down(self.state.lock());

        if !self.wait_service_period() {
            return;
        }
        let adapter = match Adapter::probe(
            self.transport.clone(),
            self.config.bar_size,
            self.config.is_pf,
            self.debugfs.as_ref(),
            self.id,
        ) {
            Ok(adapter) => adapter,
            Err(e) => {
                let mut state = self.state.lock();
                // The device asks for resets: its counters wrap (statistics, no limit).
                state.failed_resets = state.failed_resets.wrapping_add(1);
                drop(state);
                pr_err!(
                    "mana adapter {}: the device did not come back after the reset ({:?}); the adapter stays down: unbind and bind the device to retry\n",
                    self.id,
                    e
                );
                return;
            }
        };
        {
            let mut state = self.state.lock();
            state.adapter = adapter.clone();
            state.resets = state.resets.wrapping_add(1);
        }
        match self.start(&adapter) {
            Ok(()) => pr_info!("mana adapter {}: reset cycle completed\n", self.id),
            Err(e) => pr_err!(
                "mana adapter {}: the adapter is up after the reset, but its clients could not be registered ({:?}); unbind and bind the device to retry\n",
                self.id,
                e
            ),
        }
    }

    /// Unregisters the clients and removes the adapter, with `state` locked on entry (the lock
    /// is released before the clients unbind): RDMA objects first, then the netdevs, then the
    /// core.
    fn take_down(&self, mut state: MutexGuard<'_, Incarnation>) {
        let (rdma, eth) = (state.rdma.take(), state.eth.take());
        let adapter = state.adapter.clone();
        drop(state);
        drop(rdma);
        drop(eth);
        adapter.remove();
    }

    /// Sleeps the service period; returns `false` if the function is stopping.
    fn wait_service_period(&self) -> bool {
        let mut left = msecs_to_jiffies(self.config.service_period_ms);
        let mut state = self.state.lock();
        loop {
            if state.stopping {
                return false;
            }
            if left == 0 {
                return true;
            }
            match self.cv.wait_interruptible_timeout(&mut state, left) {
                kernel::sync::CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => left = 0,
            }
        }
    }
}

/// Registers the auxiliary device of client `kind` of `adapter` under `parent`.
fn register_client(
    parent: &'static KDevice<Bound>,
    adapter: &Arc<Adapter>,
    kind: ClientKind,
) -> Result<auxiliary::Registration<'static, ClientData>> {
    let name = match kind {
        ClientKind::Ethernet => ETH_AUX_NAME,
        ClientKind::Rdma => RDMA_AUX_NAME,
    };
    auxiliary::Registration::new(
        parent,
        name,
        adapter.id(),
        MODULE_NAME,
        ClientHandle::new(adapter.clone(), kind),
    )
    .inspect_err(|e| {
        pr_err!(
            "mana adapter {}: cannot register the {:?} client's device: {:?}\n",
            adapter.id(),
            kind,
            e
        )
    })
}

impl Function<'_> {
    /// Takes the function down: waits for a running service operation, unregisters the
    /// clients (RDMA first) and removes the adapter; no service operation starts afterwards.
    /// Removal and system shutdown call it; calling it again does nothing.
    pub(crate) fn stop(&self) {
        let shared = &self.shared;
        let mut state = shared.state.lock();
        state.stopping = true;
        shared.cv.notify_all();
        while state.servicing {
            shared.cv.wait(&mut state);
        }
        shared.take_down(state);
    }
}

impl Drop for Function<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}
