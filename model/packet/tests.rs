// SPDX-License-Identifier: GPL-2.0-only

//! Host tests of the packet functions: the RSS verification vectors of Microsoft's RSS
//! specification, checksums both ways, and every function on every truncation of a frame.

use super::*;

/// The key of the verification suite of Microsoft's RSS specification.
const KEY: [u8; HASH_KEY_SIZE] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// An Ethernet + IPv4 + TCP frame from `src:sport` to `dst:dport` with `payload`, checksums
/// zero.
fn tcp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; ETH_HLEN + 20 + 20];
    f[12..14].copy_from_slice(&ETH_P_IP.to_be_bytes());
    let l3 = ETH_HLEN;
    f[l3] = 0x45;
    let total = u16::try_from(20 + 20 + payload.len()).unwrap();
    f[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
    f[l3 + 8] = 64;
    f[l3 + 9] = IPPROTO_TCP;
    f[l3 + 12..l3 + 16].copy_from_slice(&src);
    f[l3 + 16..l3 + 20].copy_from_slice(&dst);
    let l4 = l3 + 20;
    f[l4..l4 + 2].copy_from_slice(&sport.to_be_bytes());
    f[l4 + 2..l4 + 4].copy_from_slice(&dport.to_be_bytes());
    f[l4 + 12] = 5 << 4;
    f.extend_from_slice(payload);
    f
}

/// One case of the verification suite: a TCP/IPv4 flow and its hashes.
struct Case {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    /// The hash of the addresses.
    ip_hash: u32,
    /// The hash of the addresses and the ports.
    tcp_hash: u32,
}

#[test]
fn toeplitz_matches_the_rss_verification_suite() {
    let cases = [
        Case {
            src: [66, 9, 149, 187],
            dst: [161, 142, 100, 80],
            sport: 2794,
            dport: 1766,
            ip_hash: 0x323e_8fc2,
            tcp_hash: 0x51cc_c178,
        },
        Case {
            src: [199, 92, 111, 2],
            dst: [65, 69, 140, 83],
            sport: 14230,
            dport: 4739,
            ip_hash: 0xd718_262a,
            tcp_hash: 0xc626_b0ea,
        },
    ];
    for c in cases {
        // The addresses, then the ports, source first.
        let mut input = [0u8; 12];
        input[..4].copy_from_slice(&c.src);
        input[4..8].copy_from_slice(&c.dst);
        input[8..10].copy_from_slice(&c.sport.to_be_bytes());
        input[10..12].copy_from_slice(&c.dport.to_be_bytes());
        assert_eq!(toeplitz(&KEY, &input[..8]), c.ip_hash);
        assert_eq!(toeplitz(&KEY, &input), c.tcp_hash);

        let f = tcp4(c.src, c.dst, c.sport, c.dport, b"");
        let p = parse(&f).unwrap();
        let all = hash_type::IPV4 | hash_type::TCP_IPV4;
        assert_eq!(
            rss_hash(&KEY, all, &f, &p),
            (c.tcp_hash, hash_type::TCP_IPV4)
        );
        assert_eq!(
            rss_hash(&KEY, hash_type::IPV4, &f, &p),
            (c.ip_hash, hash_type::IPV4)
        );
        assert_eq!(rss_hash(&KEY, hash_type::IPV6, &f, &p), (0, 0));
    }
}

#[test]
fn checksums_computed_and_verified() {
    let mut f = tcp4(
        [10, 0, 0, 1],
        [10, 0, 0, 2],
        1000,
        2000,
        b"hello, odd length",
    );
    let p = parse(&f).unwrap();
    assert_eq!(
        (p.l3, p.l4, p.proto, p.is_v4),
        (ETH_HLEN, ETH_HLEN + 20, IPPROTO_TCP, true)
    );
    assert!(!ipv4_csum_ok(&f, p.l3));
    ipv4_fix_csum(&mut f, p.l3);
    assert!(ipv4_csum_ok(&f, p.l3));
    l4_fix_csum(&mut f, &p);
    assert!(l4_csum_ok(&f, &p));
    let last = f.len() - 1;
    f[last] ^= 0x40;
    assert!(!l4_csum_ok(&f, &p));
    f[p.l3 + 8] ^= 1;
    assert!(!ipv4_csum_ok(&f, p.l3));
}

#[test]
fn truncated_and_hostile_frames_do_not_panic() {
    let mut full = tcp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, &[0xAB; 40]);
    let p = parse(&full).unwrap();
    ipv4_fix_csum(&mut full, p.l3);
    l4_fix_csum(&mut full, &p);
    for len in 0..full.len() {
        let mut f = full[..len].to_vec();
        let parsed = parse(&f);
        if len < ETH_HLEN + 20 {
            assert!(parsed.is_none(), "{len} bytes parsed");
        }
        // The full frame's offsets on a truncated frame: neutral answers, no panic.
        assert!(!l4_csum_ok(&f, &p));
        let _ = rss_hash(&KEY, u16::MAX, &f, &p);
        l4_fix_csum(&mut f, &p);
        ipv4_fix_csum(&mut f, p.l3);
        let _ = ipv4_csum_ok(&f, p.l3);
    }
    // Offsets at the end of the address space.
    let huge = Parsed {
        l3: usize::MAX - 1,
        is_v4: false,
        is_v6: true,
        proto: IPPROTO_UDP,
        l4: usize::MAX,
    };
    assert!(!l4_csum_ok(&full, &huge));
    assert_eq!(rss_hash(&KEY, u16::MAX, &full, &huge), (0, 0));
    assert!(pseudo_sum(&full, &huge).is_none());
    l4_fix_csum(&mut full, &huge);
    ipv4_fix_csum(&mut full, usize::MAX);
    assert_eq!(be16(&full, usize::MAX), 0);
    put32(&mut full, usize::MAX - 1, 7);
    // An IPv4 total length past the frame.
    let mut long = full.clone();
    long[p.l3 + 2..p.l3 + 4].copy_from_slice(&u16::MAX.to_be_bytes());
    assert!(!l4_csum_ok(&long, &p));
}

#[test]
fn vlan_tagged_and_ipv6_frames_parse() {
    let f = tcp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, b"");
    let mut tagged = f[..12].to_vec();
    tagged.extend_from_slice(&ETH_P_8021Q.to_be_bytes());
    tagged.extend_from_slice(&[0, 5]);
    tagged.extend_from_slice(&f[12..]);
    assert_eq!(parse(&tagged).map(|p| (p.l3, p.l4)), Some((18, 38)));

    let mut v6 = vec![0u8; ETH_HLEN + 40 + 8];
    v6[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    v6[ETH_HLEN] = 0x60;
    v6[ETH_HLEN + 4..ETH_HLEN + 6].copy_from_slice(&8u16.to_be_bytes());
    v6[ETH_HLEN + 6] = IPPROTO_UDP;
    let p = parse(&v6).unwrap();
    assert!(p.is_v6 && p.proto == IPPROTO_UDP && p.l4 == ETH_HLEN + 40);
    l4_fix_csum(&mut v6, &p);
    assert!(l4_csum_ok(&v6, &p));
    assert!(parse(&v6[..ETH_HLEN + 39]).is_none());
}
