// SPDX-License-Identifier: GPL-2.0-only

//! BAR0 of the function: the GDMA registers, the SMC mailbox and the doorbell pages.
//!
//! Register offsets are those `mana_gd_init_vf_regs()` in the C driver's `gdma_main.c` reads
//! (`GDMA_REG_DB_PAGE_OFFSET`, `GDMA_REG_DB_PAGE_SIZE`, `GDMA_REG_SHM_OFFSET` in
//! `include/net/mana/gdma.h`), taken from the wire crate (`wire/regs.rs`) the driver uses. The
//! placement of the mailbox and of the doorbell pages is the device's choice, taken from the
//! model crate (`model/layout.rs`): the in-kernel software adapter's, with more doorbell pages.
//!
//! This is the pure register behaviour, what needs no device model:
//! - the read-only registers read back the layout;
//! - the SMC mailbox (C: `shm_channel.c`) is eight dwords of storage; writing the last dword
//!   hands the mailbox to the device: its owner bit (31) reads as set and the eight dwords go to
//!   the device model, which answers through [`Bar0Registers::smc_respond`];
//! - a 64-bit write into a doorbell page is a doorbell for the device model; doorbell pages
//!   read as zero.
//!
//! Everything else a driver does to BAR0 is an [`AccessError`]: the caller counts it.

use std::fmt;

use mana_model::layout;
use mana_wire::{
    regs,
    smc::{
        SmcHdr,
        SMC_APERTURE_DWORDS,
        SMC_APERTURE_SIZE, //
    },
};

// The register offsets and the mailbox format are the hardware ABI: defined once, in the wire
// crate (`wire/regs.rs`, `wire/smc.rs`) that the driver uses too.

/// VF: 64-bit offset of the doorbell pages (C: `GDMA_REG_DB_PAGE_OFFSET`).
pub const GDMA_REG_DB_PAGE_OFFSET: u64 = regs::GDMA_REG_DB_PAGE_OFFSET as u64;
/// VF: 32-bit doorbell page size; the driver uses its low 16 bits (C: `GDMA_REG_DB_PAGE_SIZE`).
pub const GDMA_REG_DB_PAGE_SIZE: u64 = regs::GDMA_REG_DB_PAGE_SIZE as u64;
/// VF: 64-bit offset of the SMC mailbox (C: `GDMA_REG_SHM_OFFSET`).
pub const GDMA_REG_SHM_OFFSET: u64 = regs::GDMA_REG_SHM_OFFSET as u64;

/// Dwords of the SMC mailbox (C: `SMC_APERTURE_DWORDS`).
pub const SMC_DWORDS: usize = SMC_APERTURE_DWORDS;
/// Bytes of the SMC mailbox (C: `SMC_APERTURE_SIZE`).
pub const SMC_SIZE: u64 = SMC_APERTURE_SIZE as u64;
/// The owner bit of the last dword: set while the device (the PF) owns the mailbox.
pub const SMC_OWNER_IS_DEVICE: u32 = SmcHdr::OWNER_IS_PF_MASK;

// Where the mailbox and the doorbell pages are is the device's choice, defined once in the
// model crate (`model/layout.rs`) for both hosts.

/// Where the mailbox sits in BAR0.
pub const SHM_OFFSET: u64 = layout::SHM_OFFSET as u64;
/// Where the doorbell pages start in BAR0.
pub const DB_PAGE_OFFSET: u64 = layout::DB_PAGE_OFFSET as u64;
/// The size of one doorbell page.
pub const DB_PAGE_SIZE: u32 = layout::DB_PAGE_SIZE as u32;

/// The eight dwords of the SMC mailbox.
pub type Mailbox = [u32; SMC_DWORDS];

/// The geometry of BAR0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar0Layout {
    /// Number of doorbell pages.
    pub db_pages: u32,
}

impl Bar0Layout {
    /// End of the last doorbell page.
    fn db_end(&self) -> u64 {
        DB_PAGE_OFFSET + u64::from(self.db_pages) * u64::from(DB_PAGE_SIZE)
    }

    /// The BAR's size: the doorbell pages' end rounded up to a power of two, as PCI requires.
    pub fn bar_size(&self) -> u64 {
        self.db_end().next_power_of_two()
    }
}

/// A doorbell write: 64 bits into doorbell page `page` at byte `offset` of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Doorbell {
    /// The doorbell page (its index from the doorbell page offset).
    pub page: u32,
    /// The byte offset in the page (the queue type: SQ 0x0, RQ 0x400, CQ 0x800, EQ 0xFF8).
    pub offset: u32,
    /// The value written.
    pub value: u64,
}

/// What a BAR0 write asks of the device model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteEffect {
    /// A register changed; nothing for the device model.
    None,
    /// The driver handed the mailbox to the device with this request.
    SmcRequest(Mailbox),
    /// A doorbell.
    Doorbell(Doorbell),
}

/// A BAR0 access the function refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// Past the end of the BAR, or wrapping around.
    OutOfRange {
        /// Offset of the access.
        offset: u64,
        /// Bytes of the access.
        len: usize,
    },
    /// A write to a read-only register or to space that holds nothing.
    ReadOnly {
        /// Offset of the access.
        offset: u64,
    },
    /// A size or alignment the register does not take (mailbox: aligned dwords; doorbells:
    /// aligned qwords; registers: 1, 2, 4 or 8 bytes).
    BadAccess {
        /// Offset of the access.
        offset: u64,
        /// Bytes of the access.
        len: usize,
    },
    /// A mailbox write while the device owns the mailbox.
    MailboxBusy {
        /// Offset of the access.
        offset: u64,
    },
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfRange { offset, len } => {
                write!(
                    f,
                    "BAR0 access of {len} bytes at 0x{offset:x} is outside the BAR"
                )
            }
            Self::ReadOnly { offset } => write!(f, "BAR0 write to read-only 0x{offset:x}"),
            Self::BadAccess { offset, len } => {
                write!(
                    f,
                    "BAR0 access of {len} bytes at 0x{offset:x}: wrong size or alignment"
                )
            }
            Self::MailboxBusy { offset } => write!(
                f,
                "SMC write at 0x{offset:x} while the device owns the mailbox (owner bit set)"
            ),
        }
    }
}

/// The register state of BAR0.
pub struct Bar0Registers {
    layout: Bar0Layout,
    mailbox: Mailbox,
}

impl Bar0Registers {
    /// Registers of a BAR0 shaped as `layout`, after reset.
    pub fn new(layout: Bar0Layout) -> Self {
        Self {
            layout,
            mailbox: [0; SMC_DWORDS],
        }
    }

    /// The layout.
    pub fn layout(&self) -> Bar0Layout {
        self.layout
    }

    /// Back to the reset state: an empty mailbox the driver owns.
    pub fn reset(&mut self) {
        self.mailbox = [0; SMC_DWORDS];
    }

    /// The device model's answer to a mailbox request: the eight dwords the driver reads next.
    /// The model decides the owner bit (a VF being reset reads all ones).
    pub fn smc_respond(&mut self, response: Mailbox) {
        self.mailbox = response;
    }

    /// Whether the device owns the mailbox.
    pub fn smc_owned_by_device(&self) -> bool {
        self.mailbox[SMC_DWORDS - 1] & SMC_OWNER_IS_DEVICE != 0
    }

    fn check_range(&self, offset: u64, len: usize) -> Result<(), AccessError> {
        let end = offset.checked_add(len as u64);
        match end {
            Some(end) if len > 0 && end <= self.layout.bar_size() => Ok(()),
            _ => Err(AccessError::OutOfRange { offset, len }),
        }
    }

    /// The byte at `offset` as a read sees it.
    fn byte(&self, offset: u64) -> u8 {
        let qword = |value: u64, base: u64| value.to_le_bytes()[(offset - base) as usize];
        match offset {
            o if (GDMA_REG_DB_PAGE_OFFSET..GDMA_REG_DB_PAGE_OFFSET + 8).contains(&o) => {
                qword(DB_PAGE_OFFSET, GDMA_REG_DB_PAGE_OFFSET)
            }
            o if (GDMA_REG_DB_PAGE_SIZE..GDMA_REG_DB_PAGE_SIZE + 4).contains(&o) => {
                qword(u64::from(DB_PAGE_SIZE), GDMA_REG_DB_PAGE_SIZE)
            }
            o if (GDMA_REG_SHM_OFFSET..GDMA_REG_SHM_OFFSET + 8).contains(&o) => {
                qword(SHM_OFFSET, GDMA_REG_SHM_OFFSET)
            }
            o if (SHM_OFFSET..SHM_OFFSET + SMC_SIZE).contains(&o) => {
                let in_box = (o - SHM_OFFSET) as usize;
                self.mailbox[in_box / 4].to_le_bytes()[in_box % 4]
            }
            // Doorbells are write-only; the rest holds nothing.
            _ => 0,
        }
    }

    /// Reads `out.len()` (1, 2, 4 or 8) bytes at `offset`.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        self.check_range(offset, out.len())?;
        if !matches!(out.len(), 1 | 2 | 4 | 8) {
            return Err(AccessError::BadAccess {
                offset,
                len: out.len(),
            });
        }
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.byte(offset + i as u64);
        }
        Ok(())
    }

    /// Writes `data` at `offset`; returns what the device model has to do about it.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<WriteEffect, AccessError> {
        let len = data.len();
        self.check_range(offset, len)?;
        if (SHM_OFFSET..SHM_OFFSET + SMC_SIZE).contains(&offset) {
            return self.write_mailbox(offset, data);
        }
        if (DB_PAGE_OFFSET..self.layout.db_end()).contains(&offset) {
            let Ok(bytes) = <[u8; 8]>::try_from(data) else {
                return Err(AccessError::BadAccess { offset, len });
            };
            if !offset.is_multiple_of(8) {
                return Err(AccessError::BadAccess { offset, len });
            }
            let in_pages = offset - DB_PAGE_OFFSET;
            return Ok(WriteEffect::Doorbell(Doorbell {
                page: (in_pages / u64::from(DB_PAGE_SIZE)) as u32,
                offset: (in_pages % u64::from(DB_PAGE_SIZE)) as u32,
                value: u64::from_le_bytes(bytes),
            }));
        }
        Err(AccessError::ReadOnly { offset })
    }

    fn write_mailbox(&mut self, offset: u64, data: &[u8]) -> Result<WriteEffect, AccessError> {
        let bad = AccessError::BadAccess {
            offset,
            len: data.len(),
        };
        let Ok(bytes) = <[u8; 4]>::try_from(data) else {
            return Err(bad);
        };
        if !offset.is_multiple_of(4) {
            return Err(bad);
        }
        if self.smc_owned_by_device() {
            return Err(AccessError::MailboxBusy { offset });
        }
        let dword = ((offset - SHM_OFFSET) / 4) as usize;
        self.mailbox[dword] = u32::from_le_bytes(bytes);
        if dword != SMC_DWORDS - 1 {
            return Ok(WriteEffect::None);
        }
        // The last dword hands the mailbox over: the request goes as written, and the driver
        // polls the owner bit until the device answers.
        let request = self.mailbox;
        self.mailbox[SMC_DWORDS - 1] |= SMC_OWNER_IS_DEVICE;
        Ok(WriteEffect::SmcRequest(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs() -> Bar0Registers {
        Bar0Registers::new(Bar0Layout { db_pages: 64 })
    }

    fn read64(r: &Bar0Registers, offset: u64) -> u64 {
        let mut b = [0; 8];
        r.read(offset, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn read32(r: &Bar0Registers, offset: u64) -> u32 {
        let mut b = [0; 4];
        r.read(offset, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    #[test]
    fn bar_size_is_a_power_of_two_holding_every_doorbell_page() {
        let layout = Bar0Layout { db_pages: 64 };
        assert_eq!(layout.bar_size(), 0x8_0000);
        assert!(layout.db_end() <= layout.bar_size());
        assert_eq!(Bar0Layout { db_pages: 1 }.bar_size(), 0x2_0000);
    }

    #[test]
    fn registers_read_what_mana_gd_init_vf_regs_expects() {
        let r = regs();
        let size = r.layout().bar_size();
        let db_page_size = read32(&r, GDMA_REG_DB_PAGE_SIZE) & regs::DB_PAGE_SIZE_MASK;
        assert!(db_page_size >= 4096);
        let db_off = read64(&r, GDMA_REG_DB_PAGE_OFFSET);
        assert!(db_off < size);
        let shm = read64(&r, GDMA_REG_SHM_OFFSET);
        assert!(shm < size && size - shm >= SMC_SIZE && shm.is_multiple_of(4));
        // The doorbell pages do not overlap the registers or the mailbox.
        assert!(shm + SMC_SIZE <= db_off);
        // The halves of a 64-bit register read as 32-bit reads.
        assert_eq!(read32(&r, GDMA_REG_DB_PAGE_OFFSET), DB_PAGE_OFFSET as u32);
        assert_eq!(read32(&r, GDMA_REG_DB_PAGE_OFFSET + 4), 0);
    }

    #[test]
    fn registers_are_read_only() {
        let mut r = regs();
        for offset in [
            0,
            GDMA_REG_DB_PAGE_OFFSET,
            GDMA_REG_DB_PAGE_SIZE,
            GDMA_REG_SHM_OFFSET,
        ] {
            assert_eq!(
                r.write(offset, &[0xFF; 4]),
                Err(AccessError::ReadOnly { offset })
            );
        }
        assert_eq!(read64(&r, GDMA_REG_SHM_OFFSET), SHM_OFFSET);
    }

    #[test]
    fn mailbox_hands_over_on_the_last_dword() {
        let mut r = regs();
        for i in 0..7u32 {
            let effect = r.write(SHM_OFFSET + 4 * u64::from(i), &(i + 1).to_le_bytes());
            assert_eq!(effect, Ok(WriteEffect::None));
        }
        assert!(!r.smc_owned_by_device());
        let effect = r.write(SHM_OFFSET + 28, &0x0000_0001u32.to_le_bytes());
        assert_eq!(
            effect,
            Ok(WriteEffect::SmcRequest([1, 2, 3, 4, 5, 6, 7, 1]))
        );
        assert!(r.smc_owned_by_device());
        assert_eq!(read32(&r, SHM_OFFSET + 28), 0x8000_0001);
        // The driver must wait for the answer.
        assert_eq!(
            r.write(SHM_OFFSET, &[0; 4]),
            Err(AccessError::MailboxBusy { offset: SHM_OFFSET })
        );
        r.smc_respond([0, 0, 0, 0, 0, 0, 0, 0x81]);
        assert!(!r.smc_owned_by_device());
        assert_eq!(read32(&r, SHM_OFFSET + 28), 0x81);
        assert_eq!(read32(&r, SHM_OFFSET), 0);
    }

    #[test]
    fn mailbox_takes_only_aligned_dwords() {
        let mut r = regs();
        assert!(matches!(
            r.write(SHM_OFFSET + 2, &[0; 4]),
            Err(AccessError::BadAccess { .. })
        ));
        assert!(matches!(
            r.write(SHM_OFFSET, &[0; 8]),
            Err(AccessError::BadAccess { .. })
        ));
        assert!(matches!(
            r.write(SHM_OFFSET, &[0; 2]),
            Err(AccessError::BadAccess { .. })
        ));
    }

    #[test]
    fn doorbells_decode_page_and_offset() {
        let mut r = regs();
        let offset = DB_PAGE_OFFSET + 3 * u64::from(DB_PAGE_SIZE) + 0xFF8;
        let effect = r.write(offset, &0x1234_5678_9abc_def0u64.to_le_bytes());
        assert_eq!(
            effect,
            Ok(WriteEffect::Doorbell(Doorbell {
                page: 3,
                offset: 0xFF8,
                value: 0x1234_5678_9abc_def0
            }))
        );
        assert_eq!(read64(&r, offset), 0, "doorbells are write-only");
        assert!(matches!(
            r.write(offset, &[0; 4]),
            Err(AccessError::BadAccess { .. })
        ));
        assert!(matches!(
            r.write(offset - 4, &[0; 8]),
            Err(AccessError::BadAccess { .. })
        ));
        // Past the last doorbell page, inside the BAR: nothing there.
        let past = DB_PAGE_OFFSET + 64 * u64::from(DB_PAGE_SIZE);
        assert_eq!(
            r.write(past, &[0; 8]),
            Err(AccessError::ReadOnly { offset: past })
        );
    }

    #[test]
    fn accesses_outside_the_bar_fail() {
        let mut r = regs();
        let size = r.layout().bar_size();
        let mut b = [0; 8];
        assert!(r.read(size - 8, &mut b).is_ok());
        assert!(matches!(
            r.read(size - 4, &mut b),
            Err(AccessError::OutOfRange { .. })
        ));
        assert!(matches!(
            r.read(u64::MAX - 2, &mut b),
            Err(AccessError::OutOfRange { .. })
        ));
        assert!(matches!(
            r.write(size, &b),
            Err(AccessError::OutOfRange { .. })
        ));
        let mut odd = [0; 3];
        assert!(matches!(
            r.read(0, &mut odd),
            Err(AccessError::BadAccess { .. })
        ));
    }

    #[test]
    fn reset_empties_the_mailbox() {
        let mut r = regs();
        r.write(SHM_OFFSET + 28, &1u32.to_le_bytes()).unwrap();
        r.reset();
        assert!(!r.smc_owned_by_device());
        assert_eq!(read32(&r, SHM_OFFSET + 28), 0);
    }
}
