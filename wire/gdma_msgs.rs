// SPDX-License-Identifier: GPL-2.0-only

//! The GDMA requests and responses of the hardware channel (`GDMA_*` codes).
//!
//! C: `enum gdma_request_type` and the `/* GDMA_... */` structs of `include/net/mana/gdma.h`.
//! Requests whose body is only the header use their own named struct (checked against
//! `struct gdma_general_req`), so that each has its code; responses without a body are
//! [`GeneralResp`].

use crate::{
    Error,
    Pod,
    Result, //
};

use super::{
    hdr::{
        impl_request,
        impl_response,
        new_request,
        DevId,
        GeneralResp,
        ReqHdr,
        RespHdr,
        MSG_V2, //
    },
    hwc::HW_CHANNEL_MAX_REQUEST_SIZE,
    len_u32,
    wire_struct, //
};

/// GDMA request codes (C: `enum gdma_request_type`).
pub mod code {
    /// Protocol and capability negotiation, the first request after HWC setup.
    pub const VERIFY_VF_DRIVER_VERSION: u32 = 1;
    /// Resource limits of the function.
    pub const QUERY_MAX_RESOURCES: u32 = 2;
    /// The devices (HWC, MANA, MANA_IB) of the function.
    pub const LIST_DEVICES: u32 = 3;
    /// Register a client device: returns its PD id, GPA mkey and doorbell page.
    pub const REGISTER_DEVICE: u32 = 4;
    /// Deregister a client device.
    pub const DEREGISTER_DEVICE: u32 = 5;
    /// Ask for a test EQE on an EQ.
    pub const GENERATE_TEST_EQE: u32 = 10;
    /// Create a queue (the drivers create EQs this way).
    pub const CREATE_QUEUE: u32 = 12;
    /// Disable (destroy) a queue.
    pub const DISABLE_QUEUE: u32 = 13;
    /// Allocate a range of resources (doorbell pages).
    pub const ALLOCATE_RESOURCE_RANGE: u32 = 22;
    /// Free a range of resources.
    pub const DESTROY_RESOURCE_RANGE: u32 = 24;
    /// Create a DMA region from a page list.
    pub const CREATE_DMA_REGION: u32 = 25;
    /// Add pages to a DMA region.
    pub const DMA_REGION_ADD_PAGES: u32 = 26;
    /// Destroy a DMA region.
    pub const DESTROY_DMA_REGION: u32 = 27;
    /// Create a protection domain.
    pub const CREATE_PD: u32 = 29;
    /// Destroy a protection domain.
    pub const DESTROY_PD: u32 = 30;
    /// Create a memory region.
    pub const CREATE_MR: u32 = 31;
    /// Destroy a memory region.
    pub const DESTROY_MR: u32 = 32;
    /// The HWC timeout the device wants.
    pub const QUERY_HWC_TIMEOUT: u32 = 84;
    /// Allocate device memory.
    pub const ALLOC_DM: u32 = 96;
    /// Free device memory.
    pub const DESTROY_DM: u32 = 97;
}

/// The GDMA protocol version the C driver offers, minimum and maximum (C: `GDMA_PROTOCOL_V1`).
pub const PROTOCOL_V1: u64 = 1;

/// Driver capability flags of [`VerifyVerReq::gd_drv_cap_flags1`] (C: `GDMA_DRV_CAP_FLAG_1_*`).
pub mod drv_cap1 {
    /// EQs may be shared by several vports.
    pub const EQ_SHARING_MULTI_VPORT: u64 = 1 << 0;
    /// The NAPI work_done race is fixed.
    pub const NAPI_WKDONE_FIX: u64 = 1 << 2;
    /// The driver handles HWC timeout reconfiguration events.
    pub const HWC_TIMEOUT_RECONFIG: u64 = 1 << 3;
    /// The driver handles 4 MB, 1 GB and 2 GB GDMA pages.
    pub const GDMA_PAGES_4MB_1GB_2GB: u64 = 1 << 4;
    /// The driver supports a variable indirection table size.
    pub const VARIABLE_INDIRECTION_TABLE_SUPPORT: u64 = 1 << 5;
    /// The driver is aware of the hardware vport link state.
    pub const HW_VPORT_LINK_AWARE: u64 = 1 << 6;
    /// The driver handles holes (zeros) in the device list.
    pub const DEV_LIST_HOLES_SUP: u64 = 1 << 11;
    /// The driver allocates MSI-X vectors dynamically.
    pub const DYNAMIC_IRQ_ALLOC_SUPPORT: u64 = 1 << 13;
    /// The driver resets itself on a reset EQE.
    pub const SELF_RESET_ON_EQE: u64 = 1 << 14;
    /// The driver handles the FPGA reconfiguration EQE.
    pub const HANDLE_RECONFIG_EQE: u64 = 1 << 17;
    /// The driver detects and recovers stalled send queues.
    pub const HANDLE_STALL_SQ_RECOVERY: u64 = 1 << 18;
    /// The driver supports separate EQs and MSI-X vectors per vport.
    pub const EQ_MSI_UNSHARE_MULTI_VPORT: u64 = 1 << 19;
    /// The driver linearizes skbs with too many fragments.
    pub const SKB_LINEARIZE: u64 = 1 << 20;
    /// The driver queries statistics periodically over the HWC.
    pub const PERIODIC_STATS_QUERY: u64 = 1 << 21;
    /// The driver handles recovery events during probe.
    pub const PROBE_RECOVERY: u64 = 1 << 22;
    /// The driver recovers from HWC timeouts.
    pub const HWC_TIMEOUT_RECOVERY: u64 = 1 << 25;
    /// The driver supports dynamic interrupt moderation.
    pub const DYN_INTERRUPT_MODERATION: u64 = 1 << 28;
    /// The driver supports non-contiguous queue buffers.
    pub const NON_CONTIGUOUS_BUFFERS: u64 = 1 << 30;
}

/// PF capability: dynamic interrupt moderation (C: `GDMA_PF_CAP_FLAG_1_DYN_INTERRUPT_MODERATION`).
pub const PF_CAP1_DYN_INTERRUPT_MODERATION: u64 = 1 << 15;

/// `os_type` of [`VerifyVerReq`] for Linux.
pub const OS_TYPE_LINUX: u32 = 0x10;

/// Resource type of a doorbell page range (C: `GDMA_RESOURCE_DOORBELL_PAGE`).
pub const RESOURCE_DOORBELL_PAGE: u32 = 27;

/// The number of entries of [`ListDevicesResp::devs`] (C: `GDMA_DEV_LIST_SIZE`).
pub const DEV_LIST_SIZE: usize = 64;

/// The 4 KiB GDMA page type of a DMA region (C: `GDMA_PAGE_TYPE_4K`).
pub const PAGE_TYPE_4K: u32 = 0;

/// The DMA region handle that means "none" (C: `GDMA_INVALID_DMA_REGION`).
pub const INVALID_DMA_REGION: u64 = 0;

/// Protection domain flags of [`CreatePdReq::flags`] (C: `enum gdma_pd_flags`).
pub mod pd_flags {
    /// MRs of type GPA may be created in the PD.
    pub const ALLOW_GPA_MR: u32 = 1 << 0;
    /// The PD gets a short PD number.
    pub const SHORT_PDN: u32 = 1 << 2;
}

/// Memory region types of [`CreateMrReq::mr_type`] (C: `enum gdma_mr_type`).
pub mod mr_type {
    /// Guest physical address.
    pub const GPA: u32 = 1;
    /// Guest virtual address.
    pub const GVA: u32 = 2;
    /// Zero-based virtual address.
    pub const ZBVA: u32 = 4;
    /// Device memory.
    pub const DM: u32 = 5;
    /// Memory window type 1.
    pub const MW1: u32 = 6;
    /// Memory window type 2.
    pub const MW2: u32 = 7;
}

/// Memory region access flags (C: `enum gdma_mr_access_flags`).
pub mod access {
    /// Local read.
    pub const LOCAL_READ: u32 = 1 << 0;
    /// Local write.
    pub const LOCAL_WRITE: u32 = 1 << 1;
    /// Remote read.
    pub const REMOTE_READ: u32 = 1 << 2;
    /// Remote write.
    pub const REMOTE_WRITE: u32 = 1 << 3;
    /// Remote atomic.
    pub const REMOTE_ATOMIC: u32 = 1 << 4;
    /// Bind a memory window.
    pub const BIND_MW: u32 = 1 << 5;
}

// ---------------------------------------------------------------------------------------------
// GDMA_VERIFY_VF_DRIVER_VERSION

wire_struct! {
    /// `GDMA_VERIFY_VF_DRIVER_VERSION` request (C: `struct gdma_verify_ver_req`, 640 bytes).
    pub struct VerifyVerReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// Lowest GDMA protocol version the driver speaks.
        pub protocol_ver_min: u64,
        /// Highest GDMA protocol version the driver speaks.
        pub protocol_ver_max: u64,
        /// Driver capability flags, word 1 ([`drv_cap1`]).
        pub gd_drv_cap_flags1: u64,
        /// Driver capability flags, word 2.
        pub gd_drv_cap_flags2: u64,
        /// Driver capability flags, word 3.
        pub gd_drv_cap_flags3: u64,
        /// Driver capability flags, word 4.
        pub gd_drv_cap_flags4: u64,
        /// Advisory driver version.
        pub drv_ver: u64,
        /// Operating system type ([`OS_TYPE_LINUX`]).
        pub os_type: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// OS major version.
        pub os_ver_major: u32,
        /// OS minor version.
        pub os_ver_minor: u32,
        /// OS build.
        pub os_ver_build: u32,
        /// OS platform.
        pub os_ver_platform: u32,
        /// Reserved, zero.
        pub reserved_2: u64,
        /// OS version string 1 (NUL padded).
        pub os_ver_str1: [u8; 128],
        /// OS version string 2.
        pub os_ver_str2: [u8; 128],
        /// OS version string 3.
        pub os_ver_str3: [u8; 128],
        /// OS version string 4.
        pub os_ver_str4: [u8; 128],
    }
}

impl VerifyVerReq {
    /// A request offering protocol [`PROTOCOL_V1`] with capability flags `cap_flags1`, for
    /// Linux.
    pub fn new(cap_flags1: u64) -> Self {
        let mut req: Self = new_request();
        req.protocol_ver_min = PROTOCOL_V1;
        req.protocol_ver_max = PROTOCOL_V1;
        req.gd_drv_cap_flags1 = cap_flags1;
        req.os_type = OS_TYPE_LINUX;
        req
    }
}

wire_struct! {
    /// `GDMA_VERIFY_VF_DRIVER_VERSION` response (C: `struct gdma_verify_ver_resp`, 72 bytes).
    pub struct VerifyVerResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The protocol version the device chose.
        pub gdma_protocol_ver: u64,
        /// PF capability flags, word 1.
        pub pf_cap_flags1: u64,
        /// PF capability flags, word 2.
        pub pf_cap_flags2: u64,
        /// PF capability flags, word 3.
        pub pf_cap_flags3: u64,
        /// PF capability flags, word 4.
        pub pf_cap_flags4: u64,
    }
}

impl_request!(VerifyVerReq, code::VERIFY_VF_DRIVER_VERSION, VerifyVerResp);

// ---------------------------------------------------------------------------------------------
// Requests without a body.

wire_struct! {
    /// `GDMA_QUERY_MAX_RESOURCES` request (C: `struct gdma_general_req`, 40 bytes).
    pub struct QueryMaxResourcesReq {
        /// The request header.
        pub hdr: ReqHdr,
    }
}

wire_struct! {
    /// `GDMA_QUERY_MAX_RESOURCES` response (C: `struct gdma_query_max_resources_resp`, 72
    /// bytes).
    pub struct QueryMaxResourcesResp {
        /// The response header.
        pub hdr: RespHdr,
        /// A status word (unused by the C driver).
        pub status: u32,
        /// Maximum number of SQs.
        pub max_sq: u32,
        /// Maximum number of RQs.
        pub max_rq: u32,
        /// Maximum number of CQs.
        pub max_cq: u32,
        /// Maximum number of EQs.
        pub max_eq: u32,
        /// Maximum number of doorbell pages.
        pub max_db: u32,
        /// Maximum number of memory translation entries.
        pub max_mst: u32,
        /// Maximum number of CQ moderation contexts.
        pub max_cq_mod_ctx: u32,
        /// Maximum number of moderated CQs.
        pub max_mod_cq: u32,
        /// Maximum number of MSI-X vectors.
        pub max_msix: u32,
    }
}

wire_struct! {
    /// `GDMA_LIST_DEVICES` request (C: `struct gdma_general_req`, 40 bytes).
    pub struct ListDevicesReq {
        /// The request header.
        pub hdr: ReqHdr,
    }
}

wire_struct! {
    /// `GDMA_LIST_DEVICES` response (C: `struct gdma_list_devices_resp`, 296 bytes).
    pub struct ListDevicesResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The number of valid entries in `devs` (holes included); at most [`DEV_LIST_SIZE`].
        pub num_of_devs: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// The devices; a hole is [`super::hdr::device_type::NONE`].
        pub devs: [DevId; DEV_LIST_SIZE],
    }
}

wire_struct! {
    /// `GDMA_REGISTER_DEVICE` request (C: `struct gdma_general_req`, 40 bytes); `hdr.dev_id`
    /// names the device.
    pub struct RegisterDeviceReq {
        /// The request header.
        pub hdr: ReqHdr,
    }
}

wire_struct! {
    /// `GDMA_REGISTER_DEVICE` response (C: `struct gdma_register_device_resp`, 44 bytes).
    pub struct RegisterDeviceResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The device's protection domain id.
        pub pdid: u32,
        /// The memory key for guest physical addresses.
        pub gpa_mkey: u32,
        /// The device's doorbell page index.
        pub db_id: u32,
    }
}

wire_struct! {
    /// `GDMA_DEREGISTER_DEVICE` request (C: `struct gdma_general_req`, 40 bytes); `hdr.dev_id`
    /// names the device.
    pub struct DeregisterDeviceReq {
        /// The request header.
        pub hdr: ReqHdr,
    }
}

impl_request!(
    QueryMaxResourcesReq,
    code::QUERY_MAX_RESOURCES,
    QueryMaxResourcesResp
);
impl_request!(ListDevicesReq, code::LIST_DEVICES, ListDevicesResp);
impl_request!(RegisterDeviceReq, code::REGISTER_DEVICE, RegisterDeviceResp);
impl_request!(DeregisterDeviceReq, code::DEREGISTER_DEVICE, GeneralResp);

// ---------------------------------------------------------------------------------------------
// GDMA_GENERATE_TEST_EQE

wire_struct! {
    /// `GDMA_GENERATE_TEST_EQE` request (C: `struct gdma_generate_test_event_req`, 44 bytes).
    pub struct GenerateTestEqeReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The EQ that receives the test EQE.
        pub queue_index: u32,
    }
}

impl GenerateTestEqeReq {
    /// A request for a test EQE on EQ `queue_index`.
    pub fn new(queue_index: u32) -> Self {
        let mut req: Self = new_request();
        req.queue_index = queue_index;
        req
    }
}

impl_request!(GenerateTestEqeReq, code::GENERATE_TEST_EQE, GeneralResp);

// ---------------------------------------------------------------------------------------------
// GDMA_CREATE_QUEUE / GDMA_DISABLE_QUEUE

wire_struct! {
    /// `GDMA_CREATE_QUEUE` request (C: `struct gdma_create_queue_req`, 96 bytes).
    pub struct CreateQueueReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The queue type ([`super::queue::queue_type`]).
        pub ty: u32,
        /// Reserved, zero.
        pub reserved1: u32,
        /// The protection domain.
        pub pdid: u32,
        /// The doorbell page (C spells the field `doolbell_id`).
        pub doorbell_id: u32,
        /// The DMA region of the queue memory.
        pub gdma_region: u64,
        /// Reserved, zero.
        pub reserved2: u32,
        /// The queue size in bytes.
        pub queue_size: u32,
        /// Log2 of the EQ throttle limit.
        pub log2_throttle_limit: u32,
        /// The MSI-X vector of an EQ.
        pub eq_pci_msix_index: u32,
        /// The CQ moderation context.
        pub cq_mod_ctx_id: u32,
        /// The EQ of a CQ.
        pub cq_parent_eq_id: u32,
        /// RQ: drop on overrun.
        pub rq_drop_on_overrun: u8,
        /// RQ: error on WQE overflow.
        pub rq_err_on_wqe_overflow: u8,
        /// RQ: chain receive WQEs.
        pub rq_chain_rec_wqes: u8,
        /// SQ: hardware doorbell.
        pub sq_hw_db: u8,
        /// Reserved, zero.
        pub reserved3: u32,
    }
}

impl CreateQueueReq {
    /// A request creating an EQ as `mana_gd_create_hw_eq()` does.
    pub fn new_eq(
        pdid: u32,
        doorbell_id: u32,
        gdma_region: u64,
        queue_size: u32,
        log2_throttle_limit: u32,
        msix_index: u32,
    ) -> Self {
        let mut req: Self = new_request();
        req.ty = super::queue::queue_type::EQ;
        req.pdid = pdid;
        req.doorbell_id = doorbell_id;
        req.gdma_region = gdma_region;
        req.queue_size = queue_size;
        req.log2_throttle_limit = log2_throttle_limit;
        req.eq_pci_msix_index = msix_index;
        req
    }
}

wire_struct! {
    /// `GDMA_CREATE_QUEUE` response (C: `struct gdma_create_queue_resp`, 36 bytes).
    pub struct CreateQueueResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The id of the new queue.
        pub queue_index: u32,
    }
}

wire_struct! {
    /// `GDMA_DISABLE_QUEUE` request (C: `struct gdma_disable_queue_req`, 52 bytes).
    pub struct DisableQueueReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The queue type ([`super::queue::queue_type`]).
        pub ty: u32,
        /// The queue id.
        pub queue_index: u32,
        /// Whether the id was allocated when the queue was created (the C driver sends 1).
        pub alloc_res_id_on_creation: u32,
    }
}

impl DisableQueueReq {
    /// A request disabling queue `queue_index` of type `ty`, as `mana_gd_disable_queue()`.
    pub fn new(ty: u32, queue_index: u32) -> Self {
        let mut req: Self = new_request();
        req.ty = ty;
        req.queue_index = queue_index;
        req.alloc_res_id_on_creation = 1;
        req
    }
}

impl_request!(CreateQueueReq, code::CREATE_QUEUE, CreateQueueResp);
impl_request!(DisableQueueReq, code::DISABLE_QUEUE, GeneralResp);

// ---------------------------------------------------------------------------------------------
// GDMA_ALLOCATE_RESOURCE_RANGE / GDMA_DESTROY_RESOURCE_RANGE

wire_struct! {
    /// `GDMA_ALLOCATE_RESOURCE_RANGE` request (C: `struct gdma_allocate_resource_range_req`,
    /// 56 bytes).
    pub struct AllocateResourceRangeReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The resource type ([`RESOURCE_DOORBELL_PAGE`]).
        pub resource_type: u32,
        /// How many resources.
        pub num_resources: u32,
        /// Alignment of the first index.
        pub alignment: u32,
        /// Unused in requests.
        pub allocated_resources: u32,
    }
}

impl AllocateResourceRangeReq {
    /// A request for `num_resources` resources of `resource_type`, aligned to `alignment`.
    pub fn new(resource_type: u32, num_resources: u32, alignment: u32) -> Self {
        let mut req: Self = new_request();
        req.resource_type = resource_type;
        req.num_resources = num_resources;
        req.alignment = alignment;
        req
    }
}

wire_struct! {
    /// `GDMA_ALLOCATE_RESOURCE_RANGE` response (C: `struct gdma_allocate_resource_range_resp`,
    /// 36 bytes).
    pub struct AllocateResourceRangeResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The first allocated index.
        pub allocated_resources: u32,
    }
}

wire_struct! {
    /// `GDMA_DESTROY_RESOURCE_RANGE` request (C: `struct gdma_destroy_resource_range_req`, 52
    /// bytes).
    pub struct DestroyResourceRangeReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The resource type.
        pub resource_type: u32,
        /// How many resources.
        pub num_resources: u32,
        /// The first index, as allocated.
        pub allocated_resources: u32,
    }
}

impl DestroyResourceRangeReq {
    /// A request freeing `num_resources` resources of `resource_type` from `first`.
    pub fn new(resource_type: u32, num_resources: u32, first: u32) -> Self {
        let mut req: Self = new_request();
        req.resource_type = resource_type;
        req.num_resources = num_resources;
        req.allocated_resources = first;
        req
    }
}

impl_request!(
    AllocateResourceRangeReq,
    code::ALLOCATE_RESOURCE_RANGE,
    AllocateResourceRangeResp
);
impl_request!(
    DestroyResourceRangeReq,
    code::DESTROY_RESOURCE_RANGE,
    GeneralResp
);

// ---------------------------------------------------------------------------------------------
// GDMA_CREATE_DMA_REGION / GDMA_DMA_REGION_ADD_PAGES / GDMA_DESTROY_DMA_REGION

/// Writes `fixed` followed by the little-endian `u64`s of `tail` into `buf`; returns the length.
pub(crate) fn write_with_u64_tail<T: Pod>(
    fixed: &T,
    tail: &[u64],
    buf: &mut [u8],
) -> Result<usize> {
    let head = fixed.wire_bytes();
    let total = tail
        .len()
        .checked_mul(size_of::<u64>())
        .and_then(|t| t.checked_add(head.len()))
        .ok_or(Error::Invalid)?;
    let out = buf.get_mut(..total).ok_or(Error::Invalid)?;
    let (out_head, out_tail) = out.split_at_mut(head.len());
    out_head.copy_from_slice(head);
    for (chunk, page) in out_tail.chunks_exact_mut(size_of::<u64>()).zip(tail) {
        chunk.copy_from_slice(&page.to_le_bytes());
    }
    Ok(total)
}

/// A list of little-endian `u64` values (page addresses, handles) at the end of a message.
///
/// The bytes may sit at any alignment; each entry is read by copy.
#[derive(Clone, Copy, Debug)]
pub struct U64Tail<'a> {
    bytes: &'a [u8],
}

impl<'a> U64Tail<'a> {
    /// The `count` entries at the start of `bytes`, or `EINVAL` if `bytes` is too short.
    pub fn new(bytes: &'a [u8], count: usize) -> Result<Self> {
        let len = count.checked_mul(size_of::<u64>()).ok_or(Error::Invalid)?;
        Ok(Self {
            bytes: bytes.get(..len).ok_or(Error::Invalid)?,
        })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() / size_of::<u64>()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Entry `index`, if it exists.
    pub fn get(&self, index: usize) -> Option<u64> {
        let start = index.checked_mul(size_of::<u64>())?;
        let chunk = self
            .bytes
            .get(start..start.checked_add(size_of::<u64>())?)?;
        let mut raw = [0u8; 8];
        raw.copy_from_slice(chunk);
        Some(u64::from_le_bytes(raw))
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        // Every chunk has 8 bytes; the conversion cannot fail (and has no panic path).
        self.bytes
            .chunks_exact(size_of::<u64>())
            .map(|chunk| <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes))
    }
}

wire_struct! {
    /// The fixed part of a `GDMA_CREATE_DMA_REGION` request (C: `struct
    /// gdma_create_dma_region_req`, 64 bytes), followed on the wire by `page_addr_list_len`
    /// page addresses (`u64`, 4 KiB aligned DMA addresses).
    ///
    /// Build the message with [`CreateDmaRegionReq::new`] and [`CreateDmaRegionReq::write`];
    /// parse it on the device side with [`CreateDmaRegionReq::parse`]. Pages beyond what fits
    /// in one HWC message ([`CreateDmaRegionReq::MAX_PAGES`]) follow in
    /// [`DmaRegionAddPagesReq`] messages.
    pub struct CreateDmaRegionReq {
        /// The request header; `req.msg_size` counts the page list.
        pub hdr: ReqHdr,
        /// Total length of the region in bytes.
        pub length: u64,
        /// Offset of the region in its first page.
        pub offset_in_page: u32,
        /// The page type ([`PAGE_TYPE_4K`]).
        pub gdma_page_type: u32,
        /// Total number of pages of the region.
        pub page_count: u32,
        /// Number of page addresses in this message.
        pub page_addr_list_len: u32,
    }
}

impl CreateDmaRegionReq {
    /// The most page addresses one request carries in a [`HW_CHANNEL_MAX_REQUEST_SIZE`]
    /// message.
    pub const MAX_PAGES: usize =
        (HW_CHANNEL_MAX_REQUEST_SIZE as usize - size_of::<Self>()) / size_of::<u64>();

    /// The fixed part of a request for a region of `length` bytes over `page_count` 4 KiB pages,
    /// `list_len` of which are listed in this message; `hdr.req.msg_size` includes them.
    pub fn new(length: u64, page_count: u32, list_len: u32) -> Result<Self> {
        if list_len as usize > Self::MAX_PAGES || list_len > page_count {
            return Err(Error::Invalid);
        }
        let mut req: Self = new_request();
        req.hdr.req.msg_size = len_u32(size_of::<Self>() + list_len as usize * size_of::<u64>());
        req.length = length;
        req.offset_in_page = 0;
        req.gdma_page_type = PAGE_TYPE_4K;
        req.page_count = page_count;
        req.page_addr_list_len = list_len;
        Ok(req)
    }

    /// Writes the request followed by `pages` into `buf`; returns the message length.
    ///
    /// `pages` must hold exactly `page_addr_list_len` entries, else `EINVAL`.
    pub fn write(&self, pages: &[u64], buf: &mut [u8]) -> Result<usize> {
        if pages.len() != self.page_addr_list_len as usize {
            return Err(Error::Invalid);
        }
        write_with_u64_tail(self, pages, buf)
    }

    /// Parses a request of `msg` bytes: the fixed part and its page list.
    ///
    /// Fails with `EINVAL` if `msg` is shorter than the fixed part plus the announced list.
    pub fn parse(msg: &[u8]) -> Result<(Self, U64Tail<'_>)> {
        let (fixed, rest) = <Self as Pod>::wire_read_prefix(msg).ok_or(Error::Invalid)?;
        let tail = U64Tail::new(rest, fixed.page_addr_list_len as usize)?;
        Ok((fixed, tail))
    }
}

wire_struct! {
    /// `GDMA_CREATE_DMA_REGION` response (C: `struct gdma_create_dma_region_resp`, 40 bytes).
    pub struct CreateDmaRegionResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The handle of the new region (never [`INVALID_DMA_REGION`] on success).
        pub dma_region_handle: u64,
    }
}

wire_struct! {
    /// The fixed part of a `GDMA_DMA_REGION_ADD_PAGES` request (C: `struct
    /// gdma_dma_region_add_pages_req`, 56 bytes), followed by `page_addr_list_len` page
    /// addresses; built and parsed like [`CreateDmaRegionReq`].
    pub struct DmaRegionAddPagesReq {
        /// The request header; `req.msg_size` counts the page list.
        pub hdr: ReqHdr,
        /// The region.
        pub dma_region_handle: u64,
        /// Number of page addresses in this message.
        pub page_addr_list_len: u32,
        /// Reserved, zero.
        pub reserved3: u32,
    }
}

impl DmaRegionAddPagesReq {
    /// The most page addresses one request carries.
    pub const MAX_PAGES: usize =
        (HW_CHANNEL_MAX_REQUEST_SIZE as usize - size_of::<Self>()) / size_of::<u64>();

    /// The fixed part of a request adding `list_len` pages to `handle`.
    pub fn new(handle: u64, list_len: u32) -> Result<Self> {
        if list_len as usize > Self::MAX_PAGES {
            return Err(Error::Invalid);
        }
        let mut req: Self = new_request();
        req.hdr.req.msg_size = len_u32(size_of::<Self>() + list_len as usize * size_of::<u64>());
        req.dma_region_handle = handle;
        req.page_addr_list_len = list_len;
        Ok(req)
    }

    /// Writes the request followed by `pages` into `buf`; returns the message length.
    pub fn write(&self, pages: &[u64], buf: &mut [u8]) -> Result<usize> {
        if pages.len() != self.page_addr_list_len as usize {
            return Err(Error::Invalid);
        }
        write_with_u64_tail(self, pages, buf)
    }

    /// Parses a request: the fixed part and its page list.
    pub fn parse(msg: &[u8]) -> Result<(Self, U64Tail<'_>)> {
        let (fixed, rest) = <Self as Pod>::wire_read_prefix(msg).ok_or(Error::Invalid)?;
        let tail = U64Tail::new(rest, fixed.page_addr_list_len as usize)?;
        Ok((fixed, tail))
    }
}

wire_struct! {
    /// `GDMA_DESTROY_DMA_REGION` request (C: `struct gdma_destroy_dma_region_req`, 48 bytes).
    pub struct DestroyDmaRegionReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The region.
        pub dma_region_handle: u64,
    }
}

impl DestroyDmaRegionReq {
    /// A request destroying region `handle`.
    pub fn new(handle: u64) -> Self {
        let mut req: Self = new_request();
        req.dma_region_handle = handle;
        req
    }
}

impl_request!(
    CreateDmaRegionReq,
    code::CREATE_DMA_REGION,
    CreateDmaRegionResp
);
impl_request!(
    DmaRegionAddPagesReq,
    code::DMA_REGION_ADD_PAGES,
    GeneralResp
);
impl_request!(DestroyDmaRegionReq, code::DESTROY_DMA_REGION, GeneralResp);

// ---------------------------------------------------------------------------------------------
// GDMA_CREATE_PD / GDMA_DESTROY_PD

wire_struct! {
    /// `GDMA_CREATE_PD` request (C: `struct gdma_create_pd_req`, 48 bytes).
    pub struct CreatePdReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// Flags ([`pd_flags`]).
        pub flags: u32,
        /// Reserved, zero.
        pub reserved: u32,
    }
}

impl CreatePdReq {
    /// A request for a PD with `flags`.
    pub fn new(flags: u32) -> Self {
        let mut req: Self = new_request();
        req.flags = flags;
        req
    }
}

wire_struct! {
    /// `GDMA_CREATE_PD` response (C: `struct gdma_create_pd_resp`, 48 bytes).
    pub struct CreatePdResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The PD handle.
        pub pd_handle: u64,
        /// The PD number.
        pub pd_id: u32,
        /// Reserved, zero.
        pub reserved: u32,
    }
}

wire_struct! {
    /// `GDMA_DESTROY_PD` request (C: `struct gdma_destroy_pd_req`, 48 bytes).
    pub struct DestroyPdReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The PD handle.
        pub pd_handle: u64,
    }
}

impl DestroyPdReq {
    /// A request destroying PD `pd_handle`.
    pub fn new(pd_handle: u64) -> Self {
        let mut req: Self = new_request();
        req.pd_handle = pd_handle;
        req
    }
}

wire_struct! {
    /// `GDMA_DESTROY_PD` response (C: `struct gdma_destroy_pd_resp`, 32 bytes).
    pub struct DestroyPdResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

impl_request!(CreatePdReq, code::CREATE_PD, CreatePdResp);
impl_request!(DestroyPdReq, code::DESTROY_PD, DestroyPdResp);
impl_response!(
    VerifyVerResp,
    QueryMaxResourcesResp,
    ListDevicesResp,
    RegisterDeviceResp,
    CreateQueueResp,
    AllocateResourceRangeResp,
    CreateDmaRegionResp,
    CreatePdResp,
    DestroyPdResp,
    CreateMrResp,
    DestroyMrResp,
    QueryHwcTimeoutResp,
    AllocDmResp,
    DestroyDmResp,
);

// ---------------------------------------------------------------------------------------------
// GDMA_CREATE_MR / GDMA_DESTROY_MR

wire_struct! {
    /// `GDMA_CREATE_MR` request (C: `struct gdma_create_mr_request`, 88 bytes; sent as version
    /// 2).
    ///
    /// In C, bytes 56..76 are a packed union of three parameter sets. Every member of the
    /// union keeps its fields at natural alignment, so this struct flattens it without
    /// `packed`:
    ///
    /// | bytes  | GVA                 | ZBVA                | DM (device memory)  |
    /// |--------|---------------------|---------------------|---------------------|
    /// | 56..64 | `dma_region_handle` | `dma_region_handle` | `dm_handle`         |
    /// | 64..72 | `virtual_address`   | `access_flags`, 0   | `offset`            |
    /// | 72..76 | `access_flags`      | (unused)            | `access_flags`      |
    ///
    /// followed by `reserved_2` and, for DM, the length. Use the constructors.
    pub struct CreateMrReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The PD handle.
        pub pd_handle: u64,
        /// The MR type ([`mr_type`]).
        pub mr_type: u32,
        /// Reserved, zero.
        pub reserved_1: u32,
        /// GVA/ZBVA: the DMA region handle; DM: the device memory handle.
        pub handle: u64,
        /// GVA: the virtual address; DM: the offset; ZBVA: access flags in the low half.
        pub param: u64,
        /// GVA and DM: access flags ([`access`]).
        pub access_flags: u32,
        /// Reserved, zero.
        pub reserved_2: u32,
        /// DM: the length (C: `da_ext.length`).
        pub length: u64,
    }
}

impl CreateMrReq {
    /// A request for a GVA MR over `dma_region_handle` at `virtual_address`.
    pub fn new_gva(
        pd_handle: u64,
        dma_region_handle: u64,
        virtual_address: u64,
        flags: u32,
    ) -> Self {
        let mut req = Self::with_type(pd_handle, mr_type::GVA);
        req.handle = dma_region_handle;
        req.param = virtual_address;
        req.access_flags = flags;
        req
    }

    /// A request for a zero-based MR over `dma_region_handle`.
    pub fn new_zbva(pd_handle: u64, dma_region_handle: u64, flags: u32) -> Self {
        let mut req = Self::with_type(pd_handle, mr_type::ZBVA);
        req.handle = dma_region_handle;
        req.param = u64::from(flags);
        req
    }

    /// A request for a device-memory MR of `length` bytes at `offset` into `dm_handle`.
    pub fn new_dm(pd_handle: u64, dm_handle: u64, offset: u64, length: u64, flags: u32) -> Self {
        let mut req = Self::with_type(pd_handle, mr_type::DM);
        req.handle = dm_handle;
        req.param = offset;
        req.access_flags = flags;
        req.length = length;
        req
    }

    /// The access flags, wherever the MR type keeps them.
    pub fn access(&self) -> u32 {
        if self.mr_type == mr_type::ZBVA {
            // CAST: the ZBVA flags are the low half of `param`.
            self.param as u32
        } else {
            self.access_flags
        }
    }

    fn with_type(pd_handle: u64, ty: u32) -> Self {
        let mut req: Self = new_request();
        req.pd_handle = pd_handle;
        req.mr_type = ty;
        req
    }
}

wire_struct! {
    /// `GDMA_CREATE_MR` response (C: `struct gdma_create_mr_response`, 48 bytes).
    pub struct CreateMrResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The MR handle.
        pub mr_handle: u64,
        /// The local key.
        pub lkey: u32,
        /// The remote key.
        pub rkey: u32,
    }
}

wire_struct! {
    /// `GDMA_DESTROY_MR` request (C: `struct gdma_destroy_mr_request`, 48 bytes).
    pub struct DestroyMrReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The MR handle.
        pub mr_handle: u64,
    }
}

impl DestroyMrReq {
    /// A request destroying MR `mr_handle`.
    pub fn new(mr_handle: u64) -> Self {
        let mut req: Self = new_request();
        req.mr_handle = mr_handle;
        req
    }
}

wire_struct! {
    /// `GDMA_DESTROY_MR` response (C: `struct gdma_destroy_mr_response`, 32 bytes).
    pub struct DestroyMrResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

impl_request!(CreateMrReq, code::CREATE_MR, CreateMrResp, req = MSG_V2);
impl_request!(DestroyMrReq, code::DESTROY_MR, DestroyMrResp);

// ---------------------------------------------------------------------------------------------
// GDMA_QUERY_HWC_TIMEOUT

wire_struct! {
    /// `GDMA_QUERY_HWC_TIMEOUT` request (C: `struct gdma_query_hwc_timeout_req`, 48 bytes).
    pub struct QueryHwcTimeoutReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The driver's current timeout in milliseconds.
        pub timeout_ms: u32,
        /// Reserved, zero.
        pub reserved: u32,
    }
}

impl QueryHwcTimeoutReq {
    /// A request announcing the current timeout `timeout_ms`.
    pub fn new(timeout_ms: u32) -> Self {
        let mut req: Self = new_request();
        req.timeout_ms = timeout_ms;
        req
    }
}

wire_struct! {
    /// `GDMA_QUERY_HWC_TIMEOUT` response (C: `struct gdma_query_hwc_timeout_resp`, 40 bytes).
    pub struct QueryHwcTimeoutResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The timeout the device wants, in milliseconds.
        pub timeout_ms: u32,
        /// Reserved, zero.
        pub reserved: u32,
    }
}

impl_request!(
    QueryHwcTimeoutReq,
    code::QUERY_HWC_TIMEOUT,
    QueryHwcTimeoutResp
);

// ---------------------------------------------------------------------------------------------
// GDMA_ALLOC_DM / GDMA_DESTROY_DM

wire_struct! {
    /// `GDMA_ALLOC_DM` request (C: `struct gdma_alloc_dm_req`, 56 bytes).
    pub struct AllocDmReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// Length in bytes.
        pub length: u64,
        /// Alignment in bytes.
        pub alignment: u32,
        /// Flags.
        pub flags: u32,
    }
}

wire_struct! {
    /// `GDMA_ALLOC_DM` response (C: `struct gdma_alloc_dm_resp`, 40 bytes).
    pub struct AllocDmResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The device memory handle.
        pub dm_handle: u64,
    }
}

wire_struct! {
    /// `GDMA_DESTROY_DM` request (C: `struct gdma_destroy_dm_req`, 48 bytes).
    pub struct DestroyDmReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The device memory handle.
        pub dm_handle: u64,
    }
}

wire_struct! {
    /// `GDMA_DESTROY_DM` response (C: `struct gdma_destroy_dm_resp`, 32 bytes).
    pub struct DestroyDmResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

impl_request!(AllocDmReq, code::ALLOC_DM, AllocDmResp);
impl_request!(DestroyDmReq, code::DESTROY_DM, DestroyDmResp);
