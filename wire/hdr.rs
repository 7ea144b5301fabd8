// SPDX-License-Identifier: GPL-2.0-only

//! Message headers of the hardware channel, message versions, status codes and the
//! [`Request`]/[`Response`] traits every message implements.
//!
//! C: `struct gdma_msg_hdr`, `gdma_dev_id`, `gdma_req_hdr`, `gdma_resp_hdr`,
//! `mana_gd_init_req_hdr()` in `include/net/mana/gdma.h`; status handling in
//! `mana_hwc_send_request()` (hw_channel.c) and `mana_verify_resp_hdr()` (mana_en.c).

use crate::{
    Error,
    Pod,
    Result, //
};

use super::{
    len_u32,
    wire_struct, //
};

/// `hdr_type` of every standard GDMA message (C: `GDMA_STANDARD_HEADER_TYPE`).
pub const STANDARD_HEADER_TYPE: u32 = 0;

/// Message version 1 (C: `GDMA_MESSAGE_V1`), the default of both request and response.
pub const MSG_V1: u16 = 1;
/// Message version 2 (C: `GDMA_MESSAGE_V2`).
pub const MSG_V2: u16 = 2;
/// Message version 3 (C: `GDMA_MESSAGE_V3`).
pub const MSG_V3: u16 = 3;
/// Message version 4 (C: `GDMA_MESSAGE_V4`).
pub const MSG_V4: u16 = 4;
/// Message version 5 (C: `GDMA_MESSAGE_V5`).
pub const MSG_V5: u16 = 5;

/// Response status: success.
pub const STATUS_SUCCESS: u32 = 0;
/// Response status: success, more entries are available (C: `GDMA_STATUS_MORE_ENTRIES`).
pub const STATUS_MORE_ENTRIES: u32 = 0x105;
/// Response status: the device does not know the command (C: `GDMA_STATUS_CMD_UNSUPPORTED`).
pub const STATUS_CMD_UNSUPPORTED: u32 = 0xFFFF_FFFF;

/// Maps a response status to the errno the C driver returns for it at the HWC level.
///
/// As `mana_hwc_send_request()`: `0` and [`STATUS_MORE_ENTRIES`] succeed,
/// [`STATUS_CMD_UNSUPPORTED`] is `EOPNOTSUPP` and every other value is `EPROTO`.
///
/// Note that the C MANA (Ethernet) layer above, `gdma_mana_send_request()`, is stricter: it
/// treats any non-zero status, [`STATUS_MORE_ENTRIES`] included, as `EPROTO` for the `MANA_*`
/// commands (see [`mana_status_to_result`]).
pub fn status_to_result(status: u32) -> Result {
    match status {
        STATUS_SUCCESS | STATUS_MORE_ENTRIES => Ok(()),
        STATUS_CMD_UNSUPPORTED => Err(Error::NotSupported),
        _ => Err(Error::Protocol),
    }
}

/// Maps a response status of a `MANA_*` command to the errno the C Ethernet driver returns.
///
/// As `gdma_mana_send_request()` on top of `mana_hwc_send_request()`: `0` succeeds,
/// [`STATUS_CMD_UNSUPPORTED`] is `EOPNOTSUPP`, every other value (even
/// [`STATUS_MORE_ENTRIES`]) is `EPROTO`.
pub fn mana_status_to_result(status: u32) -> Result {
    match status {
        STATUS_SUCCESS => Ok(()),
        STATUS_CMD_UNSUPPORTED => Err(Error::NotSupported),
        _ => Err(Error::Protocol),
    }
}

/// Device types of a [`DevId`] (C: anonymous enum `GDMA_DEVICE_*`).
pub mod device_type {
    /// No device (a hole in the device list).
    pub const NONE: u16 = 0;
    /// The hardware channel itself.
    pub const HWC: u16 = 1;
    /// The Ethernet (MANA) device.
    pub const MANA: u16 = 2;
    /// The RDMA (RNIC) device.
    pub const MANA_IB: u16 = 3;
}

wire_struct! {
    /// The header of every message in either direction (C: `struct gdma_msg_hdr`, 16 bytes).
    pub struct MsgHdr {
        /// Always [`STANDARD_HEADER_TYPE`].
        pub hdr_type: u32,
        /// The request code (e.g. [`super::gdma_msgs::code::CREATE_QUEUE`]).
        pub msg_type: u32,
        /// The message version ([`MSG_V1`] ...).
        pub msg_version: u16,
        /// The HWC slot of the request, echoed in the response; the driver fills it when it posts.
        pub hwc_msg_id: u16,
        /// The size of the whole message in bytes, header included.
        pub msg_size: u32,
    }
}

impl MsgHdr {
    /// A standard header for a message of `code`, `version` and `size` bytes.
    pub const fn new(code: u32, version: u16, size: u32) -> Self {
        Self {
            hdr_type: STANDARD_HEADER_TYPE,
            msg_type: code,
            msg_version: version,
            hwc_msg_id: 0,
            msg_size: size,
        }
    }
}

wire_struct! {
    /// A device identifier: type and instance (C: `struct gdma_dev_id`, 4 bytes, aligned
    /// like the C union with a `u32`).
    #[repr(align(4))]
    pub struct DevId {
        /// The device type ([`device_type`]).
        pub ty: u16,
        /// The instance of that type.
        pub instance: u16,
    }
}

impl DevId {
    /// A device id of `ty` and `instance`.
    pub const fn new(ty: u16, instance: u16) -> Self {
        Self { ty, instance }
    }

    /// The id as the C driver's `as_uint32` (type in the low half), e.g. for comparisons.
    pub const fn as_u32(self) -> u32 {
        (self.ty as u32) | ((self.instance as u32) << 16)
    }

    /// The id whose `as_uint32` is `raw`.
    pub const fn from_u32(raw: u32) -> Self {
        // CAST: truncation to the two halves is intended.
        Self {
            ty: raw as u16,
            instance: (raw >> 16) as u16,
        }
    }
}

wire_struct! {
    /// The header of every request (C: `struct gdma_req_hdr`, 40 bytes).
    pub struct ReqHdr {
        /// The request's own header.
        pub req: MsgHdr,
        /// The header of the expected response (code, version and size the driver can take).
        pub resp: MsgHdr,
        /// The device the request is for (MANA commands; zero for GDMA commands to the HWC).
        pub dev_id: DevId,
        /// A driver-chosen id, echoed in the response.
        pub activity_id: u32,
    }
}

impl ReqHdr {
    /// A request header as `mana_gd_init_req_hdr()` fills it: standard type, `code` in both
    /// headers, version 1 in both, `req_size` and `resp_size` bytes.
    pub const fn new(code: u32, req_size: u32, resp_size: u32) -> Self {
        Self {
            req: MsgHdr::new(code, MSG_V1, req_size),
            resp: MsgHdr::new(code, MSG_V1, resp_size),
            dev_id: DevId::new(0, 0),
            activity_id: 0,
        }
    }

    /// The header of request `R` with its fixed size, response size and both versions.
    ///
    /// Variable-length requests add the size of their tail to `req.msg_size` (their
    /// constructors do).
    pub const fn for_request<R: Request>() -> Self {
        let mut hdr = Self::new(
            R::CODE,
            len_u32(size_of::<R>()),
            len_u32(size_of::<R::Response>()),
        );
        hdr.req.msg_version = R::REQ_VERSION;
        hdr.resp.msg_version = R::RESP_VERSION;
        hdr
    }
}

wire_struct! {
    /// The header of every response (C: `struct gdma_resp_hdr`, 32 bytes).
    pub struct RespHdr {
        /// The response's header: request code, version, echoed `hwc_msg_id`, size.
        pub response: MsgHdr,
        /// The request's device id, echoed.
        pub dev_id: DevId,
        /// The request's activity id, echoed.
        pub activity_id: u32,
        /// The status ([`STATUS_SUCCESS`], ...; see [`status_to_result`]).
        pub status: u32,
        /// Reserved, zero.
        pub reserved: u32,
    }
}

impl RespHdr {
    /// The header a device puts on its answer to `req` with `status`, announcing `size` bytes
    /// and the response version the request asked for.
    pub const fn reply_to(req: &ReqHdr, size: u32, status: u32) -> Self {
        let mut response = MsgHdr::new(req.req.msg_type, req.resp.msg_version, size);
        response.hwc_msg_id = req.req.hwc_msg_id;
        Self {
            response,
            dev_id: req.dev_id,
            activity_id: req.activity_id,
            status,
            reserved: 0,
        }
    }

    /// Checks the response header as `mana_verify_resp_hdr()` does: the code is `code`, the
    /// version at least 1 and the announced size at least `min_size`; else `EPROTO`.
    pub fn verify(&self, code: u32, min_size: usize) -> Result {
        if self.response.msg_type != code
            || self.response.msg_version < MSG_V1
            || (self.response.msg_size as usize) < min_size
        {
            return Err(Error::Protocol);
        }
        Ok(())
    }

    /// Whether the response echoes the device id and activity id of `req` (the C driver
    /// returns `EPROTO` for MANA commands when it does not).
    pub fn matches(&self, req: &ReqHdr) -> bool {
        self.dev_id == req.dev_id && self.activity_id == req.activity_id
    }

    /// The status as an errno, as [`status_to_result`].
    pub fn result(&self) -> Result {
        status_to_result(self.status)
    }
}

wire_struct! {
    /// A request without a body (C: `struct gdma_general_req`), sent by several commands.
    pub struct GeneralReq {
        /// The request header.
        pub hdr: ReqHdr,
    }
}

wire_struct! {
    /// A response without a body (C: `struct gdma_general_resp`), the answer to many commands.
    pub struct GeneralResp {
        /// The response header.
        pub hdr: RespHdr,
    }
}

/// A request message: its code, versions and the type of its response.
///
/// Implemented by every request struct; [`ReqHdr::for_request`] builds its header.
pub trait Request: Pod + crate::KernelBytes + Copy + Sized {
    /// The request code (C: `enum gdma_request_type` or `enum mana_command_code`).
    const CODE: u32;
    /// The request version the C driver sends.
    const REQ_VERSION: u16 = MSG_V1;
    /// The response version the C driver asks for.
    const RESP_VERSION: u16 = MSG_V1;
    /// The response type.
    type Response: Response;

    /// The request header.
    fn req_hdr(&self) -> &ReqHdr;
    /// The request header, mutable (to set `dev_id`, `activity_id`, `hwc_msg_id`).
    fn req_hdr_mut(&mut self) -> &mut ReqHdr;
}

/// A response message.
pub trait Response: Pod + crate::KernelBytes + Copy + Sized {
    /// The response header.
    fn resp_hdr(&self) -> &RespHdr;
    /// The response header, mutable (for the device side and fault injection).
    fn resp_hdr_mut(&mut self) -> &mut RespHdr;
}

/// Implements [`Request`] for a struct whose first field `hdr` is a [`ReqHdr`].
///
/// `impl_request!(Type, CODE, Response)` or with versions
/// `impl_request!(Type, CODE, Response, req = MSG_V5, resp = MSG_V2)`.
macro_rules! impl_request {
    ($t:ty, $code:expr, $resp:ty $(, req = $reqv:expr)? $(, resp = $respv:expr)? $(,)?) => {
        impl $crate::hdr::Request for $t {
            const CODE: u32 = $code;
            $(const REQ_VERSION: u16 = $reqv;)?
            $(const RESP_VERSION: u16 = $respv;)?
            type Response = $resp;

            fn req_hdr(&self) -> &$crate::hdr::ReqHdr {
                &self.hdr
            }

            fn req_hdr_mut(&mut self) -> &mut $crate::hdr::ReqHdr {
                &mut self.hdr
            }
        }
    };
}
pub(crate) use impl_request;

/// Implements [`Response`] for structs whose first field `hdr` is a [`RespHdr`].
macro_rules! impl_response {
    ($($t:ty),* $(,)?) => {
        $(
            impl $crate::hdr::Response for $t {
                fn resp_hdr(&self) -> &$crate::hdr::RespHdr {
                    &self.hdr
                }

                fn resp_hdr_mut(&mut self) -> &mut $crate::hdr::RespHdr {
                    &mut self.hdr
                }
            }
        )*
    };
}
pub(crate) use impl_response;

impl_response!(GeneralResp);

/// A zeroed request `R` with [`ReqHdr::for_request`] in place: the starting point of every
/// request constructor.
pub fn new_request<R: Request>() -> R {
    let mut req = R::wire_zeroed();
    *req.req_hdr_mut() = ReqHdr::for_request::<R>();
    req
}

/// Builds the response a device sends to `req`: zeroed body, [`RespHdr::reply_to`] with the
/// full size of `R::Response` and `status`.
pub fn new_response<R: Request>(req: &ReqHdr, status: u32) -> R::Response {
    let mut resp = R::Response::wire_zeroed();
    *resp.resp_hdr_mut() = RespHdr::reply_to(req, len_u32(size_of::<R::Response>()), status);
    resp
}
