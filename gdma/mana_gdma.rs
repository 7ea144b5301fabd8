// SPDX-License-Identifier: GPL-2.0-only

//! mana-rs GDMA core: the shared core of the Microsoft Azure Network Adapter drivers.
//!
//! The core owns the adapter (a PCI function or a software MANA device) and everything the
//! Ethernet and RDMA clients share: the hardware channel, the queues and the vport arbiter
//! ([`shared_vport`]). Each client binds to an auxiliary device of its own (`mana_gdma.eth.N`,
//! `mana_gdma.rdma.N`) and reaches the core only through the API in [`client`].

use kernel::{
    debugfs::Dir,
    driver,
    pci,
    prelude::*,
    InPlaceModule, //
};

pub mod adapter;
#[cfg(all(CONFIG_KUNIT = "y", CONFIG_VETH = "y"))]
pub mod bench;
pub mod client;
pub mod dma;
mod function;
pub mod hwc;
mod irq;
pub mod objects;
mod pci_drv;
mod pci_transport;
pub mod ring;
#[path = "../shared_vport/shared_vport.rs"]
pub mod shared_vport;
mod smc;
pub mod sw;
pub mod transport;
mod vport_hw;
mod wire_tests;

/// The wire formats (the `mana_wire` crate): registers, SMC, hardware channel messages, queue
/// entries and doorbells, shared with the software device and the clients.
pub use mana_wire as wire;

pub use adapter::Adapter;
pub use client::ClientHandle;

kernel::sync::global_lock! {
    // SAFETY: `GdmaModule::init` calls `init()` before anything else uses the lock.
    unsafe(uninit) static DEBUGFS_ROOT: Mutex<Option<Dir>> = None;
}

/// The module's debugfs directory (`mana_gdma`), for adapters created outside the module's
/// init (PCI functions); `None` before init and after exit.
pub(crate) fn debugfs_root() -> Option<Dir> {
    DEBUGFS_ROOT.lock().clone()
}

/// Publishes the module's debugfs directory to [`debugfs_root`] until dropped.
struct DebugfsRoot;

impl DebugfsRoot {
    fn publish(dir: &Dir) -> Self {
        *DEBUGFS_ROOT.lock() = Some(dir.clone());
        Self
    }
}

impl Drop for DebugfsRoot {
    fn drop(&mut self) {
        *DEBUGFS_ROOT.lock() = None;
    }
}

/// The name of this module, also the prefix of the auxiliary devices it creates.
pub const MODULE_NAME: &CStr = <LocalModule as kernel::ModuleMetadata>::NAME;

/// The module: the PCI driver and the software adapters created at load time.
///
/// Drop order: the software adapters go first (their clients unbind), then the PCI driver is
/// unregistered (which unbinds every PCI adapter), then the debugfs directory goes, once
/// nothing is left in it.
#[pin_data]
struct GdmaModule {
    sw_adapters: sw::SwAdapters,
    _debugfs: Dir,
    #[pin]
    _pci_driver: driver::Registration<pci::Adapter<pci_drv::GdmaPciDriver>>,
    _debugfs_root: DebugfsRoot,
}

impl InPlaceModule for GdmaModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        let count = module_parameters::sw_adapters.value();
        let ports = module_parameters::sw_ports.value();
        let debugfs = Dir::new(c"mana_gdma");
        // SAFETY: This is the only call, and it comes before any use of the lock.
        unsafe { DEBUGFS_ROOT.init() };
        let root = DebugfsRoot::publish(&debugfs);
        try_pin_init!(Self {
            sw_adapters: sw::SwAdapters::new(count, ports, &debugfs)?,
            _debugfs: debugfs,
            _pci_driver <- driver::Registration::new(MODULE_NAME, module),
            _debugfs_root: root,
        })
    }
}

module! {
    type: GdmaModule,
    name: "mana_gdma",
    authors: ["mana-rs developers"],
    description: "Microsoft Azure Network Adapter GDMA core (Rust)",
    license: "GPL",
    params: {
        sw_adapters: u32 {
            default: 0,
            description: "Number of software MANA adapters to create at load time (testing)",
        },
        sw_ports: u32 {
            default: 1,
            description: "Ports (vports) of each software adapter created at load time",
        },
    },
}
