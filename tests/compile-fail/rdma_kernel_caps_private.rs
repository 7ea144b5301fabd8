// SPDX-License-Identifier: GPL-2.0
//! `KernelCaps` cannot be made from raw bits, which could hold `IBK_ALLOW_USER_UNREG`.

use kernel::rdma::KernelCaps;

/// Capabilities from raw bits.
pub fn caps() -> KernelCaps {
    let _ = KernelCaps(1 << 4); // compile-fail: cannot initialize a tuple struct which contains private fields
    KernelCaps::LOCAL_DMA_LKEY
}
