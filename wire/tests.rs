// SPDX-License-Identifier: GPL-2.0-only

//! Host tests of the wire crate (`cargo test`): the byte views, the bit-field words and the
//! encoders and decoders that need no C definition. The checks against the C headers run in
//! KUnit (`mana_rs_wire_layout`, `mana_rs_wire_consts`, `mana_rs_wire_codec` in mana_gdma).

use crate::{
    hdr::ReqHdr,
    queue::{
        doorbell_offset,
        queue_type,
        CqeInfo,
        RingEntries, //
    },
    smc::{
        EstablishHwc,
        SmcHdr,
        DIRECTION_RESPONSE,
        SMC_APERTURE_DWORDS, //
    },
    Error,
    Pod, //
};

#[test]
fn bitfield_get_set_and_bounds() {
    let hdr = SmcHdr::ZERO
        .try_with_msg_type(5u8)
        .unwrap()
        .with_status(0xABu8)
        .with_owner_is_pf(true);
    assert_eq!(hdr.msg_type().get(), 5);
    assert_eq!(hdr.status().get(), 0xAB);
    assert!(hdr.owner_is_pf().into_bool());
    assert_eq!(hdr.into_raw(), 5 | 0xAB << 8 | 1 << 31);
    // `msg_type` has 3 bits: 8 does not fit, 7 does, and a failed set changes nothing.
    assert_eq!(hdr.try_with_msg_type(8u8), Err(Error::Overflow));
    assert_eq!(hdr.try_with_msg_type(7u8).unwrap().msg_type().get(), 7);
    // Setting a field keeps the others.
    let hdr = hdr.with_status(0u8);
    assert_eq!(hdr.into_raw(), 5 | 1 << 31);
    assert_eq!(SmcHdr::MSG_TYPE_MASK, 0b111);
    assert_eq!(SmcHdr::STATUS_SHIFT, 8);
}

#[test]
fn bitfield_getter_masks_every_raw_value() {
    for raw in [0u32, u32::MAX, 0x8000_0001, 0x0123_4567] {
        let info = CqeInfo::from_raw(raw);
        let again = CqeInfo::ZERO
            .with_owner_bits(info.owner_bits())
            .with_wq_num(info.wq_num());
        assert_eq!(again.owner_bits(), info.owner_bits());
        assert_eq!(again.wq_num(), info.wq_num());
    }
}

#[test]
fn pod_bytes_round_trip() {
    let mut hdr = ReqHdr::wire_zeroed();
    assert!(hdr.wire_bytes().iter().all(|b| *b == 0));
    hdr.wire_bytes_mut()[0] = 0x12;
    let mut buf = [0u8; 64];
    buf[..size_of::<ReqHdr>()].copy_from_slice(hdr.wire_bytes());
    let (back, rest) = ReqHdr::wire_read_prefix(&buf[1..]).unwrap();
    assert_eq!(rest.len(), 64 - 1 - size_of::<ReqHdr>());
    assert_eq!(
        back.wire_bytes()[..size_of::<ReqHdr>() - 1],
        hdr.wire_bytes()[1..]
    );
    assert!(ReqHdr::wire_read_prefix(&buf[..size_of::<ReqHdr>() - 1]).is_none());
}

#[test]
fn smc_establish_round_trip_and_response() {
    let req = EstablishHwc {
        eq_addr: 0x1000,
        cq_addr: 0x2000,
        rq_addr: 0x3_0000_0000,
        sq_addr: 0xF_FFFF_F000,
        msix_index: 3,
        reset_vf: false,
    };
    let dwords: [u32; SMC_APERTURE_DWORDS] = req.encode().unwrap();
    assert_eq!(EstablishHwc::decode(&dwords), Ok(req));
    let unaligned = EstablishHwc {
        cq_addr: 0x2001,
        ..req
    };
    assert_eq!(unaligned.encode(), Err(Error::Invalid));
    let sent = SmcHdr::from_raw(dwords[SMC_APERTURE_DWORDS - 1]);
    let resp = SmcHdr::response_to(sent, 0);
    assert_eq!(resp.direction().into_bool(), DIRECTION_RESPONSE);
    let (t, v) = (sent.msg_type().get() as u8, sent.msg_version().get() as u8);
    assert_eq!(SmcHdr::check_response(resp.into_raw(), t, v, false), Ok(()));
    let failed = SmcHdr::response_to(sent, 1);
    assert_eq!(
        SmcHdr::check_response(failed.into_raw(), t, v, false),
        Err(Error::Protocol)
    );
}

#[test]
fn doorbell_offsets_checked() {
    assert!(doorbell_offset(4096, 2, queue_type::SQ).is_ok());
    assert_eq!(doorbell_offset(4096, 0, 7), Err(Error::Invalid));
    assert_eq!(
        doorbell_offset(u64::MAX, 2, queue_type::SQ),
        Err(Error::Invalid)
    );
}

#[test]
fn ring_entries() {
    assert!(RingEntries::new(0).is_none());
    assert!(RingEntries::new(3).is_none());
    let r = RingEntries::new(64).unwrap();
    assert_eq!(r.get(), 64);
    assert_eq!(r.slot(65), 1);
}
