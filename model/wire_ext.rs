// SPDX-License-Identifier: GPL-2.0-only

//! Byte views of the wire types for the model ([`WireExt`]), on the wire crate's [`Pod`].

use mana_wire::Pod;

/// Copies and views of a [`Pod`] wire type.
pub(crate) trait WireExt: Pod {
    /// The value whose bytes are exactly `bytes`; `None` if the length differs.
    fn from_bytes_copy(bytes: &[u8]) -> Option<Self> {
        match Self::wire_read_prefix(bytes) {
            Some((value, [])) => Some(value),
            _ => None,
        }
    }

    /// The all-zero value.
    fn zeroed() -> Self {
        Self::wire_zeroed()
    }

    /// The bytes of the value.
    fn as_bytes(&self) -> &[u8] {
        self.wire_bytes()
    }

    /// The bytes of the value, for update.
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.wire_bytes_mut()
    }
}

impl<T: Pod> WireExt for T {}
