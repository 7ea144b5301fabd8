// SPDX-License-Identifier: GPL-2.0-only

//! MANA wire formats: everything the driver and the device exchange, defined once.
//!
//! These types describe bytes and bits as the Microsoft Azure Network Adapter sees them: the BAR0
//! registers ([`regs`]), the shared-memory mailbox that sets up the hardware channel ([`smc`]),
//! the request and response headers of the hardware channel ([`hdr`], [`hwc`]), every GDMA and
//! MANA request the drivers send ([`gdma_msgs`], [`mana_msgs`]), the queue formats (WQE, SGE, CQE,
//! EQE, doorbells: [`queue`]), the Ethernet out-of-band data inside them ([`eth`]) and the uverbs
//! ABI of rdma-core's libmana ([`abi`]).
//!
//! Both the driver and the software MANA device use these types, so neither may depend on driver
//! state: they are plain data with encoders and decoders. The C driver in
//! `include/net/mana/{gdma,hw_channel,shm_channel,mana}.h` and `include/uapi/rdma/mana-abi.h` is
//! the specification: the KUnit suite `mana_rs_wire_layout` checks the size, the alignment, every
//! field offset and every bit-field position of every type here against bindings generated from
//! those headers, `mana_rs_wire_consts` the numbers (codes, types, offsets), and
//! `mana_rs_wire_codec` the encoders and decoders in both directions, so a layout slip cannot
//! reach real hardware.
//!
//! Every wire struct implements the kernel's [`kernel::transmute::FromBytes`] and
//! [`kernel::transmute::AsBytes`], backed by compile-time proofs that it has no padding and
//! accepts every bit pattern, so it can be copied to and from DMA memory (`dma::Coherent`) and
//! user space. The `zerocopy` traits are deliberately not derived: their `as_bytes()` would
//! clash with the kernel trait's for every user of `kernel::prelude`.
//!
//! Everything here is little endian, as the device is; the crate only builds for little-endian
//! targets (see Kconfig).

pub mod abi;
pub mod eth;
pub mod gdma_msgs;
pub mod hdr;
pub mod hwc;
pub mod mana_msgs;
pub mod queue;
pub mod regs;
pub mod smc;

mod codec_tests;
mod layout_tests;

/// Defines a `#[repr(C)]` wire structure with the derives every wire structure has (`Clone`,
/// `Copy`, `Debug`, `PartialEq`, `Eq`, `Zeroable`) and implements the kernel transmute traits
/// for it.
///
/// The macro proves the two properties those traits need at compile time: every field type
/// implements both traits itself (so every bit pattern is valid and initialized field by
/// field), and the size of the struct is the sum of the sizes of its fields (so there is no
/// padding, hence no uninitialized byte). A wire struct whose C original has a hole must spell
/// the hole out as a reserved field.
macro_rules! wire_struct {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $(
                $(#[$fattr:meta])*
                pub $field:ident : $fty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, ::pin_init::Zeroable)]
        pub struct $name {
            $(
                $(#[$fattr])*
                pub $field: $fty,
            )*
        }

        const _: () = {
            const fn assert_transmutable<
                T: ::kernel::transmute::FromBytes + ::kernel::transmute::AsBytes,
            >() {
            }
            $(assert_transmutable::<$fty>();)*
            assert!(
                ::core::mem::size_of::<$name>() == 0 $(+ ::core::mem::size_of::<$fty>())*,
                "a wire struct must not have padding",
            );
        };

        // SAFETY: Every field type implements `FromBytes` (asserted above), so every bit pattern
        // of every field is valid, and there are no other bytes (no padding, asserted above).
        // No field has interior mutability (`FromBytes` requires that of each field).
        unsafe impl ::kernel::transmute::FromBytes for $name {}

        // SAFETY: Every field type implements `AsBytes` (asserted above), so no field has an
        // uninitialized byte, and the struct has no padding (asserted above). No field has
        // interior mutability (`AsBytes` requires that of each field).
        unsafe impl ::kernel::transmute::AsBytes for $name {}
    };
}
pub(crate) use wire_struct;

/// Defines a register-like word of a wire structure with [`kernel::bitfield!`] and implements
/// the kernel transmute traits for it, so it can be a field of a wire structure.
macro_rules! wire_bitfield {
    (
        $(#[$attr:meta])*
        pub struct $name:ident($storage:ty) { $($fields:tt)* }
    ) => {
        // `bitfield!` gives every field public `*_MASK`, `*_SHIFT` and `*_RANGE` constants
        // without documentation; they are documented by the field they belong to.
        ::kernel::macros::paste! {
            #[allow(missing_docs)]
            mod [<__bitfield_ $name:lower>] {
                #[allow(unused_imports)]
                use super::*;

                ::kernel::bitfield! {
                    $(#[$attr])*
                    pub struct $name($storage) { $($fields)* }
                }
            }
            pub use [<__bitfield_ $name:lower>]::$name;
        }

        impl $name {
            /// The all-zero value.
            pub const ZERO: Self = Self::from_raw(0);
        }

        impl Default for $name {
            fn default() -> Self {
                Self::ZERO
            }
        }

        const _: () = assert!(
            ::core::mem::size_of::<$name>() == ::core::mem::size_of::<$storage>()
                && ::core::mem::align_of::<$name>() == ::core::mem::align_of::<$storage>(),
            "a bit-field word must be its storage integer",
        );

        // SAFETY: `bitfield!` makes `$name` a `#[repr(transparent)]` wrapper of its storage
        // integer `$storage` (size and alignment asserted above): every bit pattern is valid,
        // every byte is initialized, and there is no interior mutability.
        unsafe impl ::kernel::transmute::FromBytes for $name {}

        // SAFETY: As above.
        unsafe impl ::kernel::transmute::AsBytes for $name {}
    };
}
pub(crate) use wire_bitfield;

/// Converts a `usize` length of a wire structure into the `u32` of a message size field.
///
/// Wire structures and HWC messages are at most a few KiB, so the conversion is lossless for
/// every value this module produces; larger values saturate so that a size check rejects them.
pub(crate) const fn len_u32(len: usize) -> u32 {
    if len > u32::MAX as usize {
        u32::MAX
    } else {
        // CAST: checked to fit just above.
        len as u32
    }
}
