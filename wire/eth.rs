// SPDX-License-Identifier: GPL-2.0-only

//! Ethernet data path formats: the TX OOB of send WQEs and the RX/TX completion OOBs in CQEs.
//!
//! C: `struct mana_tx_short_oob`, `mana_tx_long_oob`, `mana_tx_oob`, `mana_cqe_header`,
//! `union mana_rxcomp_perpkt_info`, `struct mana_rxcomp_oob`, `mana_tx_comp_oob` in
//! `include/net/mana/mana.h`.

use super::{
    wire_bitfield,
    wire_struct, //
};

/// TX packet formats ([`TxShortOobWord0::pkt_fmt`], C: `enum mana_tx_pkt_format`).
pub mod pkt_fmt {
    /// Only the short OOB (8 bytes) is used.
    pub const SHORT: u32 = 0;
    /// Short and long OOB (24 bytes).
    pub const LONG: u32 = 1;
}

/// CQE types of [`CqeHeader::cqe_type`] (C: `enum mana_cqe_type`).
pub mod cqe_type {
    /// Invalid.
    pub const INVALID: u32 = 0;
    /// A packet was received.
    pub const RX_OKAY: u32 = 1;
    /// Up to 4 packets were received (coalesced).
    pub const RX_COALESCED_4: u32 = 2;
    /// The RQ was fenced.
    pub const RX_OBJECT_FENCE: u32 = 3;
    /// A packet was truncated.
    pub const RX_TRUNCATED: u32 = 4;
    /// Up to 8 packets were received (coalesced, two per PPI).
    pub const RX_COALESCED_8: u32 = 7;
    /// A packet was sent.
    pub const TX_OKAY: u32 = 32;
    /// Dropped: source address.
    pub const TX_SA_DROP: u32 = 33;
    /// Dropped: MTU.
    pub const TX_MTU_DROP: u32 = 34;
    /// Invalid OOB.
    pub const TX_INVALID_OOB: u32 = 35;
    /// Invalid ethertype.
    pub const TX_INVALID_ETH_TYPE: u32 = 36;
    /// Header processing error.
    pub const TX_HDR_PROCESSING_ERROR: u32 = 37;
    /// The VF is disabled.
    pub const TX_VF_DISABLED: u32 = 38;
    /// The vport index is out of range.
    pub const TX_VPORT_IDX_OUT_OF_RANGE: u32 = 39;
    /// The vport is disabled.
    pub const TX_VPORT_DISABLED: u32 = 40;
    /// VLAN tagging violation.
    pub const TX_VLAN_TAGGING_VIOLATION: u32 = 41;
}

/// `client_type` of MANA completions (C: `MANA_CQE_COMPLETION`).
pub const MANA_CQE_COMPLETION: u32 = 1;
/// Packet infos per RX completion (C: `MANA_RXCOMP_OOB_NUM_PPI`).
pub const RXCOMP_OOB_NUM_PPI: usize = 4;
/// The largest vport offset of the short OOB (C: `MANA_SHORT_VPORT_OFFSET_MAX`).
pub const SHORT_VPORT_OFFSET_MAX: u32 = 255;

wire_bitfield! {
    /// Word 0 of the short TX OOB.
    pub struct TxShortOobWord0(u32) {
        /// Packet format ([`pkt_fmt`]).
        1:0 pkt_fmt;
        /// The outer header is IPv4.
        2:2 is_outer_ipv4;
        /// The outer header is IPv6.
        3:3 is_outer_ipv6;
        /// Compute the IP header checksum.
        4:4 comp_iphdr_csum;
        /// Compute the TCP checksum.
        5:5 comp_tcp_csum;
        /// Compute the UDP checksum.
        6:6 comp_udp_csum;
        /// Suppress the TX CQE (C spells it `supress_txcqe_gen`).
        7:7 suppress_txcqe_gen;
        /// The CQ of the SQ.
        31:8 vcq_num;
    }
}

wire_bitfield! {
    /// Word 1 of the short TX OOB.
    pub struct TxShortOobWord1(u32) {
        /// Transport header offset.
        9:0 trans_off;
        /// The SQ frame.
        23:10 vsq_frame;
        /// The vport offset, short form.
        31:24 short_vp_offset;
    }
}

wire_struct! {
    /// The short TX OOB (C: `struct mana_tx_short_oob`, 8 bytes).
    pub struct TxShortOob {
        /// Format, checksum offloads, CQ.
        pub word0: TxShortOobWord0,
        /// Offsets.
        pub word1: TxShortOobWord1,
    }
}

wire_bitfield! {
    /// Word 0 of the long TX OOB.
    pub struct TxLongOobWord0(u32) {
        /// The packet is encapsulated.
        0:0 is_encap;
        /// The inner header is IPv6.
        1:1 inner_is_ipv6;
        /// The inner TCP header has options.
        2:2 inner_tcp_opt;
        /// Inject an 802.1Q priority tag.
        3:3 inject_vlan_pri_tag;
        /// 802.1Q priority.
        18:16 pcp;
        /// 802.1Q drop eligible.
        19:19 dei;
        /// 802.1Q VLAN id.
        31:20 vlan_id;
    }
}

wire_bitfield! {
    /// Word 1 of the long TX OOB.
    pub struct TxLongOobWord1(u32) {
        /// Inner frame offset.
        9:0 inner_frame_offset;
        /// Inner IP header offset relative to the frame.
        15:10 inner_ip_rel_offset;
        /// The vport offset, long form.
        27:16 long_vp_offset;
    }
}

wire_struct! {
    /// The long TX OOB (C: `struct mana_tx_long_oob`, 16 bytes).
    pub struct TxLongOob {
        /// Encapsulation and VLAN.
        pub word0: TxLongOobWord0,
        /// Offsets.
        pub word1: TxLongOobWord1,
        /// Reserved.
        pub reserved3: u32,
        /// Reserved.
        pub reserved4: u32,
    }
}

wire_struct! {
    /// The TX OOB: short part, then long part (C: `struct mana_tx_oob`, 24 bytes). A short
    /// format WQE carries only the first 8 bytes.
    pub struct TxOob {
        /// The short part.
        pub s_oob: TxShortOob,
        /// The long part.
        pub l_oob: TxLongOob,
    }
}

wire_bitfield! {
    /// The header of a MANA completion (C: `struct mana_cqe_header`).
    pub struct CqeHeader(u32) {
        /// The CQE type ([`cqe_type`]).
        5:0 cqe_type;
        /// The client type ([`MANA_CQE_COMPLETION`]).
        7:6 client_type;
        /// Vendor error.
        31:8 vendor_err;
    }
}

wire_bitfield! {
    /// Word 1 of the RX completion OOB: VLAN, hash type and checksum results.
    pub struct RxCompFlags(u32) {
        /// VLAN id.
        11:0 rx_vlan_id;
        /// A VLAN tag was present.
        12:12 rx_vlantag_present;
        /// Outer IP header checksum good.
        13:13 rx_outer_iphdr_csum_succeed;
        /// Outer IP header checksum bad.
        14:14 rx_outer_iphdr_csum_fail;
        /// The hash type ([`super::mana_msgs::hash_type`]).
        24:16 rx_hashtype;
        /// IP header checksum good.
        25:25 rx_iphdr_csum_succeed;
        /// IP header checksum bad.
        26:26 rx_iphdr_csum_fail;
        /// TCP checksum good.
        27:27 rx_tcp_csum_succeed;
        /// TCP checksum bad.
        28:28 rx_tcp_csum_fail;
        /// UDP checksum good.
        29:29 rx_udp_csum_succeed;
        /// UDP checksum bad.
        30:30 rx_udp_csum_fail;
    }
}

wire_struct! {
    /// One packet info of an RX completion (C: `union mana_rxcomp_perpkt_info`, 12 bytes).
    ///
    /// Two layouts share the three words: one packet (`pkt_len` in the low half of word 0,
    /// `pkt_hash` in word 2) for most CQE types, two packets (`pkt_hash0`, `pkt_len0`,
    /// `pkt_len1`, `pkt_hash1`) for [`cqe_type::RX_COALESCED_8`]; use the accessors.
    pub struct RxCompPerPktInfo {
        /// One packet: `pkt_len` (bits 15:0); two packets: `pkt_hash0`.
        pub word0: u32,
        /// One packet: reserved; two packets: `pkt_len0` (15:0) and `pkt_len1` (31:16).
        pub word1: u32,
        /// One packet: `pkt_hash`; two packets: `pkt_hash1`.
        pub word2: u32,
    }
}

impl RxCompPerPktInfo {
    /// One-packet layout: the packet info of a packet of `len` bytes with `hash`.
    pub const fn one(len: u16, hash: u32) -> Self {
        Self {
            word0: len as u32,
            word1: 0,
            word2: hash,
        }
    }

    /// Two-packet layout: `(len0, hash0)` and `(len1, hash1)`.
    pub const fn two(len0: u16, hash0: u32, len1: u16, hash1: u32) -> Self {
        Self {
            word0: hash0,
            word1: (len0 as u32) | ((len1 as u32) << 16),
            word2: hash1,
        }
    }

    /// One-packet layout: the packet length (0 ends the list).
    pub const fn pkt_len(&self) -> u16 {
        // CAST: the length is the low half of word 0.
        self.word0 as u16
    }

    /// One-packet layout: the RSS hash.
    pub const fn pkt_hash(&self) -> u32 {
        self.word2
    }

    /// Two-packet layout: the first packet's length.
    pub const fn pkt_len0(&self) -> u16 {
        // CAST: the low half of word 1.
        self.word1 as u16
    }

    /// Two-packet layout: the second packet's length.
    pub const fn pkt_len1(&self) -> u16 {
        // CAST: the high half of word 1.
        (self.word1 >> 16) as u16
    }

    /// Two-packet layout: the first packet's hash.
    pub const fn pkt_hash0(&self) -> u32 {
        self.word0
    }

    /// Two-packet layout: the second packet's hash.
    pub const fn pkt_hash1(&self) -> u32 {
        self.word2
    }
}

wire_struct! {
    /// The RX completion OOB, the data of an RX CQE (C: `struct mana_rxcomp_oob`, 60 bytes).
    pub struct RxCompOob {
        /// The completion header.
        pub cqe_hdr: CqeHeader,
        /// VLAN, hash type and checksum results.
        pub flags: RxCompFlags,
        /// Packet infos.
        pub ppi: [RxCompPerPktInfo; RXCOMP_OOB_NUM_PPI],
        /// Byte offset of the completed WQE in the RQ.
        pub rx_wqe_offset: u32,
    }
}

wire_bitfield! {
    /// Word 2 of the TX completion OOB.
    pub struct TxCompOffsets(u32) {
        /// SGL offset.
        4:0 tx_sgl_offset;
        /// Offset of the completed WQE in the SQ.
        31:5 tx_wqe_offset;
    }
}

wire_struct! {
    /// The TX completion OOB, the data of a TX CQE (C: `struct mana_tx_comp_oob`, 60 bytes).
    pub struct TxCompOob {
        /// The completion header.
        pub cqe_hdr: CqeHeader,
        /// Data offset.
        pub tx_data_offset: u32,
        /// SGL and WQE offsets.
        pub offsets: TxCompOffsets,
        /// Reserved.
        pub reserved: [u32; 12],
    }
}
