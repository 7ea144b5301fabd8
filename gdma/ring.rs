// SPDX-License-Identifier: GPL-2.0-only

//! Reading the rings the device writes: event queues and completion queues.
//!
//! The device writes an entry's body first and its owner bits last. The owner bits of the entry
//! at ring position `index` tell whether it was written in the current pass of the ring (new),
//! in the previous one (nothing new yet) or in a later one (the device overran the driver). The
//! reader therefore copies the owner bits first and the body only when they say the entry is
//! new; every read is a separate copy out of device memory ([`DmaBuf`]), so the device cannot
//! change what the driver checked.

use kernel::{
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    }, //
};

use crate::{
    dma::DmaBuf,
    wire::queue::{
        self,
        check_owner,
        Cqe,
        CqeInfo,
        Eqe,
        EqeInfo,
        OwnerCheck,
        RingEntries, //
    }, //
};

/// What a ring holds at one position.
pub enum RingRead<T> {
    /// An entry the device wrote in this pass of the ring.
    Entry(T),
    /// Nothing new yet (or the entry could not be read).
    Empty,
    /// The device wrote past entries the driver had not read.
    Overflow,
}

/// Reads the entry of type `T` at position `index` of a ring of `entries` entries of `size`
/// bytes in `mem`, whose owner bits are in the `I` at `info_offset` within the entry.
fn read_entry<T, I>(
    mem: &DmaBuf,
    index: u32,
    entries: RingEntries,
    size: u32,
    info_offset: usize,
    owner_bits: impl Fn(&I) -> u32,
) -> RingRead<T>
where
    T: FromBytes + AsBytes + Zeroable,
    I: FromBytes + AsBytes + Zeroable,
{
    // A slot below 2^24 times an entry of at most 64 bytes: no overflow.
    let offset = (entries.slot(index) as usize).wrapping_mul(size as usize);
    let Ok(info) = mem.read_obj::<I>(offset.wrapping_add(info_offset)) else {
        return RingRead::Empty;
    };
    match check_owner(owner_bits(&info), index, entries) {
        OwnerCheck::Empty => RingRead::Empty,
        OwnerCheck::Overflow => RingRead::Overflow,
        OwnerCheck::Valid => mem
            .read_obj::<T>(offset)
            .map_or(RingRead::Empty, RingRead::Entry),
    }
}

/// Reads the event at position `index` of the `entries`-entry event queue in `mem`.
pub fn read_eqe(mem: &DmaBuf, index: u32, entries: RingEntries) -> RingRead<Eqe> {
    read_entry(
        mem,
        index,
        entries,
        queue::EQE_SIZE,
        queue::EVENT_DATA_SIZE,
        |info: &EqeInfo| info.owner_bits().get(),
    )
}

/// Reads the completion at position `index` of the `entries`-entry completion queue in `mem`.
pub fn read_cqe(mem: &DmaBuf, index: u32, entries: RingEntries) -> RingRead<Cqe> {
    read_entry(
        mem,
        index,
        entries,
        queue::CQE_SIZE,
        queue::COMP_DATA_SIZE,
        |info: &CqeInfo| info.owner_bits().get(),
    )
}
