// SPDX-License-Identifier: GPL-2.0-only

//! Frames on the wire of the model: Ethernet/IP parsing, the checksums the device verifies and
//! offloads, and the RSS hash (Toeplitz) that picks the receive queue.
//!
//! Every function here takes a frame the driver sent, so none of them may panic on any input:
//! every access is bounds-checked (`get`), every offset sum checked; a frame too short for what
//! a function needs gets the neutral answer (no parse, checksum not OK, hash 0, no change).

use mana_wire::mana_msgs::{
    hash_type,
    HASH_KEY_SIZE, //
};

/// The Ethernet header length.
pub const ETH_HLEN: usize = 14;
/// The EtherType of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// The EtherType of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// The EtherType of an 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// The IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// The IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// The headers of an IPv4 or IPv6 frame, as [`parse`] found them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Offset of the L3 header.
    pub l3: usize,
    /// IPv4.
    pub is_v4: bool,
    /// IPv6.
    pub is_v6: bool,
    /// The L4 protocol.
    pub proto: u8,
    /// Offset of the L4 header.
    pub l4: usize,
}

/// The big-endian `u16` at `off`, 0 past the end.
pub fn be16(b: &[u8], off: usize) -> u16 {
    match b.get(off..).and_then(<[u8]>::first_chunk::<2>) {
        Some(s) => u16::from_be_bytes(*s),
        None => 0,
    }
}

/// The big-endian `u32` at `off`, 0 past the end.
pub fn be32(b: &[u8], off: usize) -> u32 {
    match b.get(off..).and_then(<[u8]>::first_chunk::<4>) {
        Some(s) => u32::from_be_bytes(*s),
        None => 0,
    }
}

/// Writes `v` big endian at `off`; nothing past the end.
pub fn put16(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..).and_then(<[u8]>::first_chunk_mut::<2>) {
        *s = v.to_be_bytes();
    }
}

/// Writes `v` big endian at `off`; nothing past the end.
pub fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..).and_then(<[u8]>::first_chunk_mut::<4>) {
        *s = v.to_be_bytes();
    }
}

/// `b[start..start + len]`, if it is all there.
fn span(b: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    b.get(start..start.checked_add(len)?)
}

/// Parses the Ethernet and IP headers of `frame` (one 802.1Q tag allowed); `None` if it is not
/// IPv4/IPv6 or its IP header is truncated.
pub fn parse(frame: &[u8]) -> Option<Parsed> {
    let mut l3 = ETH_HLEN;
    let mut ethertype = be16(frame, 12);
    if ethertype == ETH_P_8021Q {
        ethertype = be16(frame, 16);
        l3 += 4;
    }
    match ethertype {
        ETH_P_IP => {
            let first = *frame.get(l3)?;
            let ihl = usize::from(first & 0xf) * 4;
            if ihl < 20 || first >> 4 != 4 {
                return None;
            }
            let hdr = span(frame, l3, ihl)?;
            Some(Parsed {
                l3,
                is_v4: true,
                is_v6: false,
                proto: *hdr.get(9)?,
                l4: l3 + ihl,
            })
        }
        ETH_P_IPV6 => {
            let hdr = span(frame, l3, 40)?;
            Some(Parsed {
                l3,
                is_v4: false,
                is_v6: true,
                proto: *hdr.get(6)?,
                l4: l3 + 40,
            })
        }
        _ => None,
    }
}

/// The one's complement sum of `data` added to `sum` (not folded).
pub fn sum16(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// Folds a one's complement sum into 16 bits.
pub fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // CAST: the loop above leaves at most 16 bits.
    sum as u16
}

/// The IPv4 header at `l3`, by its IHL, if it is all there.
fn ipv4_header(b: &[u8], l3: usize) -> Option<&[u8]> {
    let ihl = usize::from(b.get(l3)? & 0xf) * 4;
    span(b, l3, ihl)
}

/// Computes the IPv4 header checksum at `l3` from scratch (nothing if the header is
/// truncated).
pub fn ipv4_fix_csum(b: &mut [u8], l3: usize) {
    if ipv4_header(b, l3).is_none() {
        return;
    }
    let Some(field) = l3.checked_add(10) else {
        return;
    };
    put16(b, field, 0);
    if let Some(hdr) = ipv4_header(b, l3) {
        let c = !fold(sum16(0, hdr));
        put16(b, field, c);
    }
}

/// Whether the IPv4 header checksum at `l3` is right (false if the header is truncated).
pub fn ipv4_csum_ok(b: &[u8], l3: usize) -> bool {
    ipv4_header(b, l3).is_some_and(|hdr| fold(sum16(0, hdr)) == 0xffff)
}

/// The pseudo-header sum of the L4 segment of `b` and where the segment ends (the end of the
/// IP payload by the IP header's length field); `None` if that is outside the frame.
pub fn pseudo_sum(b: &[u8], p: &Parsed) -> Option<(u32, usize)> {
    let end = if p.is_v4 {
        p.l3.checked_add(usize::from(be16(b, p.l3.checked_add(2)?)))?
    } else {
        p.l4.checked_add(usize::from(be16(b, p.l3.checked_add(4)?)))?
    };
    if end > b.len() || end < p.l4 {
        return None;
    }
    let len = u32::try_from(end - p.l4).ok()?;
    let addrs = if p.is_v4 {
        span(b, p.l3.checked_add(12)?, 8)?
    } else {
        span(b, p.l3.checked_add(8)?, 32)?
    };
    let sum = sum16(0, addrs)
        .wrapping_add(u32::from(p.proto))
        .wrapping_add(len >> 16)
        .wrapping_add(len & 0xffff);
    Some((sum, end))
}

/// The offset of the TCP or UDP checksum field.
fn csum_field(p: &Parsed) -> Option<usize> {
    if p.proto == IPPROTO_TCP {
        p.l4.checked_add(16)
    } else {
        p.l4.checked_add(6)
    }
}

/// Computes the TCP or UDP checksum of the frame from scratch (nothing if the frame is too
/// short for it).
pub fn l4_fix_csum(b: &mut [u8], p: &Parsed) {
    let Some(field) = csum_field(p) else {
        return;
    };
    if span(b, field, 2).is_none() {
        return;
    }
    put16(b, field, 0);
    let Some((sum, end)) = pseudo_sum(b, p) else {
        return;
    };
    let Some(segment) = b.get(p.l4..end) else {
        return;
    };
    let mut c = !fold(sum16(sum, segment));
    if c == 0 && p.proto == IPPROTO_UDP {
        c = 0xffff;
    }
    put16(b, field, c);
}

/// Whether the TCP or UDP checksum of the frame is right (an IPv4 UDP checksum of 0 means none
/// and is right); false if the frame is too short for it.
pub fn l4_csum_ok(b: &[u8], p: &Parsed) -> bool {
    let Some(field) = csum_field(p) else {
        return false;
    };
    if span(b, field, 2).is_none() {
        return false;
    }
    if p.proto == IPPROTO_UDP && p.is_v4 && be16(b, field) == 0 {
        // No checksum.
        return true;
    }
    match pseudo_sum(b, p) {
        Some((sum, end)) => b
            .get(p.l4..end)
            .is_some_and(|segment| fold(sum16(sum, segment)) == 0xffff),
        None => false,
    }
}

/// The Toeplitz hash of `input` with `key` (Microsoft's RSS specification); key bits past the
/// end of the key count as 0.
pub fn toeplitz(key: &[u8; HASH_KEY_SIZE], input: &[u8]) -> u32 {
    let mut result = 0u32;
    let mut window = u32::from_be_bytes([key[0], key[1], key[2], key[3]]);
    let mut next = 32usize;
    for byte in input {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                result ^= window;
            }
            let kb = key.get(next / 8).map_or(0, |k| (k >> (7 - next % 8)) & 1);
            window = (window << 1) | u32::from(kb);
            next = next.saturating_add(1);
        }
    }
    result
}

/// The RSS hash of a parsed frame and its hash type, among the enabled types `enabled`: a
/// TCP or UDP packet whose type is off is hashed on its addresses if the IP type is on; a
/// packet of no enabled type (or too short for its addresses) gets hash 0 and type 0.
pub fn rss_hash(key: &[u8; HASH_KEY_SIZE], enabled: u16, b: &[u8], p: &Parsed) -> (u32, u16) {
    let mut input = [0u8; 36];
    let addrs = if p.is_v4 {
        p.l3.checked_add(12).and_then(|o| span(b, o, 8))
    } else {
        p.l3.checked_add(8).and_then(|o| span(b, o, 32))
    };
    let Some(addrs) = addrs else {
        return (0, 0);
    };
    let mut n = addrs.len();
    input[..n].copy_from_slice(addrs);
    let ports = span(b, p.l4, 4).filter(|_| p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP);
    let l4_ty = match (p.is_v4, p.is_v6, ports.is_some(), p.proto) {
        (true, _, true, IPPROTO_TCP) => hash_type::TCP_IPV4,
        (true, _, true, _) => hash_type::UDP_IPV4,
        (_, true, true, IPPROTO_TCP) => hash_type::TCP_IPV6,
        (_, true, true, _) => hash_type::UDP_IPV6,
        _ => 0,
    };
    let ip_ty = if p.is_v4 {
        hash_type::IPV4
    } else {
        hash_type::IPV6
    };
    let ty = match ports {
        Some(ports) if l4_ty != 0 && enabled & l4_ty != 0 => {
            // The addresses take at most 32 of the 36 bytes.
            if let Some(dst) = input.get_mut(n..n + 4) {
                dst.copy_from_slice(ports);
                n += 4;
            }
            l4_ty
        }
        _ if enabled & ip_ty != 0 => ip_ty,
        _ => return (0, 0),
    };
    (toeplitz(key, input.get(..n).unwrap_or(&[])), ty)
}

#[cfg(test)]
mod tests;
