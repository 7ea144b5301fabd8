// SPDX-License-Identifier: GPL-2.0-only

//! The software MANA device: adapters that exist without hardware, for tests and `make run`.
//!
//! A software adapter is a device model ([`device::SwDevice`]) behind a [`Transport`]
//! (`transport::SwTransport`); the core brings it up through the same SMC, hardware channel
//! and requests as a PCI function. With clients, it also gets a faux device (`mana_sw<N>`)
//! carrying the clients' auxiliary devices, exactly as a PCI adapter does.

use kernel::{
    auxiliary,
    debugfs::Dir,
    device::{
        Bound,
        Device as KDevice, //
    },
    faux,
    prelude::*,
    str::CString,
    sync::Arc, //
};

use crate::{
    client::{
        ClientData,
        ClientHandle,
        ClientKind,
        ETH_AUX_NAME,
        RDMA_AUX_NAME, //
    },
    transport::Transport,
    Adapter,
    MODULE_NAME, //
};

mod control;
pub mod datapath;
pub mod device;
mod memory;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;
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

/// The auxiliary devices of one adapter's clients (`mana_gdma.eth.<id>`, `mana_gdma.rdma.<id>`),
/// registered the same way under a PCI function and under a software adapter's faux device.
///
/// Drop order (field order): the Ethernet client's device is unregistered first, then the RDMA
/// client's.
///
/// Drop order (field order): the RDMA client goes first, then the Ethernet client (DESIGN §3:
/// RDMA objects, then netdevs, then the core).
pub(crate) struct ClientDevices<'a> {
    _rdma: auxiliary::Registration<'a, ClientData>,
    _eth: auxiliary::Registration<'a, ClientData>,
}

impl<'a> ClientDevices<'a> {
    /// Registers the clients' auxiliary devices of `adapter` under `parent`.
    pub(crate) fn register(parent: &'a KDevice<Bound>, adapter: &Arc<Adapter>) -> Result<Self> {
        let eth = auxiliary::Registration::new(
            parent,
            ETH_AUX_NAME,
            adapter.id(),
            MODULE_NAME,
            ClientHandle::new(adapter.clone(), ClientKind::Ethernet),
        )?;
        let rdma = auxiliary::Registration::new(
            parent,
            RDMA_AUX_NAME,
            adapter.id(),
            MODULE_NAME,
            ClientHandle::new(adapter.clone(), ClientKind::Rdma),
        )?;
        Ok(Self {
            _eth: eth,
            _rdma: rdma,
        })
    }
}

/// The auxiliary devices of a software adapter's clients and the faux device they hang from.
///
/// Drop order (field order): the clients' auxiliary devices are unregistered first, then the
/// faux device is destroyed.
struct Clients {
    _devices: ClientDevices<'static>,
    _faux: faux::Registration,
}

/// One software adapter.
pub struct SwAdapter {
    clients: Option<Clients>,
    adapter: Arc<Adapter>,
    transport: Arc<SwTransport>,
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

impl Clients {
    fn new(adapter: &Arc<Adapter>) -> Result<Self> {
        let name = CString::try_from_fmt(fmt!("mana_sw{}", adapter.id()))?;
        let faux = faux::Registration::new(&name, None)?;
        // SAFETY: `faux` is moved into the returned `Clients`, whose field order drops both
        // auxiliary registrations before it.
        let parent = unsafe { faux_parent(&faux) };
        let devices = ClientDevices::register(parent, adapter)?;
        dev_info!(
            parent,
            "software MANA adapter {} with {} vport(s)\n",
            adapter.id(),
            adapter.ports().len()
        );
        Ok(Self {
            _devices: devices,
            _faux: faux,
        })
    }
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
        let adapter = Adapter::probe(bar, device::BAR0_SIZE, debugfs)?;
        let clients = if with_clients {
            Some(Clients::new(&adapter).inspect_err(|_| adapter.remove())?)
        } else {
            None
        };
        Ok(Self {
            clients,
            adapter,
            transport,
        })
    }

    /// The adapter the core brought up.
    pub fn adapter(&self) -> &Arc<Adapter> {
        &self.adapter
    }

    /// What the device saw so far.
    pub fn device_stats(&self) -> SwStats {
        self.transport.with_device(|d| d.stats())
    }

    /// Arms `fault` on the device for the next `count` requests with code `code`.
    pub fn inject(&self, code: u32, fault: Fault, count: u32) -> Result {
        self.transport.with_device(|d| d.inject(code, fault, count))
    }

    /// Changes the device's per-request latency.
    pub fn set_latency_us(&self, latency_us: u32) {
        self.transport.with_device(|d| d.set_latency_us(latency_us))
    }

    /// Has the device report the link up or down.
    pub fn set_link(&self, up: bool) -> Result {
        self.transport.set_link(up)
    }

    /// Takes the adapter down as device removal does (the core's side; the clients must be gone).
    pub fn remove(&self) {
        self.adapter.remove();
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
        match Adapter::probe(bar, device::BAR0_SIZE, None) {
            Ok(_) => Err(EINVAL),
            Err(e) => Ok((
                e,
                transport.with_device(|d| d.stats()),
                transport.live_buffers(),
            )),
        }
    }
}

impl Drop for SwAdapter {
    fn drop(&mut self) {
        // The clients unbind first, then the core takes the device down.
        drop(self.clients.take());
        self.adapter.remove();
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
