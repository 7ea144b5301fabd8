// SPDX-License-Identifier: GPL-2.0-only

//! Where the model puts things in BAR0: the device's choice, read by the driver through the
//! registers (`mana_wire::regs`), and the same for both hosts.
//!
//! The SMC mailbox sits at [`SHM_OFFSET`], the doorbell pages start at [`DB_PAGE_OFFSET`], one
//! [`DB_PAGE_SIZE`] each. The software adapter has [`NUM_DB_PAGES`] of them ([`BAR0_SIZE`]);
//! the vfio-user server has as many as it is configured with.

/// Where the SMC mailbox sits in BAR0.
pub const SHM_OFFSET: usize = 0x100;
/// Where the doorbell pages start in BAR0.
pub const DB_PAGE_OFFSET: usize = 0x1_0000;
/// The size of one doorbell page: the driver's minimum, 4 KiB (doorbells up to 0xFF8 + 8).
pub const DB_PAGE_SIZE: usize = 0x1000;
/// How many doorbell pages the software adapter has.
pub const NUM_DB_PAGES: usize = 16;
/// The size of the software adapter's BAR0.
pub const BAR0_SIZE: usize = DB_PAGE_OFFSET + DB_PAGE_SIZE * NUM_DB_PAGES;

const _: () = assert!(
    SHM_OFFSET + mana_wire::smc::SMC_APERTURE_SIZE <= DB_PAGE_OFFSET,
    "the mailbox must not overlap the doorbell pages"
);
