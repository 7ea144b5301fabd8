// SPDX-License-Identifier: GPL-2.0-only

//! The kernel side of the model's host traits: the model's errors as kernel error codes
//! ([`errno`]) and its log lines in the kernel log ([`KERNEL_LOG`]). Driver memory
//! (`mana_model::host::DeviceMemory`) is `memory::SwMemory`.

use core::fmt;

use kernel::prelude::*;

use mana_model::{
    error::Error as ModelError,
    host::Log, //
};

/// The kernel error code for a model error.
pub(crate) fn errno(e: ModelError) -> Error {
    match e {
        ModelError::Invalid => EINVAL,
        ModelError::Fault => EFAULT,
        ModelError::Busy => EBUSY,
        ModelError::NoSpace => ENOSPC,
        ModelError::NotSupported => EOPNOTSUPP,
        ModelError::NoMemory => ENOMEM,
    }
}

/// The model's log: the kernel log, each line prefixed `mana_sw: `.
pub(crate) struct KernelLog;

impl Log for KernelLog {
    fn error(&self, line: fmt::Arguments<'_>) {
        pr_err!("mana_sw: {}\n", line);
    }
}

/// The log every software adapter's model writes to.
pub(crate) static KERNEL_LOG: KernelLog = KernelLog;
