// SPDX-License-Identifier: GPL-2.0-only

//! The MANA (Ethernet/vport) requests and responses of the hardware channel (`MANA_*` codes).
//!
//! C: `enum mana_command_code` and the request structs of `include/net/mana/mana.h`; the
//! versions are those `mana_en.c` sends.

use crate::{
    Error,
    Pod,
    Result, //
};

use super::{
    gdma_msgs::{
        write_with_u64_tail,
        U64Tail, //
    },
    hdr::{
        impl_request,
        impl_response,
        new_request,
        ReqHdr,
        RespHdr,
        MSG_V2,
        MSG_V3,
        MSG_V5, //
    },
    hwc::HW_CHANNEL_MAX_REQUEST_SIZE,
    len_u32,
    wire_struct, //
};

/// MANA command codes (C: `enum mana_command_code`).
pub mod code {
    /// Device configuration: vports, MTU, capabilities.
    pub const QUERY_DEV_CONFIG: u32 = 0x20001;
    /// Function-wide statistics.
    pub const QUERY_GF_STAT: u32 = 0x20002;
    /// Bind a vport's TX to a PD and doorbell page.
    pub const CONFIG_VPORT_TX: u32 = 0x20003;
    /// Create a WQ object (SQ or RQ with its CQ).
    pub const CREATE_WQ_OBJ: u32 = 0x20004;
    /// Destroy a WQ object.
    pub const DESTROY_WQ_OBJ: u32 = 0x20005;
    /// Fence an RQ.
    pub const FENCE_RQ: u32 = 0x20006;
    /// Configure a vport's RX steering (RSS).
    pub const CONFIG_VPORT_RX: u32 = 0x20007;
    /// Vport configuration: queue limits, MAC, handle.
    pub const QUERY_VPORT_CONFIG: u32 = 0x20008;
    /// Link speed and QoS.
    pub const QUERY_LINK_CONFIG: u32 = 0x2000A;
    /// Bandwidth clamp.
    pub const SET_BW_CLAMP: u32 = 0x2000B;
    /// Physical port statistics.
    pub const QUERY_PHY_STAT: u32 = 0x2000C;
    /// PF only: register a MAC filter.
    pub const REGISTER_FILTER: u32 = 0x28000;
    /// PF only: deregister a MAC filter.
    pub const DEREGISTER_FILTER: u32 = 0x28001;
    /// PF only: register a hardware vport.
    pub const REGISTER_HW_PORT: u32 = 0x28003;
    /// PF only: deregister a hardware vport.
    pub const DEREGISTER_HW_PORT: u32 = 0x28004;
}

/// MANA protocol major version the C driver sends in [`QueryDevCfgReq`].
pub const MANA_MAJOR_VERSION: u32 = 0;
/// MANA protocol minor version.
pub const MANA_MINOR_VERSION: u32 = 1;
/// MANA protocol micro version.
pub const MANA_MICRO_VERSION: u32 = 1;

/// A MANA object handle (C: `mana_handle_t`).
pub type Handle = u64;
/// The invalid handle (C: `INVALID_MANA_HANDLE`).
pub const INVALID_HANDLE: Handle = u64::MAX;

/// The three-valued `rx_enable` of [`CfgRxSteerReq`] (C: `enum TRI_STATE`, sent as `u32`).
pub mod tri_state {
    /// Leave unchanged (C: `TRI_STATE_UNKNOWN`, -1).
    pub const UNKNOWN: u32 = u32::MAX;
    /// Disable.
    pub const FALSE: u32 = 0;
    /// Enable.
    pub const TRUE: u32 = 1;
}

/// PF capability: 8-packet CQE coalescing (C: `MANA_PF_FLAG_1_CQE_8_COALESCING_SUPPORTED`).
pub const PF_FLAG1_CQE_8_COALESCING_SUPPORTED: u64 = 1 << 5;

/// The Toeplitz hash key length (C: `MANA_HASH_KEY_SIZE`).
pub const HASH_KEY_SIZE: usize = 40;
/// The largest RSS indirection table (C: `MANA_INDIRECT_TABLE_MAX_SIZE`).
pub const INDIRECT_TABLE_MAX_SIZE: usize = 512;
/// The default RSS indirection table size (C: `MANA_INDIRECT_TABLE_DEF_SIZE`).
pub const INDIRECT_TABLE_DEF_SIZE: usize = 64;

/// NDIS hash types of [`CfgRxSteerReq::rss_hash_types`] (C: `NDIS_HASH_*`).
pub mod hash_type {
    /// IPv4.
    pub const IPV4: u16 = 1 << 0;
    /// TCP over IPv4.
    pub const TCP_IPV4: u16 = 1 << 1;
    /// UDP over IPv4.
    pub const UDP_IPV4: u16 = 1 << 2;
    /// IPv6.
    pub const IPV6: u16 = 1 << 3;
    /// TCP over IPv6.
    pub const TCP_IPV6: u16 = 1 << 4;
    /// UDP over IPv6.
    pub const UDP_IPV6: u16 = 1 << 5;
    /// IPv6 with extension headers.
    pub const IPV6_EX: u16 = 1 << 6;
    /// TCP over IPv6 with extension headers.
    pub const TCP_IPV6_EX: u16 = 1 << 7;
    /// UDP over IPv6 with extension headers.
    pub const UDP_IPV6_EX: u16 = 1 << 8;
    /// What the C driver enables (C: `MANA_HASH_ENABLE_SUPPORTED`).
    pub const ENABLE_SUPPORTED: u16 = IPV4 | TCP_IPV4 | UDP_IPV4 | IPV6 | TCP_IPV6 | UDP_IPV6;
    /// Every hash type.
    pub const ALL: u16 = ENABLE_SUPPORTED | IPV6_EX | TCP_IPV6_EX | UDP_IPV6_EX;
}

// ---------------------------------------------------------------------------------------------
// MANA_QUERY_DEV_CONFIG

wire_struct! {
    /// `MANA_QUERY_DEV_CONFIG` request (C: `struct mana_query_device_cfg_req`, 88 bytes;
    /// response version 3).
    pub struct QueryDevCfgReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// MANA driver capability flags, word 1.
        pub mn_drv_cap_flags1: u64,
        /// Word 2.
        pub mn_drv_cap_flags2: u64,
        /// Word 3.
        pub mn_drv_cap_flags3: u64,
        /// Word 4.
        pub mn_drv_cap_flags4: u64,
        /// Protocol major version.
        pub proto_major_ver: u32,
        /// Protocol minor version.
        pub proto_minor_ver: u32,
        /// Protocol micro version.
        pub proto_micro_ver: u32,
        /// Reserved, zero.
        pub reserved: u32,
    }
}

impl QueryDevCfgReq {
    /// The request with the MANA protocol version of the C driver.
    pub fn new() -> Self {
        let mut req: Self = new_request();
        req.proto_major_ver = MANA_MAJOR_VERSION;
        req.proto_minor_ver = MANA_MINOR_VERSION;
        req.proto_micro_ver = MANA_MICRO_VERSION;
        req
    }
}

impl Default for QueryDevCfgReq {
    fn default() -> Self {
        Self::new()
    }
}

wire_struct! {
    /// `MANA_QUERY_DEV_CONFIG` response (C: `struct mana_query_device_cfg_resp`, 80 bytes).
    pub struct QueryDevCfgResp {
        /// The response header.
        pub hdr: RespHdr,
        /// PF capability flags, word 1 ([`PF_FLAG1_CQE_8_COALESCING_SUPPORTED`]).
        pub pf_cap_flags1: u64,
        /// Word 2.
        pub pf_cap_flags2: u64,
        /// Word 3.
        pub pf_cap_flags3: u64,
        /// Word 4.
        pub pf_cap_flags4: u64,
        /// Number of vports.
        pub max_num_vports: u16,
        /// Response v3: bare-metal host mode.
        pub bm_hostmode: u8,
        /// Reserved, zero.
        pub reserved: u8,
        /// Maximum number of EQs.
        pub max_num_eqs: u32,
        /// Response v2: the adapter MTU (L2, 0 from old firmware means 1514).
        pub adapter_mtu: u16,
        /// Reserved, zero.
        pub reserved2: u16,
        /// Reserved, zero.
        pub reserved3: u32,
    }
}

impl_request!(
    QueryDevCfgReq,
    code::QUERY_DEV_CONFIG,
    QueryDevCfgResp,
    resp = MSG_V3
);

// ---------------------------------------------------------------------------------------------
// MANA_QUERY_GF_STAT

/// Statistics flags of [`QueryGfStatReq::req_stats`] (C: `STATISTICS_FLAGS_*`).
pub mod stat_flags {
    /// RX discards for lack of WQEs.
    pub const RX_DISCARDS_NO_WQE: u64 = 1 << 0;
    /// RX errors: vport disabled.
    pub const RX_ERRORS_VPORT_DISABLED: u64 = 1 << 1;
    /// RX bytes.
    pub const HC_RX_BYTES: u64 = 1 << 2;
    /// RX unicast packets.
    pub const HC_RX_UCAST_PACKETS: u64 = 1 << 3;
    /// RX unicast bytes.
    pub const HC_RX_UCAST_BYTES: u64 = 1 << 4;
    /// RX multicast packets.
    pub const HC_RX_MCAST_PACKETS: u64 = 1 << 5;
    /// RX multicast bytes.
    pub const HC_RX_MCAST_BYTES: u64 = 1 << 6;
    /// RX broadcast packets.
    pub const HC_RX_BCAST_PACKETS: u64 = 1 << 7;
    /// RX broadcast bytes.
    pub const HC_RX_BCAST_BYTES: u64 = 1 << 8;
    /// TX errors: GF disabled.
    pub const TX_ERRORS_GF_DISABLED: u64 = 1 << 9;
    /// TX errors: vport disabled.
    pub const TX_ERRORS_VPORT_DISABLED: u64 = 1 << 10;
    /// TX errors: invalid vport offset.
    pub const TX_ERRORS_INVAL_VPORT_OFFSET_PACKETS: u64 = 1 << 11;
    /// TX errors: VLAN enforcement.
    pub const TX_ERRORS_VLAN_ENFORCEMENT: u64 = 1 << 12;
    /// TX errors: ethertype enforcement.
    pub const TX_ERRORS_ETH_TYPE_ENFORCEMENT: u64 = 1 << 13;
    /// TX errors: source address enforcement.
    pub const TX_ERRORS_SA_ENFORCEMENT: u64 = 1 << 14;
    /// TX errors: SQ PD id enforcement.
    pub const TX_ERRORS_SQPDID_ENFORCEMENT: u64 = 1 << 15;
    /// TX errors: CQ PD id enforcement.
    pub const TX_ERRORS_CQPDID_ENFORCEMENT: u64 = 1 << 16;
    /// TX errors: MTU violation.
    pub const TX_ERRORS_MTU_VIOLATION: u64 = 1 << 17;
    /// TX errors: invalid OOB.
    pub const TX_ERRORS_INVALID_OOB: u64 = 1 << 18;
    /// TX bytes.
    pub const HC_TX_BYTES: u64 = 1 << 19;
    /// TX unicast packets.
    pub const HC_TX_UCAST_PACKETS: u64 = 1 << 20;
    /// TX unicast bytes.
    pub const HC_TX_UCAST_BYTES: u64 = 1 << 21;
    /// TX multicast packets.
    pub const HC_TX_MCAST_PACKETS: u64 = 1 << 22;
    /// TX multicast bytes.
    pub const HC_TX_MCAST_BYTES: u64 = 1 << 23;
    /// TX broadcast packets.
    pub const HC_TX_BCAST_PACKETS: u64 = 1 << 24;
    /// TX broadcast bytes.
    pub const HC_TX_BCAST_BYTES: u64 = 1 << 25;
    /// TX errors: GDMA error.
    pub const TX_ERRORS_GDMA_ERROR: u64 = 1 << 26;
    /// Every statistic above (what the C driver asks for).
    pub const ALL: u64 = (1 << 27) - 1;
}

wire_struct! {
    /// `MANA_QUERY_GF_STAT` request (C: `struct mana_query_gf_stat_req`, 48 bytes; response
    /// version 2).
    pub struct QueryGfStatReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The statistics wanted ([`stat_flags`]).
        pub req_stats: u64,
    }
}

impl QueryGfStatReq {
    /// A request for the statistics `req_stats`.
    pub fn new(req_stats: u64) -> Self {
        let mut req: Self = new_request();
        req.req_stats = req_stats;
        req
    }
}

wire_struct! {
    /// `MANA_QUERY_GF_STAT` response (C: `struct mana_query_gf_stat_resp`, 256 bytes).
    pub struct QueryGfStatResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The statistics reported ([`stat_flags`]).
        pub reported_stats: u64,
        /// RX discards for lack of WQEs.
        pub rx_discards_nowqe: u64,
        /// RX errors: vport disabled.
        pub rx_err_vport_disabled: u64,
        /// RX bytes.
        pub hc_rx_bytes: u64,
        /// RX unicast packets.
        pub hc_rx_ucast_pkts: u64,
        /// RX unicast bytes.
        pub hc_rx_ucast_bytes: u64,
        /// RX broadcast packets.
        pub hc_rx_bcast_pkts: u64,
        /// RX broadcast bytes.
        pub hc_rx_bcast_bytes: u64,
        /// RX multicast packets.
        pub hc_rx_mcast_pkts: u64,
        /// RX multicast bytes.
        pub hc_rx_mcast_bytes: u64,
        /// TX errors: GF disabled.
        pub tx_err_gf_disabled: u64,
        /// TX errors: vport disabled.
        pub tx_err_vport_disabled: u64,
        /// TX errors: invalid vport offset.
        pub tx_err_inval_vport_offset_pkt: u64,
        /// TX errors: VLAN enforcement.
        pub tx_err_vlan_enforcement: u64,
        /// TX errors: ethertype enforcement.
        pub tx_err_ethtype_enforcement: u64,
        /// TX errors: source address enforcement (C: `tx_err_SA_enforcement`).
        pub tx_err_sa_enforcement: u64,
        /// TX errors: SQ PD id enforcement (C: `tx_err_SQPDID_enforcement`).
        pub tx_err_sqpdid_enforcement: u64,
        /// TX errors: CQ PD id enforcement (C: `tx_err_CQPDID_enforcement`).
        pub tx_err_cqpdid_enforcement: u64,
        /// TX errors: MTU violation.
        pub tx_err_mtu_violation: u64,
        /// TX errors: invalid OOB.
        pub tx_err_inval_oob: u64,
        /// TX bytes.
        pub hc_tx_bytes: u64,
        /// TX unicast packets.
        pub hc_tx_ucast_pkts: u64,
        /// TX unicast bytes.
        pub hc_tx_ucast_bytes: u64,
        /// TX broadcast packets.
        pub hc_tx_bcast_pkts: u64,
        /// TX broadcast bytes.
        pub hc_tx_bcast_bytes: u64,
        /// TX multicast packets.
        pub hc_tx_mcast_pkts: u64,
        /// TX multicast bytes.
        pub hc_tx_mcast_bytes: u64,
        /// TX errors: GDMA error.
        pub tx_err_gdma: u64,
    }
}

impl_request!(
    QueryGfStatReq,
    code::QUERY_GF_STAT,
    QueryGfStatResp,
    resp = MSG_V2
);

// ---------------------------------------------------------------------------------------------
// MANA_CONFIG_VPORT_TX

wire_struct! {
    /// `MANA_CONFIG_VPORT_TX` request (C: `struct mana_config_vport_req`, 56 bytes).
    pub struct ConfigVportReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The vport handle.
        pub vport: Handle,
        /// The PD that owns the vport's TX.
        pub pdid: u32,
        /// The doorbell page of the owner.
        pub doorbell_pageid: u32,
    }
}

impl ConfigVportReq {
    /// A request binding `vport`'s TX to `pdid` and doorbell page `doorbell_pageid`.
    pub fn new(vport: Handle, pdid: u32, doorbell_pageid: u32) -> Self {
        let mut req: Self = new_request();
        req.vport = vport;
        req.pdid = pdid;
        req.doorbell_pageid = doorbell_pageid;
        req
    }
}

wire_struct! {
    /// `MANA_CONFIG_VPORT_TX` response (C: `struct mana_config_vport_resp`, 36 bytes).
    pub struct ConfigVportResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The vport offset to put into TX OOBs.
        pub tx_vport_offset: u16,
        /// Whether the short TX OOB may be used.
        pub short_form_allowed: u8,
        /// Reserved, zero.
        pub reserved: u8,
    }
}

impl_request!(ConfigVportReq, code::CONFIG_VPORT_TX, ConfigVportResp);

// ---------------------------------------------------------------------------------------------
// MANA_CREATE_WQ_OBJ / MANA_DESTROY_WQ_OBJ / MANA_FENCE_RQ

wire_struct! {
    /// `MANA_CREATE_WQ_OBJ` request (C: `struct mana_create_wqobj_req`, 96 bytes; request
    /// version 3, response version 2).
    pub struct CreateWqObjReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The vport handle.
        pub vport: Handle,
        /// [`super::queue::queue_type::SQ`] or [`super::queue::queue_type::RQ`].
        pub wq_type: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// The DMA region of the WQ.
        pub wq_gdma_region: u64,
        /// The DMA region of the CQ.
        pub cq_gdma_region: u64,
        /// WQ size in bytes.
        pub wq_size: u32,
        /// CQ size in bytes.
        pub cq_size: u32,
        /// CQ moderation context.
        pub cq_moderation_ctx_id: u32,
        /// The EQ of the CQ.
        pub cq_parent_qid: u32,
        /// V2: allow chained RQ WQEs.
        pub allow_rqwqe_chain: u8,
        /// V3: request CQ moderation.
        pub req_cq_moderation: u8,
        /// V3: moderation completion count.
        pub cq_moderation_comp: u16,
        /// V3: moderation time in microseconds.
        pub cq_moderation_usec: u16,
        /// Reserved, zero.
        pub reserved2: [u8; 2],
    }
}

impl CreateWqObjReq {
    /// A request for a WQ of `wq_type` on `vport` with its CQ, without moderation.
    pub fn new(
        vport: Handle,
        wq_type: u32,
        wq_region: u64,
        wq_size: u32,
        cq_region: u64,
        cq_size: u32,
        cq_parent_eq: u32,
    ) -> Self {
        let mut req: Self = new_request();
        req.vport = vport;
        req.wq_type = wq_type;
        req.wq_gdma_region = wq_region;
        req.wq_size = wq_size;
        req.cq_gdma_region = cq_region;
        req.cq_size = cq_size;
        req.cq_parent_qid = cq_parent_eq;
        req
    }
}

wire_struct! {
    /// `MANA_CREATE_WQ_OBJ` response (C: `struct mana_create_wqobj_resp`, 56 bytes).
    pub struct CreateWqObjResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The GDMA id of the WQ.
        pub wq_id: u32,
        /// The GDMA id of the CQ.
        pub cq_id: u32,
        /// The WQ object handle.
        pub wq_obj: Handle,
        /// V2: moderation completion count in effect.
        pub cq_moderation_comp: u16,
        /// V2: moderation time in effect.
        pub cq_moderation_usec: u16,
        /// V2: whether moderation is on.
        pub cq_moderation_enabled: u8,
        /// Reserved, zero.
        pub reserved1: [u8; 3],
    }
}

impl_request!(
    CreateWqObjReq,
    code::CREATE_WQ_OBJ,
    CreateWqObjResp,
    req = MSG_V3,
    resp = MSG_V2
);

wire_struct! {
    /// `MANA_DESTROY_WQ_OBJ` request (C: `struct mana_destroy_wqobj_req`, 56 bytes).
    pub struct DestroyWqObjReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// [`super::queue::queue_type::SQ`] or [`super::queue::queue_type::RQ`].
        pub wq_type: u32,
        /// Reserved, zero.
        pub reserved: u32,
        /// The WQ object handle.
        pub wq_obj_handle: Handle,
    }
}

impl DestroyWqObjReq {
    /// A request destroying WQ object `handle` of `wq_type`.
    pub fn new(wq_type: u32, handle: Handle) -> Self {
        let mut req: Self = new_request();
        req.wq_type = wq_type;
        req.wq_obj_handle = handle;
        req
    }
}

wire_struct! {
    /// `MANA_DESTROY_WQ_OBJ` response (C: `struct mana_destroy_wqobj_resp`, 32 bytes).
    pub struct DestroyWqObjResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

impl_request!(DestroyWqObjReq, code::DESTROY_WQ_OBJ, DestroyWqObjResp);

wire_struct! {
    /// `MANA_FENCE_RQ` request (C: `struct mana_fence_rq_req`, 48 bytes).
    pub struct FenceRqReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The RQ object handle.
        pub wq_obj_handle: Handle,
    }
}

impl FenceRqReq {
    /// A request fencing RQ object `handle`.
    pub fn new(handle: Handle) -> Self {
        let mut req: Self = new_request();
        req.wq_obj_handle = handle;
        req
    }
}

wire_struct! {
    /// `MANA_FENCE_RQ` response (C: `struct mana_fence_rq_resp`, 32 bytes).
    pub struct FenceRqResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

impl_request!(FenceRqReq, code::FENCE_RQ, FenceRqResp);

// ---------------------------------------------------------------------------------------------
// MANA_CONFIG_VPORT_RX

wire_struct! {
    /// The fixed part of a `MANA_CONFIG_VPORT_RX` request (C: `struct
    /// mana_cfg_rx_steer_req_v2`, 120 bytes; request version 5, response version 2), followed
    /// on the wire by `num_indir_entries` RX object handles (`u64`), the indirection table, at
    /// byte `indir_tab_offset` (120).
    ///
    /// Build it with [`CfgRxSteerReq::new`] and [`CfgRxSteerReq::write`] (the C driver always
    /// sends the whole table, even when `update_indir_tab` is 0); parse it with
    /// [`CfgRxSteerReq::parse`].
    pub struct CfgRxSteerReq {
        /// The request header; `req.msg_size` counts the table.
        pub hdr: ReqHdr,
        /// The vport handle.
        pub vport: Handle,
        /// Number of indirection table entries.
        pub num_indir_entries: u16,
        /// Byte offset of the table in the message (120).
        pub indir_tab_offset: u16,
        /// RX on/off ([`tri_state`]).
        pub rx_enable: u32,
        /// RSS on/off.
        pub rss_enable: u32,
        /// Whether `default_rxobj` is to be applied.
        pub update_default_rxobj: u8,
        /// Whether `hashkey` is to be applied.
        pub update_hashkey: u8,
        /// Whether the indirection table is to be applied.
        pub update_indir_tab: u8,
        /// Reserved, zero.
        pub reserved: u8,
        /// The default RX object.
        pub default_rxobj: Handle,
        /// The Toeplitz key.
        pub hashkey: [u8; HASH_KEY_SIZE],
        /// CQE coalescing on/off.
        pub cqe_coalescing_enable: u8,
        /// Reserved, zero.
        pub reserved2: [u8; 3],
        /// Hash types ([`hash_type`]); v5 requires it.
        pub rss_hash_types: u16,
        /// V5: 8-packet CQE coalescing on/off.
        pub cqe8_coalescing_enable: u8,
        /// Reserved, zero.
        pub reserved3: u8,
    }
}

impl CfgRxSteerReq {
    /// The most indirection entries one request carries.
    pub const MAX_ENTRIES: usize =
        (HW_CHANNEL_MAX_REQUEST_SIZE as usize - size_of::<Self>()) / size_of::<u64>();

    /// The fixed part of a request for `vport` with a table of `num_entries` entries, as
    /// `mana_cfg_vport_steering()` starts it: sizes, offset, versions, `rx_enable`,
    /// `rss_enable` and the hash types the C driver enables; the caller sets the `update_*`
    /// flags, key and default object.
    pub fn new(vport: Handle, num_entries: u16, rx_enable: u32, rss_enable: bool) -> Result<Self> {
        if num_entries as usize > Self::MAX_ENTRIES {
            return Err(Error::Invalid);
        }
        let mut req: Self = new_request();
        req.hdr.req.msg_size =
            len_u32(size_of::<Self>() + num_entries as usize * size_of::<Handle>());
        req.vport = vport;
        req.num_indir_entries = num_entries;
        // CAST: the fixed part is 120 bytes.
        req.indir_tab_offset = size_of::<Self>() as u16;
        req.rx_enable = rx_enable;
        req.rss_enable = u32::from(rss_enable);
        req.rss_hash_types = hash_type::ENABLE_SUPPORTED;
        Ok(req)
    }

    /// Writes the request followed by `table` into `buf`; returns the message length.
    ///
    /// `table` must hold exactly `num_indir_entries` handles, else `EINVAL`.
    pub fn write(&self, table: &[Handle], buf: &mut [u8]) -> Result<usize> {
        if table.len() != self.num_indir_entries as usize {
            return Err(Error::Invalid);
        }
        write_with_u64_tail(self, table, buf)
    }

    /// Parses a request: the fixed part and its indirection table, found at
    /// `indir_tab_offset` (which must not point into the fixed part).
    pub fn parse(msg: &[u8]) -> Result<(Self, U64Tail<'_>)> {
        let (fixed, _) = <Self as Pod>::wire_read_prefix(msg).ok_or(Error::Invalid)?;
        let offset = fixed.indir_tab_offset as usize;
        if offset < size_of::<Self>() {
            return Err(Error::Invalid);
        }
        let table = U64Tail::new(
            msg.get(offset..).ok_or(Error::Invalid)?,
            fixed.num_indir_entries as usize,
        )?;
        Ok((fixed, table))
    }
}

wire_struct! {
    /// `MANA_CONFIG_VPORT_RX` response (C: `struct mana_cfg_rx_steer_resp`, 40 bytes).
    pub struct CfgRxSteerResp {
        /// The response header.
        pub hdr: RespHdr,
        /// V2: the CQE coalescing timeout in nanoseconds.
        pub cqe_coalescing_timeout_ns: u32,
        /// Reserved, zero.
        pub reserved1: u32,
    }
}

impl_request!(
    CfgRxSteerReq,
    code::CONFIG_VPORT_RX,
    CfgRxSteerResp,
    req = MSG_V5,
    resp = MSG_V2
);

// ---------------------------------------------------------------------------------------------
// MANA_QUERY_VPORT_CONFIG

wire_struct! {
    /// `MANA_QUERY_VPORT_CONFIG` request (C: `struct mana_query_vport_cfg_req`, 44 bytes).
    pub struct QueryVportCfgReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The vport (port) index.
        pub vport_index: u32,
    }
}

impl QueryVportCfgReq {
    /// A request for vport `index`.
    pub fn new(index: u32) -> Self {
        let mut req: Self = new_request();
        req.vport_index = index;
        req
    }
}

wire_struct! {
    /// `MANA_QUERY_VPORT_CONFIG` response (C: `struct mana_query_vport_cfg_resp`, 64 bytes).
    pub struct QueryVportCfgResp {
        /// The response header.
        pub hdr: RespHdr,
        /// Maximum number of SQs.
        pub max_num_sq: u32,
        /// Maximum number of RQs.
        pub max_num_rq: u32,
        /// Number of indirection table entries.
        pub num_indirection_ent: u32,
        /// Reserved, zero.
        pub reserved1: u32,
        /// The MAC address.
        pub mac_addr: [u8; 6],
        /// Reserved, zero.
        pub reserved2: [u8; 2],
        /// The vport handle.
        pub vport: Handle,
    }
}

impl_request!(
    QueryVportCfgReq,
    code::QUERY_VPORT_CONFIG,
    QueryVportCfgResp
);

// ---------------------------------------------------------------------------------------------
// MANA_QUERY_LINK_CONFIG / MANA_SET_BW_CLAMP

wire_struct! {
    /// `MANA_QUERY_LINK_CONFIG` request (C: `struct mana_query_link_config_req`, 48 bytes;
    /// response version 2).
    pub struct QueryLinkConfigReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The vport handle.
        pub vport: Handle,
    }
}

impl QueryLinkConfigReq {
    /// A request for `vport`.
    pub fn new(vport: Handle) -> Self {
        let mut req: Self = new_request();
        req.vport = vport;
        req
    }
}

wire_struct! {
    /// `MANA_QUERY_LINK_CONFIG` response (C: `struct mana_query_link_config_resp`, 48 bytes).
    pub struct QueryLinkConfigResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The QoS speed in Mbit/s.
        pub qos_speed_mbps: u32,
        /// Non-zero when QoS is not configured.
        pub qos_unconfigured: u8,
        /// Reserved, zero.
        pub reserved1: [u8; 3],
        /// The link speed in Mbit/s.
        pub link_speed_mbps: u32,
        /// Reserved, zero.
        pub reserved2: [u8; 4],
    }
}

impl_request!(
    QueryLinkConfigReq,
    code::QUERY_LINK_CONFIG,
    QueryLinkConfigResp,
    resp = MSG_V2
);

wire_struct! {
    /// `MANA_SET_BW_CLAMP` request (C: `struct mana_set_bw_clamp_req`, 56 bytes).
    pub struct SetBwClampReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The vport handle.
        pub vport: Handle,
        /// Clamp on/off ([`tri_state`]).
        pub enable_clamping: u32,
        /// The speed to clamp to, in Mbit/s.
        pub link_speed_mbps: u32,
    }
}

wire_struct! {
    /// `MANA_SET_BW_CLAMP` response (C: `struct mana_set_bw_clamp_resp`, 40 bytes).
    pub struct SetBwClampResp {
        /// The response header.
        pub hdr: RespHdr,
        /// Non-zero when QoS is not configured.
        pub qos_unconfigured: u8,
        /// Reserved, zero.
        pub reserved: [u8; 7],
    }
}

impl_request!(SetBwClampReq, code::SET_BW_CLAMP, SetBwClampResp);

// ---------------------------------------------------------------------------------------------
// MANA_QUERY_PHY_STAT

wire_struct! {
    /// `MANA_QUERY_PHY_STAT` request (C: `struct mana_query_phy_stat_req`, 48 bytes; response
    /// version 1).
    pub struct QueryPhyStatReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The statistics wanted; the C driver leaves it 0.
        pub req_stats: u64,
    }
}

wire_struct! {
    /// `MANA_QUERY_PHY_STAT` response (C: `struct mana_query_phy_stat_resp`, 440 bytes):
    /// port drop counters and per traffic class packet, byte and pause counters.
    pub struct QueryPhyStatResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The statistics reported.
        pub reported_stats: u64,
        /// RX packets dropped at the port.
        pub rx_pkt_drop_phy: u64,
        /// TX packets dropped at the port.
        pub tx_pkt_drop_phy: u64,
        /// RX packets of traffic class 0.
        pub rx_pkt_tc0_phy: u64,
        /// TX packets of traffic class 0.
        pub tx_pkt_tc0_phy: u64,
        /// RX packets of traffic class 1.
        pub rx_pkt_tc1_phy: u64,
        /// TX packets of traffic class 1.
        pub tx_pkt_tc1_phy: u64,
        /// RX packets of traffic class 2.
        pub rx_pkt_tc2_phy: u64,
        /// TX packets of traffic class 2.
        pub tx_pkt_tc2_phy: u64,
        /// RX packets of traffic class 3.
        pub rx_pkt_tc3_phy: u64,
        /// TX packets of traffic class 3.
        pub tx_pkt_tc3_phy: u64,
        /// RX packets of traffic class 4.
        pub rx_pkt_tc4_phy: u64,
        /// TX packets of traffic class 4.
        pub tx_pkt_tc4_phy: u64,
        /// RX packets of traffic class 5.
        pub rx_pkt_tc5_phy: u64,
        /// TX packets of traffic class 5.
        pub tx_pkt_tc5_phy: u64,
        /// RX packets of traffic class 6.
        pub rx_pkt_tc6_phy: u64,
        /// TX packets of traffic class 6.
        pub tx_pkt_tc6_phy: u64,
        /// RX packets of traffic class 7.
        pub rx_pkt_tc7_phy: u64,
        /// TX packets of traffic class 7.
        pub tx_pkt_tc7_phy: u64,
        /// RX bytes of traffic class 0.
        pub rx_byte_tc0_phy: u64,
        /// TX bytes of traffic class 0.
        pub tx_byte_tc0_phy: u64,
        /// RX bytes of traffic class 1.
        pub rx_byte_tc1_phy: u64,
        /// TX bytes of traffic class 1.
        pub tx_byte_tc1_phy: u64,
        /// RX bytes of traffic class 2.
        pub rx_byte_tc2_phy: u64,
        /// TX bytes of traffic class 2.
        pub tx_byte_tc2_phy: u64,
        /// RX bytes of traffic class 3.
        pub rx_byte_tc3_phy: u64,
        /// TX bytes of traffic class 3.
        pub tx_byte_tc3_phy: u64,
        /// RX bytes of traffic class 4.
        pub rx_byte_tc4_phy: u64,
        /// TX bytes of traffic class 4.
        pub tx_byte_tc4_phy: u64,
        /// RX bytes of traffic class 5.
        pub rx_byte_tc5_phy: u64,
        /// TX bytes of traffic class 5.
        pub tx_byte_tc5_phy: u64,
        /// RX bytes of traffic class 6.
        pub rx_byte_tc6_phy: u64,
        /// TX bytes of traffic class 6.
        pub tx_byte_tc6_phy: u64,
        /// RX bytes of traffic class 7.
        pub rx_byte_tc7_phy: u64,
        /// TX bytes of traffic class 7.
        pub tx_byte_tc7_phy: u64,
        /// RX pause frames of traffic class 0.
        pub rx_pause_tc0_phy: u64,
        /// TX pause frames of traffic class 0.
        pub tx_pause_tc0_phy: u64,
        /// RX pause frames of traffic class 1.
        pub rx_pause_tc1_phy: u64,
        /// TX pause frames of traffic class 1.
        pub tx_pause_tc1_phy: u64,
        /// RX pause frames of traffic class 2.
        pub rx_pause_tc2_phy: u64,
        /// TX pause frames of traffic class 2.
        pub tx_pause_tc2_phy: u64,
        /// RX pause frames of traffic class 3.
        pub rx_pause_tc3_phy: u64,
        /// TX pause frames of traffic class 3.
        pub tx_pause_tc3_phy: u64,
        /// RX pause frames of traffic class 4.
        pub rx_pause_tc4_phy: u64,
        /// TX pause frames of traffic class 4.
        pub tx_pause_tc4_phy: u64,
        /// RX pause frames of traffic class 5.
        pub rx_pause_tc5_phy: u64,
        /// TX pause frames of traffic class 5.
        pub tx_pause_tc5_phy: u64,
        /// RX pause frames of traffic class 6.
        pub rx_pause_tc6_phy: u64,
        /// TX pause frames of traffic class 6.
        pub tx_pause_tc6_phy: u64,
        /// RX pause frames of traffic class 7.
        pub rx_pause_tc7_phy: u64,
        /// TX pause frames of traffic class 7.
        pub tx_pause_tc7_phy: u64,
    }
}

impl_request!(QueryPhyStatReq, code::QUERY_PHY_STAT, QueryPhyStatResp);

// ---------------------------------------------------------------------------------------------
// PF only: MANA_REGISTER_HW_PORT / MANA_DEREGISTER_HW_PORT / MANA_REGISTER_FILTER /
// MANA_DEREGISTER_FILTER

wire_struct! {
    /// `MANA_REGISTER_HW_PORT` request, PF only (C: `struct mana_register_hw_vport_req`, 48
    /// bytes).
    pub struct RegisterHwVportReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The GF the vport is attached to.
        pub attached_gfid: u16,
        /// Whether this is the PF's default vport.
        pub is_pf_default_vport: u8,
        /// Reserved, zero.
        pub reserved1: u8,
        /// Whether every ethertype is allowed.
        pub allow_all_ether_types: u8,
        /// Reserved, zero.
        pub reserved2: u8,
        /// Reserved, zero.
        pub reserved3: u8,
        /// Reserved, zero.
        pub reserved4: u8,
    }
}

wire_struct! {
    /// `MANA_REGISTER_HW_PORT` response (C: `struct mana_register_hw_vport_resp`, 40 bytes).
    pub struct RegisterHwVportResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The hardware vport handle.
        pub hw_vport_handle: Handle,
    }
}

wire_struct! {
    /// `MANA_DEREGISTER_HW_PORT` request, PF only (C: `struct mana_deregister_hw_vport_req`, 48
    /// bytes).
    pub struct DeregisterHwVportReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The hardware vport handle.
        pub hw_vport_handle: Handle,
    }
}

wire_struct! {
    /// `MANA_DEREGISTER_HW_PORT` response (C: `struct mana_deregister_hw_vport_resp`, 32
    /// bytes).
    pub struct DeregisterHwVportResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

wire_struct! {
    /// `MANA_REGISTER_FILTER` request, PF only (C: `struct mana_register_filter_req`, 72 bytes).
    pub struct RegisterFilterReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The vport handle.
        pub vport: Handle,
        /// The MAC address to steer to the vport.
        pub mac_addr: [u8; 6],
        /// Reserved, zero.
        pub reserved1: u8,
        /// Reserved, zero.
        pub reserved2: u8,
        /// Reserved, zero.
        pub reserved3: u8,
        /// Reserved, zero.
        pub reserved4: u8,
        /// Reserved, zero.
        pub reserved5: u16,
        /// Reserved, zero.
        pub reserved6: u32,
        /// Reserved, zero.
        pub reserved7: u32,
        /// Reserved, zero.
        pub reserved8: u32,
    }
}

wire_struct! {
    /// `MANA_REGISTER_FILTER` response (C: `struct mana_register_filter_resp`, 40 bytes).
    pub struct RegisterFilterResp {
        /// The response header.
        pub hdr: RespHdr,
        /// The filter handle.
        pub filter_handle: Handle,
    }
}

wire_struct! {
    /// `MANA_DEREGISTER_FILTER` request, PF only (C: `struct mana_deregister_filter_req`, 48
    /// bytes).
    pub struct DeregisterFilterReq {
        /// The request header.
        pub hdr: ReqHdr,
        /// The filter handle.
        pub filter_handle: Handle,
    }
}

wire_struct! {
    /// `MANA_DEREGISTER_FILTER` response (C: `struct mana_deregister_filter_resp`, 32 bytes).
    pub struct DeregisterFilterResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

impl_request!(
    RegisterHwVportReq,
    code::REGISTER_HW_PORT,
    RegisterHwVportResp
);
impl_request!(
    DeregisterHwVportReq,
    code::DEREGISTER_HW_PORT,
    DeregisterHwVportResp
);
impl_request!(RegisterFilterReq, code::REGISTER_FILTER, RegisterFilterResp);
impl_request!(
    DeregisterFilterReq,
    code::DEREGISTER_FILTER,
    DeregisterFilterResp
);

impl_response!(
    QueryDevCfgResp,
    QueryGfStatResp,
    ConfigVportResp,
    CreateWqObjResp,
    DestroyWqObjResp,
    FenceRqResp,
    CfgRxSteerResp,
    QueryVportCfgResp,
    QueryLinkConfigResp,
    SetBwClampResp,
    QueryPhyStatResp,
    RegisterHwVportResp,
    DeregisterHwVportResp,
    RegisterFilterResp,
    DeregisterFilterResp,
);
