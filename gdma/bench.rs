// SPDX-License-Identifier: GPL-2.0-only

//! Reference figures for the clients' KUnit benchmarks (test kernels with KUnit and veth built
//! in): a veth pair measured in the same boot, by the C helper in `gdma/veth_bench.c`.

use kernel::{
    error::to_result,
    ffi::c_int,
    prelude::*, //
};

extern "C" {
    /// `gdma/veth_bench.c`.
    fn mana_gdma_veth_bench(
        packets: u32,
        frame_len: u32,
        ns: *mut u64,
        received: *mut u64,
    ) -> c_int;
}

/// Measures a veth pair, for benchmarks that compare a driver with it in the same boot.
///
/// Creates the pair `mrsvb0`/`mrsvb1` (rtnetlink from a kernel socket), brings it up, sends
/// `packets` IPv4/UDP frames of `frame_len` bytes (42..=1514) on `mrsvb0` through
/// `dev_queue_xmit()` with at most 256 not yet received, waits until `mrsvb1` received them or
/// nothing more arrives for 20 ms, and deletes the pair. Returns the nanoseconds until the last
/// arrival and the packets `mrsvb1` received (veth counts a packet when it hands it to the
/// peer; the stack's own IPv6 packets count too).
///
/// Sleeps; must be called without the rtnl lock.
pub fn bench_veth_pair(packets: u32, frame_len: u32) -> Result<(u64, u64)> {
    let mut ns = 0u64;
    let mut received = 0u64;
    // SAFETY: The helper only writes the two `u64` outputs, which are valid for writes, and
    // takes and releases every lock and device reference it uses itself.
    to_result(unsafe { mana_gdma_veth_bench(packets, frame_len, &mut ns, &mut received) })?;
    Ok((ns, received))
}
