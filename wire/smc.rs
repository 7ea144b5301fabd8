// SPDX-License-Identifier: GPL-2.0-only

//! The shared memory channel (SMC): a 256-bit mailbox in BAR0 that sets up and tears down the
//! hardware channel.
//!
//! C: `include/net/mana/shm_channel.h` and `drivers/net/ethernet/microsoft/mana/shm_channel.c`
//! (where `union smc_proto_hdr` lives: it is not in a header, so its bits are checked against
//! values worked out from that file rather than through bindings).
//!
//! The mailbox is eight dwords. An establish request packs the page frame numbers (PFNs, 4 KiB
//! pages) of the HWC EQ, CQ, RQ and SQ: their low 48 bits one after another from byte 0, then a
//! 16-bit word of their top 4 bits (EQ in bits 3:0 ... SQ in bits 15:12), the 16-bit MSI-X index
//! of the EQ, and the protocol header [`SmcHdr`] in the last dword. Writing the last dword hands
//! the mailbox to the PF, which sets bit 31 ([`SmcHdr::owner_is_pf`]) until it has answered.

use crate::{
    Error,
    Result, //
};

use super::wire_bitfield;

/// Bits of the aperture.
pub const SMC_APERTURE_BITS: usize = 256;
/// Bytes of the aperture.
pub const SMC_APERTURE_SIZE: usize = SMC_APERTURE_BITS / 8;
/// Dwords of the aperture.
pub const SMC_APERTURE_DWORDS: usize = SMC_APERTURE_SIZE / 4;
/// Index of the last dword, which holds the header.
pub const SMC_LAST_DWORD: usize = SMC_APERTURE_DWORDS - 1;
/// Byte offset of the last dword in the aperture.
pub const SMC_LAST_DWORD_OFFSET: usize = SMC_LAST_DWORD * 4;

/// Message type: establish the HWC.
pub const MSG_TYPE_ESTABLISH_HWC: u8 = 1;
/// Version of the establish message.
pub const MSG_TYPE_ESTABLISH_HWC_VERSION: u8 = 0;
/// Message type: destroy the HWC.
pub const MSG_TYPE_DESTROY_HWC: u8 = 2;
/// Version of the destroy message.
pub const MSG_TYPE_DESTROY_HWC_VERSION: u8 = 0;

/// Direction: request, VF to PF.
pub const DIRECTION_REQUEST: bool = false;
/// Direction: response, PF to VF.
pub const DIRECTION_RESPONSE: bool = true;

/// What the last dword reads while the VF is being reset (C: `SHMEM_VF_RESET_STATE`).
pub const SHMEM_VF_RESET_STATE: u32 = u32::MAX;

/// Page shift of the PFNs (C: `MANA_PAGE_SHIFT`).
const PAGE_SHIFT: u32 = 12;
/// Mask of the low 48 bits of a PFN.
const PFN_LOW48_MASK: u64 = (1 << 48) - 1;

wire_bitfield! {
    /// The protocol header in the last dword (C: `union smc_proto_hdr`).
    pub struct SmcHdr(u32) {
        /// The message type, matched by the response.
        2:0 msg_type;
        /// The message version; a response may carry a lower one.
        5:3 msg_version;
        /// [`DIRECTION_REQUEST`] or [`DIRECTION_RESPONSE`].
        7:7 direction;
        /// Responses: the result, 0 for success.
        15:8 status;
        /// Perform an FLR before or after the operation.
        24:24 reset_vf;
        /// The PF owns the mailbox.
        31:31 owner_is_pf;
    }
}

impl SmcHdr {
    /// A request header of `msg_type`, `version` and `reset_vf`.
    pub fn request(msg_type: u8, version: u8, reset_vf: bool) -> Result<Self> {
        Ok(Self::ZERO
            .try_with_msg_type(msg_type)?
            .try_with_msg_version(version)?
            .with_direction(DIRECTION_REQUEST)
            .with_reset_vf(reset_vf))
    }

    /// The response header a device writes to `req` with `status`: same type and version,
    /// response direction, mailbox back to the VF.
    pub fn response_to(req: Self, status: u8) -> Self {
        Self::ZERO
            .with_msg_type(req.msg_type())
            .with_msg_version(req.msg_version())
            .with_direction(DIRECTION_RESPONSE)
            .with_status(status)
    }

    /// Whether the PF still owns the mailbox: the poll condition of
    /// `mana_smc_poll_register()` (bit 31 of the last dword).
    pub fn pf_owns(raw: u32) -> bool {
        Self::from_raw(raw).owner_is_pf().into_bool()
    }

    /// Checks a response as `mana_smc_read_response()`: `Ok(())` for the reset state when
    /// `reset_vf` was asked, else the type must match, the version must not exceed the
    /// request's, the direction must be response and the status 0; `EPROTO` otherwise.
    pub fn check_response(raw: u32, msg_type: u8, version: u8, reset_vf: bool) -> Result {
        if reset_vf && raw == SHMEM_VF_RESET_STATE {
            return Ok(());
        }
        let hdr = Self::from_raw(raw);
        if hdr.msg_type().get() != u32::from(msg_type)
            || hdr.msg_version().get() > u32::from(version)
            || hdr.direction().into_bool() != DIRECTION_RESPONSE
            || hdr.status().get() != 0
        {
            return Err(Error::Protocol);
        }
        Ok(())
    }
}

/// The four HWC queues an establish request announces, and the EQ's MSI-X vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EstablishHwc {
    /// DMA address of the HWC EQ (4 KiB aligned).
    pub eq_addr: u64,
    /// DMA address of the HWC CQ.
    pub cq_addr: u64,
    /// DMA address of the HWC RQ.
    pub rq_addr: u64,
    /// DMA address of the HWC SQ.
    pub sq_addr: u64,
    /// The MSI-X index of the EQ.
    pub msix_index: u16,
    /// Perform an FLR before the operation.
    pub reset_vf: bool,
}

impl EstablishHwc {
    /// Encodes the request into the eight mailbox dwords, as `mana_smc_setup_hwc()`.
    ///
    /// `EINVAL` if an address is not 4 KiB aligned (a 64-bit address has a 52-bit PFN).
    /// Dword 7 (the header) must be written last.
    pub fn encode(&self) -> Result<[u32; SMC_APERTURE_DWORDS]> {
        let pfns = [
            pfn(self.eq_addr)?,
            pfn(self.cq_addr)?,
            pfn(self.rq_addr)?,
            pfn(self.sq_addr)?,
        ];
        // The four low 48-bit parts make 192 bits: three u64 little-endian words.
        let mut low = [0u8; 24];
        let mut high4: u16 = 0;
        for (i, pfn) in pfns.iter().enumerate() {
            let bytes = (pfn & PFN_LOW48_MASK).to_le_bytes();
            low[i * 6..i * 6 + 6].copy_from_slice(&bytes[..6]);
            // CAST: a PFN has 52 bits, so `pfn >> 48` fits in 4 bits.
            high4 |= ((pfn >> 48) as u16) << (i * 4);
        }
        let hdr = SmcHdr::request(
            MSG_TYPE_ESTABLISH_HWC,
            MSG_TYPE_ESTABLISH_HWC_VERSION,
            self.reset_vf,
        )?;

        let mut dwords = [0u32; SMC_APERTURE_DWORDS];
        for (dword, chunk) in dwords.iter_mut().zip(low.chunks_exact(4)) {
            let mut raw = [0u8; 4];
            raw.copy_from_slice(chunk);
            *dword = u32::from_le_bytes(raw);
        }
        dwords[6] = u32::from(high4) | (u32::from(self.msix_index) << 16);
        dwords[SMC_LAST_DWORD] = hdr.into_raw();
        Ok(dwords)
    }

    /// Decodes an establish request from the mailbox dwords (device side).
    ///
    /// `EPROTO` if the header is not an establish request of the known version.
    pub fn decode(dwords: &[u32; SMC_APERTURE_DWORDS]) -> Result<Self> {
        let hdr = SmcHdr::from_raw(dwords[SMC_LAST_DWORD]);
        if hdr.msg_type().get() != u32::from(MSG_TYPE_ESTABLISH_HWC)
            || hdr.msg_version().get() != u32::from(MSG_TYPE_ESTABLISH_HWC_VERSION)
            || hdr.direction().into_bool() != DIRECTION_REQUEST
        {
            return Err(Error::Protocol);
        }
        let mut low = [0u8; 24];
        for (chunk, dword) in low.chunks_exact_mut(4).zip(dwords.iter()) {
            chunk.copy_from_slice(&dword.to_le_bytes());
        }
        // CAST: truncation to the two halves of dword 6 is intended.
        let high4 = dwords[6] as u16;
        let msix_index = (dwords[6] >> 16) as u16;
        let mut addrs = [0u64; 4];
        for (i, addr) in addrs.iter_mut().enumerate() {
            let mut raw = [0u8; 8];
            raw[..6].copy_from_slice(&low[i * 6..i * 6 + 6]);
            let pfn = u64::from_le_bytes(raw) | (u64::from((high4 >> (i * 4)) & 0xF) << 48);
            *addr = pfn << PAGE_SHIFT;
        }
        Ok(Self {
            eq_addr: addrs[0],
            cq_addr: addrs[1],
            rq_addr: addrs[2],
            sq_addr: addrs[3],
            msix_index,
            reset_vf: hdr.reset_vf().into_bool(),
        })
    }
}

/// The header dword of a destroy request, as `mana_smc_teardown_hwc()` writes it (the other
/// dwords are not written).
pub fn destroy_hwc_request(reset_vf: bool) -> Result<u32> {
    Ok(SmcHdr::request(MSG_TYPE_DESTROY_HWC, MSG_TYPE_DESTROY_HWC_VERSION, reset_vf)?.into_raw())
}

/// The page frame number of a 4 KiB-aligned DMA address (at most 52 bits), or `EINVAL`.
fn pfn(addr: u64) -> Result<u64> {
    if addr & ((1 << PAGE_SHIFT) - 1) != 0 {
        return Err(Error::Invalid);
    }
    Ok(addr >> PAGE_SHIFT)
}
