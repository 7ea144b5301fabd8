// SPDX-License-Identifier: GPL-2.0-only

//! The uverbs ABI between the MANA RDMA driver and rdma-core's libmana, version 1.
//!
//! C: `include/uapi/rdma/mana-abi.h`. These structs travel through `ib_udata` (copied from and
//! to user space), so they also implement the kernel transmute traits.

use super::wire_struct;

/// The ABI version (C: `MANA_IB_UVERBS_ABI_VERSION`).
pub const MANA_IB_UVERBS_ABI_VERSION: u32 = 1;

/// `comp_mask` of [`CreateCq`]: legacy RNIC CQ (C: `MANA_IB_CREATE_RNIC_CQ`).
pub const MANA_IB_CREATE_RNIC_CQ: u16 = 1 << 0;
/// `rx_hash_function` of [`CreateQpRss`]: Toeplitz (C: `MANA_IB_RX_HASH_FUNC_TOEPLITZ`).
pub const MANA_IB_RX_HASH_FUNC_TOEPLITZ: u8 = 1 << 0;
/// `comp_mask` of [`AllocUcontextResp`]: PD numbers are reported (C:
/// `MANA_IB_UCNTX_ALLOC_PDN_SUPPORT`).
pub const MANA_IB_UCNTX_ALLOC_PDN_SUPPORT: u64 = 1 << 0;
/// `comp_mask` of [`AllocPd`]: short PD number (C: `MANA_IB_PD_SHORT_PDN`).
pub const MANA_IB_PD_SHORT_PDN: u32 = 1 << 0;
/// The Toeplitz key length of [`CreateQpRss`].
pub const RSS_KEY_LEN: usize = 40;
/// The entries of [`CreateQpRssResp`].
pub const RSS_RESP_ENTRIES: usize = 64;

wire_struct! {
    /// `create_cq` request (C: `struct mana_ib_create_cq`, 16 bytes).
    pub struct CreateCq {
        /// User address of the CQ buffer.
        pub buf_addr: u64,
        /// Flags ([`MANA_IB_CREATE_RNIC_CQ`]).
        pub comp_mask: u16,
        /// Reserved.
        pub reserved0: u16,
        /// Reserved.
        pub reserved1: u32,
    }
}

wire_struct! {
    /// `create_cq` response (C: `struct mana_ib_create_cq_resp`, 8 bytes).
    pub struct CreateCqResp {
        /// The CQ id.
        pub cqid: u32,
        /// Reserved.
        pub reserved: u32,
    }
}

wire_struct! {
    /// `create_qp` request of a RAW_PACKET QP (C: `struct mana_ib_create_qp`, 16 bytes).
    pub struct CreateQp {
        /// User address of the SQ buffer.
        pub sq_buf_addr: u64,
        /// Size of the SQ buffer.
        pub sq_buf_size: u32,
        /// The IB port (1-based).
        pub port: u32,
    }
}

wire_struct! {
    /// `create_qp` response (C: `struct mana_ib_create_qp_resp`, 16 bytes).
    pub struct CreateQpResp {
        /// The SQ id.
        pub sqid: u32,
        /// The CQ id.
        pub cqid: u32,
        /// The vport offset for TX OOBs.
        pub tx_vp_offset: u32,
        /// Reserved.
        pub reserved: u32,
    }
}

wire_struct! {
    /// `create_qp` request of an RC QP (C: `struct mana_ib_create_rc_qp`, 48 bytes).
    pub struct CreateRcQp {
        /// User addresses of the queues.
        pub queue_buf: [u64; 4],
        /// Sizes of the queues.
        pub queue_size: [u32; 4],
    }
}

wire_struct! {
    /// `create_qp` response of an RC QP (C: `struct mana_ib_create_rc_qp_resp`, 16 bytes).
    pub struct CreateRcQpResp {
        /// The queue ids.
        pub queue_id: [u32; 4],
    }
}

wire_struct! {
    /// `create_qp` request of a UC QP (C: `struct mana_ib_create_uc_qp`, 40 bytes).
    pub struct CreateUcQp {
        /// User addresses of the queues.
        pub queue_buf: [u64; 3],
        /// Sizes of the queues.
        pub queue_size: [u32; 3],
        /// Flags.
        pub comp_mask: u32,
    }
}

wire_struct! {
    /// `create_qp` response of a UC QP (C: `struct mana_ib_create_uc_qp_resp`, 16 bytes).
    pub struct CreateUcQpResp {
        /// The queue ids.
        pub queue_id: [u32; 3],
        /// Reserved.
        pub reserved: u32,
    }
}

wire_struct! {
    /// `create_wq` request (C: `struct mana_ib_create_wq`, 16 bytes).
    pub struct CreateWq {
        /// User address of the WQ buffer.
        pub wq_buf_addr: u64,
        /// Size of the WQ buffer.
        pub wq_buf_size: u32,
        /// Reserved.
        pub reserved: u32,
    }
}

wire_struct! {
    /// `create_qp` request of an RSS QP (C: `struct mana_ib_create_qp_rss`, 64 bytes).
    pub struct CreateQpRss {
        /// The fields to hash (`IB_RX_HASH_*`).
        pub rx_hash_fields_mask: u64,
        /// The hash function ([`MANA_IB_RX_HASH_FUNC_TOEPLITZ`]).
        pub rx_hash_function: u8,
        /// Reserved.
        pub reserved: [u8; 7],
        /// Length of the key.
        pub rx_hash_key_len: u32,
        /// The key.
        pub rx_hash_key: [u8; RSS_KEY_LEN],
        /// The IB port (1-based).
        pub port: u32,
    }
}

wire_struct! {
    /// One WQ of an RSS QP response (C: `struct rss_resp_entry`, 8 bytes).
    pub struct RssRespEntry {
        /// The CQ id.
        pub cqid: u32,
        /// The WQ id.
        pub wqid: u32,
    }
}

wire_struct! {
    /// `create_qp` response of an RSS QP (C: `struct mana_ib_create_qp_rss_resp`, 520 bytes).
    pub struct CreateQpRssResp {
        /// Number of valid entries.
        pub num_entries: u64,
        /// The WQs of the indirection table.
        pub entries: [RssRespEntry; RSS_RESP_ENTRIES],
    }
}

wire_struct! {
    /// `alloc_ucontext` response (C: `struct mana_ib_alloc_ucontext_resp`, 8 bytes).
    pub struct AllocUcontextResp {
        /// Supported features ([`MANA_IB_UCNTX_ALLOC_PDN_SUPPORT`]).
        pub comp_mask: u64,
    }
}

wire_struct! {
    /// `alloc_pd` request (C: `struct mana_ib_alloc_pd`, 8 bytes).
    pub struct AllocPd {
        /// Flags ([`MANA_IB_PD_SHORT_PDN`]).
        pub comp_mask: u32,
        /// Reserved.
        pub reserved: u32,
    }
}

wire_struct! {
    /// `alloc_pd` response (C: `struct mana_ib_alloc_pd_resp`, 8 bytes).
    pub struct AllocPdResp {
        /// The PD number.
        pub pdn: u32,
        /// Reserved.
        pub reserved: u32,
    }
}
