// SPDX-License-Identifier: GPL-2.0-only

//! The adapter: one MANA function brought up through its hardware channel, and what the core
//! shares with its clients.
//!
//! Bring-up follows the C driver's order: registers, hardware channel (SMC + init events),
//! VERIFY_VF_DRIVER_VERSION, LIST_DEVICES, QUERY_MAX_RESOURCES, QUERY_DEV_CONFIG,
//! REGISTER_DEVICE and one QUERY_VPORT_CONFIG per port. Removal undoes it in reverse.

use kernel::{
    debugfs::Dir,
    dma::DataDirection,
    dma_stream::SharedPage,
    netdev::skb::Skb,
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    transmute::AsBytes, //
};

use crate::{
    dma::{
        DmaBuf,
        DoorbellFrame,
        SkbMap,
        StreamMap,
        UserMemory,
        UserPages, //
    },
    hwc::Hwc,
    irq::IrqTable,
    objects::ObjectContext,
    shared_vport::{
        RefusalLog,
        VportDebugfs,
        VportTable, //
    },
    transport::{
        InterruptHandler,
        Transport, //
    },
    vport_hw::HwcVportHw,
    wire::{
        gdma_msgs::{
            self,
            DeregisterDeviceReq,
            ListDevicesReq,
            QueryMaxResourcesReq,
            RegisterDeviceReq,
            VerifyVerReq, //
        },
        hdr::{
            device_type,
            new_request,
            DevId,
            Request,
            MSG_V2,
            MSG_V3, //
        },
        mana_msgs::{
            hash_type,
            tri_state,
            CfgRxSteerReq,
            CfgRxSteerResp,
            Handle,
            QueryDevCfgReq,
            QueryDevCfgResp,
            QueryLinkConfigReq,
            QueryVportCfgReq,
            SetBwClampReq,
            HASH_KEY_SIZE, //
        },
        queue,
        regs,
        smc, //
    }, //
};

/// Source of adapter numbers; each adapter gets the next one (used in device names).
static NEXT_ADAPTER_ID: Atomic<u32> = Atomic::new(0);

/// Takes a new adapter number.
pub(crate) fn new_adapter_id() -> u32 {
    NEXT_ADAPTER_ID.fetch_add(1, Relaxed)
}

/// What the driver tells the device it handles (VERIFY_VF_DRIVER_VERSION): only what the core
/// and the clients implement, so the device never relies on behaviour that is missing.
pub(crate) const DRIVER_CAP_FLAGS1: u64 = gdma_msgs::drv_cap1::HWC_TIMEOUT_RECONFIG
    | gdma_msgs::drv_cap1::VARIABLE_INDIRECTION_TABLE_SUPPORT
    | gdma_msgs::drv_cap1::HW_VPORT_LINK_AWARE
    | gdma_msgs::drv_cap1::DEV_LIST_HOLES_SUP
    | gdma_msgs::drv_cap1::SELF_RESET_ON_EQE
    | gdma_msgs::drv_cap1::HANDLE_RECONFIG_EQE
    | gdma_msgs::drv_cap1::SKB_LINEARIZE;

/// The most vports (Ethernet ports) one adapter may expose; the C driver's limit.
pub const MAX_PORTS: u32 = 16;

/// The most queue pairs per port (C: `MANA_MAX_NUM_QUEUES`).
pub const MAX_QUEUES_PER_PORT: u32 = 64;

/// A vport's bandwidth as the device reports it (MANA_QUERY_LINK_CONFIG).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// The bandwidth the vport is allowed, in Mbit/s (what the C driver reports as the link
    /// speed).
    pub qos_speed_mbps: u32,
    /// The bandwidth the vport runs at, in Mbit/s: a clamp set with
    /// [`Adapter::set_bw_clamp`], or the allowance.
    pub link_speed_mbps: u32,
}

/// What QUERY_VPORT_CONFIG reported for one port.
#[derive(Clone, Copy, Debug)]
pub struct PortInfo {
    /// The port's MAC address.
    pub mac: [u8; 6],
    /// Send queues the port offers.
    pub max_sq: u32,
    /// Receive queues the port offers.
    pub max_rq: u32,
    /// Entries of the RSS indirection table.
    pub indirection_entries: u32,
    /// The device's handle of the vport.
    pub handle: Handle,
}

/// What the device reported at bring-up.
#[derive(Clone, Copy, Debug)]
pub struct DeviceCaps {
    /// The MANA (Ethernet) device id from LIST_DEVICES.
    pub mana_dev: DevId,
    /// The MANA_IB device id, if the device offers RDMA.
    pub rdma_dev: Option<DevId>,
    /// The adapter MTU, including the Ethernet header.
    pub adapter_mtu: u16,
    /// A PF in bare-metal host mode (QUERY_DEV_CONFIG v3): it runs like a VF, without
    /// REGISTER_HW_PORT and REGISTER_FILTER.
    pub bm_hostmode: bool,
    /// Event queues the device offers.
    pub max_eqs: u32,
    /// Completion, send and receive queues the device offers (QUERY_MAX_RESOURCES).
    pub max_cqs: u32,
    /// Send queues the device offers.
    pub max_sqs: u32,
    /// Receive queues the device offers.
    pub max_rqs: u32,
    /// MSI-X vectors the device offers.
    pub max_msix: u32,
    /// The PD of the registered MANA device.
    pub pdid: u32,
    /// Its memory key.
    pub gpa_mkey: u32,
    /// Its doorbell page.
    pub doorbell: u32,
}

/// One MANA adapter, shared by the core and its clients.
pub struct Adapter {
    id: u32,
    hwc: Arc<Hwc>,
    transport: Arc<dyn Transport>,
    caps: DeviceCaps,
    ports: KVec<PortInfo>,
    vports: VportTable,
    /// What [`Adapter::remove`] undoes; `None` once removed.
    live: Pin<KBox<Mutex<Option<Published>>>>,
    /// Where the doorbell pages start in BAR0, and the size of one.
    db_base: usize,
    db_page_size: u64,
    bar_size: usize,
    /// The clients' handlers of the shared MSI-X vectors.
    irqs: Arc<IrqTable>,
}

/// What a live adapter shows outside the core.
struct Published {
    /// `adapter<N>/vport<M>` in the core's debugfs directory; the files go before the directory.
    _debugfs: Option<(VportDebugfs, Dir)>,
}

/// Reads register `offset` and checks that `len` bytes at the offset it names fit in BAR0.
fn read_offset_reg(t: &dyn Transport, offset: usize, len: usize, bar_size: usize) -> Result<usize> {
    let value = t.read64(offset)?;
    let value = usize::try_from(value).map_err(|_| EPROTO)?;
    match value.checked_add(len) {
        Some(end) if end <= bar_size => Ok(value),
        _ => {
            pr_err!(
                "register 0x{:x} names offset 0x{:x}, outside BAR0 (0x{:x} bytes)\n",
                offset,
                value,
                bar_size
            );
            Err(EPROTO)
        }
    }
}

/// Sends request `req` through `hwc` and returns the response.
pub(crate) fn request<R: Request>(hwc: &Hwc, req: &mut R) -> Result<R::Response> {
    let mut resp = R::Response::zeroed();
    hwc.send(
        req.as_bytes_mut(),
        resp.as_bytes_mut(),
        size_of::<R::Response>(),
    )?;
    Ok(resp)
}

/// The Ethernet frame size a device without an adapter MTU gets (C: `ETH_FRAME_LEN`).
const ETH_FRAME_LEN: u16 = 1514;
/// The smallest adapter MTU a device may report: the minimum IP MTU plus the Ethernet header.
const MIN_ADAPTER_MTU: u16 = 68 + 14;

/// The adapter MTU and the bare-metal host mode from QUERY_DEV_CONFIG, by the response version
/// as `mana_gd_query_device_cfg()` reads them: v1 has neither (1514, off); an adapter MTU of 0
/// (old PF firmware) means 1514; one too small for IP is refused.
pub(crate) fn dev_config_fields(cfg: &QueryDevCfgResp) -> Result<(u16, bool)> {
    let version = cfg.hdr.response.msg_version;
    let mtu = match cfg.adapter_mtu {
        _ if version < MSG_V2 => ETH_FRAME_LEN,
        0 => {
            pr_info!(
                "the device reports an adapter MTU of 0; using {} (no jumbo frames)\n",
                ETH_FRAME_LEN
            );
            ETH_FRAME_LEN
        }
        mtu if mtu < MIN_ADAPTER_MTU => {
            pr_err!(
                "the device reports an adapter MTU of {}, below {}\n",
                mtu,
                MIN_ADAPTER_MTU
            );
            return Err(EPROTO);
        }
        mtu => mtu,
    };
    Ok((mtu, version >= MSG_V3 && cfg.bm_hostmode != 0))
}

impl Adapter {
    /// Brings up the function behind `transport`, whose BAR0 is `bar_size` bytes, as adapter
    /// number `id` (a function keeps its number across device resets); `is_pf` for a physical
    /// function.
    pub(crate) fn probe(
        transport: Arc<dyn Transport>,
        bar_size: usize,
        is_pf: bool,
        debugfs: Option<&Dir>,
        id: u32,
    ) -> Result<Arc<Self>> {
        let t = &*transport;
        let db_base = read_offset_reg(t, regs::GDMA_REG_DB_PAGE_OFFSET, 0, bar_size)?;
        let db_page_size =
            u64::from(t.read32(regs::GDMA_REG_DB_PAGE_SIZE)? & regs::DB_PAGE_SIZE_MASK);
        if db_page_size < queue::MIN_DOORBELL_PAGE_SIZE || !db_page_size.is_power_of_two() {
            pr_err!("unusable doorbell page size 0x{:x}\n", db_page_size);
            return Err(EPROTO);
        }
        let shm = read_offset_reg(
            t,
            regs::GDMA_REG_SHM_OFFSET,
            smc::SMC_APERTURE_SIZE,
            bar_size,
        )?;

        let hwc = Hwc::new(transport.clone(), is_pf, shm, db_base, db_page_size)?;
        let result = Self::bring_up(&hwc, is_pf);
        let (caps, ports) = match result {
            Ok(v) => v,
            Err(e) => {
                hwc.shut_down(true);
                return Err(e);
            }
        };
        let mut handles = KVec::with_capacity(ports.len(), GFP_KERNEL)?;
        for p in ports.iter() {
            handles.push(p.handle, GFP_KERNEL)?;
        }
        let build = || -> Result<Arc<Self>> {
            let vports = VportTable::with_hw(
                id,
                ports.len() as u32,
                Arc::new(
                    HwcVportHw::new(hwc.clone(), caps.mana_dev, handles),
                    GFP_KERNEL,
                )?,
                RefusalLog::Print,
            )?;
            let debugfs = match debugfs {
                Some(parent) => {
                    let dir = parent.subdir(&CString::try_from_fmt(fmt!("adapter{}", id))?);
                    Some((vports.create_debugfs(&dir)?, dir))
                }
                None => None,
            };
            Ok(Arc::new(
                Self {
                    id,
                    vports,
                    live: KBox::pin_init(
                        new_mutex!(Some(Published { _debugfs: debugfs })),
                        GFP_KERNEL,
                    )?,
                    hwc: hwc.clone(),
                    transport: transport.clone(),
                    caps,
                    ports,
                    db_base,
                    db_page_size,
                    bar_size,
                    irqs: IrqTable::new(transport.num_vectors())?,
                },
                GFP_KERNEL,
            )?)
        };
        build().inspect_err(|_| {
            Self::undo_registration(&hwc, &caps);
            hwc.shut_down(true);
        })
    }

    fn bring_up(hwc: &Hwc, is_pf: bool) -> Result<(DeviceCaps, KVec<PortInfo>)> {
        let mut ver = VerifyVerReq::new(DRIVER_CAP_FLAGS1);
        ver.os_type = gdma_msgs::OS_TYPE_LINUX;
        let ver = request(hwc, &mut ver)?;
        if ver.gdma_protocol_ver != gdma_msgs::PROTOCOL_V1 {
            pr_err!(
                "the device speaks GDMA protocol {}, not 1\n",
                ver.gdma_protocol_ver
            );
            return Err(EPROTO);
        }

        let devs = request(hwc, &mut new_request::<ListDevicesReq>())?;
        let count = devs.num_of_devs as usize;
        if count > devs.devs.len() {
            pr_err!(
                "LIST_DEVICES reports {} devices, at most {} fit\n",
                count,
                devs.devs.len()
            );
            return Err(EPROTO);
        }
        let mut mana_dev = None;
        let mut rdma_dev = None;
        for raw in &devs.devs[..count] {
            let dev = *raw;
            match dev.ty {
                device_type::MANA if mana_dev.is_none() => mana_dev = Some(dev),
                device_type::MANA_IB if rdma_dev.is_none() => rdma_dev = Some(dev),
                _ => {}
            }
        }
        let Some(mana_dev) = mana_dev else {
            pr_err!("the device lists no MANA (Ethernet) function\n");
            return Err(ENODEV);
        };

        let res = request(hwc, &mut new_request::<QueryMaxResourcesReq>())?;
        if res.max_msix == 0 || res.max_eq == 0 {
            pr_err!("the device offers no event queues or MSI-X vectors\n");
            return Err(EPROTO);
        }

        let mut cfg_req = QueryDevCfgReq::new();
        cfg_req.hdr.dev_id = mana_dev;
        let cfg = request(hwc, &mut cfg_req)?;
        let num_ports = u32::from(cfg.max_num_vports);
        if num_ports == 0 || num_ports > MAX_PORTS {
            pr_err!(
                "the device reports {} vports, the supported range is 1..={}\n",
                num_ports,
                MAX_PORTS
            );
            return Err(EPROTO);
        }
        let (adapter_mtu, bm_hostmode) = dev_config_fields(&cfg)?;
        if is_pf && !bm_hostmode {
            pr_err!("this MANA PF is in hypervisor-host mode, which needs REGISTER_HW_PORT and REGISTER_FILTER on every port; mana-rs drives VFs and PFs in bare-metal host mode only: use the C driver (mana)\n");
            return Err(EOPNOTSUPP);
        }

        let mut reg = new_request::<RegisterDeviceReq>();
        reg.hdr.dev_id = mana_dev;
        let reg = request(hwc, &mut reg)?;
        let caps = DeviceCaps {
            mana_dev,
            rdma_dev,
            adapter_mtu,
            bm_hostmode,
            max_eqs: res.max_eq,
            max_cqs: res.max_cq,
            max_sqs: res.max_sq,
            max_rqs: res.max_rq,
            max_msix: res.max_msix,
            pdid: reg.pdid,
            gpa_mkey: reg.gpa_mkey,
            doorbell: reg.db_id,
        };

        let ports = Self::query_ports(hwc, mana_dev, num_ports).inspect_err(|_| {
            Self::undo_registration(hwc, &caps);
        })?;
        Ok((caps, ports))
    }

    fn query_ports(hwc: &Hwc, mana_dev: DevId, num_ports: u32) -> Result<KVec<PortInfo>> {
        let mut ports = KVec::with_capacity(num_ports as usize, GFP_KERNEL)?;
        for index in 0..num_ports {
            let mut req = new_request::<QueryVportCfgReq>();
            req.hdr.dev_id = mana_dev;
            req.vport_index = index;
            let r = request(hwc, &mut req)?;
            if r.max_num_sq == 0 || r.max_num_rq == 0 {
                pr_err!("vport {} offers no queues\n", index);
                return Err(EPROTO);
            }
            ports.push(
                PortInfo {
                    mac: r.mac_addr,
                    max_sq: r.max_num_sq,
                    max_rq: r.max_num_rq,
                    indirection_entries: r.num_indirection_ent,
                    handle: r.vport,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(ports)
    }

    fn undo_registration(hwc: &Hwc, caps: &DeviceCaps) {
        let mut req = new_request::<DeregisterDeviceReq>();
        req.hdr.dev_id = caps.mana_dev;
        match request(hwc, &mut req) {
            // The channel is closed by a device reset: the registration went with the device.
            Ok(_) | Err(ESHUTDOWN) => {}
            Err(e) => pr_err!("DEREGISTER_DEVICE failed: {:?}\n", e),
        }
    }

    /// Undoes the bring-up: deregisters the device and destroys the hardware channel. Called
    /// once the clients are gone; calling it again does nothing.
    pub(crate) fn remove(&self) {
        let mut live = self.live.lock();
        let Some(published) = live.take() else {
            return;
        };
        // The debugfs files go first: a removed adapter shows nothing, and a reset's next
        // incarnation takes the same names.
        drop(published);
        // The clients are gone by now (their auxiliary devices go first), so no lease may be
        // alive; if one is, the arbiter names it, and the device goes away regardless.
        if self.vports.shutdown().is_err() {
            pr_err!("adapter {}: removed with vport leases alive\n", self.id);
        }
        Self::undo_registration(&self.hwc, &self.caps);
        self.hwc.shut_down(true);
    }

    /// Whether the adapter was removed (device removal, or a reset took this incarnation down).
    pub fn is_removed(&self) -> bool {
        self.live.lock().is_none()
    }

    /// The adapter's number, unique while the module is loaded.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The vport arbiter of this adapter.
    pub fn vports(&self) -> &VportTable {
        &self.vports
    }

    /// The ports, as the device reported them.
    pub fn ports(&self) -> &[PortInfo] {
        &self.ports
    }

    /// What the device reported at bring-up.
    pub fn caps(&self) -> &DeviceCaps {
        &self.caps
    }

    /// MSI-X vectors the function has; vector 0 is the hardware channel's, the others are for
    /// the clients' event queues.
    pub fn num_vectors(&self) -> u32 {
        self.transport.num_vectors()
    }

    /// The most queue pairs a client may create per port, each with an event queue on an MSI-X
    /// vector of its own, as `mana_gd_query_max_resources()` budgets them: the vectors past the
    /// channel's (those the function has and the device says it may use), the device's EQ, CQ,
    /// SQ and RQ limits, and the C driver's cap of 64. At least 0.
    pub fn max_queues(&self) -> u32 {
        let vectors = self.num_vectors().min(self.caps.max_msix).saturating_sub(1);
        [
            vectors,
            self.caps.max_eqs,
            self.caps.max_cqs,
            self.caps.max_sqs,
            self.caps.max_rqs,
            MAX_QUEUES_PER_PORT,
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
    }

    /// The hardware channel.
    pub fn hwc(&self) -> &Hwc {
        &self.hwc
    }

    /// Steers vport `vport`'s received packets to `indirection` (receive WQ object handles,
    /// by RSS hash) with the Toeplitz `key` (MANA_CONFIG_VPORT_RX with RX and RSS enabled).
    ///
    /// The caller must hold the vport's lease.
    pub fn enable_rx_steering(
        &self,
        vport: u32,
        indirection: &[Handle],
        key: &[u8; HASH_KEY_SIZE],
    ) -> Result {
        self.enable_rx_steering_hashed(vport, indirection, key, hash_type::ENABLE_SUPPORTED)
    }

    /// Like [`Adapter::enable_rx_steering`], hashing the packet types of `hash_types` (NDIS
    /// hash types, [`hash_type`]): a packet whose type is not in it is hashed as the next
    /// type that is (TCP over IPv4 as IPv4), or steered by hash 0 if none is.
    pub fn enable_rx_steering_hashed(
        &self,
        vport: u32,
        indirection: &[Handle],
        key: &[u8; HASH_KEY_SIZE],
        hash_types: u16,
    ) -> Result {
        if hash_types & !hash_type::ALL != 0 {
            return Err(EINVAL);
        }
        let port = self.ports.get(vport as usize).ok_or(EINVAL)?;
        let first = *indirection.first().ok_or(EINVAL)?;
        let entries = u16::try_from(indirection.len()).map_err(|_| EINVAL)?;
        let mut req = CfgRxSteerReq::new(port.handle, entries, 1, true)?;
        req.hdr.dev_id = self.caps.mana_dev;
        req.update_default_rxobj = 1;
        req.default_rxobj = first;
        req.update_hashkey = 1;
        req.hashkey = *key;
        req.update_indir_tab = 1;
        req.rss_hash_types = hash_types;
        let mut msg = KVec::from_elem(0u8, req.hdr.req.msg_size as usize, GFP_KERNEL)?;
        req.write(indirection, &mut msg)?;
        let mut resp = CfgRxSteerResp::zeroed();
        let min = size_of_val(&resp);
        self.hwc
            .send(&mut msg, resp.as_bytes_mut(), min)
            .inspect_err(|e| pr_err!("vport {}: enabling RX steering failed: {:?}\n", vport, e))?;
        Ok(())
    }

    /// Asks the device for vport `vport`'s bandwidth (MANA_QUERY_LINK_CONFIG, response
    /// version 2, as `mana_query_link_cfg()` sends it). Fails with `EOPNOTSUPP` if the device
    /// does not know the request and `ENODATA` if the vport has no QoS configured (the C driver:
    /// `EINVAL`); the caller reports the speed as unknown then. Needs no lease: the bandwidth
    /// is the vport's, whoever uses it.
    pub fn query_link_config(&self, vport: u32) -> Result<LinkConfig> {
        let port = self.ports.get(vport as usize).ok_or(EINVAL)?;
        let mut req = QueryLinkConfigReq::new(port.handle);
        req.hdr.dev_id = self.caps.mana_dev;
        let resp = request(&self.hwc, &mut req)?;
        if resp.qos_unconfigured != 0 {
            return Err(ENODATA);
        }
        Ok(LinkConfig {
            qos_speed_mbps: resp.qos_speed_mbps,
            link_speed_mbps: resp.link_speed_mbps,
        })
    }

    /// Clamps vport `vport`'s transmit bandwidth to `mbps` Mbit/s, or removes the clamp if
    /// `None` (MANA_SET_BW_CLAMP with TRUE or FALSE, as `mana_set_bw_clamp()` sends it). The
    /// device refuses a clamp of 0 or above the vport's allowance
    /// ([`LinkConfig::qos_speed_mbps`]). Needs no lease, like [`Self::query_link_config`].
    pub fn set_bw_clamp(&self, vport: u32, mbps: Option<u32>) -> Result {
        let port = self.ports.get(vport as usize).ok_or(EINVAL)?;
        let mut req = new_request::<SetBwClampReq>();
        req.hdr.dev_id = self.caps.mana_dev;
        req.vport = port.handle;
        (req.enable_clamping, req.link_speed_mbps) = match mbps {
            Some(mbps) => (tri_state::TRUE, mbps),
            None => (tri_state::FALSE, 0),
        };
        let resp = request(&self.hwc, &mut req)?;
        if resp.qos_unconfigured != 0 {
            kernel::pr_warn_ratelimited!(
                "vport {}: the device applies no bandwidth clamp (no QoS configured for the vport)\n",
                vport
            );
        }
        Ok(())
    }

    /// Makes user pages that the RDMA core pinned and mapped for this function reachable by
    /// the device (see [`Transport::map_user_pages`]).
    pub fn map_user_pages(&self, pages: &[u64], cpu: &Arc<dyn UserMemory>) -> Result<UserPages> {
        self.transport.map_user_pages(pages, cpu)
    }

    /// Calls `map` with the memory behind doorbell page `index`, to map it into a process.
    pub fn with_doorbell_page(
        &self,
        index: u32,
        map: &mut dyn FnMut(DoorbellFrame<'_>) -> Result,
    ) -> Result {
        let offset = u64::from(index)
            .checked_mul(self.db_page_size)
            .and_then(|o| o.checked_add(self.db_base as u64))
            .filter(|o| o.saturating_add(self.db_page_size) <= self.bar_size as u64)
            .ok_or(EINVAL)?;
        self.transport
            .with_doorbell_page(index, offset as usize, map)
    }

    /// Allocates `size` bytes (a multiple of 4 KiB) of zeroed memory the device can reach, e.g.
    /// packet buffers of a client's queues.
    pub fn alloc_dma(&self, size: usize) -> Result<DmaBuf> {
        self.transport.alloc_dma(size)
    }

    /// Maps `len` bytes at `offset` of `page` for the device in direction `dir`, for packet
    /// buffers (see [`Transport::map_page`] for the cost). Does not sleep.
    pub fn map_page(
        &self,
        page: SharedPage,
        offset: usize,
        len: usize,
        dir: DataDirection,
    ) -> Result<StreamMap> {
        self.transport.map_page(page, offset, len, dir)
    }

    /// Maps the parts of the transmit buffer `skb` for the device to read (see
    /// [`Transport::map_skb`]). On failure the buffer is freed. Does not sleep.
    pub fn map_skb(&self, skb: Skb) -> Result<SkbMap> {
        self.transport.map_skb(skb)
    }

    /// Rings the doorbell of queue type `qtype` (`queue::queue_type`) in the MANA device's
    /// doorbell page with `value` (one of the `queue::*Doorbell` layouts). May be called from
    /// any context.
    pub fn ring_doorbell(&self, qtype: u32, value: u64) -> Result {
        self.hwc.doorbell(qtype, value, self.caps.doorbell)
    }

    /// The Linux interrupt number of MSI-X vector `vector`, if it is a real interrupt (see
    /// [`Transport::irq_number`]).
    pub fn irq_number(&self, vector: u32) -> Option<u32> {
        self.transport.irq_number(vector)
    }

    /// Adds `handler` to the handlers of MSI-X vector `vector` (1 or more: vector 0 is the
    /// hardware channel's). Vectors are shared: every handler of a vector is called when it is
    /// raised (e.g. the event queues of channel `i` of every port share vector `i + 1`).
    /// These vectors are the data path's: on a PCI function the handler runs in hard
    /// interrupt context, so it must be an [`IrqContext::Hard`] one (`EINVAL` otherwise).
    ///
    /// [`IrqContext::Hard`]: crate::transport::IrqContext::Hard
    pub fn add_interrupt_handler(&self, vector: u32, handler: Arc<dyn InterruptHandler>) -> Result {
        if vector == 0 || vector >= self.transport.num_vectors() {
            return Err(EINVAL);
        }
        self.irqs.add(&*self.transport, vector, handler)
    }

    /// Removes `handler` from vector `vector`. Once this returns, the handler is not running
    /// and the adapter holds no reference to it.
    pub fn remove_interrupt_handler(&self, vector: u32, handler: &Arc<dyn InterruptHandler>) {
        self.irqs.remove(vector, handler)
    }

    /// What creating device objects for the Ethernet (MANA) device needs.
    pub fn objects(&self) -> ObjectContext {
        ObjectContext {
            hwc: self.hwc.clone(),
            transport: self.transport.clone(),
            dev: self.caps.mana_dev,
        }
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.remove();
    }
}
