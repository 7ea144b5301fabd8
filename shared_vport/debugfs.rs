// SPDX-License-Identifier: GPL-2.0-only

//! The owner of each vport in debugfs: one read-only file per vport.

use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    fmt,
    prelude::*,
    str::CString,
    sync::Arc, //
};

use super::Vport;

/// The debugfs files of a vport table: `vport<N>` under the directory the core gave, each
/// reading `free`, `ethernet <ifname>` or `rdma pd <n> qps <k>`. Dropping it removes them.
pub(crate) struct VportDebugfs {
    _files: KVec<Pin<KBox<File<Arc<Vport>>>>>,
}

/// Writes a vport's owner and a newline; the file's read callback.
fn show_owner(vport: &Arc<Vport>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    vport.with_owner(|owner| fmt::Display::fmt(owner, f))?;
    f.write_str("\n")
}

impl VportDebugfs {
    /// Creates the file of each of `vports` under `parent`.
    pub(super) fn new(vports: &[Arc<Vport>], parent: &Dir) -> Result<Self> {
        let mut files = KVec::with_capacity(vports.len(), GFP_KERNEL)?;
        for vport in vports {
            let name = CString::try_from_fmt(fmt!("vport{}", vport.index()))?;
            let file = KBox::pin_init(
                parent.read_callback_file(&name, vport.clone(), &show_owner),
                GFP_KERNEL,
            )?;
            files.push(file, GFP_KERNEL)?;
        }
        Ok(Self { _files: files })
    }
}
