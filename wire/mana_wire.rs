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
//! This is a crate of its own that needs nothing but `core`: the driver (`mana_gdma`), the device
//! model and the vfio-user server all use it. Every wire struct implements [`Pod`], backed by
//! compile-time proofs that it has no padding and accepts every bit pattern. Built into the
//! kernel (the `CONFIG_RUST` cfg Kbuild sets), the same proofs also implement the kernel's
//! `transmute::{FromBytes, AsBytes}` and `pin_init::Zeroable` on every wire type, so the driver
//! copies them to and from DMA memory (`dma::Coherent`) and user space; [`Error`] then converts
//! into the kernel's error codes. On the host (`cargo test`), those impls do not exist and the
//! crate has no dependency beyond `core` and the `paste` macro. The `zerocopy` traits are
//! deliberately not derived: their `as_bytes()` would clash with the kernel trait's for every
//! user of `kernel::prelude`.
//!
//! Everything here is little endian, as the device is; the crate only builds for little-endian
//! targets (see Kconfig).

#![cfg_attr(not(any(test, CONFIG_RUST)), no_std)]

#[cfg(not(target_endian = "little"))]
compile_error!("the MANA wire formats are little endian, as the device is");

pub mod abi;
pub mod eth;
pub mod gdma_msgs;
pub mod hdr;
pub mod hwc;
pub mod mana_msgs;
pub mod queue;
pub mod regs;
pub mod smc;

mod pod;

pub use pod::{
    Field,
    FieldValue,
    KernelBytes,
    Pod, //
};

#[cfg(CONFIG_RUST)]
#[doc(hidden)]
pub use ::kernel::macros::paste as __paste;
#[cfg(not(CONFIG_RUST))]
#[doc(hidden)]
pub use ::paste::paste as __paste;

/// Why an encoder or decoder refused a value.
///
/// Built into the kernel, converts into the kernel error code named on each variant, so the
/// driver propagates it with `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A value is out of range or does not fit its field or buffer (`EINVAL`).
    Invalid,
    /// The other side broke the protocol, e.g. a response that does not match its request
    /// (`EPROTO`).
    Protocol,
    /// The request is not supported (`EOPNOTSUPP`).
    NotSupported,
    /// The PCI device is not a MANA device (`ENODEV`).
    NoDevice,
    /// A value does not fit the bits of its field (`EOVERFLOW`).
    Overflow,
}

/// The result of the encoders and decoders.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

#[cfg(CONFIG_RUST)]
impl From<Error> for ::kernel::error::Error {
    fn from(e: Error) -> Self {
        use ::kernel::error::code;
        match e {
            Error::Invalid => code::EINVAL,
            Error::Protocol => code::EPROTO,
            Error::NotSupported => code::EOPNOTSUPP,
            Error::NoDevice => code::ENODEV,
            Error::Overflow => code::EOVERFLOW,
        }
    }
}

/// Defines a `#[repr(C)]` wire structure with the derives every wire structure has (`Clone`,
/// `Copy`, `Debug`, `PartialEq`, `Eq`) and implements [`Pod`] (and, in the kernel, the kernel's
/// transmute traits and `Zeroable`) for it.
///
/// The macro proves the two properties those traits need at compile time: every field type
/// implements [`Pod`] itself (so every bit pattern is valid and initialized field by field),
/// and the size of the struct is the sum of the sizes of its fields (so there is no padding,
/// hence no uninitialized byte). A wire struct whose C original has a hole must spell the hole
/// out as a reserved field.
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
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            $(
                $(#[$fattr])*
                pub $field: $fty,
            )*
        }

        const _: () = {
            const fn assert_pod<T: $crate::Pod>() {}
            $(assert_pod::<$fty>();)*
            assert!(
                ::core::mem::size_of::<$name>() == 0 $(+ ::core::mem::size_of::<$fty>())*,
                "a wire struct must not have padding",
            );
        };

        // SAFETY: Every field type implements `Pod` (asserted above): every bit pattern of every
        // field is valid, every byte of it is initialized, and it has no interior mutability;
        // there are no other bytes (no padding, asserted above), and `repr(C)` has no niche.
        // The type is `Copy` (derived above) and has no lifetime (`'static`).
        unsafe impl $crate::Pod for $name {}

        $crate::kernel_bytes!($name);
    };
}
pub(crate) use wire_struct;

/// Implements the kernel's `transmute::{FromBytes, AsBytes}` and `pin_init::Zeroable` for a
/// [`Pod`] type when the crate is built into the kernel; nothing on the host.
#[cfg(CONFIG_RUST)]
#[doc(hidden)]
#[macro_export]
macro_rules! kernel_bytes {
    ($name:ty) => {
        const _: () = {
            const fn assert_pod<T: $crate::Pod>() {}
            assert_pod::<$name>();
        };

        // SAFETY: `$name` implements `Pod` (asserted above): every bit pattern is valid and it
        // has no interior mutability.
        unsafe impl ::kernel::transmute::FromBytes for $name {}

        // SAFETY: `$name` implements `Pod` (asserted above): it has no padding and no
        // uninitialized byte, and no interior mutability.
        unsafe impl ::kernel::transmute::AsBytes for $name {}

        // SAFETY: `$name` implements `Pod` (asserted above): every bit pattern, including all
        // zeroes, is a valid value.
        unsafe impl ::pin_init::Zeroable for $name {}
    };
}

/// Implements the kernel's `transmute::{FromBytes, AsBytes}` and `pin_init::Zeroable` for a
/// [`Pod`] type when the crate is built into the kernel; nothing on the host.
#[cfg(not(CONFIG_RUST))]
#[doc(hidden)]
#[macro_export]
macro_rules! kernel_bytes {
    ($name:ty) => {};
}

/// Defines a register-like word of a wire structure with [`bitfield!`] and implements [`Pod`]
/// for it, so it can be a field of a wire structure.
macro_rules! wire_bitfield {
    (
        $(#[$attr:meta])*
        pub struct $name:ident($storage:ty) { $($fields:tt)* }
    ) => {
        $crate::bitfield! {
            $(#[$attr])*
            pub struct $name($storage) { $($fields)* }
        }

        const _: () = assert!(
            ::core::mem::size_of::<$name>() == ::core::mem::size_of::<$storage>()
                && ::core::mem::align_of::<$name>() == ::core::mem::align_of::<$storage>(),
            "a bit-field word must be its storage integer",
        );

        // SAFETY: `bitfield!` makes `$name` a `#[repr(transparent)]` wrapper of its storage
        // integer `$storage` (size and alignment asserted above): every bit pattern is valid,
        // every byte is initialized, and there is no interior mutability. It is `Copy` and
        // `'static`.
        unsafe impl $crate::Pod for $name {}

        $crate::kernel_bytes!($name);
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

#[cfg(test)]
mod tests;
