// SPDX-License-Identifier: GPL-2.0

//! Ethtool operations of a network device.
//!
//! C headers: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h),
//! [`include/uapi/linux/ethtool.h`](srctree/include/uapi/linux/ethtool.h).
//!
//! A driver implements [`Operations`] next to its [`Driver`] and installs them with
//! [`UnregisteredDevice::set_ethtool_ops`](super::UnregisteredDevice::set_ethtool_ops). The
//! devices of these abstractions are not "ops locked" (`request_ops_lock`), so the ethtool core
//! calls every operation with the rtnl lock held.

use crate::{
    bindings,
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::{
        c_char,
        c_int, //
    },
    netdev::{
        Device,
        Driver,
        Rtnl, //
    },
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    }, //
};
use core::{
    fmt,
    marker::PhantomData,
    slice, //
};

/// The string set of the statistics of [`Operations::get_ethtool_stats`] (`ETH_SS_STATS`).
pub const SS_STATS: u32 = bindings::ethtool_stringset_ETH_SS_STATS;

/// The string set of the private flags of [`Operations::get_priv_flags`], one name per bit
/// from bit 0 on (`ETH_SS_PRIV_FLAGS`).
pub const SS_PRIV_FLAGS: u32 = bindings::ethtool_stringset_ETH_SS_PRIV_FLAGS;

/// The length of an ethtool string, NUL included (`ETH_GSTRING_LEN`).
pub const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// The Toeplitz RSS hash function (`ETH_RSS_HASH_TOP`).
pub const RSS_HASH_TOP: u8 = 1 << bindings::ETH_RSS_HASH_TOP_BIT;

/// RSS flow type of [`Operations::get_rxfh_fields`]: TCP over IPv4 (`TCP_V4_FLOW`).
pub const TCP_V4_FLOW: u32 = bindings::TCP_V4_FLOW;
/// RSS flow type: UDP over IPv4 (`UDP_V4_FLOW`).
pub const UDP_V4_FLOW: u32 = bindings::UDP_V4_FLOW;
/// RSS flow type: SCTP over IPv4 (`SCTP_V4_FLOW`).
pub const SCTP_V4_FLOW: u32 = bindings::SCTP_V4_FLOW;
/// RSS flow type: AH and ESP over IPv4 (`AH_ESP_V4_FLOW`).
pub const AH_ESP_V4_FLOW: u32 = bindings::AH_ESP_V4_FLOW;
/// RSS flow type: TCP over IPv6 (`TCP_V6_FLOW`).
pub const TCP_V6_FLOW: u32 = bindings::TCP_V6_FLOW;
/// RSS flow type: UDP over IPv6 (`UDP_V6_FLOW`).
pub const UDP_V6_FLOW: u32 = bindings::UDP_V6_FLOW;
/// RSS flow type: SCTP over IPv6 (`SCTP_V6_FLOW`).
pub const SCTP_V6_FLOW: u32 = bindings::SCTP_V6_FLOW;
/// RSS flow type: AH and ESP over IPv6 (`AH_ESP_V6_FLOW`).
pub const AH_ESP_V6_FLOW: u32 = bindings::AH_ESP_V6_FLOW;
/// RSS flow type: other IPv4 (`IPV4_FLOW`).
pub const IPV4_FLOW: u32 = bindings::IPV4_FLOW;
/// RSS flow type: other IPv6 (`IPV6_FLOW`).
pub const IPV6_FLOW: u32 = bindings::IPV6_FLOW;

/// RSS hash field: the destination MAC address (`RXH_L2DA`).
pub const RXH_L2DA: u32 = bindings::RXH_L2DA;
/// RSS hash field: the VLAN tag (`RXH_VLAN`).
pub const RXH_VLAN: u32 = bindings::RXH_VLAN;
/// RSS hash field: the L3 protocol (`RXH_L3_PROTO`).
pub const RXH_L3_PROTO: u32 = bindings::RXH_L3_PROTO;
/// RSS hash field: the source IP address (`RXH_IP_SRC`).
pub const RXH_IP_SRC: u32 = bindings::RXH_IP_SRC;
/// RSS hash field: the destination IP address (`RXH_IP_DST`).
pub const RXH_IP_DST: u32 = bindings::RXH_IP_DST;
/// RSS hash field: L4 bytes 0 and 1, the source port of TCP and UDP (`RXH_L4_B_0_1`).
pub const RXH_L4_B_0_1: u32 = bindings::RXH_L4_B_0_1;
/// RSS hash field: L4 bytes 2 and 3, the destination port of TCP and UDP (`RXH_L4_B_2_3`).
pub const RXH_L4_B_2_3: u32 = bindings::RXH_L4_B_2_3;
/// RSS hash field: the IPv6 flow label (`RXH_IP6_FL`).
pub const RXH_IP6_FL: u32 = bindings::RXH_IP6_FL;
/// Not a field: packets of the flow type are discarded (`RXH_DISCARD`).
pub const RXH_DISCARD: u32 = bindings::RXH_DISCARD;

/// Coalescing parameter: [`Coalesce::rx_usecs`] (`ETHTOOL_COALESCE_RX_USECS`).
pub const COALESCE_RX_USECS: u32 = 1 << 0;
/// Coalescing parameter: [`Coalesce::rx_max_frames`] (`ETHTOOL_COALESCE_RX_MAX_FRAMES`).
pub const COALESCE_RX_MAX_FRAMES: u32 = 1 << 1;
/// Coalescing parameter: [`Coalesce::tx_usecs`] (`ETHTOOL_COALESCE_TX_USECS`).
pub const COALESCE_TX_USECS: u32 = 1 << 4;
/// Coalescing parameter: [`Coalesce::tx_max_frames`] (`ETHTOOL_COALESCE_TX_MAX_FRAMES`).
pub const COALESCE_TX_MAX_FRAMES: u32 = 1 << 5;
/// Coalescing parameter: [`Coalesce::use_adaptive_rx`] (`ETHTOOL_COALESCE_USE_ADAPTIVE_RX`).
pub const COALESCE_USE_ADAPTIVE_RX: u32 = 1 << 9;
/// Coalescing parameter: [`Coalesce::use_adaptive_tx`] (`ETHTOOL_COALESCE_USE_ADAPTIVE_TX`).
pub const COALESCE_USE_ADAPTIVE_TX: u32 = 1 << 10;
/// Coalescing parameter: [`Coalesce::rx_cqe_frames`] (`ETHTOOL_COALESCE_RX_CQE_FRAMES`).
pub const COALESCE_RX_CQE_FRAMES: u32 = 1 << 29;
/// Coalescing parameter: [`Coalesce::rx_cqe_nsecs`] (`ETHTOOL_COALESCE_RX_CQE_NSECS`).
pub const COALESCE_RX_CQE_NSECS: u32 = 1 << 30;

/// Unknown link speed (`SPEED_UNKNOWN`).
pub const SPEED_UNKNOWN: u32 = u32::MAX;

/// Full duplex (`DUPLEX_FULL`).
// CAST: The value is 1.
pub const DUPLEX_FULL: u8 = bindings::DUPLEX_FULL as u8;

/// A port of another type than the listed ones, e.g. virtual (`PORT_OTHER`).
// CAST: The value is 0xff.
pub const PORT_OTHER: u8 = bindings::PORT_OTHER as u8;

/// The sizes the driver last reported for the buffers the ethtool core allocates: the strings
/// of the string sets below [`Sizes::SETS`], the RSS indirection table and the RSS key.
///
/// The core asks for a size, allocates a buffer of it, then calls the operation that fills the
/// buffer, all under one hold of the rtnl lock. Bounding the buffers by the recorded size (and
/// not by what the driver answers when asked again) keeps a driver whose answers change from
/// writing past them.
pub(crate) struct Sizes {
    sset: [Atomic<u32>; Sizes::SETS],
    indir: Atomic<u32>,
    key: Atomic<u32>,
}

impl Sizes {
    const SETS: usize = 32;

    pub(crate) const fn new() -> Self {
        Self {
            sset: [const { Atomic::new(0) }; Sizes::SETS],
            indir: Atomic::new(0),
            key: Atomic::new(0),
        }
    }

    fn sset(&self, sset: u32) -> Option<&Atomic<u32>> {
        self.sset.get(usize::try_from(sset).ok()?)
    }
}

/// Driver information reported by [`Operations::get_drvinfo`] (`struct ethtool_drvinfo`).
///
/// Strings longer than their field are truncated.
#[repr(transparent)]
pub struct DrvInfo(bindings::ethtool_drvinfo);

fn copy_str(dst: &mut [c_char], src: &CStr) {
    let src = src.to_bytes();
    let len = src.len().min(dst.len().saturating_sub(1));
    for (d, s) in dst.iter_mut().zip(&src[..len]) {
        // CAST: A byte of a C string.
        *d = *s as c_char;
    }
    if let Some(nul) = dst.get_mut(len) {
        *nul = 0;
    }
}

impl DrvInfo {
    /// Sets the driver name.
    pub fn set_driver(&mut self, name: &CStr) {
        copy_str(&mut self.0.driver, name);
    }

    /// Sets the driver version.
    pub fn set_version(&mut self, version: &CStr) {
        copy_str(&mut self.0.version, version);
    }

    /// Sets the firmware version.
    pub fn set_fw_version(&mut self, version: &CStr) {
        copy_str(&mut self.0.fw_version, version);
    }

    /// Sets the bus address, e.g. the PCI address of the device.
    pub fn set_bus_info(&mut self, bus: &CStr) {
        copy_str(&mut self.0.bus_info, bus);
    }
}

/// Ring sizes (`struct ethtool_ringparam`).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct RingParam {
    /// Largest receive ring.
    pub rx_max_pending: u32,
    /// Largest transmit ring.
    pub tx_max_pending: u32,
    /// Current receive ring size.
    pub rx_pending: u32,
    /// Current transmit ring size.
    pub tx_pending: u32,
}

/// Queue counts (`struct ethtool_channels`).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Channels {
    /// Most receive-only channels.
    pub max_rx: u32,
    /// Most transmit-only channels.
    pub max_tx: u32,
    /// Most other channels.
    pub max_other: u32,
    /// Most combined (receive and transmit) channels.
    pub max_combined: u32,
    /// Receive-only channels.
    pub rx_count: u32,
    /// Transmit-only channels.
    pub tx_count: u32,
    /// Other channels.
    pub other_count: u32,
    /// Combined channels.
    pub combined_count: u32,
}

/// Interrupt coalescing (`struct ethtool_coalesce` and `struct kernel_ethtool_coalesce`).
///
/// On set, the core rejects non-zero values of parameters the driver does not list in
/// [`Operations::SUPPORTED_COALESCE_PARAMS`].
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Coalesce {
    /// Receive interrupt delay in microseconds.
    pub rx_usecs: u32,
    /// Receive interrupt after this many frames.
    pub rx_max_frames: u32,
    /// Transmit interrupt delay in microseconds.
    pub tx_usecs: u32,
    /// Transmit interrupt after this many frames.
    pub tx_max_frames: u32,
    /// Adaptive receive coalescing.
    pub use_adaptive_rx: bool,
    /// Adaptive transmit coalescing.
    pub use_adaptive_tx: bool,
    /// Received packets coalesced into one completion entry.
    pub rx_cqe_frames: u32,
    /// Longest delay of a coalesced receive completion, in nanoseconds.
    pub rx_cqe_nsecs: u32,
}

/// Link settings (`struct ethtool_link_settings`), without link modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSettings {
    /// Speed in Mb/s, or [`SPEED_UNKNOWN`].
    pub speed: u32,
    /// Duplex mode, e.g. [`DUPLEX_FULL`].
    pub duplex: u8,
    /// Port type, e.g. [`PORT_OTHER`].
    pub port: u8,
    /// Whether autonegotiation is on.
    pub autoneg: bool,
}

impl Default for LinkSettings {
    fn default() -> Self {
        Self {
            speed: SPEED_UNKNOWN,
            // CAST: `DUPLEX_UNKNOWN` is 0xff.
            duplex: bindings::DUPLEX_UNKNOWN as u8,
            port: PORT_OTHER,
            autoneg: false,
        }
    }
}

/// The RSS configuration read by [`Operations::get_rxfh`].
///
/// `indir` and `key`, when present, have the sizes [`Operations::get_rxfh_indir_size`] and
/// [`Operations::get_rxfh_key_size`] return.
pub struct RxfhGet<'a> {
    /// The hash function, e.g. [`RSS_HASH_TOP`].
    pub hfunc: u8,
    /// The indirection table to fill, if requested.
    pub indir: Option<&'a mut [u32]>,
    /// The hash key to fill, if requested.
    pub key: Option<&'a mut [u8]>,
}

/// The RSS configuration to apply with [`Operations::set_rxfh`].
///
/// A field that is `None` (or `hfunc` 0) stays unchanged. The core has checked the table
/// entries against the number of receive queues.
pub struct RxfhSet<'a> {
    /// The new hash function, or 0 to keep it.
    pub hfunc: u8,
    /// The new indirection table.
    pub indir: Option<&'a [u32]>,
    /// The new hash key.
    pub key: Option<&'a [u8]>,
}

/// The strings of a string set, written by [`Operations::get_strings`].
pub struct Strings<'a> {
    buf: &'a mut [[u8; GSTRING_LEN]],
    next: usize,
}

struct StrWriter<'a> {
    buf: &'a mut [u8; GSTRING_LEN],
    len: usize,
}

impl fmt::Write for StrWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            // Keep the last byte for the NUL; truncate silently.
            if self.len + 1 < GSTRING_LEN {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

impl Strings<'_> {
    /// Appends the next string, truncated to `GSTRING_LEN - 1` bytes. Fails with `ENOSPC` when
    /// all the strings the count announced are written.
    pub fn push(&mut self, args: fmt::Arguments<'_>) -> Result {
        let slot = self.buf.get_mut(self.next).ok_or(ENOSPC)?;
        *slot = [0; GSTRING_LEN];
        let mut w = StrWriter { buf: slot, len: 0 };
        fmt::write(&mut w, args).map_err(|_| EINVAL)?;
        self.next += 1;
        Ok(())
    }
}

/// The ethtool operations of a network device (`struct ethtool_ops`).
///
/// Called by the ethtool core with the rtnl lock held, so serialised with each other and with
/// the control operations of [`Driver`]; the operations that reconfigure the device get the
/// proof of it, an [`Rtnl`].
#[vtable]
pub trait Operations: Driver {
    /// The coalescing parameters [`Operations::set_coalesce`] supports (`COALESCE_*`).
    const SUPPORTED_COALESCE_PARAMS: u32 = 0;

    /// Reports driver information (`get_drvinfo`). The core fills the counts.
    fn get_drvinfo(_dev: &Device<Self>, _info: &mut DrvInfo) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports whether the link is up (`get_link`).
    fn get_link(_dev: &Device<Self>) -> bool {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the ring sizes (`get_ringparam`).
    fn get_ringparam(_dev: &Device<Self>, _ring: &mut RingParam) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the ring sizes (`set_ringparam`); the core checked them against the maxima.
    fn set_ringparam(_dev: &Device<Self>, _ring: &RingParam, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the queue counts (`get_channels`).
    fn get_channels(_dev: &Device<Self>, _channels: &mut Channels) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the queue counts (`set_channels`); the core checked them against the maxima.
    fn set_channels(_dev: &Device<Self>, _channels: &Channels, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the number of receive rings (`get_rx_ring_count`), which the core checks RSS
    /// indirection tables against; without it `ethtool -X` is refused.
    fn get_rx_ring_count(_dev: &Device<Self>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the size of the RSS hash key in bytes (`get_rxfh_key_size`).
    ///
    /// The core sizes the buffers of [`Operations::get_rxfh`] with it; the abstraction bounds
    /// them by the size last returned.
    fn get_rxfh_key_size(_dev: &Device<Self>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the number of entries of the RSS indirection table (`get_rxfh_indir_size`).
    ///
    /// Same rule as [`Operations::get_rxfh_key_size`].
    fn get_rxfh_indir_size(_dev: &Device<Self>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the RSS configuration (`get_rxfh`).
    fn get_rxfh(_dev: &Device<Self>, _rxfh: &mut RxfhGet<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the RSS configuration (`set_rxfh`).
    fn set_rxfh(_dev: &Device<Self>, _rxfh: &RxfhSet<'_>, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the header fields (`RXH_*`, e.g. [`RXH_IP_SRC`]) the RSS hash covers for packets
    /// of flow type `flow_type` (e.g. [`TCP_V4_FLOW`]) (`get_rxfh_fields`, `ethtool -n DEV
    /// rx-flow-hash tcp4`).
    ///
    /// Fails for flow types the device does not classify; `ethtool` netlink then reports the
    /// type as unsupported. Only the default RSS context is asked for.
    fn get_rxfh_fields(_dev: &Device<Self>, _flow_type: u32) -> Result<u32> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the header fields the RSS hash covers for flow type `flow_type` to `fields`
    /// (`set_rxfh_fields`, `ethtool -N DEV rx-flow-hash tcp4 sdfn`). Combinations the device
    /// cannot hash are refused, typically with `EINVAL`. Only the default RSS context is
    /// changed.
    fn set_rxfh_fields(_dev: &Device<Self>, _flow_type: u32, _fields: u32, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the interrupt coalescing (`get_coalesce`).
    fn get_coalesce(_dev: &Device<Self>, _coalesce: &mut Coalesce) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the interrupt coalescing (`set_coalesce`).
    fn set_coalesce(_dev: &Device<Self>, _coalesce: &Coalesce, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the link settings (`get_link_ksettings`).
    fn get_link_ksettings(_dev: &Device<Self>, _settings: &mut LinkSettings) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the driver's private flags (`get_priv_flags`): bit `n` is the flag named by
    /// string `n` of [`SS_PRIV_FLAGS`] (`ethtool --show-priv-flags`).
    fn get_priv_flags(_dev: &Device<Self>) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sets the driver's private flags to `flags` (`set_priv_flags`, `ethtool --set-priv-flags`).
    /// The core passes the current flags with the named ones changed, but any `u32` reaches
    /// this: the driver rejects bits it does not know (`EINVAL`).
    fn set_priv_flags(_dev: &Device<Self>, _flags: u32, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the number of strings of string set `sset`, e.g. [`SS_STATS`]
    /// (`get_sset_count`); `EOPNOTSUPP` for sets the driver does not have.
    ///
    /// The core sizes the buffers of [`Operations::get_strings`] and
    /// [`Operations::get_ethtool_stats`] with it; the abstraction bounds them by the count last
    /// returned (strings) or the count the core passes (statistics).
    fn get_sset_count(_dev: &Device<Self>, _sset: u32) -> Result<u32> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes the strings of string set `sset` (`get_strings`).
    fn get_strings(_dev: &Device<Self>, _sset: u32, _strings: &mut Strings<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes the statistics named by the [`SS_STATS`] strings, in that order
    /// (`get_ethtool_stats`).
    fn get_ethtool_stats(_dev: &Device<Self>, _data: &mut [u64]) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// Returns the `ethtool_ops` table of `T`.
pub(crate) fn ops_table<T: Operations>() -> &'static bindings::ethtool_ops {
    const { &Adapter::<T>::OPS }
}

/// The C callbacks of an [`Operations`] implementation.
struct Adapter<T: Operations>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    const OPS: bindings::ethtool_ops = {
        // SAFETY: All-zeroes is a valid `ethtool_ops`: no capabilities, no callbacks.
        let mut ops: bindings::ethtool_ops =
            unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
        ops.supported_coalesce_params = T::SUPPORTED_COALESCE_PARAMS;
        if T::HAS_GET_DRVINFO {
            ops.get_drvinfo = Some(Self::get_drvinfo_callback);
        }
        if T::HAS_GET_LINK {
            ops.get_link = Some(Self::get_link_callback);
        }
        if T::HAS_GET_RINGPARAM {
            ops.get_ringparam = Some(Self::get_ringparam_callback);
        }
        if T::HAS_SET_RINGPARAM {
            ops.set_ringparam = Some(Self::set_ringparam_callback);
        }
        if T::HAS_GET_CHANNELS {
            ops.get_channels = Some(Self::get_channels_callback);
        }
        if T::HAS_SET_CHANNELS {
            ops.set_channels = Some(Self::set_channels_callback);
        }
        if T::HAS_GET_RX_RING_COUNT {
            ops.get_rx_ring_count = Some(Self::get_rx_ring_count_callback);
        }
        if T::HAS_GET_RXFH_KEY_SIZE {
            ops.get_rxfh_key_size = Some(Self::get_rxfh_key_size_callback);
        }
        if T::HAS_GET_RXFH_INDIR_SIZE {
            ops.get_rxfh_indir_size = Some(Self::get_rxfh_indir_size_callback);
        }
        if T::HAS_GET_RXFH {
            ops.get_rxfh = Some(Self::get_rxfh_callback);
        }
        if T::HAS_SET_RXFH {
            ops.set_rxfh = Some(Self::set_rxfh_callback);
        }
        if T::HAS_GET_RXFH_FIELDS {
            ops.get_rxfh_fields = Some(Self::get_rxfh_fields_callback);
        }
        if T::HAS_SET_RXFH_FIELDS {
            ops.set_rxfh_fields = Some(Self::set_rxfh_fields_callback);
        }
        if T::HAS_GET_COALESCE {
            ops.get_coalesce = Some(Self::get_coalesce_callback);
        }
        if T::HAS_SET_COALESCE {
            ops.set_coalesce = Some(Self::set_coalesce_callback);
        }
        if T::HAS_GET_LINK_KSETTINGS {
            ops.get_link_ksettings = Some(Self::get_link_ksettings_callback);
        }
        if T::HAS_GET_PRIV_FLAGS {
            ops.get_priv_flags = Some(Self::get_priv_flags_callback);
        }
        if T::HAS_SET_PRIV_FLAGS {
            ops.set_priv_flags = Some(Self::set_priv_flags_callback);
        }
        if T::HAS_GET_SSET_COUNT {
            ops.get_sset_count = Some(Self::get_sset_count_callback);
        }
        if T::HAS_GET_STRINGS {
            ops.get_strings = Some(Self::get_strings_callback);
        }
        if T::HAS_GET_ETHTOOL_STATS {
            ops.get_ethtool_stats = Some(Self::get_ethtool_stats_callback);
        }
        ops
    };

    /// # Safety
    ///
    /// `dev` must be a device of driver `T` passed to one of its `ethtool_ops` callbacks.
    unsafe fn device<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: Only devices allocated by `UnregisteredDevice::<T>::new` get `T`'s ethtool
        // operations (`set_ethtool_ops`); the core calls them only while the device is
        // registered, so it and its private data are alive for the call.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_drvinfo` with a valid `info`.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `info` is valid and exclusively ours for the call; `DrvInfo` is transparent.
        let info = unsafe { &mut *info.cast::<DrvInfo>() };
        T::get_drvinfo(dev, info);
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_link`.
    unsafe extern "C" fn get_link_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        u32::from(T::get_link(dev))
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_ringparam` with a valid `ring`.
    unsafe extern "C" fn get_ringparam_callback(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kernel_ring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let mut param = RingParam::default();
        T::get_ringparam(dev, &mut param);
        // SAFETY: `ring` is valid and exclusively ours for the call.
        let ring = unsafe { &mut *ring };
        ring.rx_max_pending = param.rx_max_pending;
        ring.tx_max_pending = param.tx_max_pending;
        ring.rx_pending = param.rx_pending;
        ring.tx_pending = param.tx_pending;
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `set_ringparam` with a valid `ring`.
    unsafe extern "C" fn set_ringparam_callback(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kernel_ring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `ring` is valid for the call.
        let ring = unsafe { &*ring };
        let param = RingParam {
            rx_max_pending: ring.rx_max_pending,
            tx_max_pending: ring.tx_max_pending,
            rx_pending: ring.rx_pending,
            tx_pending: ring.tx_pending,
        };
        from_result(|| {
            // SAFETY: The ethtool core calls the operations of devices that are not ops-locked
            // with the rtnl lock held.
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_ringparam(dev, &param, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_channels` with a valid `ch`.
    unsafe extern "C" fn get_channels_callback(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let mut c = Channels::default();
        T::get_channels(dev, &mut c);
        // SAFETY: `ch` is valid and exclusively ours for the call.
        let ch = unsafe { &mut *ch };
        ch.max_rx = c.max_rx;
        ch.max_tx = c.max_tx;
        ch.max_other = c.max_other;
        ch.max_combined = c.max_combined;
        ch.rx_count = c.rx_count;
        ch.tx_count = c.tx_count;
        ch.other_count = c.other_count;
        ch.combined_count = c.combined_count;
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `set_channels` with a valid `ch`.
    unsafe extern "C" fn set_channels_callback(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `ch` is valid for the call.
        let ch = unsafe { &*ch };
        let c = Channels {
            max_rx: ch.max_rx,
            max_tx: ch.max_tx,
            max_other: ch.max_other,
            max_combined: ch.max_combined,
            rx_count: ch.rx_count,
            tx_count: ch.tx_count,
            other_count: ch.other_count,
            combined_count: ch.combined_count,
        };
        from_result(|| {
            // SAFETY: The ethtool core calls the operations of devices that are not ops-locked
            // with the rtnl lock held.
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_channels(dev, &c, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_rx_ring_count`.
    unsafe extern "C" fn get_rx_ring_count_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        T::get_rx_ring_count(dev)
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_rxfh_key_size`.
    unsafe extern "C" fn get_rxfh_key_size_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let size = T::get_rxfh_key_size(dev);
        dev.ethtool_sizes().key.store(size, Relaxed);
        size
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_rxfh_indir_size`.
    unsafe extern "C" fn get_rxfh_indir_size_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let size = T::get_rxfh_indir_size(dev);
        dev.ethtool_sizes().indir.store(size, Relaxed);
        size
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_rxfh`, with a valid `rxfh` whose non-null `indir`
    /// and `key` hold as many entries as `get_rxfh_indir_size()` and `get_rxfh_key_size()`
    /// last returned.
    unsafe extern "C" fn get_rxfh_callback(
        dev: *mut bindings::net_device,
        rxfh: *mut bindings::ethtool_rxfh_param,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `rxfh` is valid and exclusively ours for the call.
        let rxfh = unsafe { &mut *rxfh };
        from_result(|| {
            if rxfh.rss_context != 0 {
                return Err(EOPNOTSUPP);
            }
            // The buffers have the sizes last reported to the core; the driver fills the
            // entries it reports now, if fewer.
            let sizes = dev.ethtool_sizes();
            let indir_size = if T::HAS_GET_RXFH_INDIR_SIZE {
                sizes.indir.load(Relaxed).min(T::get_rxfh_indir_size(dev)) as usize
            } else {
                0
            };
            let key_size = if T::HAS_GET_RXFH_KEY_SIZE {
                sizes.key.load(Relaxed).min(T::get_rxfh_key_size(dev)) as usize
            } else {
                0
            };
            let mut param = RxfhGet {
                hfunc: 0,
                indir: (!rxfh.indir.is_null()).then(|| {
                    // SAFETY: The core allocated `indir` with the last `get_rxfh_indir_size()`
                    // entries, at least `indir_size` (see the safety requirements); it is
                    // exclusively ours for the call.
                    unsafe { slice::from_raw_parts_mut(rxfh.indir, indir_size) }
                }),
                key: (!rxfh.key.is_null()).then(|| {
                    // SAFETY: As above, with `get_rxfh_key_size()` bytes.
                    unsafe { slice::from_raw_parts_mut(rxfh.key, key_size) }
                }),
            };
            T::get_rxfh(dev, &mut param)?;
            rxfh.hfunc = param.hfunc;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `set_rxfh` with a valid `rxfh`, whose non-null `indir`
    /// and `key` hold `indir_size` and `key_size` entries.
    unsafe extern "C" fn set_rxfh_callback(
        dev: *mut bindings::net_device,
        rxfh: *mut bindings::ethtool_rxfh_param,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `rxfh` is valid for the call.
        let rxfh = unsafe { &*rxfh };
        from_result(|| {
            if rxfh.rss_context != 0 || rxfh.rss_delete != 0 {
                return Err(EOPNOTSUPP);
            }
            let param = RxfhSet {
                hfunc: rxfh.hfunc,
                indir: (!rxfh.indir.is_null()).then(|| {
                    // SAFETY: `indir` holds `indir_size` entries (see the safety requirements).
                    unsafe { slice::from_raw_parts(rxfh.indir, rxfh.indir_size as usize) }
                }),
                key: (!rxfh.key.is_null()).then(|| {
                    // SAFETY: `key` holds `key_size` bytes.
                    unsafe { slice::from_raw_parts(rxfh.key, rxfh.key_size as usize) }
                }),
            };
            // SAFETY: The ethtool core calls the operations of devices that are not ops-locked
            // with the rtnl lock held.
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_rxfh(dev, &param, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_rxfh_fields` with a valid `fields`.
    unsafe extern "C" fn get_rxfh_fields_callback(
        dev: *mut bindings::net_device,
        fields: *mut bindings::ethtool_rxfh_fields,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `fields` is valid and exclusively ours for the call.
        let fields = unsafe { &mut *fields };
        from_result(|| {
            if fields.rss_context != 0 {
                return Err(EOPNOTSUPP);
            }
            fields.data = T::get_rxfh_fields(dev, fields.flow_type)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `set_rxfh_fields` with a valid `fields`.
    unsafe extern "C" fn set_rxfh_fields_callback(
        dev: *mut bindings::net_device,
        fields: *const bindings::ethtool_rxfh_fields,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `fields` is valid for the call.
        let fields = unsafe { &*fields };
        from_result(|| {
            if fields.rss_context != 0 {
                return Err(EOPNOTSUPP);
            }
            // SAFETY: The ethtool core calls the operations of devices that are not ops-locked
            // with the rtnl lock held (ioctl and netlink alike).
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_rxfh_fields(dev, fields.flow_type, fields.data, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_coalesce` with valid `ec` and `kec`.
    unsafe extern "C" fn get_coalesce_callback(
        dev: *mut bindings::net_device,
        ec: *mut bindings::ethtool_coalesce,
        kec: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        from_result(|| {
            let mut c = Coalesce::default();
            T::get_coalesce(dev, &mut c)?;
            // SAFETY: `ec` and `kec` are valid and exclusively ours for the call.
            let (ec, kec) = unsafe { (&mut *ec, &mut *kec) };
            ec.rx_coalesce_usecs = c.rx_usecs;
            ec.rx_max_coalesced_frames = c.rx_max_frames;
            ec.tx_coalesce_usecs = c.tx_usecs;
            ec.tx_max_coalesced_frames = c.tx_max_frames;
            ec.use_adaptive_rx_coalesce = u32::from(c.use_adaptive_rx);
            ec.use_adaptive_tx_coalesce = u32::from(c.use_adaptive_tx);
            kec.rx_cqe_frames = c.rx_cqe_frames;
            kec.rx_cqe_nsecs = c.rx_cqe_nsecs;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `set_coalesce` with valid `ec` and `kec`.
    unsafe extern "C" fn set_coalesce_callback(
        dev: *mut bindings::net_device,
        ec: *mut bindings::ethtool_coalesce,
        kec: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `ec` and `kec` are valid for the call.
        let (ec, kec) = unsafe { (&*ec, &*kec) };
        let c = Coalesce {
            rx_usecs: ec.rx_coalesce_usecs,
            rx_max_frames: ec.rx_max_coalesced_frames,
            tx_usecs: ec.tx_coalesce_usecs,
            tx_max_frames: ec.tx_max_coalesced_frames,
            use_adaptive_rx: ec.use_adaptive_rx_coalesce != 0,
            use_adaptive_tx: ec.use_adaptive_tx_coalesce != 0,
            rx_cqe_frames: kec.rx_cqe_frames,
            rx_cqe_nsecs: kec.rx_cqe_nsecs,
        };
        from_result(|| {
            // SAFETY: The ethtool core calls the operations of devices that are not ops-locked
            // with the rtnl lock held.
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_coalesce(dev, &c, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_link_ksettings` with a valid, zeroed `ks`.
    unsafe extern "C" fn get_link_ksettings_callback(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        from_result(|| {
            let mut s = LinkSettings::default();
            T::get_link_ksettings(dev, &mut s)?;
            // SAFETY: `ks` is valid and exclusively ours for the call.
            let base = unsafe { &mut (*ks).base };
            base.speed = s.speed;
            base.duplex = s.duplex;
            base.port = s.port;
            // CAST: `AUTONEG_ENABLE` is 1 and `AUTONEG_DISABLE` 0.
            base.autoneg = u8::from(s.autoneg);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_priv_flags`.
    unsafe extern "C" fn get_priv_flags_callback(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        T::get_priv_flags(dev)
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `set_priv_flags`.
    unsafe extern "C" fn set_priv_flags_callback(
        dev: *mut bindings::net_device,
        flags: u32,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        from_result(|| {
            // SAFETY: The ethtool core calls the operations of devices that are not ops-locked
            // with the rtnl lock held.
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_priv_flags(dev, flags, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_sset_count`.
    unsafe extern "C" fn get_sset_count_callback(
        dev: *mut bindings::net_device,
        sset: c_int,
    ) -> c_int {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        from_result(|| {
            let sset = u32::try_from(sset).map_err(|_| EOPNOTSUPP)?;
            let count = T::get_sset_count(dev, sset)?;
            let ret = c_int::try_from(count).map_err(|_| EOVERFLOW)?;
            // The core sizes the buffer of `get_strings` with it; other sets get no strings.
            if let Some(recorded) = dev.ethtool_sizes().sset(sset) {
                recorded.store(count, Relaxed);
            }
            Ok(ret)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_strings`, with `data` holding `GSTRING_LEN` bytes for
    /// each of the strings `get_sset_count()` last counted for `sset`.
    unsafe extern "C" fn get_strings_callback(
        dev: *mut bindings::net_device,
        sset: u32,
        data: *mut u8,
    ) {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        if data.is_null() {
            return;
        }
        let Some(recorded) = dev.ethtool_sizes().sset(sset) else {
            return;
        };
        // The buffer has the size last reported; the driver writes the strings it counts now,
        // if fewer.
        let count = recorded
            .load(Relaxed)
            .min(T::get_sset_count(dev, sset).unwrap_or(0));
        // SAFETY: `data` holds at least `count` strings of `GSTRING_LEN` bytes (see the safety
        // requirements), exclusively ours for the call; `[u8; N]` has alignment 1.
        let buf = unsafe { slice::from_raw_parts_mut(data.cast(), count as usize) };
        T::get_strings(dev, sset, &mut Strings { buf, next: 0 });
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_ethtool_stats`, with a valid `stats` and `data`
    /// holding `stats.n_stats` counters.
    unsafe extern "C" fn get_ethtool_stats_callback(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: This is an `ethtool_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        if data.is_null() {
            return;
        }
        // SAFETY: `stats` is valid for the call.
        let n = unsafe { (*stats).n_stats } as usize;
        // SAFETY: `data` holds `n` counters, exclusively ours for the call.
        let data = unsafe { slice::from_raw_parts_mut(data, n) };
        T::get_ethtool_stats(dev, data);
    }
}
