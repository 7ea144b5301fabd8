// SPDX-License-Identifier: GPL-2.0-only

//! mana_rdma: the raw-packet RDMA client of the mana-rs GDMA core.
//!
//! It binds to the core's `mana_gdma.rdma.<id>` auxiliary devices and registers one IB device
//! `manae_<N>` per adapter ([`device`]), unregistered when it unbinds. This first slice offers
//! the device and port queries, protection domains, user contexts, CQs, WQs, RAW_PACKET and
//! RSS QPs and MRs ([`verbs`]), and the completion events of user CQs ([`events`]).

use kernel::{
    auxiliary,
    device::Core,
    prelude::*,
    rdma::Registration, //
};

use mana_gdma::{
    client::RDMA_AUX_NAME,
    ClientHandle, //
};

mod device;
mod events;
mod verbs;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_events;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_verbs;

kernel::auxiliary_device_table!(
    AUX_TABLE,
    <RdmaDriver as auxiliary::Driver>::IdInfo,
    [(
        auxiliary::DeviceId::new(mana_gdma::MODULE_NAME, RDMA_AUX_NAME),
        ()
    )]
);

/// The auxiliary driver.
struct RdmaDriver;

/// What the driver keeps per bound adapter: the registered IB device, which holds the adapter.
///
/// Dropping it (unbind) unregisters the device.
struct RdmaAdapter<'bound> {
    _ibdev: Registration<'bound, device::ManaIb>,
}

impl auxiliary::Driver for RdmaDriver {
    type IdInfo = ();
    type Data<'bound> = RdmaAdapter<'bound>;

    const ID_TABLE: auxiliary::IdTable<Self::IdInfo> = &AUX_TABLE;

    fn probe<'bound>(
        adev: &'bound auxiliary::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let handle = ClientHandle::from_aux(adev)
            .inspect_err(|e| dev_err!(adev, "not a mana_gdma client device: {:?}\n", e))?;
        let adapter = handle.adapter();
        // `register()` logs what failed.
        let ibdev = device::register(adapter, Some(adev.parent()))?;
        dev_info!(
            adev,
            "RDMA device {} registered for MANA adapter {} ({} port(s))\n",
            &*ibdev.name(),
            adapter.id(),
            ibdev.phys_port_cnt()
        );
        Ok(RdmaAdapter { _ibdev: ibdev })
    }
}

kernel::module_auxiliary_driver! {
    type: RdmaDriver,
    name: "mana_rdma",
    authors: ["mana-rs developers"],
    description: "Microsoft Azure Network Adapter raw-packet RDMA driver (Rust)",
    license: "GPL",
}
