// SPDX-License-Identifier: GPL-2.0-only

//! KUnit suites of the wire types (the `mana_wire` crate, re-exported as [`crate::wire`]):
//! they check the types against the bindings generated from the C headers ([`mana_c`]), which
//! only the kernel build has, so they live here rather than in the wire crate (whose own `cargo test`
//! covers what needs no C definition).

mod codec_tests;
mod layout_tests;
mod mana_c;
