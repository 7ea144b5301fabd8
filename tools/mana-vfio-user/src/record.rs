// SPDX-License-Identifier: GPL-2.0-only

//! The record of what drivers ask of the function (`--record FILE`): one line per event, in the
//! order the function saw them, for comparing two drivers request by request
//! (`scripts/hwc-compare.py`).
//!
//! Lines:
//! - `flr`: a function level reset (each driver's run starts with one; names restart);
//! - `mark N`: the guest wrote N to the cache-line-size register of the configuration space, a
//!   scratch register without effect on a PCI Express function, to mark a step of its scenario;
//! - `reg read 0xOFF`: a read of a BAR0 register (the mailbox and the doorbell pages aside);
//! - `smc establish_hwc msix=N reset_vf=B -> status=S`, `smc destroy_hwc -> status=S`: a mailbox
//!   request and the device's answer;
//! - `hwc NAME dev=T FIELD=VALUE ... -> ok|status=0xS FIELD=VALUE ...`: a hardware-channel
//!   request and its response, with the fields that say what the driver asked for. Handles and
//!   ids the device hands out are named by kind and order of appearance (`region3`, `cq2`,
//!   `obj1`), so that records of two drivers compare; DMA addresses, message and activity ids
//!   and the random RSS key are left out.
//!
//! Doorbells are not recorded one by one: they are data path, counted in the exit report.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use mana_wire::hdr::{ReqHdr, RespHdr};
use mana_wire::smc::{self, EstablishHwc, SmcHdr};
use mana_wire::{gdma_msgs as g, mana_msgs as m, queue::queue_type, Pod};

use crate::bar0::Mailbox;

/// The record file and the names given so far.
struct Inner {
    out: BufWriter<File>,
    names: Names,
    /// Lines that could not be written (reported at exit).
    lost: u64,
}

/// Names of device-given handles and ids: `kind` and the order of first appearance.
#[derive(Default)]
struct Names {
    given: HashMap<(&'static str, u64), u32>,
    next: HashMap<&'static str, u32>,
}

impl Names {
    fn name(&mut self, kind: &'static str, value: u64) -> String {
        let next = &mut self.next;
        let n = *self.given.entry((kind, value)).or_insert_with(|| {
            let n = next.entry(kind).or_insert(0);
            *n += 1;
            *n
        });
        format!("{kind}{n}")
    }
}

/// The recorder of one function; shared by QEMU's message loop and the device model's thread.
pub struct Recorder {
    inner: Mutex<Inner>,
}

impl Recorder {
    /// A recorder writing to a new file at `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            inner: Mutex::new(Inner {
                out: BufWriter::new(File::create(path)?),
                names: Names::default(),
                lost: 0,
            }),
        })
    }

    fn line(&self, f: impl FnOnce(&mut Names) -> String) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let line = f(&mut inner.names);
        if writeln!(inner.out, "{line}").is_err() {
            inner.lost += 1;
        }
    }

    /// A function level reset: the next driver starts; names restart.
    pub fn flr(&self) {
        self.line(|names| {
            *names = Names::default();
            "flr".to_string()
        });
    }

    /// The guest marked step `step` of its scenario.
    pub fn mark(&self, step: u8) {
        self.line(|_| format!("mark {step}"));
    }

    /// A read of the BAR0 register at `offset`.
    pub fn register_read(&self, offset: u64) {
        self.line(|_| format!("reg read 0x{offset:02x}"));
    }

    /// A mailbox request and the device's answer.
    pub fn smc(&self, request: &Mailbox, response: &Mailbox) {
        let hdr = SmcHdr::from_raw(request[smc::SMC_LAST_DWORD]);
        let status = SmcHdr::from_raw(response[smc::SMC_LAST_DWORD])
            .status()
            .get();
        let what = match hdr.msg_type().get() as u8 {
            smc::MSG_TYPE_ESTABLISH_HWC => match EstablishHwc::decode(request) {
                Ok(e) => format!(
                    "establish_hwc msix={} reset_vf={}",
                    e.msix_index,
                    u8::from(e.reset_vf)
                ),
                Err(_) => "establish_hwc (malformed)".to_string(),
            },
            smc::MSG_TYPE_DESTROY_HWC => "destroy_hwc".to_string(),
            t => format!("type{t}"),
        };
        self.line(|_| format!("smc {what} -> status={status}"));
    }

    /// A hardware-channel request and the device's response (empty: none).
    pub fn hwc(&self, request: &[u8], response: &[u8]) {
        self.line(|names| describe(names, request, response));
    }

    /// Flushes the file; the number of lines lost, if any.
    pub fn finish(&self) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.out.flush().is_err() {
            inner.lost += 1;
        }
        inner.lost
    }
}

/// `T` read from the start of `bytes`, if they are long enough.
fn read<T: Pod>(bytes: &[u8]) -> Option<T> {
    T::wire_read_prefix(bytes).map(|(v, _)| v)
}

/// The name of a queue type.
fn queue_kind(ty: u32) -> &'static str {
    match ty {
        queue_type::SQ => "sq",
        queue_type::RQ => "rq",
        queue_type::CQ => "cq",
        queue_type::EQ => "eq",
        _ => "queue",
    }
}

/// The pattern of an indirection table: its shortest period, repeated.
fn table_pattern(names: &[String]) -> String {
    let n = names.len();
    let period = (1..=n)
        .find(|&p| n.is_multiple_of(p) && (p..n).all(|i| names[i] == names[i % p]))
        .unwrap_or(n);
    format!("[{}]x{}", names[..period].join(","), n / period.max(1))
}

/// The line of one hardware-channel request and its response.
fn describe(names: &mut Names, req: &[u8], resp: &[u8]) -> String {
    let Some(hdr) = read::<ReqHdr>(req) else {
        return format!("hwc (short request of {} bytes)", req.len());
    };
    let code = hdr.req.msg_type;
    let mut q = String::new();
    let mut r = String::new();
    // Writing to a String cannot fail.
    macro_rules! w { ($s:expr, $($a:tt)*) => { let _ = write!($s, $($a)*); } }
    match code {
        g::code::VERIFY_VF_DRIVER_VERSION => {
            if let Some(x) = read::<g::VerifyVerReq>(req) {
                w!(
                    q,
                    " proto={}..{} caps1=0x{:x} caps2=0x{:x} os={}",
                    x.protocol_ver_min,
                    x.protocol_ver_max,
                    x.gd_drv_cap_flags1,
                    x.gd_drv_cap_flags2,
                    x.os_type
                );
            }
        }
        g::code::GENERATE_TEST_EQE => {
            if let Some(x) = read::<g::GenerateTestEqeReq>(req) {
                w!(q, " eq={}", names.name("eq", x.queue_index.into()));
            }
        }
        g::code::CREATE_QUEUE => {
            if let Some(x) = read::<g::CreateQueueReq>(req) {
                w!(
                    q,
                    " type={} pd={} db={} region={} size={} throttle={} msix={}",
                    queue_kind(x.ty),
                    names.name("pdid", x.pdid.into()),
                    names.name("db", x.doorbell_id.into()),
                    names.name("region", x.gdma_region),
                    x.queue_size,
                    x.log2_throttle_limit,
                    x.eq_pci_msix_index
                );
                if let Some(y) = read::<g::CreateQueueResp>(resp) {
                    w!(
                        r,
                        " {}={}",
                        queue_kind(x.ty),
                        names.name(queue_kind(x.ty), y.queue_index.into())
                    );
                }
            }
        }
        g::code::DISABLE_QUEUE => {
            if let Some(x) = read::<g::DisableQueueReq>(req) {
                w!(
                    q,
                    " {}={}",
                    queue_kind(x.ty),
                    names.name(queue_kind(x.ty), x.queue_index.into())
                );
            }
        }
        g::code::ALLOCATE_RESOURCE_RANGE => {
            if let Some(x) = read::<g::AllocateResourceRangeReq>(req) {
                w!(
                    q,
                    " type={} num={} align={}",
                    x.resource_type,
                    x.num_resources,
                    x.alignment
                );
            }
            if let Some(y) = read::<g::AllocateResourceRangeResp>(resp) {
                w!(r, " db={}", names.name("db", y.allocated_resources.into()));
            }
        }
        g::code::DESTROY_RESOURCE_RANGE => {
            if let Some(x) = read::<g::DestroyResourceRangeReq>(req) {
                w!(
                    q,
                    " type={} num={} db={}",
                    x.resource_type,
                    x.num_resources,
                    names.name("db", x.allocated_resources.into())
                );
            }
        }
        g::code::CREATE_DMA_REGION => {
            if let Some(x) = read::<g::CreateDmaRegionReq>(req) {
                w!(
                    q,
                    " length={} offset={} page_type={} pages={} listed={}",
                    x.length,
                    x.offset_in_page,
                    x.gdma_page_type,
                    x.page_count,
                    x.page_addr_list_len
                );
            }
            if let Some(y) = read::<g::CreateDmaRegionResp>(resp) {
                w!(r, " region={}", names.name("region", y.dma_region_handle));
            }
        }
        g::code::DMA_REGION_ADD_PAGES => {
            if let Some(x) = read::<g::DmaRegionAddPagesReq>(req) {
                w!(
                    q,
                    " region={} listed={}",
                    names.name("region", x.dma_region_handle),
                    x.page_addr_list_len
                );
            }
        }
        g::code::DESTROY_DMA_REGION => {
            if let Some(x) = read::<g::DestroyDmaRegionReq>(req) {
                w!(q, " region={}", names.name("region", x.dma_region_handle));
            }
        }
        g::code::CREATE_PD => {
            if let Some(x) = read::<g::CreatePdReq>(req) {
                w!(q, " flags=0x{:x}", x.flags);
            }
            if let Some(y) = read::<g::CreatePdResp>(resp) {
                w!(
                    r,
                    " pd={} pdid={}",
                    names.name("pd", y.pd_handle),
                    names.name("pdid", y.pd_id.into())
                );
            }
        }
        g::code::DESTROY_PD => {
            if let Some(x) = read::<g::DestroyPdReq>(req) {
                w!(q, " pd={}", names.name("pd", x.pd_handle));
            }
        }
        g::code::CREATE_MR => {
            if let Some(x) = read::<g::CreateMrReq>(req) {
                w!(
                    q,
                    " pd={} type={} region={} access=0x{:x}",
                    names.name("pd", x.pd_handle),
                    x.mr_type,
                    names.name("region", x.handle),
                    x.access()
                );
            }
            if let Some(y) = read::<g::CreateMrResp>(resp) {
                w!(r, " mr={}", names.name("mr", y.mr_handle));
            }
        }
        g::code::DESTROY_MR => {
            if let Some(x) = read::<g::DestroyMrReq>(req) {
                w!(q, " mr={}", names.name("mr", x.mr_handle));
            }
        }
        g::code::REGISTER_DEVICE => {
            if let Some(y) = read::<g::RegisterDeviceResp>(resp) {
                w!(
                    r,
                    " pdid={} db={}",
                    names.name("pdid", y.pdid.into()),
                    names.name("db", y.db_id.into())
                );
            }
        }
        m::code::QUERY_DEV_CONFIG => {
            if let Some(x) = read::<m::QueryDevCfgReq>(req) {
                w!(
                    q,
                    " proto={}.{}.{} caps1=0x{:x}",
                    x.proto_major_ver,
                    x.proto_minor_ver,
                    x.proto_micro_ver,
                    x.mn_drv_cap_flags1
                );
            }
        }
        m::code::QUERY_GF_STAT => {
            if let Some(x) = read::<m::QueryGfStatReq>(req) {
                w!(q, " stats=0x{:x}", x.req_stats);
            }
        }
        m::code::QUERY_VPORT_CONFIG => {
            if let Some(x) = read::<m::QueryVportCfgReq>(req) {
                w!(q, " index={}", x.vport_index);
            }
            if let Some(y) = read::<m::QueryVportCfgResp>(resp) {
                w!(
                    r,
                    " vport={} sq={} rq={} indir={}",
                    names.name("vport", y.vport),
                    y.max_num_sq,
                    y.max_num_rq,
                    y.num_indirection_ent
                );
            }
        }
        m::code::CONFIG_VPORT_TX => {
            if let Some(x) = read::<m::ConfigVportReq>(req) {
                w!(
                    q,
                    " vport={} pdid={} db={}",
                    names.name("vport", x.vport),
                    names.name("pdid", x.pdid.into()),
                    names.name("db", x.doorbell_pageid.into())
                );
            }
        }
        m::code::CREATE_WQ_OBJ => {
            if let Some(x) = read::<m::CreateWqObjReq>(req) {
                w!(
                    q,
                    " vport={} type={} wq_region={} cq_region={}",
                    names.name("vport", x.vport),
                    queue_kind(x.wq_type),
                    names.name("region", x.wq_gdma_region),
                    names.name("region", x.cq_gdma_region)
                );
                w!(
                    q,
                    " wq_size={} cq_size={} eq={} moderation={}/{}/{}",
                    x.wq_size,
                    x.cq_size,
                    names.name("eq", x.cq_parent_qid.into()),
                    x.req_cq_moderation,
                    x.cq_moderation_usec,
                    x.cq_moderation_comp
                );
                if let Some(y) = read::<m::CreateWqObjResp>(resp) {
                    w!(
                        r,
                        " obj={} {}={} cq={}",
                        names.name("obj", y.wq_obj),
                        queue_kind(x.wq_type),
                        names.name(queue_kind(x.wq_type), y.wq_id.into()),
                        names.name("cq", y.cq_id.into())
                    );
                }
            }
        }
        m::code::DESTROY_WQ_OBJ => {
            if let Some(x) = read::<m::DestroyWqObjReq>(req) {
                w!(
                    q,
                    " type={} obj={}",
                    queue_kind(x.wq_type),
                    names.name("obj", x.wq_obj_handle)
                );
            }
        }
        m::code::FENCE_RQ => {
            if let Some(x) = read::<m::FenceRqReq>(req) {
                w!(q, " obj={}", names.name("obj", x.wq_obj_handle));
            }
        }
        m::code::CONFIG_VPORT_RX => {
            if let Some(x) = read::<m::CfgRxSteerReq>(req) {
                w!(
                    q,
                    " vport={} rx={} rss={} hash_types=0x{:x} coalescing={}",
                    names.name("vport", x.vport),
                    x.rx_enable,
                    x.rss_enable,
                    x.rss_hash_types,
                    x.cqe_coalescing_enable
                );
                if x.update_default_rxobj != 0 {
                    w!(q, " default={}", names.name("obj", x.default_rxobj));
                }
                if x.update_hashkey != 0 {
                    w!(q, " new_key");
                }
                if x.update_indir_tab != 0 {
                    let start = usize::from(x.indir_tab_offset);
                    let table: Vec<String> = (0..usize::from(x.num_indir_entries))
                        .map_while(|i| req.get(start + 8 * i..start + 8 * i + 8))
                        .map(|b| {
                            let mut h = [0; 8];
                            h.copy_from_slice(b);
                            names.name("obj", u64::from_le_bytes(h))
                        })
                        .collect();
                    w!(q, " table={}", table_pattern(&table));
                }
            }
        }
        _ => {}
    }
    let outcome = match read::<RespHdr>(resp) {
        None => "no response".to_string(),
        Some(h) if h.status == 0 => "ok".to_string(),
        Some(h) => format!("status=0x{:x}", h.status),
    };
    format!(
        "hwc {} dev={}{q} -> {outcome}{r}",
        crate::mana::request_name(code),
        hdr.dev_id.ty
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_order_of_appearance_and_restart() {
        let mut names = Names::default();
        assert_eq!(names.name("cq", 17), "cq1");
        assert_eq!(names.name("cq", 3), "cq2");
        assert_eq!(names.name("cq", 17), "cq1");
        assert_eq!(names.name("eq", 17), "eq1");
    }

    #[test]
    fn a_table_prints_as_its_pattern() {
        let t: Vec<String> = ["a", "b", "a", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(table_pattern(&t), "[a,b]x2");
        let t: Vec<String> = ["a", "b", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(table_pattern(&t), "[a,b,b]x1");
    }

    #[test]
    fn a_request_line_names_what_the_device_handed_out() {
        let mut names = Names::default();
        let mut req = mana_wire::hdr::new_request::<m::CreateWqObjReq>();
        req.wq_type = queue_type::SQ;
        req.wq_gdma_region = 0x1_0007;
        req.cq_gdma_region = 0x1_0009;
        req.cq_parent_qid = 5;
        req.vport = 0x1000;
        let mut resp = <m::CreateWqObjResp as Pod>::wire_zeroed();
        resp.wq_id = 40;
        resp.cq_id = 41;
        resp.wq_obj = 0x1_0010;
        let line = describe(&mut names, req.wire_bytes(), resp.wire_bytes());
        assert_eq!(
            line,
            "hwc create_wq_obj dev=0 vport=vport1 type=sq wq_region=region1 cq_region=region2 \
             wq_size=0 cq_size=0 eq=eq1 moderation=0/0/0 -> ok obj=obj1 sq=sq1 cq=cq1"
        );
        // A short response is no response.
        let line = describe(&mut names, req.wire_bytes(), &[]);
        assert!(line.ends_with("-> no response"), "{line}");
    }
}
