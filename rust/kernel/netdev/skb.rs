// SPDX-License-Identifier: GPL-2.0

//! Socket buffers as packet buffers of a network driver.
//!
//! C headers: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h),
//! [`include/linux/if_vlan.h`](srctree/include/linux/if_vlan.h).
//!
//! [`Skb`] owns a `struct sk_buff` and frees it when dropped; [`SkBuff`] is the borrowed view
//! with the accessors. A packet is a linear part (`data()`, `headlen()` bytes) followed by up
//! to `MAX_SKB_FRAGS` page fragments ([`Frag`]); `len()` counts both.

use crate::{
    alloc::Flags,
    bindings,
    device::{
        self,
        Bound, //
    },
    dma::{
        DataDirection,
        DmaAddress, //
    },
    dma_stream::{
        CpuPage,
        SharedPage, //
    },
    error::to_result,
    ffi::c_int,
    netdev::{
        napi::{
            NapiPoll,
            Poll, //
        },
        Device,
        Driver,
        ETH_HLEN, //
    },
    page::{
        Page,
        PAGE_SIZE, //
    },
    prelude::*,
    sync::aref::ARef,
    types::Opaque, //
};
use core::{
    mem::ManuallyDrop,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr::NonNull,
    slice, //
};

/// GSO type: TCP over IPv4 (`SKB_GSO_TCPV4`).
// CAST: The flag is a small positive enumerator.
pub const GSO_TCPV4: u32 = bindings::SKB_GSO_TCPV4 as u32;

/// GSO type: TCP over IPv6 (`SKB_GSO_TCPV6`).
// CAST: The flag is a small positive enumerator.
pub const GSO_TCPV6: u32 = bindings::SKB_GSO_TCPV6 as u32;

/// The most page fragments an [`SkBuff`] can hold (`MAX_SKB_FRAGS`).
pub const MAX_SKB_FRAGS: usize = bindings::MAX_SKB_FRAGS as usize;

/// The bytes a buffer built around memory keeps at its end for the shared info
/// (`SKB_DATA_ALIGN(sizeof(struct skb_shared_info))`).
pub const SKB_SHARED_INFO_SIZE: usize = core::mem::size_of::<bindings::skb_shared_info>()
    .next_multiple_of(bindings::SMP_CACHE_BYTES as usize);

/// Returns the number of references to `page` (`page_ref_count`): 1 while only its owner holds
/// it, more while buffers built on it with [`Skb::build_from_page_frag`] live.
pub fn page_ref_count(page: &Page) -> u32 {
    // SAFETY: `page.as_ptr()` is a valid page.
    let count = unsafe { bindings::page_ref_count(page.as_ptr()) };
    u32::try_from(count).unwrap_or(0)
}

/// The checksum state of a packet (`skb->ip_summed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// No checksum information (`CHECKSUM_NONE`): on receive, the stack verifies it; on
    /// transmit, the checksum is complete.
    None,
    /// The device verified the checksum (`CHECKSUM_UNNECESSARY`), on receive.
    Unnecessary,
    /// The device computed the checksum of the whole packet into `skb->csum`
    /// (`CHECKSUM_COMPLETE`), on receive.
    Complete,
    /// The device must compute the checksum from [`SkBuff::checksum_start_offset`] and store it
    /// at [`SkBuff::csum_offset`] after that (`CHECKSUM_PARTIAL`), on transmit.
    Partial,
}

impl Checksum {
    fn from_raw(raw: u8) -> Self {
        match u32::from(raw) {
            bindings::CHECKSUM_UNNECESSARY => Self::Unnecessary,
            bindings::CHECKSUM_COMPLETE => Self::Complete,
            bindings::CHECKSUM_PARTIAL => Self::Partial,
            _ => Self::None,
        }
    }

    fn as_raw(self) -> u8 {
        let raw = match self {
            Self::None => bindings::CHECKSUM_NONE,
            Self::Unnecessary => bindings::CHECKSUM_UNNECESSARY,
            Self::Complete => bindings::CHECKSUM_COMPLETE,
            Self::Partial => bindings::CHECKSUM_PARTIAL,
        };
        // CAST: The `CHECKSUM_*` values are 0..=3.
        raw as u8
    }
}

/// The layer a receive hash was computed over (`enum pkt_hash_types`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashType {
    /// Over the addresses of the network layer (`PKT_HASH_TYPE_L3`).
    L3,
    /// Over the addresses and ports of the transport layer (`PKT_HASH_TYPE_L4`).
    L4,
}

/// The result of handing a packet to GRO (`gro_result_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroResult {
    /// Merged into a held packet (`GRO_MERGED`, `GRO_MERGED_FREE`).
    Merged,
    /// Held for later merging (`GRO_HELD`).
    Held,
    /// Passed up the stack (`GRO_NORMAL`).
    Normal,
    /// Consumed by GRO (`GRO_CONSUMED`).
    Consumed,
}

impl GroResult {
    pub(crate) fn from_raw(raw: bindings::gro_result_t) -> Self {
        match raw {
            bindings::gro_result_GRO_MERGED | bindings::gro_result_GRO_MERGED_FREE => Self::Merged,
            bindings::gro_result_GRO_HELD => Self::Held,
            bindings::gro_result_GRO_NORMAL => Self::Normal,
            _ => Self::Consumed,
        }
    }
}

/// A socket buffer.
///
/// Wraps the kernel's `struct sk_buff`. Only used by reference, from an [`Skb`] that owns it.
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff`, exclusively owned by the [`Skb`] it is borrowed from.
#[repr(transparent)]
pub struct SkBuff(Opaque<bindings::sk_buff>);

// SAFETY: The methods taking `&self` only read the `sk_buff`, which nothing changes while a
// shared reference exists (its owner is the `Skb` the reference is borrowed from). Everything
// that writes it, the source of `skb_clone()` included ([`Skb::try_clone`]), takes `&mut`.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Returns the raw `struct sk_buff` pointer.
    pub fn as_raw(&self) -> *mut bindings::sk_buff {
        self.0.get()
    }

    fn shinfo(&self) -> *mut bindings::skb_shared_info {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`, which always has a shared info area.
        unsafe { bindings::skb_shinfo(self.as_raw()) }
    }

    /// Returns whether the data of the buffer is shared with a clone (`skb_cloned`), as for
    /// packets the stack keeps for retransmission.
    pub fn is_cloned(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_cloned(self.as_raw()) != 0 }
    }

    /// Returns the length of the packet: linear part and fragments.
    pub fn len(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { (*self.as_raw()).len }
    }

    /// Returns whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the length of the fragments (`skb->data_len`).
    pub fn data_len(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { (*self.as_raw()).data_len }
    }

    /// Returns the length of the linear part (`skb_headlen`).
    pub fn headlen(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_headlen(self.as_raw()) }
    }

    /// Returns the free space before the data (`skb_headroom`).
    pub fn headroom(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_headroom(self.as_raw()) }
    }

    /// Returns the free space after the linear data (`skb_tailroom`); 0 if there are
    /// fragments.
    pub fn tailroom(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        let room = unsafe { bindings::skb_tailroom(self.as_raw()) };
        u32::try_from(room).unwrap_or(0)
    }

    /// Returns the linear part of the packet.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `skb->data` points to `skb_headlen()` initialised bytes owned by the buffer,
        // which the holders of the `sk_buff` only read (a clone sharing them does not write
        // them without unsharing first).
        unsafe { slice::from_raw_parts((*self.as_raw()).data, self.headlen() as usize) }
    }

    /// Returns the linear part of the packet for writing, unsharing it first if it is shared
    /// with a clone (`skb_ensure_writable`).
    pub fn data_mut(&mut self) -> Result<&mut [u8]> {
        let len = self.headlen();
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        to_result(unsafe { bindings::skb_ensure_writable(self.as_raw(), len) })?;
        // SAFETY: The linear part is `headlen()` bytes (unchanged by unsharing), now private
        // to this buffer, and `&mut self` makes the access exclusive.
        Ok(unsafe { slice::from_raw_parts_mut((*self.as_raw()).data, self.headlen() as usize) })
    }

    /// Copies `dst.len()` bytes of the packet from `offset` into `dst`, from the linear part
    /// and the fragments (`skb_copy_bits`).
    pub fn copy_bits(&self, offset: u32, dst: &mut [u8]) -> Result {
        let len = c_int::try_from(dst.len()).map_err(|_| EINVAL)?;
        let offset = c_int::try_from(offset).map_err(|_| EINVAL)?;
        // SAFETY: `self.as_raw()` is valid and `dst` is writable for `len` bytes; the function
        // checks that the range lies within the packet.
        to_result(unsafe {
            bindings::skb_copy_bits(self.as_raw(), offset, dst.as_mut_ptr().cast(), len)
        })
    }

    /// Returns the number of page fragments.
    pub fn nr_frags(&self) -> usize {
        // SAFETY: `self.shinfo()` is valid.
        usize::from(unsafe { (*self.shinfo()).nr_frags })
    }

    /// Returns page fragment `index`, or `None` if there is no such fragment.
    pub fn frag(&self, index: usize) -> Option<&Frag> {
        if index >= self.nr_frags() {
            return None;
        }
        // SAFETY: `index` is below `nr_frags`, which is at most `MAX_SKB_FRAGS`, the length of
        // the array.
        let frag = unsafe {
            (&raw mut (*self.shinfo()).frags)
                .cast::<bindings::skb_frag_t>()
                .add(index)
        };
        // SAFETY: `frag` is an initialised fragment that lives as long as `self`.
        Some(unsafe { &*frag.cast::<Frag>() })
    }

    /// Returns the checksum state.
    pub fn ip_summed(&self) -> Checksum {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        Checksum::from_raw(unsafe { bindings::skb_ip_summed(self.as_raw()) })
    }

    /// Marks the checksum as verified by the device ([`Checksum::Unnecessary`]), on receive.
    pub fn set_csum_unnecessary(&mut self) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_ip_summed(self.as_raw(), Checksum::Unnecessary.as_raw()) }
    }

    /// Clears the checksum state ([`Checksum::None`]).
    pub fn set_csum_none(&mut self) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_ip_summed(self.as_raw(), Checksum::None.as_raw()) }
    }

    /// Marks the packet for checksum offload (`skb_partial_csum_set`): the checksum covers the
    /// data from `start` bytes after `data()` and is stored `offset` bytes after that.
    pub fn set_partial_csum(&mut self, start: u16, offset: u16) -> Result {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own; the function checks the
        // offsets against the linear part.
        if unsafe { bindings::skb_partial_csum_set(self.as_raw(), start, offset) } {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Returns `skb->csum_start`, the start of the checksummed data relative to `skb->head`,
    /// for [`Checksum::Partial`].
    pub fn csum_start(&self) -> u16 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_csum_start(self.as_raw()) }
    }

    /// Returns where the checksum goes, relative to the start of the checksummed data, for
    /// [`Checksum::Partial`].
    pub fn csum_offset(&self) -> u16 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_csum_offset(self.as_raw()) }
    }

    /// Returns the start of the checksummed data relative to `data()`
    /// (`skb_checksum_start_offset`), for [`Checksum::Partial`].
    pub fn checksum_start_offset(&self) -> i32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_checksum_start_offset(self.as_raw()) }
    }

    /// Computes a pending [`Checksum::Partial`] checksum in software (`skb_checksum_help`).
    pub fn checksum_help(&mut self) -> Result {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        to_result(unsafe { bindings::skb_checksum_help(self.as_raw()) })
    }

    /// Returns whether this is a GSO packet that the device must segment (`skb_is_gso`).
    pub fn is_gso(&self) -> bool {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_is_gso(self.as_raw()) }
    }

    /// Returns the GSO segment payload size (MSS).
    pub fn gso_size(&self) -> u16 {
        // SAFETY: `self.shinfo()` is valid.
        unsafe { (*self.shinfo()).gso_size }
    }

    /// Returns the number of GSO segments.
    pub fn gso_segs(&self) -> u16 {
        // SAFETY: `self.shinfo()` is valid.
        unsafe { (*self.shinfo()).gso_segs }
    }

    /// Returns the GSO type, a combination of `SKB_GSO_*` flags such as [`GSO_TCPV4`].
    pub fn gso_type(&self) -> u32 {
        // SAFETY: `self.shinfo()` is valid.
        unsafe { (*self.shinfo()).gso_type }
    }

    /// Sets the GSO information of a received, coalesced packet.
    ///
    /// Fails with `EBUSY` if the shared info is shared with a clone.
    pub fn set_gso(&mut self, size: u16, gso_type: u32, segs: u16) -> Result {
        if self.is_cloned() {
            return Err(EBUSY);
        }
        // SAFETY: The shared info is valid and, the buffer not being cloned, private to it.
        unsafe {
            (*self.shinfo()).gso_size = size;
            (*self.shinfo()).gso_type = gso_type;
            (*self.shinfo()).gso_segs = segs;
        }
        Ok(())
    }

    /// Returns the offset of the network header from `data()` (`skb_network_offset`).
    pub fn network_offset(&self) -> i32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_network_offset(self.as_raw()) }
    }

    /// Returns the offset of the transport header from `data()` (`skb_transport_offset`).
    pub fn transport_offset(&self) -> i32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_transport_offset(self.as_raw()) }
    }

    /// Sets the network header `offset` bytes after `data()` (`skb_set_network_header`).
    pub fn set_network_header(&mut self, offset: u16) -> Result {
        if u32::from(offset) > self.headlen() {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_network_header(self.as_raw(), offset.into()) }
        Ok(())
    }

    /// Sets the transport header `offset` bytes after `data()` (`skb_set_transport_header`).
    pub fn set_transport_header(&mut self, offset: u16) -> Result {
        if u32::from(offset) > self.headlen() {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_transport_header(self.as_raw(), offset.into()) }
        Ok(())
    }

    /// Returns the length of all headers up to the end of the TCP header
    /// (`skb_tcp_all_headers`), for a TCP GSO packet.
    pub fn tcp_all_headers(&self) -> Result<u32> {
        if self.gso_type() & (GSO_TCPV4 | GSO_TCPV6) == 0 {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid TCP GSO `sk_buff`, whose transport header the
        // stack set and whose TCP header lies in the linear part.
        let len = unsafe { bindings::skb_tcp_all_headers(self.as_raw()) };
        u32::try_from(len).map_err(|_| EINVAL)
    }

    /// Returns the protocol (EtherType) of the packet, in host byte order.
    pub fn protocol(&self) -> u16 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        u16::from_be(unsafe { bindings::skb_get_protocol(self.as_raw()) })
    }

    /// Sets the protocol (EtherType) of the packet, in host byte order.
    pub fn set_protocol(&mut self, protocol: u16) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_protocol(self.as_raw(), protocol.to_be()) }
    }

    /// Returns the packet type (`skb->pkt_type`, `PACKET_HOST`, `PACKET_BROADCAST`, ...).
    pub fn pkt_type(&self) -> u8 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_get_pkt_type(self.as_raw()) }
    }

    /// Returns the queue the packet was assigned to (`skb_get_queue_mapping`).
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_get_queue_mapping(self.as_raw()) }
    }

    /// Sets the queue of the packet (`skb_set_queue_mapping`).
    pub fn set_queue_mapping(&mut self, queue: u16) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_queue_mapping(self.as_raw(), queue) }
    }

    /// Records the receive queue a packet arrived on (`skb_record_rx_queue`).
    pub fn record_rx_queue(&mut self, queue: u16) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_record_rx_queue(self.as_raw(), queue) }
    }

    /// Returns the stored flow hash, 0 if none (`skb_get_hash_raw`).
    pub fn hash(&self) -> u32 {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        unsafe { bindings::skb_get_hash_raw(self.as_raw()) }
    }

    /// Stores the flow hash computed by the device (`skb_set_hash`).
    pub fn set_hash(&mut self, hash: u32, hash_type: HashType) {
        let hash_type = match hash_type {
            HashType::L3 => bindings::pkt_hash_types_PKT_HASH_TYPE_L3,
            HashType::L4 => bindings::pkt_hash_types_PKT_HASH_TYPE_L4,
        };
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_hash(self.as_raw(), hash, hash_type) }
    }

    /// Returns the VLAN tag to insert on transmit, or the one stripped on receive.
    pub fn vlan_tag(&self) -> Option<u16> {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`.
        if unsafe { bindings::skb_vlan_tag_present(self.as_raw()) } {
            // SAFETY: `self.as_raw()` is a valid `sk_buff`.
            Some(unsafe { bindings::skb_vlan_tag_get(self.as_raw()) })
        } else {
            None
        }
    }

    /// Records a VLAN tag stripped by the device (`__vlan_hwaccel_put_tag`); `proto` is the
    /// TPID in host byte order.
    pub fn put_vlan_tag(&mut self, proto: u16, tci: u16) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::__vlan_hwaccel_put_tag(self.as_raw(), proto.to_be(), tci) }
    }

    /// Appends `len` bytes to the linear part and returns them (`skb_put`).
    ///
    /// Fails with `EMSGSIZE` if there is not enough tailroom, `EINVAL` if the packet has
    /// fragments and `EBUSY` if the buffer is shared with a clone.
    pub fn put(&mut self, len: u32) -> Result<&mut [u8]> {
        if self.data_len() != 0 {
            return Err(EINVAL);
        }
        if self.is_cloned() {
            return Err(EBUSY);
        }
        if len > self.tailroom() {
            return Err(EMSGSIZE);
        }
        // SAFETY: `self.as_raw()` is a valid, linear `sk_buff` that we own with at least `len`
        // bytes of tailroom.
        let tail = unsafe { bindings::skb_put(self.as_raw(), len) }.cast::<u8>();
        // SAFETY: `tail` points to the `len` bytes just added, which belong to this buffer;
        // the tailroom is never shared with clones.
        Ok(unsafe { slice::from_raw_parts_mut(tail, len as usize) })
    }

    /// Appends `bytes` to the linear part (`skb_put_data`).
    pub fn put_data(&mut self, bytes: &[u8]) -> Result {
        let len = u32::try_from(bytes.len()).map_err(|_| EMSGSIZE)?;
        self.put(len)?.copy_from_slice(bytes);
        Ok(())
    }

    /// Reserves `len` bytes of headroom in an empty buffer (`skb_reserve`).
    pub fn reserve(&mut self, len: u32) -> Result {
        if !self.is_empty() {
            return Err(EINVAL);
        }
        if len > self.tailroom() {
            return Err(EMSGSIZE);
        }
        // SAFETY: `self.as_raw()` is an empty `sk_buff` that we own with at least `len` bytes of
        // tailroom; `len` fits in an `int` since the tailroom does.
        unsafe { bindings::skb_reserve(self.as_raw(), len as c_int) };
        Ok(())
    }

    /// Removes `len` bytes from the start of the linear part (`skb_pull`).
    pub fn pull(&mut self, len: u32) -> Result {
        if len > self.headlen() {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own with at least `len` bytes in
        // its linear part.
        unsafe { bindings::skb_pull(self.as_raw(), len) };
        Ok(())
    }

    /// Prepends `len` bytes to the linear part, from the headroom, and returns them
    /// (`skb_push`). The bytes are uninitialised headroom: fill them.
    ///
    /// Fails with `EBUSY` if the head is shared with a clone.
    pub fn push(&mut self, len: u32) -> Result<&mut [u8]> {
        if len > self.headroom() {
            return Err(EMSGSIZE);
        }
        if self.is_cloned() {
            return Err(EBUSY);
        }
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own, with at least `len` bytes
        // of headroom.
        let head = unsafe { bindings::skb_push(self.as_raw(), len) }.cast::<u8>();
        // SAFETY: `head` points to the `len` bytes now at the start of the data; the head is not
        // shared, so they are private to this buffer. They are plain bytes: any value is valid.
        Ok(unsafe { slice::from_raw_parts_mut(head, len as usize) })
    }

    /// Moves the fragments into the linear part (`skb_linearize`).
    pub fn linearize(&mut self) -> Result {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        to_result(unsafe { bindings::skb_linearize(self.as_raw()) })
    }

    /// Appends `size` bytes at `offset` of `page` as a fragment (`skb_add_rx_frag`), taking
    /// the page; `truesize` is the memory it accounts for.
    ///
    /// Fails with `EMSGSIZE` if the packet has `MAX_SKB_FRAGS` fragments, `EINVAL` if the
    /// range is not within the page and `EBUSY` if the buffer is shared with a clone; the page
    /// is freed in these cases.
    pub fn add_rx_frag(&mut self, page: Page, offset: u32, size: u32, truesize: u32) -> Result {
        if self.is_cloned() {
            return Err(EBUSY);
        }
        let index = self.nr_frags();
        if index >= MAX_SKB_FRAGS {
            return Err(EMSGSIZE);
        }
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        if end as usize > PAGE_SIZE || truesize < size {
            return Err(EINVAL);
        }
        let page = ManuallyDrop::new(page);
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own; `index` is the next free
        // fragment slot and below `MAX_SKB_FRAGS`; the range lies within the page (so the
        // values fit in an `int`), whose reference the buffer takes over.
        unsafe {
            bindings::skb_add_rx_frag(
                self.as_raw(),
                index as c_int,
                page.as_ptr(),
                offset as c_int,
                size as c_int,
                truesize,
            )
        };
        Ok(())
    }

    /// Sets the protocol from the Ethernet header, sets the packet type and device, and pulls
    /// the Ethernet header (`eth_type_trans`).
    pub fn eth_type_trans<T: Driver>(&mut self, dev: &Device<T>) -> Result {
        if (self.headlen() as usize) < ETH_HLEN {
            return Err(EINVAL);
        }
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own with a whole Ethernet header
        // in its linear part; `dev.as_raw()` is a valid `net_device`.
        let protocol = unsafe { bindings::eth_type_trans(self.as_raw(), dev.as_raw()) };
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own.
        unsafe { bindings::skb_set_protocol(self.as_raw(), protocol) };
        Ok(())
    }
}

/// A page fragment of an [`SkBuff`] (`skb_frag_t`).
///
/// The bytes of a fragment may be shared, e.g. with the page cache or a user buffer
/// (zero-copy transmit), so they are only reachable through a copy
/// ([`SkBuff::copy_bits`]) or the page for DMA mapping ([`Frag::page_raw`]).
///
/// # Invariants
///
/// `self.0` is an initialised fragment of a live `sk_buff`.
#[repr(transparent)]
pub struct Frag(Opaque<bindings::skb_frag_t>);

impl Frag {
    /// Returns the length of the fragment in bytes (`skb_frag_size`).
    pub fn len(&self) -> u32 {
        // SAFETY: `self.0` is an initialised fragment.
        unsafe { bindings::skb_frag_size(self.0.get()) }
    }

    /// Returns whether the fragment is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the offset of the fragment in its page (`skb_frag_off`).
    pub fn offset(&self) -> u32 {
        // SAFETY: `self.0` is an initialised fragment.
        unsafe { bindings::skb_frag_off(self.0.get()) }
    }

    /// Returns the page of the fragment (`skb_frag_page`), or null for memory that is not a
    /// page (device memory). The page stays referenced for as long as the buffer lives.
    pub fn page_raw(&self) -> *mut bindings::page {
        // SAFETY: `self.0` is an initialised fragment.
        unsafe { bindings::skb_frag_page(self.0.get()) }
    }
}

/// An owned socket buffer.
///
/// Dropping it frees the buffer as dropped (`dev_kfree_skb_any`, in any context); use
/// [`Skb::consume`] or, in a NAPI poll, [`Skb::napi_consume`] for a packet transmitted
/// successfully.
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` that this object owns (holds a reference of).
pub struct Skb(NonNull<bindings::sk_buff>);

// SAFETY: An `sk_buff` may be handed over and freed on any thread.
unsafe impl Send for Skb {}

// SAFETY: Shared references only reach `&SkBuff`, which is `Sync`.
unsafe impl Sync for Skb {}

impl Skb {
    /// Takes the ownership of a raw `sk_buff`.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid `sk_buff` whose ownership (one reference) the caller gives up.
    pub unsafe fn from_raw(skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self(skb)
    }

    /// Gives up the ownership of the buffer and returns the raw `sk_buff`.
    pub fn into_raw(self) -> NonNull<bindings::sk_buff> {
        ManuallyDrop::new(self).0
    }

    /// Allocates a buffer with `size` bytes of linear space (`alloc_skb`).
    pub fn alloc(size: u32, flags: Flags) -> Result<Self> {
        // SAFETY: Plain allocation.
        let skb = unsafe { bindings::alloc_skb(size, flags.as_raw()) };
        // INVARIANT: A non-null result is a new buffer that we own.
        NonNull::new(skb).map(Self).ok_or(ENOMEM)
    }

    /// Creates a clone that shares the packet data with `self` (`skb_clone`). Both become
    /// [cloned](SkBuff::is_cloned): their data is read-only until unshared.
    ///
    /// Takes `&mut self` because `skb_clone()` writes to its source (the cloned bit, the fast
    /// clone reference count, fragments given their own pages by `skb_orphan_frags()`): two
    /// threads cloning one fast-clone buffer at once could both be handed its companion.
    pub fn try_clone(&mut self, flags: Flags) -> Result<Self> {
        // SAFETY: `self.as_raw()` is a valid `sk_buff`, which `&mut self` gives us exclusive
        // access to for the writes of `skb_clone()`.
        let skb = unsafe { bindings::skb_clone(self.as_raw(), flags.as_raw()) };
        // INVARIANT: A non-null result is a new buffer that we own.
        NonNull::new(skb).map(Self).ok_or(ENOMEM)
    }

    /// Builds a buffer around `page` (`build_skb`): the packet is the `len` bytes at
    /// `headroom`, already written into the page (e.g. by the device); the end of the page
    /// holds the shared info. The buffer takes the page over; on failure the page is freed.
    pub fn build_from_page(page: Page, headroom: u32, len: u32) -> Result<Self> {
        // SAFETY: `page.as_ptr()` is a page we own, mapped in the kernel's linear map.
        let data = unsafe { bindings::page_address(page.as_ptr()) };
        Self::check_frag(0, PAGE_SIZE as u32, headroom, len)?;
        // SAFETY: `data` is the start of a whole page we own, with room for the shared info
        // after `headroom + len` (checked above); the buffer takes the page reference over.
        let skb = unsafe { bindings::build_skb(data, PAGE_SIZE as u32) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        core::mem::forget(page);
        // INVARIANT: `build_skb()` returned a new buffer that we own.
        let mut skb = Self(skb);
        skb.reserve(headroom)?;
        skb.put(len)?;
        Ok(skb)
    }

    /// Checks that the fragment `offset..offset + frag_size` of a page is cache-line aligned,
    /// within the page, and holds `headroom + len` bytes and the shared info.
    pub(crate) fn check_frag(offset: u32, frag_size: u32, headroom: u32, len: u32) -> Result {
        Self::check_frag_in(PAGE_SIZE, offset, frag_size, headroom, len)
    }

    /// [`Skb::check_frag`] for memory of `size` bytes.
    fn check_frag_in(size: usize, offset: u32, frag_size: u32, headroom: u32, len: u32) -> Result {
        let align = bindings::SMP_CACHE_BYTES as usize;
        let (offset, frag_size) = (offset as usize, frag_size as usize);
        if offset % align != 0 || frag_size % align != 0 || frag_size == 0 {
            return Err(EINVAL);
        }
        if offset.checked_add(frag_size).ok_or(EINVAL)? > size {
            return Err(EINVAL);
        }
        let shinfo = core::mem::size_of::<bindings::skb_shared_info>().next_multiple_of(align);
        let used = (headroom as usize)
            .checked_add(len as usize)
            .ok_or(EINVAL)?;
        if used.checked_add(shinfo).ok_or(EINVAL)? > frag_size {
            return Err(EMSGSIZE);
        }
        Ok(())
    }

    /// Builds a buffer around the fragment `offset..offset + frag_size` of `page` (`build_skb`),
    /// which the caller keeps, to recycle it: the packet is the `len` bytes at `offset +
    /// headroom`, already written; the end of the fragment holds the shared info. The buffer
    /// holds a reference to the page until it is freed; [`page_ref_count`] tells when the stack
    /// is done with it.
    ///
    /// `offset` and `frag_size` must be multiples of the cache line size.
    ///
    /// # Safety
    ///
    /// The fragment must not be part of another live buffer, and must not be written, by the
    /// CPU or a device, until the returned buffer and its clones are freed (the page reference
    /// count drops back).
    pub unsafe fn build_from_page_frag(
        page: &Page,
        offset: u32,
        frag_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<Self> {
        Self::check_frag(offset, frag_size, headroom, len)?;
        // SAFETY: `page.as_ptr()` is a valid page, mapped in the kernel's linear map; `offset` is
        // within it (checked above).
        let data = unsafe { bindings::page_address(page.as_ptr()).byte_add(offset as usize) };
        // SAFETY: `page` is valid; the reference is the buffer's, dropped when it frees its head.
        unsafe { bindings::get_page(page.as_ptr()) };
        // SAFETY: `data` starts a cache-aligned fragment of `frag_size` bytes of the page with
        // room for the shared info (checked above) that no other buffer uses and nothing writes
        // (see the safety requirements); the buffer takes the reference taken above.
        let skb = unsafe { bindings::build_skb(data, frag_size) };
        let Some(skb) = NonNull::new(skb) else {
            // SAFETY: Drops the reference taken above, which the buffer did not take.
            unsafe { bindings::put_page(page.as_ptr()) };
            return Err(ENOMEM);
        };
        // INVARIANT: `build_skb()` returned a new buffer that we own.
        let mut skb = Self(skb);
        skb.reserve(headroom)?;
        skb.put(len)?;
        Ok(skb)
    }

    /// Builds a buffer around the fragment `offset..offset + frag_size` of `page` (`build_skb`)
    /// for a driver that recycles its receive pages: the packet is the `len` bytes at `offset +
    /// headroom`, already written (by the device, and synced for the CPU); the end of the
    /// fragment holds the shared info. The buffer takes a reference to the page, which the
    /// caller keeps: once [`SharedPage::is_unshared`] holds again, the stack is done with the
    /// packet and the page can be given to the device again.
    ///
    /// The page may be a compound page (one buffer of a jumbo frame). Fails with `EBUSY` if
    /// anything else holds the page (a previous buffer still lives), `EINVAL` if the fragment
    /// is not within the page or not cache-line aligned, `EMSGSIZE` if it cannot hold the
    /// packet and the shared info, and `ENOMEM`.
    ///
    /// The handle is borrowed exclusively and must hold the only reference: nothing else, a
    /// device model writing through [`SharedPage::device_write`] included, can then touch the
    /// bytes the buffer hands out, and while the buffer lives the page is shared, which every
    /// writer through a handle refuses. For a page mapped for a device, use
    /// [`CpuPage::build_skb`](crate::dma_stream::CpuPage::build_skb) on the mapping's
    /// `cpu_page()`, which also knows whether the device still owns the bytes.
    pub fn build_from_shared_page(
        page: &mut SharedPage,
        offset: u32,
        frag_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<Self> {
        Self::build_on_cpu_page(&mut page.cpu(), offset, frag_size, headroom, len)
    }

    /// [`CpuPage::build_skb`](crate::dma_stream::CpuPage::build_skb).
    pub(crate) fn build_on_cpu_page(
        cpu: &mut CpuPage<'_>,
        offset: u32,
        frag_size: u32,
        headroom: u32,
        len: u32,
    ) -> Result<Self> {
        let page = cpu.page();
        Self::check_frag_in(page.size(), offset, frag_size, headroom, len)?;
        if !page.is_unshared() {
            return Err(EBUSY);
        }
        let buffer = page.clone();
        // SAFETY: `page` is a valid page in the linear map, `size()` contiguous bytes, and
        // `offset` is within them (checked above).
        let data = unsafe { bindings::page_address(page.as_ptr()).byte_add(offset as usize) };
        // SAFETY: `data` starts a cache-aligned fragment of `frag_size` bytes of the page with
        // room for the shared info (checked above). No other buffer uses the page, and nothing
        // else reads or writes it: the CPU's access, borrowed exclusively, keeps devices and
        // device models out (type invariant of `CpuPage`), and its handle held the only
        // reference. The buffer takes over the reference of `buffer`.
        let skb = unsafe { bindings::build_skb(data, frag_size) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        core::mem::forget(buffer);
        // INVARIANT: `build_skb()` returned a new buffer that we own.
        let mut skb = Self(skb);
        skb.reserve(headroom)?;
        skb.put(len)?;
        Ok(skb)
    }

    pub(crate) fn set_dev_raw(&mut self, dev: *mut bindings::net_device) {
        // SAFETY: `self.as_raw()` is a valid `sk_buff` that we own; `dev` is the caller's valid
        // device, which holds the packets it transmits until they are freed.
        unsafe { bindings::skb_set_dev(self.as_raw(), dev) }
    }

    /// Frees a packet that was transmitted successfully (`dev_consume_skb_any`), in any
    /// context.
    pub fn consume(self) {
        // SAFETY: We own the buffer and give it up.
        unsafe { bindings::dev_consume_skb_any(self.into_raw().as_ptr()) }
    }

    /// Frees a transmitted packet from a NAPI poll into the per-CPU cache
    /// (`napi_consume_skb`), which the poll proves is usable.
    pub fn napi_consume<P: Poll>(self, poll: &NapiPoll<'_, P>) {
        // SAFETY: We own the buffer and give it up. The poll runs with bottom halves disabled,
        // as the per-CPU cache requires for a non-zero budget; with a zero budget (netpoll) the
        // function frees the buffer the ordinary way.
        unsafe { bindings::napi_consume_skb(self.into_raw().as_ptr(), poll.budget()) }
    }

    /// Hands a received packet to the stack from any context, outside of NAPI (`netif_rx`).
    pub fn receive(self) {
        // SAFETY: We own the buffer and give it up; `netif_rx()` may be called in any context.
        unsafe { bindings::netif_rx(self.into_raw().as_ptr()) };
    }
}

impl Deref for Skb {
    type Target = SkBuff;

    fn deref(&self) -> &SkBuff {
        // SAFETY: By the type invariant, `self.0` is a valid `sk_buff` we own; `SkBuff` is a
        // transparent wrapper.
        unsafe { &*self.0.as_ptr().cast() }
    }
}

impl DerefMut for Skb {
    fn deref_mut(&mut self) -> &mut SkBuff {
        // SAFETY: As in `deref`; `&mut self` makes the access exclusive.
        unsafe { &mut *self.0.as_ptr().cast() }
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the buffer; it is not used after this.
        unsafe { bindings::dev_kfree_skb_any(self.0.as_ptr()) }
    }
}

/// The most parts of a [`MappedSkb`]: the linear part and every fragment.
pub const MAX_SKB_PARTS: usize = MAX_SKB_FRAGS + 1;

/// A buffer whose parts (the linear part, then each fragment, empty parts left out) are mapped
/// for a device to read, for transmit (`dma_map_single` and `skb_frag_dma_map` with
/// `DMA_TO_DEVICE`).
///
/// It owns the buffer, so nothing changes or frees the bytes while the device may read them.
/// Dropping it unmaps the parts and frees the buffer (as dropped); [`MappedSkb::into_skb`]
/// unmaps them and gives the buffer back (to consume it after a successful transmit).
///
/// # Invariants
///
/// The first `count` entries of `parts` are mappings for `dev` (`DMA_TO_DEVICE`) of the parts
/// of `skb`, which is `Some` until the mappings are undone.
pub struct MappedSkb {
    skb: Option<Skb>,
    dev: ARef<device::Device>,
    parts: [(DmaAddress, u32); MAX_SKB_PARTS],
    count: usize,
}

impl MappedSkb {
    /// Maps the parts of `skb` for `dev`. Does not sleep.
    ///
    /// On failure the buffer is freed: `EINVAL` for a fragment that is not in host memory
    /// (device memory, `net_iov`), `ENOMEM` if a mapping failed. A driver that keeps its
    /// mappings in ring slots uses [`MappedSkb::map_into`], which builds none on the stack.
    pub fn new(dev: &device::Device<Bound>, skb: Skb) -> Result<Self> {
        let mut slot = None;
        Self::map_into(&mut slot, dev, skb)?;
        slot.ok_or(EINVAL)
    }

    /// Maps the parts of `skb` for `dev` into `slot` (a driver's ring entry, which must be
    /// empty: `EBUSY` otherwise, and the buffer is freed), writing each part's address in
    /// place, and returns the mapping. Does not sleep.
    ///
    /// On failure the slot is left empty and the buffer freed: `EINVAL` for a fragment that is
    /// not in host memory (device memory, `net_iov`), `ENOMEM` if a mapping failed.
    pub fn map_into<'a>(
        slot: &'a mut Option<Self>,
        dev: &device::Device<Bound>,
        skb: Skb,
    ) -> Result<&'a Self> {
        if slot.is_some() {
            return Err(EBUSY);
        }
        // INVARIANT: No part is mapped yet (`count` is 0).
        let mapped = slot.insert(Self {
            skb: Some(skb),
            dev: dev.into(),
            parts: [(0, 0); MAX_SKB_PARTS],
            count: 0,
        });
        let result = mapped.map_parts(dev);
        if result.is_err() {
            // Unmaps what was mapped and frees the buffer.
            *slot = None;
        }
        result?;
        slot.as_ref().ok_or(EINVAL)
    }

    /// Maps the parts of the buffer, counting each in `count` as it is mapped.
    fn map_parts(&mut self, dev: &device::Device<Bound>) -> Result {
        let dir: bindings::dma_data_direction = DataDirection::ToDevice.into();
        let Some(skb) = self.skb.as_ref() else {
            return Err(EINVAL);
        };
        let head = skb.headlen();
        if head > 0 {
            let ptr = skb.data().as_ptr().cast_mut().cast();
            // SAFETY: `ptr` starts the `head` bytes of the linear part, which is in the linear
            // map (slab or page memory, never vmalloc) and which the buffer, owned by `self`,
            // keeps until the mapping is undone.
            let addr =
                unsafe { bindings::dma_map_single_attrs(dev.as_raw(), ptr, head as usize, dir, 0) };
            // SAFETY: `addr` was just returned for `dev`.
            if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
                return Err(ENOMEM);
            }
            // INVARIANT: The first part is mapped, and counted.
            self.parts[0] = (addr, head);
            self.count = 1;
        }
        for i in 0..skb.nr_frags() {
            let Some(frag) = skb.frag(i) else { break };
            let len = frag.len();
            if len == 0 {
                continue;
            }
            let page = frag.page_raw();
            if page.is_null() || self.count >= MAX_SKB_PARTS {
                return Err(EINVAL);
            }
            // SAFETY: `page` is the fragment's page, referenced by the buffer (owned by
            // `self`) until the mapping is undone; offset and length are the fragment's.
            let addr = unsafe {
                bindings::dma_map_page_attrs(
                    dev.as_raw(),
                    page,
                    frag.offset() as usize,
                    len as usize,
                    dir,
                    0,
                )
            };
            // SAFETY: `addr` was just returned for `dev`.
            if unsafe { bindings::dma_mapping_error(dev.as_raw(), addr) } != 0 {
                return Err(ENOMEM);
            }
            // INVARIANT: One more part mapped, and counted (`count` is below the number of
            // parts, checked above, so the entry exists).
            if let Some(part) = self.parts.get_mut(self.count) {
                *part = (addr, len);
                self.count += 1;
            }
        }
        Ok(())
    }

    /// The device address and length of each part, in packet order.
    pub fn parts(&self) -> &[(DmaAddress, u32)] {
        self.parts.get(..self.count).unwrap_or(&[])
    }

    /// The buffer (read only: the device may be reading it).
    pub fn skb(&self) -> Option<&SkBuff> {
        self.skb.as_deref()
    }

    fn unmap(&mut self) {
        let dir: bindings::dma_data_direction = DataDirection::ToDevice.into();
        for &(addr, len) in self.parts() {
            // SAFETY: By the type invariant, `addr` maps `len` bytes for `dev` in this direction;
            // it is forgotten below.
            unsafe {
                bindings::dma_unmap_page_attrs(self.dev.as_raw(), addr, len as usize, dir, 0)
            };
        }
        self.count = 0;
    }

    /// Unmaps the parts and gives the buffer back.
    pub fn into_skb(mut self) -> Option<Skb> {
        self.unmap();
        self.skb.take()
    }
}

impl Drop for MappedSkb {
    fn drop(&mut self) {
        // The buffer (if still here) is freed after this, when the field is dropped.
        self.unmap();
    }
}
