// SPDX-License-Identifier: GPL-2.0-only

//! The software MANA device: adapters that exist without hardware, for tests and `make run`.
//!
//! A software adapter is a device model ([`device::SwDevice`]) behind a [`Transport`]
//! (`transport::SwTransport`); the core brings it up through the same SMC, hardware channel
//! and requests as a PCI function, and runs it as a `Function`, exactly as a PCI adapter:
//! with clients, a faux device (`mana_sw<N>`) carries the clients' auxiliary devices, and the
//! device's service requests (reset, RDMA suspend/resume) go through the same reset cycle.

use kernel::{
    debugfs::Dir,
    device::{
        Bound,
        Device as KDevice, //
    },
    faux,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    }, //
};

use crate::{
    adapter::new_adapter_id,
    function::{
        Function,
        FunctionConfig, //
    },
    hwc::ServiceRequest,
    transport::Transport,
    Adapter, //
};

mod control;
pub use mana_model::{
    datapath,
    device, //
};
mod host;
mod memory;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_service;
pub(crate) mod transport;

pub use datapath::{
    DpStats,
    QueueStats, //
};
pub use device::{
    Fault,
    SwConfig,
    SwStats, //
};
use transport::{
    SwTransport,
    SwTransportRef, //
};

/// One software adapter.
///
/// Drop order (field order): the function goes first (its clients unbind, then the core takes
/// the adapter down), then the faux device the clients hung from, then the device model.
pub struct SwAdapter {
    function: Function<'static>,
    _faux: Option<faux::Registration>,
    transport: Arc<SwTransport>,
    /// Service requests the device sent.
    services_sent: Atomic<u32>,
}

/// Returns the device of `faux` with a lifetime chosen by the caller.
///
/// # Safety
///
/// The caller must stop using the returned reference (and drop every registration made with it
/// as parent) before `faux` is dropped.
unsafe fn faux_parent<'a>(faux: &faux::Registration) -> &'a KDevice<Bound> {
    let dev: &KDevice<Bound> = faux.as_ref().as_ref();
    // SAFETY: The faux device stays registered, and therefore bound, until `faux` is dropped;
    // the caller guarantees the reference does not outlive that.
    unsafe { &*core::ptr::from_ref(dev) }
}

impl SwAdapter {
    /// Creates a software adapter with `config`, brings it up through the core and, if
    /// `with_clients`, registers its clients' auxiliary devices.
    pub fn new(config: SwConfig, with_clients: bool) -> Result<Self> {
        Self::new_in(config, with_clients, None)
    }

    /// [`SwAdapter::new`], with the adapter's debugfs files under `debugfs`.
    pub(crate) fn new_in(
        config: SwConfig,
        with_clients: bool,
        debugfs: Option<&Dir>,
    ) -> Result<Self> {
        let transport = SwTransport::new(config)?;
        let bar: Arc<dyn Transport> = Arc::new(SwTransportRef(transport.clone()), GFP_KERNEL)?;
        let id = new_adapter_id();
        let faux = if with_clients {
            let name = CString::try_from_fmt(fmt!("mana_sw{}", id))?;
            Some(faux::Registration::new(&name, None)?)
        } else {
            None
        };
        // SAFETY: `faux` moves into the returned `SwAdapter`, whose field order drops the
        // function (and with it every registration under this parent) before it.
        let parent = faux.as_ref().map(|f| unsafe { faux_parent(f) });
        let function = Function::new(
            parent,
            bar,
            debugfs,
            id,
            FunctionConfig {
                bar_size: device::BAR0_SIZE,
                is_pf: config.pf,
                with_clients,
                service_period_ms: config.service_period_ms,
            },
        )?;
        if let Some(parent) = parent {
            dev_info!(
                parent,
                "software MANA adapter {} with {} vport(s)\n",
                id,
                function.adapter().ports().len()
            );
        }
        Ok(Self {
            function,
            _faux: faux,
            transport,
            services_sent: Atomic::new(0),
        })
    }

    /// The adapter the core brought up: the live one, or while a reset cycle has the function
    /// down, the removed one.
    pub fn adapter(&self) -> Arc<Adapter> {
        self.function.adapter()
    }

    /// Whether the adapter is up (not taken down by a reset, or by [`SwAdapter::remove`]).
    pub fn is_up(&self) -> bool {
        self.function.is_up()
    }

    /// Whether the RDMA client's auxiliary device is registered.
    pub fn has_rdma_client(&self) -> bool {
        self.function.has_rdma_client()
    }

    /// Reset cycles completed, and reset cycles after which the adapter did not come back.
    pub fn resets(&self) -> (u32, u32) {
        self.function.resets()
    }

    /// Has the device ask the driver for `request` (the event on the hardware channel). Fails
    /// with `EOPNOTSUPP` if the driver did not advertise that it handles it.
    pub fn request_service(&self, request: ServiceRequest) -> Result {
        self.transport.service(request)?;
        self.services_sent.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Sends the device into service with `request` and, in the same step, arms `fault` for
    /// the next `count` requests with code `code`: the fault hits the bring-up that follows,
    /// however late the caller runs after the request.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn request_service_with_fault(
        &self,
        request: ServiceRequest,
        code: u32,
        fault: Fault,
        count: u32,
    ) -> Result {
        self.transport.service_then(request, |d| {
            d.inject(code, fault, count).map_err(host::errno)
        })?;
        self.services_sent.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Waits until the driver received every service request the device sent (at most 60 s)
    /// and finished the operations they started.
    pub fn wait_service_idle(&self) {
        let sent = self.services_sent.load(Relaxed);
        for _ in 0..6000 {
            if self.function.requests_seen() >= sent {
                break;
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
        }
        self.function.wait_idle()
    }

    /// What the device saw so far.
    pub fn device_stats(&self) -> SwStats {
        self.transport.with_device(|d| d.stats())
    }

    /// Arms `fault` on the device for the next `count` requests with code `code`.
    pub fn inject(&self, code: u32, fault: Fault, count: u32) -> Result {
        self.transport
            .with_device(|d| d.inject(code, fault, count))
            .map_err(host::errno)
    }

    /// Changes the device's per-request latency.
    pub fn set_latency_us(&self, latency_us: u32) {
        self.transport.with_device(|d| d.set_latency_us(latency_us))
    }

    /// Stalls the send queues of vport `index`, as a hung device: it takes their doorbells but
    /// consumes no send WQE and writes no TX completion until [`SwAdapter::release_tx_stall`].
    /// Receive queues and the other vports work on.
    pub fn stall_tx(&self, index: u32) -> Result {
        self.transport.set_tx_stall(index, true)
    }

    /// Ends a stall of [`SwAdapter::stall_tx`]: the device processes what was posted meanwhile
    /// and goes on normally.
    pub fn release_tx_stall(&self, index: u32) -> Result {
        self.transport.set_tx_stall(index, false)
    }

    /// Rings doorbell `qtype` (`queue_type::SQ`, `RQ` or `CQ`) of doorbell page `page` with
    /// `value`, as the process that mapped the page (an RDMA user context's) does with a 64-bit
    /// write at the doorbell's offset: an SQ or RQ doorbell announces WQEs, a CQ doorbell with
    /// the arm bit arms the CQ (libmana's `ibv_req_notify_cq()`). The device takes it a little
    /// later, as any data-path doorbell.
    ///
    /// The page a software adapter maps into a process is ordinary memory the device does not
    /// watch (a PCI function's is BAR0, whose writes reach the device): tests ring through this
    /// instead. `EINVAL` for the hardware channel's page or a page the device does not have.
    #[cfg(CONFIG_KUNIT = "y")]
    pub fn ring_user_doorbell(&self, page: u32, qtype: u32, value: u64) -> Result {
        self.transport.ring_on_page(page, qtype, value)
    }

    /// Has the device report the link up or down.
    pub fn set_link(&self, up: bool) -> Result {
        self.transport.set_link(up)
    }

    /// Takes the adapter down as device removal does (the core's side; the clients must be gone).
    pub fn remove(&self) {
        self.function.adapter().remove();
    }

    /// How the device has programmed vport `index` (None if it has no such vport).
    pub fn vport_programming(&self, index: u32) -> Option<device::VportProgramming> {
        self.transport.with_device(|d| d.vport(index))
    }

    /// The device-visible buffers and streaming mappings the core holds.
    pub fn live_buffers(&self) -> usize {
        self.transport.live_buffers()
    }

    /// The streaming mappings (packet buffers) the core holds.
    pub fn live_streams(&self) -> usize {
        self.transport.live_streams()
    }

    /// What the device counted on send queue (`is_sq`) or receive queue `wq_id`, while it exists.
    pub fn queue_stats(&self, is_sq: bool, wq_id: u32) -> Option<QueueStats> {
        self.transport.with_device(|d| d.queue_stats(is_sq, wq_id))
    }

    /// Brings a software function up and returns its transport when probing fails, so tests can
    /// check what the device saw and that nothing was left behind.
    pub fn probe_failure(
        config: SwConfig,
        prepare: impl FnOnce(&mut device::SwDevice) -> Result,
    ) -> Result<(Error, SwStats, usize)> {
        let transport = SwTransport::new(config)?;
        transport.with_device(prepare)?;
        let bar: Arc<dyn Transport> = Arc::new(SwTransportRef(transport.clone()), GFP_KERNEL)?;
        match Adapter::probe(bar, device::BAR0_SIZE, config.pf, None, new_adapter_id()) {
            Ok(_) => Err(EINVAL),
            Err(e) => Ok((
                e,
                transport.with_device(|d| d.stats()),
                transport.live_buffers(),
            )),
        }
    }
}

pub(crate) use control::{
    Control,
    SwRegistry, //
};

/// Creates the software adapters asked for by the module parameters and the control file.
///
/// Drop order (field order): the control file goes first, so no command races the removal of
/// the adapters.
pub(crate) struct SwAdapters {
    _control: Control,
    _registry: Arc<SwRegistry>,
}

impl SwAdapters {
    /// Creates `count` adapters of `ports` ports each, and the control file, in `debugfs`.
    pub(crate) fn new(count: u32, ports: u32, debugfs: &Dir) -> Result<Self> {
        if count as usize > control::MAX_SW_ADAPTERS {
            pr_err!(
                "sw_adapters={} is too many; use at most {}\n",
                count,
                control::MAX_SW_ADAPTERS
            );
            return Err(EINVAL);
        }
        let registry = SwRegistry::new(debugfs.clone())?;
        let config = SwConfig {
            num_ports: ports,
            ..SwConfig::default()
        };
        for _ in 0..count {
            registry.add(config)?;
        }
        Ok(Self {
            _control: Control::new(&registry, debugfs)?,
            _registry: registry,
        })
    }
}
