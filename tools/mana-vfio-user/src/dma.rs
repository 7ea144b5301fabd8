// SPDX-License-Identifier: GPL-2.0-only

//! Guest memory as the device reaches it: the DMA mappings QEMU announces.
//!
//! With the guest's RAM in shared memory (`memory-backend-memfd,share=on`), each DMA_MAP
//! message carries the file descriptor of a RAM block and the offset of the range in it; the
//! server maps it and reads and writes guest memory directly. Ranges without a descriptor (the
//! BIOS ROMs, which are not shared memory) are recorded but cannot be reached: an access there
//! is a DMA fault, as is any access that is not wholly inside mappings, or a write to a
//! read-only one.
//!
//! The guest changes its memory while the device reads it, so the mapped bytes are only ever
//! copied with raw pointer copies, never borrowed as Rust references.

use std::fmt;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

/// Why a DMA_MAP or DMA_UNMAP was refused.
#[derive(Debug)]
pub enum MapError {
    /// Zero size, or the range wraps around the address space.
    BadRange {
        /// Start of the range.
        iova: u64,
        /// Its size.
        size: u64,
    },
    /// The range overlaps a mapping that exists.
    Overlap {
        /// Start of the range.
        iova: u64,
        /// Its size.
        size: u64,
    },
    /// mmap() of the descriptor failed.
    Mmap {
        /// Start of the range.
        iova: u64,
        /// The error.
        error: std::io::Error,
    },
    /// An unmap that would cut a mapping in two.
    PartialUnmap {
        /// Start of the range.
        iova: u64,
        /// Its size.
        size: u64,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRange { iova, size } => {
                write!(f, "DMA range 0x{iova:x}+0x{size:x} is empty or wraps")
            }
            Self::Overlap { iova, size } => {
                write!(f, "DMA map 0x{iova:x}+0x{size:x} overlaps a mapping")
            }
            Self::Mmap { iova, error } => write!(f, "DMA map at 0x{iova:x}: mmap failed: {error}"),
            Self::PartialUnmap { iova, size } => {
                write!(
                    f,
                    "DMA unmap 0x{iova:x}+0x{size:x} would cut a mapping in two"
                )
            }
        }
    }
}

/// A device access to guest memory that cannot be done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaFault {
    /// The DMA address of the access.
    pub addr: u64,
    /// Its length.
    pub len: usize,
    /// Whether it was a write.
    pub write: bool,
}

impl fmt::Display for DmaFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DMA {} of {} bytes at 0x{:x} outside the mapped guest memory",
            if self.write { "write" } else { "read" },
            self.len,
            self.addr
        )
    }
}

/// What a successful DMA_MAP recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// Guest memory the device can reach.
    Backed,
    /// A range without a descriptor (a ROM): known, unreachable.
    Unbacked,
}

/// A memory mapping of a descriptor, unmapped on drop.
struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: an `Mmap` owns its mapping exclusively and is plain shared memory; moving it to or
// sharing it with another thread is sound because all access goes through raw copies under the
// `GuestMemory` rules (readers hold a shared lock, unmapping needs the exclusive one).
unsafe impl Send for Mmap {}
// SAFETY: see `Send`: `&Mmap` only hands out its address, and copies through it are raw.
unsafe impl Sync for Mmap {}

impl Mmap {
    fn new(file: &File, offset: u64, len: usize, writable: bool) -> std::io::Result<Self> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        // SAFETY: a fresh shared mapping at an address of the kernel's choice: it overlaps
        // nothing of this process, so no existing memory changes; `file` is a valid open
        // descriptor for the duration of the call. The result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        NonNull::new(ptr.cast::<u8>())
            .map(|ptr| Self { ptr, len })
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping `new` created and nothing else unmaps
        // it; no copy is in flight because dropping needs the exclusive `GuestMemory` borrow.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// One DMA mapping.
struct Mapping {
    iova: u64,
    size: u64,
    writable: bool,
    backing: Option<Mmap>,
}

impl Mapping {
    fn end(&self) -> u64 {
        // `map` refuses ranges that wrap.
        self.iova + self.size
    }
}

/// The DMA mappings of the function, sorted by address, never overlapping.
#[derive(Default)]
pub struct GuestMemory {
    maps: Vec<Mapping>,
}

impl GuestMemory {
    /// No mappings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of mappings (backed or not).
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there are no mappings.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// Records the mapping of `size` bytes at `iova`, backed by `file` at `offset` if there is
    /// one. `writable` comes from the map's flags.
    pub fn map(
        &mut self,
        iova: u64,
        size: u64,
        offset: u64,
        writable: bool,
        file: Option<File>,
    ) -> Result<Mapped, MapError> {
        let end = iova.checked_add(size).filter(|_| size > 0);
        let (Some(end), Ok(len)) = (end, usize::try_from(size)) else {
            return Err(MapError::BadRange { iova, size });
        };
        if self.maps.iter().any(|m| iova < m.end() && m.iova < end) {
            return Err(MapError::Overlap { iova, size });
        }
        let backing = match &file {
            Some(file) => Some(
                Mmap::new(file, offset, len, writable)
                    .map_err(|error| MapError::Mmap { iova, error })?,
            ),
            None => None,
        };
        let mapped = if backing.is_some() {
            Mapped::Backed
        } else {
            Mapped::Unbacked
        };
        let at = self.maps.partition_point(|m| m.iova < iova);
        self.maps.insert(
            at,
            Mapping {
                iova,
                size,
                writable,
                backing,
            },
        );
        Ok(mapped)
    }

    /// Drops the mappings inside `size` bytes at `iova` (all of them with `all`); returns how
    /// many went. A range that covers only part of a mapping is refused.
    pub fn unmap(&mut self, iova: u64, size: u64, all: bool) -> Result<usize, MapError> {
        let before = self.maps.len();
        if all {
            self.maps.clear();
            return Ok(before);
        }
        let Some(end) = iova.checked_add(size) else {
            return Err(MapError::BadRange { iova, size });
        };
        let partial = self
            .maps
            .iter()
            .any(|m| iova < m.end() && m.iova < end && (m.iova < iova || m.end() > end));
        if partial {
            return Err(MapError::PartialUnmap { iova, size });
        }
        self.maps.retain(|m| !(m.iova >= iova && m.end() <= end));
        Ok(before - self.maps.len())
    }

    /// The mapping holding `at` and the host address of `at` in it, if `at` is mapped, backed
    /// and (for writes) writable.
    fn locate(&self, at: u64, write: bool) -> Option<(&Mapping, NonNull<u8>)> {
        let m = self
            .maps
            .get(self.maps.partition_point(|m| m.end() <= at))?;
        if m.iova > at || (write && !m.writable) {
            return None;
        }
        let base = m.backing.as_ref()?.ptr;
        // `at - m.iova` < m.size, which fits in usize (checked at map time).
        // SAFETY: the offset is inside the mapping, so the pointer stays in its allocation.
        let ptr = unsafe { base.add((at - m.iova) as usize) };
        Some((m, ptr))
    }

    /// Walks the pieces of `len` bytes at `addr`: calls `f(host pointer, bytes, done so far)`
    /// per mapping crossed, after checking the whole range is mapped, backed and (for writes)
    /// writable. Allocates nothing: it walks twice, first to check, then to copy.
    fn walk(
        &self,
        addr: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(*mut u8, usize, usize),
    ) -> Result<(), DmaFault> {
        let fault = DmaFault { addr, len, write };
        let end = addr.checked_add(len as u64).ok_or(fault)?;
        // First check everything, so a faulting access changes nothing.
        let mut at = addr;
        while at < end {
            let (m, _) = self.locate(at, write).ok_or(fault)?;
            at = end.min(m.end());
        }
        let mut at = addr;
        while at < end {
            let (m, ptr) = self.locate(at, write).ok_or(fault)?;
            let piece_end = end.min(m.end());
            let bytes = (piece_end - at) as usize;
            f(ptr.as_ptr(), bytes, (at - addr) as usize);
            at = piece_end;
        }
        Ok(())
    }

    /// Whether all `len` bytes at `addr` are mapped and backed (an IOMMU's view).
    pub fn is_mapped(&self, addr: u64, len: usize) -> bool {
        self.walk(addr, len, false, |_, _, _| {}).is_ok()
    }

    /// Copies `out.len()` bytes of guest memory at DMA address `addr` into `out`.
    pub fn read(&self, addr: u64, out: &mut [u8]) -> Result<(), DmaFault> {
        let dst = out.as_mut_ptr();
        self.walk(addr, out.len(), false, |src, bytes, done| {
            // SAFETY: `src..src+bytes` is inside a live mapping (`walk` checked it; `&self`
            // keeps the mappings alive), `dst+done..+bytes` is inside `out` (the pieces add up
            // to `out.len()`), and guest memory never overlaps this process's own buffers.
            unsafe { std::ptr::copy_nonoverlapping(src, dst.add(done), bytes) };
        })
    }

    /// Copies `data` to guest memory at DMA address `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
        let src = data.as_ptr();
        self.walk(addr, data.len(), true, |dst, bytes, done| {
            // SAFETY: as in `read`, with the roles swapped; `walk` checked the mapping is
            // writable (mapped with PROT_WRITE).
            unsafe { std::ptr::copy_nonoverlapping(src.add(done), dst, bytes) };
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::memfd;
    use std::io::{Read, Seek, SeekFrom, Write};

    #[test]
    fn reads_and_writes_reach_the_shared_memory() {
        let mut ram = memfd(0x4000);
        let mut mem = GuestMemory::new();
        // Guest addresses 0x10000.. are the memfd's bytes 0x1000..
        assert_eq!(
            mem.map(
                0x10000,
                0x3000,
                0x1000,
                true,
                Some(ram.try_clone().unwrap())
            )
            .unwrap(),
            Mapped::Backed
        );
        mem.write(0x10010, b"mana").unwrap();
        ram.seek(SeekFrom::Start(0x1010)).unwrap();
        let mut seen = [0; 4];
        ram.read_exact(&mut seen).unwrap();
        assert_eq!(&seen, b"mana");
        ram.seek(SeekFrom::Start(0x1020)).unwrap();
        ram.write_all(b"gdma").unwrap();
        let mut out = [0; 4];
        mem.read(0x10020, &mut out).unwrap();
        assert_eq!(&out, b"gdma");
    }

    #[test]
    fn accesses_must_lie_inside_mappings() {
        let ram = memfd(0x2000);
        let mut mem = GuestMemory::new();
        mem.map(0x1000, 0x1000, 0, true, Some(ram)).unwrap();
        let mut buf = [0; 16];
        assert!(mem.read(0x1FF0, &mut buf).is_ok());
        assert!(mem.is_mapped(0x1FF0, 16));
        assert!(!mem.is_mapped(0x1FF8, 16));
        assert!(!mem.is_mapped(0xFFF, 1));
        let fault = mem.read(0x1FF8, &mut buf).unwrap_err();
        assert_eq!(
            fault,
            DmaFault {
                addr: 0x1FF8,
                len: 16,
                write: false
            }
        );
        assert!(mem.read(0xFF8, &mut buf).is_err());
        assert!(mem.write(u64::MAX - 4, &buf).is_err());
        assert!(mem.read(0, &mut buf).is_err());
    }

    #[test]
    fn an_access_may_cross_adjacent_mappings() {
        let ram = memfd(0x2000);
        let mut mem = GuestMemory::new();
        mem.map(0x1000, 0x1000, 0, true, Some(ram.try_clone().unwrap()))
            .unwrap();
        mem.map(0x2000, 0x1000, 0x1000, true, Some(ram)).unwrap();
        mem.write(0x1FFC, b"12345678").unwrap();
        let mut out = [0; 8];
        mem.read(0x1FFC, &mut out).unwrap();
        assert_eq!(&out, b"12345678");
    }

    #[test]
    fn a_faulting_write_changes_nothing() {
        let ram = memfd(0x1000);
        let mut mem = GuestMemory::new();
        mem.map(0x1000, 0x1000, 0, true, Some(ram)).unwrap();
        assert!(mem.write(0x1FFC, b"12345678").is_err());
        let mut out = [0xAA; 4];
        mem.read(0x1FFC, &mut out).unwrap();
        assert_eq!(out, [0; 4]);
    }

    #[test]
    fn rom_ranges_without_a_descriptor_are_accepted_but_unreachable() {
        let mut mem = GuestMemory::new();
        assert_eq!(
            mem.map(0xFFFC_0000, 0x4_0000, 0, false, None).unwrap(),
            Mapped::Unbacked
        );
        let mut buf = [0; 4];
        assert!(mem.read(0xFFFC_0000, &mut buf).is_err());
        assert_eq!(mem.len(), 1);
    }

    #[test]
    fn read_only_mappings_refuse_writes() {
        let ram = memfd(0x1000);
        let mut mem = GuestMemory::new();
        mem.map(0x1000, 0x1000, 0, false, Some(ram)).unwrap();
        let mut buf = [0; 4];
        assert!(mem.read(0x1000, &mut buf).is_ok());
        assert!(mem.write(0x1000, &buf).is_err());
    }

    #[test]
    fn bad_and_overlapping_maps_are_refused() {
        let mut mem = GuestMemory::new();
        assert!(matches!(
            mem.map(0x1000, 0, 0, true, None),
            Err(MapError::BadRange { .. })
        ));
        assert!(matches!(
            mem.map(u64::MAX, 2, 0, true, None),
            Err(MapError::BadRange { .. })
        ));
        mem.map(0x1000, 0x2000, 0, true, None).unwrap();
        assert!(matches!(
            mem.map(0x2000, 0x1000, 0, true, None),
            Err(MapError::Overlap { .. })
        ));
        assert!(matches!(
            mem.map(0, 0x1001, 0, true, None),
            Err(MapError::Overlap { .. })
        ));
        assert!(mem.map(0x3000, 0x1000, 0, true, None).is_ok());
        // An mmap the kernel refuses (offset not page aligned) is an error, not a mapping.
        let ram = memfd(0x2000);
        assert!(matches!(
            mem.map(0x8000, 0x1000, 1, true, Some(ram)),
            Err(MapError::Mmap { .. })
        ));
        assert_eq!(mem.len(), 2);
    }

    #[test]
    fn unmap_takes_whole_mappings_only() {
        let ram = memfd(0x3000);
        let mut mem = GuestMemory::new();
        mem.map(0x1000, 0x1000, 0, true, Some(ram.try_clone().unwrap()))
            .unwrap();
        mem.map(0x2000, 0x2000, 0x1000, true, Some(ram)).unwrap();
        assert!(matches!(
            mem.unmap(0x2000, 0x1000, false),
            Err(MapError::PartialUnmap { .. })
        ));
        assert_eq!(mem.unmap(0x2000, 0x2000, false).unwrap(), 1);
        let mut buf = [0; 4];
        assert!(mem.read(0x2000, &mut buf).is_err());
        assert!(mem.read(0x1000, &mut buf).is_ok());
        assert_eq!(mem.unmap(0, 0, true).unwrap(), 1);
        assert!(mem.is_empty());
    }
}
