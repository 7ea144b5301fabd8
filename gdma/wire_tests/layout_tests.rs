// SPDX-License-Identifier: GPL-2.0-only

//! KUnit suites that check every wire type against the C definitions of the MANA headers,
//! through the bindings generated from them (`super::mana_c`).
//!
//! - `mana_rs_wire_layout`: size, alignment and the offset of every field of every wire struct;
//!   the position and width of every bit field (the mask a Rust field covers equals the bits the
//!   bindgen setter of the C field writes).
//! - `mana_rs_wire_consts`: message codes, versions, queue and EQE types, register offsets and
//!   the other numbers both sides must agree on.

use kernel::macros::kunit_tests;

#[kunit_tests(mana_rs_wire_layout)]
mod layout {
    use core::mem::offset_of;

    use kernel::prelude::*;

    use super::super::mana_c as c;

    use crate::wire::{
        abi::{
            AllocPd,
            AllocPdResp,
            AllocUcontextResp,
            CreateCq,
            CreateCqResp,
            CreateQp,
            CreateQpResp,
            CreateQpRss,
            CreateQpRssResp,
            CreateRcQp,
            CreateRcQpResp,
            CreateUcQp,
            CreateUcQpResp,
            CreateWq,
            RssRespEntry, //
        },
        eth::{
            CqeHeader,
            RxCompFlags,
            RxCompOob,
            RxCompPerPktInfo,
            TxCompOffsets,
            TxCompOob,
            TxLongOob,
            TxLongOobWord0,
            TxLongOobWord1,
            TxOob,
            TxShortOob,
            TxShortOobWord0,
            TxShortOobWord1, //
        },
        gdma_msgs::{
            AllocDmReq,
            AllocDmResp,
            AllocateResourceRangeReq,
            AllocateResourceRangeResp,
            CreateDmaRegionReq,
            CreateDmaRegionResp,
            CreateMrReq,
            CreateMrResp,
            CreatePdReq,
            CreatePdResp,
            CreateQueueReq,
            CreateQueueResp,
            DeregisterDeviceReq,
            DestroyDmReq,
            DestroyDmResp,
            DestroyDmaRegionReq,
            DestroyMrReq,
            DestroyMrResp,
            DestroyPdReq,
            DestroyPdResp,
            DestroyResourceRangeReq,
            DisableQueueReq,
            DmaRegionAddPagesReq,
            GenerateTestEqeReq,
            ListDevicesReq,
            ListDevicesResp,
            QueryHwcTimeoutReq,
            QueryHwcTimeoutResp,
            QueryMaxResourcesReq,
            QueryMaxResourcesResp,
            RegisterDeviceReq,
            RegisterDeviceResp,
            VerifyVerReq,
            VerifyVerResp, //
        },
        hdr::{
            DevId,
            GeneralReq,
            GeneralResp,
            MsgHdr,
            ReqHdr,
            RespHdr, //
        },
        hwc::{
            HwcInitEqIdDb,
            HwcInitTypeData,
            HwcRxOob,
            HwcRxOobCdu,
            HwcRxOobChunk,
            HwcRxOobFlags,
            HwcRxOobSrc,
            HwcSocServiceType,
            HwcTxOob,
            HwcTxOobVrcq,
            HwcTxOobVrq,
            HwcTxOobVscq,
            HwcTxOobVsq, //
        },
        mana_msgs::{
            CfgRxSteerReq,
            CfgRxSteerResp,
            ConfigVportReq,
            ConfigVportResp,
            CreateWqObjReq,
            CreateWqObjResp,
            DeregisterFilterReq,
            DeregisterFilterResp,
            DeregisterHwVportReq,
            DeregisterHwVportResp,
            DestroyWqObjReq,
            DestroyWqObjResp,
            FenceRqReq,
            FenceRqResp,
            QueryDevCfgReq,
            QueryDevCfgResp,
            QueryGfStatReq,
            QueryGfStatResp,
            QueryLinkConfigReq,
            QueryLinkConfigResp,
            QueryPhyStatReq,
            QueryPhyStatResp,
            QueryVportCfgReq,
            QueryVportCfgResp,
            RegisterFilterReq,
            RegisterFilterResp,
            RegisterHwVportReq,
            RegisterHwVportResp,
            SetBwClampReq,
            SetBwClampResp, //
        },
        queue::{
            CqDoorbell,
            Cqe,
            CqeInfo,
            DimDoorbell,
            EqDoorbell,
            Eqe,
            EqeInfo,
            RqDoorbell,
            Sge,
            SqDoorbell,
            WqeHeader,
            WqeHeaderFlags,
            WqeHeaderWord0, //
        },
    };

    /// Compares a Rust wire struct with its bindgen C struct; returns the number of
    /// mismatches, each logged (unless invoked as `check!(@log false; ...)`).
    ///
    /// `check!(Rust, c::c_type { rust_field => c.field.path [+ extra], ... })`: the Rust field
    /// is at the offset of the C field (plus `extra` bytes, for one word of a C bit-field unit).
    /// The destructuring pattern has no `..`, so every field of the Rust struct must be listed
    /// or this does not compile.
    macro_rules! check {
        ($r:ident, $c:ty { $($body:tt)* }) => {
            check!(@log true; $r, $c { $($body)* })
        };
        (
            @log $log:expr; $r:ident, $c:ty {
                $($rf:ident => $($cf:ident).+ $(+ $extra:literal)?),* $(,)?
            }
        ) => {{
            let _every_field = |v: $r| {
                let $r { $($rf: _),* } = v;
            };
            let mut bad = 0u32;
            if size_of::<$r>() != size_of::<$c>() {
                if $log {
                    pr_err!(
                        "{}: size {} but C {} has {}\n",
                        stringify!($r), size_of::<$r>(), stringify!($c), size_of::<$c>()
                    );
                }
                bad += 1;
            }
            if align_of::<$r>() != align_of::<$c>() {
                if $log {
                    pr_err!(
                        "{}: alignment {} but C {} has {}\n",
                        stringify!($r), align_of::<$r>(), stringify!($c), align_of::<$c>()
                    );
                }
                bad += 1;
            }
            $(
                let rust_off = offset_of!($r, $rf);
                let c_off = offset_of!($c, $($cf).+) $(+ $extra)?;
                if rust_off != c_off {
                    if $log {
                        pr_err!(
                            "{}.{}: offset {} but C {}.{} is at {}\n",
                            stringify!($r), stringify!($rf), rust_off,
                            stringify!($c), stringify!($($cf).+), c_off
                        );
                    }
                    bad += 1;
                }
            )*
            bad
        }};
    }

    /// Compares the size and alignment of a Rust bit-field word (a transparent wrapper of its
    /// storage integer, at offset 0) with its C union or bit-field struct.
    macro_rules! check_word {
        ($r:ident, $c:ty) => {{
            let mut bad = 0u32;
            if size_of::<$r>() != size_of::<$c>() || align_of::<$r>() != align_of::<$c>() {
                pr_err!(
                    "{}: size/alignment {}/{} but C {} has {}/{}\n",
                    stringify!($r),
                    size_of::<$r>(),
                    align_of::<$r>(),
                    stringify!($c),
                    size_of::<$c>(),
                    align_of::<$c>()
                );
                bad += 1;
            }
            bad
        }};
    }

    /// The bits the bindgen setter `$setter` of a C bit field writes into the `$ty` word at byte
    /// `$word` of C type `$c` (via the union/struct members `$path`), found by setting the field
    /// to all ones in an all-zero value. Reads 0 if the word lies outside the C type.
    macro_rules! c_mask {
        ($c:ty, $word:expr, $($path:ident).* => $setter:ident, $ty:ty) => {{
            if $word + size_of::<$ty>() > size_of::<$c>() {
                0
            } else {
                // SAFETY: the bindgen types of the MANA headers hold only integers, arrays of
                // integers, bit-field units and unions of those: all-zero is a valid value and
                // any member may be written. The read is in bounds (checked above) and the word
                // lies in a bit-field unit, hence initialized.
                unsafe {
                    let mut v: $c = core::mem::zeroed();
                    v.$($path.)*$setter(<$ty>::MAX);
                    core::ptr::read_unaligned(
                        core::ptr::from_ref(&v).cast::<u8>().add($word).cast::<$ty>(),
                    )
                }
            }
        }};
    }

    /// Compares the masks of the fields of a Rust bit-field word with the bits of the C bit
    /// fields; returns the number of mismatches, each logged.
    macro_rules! check_bits {
        ($r:ident, $c:ty, $word:expr, $ty:ty, { $($body:tt)* }) => {
            check_bits!(@log true; $r, $c, $word, $ty, { $($body)* })
        };
        (
            @log $log:expr; $r:ident, $c:ty, $word:expr, $ty:ty,
            { $($mask:ident => $($path:ident).* => $setter:ident),* $(,)? }
        ) => {{
            let mut bad = 0u32;
            $(
                let rust_mask: $ty = $r::$mask;
                let c_bits: $ty = c_mask!($c, $word, $($path).* => $setter, $ty);
                if rust_mask != c_bits {
                    if $log {
                        pr_err!(
                            "{}::{}: mask {:#x} but C {} {} writes {:#x}\n",
                            stringify!($r), stringify!($mask), rust_mask,
                            stringify!($c), stringify!($setter), c_bits
                        );
                    }
                    bad += 1;
                }
            )*
            bad
        }};
    }

    /// The checks catch slips: a wrong size, a wrong offset, a wrong bit position (the lines
    /// below compare things that differ on purpose, without logging).
    #[test]
    fn checks_detect_slips() {
        // Sizes differ (40 vs 32); `resp`, `dev_id` and `activity_id` are at 16, 32 and 36 in
        // one and at 0, 16 and 20 in the other.
        assert_eq!(
            check!(@log false; ReqHdr, c::gdma_resp_hdr {
                req => response,
                resp => response,
                dev_id => dev_id,
                activity_id => activity_id,
            }),
            4
        );
        // A field mapped to its neighbour.
        assert_eq!(
            check!(@log false; Sge, c::gdma_sge {
                address => address,
                mem_key => size,
                size => mem_key,
            }),
            2
        );
        // A bit field checked against another C field: `client_id` is not `owner_bits`.
        assert_eq!(
            check_bits!(@log false; EqeInfo, c::gdma_eqe_info, 0, u32, {
                CLIENT_ID_MASK => __bindgen_anon_1 => set_owner_bits,
                OWNER_BITS_MASK => __bindgen_anon_1 => set_owner_bits,
            }),
            1
        );
    }

    #[test]
    fn headers() {
        let mut bad = 0;
        bad += check!(MsgHdr, c::gdma_msg_hdr {
            hdr_type => hdr_type,
            msg_type => msg_type,
            msg_version => msg_version,
            hwc_msg_id => hwc_msg_id,
            msg_size => msg_size,
        });
        bad += check!(DevId, c::gdma_dev_id {
            ty => __bindgen_anon_1.__bindgen_anon_1.type_,
            instance => __bindgen_anon_1.__bindgen_anon_1.instance,
        });
        bad += check!(ReqHdr, c::gdma_req_hdr {
            req => req,
            resp => resp,
            dev_id => dev_id,
            activity_id => activity_id,
        });
        bad += check!(RespHdr, c::gdma_resp_hdr {
            response => response,
            dev_id => dev_id,
            activity_id => activity_id,
            status => status,
            reserved => reserved,
        });
        bad += check!(GeneralReq, c::gdma_general_req { hdr => hdr });
        bad += check!(GeneralResp, c::gdma_general_resp { hdr => hdr });
        assert_eq!(bad, 0);
    }

    #[test]
    fn gdma_requests() {
        let mut bad = 0;
        bad += check!(VerifyVerReq, c::gdma_verify_ver_req {
            hdr => hdr,
            protocol_ver_min => protocol_ver_min,
            protocol_ver_max => protocol_ver_max,
            gd_drv_cap_flags1 => gd_drv_cap_flags1,
            gd_drv_cap_flags2 => gd_drv_cap_flags2,
            gd_drv_cap_flags3 => gd_drv_cap_flags3,
            gd_drv_cap_flags4 => gd_drv_cap_flags4,
            drv_ver => drv_ver,
            os_type => os_type,
            reserved => reserved,
            os_ver_major => os_ver_major,
            os_ver_minor => os_ver_minor,
            os_ver_build => os_ver_build,
            os_ver_platform => os_ver_platform,
            reserved_2 => reserved_2,
            os_ver_str1 => os_ver_str1,
            os_ver_str2 => os_ver_str2,
            os_ver_str3 => os_ver_str3,
            os_ver_str4 => os_ver_str4,
        });
        bad += check!(VerifyVerResp, c::gdma_verify_ver_resp {
            hdr => hdr,
            gdma_protocol_ver => gdma_protocol_ver,
            pf_cap_flags1 => pf_cap_flags1,
            pf_cap_flags2 => pf_cap_flags2,
            pf_cap_flags3 => pf_cap_flags3,
            pf_cap_flags4 => pf_cap_flags4,
        });
        bad += check!(QueryMaxResourcesReq, c::gdma_general_req { hdr => hdr });
        bad += check!(QueryMaxResourcesResp, c::gdma_query_max_resources_resp {
            hdr => hdr,
            status => status,
            max_sq => max_sq,
            max_rq => max_rq,
            max_cq => max_cq,
            max_eq => max_eq,
            max_db => max_db,
            max_mst => max_mst,
            max_cq_mod_ctx => max_cq_mod_ctx,
            max_mod_cq => max_mod_cq,
            max_msix => max_msix,
        });
        bad += check!(ListDevicesReq, c::gdma_general_req { hdr => hdr });
        bad += check!(ListDevicesResp, c::gdma_list_devices_resp {
            hdr => hdr,
            num_of_devs => num_of_devs,
            reserved => reserved,
            devs => devs,
        });
        bad += check!(RegisterDeviceReq, c::gdma_general_req { hdr => hdr });
        bad += check!(RegisterDeviceResp, c::gdma_register_device_resp {
            hdr => hdr,
            pdid => pdid,
            gpa_mkey => gpa_mkey,
            db_id => db_id,
        });
        bad += check!(DeregisterDeviceReq, c::gdma_general_req { hdr => hdr });
        bad += check!(GenerateTestEqeReq, c::gdma_generate_test_event_req {
            hdr => hdr,
            queue_index => queue_index,
        });
        bad += check!(CreateQueueReq, c::gdma_create_queue_req {
            hdr => hdr,
            ty => type_,
            reserved1 => reserved1,
            pdid => pdid,
            doorbell_id => doolbell_id,
            gdma_region => gdma_region,
            reserved2 => reserved2,
            queue_size => queue_size,
            log2_throttle_limit => log2_throttle_limit,
            eq_pci_msix_index => eq_pci_msix_index,
            cq_mod_ctx_id => cq_mod_ctx_id,
            cq_parent_eq_id => cq_parent_eq_id,
            rq_drop_on_overrun => rq_drop_on_overrun,
            rq_err_on_wqe_overflow => rq_err_on_wqe_overflow,
            rq_chain_rec_wqes => rq_chain_rec_wqes,
            sq_hw_db => sq_hw_db,
            reserved3 => reserved3,
        });
        bad += check!(CreateQueueResp, c::gdma_create_queue_resp {
            hdr => hdr,
            queue_index => queue_index,
        });
        bad += check!(DisableQueueReq, c::gdma_disable_queue_req {
            hdr => hdr,
            ty => type_,
            queue_index => queue_index,
            alloc_res_id_on_creation => alloc_res_id_on_creation,
        });
        bad += check!(AllocateResourceRangeReq, c::gdma_allocate_resource_range_req {
            hdr => hdr,
            resource_type => resource_type,
            num_resources => num_resources,
            alignment => alignment,
            allocated_resources => allocated_resources,
        });
        bad += check!(AllocateResourceRangeResp, c::gdma_allocate_resource_range_resp {
            hdr => hdr,
            allocated_resources => allocated_resources,
        });
        bad += check!(DestroyResourceRangeReq, c::gdma_destroy_resource_range_req {
            hdr => hdr,
            resource_type => resource_type,
            num_resources => num_resources,
            allocated_resources => allocated_resources,
        });
        assert_eq!(bad, 0);
    }

    #[test]
    fn gdma_memory_requests() {
        let mut bad = 0;
        bad += check!(CreateDmaRegionReq, c::gdma_create_dma_region_req {
            hdr => hdr,
            length => length,
            offset_in_page => offset_in_page,
            gdma_page_type => gdma_page_type,
            page_count => page_count,
            page_addr_list_len => page_addr_list_len,
        });
        // The page list starts right after the fixed part.
        assert_eq!(
            size_of::<CreateDmaRegionReq>(),
            offset_of!(c::gdma_create_dma_region_req, page_addr_list)
        );
        bad += check!(CreateDmaRegionResp, c::gdma_create_dma_region_resp {
            hdr => hdr,
            dma_region_handle => dma_region_handle,
        });
        bad += check!(DmaRegionAddPagesReq, c::gdma_dma_region_add_pages_req {
            hdr => hdr,
            dma_region_handle => dma_region_handle,
            page_addr_list_len => page_addr_list_len,
            reserved3 => reserved3,
        });
        assert_eq!(
            size_of::<DmaRegionAddPagesReq>(),
            offset_of!(c::gdma_dma_region_add_pages_req, page_addr_list)
        );
        bad += check!(DestroyDmaRegionReq, c::gdma_destroy_dma_region_req {
            hdr => hdr,
            dma_region_handle => dma_region_handle,
        });
        bad += check!(CreatePdReq, c::gdma_create_pd_req {
            hdr => hdr,
            flags => flags,
            reserved => reserved,
        });
        bad += check!(CreatePdResp, c::gdma_create_pd_resp {
            hdr => hdr,
            pd_handle => pd_handle,
            pd_id => pd_id,
            reserved => reserved,
        });
        bad += check!(DestroyPdReq, c::gdma_destroy_pd_req {
            hdr => hdr,
            pd_handle => pd_handle,
        });
        bad += check!(DestroyPdResp, c::gdma_destroy_pd_resp { hdr => hdr });
        // The three members of the packed union, field by field.
        bad += check!(CreateMrReq, c::gdma_create_mr_request {
            hdr => hdr,
            pd_handle => pd_handle,
            mr_type => mr_type,
            reserved_1 => reserved_1,
            handle => __bindgen_anon_1.gva.dma_region_handle,
            param => __bindgen_anon_1.gva.virtual_address,
            access_flags => __bindgen_anon_1.gva.access_flags,
            reserved_2 => reserved_2,
            length => __bindgen_anon_2.da_ext.length,
        });
        bad += check!(CreateMrReq, c::gdma_create_mr_request {
            hdr => hdr,
            pd_handle => pd_handle,
            mr_type => mr_type,
            reserved_1 => reserved_1,
            handle => __bindgen_anon_1.zbva.dma_region_handle,
            param => __bindgen_anon_1.zbva.access_flags,
            access_flags => __bindgen_anon_1.da.access_flags,
            reserved_2 => reserved_2,
            length => __bindgen_anon_2.da_ext.length,
        });
        bad += check!(CreateMrReq, c::gdma_create_mr_request {
            hdr => hdr,
            pd_handle => pd_handle,
            mr_type => mr_type,
            reserved_1 => reserved_1,
            handle => __bindgen_anon_1.da.dm_handle,
            param => __bindgen_anon_1.da.offset,
            access_flags => __bindgen_anon_1.da.access_flags,
            reserved_2 => reserved_2,
            length => __bindgen_anon_2.da_ext.length,
        });
        // The union ends where `reserved_2` starts: no member is longer than the flattening.
        assert_eq!(
            size_of::<c::gdma_create_mr_request__bindgen_ty_1>(),
            offset_of!(CreateMrReq, reserved_2) - offset_of!(CreateMrReq, handle)
        );
        bad += check!(CreateMrResp, c::gdma_create_mr_response {
            hdr => hdr,
            mr_handle => mr_handle,
            lkey => lkey,
            rkey => rkey,
        });
        bad += check!(DestroyMrReq, c::gdma_destroy_mr_request {
            hdr => hdr,
            mr_handle => mr_handle,
        });
        bad += check!(DestroyMrResp, c::gdma_destroy_mr_response { hdr => hdr });
        bad += check!(QueryHwcTimeoutReq, c::gdma_query_hwc_timeout_req {
            hdr => hdr,
            timeout_ms => timeout_ms,
            reserved => reserved,
        });
        bad += check!(QueryHwcTimeoutResp, c::gdma_query_hwc_timeout_resp {
            hdr => hdr,
            timeout_ms => timeout_ms,
            reserved => reserved,
        });
        bad += check!(AllocDmReq, c::gdma_alloc_dm_req {
            hdr => hdr,
            length => length,
            alignment => alignment,
            flags => flags,
        });
        bad += check!(AllocDmResp, c::gdma_alloc_dm_resp {
            hdr => hdr,
            dm_handle => dm_handle,
        });
        bad += check!(DestroyDmReq, c::gdma_destroy_dm_req {
            hdr => hdr,
            dm_handle => dm_handle,
        });
        bad += check!(DestroyDmResp, c::gdma_destroy_dm_resp { hdr => hdr });
        assert_eq!(bad, 0);
    }

    #[test]
    fn mana_requests() {
        let mut bad = 0;
        bad += check!(QueryDevCfgReq, c::mana_query_device_cfg_req {
            hdr => hdr,
            mn_drv_cap_flags1 => mn_drv_cap_flags1,
            mn_drv_cap_flags2 => mn_drv_cap_flags2,
            mn_drv_cap_flags3 => mn_drv_cap_flags3,
            mn_drv_cap_flags4 => mn_drv_cap_flags4,
            proto_major_ver => proto_major_ver,
            proto_minor_ver => proto_minor_ver,
            proto_micro_ver => proto_micro_ver,
            reserved => reserved,
        });
        bad += check!(QueryDevCfgResp, c::mana_query_device_cfg_resp {
            hdr => hdr,
            pf_cap_flags1 => pf_cap_flags1,
            pf_cap_flags2 => pf_cap_flags2,
            pf_cap_flags3 => pf_cap_flags3,
            pf_cap_flags4 => pf_cap_flags4,
            max_num_vports => max_num_vports,
            bm_hostmode => bm_hostmode,
            reserved => reserved,
            max_num_eqs => max_num_eqs,
            adapter_mtu => adapter_mtu,
            reserved2 => reserved2,
            reserved3 => reserved3,
        });
        bad += check!(QueryGfStatReq, c::mana_query_gf_stat_req {
            hdr => hdr,
            req_stats => req_stats,
        });
        bad += check!(QueryGfStatResp, c::mana_query_gf_stat_resp {
            hdr => hdr,
            reported_stats => reported_stats,
            rx_discards_nowqe => rx_discards_nowqe,
            rx_err_vport_disabled => rx_err_vport_disabled,
            hc_rx_bytes => hc_rx_bytes,
            hc_rx_ucast_pkts => hc_rx_ucast_pkts,
            hc_rx_ucast_bytes => hc_rx_ucast_bytes,
            hc_rx_bcast_pkts => hc_rx_bcast_pkts,
            hc_rx_bcast_bytes => hc_rx_bcast_bytes,
            hc_rx_mcast_pkts => hc_rx_mcast_pkts,
            hc_rx_mcast_bytes => hc_rx_mcast_bytes,
            tx_err_gf_disabled => tx_err_gf_disabled,
            tx_err_vport_disabled => tx_err_vport_disabled,
            tx_err_inval_vport_offset_pkt => tx_err_inval_vport_offset_pkt,
            tx_err_vlan_enforcement => tx_err_vlan_enforcement,
            tx_err_ethtype_enforcement => tx_err_ethtype_enforcement,
            tx_err_sa_enforcement => tx_err_SA_enforcement,
            tx_err_sqpdid_enforcement => tx_err_SQPDID_enforcement,
            tx_err_cqpdid_enforcement => tx_err_CQPDID_enforcement,
            tx_err_mtu_violation => tx_err_mtu_violation,
            tx_err_inval_oob => tx_err_inval_oob,
            hc_tx_bytes => hc_tx_bytes,
            hc_tx_ucast_pkts => hc_tx_ucast_pkts,
            hc_tx_ucast_bytes => hc_tx_ucast_bytes,
            hc_tx_bcast_pkts => hc_tx_bcast_pkts,
            hc_tx_bcast_bytes => hc_tx_bcast_bytes,
            hc_tx_mcast_pkts => hc_tx_mcast_pkts,
            hc_tx_mcast_bytes => hc_tx_mcast_bytes,
            tx_err_gdma => tx_err_gdma,
        });
        bad += check!(ConfigVportReq, c::mana_config_vport_req {
            hdr => hdr,
            vport => vport,
            pdid => pdid,
            doorbell_pageid => doorbell_pageid,
        });
        bad += check!(ConfigVportResp, c::mana_config_vport_resp {
            hdr => hdr,
            tx_vport_offset => tx_vport_offset,
            short_form_allowed => short_form_allowed,
            reserved => reserved,
        });
        bad += check!(CreateWqObjReq, c::mana_create_wqobj_req {
            hdr => hdr,
            vport => vport,
            wq_type => wq_type,
            reserved => reserved,
            wq_gdma_region => wq_gdma_region,
            cq_gdma_region => cq_gdma_region,
            wq_size => wq_size,
            cq_size => cq_size,
            cq_moderation_ctx_id => cq_moderation_ctx_id,
            cq_parent_qid => cq_parent_qid,
            allow_rqwqe_chain => allow_rqwqe_chain,
            req_cq_moderation => req_cq_moderation,
            cq_moderation_comp => cq_moderation_comp,
            cq_moderation_usec => cq_moderation_usec,
            reserved2 => reserved2,
        });
        bad += check!(CreateWqObjResp, c::mana_create_wqobj_resp {
            hdr => hdr,
            wq_id => wq_id,
            cq_id => cq_id,
            wq_obj => wq_obj,
            cq_moderation_comp => cq_moderation_comp,
            cq_moderation_usec => cq_moderation_usec,
            cq_moderation_enabled => cq_moderation_enabled,
            reserved1 => reserved1,
        });
        bad += check!(DestroyWqObjReq, c::mana_destroy_wqobj_req {
            hdr => hdr,
            wq_type => wq_type,
            reserved => reserved,
            wq_obj_handle => wq_obj_handle,
        });
        bad += check!(DestroyWqObjResp, c::mana_destroy_wqobj_resp { hdr => hdr });
        bad += check!(FenceRqReq, c::mana_fence_rq_req {
            hdr => hdr,
            wq_obj_handle => wq_obj_handle,
        });
        bad += check!(FenceRqResp, c::mana_fence_rq_resp { hdr => hdr });
        bad += check!(CfgRxSteerReq, c::mana_cfg_rx_steer_req_v2 {
            hdr => hdr,
            vport => vport,
            num_indir_entries => num_indir_entries,
            indir_tab_offset => indir_tab_offset,
            rx_enable => rx_enable,
            rss_enable => rss_enable,
            update_default_rxobj => update_default_rxobj,
            update_hashkey => update_hashkey,
            update_indir_tab => update_indir_tab,
            reserved => reserved,
            default_rxobj => default_rxobj,
            hashkey => hashkey,
            cqe_coalescing_enable => cqe_coalescing_enable,
            reserved2 => reserved2,
            rss_hash_types => rss_hash_types,
            cqe8_coalescing_enable => cqe8_coalescing_enable,
            reserved3 => reserved3,
        });
        assert_eq!(
            size_of::<CfgRxSteerReq>(),
            offset_of!(c::mana_cfg_rx_steer_req_v2, indir_tab)
        );
        bad += check!(CfgRxSteerResp, c::mana_cfg_rx_steer_resp {
            hdr => hdr,
            cqe_coalescing_timeout_ns => cqe_coalescing_timeout_ns,
            reserved1 => reserved1,
        });
        bad += check!(QueryVportCfgReq, c::mana_query_vport_cfg_req {
            hdr => hdr,
            vport_index => vport_index,
        });
        bad += check!(QueryVportCfgResp, c::mana_query_vport_cfg_resp {
            hdr => hdr,
            max_num_sq => max_num_sq,
            max_num_rq => max_num_rq,
            num_indirection_ent => num_indirection_ent,
            reserved1 => reserved1,
            mac_addr => mac_addr,
            reserved2 => reserved2,
            vport => vport,
        });
        bad += check!(QueryLinkConfigReq, c::mana_query_link_config_req {
            hdr => hdr,
            vport => vport,
        });
        bad += check!(QueryLinkConfigResp, c::mana_query_link_config_resp {
            hdr => hdr,
            qos_speed_mbps => qos_speed_mbps,
            qos_unconfigured => qos_unconfigured,
            reserved1 => reserved1,
            link_speed_mbps => link_speed_mbps,
            reserved2 => reserved2,
        });
        bad += check!(SetBwClampReq, c::mana_set_bw_clamp_req {
            hdr => hdr,
            vport => vport,
            enable_clamping => enable_clamping,
            link_speed_mbps => link_speed_mbps,
        });
        bad += check!(SetBwClampResp, c::mana_set_bw_clamp_resp {
            hdr => hdr,
            qos_unconfigured => qos_unconfigured,
            reserved => reserved,
        });
        bad += check!(QueryPhyStatReq, c::mana_query_phy_stat_req {
            hdr => hdr,
            req_stats => req_stats,
        });
        bad += check!(QueryPhyStatResp, c::mana_query_phy_stat_resp {
            hdr => hdr,
            reported_stats => reported_stats,
            rx_pkt_drop_phy => rx_pkt_drop_phy,
            tx_pkt_drop_phy => tx_pkt_drop_phy,
            rx_pkt_tc0_phy => rx_pkt_tc0_phy,
            tx_pkt_tc0_phy => tx_pkt_tc0_phy,
            rx_pkt_tc1_phy => rx_pkt_tc1_phy,
            tx_pkt_tc1_phy => tx_pkt_tc1_phy,
            rx_pkt_tc2_phy => rx_pkt_tc2_phy,
            tx_pkt_tc2_phy => tx_pkt_tc2_phy,
            rx_pkt_tc3_phy => rx_pkt_tc3_phy,
            tx_pkt_tc3_phy => tx_pkt_tc3_phy,
            rx_pkt_tc4_phy => rx_pkt_tc4_phy,
            tx_pkt_tc4_phy => tx_pkt_tc4_phy,
            rx_pkt_tc5_phy => rx_pkt_tc5_phy,
            tx_pkt_tc5_phy => tx_pkt_tc5_phy,
            rx_pkt_tc6_phy => rx_pkt_tc6_phy,
            tx_pkt_tc6_phy => tx_pkt_tc6_phy,
            rx_pkt_tc7_phy => rx_pkt_tc7_phy,
            tx_pkt_tc7_phy => tx_pkt_tc7_phy,
            rx_byte_tc0_phy => rx_byte_tc0_phy,
            tx_byte_tc0_phy => tx_byte_tc0_phy,
            rx_byte_tc1_phy => rx_byte_tc1_phy,
            tx_byte_tc1_phy => tx_byte_tc1_phy,
            rx_byte_tc2_phy => rx_byte_tc2_phy,
            tx_byte_tc2_phy => tx_byte_tc2_phy,
            rx_byte_tc3_phy => rx_byte_tc3_phy,
            tx_byte_tc3_phy => tx_byte_tc3_phy,
            rx_byte_tc4_phy => rx_byte_tc4_phy,
            tx_byte_tc4_phy => tx_byte_tc4_phy,
            rx_byte_tc5_phy => rx_byte_tc5_phy,
            tx_byte_tc5_phy => tx_byte_tc5_phy,
            rx_byte_tc6_phy => rx_byte_tc6_phy,
            tx_byte_tc6_phy => tx_byte_tc6_phy,
            rx_byte_tc7_phy => rx_byte_tc7_phy,
            tx_byte_tc7_phy => tx_byte_tc7_phy,
            rx_pause_tc0_phy => rx_pause_tc0_phy,
            tx_pause_tc0_phy => tx_pause_tc0_phy,
            rx_pause_tc1_phy => rx_pause_tc1_phy,
            tx_pause_tc1_phy => tx_pause_tc1_phy,
            rx_pause_tc2_phy => rx_pause_tc2_phy,
            tx_pause_tc2_phy => tx_pause_tc2_phy,
            rx_pause_tc3_phy => rx_pause_tc3_phy,
            tx_pause_tc3_phy => tx_pause_tc3_phy,
            rx_pause_tc4_phy => rx_pause_tc4_phy,
            tx_pause_tc4_phy => tx_pause_tc4_phy,
            rx_pause_tc5_phy => rx_pause_tc5_phy,
            tx_pause_tc5_phy => tx_pause_tc5_phy,
            rx_pause_tc6_phy => rx_pause_tc6_phy,
            tx_pause_tc6_phy => tx_pause_tc6_phy,
            rx_pause_tc7_phy => rx_pause_tc7_phy,
            tx_pause_tc7_phy => tx_pause_tc7_phy,
        });
        bad += check!(RegisterHwVportReq, c::mana_register_hw_vport_req {
            hdr => hdr,
            attached_gfid => attached_gfid,
            is_pf_default_vport => is_pf_default_vport,
            reserved1 => reserved1,
            allow_all_ether_types => allow_all_ether_types,
            reserved2 => reserved2,
            reserved3 => reserved3,
            reserved4 => reserved4,
        });
        bad += check!(RegisterHwVportResp, c::mana_register_hw_vport_resp {
            hdr => hdr,
            hw_vport_handle => hw_vport_handle,
        });
        bad += check!(DeregisterHwVportReq, c::mana_deregister_hw_vport_req {
            hdr => hdr,
            hw_vport_handle => hw_vport_handle,
        });
        bad += check!(DeregisterHwVportResp, c::mana_deregister_hw_vport_resp { hdr => hdr });
        bad += check!(RegisterFilterReq, c::mana_register_filter_req {
            hdr => hdr,
            vport => vport,
            mac_addr => mac_addr,
            reserved1 => reserved1,
            reserved2 => reserved2,
            reserved3 => reserved3,
            reserved4 => reserved4,
            reserved5 => reserved5,
            reserved6 => reserved6,
            reserved7 => reserved7,
            reserved8 => reserved8,
        });
        bad += check!(RegisterFilterResp, c::mana_register_filter_resp {
            hdr => hdr,
            filter_handle => filter_handle,
        });
        bad += check!(DeregisterFilterReq, c::mana_deregister_filter_req {
            hdr => hdr,
            filter_handle => filter_handle,
        });
        bad += check!(DeregisterFilterResp, c::mana_deregister_filter_resp { hdr => hdr });
        assert_eq!(bad, 0);
    }

    #[test]
    fn hwc_formats() {
        let mut bad = 0;
        bad += check_word!(HwcInitEqIdDb, c::hwc_init_eq_id_db);
        bad += check_bits!(HwcInitEqIdDb, c::hwc_init_eq_id_db, 0, u32, {
            EQ_ID_MASK => __bindgen_anon_1 => set_eq_id,
            DOORBELL_MASK => __bindgen_anon_1 => set_doorbell,
        });
        bad += check_word!(HwcInitTypeData, c::hwc_init_type_data);
        bad += check_bits!(HwcInitTypeData, c::hwc_init_type_data, 0, u32, {
            VALUE_MASK => __bindgen_anon_1 => set_value,
            DATA_TYPE_MASK => __bindgen_anon_1 => set_type,
        });
        bad += check_word!(HwcSocServiceType, c::hwc_init_soc_service_type);
        bad += check_bits!(HwcSocServiceType, c::hwc_init_soc_service_type, 0, u32, {
            VALUE_MASK => __bindgen_anon_1 => set_value,
            SERVICE_TYPE_MASK => __bindgen_anon_1 => set_type,
        });
        bad += check!(HwcRxOob, c::hwc_rx_oob {
            flags => _bitfield_1,
            src => _bitfield_1 + 4,
            reserved2 => reserved2,
            wqe_offset => __bindgen_anon_1.wqe_offset,
            wqe_addr_high => wqe_addr_high,
            cdu => _bitfield_2,
            tx_oob_data_size => tx_oob_data_size,
            chunk => _bitfield_3,
        });
        bad += check_bits!(HwcRxOobFlags, c::hwc_rx_oob, 0, u32, {
            OOB_TYPE_MASK => => set_type,
            EOM_MASK => => set_eom,
            SOM_MASK => => set_som,
            VENDOR_ERR_MASK => => set_vendor_err,
        });
        bad += check_bits!(HwcRxOobSrc, c::hwc_rx_oob, 4, u32, {
            SRC_VIRT_WQ_MASK => => set_src_virt_wq,
            SRC_VFID_MASK => => set_src_vfid,
        });
        bad += check_bits!(HwcRxOobCdu, c::hwc_rx_oob, 20, u32, {
            CLIENT_DATA_UNIT_MASK => => set_client_data_unit,
        });
        bad += check_bits!(HwcRxOobChunk, c::hwc_rx_oob, 28, u32, {
            CHUNK_OFFSET_MASK => => set_chunk_offset,
        });
        bad += check!(HwcTxOob, c::hwc_tx_oob {
            reserved1 => reserved1,
            reserved2 => reserved2,
            vrq => _bitfield_1,
            vrcq => _bitfield_1 + 4,
            vscq => _bitfield_1 + 8,
            vsq => _bitfield_1 + 12,
        });
        bad += check_bits!(HwcTxOobVrq, c::hwc_tx_oob, 8, u32, {
            VRQ_ID_MASK => => set_vrq_id,
            DEST_VFID_MASK => => set_dest_vfid,
        });
        bad += check_bits!(HwcTxOobVrcq, c::hwc_tx_oob, 12, u32, {
            VRCQ_ID_MASK => => set_vrcq_id,
        });
        bad += check_bits!(HwcTxOobVscq, c::hwc_tx_oob, 16, u32, {
            VSCQ_ID_MASK => => set_vscq_id,
            LOOPBACK_MASK => => set_loopback,
            LSO_OVERRIDE_MASK => => set_lso_override,
            DEST_PF_MASK => => set_dest_pf,
        });
        bad += check_bits!(HwcTxOobVsq, c::hwc_tx_oob, 20, u32, {
            VSQ_ID_MASK => => set_vsq_id,
        });
        assert_eq!(bad, 0);
    }

    #[test]
    fn queue_formats() {
        let mut bad = 0;
        bad += check!(Sge, c::gdma_sge {
            address => address,
            mem_key => mem_key,
            size => size,
        });
        bad += check!(WqeHeader, c::gdma_wqe {
            word0 => _bitfield_1,
            flags => __bindgen_anon_1.flags,
        });
        bad += check_bits!(WqeHeaderWord0, c::gdma_wqe, 0, u32, {
            LAST_VBYTES_MASK => => set_last_vbytes,
        });
        bad += check_bits!(WqeHeaderFlags, c::gdma_wqe, 4, u32, {
            NUM_SGE_MASK => __bindgen_anon_1.__bindgen_anon_1 => set_num_sge,
            INLINE_OOB_SIZE_DIV4_MASK =>
                __bindgen_anon_1.__bindgen_anon_1 => set_inline_oob_size_div4,
            CLIENT_OOB_IN_SGL_MASK => __bindgen_anon_1.__bindgen_anon_1 => set_client_oob_in_sgl,
            CLIENT_DATA_UNIT_MASK => __bindgen_anon_1.__bindgen_anon_1 => set_client_data_unit,
        });
        bad += check!(Cqe, c::gdma_cqe {
            cqe_data => cqe_data,
            info => cqe_info.as_uint32,
        });
        bad += check_bits!(CqeInfo, c::gdma_cqe, 60, u32, {
            WQ_NUM_MASK => cqe_info.__bindgen_anon_1 => set_wq_num,
            IS_SQ_MASK => cqe_info.__bindgen_anon_1 => set_is_sq,
            OWNER_BITS_MASK => cqe_info.__bindgen_anon_1 => set_owner_bits,
        });
        bad += check!(Eqe, c::gdma_eqe {
            details => details,
            info => eqe_info,
        });
        bad += check_word!(EqeInfo, c::gdma_eqe_info);
        bad += check_bits!(EqeInfo, c::gdma_eqe_info, 0, u32, {
            EQE_TYPE_MASK => __bindgen_anon_1 => set_type,
            CLIENT_ID_MASK => __bindgen_anon_1 => set_client_id,
            OWNER_BITS_MASK => __bindgen_anon_1 => set_owner_bits,
        });
        assert_eq!(bad, 0);
    }

    #[test]
    fn doorbells() {
        let mut bad = 0;
        bad += check_word!(SqDoorbell, c::gdma_doorbell_entry);
        bad += check_bits!(SqDoorbell, c::gdma_doorbell_entry, 0, u64, {
            ID_MASK => sq => set_id,
            TAIL_PTR_MASK => sq => set_tail_ptr,
        });
        bad += check_word!(RqDoorbell, c::gdma_doorbell_entry);
        bad += check_bits!(RqDoorbell, c::gdma_doorbell_entry, 0, u64, {
            ID_MASK => rq => set_id,
            WQE_CNT_MASK => rq => set_wqe_cnt,
            TAIL_PTR_MASK => rq => set_tail_ptr,
        });
        bad += check_word!(CqDoorbell, c::gdma_doorbell_entry);
        bad += check_bits!(CqDoorbell, c::gdma_doorbell_entry, 0, u64, {
            ID_MASK => cq => set_id,
            TAIL_PTR_MASK => cq => set_tail_ptr,
            ARM_MASK => cq => set_arm,
        });
        bad += check_word!(EqDoorbell, c::gdma_doorbell_entry);
        bad += check_bits!(EqDoorbell, c::gdma_doorbell_entry, 0, u64, {
            ID_MASK => eq => set_id,
            TAIL_PTR_MASK => eq => set_tail_ptr,
            ARM_MASK => eq => set_arm,
        });
        bad += check_word!(DimDoorbell, c::gdma_doorbell_entry);
        bad += check_bits!(DimDoorbell, c::gdma_doorbell_entry, 0, u64, {
            ID_MASK => dim => set_id,
            MOD_USEC_MASK => dim => set_mod_usec,
            MOD_USEC_VLD_MASK => dim => set_mod_usec_vld,
            MOD_COMPS_MASK => dim => set_mod_comps,
            MOD_COMPS_VLD_MASK => dim => set_mod_comps_vld,
        });
        assert_eq!(bad, 0);
    }

    #[test]
    fn eth_formats() {
        let mut bad = 0;
        bad += check!(TxShortOob, c::mana_tx_short_oob {
            word0 => _bitfield_1,
            word1 => _bitfield_1 + 4,
        });
        bad += check_bits!(TxShortOobWord0, c::mana_tx_short_oob, 0, u32, {
            PKT_FMT_MASK => => set_pkt_fmt,
            IS_OUTER_IPV4_MASK => => set_is_outer_ipv4,
            IS_OUTER_IPV6_MASK => => set_is_outer_ipv6,
            COMP_IPHDR_CSUM_MASK => => set_comp_iphdr_csum,
            COMP_TCP_CSUM_MASK => => set_comp_tcp_csum,
            COMP_UDP_CSUM_MASK => => set_comp_udp_csum,
            SUPPRESS_TXCQE_GEN_MASK => => set_supress_txcqe_gen,
            VCQ_NUM_MASK => => set_vcq_num,
        });
        bad += check_bits!(TxShortOobWord1, c::mana_tx_short_oob, 4, u32, {
            TRANS_OFF_MASK => => set_trans_off,
            VSQ_FRAME_MASK => => set_vsq_frame,
            SHORT_VP_OFFSET_MASK => => set_short_vp_offset,
        });
        bad += check!(TxLongOob, c::mana_tx_long_oob {
            word0 => _bitfield_1,
            word1 => _bitfield_1 + 4,
            reserved3 => reserved3,
            reserved4 => reserved4,
        });
        bad += check_bits!(TxLongOobWord0, c::mana_tx_long_oob, 0, u32, {
            IS_ENCAP_MASK => => set_is_encap,
            INNER_IS_IPV6_MASK => => set_inner_is_ipv6,
            INNER_TCP_OPT_MASK => => set_inner_tcp_opt,
            INJECT_VLAN_PRI_TAG_MASK => => set_inject_vlan_pri_tag,
            PCP_MASK => => set_pcp,
            DEI_MASK => => set_dei,
            VLAN_ID_MASK => => set_vlan_id,
        });
        bad += check_bits!(TxLongOobWord1, c::mana_tx_long_oob, 4, u32, {
            INNER_FRAME_OFFSET_MASK => => set_inner_frame_offset,
            INNER_IP_REL_OFFSET_MASK => => set_inner_ip_rel_offset,
            LONG_VP_OFFSET_MASK => => set_long_vp_offset,
        });
        bad += check!(TxOob, c::mana_tx_oob {
            s_oob => s_oob,
            l_oob => l_oob,
        });
        bad += check_word!(CqeHeader, c::mana_cqe_header);
        bad += check_bits!(CqeHeader, c::mana_cqe_header, 0, u32, {
            CQE_TYPE_MASK => => set_cqe_type,
            CLIENT_TYPE_MASK => => set_client_type,
            VENDOR_ERR_MASK => => set_vendor_err,
        });
        bad += check!(RxCompPerPktInfo, c::mana_rxcomp_perpkt_info {
            word0 => __bindgen_anon_2.pkt_hash0,
            word1 => __bindgen_anon_2.pkt_len0,
            word2 => __bindgen_anon_2.pkt_hash1,
        });
        bad += check!(RxCompPerPktInfo, c::mana_rxcomp_perpkt_info {
            word0 => __bindgen_anon_1._bitfield_1,
            word1 => __bindgen_anon_1.reserved2,
            word2 => __bindgen_anon_1.pkt_hash,
        });
        bad += check!(RxCompOob, c::mana_rxcomp_oob {
            cqe_hdr => cqe_hdr,
            flags => _bitfield_1,
            ppi => ppi,
            rx_wqe_offset => rx_wqe_offset,
        });
        bad += check_bits!(RxCompFlags, c::mana_rxcomp_oob, 4, u32, {
            RX_VLAN_ID_MASK => => set_rx_vlan_id,
            RX_VLANTAG_PRESENT_MASK => => set_rx_vlantag_present,
            RX_OUTER_IPHDR_CSUM_SUCCEED_MASK => => set_rx_outer_iphdr_csum_succeed,
            RX_OUTER_IPHDR_CSUM_FAIL_MASK => => set_rx_outer_iphdr_csum_fail,
            RX_HASHTYPE_MASK => => set_rx_hashtype,
            RX_IPHDR_CSUM_SUCCEED_MASK => => set_rx_iphdr_csum_succeed,
            RX_IPHDR_CSUM_FAIL_MASK => => set_rx_iphdr_csum_fail,
            RX_TCP_CSUM_SUCCEED_MASK => => set_rx_tcp_csum_succeed,
            RX_TCP_CSUM_FAIL_MASK => => set_rx_tcp_csum_fail,
            RX_UDP_CSUM_SUCCEED_MASK => => set_rx_udp_csum_succeed,
            RX_UDP_CSUM_FAIL_MASK => => set_rx_udp_csum_fail,
        });
        bad += check!(TxCompOob, c::mana_tx_comp_oob {
            cqe_hdr => cqe_hdr,
            tx_data_offset => tx_data_offset,
            offsets => _bitfield_1,
            reserved => reserved,
        });
        bad += check_bits!(TxCompOffsets, c::mana_tx_comp_oob, 8, u32, {
            TX_SGL_OFFSET_MASK => => set_tx_sgl_offset,
            TX_WQE_OFFSET_MASK => => set_tx_wqe_offset,
        });
        assert_eq!(bad, 0);
    }

    #[test]
    fn uverbs_abi() {
        let mut bad = 0;
        bad += check!(CreateCq, c::mana_ib_create_cq {
            buf_addr => buf_addr,
            comp_mask => comp_mask,
            reserved0 => reserved0,
            reserved1 => reserved1,
        });
        bad += check!(CreateCqResp, c::mana_ib_create_cq_resp {
            cqid => cqid,
            reserved => reserved,
        });
        bad += check!(CreateQp, c::mana_ib_create_qp {
            sq_buf_addr => sq_buf_addr,
            sq_buf_size => sq_buf_size,
            port => port,
        });
        bad += check!(CreateQpResp, c::mana_ib_create_qp_resp {
            sqid => sqid,
            cqid => cqid,
            tx_vp_offset => tx_vp_offset,
            reserved => reserved,
        });
        bad += check!(CreateRcQp, c::mana_ib_create_rc_qp {
            queue_buf => queue_buf,
            queue_size => queue_size,
        });
        bad += check!(CreateRcQpResp, c::mana_ib_create_rc_qp_resp { queue_id => queue_id });
        bad += check!(CreateUcQp, c::mana_ib_create_uc_qp {
            queue_buf => queue_buf,
            queue_size => queue_size,
            comp_mask => comp_mask,
        });
        bad += check!(CreateUcQpResp, c::mana_ib_create_uc_qp_resp {
            queue_id => queue_id,
            reserved => reserved,
        });
        bad += check!(CreateWq, c::mana_ib_create_wq {
            wq_buf_addr => wq_buf_addr,
            wq_buf_size => wq_buf_size,
            reserved => reserved,
        });
        bad += check!(CreateQpRss, c::mana_ib_create_qp_rss {
            rx_hash_fields_mask => rx_hash_fields_mask,
            rx_hash_function => rx_hash_function,
            reserved => reserved,
            rx_hash_key_len => rx_hash_key_len,
            rx_hash_key => rx_hash_key,
            port => port,
        });
        bad += check!(RssRespEntry, c::rss_resp_entry {
            cqid => cqid,
            wqid => wqid,
        });
        bad += check!(CreateQpRssResp, c::mana_ib_create_qp_rss_resp {
            num_entries => num_entries,
            entries => entries,
        });
        bad += check!(AllocUcontextResp, c::mana_ib_alloc_ucontext_resp {
            comp_mask => comp_mask,
        });
        bad += check!(AllocPd, c::mana_ib_alloc_pd {
            comp_mask => comp_mask,
            reserved => reserved,
        });
        bad += check!(AllocPdResp, c::mana_ib_alloc_pd_resp {
            pdn => pdn,
            reserved => reserved,
        });
        assert_eq!(bad, 0);
    }
}

#[kunit_tests(mana_rs_wire_consts)]
mod consts {
    use super::super::mana_c as c;

    use crate::wire::{
        abi,
        eth,
        gdma_msgs as g,
        hdr,
        hwc,
        mana_msgs as m,
        queue as q,
        regs,
        smc, //
    };

    #[test]
    fn request_codes() {
        assert_eq!(
            g::code::VERIFY_VF_DRIVER_VERSION,
            c::gdma_request_type_GDMA_VERIFY_VF_DRIVER_VERSION
        );
        assert_eq!(
            g::code::QUERY_MAX_RESOURCES,
            c::gdma_request_type_GDMA_QUERY_MAX_RESOURCES
        );
        assert_eq!(
            g::code::LIST_DEVICES,
            c::gdma_request_type_GDMA_LIST_DEVICES
        );
        assert_eq!(
            g::code::REGISTER_DEVICE,
            c::gdma_request_type_GDMA_REGISTER_DEVICE
        );
        assert_eq!(
            g::code::DEREGISTER_DEVICE,
            c::gdma_request_type_GDMA_DEREGISTER_DEVICE
        );
        assert_eq!(
            g::code::GENERATE_TEST_EQE,
            c::gdma_request_type_GDMA_GENERATE_TEST_EQE
        );
        assert_eq!(
            g::code::CREATE_QUEUE,
            c::gdma_request_type_GDMA_CREATE_QUEUE
        );
        assert_eq!(
            g::code::DISABLE_QUEUE,
            c::gdma_request_type_GDMA_DISABLE_QUEUE
        );
        assert_eq!(
            g::code::ALLOCATE_RESOURCE_RANGE,
            c::gdma_request_type_GDMA_ALLOCATE_RESOURCE_RANGE
        );
        assert_eq!(
            g::code::DESTROY_RESOURCE_RANGE,
            c::gdma_request_type_GDMA_DESTROY_RESOURCE_RANGE
        );
        assert_eq!(
            g::code::CREATE_DMA_REGION,
            c::gdma_request_type_GDMA_CREATE_DMA_REGION
        );
        assert_eq!(
            g::code::DMA_REGION_ADD_PAGES,
            c::gdma_request_type_GDMA_DMA_REGION_ADD_PAGES
        );
        assert_eq!(
            g::code::DESTROY_DMA_REGION,
            c::gdma_request_type_GDMA_DESTROY_DMA_REGION
        );
        assert_eq!(g::code::CREATE_PD, c::gdma_request_type_GDMA_CREATE_PD);
        assert_eq!(g::code::DESTROY_PD, c::gdma_request_type_GDMA_DESTROY_PD);
        assert_eq!(g::code::CREATE_MR, c::gdma_request_type_GDMA_CREATE_MR);
        assert_eq!(g::code::DESTROY_MR, c::gdma_request_type_GDMA_DESTROY_MR);
        assert_eq!(
            g::code::QUERY_HWC_TIMEOUT,
            c::gdma_request_type_GDMA_QUERY_HWC_TIMEOUT
        );
        assert_eq!(g::code::ALLOC_DM, c::gdma_request_type_GDMA_ALLOC_DM);
        assert_eq!(g::code::DESTROY_DM, c::gdma_request_type_GDMA_DESTROY_DM);

        assert_eq!(
            m::code::QUERY_DEV_CONFIG,
            c::mana_command_code_MANA_QUERY_DEV_CONFIG
        );
        assert_eq!(
            m::code::QUERY_GF_STAT,
            c::mana_command_code_MANA_QUERY_GF_STAT
        );
        assert_eq!(
            m::code::CONFIG_VPORT_TX,
            c::mana_command_code_MANA_CONFIG_VPORT_TX
        );
        assert_eq!(
            m::code::CREATE_WQ_OBJ,
            c::mana_command_code_MANA_CREATE_WQ_OBJ
        );
        assert_eq!(
            m::code::DESTROY_WQ_OBJ,
            c::mana_command_code_MANA_DESTROY_WQ_OBJ
        );
        assert_eq!(m::code::FENCE_RQ, c::mana_command_code_MANA_FENCE_RQ);
        assert_eq!(
            m::code::CONFIG_VPORT_RX,
            c::mana_command_code_MANA_CONFIG_VPORT_RX
        );
        assert_eq!(
            m::code::QUERY_VPORT_CONFIG,
            c::mana_command_code_MANA_QUERY_VPORT_CONFIG
        );
        assert_eq!(
            m::code::QUERY_LINK_CONFIG,
            c::mana_command_code_MANA_QUERY_LINK_CONFIG
        );
        assert_eq!(
            m::code::SET_BW_CLAMP,
            c::mana_command_code_MANA_SET_BW_CLAMP
        );
        assert_eq!(
            m::code::QUERY_PHY_STAT,
            c::mana_command_code_MANA_QUERY_PHY_STAT
        );
        assert_eq!(
            m::code::REGISTER_FILTER,
            c::mana_command_code_MANA_REGISTER_FILTER
        );
        assert_eq!(
            m::code::DEREGISTER_FILTER,
            c::mana_command_code_MANA_DEREGISTER_FILTER
        );
        assert_eq!(
            m::code::REGISTER_HW_PORT,
            c::mana_command_code_MANA_REGISTER_HW_PORT
        );
        assert_eq!(
            m::code::DEREGISTER_HW_PORT,
            c::mana_command_code_MANA_DEREGISTER_HW_PORT
        );
    }

    #[test]
    fn header_numbers() {
        assert_eq!(hdr::STANDARD_HEADER_TYPE, c::GDMA_STANDARD_HEADER_TYPE);
        assert_eq!(u32::from(hdr::MSG_V1), c::GDMA_MESSAGE_V1);
        assert_eq!(u32::from(hdr::MSG_V2), c::GDMA_MESSAGE_V2);
        assert_eq!(u32::from(hdr::MSG_V3), c::GDMA_MESSAGE_V3);
        assert_eq!(u32::from(hdr::MSG_V4), c::GDMA_MESSAGE_V4);
        assert_eq!(u32::from(hdr::MSG_V5), c::GDMA_MESSAGE_V5);
        assert_eq!(hdr::STATUS_MORE_ENTRIES, c::GDMA_STATUS_MORE_ENTRIES);
        assert_eq!(hdr::STATUS_CMD_UNSUPPORTED, c::GDMA_STATUS_CMD_UNSUPPORTED);
        assert_eq!(u32::from(hdr::device_type::NONE), c::GDMA_DEVICE_NONE);
        assert_eq!(u32::from(hdr::device_type::HWC), c::GDMA_DEVICE_HWC);
        assert_eq!(u32::from(hdr::device_type::MANA), c::GDMA_DEVICE_MANA);
        assert_eq!(u32::from(hdr::device_type::MANA_IB), c::GDMA_DEVICE_MANA_IB);
        assert_eq!(g::PROTOCOL_V1, u64::from(c::GDMA_PROTOCOL_V1));
        assert_eq!(g::RESOURCE_DOORBELL_PAGE, c::GDMA_RESOURCE_DOORBELL_PAGE);
        assert_eq!(g::DEV_LIST_SIZE, c::GDMA_DEV_LIST_SIZE as usize);
        assert_eq!(g::PAGE_TYPE_4K, c::gdma_page_type_GDMA_PAGE_TYPE_4K);
        assert_eq!(g::INVALID_DMA_REGION, u64::from(c::GDMA_INVALID_DMA_REGION));
        assert_eq!(
            g::pd_flags::ALLOW_GPA_MR,
            c::gdma_pd_flags_GDMA_PD_FLAG_ALLOW_GPA_MR
        );
        assert_eq!(
            g::pd_flags::SHORT_PDN,
            c::gdma_pd_flags_GDMA_PD_FLAG_SHORT_PDN
        );
        assert_eq!(g::mr_type::GPA, c::gdma_mr_type_GDMA_MR_TYPE_GPA);
        assert_eq!(g::mr_type::GVA, c::gdma_mr_type_GDMA_MR_TYPE_GVA);
        assert_eq!(g::mr_type::ZBVA, c::gdma_mr_type_GDMA_MR_TYPE_ZBVA);
        assert_eq!(g::mr_type::DM, c::gdma_mr_type_GDMA_MR_TYPE_DM);
        assert_eq!(g::mr_type::MW1, c::gdma_mr_type_GDMA_MR_TYPE_MW1);
        assert_eq!(g::mr_type::MW2, c::gdma_mr_type_GDMA_MR_TYPE_MW2);
        assert_eq!(
            g::access::LOCAL_READ,
            c::gdma_mr_access_flags_GDMA_ACCESS_FLAG_LOCAL_READ
        );
        assert_eq!(
            g::access::LOCAL_WRITE,
            c::gdma_mr_access_flags_GDMA_ACCESS_FLAG_LOCAL_WRITE
        );
        assert_eq!(
            g::access::REMOTE_READ,
            c::gdma_mr_access_flags_GDMA_ACCESS_FLAG_REMOTE_READ
        );
        assert_eq!(
            g::access::REMOTE_WRITE,
            c::gdma_mr_access_flags_GDMA_ACCESS_FLAG_REMOTE_WRITE
        );
        assert_eq!(
            g::access::REMOTE_ATOMIC,
            c::gdma_mr_access_flags_GDMA_ACCESS_FLAG_REMOTE_ATOMIC
        );
        assert_eq!(
            g::access::BIND_MW,
            c::gdma_mr_access_flags_GDMA_ACCESS_FLAG_BIND_MW
        );
        assert_eq!(m::MANA_MAJOR_VERSION, c::MANA_MAJOR_VERSION);
        assert_eq!(m::MANA_MINOR_VERSION, c::MANA_MINOR_VERSION);
        assert_eq!(m::MANA_MICRO_VERSION, c::MANA_MICRO_VERSION);
        assert_eq!(m::HASH_KEY_SIZE, c::MANA_HASH_KEY_SIZE as usize);
        assert_eq!(
            m::INDIRECT_TABLE_MAX_SIZE,
            c::MANA_INDIRECT_TABLE_MAX_SIZE as usize
        );
        assert_eq!(
            m::INDIRECT_TABLE_DEF_SIZE,
            c::MANA_INDIRECT_TABLE_DEF_SIZE as usize
        );
        assert_eq!(m::tri_state::TRUE, c::TRI_STATE_TRI_STATE_TRUE as u32);
        assert_eq!(m::tri_state::FALSE, c::TRI_STATE_TRI_STATE_FALSE as u32);
        // CAST: C sends the enum value -1 in a `u32` field.
        assert_eq!(m::tri_state::UNKNOWN, c::TRI_STATE_TRI_STATE_UNKNOWN as u32);
    }

    #[test]
    fn queue_numbers() {
        assert_eq!(q::queue_type::SQ, c::gdma_queue_type_GDMA_SQ);
        assert_eq!(q::queue_type::RQ, c::gdma_queue_type_GDMA_RQ);
        assert_eq!(q::queue_type::CQ, c::gdma_queue_type_GDMA_CQ);
        assert_eq!(q::queue_type::EQ, c::gdma_queue_type_GDMA_EQ);
        assert_eq!(q::queue_type::DIM, c::gdma_queue_type_GDMA_DIM);
        assert_eq!(
            u32::from(q::eqe_type::COMPLETION),
            c::gdma_eqe_type_GDMA_EQE_COMPLETION
        );
        assert_eq!(
            u32::from(q::eqe_type::TEST_EVENT),
            c::gdma_eqe_type_GDMA_EQE_TEST_EVENT
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_INIT_EQ_ID_DB),
            c::gdma_eqe_type_GDMA_EQE_HWC_INIT_EQ_ID_DB
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_INIT_DATA),
            c::gdma_eqe_type_GDMA_EQE_HWC_INIT_DATA
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_INIT_DONE),
            c::gdma_eqe_type_GDMA_EQE_HWC_INIT_DONE
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_FPGA_RECONFIG),
            c::gdma_eqe_type_GDMA_EQE_HWC_FPGA_RECONFIG
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_SOC_RECONFIG_DATA),
            c::gdma_eqe_type_GDMA_EQE_HWC_SOC_RECONFIG_DATA
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_SOC_SERVICE),
            c::gdma_eqe_type_GDMA_EQE_HWC_SOC_SERVICE
        );
        assert_eq!(
            u32::from(q::eqe_type::HWC_RESET_REQUEST),
            c::gdma_eqe_type_GDMA_EQE_HWC_RESET_REQUEST
        );
        assert_eq!(
            u32::from(q::eqe_type::RNIC_QP_FATAL),
            c::gdma_eqe_type_GDMA_EQE_RNIC_QP_FATAL
        );
        assert_eq!(
            q::service_type::NONE,
            c::gdma_service_type_GDMA_SERVICE_TYPE_NONE
        );
        assert_eq!(
            q::service_type::RDMA_SUSPEND,
            c::gdma_service_type_GDMA_SERVICE_TYPE_RDMA_SUSPEND
        );
        assert_eq!(
            q::service_type::RDMA_RESUME,
            c::gdma_service_type_GDMA_SERVICE_TYPE_RDMA_RESUME
        );
        assert_eq!(
            q::wr_flags::OOB_IN_SGL,
            c::gdma_work_request_flags_GDMA_WR_OOB_IN_SGL
        );
        assert_eq!(
            q::wr_flags::PAD_BY_SGE0,
            c::gdma_work_request_flags_GDMA_WR_PAD_BY_SGE0
        );
        assert_eq!(q::MANA_PAGE_SIZE, 1 << c::MANA_PAGE_SHIFT);
        assert_eq!(q::CQE_SIZE, c::GDMA_CQE_SIZE);
        assert_eq!(q::EQE_SIZE, c::GDMA_EQE_SIZE);
        assert_eq!(q::COMP_DATA_SIZE, c::GDMA_COMP_DATA_SIZE as usize);
        assert_eq!(q::EVENT_DATA_SIZE, c::GDMA_EVENT_DATA_SIZE as usize);
        assert_eq!(q::WQE_BU_SIZE, c::GDMA_WQE_BU_SIZE);
        assert_eq!(q::MAX_SQE_SIZE, c::GDMA_MAX_SQE_SIZE);
        assert_eq!(q::MAX_RQE_SIZE, c::GDMA_MAX_RQE_SIZE);
        assert_eq!(q::INLINE_OOB_SMALL_SIZE, c::INLINE_OOB_SMALL_SIZE);
        assert_eq!(q::INLINE_OOB_LARGE_SIZE, c::INLINE_OOB_LARGE_SIZE);
        assert_eq!(
            q::MANA_MAX_TX_WQE_SGL_ENTRIES,
            c::MANA_MAX_TX_WQE_SGL_ENTRIES
        );
        assert_eq!(q::OWNER_BITS, c::GDMA_CQE_OWNER_BITS);
        assert_eq!(q::OWNER_BITS, c::GDMA_EQE_OWNER_BITS);
        assert_eq!(q::OWNER_MASK, c::GDMA_CQE_OWNER_MASK);
        assert_eq!(q::OWNER_MASK, c::GDMA_EQE_OWNER_MASK);
        assert_eq!(q::CQ_NO_EQ, c::GDMA_CQ_NO_EQ);
        // The two SGL limits are macros over `sizeof`, which bindgen does not evaluate: these
        // are the C expressions with the C sizes.
        let sge = core::mem::size_of::<c::gdma_sge>() as u32;
        assert_eq!(
            q::MAX_TX_WQE_SGL_ENTRIES,
            (c::GDMA_MAX_SQE_SIZE - sge - c::INLINE_OOB_SMALL_SIZE) / sge
        );
        assert_eq!(
            q::MAX_RX_WQE_SGL_ENTRIES,
            (c::GDMA_MAX_RQE_SIZE - sge) / sge
        );
    }

    #[test]
    fn hwc_smc_regs_eth_abi_numbers() {
        assert_eq!(
            hwc::HW_CHANNEL_MAX_REQUEST_SIZE,
            c::HW_CHANNEL_MAX_REQUEST_SIZE
        );
        assert_eq!(
            hwc::HW_CHANNEL_MAX_RESPONSE_SIZE,
            c::HW_CHANNEL_MAX_RESPONSE_SIZE
        );
        assert_eq!(
            u32::from(hwc::HW_CHANNEL_VF_BOOTSTRAP_QUEUE_DEPTH),
            c::HW_CHANNEL_VF_BOOTSTRAP_QUEUE_DEPTH
        );
        assert_eq!(
            hwc::HW_CHANNEL_WAIT_RESOURCE_TIMEOUT_MS,
            c::HW_CHANNEL_WAIT_RESOURCE_TIMEOUT_MS
        );
        assert_eq!(u32::from(hwc::init_data::CQID), c::HWC_INIT_DATA_CQID);
        assert_eq!(u32::from(hwc::init_data::RQID), c::HWC_INIT_DATA_RQID);
        assert_eq!(u32::from(hwc::init_data::SQID), c::HWC_INIT_DATA_SQID);
        assert_eq!(
            u32::from(hwc::init_data::QUEUE_DEPTH),
            c::HWC_INIT_DATA_QUEUE_DEPTH
        );
        assert_eq!(
            u32::from(hwc::init_data::MAX_REQUEST),
            c::HWC_INIT_DATA_MAX_REQUEST
        );
        assert_eq!(
            u32::from(hwc::init_data::MAX_RESPONSE),
            c::HWC_INIT_DATA_MAX_RESPONSE
        );
        assert_eq!(
            u32::from(hwc::init_data::MAX_NUM_CQS),
            c::HWC_INIT_DATA_MAX_NUM_CQS
        );
        assert_eq!(u32::from(hwc::init_data::PDID), c::HWC_INIT_DATA_PDID);
        assert_eq!(
            u32::from(hwc::init_data::GPA_MKEY),
            c::HWC_INIT_DATA_GPA_MKEY
        );
        assert_eq!(
            u32::from(hwc::init_data::PF_DEST_RQ_ID),
            c::HWC_INIT_DATA_PF_DEST_RQ_ID
        );
        assert_eq!(
            u32::from(hwc::init_data::PF_DEST_CQ_ID),
            c::HWC_INIT_DATA_PF_DEST_CQ_ID
        );
        assert_eq!(
            u32::from(hwc::reconfig_data::CFG_HWC_TIMEOUT),
            c::HWC_DATA_CFG_HWC_TIMEOUT
        );
        assert_eq!(
            u32::from(hwc::reconfig_data::HW_LINK_CONNECT),
            c::HWC_DATA_HW_LINK_CONNECT
        );
        assert_eq!(
            u32::from(hwc::reconfig_data::HW_LINK_DISCONNECT),
            c::HWC_DATA_HW_LINK_DISCONNECT
        );

        assert_eq!(smc::SMC_APERTURE_BITS, c::SMC_APERTURE_BITS as usize);
        assert_eq!(smc::SMC_APERTURE_SIZE, c::SMC_APERTURE_SIZE as usize);

        assert_eq!(
            regs::GDMA_REG_DB_PAGE_OFFSET,
            c::GDMA_REG_DB_PAGE_OFFSET as usize
        );
        assert_eq!(
            regs::GDMA_REG_DB_PAGE_SIZE,
            c::GDMA_REG_DB_PAGE_SIZE as usize
        );
        assert_eq!(regs::GDMA_REG_SHM_OFFSET, c::GDMA_REG_SHM_OFFSET as usize);
        assert_eq!(
            regs::GDMA_PF_REG_DB_PAGE_SIZE,
            c::GDMA_PF_REG_DB_PAGE_SIZE as usize
        );
        assert_eq!(
            regs::GDMA_PF_REG_DB_PAGE_OFF,
            c::GDMA_PF_REG_DB_PAGE_OFF as usize
        );
        assert_eq!(regs::GDMA_PF_REG_SHM_OFF, c::GDMA_PF_REG_SHM_OFF as usize);
        assert_eq!(
            regs::GDMA_SRIOV_REG_CFG_BASE_OFF,
            c::GDMA_SRIOV_REG_CFG_BASE_OFF as usize
        );
        assert_eq!(u32::from(regs::MANA_PF_DEVICE_ID), c::MANA_PF_DEVICE_ID);
        assert_eq!(u32::from(regs::MANA_PF2_DEVICE_ID), c::MANA_PF2_DEVICE_ID);
        assert_eq!(u32::from(regs::MANA_VF_DEVICE_ID), c::MANA_VF_DEVICE_ID);

        assert_eq!(
            eth::pkt_fmt::SHORT,
            c::mana_tx_pkt_format_MANA_SHORT_PKT_FMT
        );
        assert_eq!(eth::pkt_fmt::LONG, c::mana_tx_pkt_format_MANA_LONG_PKT_FMT);
        assert_eq!(eth::cqe_type::INVALID, c::mana_cqe_type_CQE_INVALID);
        assert_eq!(eth::cqe_type::RX_OKAY, c::mana_cqe_type_CQE_RX_OKAY);
        assert_eq!(
            eth::cqe_type::RX_COALESCED_4,
            c::mana_cqe_type_CQE_RX_COALESCED_4
        );
        assert_eq!(
            eth::cqe_type::RX_OBJECT_FENCE,
            c::mana_cqe_type_CQE_RX_OBJECT_FENCE
        );
        assert_eq!(
            eth::cqe_type::RX_TRUNCATED,
            c::mana_cqe_type_CQE_RX_TRUNCATED
        );
        assert_eq!(
            eth::cqe_type::RX_COALESCED_8,
            c::mana_cqe_type_CQE_RX_COALESCED_8
        );
        assert_eq!(eth::cqe_type::TX_OKAY, c::mana_cqe_type_CQE_TX_OKAY);
        assert_eq!(eth::cqe_type::TX_SA_DROP, c::mana_cqe_type_CQE_TX_SA_DROP);
        assert_eq!(eth::cqe_type::TX_MTU_DROP, c::mana_cqe_type_CQE_TX_MTU_DROP);
        assert_eq!(
            eth::cqe_type::TX_INVALID_OOB,
            c::mana_cqe_type_CQE_TX_INVALID_OOB
        );
        assert_eq!(
            eth::cqe_type::TX_INVALID_ETH_TYPE,
            c::mana_cqe_type_CQE_TX_INVALID_ETH_TYPE
        );
        assert_eq!(
            eth::cqe_type::TX_HDR_PROCESSING_ERROR,
            c::mana_cqe_type_CQE_TX_HDR_PROCESSING_ERROR
        );
        assert_eq!(
            eth::cqe_type::TX_VF_DISABLED,
            c::mana_cqe_type_CQE_TX_VF_DISABLED
        );
        assert_eq!(
            eth::cqe_type::TX_VPORT_IDX_OUT_OF_RANGE,
            c::mana_cqe_type_CQE_TX_VPORT_IDX_OUT_OF_RANGE
        );
        assert_eq!(
            eth::cqe_type::TX_VPORT_DISABLED,
            c::mana_cqe_type_CQE_TX_VPORT_DISABLED
        );
        assert_eq!(
            eth::cqe_type::TX_VLAN_TAGGING_VIOLATION,
            c::mana_cqe_type_CQE_TX_VLAN_TAGGING_VIOLATION
        );
        assert_eq!(eth::MANA_CQE_COMPLETION, c::MANA_CQE_COMPLETION);
        assert_eq!(eth::RXCOMP_OOB_NUM_PPI, c::MANA_RXCOMP_OOB_NUM_PPI as usize);
        assert_eq!(eth::SHORT_VPORT_OFFSET_MAX, c::MANA_SHORT_VPORT_OFFSET_MAX);

        assert_eq!(
            abi::MANA_IB_UVERBS_ABI_VERSION,
            c::MANA_IB_UVERBS_ABI_VERSION
        );
        assert_eq!(
            u32::from(abi::MANA_IB_CREATE_RNIC_CQ),
            c::mana_ib_create_cq_flags_MANA_IB_CREATE_RNIC_CQ
        );
        assert_eq!(
            u32::from(abi::MANA_IB_RX_HASH_FUNC_TOEPLITZ),
            c::mana_ib_rx_hash_function_flags_MANA_IB_RX_HASH_FUNC_TOEPLITZ
        );
        assert_eq!(
            abi::MANA_IB_UCNTX_ALLOC_PDN_SUPPORT,
            u64::from(c::mana_ib_ucontext_support_MANA_IB_UCNTX_ALLOC_PDN_SUPPORT)
        );
        assert_eq!(
            abi::MANA_IB_PD_SHORT_PDN,
            c::mana_ib_create_pd_flags_MANA_IB_PD_SHORT_PDN
        );
    }
}
