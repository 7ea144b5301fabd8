// SPDX-License-Identifier: GPL-2.0-only

//! Why the model refused or could not do something ([`Error`]).
//!
//! The model knows no errno: each host maps these to its own codes (the software adapter of
//! `mana_gdma` to kernel error codes, the vfio-user server to its exit report).

use core::fmt;

/// A failure of the model or of its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The driver sent something malformed, or asked for something out of range.
    Invalid,
    /// A DMA access touched memory not mapped for the device.
    Fault,
    /// The object or resource asked for is in use.
    Busy,
    /// A fixed-capacity table of the device is full.
    NoSpace,
    /// The request is valid but the device does not offer it (or the driver did not say it
    /// handles it).
    NotSupported,
    /// Storage the host provides could not be had.
    NoMemory,
}

/// The result of a model operation.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "invalid request",
            Self::Fault => "DMA fault",
            Self::Busy => "busy",
            Self::NoSpace => "device table full",
            Self::NotSupported => "not supported",
            Self::NoMemory => "out of memory",
        })
    }
}

impl From<mana_wire::Error> for Error {
    /// A wire encoder or decoder refused a value: to the model, an invalid request.
    fn from(_: mana_wire::Error) -> Self {
        Self::Invalid
    }
}
