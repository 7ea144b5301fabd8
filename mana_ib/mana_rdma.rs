// SPDX-License-Identifier: GPL-2.0-only

//! mana_rdma: the raw-packet RDMA client of the mana-rs GDMA core.
//!
//! It binds to the core's `mana_gdma.rdma.<id>` auxiliary devices. A RAW_PACKET or RSS QP takes
//! the vport's RDMA lease for its protection domain from the core's arbiter.

use kernel::{
    auxiliary,
    device::Core,
    prelude::*,
    sync::Arc, //
};

use mana_gdma::{
    client::RDMA_AUX_NAME,
    Adapter,
    ClientHandle, //
};

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

/// What the driver keeps per bound adapter.
struct RdmaAdapter {
    adapter: Arc<Adapter>,
}

impl auxiliary::Driver for RdmaDriver {
    type IdInfo = ();
    type Data<'bound> = RdmaAdapter;

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
            "RDMA client bound to MANA adapter {} ({} port(s))\n",
            adapter.id(),
            adapter.vports().len()
        );
        Ok(RdmaAdapter { adapter })
    }
}

impl RdmaAdapter {
    #[allow(dead_code)]
    fn adapter(&self) -> &Adapter {
        &self.adapter
    }
}

kernel::module_auxiliary_driver! {
    type: RdmaDriver,
    name: "mana_rdma",
    authors: ["mana-rs developers"],
    description: "Microsoft Azure Network Adapter raw-packet RDMA driver (Rust)",
    license: "GPL",
}

#[kunit_tests(mana_rs_rdma_core_api)]
mod tests {
    use mana_gdma::shared_vport::{
        QpKind,
        VportTable,
        VportTx, //
    };

    use super::*;

    /// QPs of one PD share the RDMA lease taken through the core crate's arbiter; the
    /// Ethernet side is refused with EBUSY while it is held.
    #[test]
    fn rdma_lease_through_core_api() -> Result {
        const TX: VportTx = VportTx { pd: 1, doorbell: 0 };
        let table = VportTable::new_for_test(1)?;
        let qp1 = table.take_rdma(0, QpKind::Raw, TX)?;
        let qp2 = table.take_rdma(0, QpKind::Raw, TX)?;
        assert_eq!(qp2.pd(), 1);
        assert_eq!(table.take_ethernet(0, c"eth0", TX).err(), Some(EBUSY));
        drop(qp1);
        drop(qp2);
        let _eth = table.take_ethernet(0, c"eth0", TX)?;
        Ok(())
    }
}
