// SPDX-License-Identifier: GPL-2.0

//! Per-queue statistics of a network device, reported through `netdev` netlink (`ynl --family
//! netdev --dump qstats-get`).
//!
//! C header: [`include/net/netdev_queues.h`](srctree/include/net/netdev_queues.h); the meaning
//! of each counter is in the `netdev` netlink specification,
//! [`Documentation/netlink/specs/netdev.yaml`](srctree/Documentation/netlink/specs/netdev.yaml).
//!
//! A driver implements [`QueueStats`] next to its [`Driver`] and installs it with
//! [`UnregisteredDevice::set_queue_stats_ops`](super::UnregisteredDevice::set_queue_stats_ops)
//! (`struct netdev_stat_ops`). The core reports each active queue (below the real number of
//! queues) with [`QueueStats::get_queue_stats_rx`] and [`QueueStats::get_queue_stats_tx`], and
//! the device's totals as [`QueueStats::get_base_stats`] plus the sum over the active queues.
//! So the base must hold what the active queues do not: the counts of queues no longer active
//! (after `ethtool -L` lowered their number) and of packets that belong to no queue. Users
//! (and the `stats.py` selftest) expect the totals to match `ndo_get_stats64`.
//!
//! A counter left `None` is "not collected": per queue it is not reported; in the base it is
//! not reported for the device either, whatever the queues say.

use crate::{
    bindings,
    ffi::c_int,
    netdev::{
        Device,
        Driver,
        Rtnl, //
    },
    prelude::*,
};
use core::marker::PhantomData;

/// A counter the driver does not collect (`NETDEV_STAT_NOT_SET`).
const NOT_SET: u64 = u64::MAX;

fn get(v: u64) -> Option<u64> {
    (v != NOT_SET).then_some(v)
}

fn set(v: Option<u64>) -> u64 {
    // A real count of `u64::MAX` cannot be told from "not collected"; it saturates below it.
    v.map_or(NOT_SET, |v| v.min(NOT_SET - 1))
}

/// Generates a statistics struct mirroring a C `netdev_queue_stats_*` struct, with conversions.
macro_rules! queue_stats {
    (
        $(#[$meta:meta])*
        $name:ident => $c:ident { $($(#[$fmeta:meta])* $field:ident,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: Option<u64>,)*
        }

        impl $name {
            fn from_c(c: &bindings::$c) -> Self {
                Self { $($field: get(c.$field),)* }
            }

            fn to_c(self, c: &mut bindings::$c) {
                $(c.$field = set(self.$field);)*
            }

            fn not_set() -> bindings::$c {
                bindings::$c { $($field: NOT_SET,)* }
            }
        }
    };
}

queue_stats! {
    /// Receive queue counters (`struct netdev_queue_stats_rx`).
    RxQueueStats => netdev_queue_stats_rx {
        /// Bytes received.
        bytes,
        /// Packets received.
        packets,
        /// Times a receive buffer could not be allocated (the packet was dropped or the queue
        /// ran short).
        alloc_fail,
        /// Packets the device dropped.
        hw_drops,
        /// Packets the device dropped for lack of buffers.
        hw_drop_overruns,
        /// Packets with `CHECKSUM_COMPLETE`.
        csum_complete,
        /// Packets whose checksum the device verified (`CHECKSUM_UNNECESSARY`).
        csum_unnecessary,
        /// Packets the device did not checksum.
        csum_none,
        /// Packets with a bad checksum.
        csum_bad,
        /// Packets the device coalesced (hardware GRO).
        hw_gro_packets,
        /// Bytes of [`Self::hw_gro_packets`].
        hw_gro_bytes,
        /// Wire packets that became [`Self::hw_gro_packets`].
        hw_gro_wire_packets,
        /// Bytes of [`Self::hw_gro_wire_packets`].
        hw_gro_wire_bytes,
        /// Packets the device dropped by rate limiting.
        hw_drop_ratelimits,
    }
}

queue_stats! {
    /// Transmit queue counters (`struct netdev_queue_stats_tx`).
    TxQueueStats => netdev_queue_stats_tx {
        /// Bytes transmitted.
        bytes,
        /// Packets transmitted.
        packets,
        /// Packets the device dropped.
        hw_drops,
        /// Packets the device dropped as malformed.
        hw_drop_errors,
        /// Packets that needed no checksum.
        csum_none,
        /// Packets the device checksummed.
        needs_csum,
        /// Packets the device segmented (TSO).
        hw_gso_packets,
        /// Bytes of [`Self::hw_gso_packets`].
        hw_gso_bytes,
        /// Wire packets [`Self::hw_gso_packets`] became.
        hw_gso_wire_packets,
        /// Bytes of [`Self::hw_gso_wire_packets`].
        hw_gso_wire_bytes,
        /// Packets the device dropped by rate limiting.
        hw_drop_ratelimits,
        /// Times the driver stopped the queue (full).
        stop,
        /// Times the driver woke the queue.
        wake,
    }
}

/// The queue statistics of a network device (`struct netdev_stat_ops`).
///
/// The devices of these abstractions are not ops-locked, so the core calls every method with
/// the rtnl lock held; the methods only read counters and must not sleep long.
#[vtable]
pub trait QueueStats: Driver {
    /// Reports the counters of active receive queue `index` (below
    /// [`Device::real_num_rx_queues`]).
    fn get_queue_stats_rx(_dev: &Device<Self>, _index: u32, _stats: &mut RxQueueStats) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports the counters of active transmit queue `index` (below
    /// [`Device::real_num_tx_queues`]).
    fn get_queue_stats_tx(_dev: &Device<Self>, _index: u32, _stats: &mut TxQueueStats) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Reports what the device counted outside its active queues; the core adds the active
    /// queues to it for the device's totals. Only the counters set here are reported for the
    /// device (set them to `Some(0)` when nothing happened outside the queues).
    fn get_base_stats(_dev: &Device<Self>, _rx: &mut RxQueueStats, _tx: &mut TxQueueStats) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// Returns the `netdev_stat_ops` table of `T`.
pub(crate) fn ops_table<T: QueueStats>() -> &'static bindings::netdev_stat_ops {
    const { &Adapter::<T>::OPS }
}

/// The C callbacks of a [`QueueStats`] implementation.
struct Adapter<T: QueueStats>(PhantomData<T>);

impl<T: QueueStats> Adapter<T> {
    const OPS: bindings::netdev_stat_ops = bindings::netdev_stat_ops {
        get_queue_stats_rx: if T::HAS_GET_QUEUE_STATS_RX {
            Some(Self::rx_callback)
        } else {
            None
        },
        get_queue_stats_tx: if T::HAS_GET_QUEUE_STATS_TX {
            Some(Self::tx_callback)
        } else {
            None
        },
        get_base_stats: if T::HAS_GET_BASE_STATS {
            Some(Self::base_callback)
        } else {
            None
        },
    };

    /// # Safety
    ///
    /// `dev` must be a device of driver `T` passed to one of its `netdev_stat_ops` callbacks.
    unsafe fn device<'a>(dev: *mut bindings::net_device) -> &'a Device<T> {
        // SAFETY: Only devices allocated by `UnregisteredDevice::<T>::new` get `T`'s statistics
        // operations (`set_queue_stats_ops`); the core calls them only while the device is
        // registered (netlink finds it by index under the rtnl lock), so it and its private
        // data are alive for the call.
        unsafe { Device::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called by the core as `get_queue_stats_rx` with a valid `stats`.
    unsafe extern "C" fn rx_callback(
        dev: *mut bindings::net_device,
        idx: c_int,
        stats: *mut bindings::netdev_queue_stats_rx,
    ) {
        // SAFETY: This is a `netdev_stat_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let Ok(idx) = u32::try_from(idx) else {
            return;
        };
        // SAFETY: `stats` is valid and exclusively ours for the call.
        let stats = unsafe { &mut *stats };
        let mut s = RxQueueStats::from_c(stats);
        T::get_queue_stats_rx(dev, idx, &mut s);
        s.to_c(stats);
    }

    /// # Safety
    ///
    /// Called by the core as `get_queue_stats_tx` with a valid `stats`.
    unsafe extern "C" fn tx_callback(
        dev: *mut bindings::net_device,
        idx: c_int,
        stats: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: This is a `netdev_stat_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        let Ok(idx) = u32::try_from(idx) else {
            return;
        };
        // SAFETY: `stats` is valid and exclusively ours for the call.
        let stats = unsafe { &mut *stats };
        let mut s = TxQueueStats::from_c(stats);
        T::get_queue_stats_tx(dev, idx, &mut s);
        s.to_c(stats);
    }

    /// # Safety
    ///
    /// Called by the core as `get_base_stats` with valid `rx` and `tx`.
    unsafe extern "C" fn base_callback(
        dev: *mut bindings::net_device,
        rx: *mut bindings::netdev_queue_stats_rx,
        tx: *mut bindings::netdev_queue_stats_tx,
    ) {
        // SAFETY: This is a `netdev_stat_ops` callback of `T`.
        let dev = unsafe { Self::device(dev) };
        // SAFETY: `rx` and `tx` are valid, distinct and exclusively ours for the call.
        let (rx, tx) = unsafe { (&mut *rx, &mut *tx) };
        let mut r = RxQueueStats::from_c(rx);
        let mut t = TxQueueStats::from_c(tx);
        T::get_base_stats(dev, &mut r, &mut t);
        r.to_c(rx);
        t.to_c(tx);
    }
}

impl<T: Driver> Device<T> {
    fn stat_ops(&self) -> Option<&bindings::netdev_stat_ops> {
        // SAFETY: `self.as_raw()` is a valid `net_device`; `stat_ops` is set before
        // registration and then only read. A non-null value is a static table.
        unsafe { (*self.as_raw()).stat_ops.as_ref() }
    }

    /// Returns the device's totals as `netdev` netlink reports them (`qstats-get` without a
    /// scope): the base statistics plus the sum over the active queues, added up by the core
    /// (`netdev_stat_queue_sum`). `None` if the device has no base statistics.
    pub fn queue_stats_total(&self, _rtnl: &Rtnl) -> Option<(RxQueueStats, TxQueueStats)> {
        let get_base = self.stat_ops()?.get_base_stats?;
        let mut rx = RxQueueStats::not_set();
        let mut tx = TxQueueStats::not_set();
        // SAFETY: `self.as_raw()` is a registered device whose statistics operations are
        // called with the rtnl lock held, as here; `rx` and `tx` are valid, initialised as
        // the core does.
        unsafe { get_base(self.as_raw(), &mut rx, &mut tx) };
        let rx_end = c_int::try_from(self.real_num_rx_queues()).ok()?;
        let tx_end = c_int::try_from(self.real_num_tx_queues()).ok()?;
        // SAFETY: As above; the ranges are the active queues, as the core sums them.
        unsafe {
            bindings::netdev_stat_queue_sum(self.as_raw(), 0, rx_end, &mut rx, 0, tx_end, &mut tx)
        };
        Some((RxQueueStats::from_c(&rx), TxQueueStats::from_c(&tx)))
    }

    /// Returns the counters of active receive queue `index` as `netdev` netlink reports them
    /// (`qstats-get` with the queue scope), or `None` if the queue is not active or the device
    /// reports no receive queues.
    pub fn queue_stats_rx(&self, index: u32, _rtnl: &Rtnl) -> Option<RxQueueStats> {
        let f = self.stat_ops()?.get_queue_stats_rx?;
        if index >= self.real_num_rx_queues() {
            return None;
        }
        let index = c_int::try_from(index).ok()?;
        let mut rx = RxQueueStats::not_set();
        // SAFETY: As in `queue_stats_total`; `index` is an active queue.
        unsafe { f(self.as_raw(), index, &mut rx) };
        Some(RxQueueStats::from_c(&rx))
    }

    /// Returns the counters of active transmit queue `index`, like [`Self::queue_stats_rx`].
    pub fn queue_stats_tx(&self, index: u32, _rtnl: &Rtnl) -> Option<TxQueueStats> {
        let f = self.stat_ops()?.get_queue_stats_tx?;
        if index >= self.real_num_tx_queues() {
            return None;
        }
        let index = c_int::try_from(index).ok()?;
        let mut tx = TxQueueStats::not_set();
        // SAFETY: As in `queue_stats_rx`.
        unsafe { f(self.as_raw(), index, &mut tx) };
        Some(TxQueueStats::from_c(&tx))
    }
}
