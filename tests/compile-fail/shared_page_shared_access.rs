// SPDX-License-Identifier: GPL-2.0
//! The bytes of a page reach the CPU (a socket buffer, an XDP program) only through a
//! `CpuPage`, which takes the page handle or the mapping exclusively; writing the page as a
//! device model takes the handle exclusively too. A mapping cannot go back to the device while
//! the CPU's access lives.

use kernel::{
    dma_stream::{
        SharedPage,
        StreamMapping, //
    },
    netdev::skb::Skb,
    prelude::*,
};

/// Through shared handles.
pub fn shared(page: &SharedPage, map: &StreamMapping) -> Result {
    let _ = (page, map);
    page.device_write(0, &[1])?; // compile-fail: cannot borrow `*page` as mutable
    let _ = page.cpu(); // compile-fail: cannot borrow `*page` as mutable
    let _ = Skb::build_from_shared_page(&mut page.clone(), 0, 4096, 0, 64)?;
    let _ = map.cpu_page()?; // compile-fail: cannot borrow `*map` as mutable
    map.sync_for_device(0, 64)?; // compile-fail: cannot borrow `*map` as mutable
    Ok(())
}

/// Giving the bytes back to the device while the CPU has them.
pub fn back_while_held(map: &mut StreamMapping) -> Result {
    map.sync_for_cpu(0, 64)?;
    let mut cpu = map.cpu_page()?;
    map.sync_for_device(0, 64)?; // compile-fail: cannot borrow `*map` as mutable more than once
    let skb = cpu.build_skb(0, 4096, 0, 64)?;
    drop(skb);
    Ok(())
}

/// Through exclusive handles: fine (and checked at run time for other holders and for who
/// owns the bytes).
pub fn exclusive(page: &mut SharedPage, map: &mut StreamMapping) -> Result {
    page.device_write(0, &[1])?;
    let skb = Skb::build_from_shared_page(page, 0, 4096, 0, 64)?;
    map.sync_for_cpu(0, 64)?;
    let other = map.cpu_page()?.build_skb(0, 4096, 0, 64)?;
    drop((skb, other));
    map.sync_for_device(0, 64)
}
