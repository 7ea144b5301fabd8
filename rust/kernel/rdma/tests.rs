// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the RDMA abstractions, with a small driver of their own.
//!
//! The device is registered without a DMA device (the core then uses kernel virtual addresses)
//! and without a parent. User memory for the udata and umem tests comes from
//! `kunit_vm_mmap()`, which gives the test thread an mm of its own, so that the user copy
//! functions and page pinning run exactly as for a process.

use super::{
    udata::UData,
    umem::{
        Umem,
        ACCESS_LOCAL_WRITE, //
    },
    *, //
};
use crate::{
    error::{
        from_err_ptr,
        to_result, //
    },
    sync::Arc,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    uaccess::UserPtr,
};
use core::sync::atomic::{
    AtomicU32,
    Ordering::Relaxed, //
};

/// What the test driver saw.
#[derive(Default)]
struct Counters {
    query_device: AtomicU32,
    query_port: AtomicU32,
    pd_alloc: AtomicU32,
    pd_dealloc: AtomicU32,
    pd_dropped: AtomicU32,
    data_dropped: AtomicU32,
}

struct TestData {
    counters: Arc<Counters>,
}

impl Drop for TestData {
    fn drop(&mut self) {
        self.counters.data_dropped.fetch_add(1, Relaxed);
    }
}

struct TestPd {
    counters: Arc<Counters>,
    number: u32,
}

impl Drop for TestPd {
    fn drop(&mut self) {
        self.counters.pd_dropped.fetch_add(1, Relaxed);
    }
}

const VENDOR_PART_ID: u32 = 0xba;
const GID0: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0xff, 0xfe, 0, 0, 1];

struct TestDriver;

#[vtable]
impl Driver for TestDriver {
    type Data = TestData;
    type UcontextData = ();
    type PdData = TestPd;
    type CqData = ();
    type WqData = ();
    type QpData = ();
    type RwqIndTableData = ();
    type MrData = ();

    const DRIVER_ID: DriverId = DriverId::UNKNOWN;
    const UVERBS_ABI_VER: u32 = 1;

    fn query_device(dev: &Device<Self>, attr: &mut DeviceAttr, _udata: Option<&UData>) -> Result {
        dev.data().counters.query_device.fetch_add(1, Relaxed);
        attr.set_vendor_id(0x1414)
            .set_vendor_part_id(VENDOR_PART_ID)
            .set_raw_packet_caps(bindings::ib_raw_packet_caps_IB_RAW_PACKET_CAP_IP_CSUM)
            .set_max_pd(16)
            // Kernel PDs (`ib_alloc_pd()`) then need no DMA MR.
            .set_kernel_cap_flags(crate::rdma::KernelCaps::LOCAL_DMA_LKEY);
        Ok(())
    }

    fn query_port(dev: &Device<Self>, port: u32, attr: &mut PortAttr) -> Result {
        if port == 0 || port > dev.phys_port_cnt() {
            return Err(EINVAL);
        }
        dev.data().counters.query_port.fetch_add(1, Relaxed);
        attr.set_state(PortState::Active)
            .set_mtu(4096, 1500)
            .set_pkey_tbl_len(1);
        Ok(())
    }

    fn get_port_immutable(
        _dev: &Device<Self>,
        _port: u32,
        immutable: &mut PortImmutable,
    ) -> Result {
        immutable
            .set_core_cap_flags(PortImmutable::CORE_PORT_RAW_PACKET)
            .set_pkey_tbl_len(1);
        Ok(())
    }

    fn get_link_layer(_dev: &Device<Self>, _port: u32) -> LinkLayer {
        LinkLayer::Ethernet
    }

    fn query_gid(_dev: &Device<Self>, _port: u32, index: u32) -> Result<Gid> {
        if index != 0 {
            return Err(EINVAL);
        }
        Ok(Gid(GID0))
    }

    fn query_pkey(_dev: &Device<Self>, _port: u32, index: u16) -> Result<u16> {
        if index != 0 {
            return Err(EINVAL);
        }
        Ok(0xffff)
    }

    fn alloc_pd(
        pd: &NewPd<Self>,
        ctx: Option<&Ucontext<Self>>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::PdData, Error> {
        let counters = pd.device().data().counters.clone();
        let number = counters.pd_alloc.fetch_add(1, Relaxed) + 1;
        if ctx.is_some() || udata.is_some() {
            return Err(EINVAL);
        }
        Ok(TestPd { counters, number })
    }

    fn dealloc_pd(pd: &Pd<Self>) -> Result {
        pd.data().counters.pd_dealloc.fetch_add(1, Relaxed);
        Ok(())
    }
}

fn new_device(counters: &Arc<Counters>) -> Result<UnregisteredDevice<TestDriver>> {
    UnregisteredDevice::<TestDriver>::new(Ok::<_, Error>(TestData {
        counters: counters.clone(),
    }))
}

mod mmap;
mod objects;

/// Events seen by [`count_event`], and the type of the last one.
static EVENTS: AtomicU32 = AtomicU32::new(0);
static LAST_EVENT: AtomicU32 = AtomicU32::new(0);

/// An event handler (`struct ib_event_handler`) counting the events it gets.
///
/// # Safety
///
/// Called by the RDMA core with a valid event.
unsafe extern "C" fn count_event(
    _handler: *mut bindings::ib_event_handler,
    event: *mut bindings::ib_event,
) {
    // SAFETY: The core passes a valid event.
    let kind = unsafe { (*event).event };
    LAST_EVENT.store(kind, Relaxed);
    EVENTS.fetch_add(1, Relaxed);
}

#[kunit_tests(rust_rdma)]
mod device_tests {
    use super::*;

    #[test]
    fn unregistered_device_drops_data() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let mut dev = new_device(&counters)?;
        dev.set_phys_port_cnt(2)?;
        assert_eq!(dev.phys_port_cnt(), 2);
        assert_eq!(dev.set_phys_port_cnt(0), Err(EINVAL));
        assert_eq!(dev.name().to_bytes(), b"");
        drop(dev);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        // Never registered: the core never asked.
        assert_eq!(counters.query_device.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn failed_data_init_frees_device() -> Result {
        let res = UnregisteredDevice::<TestDriver>::new(Err::<TestData, Error>(ENOSPC));
        assert_eq!(res.err(), Some(ENOSPC));
        Ok(())
    }

    #[test]
    fn ops_table_carries_sizes_and_ids() {
        let ops = adapter::Adapter::<TestDriver>::ops();
        assert_eq!(ops.size_ib_pd, core::mem::size_of::<Pd<TestDriver>>());
        assert!(ops.size_ib_pd > core::mem::size_of::<bindings::ib_pd>());
        assert_eq!(
            ops.size_ib_ucontext,
            core::mem::size_of::<Ucontext<TestDriver>>()
        );
        assert_eq!(ops.size_ib_qp, core::mem::size_of::<Qp<TestDriver>>());
        assert_eq!(ops.uverbs_abi_ver, 1);
        assert!(ops.query_port.is_some());
        assert!(ops.query_pkey.is_some());
        assert!(ops.dealloc_driver.is_some());
        // Not implemented by the test driver: absent, so the core reports EOPNOTSUPP.
        assert!(ops.create_cq.is_none());
        assert!(ops.alloc_ucontext.is_none());
        assert!(ops.reg_user_mr.is_none());
    }

    #[test]
    fn register_query_unregister() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let reg = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_t%d")?;
        assert!(reg.name().to_bytes().starts_with(b"rust_rdma_t"));
        assert!(reg.name().to_bytes().len() > b"rust_rdma_t".len());
        // `ib_register_device()` queried and cached the attributes.
        assert!(counters.query_device.load(Relaxed) >= 1);
        // SAFETY: The device is registered and `attrs` is not written after registration.
        let cached = unsafe { (*reg.as_raw()).attrs.vendor_part_id };
        assert_eq!(cached, VENDOR_PART_ID);
        assert_eq!(
            reg.attrs().kernel_cap_flags(),
            crate::rdma::KernelCaps::LOCAL_DMA_LKEY.bits()
        );

        let before = counters.query_port.load(Relaxed);
        let mut attr: bindings::ib_port_attr = pin_init::zeroed();
        // SAFETY: The device is registered and `attr` is a local.
        to_result(unsafe { bindings::ib_query_port(reg.as_raw(), 1, &mut attr) })?;
        assert_eq!(attr.state, bindings::ib_port_state_IB_PORT_ACTIVE);
        assert_eq!(attr.active_mtu, bindings::ib_mtu_IB_MTU_1024);
        assert_eq!(attr.max_mtu, bindings::ib_mtu_IB_MTU_4096);
        assert_eq!(counters.query_port.load(Relaxed), before + 1);
        // SAFETY: As above; port 2 does not exist, the core refuses it.
        let ret = unsafe { bindings::ib_query_port(reg.as_raw(), 2, &mut attr) };
        assert_eq!(ret, EINVAL.to_errno());

        // SAFETY: The device is registered.
        let ll = unsafe { bindings::rdma_port_get_link_layer(reg.as_raw(), 1) };
        assert_eq!(ll, bindings::rdma_link_layer_IB_LINK_LAYER_ETHERNET);

        let mut pkey = 0u16;
        // SAFETY: The device is registered and `pkey` is a local.
        to_result(unsafe { bindings::ib_query_pkey(reg.as_raw(), 1, 0, &mut pkey) })?;
        assert_eq!(pkey, 0xffff);

        // SAFETY: The device is registered; its operations are the constant table.
        let query_gid = unsafe { (*reg.as_raw()).ops.query_gid }.ok_or(EINVAL)?;
        let mut gid: bindings::ib_gid = pin_init::zeroed();
        // SAFETY: The operation of a registered device, called with a local.
        to_result(unsafe { query_gid(reg.as_raw(), 1, 0, &mut gid) })?;
        // SAFETY: `raw` is the plain byte view of the union.
        assert_eq!(unsafe { gid.raw }, GID0);
        // SAFETY: As above.
        let ret = unsafe { query_gid(reg.as_raw(), 1, 1, &mut gid) };
        assert_eq!(ret, EINVAL.to_errno());

        assert_eq!(counters.data_dropped.load(Relaxed), 0);
        drop(reg);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// `IBK_ALLOW_USER_UNREG` would let `rdma link del` free the device under the
    /// `Registration`: no `KernelCaps` value holds it, and the abstraction clears it from what a
    /// driver reports.
    #[test]
    fn user_unregistration_is_never_allowed() {
        use crate::rdma::KernelCaps as K;
        let unreg = u64::from(bindings::ib_kernel_cap_flags_IBK_ALLOW_USER_UNREG);
        let all = K::LOCAL_DMA_LKEY
            | K::INTEGRITY_HANDOVER
            | K::ON_DEMAND_PAGING
            | K::SG_GAPS_REG
            | K::RDMA_NETDEV_OPA
            | K::BLOCK_MULTICAST_LOOPBACK
            | K::UD_TSO
            | K::VIRTUAL_FUNCTION;
        assert_eq!(all.bits() & unreg, 0);
        // Every other flag of `enum ib_kernel_cap_flags` (bits 0 to 8) can be set.
        assert_eq!(all.bits() | unreg, 0x1ff);

        let mut raw: bindings::ib_device_attr = pin_init::zeroed();
        raw.kernel_cap_flags = u64::MAX;
        // SAFETY: `raw` is a local, used only through the returned reference below.
        let attr = unsafe { DeviceAttr::from_raw(&mut raw) };
        attr.sanitize();
        assert_eq!(attr.kernel_cap_flags(), !unreg);
    }

    #[test]
    fn two_devices_get_distinct_names() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let a = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_t%d")?;
        let b = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_t%d")?;
        assert!(a.name() != b.name());
        // A fixed name that is taken is refused, and the device is freed.
        let c = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_fixed")?;
        assert_eq!(c.name().to_bytes(), b"rust_rdma_fixed");
        let res = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_fixed");
        assert_eq!(res.err(), Some(ENFILE));
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        drop(a);
        drop(b);
        drop(c);
        assert_eq!(counters.data_dropped.load(Relaxed), 4);
        Ok(())
    }

    #[test]
    fn registration_with_parent() -> Result {
        let faux = crate::faux::Registration::new(c"rust_rdma_parent", None)?;
        let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let dev = new_device(&counters)?;
        let reg = Registration::new(parent, dev, c"rust_rdma_t%d", None)?;
        // SAFETY: The device is registered; `dev.parent` is only written before that.
        let raw_parent = unsafe { (*reg.as_raw()).__bindgen_anon_1.dev.parent };
        assert!(core::ptr::eq(raw_parent, parent.as_raw()));
        drop(reg);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        drop(faux);
        Ok(())
    }

    #[test]
    fn events_reach_handlers() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let reg = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_t%d")?;
        let handler = KBox::new(
            bindings::ib_event_handler {
                device: reg.as_raw(),
                handler: Some(count_event),
                list: bindings::list_head {
                    next: core::ptr::null_mut(),
                    prev: core::ptr::null_mut(),
                },
            },
            GFP_KERNEL,
        )?;
        let handler = KBox::into_raw(handler);
        // SAFETY: `handler` is valid until unregistered and freed below.
        unsafe { bindings::ib_register_event_handler(handler) };

        let before = EVENTS.load(Relaxed);
        reg.dispatch_event(Event::DeviceFatal);
        // SAFETY: `ib_wq` is the RDMA core's workqueue, created at its initialisation.
        unsafe { bindings::__flush_workqueue(bindings::ib_wq) };
        assert_eq!(EVENTS.load(Relaxed), before + 1);
        assert_eq!(
            LAST_EVENT.load(Relaxed),
            bindings::ib_event_type_IB_EVENT_DEVICE_FATAL
        );

        let queries = counters.query_port.load(Relaxed);
        reg.dispatch_event(Event::PortErr(1));
        // SAFETY: As above.
        unsafe { bindings::__flush_workqueue(bindings::ib_wq) };
        assert_eq!(EVENTS.load(Relaxed), before + 2);
        assert_eq!(
            LAST_EVENT.load(Relaxed),
            bindings::ib_event_type_IB_EVENT_PORT_ERR
        );
        // A port event refreshed the core's cache of the port first.
        assert!(counters.query_port.load(Relaxed) > queries);

        // SAFETY: Registered above, freed after unregistration.
        unsafe {
            bindings::ib_unregister_event_handler(handler);
            drop(KBox::from_raw(handler));
        }
        drop(reg);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn kernel_pd_through_the_core() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let reg = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_t%d")?;
        // SAFETY: The device is registered; the caller name is a static string.
        let pd = from_err_ptr(unsafe {
            bindings::__ib_alloc_pd(reg.as_raw(), 0, c"rust_rdma".as_char_ptr())
        })?;
        assert_eq!(counters.pd_alloc.load(Relaxed), 1);
        {
            // SAFETY: `pd` is a complete PD of the device, alive until deallocated below.
            let obj = unsafe { Pd::<TestDriver>::from_raw(pd) };
            assert_eq!(obj.data().number, 1);
            assert!(obj.ucontext().is_none());
            assert!(core::ptr::eq(obj.device(), &*reg));
        }
        // SAFETY: `pd` is a kernel PD of the device with no users, not used afterwards.
        to_result(unsafe { bindings::ib_dealloc_pd_user(pd, core::ptr::null_mut()) })?;
        assert_eq!(counters.pd_dealloc.load(Relaxed), 1);
        assert_eq!(counters.pd_dropped.load(Relaxed), 1);
        drop(reg);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        Ok(())
    }
}

/// A request in a driver's uverbs ABI: its first version ended after `a`.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Req {
    comp_mask: u64,
    a: u32,
    b: u32,
}

// SAFETY: `Req` is plain integers without padding.
unsafe impl FromBytes for Req {}
// SAFETY: As above.
unsafe impl AsBytes for Req {}

/// The size of the first version of `Req`.
const REQ_V1: usize = core::mem::offset_of!(Req, a) + 4;

use super::testing::{
    user_mem,
    user_read,
    user_write, //
};

/// A udata whose request is `inlen` bytes at `inbuf` and response `outlen` bytes at `outbuf`.
fn udata(inbuf: usize, inlen: usize, outbuf: usize, outlen: usize) -> bindings::ib_udata {
    bindings::ib_udata {
        inbuf: UserPtr::from_addr(inbuf).as_const_ptr(),
        outbuf: UserPtr::from_addr(outbuf).as_mut_ptr(),
        inlen,
        outlen,
    }
}

#[kunit_tests(rust_rdma_udata)]
mod udata_tests {
    use super::*;

    fn with_udata<R>(raw: &mut bindings::ib_udata, f: impl FnOnce(&UData) -> R) -> Result<R> {
        // SAFETY: `raw` is a local whose buffers are the test's user memory.
        let u = unsafe { UData::from_raw(raw) }.ok_or(EINVAL)?;
        Ok(f(u))
    }

    #[test]
    fn read_in_size_rules() -> Result {
        let buf = user_mem(bindings::PAGE_SIZE)?;
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&5u64.to_ne_bytes());
        bytes[8..12].copy_from_slice(&7u32.to_ne_bytes());
        bytes[12..16].copy_from_slice(&9u32.to_ne_bytes());
        user_write(buf, &bytes)?;

        // Shorter than the first version: EINVAL.
        let mut raw = udata(buf, REQ_V1 - 1, 0, 0);
        assert_eq!(
            with_udata(&mut raw, |u| u.read_in::<Req>(REQ_V1))?,
            Err(EINVAL)
        );

        // The first version: the new member reads as zero.
        let mut raw = udata(buf, REQ_V1, 0, 0);
        let req = with_udata(&mut raw, |u| u.read_in::<Req>(REQ_V1))??;
        assert_eq!(
            req,
            Req {
                comp_mask: 5,
                a: 7,
                b: 0
            }
        );

        // Exactly the current version.
        let mut raw = udata(buf, 16, 0, 0);
        let req = with_udata(&mut raw, |u| u.read_in::<Req>(REQ_V1))??;
        assert_eq!(
            req,
            Req {
                comp_mask: 5,
                a: 7,
                b: 9
            }
        );

        // Longer, with zero trailing bytes: accepted.
        let mut raw = udata(buf, 32, 0, 0);
        let req = with_udata(&mut raw, |u| u.read_in::<Req>(REQ_V1))??;
        assert_eq!(req.b, 9);

        // Longer, with a non-zero trailing byte: EOPNOTSUPP.
        user_write(buf + 31, &[1])?;
        assert_eq!(
            with_udata(&mut raw, |u| u.read_in::<Req>(REQ_V1))?,
            Err(EOPNOTSUPP)
        );
        assert_eq!(
            with_udata(&mut raw, |u| u.check_in_empty())?,
            Err(EOPNOTSUPP)
        );

        // A bad pointer: EFAULT.
        let mut raw = udata(usize::MAX - 8, 16, 0, 0);
        assert_eq!(
            with_udata(&mut raw, |u| u.read_in::<Req>(REQ_V1))?,
            Err(EFAULT)
        );

        // No request at all.
        let mut raw = udata(0, 0, 0, 0);
        assert_eq!(with_udata(&mut raw, |u| u.check_in_empty())?, Ok(()));
        Ok(())
    }

    #[test]
    fn comp_mask_rules() {
        assert_eq!(UData::check_comp_mask(0, 0), Ok(()));
        assert_eq!(UData::check_comp_mask(0b11, 0b11), Ok(()));
        assert_eq!(UData::check_comp_mask(0b100, 0b11), Err(EOPNOTSUPP));
    }

    #[test]
    fn respond_truncates_and_zero_fills() -> Result {
        let buf = user_mem(bindings::PAGE_SIZE)?;
        let resp = Req {
            comp_mask: u64::MAX,
            a: 0x1122_3344,
            b: 0x5566_7788,
        };

        // A shorter buffer gets the beginning; the byte after it is untouched.
        user_write(buf, &[0xaa; 32])?;
        let mut raw = udata(0, 0, buf, 4);
        with_udata(&mut raw, |u| u.respond(&resp))??;
        let mut out = [0u8; 32];
        user_read(buf, &mut out)?;
        assert!(out[..4] == [0xff; 4]);
        assert_eq!(out[4], 0xaa);

        // A longer buffer gets the response and zeroes.
        user_write(buf, &[0xaa; 32])?;
        let mut raw = udata(0, 0, buf, 24);
        with_udata(&mut raw, |u| u.respond(&resp))??;
        user_read(buf, &mut out)?;
        assert!(out[..16] == *resp.as_bytes());
        assert!(out[16..24] == [0; 8]);
        assert_eq!(out[24], 0xaa);

        // An empty response zeroes the whole buffer.
        let mut raw = udata(0, 0, buf, 8);
        with_udata(&mut raw, |u| u.respond_empty())??;
        user_read(buf, &mut out)?;
        assert!(out[..8] == [0; 8]);
        // Beyond `outlen`: still the response written before.
        assert_eq!(out[8], 0x44);

        // A bad pointer: EFAULT.
        let mut raw = udata(0, 0, usize::MAX - 8, 16);
        assert_eq!(with_udata(&mut raw, |u| u.respond(&resp))?, Err(EFAULT));
        Ok(())
    }
}

#[kunit_tests(rust_rdma_umem)]
mod umem_tests {
    use super::*;

    /// An empty udata of the current task, for `Umem::get`.
    fn with_empty_udata<R>(f: impl FnOnce(&UData) -> R) -> Result<R> {
        let mut raw = udata(0, 0, 0, 0);
        // SAFETY: `raw` is a local with empty buffers, used only by `f`.
        let u = unsafe { UData::from_raw(&mut raw) }.ok_or(EINVAL)?;
        Ok(f(u))
    }

    /// `ib_umem_get()` pins `current->mm`: a task without one (a kernel thread, as the test
    /// is before it maps user memory) gets `EFAULT`, not a NULL dereference.
    #[test]
    fn pinning_needs_a_user_address_space() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let dev = new_device(&counters)?;
        assert!(crate::current!().mm().is_none());
        let got = with_empty_udata(|u| Umem::get(&*dev, u, 0x10000, 4096, 0).err())?;
        assert_eq!(got, Some(EFAULT));
        // With an address space (the test's own, from `kunit_vm_mmap()`) it works.
        let buf = user_mem(bindings::PAGE_SIZE)?;
        user_write(buf, &[1u8; 8])?;
        let umem = with_empty_udata(|u| Umem::get(&*dev, u, buf as u64, 8, 0))??;
        assert_eq!(umem.len(), 8);
        drop(umem);
        drop(dev);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        Ok(())
    }

    /// The umem holds the RDMA device, which `ib_umem_release()` uses: it may outlive the
    /// driver's handle of the device.
    #[test]
    fn umem_outlives_the_device_handle() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let dev = new_device(&counters)?;
        let buf = user_mem(bindings::PAGE_SIZE)?;
        user_write(buf, &[1u8; 8])?;
        let umem = with_empty_udata(|u| Umem::get(&*dev, u, buf as u64, 64, 0))??;
        // `ib_dealloc_device()`: the private data goes, the `struct ib_device` stays while
        // the umem holds it.
        drop(dev);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        assert_eq!(umem.dma_blocks(bindings::PAGE_SIZE)?.count(), 1);
        drop(umem);
        Ok(())
    }

    #[test]
    fn pin_and_iterate_blocks() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let dev = new_device(&counters)?;
        let page = bindings::PAGE_SIZE;
        let buf = user_mem(4 * page)?;
        // Touch the pages, as a process would have.
        user_write(buf, &[1u8; 64])?;

        // Two and a half pages starting mid-page span four pages.
        let umem = with_empty_udata(|u| {
            Umem::get(
                &*dev,
                u,
                (buf + page / 2) as u64,
                3 * page,
                ACCESS_LOCAL_WRITE,
            )
        })??;
        assert_eq!(umem.len(), 3 * page);
        assert_eq!(umem.address(), buf + page / 2);
        assert_eq!(umem.num_dma_blocks(page)?, 4);
        assert_eq!(umem.num_dma_blocks(3), Err(EINVAL));
        assert_eq!(
            umem.find_best_pgsz(page, (buf + page / 2) as u64),
            Some(page)
        );

        let mut count = 0;
        for addr in umem.dma_blocks(page)? {
            assert_eq!(addr as usize % page, 0);
            count += 1;
        }
        assert_eq!(count, 4);
        assert!(umem.dma_blocks(0).is_err());

        // Smaller blocks than a page.
        assert_eq!(umem.dma_blocks(page / 2)?.count(), 6);

        drop(umem);
        let empty = with_empty_udata(|u| Umem::get(&*dev, u, buf as u64, 0, 0).err())?;
        assert_eq!(empty, Some(EINVAL));
        drop(dev);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        Ok(())
    }
}

/// A net device driver that does nothing, for the port net device tests.
struct NullNetdev;

#[vtable]
impl crate::netdev::Driver for NullNetdev {
    type Data = ();

    fn open(_dev: &crate::netdev::Device<Self>, _rtnl: &crate::netdev::Rtnl) -> Result {
        Ok(())
    }

    fn stop(_dev: &crate::netdev::Device<Self>, _rtnl: &crate::netdev::Rtnl) -> Result {
        Ok(())
    }

    fn start_xmit(
        _dev: &crate::netdev::Device<Self>,
        skb: crate::netdev::skb::Skb,
    ) -> crate::netdev::TxResult {
        drop(skb);
        crate::netdev::TxResult::Consumed
    }

    // The netdev abstraction links its work-item callback whatever the driver implements.
    fn rtnl_work(_dev: &crate::netdev::Device<Self>, _rtnl: &crate::netdev::RtnlOuter) {}
}

/// Registers a net device of `parent` with port number `dev_port` on it.
fn port_netdev<'a>(
    parent: &'a device::Device<device::Bound>,
    dev_port: u16,
) -> Result<crate::netdev::Registration<'a, NullNetdev>> {
    let mut dev = crate::netdev::UnregisteredDevice::<NullNetdev>::new(1, 1, Ok::<_, Error>(()))?;
    dev.set_dev_port(dev_port);
    crate::netdev::Registration::new(parent, dev)
}

#[kunit_tests(rust_rdma_robust)]
mod robust_tests {
    use super::*;

    /// `rdma link` shows each port's interface: the net device of the same parent whose
    /// `dev_port` is the port's number minus 1, whether it registered before or after the
    /// tracking started; an unregistered one is detached (its unregistration does not hang on
    /// the core's reference), a new one attached.
    #[test]
    fn ports_follow_their_net_devices() -> Result {
        let faux = crate::faux::Registration::new(c"rust_rdma_netdevs", None)?;
        let parent: &device::Device<device::Bound> = faux.as_ref().as_ref();
        let other = crate::faux::Registration::new(c"rust_rdma_other", None)?;
        let other: &device::Device<device::Bound> = other.as_ref().as_ref();
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let mut dev = new_device(&counters)?;
        dev.set_phys_port_cnt(2)?;

        // Registered before: attached when the tracking starts.
        let first = port_netdev(parent, 0)?;
        // Another function's interface, and a dev_port beyond the ports: never attached.
        let foreign = port_netdev(other, 1)?;
        let beyond = port_netdev(parent, 2)?;
        let mut reg = Registration::new(parent, dev, c"rust_rdma_t%d", None)?;
        assert_eq!(reg.port_netdev_ifindex(1), None);
        reg.track_netdevs()?;
        // Again: nothing changes.
        reg.track_netdevs()?;
        assert_eq!(reg.port_netdev_ifindex(1), Some(first.ifindex()));
        assert_eq!(reg.port_netdev_ifindex(2), None);

        // Registered after: attached.
        let second = port_netdev(parent, 1)?;
        assert_eq!(reg.port_netdev_ifindex(2), Some(second.ifindex()));
        assert_eq!(reg.port_netdev_ifindex(1), Some(first.ifindex()));

        // Unregistered: detached (else `unregister_netdev()` would wait for the core's
        // reference forever); a new interface for the port takes its place.
        drop(first);
        assert_eq!(reg.port_netdev_ifindex(1), None);
        let again = port_netdev(parent, 0)?;
        assert_eq!(reg.port_netdev_ifindex(1), Some(again.ifindex()));

        drop(foreign);
        drop(beyond);
        // The device goes first here: the tracking ends, the interfaces stay.
        drop(reg);
        assert_eq!(counters.data_dropped.load(Relaxed), 1);
        drop(second);
        drop(again);
        Ok(())
    }

    /// Without a parent there is nothing to match interfaces against.
    #[test]
    fn tracking_needs_a_parent() -> Result {
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        let mut reg = Registration::new_virtual(new_device(&counters)?, c"rust_rdma_t%d")?;
        assert_eq!(reg.track_netdevs(), Err(EINVAL));
        Ok(())
    }

    /// A burst of lines is allowed, then the rest of the interval is counted, and reported
    /// with the first line of the next interval.
    #[test]
    fn ratelimit_allows_a_burst_then_counts() {
        let rl = Ratelimit::new();
        for _ in 0..Ratelimit::BURST {
            assert_eq!(rl.check(), Some(0));
        }
        for _ in 0..100 {
            assert_eq!(rl.check(), None);
        }
        // A new interval: the first line reports the 100 left out.
        rl.start.store(1, core::sync::atomic::Ordering::Relaxed);
        assert_eq!(rl.check(), Some(100));
        assert_eq!(rl.check(), Some(0));
    }

    /// The shared budget caps all call sites together; what it refuses is counted at the call
    /// site.
    #[test]
    fn shared_budget_caps_all_call_sites() {
        let budget = Ratelimit::new_burst(3);
        let a = Ratelimit::new();
        let b = Ratelimit::new();
        assert_eq!(a.check_within(&budget), Some(0));
        assert_eq!(b.check_within(&budget), Some(0));
        assert_eq!(a.check_within(&budget), Some(0));
        // The budget is spent: both sites are refused although each has room.
        assert_eq!(a.check_within(&budget), None);
        assert_eq!(b.check_within(&budget), None);
        assert_eq!(b.check_within(&budget), None);
        // A new interval of the budget: each site reports what it left out.
        budget.start.store(1, core::sync::atomic::Ordering::Relaxed);
        assert_eq!(b.check_within(&budget), Some(2));
        assert_eq!(a.check_within(&budget), Some(1));
    }
}
