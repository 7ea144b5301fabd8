// SPDX-License-Identifier: GPL-2.0
//! `IBK_ALLOW_USER_UNREG` lets `rdma link del` free the device under the driver's
//! `Registration`: `KernelCaps` cannot hold it, and the raw field is not writable
//! (`rdma_kernel_caps_private.rs`: nor can a `KernelCaps` be made from raw bits).

use kernel::{
    bindings,
    rdma::{
        DeviceAttr,
        KernelCaps, //
    },
};

/// Reports kernel capabilities.
pub fn caps(attr: &mut DeviceAttr) {
    attr.set_kernel_cap_flags(KernelCaps::LOCAL_DMA_LKEY | KernelCaps::VIRTUAL_FUNCTION);
    let raw = u64::from(bindings::ib_kernel_cap_flags_IBK_ALLOW_USER_UNREG);
    let _ = raw;
    attr.set_kernel_cap_flags(raw); // compile-fail: expected `KernelCaps`, found `u64`
}
