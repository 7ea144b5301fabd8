// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of user contexts: mappings (`rdma::mmap`: entries in a user context's mmap
//! table, and a page mapped into the test's own mm through the context's file, whose `mmap()`
//! calls the driver's `mmap` operation as the uverbs file does), and unregistering the device
//! while a context is open.

use super::*;
use crate::{
    alloc::flags::__GFP_ZERO,
    page::{
        Page,
        PAGE_SIZE, //
    },
    rdma::{
        mmap::{
            mmap_pgoff,
            MmapCache,
            MmapEntryHandle, //
        },
        testing::{
            page_pfn,
            user_read,
            UserContext, //
        },
    },
};

/// The page offset at which the driver maps its page with [`Ucontext::mmap_page`].
const PAGE_PGOFF: usize = 0x100;

/// What the driver writes at the start of its page.
const PATTERN: [u8; 8] = *b"rdmammap";

/// What the mmap driver saw.
#[derive(Default)]
struct MmapCounters {
    /// Calls of the `mmap` operation.
    mmaps: AtomicU32,
    /// The page offset of the last one.
    last_pgoff: AtomicU32,
    /// Contexts whose data was dropped.
    dropped: AtomicU32,
    /// Contexts disassociated.
    disassociated: AtomicU32,
    /// PDs allocated and deallocated.
    pd_alloc: AtomicU32,
    pd_dealloc: AtomicU32,
    /// Whether the device's data was dropped.
    device_dropped: AtomicU32,
}

/// The device's data.
struct MmapData {
    counters: Arc<MmapCounters>,
}

impl Drop for MmapData {
    fn drop(&mut self) {
        self.counters.device_dropped.fetch_add(1, Relaxed);
    }
}

/// The data of a user context: a page and two mmap entries.
struct MmapCtx {
    counters: Arc<MmapCounters>,
    page: Page,
    // Dropping a handle removes its entry from the context's table.
    _entries: [MmapEntryHandle; 2],
}

impl Drop for MmapCtx {
    fn drop(&mut self) {
        self.counters.dropped.fetch_add(1, Relaxed);
    }
}

/// The response of `alloc_ucontext`: the offsets and lengths of the two entries.
#[repr(C)]
#[derive(Default)]
struct CtxResp {
    offsets: [u64; 2],
    lens: [u64; 2],
}

// SAFETY: `CtxResp` is plain integers without padding.
unsafe impl FromBytes for CtxResp {}
// SAFETY: As above.
unsafe impl AsBytes for CtxResp {}

struct MmapDriver;

#[vtable]
impl Driver for MmapDriver {
    type Data = MmapData;
    type UcontextData = MmapCtx;
    type PdData = ();
    type CqData = ();
    type WqData = ();
    type QpData = ();
    type RwqIndTableData = ();
    type MrData = ();

    const DRIVER_ID: DriverId = DriverId::UNKNOWN;
    const UVERBS_ABI_VER: u32 = 1;

    fn query_device(_dev: &Device<Self>, attr: &mut DeviceAttr, _udata: Option<&UData>) -> Result {
        attr.set_kernel_cap_flags(crate::rdma::KernelCaps::LOCAL_DMA_LKEY);
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
        pd.device().data().counters.pd_alloc.fetch_add(1, Relaxed);
        Ok::<(), Error>(())
    }

    fn dealloc_pd(pd: &Pd<Self>) -> Result {
        pd.device().data().counters.pd_dealloc.fetch_add(1, Relaxed);
        Ok(())
    }

    fn disassociate_ucontext(ctx: &Ucontext<Self>) {
        ctx.device()
            .data()
            .counters
            .disassociated
            .fetch_add(1, Relaxed);
    }

    fn alloc_ucontext(
        ctx: &NewUcontext<Self>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::UcontextData, Error> {
        new_ctx(ctx, udata)
    }

    fn mmap(ctx: &Ucontext<Self>, vma: &VmaNew) -> Result {
        let counters = &ctx.device().data().counters;
        counters.mmaps.fetch_add(1, Relaxed);
        let pgoff = mmap_pgoff(vma);
        counters
            .last_pgoff
            .store(u32::try_from(pgoff).unwrap_or(u32::MAX), Relaxed);
        if pgoff != PAGE_PGOFF {
            return Err(EINVAL);
        }
        ctx.mmap_page(vma, &ctx.data().page)
    }
}

fn new_ctx(ctx: &NewUcontext<MmapDriver>, udata: Option<&UData>) -> Result<MmapCtx> {
    let page = Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?;
    // SAFETY: `PATTERN` is a local of `PATTERN.len()` bytes, within the page.
    unsafe { page.write_raw(PATTERN.as_ptr(), 0, PATTERN.len()) }?;
    let pfn = page_pfn(&page);
    // SAFETY: The handles are kept in the context's data, dropped before the context is; the
    // page is the context's own, which its process may read and write.
    let a = unsafe { ctx.insert_mmap_entry(pfn, PAGE_SIZE, MmapCache::WriteCombine) }?;
    // SAFETY: As above.
    let b = unsafe { ctx.insert_mmap_entry(pfn, PAGE_SIZE, MmapCache::Uncached) }?;
    if let Some(udata) = udata {
        udata.respond(&CtxResp {
            offsets: [a.offset(), b.offset()],
            lens: [a.len() as u64, b.len() as u64],
        })?;
    }
    Ok(MmapCtx {
        counters: Arc::clone(&ctx.device().data().counters),
        page,
        _entries: [a, b],
    })
}

#[kunit_tests(rust_rdma_mmap)]
mod mmap_tests {
    use super::*;

    fn register() -> Result<(Arc<MmapCounters>, Registration<'static, MmapDriver>)> {
        let counters = Arc::new(MmapCounters::default(), GFP_KERNEL)?;
        let dev = UnregisteredDevice::<MmapDriver>::new(Ok::<_, Error>(MmapData {
            counters: counters.clone(),
        }))?;
        let reg = Registration::new_virtual(dev, c"rust_rdma_m%d")?;
        Ok((counters, reg))
    }

    fn open<'a>(
        reg: &'a Registration<'a, MmapDriver>,
    ) -> Result<(UserContext<'a, MmapDriver>, CtxResp)> {
        let mut resp = CtxResp::default();
        let ctx = UserContext::open(reg, &[], resp.as_bytes_mut())?;
        Ok((ctx, resp))
    }

    /// The byte offset at which the driver maps its page.
    fn page_offset() -> u64 {
        (PAGE_PGOFF * PAGE_SIZE) as u64
    }

    #[test]
    fn entries_get_distinct_page_offsets() -> Result {
        let (counters, reg) = register()?;
        let (ctx, resp) = open(&reg)?;
        let [a, b] = resp.offsets;
        assert_ne!(a, b);
        assert_eq!(a % PAGE_SIZE as u64, 0);
        assert_eq!(b % PAGE_SIZE as u64, 0);
        assert_eq!(resp.lens, [PAGE_SIZE as u64; 2]);
        // The driver's data drops its handles, which removes both entries: closing checks
        // that the table is empty once the context is deallocated, and fails otherwise.
        ctx.close()?;
        assert_eq!(counters.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn mmap_page_maps_the_page() -> Result {
        let (counters, reg) = register()?;
        let (mut ctx, _) = open(&reg)?;
        let addr = ctx.mmap(page_offset(), PAGE_SIZE, true)?;
        assert_eq!(counters.mmaps.load(Relaxed), 1);
        assert_eq!(counters.last_pgoff.load(Relaxed), PAGE_PGOFF as u32);
        let mut got = [0u8; 8];
        user_read(addr, &mut got)?;
        assert_eq!(got, PATTERN);
        ctx.munmap(addr, PAGE_SIZE)?;
        ctx.close()
    }

    #[test]
    fn mmap_page_refuses_private_or_long_areas() -> Result {
        let (counters, reg) = register()?;
        let (mut ctx, _) = open(&reg)?;
        assert_eq!(ctx.mmap(page_offset(), PAGE_SIZE, false), Err(EINVAL));
        assert_eq!(ctx.mmap(page_offset(), 2 * PAGE_SIZE, true), Err(EINVAL));
        // An offset the driver does not map.
        assert_eq!(ctx.mmap(0, PAGE_SIZE, true), Err(EINVAL));
        assert_eq!(counters.last_pgoff.load(Relaxed), 0);
        assert_eq!(counters.mmaps.load(Relaxed), 3);
        // Only a context that owns the registration unregisters the device.
        assert_eq!(ctx.unregister_device(), Err(EINVAL));
        ctx.close()
    }

    #[test]
    fn unregistering_with_a_context_open() -> Result {
        let (counters, reg) = register()?;
        let mut resp = CtxResp::default();
        let mut ctx = UserContext::open_owned(reg, &[], resp.as_bytes_mut())?;
        let pd = ctx.alloc_pd(&[], &mut [])?;
        assert_eq!(ctx.live_objects(), 1);
        assert!(ctx.device().is_some());
        // The core's unregistration removes the clients: the context's client does what
        // uverbs does for an open file, then the device goes.
        ctx.unregister_device()?;
        assert_eq!(counters.pd_alloc.load(Relaxed), 1);
        assert_eq!(counters.pd_dealloc.load(Relaxed), 1);
        assert_eq!(counters.disassociated.load(Relaxed), 1);
        assert_eq!(counters.dropped.load(Relaxed), 1);
        assert_eq!(counters.device_dropped.load(Relaxed), 1);
        assert!(ctx.device().is_none());
        assert_eq!(ctx.live_objects(), 0);
        // The process's later calls find no device.
        assert_eq!(ctx.alloc_pd(&[], &mut []), Err(ENODEV));
        assert_eq!(ctx.destroy(pd), Err(ENODEV));
        assert_eq!(ctx.mmap(page_offset(), PAGE_SIZE, true), Err(ENODEV));
        assert_eq!(ctx.unregister_device(), Err(ENODEV));
        // Closing it then has nothing left to do.
        ctx.close()?;
        assert_eq!(counters.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn mapping_outlives_the_context() -> Result {
        let (counters, reg) = register()?;
        let (mut ctx, _) = open(&reg)?;
        let addr = ctx.mmap(page_offset(), PAGE_SIZE, true)?;
        // The context's data, and with it the driver's reference to the page, goes first; the
        // mapping holds its own, so the bytes stay readable until the test's mm goes.
        ctx.close()?;
        assert_eq!(counters.dropped.load(Relaxed), 1);
        let mut got = [0u8; 8];
        user_read(addr, &mut got)?;
        assert_eq!(got, PATTERN);
        Ok(())
    }
}
