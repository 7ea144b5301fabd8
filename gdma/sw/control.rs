// SPDX-License-Identifier: GPL-2.0-only

//! Software adapters created and removed at run time, through
//! `/sys/kernel/debug/mana_gdma/sw_control`.
//!
//! Writing `add [ports=N] [mtu=N] [queues=N] [depth=N] [latency_us=N] [service_ms=N]
//! [speed_mbps=N] [mac=xx:xx:xx:xx:xx:xx]` creates an adapter with its clients; `del N` removes adapter `N`;
//! `service N reset|fpga|rdma-suspend|rdma-resume` has adapter `N`'s device ask the driver for
//! that service operation. Reading lists the adapters with their ports and what the device saw.

use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    fmt,
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
    uaccess::UserSliceReader, //
};

use super::{
    host::errno,
    SwAdapter,
    SwConfig, //
};
use crate::hwc::ServiceRequest;

/// The longest command accepted.
const MAX_COMMAND: usize = 160;
/// The most software adapters alive at once.
pub(crate) const MAX_SW_ADAPTERS: usize = 16;

/// A parsed control command.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    /// Create an adapter with this configuration.
    Add(SwConfig),
    /// Remove the adapter with this id.
    Del(u32),
    /// Have the device of adapter `.0` ask for a service operation.
    Service(u32, ServiceRequest),
}

fn parse_u32(value: &str) -> Result<u32> {
    value.parse::<u32>().map_err(|_| EINVAL)
}

/// Parses one command line.
pub(crate) fn parse(line: &[u8]) -> Result<Command> {
    let line = core::str::from_utf8(line).map_err(|_| EINVAL)?.trim();
    let mut words = line.split_ascii_whitespace();
    match words.next() {
        Some("add") => {
            let mut config = SwConfig::default();
            for word in words {
                let (key, value) = word.split_once('=').ok_or(EINVAL)?;
                config.set_option(key, value).map_err(errno)?;
            }
            config.check().map_err(errno)?;
            Ok(Command::Add(config))
        }
        Some("del") => {
            let id = parse_u32(words.next().ok_or(EINVAL)?)?;
            if words.next().is_some() {
                return Err(EINVAL);
            }
            Ok(Command::Del(id))
        }
        Some("service") => {
            let id = parse_u32(words.next().ok_or(EINVAL)?)?;
            let request = match words.next() {
                Some("reset") => ServiceRequest::Reset,
                Some("fpga") => ServiceRequest::FpgaReconfig,
                Some("rdma-suspend") => ServiceRequest::RdmaSuspend,
                Some("rdma-resume") => ServiceRequest::RdmaResume,
                _ => return Err(EINVAL),
            };
            if words.next().is_some() {
                return Err(EINVAL);
            }
            Ok(Command::Service(id, request))
        }
        _ => Err(EINVAL),
    }
}

/// The software adapters of the module.
#[pin_data]
pub(crate) struct SwRegistry {
    #[pin]
    adapters: Mutex<KVec<SwAdapter>>,
    debugfs: Option<Dir>,
}

impl SwRegistry {
    /// Creates an empty registry whose adapters put their debugfs files in `debugfs`.
    pub(crate) fn new(debugfs: impl Into<Option<Dir>>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                adapters <- new_mutex!(KVec::new()),
                debugfs: debugfs.into(),
            }),
            GFP_KERNEL,
        )
    }

    /// Creates an adapter with its clients; returns its id.
    pub(crate) fn add(&self, config: SwConfig) -> Result<u32> {
        let mut adapters = self.adapters.lock();
        if adapters.len() >= MAX_SW_ADAPTERS {
            pr_err!(
                "sw_control: already {} software adapters; remove one first\n",
                MAX_SW_ADAPTERS
            );
            return Err(ENOSPC);
        }
        adapters.reserve(1, GFP_KERNEL)?;
        let adapter = SwAdapter::new_in(config, true, self.debugfs.as_ref())?;
        let id = adapter.adapter().id();
        adapters.push(adapter, GFP_KERNEL)?;
        Ok(id)
    }

    /// Removes adapter `id` (its clients unbind first).
    pub(crate) fn del(&self, id: u32) -> Result {
        let removed = {
            let mut adapters = self.adapters.lock();
            let pos = adapters
                .iter()
                .position(|a| a.adapter().id() == id)
                .ok_or(ENOENT)?;
            adapters.remove(pos).map_err(|_| ENOENT)?
        };
        drop(removed);
        Ok(())
    }

    /// Has the device of adapter `id` ask for `request`.
    pub(crate) fn service(&self, id: u32, request: ServiceRequest) -> Result {
        let adapters = self.adapters.lock();
        let sw = adapters
            .iter()
            .find(|a| a.adapter().id() == id)
            .ok_or(ENOENT)?;
        sw.request_service(request)
    }

    /// The number of adapters.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn len(&self) -> usize {
        self.adapters.lock().len()
    }

    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for sw in self.adapters.lock().iter() {
            let a = sw.adapter();
            let stats = sw.device_stats();
            let (resets, failed) = sw.resets();
            writeln!(
                f,
                "adapter {}: {}, {} port(s), mtu {}, hwc depth {}, requests {}, protocol errors {}, resets {} (failed {})",
                a.id(),
                if sw.is_up() { "up" } else { "down" },
                a.ports().len(),
                a.caps().adapter_mtu,
                a.hwc().stats().depth,
                stats.total_requests,
                stats.protocol_errors,
                resets,
                failed
            )?;
            for (i, p) in a.ports().iter().enumerate() {
                let m = p.mac;
                writeln!(
                    f,
                    "  port {}: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, queues {}",
                    i, m[0], m[1], m[2], m[3], m[4], m[5], p.max_sq
                )?;
            }
        }
        Ok(())
    }
}

fn show(registry: &Arc<SwRegistry>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    registry.show(f)
}

fn write(registry: &Arc<SwRegistry>, reader: &mut UserSliceReader) -> Result {
    let len = reader.len();
    if len == 0 || len > MAX_COMMAND {
        pr_err!(
            "sw_control: commands are 1..{} bytes: 'add [ports=N] ...', 'del N' or 'service N ...'\n",
            MAX_COMMAND
        );
        return Err(EINVAL);
    }
    let mut buf = [0u8; MAX_COMMAND];
    reader.read_slice(&mut buf[..len])?;
    let command = parse(&buf[..len]).inspect_err(|_| {
        pr_err!("sw_control: cannot parse the command; use 'add [ports=N] [mtu=N] [queues=N] [depth=N] [latency_us=N] [service_ms=N] [speed_mbps=N] [mac=xx:..]', 'del N' or 'service N reset|fpga|rdma-suspend|rdma-resume'\n")
    })?;
    match command {
        Command::Add(config) => {
            let id = registry.add(config)?;
            pr_info!("sw_control: created software adapter {}\n", id);
        }
        Command::Del(id) => registry
            .del(id)
            .inspect_err(|_| pr_err!("sw_control: there is no software adapter {}\n", id))?,
        Command::Service(id, request) => registry.service(id, request).inspect_err(|e| {
            pr_err!(
                "sw_control: adapter {}: {:?} not sent: {:?}\n",
                id,
                request,
                e
            )
        })?,
    }
    Ok(())
}

/// The control file.
pub(crate) struct Control {
    _file: Pin<KBox<File<Arc<SwRegistry>>>>,
}

impl Control {
    /// Creates `sw_control` for `registry` in `dir` (`/sys/kernel/debug/mana_gdma`).
    pub(crate) fn new(registry: &Arc<SwRegistry>, dir: &Dir) -> Result<Self> {
        let file = KBox::pin_init(
            dir.read_write_callback_file(c"sw_control", registry.clone(), &show, &write),
            GFP_KERNEL,
        )?;
        Ok(Self { _file: file })
    }
}

#[kunit_tests(mana_rs_gdma_sw_control)]
mod tests {
    use super::*;

    #[test]
    fn parses_add_with_every_option() -> Result {
        let Command::Add(c) =
            parse(b"add ports=2 mtu=1514 queues=4 depth=8 latency_us=50 mac=00:11:22:33:44:55\n")?
        else {
            return Err(EINVAL);
        };
        assert_eq!(c.num_ports, 2);
        assert_eq!(c.adapter_mtu, 1514);
        assert_eq!(c.max_queues, 4);
        assert_eq!(c.hwc_depth, 8);
        assert_eq!(c.latency_us, 50);
        assert_eq!(c.mac_base, [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        Ok(())
    }

    #[test]
    fn rejects_bad_commands() {
        for bad in [
            &b""[..],
            b"remove 1",
            b"add ports",
            b"add ports=x",
            b"add speed=10",
            b"add mac=01:00:00:00:00:00",
            b"add mac=00:11:22",
            b"add queues=0",
            b"del",
            b"del 1 2",
            b"service 1",
            b"service 1 reboot",
            b"service x reset",
            b"service 1 reset now",
            b"\xff\xfe",
        ] {
            assert!(parse(bad).is_err());
        }
    }

    #[test]
    fn add_and_del_adapters() -> Result {
        let registry = SwRegistry::new(None)?;
        let Command::Add(mut config) = parse(b"add ports=2")? else {
            return Err(EINVAL);
        };
        let a = registry.add(config)?;
        config.num_ports = 1;
        let b = registry.add(config)?;
        assert_eq!(registry.len(), 2);
        registry.del(a)?;
        assert_eq!(registry.del(a).err(), Some(ENOENT));
        assert_eq!(registry.len(), 1);
        registry.del(b)?;
        assert_eq!(registry.len(), 0);
        // An invalid configuration never creates an adapter.
        config.num_ports = 17;
        assert!(registry.add(config).is_err());
        assert_eq!(registry.len(), 0);
        Ok(())
    }
}
