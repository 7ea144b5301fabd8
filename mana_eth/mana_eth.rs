// SPDX-License-Identifier: GPL-2.0-only

//! mana_eth: the Ethernet client of the mana-rs GDMA core.
//!
//! It binds to the core's `mana_gdma.eth.<id>` auxiliary devices. Opening an interface takes the
//! vport's Ethernet lease from the core's arbiter; stopping it gives the lease back.

use kernel::{
    auxiliary,
    device::Core,
    prelude::*,
    sync::Arc, //
};

use mana_gdma::{
    client::ETH_AUX_NAME,
    Adapter,
    ClientHandle, //
};

kernel::auxiliary_device_table!(
    AUX_TABLE,
    <EthDriver as auxiliary::Driver>::IdInfo,
    [(auxiliary::DeviceId::new(mana_gdma::MODULE_NAME, ETH_AUX_NAME), ())]
);

/// The auxiliary driver.
struct EthDriver;

/// What the driver keeps per bound adapter.
struct EthAdapter {
    adapter: Arc<Adapter>,
}

impl auxiliary::Driver for EthDriver {
    type IdInfo = ();
    type Data<'bound> = EthAdapter;

    const ID_TABLE: auxiliary::IdTable<Self::IdInfo> = &AUX_TABLE;

    fn probe<'bound>(
        adev: &'bound auxiliary::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let handle = ClientHandle::from_aux(adev)
            .inspect_err(|e| dev_err!(adev, "not a mana_gdma client device: {:?}\n", e))?;
        let adapter = handle.adapter().clone();
        dev_info!(
            adev,
            "Ethernet client bound to MANA adapter {} ({} vport(s))\n",
            adapter.id(),
            adapter.vports().len()
        );
        Ok(EthAdapter { adapter })
    }
}

impl EthAdapter {
    #[allow(dead_code)]
    fn adapter(&self) -> &Adapter {
        &self.adapter
    }
}

kernel::module_auxiliary_driver! {
    type: EthDriver,
    name: "mana_eth",
    authors: ["mana-rs developers"],
    description: "Microsoft Azure Network Adapter Ethernet driver (Rust)",
    license: "GPL",
}

#[kunit_tests(mana_rs_eth_core_api)]
mod tests {
    use mana_gdma::shared_vport::{
        VportTable,
        VportTx, //
    };

    use super::*;

    /// The Ethernet lease is taken and released through the core crate's arbiter.
    #[test]
    fn ethernet_lease_through_core_api() -> Result {
        const TX: VportTx = VportTx { pd: 0, doorbell: 0 };
        let table = VportTable::new_for_test(1)?;
        let lease = table.take_ethernet(0, c"eth0", TX)?;
        assert_eq!(lease.vport().index(), 0);
        assert_eq!(table.take_ethernet(0, c"eth1", TX).err(), Some(EBUSY));
        drop(lease);
        let _again = table.take_ethernet(0, c"eth1", TX)?;
        Ok(())
    }
}
