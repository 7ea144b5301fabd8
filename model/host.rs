// SPDX-License-Identifier: GPL-2.0-only

//! What the model needs from its host: driver memory by DMA address ([`DeviceMemory`]), a
//! place for its log lines ([`Log`]), for ports linked outside the device a [`Wire`] and, for a
//! host that records the hardware channel, an [`Observer`].
//!
//! The software adapter of `mana_gdma` implements them over its own buffers and the kernel
//! log; the vfio-user server over the guest memory it is given and standard error.

use core::fmt;

use crate::error::Result;

/// Driver memory as the device sees it: by DMA address.
pub trait DeviceMemory {
    /// Whether all `len` bytes at `addr` are mapped for the device (an IOMMU's view).
    fn is_mapped(&self, addr: u64, len: usize) -> bool;
    /// Copies `out.len()` bytes at `addr` into `out`; [`Error::Fault`] if any byte is not
    /// mapped.
    ///
    /// [`Error::Fault`]: crate::error::Error::Fault
    fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result;
    /// Copies `data` to `addr`; [`Error::Fault`] if any byte is not mapped.
    ///
    /// [`Error::Fault`]: crate::error::Error::Fault
    fn dma_write(&self, addr: u64, data: &[u8]) -> Result;
}

/// Where the model reports what it refused: a driver's protocol errors, malformed work
/// requests, bad configuration.
///
/// Each call is one line, without a trailing newline; the host adds its prefix (which device)
/// and rate-limits as it sees fit.
pub trait Log: Sync {
    /// Logs one error line.
    fn error(&self, line: fmt::Arguments<'_>);
}

/// Where the frames of ports linked outside the device go (`SwDevice::set_external`): to a port
/// of another device, a tap, a test.
pub trait Wire {
    /// `frame` was sent on `port`; `vlan` is the 802.1Q tag the sender asked the device to
    /// insert (the host passes it on to the receiving device, which reports it in its CQE).
    fn transmit(&mut self, port: u32, frame: &[u8], vlan: Option<u16>);
}

/// The [`Wire`] of a device none of whose ports leaves it: frames are dropped.
pub struct NoWire;

impl Wire for NoWire {
    fn transmit(&mut self, _port: u32, _frame: &[u8], _vlan: Option<u16>) {}
}

/// What a host that records the hardware-channel traffic is shown (`SwDevice::process_one_observed`).
pub trait Observer {
    /// The device took `request` (the bytes the driver sent, header first) and answered it with
    /// `response` (header first; empty when it sent none, as an injected fault may have it).
    fn request(&mut self, request: &[u8], response: &[u8]);
}
