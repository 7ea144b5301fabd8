// SPDX-License-Identifier: GPL-2.0

//! Network devices.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/rtnetlink.h`](srctree/include/linux/rtnetlink.h).
//!
//! A network driver implements [`Driver`], whose methods become the device's
//! `struct net_device_ops`, and allocates its devices with [`UnregisteredDevice::new`]. The
//! private data of the driver ([`Driver::Data`]) lives in the `netdev_priv()` area of the
//! `struct net_device`: it is initialised in place, pinned, and dropped before the device is
//! freed. Once configured (MTU bounds, MAC address, features, ethtool operations), the device is
//! made visible to the rest of the kernel with [`Registration::new`]; dropping the
//! [`Registration`] unregisters the device, drops the private data and frees the device.
//!
//! The companion modules cover the data path: [`skb`] (socket buffers), [`napi`] (NAPI polling
//! contexts) and [`ethtool`] (`struct ethtool_ops`).

use crate::{
    bindings,
    device,
    error::{
        from_result,
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::{
        c_int,
        c_uint, //
    },
    prelude::*,
    sync::{
        Arc,
        Refcount, //
    },
    time::msecs_to_jiffies,
    types::{
        NotThreadSafe,
        Opaque, //
    }, //
};
use core::{
    fmt,
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::{
        BitAnd,
        BitOr,
        Deref,
        Not, //
    },
    ptr::{
        self,
        NonNull, //
    }, //
};

pub mod ethtool;
pub mod napi;
pub mod queue_stats;
pub mod skb;
pub mod xdp;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

use napi::{
    Napi,
    Poll, //
};
use skb::Skb;

/// The lock class name of every interface's rtnl work item. A static, not a literal in the
/// generic constructor: a literal in generic code is emitted once per crate that instantiates
/// it, and lockdep warns when one lock class key comes with two name pointers (two modules, or
/// a module and vmlinux).
static RTNL_WORK_NAME: &CStr = c"netdev_rtnl_work";

/// The lock class of every interface's rtnl work item.
// SAFETY: The key is in static memory, pinned there; a static is never dropped.
static RTNL_WORK_CLASS: crate::sync::LockClassKey =
    unsafe { crate::sync::LockClassKey::new_static() };

/// The length of an Ethernet (MAC) address in bytes.
pub const ETH_ALEN: usize = bindings::ETH_ALEN as usize;

/// The length of an Ethernet header in bytes.
pub const ETH_HLEN: usize = bindings::ETH_HLEN as usize;

/// The minimum MTU of an Ethernet device.
pub const ETH_MIN_MTU: u32 = bindings::ETH_MIN_MTU;

/// The default MTU of an Ethernet device.
pub const ETH_DATA_LEN: u32 = bindings::ETH_DATA_LEN;

/// A set of network device features (`netdev_features_t`).
///
/// [`include/linux/netdev_features.h`](srctree/include/linux/netdev_features.h) describes each
/// feature.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Features(bindings::netdev_features_t);

impl Features {
    const fn bit(bit: u32) -> Self {
        Self(1 << bit)
    }

    /// Scatter/gather I/O (`NETIF_F_SG`).
    pub const SG: Self = Self::bit(bindings::NETIF_F_SG_BIT);
    /// Checksum offload of TCP and UDP over IPv4 (`NETIF_F_IP_CSUM`).
    pub const IP_CSUM: Self = Self::bit(bindings::NETIF_F_IP_CSUM_BIT);
    /// Checksum offload of TCP and UDP over IPv6 (`NETIF_F_IPV6_CSUM`).
    pub const IPV6_CSUM: Self = Self::bit(bindings::NETIF_F_IPV6_CSUM_BIT);
    /// Generic checksum offload (`NETIF_F_HW_CSUM`).
    pub const HW_CSUM: Self = Self::bit(bindings::NETIF_F_HW_CSUM_BIT);
    /// The device can DMA to and from high memory (`NETIF_F_HIGHDMA`).
    pub const HIGHDMA: Self = Self::bit(bindings::NETIF_F_HIGHDMA_BIT);
    /// TCP segmentation offload over IPv4 (`NETIF_F_TSO`).
    pub const TSO: Self = Self::bit(bindings::NETIF_F_TSO_BIT);
    /// TCP segmentation offload over IPv6 (`NETIF_F_TSO6`).
    pub const TSO6: Self = Self::bit(bindings::NETIF_F_TSO6_BIT);
    /// Generic receive offload (`NETIF_F_GRO`).
    pub const GRO: Self = Self::bit(bindings::NETIF_F_GRO_BIT);
    /// Receive checksum offload (`NETIF_F_RXCSUM`).
    pub const RXCSUM: Self = Self::bit(bindings::NETIF_F_RXCSUM_BIT);
    /// Receive hashing offload (`NETIF_F_RXHASH`).
    pub const RXHASH: Self = Self::bit(bindings::NETIF_F_RXHASH_BIT);
    /// VLAN tag insertion on transmit (`NETIF_F_HW_VLAN_CTAG_TX`).
    pub const HW_VLAN_CTAG_TX: Self = Self::bit(bindings::NETIF_F_HW_VLAN_CTAG_TX_BIT);
    /// VLAN tag stripping on receive (`NETIF_F_HW_VLAN_CTAG_RX`).
    pub const HW_VLAN_CTAG_RX: Self = Self::bit(bindings::NETIF_F_HW_VLAN_CTAG_RX_BIT);

    /// Returns the empty feature set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Creates a feature set from the raw `netdev_features_t` value.
    pub const fn from_raw(raw: bindings::netdev_features_t) -> Self {
        Self(raw)
    }

    /// Returns the raw `netdev_features_t` value.
    pub const fn as_raw(self) -> bindings::netdev_features_t {
        self.0
    }

    /// Returns whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Features {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitAnd for Features {
    type Output = Self;

    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for Features {
    type Output = Self;

    fn not(self) -> Self {
        Self(!self.0)
    }
}

/// Interface statistics reported by [`Driver::get_stats64`].
///
/// The fields have the meaning of the same fields of `struct rtnl_link_stats64`
/// ([`include/uapi/linux/if_link.h`](srctree/include/uapi/linux/if_link.h)); the core adds its
/// own drop counters to them.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Stats64 {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets transmitted.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Bad packets received.
    pub rx_errors: u64,
    /// Packets that could not be transmitted.
    pub tx_errors: u64,
    /// Packets received but dropped by the driver (e.g. no buffer).
    pub rx_dropped: u64,
    /// Packets dropped on transmit by the driver.
    pub tx_dropped: u64,
    /// Multicast packets received.
    pub multicast: u64,
}

/// The operational state of an interface (RFC 2863, `IF_OPER_*`), what `ip link` shows as
/// `state` while the interface is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    /// Not known: the carrier never changed since registration (`IF_OPER_UNKNOWN`).
    Unknown,
    /// The device is not present (`IF_OPER_NOTPRESENT`).
    NotPresent,
    /// No carrier (`IF_OPER_DOWN`).
    Down,
    /// A lower device is down (`IF_OPER_LOWERLAYERDOWN`).
    LowerLayerDown,
    /// In a test mode (`IF_OPER_TESTING`).
    Testing,
    /// Waiting for an external event (`IF_OPER_DORMANT`).
    Dormant,
    /// Carrier on: the interface can pass packets (`IF_OPER_UP`).
    Up,
}

impl OperState {
    fn from_raw(raw: u32) -> Self {
        match raw {
            bindings::IF_OPER_NOTPRESENT => Self::NotPresent,
            bindings::IF_OPER_DOWN => Self::Down,
            bindings::IF_OPER_LOWERLAYERDOWN => Self::LowerLayerDown,
            bindings::IF_OPER_TESTING => Self::Testing,
            bindings::IF_OPER_DORMANT => Self::Dormant,
            bindings::IF_OPER_UP => Self::Up,
            _ => Self::Unknown,
        }
    }
}

/// The outcome of [`Driver::start_xmit`].
pub enum TxResult {
    /// The driver took the packet: it was queued to the device or dropped (`NETDEV_TX_OK`).
    Consumed,
    /// The queue is full and the packet, given back, must be retried later (`NETDEV_TX_BUSY`).
    ///
    /// A driver should stop the queue before it fills up instead of returning this.
    Busy(Skb),
}

/// The operations of a network device (`struct net_device_ops`).
///
/// Every method receives the device the core calls it for. The core calls the control methods
/// (`open`, `stop`, `change_mtu`, `fix_features`, `set_features`) with the rtnl lock held, so
/// they are serialised with each other and with the ethtool operations; those that may
/// reconfigure the device get the proof of it, an [`Rtnl`].
///
/// An [`Rtnl`] does not allow what the core must not be re-entered for from inside one of its
/// operations: bringing an interface up or down ([`Device::close`]) and recomputing its features
/// ([`Device::update_features`]). `ndo_stop` runs while the device is still `IFF_UP` and on the
/// core's close list, so closing it again there would add it to a second list and stop it
/// twice; `netdev_update_features()` from `ndo_set_features` recurses without end. Those need
/// an [`RtnlOuter`], which only [`Driver::rtnl_work`] and [`rtnl_lock`] give, so this does not
/// compile (tests/compile-fail/netdev_close_in_stop.rs):
///
/// ```ignore
/// fn stop(dev: &Device<Self>, rtnl: &Rtnl) -> Result {
///     dev.close(rtnl); // error[E0308]: expected `&RtnlOuter`, found `&Rtnl`
///     Ok(())
/// }
/// ```
#[vtable]
pub trait Driver: Sized + 'static {
    /// The private data of each device, stored in its `netdev_priv()` area.
    type Data: Send + Sync;

    /// Brings the interface up (`ndo_open`), with the rtnl lock held.
    fn open(dev: &Device<Self>, rtnl: &Rtnl) -> Result;

    /// Brings the interface down (`ndo_stop`), with the rtnl lock held.
    ///
    /// The transmit queues are already deactivated; an error is logged by the core but does
    /// not keep the interface up.
    fn stop(dev: &Device<Self>, rtnl: &Rtnl) -> Result;

    /// Transmits `skb` on the transmit queue `skb.queue_mapping()` (`ndo_start_xmit`).
    ///
    /// Called in softirq or process context with bottom halves disabled, with the transmit
    /// queue's lock held, so calls for one queue are serialised.
    fn start_xmit(dev: &Device<Self>, skb: Skb) -> TxResult;

    /// Reports the interface statistics (`ndo_get_stats64`). May be called concurrently with
    /// anything, without the rtnl lock.
    fn get_stats64(_dev: &Device<Self>, _stats: &mut Stats64) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the MTU (`ndo_change_mtu`), with the rtnl lock held. The core has checked
    /// `new_mtu` against the bounds.
    ///
    /// On success the abstraction stores `new_mtu` in the device; the driver may store it
    /// earlier with [`Device::set_mtu`] if it needs it while reconfiguring.
    fn change_mtu(_dev: &Device<Self>, _new_mtu: u32, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles a stuck transmit queue (`ndo_tx_timeout`).
    ///
    /// The core's watchdog calls it when transmit queue `txqueue` has been stopped for longer
    /// than the watchdog timeout ([`UnregisteredDevice::set_watchdog_timeout_ms`]) while the
    /// interface is up with its carrier on. Having the method turns the watchdog on.
    ///
    /// Called from the watchdog timer (softirq context) with all transmit queues frozen: it must
    /// not sleep nor take a transmit queue's lock ([`Device::tx_disable`]). A driver logs the
    /// event and schedules its recovery, e.g. with [`Device::schedule_rtnl_work`]. The core
    /// calls it again for every further timeout period the queue stays stopped.
    fn tx_timeout(_dev: &Device<Self>, _txqueue: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Runs the device's work item, scheduled by [`Device::schedule_rtnl_work`], in process
    /// context with the rtnl lock held, so it may reconfigure the device like an `ndo_*`
    /// control method (e.g. a reset after [`Driver::tx_timeout`]).
    ///
    /// It only runs while the device is registered: a work item that runs before registration
    /// or once unregistration has started does nothing, and unregistration waits for a running
    /// one. It may have been scheduled before the interface went down: check
    /// [`Device::is_running`] if that matters.
    fn rtnl_work(_dev: &Device<Self>, _rtnl: &RtnlOuter) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Adjusts a requested feature set to the device's constraints (`ndo_fix_features`).
    fn fix_features(_dev: &Device<Self>, _features: Features) -> Features {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Applies a new feature set (`ndo_set_features`), with the rtnl lock held; on success the
    /// core stores it.
    fn set_features(_dev: &Device<Self>, _features: Features, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Installs, replaces or removes (`None`) the device's native XDP program (`ndo_bpf` with
    /// `XDP_SETUP_PROG`), with the rtnl lock held. The driver keeps `prog` as long as it is
    /// installed; on error the core keeps the previous program, and `extack` carries the
    /// message for the user. See [`xdp`].
    fn xdp_setup(
        _dev: &Device<Self>,
        _prog: Option<xdp::BpfProg>,
        _extack: &xdp::ExtAck,
        _rtnl: &Rtnl,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Transmits frames another device redirected here (`ndo_xdp_xmit`), in softirq context.
    /// The driver takes the frames it sends (or drops) from `frames`, in order; `flush` asks
    /// it to hand what it queued to the device now.
    fn xdp_xmit(_dev: &Device<Self>, _frames: &mut xdp::FrameBatch<'_>, _flush: bool) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The private area (`netdev_priv()`) of a device of these abstractions: their own state, then
/// the driver's data.
#[repr(C)]
struct Private<D> {
    /// References to the device's memory ([`DeviceMemRef`]): its owner's
    /// ([`UnregisteredDevice`], then [`Registration`]) until it released the device, and one
    /// per [`Napi`] of the device. The first field, so that it is found without knowing `D`.
    mem_refs: Refcount,
    ethtool: ethtool::Sizes,
    /// The work item of [`Driver::rtnl_work`]; disabled (and waited for) before `data` is
    /// dropped.
    work: Opaque<bindings::work_struct>,
    /// The device this area belongs to, for the work item.
    dev: *mut bindings::net_device,
    /// The NAPI contexts the queues are associated with ([`Device::set_queue_napi`]).
    queue_napis: QueueNapis,
    data: D,
}

/// A NAPI context of any poll type, kept alive while a queue refers to it.
trait QueueNapi: Send + Sync {}

impl<P: Poll + 'static> QueueNapi for Napi<P> {}

/// The queue kinds of [`Device::set_queue_napi`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// A receive queue (`NETDEV_QUEUE_TYPE_RX`).
    Rx,
    /// A transmit queue (`NETDEV_QUEUE_TYPE_TX`).
    Tx,
}

/// The NAPI context each receive and transmit queue refers to (`netdev_rx_queue::napi`,
/// `netdev_queue::napi`), by queue index, held so that it outlives the reference.
///
/// # Invariants
///
/// Changed only with the rtnl lock held, or once the device is unregistered (no reader left).
/// For every `Some` entry, the queue's `napi` pointer is that context's `napi_struct`; every
/// other queue's pointer is null.
struct QueueNapis {
    rx: core::cell::UnsafeCell<KVec<Option<Arc<dyn QueueNapi>>>>,
    tx: core::cell::UnsafeCell<KVec<Option<Arc<dyn QueueNapi>>>>,
}

impl QueueNapis {
    fn new(rx: u32, tx: u32) -> Result<Self> {
        let slots = |n: u32| -> Result<KVec<Option<Arc<dyn QueueNapi>>>> {
            let mut v = KVec::with_capacity(n as usize, GFP_KERNEL)?;
            for _ in 0..n {
                v.push(None, GFP_KERNEL)?;
            }
            Ok(v)
        };
        Ok(Self {
            rx: core::cell::UnsafeCell::new(slots(rx)?),
            tx: core::cell::UnsafeCell::new(slots(tx)?),
        })
    }
}

/// A network device of driver `T`.
///
/// Wraps the kernel's `struct net_device`. It is only ever used by reference: in the callbacks
/// of [`Driver`] and [`ethtool::Operations`], and through [`UnregisteredDevice`] and
/// [`Registration`], which own it.
///
/// # Invariants
///
/// `self.0` is a `struct net_device` allocated by [`UnregisteredDevice::<T>::new`]: its
/// `netdev_ops` are `T`'s and its private area holds an initialised `Private<T::Data>`, pinned.
/// Both stay valid for as long as a `&Device<T>` exists.
#[repr(transparent)]
pub struct Device<T: Driver>(Opaque<bindings::net_device>, PhantomData<T>);

// SAFETY: The C functions used through `&Device<T>` may be called from any thread, and the
// private data `T::Data` is `Sync`.
unsafe impl<T: Driver> Sync for Device<T> {}

// SAFETY: A `Device<T>` is never owned by value, and `T::Data` is `Send`.
unsafe impl<T: Driver> Send for Device<T> {}

/// Reads a field of a `struct net_device` that other threads may write (`READ_ONCE`).
macro_rules! read_field {
    ($dev:expr, $field:ident) => {
        // SAFETY: By the type invariant of `Device`, `$dev.as_raw()` is a valid `net_device`;
        // the volatile read tolerates concurrent `WRITE_ONCE()` updates by the core.
        unsafe { ptr::read_volatile(&raw const (*$dev.as_raw()).$field) }
    };
}

impl<T: Driver> Device<T> {
    /// Returns the raw `struct net_device` pointer.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct net_device` allocated by [`UnregisteredDevice::<T>::new`]
    /// that is not freed, and whose private data is not dropped, for the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device<T>` is a transparent wrapper of `net_device`, and the caller
        // guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    fn private(&self) -> *mut Private<T::Data> {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netdev_priv(self.as_raw()) }.cast()
    }

    /// Returns the private data of the device.
    pub fn data(&self) -> Pin<&T::Data> {
        // SAFETY: By the type invariant, the private area holds an initialised `Private` whose
        // `data` is never moved until it is dropped, which happens only once no `&Device<T>`
        // exists.
        unsafe { Pin::new_unchecked(&(*self.private()).data) }
    }

    /// Returns the ethtool buffer sizes the abstraction records for this device.
    pub(crate) fn ethtool_sizes(&self) -> &ethtool::Sizes {
        // SAFETY: As in `data()`; the sizes live as long as the device.
        unsafe { &(*self.private()).ethtool }
    }

    /// Returns the interface name, e.g. `eth0`.
    ///
    /// Before registration this is the name template. The name changes only under the rtnl
    /// lock (`ip link set name`).
    pub fn name(&self) -> &CStr {
        // SAFETY: `self.as_raw()` is a valid `net_device`; `name` is an array of `IFNAMSIZ`
        // bytes that always holds a NUL-terminated string of at most `IFNAMSIZ - 1` bytes.
        let bytes: &[u8] = unsafe { &(*self.as_raw()).name };
        CStr::from_bytes_until_nul(bytes).unwrap_or(c"")
    }

    /// Returns the interface index (0 before registration).
    pub fn ifindex(&self) -> i32 {
        read_field!(self, ifindex)
    }

    /// Returns the current MTU.
    pub fn mtu(&self) -> u32 {
        read_field!(self, mtu)
    }

    /// Returns the minimum MTU.
    pub fn min_mtu(&self) -> u32 {
        read_field!(self, min_mtu)
    }

    /// Returns the maximum MTU.
    pub fn max_mtu(&self) -> u32 {
        read_field!(self, max_mtu)
    }

    /// Stores a new MTU, which must lie within the device's bounds, without notifying anyone.
    ///
    /// For [`Driver::change_mtu`], when the driver needs the new MTU in the device before it
    /// returns.
    pub fn set_mtu(&self, mtu: u32, _rtnl: &Rtnl) -> Result {
        if mtu < self.min_mtu() || mtu > self.max_mtu() {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid `net_device`; the volatile write is the
        // `WRITE_ONCE()` the core uses for this field.
        unsafe { ptr::write_volatile(&raw mut (*self.as_raw()).mtu, mtu) };
        Ok(())
    }

    /// Changes the maximum MTU (e.g. while an XDP program needs frames to fit in one page);
    /// `max` must not be below the current MTU nor the minimum.
    pub fn set_max_mtu(&self, max: u32, _rtnl: &Rtnl) -> Result {
        if max < self.mtu() || max < self.min_mtu() || max > c_int::MAX as u32 {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid `net_device`; the rtnl lock, held, serialises the
        // writers of the field, and the volatile write tolerates lockless readers.
        unsafe { ptr::write_volatile(&raw mut (*self.as_raw()).max_mtu, max) };
        Ok(())
    }

    /// Returns the active features.
    pub fn features(&self) -> Features {
        Features(read_field!(self, features))
    }

    /// Returns the features that the user may toggle.
    pub fn hw_features(&self) -> Features {
        Features(read_field!(self, hw_features))
    }

    /// Returns the number of allocated transmit queues.
    pub fn num_tx_queues(&self) -> u32 {
        read_field!(self, num_tx_queues)
    }

    /// Returns the number of allocated receive queues.
    pub fn num_rx_queues(&self) -> u32 {
        read_field!(self, num_rx_queues)
    }

    /// Returns the number of transmit queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        read_field!(self, real_num_tx_queues)
    }

    /// Returns the number of receive queues in use.
    pub fn real_num_rx_queues(&self) -> u32 {
        read_field!(self, real_num_rx_queues)
    }

    /// Sets the number of transmit queues in use (`netif_set_real_num_tx_queues`).
    ///
    /// `count` must be between 1 and [`Self::num_tx_queues`]. Before registration, use
    /// [`UnregisteredDevice::set_real_num_queues`], which does not need the rtnl lock.
    pub fn set_real_num_tx_queues(&self, count: u32, _rtnl: &Rtnl) -> Result {
        // SAFETY: `self.as_raw()` is a valid `net_device` and the rtnl lock is held, as the
        // function requires for a registered device; it checks `count`.
        to_result(unsafe { bindings::netif_set_real_num_tx_queues(self.as_raw(), count) })
    }

    /// Sets the number of receive queues in use (`netif_set_real_num_rx_queues`).
    ///
    /// `count` must be between 1 and [`Self::num_rx_queues`].
    pub fn set_real_num_rx_queues(&self, count: u32, _rtnl: &Rtnl) -> Result {
        // SAFETY: `self.as_raw()` is a valid `net_device` and the rtnl lock is held, as the
        // function requires for a registered device; it checks `count`.
        to_result(unsafe { bindings::netif_set_real_num_rx_queues(self.as_raw(), count) })
    }

    /// Recomputes the active features (`netdev_update_features`), e.g. after a change that
    /// [`Driver::fix_features`] depends on; calls [`Driver::set_features`] if they change.
    ///
    /// Needs an [`RtnlOuter`]: from inside [`Driver::set_features`] the core would recurse.
    pub fn update_features(&self, _rtnl: &RtnlOuter) {
        // SAFETY: `self.as_raw()` is a valid `net_device` and the rtnl lock is held.
        unsafe { bindings::netdev_update_features(self.as_raw()) }
    }

    /// Returns the MAC address.
    pub fn mac_address(&self) -> [u8; ETH_ALEN] {
        let mut addr = [0u8; ETH_ALEN];
        // SAFETY: `self.as_raw()` is a valid `net_device`; `dev_addr` points to at least
        // `MAX_ADDR_LEN` bytes allocated with the device (`dev_addr_init`).
        unsafe { ptr::copy_nonoverlapping((*self.as_raw()).dev_addr, addr.as_mut_ptr(), ETH_ALEN) };
        addr
    }

    /// Tells the stack that the link is up (`netif_carrier_on`).
    pub fn carrier_on(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Tells the stack that the link is down (`netif_carrier_off`).
    pub fn carrier_off(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Returns whether the link is up (`netif_carrier_ok`).
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Returns whether the user set the RSS indirection table (`netif_is_rxfh_configured`):
    /// then a channel change must keep it, and only a table the driver chose may be spread
    /// over the new channels. The ethtool core sets and clears the flag around `set_rxfh`.
    pub fn rxfh_configured(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_is_rxfh_configured(self.as_raw()) }
    }

    /// Returns the operational state (RFC 2863) the core derived from the carrier, as `ip
    /// link` shows it for an up interface (`operstate`).
    ///
    /// The core updates it asynchronously after a carrier change (linkwatch); see
    /// [`Self::sync_link_state`]. It stays [`OperState::Unknown`] until the carrier first
    /// changes: a driver that reports its carrier turns it off before registration.
    pub fn oper_state(&self) -> OperState {
        OperState::from_raw(read_field!(self, operstate))
    }

    /// Applies a pending carrier change to the operational state now instead of at the next
    /// linkwatch run (`linkwatch_sync_dev`).
    pub fn sync_link_state(&self, _rtnl: &Rtnl) {
        // SAFETY: `self.as_raw()` is a valid `net_device` and the rtnl lock, which the state
        // change notification needs, is held.
        unsafe { bindings::netdev_linkwatch_sync(self.as_raw()) }
    }

    /// Makes queue `index` of `kind` refer to NAPI context `napi`, or to none
    /// (`netif_queue_set_napi`), so that `netdev` netlink reports which context serves the
    /// queue (`queue-get`) and busy polling finds it.
    ///
    /// The device holds a reference to the context until the queue refers to another one or to
    /// none, or until the device is freed: clear the queues (e.g. when the interface goes down)
    /// to let their contexts go. `napi` must be a context of this device; `index` must be below
    /// [`Self::num_rx_queues`] or [`Self::num_tx_queues`].
    pub fn set_queue_napi<P: Poll + 'static>(
        &self,
        kind: QueueKind,
        index: u32,
        napi: Option<&Arc<Napi<P>>>,
        _rtnl: &Rtnl,
    ) -> Result {
        if let Some(n) = napi {
            // SAFETY: `n` was added to a device by `Napi::new*`, which set `napi->dev`; the
            // field does not change afterwards.
            if unsafe { (*n.as_raw()).dev } != self.as_raw() {
                return Err(EINVAL);
            }
        }
        // SAFETY: By the type invariant the private area is initialised; the rtnl lock is held,
        // so nothing else accesses the table (see the invariant of `QueueNapis`).
        let table = unsafe { &mut *self.queue_napis_of(kind) };
        let slot = table.get_mut(index as usize).ok_or(EINVAL)?;
        let raw = napi.map_or(ptr::null_mut(), |n| n.as_raw());
        let ty = match kind {
            QueueKind::Rx => bindings::netdev_queue_type_NETDEV_QUEUE_TYPE_RX,
            QueueKind::Tx => bindings::netdev_queue_type_NETDEV_QUEUE_TYPE_TX,
        };
        // SAFETY: `self.as_raw()` is a valid device, `index` is below its number of queues of
        // that kind (the table has one entry per queue), the rtnl lock is held as the function
        // requires of a device that is not ops-locked, and `raw` is null or a context of this
        // device that the table keeps alive while the queue refers to it.
        unsafe { bindings::netif_queue_set_napi(self.as_raw(), index, ty, raw) };
        // INVARIANT: The queue refers to the context the slot now holds; the previous one is
        // dropped after the queue stopped referring to it.
        let new = napi.cloned().map(|n| -> Arc<dyn QueueNapi> { n });
        let old = core::mem::replace(slot, new);
        drop(old);
        Ok(())
    }

    /// Returns the id of the NAPI context queue `index` of `kind` refers to, as `netdev`
    /// netlink reports it (`queue-get`: `napi-id`); `None` if it refers to none, or the queue
    /// does not exist.
    pub fn queue_napi_id(&self, kind: QueueKind, index: u32, _rtnl: &Rtnl) -> Option<u32> {
        let raw = self.as_raw();
        let napi = match kind {
            QueueKind::Rx => {
                if index >= self.num_rx_queues() {
                    return None;
                }
                // SAFETY: `raw` is a valid device whose `_rx` array holds `num_rx_queues`
                // queues; the rtnl lock, held, serialises the writers of `napi`.
                unsafe { (*(*raw)._rx.add(index as usize)).napi }
            }
            QueueKind::Tx => {
                let queue = self.tx_queue(index)?;
                // SAFETY: `queue` is a valid queue of the device; as above for `napi`.
                unsafe { (*queue.as_raw()).napi }
            }
        };
        if napi.is_null() {
            return None;
        }
        // SAFETY: A queue refers only to a context that is alive (see `set_queue_napi`, and
        // the invariant of `QueueNapis`), and the rtnl lock keeps it from changing.
        Some(unsafe { ptr::read_volatile(&raw const (*napi).napi_id) })
    }

    /// Returns the table of the queues of `kind`.
    fn queue_napis_of(&self, kind: QueueKind) -> *mut KVec<Option<Arc<dyn QueueNapi>>> {
        let private = self.private();
        // SAFETY: By the type invariant the private area holds an initialised `Private`.
        unsafe {
            match kind {
                QueueKind::Rx => (*private).queue_napis.rx.get(),
                QueueKind::Tx => (*private).queue_napis.tx.get(),
            }
        }
    }

    /// Returns whether the interface is up (`netif_running`).
    pub fn is_running(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// Brings the interface down (`dev_close`), like `ip link set dev down`; nothing happens if
    /// it is down. For a driver that cannot keep the interface up, e.g. after a failed reset
    /// in [`Driver::rtnl_work`].
    ///
    /// Needs an [`RtnlOuter`]: from inside [`Driver::stop`] (or any operation the core calls
    /// while closing devices) the device would be put on a second close list and stopped twice.
    pub fn close(&self, _rtnl: &RtnlOuter) {
        // SAFETY: `self.as_raw()` is a valid `net_device` and the rtnl lock is held by a thread
        // that runs no operation of any device (`RtnlOuter`), so no close of this device is in
        // progress and `close_list` is free; `dev_close()` does nothing for a device that is
        // not up (never registered, or unregistered, devices are not).
        unsafe { bindings::dev_close(self.as_raw()) }
    }

    /// Returns the transmit watchdog timeout in milliseconds (`watchdog_timeo`).
    pub fn watchdog_timeout_ms(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `net_device`; the helper reads the field with
        // `READ_ONCE()`.
        unsafe { bindings::netdev_watchdog_timeo_ms(self.as_raw()) }
    }

    /// Changes how long a stopped transmit queue may stay stopped before
    /// [`Driver::tx_timeout`] is called. Takes effect at the watchdog's next period, or when the
    /// interface next comes up.
    pub fn set_watchdog_timeout_ms(&self, ms: u32, _rtnl: &Rtnl) {
        let jiffies = c_int::try_from(msecs_to_jiffies(ms))
            .unwrap_or(c_int::MAX)
            .max(1);
        // SAFETY: `self.as_raw()` is a valid `net_device`; the volatile write, of an aligned
        // `int`, is the `WRITE_ONCE()` the watchdog timer tolerates.
        unsafe { ptr::write_volatile(&raw mut (*self.as_raw()).watchdog_timeo, jiffies) };
    }

    /// Schedules the device's work item, which calls [`Driver::rtnl_work`] with the rtnl lock
    /// held, on the system workqueue for long work. May be called in any context, e.g. from
    /// [`Driver::tx_timeout`]. Returns `false` if it was already scheduled (it then runs once)
    /// or if the device is being freed.
    pub fn schedule_rtnl_work(&self) -> bool {
        // SAFETY: By the type invariant, the private area is initialised, so `work` is an
        // initialised `work_struct` that stays valid until the device is freed; `release()`
        // disables it (so this returns `false` from then on) and waits for it before freeing.
        // `system_long_wq` is a C global, always valid.
        unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                bindings::system_long_wq,
                (*self.private()).work.get(),
            )
        }
    }

    /// Cancels the device's work item if it is scheduled and not running yet (`cancel_work`),
    /// e.g. when the interface goes down. Does not wait: a running [`Driver::rtnl_work`] may be
    /// waiting for the rtnl lock, so safe with the lock held. Returns whether it was pending.
    pub fn cancel_rtnl_work(&self) -> bool {
        // SAFETY: As in `schedule_rtnl_work()`, `work` is an initialised `work_struct`.
        unsafe { bindings::cancel_work((*self.private()).work.get()) }
    }

    /// Marks the device as removed from the system and stops its transmit queues
    /// (`netif_device_detach`), e.g. while the hardware is reconfigured or reset.
    pub fn device_detach(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_device_detach(self.as_raw()) }
    }

    /// Marks the device as present again and wakes its transmit queues if it is up
    /// (`netif_device_attach`).
    pub fn device_attach(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_device_attach(self.as_raw()) }
    }

    /// Returns whether the device is present (`netif_device_present`).
    pub fn device_present(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_device_present(self.as_raw()) }
    }

    /// Returns transmit queue `index`, or `None` if `index` is not below
    /// [`Self::num_tx_queues`].
    pub fn tx_queue(&self, index: u32) -> Option<&TxQueue> {
        if index >= self.num_tx_queues() {
            return None;
        }
        // SAFETY: `self.as_raw()` is a valid `net_device` and `index` is within its array of
        // `num_tx_queues` queues, which lives as long as the device.
        let queue = unsafe { bindings::netdev_get_tx_queue(self.as_raw(), index) };
        // SAFETY: `queue` is a valid `netdev_queue` that lives as long as `self`.
        Some(unsafe { TxQueue::from_raw(queue) })
    }

    /// Allows transmission on all transmit queues (`netif_tx_start_all_queues`).
    pub fn tx_start_all_queues(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_tx_start_all_queues(self.as_raw()) }
    }

    /// Restarts transmission on all transmit queues (`netif_tx_wake_all_queues`).
    pub fn tx_wake_all_queues(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_tx_wake_all_queues(self.as_raw()) }
    }

    /// Stops transmission on all transmit queues (`netif_tx_stop_all_queues`).
    pub fn tx_stop_all_queues(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_tx_stop_all_queues(self.as_raw()) }
    }

    /// Stops all transmit queues and waits for running transmissions (`netif_tx_disable`).
    ///
    /// Must not be called from [`Driver::start_xmit`] (it takes the queue locks).
    pub fn tx_disable(&self) {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        unsafe { bindings::netif_tx_disable(self.as_raw()) }
    }

    /// Prints an error-level message prefixed with the driver, the parent device and the
    /// interface name (`netdev_err`). See [`netdev_err!`](crate::netdev_err).
    pub fn pr_err(&self, args: fmt::Arguments<'_>) {
        // SAFETY: `KERN_ERR` is one of the kernel's NUL-terminated level prefixes.
        unsafe { self.printk(bindings::KERN_ERR, args) }
    }

    /// Prints a warning-level message like [`Device::pr_err`] (`netdev_warn`).
    pub fn pr_warn(&self, args: fmt::Arguments<'_>) {
        // SAFETY: `KERN_WARNING` is one of the kernel's NUL-terminated level prefixes.
        unsafe { self.printk(bindings::KERN_WARNING, args) }
    }

    /// Prints an info-level message like [`Device::pr_err`] (`netdev_info`).
    pub fn pr_info(&self, args: fmt::Arguments<'_>) {
        // SAFETY: `KERN_INFO` is one of the kernel's NUL-terminated level prefixes.
        unsafe { self.printk(bindings::KERN_INFO, args) }
    }

    /// Prints a debug-level message like [`Device::pr_err`], in debug builds only.
    pub fn pr_dbg(&self, args: fmt::Arguments<'_>) {
        if cfg!(debug_assertions) {
            // SAFETY: `KERN_DEBUG` is one of the kernel's NUL-terminated level prefixes.
            unsafe { self.printk(bindings::KERN_DEBUG, args) }
        }
    }

    /// # Safety
    ///
    /// `klevel` must be one of the NUL-terminated `KERN_*` prefixes.
    #[cfg_attr(not(CONFIG_PRINTK), allow(unused_variables))]
    unsafe fn printk(&self, klevel: &[u8], msg: fmt::Arguments<'_>) {
        // SAFETY: `klevel` is a level prefix (see the safety requirements) and `self.as_raw()` a
        // valid device; "%pA" makes the kernel format the `fmt::Arguments` the last argument
        // points to.
        #[cfg(CONFIG_PRINTK)]
        unsafe {
            bindings::netdev_printk(
                klevel.as_ptr().cast::<crate::ffi::c_char>(),
                self.as_raw(),
                c"%pA".as_char_ptr(),
                ptr::from_ref(&msg).cast::<crate::ffi::c_void>(),
            )
        };
    }

    /// Allocates a receive buffer of `len` bytes with headroom (`netdev_alloc_skb`), in any
    /// context.
    pub fn alloc_skb(&self, len: u32) -> Result<Skb> {
        // SAFETY: `self.as_raw()` is a valid `net_device`.
        let skb = unsafe { bindings::netdev_alloc_skb(self.as_raw(), len) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A non-null result is a new `sk_buff` owned by the caller.
        Ok(unsafe { Skb::from_raw(skb) })
    }
}

/// Returns whether the stack hands the driver more packets right after the one being
/// transmitted (`netdev_xmit_more`), so the driver may defer its doorbell. Meaningful in
/// [`Driver::start_xmit`]; elsewhere the answer is stale but harmless.
pub fn xmit_more() -> bool {
    // SAFETY: Reads a per-CPU flag with a preemption-safe accessor.
    unsafe { bindings::netdev_xmit_more() }
}

/// A transmit queue of a network device (`struct netdev_queue`).
///
/// # Invariants
///
/// `self.0` is a valid `netdev_queue` of a live `net_device`.
#[repr(transparent)]
pub struct TxQueue(Opaque<bindings::netdev_queue>);

impl TxQueue {
    /// Creates a reference to a [`TxQueue`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `netdev_queue` that stays valid for the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::netdev_queue) -> &'a Self {
        // SAFETY: `TxQueue` is a transparent wrapper and the caller guarantees validity.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `struct netdev_queue` pointer.
    pub fn as_raw(&self) -> *mut bindings::netdev_queue {
        self.0.get()
    }

    /// Stops the stack from handing packets to this queue (`netif_tx_stop_queue`).
    pub fn stop(&self) {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netif_tx_stop_queue(self.as_raw()) }
    }

    /// Allows transmission on this queue without scheduling it (`netif_tx_start_queue`).
    pub fn start(&self) {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netif_tx_start_queue(self.as_raw()) }
    }

    /// Restarts a stopped queue and schedules it (`netif_tx_wake_queue`).
    pub fn wake(&self) {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netif_tx_wake_queue(self.as_raw()) }
    }

    /// Returns whether the driver stopped this queue (`netif_tx_queue_stopped`).
    pub fn is_stopped(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netif_tx_queue_stopped(self.as_raw()) }
    }

    /// Returns whether the queue takes no packets: stopped by the driver, or by byte queue
    /// limits (`netif_xmit_stopped`); what the core's watchdog checks.
    pub fn is_xmit_stopped(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netif_xmit_stopped(self.as_raw()) }
    }

    /// Returns how many times the core's watchdog found this queue stuck (`trans_timeout`,
    /// sysfs `queues/tx-N/tx_timeout`).
    pub fn timeouts(&self) -> u64 {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`; the helper reads the atomic.
        unsafe { bindings::netdev_queue_trans_timeouts(self.as_raw()) }
    }

    /// Returns the milliseconds since the core last handed this queue a packet the driver
    /// accepted (`trans_start`): in [`Driver::tx_timeout`], how long the queue has been stuck.
    pub fn ms_since_last_transmit(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`; the helper reads `trans_start` with
        // `READ_ONCE()`.
        unsafe { bindings::netdev_queue_trans_age_ms(self.as_raw()) }
    }

    /// Reports `bytes` handed to the device, for byte queue limits (`netdev_tx_sent_queue`).
    ///
    /// Every byte reported here must later be reported once by [`Self::completed`] (or the
    /// queue [`reset`](Self::reset)); the core `BUG()`s on completing more than was sent.
    pub fn sent(&self, bytes: u32) {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netdev_tx_sent_queue(self.as_raw(), bytes) }
    }

    /// Reports `bytes` handed to the device for byte queue limits, knowing whether the stack
    /// has more packets for the driver right away (`__netdev_tx_sent_queue` with
    /// [`xmit_more`]). Returns whether the driver must ring the device's doorbell now: the stack
    /// sends no more packets at once, or the queue is stopped (by the driver or by the byte
    /// limit), so no later call would ring it.
    pub fn sent_more(&self, bytes: u32, more: bool) -> bool {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::__netdev_tx_sent_queue(self.as_raw(), bytes, more) }
    }

    /// Reports transmit completions, for byte queue limits (`netdev_tx_completed_queue`).
    pub fn completed(&self, packets: u32, bytes: u32) {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netdev_tx_completed_queue(self.as_raw(), packets, bytes) }
    }

    /// Forgets the byte queue limit accounting, e.g. when the queue is destroyed
    /// (`netdev_tx_reset_queue`).
    pub fn reset(&self) {
        // SAFETY: `self.as_raw()` is a valid `netdev_queue`.
        unsafe { bindings::netdev_tx_reset_queue(self.as_raw()) }
    }
}

/// The C callbacks of a [`Driver`].
struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    const OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::open_callback),
        ndo_stop: Some(Self::stop_callback),
        ndo_start_xmit: Some(Self::start_xmit_callback),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu_callback)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout_callback)
        } else {
            None
        },
        ndo_fix_features: if T::HAS_FIX_FEATURES {
            Some(Self::fix_features_callback)
        } else {
            None
        },
        ndo_set_features: if T::HAS_SET_FEATURES {
            Some(Self::set_features_callback)
        } else {
            None
        },
        ndo_bpf: if T::HAS_XDP_SETUP {
            Some(xdp::bpf_callback::<T>)
        } else {
            None
        },
        ndo_xdp_xmit: if T::HAS_XDP_XMIT {
            Some(xdp::xdp_xmit_callback::<T>)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        // SAFETY: All other fields are optional callbacks, for which all-zeroes means `None`.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// # Safety
    ///
    /// `dev` must be a device of driver `T` passed to one of its `net_device_ops` callbacks.
    unsafe fn device<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: The core only calls `T`'s callbacks for devices whose `netdev_ops` are `T`'s,
        // i.e. devices allocated by `UnregisteredDevice::<T>::new`; they are not freed, nor is
        // their private data dropped, before they are unregistered, after which the core makes
        // no more calls. The reference does not outlive the callback.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_open`.
    unsafe extern "C" fn open_callback(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: The core calls `ndo_open` with the rtnl lock held (`__dev_open()`), and the
        // devices of these abstractions are not ops-locked.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| {
            T::open(dev, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_stop`.
    unsafe extern "C" fn stop_callback(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: The core calls `ndo_stop` with the rtnl lock held (`__dev_close_many()`).
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| {
            T::stop(dev, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_start_xmit`.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let Some(skb) = NonNull::new(skb) else {
            return bindings::netdev_tx_NETDEV_TX_OK;
        };
        // SAFETY: `ndo_start_xmit` receives the ownership of a valid `sk_buff`; the core takes
        // it back only if the callback returns `NETDEV_TX_BUSY`.
        let owned = unsafe { Skb::from_raw(skb) };
        match T::start_xmit(dev, owned) {
            TxResult::Consumed => bindings::netdev_tx_NETDEV_TX_OK,
            TxResult::Busy(returned) if returned.as_raw() == skb.as_ptr() => {
                // The core keeps the packet and retries it later: give the ownership back.
                let _ = returned.into_raw();
                bindings::netdev_tx_NETDEV_TX_BUSY
            }
            TxResult::Busy(other) => {
                // The driver kept `skb` and gave back another packet: `skb` is the driver's,
                // so report it consumed, and drop the packet the core never owned.
                pr_warn!("netdev: start_xmit returned a different sk_buff as busy\n");
                drop(other);
                bindings::netdev_tx_NETDEV_TX_OK
            }
        }
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_get_stats64`, with a valid `storage`.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut bindings::net_device,
        storage: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let mut stats = Stats64::default();
        T::get_stats64(dev, &mut stats);
        // SAFETY: The core passes a valid, exclusively owned `rtnl_link_stats64`.
        let storage = unsafe { &mut *storage };
        storage.rx_packets = stats.rx_packets;
        storage.tx_packets = stats.tx_packets;
        storage.rx_bytes = stats.rx_bytes;
        storage.tx_bytes = stats.tx_bytes;
        storage.rx_errors = stats.rx_errors;
        storage.tx_errors = stats.tx_errors;
        storage.rx_dropped = stats.rx_dropped;
        storage.tx_dropped = stats.tx_dropped;
        storage.multicast = stats.multicast;
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_change_mtu`.
    unsafe extern "C" fn change_mtu_callback(
        dev: *mut bindings::net_device,
        new_mtu: c_int,
    ) -> c_int {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        from_result(|| {
            let new_mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            // SAFETY: The core calls `ndo_change_mtu` with the rtnl lock held (`dev_set_mtu()`
            // and its callers).
            let rtnl = unsafe { Rtnl::assume_held() };
            T::change_mtu(dev, new_mtu, &rtnl)?;
            dev.set_mtu(new_mtu, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_tx_timeout`.
    unsafe extern "C" fn tx_timeout_callback(dev: *mut bindings::net_device, txqueue: c_uint) {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        T::tx_timeout(dev, txqueue);
    }

    /// Runs [`Driver::rtnl_work`] for the device whose work item `work` is.
    ///
    /// # Safety
    ///
    /// Called by the workqueue for the `work` of a `Private<T::Data>` initialised by
    /// [`UnregisteredDevice::<T>::new`].
    unsafe extern "C" fn rtnl_work_callback(work: *mut bindings::work_struct) {
        // SAFETY: `work` is the `work` field of a `Private<T::Data>` (`Opaque` is transparent),
        // so the containing private area is found at the field's offset.
        let private = unsafe {
            crate::container_of!(
                work.cast::<Opaque<bindings::work_struct>>(),
                Private<T::Data>,
                work
            )
        };
        // SAFETY: The private area is initialised and lives until `release()`, which disables
        // the work item and waits for this call before dropping it; `dev` never changes.
        let raw = unsafe { (*private).dev };
        let rtnl = rtnl_lock();
        // SAFETY: `raw` is valid (see above); `reg_state` only changes under the rtnl lock,
        // which is held.
        let registered =
            unsafe { (*raw).reg_state } == bindings::netdev_reg_state_NETREG_REGISTERED as u8;
        // A driver without `rtnl_work` never schedules the work; the check keeps the default
        // method (a build error) out of its build.
        if registered && T::HAS_RTNL_WORK {
            // SAFETY: `raw` was allocated by `UnregisteredDevice::<T>::new` and, as above, is
            // neither freed nor is its private data dropped before this call returns.
            let dev = unsafe { Device::<T>::from_raw(raw) };
            T::rtnl_work(dev, &rtnl);
        }
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_fix_features`.
    unsafe extern "C" fn fix_features_callback(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> bindings::netdev_features_t {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        T::fix_features(dev, Features(features)).0
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_set_features`.
    unsafe extern "C" fn set_features_callback(
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> c_int {
        // SAFETY: This is a `net_device_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        from_result(|| {
            // SAFETY: The core calls `ndo_set_features` with the rtnl lock held
            // (`__netdev_update_features()`).
            let rtnl = unsafe { Rtnl::assume_held() };
            T::set_features(dev, Features(features), &rtnl)?;
            Ok(0)
        })
    }
}

/// Drops the private data of a device and frees it.
///
/// # Safety
///
/// `dev` must have been allocated by [`UnregisteredDevice::<T>::new`] and be unregistered
/// (never registered, or `unregister_netdev()` has returned). Nothing else may use it, and this
/// must be called only once.
unsafe fn release<T: Driver>(dev: NonNull<bindings::net_device>) {
    let raw = dev.as_ptr();
    // No work item runs from here on, nor can one be scheduled. (A work item waiting for the
    // rtnl lock is waited for: the lock must not be held here, see `Registration`.)
    // SAFETY: The private area's `work` is an initialised `work_struct`.
    unsafe {
        let private = bindings::netdev_priv(raw).cast::<Private<T::Data>>();
        bindings::disable_work_sync((*private).work.get())
    };
    // SAFETY: The private area holds an initialised `Private<T::Data>` that nothing uses any
    // more; the data is dropped in place, where it was pinned (the rest needs no drop).
    unsafe {
        let private = bindings::netdev_priv(raw).cast::<Private<T::Data>>();
        ptr::drop_in_place(&raw mut (*private).data)
    };
    // The queues stop referring to their NAPI contexts, which may go now (before the check
    // below). The device is unregistered, so no reader of the pointers is left, and the core
    // asks for no lock.
    // SAFETY: The private area holds an initialised `Private<T::Data>` that nothing else uses.
    let napis = unsafe {
        let private = bindings::netdev_priv(raw).cast::<Private<T::Data>>();
        ptr::read(&raw const (*private).queue_napis)
    };
    for (kind, table) in [
        (
            bindings::netdev_queue_type_NETDEV_QUEUE_TYPE_RX,
            napis.rx.into_inner(),
        ),
        (
            bindings::netdev_queue_type_NETDEV_QUEUE_TYPE_TX,
            napis.tx.into_inner(),
        ),
    ] {
        for (index, slot) in table.into_iter().enumerate() {
            if slot.is_some() {
                // CAST: `index` is below the number of queues, a `u32`.
                let index = index as u32;
                // SAFETY: `raw` is valid and unregistered; `index` is one of its queues (the
                // table has one entry per queue). The context is dropped after this.
                unsafe { bindings::netif_queue_set_napi(raw, index, kind, ptr::null_mut()) };
            }
            drop(slot);
        }
    }

    // The owner's reference to the memory goes. A `napi::Napi` that outlives the private data
    // (it escaped it) holds its own and frees the device when it goes.
    // INVARIANT: The owner's reference is counted in `mem_refs` until here.
    // SAFETY: The device is unregistered and its private data dropped; the owner held its
    // reference until now.
    drop(unsafe { DeviceMemRef::adopt(dev) });
}

/// A reference to the memory of a network device of these abstractions, not to its private
/// data nor to its registration: the device is freed (`free_netdev`) when the last goes, which
/// is only once its owner released it (unregistered it and dropped its private data).
///
/// # Invariants
///
/// `dev` is a `net_device` allocated by [`UnregisteredDevice::new`], whose `mem_refs` counts
/// this object.
pub(crate) struct DeviceMemRef {
    dev: NonNull<bindings::net_device>,
}

// SAFETY: The reference may be taken and dropped on any thread (dropping the last one frees the
// device, which is allowed in any process context).
unsafe impl Send for DeviceMemRef {}

// SAFETY: A shared reference gives nothing.
unsafe impl Sync for DeviceMemRef {}

impl DeviceMemRef {
    /// Takes a reference to the memory of `dev`.
    pub(crate) fn new<T: Driver>(dev: &Device<T>) -> Self {
        let raw = dev.as_raw();
        // SAFETY: By the type invariant of `Device`, the private area holds an initialised
        // `Private`, whose first field is `mem_refs`, and the device is not released while the
        // reference exists: its owner's reference is counted, so the count is not zero.
        unsafe { Self::count(raw) }.inc();
        // INVARIANT: Counted above. `raw` is not null (a valid device).
        Self {
            dev: NonNull::new(raw).unwrap_or(NonNull::dangling()),
        }
    }

    /// Takes over the owner's reference to the memory of `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be a device of [`UnregisteredDevice::new`] whose owner releases it: it is
    /// unregistered, its private data dropped, and its owner's reference is given up here.
    unsafe fn adopt(dev: NonNull<bindings::net_device>) -> Self {
        // INVARIANT: The owner's reference, counted since `UnregisteredDevice::new`.
        Self { dev }
    }

    /// The count of device `raw`.
    ///
    /// # Safety
    ///
    /// `raw` must be a device of [`UnregisteredDevice::new`] that is not freed.
    unsafe fn count<'a>(raw: *mut bindings::net_device) -> &'a Refcount {
        // SAFETY: The private area of such a device starts with `Private::mem_refs` (the first
        // field of a `repr(C)` struct is at offset 0, whatever the driver's data), initialised
        // in `UnregisteredDevice::new`; the caller guarantees the device is not freed.
        unsafe { &*bindings::netdev_priv(raw).cast::<Refcount>() }
    }

    /// Returns the number of references (for tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn refs(&self) -> i32 {
        // SAFETY: By the type invariant, the count includes `self`, so the device is not freed.
        unsafe { Self::count(self.dev.as_ptr()) }
            .as_atomic()
            .load(crate::sync::atomic::Relaxed)
    }
}

impl Drop for DeviceMemRef {
    fn drop(&mut self) {
        let raw = self.dev.as_ptr();
        // SAFETY: By the type invariant, the count includes `self`, so the device is not freed.
        if unsafe { Self::count(raw) }.dec_and_test() {
            // SAFETY: This was the last reference: the owner released the device (its reference
            // is the last but for the contexts', and a context's goes after `netif_napi_del`),
            // so it is unregistered, its data dropped, no context is on its list any more, and
            // nothing else uses it.
            unsafe { bindings::free_netdev(raw) };
        }
    }
}

/// A network device of driver `T` that is not registered yet.
///
/// Created by [`UnregisteredDevice::new`], configured through its methods, and registered by
/// [`Registration::new`]. Dropping it drops the private data and frees the device, after
/// waiting for its work item ([`Device::schedule_rtnl_work`]): if that was scheduled, it must
/// not be dropped with the rtnl lock held.
///
/// # Invariants
///
/// `dev` is a `net_device` allocated by `alloc_etherdev_mqs()` whose `netdev_ops` are `T`'s
/// and whose private area holds an initialised `T::Data`. It is not registered, and this object
/// owns it. Its `dev.parent` is not set.
pub struct UnregisteredDevice<T: Driver> {
    dev: NonNull<bindings::net_device>,
    _driver: PhantomData<T>,
}

// SAFETY: The device may be configured, registered and freed from any thread; `T::Data` is
// `Send`.
unsafe impl<T: Driver> Send for UnregisteredDevice<T> {}

// SAFETY: Shared references only give a `&Device<T>`, which is `Sync`.
unsafe impl<T: Driver> Sync for UnregisteredDevice<T> {}

impl<T: Driver> UnregisteredDevice<T> {
    /// Allocates an Ethernet device with `tx_queues` transmit and `rx_queues` receive queues
    /// (`alloc_etherdev_mqs`), named `eth%d`, and initialises its private data with `data`.
    ///
    /// The MTU is 1500 with bounds 68..=1500, the carrier is on, the MAC address zero.
    pub fn new<E>(tx_queues: u32, rx_queues: u32, data: impl PinInit<T::Data, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        // The private area is `____cacheline_aligned` in a `net_device` that is itself at
        // least `NETDEV_ALIGN` aligned.
        const {
            assert!(core::mem::align_of::<Private<T::Data>>() <= bindings::NETDEV_ALIGN as usize);
        }
        let size = c_int::try_from(core::mem::size_of::<Private<T::Data>>()).map_err(|_| EINVAL)?;
        if tx_queues == 0 || rx_queues == 0 {
            return Err(EINVAL);
        }
        // SAFETY: Plain allocation; the arguments were checked above.
        let raw = unsafe { bindings::alloc_etherdev_mqs(size, tx_queues, rx_queues) };
        let dev = NonNull::new(raw).ok_or(ENOMEM)?;

        // SAFETY: `raw` is a new device that nothing else knows about.
        unsafe { (*raw).netdev_ops = const { &Adapter::<T>::OPS } };
        let queue_napis = match QueueNapis::new(rx_queues, tx_queues) {
            Ok(q) => q,
            Err(e) => {
                // SAFETY: The device was never registered and its private area is not
                // initialised, so there is nothing to drop.
                unsafe { bindings::free_netdev(raw) };
                return Err(e);
            }
        };

        // SAFETY: `raw` is a valid `net_device`.
        let private = unsafe { bindings::netdev_priv(raw) }.cast::<Private<T::Data>>();
        // SAFETY: `private` is the private area, `size_of::<Private<T::Data>>()` bytes, aligned
        // as checked above, and uninitialised.
        unsafe { ptr::write(&raw mut (*private).ethtool, ethtool::Sizes::new()) };
        // SAFETY: As above. The owner's reference.
        unsafe { ptr::write(&raw mut (*private).mem_refs, Refcount::new(1)) };
        // SAFETY: As above, an uninitialised field of the private area.
        unsafe { ptr::write(&raw mut (*private).queue_napis, queue_napis) };
        // SAFETY: As above, `dev` and `work` are uninitialised fields of the private area.
        unsafe {
            ptr::write(&raw mut (*private).dev, raw);
            bindings::init_work_with_key(
                Opaque::cast_into(&raw const (*private).work),
                Some(Adapter::<T>::rtnl_work_callback),
                false,
                RTNL_WORK_NAME.as_char_ptr(),
                RTNL_WORK_CLASS.as_ptr(),
            )
        };
        // SAFETY: `data` is a field of the private area, uninitialised. The `net_device` never
        // moves, and `release()` drops the data in place before freeing it, so it stays pinned.
        if let Err(e) = unsafe { pin_init::raw_try_init(&raw mut (*private).data, data) } {
            // SAFETY: The device was never registered and its private data is not initialised;
            // the queue table, initialised above and never used, is dropped before the device
            // is freed.
            unsafe {
                ptr::drop_in_place(&raw mut (*private).queue_napis);
                bindings::free_netdev(raw)
            };
            return Err(e.into());
        }
        // INVARIANT: Allocated with `T`'s operations and initialised data, not registered, no
        // parent.
        Ok(Self {
            dev,
            _driver: PhantomData,
        })
    }

    fn raw(&self) -> *mut bindings::net_device {
        self.dev.as_ptr()
    }

    /// Sets the port number of the device on its parent (`dev_port`, sysfs `dev_port`), for
    /// devices with several ports on one parent: user space (udev naming, DPDK's mapping of
    /// an RDMA port to its netdev) tells the ports apart by it.
    pub fn set_dev_port(&mut self, port: u16) {
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).dev_port = port };
    }

    /// Sets the number of transmit and receive queues in use, before registration.
    pub fn set_real_num_queues(&mut self, tx: u32, rx: u32) -> Result {
        // SAFETY: The device is valid and not registered, so the functions need no lock; they
        // check the counts.
        to_result(unsafe { bindings::netif_set_real_num_tx_queues(self.raw(), tx) })?;
        // SAFETY: As above.
        to_result(unsafe { bindings::netif_set_real_num_rx_queues(self.raw(), rx) })
    }

    /// Sets the MTU bounds; the MTU is clamped into them.
    pub fn set_mtu_bounds(&mut self, min: u32, max: u32) -> Result {
        if min > max || max > c_int::MAX as u32 {
            return Err(EINVAL);
        }
        let mtu = self.mtu().clamp(min, max);
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe {
            (*self.raw()).min_mtu = min;
            (*self.raw()).max_mtu = max;
            (*self.raw()).mtu = mtu;
        }
        Ok(())
    }

    /// Sets the MAC address (`eth_hw_addr_set`).
    pub fn set_mac_address(&mut self, addr: &[u8; ETH_ALEN]) {
        // SAFETY: The device is valid and `addr` holds `ETH_ALEN` bytes.
        unsafe { bindings::eth_hw_addr_set(self.raw(), addr.as_ptr()) }
    }

    /// Sets the initially active features.
    pub fn set_features(&mut self, features: Features) {
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).features = features.0 }
    }

    /// Sets the features that the user may toggle.
    pub fn set_hw_features(&mut self, features: Features) {
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).hw_features = features.0 }
    }

    /// Sets the features inherited by VLAN devices on top of this one.
    pub fn set_vlan_features(&mut self, features: Features) {
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).vlan_features = features.0 }
    }

    /// Sets the largest GSO packet the device can segment (`netif_set_tso_max_size`).
    pub fn set_tso_max_size(&mut self, size: u32) {
        // SAFETY: The device is valid.
        unsafe { bindings::netif_set_tso_max_size(self.raw(), size) }
    }

    /// Sets the most segments of a GSO packet the device can handle (`netif_set_tso_max_segs`).
    pub fn set_tso_max_segs(&mut self, segs: u32) {
        // SAFETY: The device is valid.
        unsafe { bindings::netif_set_tso_max_segs(self.raw(), segs) }
    }

    /// Sets how long a stopped transmit queue may stay stopped before
    /// [`Driver::tx_timeout`] is called (the core's default is 5 s). The watchdog checks the
    /// queues about once per timeout, on whole seconds (`round_jiffies`).
    pub fn set_watchdog_timeout_ms(&mut self, ms: u32) {
        let jiffies = c_int::try_from(msecs_to_jiffies(ms))
            .unwrap_or(c_int::MAX)
            .max(1);
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).watchdog_timeo = jiffies }
    }

    /// Installs `T`'s [`ethtool::Operations`] as the device's `ethtool_ops`.
    pub fn set_ethtool_ops(&mut self)
    where
        T: ethtool::Operations,
    {
        // SAFETY: The device is valid and not registered, so nothing else accesses it; the
        // operations table is a static.
        unsafe { (*self.raw()).ethtool_ops = ethtool::ops_table::<T>() }
    }

    /// Installs `T`'s [`queue_stats::QueueStats`] as the device's `stat_ops`, so that `netdev`
    /// netlink reports its queue statistics.
    pub fn set_queue_stats_ops(&mut self)
    where
        T: queue_stats::QueueStats,
    {
        // SAFETY: The device is valid and not registered, so nothing else accesses it; the
        // operations table is a static.
        unsafe { (*self.raw()).stat_ops = queue_stats::ops_table::<T>() }
    }
}

impl<T: Driver> Deref for UnregisteredDevice<T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        // SAFETY: By the type invariant, the device was allocated by `Self::new` and lives,
        // with its private data, as long as `self`.
        unsafe { Device::from_raw(self.raw()) }
    }
}

impl<T: Driver> Drop for UnregisteredDevice<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self` owns the unregistered device; it is not used
        // after this.
        unsafe { release::<T>(self.dev) }
    }
}

/// A registered network device of driver `T` (`register_netdev`), child of a bound device.
///
/// Dropping it unregisters the device (`unregister_netdev`, which closes it and waits until the
/// core no longer uses it), waits for the device's work item, drops the private data and frees
/// the device. It must not be dropped with the rtnl lock held.
///
/// It borrows its parent, bound, for `'a` ([`Registration::new`]), as `drm::Registration`
/// does: the interface is unregistered at the latest when the parent's driver unbinds, which is
/// when a bus driver's data (`Data<'bound>`), where the registration lives, is dropped. Code
/// that outlives the registration (a `'static` event listener of the driver's core) reaches the
/// device through a [`DeviceHandle`] ([`Registration::handle`]), which fails once the
/// unregistration started. A device of no bus (a virtual device) is registered with
/// [`Registration::new_virtual`].
///
/// # Invariants
///
/// `dev` is a registered `net_device` allocated by [`UnregisteredDevice::<T>::new`], owned by
/// this object. Its `dev.parent`, if set, is bound for `'a`. `gate` is open (refers to `dev`)
/// until the drop starts unregistering the device.
pub struct Registration<'a, T: Driver> {
    dev: NonNull<bindings::net_device>,
    gate: Arc<Gate>,
    _parent: PhantomData<&'a device::Device<device::Bound>>,
    _driver: PhantomData<T>,
}

// SAFETY: Unregistration may happen on any thread; `T::Data` is `Send`.
unsafe impl<T: Driver> Send for Registration<'_, T> {}

// SAFETY: Shared references only give a `&Device<T>`, which is `Sync`, and call functions that
// take the locks they need.
unsafe impl<T: Driver> Sync for Registration<'_, T> {}

impl<'a, T: Driver> Registration<'a, T> {
    /// Registers `dev` with the network stack as a child of `parent` (`SET_NETDEV_DEV`), e.g.
    /// the PCI or auxiliary device of the adapter: sysfs links it as `device`, and tools like
    /// `udev` (interface naming) and `ethtool -i` find the bus from it. On failure the device
    /// is freed.
    pub fn new(
        parent: &'a device::Device<device::Bound>,
        dev: UnregisteredDevice<T>,
    ) -> Result<Self> {
        // SAFETY: The device is valid and not registered, so nothing else accesses it. The
        // parent is bound for `'a`, which the result cannot outlive, and the driver core takes
        // its own reference when the device is added.
        unsafe { (*dev.raw()).dev.parent = parent.as_raw() };
        Self::register(dev)
    }

    fn register(dev: UnregisteredDevice<T>) -> Result<Self> {
        let dev = ManuallyDrop::new(dev);
        let raw = dev.dev;
        let gate = match Gate::new(raw.as_ptr()) {
            Ok(gate) => gate,
            Err(e) => {
                // SAFETY: The device is not registered and we own it (`dev` will not be
                // dropped).
                unsafe { release::<T>(raw) };
                return Err(e);
            }
        };
        // SAFETY: `raw` is a valid, configured, unregistered device; `register_netdev()` takes
        // the rtnl lock itself.
        let ret = unsafe { bindings::register_netdev(raw.as_ptr()) };
        if ret != 0 {
            // SAFETY: Registration failed, so the device is still unregistered, and we own it
            // (`dev` will not be dropped).
            unsafe { release::<T>(raw) };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: The device is registered and its ownership moves from `dev`; the gate
        // refers to it; the caller vouches for the parent.
        Ok(Self {
            dev: raw,
            gate,
            _parent: PhantomData,
            _driver: PhantomData,
        })
    }
}

impl<T: Driver> Registration<'static, T> {
    /// Registers `dev`, a device of no bus (a virtual device), with the network stack. On
    /// failure the device is freed.
    pub fn new_virtual(dev: UnregisteredDevice<T>) -> Result<Self> {
        Self::register(dev)
    }
}

impl<T: Driver> Registration<'_, T> {
    /// Returns a handle to the device for code that may outlive the registration.
    pub fn handle(&self) -> DeviceHandle<T> {
        DeviceHandle {
            gate: self.gate.clone(),
            _driver: PhantomData,
        }
    }

    /// Asks for the features `wanted` as `ethtool -K` does: sets `wanted_features` and lets the
    /// core apply what the device allows (`netdev_update_features`, which calls the driver's
    /// `fix_features`/`set_features`). Features outside `hw_features` stay as they are.
    pub fn set_wanted_features(&self, wanted: Features, _rtnl: &RtnlOuter) {
        // SAFETY: The device is registered and the rtnl lock, which serializes feature
        // changes, is held outside of any device operation (no `ndo_set_features` to recurse
        // from).
        unsafe {
            (*self.dev.as_ptr()).wanted_features = wanted.0;
            bindings::netdev_update_features(self.dev.as_ptr());
        }
    }

    /// Brings the interface up (`dev_open`), like `ip link set dev up`.
    pub fn open(&self, _rtnl: &RtnlOuter) -> Result {
        // SAFETY: The device is registered and the rtnl lock is held outside of any device
        // operation (no `ndo_open` of this device in progress to re-enter).
        to_result(unsafe { bindings::dev_open(self.dev.as_ptr(), ptr::null_mut()) })
    }

    /// Brings the interface down (`dev_close`), like `ip link set dev down`.
    pub fn close(&self, _rtnl: &RtnlOuter) {
        // SAFETY: The device is registered and the rtnl lock is held outside of any device
        // operation, so no close of it is in progress (see [`Device::close`]).
        unsafe { bindings::dev_close(self.dev.as_ptr()) }
    }

    /// Transmits `skb` through the device's queueing discipline (`dev_queue_xmit`), as the
    /// stack does. The packet is consumed even on error.
    ///
    /// Must be called from process or softirq context, not with interrupts disabled.
    pub fn queue_xmit(&self, mut skb: Skb) -> Result {
        skb.set_dev_raw(self.dev.as_ptr());
        // SAFETY: The device is registered (it has its queueing discipline) and `skb` is owned;
        // `dev_queue_xmit()` takes its ownership in every case.
        let ret = unsafe { bindings::dev_queue_xmit(skb.into_raw().as_ptr()) };
        match ret {
            0 => Ok(()),
            // `NET_XMIT_CN`: queued, but congestion was signalled.
            2 => Ok(()),
            // `NET_XMIT_DROP`.
            1 => Err(ENOBUFS),
            e if e < 0 => Err(Error::from_errno(e)),
            _ => Err(EIO),
        }
    }
}

impl<T: Driver> Deref for Registration<'_, T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        // SAFETY: By the type invariant, the device was allocated by
        // `UnregisteredDevice::new` and lives, with its private data, as long as `self`.
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }
}

impl<T: Driver> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        // `unregister_netdev()`, with the gate closed under the same hold of the rtnl lock: a
        // `DeviceHandle` reaches the device only while the lock is held and the gate open, so
        // never once the unregistration started. (Taking the lock here is why the
        // registration must not be dropped with it held.)
        let rtnl = rtnl_lock();
        self.gate.close(&rtnl);
        // SAFETY: By the type invariant, the device is registered and owned by `self`; the
        // rtnl lock is held, as `unregister_netdevice_queue()` requires. Releasing the lock
        // runs the core's deferred work, which waits until the core no longer uses the device.
        unsafe { bindings::unregister_netdevice_queue(self.dev.as_ptr(), ptr::null_mut()) };
        drop(rtnl);
        // SAFETY: The unregistration finished when the rtnl lock was released: the device is
        // closed, unlisted, and the core waited for all its references, so nothing else uses
        // it (the gate is closed).
        unsafe { release::<T>(self.dev) };
    }
}

/// The gate through which [`DeviceHandle`]s reach a registered device: it refers to the device
/// while it is registered, and is closed, under the rtnl lock, before the unregistration
/// starts. Not generic, so that every driver shares its code.
///
/// # Invariants
///
/// `dev` is read and written only with the rtnl lock held. While it is not null, it is a
/// registered `net_device` of a [`Registration`], which closes the gate (makes it null) with
/// the rtnl lock held before it unregisters the device.
struct Gate {
    dev: core::cell::UnsafeCell<*mut bindings::net_device>,
}

// SAFETY: `dev` is only accessed with the rtnl lock held (type invariant), which serialises
// the threads; the pointer is only used for calls that may be made from any thread.
unsafe impl Send for Gate {}

// SAFETY: As above.
unsafe impl Sync for Gate {}

impl Gate {
    fn new(dev: *mut bindings::net_device) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                dev: core::cell::UnsafeCell::new(dev),
            },
            GFP_KERNEL,
        )?)
    }

    fn get(&self, _rtnl: &Rtnl) -> *mut bindings::net_device {
        // SAFETY: The rtnl lock is held (the `Rtnl` proves it), which serialises every access.
        unsafe { *self.dev.get() }
    }

    fn close(&self, _rtnl: &Rtnl) {
        // SAFETY: As in `get`.
        unsafe { *self.dev.get() = ptr::null_mut() };
    }
}

/// A handle to a registered network device of driver `T` that may outlive its
/// [`Registration`] ([`Registration::handle`]): it reaches the device, with the rtnl lock held,
/// only while the device is registered.
///
/// It is what code of a `'static` lifetime (an event listener of a driver's core, a work item)
/// keeps instead of the registration, which borrows its bound parent.
pub struct DeviceHandle<T: Driver> {
    gate: Arc<Gate>,
    _driver: PhantomData<T>,
}

impl<T: Driver> Clone for DeviceHandle<T> {
    fn clone(&self) -> Self {
        Self {
            gate: self.gate.clone(),
            _driver: PhantomData,
        }
    }
}

// SAFETY: The handle only reaches the device with the rtnl lock held, through `&Device<T>`,
// which is `Sync`; `T::Data` is `Send + Sync`.
unsafe impl<T: Driver> Send for DeviceHandle<T> {}

// SAFETY: As above.
unsafe impl<T: Driver> Sync for DeviceHandle<T> {}

impl<T: Driver> DeviceHandle<T> {
    /// Runs `f` on the device if it is still registered (else returns `None`), with the rtnl
    /// lock held (`rtnl`): the device stays registered while `f` runs, which may sleep.
    pub fn with<R>(&self, rtnl: &Rtnl, f: impl FnOnce(&Device<T>) -> R) -> Option<R> {
        let dev = self.gate.get(rtnl);
        if dev.is_null() {
            return None;
        }
        // SAFETY: The gate is open, so `dev` is a registered device of a `Registration<T>`
        // (the gate's type invariant; the handle comes from one of driver `T`), with its
        // private data; it is not unregistered, let alone freed, before the gate closes, which
        // needs the rtnl lock, held for the whole call.
        Some(f(unsafe { Device::from_raw(dev) }))
    }
}

/// Proof that the current thread holds the rtnl lock, which serialises network configuration.
///
/// Obtained from an [`RtnlGuard`], or given to the operations that the core calls with the
/// lock held. Needed by the methods that reconfigure a registered device.
///
/// # Invariants
///
/// The current thread holds the rtnl lock for as long as a reference to this object exists;
/// the object cannot leave the thread.
pub struct Rtnl(NotThreadSafe);

impl Rtnl {
    /// Asserts that the current thread holds the rtnl lock.
    ///
    /// # Safety
    ///
    /// The current thread must hold the rtnl lock for the lifetime of the returned object.
    pub(crate) unsafe fn assume_held() -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self(NotThreadSafe)
    }
}

/// Prints an error-level message (level 3) prefixed with the driver, the parent device and the
/// interface name, like the kernel's `netdev_err`.
///
/// `$dev` is a [`Device`] or anything that dereferences to one (e.g. a [`Registration`]); the
/// rest is as for [`pr_err!`](crate::pr_err).
#[macro_export]
macro_rules! netdev_err {
    ($dev:expr, $($f:tt)*) => { ($dev).pr_err($crate::prelude::fmt!($($f)*)) }
}

/// Prints a warning-level message (level 4), like the kernel's `netdev_warn`; see
/// [`netdev_err!`](crate::netdev_err).
#[macro_export]
macro_rules! netdev_warn {
    ($dev:expr, $($f:tt)*) => { ($dev).pr_warn($crate::prelude::fmt!($($f)*)) }
}

/// Prints an info-level message (level 6), like the kernel's `netdev_info`; see
/// [`netdev_err!`](crate::netdev_err).
#[macro_export]
macro_rules! netdev_info {
    ($dev:expr, $($f:tt)*) => { ($dev).pr_info($crate::prelude::fmt!($($f)*)) }
}

/// Prints a debug-level message (level 7) in debug builds, like the kernel's `netdev_dbg`
/// without dynamic debug; see [`netdev_err!`](crate::netdev_err).
#[macro_export]
macro_rules! netdev_dbg {
    ($dev:expr, $($f:tt)*) => { ($dev).pr_dbg($crate::prelude::fmt!($($f)*)) }
}

/// Proof that the current thread holds the rtnl lock and runs no operation of a network device
/// under it: it took the lock itself ([`rtnl_lock`]) or runs a device's [`Driver::rtnl_work`].
///
/// Needed, beyond an [`Rtnl`], by what the core must not be re-entered for from inside its own
/// operations: opening and closing an interface ([`Device::close`], [`Registration::open`]) and
/// recomputing its features ([`Device::update_features`]). It dereferences to an [`Rtnl`].
///
/// # Invariants
///
/// The current thread holds the rtnl lock, and is not inside a callback the core makes with it
/// held (`net_device_ops`, `ethtool_ops`, netdev notifiers), for as long as a reference to this
/// object exists; the object cannot leave the thread.
pub struct RtnlOuter(Rtnl);

impl RtnlOuter {
    /// Asserts that the current thread holds the rtnl lock outside of any device operation.
    ///
    /// # Safety
    ///
    /// The current thread must hold the rtnl lock for the lifetime of the returned object, and
    /// must not be running a callback of the networking core (it took the lock itself).
    pub(crate) unsafe fn assume_outer() -> Self {
        // SAFETY: Guaranteed by the caller.
        // INVARIANT: Guaranteed by the caller.
        Self(unsafe { Rtnl::assume_held() })
    }
}

impl Deref for RtnlOuter {
    type Target = Rtnl;

    fn deref(&self) -> &Rtnl {
        &self.0
    }
}

/// A held rtnl lock (`rtnl_lock`), released on drop.
///
/// # Invariants
///
/// The current thread holds the rtnl lock while this object exists.
pub struct RtnlGuard(RtnlOuter);

/// Takes the rtnl lock (`rtnl_lock`). May sleep.
///
/// Called from inside an operation the core makes with the lock held, it deadlocks (lockdep
/// reports it): such a caller already has an [`Rtnl`].
pub fn rtnl_lock() -> RtnlGuard {
    // SAFETY: Plain mutex acquisition.
    unsafe { bindings::rtnl_lock() };
    // SAFETY: The lock was just taken, so this thread did not hold it and runs no operation
    // the core makes under it (the core holds the lock for those); the guard releases it when
    // dropped, after the `RtnlOuter` it contains (and any reference to it) is gone.
    // INVARIANT: The lock is held; the guard cannot leave this thread.
    RtnlGuard(unsafe { RtnlOuter::assume_outer() })
}

impl Deref for RtnlGuard {
    type Target = RtnlOuter;

    fn deref(&self) -> &RtnlOuter {
        &self.0
    }
}

impl Drop for RtnlGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, this thread holds the rtnl lock.
        unsafe { bindings::rtnl_unlock() }
    }
}
