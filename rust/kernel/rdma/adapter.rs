// SPDX-License-Identifier: GPL-2.0

//! The C operations of an RDMA [`Driver`]: `struct ib_device_ops`.

use super::{
    attr::{
        DeviceAttr,
        PortAttr,
        PortImmutable, //
    },
    mmap,
    object::*,
    Device,
    Driver,
    UData, //
};
use crate::{
    bindings,
    error::from_result,
    ffi::c_int,
    mm::virt::VmaNew,
    module::this_module,
    prelude::*, //
};
use core::{
    marker::PhantomData,
    mem::{
        align_of,
        size_of,
        MaybeUninit, //
    },
    ptr, //
};

/// The C callbacks of a [`Driver`].
pub(super) struct Adapter<T: Driver>(PhantomData<T>);

/// Returns the size of a driver object for the operations table, checking that the core's
/// `kzalloc()` aligns it well enough.
const fn obj_size<O>() -> usize {
    assert!(align_of::<O>() <= bindings::ARCH_KMALLOC_MINALIGN);
    size_of::<O>()
}

/// Returns the user context of the uverbs call `udata` belongs to.
///
/// # Safety
///
/// `udata` must be null or the driver udata of a uverbs call on a device of driver `T`.
unsafe fn udata_ctx<'a, T: Driver>(udata: *mut bindings::ib_udata) -> Option<&'a Ucontext<T>> {
    // SAFETY: A uverbs udata is embedded in its attribute bundle, as the helper needs.
    let ctx = unsafe { bindings::rdma_udata_to_ucontext(udata) };
    // SAFETY: The context of a uverbs call on a device of driver `T` is a complete
    // `Ucontext<T>`, which outlives the call.
    (!ctx.is_null()).then(|| unsafe { Ucontext::from_raw(ctx) })
}

/// Initialises the driver data at `slot` with `init`.
///
/// # Safety
///
/// `slot` must be valid for writes, aligned, uninitialised, and never move afterwards until
/// the data is dropped in place.
unsafe fn init_data<D>(slot: *mut D, init: impl PinInit<D, Error>) -> Result {
    // SAFETY: Guaranteed by the caller; on error the initialiser cleaned up after itself.
    unsafe { pin_init::raw_try_init(slot, init) }
}

/// Frees an object allocated by [`Adapter::wq_alloc`] or [`Adapter::mr_alloc`], dropping its
/// data.
///
/// # Safety
///
/// `raw` must be a complete object allocated by the abstraction in a `KBox`, and not be used
/// afterwards.
unsafe fn free_owned<O>(raw: *mut O) {
    // SAFETY: Guaranteed by the caller.
    drop(unsafe { KBox::from_raw(raw) });
}

impl<T: Driver> Adapter<T> {
    const OPS: bindings::ib_device_ops = bindings::ib_device_ops {
        owner: this_module::<T::OwnerModule>().as_ptr(),
        driver_id: T::DRIVER_ID.as_raw(),
        uverbs_abi_ver: T::UVERBS_ABI_VER,
        query_device: Some(Self::query_device_callback),
        query_port: Some(Self::query_port_callback),
        get_port_immutable: Some(Self::get_port_immutable_callback),
        get_link_layer: if T::HAS_GET_LINK_LAYER {
            Some(Self::get_link_layer_callback)
        } else {
            None
        },
        query_gid: if T::HAS_QUERY_GID {
            Some(Self::query_gid_callback)
        } else {
            None
        },
        query_pkey: if T::HAS_QUERY_PKEY {
            Some(Self::query_pkey_callback)
        } else {
            None
        },
        alloc_ucontext: if T::HAS_ALLOC_UCONTEXT {
            Some(Self::alloc_ucontext_callback)
        } else {
            None
        },
        dealloc_ucontext: if T::HAS_ALLOC_UCONTEXT {
            Some(Self::dealloc_ucontext_callback)
        } else {
            None
        },
        disassociate_ucontext: if T::HAS_DISASSOCIATE_UCONTEXT {
            Some(Self::disassociate_ucontext_callback)
        } else {
            None
        },
        mmap: if T::HAS_MMAP {
            Some(Self::mmap_callback)
        } else {
            None
        },
        mmap_free: Some(mmap::mmap_free_callback),
        alloc_pd: Some(Self::alloc_pd_callback),
        dealloc_pd: Some(Self::dealloc_pd_callback),
        create_cq: if T::HAS_CREATE_CQ {
            Some(Self::create_cq_callback)
        } else {
            None
        },
        destroy_cq: if T::HAS_CREATE_CQ {
            Some(Self::destroy_cq_callback)
        } else {
            None
        },
        create_wq: if T::HAS_CREATE_WQ {
            Some(Self::create_wq_callback)
        } else {
            None
        },
        destroy_wq: if T::HAS_CREATE_WQ {
            Some(Self::destroy_wq_callback)
        } else {
            None
        },
        create_rwq_ind_table: if T::HAS_CREATE_RWQ_IND_TABLE {
            Some(Self::create_rwq_ind_table_callback)
        } else {
            None
        },
        destroy_rwq_ind_table: if T::HAS_CREATE_RWQ_IND_TABLE {
            Some(Self::destroy_rwq_ind_table_callback)
        } else {
            None
        },
        create_qp: if T::HAS_CREATE_QP {
            Some(Self::create_qp_callback)
        } else {
            None
        },
        destroy_qp: if T::HAS_CREATE_QP {
            Some(Self::destroy_qp_callback)
        } else {
            None
        },
        reg_user_mr: if T::HAS_REG_USER_MR {
            Some(Self::reg_user_mr_callback)
        } else {
            None
        },
        dereg_mr: if T::HAS_REG_USER_MR {
            Some(Self::dereg_mr_callback)
        } else {
            None
        },
        query_qp: if T::HAS_QUERY_QP {
            Some(Self::query_qp_callback)
        } else {
            None
        },
        report_port_event: if T::HAS_REPORT_PORT_EVENT {
            Some(Self::report_port_event_callback)
        } else {
            None
        },
        dealloc_driver: Some(Self::dealloc_driver_callback),
        size_ib_ucontext: obj_size::<Ucontext<T>>(),
        size_ib_pd: obj_size::<Pd<T>>(),
        size_ib_cq: obj_size::<Cq<T>>(),
        size_ib_qp: obj_size::<Qp<T>>(),
        size_ib_rwq_ind_table: obj_size::<RwqIndTable<T>>(),
        // SAFETY: `ib_device_ops` is plain data (pointers, integers, `Option<fn>`), valid
        // zeroed.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// Returns the operations table of `T`.
    pub(super) fn ops() -> &'static bindings::ib_device_ops {
        const { &Self::OPS }
    }

    /// # Safety
    ///
    /// `ibdev` must be a device of driver `T` the core calls an operation of.
    unsafe fn dev<'a>(ibdev: *mut bindings::ib_device) -> &'a Device<T> {
        // SAFETY: The core only calls operations between `ib_set_device_ops()` (after the
        // data is initialised) and `dealloc_driver` (the last operation).
        unsafe { Device::from_raw(ibdev) }
    }

    /// The `dealloc_driver` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn dealloc_driver_callback(ibdev: *mut bindings::ib_device) {
        let dev = ibdev.cast::<Device<T>>();
        // SAFETY: `dealloc_driver` is the last operation the core calls, from
        // `ib_dealloc_device()`, after which only the memory is freed. The operations are only
        // installed once the data is initialised, so it is dropped exactly once, here.
        unsafe { ptr::drop_in_place(&raw mut (*dev).data) };
    }

    /// The `query_device` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn query_device_callback(
        ibdev: *mut bindings::ib_device,
        attr: *mut bindings::ib_device_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a device of `T`, an attribute structure it owns
            // for the call, and a null or uverbs udata.
            let (dev, attr, udata) = unsafe {
                (
                    Self::dev(ibdev),
                    DeviceAttr::from_raw(attr),
                    UData::from_raw(udata),
                )
            };
            T::query_device(dev, attr, udata)?;
            attr.sanitize();
            Ok(0)
        })
    }

    /// The `query_port` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn query_port_callback(
        ibdev: *mut bindings::ib_device,
        port: u32,
        attr: *mut bindings::ib_port_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a device of `T` and an attribute structure it owns
            // for the call.
            let (dev, attr) = unsafe { (Self::dev(ibdev), PortAttr::from_raw(attr)) };
            T::query_port(dev, port, attr)?;
            Ok(0)
        })
    }

    /// The `get_port_immutable` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn get_port_immutable_callback(
        ibdev: *mut bindings::ib_device,
        port: u32,
        immutable: *mut bindings::ib_port_immutable,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a device of `T` and a structure it owns for the
            // call.
            let (dev, immutable) =
                unsafe { (Self::dev(ibdev), PortImmutable::from_raw(immutable)) };
            T::get_port_immutable(dev, port, immutable)?;
            Ok(0)
        })
    }

    /// The `get_link_layer` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn get_link_layer_callback(
        ibdev: *mut bindings::ib_device,
        port: u32,
    ) -> bindings::rdma_link_layer {
        // SAFETY: The core calls with a device of `T`.
        let dev = unsafe { Self::dev(ibdev) };
        T::get_link_layer(dev, port) as bindings::rdma_link_layer
    }

    /// The `query_gid` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn query_gid_callback(
        ibdev: *mut bindings::ib_device,
        port: u32,
        index: c_int,
        gid: *mut bindings::ib_gid,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a device of `T`.
            let dev = unsafe { Self::dev(ibdev) };
            let index = u32::try_from(index).map_err(|_| EINVAL)?;
            let value = T::query_gid(dev, port, index)?;
            // SAFETY: `gid` is valid for writes for the call; `raw` is the 16-byte view.
            unsafe { (*gid).raw = value.0 };
            Ok(0)
        })
    }

    /// The `query_pkey` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn query_pkey_callback(
        ibdev: *mut bindings::ib_device,
        port: u32,
        index: u16,
        pkey: *mut u16,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a device of `T`.
            let dev = unsafe { Self::dev(ibdev) };
            let value = T::query_pkey(dev, port, index)?;
            // SAFETY: `pkey` is valid for writes for the call.
            unsafe { pkey.write(value) };
            Ok(0)
        })
    }

    /// The `alloc_ucontext` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn alloc_ucontext_callback(
        ctx: *mut bindings::ib_ucontext,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a context of a device of `T`, allocated with
            // `size_ib_ucontext` and `device` set, and a null or uverbs udata.
            let (new, udata) = unsafe { (NewUcontext::<T>::from_raw(ctx), UData::from_raw(udata)) };
            let init = T::alloc_ucontext(new, udata);
            // SAFETY: The context is a `Ucontext<T>` allocation whose data is uninitialised,
            // and the core never moves it; on error the core frees it without
            // `dealloc_ucontext`.
            unsafe { init_data(&raw mut (*ctx.cast::<Ucontext<T>>()).data, init) }?;
            Ok(0)
        })
    }

    /// The `dealloc_ucontext` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn dealloc_ucontext_callback(ctx: *mut bindings::ib_ucontext) {
        // SAFETY: The core calls this once for a context whose `alloc_ucontext` succeeded,
        // then frees it.
        unsafe { ptr::drop_in_place(&raw mut (*ctx.cast::<Ucontext<T>>()).data) };
    }

    /// The `disassociate_ucontext` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn disassociate_ucontext_callback(ctx: *mut bindings::ib_ucontext) {
        // SAFETY: The core calls with a complete context of a device of `T`, whose data is
        // dropped only later, by `dealloc_ucontext`.
        let ctx = unsafe { Ucontext::<T>::from_raw(ctx) };
        T::disassociate_ucontext(ctx);
    }

    /// The `mmap` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn mmap_callback(
        ctx: *mut bindings::ib_ucontext,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete context of a device of `T` and the area
            // being set up by `mmap()` (the `mmap_prepare`-style hook of the uverbs file).
            let (ctx, vma) = unsafe { (Ucontext::<T>::from_raw(ctx), VmaNew::from_raw(vma)) };
            T::mmap(ctx, vma)?;
            Ok(0)
        })
    }

    /// The `alloc_pd` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn alloc_pd_callback(
        pd: *mut bindings::ib_pd,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a PD of a device of `T` allocated with `size_ib_pd`,
            // and a null or uverbs udata.
            let (new, ctx, udata) = unsafe {
                (
                    NewPd::<T>::from_raw(pd),
                    udata_ctx::<T>(udata),
                    UData::from_raw(udata),
                )
            };
            let init = T::alloc_pd(new, ctx, udata);
            // SAFETY: The PD is a `Pd<T>` allocation whose data is uninitialised, never
            // moved; on error the core frees it without `dealloc_pd`.
            unsafe { init_data(&raw mut (*pd.cast::<Pd<T>>()).data, init) }?;
            Ok(0)
        })
    }

    /// The `dealloc_pd` operation. The udata is not passed on: see [`Driver::dealloc_pd`].
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn dealloc_pd_callback(
        pd: *mut bindings::ib_pd,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete PD of a device of `T`.
            let obj = unsafe { Pd::<T>::from_raw(pd) };
            T::dealloc_pd(obj)?;
            // SAFETY: The PD is destroyed: the core frees it after this returns 0 and never
            // calls an operation on it again.
            unsafe { ptr::drop_in_place(&raw mut (*pd.cast::<Pd<T>>()).data) };
            Ok(0)
        })
    }

    /// The `create_cq` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn create_cq_callback(
        cq: *mut bindings::ib_cq,
        attr: *const bindings::ib_cq_init_attr,
        attrs: *mut bindings::uverbs_attr_bundle,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a null or valid attribute bundle.
            let udata = unsafe { bindings::rdma_attrs_to_udata(attrs) };
            // SAFETY: The core calls with a CQ of a device of `T` allocated with `size_ib_cq`,
            // valid attributes, and the bundle's udata.
            let (new, attr, ctx, udata) = unsafe {
                (
                    NewCq::<T>::from_raw(cq),
                    CqInitAttr::from_raw(attr),
                    udata_ctx::<T>(udata),
                    UData::from_raw(udata),
                )
            };
            let init = T::create_cq(new, attr, ctx, udata);
            // SAFETY: The CQ is a `Cq<T>` allocation whose data is uninitialised, never
            // moved; on error the core frees it without `destroy_cq`.
            unsafe { init_data(&raw mut (*cq.cast::<Cq<T>>()).data, init) }?;
            Ok(0)
        })
    }

    /// The `destroy_cq` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn destroy_cq_callback(
        cq: *mut bindings::ib_cq,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete CQ of a device of `T`.
            let obj = unsafe { Cq::<T>::from_raw(cq) };
            T::destroy_cq(obj)?;
            // SAFETY: The CQ is destroyed: the core frees it after this returns 0.
            unsafe { ptr::drop_in_place(&raw mut (*cq.cast::<Cq<T>>()).data) };
            Ok(0)
        })
    }

    /// The `create_wq` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn create_wq_callback(
        pd: *mut bindings::ib_pd,
        attr: *mut bindings::ib_wq_init_attr,
        udata: *mut bindings::ib_udata,
    ) -> *mut bindings::ib_wq {
        // SAFETY: The core calls with a complete PD of a device of `T`, attributes whose CQ is
        // a complete CQ of the same device, and a null or uverbs udata.
        let (pd, attr, ctx, udata) = unsafe {
            (
                Pd::<T>::from_raw(pd),
                WqInitAttr::<T>::from_raw(attr),
                udata_ctx::<T>(udata),
                UData::from_raw(udata),
            )
        };
        match Self::wq_alloc(pd, &attr, ctx, udata) {
            Ok(wq) => wq,
            Err(e) => e.to_ptr(),
        }
    }

    /// Allocates a WQ with room for the data, and lets the driver create it.
    fn wq_alloc(
        pd: &Pd<T>,
        attr: &WqInitAttr<'_, T>,
        ctx: Option<&Ucontext<T>>,
        udata: Option<&UData>,
    ) -> Result<*mut bindings::ib_wq> {
        let mut obj = KBox::<Wq<T>>::new_uninit(GFP_KERNEL)?;
        let raw: *mut Wq<T> = obj.as_mut_ptr();
        // SAFETY: The `ib_wq` is the first field of the `repr(C)` allocation; the core wants
        // it zeroed before it fills it in after creation.
        unsafe { raw.cast::<bindings::ib_wq>().write_bytes(0, 1) };
        // SAFETY: As above; the core sets `device` only after creation, but the driver may ask
        // for it while creating.
        unsafe { (*raw.cast::<bindings::ib_wq>()).device = pd.device().as_raw() };
        // SAFETY: The core part is valid (zeroed) and only this thread sees the WQ.
        let new = unsafe { NewWq::<T>::from_raw(raw.cast()) };
        let init = T::create_wq(pd, new, attr, ctx, udata);
        // SAFETY: `data` is in bounds, aligned and uninitialised; the box is leaked below, so
        // the data does not move until `free_owned` drops it.
        unsafe { init_data(&raw mut (*raw).data, init) }?;
        // SAFETY: The core part is zeroed (valid) and the data initialised.
        let obj = unsafe { obj.assume_init() };
        Ok(KBox::into_raw(obj).cast())
    }

    /// Allocates an MR with room for the data, and lets the driver register it.
    fn mr_alloc(
        pd: &Pd<T>,
        args: &UserMrArgs,
        udata: Option<&UData>,
    ) -> Result<*mut bindings::ib_mr> {
        let mut obj = KBox::<Mr<T>>::new_uninit(GFP_KERNEL)?;
        let raw: *mut Mr<T> = obj.as_mut_ptr();
        // SAFETY: The `ib_mr` is the first field of the `repr(C)` allocation; the core wants
        // it zeroed before it fills it in after registration.
        unsafe { raw.cast::<bindings::ib_mr>().write_bytes(0, 1) };
        // SAFETY: As above; the core sets `device` only after registration, but the driver may
        // ask for it while registering.
        unsafe { (*raw.cast::<bindings::ib_mr>()).device = pd.device().as_raw() };
        // SAFETY: The core part is valid (zeroed) and only this thread sees the MR.
        let new = unsafe { NewMr::<T>::from_raw(raw.cast()) };
        let init = T::reg_user_mr(pd, new, args, udata);
        // SAFETY: `data` is in bounds, aligned and uninitialised; the box is leaked below, so
        // the data does not move until `free_owned` drops it.
        unsafe { init_data(&raw mut (*raw).data, init) }?;
        // SAFETY: The core part is zeroed (valid) and the data initialised.
        let obj = unsafe { obj.assume_init() };
        Ok(KBox::into_raw(obj).cast())
    }

    /// The `destroy_wq` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn destroy_wq_callback(
        wq: *mut bindings::ib_wq,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete WQ of a device of `T`.
            let obj = unsafe { Wq::<T>::from_raw(wq) };
            T::destroy_wq(obj)?;
            // SAFETY: The WQ is destroyed and was allocated by `create_wq_callback`; the core
            // does not use it after this returns 0, the driver frees it.
            unsafe { free_owned(wq.cast::<Wq<T>>()) };
            Ok(0)
        })
    }

    /// The `create_rwq_ind_table` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn create_rwq_ind_table_callback(
        table: *mut bindings::ib_rwq_ind_table,
        attr: *mut bindings::ib_rwq_ind_table_init_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a table of a device of `T` allocated with
            // `size_ib_rwq_ind_table`, attributes whose `1 << log_ind_tbl_size` (checked
            // below 32 by uverbs) WQs are complete WQs of the same device, and a null or
            // uverbs udata.
            let (new, attr, udata) = unsafe {
                (
                    NewRwqIndTable::<T>::from_raw(table),
                    RwqIndTableInitAttr::<T>::from_raw(attr),
                    UData::from_raw(udata),
                )
            };
            let init = T::create_rwq_ind_table(new, &attr, udata);
            // SAFETY: The table is a `RwqIndTable<T>` allocation whose data is uninitialised,
            // never moved; on error the core frees it without `destroy_rwq_ind_table`.
            unsafe { init_data(&raw mut (*table.cast::<RwqIndTable<T>>()).data, init) }?;
            Ok(0)
        })
    }

    /// The `destroy_rwq_ind_table` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn destroy_rwq_ind_table_callback(
        table: *mut bindings::ib_rwq_ind_table,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete table of a device of `T`.
            let obj = unsafe { RwqIndTable::<T>::from_raw(table) };
            T::destroy_rwq_ind_table(obj)?;
            // SAFETY: The table is destroyed: the core frees it after this returns 0.
            unsafe { ptr::drop_in_place(&raw mut (*table.cast::<RwqIndTable<T>>()).data) };
            Ok(0)
        })
    }

    /// The `create_qp` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn create_qp_callback(
        qp: *mut bindings::ib_qp,
        attr: *mut bindings::ib_qp_init_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a QP of a device of `T` allocated with
            // `size_ib_qp`, attributes whose CQs and table are complete objects of the same
            // device, and a null or uverbs udata.
            let (new, attr, ctx, udata) = unsafe {
                (
                    NewQp::<T>::from_raw(qp),
                    QpInitAttr::<T>::from_raw(attr),
                    udata_ctx::<T>(udata),
                    UData::from_raw(udata),
                )
            };
            let init = T::create_qp(new, &attr, ctx, udata);
            // SAFETY: The QP is a `Qp<T>` allocation whose data is uninitialised, never moved;
            // on error the core frees it without `destroy_qp`.
            unsafe { init_data(&raw mut (*qp.cast::<Qp<T>>()).data, init) }?;
            Ok(0)
        })
    }

    /// The `destroy_qp` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn destroy_qp_callback(
        qp: *mut bindings::ib_qp,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete QP of a device of `T`.
            let obj = unsafe { Qp::<T>::from_raw(qp) };
            T::destroy_qp(obj)?;
            // SAFETY: The QP is destroyed: the core frees it after this returns 0.
            unsafe { ptr::drop_in_place(&raw mut (*qp.cast::<Qp<T>>()).data) };
            Ok(0)
        })
    }

    /// The `query_qp` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn query_qp_callback(
        qp: *mut bindings::ib_qp,
        attr: *mut bindings::ib_qp_attr,
        _attr_mask: c_int,
        init: *mut bindings::ib_qp_init_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete QP of a device of `T` (its `real_qp`)
            // and two structures it owns for the call, which nothing else accesses meanwhile.
            let (obj, mut query) = unsafe { (Qp::<T>::from_raw(qp), QpQuery::new(qp, attr, init)) };
            T::query_qp(obj, &mut query)?;
            Ok(0)
        })
    }

    /// The `report_port_event` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn report_port_event_callback(
        ibdev: *mut bindings::ib_device,
        ndev: *mut bindings::net_device,
        _event: crate::ffi::c_ulong,
    ) {
        let mut port = 0u32;
        // SAFETY: The core calls with a registered device of `T` (it holds a reference) and a
        // net device attached to one of its ports, from its netdevice notifier.
        if unsafe { bindings::ib_query_netdev_port(ibdev, ndev, &mut port) } != 0 {
            return;
        }
        // SAFETY: The core calls with a device of `T`.
        let dev = unsafe { Self::dev(ibdev) };
        T::report_port_event(dev, port);
    }

    #[allow(clippy::too_many_arguments)]
    /// The `reg_user_mr` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn reg_user_mr_callback(
        pd: *mut bindings::ib_pd,
        start: u64,
        length: u64,
        iova: u64,
        access: c_int,
        _dmah: *mut bindings::ib_dmah,
        udata: *mut bindings::ib_udata,
    ) -> *mut bindings::ib_mr {
        // SAFETY: The core calls with a complete PD of a device of `T` and a null or uverbs
        // udata.
        let (pd, udata) = unsafe { (Pd::<T>::from_raw(pd), UData::from_raw(udata)) };
        let args = UserMrArgs {
            start,
            length,
            iova,
            access,
        };
        match Self::mr_alloc(pd, &args, udata) {
            Ok(mr) => mr,
            Err(e) => e.to_ptr(),
        }
    }

    /// The `dereg_mr` operation.
    ///
    /// # Safety
    ///
    /// Only called by the RDMA core, for a device of driver `T` (and its objects), with the
    /// arguments `struct ib_device_ops` documents.
    unsafe extern "C" fn dereg_mr_callback(
        mr: *mut bindings::ib_mr,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls with a complete MR of a device of `T`.
            let obj = unsafe { Mr::<T>::from_raw(mr) };
            T::dereg_mr(obj)?;
            // SAFETY: The MR is deregistered and was allocated by `reg_user_mr_callback`; the
            // core does not use it after this returns 0, the driver frees it.
            unsafe { free_owned(mr.cast::<Mr<T>>()) };
            Ok(0)
        })
    }
}
