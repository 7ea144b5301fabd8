// SPDX-License-Identifier: GPL-2.0-only

//! KUnit suite `mana_rs_wire_codec`: encoders and decoders of the wire types, in both
//! directions, against the C bindings where the C side has an accessor and against values
//! worked out from the C driver's code where it has none (the SMC header lives in a `.c` file).

use kernel::macros::kunit_tests;

#[kunit_tests(mana_rs_wire_codec)]
mod codec {
    use kernel::{
        prelude::*,
        transmute::{
            AsBytes,
            FromBytes, //
        },
    };

    use super::super::mana_c as c;

    use crate::wire::{
        eth::{
            pkt_fmt,
            CqeHeader,
            RxCompPerPktInfo,
            TxOob,
            TxShortOob,
            TxShortOobWord0,
            TxShortOobWord1, //
        },
        gdma_msgs::{
            code as gcode,
            mr_type,
            CreateDmaRegionReq,
            CreateMrReq,
            DmaRegionAddPagesReq,
            ListDevicesResp,
            VerifyVerReq,
            PROTOCOL_V1, //
        },
        hdr::{
            mana_status_to_result,
            new_response,
            status_to_result,
            DevId,
            ReqHdr,
            RespHdr,
            STATUS_CMD_UNSUPPORTED,
            STATUS_MORE_ENTRIES, //
        },
        hwc::{
            HwcInitEqIdDb,
            HwcInitTypeData,
            HwcRxOob,
            HwcTxOob, //
        },
        mana_msgs::{
            code as mcode,
            hash_type,
            tri_state,
            CfgRxSteerReq,
            ConfigVportReq,
            CreateWqObjReq,
            QueryDevCfgReq,
            QueryVportCfgReq, //
        },
        queue::{
            check_owner,
            cq_doorbell_tail,
            doorbell_offset,
            doorbell_queue_type,
            initial_index,
            owner_bits,
            queue_type,
            wqe_size,
            CqDoorbell,
            Cqe,
            CqeInfo,
            DimDoorbell,
            EqDoorbell,
            Eqe,
            EqeInfo,
            OwnerCheck,
            RingEntries,
            RqDoorbell,
            SqDoorbell,
            WqeHeader,
            DOORBELL_OFFSET_CQ,
            DOORBELL_OFFSET_EQ, //
        },
        regs::{
            RegLayout,
            MANA_PF2_DEVICE_ID,
            MANA_PF_DEVICE_ID,
            MANA_VF_DEVICE_ID, //
        },
        smc::{
            destroy_hwc_request,
            EstablishHwc,
            SmcHdr,
            SHMEM_VF_RESET_STATE,
            SMC_APERTURE_DWORDS, //
        },
        Error as WireError,
    };

    /// Reads the bytes of a Rust wire value as the bindgen C type `C`, or `EINVAL` if the sizes
    /// differ.
    ///
    /// # Safety
    ///
    /// Every bit pattern must be a valid `C` (true of the bindgen types of the MANA headers:
    /// integers, arrays of integers, bit-field units and unions of those).
    unsafe fn as_c<C>(bytes: &[u8]) -> Result<C> {
        if bytes.len() != size_of::<C>() {
            return Err(EINVAL);
        }
        // SAFETY: `bytes` holds `size_of::<C>()` readable bytes (checked above), `read_unaligned`
        // needs no alignment, and the caller guarantees that any bit pattern is a valid `C`.
        Ok(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<C>()) })
    }

    #[test]
    fn status_to_errno() {
        // As `mana_hwc_send_request()`.
        assert!(status_to_result(0).is_ok());
        assert!(status_to_result(STATUS_MORE_ENTRIES).is_ok());
        assert_eq!(
            status_to_result(STATUS_CMD_UNSUPPORTED),
            Err(WireError::NotSupported)
        );
        assert_eq!(status_to_result(1), Err(WireError::Protocol));
        assert_eq!(status_to_result(0x104), Err(WireError::Protocol));
        assert_eq!(status_to_result(0xFFFF_FFFE), Err(WireError::Protocol));
        // As `gdma_mana_send_request()`: any non-zero status of a MANA command fails.
        assert!(mana_status_to_result(0).is_ok());
        assert_eq!(
            mana_status_to_result(STATUS_MORE_ENTRIES),
            Err(WireError::Protocol)
        );
        assert_eq!(
            mana_status_to_result(STATUS_CMD_UNSUPPORTED),
            Err(WireError::NotSupported)
        );
    }

    #[test]
    fn request_headers() -> Result {
        // `mana_gd_init_req_hdr()` plus the version overrides of the C driver.
        let req = QueryVportCfgReq::new(3);
        let hdr = req.hdr;
        assert_eq!(hdr.req.hdr_type, 0);
        assert_eq!(hdr.req.msg_type, mcode::QUERY_VPORT_CONFIG);
        assert_eq!(hdr.resp.msg_type, mcode::QUERY_VPORT_CONFIG);
        assert_eq!(hdr.req.msg_version, 1);
        assert_eq!(hdr.resp.msg_version, 1);
        assert_eq!(hdr.req.msg_size, 44);
        assert_eq!(hdr.resp.msg_size, 64);
        assert_eq!(req.vport_index, 3);

        let hdr = QueryDevCfgReq::new().hdr;
        assert_eq!((hdr.req.msg_version, hdr.resp.msg_version), (1, 3));
        assert_eq!((hdr.req.msg_size, hdr.resp.msg_size), (88, 80));
        let hdr = ReqHdr::for_request::<CreateWqObjReq>();
        assert_eq!((hdr.req.msg_version, hdr.resp.msg_version), (3, 2));
        assert_eq!((hdr.req.msg_size, hdr.resp.msg_size), (96, 56));
        let hdr = ReqHdr::for_request::<CreateMrReq>();
        assert_eq!((hdr.req.msg_version, hdr.resp.msg_version), (2, 1));
        assert_eq!((hdr.req.msg_size, hdr.resp.msg_size), (88, 48));
        assert_eq!(hdr.req.msg_type, gcode::CREATE_MR);

        let ver = VerifyVerReq::new(0x55);
        assert_eq!(ver.hdr.req.msg_type, gcode::VERIFY_VF_DRIVER_VERSION);
        assert_eq!((ver.hdr.req.msg_size, ver.hdr.resp.msg_size), (640, 72));
        assert_eq!(
            (ver.protocol_ver_min, ver.protocol_ver_max),
            (PROTOCOL_V1, PROTOCOL_V1)
        );
        assert_eq!(ver.gd_drv_cap_flags1, 0x55);

        // The C view of a header reads the same fields.
        let mut req = ConfigVportReq::new(0x1122_3344_5566_7788, 7, 9);
        req.hdr.dev_id = DevId::new(2, 1);
        req.hdr.activity_id = 0xABCD;
        req.hdr.req.hwc_msg_id = 5;
        // SAFETY: `mana_config_vport_req` holds integers only.
        let cv: c::mana_config_vport_req = unsafe { as_c(req.as_bytes()) }?;
        assert_eq!(cv.hdr.req.msg_type, mcode::CONFIG_VPORT_TX);
        assert_eq!(cv.hdr.req.msg_size, 56);
        assert_eq!(cv.hdr.resp.msg_size, 36);
        assert_eq!(cv.hdr.req.hwc_msg_id, 5);
        assert_eq!(cv.hdr.activity_id, 0xABCD);
        // SAFETY: both members of the `gdma_dev_id` union are plain integers.
        let (dev_type, dev_all) = unsafe {
            (
                cv.hdr.dev_id.__bindgen_anon_1.__bindgen_anon_1.type_,
                cv.hdr.dev_id.__bindgen_anon_1.as_uint32,
            )
        };
        assert_eq!(dev_type, 2);
        assert_eq!(dev_all, DevId::new(2, 1).as_u32());
        assert_eq!(DevId::from_u32(dev_all), DevId::new(2, 1));
        assert_eq!(cv.vport, 0x1122_3344_5566_7788);
        assert_eq!((cv.pdid, cv.doorbell_pageid), (7, 9));
        Ok(())
    }

    #[test]
    fn response_headers() {
        let mut req = ConfigVportReq::new(1, 2, 3);
        req.hdr.dev_id = DevId::new(2, 0);
        req.hdr.activity_id = 42;
        req.hdr.req.hwc_msg_id = 3;
        let resp = new_response::<ConfigVportReq>(&req.hdr, 0);
        let rh: RespHdr = resp.hdr;
        assert_eq!(rh.response.msg_type, mcode::CONFIG_VPORT_TX);
        assert_eq!(rh.response.msg_size, 36);
        assert_eq!(rh.response.hwc_msg_id, 3);
        assert!(rh.matches(&req.hdr));
        assert!(rh.verify(mcode::CONFIG_VPORT_TX, 36).is_ok());
        assert!(rh.result().is_ok());
        // `mana_verify_resp_hdr()`: wrong code, version 0 or short size are EPROTO.
        assert_eq!(rh.verify(mcode::FENCE_RQ, 36), Err(WireError::Protocol));
        assert_eq!(
            rh.verify(mcode::CONFIG_VPORT_TX, 37),
            Err(WireError::Protocol)
        );
        let mut old = rh;
        old.response.msg_version = 0;
        assert_eq!(
            old.verify(mcode::CONFIG_VPORT_TX, 36),
            Err(WireError::Protocol)
        );
        let mut other = rh;
        other.activity_id = 43;
        assert!(!other.matches(&req.hdr));
        let failed = RespHdr::reply_to(&req.hdr, 32, STATUS_CMD_UNSUPPORTED);
        assert_eq!(failed.result(), Err(WireError::NotSupported));
    }

    #[test]
    fn dma_region_tail() -> Result {
        let pages = [0x1000u64, 0x5000, 0xdead_b000];
        let req = CreateDmaRegionReq::new(3 * 4096, 3, 3)?;
        assert_eq!(req.hdr.req.msg_size as usize, 64 + 3 * 8);
        let mut buf = [0u8; 128];
        let len = req.write(&pages, &mut buf)?;
        assert_eq!(len, 88);
        // The C layout: the list is `page_addr_list[]` right after the fixed part.
        // SAFETY: `gdma_create_dma_region_req` holds integers only (its flexible array has no
        // size).
        let cv: c::gdma_create_dma_region_req = unsafe { as_c(&buf[..64]) }?;
        assert_eq!(cv.page_count, 3);
        assert_eq!(cv.page_addr_list_len, 3);
        assert_eq!(cv.gdma_page_type, c::gdma_page_type_GDMA_PAGE_TYPE_4K);
        assert_eq!(&buf[72..80], &0x5000u64.to_le_bytes());

        let (parsed, list) = CreateDmaRegionReq::parse(&buf[..len])?;
        assert_eq!(parsed, req);
        assert_eq!(list.len(), 3);
        assert_eq!(list.get(2), Some(0xdead_b000));
        assert_eq!(list.get(3), None);
        let mut n = 0;
        for (got, want) in list.iter().zip(pages.iter()) {
            assert_eq!(got, *want);
            n += 1;
        }
        assert_eq!(n, 3);

        // A message shorter than its announced list, or a list that does not fit, is refused.
        assert_eq!(
            CreateDmaRegionReq::parse(&buf[..len - 1]).map(|_| ()),
            Err(WireError::Invalid)
        );
        assert_eq!(req.write(&pages[..2], &mut buf), Err(WireError::Invalid));
        assert_eq!(req.write(&pages, &mut buf[..80]), Err(WireError::Invalid));
        let too_many = u32::try_from(CreateDmaRegionReq::MAX_PAGES + 1)?;
        assert!(CreateDmaRegionReq::new(0, too_many, too_many).is_err());
        assert_eq!(CreateDmaRegionReq::MAX_PAGES, (4096 - 64) / 8);

        let add = DmaRegionAddPagesReq::new(77, 2)?;
        let len = add.write(&pages[..2], &mut buf)?;
        assert_eq!(len, 56 + 16);
        let (parsed, list) = DmaRegionAddPagesReq::parse(&buf[..len])?;
        assert_eq!(parsed.dma_region_handle, 77);
        assert_eq!(list.get(1), Some(0x5000));
        Ok(())
    }

    #[test]
    fn rx_steering_tail() -> Result {
        let table = [10u64, 11, 12, 13];
        let mut req = CfgRxSteerReq::new(0x99, 4, tri_state::TRUE, true)?;
        req.update_indir_tab = 1;
        req.hashkey[0] = 0x6d;
        let mut buf = [0u8; 256];
        let len = req.write(&table, &mut buf)?;
        assert_eq!(len, 120 + 32);
        assert_eq!(req.hdr.req.msg_size as usize, len);
        assert_eq!((req.hdr.req.msg_version, req.hdr.resp.msg_version), (5, 2));
        // SAFETY: `mana_cfg_rx_steer_req_v2` holds integers only.
        let cv: c::mana_cfg_rx_steer_req_v2 = unsafe { as_c(&buf[..120]) }?;
        assert_eq!(
            usize::from(cv.indir_tab_offset),
            core::mem::offset_of!(c::mana_cfg_rx_steer_req_v2, indir_tab)
        );
        assert_eq!(cv.num_indir_entries, 4);
        assert_eq!(cv.rx_enable, 1);
        assert_eq!(cv.rss_enable, 1);
        assert_eq!(cv.rss_hash_types, hash_type::ENABLE_SUPPORTED);
        assert_eq!(cv.hashkey[0], 0x6d);
        let (parsed, list) = CfgRxSteerReq::parse(&buf[..len])?;
        assert_eq!(parsed, req);
        assert_eq!(list.get(3), Some(13));
        // A hostile offset pointing into the fixed part is refused.
        buf[50] = 8;
        buf[51] = 0;
        assert_eq!(
            CfgRxSteerReq::parse(&buf[..len]).map(|_| ()),
            Err(WireError::Invalid)
        );
        Ok(())
    }

    #[test]
    fn create_mr_union() -> Result {
        let gva = CreateMrReq::new_gva(1, 2, 0x7f00_1234_5000, 0x3);
        // SAFETY: `gdma_create_mr_request` holds integers and unions of integers only.
        let cv: c::gdma_create_mr_request = unsafe { as_c(gva.as_bytes()) }?;
        // SAFETY: reading union members of plain integers; copies, so packing is no issue.
        let (region, va, flags) = unsafe {
            (
                cv.__bindgen_anon_1.gva.dma_region_handle,
                cv.__bindgen_anon_1.gva.virtual_address,
                cv.__bindgen_anon_1.gva.access_flags,
            )
        };
        assert_eq!((cv.pd_handle, cv.mr_type), (1, mr_type::GVA));
        assert_eq!((region, va, flags), (2, 0x7f00_1234_5000, 0x3));

        let zbva = CreateMrReq::new_zbva(1, 4, 0x5);
        // SAFETY: as above.
        let cv: c::gdma_create_mr_request = unsafe { as_c(zbva.as_bytes()) }?;
        // SAFETY: as above.
        let (region, flags) = unsafe {
            (
                cv.__bindgen_anon_1.zbva.dma_region_handle,
                cv.__bindgen_anon_1.zbva.access_flags,
            )
        };
        assert_eq!((region, flags), (4, 0x5));
        assert_eq!(zbva.access(), 0x5);

        let dm = CreateMrReq::new_dm(1, 6, 0x100, 0x2000, 0x1);
        // SAFETY: as above.
        let cv: c::gdma_create_mr_request = unsafe { as_c(dm.as_bytes()) }?;
        // SAFETY: as above.
        let (handle, offset, flags, length) = unsafe {
            (
                cv.__bindgen_anon_1.da.dm_handle,
                cv.__bindgen_anon_1.da.offset,
                cv.__bindgen_anon_1.da.access_flags,
                cv.__bindgen_anon_2.da_ext.length,
            )
        };
        assert_eq!((handle, offset, flags, length), (6, 0x100, 0x1, 0x2000));
        Ok(())
    }

    #[test]
    fn list_devices_response() -> Result {
        let mut resp = ListDevicesResp::zeroed();
        resp.num_of_devs = 2;
        resp.devs[0] = DevId::new(1, 0);
        resp.devs[1] = DevId::new(2, 0);
        // SAFETY: `gdma_list_devices_resp` holds integers and unions of integers only.
        let cv: c::gdma_list_devices_resp = unsafe { as_c(resp.as_bytes()) }?;
        // SAFETY: reading a plain-integer union member.
        let second = unsafe { cv.devs[1].__bindgen_anon_1.as_uint32 };
        assert_eq!(second, 2);
        assert_eq!(cv.num_of_devs, 2);
        Ok(())
    }

    #[test]
    fn hwc_oobs() -> Result {
        let oob = HwcTxOob::new(0, 0, 0x12_3456, 0xAB_CDEF, true)?;
        // SAFETY: `hwc_tx_oob` holds integers and bit-field units only.
        let cv: c::hwc_tx_oob = unsafe { as_c(oob.as_bytes()) }?;
        assert_eq!(cv.vsq_id(), 0x12_3456);
        assert_eq!(cv.vscq_id(), 0xAB_CDEF);
        assert_eq!(cv.dest_pf(), 1);
        assert_eq!(cv.loopback(), 0);
        assert_eq!(cv.vrq_id(), 0);
        assert_eq!(
            HwcTxOob::new(0, 0, 1 << 24, 0, false).map(|_| ()),
            Err(WireError::Overflow)
        );

        // Device to driver: a C-built RX OOB decodes in Rust.
        // SAFETY: all-zero is a valid `hwc_rx_oob` (integers and bit-field units).
        let mut rx: c::hwc_rx_oob = unsafe { core::mem::zeroed() };
        rx.set_type(5);
        rx.set_som(1);
        rx.set_eom(1);
        rx.set_src_virt_wq(0x77_0001);
        rx.tx_oob_data_size = 300;
        rx.__bindgen_anon_1.wqe_offset = 0x40;
        rx.set_chunk_offset(0x1F_FFFF);
        // SAFETY: `hwc_rx_oob` has no padding (its size equals `HwcRxOob`'s, which has none).
        let bytes = unsafe {
            core::slice::from_raw_parts(
                core::ptr::from_ref(&rx).cast::<u8>(),
                size_of::<c::hwc_rx_oob>(),
            )
        };
        let oob = HwcRxOob::from_bytes_copy(bytes).ok_or(EINVAL)?;
        assert_eq!(oob.flags.oob_type().get(), 5);
        assert!(oob.flags.som().into_bool());
        assert!(oob.flags.eom().into_bool());
        assert_eq!(oob.src.src_virt_wq().get(), 0x77_0001);
        assert_eq!(oob.tx_oob_data_size, 300);
        assert_eq!(oob.wqe_offset, 0x40);
        assert_eq!(oob.chunk.chunk_offset().get(), 0x1F_FFFF);

        // Init EQE data.
        let d = HwcInitTypeData::ZERO
            .with_data_type(4u8)
            .try_with_value(0xABCDu32)?;
        // SAFETY: the union holds a `u32` and a bit-field unit of the same size.
        let cd: c::hwc_init_type_data = unsafe { as_c(d.as_bytes()) }?;
        // SAFETY: reading the bit-field member of a plain union.
        let (ty, val) = unsafe { (cd.__bindgen_anon_1.type_(), cd.__bindgen_anon_1.value()) };
        assert_eq!((ty, val), (4, 0xABCD));
        let e = HwcInitEqIdDb::ZERO
            .with_eq_id(3u16)
            .with_doorbell(0x1234u16);
        assert_eq!(e.into_raw(), 0x1234_0003);
        Ok(())
    }

    #[test]
    fn wqe_headers() -> Result {
        let hdr = WqeHeader::new(2, 24, 1448)?;
        // SAFETY: `gdma_wqe` holds bit-field units and a plain union only.
        let cv: c::gdma_wqe = unsafe { as_c(hdr.as_bytes()) }?;
        // SAFETY: reading the bit-field member of a plain union.
        let (num_sge, div4, cdu) = unsafe {
            (
                cv.__bindgen_anon_1.__bindgen_anon_1.num_sge(),
                cv.__bindgen_anon_1.__bindgen_anon_1.inline_oob_size_div4(),
                cv.__bindgen_anon_1.__bindgen_anon_1.client_data_unit(),
            )
        };
        assert_eq!((num_sge, div4, cdu), (2, 6, 1448));
        assert_eq!(hdr.inline_oob_size(), 24);
        assert_eq!(
            WqeHeader::new(1, 16, 0).map(|_| ()),
            Err(WireError::Invalid)
        );
        assert_eq!(
            WqeHeader::new(1, 8, 1 << 14).map(|_| ()),
            Err(WireError::Overflow)
        );
        // `mana_gd_post_work_request()` sizes: header 8 + OOB + 16 per SGE, rounded to 32.
        assert_eq!(wqe_size(8, 1), Some(32));
        assert_eq!(wqe_size(24, 1), Some(64));
        assert_eq!(wqe_size(8, 2), Some(64));
        assert_eq!(wqe_size(24, 30), Some(512));
        assert_eq!(wqe_size(8, u32::MAX), None);
        Ok(())
    }

    #[test]
    fn tx_oob() -> Result {
        let oob = TxOob {
            s_oob: TxShortOob {
                word0: TxShortOobWord0::ZERO
                    .try_with_pkt_fmt(pkt_fmt::LONG)?
                    .with_is_outer_ipv4(true)
                    .with_comp_tcp_csum(true)
                    .try_with_vcq_num(0x12_3456u32)?,
                word1: TxShortOobWord1::ZERO
                    .try_with_trans_off(34u32)?
                    .with_short_vp_offset(7u8),
            },
            l_oob: Zeroable::zeroed(),
        };
        // SAFETY: `mana_tx_oob` holds bit-field units and integers only.
        let cv: c::mana_tx_oob = unsafe { as_c(oob.as_bytes()) }?;
        assert_eq!(cv.s_oob.pkt_fmt(), 1);
        assert_eq!(cv.s_oob.is_outer_ipv4(), 1);
        assert_eq!(cv.s_oob.is_outer_ipv6(), 0);
        assert_eq!(cv.s_oob.comp_tcp_csum(), 1);
        assert_eq!(cv.s_oob.vcq_num(), 0x12_3456);
        assert_eq!(cv.s_oob.trans_off(), 34);
        assert_eq!(cv.s_oob.short_vp_offset(), 7);

        let hdr = CqeHeader::ZERO
            .try_with_cqe_type(32u32)?
            .with_client_type(true);
        // SAFETY: `mana_cqe_header` is one bit-field unit.
        let ch: c::mana_cqe_header = unsafe { as_c(hdr.as_bytes()) }?;
        assert_eq!((ch.cqe_type(), ch.client_type()), (32, 1));

        // Both layouts of the per-packet info.
        let one = RxCompPerPktInfo::one(1514, 0xCAFE_F00D);
        // SAFETY: the union holds integers and a bit-field unit only.
        let cv: c::mana_rxcomp_perpkt_info = unsafe { as_c(one.as_bytes()) }?;
        // SAFETY: reading members of a plain union.
        let (len, hash) = unsafe { (cv.__bindgen_anon_1.pkt_len(), cv.__bindgen_anon_1.pkt_hash) };
        assert_eq!((len, hash), (1514, 0xCAFE_F00D));
        let two = RxCompPerPktInfo::two(60, 1, 1514, 2);
        // SAFETY: as above.
        let cv: c::mana_rxcomp_perpkt_info = unsafe { as_c(two.as_bytes()) }?;
        // SAFETY: as above.
        let v = unsafe {
            (
                cv.__bindgen_anon_2.pkt_len0,
                cv.__bindgen_anon_2.pkt_hash0,
                cv.__bindgen_anon_2.pkt_len1,
                cv.__bindgen_anon_2.pkt_hash1,
            )
        };
        assert_eq!(v, (60, 1, 1514, 2));
        assert_eq!(
            (two.pkt_len0(), two.pkt_len1(), two.pkt_hash1()),
            (60, 1514, 2)
        );
        Ok(())
    }

    #[test]
    fn doorbell_encoding() -> Result {
        // Rust builds, C reads.
        let db = CqDoorbell::new(0xAB_CDEF, 0x7FFF_FFFF, true)?;
        let e = c::gdma_doorbell_entry {
            as_uint64: db.into_raw(),
        };
        // SAFETY: every member of the doorbell union is a plain bit-field unit.
        let (id, tail, arm) = unsafe { (e.cq.id(), e.cq.tail_ptr(), e.cq.arm()) };
        assert_eq!((id, tail, arm), (0xAB_CDEF, 0x7FFF_FFFF, 1));
        assert_eq!(
            CqDoorbell::new(1 << 24, 0, false).map(|_| ()),
            Err(WireError::Overflow)
        );
        assert_eq!(
            CqDoorbell::new(1, 1 << 31, false).map(|_| ()),
            Err(WireError::Overflow)
        );

        // C builds (as `mana_gd_ring_doorbell()`), Rust reads.
        // SAFETY: all-zero is a valid doorbell union; its members are bit-field units.
        let raw = unsafe {
            let mut e: c::gdma_doorbell_entry = core::mem::zeroed();
            e.eq.set_id(0xBEEF);
            e.eq.set_tail_ptr(513);
            e.eq.set_arm(1);
            e.as_uint64
        };
        let eq = EqDoorbell::from_raw(raw);
        assert_eq!(eq.id().get(), 0xBEEF);
        assert_eq!(eq.tail_ptr().get(), 513);
        assert!(eq.arm().into_bool());
        assert_eq!(EqDoorbell::new(0xBEEF, 513, true)?.into_raw(), raw);
        assert_eq!(
            EqDoorbell::new(0x1_0000, 0, true).map(|_| ()),
            Err(WireError::Overflow)
        );

        // SAFETY: as above.
        let raw = unsafe {
            let mut e: c::gdma_doorbell_entry = core::mem::zeroed();
            e.rq.set_id(9);
            e.rq.set_tail_ptr(0xFFFF_FFE0);
            e.as_uint64
        };
        assert_eq!(RqDoorbell::new(9, 0xFFFF_FFE0)?.into_raw(), raw);
        // SAFETY: as above.
        let raw = unsafe {
            let mut e: c::gdma_doorbell_entry = core::mem::zeroed();
            e.sq.set_id(0xFF_FFFF);
            e.sq.set_tail_ptr(64);
            e.as_uint64
        };
        assert_eq!(SqDoorbell::new(0xFF_FFFF, 64)?.into_raw(), raw);
        // SAFETY: as above.
        let raw = unsafe {
            let mut e: c::gdma_doorbell_entry = core::mem::zeroed();
            e.dim.set_id(3);
            e.dim.set_mod_usec(1000);
            e.dim.set_mod_usec_vld(1);
            e.dim.set_mod_comps(200);
            e.as_uint64
        };
        let dim = DimDoorbell::ZERO
            .with_id(3u8)
            .try_with_mod_usec(1000u32)?
            .with_mod_usec_vld(true)
            .with_mod_comps(200u8);
        assert_eq!(dim.into_raw(), raw);

        // Addresses: page base + page size * index + per-type offset.
        assert_eq!(
            doorbell_offset(4096, 3, queue_type::CQ),
            Ok(3 * 4096 + DOORBELL_OFFSET_CQ)
        );
        assert_eq!(
            doorbell_offset(8192, 0, queue_type::EQ),
            Ok(DOORBELL_OFFSET_EQ)
        );
        assert_eq!(doorbell_offset(4096, 0, 7), Err(WireError::Invalid));
        assert_eq!(
            doorbell_offset(u64::MAX, 2, queue_type::SQ),
            Err(WireError::Invalid)
        );
        assert_eq!(doorbell_queue_type(0x400), Some(queue_type::RQ));
        assert_eq!(doorbell_queue_type(0x404), None);
        Ok(())
    }

    #[test]
    fn cqe_eqe_owner_bits() -> Result {
        // C builds a CQE (as the device would), Rust reads it.
        // SAFETY: all-zero is a valid `gdma_cqe` (integers and a plain union).
        let mut cc: c::gdma_cqe = unsafe { core::mem::zeroed() };
        cc.cqe_data[0] = 0x1234;
        // SAFETY: writing the bit-field member of a plain union.
        unsafe {
            cc.cqe_info.__bindgen_anon_1.set_wq_num(0x00AB_CDEF);
            cc.cqe_info.__bindgen_anon_1.set_is_sq(1);
            cc.cqe_info.__bindgen_anon_1.set_owner_bits(5);
        }
        // SAFETY: `gdma_cqe` has no padding (60 + 4 bytes of integers).
        let bytes = unsafe {
            core::slice::from_raw_parts(
                core::ptr::from_ref(&cc).cast::<u8>(),
                size_of::<c::gdma_cqe>(),
            )
        };
        let cqe = Cqe::from_bytes_copy(bytes).ok_or(EINVAL)?;
        assert_eq!(cqe.info.wq_num().get(), 0xAB_CDEF);
        assert!(cqe.info.is_sq().into_bool());
        assert_eq!(cqe.info.owner_bits().get(), 5);
        assert_eq!(cqe.cqe_data[0], 0x1234);
        assert_eq!(&cqe.data_bytes()[..4], &0x1234u32.to_le_bytes());

        // Rust builds an EQE, C reads it.
        let eqe = Eqe {
            details: [7, 0, 0],
            info: EqeInfo::ZERO
                .with_eqe_type(3u8)
                .try_with_client_id(2u32)?
                .try_with_owner_bits(1u32)?,
        };
        // SAFETY: `gdma_eqe` holds integers only.
        let ce: c::gdma_eqe = unsafe { as_c(eqe.as_bytes()) }?;
        let ci = c::gdma_eqe_info {
            as_uint32: ce.eqe_info,
        };
        // SAFETY: reading the bit-field member of a plain union.
        let (ty, client, owner) = unsafe {
            (
                ci.__bindgen_anon_1.type_(),
                ci.__bindgen_anon_1.client_id(),
                ci.__bindgen_anon_1.owner_bits(),
            )
        };
        assert_eq!((ty, client, owner, ce.details[0]), (3, 2, 1, 7));

        // Phase arithmetic over a ring of 8 entries, as `mana_gd_read_cqe()`.
        let e = RingEntries::constant(8);
        let n = e.get();
        let mut ring = [0u32; 8];
        let mut producer = initial_index(e);
        let mut consumer = initial_index(e);
        // Fresh (zeroed) memory reads as empty.
        assert_eq!(
            check_owner(ring[(consumer % n) as usize], consumer, e),
            OwnerCheck::Empty
        );
        // Three passes: produce 8, consume 8.
        for _ in 0..3 {
            for _ in 0..n {
                ring[(producer % n) as usize] = owner_bits(producer, e);
                producer += 1;
            }
            for _ in 0..n {
                let slot = ring[(consumer % n) as usize];
                assert_eq!(check_owner(slot, consumer, e), OwnerCheck::Valid);
                consumer += 1;
            }
            assert_eq!(
                check_owner(ring[(consumer % n) as usize], consumer, e),
                OwnerCheck::Empty
            );
        }
        // The producer laps the consumer: overflow.
        for _ in 0..n + 1 {
            ring[(producer % n) as usize] = owner_bits(producer, e);
            producer += 1;
        }
        assert_eq!(
            check_owner(ring[(consumer % n) as usize], consumer, e),
            OwnerCheck::Overflow
        );
        // The first pass has owner 1; the doorbell tail wraps at 8 passes.
        assert_eq!(owner_bits(initial_index(e), e), 1);
        assert_eq!(cq_doorbell_tail(initial_index(e) + 5, e), 13);
        assert_eq!(cq_doorbell_tail(initial_index(e) + 8 * 8 - 8, e), 0);
        // The free-running index wraps consistently for power-of-two rings.
        let e64 = RingEntries::constant(64);
        assert_eq!(owner_bits(u32::MAX, e64), 7);
        assert_eq!(owner_bits(u32::MAX.wrapping_add(1), e64), 0);
        assert_eq!(
            check_owner(0, u32::MAX.wrapping_add(1), e64),
            OwnerCheck::Valid
        );
        assert_eq!(
            check_owner(7, u32::MAX.wrapping_add(1), e64),
            OwnerCheck::Empty
        );
        let info = CqeInfo::ZERO.try_with_owner_bits(owner_bits(77, e))?;
        assert_eq!(info.into_raw() >> 29, (77 / 8) & 7);
        // Only powers of two up to 2^24 entries make a ring: no division by zero, no overflow
        // of the doorbell tail mask; slots are remainders.
        assert_eq!(RingEntries::new(0), None);
        assert_eq!(RingEntries::new(48), None);
        assert_eq!(RingEntries::new(1 << 25), None);
        assert_eq!(
            RingEntries::new(1 << 24).map(RingEntries::get),
            Some(1 << 24)
        );
        assert_eq!(
            RingEntries::of_bytes(4096, 64).map(RingEntries::get),
            Some(64)
        );
        assert_eq!(RingEntries::of_bytes(4096 + 32, 64), None);
        assert_eq!(RingEntries::of_bytes(4096, 0), None);
        assert_eq!(e.slot(77), 77 % 8);
        assert_eq!(e64.slot(u32::MAX), 63);
        assert_eq!(
            cq_doorbell_tail(u32::MAX, RingEntries::constant(1 << 24)),
            (1 << 27) - 1
        );
        Ok(())
    }

    /// `mana_smc_setup_hwc()`'s packing, written independently over bytes as the C code does:
    /// 48-bit PFNs at bytes 0, 6, 12, 18; their top nibbles at 24..26; the vector at 26..28.
    fn smc_bytes_like_c(addrs: [u64; 4], msix: u16, hdr: u32) -> [u32; SMC_APERTURE_DWORDS] {
        let mut buf = [0u8; 32];
        let mut h4: u16 = 0;
        for (i, addr) in addrs.iter().enumerate() {
            let pfn = addr >> 12;
            let low = (pfn & 0xFFFF_FFFF_FFFF).to_le_bytes();
            buf[i * 6..i * 6 + 6].copy_from_slice(&low[..6]);
            h4 |= ((pfn >> 48) as u16) << (i * 4);
        }
        buf[24..26].copy_from_slice(&h4.to_le_bytes());
        buf[26..28].copy_from_slice(&msix.to_le_bytes());
        buf[28..32].copy_from_slice(&hdr.to_le_bytes());
        let mut out = [0u32; SMC_APERTURE_DWORDS];
        for (o, chunk) in out.iter_mut().zip(buf.chunks_exact(4)) {
            *o = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        out
    }

    #[test]
    fn smc_mailbox() -> Result {
        // The header bits, from `union smc_proto_hdr` in shm_channel.c: type 2:0, version 5:3,
        // direction 7, status 15:8, reset_vf 24, owner_is_pf 31.
        assert_eq!(SmcHdr::request(1, 0, false)?.into_raw(), 0x0000_0001);
        assert_eq!(SmcHdr::request(1, 0, true)?.into_raw(), 0x0100_0001);
        assert_eq!(destroy_hwc_request(false)?, 0x0000_0002);
        assert_eq!(destroy_hwc_request(true)?, 0x0100_0002);
        assert_eq!(SmcHdr::request(1, 7, false)?.into_raw(), 0x0000_0039);
        assert_eq!(
            SmcHdr::request(8, 0, false).map(|_| ()),
            Err(WireError::Overflow)
        );
        let resp = SmcHdr::response_to(SmcHdr::request(2, 0, false)?, 0);
        assert_eq!(resp.into_raw(), 0x0000_0082);
        assert_eq!(
            SmcHdr::response_to(SmcHdr::from_raw(1), 3).into_raw(),
            0x0000_0381
        );
        assert!(SmcHdr::pf_owns(0x8000_0001));
        assert!(!SmcHdr::pf_owns(0x7FFF_FFFF));

        // `mana_smc_read_response()`.
        assert!(SmcHdr::check_response(0x82, 2, 0, false).is_ok());
        assert_eq!(
            SmcHdr::check_response(0x81, 2, 0, false),
            Err(WireError::Protocol)
        );
        assert_eq!(
            SmcHdr::check_response(0x02, 2, 0, false),
            Err(WireError::Protocol)
        );
        assert_eq!(
            SmcHdr::check_response(0x0182, 2, 0, false),
            Err(WireError::Protocol)
        );
        assert_eq!(
            SmcHdr::check_response(0x8A, 2, 0, false),
            Err(WireError::Protocol)
        );
        assert!(SmcHdr::check_response(0x82, 2, 1, false).is_ok());
        assert!(SmcHdr::check_response(SHMEM_VF_RESET_STATE, 2, 0, true).is_ok());
        assert_eq!(
            SmcHdr::check_response(SHMEM_VF_RESET_STATE, 2, 0, false),
            Err(WireError::Protocol)
        );

        // Establish: encode as the C code does, decode back (device side).
        let req = EstablishHwc {
            eq_addr: 0x000F_1234_5678_9000,
            cq_addr: 0x0000_0000_0001_0000,
            rq_addr: 0x000A_BCDE_F012_3000,
            sq_addr: 0x0000_7FFF_FFFF_F000,
            msix_index: 0x1234,
            reset_vf: true,
        };
        let words = req.encode()?;
        let addrs = [req.eq_addr, req.cq_addr, req.rq_addr, req.sq_addr];
        assert_eq!(words, smc_bytes_like_c(addrs, 0x1234, 0x0100_0001));
        // One hand-worked word: the EQ PFN is 0xF1_2345_6789 (no bit above 47), so dword 0 is
        // its low 32 bits.
        assert_eq!(words[0], 0x2345_6789);
        assert_eq!(words[6] >> 16, 0x1234);
        assert_eq!(EstablishHwc::decode(&words)?, req);
        // The top nibble of a PFN with 52 bits lands in the nibble word.
        let big = EstablishHwc {
            sq_addr: 0xF000_0000_0000_0000,
            ..req
        };
        let words = big.encode()?;
        assert_eq!((words[6] >> 12) & 0xF, 0xF);
        assert_eq!(EstablishHwc::decode(&words)?, big);
        // Unaligned addresses are refused; a non-establish header is not decoded.
        assert_eq!(
            EstablishHwc {
                cq_addr: 0x1001,
                ..req
            }
            .encode()
            .map(|_| ()),
            Err(WireError::Invalid)
        );
        let mut bad = words;
        bad[7] = 0x0000_0002;
        assert_eq!(
            EstablishHwc::decode(&bad).map(|_| ()),
            Err(WireError::Protocol)
        );
        Ok(())
    }

    #[test]
    fn register_layouts() {
        assert_eq!(RegLayout::for_device(MANA_VF_DEVICE_ID), Ok(RegLayout::Vf));
        assert_eq!(RegLayout::for_device(MANA_PF2_DEVICE_ID), Ok(RegLayout::Vf));
        assert_eq!(RegLayout::for_device(MANA_PF_DEVICE_ID), Ok(RegLayout::Pf));
        assert_eq!(RegLayout::for_device(0x1234), Err(WireError::NoDevice));
        assert_eq!(RegLayout::Vf.db_page_size_reg(), 0x10);
        assert_eq!(RegLayout::Pf.db_page_off_reg(), 0xC8);
    }

    /// The wire crate's errors become the kernel codes the driver returned before the crate
    /// had an error type of its own.
    #[test]
    fn wire_errors_are_kernel_codes() {
        assert_eq!(Error::from(WireError::Invalid), EINVAL);
        assert_eq!(Error::from(WireError::Protocol), EPROTO);
        assert_eq!(Error::from(WireError::NotSupported), EOPNOTSUPP);
        assert_eq!(Error::from(WireError::NoDevice), ENODEV);
        assert_eq!(Error::from(WireError::Overflow), EOVERFLOW);
    }
}
