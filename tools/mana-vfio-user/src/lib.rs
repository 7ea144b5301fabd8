// SPDX-License-Identifier: GPL-2.0-only

//! A MANA virtual function for QEMU's vfio-user client: the PCI presentation (configuration
//! space, BARs, MSI-X), the BAR0 register file with the SMC mailbox and doorbell pages, guest
//! memory through DMA mappings, the seam ([`device`]) a device model plugs into, the MANA
//! device model of the model crate behind it ([`mana`]), and the control socket through which a
//! test has the device raise service events ([`control`]).
//!
//! The binary `mana-vfio-user` serves it on a UNIX socket.

#![warn(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;

pub mod bar0;
pub mod config;
pub mod control;
pub mod device;
pub mod dma;
pub mod function;
pub mod mana;
pub mod msix;
pub mod record;
