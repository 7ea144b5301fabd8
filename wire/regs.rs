// SPDX-License-Identifier: GPL-2.0-only

//! BAR0 registers of the MANA PCI functions and the PCI ids.
//!
//! C: `GDMA_REG_*`, `GDMA_PF_REG_*`, `GDMA_SRIOV_REG_CFG_BASE_OFF` and the device ids in
//! `include/net/mana/gdma.h`; `mana_gd_init_vf_regs()` and `mana_gd_init_pf_regs()` in
//! `gdma_main.c`.
//!
//! A VF (and the second-generation PF, 0x00C1) has the doorbell page offset, the doorbell page
//! size and the SMC offset at fixed places. The PF 0x00B9 has its own doorbell registers and
//! finds the SMC through the SR-IOV configuration base.

use crate::{
    Error,
    Result, //
};

/// The PCI vendor id of Microsoft.
pub const PCI_VENDOR_ID_MICROSOFT: u16 = 0x1414;
/// The PF device id (C: `MANA_PF_DEVICE_ID`).
pub const MANA_PF_DEVICE_ID: u16 = 0x00B9;
/// The second-generation PF device id, which uses the VF register layout (C:
/// `MANA_PF2_DEVICE_ID`).
pub const MANA_PF2_DEVICE_ID: u16 = 0x00C1;
/// The VF device id (C: `MANA_VF_DEVICE_ID`).
pub const MANA_VF_DEVICE_ID: u16 = 0x00BA;

/// VF: 64-bit offset of the doorbell pages in BAR0 (C: `GDMA_REG_DB_PAGE_OFFSET`).
pub const GDMA_REG_DB_PAGE_OFFSET: usize = 0x08;
/// VF: 32-bit doorbell page size; the low 16 bits count (C: `GDMA_REG_DB_PAGE_SIZE`).
pub const GDMA_REG_DB_PAGE_SIZE: usize = 0x10;
/// VF: 64-bit offset of the SMC aperture in BAR0 (C: `GDMA_REG_SHM_OFFSET`).
pub const GDMA_REG_SHM_OFFSET: usize = 0x18;

/// PF: 32-bit doorbell page size (C: `GDMA_PF_REG_DB_PAGE_SIZE`).
pub const GDMA_PF_REG_DB_PAGE_SIZE: usize = 0xD0;
/// PF: 64-bit offset of the doorbell pages (C: `GDMA_PF_REG_DB_PAGE_OFF`).
pub const GDMA_PF_REG_DB_PAGE_OFF: usize = 0xC8;
/// PF: 64-bit SMC offset, relative to the SR-IOV configuration base (C:
/// `GDMA_PF_REG_SHM_OFF`).
pub const GDMA_PF_REG_SHM_OFF: usize = 0x70;
/// PF: 64-bit offset of the SR-IOV configuration base (C: `GDMA_SRIOV_REG_CFG_BASE_OFF`).
pub const GDMA_SRIOV_REG_CFG_BASE_OFF: usize = 0x108;

/// The doorbell page size register only counts in its low 16 bits.
pub const DB_PAGE_SIZE_MASK: u32 = 0xFFFF;

/// Where the registers of a function are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegLayout {
    /// VF layout (VFs and PF 0x00C1).
    Vf,
    /// PF layout (PF 0x00B9).
    Pf,
}

impl RegLayout {
    /// The layout of PCI device `device_id`, as `mana_gd_init_registers()` chooses it;
    /// `ENODEV` for an id that is not MANA.
    pub fn for_device(device_id: u16) -> Result<Self> {
        match device_id {
            MANA_PF_DEVICE_ID => Ok(Self::Pf),
            MANA_VF_DEVICE_ID | MANA_PF2_DEVICE_ID => Ok(Self::Vf),
            _ => Err(Error::NoDevice),
        }
    }

    /// Offset of the 32-bit doorbell page size register.
    pub const fn db_page_size_reg(self) -> usize {
        match self {
            Self::Vf => GDMA_REG_DB_PAGE_SIZE,
            Self::Pf => GDMA_PF_REG_DB_PAGE_SIZE,
        }
    }

    /// Offset of the 64-bit doorbell page offset register.
    pub const fn db_page_off_reg(self) -> usize {
        match self {
            Self::Vf => GDMA_REG_DB_PAGE_OFFSET,
            Self::Pf => GDMA_PF_REG_DB_PAGE_OFF,
        }
    }
}
