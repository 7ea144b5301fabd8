// SPDX-License-Identifier: GPL-2.0-only

//! The PCI driver for MANA functions (1414:00ba VF, 1414:00b9 and 1414:00c1 PF).

use kernel::{
    device::Core,
    pci,
    prelude::*, //
};

/// Which kind of PCI function a device id names; the register offsets differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FunctionKind {
    /// A virtual function, as in an Azure VM.
    Vf,
    /// A physical function.
    Pf,
}

/// MANA virtual function device id.
pub(crate) const DEVICE_ID_VF: u32 = 0x00ba;
/// MANA physical function device id.
pub(crate) const DEVICE_ID_PF: u32 = 0x00b9;
/// MANA physical function device id, second generation.
pub(crate) const DEVICE_ID_PF2: u32 = 0x00c1;

kernel::pci_device_table!(
    PCI_TABLE,
    <GdmaPciDriver as pci::Driver>::IdInfo,
    [
        (
            pci::DeviceId::from_id(pci::Vendor::MICROSOFT, DEVICE_ID_VF),
            FunctionKind::Vf
        ),
        (
            pci::DeviceId::from_id(pci::Vendor::MICROSOFT, DEVICE_ID_PF),
            FunctionKind::Pf
        ),
        (
            pci::DeviceId::from_id(pci::Vendor::MICROSOFT, DEVICE_ID_PF2),
            FunctionKind::Pf
        ),
    ]
);

/// The PCI driver.
pub(crate) struct GdmaPciDriver;

impl pci::Driver for GdmaPciDriver {
    type IdInfo = FunctionKind;
    type Data<'bound> = Self;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        let kind = info.copied().ok_or(ENODEV)?;
        pdev.enable_device_mem()
            .inspect_err(|e| dev_err!(pdev, "cannot enable the PCI function: {:?}\n", e))?;
        pdev.set_master();
        // The hardware channel bring-up is not written yet: refuse the device rather than
        // pretend to drive it.
        dev_err!(
            pdev,
            "MANA {:?} found, but the Rust GDMA core cannot drive hardware yet; use the C driver (mana)\n",
            kind
        );
        Err::<Self, Error>(ENODEV)
    }
}
