// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exports the Rust symbols of the mana_gdma crate that mana_eth and mana_rdma
 * reference. The list is generated at build time (see ../Kbuild).
 */

#include <linux/export.h>

#define EXPORT_SYMBOL_RUST_GPL(sym) extern int sym; EXPORT_SYMBOL_GPL(sym)

#include "exports_mana_gdma_generated.h"
