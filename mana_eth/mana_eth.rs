// SPDX-License-Identifier: GPL-2.0-only

//! mana_eth: the Ethernet client of the mana-rs GDMA core.
//!
//! It binds to the core's `mana_gdma.eth.<id>` auxiliary devices and registers one network
//! interface per vport ([`port`]). Opening an interface takes the vport's Ethernet lease from
//! the core's arbiter; stopping it gives the lease back.

use kernel::{
    auxiliary,
    device::Core,
    prelude::*, //
};

use mana_gdma::{
    client::ETH_AUX_NAME,
    ClientHandle, //
};

mod datapath;
mod port;
#[cfg(CONFIG_KUNIT = "y")]
mod tests;
#[cfg(all(CONFIG_KUNIT = "y", CONFIG_VETH = "y"))]
mod tests_bench;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_datapath;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_handoff;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_netfeat;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_tx_timeout;
#[cfg(all(CONFIG_KUNIT = "y", CONFIG_BPF_SYSCALL))]
mod tests_xdp;

kernel::auxiliary_device_table!(
    AUX_TABLE,
    <EthDriver as auxiliary::Driver>::IdInfo,
    [(
        auxiliary::DeviceId::new(mana_gdma::MODULE_NAME, ETH_AUX_NAME),
        ()
    )]
);

/// The auxiliary driver.
struct EthDriver;

impl auxiliary::Driver for EthDriver {
    type IdInfo = ();
    type Data<'bound> = port::Ports<'bound>;

    const ID_TABLE: auxiliary::IdTable<Self::IdInfo> = &AUX_TABLE;

    fn probe<'bound>(
        adev: &'bound auxiliary::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let handle = ClientHandle::from_aux(adev)
            .inspect_err(|e| dev_err!(adev, "not a mana_gdma client device: {:?}\n", e))?;
        let adapter = handle.adapter();
        let ports = port::Ports::with_parent(adapter, Some(adev.parent()))
            .inspect_err(|e| dev_err!(adev, "cannot register the interfaces: {:?}\n", e))?;
        dev_info!(
            adev,
            "Ethernet client bound to MANA adapter {} ({} interface(s))\n",
            adapter.id(),
            adapter.ports().len()
        );
        Ok(ports)
    }
}

kernel::module_auxiliary_driver! {
    type: EthDriver,
    name: "mana_eth",
    authors: ["mana-rs developers"],
    description: "Microsoft Azure Network Adapter Ethernet driver (Rust)",
    license: "GPL",
}
