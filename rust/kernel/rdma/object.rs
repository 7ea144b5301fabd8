// SPDX-License-Identifier: GPL-2.0

//! Verbs objects with driver data: user contexts, PDs, CQs, WQs, QPs, RSS indirection tables
//! and MRs.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h).
//!
//! Each object is the core's structure (e.g. `struct ib_pd`) followed by the driver's data,
//! the layout `INIT_RDMA_OBJ_SIZE` describes. While the driver creates an object it sees it as
//! a `New*` type (e.g. [`NewPd`]), whose core part is valid but whose data is not there yet;
//! afterwards as the object type (e.g. [`Pd`]), which gives the data.

use super::{
    Device,
    Driver, //
};
use crate::{
    bindings,
    prelude::*,
    types::Opaque, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

/// Generates an object type and its `New*` counterpart.
macro_rules! object {
    (
        $(#[$doc:meta])*
        $name:ident, $new:ident, $raw:ident, $data:ident, $cname:literal
    ) => {
        $(#[$doc])*
        ///
        /// # Invariants
        ///
        #[doc = concat!("`ib` is a `struct ", $cname, "` of a device of driver `T` (its `device` ")]
        /// field is a [`Device<T>`]), allocated with room for the data, and `data` is
        /// initialised and pinned, for as long as a reference to this object exists.
        #[repr(C)]
        pub struct $name<T: Driver> {
            ib: Opaque<bindings::$raw>,
            pub(super) data: T::$data,
        }

        // SAFETY: The object is only used by reference; its core part is managed by the core
        // with its own locking, and the driver data is `Sync`.
        unsafe impl<T: Driver> Sync for $name<T> {}

        // SAFETY: As above; the driver data is `Send`.
        unsafe impl<T: Driver> Send for $name<T> {}

        impl<T: Driver> $name<T> {
            #[doc = concat!("Returns the raw `struct ", $cname, "` pointer.")]
            pub fn as_raw(&self) -> *mut bindings::$raw {
                self.ib.get()
            }

            /// Creates a reference from a raw pointer.
            ///
            /// # Safety
            ///
            #[doc = concat!("`ptr` must point to a `struct ", $cname, "` of a device of driver")]
            /// `T` whose driver data is initialised, and both must stay valid for `'a`.
            pub unsafe fn from_raw<'a>(ptr: *mut bindings::$raw) -> &'a Self {
                // SAFETY: The core structure is the first field of the `repr(C)` object, and
                // the caller guarantees that the object is complete and valid for `'a`.
                unsafe { &*ptr.cast::<Self>() }
            }

            /// Returns the driver's data.
            pub fn data(&self) -> Pin<&T::$data> {
                // SAFETY: By the type invariant, the data is initialised and pinned.
                unsafe { Pin::new_unchecked(&self.data) }
            }

            /// Returns the device of the object.
            pub fn device(&self) -> &Device<T> {
                // SAFETY: By the type invariant the core structure is valid, and its `device`
                // is a `Device<T>`, which outlives its objects.
                unsafe { Device::from_raw((*self.as_raw()).device) }
            }
        }

        $(#[$doc])*
        ///
        /// The object being created: its core part is valid, its driver data not yet.
        ///
        /// # Invariants
        ///
        #[doc = concat!("`0` is a `struct ", $cname, "` of a device of driver `T`, being")]
        /// created, valid for as long as a reference to this object exists.
        #[repr(transparent)]
        pub struct $new<T: Driver>(Opaque<bindings::$raw>, PhantomData<T>);

        impl<T: Driver> $new<T> {
            #[doc = concat!("Returns the raw `struct ", $cname, "` pointer.")]
            pub fn as_raw(&self) -> *mut bindings::$raw {
                self.0.get()
            }

            /// Creates a reference from a raw pointer.
            ///
            /// # Safety
            ///
            #[doc = concat!("`ptr` must point to a `struct ", $cname, "` of a device of driver")]
            /// `T`, being created by the current thread, valid for `'a`.
            pub unsafe fn from_raw<'a>(ptr: *mut bindings::$raw) -> &'a Self {
                // SAFETY: `$new` is a transparent wrapper, and the caller guarantees validity.
                unsafe { &*ptr.cast::<Self>() }
            }

            /// Returns the device of the object.
            pub fn device(&self) -> &Device<T> {
                // SAFETY: By the type invariant the core structure is valid, and its `device`
                // is a `Device<T>`, which outlives its objects.
                unsafe { Device::from_raw((*self.as_raw()).device) }
            }
        }
    };
}

object! {
    /// A user context (`struct ib_ucontext`): the state of one open uverbs file.
    Ucontext, NewUcontext, ib_ucontext, UcontextData, "ib_ucontext"
}

object! {
    /// A protection domain (`struct ib_pd`).
    Pd, NewPd, ib_pd, PdData, "ib_pd"
}

object! {
    /// A completion queue (`struct ib_cq`).
    Cq, NewCq, ib_cq, CqData, "ib_cq"
}

object! {
    /// A work queue (`struct ib_wq`), allocated by the abstraction.
    Wq, NewWq, ib_wq, WqData, "ib_wq"
}

object! {
    /// A queue pair (`struct ib_qp`).
    Qp, NewQp, ib_qp, QpData, "ib_qp"
}

object! {
    /// A receive work queue indirection table for RSS (`struct ib_rwq_ind_table`).
    RwqIndTable, NewRwqIndTable, ib_rwq_ind_table, RwqIndTableData, "ib_rwq_ind_table"
}

object! {
    /// A memory region (`struct ib_mr`), allocated by the abstraction.
    Mr, NewMr, ib_mr, MrData, "ib_mr"
}

/// Returns the driver object behind a user object's context pointer.
///
/// # Safety
///
/// `ctx` must be null or a user context of a device of driver `T` whose data is initialised,
/// valid for `'a`.
unsafe fn ucontext<'a, T: Driver>(ctx: *mut bindings::ib_ucontext) -> Option<&'a Ucontext<T>> {
    // SAFETY: Guaranteed by the caller.
    (!ctx.is_null()).then(|| unsafe { Ucontext::from_raw(ctx) })
}

impl<T: Driver> Pd<T> {
    /// Returns the user context the PD belongs to, `None` for a kernel PD.
    pub fn ucontext(&self) -> Option<&Ucontext<T>> {
        // SAFETY: By the type invariant the PD is valid; the core sets `uobject` before the
        // PD is created and the context outlives the objects created in it.
        unsafe {
            let uobject = (*self.as_raw()).uobject;
            if uobject.is_null() {
                return None;
            }
            ucontext((*uobject).context)
        }
    }
}

impl<T: Driver> NewCq<T> {
    /// Reports the number of entries the driver allocated (`cqe`).
    pub fn set_cqe(&self, cqe: u32) -> Result {
        let cqe = i32::try_from(cqe).map_err(|_| EINVAL)?;
        // SAFETY: By the type invariant the CQ is valid, and only the current thread accesses
        // it while it is being created.
        unsafe { (*self.as_raw()).cqe = cqe };
        Ok(())
    }
}

impl<T: Driver> Cq<T> {
    /// Returns the number of entries (`cqe`).
    pub fn cqe(&self) -> i32 {
        // SAFETY: By the type invariant the CQ is valid; `cqe` only changes on resize, which
        // this abstraction does not offer.
        unsafe { (*self.as_raw()).cqe }
    }
}

impl<T: Driver> Cq<T> {
    /// Returns a counted reference through which the CQ's completion events can be reported
    /// later, from any context ([`CqNotifier::completion_event`]).
    ///
    /// While the notifier lives the CQ counts one more user (`usecnt`), as it does for each
    /// QP or WQ that completes on it: the core refuses to destroy it (`EBUSY`; when a process
    /// exits or the device goes away, the core leaks it with a warning rather than freeing
    /// it). A driver therefore drops its notifiers when the device queue that reports to the
    /// CQ goes, e.g. with the QP that uses the CQ, and never keeps one in the CQ's own data.
    pub fn notifier(&self) -> CqNotifier {
        let cq = self.as_raw();
        // SAFETY: By the type invariant the CQ is valid; `usecnt` is an atomic the core reads
        // before destroying the CQ.
        unsafe { bindings::atomic_inc(&raw mut (*cq).usecnt) };
        // INVARIANT: The CQ is complete and now counts the new notifier as a user.
        CqNotifier {
            cq: NonNull::from(self).cast(),
        }
    }
}

/// A counted reference to a completion queue for reporting its completion events, from
/// [`Cq::notifier`]; dropping it gives the reference back.
///
/// A device raises an event for a CQ when the CQ was armed (e.g. by user space through its
/// doorbell, `ibv_req_notify_cq()`) and a completion arrived; the driver, typically from the
/// interrupt handler of its event queue, then reports it with
/// [`completion_event`](Self::completion_event), which calls the CQ's completion handler
/// (`cq->comp_handler(cq, cq->cq_context)`): for a user CQ, `ib_uverbs`' handler, which queues
/// the event on the CQ's completion channel for `ibv_get_cq_event()`.
///
/// # Invariants
///
/// `cq` is a complete CQ whose `usecnt` counts this notifier: the core does not destroy or
/// free it, nor does the CQ's `comp_handler` or `cq_context` change, while this object exists.
pub struct CqNotifier {
    cq: NonNull<bindings::ib_cq>,
}

// SAFETY: The notifier only calls the CQ's completion handler, which the core allows from any
// thread, and gives back its count with an atomic operation.
unsafe impl Send for CqNotifier {}

// SAFETY: As above: `completion_event` takes `&self` and may run on several CPUs at once.
unsafe impl Sync for CqNotifier {}

impl CqNotifier {
    /// Reports a completion event of the CQ to its consumer: calls its completion handler, if
    /// it has one, with its context.
    ///
    /// May be called from any context, hard interrupt included, as the C drivers call it
    /// from their event queue interrupts; the core's handlers (uverbs' completion channels,
    /// the kernel's CQ polling contexts) only take interrupt-safe locks and allocate with
    /// `GFP_ATOMIC`.
    pub fn completion_event(&self) {
        let cq = self.cq.as_ptr();
        // SAFETY: By the type invariant the CQ is valid and its handler and context do not
        // change while `self` lives.
        let (handler, context) = unsafe { ((*cq).comp_handler, (*cq).cq_context) };
        if let Some(handler) = handler {
            // SAFETY: The CQ is complete and stays valid during the call (type invariant);
            // `context` is the context its creator set for this handler, which the CQ keeps
            // valid as long as it exists (uverbs holds a reference to the completion channel).
            unsafe { handler(cq, context) };
        }
    }

    /// Returns the raw `struct ib_cq` pointer, e.g. to compare notifiers.
    pub fn as_raw(&self) -> *mut bindings::ib_cq {
        self.cq.as_ptr()
    }
}

impl Drop for CqNotifier {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the CQ is valid and counts this notifier; after this
        // the notifier no longer uses it.
        unsafe { bindings::atomic_dec(&raw mut (*self.cq.as_ptr()).usecnt) };
    }
}

impl<T: Driver> NewWq<T> {
    /// Reports the number of the work queue (`wq_num`).
    pub fn set_wq_num(&self, num: u32) {
        // SAFETY: By the type invariant the WQ is valid, and only the current thread accesses
        // it while it is being created.
        unsafe { (*self.as_raw()).wq_num = num };
    }
}

impl<T: Driver> Wq<T> {
    /// Returns the number of the work queue (`wq_num`).
    pub fn wq_num(&self) -> u32 {
        // SAFETY: By the type invariant the WQ is valid; `wq_num` is written once, at creation.
        unsafe { (*self.as_raw()).wq_num }
    }

    /// Returns the protection domain of the work queue.
    pub fn pd(&self) -> &Pd<T> {
        // SAFETY: By the type invariant the WQ is valid; the core sets `pd` right after
        // creation, before anyone else can see the WQ, and holds a use count of the PD until
        // the WQ is destroyed. The PD is a PD of the same device, so a `Pd<T>`.
        unsafe { Pd::from_raw((*self.as_raw()).pd) }
    }

    /// Returns the completion queue of the work queue, if any.
    pub fn cq(&self) -> Option<&Cq<T>> {
        // SAFETY: As for `pd`: the core sets `cq` after creation and holds a use count of it.
        let cq = unsafe { (*self.as_raw()).cq };
        // SAFETY: A non-null `cq` is a complete CQ of the same device (see above).
        (!cq.is_null()).then(|| unsafe { Cq::from_raw(cq) })
    }
}

/// The largest QP number plus one: the resource tracker keys QPs by number and warns about
/// larger ones (`rdma_restrack_add()`).
pub const QP_NUM_LIMIT: u32 = 1 << 24;

impl<T: Driver> NewQp<T> {
    /// Reports the QP number (`qp_num`), which user space sees and the resource tracker
    /// (`rdma res show qp`) keys QPs by: it must be below [`QP_NUM_LIMIT`] (`EINVAL`
    /// otherwise) and should differ from the numbers of the device's other QPs (the tracker
    /// leaves out a QP whose number is taken).
    pub fn set_qp_num(&self, num: u32) -> Result {
        if num >= QP_NUM_LIMIT {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant the QP is valid, and only the current thread accesses
        // it while it is being created.
        unsafe { (*self.as_raw()).qp_num = num };
        Ok(())
    }

    /// Reports the port of the QP (`port`), for QP types whose port comes in the driver's
    /// request rather than in the core's attributes (raw packet QPs): the resource tracker
    /// shows it and filters by it. `EINVAL` for a port the device does not have.
    pub fn set_port(&self, port: u32) -> Result {
        if port == 0 || port > self.device().phys_port_cnt() {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant the QP is valid, and only the current thread accesses
        // it while it is being created; the core set `port` from the attributes before and
        // reads it only after creation.
        unsafe { (*self.as_raw()).port = port };
        Ok(())
    }

    /// Returns the protection domain of the QP being created, if any.
    pub fn pd(&self) -> Option<&Pd<T>> {
        // SAFETY: By the type invariant the QP is valid; the core sets `pd` before calling
        // `create_qp`, to a PD of the same device that it keeps alive while the QP exists.
        unsafe {
            let pd = (*self.as_raw()).pd;
            (!pd.is_null()).then(|| Pd::from_raw(pd))
        }
    }
}

impl<T: Driver> Qp<T> {
    /// Returns the QP number (`qp_num`).
    pub fn qp_num(&self) -> u32 {
        // SAFETY: By the type invariant the QP is valid; `qp_num` is written once, at creation.
        unsafe { (*self.as_raw()).qp_num }
    }

    /// Returns the port of the QP (`port`), 0 if it has none.
    pub fn port(&self) -> u32 {
        // SAFETY: By the type invariant the QP is valid; `port` is written at creation.
        unsafe { (*self.as_raw()).port }
    }

    /// Returns the type of the QP (`qp_type`).
    pub fn qp_type(&self) -> QpType {
        // SAFETY: By the type invariant the QP is valid; the type never changes.
        QpType(unsafe { (*self.as_raw()).qp_type })
    }

    /// Returns the protection domain of the QP, if any.
    pub fn pd(&self) -> Option<&Pd<T>> {
        // SAFETY: By the type invariant the QP is valid; its PD is one of the same device,
        // kept alive while the QP exists.
        unsafe {
            let pd = (*self.as_raw()).pd;
            (!pd.is_null()).then(|| Pd::from_raw(pd))
        }
    }
}

impl<T: Driver> NewRwqIndTable<T> {
    /// Reports the number of the table (`ind_tbl_num`).
    pub fn set_ind_tbl_num(&self, num: u32) {
        // SAFETY: By the type invariant the table is valid, and only the current thread
        // accesses it while it is being created.
        unsafe { (*self.as_raw()).ind_tbl_num = num };
    }
}

impl<T: Driver> RwqIndTable<T> {
    /// Returns the number of the table (`ind_tbl_num`).
    pub fn ind_tbl_num(&self) -> u32 {
        // SAFETY: By the type invariant the table is valid; the number is written once.
        unsafe { (*self.as_raw()).ind_tbl_num }
    }

    /// Returns the base-2 logarithm of the number of WQs of the table (`log_ind_tbl_size`).
    pub fn log_size(&self) -> u32 {
        // SAFETY: By the type invariant the table is valid; the core sets the size before
        // `create_rwq_ind_table` and never changes it.
        unsafe { (*self.as_raw()).log_ind_tbl_size }
    }

    /// Returns the work queues of the table.
    pub fn wqs(&self) -> impl Iterator<Item = &Wq<T>> + '_ {
        // SAFETY: By the type invariant the table is valid; the core sets `ind_tbl` and
        // `log_ind_tbl_size` before `create_rwq_ind_table` and never changes them.
        let (tbl, log) = unsafe { ((*self.as_raw()).ind_tbl, (*self.as_raw()).log_ind_tbl_size) };
        // SAFETY: The array has `1 << log` WQs of the same device, which the core keeps alive
        // (use counts) while the table exists.
        unsafe { wq_iter(tbl, log) }
    }
}

/// Iterates over the `1 << log` WQs of `tbl`.
///
/// # Safety
///
/// `tbl` must hold `1 << log` pointers to complete WQs of devices of driver `T`, all valid for
/// `'a`, and `log` must be below 32.
unsafe fn wq_iter<'a, T: Driver>(
    tbl: *mut *mut bindings::ib_wq,
    log: u32,
) -> impl Iterator<Item = &'a Wq<T>> + 'a {
    (0..(1usize << log)).map(move |i| {
        // SAFETY: `i` is below the length of the array, whose entries are complete `Wq<T>`
        // valid for `'a`, as the caller guarantees.
        unsafe { Wq::from_raw(*tbl.add(i)) }
    })
}

impl<T: Driver> NewMr<T> {
    /// Reports the local and remote keys of the region (`lkey`, `rkey`).
    pub fn set_keys(&self, lkey: u32, rkey: u32) {
        // SAFETY: By the type invariant the MR is valid, and only the current thread accesses
        // it while it is being created.
        unsafe {
            (*self.as_raw()).lkey = lkey;
            (*self.as_raw()).rkey = rkey;
        }
    }
}

impl<T: Driver> Mr<T> {
    /// Returns the local key (`lkey`).
    pub fn lkey(&self) -> u32 {
        // SAFETY: By the type invariant the MR is valid; the key is written once.
        unsafe { (*self.as_raw()).lkey }
    }

    /// Returns the remote key (`rkey`).
    pub fn rkey(&self) -> u32 {
        // SAFETY: By the type invariant the MR is valid; the key is written once.
        unsafe { (*self.as_raw()).rkey }
    }
}

/// The attributes of a new completion queue (`struct ib_cq_init_attr`).
#[repr(transparent)]
pub struct CqInitAttr(bindings::ib_cq_init_attr);

impl CqInitAttr {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *const bindings::ib_cq_init_attr) -> &'a Self {
        // SAFETY: Transparent wrapper; validity is guaranteed by the caller.
        unsafe { &*ptr.cast() }
    }

    /// Returns the number of entries requested (`cqe`).
    pub fn cqe(&self) -> u32 {
        self.0.cqe
    }

    /// Returns the completion vector requested (`comp_vector`).
    pub fn comp_vector(&self) -> u32 {
        self.0.comp_vector
    }

    /// Returns the `IB_UVERBS_CQ_FLAGS_*` flags (`flags`).
    pub fn flags(&self) -> u32 {
        self.0.flags
    }
}

/// The attributes of a new work queue (`struct ib_wq_init_attr`).
///
/// # Invariants
///
/// `cq` is null or a complete CQ of a device of driver `T`, valid for `'a`.
pub struct WqInitAttr<'a, T: Driver> {
    raw: &'a bindings::ib_wq_init_attr,
    _driver: PhantomData<T>,
}

impl<'a, T: Driver> WqInitAttr<'a, T> {
    /// Creates the attributes from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads for `'a`, and its `cq` null or a complete CQ of a device
    /// of driver `T`, valid for `'a`.
    pub unsafe fn from_raw(ptr: *const bindings::ib_wq_init_attr) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            // SAFETY: Guaranteed by the caller.
            raw: unsafe { &*ptr },
            _driver: PhantomData,
        }
    }

    /// Returns the type of work queue (`enum ib_wq_type`; `IB_WQT_RQ` is 0).
    pub fn wq_type(&self) -> u32 {
        self.raw.wq_type
    }

    /// Returns the most outstanding work requests (`max_wr`).
    pub fn max_wr(&self) -> u32 {
        self.raw.max_wr
    }

    /// Returns the most scatter/gather entries per work request (`max_sge`).
    pub fn max_sge(&self) -> u32 {
        self.raw.max_sge
    }

    /// Returns the `IB_WQ_FLAGS_*` creation flags (`create_flags`).
    pub fn create_flags(&self) -> u32 {
        self.raw.create_flags
    }

    /// Returns the completion queue of the work queue; uverbs always passes one, kernel
    /// callers of `ib_create_wq()` may not.
    pub fn cq(&self) -> Option<&'a Cq<T>> {
        let cq = self.raw.cq;
        // SAFETY: By the type invariant a non-null `cq` is a complete `Cq<T>` valid for `'a`.
        (!cq.is_null()).then(|| unsafe { Cq::from_raw(cq) })
    }
}

/// The attributes of a new indirection table (`struct ib_rwq_ind_table_init_attr`).
///
/// # Invariants
///
/// `ind_tbl` holds `1 << log_ind_tbl_size` complete WQs of a device of driver `T`, valid for
/// `'a`, and `log_ind_tbl_size` is below 32.
pub struct RwqIndTableInitAttr<'a, T: Driver> {
    raw: &'a bindings::ib_rwq_ind_table_init_attr,
    _driver: PhantomData<T>,
}

impl<'a, T: Driver> RwqIndTableInitAttr<'a, T> {
    /// Creates the attributes from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads for `'a`; its table must hold `1 << log_ind_tbl_size`
    /// complete WQs of a device of driver `T` valid for `'a`, with `log_ind_tbl_size` below
    /// 32.
    pub unsafe fn from_raw(ptr: *const bindings::ib_rwq_ind_table_init_attr) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            // SAFETY: Guaranteed by the caller.
            raw: unsafe { &*ptr },
            _driver: PhantomData,
        }
    }

    /// Returns the base-2 logarithm of the number of entries (`log_ind_tbl_size`).
    pub fn log_size(&self) -> u32 {
        self.raw.log_ind_tbl_size
    }

    /// Returns the work queues of the table, in order.
    pub fn wqs(&self) -> impl Iterator<Item = &'a Wq<T>> + 'a {
        // SAFETY: By the type invariant the table holds `1 << log` complete WQs valid for `'a`.
        unsafe { wq_iter(self.raw.ind_tbl, self.raw.log_ind_tbl_size) }
    }
}

/// A type of queue pair (`enum ib_qp_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QpType(pub u32);

impl QpType {
    /// `IB_QPT_RC`: reliable connected.
    pub const RC: Self = Self(bindings::ib_qp_type_IB_QPT_RC);
    /// `IB_QPT_UC`: unreliable connected.
    pub const UC: Self = Self(bindings::ib_qp_type_IB_QPT_UC);
    /// `IB_QPT_UD`: unreliable datagram.
    pub const UD: Self = Self(bindings::ib_qp_type_IB_QPT_UD);
    /// `IB_QPT_RAW_PACKET`: raw Ethernet packets.
    pub const RAW_PACKET: Self = Self(bindings::ib_qp_type_IB_QPT_RAW_PACKET);
}

/// The attributes of a new queue pair (`struct ib_qp_init_attr`).
///
/// # Invariants
///
/// `send_cq`, `recv_cq` and `rwq_ind_tbl` are null or complete objects of a device of driver
/// `T`, valid for `'a`.
pub struct QpInitAttr<'a, T: Driver> {
    raw: &'a bindings::ib_qp_init_attr,
    _driver: PhantomData<T>,
}

impl<'a, T: Driver> QpInitAttr<'a, T> {
    /// Creates the attributes from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads for `'a`, and its `send_cq`, `recv_cq` and `rwq_ind_tbl`
    /// null or complete objects of a device of driver `T`, valid for `'a`.
    pub unsafe fn from_raw(ptr: *const bindings::ib_qp_init_attr) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            // SAFETY: Guaranteed by the caller.
            raw: unsafe { &*ptr },
            _driver: PhantomData,
        }
    }

    /// Returns the type of the QP.
    pub fn qp_type(&self) -> QpType {
        QpType(self.raw.qp_type)
    }

    /// Returns the port of the QP (`port_num`), for the types bound to one.
    pub fn port_num(&self) -> u32 {
        self.raw.port_num
    }

    /// Returns the `IB_QP_CREATE_*` flags (`create_flags`).
    pub fn create_flags(&self) -> u32 {
        self.raw.create_flags
    }

    /// Returns the requested most outstanding send work requests (`cap.max_send_wr`).
    pub fn max_send_wr(&self) -> u32 {
        self.raw.cap.max_send_wr
    }

    /// Returns the requested most outstanding receive work requests (`cap.max_recv_wr`).
    pub fn max_recv_wr(&self) -> u32 {
        self.raw.cap.max_recv_wr
    }

    /// Returns the requested most scatter/gather entries per send (`cap.max_send_sge`).
    pub fn max_send_sge(&self) -> u32 {
        self.raw.cap.max_send_sge
    }

    /// Returns the requested most scatter/gather entries per receive (`cap.max_recv_sge`).
    pub fn max_recv_sge(&self) -> u32 {
        self.raw.cap.max_recv_sge
    }

    /// Returns the send completion queue, if any.
    pub fn send_cq(&self) -> Option<&'a Cq<T>> {
        let cq = self.raw.send_cq;
        // SAFETY: By the type invariant a non-null `send_cq` is a complete `Cq<T>`.
        (!cq.is_null()).then(|| unsafe { Cq::from_raw(cq) })
    }

    /// Returns the receive completion queue, if any.
    pub fn recv_cq(&self) -> Option<&'a Cq<T>> {
        let cq = self.raw.recv_cq;
        // SAFETY: By the type invariant a non-null `recv_cq` is a complete `Cq<T>`.
        (!cq.is_null()).then(|| unsafe { Cq::from_raw(cq) })
    }

    /// Returns the receive WQ indirection table of an RSS QP, if any.
    pub fn rwq_ind_table(&self) -> Option<&'a RwqIndTable<T>> {
        let table = self.raw.rwq_ind_tbl;
        // SAFETY: By the type invariant a non-null `rwq_ind_tbl` is a complete
        // `RwqIndTable<T>`.
        (!table.is_null()).then(|| unsafe { RwqIndTable::from_raw(table) })
    }
}

/// The state of a queue pair (`enum ib_qp_state`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum QpState {
    /// `IB_QPS_RESET`.
    Reset = bindings::ib_qp_state_IB_QPS_RESET,
    /// `IB_QPS_INIT`.
    Init = bindings::ib_qp_state_IB_QPS_INIT,
    /// `IB_QPS_RTR`: ready to receive.
    Rtr = bindings::ib_qp_state_IB_QPS_RTR,
    /// `IB_QPS_RTS`: ready to send.
    Rts = bindings::ib_qp_state_IB_QPS_RTS,
    /// `IB_QPS_ERR`: in error.
    Err = bindings::ib_qp_state_IB_QPS_ERR,
}

/// The answer of [`Driver::query_qp`]: a `struct ib_qp_attr` and a `struct ib_qp_init_attr`.
///
/// The abstraction zeroes both and fills in what the core knows of the QP (type, port,
/// CQs, indirection table, signalling of all send requests); the driver sets the rest.
///
/// # Invariants
///
/// `attr` and `init` are valid for writes and not accessed by anything else while this
/// object exists.
pub struct QpQuery {
    attr: *mut bindings::ib_qp_attr,
    init: *mut bindings::ib_qp_init_attr,
}

impl QpQuery {
    /// Creates the answer to a query of `qp` in the core's structures, zeroed and filled in
    /// with what the core knows.
    ///
    /// # Safety
    ///
    /// `attr` and `init` must be valid for writes, and not accessed by anything else, while
    /// the returned object exists; `qp` must be a valid QP.
    pub unsafe fn new(
        qp: *mut bindings::ib_qp,
        attr: *mut bindings::ib_qp_attr,
        init: *mut bindings::ib_qp_init_attr,
    ) -> Self {
        // SAFETY: The caller guarantees both are valid for writes; all-zero is a valid value
        // of both (integers and pointers). `ib_query_qp()` cleared the `sgid_attr` pointers
        // before, and zero keeps them cleared.
        unsafe {
            attr.write_bytes(0, 1);
            init.write_bytes(0, 1);
        }
        // SAFETY: `qp` is valid (caller); the fields read never change after creation. `init`
        // and `attr` are valid for writes.
        unsafe {
            (*init).qp_type = (*qp).qp_type;
            (*init).port_num = (*qp).port;
            (*init).send_cq = (*qp).send_cq;
            (*init).recv_cq = (*qp).recv_cq;
            (*init).srq = (*qp).srq;
            (*init).rwq_ind_tbl = (*qp).rwq_ind_tbl;
            (*init).sq_sig_type = bindings::ib_sig_type_IB_SIGNAL_ALL_WR;
            (*attr).port_num = (*qp).port;
        }
        // INVARIANT: Guaranteed by the caller.
        Self { attr, init }
    }

    /// Sets the current state of the QP (`qp_state` and `cur_qp_state`).
    pub fn set_state(&mut self, state: QpState) -> &mut Self {
        // SAFETY: By the type invariant `attr` is valid for writes and only used by `self`.
        unsafe {
            (*self.attr).qp_state = state as bindings::ib_qp_state;
            (*self.attr).cur_qp_state = state as bindings::ib_qp_state;
        }
        self
    }

    /// Sets the capacities of the QP's queues (`cap` of both structures): most outstanding
    /// send and receive work requests, most scatter/gather entries of each.
    pub fn set_caps(
        &mut self,
        (max_send_wr, max_send_sge): (u32, u32),
        (max_recv_wr, max_recv_sge): (u32, u32),
    ) -> &mut Self {
        let mut cap: bindings::ib_qp_cap = pin_init::zeroed();
        cap.max_send_wr = max_send_wr;
        cap.max_recv_wr = max_recv_wr;
        cap.max_send_sge = max_send_sge;
        cap.max_recv_sge = max_recv_sge;
        // SAFETY: By the type invariant both are valid for writes and only used by `self`.
        unsafe {
            (*self.attr).cap = cap;
            (*self.init).cap = cap;
        }
        self
    }

    /// Returns the state set (`qp_state`).
    pub fn state(&self) -> u32 {
        // SAFETY: By the type invariant `attr` is valid and only used by `self`.
        unsafe { (*self.attr).qp_state }
    }
}

/// The arguments of [`Driver::reg_user_mr`].
#[derive(Clone, Copy, Debug)]
pub struct UserMrArgs {
    /// The user virtual address of the region.
    pub start: u64,
    /// The length of the region in bytes.
    pub length: u64,
    /// The I/O virtual address the region is accessed at.
    pub iova: u64,
    /// The `IB_ACCESS_*` flags.
    pub access: i32,
}
