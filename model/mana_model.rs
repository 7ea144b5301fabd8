// SPDX-License-Identifier: GPL-2.0-only

//! The MANA device model: what a Microsoft Azure Network Adapter does with what a driver sends,
//! with nothing but `core` (and the wire crate, `mana_wire`).
//!
//! One copy of the model serves two hosts: the in-kernel software adapter of `mana_gdma`
//! (`gdma/sw`: KUnit, `make run`, fault injection), which links this crate into
//! `mana_gdma.ko` as Kbuild builds it, and the vfio-user server (`tools/mana-vfio-user`), which
//! builds it with cargo; `cargo test` runs its own tests on the host in seconds.
//!
//! The device is [`device::SwDevice`] (registers, SMC, hardware channel, requests, objects,
//! faults, service events) with its data path [`datapath`] (queues, offloads, RSS, the wire
//! between linked ports); [`layout`] places the mailbox and doorbell pages in BAR0, [`packet`]
//! parses frames, computes checksums and RSS hashes; [`config`] and [`stats`] are its options
//! and what it counted, [`error`] its errors, [`host`] what it needs from a host (driver memory
//! by DMA address, a log). Its storage is fixed-capacity ([`table`]) and zero-valid ([`zero`]):
//! a host allocates the device zeroed on its heap and powers it on in place.

#![cfg_attr(not(any(test, CONFIG_RUST)), no_std)]

#[cfg(not(CONFIG_RUST))]
extern crate alloc;

pub mod config;
pub mod datapath;
pub mod device;
pub mod error;
pub mod host;
pub mod layout;
pub mod packet;
pub mod stats;
pub mod table;
mod wire_ext;
pub mod zero;
