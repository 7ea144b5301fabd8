// SPDX-License-Identifier: GPL-2.0
//! A socket buffer built on a page hands out `&[u8]` of it: building one, or writing the page as
//! a device model, takes the page handle exclusively (and it must hold the only reference).

use kernel::{
    dma_stream::{
        SharedPage,
        StreamMapping, //
    },
    netdev::skb::Skb,
    prelude::*,
};

/// Through a shared handle.
pub fn shared(page: &SharedPage, map: &StreamMapping) -> Result {
    let _ = (page, map);
    page.device_write(0, &[1])?; // compile-fail: cannot borrow `*page` as mutable
    let _ = Skb::build_from_shared_page(&mut page.clone(), 0, 4096, 0, 64)?;
    let _ = map.build_skb(0, 4096, 0, 64)?; // compile-fail: cannot borrow `*map` as mutable
    map.sync_for_device(0, 64)?; // compile-fail: cannot borrow `*map` as mutable
    Ok(())
}

/// Through exclusive handles: fine (and checked at run time for other holders).
pub fn exclusive(page: &mut SharedPage, map: &mut StreamMapping) -> Result {
    page.device_write(0, &[1])?;
    let skb = Skb::build_from_shared_page(page, 0, 4096, 0, 64)?;
    map.sync_for_cpu(0, 64)?;
    let other = map.build_skb(0, 4096, 0, 64)?;
    drop((skb, other));
    map.sync_for_device(0, 64)
}
