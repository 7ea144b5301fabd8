// SPDX-License-Identifier: GPL-2.0-only

//! The PCI configuration space of the function, as a MANA VF presents it.
//!
//! A type-0 header with the ids of a MANA VF (`MANA_VF_DEVICE_ID` in the C driver's
//! `include/net/mana/gdma.h`), two 64-bit memory BARs (BAR0: the GDMA registers, SMC mailbox and
//! doorbell pages; BAR2: the MSI-X table and PBA) and a capability chain of a PCI Express
//! capability followed by the MSI-X capability. The extended space (0x100..0x1000) holds no
//! extended capability: its first header is zero, which ends the list.
//!
//! Writes follow a per-byte write mask: bits the mask does not cover are read-only, which gives
//! BAR sizing (write all ones, read back the size mask) and the read-only ids for free.

use std::fmt;

use mana_wire::regs;

/// The PCI vendor id of Microsoft (from the wire crate, as the driver's).
pub const VENDOR_ID: u16 = regs::PCI_VENDOR_ID_MICROSOFT;
/// The device id of a MANA VF (C: `MANA_VF_DEVICE_ID`; from the wire crate, as the driver's).
pub const DEVICE_ID: u16 = regs::MANA_VF_DEVICE_ID;
/// The revision a MANA VF reports.
pub const REVISION: u8 = 0x01;
/// Class code: network controller, Ethernet, no programming interface.
pub const CLASS_CODE: u32 = 0x02_00_00;
/// Bytes of configuration space (PCI Express: 4 KiB).
pub const CONFIG_SPACE_SIZE: usize = 4096;

/// Offset of the PCI Express capability.
pub const PCIE_CAP_OFFSET: usize = 0x40;
/// Bytes of the PCI Express capability (version 2, with the device/link 2 registers).
pub const PCIE_CAP_SIZE: usize = 0x3C;
/// Offset of the MSI-X capability.
pub const MSIX_CAP_OFFSET: usize = 0x80;
/// Bytes of the MSI-X capability.
pub const MSIX_CAP_SIZE: usize = 12;

// The capabilities do not overlap and both lie in the standard space.
const _: () = assert!(PCIE_CAP_OFFSET + PCIE_CAP_SIZE <= MSIX_CAP_OFFSET);
const _: () = assert!(MSIX_CAP_OFFSET + MSIX_CAP_SIZE <= 0x100);

/// Capability id of PCI Express.
pub const CAP_ID_PCIE: u8 = 0x10;
/// Capability id of MSI-X.
pub const CAP_ID_MSIX: u8 = 0x11;

/// Header registers used here.
const REG_VENDOR_ID: usize = 0x00;
const REG_DEVICE_ID: usize = 0x02;
const REG_COMMAND: usize = 0x04;
const REG_STATUS: usize = 0x06;
const REG_REVISION: usize = 0x08;
const REG_CLASS: usize = 0x09;
/// The cache-line-size register: scratch on a PCI Express function (the guest of the PCI
/// stage marks the steps of its scenario in it for `--record`).
pub(crate) const REG_CACHE_LINE: usize = 0x0C;
const REG_HEADER_TYPE: usize = 0x0E;
const REG_BAR0: usize = 0x10;
const REG_SUBSYSTEM_VENDOR: usize = 0x2C;
const REG_SUBSYSTEM_ID: usize = 0x2E;
const REG_CAP_PTR: usize = 0x34;
const REG_INTERRUPT_LINE: usize = 0x3C;

/// Command bits a driver may change: memory space, bus master, parity error response, SERR#,
/// INTx disable. I/O space stays 0: the function has no I/O BAR.
const COMMAND_WRITABLE: u16 = 0x0002 | 0x0004 | 0x0040 | 0x0100 | 0x0400;
/// Status: the capability list bit.
const STATUS_CAP_LIST: u16 = 1 << 4;
/// BAR flag bits of a 64-bit, non-prefetchable memory BAR.
const BAR_MEM64: u32 = 0b100;

/// PCI Express device capabilities: function level reset capable.
const DEVCAP_FLR: u32 = 1 << 28;
/// PCI Express device control: initiate function level reset (reads as 0).
const DEVCTL_BCR_FLR: u16 = 1 << 15;
/// Offset of the PCI Express device control register.
const PCIE_DEVCTL: usize = PCIE_CAP_OFFSET + 0x08;

/// MSI-X message control bits a driver may change: function mask (14) and enable (15).
const MSIX_CONTROL_WRITABLE: u16 = 0xC000;

/// A 64-bit memory BAR of the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// The BAR number of its low dword (its high dword is the next one).
    pub index: usize,
    /// Its size in bytes: a power of two of at least 4 KiB.
    pub size: u64,
}

/// Where the MSI-X table and PBA are, as the capability advertises them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixPlacement {
    /// Number of vectors (table entries).
    pub vectors: u16,
    /// The BAR holding both structures.
    pub bar: usize,
    /// Offset of the table in that BAR.
    pub table_offset: u32,
    /// Offset of the PBA in that BAR.
    pub pba_offset: u32,
}

/// What a configuration write asks of the function beyond storing bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigEffect {
    /// Nothing more.
    None,
    /// The driver initiated a function level reset (PCI Express device control bit 15).
    FunctionLevelReset,
}

/// A configuration access outside the 4 KiB space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// Offset of the access.
    pub offset: u64,
    /// Bytes of the access.
    pub len: usize,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "configuration access of {} bytes at 0x{:x} outside the {} bytes of the space",
            self.len, self.offset, CONFIG_SPACE_SIZE
        )
    }
}

/// The configuration space: its bytes and, per byte, the bits a write may change.
pub struct ConfigSpace {
    bytes: Box<[u8; CONFIG_SPACE_SIZE]>,
    writable: Box<[u8; CONFIG_SPACE_SIZE]>,
}

impl ConfigSpace {
    /// The space of a MANA VF with `bars` (64-bit memory BARs) and MSI-X as `msix` says.
    pub fn new(bars: &[Bar], msix: MsixPlacement) -> Self {
        let mut space = Self {
            bytes: Box::new([0; CONFIG_SPACE_SIZE]),
            writable: Box::new([0; CONFIG_SPACE_SIZE]),
        };
        space.set16(REG_VENDOR_ID, VENDOR_ID);
        space.set16(REG_DEVICE_ID, DEVICE_ID);
        space.set16(REG_COMMAND, 0);
        space.mask16(REG_COMMAND, COMMAND_WRITABLE);
        space.set16(REG_STATUS, STATUS_CAP_LIST);
        space.bytes[REG_REVISION] = REVISION;
        space.bytes[REG_CLASS..REG_CLASS + 3].copy_from_slice(&CLASS_CODE.to_le_bytes()[..3]);
        space.writable[REG_CACHE_LINE] = 0xFF;
        space.bytes[REG_HEADER_TYPE] = 0x00;
        space.set16(REG_SUBSYSTEM_VENDOR, VENDOR_ID);
        space.set16(REG_SUBSYSTEM_ID, DEVICE_ID);
        // No INTx: the pin stays 0; the line register is scratch for the OS.
        space.writable[REG_INTERRUPT_LINE] = 0xFF;

        for bar in bars {
            let low = REG_BAR0 + 4 * bar.index;
            // The address bits below the size are zero, so writing all ones reads back the size.
            let mask = !(bar.size - 1);
            space.set32(low, BAR_MEM64);
            space.mask32(low, (mask as u32) & !0xF);
            space.set32(low + 4, 0);
            space.mask32(low + 4, (mask >> 32) as u32);
        }

        space.bytes[REG_CAP_PTR] = PCIE_CAP_OFFSET as u8;

        // PCI Express capability, version 2, an endpoint.
        let pcie = PCIE_CAP_OFFSET;
        space.bytes[pcie] = CAP_ID_PCIE;
        space.bytes[pcie + 1] = MSIX_CAP_OFFSET as u8;
        space.set16(pcie + 0x02, 0x0002);
        // Device capabilities: 256-byte max payload, function level reset (a VF has it; the C
        // driver resets the function with it when TX cannot drain).
        space.set32(pcie + 0x04, DEVCAP_FLR | 0x0000_0001);
        // Device control: the usual enable bits and payload/read-request sizes are the OS's.
        space.mask16(pcie + 0x08, 0x7FFF);
        // Link: 8 GT/s, x8, and the same as current state.
        space.set32(pcie + 0x0C, 0x0000_0083);
        space.mask16(pcie + 0x10, 0x0FFB);
        space.set16(pcie + 0x12, 0x0083);
        space.mask16(pcie + 0x28, 0x0400);

        // MSI-X capability, last in the chain.
        let cap = MSIX_CAP_OFFSET;
        space.bytes[cap] = CAP_ID_MSIX;
        space.bytes[cap + 1] = 0;
        space.set16(cap + 2, msix.vectors - 1);
        space.mask16(cap + 2, MSIX_CONTROL_WRITABLE);
        space.set32(cap + 4, msix.table_offset | msix.bar as u32);
        space.set32(cap + 8, msix.pba_offset | msix.bar as u32);
        space
    }

    fn set16(&mut self, offset: usize, value: u16) {
        self.bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
    }

    fn set32(&mut self, offset: usize, value: u32) {
        self.bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn mask16(&mut self, offset: usize, mask: u16) {
        self.writable[offset..offset + 2].copy_from_slice(&mask.to_le_bytes());
    }

    fn mask32(&mut self, offset: usize, mask: u32) {
        self.writable[offset..offset + 4].copy_from_slice(&mask.to_le_bytes());
    }

    /// The byte range of an access, if it lies inside the space.
    fn range(offset: u64, len: usize) -> Result<std::ops::Range<usize>, OutOfRange> {
        let err = OutOfRange { offset, len };
        let start = usize::try_from(offset).map_err(|_| err)?;
        let end = start.checked_add(len).ok_or(err)?;
        if end > CONFIG_SPACE_SIZE {
            return Err(err);
        }
        Ok(start..end)
    }

    /// Reads `out.len()` bytes at `offset`.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), OutOfRange> {
        let range = Self::range(offset, out.len())?;
        out.copy_from_slice(&self.bytes[range]);
        Ok(())
    }

    /// Writes `data` at `offset`: each bit changes only where the write mask allows it.
    /// Returns whether the write initiated a function level reset, which the caller performs
    /// (the FLR bit itself is not stored: it reads as 0).
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<ConfigEffect, OutOfRange> {
        let range = Self::range(offset, data.len())?;
        let mut effect = ConfigEffect::None;
        let flr_byte = PCIE_DEVCTL + 1;
        let flr_bit = (DEVCTL_BCR_FLR >> 8) as u8;
        for (i, &value) in range.zip(data) {
            let mask = self.writable[i];
            self.bytes[i] = (self.bytes[i] & !mask) | (value & mask);
            if i == flr_byte && value & flr_bit != 0 {
                effect = ConfigEffect::FunctionLevelReset;
            }
        }
        Ok(effect)
    }

    /// A 16-bit register, for the function's own use and tests.
    pub fn read16(&self, offset: usize) -> u16 {
        u16::from_le_bytes([self.bytes[offset], self.bytes[offset + 1]])
    }

    /// A 32-bit register, for the function's own use and tests.
    pub fn read32(&self, offset: usize) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.bytes[offset..offset + 4]);
        u32::from_le_bytes(b)
    }

    /// Whether the driver enabled MSI-X in the capability.
    pub fn msix_enabled(&self) -> bool {
        self.read16(MSIX_CAP_OFFSET + 2) & 0x8000 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARS: [Bar; 2] = [
        Bar {
            index: 0,
            size: 0x8_0000,
        },
        Bar {
            index: 2,
            size: 0x2000,
        },
    ];
    const MSIX: MsixPlacement = MsixPlacement {
        vectors: 64,
        bar: 2,
        table_offset: 0,
        pba_offset: 0x1000,
    };

    fn space() -> ConfigSpace {
        ConfigSpace::new(&BARS, MSIX)
    }

    #[test]
    fn header_has_the_ids_of_a_mana_vf() {
        let s = space();
        assert_eq!(s.read16(0x00), 0x1414);
        assert_eq!(s.read16(0x02), 0x00BA);
        assert_eq!(s.bytes[0x08], 1);
        assert_eq!(s.read32(0x08) >> 8, 0x020000);
        assert_eq!(s.bytes[0x0E], 0, "type-0 header, single function");
        assert_eq!(s.bytes[0x3D], 0, "no INTx pin");
        assert_ne!(s.read16(0x06) & STATUS_CAP_LIST, 0);
    }

    #[test]
    fn ids_are_read_only() {
        let mut s = space();
        s.write(0, &[0xFF; 4]).unwrap();
        s.write(0x08, &[0xFF; 4]).unwrap();
        assert_eq!(s.read32(0), 0x00BA_1414);
        assert_eq!(s.read32(0x08), 0x0200_0001);
    }

    #[test]
    fn command_keeps_only_its_writable_bits() {
        let mut s = space();
        s.write(0x04, &[0xFF, 0xFF]).unwrap();
        assert_eq!(s.read16(0x04), COMMAND_WRITABLE);
        assert_eq!(s.read16(0x04) & 1, 0, "no I/O space");
    }

    #[test]
    fn capability_chain_is_pcie_then_msix_then_end() {
        let s = space();
        let mut chain = Vec::new();
        let mut ptr = s.bytes[0x34] as usize;
        while ptr != 0 {
            assert_eq!(ptr % 4, 0);
            assert!((0x40..0x100).contains(&ptr));
            chain.push((ptr, s.bytes[ptr]));
            ptr = s.bytes[ptr + 1] as usize;
            assert!(chain.len() < 48, "the chain loops");
        }
        assert_eq!(chain, vec![(0x40, CAP_ID_PCIE), (0x80, CAP_ID_MSIX)]);
        // An endpoint, capability version 2.
        assert_eq!(s.read16(0x42), 0x0002);
        // No extended capability.
        assert_eq!(s.read32(0x100), 0);
    }

    #[test]
    fn msix_capability_advertises_64_vectors_in_bar2() {
        let s = space();
        assert_eq!(s.read16(0x82) & 0x7FF, 63);
        assert_eq!(s.read32(0x84), 2);
        assert_eq!(s.read32(0x88), 0x1000 | 2);
    }

    #[test]
    fn msix_control_only_enable_and_mask_are_writable() {
        let mut s = space();
        assert!(!s.msix_enabled());
        s.write(0x82, &[0xFF, 0xFF]).unwrap();
        assert_eq!(s.read16(0x82), 0xC000 | 63);
        assert!(s.msix_enabled());
    }

    /// Sizes a 64-bit BAR the way firmware does; returns the size it finds.
    fn size_bar(s: &mut ConfigSpace, index: usize) -> u64 {
        let low = 0x10 + 4 * index;
        s.write(low as u64, &[0xFF; 4]).unwrap();
        s.write(low as u64 + 4, &[0xFF; 4]).unwrap();
        let value = u64::from(s.read32(low)) | (u64::from(s.read32(low + 4)) << 32);
        assert_eq!(value & 0xF, 0b100, "64-bit, non-prefetchable memory");
        !(value & !0xF) + 1
    }

    #[test]
    fn bar_sizes_read_back_from_all_ones() {
        let mut s = space();
        assert_eq!(size_bar(&mut s, 0), 0x8_0000);
        assert_eq!(size_bar(&mut s, 2), 0x2000);
        // Unimplemented BARs read 0 whatever is written.
        for index in [4, 5] {
            let reg = 0x10 + 4 * index;
            s.write(reg as u64, &[0xFF; 4]).unwrap();
            assert_eq!(s.read32(reg), 0);
        }
    }

    #[test]
    fn bar_takes_an_aligned_address() {
        let mut s = space();
        s.write(0x10, &0xFEA4_1000u32.to_le_bytes()).unwrap();
        s.write(0x14, &0x1u32.to_le_bytes()).unwrap();
        assert_eq!(s.read32(0x10), 0xFEA0_0004, "bits below the size stay 0");
        assert_eq!(s.read32(0x14), 1);
    }

    #[test]
    fn flr_is_advertised_and_initiated_by_device_control_bit_15() {
        let mut s = space();
        assert_ne!(s.read32(0x44) & DEVCAP_FLR, 0);
        // Other device control bits are plain storage.
        assert_eq!(
            s.write(0x48, &0x0010u16.to_le_bytes()),
            Ok(ConfigEffect::None)
        );
        assert_eq!(s.read16(0x48), 0x0010);
        // The FLR bit, alone or with others, by word or by byte, asks for a reset and reads 0.
        let flr = (0x0010 | DEVCTL_BCR_FLR).to_le_bytes();
        assert_eq!(s.write(0x48, &flr), Ok(ConfigEffect::FunctionLevelReset));
        assert_eq!(s.read16(0x48) & DEVCTL_BCR_FLR, 0);
        assert_eq!(s.write(0x49, &[0x80]), Ok(ConfigEffect::FunctionLevelReset));
        assert_eq!(s.write(0x48, &[0xFF]), Ok(ConfigEffect::None));
    }

    #[test]
    fn accesses_outside_the_space_fail() {
        let mut s = space();
        let mut buf = [0; 4];
        assert!(s.read(0xFFC, &mut buf).is_ok());
        assert!(s.read(0xFFE, &mut buf).is_err());
        assert!(s.read(u64::MAX, &mut buf).is_err());
        assert!(s.write(0x1000, &buf).is_err());
    }
}
