// SPDX-License-Identifier: GPL-2.0-only

//! The raw-packet RDMA device `manae_<N>` of one MANA adapter.
//!
//! One IB device per adapter, with one port per vport (Ethernet link layer, raw packet core
//! capability), registered when the RDMA client binds and unregistered when it unbinds. What
//! it reports follows the C driver (`drivers/infiniband/hw/mana`, `mana_ib_query_device()`,
//! `mana_ib_query_port()` and `mana_eth_query_adapter_caps()`):
//!
//! - vendor 0x1414, vendor part id the GDMA type of the Ethernet device (2,
//!   `GDMA_DEVICE_MANA`, which DPDK's MANA PMD checks), `raw_packet_caps` with IP checksum
//!   offload, the maxima the C driver derives from QUERY_MAX_RESOURCES (queried once at
//!   registration);
//! - a port is Active while the adapter's link is up, Down otherwise; its largest MTU is 4096;
//!   its active MTU is the adapter's Ethernet MTU (the C driver reports the netdev's current
//!   MTU, which this client does not see); one P_Key (0xffff), no GID table;
//! - uverbs ABI version 1 (`include/uapi/rdma/mana-abi.h`), driver id `RDMA_DRIVER_MANA`.
//!
//! Protection domains are the core's [`ProtectionDomain`] objects (CREATE_PD on allocation,
//! DESTROY_PD when the PD's data is dropped). A user PD reads `struct mana_ib_alloc_pd` with the
//! udata size rules (an empty request is allowed; unknown `comp_mask` bits give `EOPNOTSUPP`),
//! maps `MANA_IB_PD_SHORT_PDN` to the device's short PDN flag and answers
//! `struct mana_ib_alloc_pd_resp { pdn }`. Kernel PDs get `ALLOW_GPA_MR`, as in the C driver, and
//! the device reports `IBK_LOCAL_DMA_LKEY` instead of offering a DMA MR.
//!
//! User contexts, CQs, WQs, QPs, RSS indirection tables and MRs are in [`crate::verbs`].

use kernel::{
    bindings,
    device,
    mm::virt::VmaNew,
    pci,
    prelude::*,
    rdma::{
        self,
        Cq,
        CqInitAttr,
        DeviceAttr,
        DriverId,
        Gid,
        LinkLayer,
        Mr,
        NewCq,
        NewMr,
        NewPd,
        NewQp,
        NewRwqIndTable,
        NewUcontext,
        NewWq,
        Pd,
        PortAttr,
        PortImmutable,
        PortState,
        Qp,
        QpInitAttr,
        QpQuery,
        Registration,
        RwqIndTable,
        RwqIndTableInitAttr,
        UData,
        Ucontext,
        UnregisteredDevice,
        UserMrArgs,
        Wq,
        WqInitAttr, //
    },
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    transmute::AsBytes, //
};

use crate::verbs::{
    self,
    IbCq,
    IbMr,
    IbPd,
    IbQp,
    IbUcontext,
    IbWq, //
};
use mana_gdma::{
    objects::ProtectionDomain,
    wire::{
        abi::{
            AllocPd,
            AllocPdResp,
            MANA_IB_PD_SHORT_PDN,
            MANA_IB_UVERBS_ABI_VERSION, //
        },
        gdma_msgs::{
            pd_flags,
            QueryMaxResourcesReq,
            QueryMaxResourcesResp, //
        },
        hdr::new_request,
        queue::{
            MAX_RQE_SIZE,
            MAX_SQE_SIZE, //
        },
    },
    Adapter,
};

/// The name of the devices; the core replaces `%d` with the first free number.
pub(crate) const NAME: &CStr = c"manae_%d";

/// The PCI vendor id of Microsoft.
pub(crate) const VENDOR_ID: u32 = 0x1414;

/// The vendor part id: the GDMA device type of the MANA (Ethernet) device the raw-packet
/// device serves (C: `gdma_dev->dev_id.type`, `GDMA_DEVICE_MANA`).
pub(crate) const VENDOR_PART_ID: u32 = mana_gdma::wire::hdr::device_type::MANA as u32;

/// The largest MTU of a port, in bytes (C: `IB_MTU_4096`).
const MAX_MTU: u32 = 4096;

/// The Ethernet header the adapter MTU includes.
const ETH_HLEN: u32 = 14;

/// The protection domains a device offers (C: `mana_eth_query_adapter_caps()`).
const MAX_PD: u32 = 0x6000;

/// The largest queue the device may be asked for, in bytes (C: `mana_eth_query_adapter_caps()`).
pub(crate) const MAX_QUEUE_BYTES: u32 = 0x10_0000;

/// Scatter/gather entries of a send and a receive work request (C:
/// `mana_eth_query_adapter_caps()`).
const MAX_SEND_SGE: u32 = 30;
const MAX_RECV_SGE: u32 = 15;

/// The CA ACK delay (C: `MANA_CA_ACK_DELAY`, about 260 ms).
const CA_ACK_DELAY: u8 = 16;

/// The supported page sizes, 4 KiB to 2 MiB (C: `PAGE_SZ_BM`).
const PAGE_SIZE_CAP: u64 = 0x3f_f000;

/// The default P_Key (C: `IB_DEFAULT_PKEY_FULL`).
pub(crate) const DEFAULT_PKEY: u16 = 0xffff;

/// The RDMA driver of the raw-packet devices.
pub(crate) struct ManaIb;

/// The limits the device reported (QUERY_MAX_RESOURCES) and the ones derived from them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IbCaps {
    /// Queue pairs: the fewer of send and receive queues.
    pub(crate) max_qp: u32,
    /// Completion queues.
    pub(crate) max_cq: u32,
    /// Memory regions (memory translation entries).
    pub(crate) max_mr: u32,
    /// Work requests of a queue, and entries of a CQ.
    pub(crate) max_qp_wr: u32,
}

impl IbCaps {
    /// Derives the limits from the device's QUERY_MAX_RESOURCES response, as the C driver
    /// does.
    fn from_resources(res: &QueryMaxResourcesResp) -> Self {
        Self {
            max_qp: res.max_sq.min(res.max_rq),
            max_cq: res.max_cq,
            max_mr: res.max_mst,
            max_qp_wr: (MAX_QUEUE_BYTES / MAX_SQE_SIZE).min(MAX_QUEUE_BYTES / MAX_RQE_SIZE),
        }
    }

    /// Asks the device (QUERY_MAX_RESOURCES through the hardware channel).
    fn query(adapter: &Adapter) -> Result<Self> {
        let mut req = new_request::<QueryMaxResourcesReq>();
        let mut resp: QueryMaxResourcesResp = pin_init::zeroed();
        let min = size_of::<QueryMaxResourcesResp>();
        adapter
            .hwc()
            .send(req.as_bytes_mut(), resp.as_bytes_mut(), min)?;
        Ok(Self::from_resources(&resp))
    }
}

/// The private data of a device.
pub(crate) struct IbDevData {
    adapter: Arc<Adapter>,
    caps: IbCaps,
    vendor_id: u32,
    pds: Arc<PdCounter>,
}

impl IbDevData {
    /// The adapter of the device.
    pub(crate) fn adapter(&self) -> &Arc<Adapter> {
        &self.adapter
    }

    /// The limits of the device.
    pub(crate) fn caps(&self) -> &IbCaps {
        &self.caps
    }
}

/// Returns the CREATE_PD flags of a PD: `ALLOW_GPA_MR` for a kernel PD (`req` is `None`), the
/// short PDN flag if a user request asks for it, `EOPNOTSUPP` for unknown `comp_mask` bits.
pub(crate) fn pd_flags_for(req: Option<&AllocPd>) -> Result<u32> {
    let Some(req) = req else {
        return Ok(pd_flags::ALLOW_GPA_MR);
    };
    UData::check_comp_mask(req.comp_mask.into(), MANA_IB_PD_SHORT_PDN.into())?;
    if req.comp_mask & MANA_IB_PD_SHORT_PDN != 0 {
        Ok(pd_flags::SHORT_PDN)
    } else {
        Ok(0)
    }
}

/// Reads the `alloc_pd` request of user space (`ib_copy_validate_udata_in_cm()`); an empty
/// request, as older libmana sends, is no request.
fn read_alloc_pd(dev: &rdma::Device<ManaIb>, udata: &UData) -> Result<AllocPd> {
    if udata.in_len() == 0 {
        return Ok(AllocPd {
            comp_mask: 0,
            reserved: 0,
        });
    }
    // The first version ended with `reserved`.
    let req: AllocPd = verbs::read_req(dev, udata, size_of::<AllocPd>(), "a PD")?;
    verbs::check_mask(
        dev,
        "a PD's comp_mask",
        req.comp_mask.into(),
        MANA_IB_PD_SHORT_PDN.into(),
    )?;
    Ok(req)
}

/// The count of a device's protection domains against the most it offers (`max_pd`).
pub(crate) struct PdCounter {
    live: Atomic<u32>,
    max: u32,
}

impl PdCounter {
    /// A counter of `max` PDs.
    pub(crate) fn new(max: u32) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                live: Atomic::new(0),
                max,
            },
            GFP_KERNEL,
        )?)
    }

    /// Takes a place for a new PD, `None` if all `max` are taken.
    pub(crate) fn take_slot(self: &Arc<Self>) -> Option<PdSlot> {
        if self.live.fetch_add(1, Relaxed) >= self.max {
            let _ = self.live.fetch_sub(1, Relaxed);
            return None;
        }
        Some(PdSlot(self.clone()))
    }

    /// The PDs alive.
    pub(crate) fn live(&self) -> u32 {
        self.live.load(Relaxed)
    }
}

/// A PD's place in its device's [`PdCounter`], given back when dropped.
pub(crate) struct PdSlot(Arc<PdCounter>);

impl Drop for PdSlot {
    fn drop(&mut self) {
        let _ = self.0.live.fetch_sub(1, Relaxed);
    }
}

/// Creates the device's PD for `pd`, and answers user space if it asked.
///
/// The PD table is full at `max_pd` PDs, or earlier if the device refuses CREATE_PD (its
/// table is the limit; the C driver reports that as `EPROTO`): both are `ENOSPC`, the RDMA
/// core's errno for a full table, with one line in the log.
fn alloc_pd(
    pd: &NewPd<ManaIb>,
    ctx: Option<&Ucontext<ManaIb>>,
    udata: Option<&UData>,
) -> Result<impl PinInit<IbPd, Error>> {
    let dev = pd.device();
    let req = udata.map(|u| read_alloc_pd(dev, u)).transpose()?;
    let flags = pd_flags_for(req.as_ref())?;
    let data = dev.data().get_ref();
    let Some(slot) = data.pds.take_slot() else {
        kernel::ibdev_err_ratelimited!(
            dev,
            "all {} protection domains are in use: deallocate PDs (close unused contexts) first\n",
            data.pds.max
        );
        return Err(ENOSPC);
    };
    let created = ProtectionDomain::new(&data.adapter().objects(), flags).map_err(|e| {
        kernel::ibdev_err_ratelimited!(
            dev,
            "the device refused a new protection domain ({:?}, {} in use): its PD table is full; deallocate PDs first\n",
            e,
            data.pds.live().saturating_sub(1)
        );
        if e == EPROTO {
            ENOSPC
        } else {
            e
        }
    })?;
    if let Some(udata) = udata {
        let resp = AllocPdResp {
            pdn: created.id(),
            reserved: 0,
        };
        // On failure `created` is dropped: DESTROY_PD.
        udata
            .respond(&resp)
            .inspect_err(|e| verbs::bad_response(dev, "a PD", *e))?;
    }
    Ok(IbPd::new(created, slot, verbs::context_id(ctx)))
}

#[vtable]
impl rdma::Driver for ManaIb {
    type Data = IbDevData;
    type UcontextData = IbUcontext;
    type PdData = IbPd;
    type CqData = IbCq;
    type WqData = IbWq;
    type QpData = IbQp;
    type RwqIndTableData = ();
    type MrData = IbMr;

    const DRIVER_ID: DriverId = DriverId::MANA;
    const UVERBS_ABI_VER: u32 = MANA_IB_UVERBS_ABI_VERSION;
    const UVERBS_ROBUST_UDATA: bool = true;

    fn query_device(
        dev: &rdma::Device<Self>,
        attr: &mut DeviceAttr,
        udata: Option<&UData>,
    ) -> Result {
        // No driver request or response (`ib_no_udata_io()`).
        verbs::no_udata_io(dev, udata, "query_device")?;
        let data = dev.data().get_ref();
        let caps = data.caps();
        attr.set_vendor_id(data.vendor_id)
            .set_vendor_part_id(VENDOR_PART_ID)
            .set_max_mr_size(u64::MAX)
            .set_page_size_cap(PAGE_SIZE_CAP)
            .set_max_qp(caps.max_qp)
            .set_max_qp_wr(caps.max_qp_wr)
            .set_device_cap_flags(bindings::ib_device_cap_flags_IB_DEVICE_RC_RNR_NAK_GEN as u64)
            // Kernel PDs use the local DMA lkey; the device has no DMA MR.
            .set_kernel_cap_flags(rdma::KernelCaps::LOCAL_DMA_LKEY)
            .set_max_send_sge(MAX_SEND_SGE)
            .set_max_recv_sge(MAX_RECV_SGE)
            .set_max_sge_rd(MAX_RECV_SGE)
            .set_max_cq(caps.max_cq)
            .set_max_cqe(caps.max_qp_wr)
            .set_max_mr(caps.max_mr)
            .set_max_pd(MAX_PD)
            .set_max_ah(i32::MAX as u32)
            .set_max_pkeys(1)
            .set_local_ca_ack_delay(CA_ACK_DELAY)
            .set_raw_packet_caps(bindings::ib_raw_packet_caps_IB_RAW_PACKET_CAP_IP_CSUM);
        Ok(())
    }

    fn query_port(dev: &rdma::Device<Self>, port: u32, attr: &mut PortAttr) -> Result {
        let adapter = dev.data().get_ref().adapter();
        if port == 0 || port as usize > adapter.ports().len() {
            return Err(EINVAL);
        }
        let state = if adapter.hwc().link_up() {
            PortState::Active
        } else {
            PortState::Down
        };
        let mtu = u32::from(adapter.caps().adapter_mtu).saturating_sub(ETH_HLEN);
        attr.set_state(state)
            .set_mtu(MAX_MTU, mtu)
            .set_pkey_tbl_len(1);
        // As the C driver: the speed of the port's interface, when it has one.
        if let Some((speed, width)) = dev.eth_speed(port) {
            attr.set_active_speed(speed).set_active_width(width);
        }
        Ok(())
    }

    fn get_port_immutable(
        _dev: &rdma::Device<Self>,
        _port: u32,
        immutable: &mut PortImmutable,
    ) -> Result {
        immutable
            .set_core_cap_flags(PortImmutable::CORE_PORT_RAW_PACKET)
            .set_pkey_tbl_len(1)
            .set_gid_tbl_len(0);
        Ok(())
    }

    fn get_link_layer(_dev: &rdma::Device<Self>, _port: u32) -> LinkLayer {
        LinkLayer::Ethernet
    }

    fn query_gid(_dev: &rdma::Device<Self>, _port: u32, _index: u32) -> Result<Gid> {
        // As the C driver: a raw-packet port has no GIDs.
        Ok(Gid::default())
    }

    fn query_pkey(_dev: &rdma::Device<Self>, _port: u32, index: u16) -> Result<u16> {
        if index != 0 {
            return Err(EINVAL);
        }
        Ok(DEFAULT_PKEY)
    }

    fn alloc_ucontext(
        ctx: &NewUcontext<Self>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::UcontextData, Error> {
        pin_init::pin_init_scope(move || verbs::alloc_ucontext(ctx, udata))
    }

    fn disassociate_ucontext(ctx: &Ucontext<Self>) {
        verbs::disassociate_ucontext(ctx)
    }

    fn mmap(ctx: &Ucontext<Self>, vma: &VmaNew) -> Result {
        verbs::mmap(ctx, vma)
    }

    fn alloc_pd(
        pd: &NewPd<Self>,
        ctx: Option<&Ucontext<Self>>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::PdData, Error> {
        pin_init::pin_init_scope(move || alloc_pd(pd, ctx, udata))
    }

    fn dealloc_pd(_pd: &Pd<Self>) -> Result {
        // DESTROY_PD is sent when the abstraction drops the PD's data.
        Ok(())
    }

    fn create_cq(
        cq: &NewCq<Self>,
        attr: &CqInitAttr,
        ctx: Option<&Ucontext<Self>>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::CqData, Error> {
        verbs::create_cq(cq, attr, ctx, udata)
    }

    fn destroy_cq(cq: &Cq<Self>) -> Result {
        verbs::destroy_cq(cq)
    }

    fn create_wq(
        pd: &Pd<Self>,
        wq: &NewWq<Self>,
        attr: &WqInitAttr<'_, Self>,
        ctx: Option<&Ucontext<Self>>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::WqData, Error> {
        verbs::create_wq(pd, wq, attr, ctx, udata)
    }

    fn destroy_wq(wq: &Wq<Self>) -> Result {
        verbs::destroy_wq(wq)
    }

    fn create_rwq_ind_table(
        table: &NewRwqIndTable<Self>,
        _attr: &RwqIndTableInitAttr<'_, Self>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::RwqIndTableData, Error> {
        // The table is a list of WQs the RSS QP uses; nothing to create on the device.
        verbs::no_udata_io(table.device(), udata, "an RSS indirection table")
    }

    fn destroy_rwq_ind_table(_table: &RwqIndTable<Self>) -> Result {
        Ok(())
    }

    fn create_qp(
        qp: &NewQp<Self>,
        attr: &QpInitAttr<'_, Self>,
        ctx: Option<&Ucontext<Self>>,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::QpData, Error> {
        verbs::create_qp(qp, attr, ctx, udata)
    }

    fn destroy_qp(qp: &Qp<Self>) -> Result {
        verbs::destroy_qp(qp)
    }

    fn query_qp(qp: &Qp<Self>, query: &mut QpQuery) -> Result {
        verbs::query_qp(qp, query)
    }

    fn reg_user_mr(
        pd: &Pd<Self>,
        mr: &NewMr<Self>,
        args: &UserMrArgs,
        udata: Option<&UData>,
    ) -> impl PinInit<Self::MrData, Error> {
        verbs::reg_user_mr(pd, mr, args, udata)
    }

    fn dereg_mr(mr: &Mr<Self>) -> Result {
        verbs::dereg_mr(mr)
    }

    fn report_port_event(_dev: &rdma::Device<Self>, _port: u32) {
        // A raw packet port works whatever the state of its interface (raw QPs need the
        // interface down); the port follows the adapter's link, whose changes the core's
        // link events report.
    }
}

/// Allocates and registers the device `manae_<N>` of `adapter`, with one port per vport.
///
/// `parent` becomes the device's sysfs `device`: the PCI function, as in the C driver, which
/// then also performs the device's DMA and gives the vendor id; or the software adapter's
/// faux device (no DMA device). With a parent, each port gets the net device of the same
/// parent whose `dev_port` is its vport (mana_eth's interface), for as long as it exists. Dropping the returned registration unregisters
/// the device, after the core has destroyed every object of it.
pub(crate) fn register<'a>(
    adapter: &Arc<Adapter>,
    parent: Option<&'a device::Device<device::Bound>>,
) -> Result<Registration<'a, ManaIb>> {
    let pdev = parent.and_then(|p| <&pci::Device<device::Bound>>::try_from(p).ok());
    let vendor_id = pdev.map_or(VENDOR_ID, |p| u32::from(p.vendor_id().as_raw()));
    let caps = IbCaps::query(adapter).inspect_err(|e| {
        pr_err!(
            "adapter {}: QUERY_MAX_RESOURCES failed: {:?}\n",
            adapter.id(),
            e
        )
    })?;
    let ports = u32::try_from(adapter.ports().len()).map_err(|_| EINVAL)?;
    let mut dev = UnregisteredDevice::<ManaIb>::new(Ok::<_, Error>(IbDevData {
        adapter: adapter.clone(),
        caps,
        vendor_id,
        pds: PdCounter::new(MAX_PD)?,
    }))?;
    dev.set_phys_port_cnt(ports)?;
    // Vector 0 is the hardware channel's.
    dev.set_num_comp_vectors(adapter.num_vectors().saturating_sub(1).max(1))?;
    // The PCI function performs the DMA; the software adapter's faux device does none.
    let dma_device = pdev.map(|p| -> &device::Device<device::Bound> { p.as_ref() });
    let registered = match parent {
        Some(parent) => Registration::new(parent, dev, NAME, dma_device),
        None => Registration::new_virtual(dev, NAME),
    };
    let mut reg = registered.inspect_err(|e| {
        pr_err!(
            "adapter {}: registering the RDMA device failed: {:?}\n",
            adapter.id(),
            e
        )
    })?;
    if parent.is_some() {
        // Port N shows the interface of vport N - 1 (`rdma link`), whenever it exists.
        reg.track_netdevs().inspect_err(|e| {
            pr_err!(
                "{}: following the ports' net devices failed: {:?}\n",
                &*reg.name(),
                e
            )
        })?;
    }
    Ok(reg)
}
