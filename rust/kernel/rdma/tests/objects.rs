// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the verbs objects: driver data in core-allocated and driver-allocated
//! objects, create and destroy through the core's kernel entry points (or the operations table
//! where the core has none), and failing creates and destroys.

use super::*;
use core::{
    mem::MaybeUninit,
    sync::atomic::AtomicI32, //
};

/// What the object driver saw.
#[derive(Default)]
struct ObjCounters {
    /// Driver data of objects currently alive.
    live: AtomicI32,
    /// Numbers handed out to objects.
    next: AtomicU32,
    /// Non-zero: destroy operations fail with `EBUSY`.
    fail_destroy: AtomicU32,
    /// The number of WQs and the sum of their numbers seen by `create_rwq_ind_table`.
    table_wqs: AtomicU32,
    table_wq_sum: AtomicU32,
    /// The number of the send CQ seen by `create_qp`.
    qp_send_cq: AtomicU32,
    /// The DMA blocks of the last registered MR.
    mr_blocks: AtomicU32,
}

/// The driver data of every object: counted while alive.
struct Obj {
    counters: Arc<ObjCounters>,
    num: u32,
}

impl Obj {
    fn new(dev: &Device<ObjDriver>) -> Self {
        let counters = Arc::clone(&*dev.data());
        counters.live.fetch_add(1, Relaxed);
        let num = counters.next.fetch_add(1, Relaxed) + 1;
        Self { counters, num }
    }

    fn destroy(&self) -> Result {
        if self.counters.fail_destroy.load(Relaxed) != 0 {
            return Err(EBUSY);
        }
        Ok(())
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.counters.live.fetch_sub(1, Relaxed);
    }
}

/// The driver data of a memory region: the pinned user memory.
struct MrObj {
    obj: Obj,
    _umem: Umem,
}

struct ObjDriver;

#[vtable]
impl Driver for ObjDriver {
    type Data = Arc<ObjCounters>;
    type UcontextData = ();
    type PdData = Obj;
    type CqData = Obj;
    type WqData = Obj;
    type QpData = Obj;
    type RwqIndTableData = Obj;
    type MrData = MrObj;

    const DRIVER_ID: DriverId = DriverId::UNKNOWN;
    const UVERBS_ABI_VER: u32 = 1;

    fn query_device(_dev: &Device<Self>, attr: &mut DeviceAttr, _udata: Option<&UData>) -> Result {
        attr.set_kernel_cap_flags(crate::rdma::KernelCaps::LOCAL_DMA_LKEY)
            .set_max_cqe(1024);
        Ok(())
    }

    fn query_port(_dev: &Device<Self>, _port: u32, attr: &mut PortAttr) -> Result {
        attr.set_state(PortState::Active);
        Ok(())
    }

    fn get_port_immutable(
        _dev: &Device<Self>,
        _port: u32,
        immutable: &mut PortImmutable,
    ) -> Result {
        immutable.set_core_cap_flags(PortImmutable::CORE_PORT_RAW_PACKET);
        Ok(())
    }

    fn alloc_pd(
        pd: &NewPd<Self>,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::PdData, Error> {
        Ok::<_, Error>(Obj::new(pd.device()))
    }

    fn dealloc_pd(pd: &Pd<Self>) -> Result {
        pd.data().destroy()
    }

    fn create_cq(
        cq: &NewCq<Self>,
        attr: &CqInitAttr,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::CqData, Error> {
        create_cq_obj(cq, attr)
    }

    fn destroy_cq(cq: &Cq<Self>) -> Result {
        cq.data().destroy()
    }

    fn create_wq(
        pd: &Pd<Self>,
        wq: &NewWq<Self>,
        attr: &WqInitAttr<'_, Self>,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::WqData, Error> {
        create_wq_obj(pd, wq, attr)
    }

    fn destroy_wq(wq: &Wq<Self>) -> Result {
        wq.data().destroy()
    }

    fn create_rwq_ind_table(
        table: &NewRwqIndTable<Self>,
        attr: &RwqIndTableInitAttr<'_, Self>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::RwqIndTableData, Error> {
        let counters = Arc::clone(&*table.device().data());
        let mut count = 0;
        let mut sum = 0;
        for wq in attr.wqs() {
            count += 1;
            sum += wq.wq_num();
        }
        counters.table_wqs.store(count, Relaxed);
        counters.table_wq_sum.store(sum, Relaxed);
        let obj = Obj::new(table.device());
        table.set_ind_tbl_num(obj.num);
        Ok::<_, Error>(obj)
    }

    fn destroy_rwq_ind_table(table: &RwqIndTable<Self>) -> Result {
        table.data().destroy()
    }

    fn create_qp(
        qp: &NewQp<Self>,
        attr: &QpInitAttr<'_, Self>,
        _ctx: Option<&Ucontext<Self>>,
        _udata: Option<&UData>,
    ) -> impl PinInit<Self::QpData, Error> {
        create_qp_obj(qp, attr)
    }

    fn destroy_qp(qp: &Qp<Self>) -> Result {
        qp.data().destroy()
    }

    fn reg_user_mr(
        pd: &Pd<Self>,
        mr: &NewMr<Self>,
        args: &UserMrArgs,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::MrData, Error> {
        udata
            .ok_or(EINVAL)
            .and_then(|udata| reg_user_mr_obj(pd, mr, args, udata))
    }

    fn dereg_mr(mr: &Mr<Self>) -> Result {
        mr.data().obj.destroy()
    }
}

fn create_cq_obj(cq: &NewCq<ObjDriver>, attr: &CqInitAttr) -> Result<Obj> {
    if attr.cqe() > 1024 {
        return Err(EINVAL);
    }
    cq.set_cqe(attr.cqe().next_power_of_two())?;
    Ok(Obj::new(cq.device()))
}

fn create_wq_obj(
    pd: &Pd<ObjDriver>,
    wq: &NewWq<ObjDriver>,
    attr: &WqInitAttr<'_, ObjDriver>,
) -> Result<Obj> {
    if attr.wq_type() != bindings::ib_wq_type_IB_WQT_RQ || attr.max_wr() == 0 {
        return Err(EINVAL);
    }
    // The CQ is an object of this driver, with its data.
    if attr.cq().ok_or(EINVAL)?.data().num == 0 {
        return Err(EINVAL);
    }
    let obj = Obj::new(pd.device());
    wq.set_wq_num(100 + obj.num);
    Ok(obj)
}

fn create_qp_obj(qp: &NewQp<ObjDriver>, attr: &QpInitAttr<'_, ObjDriver>) -> Result<Obj> {
    if attr.qp_type() != QpType::RAW_PACKET {
        return Err(EOPNOTSUPP);
    }
    let pd = qp.pd().ok_or(EINVAL)?;
    let send_cq = attr.send_cq().ok_or(EINVAL)?;
    pd.data()
        .counters
        .qp_send_cq
        .store(send_cq.data().num, Relaxed);
    let obj = Obj::new(qp.device());
    qp.set_qp_num(1000 + obj.num)?;
    Ok(obj)
}

fn reg_user_mr_obj(
    pd: &Pd<ObjDriver>,
    mr: &NewMr<ObjDriver>,
    args: &UserMrArgs,
    udata: &UData,
) -> Result<MrObj> {
    let len = usize::try_from(args.length).map_err(|_| EINVAL)?;
    let umem = Umem::get(pd.device(), udata, args.start, len, args.access)?;
    let blocks = umem.dma_blocks(bindings::PAGE_SIZE)?.count();
    pd.data()
        .counters
        .mr_blocks
        .store(u32::try_from(blocks).map_err(|_| EINVAL)?, Relaxed);
    let obj = Obj::new(pd.device());
    mr.set_keys(obj.num, obj.num | 0x100);
    Ok(MrObj { obj, _umem: umem })
}

fn register() -> Result<(Arc<ObjCounters>, Registration<'static, ObjDriver>)> {
    let counters = Arc::new(ObjCounters::default(), GFP_KERNEL)?;
    let dev = UnregisteredDevice::<ObjDriver>::new(Ok::<_, Error>(counters.clone()))?;
    let reg = Registration::new_virtual(dev, c"rust_rdma_o%d")?;
    Ok((counters, reg))
}

fn alloc_pd(reg: &Registration<'_, ObjDriver>) -> Result<*mut bindings::ib_pd> {
    // SAFETY: The device is registered; the caller name is a static string.
    from_err_ptr(unsafe { bindings::__ib_alloc_pd(reg.as_raw(), 0, c"rust_rdma".as_char_ptr()) })
}

fn create_cq(reg: &Registration<'_, ObjDriver>, cqe: u32) -> Result<*mut bindings::ib_cq> {
    let attr = bindings::ib_cq_init_attr {
        cqe,
        comp_vector: 0,
        flags: 0,
    };
    // SAFETY: The device is registered; `attr` is a local and the caller a static string.
    from_err_ptr(unsafe {
        bindings::__ib_create_cq(
            reg.as_raw(),
            None,
            None,
            core::ptr::null_mut(),
            &attr,
            c"rust_rdma".as_char_ptr(),
        )
    })
}

fn create_wq(pd: *mut bindings::ib_pd, cq: *mut bindings::ib_cq) -> Result<*mut bindings::ib_wq> {
    let mut attr: bindings::ib_wq_init_attr = pin_init::zeroed();
    attr.wq_type = bindings::ib_wq_type_IB_WQT_RQ;
    attr.max_wr = 64;
    attr.max_sge = 1;
    attr.cq = cq;
    // SAFETY: `pd` and `cq` are live objects of a registered device; `attr` is a local.
    from_err_ptr(unsafe { bindings::ib_create_wq(pd, &mut attr) })
}

/// What the completion handler of [`create_cq_with_handler`] saw: calls and the last CQ.
#[derive(Default)]
struct Completions {
    calls: AtomicU32,
    last_cq: core::sync::atomic::AtomicUsize,
}

/// A CQ's completion handler (`ib_comp_handler`) whose context is a [`Completions`].
///
/// # Safety
///
/// `context` must point to a live [`Completions`].
unsafe extern "C" fn count_completion(cq: *mut bindings::ib_cq, context: *mut crate::ffi::c_void) {
    // SAFETY: The caller guarantees `context` is a live `Completions`.
    let seen = unsafe { &*context.cast::<Completions>() };
    seen.last_cq.store(cq as usize, Relaxed);
    seen.calls.fetch_add(1, Relaxed);
}

/// Creates a kernel CQ whose completion handler counts into `seen`, which must outlive it.
fn create_cq_with_handler(
    reg: &Registration<'_, ObjDriver>,
    seen: &Completions,
) -> Result<*mut bindings::ib_cq> {
    let attr = bindings::ib_cq_init_attr {
        cqe: 8,
        comp_vector: 0,
        flags: 0,
    };
    // SAFETY: The device is registered; `attr` is a local, the caller a static string, and
    // `seen` outlives the CQ (caller).
    from_err_ptr(unsafe {
        bindings::__ib_create_cq(
            reg.as_raw(),
            Some(count_completion),
            None,
            core::ptr::from_ref(seen).cast_mut().cast(),
            &attr,
            c"rust_rdma".as_char_ptr(),
        )
    })
}

#[kunit_tests(rust_rdma_objects)]
mod object_tests {
    use super::*;

    /// A notifier calls the CQ's completion handler with the CQ and its context, and holds
    /// the CQ: the core refuses to destroy it until the notifier is gone.
    #[test]
    fn cq_notifier_reports_events_and_holds_the_cq() -> Result {
        let (counters, reg) = register()?;
        let seen = Completions::default();
        let cq = create_cq_with_handler(&reg, &seen)?;
        // SAFETY: `cq` is a live CQ of the device until destroyed below.
        let obj = unsafe { Cq::<ObjDriver>::from_raw(cq) };
        let notifier = obj.notifier();
        assert_eq!(notifier.as_raw(), cq);
        // SAFETY: `cq` is live.
        assert_eq!(unsafe { bindings::atomic_read(&raw const (*cq).usecnt) }, 1);
        notifier.completion_event();
        notifier.completion_event();
        assert_eq!(seen.calls.load(Relaxed), 2);
        assert_eq!(seen.last_cq.load(Relaxed), cq as usize);

        // Held: the core refuses to destroy it, and the driver never sees the destroy.
        // SAFETY: `cq` is a live kernel CQ.
        let ret = unsafe { bindings::ib_destroy_cq_user(cq, core::ptr::null_mut()) };
        assert_eq!(ret, EBUSY.to_errno());
        assert_eq!(counters.live.load(Relaxed), 1);

        // A notifier of a CQ without a handler reports nothing.
        let bare = create_cq(&reg, 8)?;
        // SAFETY: `bare` is a live CQ of the device until destroyed below.
        let bare_notifier = unsafe { Cq::<ObjDriver>::from_raw(bare) }.notifier();
        bare_notifier.completion_event();
        assert_eq!(seen.calls.load(Relaxed), 2);

        drop(notifier);
        drop(bare_notifier);
        // SAFETY: `cq` is live.
        assert_eq!(unsafe { bindings::atomic_read(&raw const (*cq).usecnt) }, 0);
        // SAFETY: As above; no users left, not used afterwards.
        unsafe {
            to_result(bindings::ib_destroy_cq_user(cq, core::ptr::null_mut()))?;
            to_result(bindings::ib_destroy_cq_user(bare, core::ptr::null_mut()))?;
        }
        assert_eq!(counters.live.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn cq_create_destroy_and_failures() -> Result {
        let (counters, reg) = register()?;
        let cq = create_cq(&reg, 100)?;
        // SAFETY: `cq` is a live CQ of the device until destroyed below.
        let obj = unsafe { Cq::<ObjDriver>::from_raw(cq) };
        assert_eq!(obj.cqe(), 128);
        assert_eq!(obj.data().num, 1);
        assert_eq!(counters.live.load(Relaxed), 1);

        // A failing destroy keeps the CQ and its data.
        counters.fail_destroy.store(1, Relaxed);
        // SAFETY: `cq` is a live kernel CQ.
        let ret = unsafe { bindings::ib_destroy_cq_user(cq, core::ptr::null_mut()) };
        assert_eq!(ret, EBUSY.to_errno());
        assert_eq!(counters.live.load(Relaxed), 1);
        assert_eq!(obj.data().num, 1);

        counters.fail_destroy.store(0, Relaxed);
        // SAFETY: As above; not used afterwards.
        to_result(unsafe { bindings::ib_destroy_cq_user(cq, core::ptr::null_mut()) })?;
        assert_eq!(counters.live.load(Relaxed), 0);

        // A failing create leaves nothing behind.
        assert_eq!(create_cq(&reg, 5000).err(), Some(EINVAL));
        assert_eq!(counters.live.load(Relaxed), 0);
        drop(reg);
        Ok(())
    }

    #[test]
    fn raw_packet_sequence() -> Result {
        let (counters, reg) = register()?;
        let pd = alloc_pd(&reg)?;
        let cq = create_cq(&reg, 64)?;
        let wq1 = create_wq(pd, cq)?;
        let wq2 = create_wq(pd, cq)?;
        assert_eq!(counters.live.load(Relaxed), 4);
        {
            // SAFETY: Live objects of the device until destroyed below.
            let (w1, w2, cq_obj) = unsafe {
                (
                    Wq::<ObjDriver>::from_raw(wq1),
                    Wq::<ObjDriver>::from_raw(wq2),
                    Cq::<ObjDriver>::from_raw(cq),
                )
            };
            assert_eq!(w1.wq_num(), 100 + w1.data().num);
            assert!(w1.wq_num() != w2.wq_num());
            assert!(w1.cq().is_some_and(|c| core::ptr::eq(c, cq_obj)));
            assert!(core::ptr::eq(w1.pd().as_raw(), pd));
        }

        // The core has no kernel API for indirection tables: allocate it the way uverbs
        // does, with the size from the operations table, and call the operations.
        let ops = adapter::Adapter::<ObjDriver>::ops();
        assert_eq!(
            ops.size_ib_rwq_ind_table,
            size_of::<RwqIndTable<ObjDriver>>()
        );
        let mut mem = KBox::new(MaybeUninit::<RwqIndTable<ObjDriver>>::zeroed(), GFP_KERNEL)?;
        let table = mem.as_mut_ptr().cast::<bindings::ib_rwq_ind_table>();
        let mut wqs = [wq1, wq2];
        // SAFETY: `table` is zeroed memory of the right size, only used here.
        unsafe {
            (*table).device = reg.as_raw();
            (*table).ind_tbl = wqs.as_mut_ptr();
            (*table).log_ind_tbl_size = 1;
        }
        let mut attr = bindings::ib_rwq_ind_table_init_attr {
            log_ind_tbl_size: 1,
            ind_tbl: wqs.as_mut_ptr(),
        };
        let create = ops.create_rwq_ind_table.ok_or(EINVAL)?;
        // SAFETY: A table of the device with two live WQs, as uverbs passes it.
        to_result(unsafe { create(table, &mut attr, core::ptr::null_mut()) })?;
        assert_eq!(counters.table_wqs.load(Relaxed), 2);
        {
            // SAFETY: The table is created and alive until destroyed below.
            let t = unsafe { RwqIndTable::<ObjDriver>::from_raw(table) };
            let sum = t.wqs().map(|w| w.wq_num()).sum::<u32>();
            assert_eq!(sum, counters.table_wq_sum.load(Relaxed));
            assert_eq!(t.ind_tbl_num(), t.data().num);
        }

        // An RSS-less raw packet QP on the CQ.
        let mut qp_attr: bindings::ib_qp_init_attr = pin_init::zeroed();
        qp_attr.qp_type = bindings::ib_qp_type_IB_QPT_RAW_PACKET;
        qp_attr.send_cq = cq;
        qp_attr.recv_cq = cq;
        qp_attr.cap.max_send_wr = 16;
        qp_attr.cap.max_send_sge = 1;
        // SAFETY: `pd` and `cq` are live objects of the device; `qp_attr` is a local.
        let qp = from_err_ptr(unsafe {
            bindings::ib_create_qp_kernel(pd, &mut qp_attr, c"rust_rdma".as_char_ptr())
        })?;
        {
            // SAFETY: The QP is alive until destroyed below.
            let q = unsafe { Qp::<ObjDriver>::from_raw(qp) };
            assert_eq!(q.qp_num(), 1000 + q.data().num);
            assert!(q.pd().is_some());
            // SAFETY: As above.
            assert_eq!(q.qp_num(), unsafe { (*qp).qp_num });
        }
        // SAFETY: As above.
        let cq_num = unsafe { Cq::<ObjDriver>::from_raw(cq) }.data().num;
        assert_eq!(counters.qp_send_cq.load(Relaxed), cq_num);

        // Other QP types are refused by this driver, with its errno.
        qp_attr.qp_type = bindings::ib_qp_type_IB_QPT_UD;
        // SAFETY: As above.
        let bad =
            unsafe { bindings::ib_create_qp_kernel(pd, &mut qp_attr, c"rust_rdma".as_char_ptr()) };
        assert_eq!(from_err_ptr(bad).err(), Some(EOPNOTSUPP));
        assert_eq!(counters.live.load(Relaxed), 6);

        // Tear down in reverse order.
        // SAFETY: Live kernel QP, not used afterwards.
        to_result(unsafe { bindings::ib_destroy_qp_user(qp, core::ptr::null_mut()) })?;
        let destroy = ops.destroy_rwq_ind_table.ok_or(EINVAL)?;
        // SAFETY: The created table; its memory is freed by dropping `mem` below.
        to_result(unsafe { destroy(table) })?;
        drop(mem);
        for wq in wqs {
            // SAFETY: Live WQs with no users, not used afterwards.
            to_result(unsafe { bindings::ib_destroy_wq_user(wq, core::ptr::null_mut()) })?;
        }
        // SAFETY: Live CQ with no users, not used afterwards.
        to_result(unsafe { bindings::ib_destroy_cq_user(cq, core::ptr::null_mut()) })?;
        // SAFETY: Live PD with no users, not used afterwards.
        to_result(unsafe { bindings::ib_dealloc_pd_user(pd, core::ptr::null_mut()) })?;
        assert_eq!(counters.live.load(Relaxed), 0);
        drop(reg);
        Ok(())
    }

    #[test]
    fn wq_destroy_failure_keeps_it() -> Result {
        let (counters, reg) = register()?;
        let pd = alloc_pd(&reg)?;
        let cq = create_cq(&reg, 8)?;
        let wq = create_wq(pd, cq)?;
        counters.fail_destroy.store(1, Relaxed);
        // SAFETY: Live WQ.
        let ret = unsafe { bindings::ib_destroy_wq_user(wq, core::ptr::null_mut()) };
        assert_eq!(ret, EBUSY.to_errno());
        // SAFETY: Still alive after the failed destroy.
        assert!(unsafe { Wq::<ObjDriver>::from_raw(wq) }.data().num > 0);
        counters.fail_destroy.store(0, Relaxed);
        // SAFETY: Live objects with no users, not used afterwards.
        unsafe {
            to_result(bindings::ib_destroy_wq_user(wq, core::ptr::null_mut()))?;
            to_result(bindings::ib_destroy_cq_user(cq, core::ptr::null_mut()))?;
            to_result(bindings::ib_dealloc_pd_user(pd, core::ptr::null_mut()))?;
        }
        assert_eq!(counters.live.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn mr_pins_user_memory() -> Result {
        let (counters, reg) = register()?;
        let pd = alloc_pd(&reg)?;
        let page = bindings::PAGE_SIZE;
        let buf = user_mem(4 * page)?;
        user_write(buf, &[7u8; 16])?;
        let ops = adapter::Adapter::<ObjDriver>::ops();
        let reg_mr = ops.reg_user_mr.ok_or(EINVAL)?;
        let dereg_mr = ops.dereg_mr.ok_or(EINVAL)?;
        let access = ACCESS_LOCAL_WRITE;
        // The (empty) driver data of the test's uverbs command: user memory is only pinned for
        // the process of a command.
        let mut udata: bindings::ib_udata = pin_init::zeroed();

        // SAFETY: `pd` is a live PD of the device; the memory is the test's user memory, and
        // `udata` an empty command of the test's task.
        let mr = from_err_ptr(unsafe {
            reg_mr(
                pd,
                buf as u64,
                (2 * page) as u64,
                buf as u64,
                access,
                core::ptr::null_mut(),
                &mut udata,
            )
        })?;
        {
            // SAFETY: The MR is registered until deregistered below.
            let m = unsafe { Mr::<ObjDriver>::from_raw(mr) };
            assert_eq!(m.lkey(), m.data().obj.num);
            assert_eq!(m.rkey(), m.data().obj.num | 0x100);
        }
        assert_eq!(counters.mr_blocks.load(Relaxed), 2);
        assert_eq!(counters.live.load(Relaxed), 2);

        // Nothing to pin: refused, nothing allocated.
        // SAFETY: As above.
        let bad = unsafe {
            reg_mr(
                pd,
                buf as u64,
                0,
                buf as u64,
                access,
                core::ptr::null_mut(),
                &mut udata,
            )
        };
        assert_eq!(from_err_ptr(bad).err(), Some(EINVAL));
        assert_eq!(counters.live.load(Relaxed), 2);

        // SAFETY: The registered MR, not used afterwards.
        to_result(unsafe { dereg_mr(mr, core::ptr::null_mut()) })?;
        assert_eq!(counters.live.load(Relaxed), 1);
        // SAFETY: Live PD with no users, not used afterwards.
        to_result(unsafe { bindings::ib_dealloc_pd_user(pd, core::ptr::null_mut()) })?;
        assert_eq!(counters.live.load(Relaxed), 0);
        Ok(())
    }
}
