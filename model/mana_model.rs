// SPDX-License-Identifier: GPL-2.0-only

//! The MANA device model: what a Microsoft Azure Network Adapter does with what a driver sends,
//! with nothing but `core` (and the wire crate, `mana_wire`).
//!
//! One copy of the model serves two hosts: the in-kernel software adapter of `mana_gdma`
//! (`gdma/sw`: KUnit, `make run`, fault injection), which links this crate into
//! `mana_gdma.ko` as Kbuild builds it, and the vfio-user server (`tools/mana-vfio-user`), which
//! builds it with cargo; `cargo test` runs its own tests on the host in seconds.
//!
//! The move from `gdma/sw` is under way: so far [`layout`], where BAR0 holds the mailbox and
//! the doorbell pages, [`packet`], the frame parsing, checksums and RSS hashing of the data
//! path, the model's configuration, fault forms and accounting ([`config`], [`stats`]), its
//! error type ([`error`]), what it needs from a host ([`host`]: driver memory by DMA address,
//! a log, a wire for ports linked outside the device) and the storage the device moves onto:
//! fixed-capacity tables ([`table`]) of zero-valid types ([`zero`]).

#![cfg_attr(not(any(test, CONFIG_RUST)), no_std)]

#[cfg(not(CONFIG_RUST))]
extern crate alloc;

pub mod config;
pub mod error;
pub mod host;
pub mod layout;
pub mod packet;
pub mod stats;
pub mod table;
pub mod zero;
