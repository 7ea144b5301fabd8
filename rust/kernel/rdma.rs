// SPDX-License-Identifier: GPL-2.0

//! RDMA (InfiniBand verbs) devices.
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`include/rdma/ib_umem.h`](srctree/include/rdma/ib_umem.h),
//! [`include/rdma/iter.h`](srctree/include/rdma/iter.h),
//! [`include/rdma/uverbs_ioctl.h`](srctree/include/rdma/uverbs_ioctl.h).
//!
//! An RDMA driver implements [`Driver`], whose methods become the device's
//! `struct ib_device_ops`, and allocates its devices with [`UnregisteredDevice::new`]. The
//! private data of the driver ([`Driver::Data`]) follows the `struct ib_device` in the same
//! allocation (the `ib_alloc_device()` container scheme): it is initialised in place, pinned,
//! and dropped by the `dealloc_driver` operation, just before the core frees the device. Once
//! configured (number of ports, parent device), the device is made visible with
//! [`Registration::new`] under a name such as `mlx5_%d`; dropping the [`Registration`]
//! unregisters the device, drops the private data and frees the device.
//!
//! The verbs objects (user context, PD, CQ, WQ, QP, RSS indirection table, MR) carry the
//! driver's data too: the associated types of [`Driver`] give their types, and the operations
//! table tells the core their sizes (`INIT_RDMA_OBJ_SIZE`), so the core allocates
//! [`Ucontext`], [`Pd`], [`Cq`], [`Qp`] and [`RwqIndTable`] with room for them. WQs and MRs
//! are allocated by the abstraction, as the C API wants drivers to. The driver's data is
//! initialised by the create operation and dropped after a successful destroy operation.
//!
//! The companion modules cover the data the verbs exchange with user space: [`udata`] (the
//! driver-specific request and response of a uverbs command), [`umem`] (pinned user memory
//! and its DMA blocks) and [`mmap`] (`rdma_user_mmap` entries, e.g. for a doorbell page).
//!
//! The kernel crate is built in, so the abstractions need the RDMA core built in too
//! (`INFINIBAND=y`), with user access (`INFINIBAND_USER_ACCESS`) for uverbs, umem and mmap.

#![cfg(all(CONFIG_INFINIBAND = "y", CONFIG_INFINIBAND_USER_ACCESS))]

use crate::{
    bindings,
    device,
    error::{
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::c_int,
    mm::virt::VmaNew,
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::Deref,
    ptr::{
        self,
        NonNull, //
    },
};

mod adapter;
pub mod attr;
pub mod mmap;
pub mod object;
#[cfg(CONFIG_KUNIT = "y")]
pub mod testing;
pub mod udata;
pub mod umem;

#[cfg(CONFIG_KUNIT = "y")]
mod tests;

pub use attr::{
    DeviceAttr,
    Gid,
    KernelCaps,
    LinkLayer,
    PortAttr,
    PortImmutable,
    PortState, //
};
pub use object::{
    Cq,
    CqInitAttr,
    CqNotifier,
    Mr,
    NewCq,
    NewMr,
    NewPd,
    NewQp,
    NewRwqIndTable,
    NewUcontext,
    NewWq,
    Pd,
    Qp,
    QpInitAttr,
    QpQuery,
    QpState,
    QpType,
    RwqIndTable,
    RwqIndTableInitAttr,
    Ucontext,
    UserMrArgs,
    Wq,
    WqInitAttr, //
};
pub use udata::UData;

/// The identifier of an RDMA driver (`enum rdma_driver_id`), which rdma-core uses to pick the
/// user-space provider library.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DriverId(bindings::rdma_driver_id);

impl DriverId {
    /// `RDMA_DRIVER_UNKNOWN`.
    pub const UNKNOWN: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_UNKNOWN);
    /// `RDMA_DRIVER_MLX5`.
    pub const MLX5: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_MLX5);
    /// `RDMA_DRIVER_MLX4`.
    pub const MLX4: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_MLX4);
    /// `RDMA_DRIVER_CXGB3`.
    pub const CXGB3: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_CXGB3);
    /// `RDMA_DRIVER_CXGB4`.
    pub const CXGB4: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_CXGB4);
    /// `RDMA_DRIVER_MTHCA`.
    pub const MTHCA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_MTHCA);
    /// `RDMA_DRIVER_BNXT_RE`.
    pub const BNXT_RE: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_BNXT_RE);
    /// `RDMA_DRIVER_OCRDMA`.
    pub const OCRDMA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_OCRDMA);
    /// `RDMA_DRIVER_NES`.
    pub const NES: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_NES);
    /// `RDMA_DRIVER_I40IW`.
    pub const I40IW: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_I40IW);
    /// `RDMA_DRIVER_IRDMA`.
    pub const IRDMA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_IRDMA);
    /// `RDMA_DRIVER_VMW_PVRDMA`.
    pub const VMW_PVRDMA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_VMW_PVRDMA);
    /// `RDMA_DRIVER_QEDR`.
    pub const QEDR: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_QEDR);
    /// `RDMA_DRIVER_HNS`.
    pub const HNS: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_HNS);
    /// `RDMA_DRIVER_USNIC`.
    pub const USNIC: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_USNIC);
    /// `RDMA_DRIVER_RXE`.
    pub const RXE: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_RXE);
    /// `RDMA_DRIVER_HFI1`.
    pub const HFI1: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_HFI1);
    /// `RDMA_DRIVER_QIB`.
    pub const QIB: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_QIB);
    /// `RDMA_DRIVER_EFA`.
    pub const EFA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_EFA);
    /// `RDMA_DRIVER_SIW`.
    pub const SIW: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_SIW);
    /// `RDMA_DRIVER_ERDMA`.
    pub const ERDMA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_ERDMA);
    /// `RDMA_DRIVER_MANA`.
    pub const MANA: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_MANA);
    /// `RDMA_DRIVER_IONIC`.
    pub const IONIC: Self = Self(bindings::rdma_driver_id_RDMA_DRIVER_IONIC);

    /// Returns the C value.
    pub const fn as_raw(self) -> bindings::rdma_driver_id {
        self.0
    }
}

/// The operations of an RDMA driver, which become its `struct ib_device_ops`.
///
/// The core calls the device operations (`query_*`, `get_*`) concurrently, from process
/// context. Verbs objects are created and destroyed from process context too; the core
/// guarantees an object is not destroyed while it is being created, and, through its use
/// counts, that an object is not destroyed while another one uses it (a CQ of a live QP, a WQ
/// of a live indirection table, ...).
///
/// Every create operation gets the new object (whose core part is already filled in, so that
/// e.g. [`NewQp::pd`] works) and returns an initialiser of the driver's data for it; on error
/// the core frees the object without calling the matching destroy operation. A destroy
/// operation that fails leaves the object, and its data, alive: the core keeps it and may
/// retry. On success the abstraction drops the data and the object is freed.
///
/// `udata` is `None` when a kernel consumer (not uverbs) calls; the user context (`ctx`) is
/// the one of the uverbs call, `None` for kernel consumers.
///
/// The data path of kernel consumers (`post_send`, `post_recv`, `poll_cq`, `req_notify_cq`,
/// `modify_qp`, `get_dma_mr`) is not covered: without those operations the core registers
/// the device for user space only (`kverbs_provider` is false), which is what a raw-packet
/// device is.
#[vtable]
pub trait Driver: Sized + 'static {
    /// The private data of each device, stored after its `struct ib_device`.
    type Data: Send + Sync;
    /// The data of each user context (`struct ib_ucontext`). Dropped when the context is
    /// deallocated (`dealloc_ucontext`).
    type UcontextData: Send + Sync;
    /// The data of each protection domain (`struct ib_pd`).
    type PdData: Send + Sync;
    /// The data of each completion queue (`struct ib_cq`).
    type CqData: Send + Sync;
    /// The data of each work queue (`struct ib_wq`).
    type WqData: Send + Sync;
    /// The data of each queue pair (`struct ib_qp`).
    type QpData: Send + Sync;
    /// The data of each receive WQ indirection table (`struct ib_rwq_ind_table`).
    type RwqIndTableData: Send + Sync;
    /// The data of each memory region (`struct ib_mr`).
    type MrData: Send + Sync;

    /// The driver identifier reported to user space (`driver_id`).
    const DRIVER_ID: DriverId;

    /// The version of the driver's uverbs ABI (`uverbs_abi_ver`), the `*_UVERBS_ABI_VERSION`
    /// of its uAPI header.
    const UVERBS_ABI_VER: u32;

    /// Whether every operation taking a udata checks its request size and writes its response
    /// with the [`UData`] methods (`uverbs_robust_udata`); the core then reports it to user
    /// space, which may rely on the compatibility rules.
    const UVERBS_ROBUST_UDATA: bool = false;

    /// Reports the device's attributes (`query_device`).
    ///
    /// Called once at registration, whose result the core caches, and for the extended query
    /// of user space, which may carry `udata`.
    fn query_device(dev: &Device<Self>, attr: &mut DeviceAttr, udata: Option<&UData>) -> Result;

    /// Reports the attributes of port `port` (`query_port`), numbered from 1.
    fn query_port(dev: &Device<Self>, port: u32, attr: &mut PortAttr) -> Result;

    /// Reports the attributes of port `port` that never change (`get_port_immutable`), at
    /// registration.
    fn get_port_immutable(dev: &Device<Self>, port: u32, immutable: &mut PortImmutable) -> Result;

    /// Returns the link layer of port `port` (`get_link_layer`).
    fn get_link_layer(_dev: &Device<Self>, _port: u32) -> LinkLayer {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns entry `index` of the GID table of port `port` (`query_gid`).
    fn query_gid(_dev: &Device<Self>, _port: u32, _index: u32) -> Result<Gid> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns entry `index` of the P_Key table of port `port` (`query_pkey`).
    fn query_pkey(_dev: &Device<Self>, _port: u32, _index: u16) -> Result<u16> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Creates the data of a user context (`alloc_ucontext`), when a process opens the
    /// device's uverbs file. Without this operation user space cannot use the device.
    fn alloc_ucontext(
        _ctx: &NewUcontext<Self>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::UcontextData, Error> {
        Err::<Self::UcontextData, Error>(EOPNOTSUPP)
    }

    /// Detaches a user context from the hardware (`disassociate_ucontext`), when the device
    /// is unregistered while a process still has it open.
    ///
    /// By then the core has destroyed every object of the context and zapped its mappings;
    /// the context's data is dropped later, when the process closes the file. Without this
    /// operation, unregistration (dropping the [`Registration`]) waits until every process
    /// has closed the device.
    fn disassociate_ucontext(_ctx: &Ucontext<Self>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Maps device memory of the context into user space (`mmap`).
    ///
    /// [`Ucontext::mmap_entry`] implements the usual case: the offset names an entry
    /// inserted with [`Ucontext::insert_mmap_entry`].
    fn mmap(_ctx: &Ucontext<Self>, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Creates the data of a protection domain (`alloc_pd`).
    fn alloc_pd(
        pd: &NewPd<Self>,
        ctx: Option<&Ucontext<Self>>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::PdData, Error>;

    /// Destroys a protection domain (`dealloc_pd`).
    ///
    /// Like every destroy operation it gets no udata: no uverbs destroy command carries
    /// driver data, and when the core aborts an object whose creation failed late (the
    /// response could not be copied, `RDMA_REMOVE_ABORT`) the udata it has is the create
    /// request's. A destroy that fails there makes the core warn and leak the object, so a
    /// destroy must never fail because of anything user space passed.
    fn dealloc_pd(pd: &Pd<Self>) -> Result;

    /// Creates the data of a completion queue (`create_cq`).
    ///
    /// The driver reports the number of entries it allocated with [`NewCq::set_cqe`].
    fn create_cq(
        _cq: &NewCq<Self>,
        _attr: &CqInitAttr,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::CqData, Error> {
        Err::<Self::CqData, Error>(EOPNOTSUPP)
    }

    /// Destroys a completion queue (`destroy_cq`).
    fn destroy_cq(_cq: &Cq<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Creates the data of a work queue (`create_wq`) in `pd`.
    ///
    /// The driver reports the queue's number with [`NewWq::set_wq_num`].
    fn create_wq(
        _pd: &Pd<Self>,
        _wq: &NewWq<Self>,
        _attr: &WqInitAttr<'_, Self>,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::WqData, Error> {
        Err::<Self::WqData, Error>(EOPNOTSUPP)
    }

    /// Destroys a work queue (`destroy_wq`).
    fn destroy_wq(_wq: &Wq<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Creates the data of a receive WQ indirection table (`create_rwq_ind_table`).
    ///
    /// The driver reports the table's number with [`NewRwqIndTable::set_ind_tbl_num`].
    fn create_rwq_ind_table(
        _table: &NewRwqIndTable<Self>,
        _attr: &RwqIndTableInitAttr<'_, Self>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::RwqIndTableData, Error> {
        Err::<Self::RwqIndTableData, Error>(EOPNOTSUPP)
    }

    /// Destroys a receive WQ indirection table (`destroy_rwq_ind_table`).
    fn destroy_rwq_ind_table(_table: &RwqIndTable<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Creates the data of a queue pair (`create_qp`).
    ///
    /// The driver reports the QP number with [`NewQp::set_qp_num`].
    fn create_qp(
        _qp: &NewQp<Self>,
        _attr: &QpInitAttr<'_, Self>,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::QpData, Error> {
        Err::<Self::QpData, Error>(EOPNOTSUPP)
    }

    /// Destroys a queue pair (`destroy_qp`).
    fn destroy_qp(_qp: &Qp<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports the attributes of a queue pair (`query_qp`): `ibv_query_qp()` and the
    /// resource tracker (`rdma res show qp`), which lists no QP of a device without it.
    ///
    /// The abstraction zeroes the answer and fills in what the core knows (type, port,
    /// CQs, indirection table); the driver sets the state and the capacities.
    fn query_qp(_qp: &Qp<Self>, _attr: &mut QpQuery) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Registers user memory as a memory region of `pd` (`reg_user_mr`).
    ///
    /// The driver reports the keys with [`NewMr::set_keys`].
    fn reg_user_mr(
        _pd: &Pd<Self>,
        _mr: &NewMr<Self>,
        _args: &UserMrArgs,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::MrData, Error> {
        Err::<Self::MrData, Error>(EOPNOTSUPP)
    }

    /// Deregisters a memory region (`dereg_mr`).
    fn dereg_mr(_mr: &Mr<Self>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reports a state change of a net device attached to a port (`report_port_event`):
    /// `ip link set up/down` or a carrier change of the interface [`Registration::track_netdevs`]
    /// attached.
    ///
    /// Without this operation the core turns those changes into port events itself
    /// (`IB_EVENT_PORT_ACTIVE`/`IB_EVENT_PORT_ERR`, from the interface's state). A driver whose
    /// ports do not follow their interface, such as a raw packet port that works while its
    /// interface is down, implements it and reports its own events
    /// ([`Registration::dispatch_event`]).
    fn report_port_event(_dev: &Device<Self>, _port: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The size of the name of a device, with its NUL (`IB_DEVICE_NAME_MAX`).
const NAME_MAX: usize = bindings::IB_DEVICE_NAME_MAX as usize;

/// A copy of the name of a device, from [`Device::name`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeviceName([u8; NAME_MAX]);

impl Deref for DeviceName {
    type Target = CStr;

    fn deref(&self) -> &CStr {
        // The last byte is always NUL (`Device::name` never copies it), so this cannot fail.
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}

/// An RDMA device of driver `T`: a `struct ib_device` followed by the driver's data.
///
/// It is only ever used by reference: in the operations of [`Driver`], and through
/// [`UnregisteredDevice`] and [`Registration`], which own it.
///
/// # Invariants
///
/// `ibdev` is a `struct ib_device` allocated by [`UnregisteredDevice::<T>::new`] with
/// `_ib_alloc_device(size_of::<Device<T>>())`, whose operations are `T`'s; `data` is
/// initialised and pinned. Both stay valid for as long as a `&Device<T>` exists.
#[repr(C)]
pub struct Device<T: Driver> {
    ibdev: Opaque<bindings::ib_device>,
    data: T::Data,
}

// SAFETY: The C functions used through `&Device<T>` may be called from any thread, and the
// private data `T::Data` is `Sync`.
unsafe impl<T: Driver> Sync for Device<T> {}

// SAFETY: A `Device<T>` is never owned by value, and `T::Data` is `Send`.
unsafe impl<T: Driver> Send for Device<T> {}

impl<T: Driver> Device<T> {
    /// Returns the raw `struct ib_device` pointer.
    pub fn as_raw(&self) -> *mut bindings::ib_device {
        self.ibdev.get()
    }

    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `struct ib_device` allocated by [`UnregisteredDevice::<T>::new`]
    /// that is not freed, and whose private data is not dropped, for the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ib_device) -> &'a Self {
        // SAFETY: `ibdev` is the first field of the `repr(C)` `Device<T>`, and the caller
        // guarantees that `ptr` is such a device, valid for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the private data of the device.
    pub fn data(&self) -> Pin<&T::Data> {
        // SAFETY: By the type invariant, `data` is initialised and never moved until it is
        // dropped, which happens only once no `&Device<T>` exists.
        unsafe { Pin::new_unchecked(&self.data) }
    }

    /// Returns a copy of the name of the device, e.g. `mlx5_0`, empty before it is
    /// registered.
    ///
    /// A copy, because the core may rename a registered device at any time
    /// (`rdma dev set NAME name NEW`).
    pub fn name(&self) -> DeviceName {
        let mut name = [0u8; NAME_MAX];
        // SAFETY: By the type invariant the device is valid; `name` is `NAME_MAX` bytes.
        let src = unsafe { &raw const (*self.as_raw()).name }.cast::<u8>();
        for (i, byte) in name.iter_mut().enumerate().take(NAME_MAX - 1) {
            // SAFETY: `i` is in bounds. The core writes the name under its own lock, which we
            // cannot take: the volatile read tolerates that, like `READ_ONCE()`, and a torn
            // name is still a valid byte string.
            *byte = unsafe { ptr::read_volatile(src.add(i)) };
        }
        DeviceName(name)
    }

    /// Returns the number of completion vectors.
    pub fn num_comp_vectors(&self) -> u32 {
        // SAFETY: By the type invariant the device is valid; `num_comp_vectors` only changes
        // before registration, through `&mut UnregisteredDevice`.
        let n = unsafe { (*self.as_raw()).num_comp_vectors };
        u32::try_from(n).unwrap_or(0)
    }

    /// Returns the active speed and width of port `port` (`IB_SPEED_*`, `IB_WIDTH_*`) from the
    /// link of the net device attached to it (`ib_get_eth_speed`), as Ethernet-based drivers
    /// report them in `query_port`; `None` without an attached net device. Takes the rtnl
    /// lock: not to be called with it held.
    pub fn eth_speed(&self, port: u32) -> Option<(u16, u8)> {
        let mut speed = 0u16;
        let mut width = 0u8;
        // SAFETY: By the type invariant the device is valid; the core checks the port and
        // the net device; `speed` and `width` are locals.
        let ret =
            unsafe { bindings::ib_get_eth_speed(self.as_raw(), port, &mut speed, &mut width) };
        (ret == 0).then_some((speed, width))
    }

    /// Returns the number of physical ports.
    pub fn phys_port_cnt(&self) -> u32 {
        // SAFETY: By the type invariant the device is valid; `phys_port_cnt` only changes
        // before registration, through `&mut UnregisteredDevice`.
        unsafe { (*self.as_raw()).phys_port_cnt }
    }
}

/// An RDMA device of driver `T` that is not registered.
///
/// Created by [`UnregisteredDevice::new`], configured through its methods, and registered by
/// [`Registration::new`]. Dropping it drops the private data and frees the device
/// (`ib_dealloc_device`).
///
/// # Invariants
///
/// `dev` is a device allocated by [`UnregisteredDevice::<T>::new`], with initialised private
/// data and `T`'s operations. It is not registered, and this object owns it.
pub struct UnregisteredDevice<T: Driver> {
    dev: NonNull<Device<T>>,
}

// SAFETY: The device may be configured, registered and freed from any thread; `T::Data` is
// `Send`.
unsafe impl<T: Driver> Send for UnregisteredDevice<T> {}

// SAFETY: Shared references only give a `&Device<T>`, which is `Sync`.
unsafe impl<T: Driver> Sync for UnregisteredDevice<T> {}

impl<T: Driver> UnregisteredDevice<T> {
    /// Allocates a device (`_ib_alloc_device`) in the initial network namespace, initialises
    /// its private data with `data` and installs `T`'s operations (`ib_set_device_ops`).
    ///
    /// The device has one port and is a channel adapter (`RDMA_NODE_IB_CA`).
    pub fn new<E>(data: impl PinInit<T::Data, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        const {
            assert!(core::mem::align_of::<Device<T>>() <= bindings::ARCH_KMALLOC_MINALIGN);
        }
        // SAFETY: `init_net` is a static that lives forever; the size covers the
        // `struct ib_device` at offset 0 and the private data.
        let raw = unsafe {
            bindings::_ib_alloc_device(
                core::mem::size_of::<Device<T>>(),
                &raw mut bindings::init_net,
            )
        };
        let ibdev = NonNull::new(raw).ok_or(ENOMEM)?;
        let dev = ibdev.cast::<Device<T>>();

        // SAFETY: The allocation is `size_of::<Device<T>>()` bytes and aligned for it (checked
        // above, `kzalloc()`), so `data` is in bounds, aligned and uninitialised. The device
        // never moves, and the data is only dropped in place by `dealloc_driver`, so it stays
        // pinned.
        if let Err(e) = unsafe { pin_init::raw_try_init(&raw mut (*dev.as_ptr()).data, data) } {
            // SAFETY: The device is not registered, and its operations are not set yet, so
            // `ib_dealloc_device()` does not call `dealloc_driver` on the uninitialised data.
            unsafe { bindings::ib_dealloc_device(raw) };
            return Err(e.into());
        }

        // SAFETY: `raw` is a valid device that nothing else knows about; the operations
        // table is a constant with static lifetime, and the data they rely on is initialised.
        unsafe { bindings::ib_set_device_ops(raw, adapter::Adapter::<T>::ops()) };
        // SAFETY: As above; the device is not shared yet.
        unsafe {
            if T::UVERBS_ROBUST_UDATA {
                (*raw).ops.set_uverbs_robust_udata(1);
            }
            (*raw).phys_port_cnt = 1;
            (*raw).node_type = bindings::RDMA_NODE_IB_CA as u8;
        }
        // INVARIANT: Allocated with initialised data and `T`'s operations, not registered, no
        // parent.
        Ok(Self { dev })
    }

    fn raw(&self) -> *mut bindings::ib_device {
        self.dev.as_ptr().cast()
    }

    /// Sets the number of physical ports, numbered from 1 (`phys_port_cnt`).
    pub fn set_phys_port_cnt(&mut self, ports: u32) -> Result {
        if ports == 0 || ports == u32::MAX {
            return Err(EINVAL);
        }
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).phys_port_cnt = ports };
        Ok(())
    }

    /// Sets the number of completion vectors (`num_comp_vectors`).
    pub fn set_num_comp_vectors(&mut self, vectors: u32) -> Result {
        let vectors = c_int::try_from(vectors).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).num_comp_vectors = vectors };
        Ok(())
    }

    /// Sets the node GUID (`node_guid`), in CPU byte order.
    pub fn set_node_guid(&mut self, guid: u64) {
        // SAFETY: The device is valid and not registered, so nothing else accesses it.
        unsafe { (*self.raw()).node_guid = guid.to_be() };
    }
}

impl<T: Driver> Deref for UnregisteredDevice<T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        // SAFETY: By the type invariant, the device lives, with its private data, as long as
        // `self`.
        unsafe { Device::from_raw(self.raw()) }
    }
}

impl<T: Driver> Drop for UnregisteredDevice<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self` owns the unregistered device. Its
        // `dealloc_driver` operation drops the private data, then the device is freed once the
        // last `struct device` reference is gone; it is not used after this.
        unsafe { bindings::ib_dealloc_device(self.raw()) };
    }
}

/// A registered RDMA device of driver `T` (`ib_register_device`), child of a bound device.
///
/// Dropping it unregisters the device (`ib_unregister_device`: the clients are removed, user
/// contexts are disassociated and every verbs object is destroyed), drops the private data
/// and frees the device.
///
/// It borrows its parent, bound, for `'a` ([`Registration::new`]), as `drm::Registration`
/// does: the device is unregistered at the latest when the parent's driver unbinds, which is
/// when a bus driver's data (`Data<'bound>`), where the registration lives, is dropped. It
/// cannot be kept beyond that (tests/compile-fail/rdma_registration_outlives_parent.rs). A
/// device of no bus (a software device) is registered with [`Registration::new_virtual`].
///
/// # Invariants
///
/// `dev` is a registered device allocated by [`UnregisteredDevice::<T>::new`], owned by this
/// object. Its `dev.parent`, if set, and its `dma_device`, if any, are bound for `'a`;
/// `_dma_device` holds a reference to the latter.
pub struct Registration<'a, T: Driver> {
    dev: NonNull<Device<T>>,
    _parent: PhantomData<&'a device::Device<device::Bound>>,
    // The core keeps a plain pointer to the DMA device: held until unregistration.
    _dma_device: Option<ARef<device::Device>>,
    // Dropped (notifier unregistered, net devices detached) before the device is
    // unregistered.
    netdevs: Option<Pin<KBox<NetdevTracker>>>,
    _driver: PhantomData<T>,
}

// SAFETY: Unregistration may happen on any thread; `T::Data` is `Send`.
unsafe impl<T: Driver> Send for Registration<'_, T> {}

// SAFETY: Shared references only give a `&Device<T>`, which is `Sync`.
unsafe impl<T: Driver> Sync for Registration<'_, T> {}

impl<'a, T: Driver> Registration<'a, T> {
    /// Registers `dev` with the RDMA core under `name`, which may contain one `%d` replaced
    /// by the first free number (e.g. `manae_%d`), as a child of `parent` (`dev.parent`: sysfs
    /// links it as `device`, rdma-core finds the PCI slot from it). On failure the device is
    /// freed.
    ///
    /// `dma_device` is the device that performs DMA for this one (usually `parent`); `None`
    /// makes the core use kernel virtual addresses in its scatterlists (software devices).
    pub fn new(
        parent: &'a device::Device<device::Bound>,
        dev: UnregisteredDevice<T>,
        name: &CStr,
        dma_device: Option<&'a device::Device<device::Bound>>,
    ) -> Result<Self> {
        // SAFETY: The device is valid and not registered, so nothing else accesses it. The
        // parent is bound for `'a`, which the result cannot outlive, and the driver core takes
        // its own reference when the device is added.
        unsafe { (*dev.raw()).__bindgen_anon_1.dev.parent = parent.as_raw() };
        Self::register(dev, name, dma_device.map(|d| -> &device::Device { d }))
    }

    fn register(
        dev: UnregisteredDevice<T>,
        name: &CStr,
        dma_device: Option<&device::Device>,
    ) -> Result<Self> {
        let dev = ManuallyDrop::new(dev);
        let ptr = dev.dev;
        let raw = dev.raw();
        let dma_device = dma_device.map(ARef::from);
        let dma = dma_device.as_ref().map_or(ptr::null_mut(), |d| d.as_raw());
        // SAFETY: `raw` is a valid, configured, unregistered device; `name` is NUL-terminated
        // and copied; `dma` is null or a device the registration holds a reference to.
        let ret = unsafe { bindings::ib_register_device(raw, name.as_char_ptr(), dma) };
        if ret != 0 {
            // SAFETY: Registration failed, so the device is still unregistered, and we own it
            // (`dev` will not be dropped); the caller of a failed `ib_register_device()` must
            // free the device.
            unsafe { bindings::ib_dealloc_device(raw) };
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: The device is registered and its ownership moves from `dev`; the DMA
        // device reference is held; the caller vouches for the parent and DMA device.
        Ok(Self {
            dev: ptr,
            _parent: PhantomData,
            _dma_device: dma_device,
            netdevs: None,
            _driver: PhantomData,
        })
    }
}

impl<T: Driver> Registration<'static, T> {
    /// Registers `dev`, a device of no bus (a software device, which does no DMA), with the
    /// RDMA core under `name` (see [`Registration::new`]). On failure the device is freed.
    pub fn new_virtual(dev: UnregisteredDevice<T>, name: &CStr) -> Result<Self> {
        Self::register(dev, name, None)
    }
}

impl<T: Driver> Registration<'_, T> {
    /// Attaches to each port the net device of the same function (`ib_device_set_netdev`),
    /// so that `rdma link` and the tools that map an RDMA port to its interface (rdma-core,
    /// DPDK, `ibdev2netdev`) find it: the net device whose parent is this device's parent
    /// ([`Registration::new`]) and whose `dev_port` is the port's number minus 1,
    /// as the Ethernet driver of the same function registers them.
    ///
    /// The attachment follows the net devices for as long as the registration lives: one
    /// registered later (a driver bound later, a device reset that re-creates the
    /// interfaces) is attached when it registers, one unregistered is detached first (the
    /// core holds a reference to an attached net device, which would otherwise block its
    /// unregistration), one moved to another network namespace is detached and attached again,
    /// a renamed one keeps its port (the core reports the new name). `EINVAL` without a
    /// parent; calling it again changes nothing.
    pub fn track_netdevs(&mut self) -> Result {
        if self.netdevs.is_some() {
            return Ok(());
        }
        // SAFETY: By the type invariant the device is registered; `dev.parent` was set before
        // registration and does not change.
        let parent = unsafe { (*self.as_raw()).__bindgen_anon_1.dev.parent };
        if parent.is_null() {
            return Err(EINVAL);
        }
        let mut tracker = KBox::pin_init(
            NetdevTracker::new(self.as_raw(), parent, self.phys_port_cnt()),
            GFP_KERNEL,
        )?;
        tracker.as_mut().register()?;
        self.netdevs = Some(tracker);
        Ok(())
    }

    /// Returns the interface index of the net device attached to port `port`, if any
    /// (`ib_device_get_netdev`).
    pub fn port_netdev_ifindex(&self, port: u32) -> Option<i32> {
        // SAFETY: By the type invariant the device is registered; the core checks the port.
        let ifindex = unsafe { bindings::rdma_port_netdev_ifindex(self.as_raw(), port) };
        (ifindex > 0).then_some(ifindex)
    }
}

/// The netdevice notifier behind [`Registration::track_netdevs`].
///
/// # Invariants
///
/// `ibdev` is a registered RDMA device with `ports` ports and `parent` its parent, both valid
/// while this object exists (the [`Registration`] holding it drops it first). `registered`
/// says whether `nb` is on the netdevice notifier chain.
#[pin_data(PinnedDrop)]
struct NetdevTracker {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    ibdev: *mut bindings::ib_device,
    parent: *mut bindings::device,
    ports: u32,
    registered: bool,
}

// SAFETY: The pointers are only used for C calls that may happen on any thread.
unsafe impl Send for NetdevTracker {}

// SAFETY: As above; the notifier core serialises the callbacks (rtnl).
unsafe impl Sync for NetdevTracker {}

impl NetdevTracker {
    fn new(
        ibdev: *mut bindings::ib_device,
        parent: *mut bindings::device,
        ports: u32,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            nb <- Opaque::ffi_init(|nb: *mut bindings::notifier_block| {
                // SAFETY: `nb` is valid for writes; a zeroed notifier block with a callback is
                // what `register_netdevice_notifier()` expects.
                unsafe {
                    nb.write_bytes(0, 1);
                    (*nb).notifier_call = Some(Self::notifier_call);
                }
            }),
            ibdev,
            parent,
            ports,
            registered: false,
        }? Error)
    }

    /// Puts the notifier on the chain; the core replays the registration of every existing
    /// net device to it.
    fn register(self: Pin<&mut Self>) -> Result {
        // SAFETY: The notifier block is pinned (in a `KBox`) until `PinnedDrop` takes it off
        // the chain.
        to_result(unsafe { bindings::register_netdevice_notifier(self.nb.get()) })?;
        // SAFETY: `registered` is not structurally pinned.
        unsafe { self.get_unchecked_mut().registered = true };
        Ok(())
    }

    /// The port a net device belongs to: same parent, `dev_port` below the number of ports.
    ///
    /// # Safety
    ///
    /// `ndev` must be a valid net device.
    unsafe fn port_of(&self, ndev: *mut bindings::net_device) -> Option<u32> {
        // SAFETY: `ndev` is valid (caller); `dev.parent` and `dev_port` are set before the
        // net device is registered and do not change while it is.
        let (parent, dev_port) = unsafe { ((*ndev).dev.parent, u32::from((*ndev).dev_port)) };
        (parent == self.parent && dev_port < self.ports).then_some(dev_port + 1)
    }

    /// The notifier callback.
    ///
    /// # Safety
    ///
    /// Only called by the netdevice notifier chain, under rtnl, with `nb` the block of a
    /// live tracker and `ptr` a `struct netdev_notifier_info`.
    unsafe extern "C" fn notifier_call(
        nb: *mut bindings::notifier_block,
        event: crate::ffi::c_ulong,
        ptr: *mut crate::ffi::c_void,
    ) -> c_int {
        // SAFETY: `nb` is the `nb` field of a live tracker (caller), which is `Opaque`.
        let this = unsafe { &*crate::container_of!(Opaque::cast_from(nb).cast_mut(), Self, nb) };
        // SAFETY: The chain passes a `struct netdev_notifier_info` (caller), whose `dev` is
        // the net device of the event (`netdev_notifier_info_to_dev()`), valid for the call.
        let ndev = unsafe { (*ptr.cast::<bindings::netdev_notifier_info>()).dev };
        let ret = match event as u32 {
            bindings::netdev_cmd_NETDEV_REGISTER => {
                // SAFETY: `ndev` is valid for the call.
                match unsafe { this.port_of(ndev) } {
                    // SAFETY: By the type invariant `ibdev` is registered; `port` is one of
                    // its ports; `ndev` is being registered (the core takes a reference).
                    Some(port) => unsafe { bindings::ib_device_set_netdev(this.ibdev, ndev, port) },
                    None => 0,
                }
            }
            bindings::netdev_cmd_NETDEV_UNREGISTER => {
                let mut port = 0u32;
                // SAFETY: By the type invariant `ibdev` is registered; `ndev` is valid.
                if unsafe { bindings::ib_query_netdev_port(this.ibdev, ndev, &mut port) } == 0 {
                    // SAFETY: As above; the core drops its reference to `ndev`.
                    unsafe { bindings::ib_device_set_netdev(this.ibdev, ptr::null_mut(), port) }
                } else {
                    0
                }
            }
            _ => 0,
        };
        if ret != 0 {
            pr_err!(
                "rdma: attaching or detaching a net device failed: {:?}\n",
                Error::from_errno(ret)
            );
        }
        bindings::NOTIFY_DONE as c_int
    }
}

#[pinned_drop]
impl PinnedDrop for NetdevTracker {
    fn drop(self: Pin<&mut Self>) {
        if self.registered {
            // SAFETY: The block is on the chain (type invariant); the core replays the
            // unregistration of every net device to it, which detaches them, and waits for
            // running callbacks (rtnl).
            unsafe { bindings::unregister_netdevice_notifier(self.nb.get()) };
        }
    }
}

pub use crate::ratelimit::Ratelimit;

/// The budget shared by every call site of
/// [`ibdev_err_ratelimited!`](crate::ibdev_err_ratelimited): with many call sites a process
/// hitting all of them could otherwise print [`Ratelimit::BURST`] lines per site and interval.
/// At most `3 * BURST` lines per interval in all.
pub static USER_ERRORS: Ratelimit = Ratelimit::new_burst(3 * Ratelimit::BURST);

/// Logs an error about a request of user space to RDMA device `$dev` (anything with a
/// `name()`, e.g. a [`Device`]), rate-limited per call site ([`Ratelimit`]) and within the
/// budget all call sites share ([`USER_ERRORS`]): the device name, then the message. Lines
/// left out are counted in the next line of the same call site that is printed.
#[macro_export]
macro_rules! ibdev_err_ratelimited {
    ($dev:expr, $($arg:tt)+) => {{
        static RATELIMIT: $crate::rdma::Ratelimit = $crate::rdma::Ratelimit::new();
        if let Some(missed) = RATELIMIT.check_within(&$crate::rdma::USER_ERRORS) {
            let name = $dev.name();
            if missed > 0 {
                $crate::pr_warn!("{}: {} similar messages suppressed\n", &*name, missed);
            }
            $crate::pr_err!("{}: {}", &*name, $crate::prelude::fmt!($($arg)+));
        }
    }};
}

/// An asynchronous event of a device (`enum ib_event_type`), reported to the kernel's event
/// handlers and to user space (`ibv_get_async_event()`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// `IB_EVENT_DEVICE_FATAL`: the device stopped working; users tear everything down and
    /// open the device again (after a device reset, for instance).
    DeviceFatal,
    /// `IB_EVENT_PORT_ACTIVE`: the link of the port came up.
    PortActive(u32),
    /// `IB_EVENT_PORT_ERR`: the link of the port went down.
    PortErr(u32),
}

impl<T: Driver> Registration<'_, T> {
    /// Reports `event` to the device's event handlers (`ib_dispatch_event`). May be called in
    /// atomic context; the handlers run later, from the RDMA core's workqueue, and port
    /// events first refresh the core's cache of the port attributes.
    pub fn dispatch_event(&self, event: Event) {
        let (kind, element) = match event {
            Event::DeviceFatal => (
                bindings::ib_event_type_IB_EVENT_DEVICE_FATAL,
                bindings::ib_event__bindgen_ty_1 { port_num: 0 },
            ),
            Event::PortActive(port) => (
                bindings::ib_event_type_IB_EVENT_PORT_ACTIVE,
                bindings::ib_event__bindgen_ty_1 { port_num: port },
            ),
            Event::PortErr(port) => (
                bindings::ib_event_type_IB_EVENT_PORT_ERR,
                bindings::ib_event__bindgen_ty_1 { port_num: port },
            ),
        };
        let raw = bindings::ib_event {
            device: self.as_raw(),
            element,
            event: kind,
        };
        // SAFETY: The event is copied. The device is registered while `self` exists, and
        // unregistration flushes the workqueue that delivers the event
        // (`ib_cache_cleanup_one()`), so the device outlives the delivery.
        unsafe { bindings::ib_dispatch_event(&raw) };
    }
}

impl<T: Driver> Registration<'_, T> {
    /// Returns the device attributes the core cached at registration (`attrs`, from
    /// [`Driver::query_device`]).
    pub fn attrs(&self) -> &DeviceAttr {
        // SAFETY: By the type invariant the device is registered; the core writes `attrs` only
        // while registering it, so the cached copy does not change while `self` lives.
        // `DeviceAttr` is a transparent wrapper of `struct ib_device_attr`.
        unsafe { &*(&raw const (*self.as_raw()).attrs).cast::<DeviceAttr>() }
    }

    /// Queries port `port` through the core (`ib_query_port`), as user space and the core's
    /// caches do: `EINVAL` for a port the device does not have.
    pub fn query_port(&self, port: u32) -> Result<PortAttr> {
        let mut raw: bindings::ib_port_attr = pin_init::zeroed();
        // SAFETY: By the type invariant the device is registered; `raw` is a local.
        to_result(unsafe { bindings::ib_query_port(self.as_raw(), port, &mut raw) })?;
        // SAFETY: `PortAttr` is a transparent wrapper of `struct ib_port_attr`.
        Ok(unsafe { core::mem::transmute::<bindings::ib_port_attr, PortAttr>(raw) })
    }

    /// Returns the link layer of port `port` (`rdma_port_get_link_layer`).
    pub fn link_layer(&self, port: u32) -> Result<LinkLayer> {
        if port == 0 || port > self.phys_port_cnt() {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant the device is registered, and `port` is one of its
        // ports (checked above).
        let ll = unsafe { bindings::rdma_port_get_link_layer(self.as_raw(), port) };
        Ok(match ll {
            bindings::rdma_link_layer_IB_LINK_LAYER_INFINIBAND => LinkLayer::Infiniband,
            bindings::rdma_link_layer_IB_LINK_LAYER_ETHERNET => LinkLayer::Ethernet,
            _ => LinkLayer::Unspecified,
        })
    }

    /// Returns entry `index` of the P_Key table of port `port` through the core
    /// (`ib_query_pkey`).
    pub fn query_pkey(&self, port: u32, index: u16) -> Result<u16> {
        let mut pkey = 0u16;
        // SAFETY: By the type invariant the device is registered; `pkey` is a local.
        to_result(unsafe { bindings::ib_query_pkey(self.as_raw(), port, index, &mut pkey) })?;
        Ok(pkey)
    }

    /// Allocates a kernel protection domain through the core (`ib_alloc_pd`, no flags), as an
    /// in-kernel consumer would; it is deallocated when the returned object is dropped.
    ///
    /// The driver must report `IBK_LOCAL_DMA_LKEY` (the core would otherwise need a DMA MR).
    pub fn alloc_kernel_pd(&self) -> Result<KernelPd<'_, T>> {
        // SAFETY: By the type invariant the device is registered; the caller name is a static
        // string.
        let pd = crate::error::from_err_ptr(unsafe {
            bindings::__ib_alloc_pd(self.as_raw(), 0, c"rust_rdma".as_char_ptr())
        })?;
        let pd = NonNull::new(pd).ok_or(EINVAL)?;
        // INVARIANT: `pd` is a complete kernel PD of the device, owned by the new object, which
        // borrows the registration so that the device outlives it.
        Ok(KernelPd {
            pd,
            _reg: PhantomData,
        })
    }
}

/// A kernel protection domain of a registered device, from [`Registration::alloc_kernel_pd`].
///
/// Dropping it deallocates the PD (`ib_dealloc_pd`).
///
/// # Invariants
///
/// `pd` is a complete kernel PD (no user object) of the device of the borrowed registration,
/// owned by this object.
pub struct KernelPd<'a, T: Driver> {
    pd: NonNull<bindings::ib_pd>,
    _reg: PhantomData<&'a Registration<'a, T>>,
}

impl<T: Driver> KernelPd<'_, T> {
    /// Returns the PD.
    pub fn pd(&self) -> &Pd<T> {
        // SAFETY: By the type invariant the PD is complete, with initialised driver data, and
        // lives as long as `self`.
        unsafe { Pd::from_raw(self.pd.as_ptr()) }
    }
}

impl<T: Driver> Drop for KernelPd<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `self` owns the kernel PD, which has no users left (only
        // `self` could have made any); it is not used after this.
        let ret = unsafe { bindings::ib_dealloc_pd_user(self.pd.as_ptr(), ptr::null_mut()) };
        if ret != 0 {
            pr_warn!("rdma: deallocating a kernel PD failed: {}\n", ret);
        }
    }
}

impl<T: Driver> Deref for Registration<'_, T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        // SAFETY: By the type invariant, the device lives, with its private data, as long as
        // `self`.
        unsafe { Device::from_raw(self.dev.as_ptr().cast()) }
    }
}

impl<T: Driver> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        // The net devices first: the notifier must not see a device being unregistered.
        drop(self.netdevs.take());
        // SAFETY: By the type invariant the device is registered and owned by `self`. Because
        // the operations include `dealloc_driver`, `ib_unregister_device()` also deallocates
        // the device: it fences every operation, calls `dealloc_driver` (which drops the
        // private data) and drops the last reference of the driver. It is not used after this.
        unsafe { bindings::ib_unregister_device(self.dev.as_ptr().cast()) };
    }
}
