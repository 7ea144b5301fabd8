// SPDX-License-Identifier: GPL-2.0-only

//! Hardware channel (HWC) formats: the OOBs of its WQEs and CQEs and the data of its EQEs.
//!
//! C: `include/net/mana/hw_channel.h`. The HWC is a GDMA queue set (EQ, CQ, RQ, SQ) created
//! through the SMC; a request is one SQ WQE carrying a [`HwcTxOob`] and one SGE, its response
//! arrives in an RQ buffer and is announced by a CQE whose data is a [`HwcRxOob`].

use super::{
    wire_bitfield,
    wire_struct, //
};

/// Largest request message (C: `HW_CHANNEL_MAX_REQUEST_SIZE`).
pub const HW_CHANNEL_MAX_REQUEST_SIZE: u32 = 0x1000;
/// Largest response message (C: `HW_CHANNEL_MAX_RESPONSE_SIZE`).
pub const HW_CHANNEL_MAX_RESPONSE_SIZE: u32 = 0x1000;
/// The queue depth the C driver uses to bootstrap (C: `HW_CHANNEL_VF_BOOTSTRAP_QUEUE_DEPTH`).
pub const HW_CHANNEL_VF_BOOTSTRAP_QUEUE_DEPTH: u16 = 1;
/// Default HWC timeout in milliseconds (C: `HW_CHANNEL_WAIT_RESOURCE_TIMEOUT_MS`).
pub const HW_CHANNEL_WAIT_RESOURCE_TIMEOUT_MS: u32 = 30000;
/// Log2 throttling of the HWC EQ (C: `DEFAULT_LOG2_THROTTLING_FOR_ERROR_EQ`).
pub const DEFAULT_LOG2_THROTTLING_FOR_ERROR_EQ: u32 = 4;

/// Types of the `GDMA_EQE_HWC_INIT_DATA` EQE ([`HwcInitTypeData::data_type`], C:
/// `HWC_INIT_DATA_*`).
pub mod init_data {
    /// The HWC CQ id.
    pub const CQID: u8 = 1;
    /// The HWC RQ id.
    pub const RQID: u8 = 2;
    /// The HWC SQ id.
    pub const SQID: u8 = 3;
    /// The maximum queue depth.
    pub const QUEUE_DEPTH: u8 = 4;
    /// The maximum request size.
    pub const MAX_REQUEST: u8 = 5;
    /// The maximum response size.
    pub const MAX_RESPONSE: u8 = 6;
    /// The number of CQs of the function.
    pub const MAX_NUM_CQS: u8 = 7;
    /// The HWC protection domain.
    pub const PDID: u8 = 8;
    /// The GPA memory key of the HWC buffers.
    pub const GPA_MKEY: u8 = 9;
    /// PF: the destination RQ of requests.
    pub const PF_DEST_RQ_ID: u8 = 10;
    /// PF: the destination CQ of requests.
    pub const PF_DEST_CQ_ID: u8 = 11;
}

/// Types of the `GDMA_EQE_HWC_SOC_RECONFIG_DATA` EQE (C: `HWC_DATA_*`).
pub mod reconfig_data {
    /// New HWC timeout in milliseconds in the value.
    pub const CFG_HWC_TIMEOUT: u8 = 1;
    /// The link came up.
    pub const HW_LINK_CONNECT: u8 = 2;
    /// The link went down.
    pub const HW_LINK_DISCONNECT: u8 = 3;
}

wire_bitfield! {
    /// Data of the `GDMA_EQE_HWC_INIT_EQ_ID_DB` EQE (C: `union hwc_init_eq_id_db`).
    pub struct HwcInitEqIdDb(u32) {
        /// The HWC EQ id.
        15:0 eq_id;
        /// The HWC doorbell page.
        31:16 doorbell;
    }
}

wire_bitfield! {
    /// Data of the `GDMA_EQE_HWC_INIT_DATA` and `GDMA_EQE_HWC_SOC_RECONFIG_DATA` EQEs (C:
    /// `union hwc_init_type_data`).
    pub struct HwcInitTypeData(u32) {
        /// The value.
        23:0 value;
        /// What the value is ([`init_data`], [`reconfig_data`]).
        31:24 data_type;
    }
}

wire_bitfield! {
    /// Data of the `GDMA_EQE_HWC_SOC_SERVICE` EQE (C: `union hwc_init_soc_service_type`).
    pub struct HwcSocServiceType(u32) {
        /// The value.
        27:0 value;
        /// The service type ([`super::queue::service_type`]).
        31:28 service_type;
    }
}

wire_bitfield! {
    /// Word 0 of [`HwcRxOob`].
    pub struct HwcRxOobFlags(u32) {
        /// The completion type.
        5:0 oob_type;
        /// End of message.
        6:6 eom;
        /// Start of message.
        7:7 som;
        /// Vendor error code.
        15:8 vendor_err;
    }
}

wire_bitfield! {
    /// Word 1 of [`HwcRxOob`].
    pub struct HwcRxOobSrc(u32) {
        /// The source virtual WQ.
        23:0 src_virt_wq;
        /// The source VF.
        31:24 src_vfid;
    }
}

wire_bitfield! {
    /// Word 5 of [`HwcRxOob`].
    pub struct HwcRxOobCdu(u32) {
        /// The client data unit.
        13:0 client_data_unit;
    }
}

wire_bitfield! {
    /// Word 7 of [`HwcRxOob`].
    pub struct HwcRxOobChunk(u32) {
        /// The chunk offset.
        20:0 chunk_offset;
    }
}

wire_struct! {
    /// The CQE data of an HWC completion (C: `struct hwc_rx_oob`, 32 bytes), at the start of
    /// the CQE's 60 data bytes.
    pub struct HwcRxOob {
        /// Type and flags.
        pub flags: HwcRxOobFlags,
        /// The source.
        pub src: HwcRxOobSrc,
        /// Reserved.
        pub reserved2: u32,
        /// Byte offset of the completed WQE in its queue (C: union with `wqe_addr_low`).
        pub wqe_offset: u32,
        /// High half of the WQE address.
        pub wqe_addr_high: u32,
        /// The client data unit.
        pub cdu: HwcRxOobCdu,
        /// RQ completions: the size of the received message in bytes.
        pub tx_oob_data_size: u32,
        /// The chunk offset.
        pub chunk: HwcRxOobChunk,
    }
}

wire_bitfield! {
    /// Word 2 of [`HwcTxOob`].
    pub struct HwcTxOobVrq(u32) {
        /// The destination virtual RQ (PF only; 0 on a VF).
        23:0 vrq_id;
        /// The destination VF.
        31:24 dest_vfid;
    }
}

wire_bitfield! {
    /// Word 3 of [`HwcTxOob`].
    pub struct HwcTxOobVrcq(u32) {
        /// The destination virtual RQ's CQ (PF only).
        23:0 vrcq_id;
    }
}

wire_bitfield! {
    /// Word 4 of [`HwcTxOob`].
    pub struct HwcTxOobVscq(u32) {
        /// The CQ of the sending SQ.
        23:0 vscq_id;
        /// Loopback.
        24:24 loopback;
        /// LSO override.
        25:25 lso_override;
        /// Destination is the PF.
        26:26 dest_pf;
    }
}

wire_bitfield! {
    /// Word 5 of [`HwcTxOob`].
    pub struct HwcTxOobVsq(u32) {
        /// The sending SQ.
        23:0 vsq_id;
    }
}

wire_struct! {
    /// The inline OOB of an HWC request WQE (C: `struct hwc_tx_oob`, 24 bytes).
    pub struct HwcTxOob {
        /// Reserved.
        pub reserved1: u32,
        /// Reserved.
        pub reserved2: u32,
        /// Destination virtual RQ.
        pub vrq: HwcTxOobVrq,
        /// Destination virtual RQ's CQ.
        pub vrcq: HwcTxOobVrcq,
        /// Sending CQ and flags.
        pub vscq: HwcTxOobVscq,
        /// Sending SQ.
        pub vsq: HwcTxOobVsq,
    }
}

impl HwcTxOob {
    /// The OOB `mana_hwc_post_tx_wqe()` writes: destination RQ/CQ (zero on a VF), the sending
    /// SQ and its CQ, `dest_pf`; `EOVERFLOW` if an id does not fit in 24 bits.
    pub fn new(
        dest_vrq: u32,
        dest_vrcq: u32,
        sq_id: u32,
        cq_id: u32,
        dest_pf: bool,
    ) -> crate::Result<Self> {
        Ok(Self {
            reserved1: 0,
            reserved2: 0,
            vrq: HwcTxOobVrq::ZERO.try_with_vrq_id(dest_vrq)?,
            vrcq: HwcTxOobVrcq::ZERO.try_with_vrcq_id(dest_vrcq)?,
            vscq: HwcTxOobVscq::ZERO
                .try_with_vscq_id(cq_id)?
                .with_dest_pf(dest_pf),
            vsq: HwcTxOobVsq::ZERO.try_with_vsq_id(sq_id)?,
        })
    }
}

/// A service operation the device asks the driver for (C: `mana_serv_work`,
/// `mana_rdma_service_event`): what the driver makes of the events RESET_REQUEST,
/// FPGA_RECONFIG and SOC_SERVICE, and what a device model raises them for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceRequest {
    /// RESET_REQUEST: the device is resetting and no longer answers; take the adapter down
    /// and bring it up again.
    Reset,
    /// FPGA_RECONFIG: the device was reprogrammed; handled as a reset.
    FpgaReconfig,
    /// SOC_SERVICE RDMA_SUSPEND: remove the RDMA client until the device resumes it.
    RdmaSuspend,
    /// SOC_SERVICE RDMA_RESUME: bring the RDMA client back.
    RdmaResume,
}
