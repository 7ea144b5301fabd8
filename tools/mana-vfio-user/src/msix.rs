// SPDX-License-Identifier: GPL-2.0-only

//! MSI-X: the table and pending bit array in their own BAR, and the eventfds that deliver the
//! vectors.
//!
//! QEMU's vfio-user client emulates the MSI-X table the guest programs (it reads the placement
//! from the capability) and hands the server one eventfd per vector with SET_IRQS
//! (`VFIO_PCI_MSIX_IRQ_INDEX`, `ACTION_TRIGGER`, `DATA_EVENTFD`, one vector per message). It masks
//! a vector by routing its eventfd elsewhere, so the server does not gate on its own copy of the
//! table: raising a vector writes its eventfd. A vector raised while it has no eventfd is
//! remembered in the PBA and delivered when one arrives.
//!
//! The table and PBA in the BAR keep the PCI semantics for accesses that reach the server:
//! entries are dword or qword accessed, only bit 0 (mask) of the vector control dword is
//! writable and every entry starts masked, the PBA is read-only.

use std::fmt;
use std::fs::File;
use std::io::Write;

/// Vectors of the function (as a MANA VF has: one for the hardware channel, the rest for
/// queues).
pub const MSIX_VECTORS: usize = 64;
/// The BAR holding the table and the PBA.
pub const MSIX_BAR_INDEX: usize = 2;
/// Offset of the table in its BAR.
pub const MSIX_TABLE_OFFSET: u64 = 0;
/// Bytes of one table entry.
pub const MSIX_ENTRY_SIZE: u64 = 16;
/// Offset of the PBA in its BAR: the page after the table.
pub const MSIX_PBA_OFFSET: u64 = 0x1000;
/// Bytes of the PBA (one bit per vector, in qwords).
pub const MSIX_PBA_SIZE: u64 = (MSIX_VECTORS as u64).div_ceil(64) * 8;
/// Size of the BAR: two pages.
pub const MSIX_BAR_SIZE: u64 = 0x2000;

// The table and the PBA do not overlap and fit in their BAR, which PCI sizes as a power of two.
const _: () = assert!(MSIX_TABLE_OFFSET + MSIX_VECTORS as u64 * MSIX_ENTRY_SIZE <= MSIX_PBA_OFFSET);
const _: () = assert!(MSIX_PBA_OFFSET + MSIX_PBA_SIZE <= MSIX_BAR_SIZE);
const _: () = assert!(MSIX_BAR_SIZE.is_power_of_two() && MSIX_BAR_SIZE >= 4096);

/// The vector control bit that masks the entry.
const VECTOR_CONTROL_MASK: u32 = 1;

/// An access to the MSI-X BAR that the function refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// Not a naturally aligned dword or qword inside the table or the PBA.
    BadAccess {
        /// Offset of the access in the BAR.
        offset: u64,
        /// Bytes of the access.
        len: usize,
    },
    /// A write to the read-only PBA.
    PbaWrite {
        /// Offset of the access in the BAR.
        offset: u64,
    },
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadAccess { offset, len } => write!(
                f,
                "MSI-X BAR access of {len} bytes at 0x{offset:x}: not an aligned dword or qword of the table or PBA"
            ),
            Self::PbaWrite { offset } => write!(f, "write to the read-only MSI-X PBA at 0x{offset:x}"),
        }
    }
}

/// Raising a vector that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSuchVector(pub u16);

impl fmt::Display for NoSuchVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MSI-X vector {} does not exist (the function has {MSIX_VECTORS})",
            self.0
        )
    }
}

/// What raising a vector did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Its eventfd was signalled.
    Signalled,
    /// It has no eventfd: its pending bit is set.
    Pending,
    /// Its eventfd could not be written (counted by the caller as a lost interrupt).
    Failed,
}

/// The MSI-X state of the function.
pub struct Msix {
    /// Per entry: message address low, high, data, vector control.
    table: [[u32; 4]; MSIX_VECTORS],
    /// The pending bits, one per vector.
    pending: u64,
    /// Per vector: the eventfd QEMU gave for it.
    triggers: Vec<Option<File>>,
}

impl Default for Msix {
    fn default() -> Self {
        Self::new()
    }
}

impl Msix {
    /// The reset state: every entry masked, nothing pending, no eventfds.
    pub fn new() -> Self {
        Self {
            table: [[0, 0, 0, VECTOR_CONTROL_MASK]; MSIX_VECTORS],
            pending: 0,
            triggers: (0..MSIX_VECTORS).map(|_| None).collect(),
        }
    }

    /// A function reset: the table and PBA go back to their reset state; the eventfds stay
    /// (they are QEMU's wiring, which it changes with SET_IRQS).
    pub fn reset(&mut self) {
        self.table = [[0, 0, 0, VECTOR_CONTROL_MASK]; MSIX_VECTORS];
        self.pending = 0;
    }

    /// Which table dword or PBA qword an access addresses.
    fn locate(offset: u64, len: usize) -> Result<Location, AccessError> {
        let bad = AccessError::BadAccess { offset, len };
        if !matches!(len, 4 | 8) || !offset.is_multiple_of(len as u64) {
            return Err(bad);
        }
        let table_end = MSIX_TABLE_OFFSET + MSIX_VECTORS as u64 * MSIX_ENTRY_SIZE;
        let end = offset.checked_add(len as u64).ok_or(bad)?;
        if let Some(in_table) = offset
            .checked_sub(MSIX_TABLE_OFFSET)
            .filter(|_| end <= table_end)
        {
            let dword = (in_table / 4) as usize;
            return Ok(Location::Table {
                entry: dword / 4,
                dword: dword % 4,
            });
        }
        if offset >= MSIX_PBA_OFFSET && end <= MSIX_PBA_OFFSET + MSIX_PBA_SIZE {
            return Ok(Location::Pba {
                byte: (offset - MSIX_PBA_OFFSET) as usize,
            });
        }
        Err(bad)
    }

    /// Reads a dword or qword of the table or the PBA.
    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), AccessError> {
        match Self::locate(offset, out.len())? {
            Location::Table { entry, dword } => {
                for (i, chunk) in out.chunks_exact_mut(4).enumerate() {
                    chunk.copy_from_slice(&self.table[entry][dword + i].to_le_bytes());
                }
            }
            Location::Pba { byte } => {
                let bytes = self.pending.to_le_bytes();
                out.copy_from_slice(&bytes[byte..byte + out.len()]);
            }
        }
        Ok(())
    }

    /// Writes a dword or qword of the table; the PBA is read-only.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), AccessError> {
        match Self::locate(offset, data.len())? {
            Location::Table { entry, dword } => {
                for (i, chunk) in data.chunks_exact(4).enumerate() {
                    let mut b = [0; 4];
                    b.copy_from_slice(chunk);
                    let value = u32::from_le_bytes(b);
                    let slot = &mut self.table[entry][dword + i];
                    // Vector control: only the mask bit is defined; the rest reads 0.
                    *slot = if dword + i == 3 {
                        value & VECTOR_CONTROL_MASK
                    } else {
                        value
                    };
                }
                Ok(())
            }
            Location::Pba { .. } => Err(AccessError::PbaWrite { offset }),
        }
    }

    /// Whether `vector` waits for an eventfd.
    pub fn is_pending(&self, vector: u16) -> bool {
        usize::from(vector) < MSIX_VECTORS && self.pending & (1 << vector) != 0
    }

    /// Gives `vector` the eventfd `trigger` (or takes it away with `None`); a vector raised
    /// while it had none is delivered now. Returns what happened to a pending one.
    pub fn set_trigger(
        &mut self,
        vector: u16,
        trigger: Option<File>,
    ) -> Result<Option<Delivery>, NoSuchVector> {
        let slot = self
            .triggers
            .get_mut(usize::from(vector))
            .ok_or(NoSuchVector(vector))?;
        *slot = trigger;
        if slot.is_some() && self.pending & (1 << vector) != 0 {
            return self.raise(vector).map(Some);
        }
        Ok(None)
    }

    /// Takes every eventfd away (SET_IRQS with DATA_NONE and count 0: MSI-X disabled).
    pub fn clear_triggers(&mut self) {
        self.triggers.iter_mut().for_each(|t| *t = None);
    }

    /// How many vectors have an eventfd.
    pub fn triggers_set(&self) -> usize {
        self.triggers.iter().filter(|t| t.is_some()).count()
    }

    /// Raises `vector`: signals its eventfd, or marks it pending when it has none.
    pub fn raise(&mut self, vector: u16) -> Result<Delivery, NoSuchVector> {
        let slot = self
            .triggers
            .get_mut(usize::from(vector))
            .ok_or(NoSuchVector(vector))?;
        let Some(trigger) = slot else {
            self.pending |= 1 << vector;
            return Ok(Delivery::Pending);
        };
        self.pending &= !(1 << vector);
        // An eventfd takes an 8-byte counter increment.
        match trigger.write(&1u64.to_ne_bytes()) {
            Ok(8) => Ok(Delivery::Signalled),
            _ => Ok(Delivery::Failed),
        }
    }
}

/// Where an access of the MSI-X BAR lands.
enum Location {
    /// A table entry's dword (0: address low, 1: high, 2: data, 3: vector control).
    Table { entry: usize, dword: usize },
    /// A byte of the PBA.
    Pba { byte: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::eventfd;
    use std::io::Read;

    fn read32(m: &Msix, offset: u64) -> u32 {
        let mut b = [0; 4];
        m.read(offset, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    fn read64(m: &Msix, offset: u64) -> u64 {
        let mut b = [0; 8];
        m.read(offset, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    fn count(fd: &mut File) -> u64 {
        let mut b = [0; 8];
        match fd.read(&mut b) {
            Ok(8) => u64::from_ne_bytes(b),
            _ => 0,
        }
    }

    #[test]
    fn entries_start_masked_and_only_the_mask_bit_is_writable() {
        let mut m = Msix::new();
        for v in 0..MSIX_VECTORS as u64 {
            assert_eq!(read32(&m, v * 16 + 12), 1);
        }
        m.write(16 + 12, &0xFFFF_FFFEu32.to_le_bytes()).unwrap();
        assert_eq!(read32(&m, 16 + 12), 0);
        m.write(16, &0xFEE0_1000_0000_0000u64.to_le_bytes())
            .unwrap();
        m.write(16, &0x0000_0000_FEE0_1000u64.to_le_bytes())
            .unwrap();
        m.write(16 + 8, &0x41u32.to_le_bytes()).unwrap();
        assert_eq!(read64(&m, 16), 0xFEE0_1000);
        assert_eq!(read32(&m, 16 + 8), 0x41);
    }

    #[test]
    fn bad_accesses_are_refused() {
        let mut m = Msix::new();
        let mut b = [0; 2];
        assert!(m.read(0, &mut b).is_err());
        assert!(m.write(2, &[0; 4]).is_err());
        assert!(m.write(4, &[0; 8]).is_err(), "qwords are qword aligned");
        assert!(m.write(0x400, &[0; 4]).is_err(), "between table and PBA");
        assert!(m.write(MSIX_PBA_OFFSET + 8, &[0; 4]).is_err());
        assert_eq!(
            m.write(MSIX_PBA_OFFSET, &[0xFF; 8]),
            Err(AccessError::PbaWrite {
                offset: MSIX_PBA_OFFSET
            })
        );
        assert_eq!(read64(&m, MSIX_PBA_OFFSET), 0);
    }

    #[test]
    fn raise_signals_the_eventfd() {
        let mut m = Msix::new();
        let mut fd = eventfd();
        m.set_trigger(5, Some(fd.try_clone().unwrap())).unwrap();
        assert_eq!(m.raise(5), Ok(Delivery::Signalled));
        assert_eq!(m.raise(5), Ok(Delivery::Signalled));
        assert_eq!(count(&mut fd), 2);
        assert_eq!(read64(&m, MSIX_PBA_OFFSET), 0);
    }

    #[test]
    fn raise_without_eventfd_is_pending_until_one_arrives() {
        let mut m = Msix::new();
        assert_eq!(m.raise(63), Ok(Delivery::Pending));
        assert!(m.is_pending(63));
        assert_eq!(read64(&m, MSIX_PBA_OFFSET), 1 << 63);
        let mut fd = eventfd();
        assert_eq!(
            m.set_trigger(63, Some(fd.try_clone().unwrap())),
            Ok(Some(Delivery::Signalled))
        );
        assert!(!m.is_pending(63));
        assert_eq!(count(&mut fd), 1);
        m.clear_triggers();
        assert_eq!(m.triggers_set(), 0);
        assert_eq!(m.raise(63), Ok(Delivery::Pending));
    }

    #[test]
    fn vectors_past_64_do_not_exist() {
        let mut m = Msix::new();
        assert_eq!(m.raise(64), Err(NoSuchVector(64)));
        assert_eq!(m.set_trigger(64, Some(eventfd())), Err(NoSuchVector(64)));
        assert!(!m.is_pending(64));
    }

    #[test]
    fn reset_masks_every_entry_and_clears_the_pba() {
        let mut m = Msix::new();
        m.write(12, &0u32.to_le_bytes()).unwrap();
        m.raise(1).unwrap();
        m.reset();
        assert_eq!(read32(&m, 12), 1);
        assert_eq!(read64(&m, MSIX_PBA_OFFSET), 0);
    }
}
