// SPDX-License-Identifier: GPL-2.0-only

//! `mana-vfio-user`: a vfio-user server that presents a Microsoft Azure Network Adapter (MANA)
//! virtual function to QEMU's `vfio-user-pci` device.
//!
//! It serves one QEMU connection on a UNIX socket and exits when QEMU disconnects, printing one
//! line on standard output that tests parse:
//!
//! ```text
//! mana-vfio-user report: protocol_errors=0 dma_faults=0 config_reads=... resets=1
//! ```
//!
//! Behind BAR0 runs the MANA device model of the model crate (`mana_model`: SMC, hardware
//! channel, GDMA and MANA objects, the Ethernet data path between linked ports), the one the
//! in-kernel software adapter runs, on a thread of its own.

#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use mana_model::config::SwConfig;
use mana_vfio_user::bar0::Bar0Layout;
use mana_vfio_user::control::Control;
use mana_vfio_user::function::Function;
use mana_vfio_user::mana::{Link, ManaModel};
use mana_vfio_user::msix::MSIX_VECTORS;
use mana_vfio_user::record::Recorder;
use std::sync::Arc;

const USAGE: &str = "\
usage: mana-vfio-user --socket PATH [--socket PATH2] [--vports N] [--doorbell-pages N]
                      [--record FILE] [--control PATH]

Serves a MANA VF (1414:00ba) to one QEMU vfio-user-pci client on the UNIX socket PATH (which
must not exist) and exits when QEMU disconnects, printing a one-line report. With a second
socket, serves a second VF there, and the two functions' ports are linked to each other (port
n of one to port n of the other) instead of within each function; one report line each.

  --socket PATH         the socket to listen on (twice: two linked functions)
  --control PATH        a UNIX socket (which must not exist) taking one command per line,
                        answered `ok` or `error: ...`: `service F reset|fpga|rdma-suspend|
                        rdma-resume` has function F's device (0, or 1 with two sockets) ask
                        its driver for that service operation, as the hardware does
  --vports N            vports of the device (1..=16, default 2: linked to each other)
  --doorbell-pages N    doorbell pages in BAR0 (1..=16, default 16)
  --record FILE         record what the drivers ask (hardware-channel and mailbox requests
                        with their answers, register reads, resets, the guest's step marks)
                        in FILE, one line each (with two functions: FILE.0 and FILE.1)
";

/// The doorbell pages the device model serves.
const MAX_DB_PAGES: u32 = mana_model::layout::NUM_DB_PAGES as u32;

/// The command line.
struct Options {
    sockets: Vec<PathBuf>,
    control: Option<PathBuf>,
    vports: u32,
    db_pages: u32,
    record: Option<PathBuf>,
}

fn parse_number(
    name: &str,
    value: Option<String>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, String> {
    let value = value.ok_or_else(|| format!("{name} needs a value"))?;
    match value.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{name} {value}: expected a number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut sockets = Vec::new();
    let mut control = None;
    let mut vports = 2;
    let mut db_pages = MAX_DB_PAGES;
    let mut record = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--socket" if sockets.len() == 2 => {
                return Err("at most two --socket (two linked functions)".to_string())
            }
            "--socket" => sockets.push(PathBuf::from(args.next().ok_or("--socket needs a path")?)),
            "--control" => {
                control = Some(PathBuf::from(args.next().ok_or("--control needs a path")?))
            }
            "--vports" => vports = parse_number("--vports", args.next(), 1..=16)?,
            "--doorbell-pages" => {
                db_pages = parse_number("--doorbell-pages", args.next(), 1..=MAX_DB_PAGES)?
            }
            "--record" => record = Some(PathBuf::from(args.next().ok_or("--record needs a file")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if sockets.is_empty() {
        return Err("--socket is required".to_string());
    }
    Ok(Options {
        sockets,
        control,
        vports,
        db_pages,
        record,
    })
}

/// Errors the vfio-user library logs (each is a message it answered with an error reply).
static SERVER_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Sends the vfio-user library's warnings and errors to standard error, and counts its errors.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.level() == log::Level::Error {
            SERVER_ERRORS.fetch_add(1, Relaxed);
        }
        if self.enabled(record.metadata()) {
            eprintln!("mana-vfio-user: {}: {}", record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("mana-vfio-user: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Only fails if a logger is set already, which nothing else here does.
    let _ = log::set_logger(&LOGGER).map(|()| log::set_max_level(log::LevelFilter::Warn));

    let layout = Bar0Layout {
        db_pages: options.db_pages,
    };
    let config = SwConfig {
        num_ports: options.vports,
        num_vectors: MSIX_VECTORS as u32,
        ..SwConfig::default()
    };
    // Two functions: each model sends the frames of its ports through its link to the other.
    let links: Vec<Link> = if options.sockets.len() == 2 {
        vec![Link::default(), Link::default()]
    } else {
        Vec::new()
    };
    let mut functions = Vec::new();
    let mut recorders = Vec::new();
    for i in 0..options.sockets.len() {
        let model = match links.get(i) {
            Some(link) => ManaModel::linked(config, link.clone()),
            None => ManaModel::new(config),
        };
        let mut model = match model {
            Ok(m) => m,
            Err(e) => {
                eprintln!("mana-vfio-user: the device model refused its configuration: {e}");
                return ExitCode::from(2);
            }
        };
        let recorder = match &options.record {
            None => None,
            Some(path) => {
                let path = if options.sockets.len() == 2 {
                    PathBuf::from(format!("{}.{i}", path.display()))
                } else {
                    path.clone()
                };
                match Recorder::create(&path) {
                    Ok(r) => Some(Arc::new(r)),
                    Err(e) => {
                        eprintln!("mana-vfio-user: cannot create {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                }
            }
        };
        if let Some(r) = &recorder {
            model.record_to(r.clone());
        }
        match Function::new(layout, Box::new(model)) {
            Ok(mut f) => {
                if let Some(r) = &recorder {
                    f.record_to(r.clone());
                }
                recorders.push(recorder);
                functions.push(f)
            }
            Err(e) => {
                eprintln!("mana-vfio-user: cannot start the device model's thread: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let ([a, b], [fa, fb]) = (links.as_slice(), functions.as_slice()) {
        // Function 0's frames go to function 1's model and back.
        if let (Some(to_b), Some(to_a)) = (fb.model_sender(), fa.model_sender()) {
            a.connect(to_b);
            b.connect(to_a);
        }
    }
    // The control socket exists before the functions' sockets: a client that waits for those
    // (or QEMU, which connects to both at start) finds it.
    let control = match &options.control {
        None => None,
        Some(path) => {
            let models = functions
                .iter()
                .filter_map(Function::model_sender)
                .collect();
            match Control::listen(path, models) {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!(
                        "mana-vfio-user: cannot listen on {}: {e} (remove a stale socket first)",
                        path.display()
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let mut servers = Vec::new();
    for (socket, function) in options.sockets.iter().zip(&functions) {
        match vfio_user::Server::new(socket, true, function.irqs(), function.regions()) {
            Ok(s) => servers.push(s),
            Err(e) => {
                eprintln!(
                    "mana-vfio-user: cannot listen on {}: {e} (remove a stale socket first)",
                    socket.display()
                );
                return ExitCode::FAILURE;
            }
        }
        eprintln!(
            "mana-vfio-user: MANA VF 1414:00ba on {} ({} vports{}, BAR0 {} KiB, {} doorbell pages, 64 MSI-X vectors)",
            socket.display(),
            options.vports,
            if links.is_empty() { "" } else { " linked to the other function's" },
            layout.bar_size() / 1024,
            options.db_pages
        );
    }
    // One thread per connection (the library's loop blocks); each ends when its QEMU
    // disconnects.
    let served: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let runs: Vec<_> = servers
            .into_iter()
            .zip(functions.iter_mut())
            .map(|(server, function)| {
                scope.spawn(move || server.run(function).map_err(|e| e.to_string()))
            })
            .collect();
        runs.into_iter()
            .map(|run| {
                run.join()
                    .unwrap_or_else(|_| Err("the connection's thread panicked".to_string()))
            })
            .collect()
    });
    // The control socket and each linked model hold the models' queues open: let go of them
    // before stopping the models.
    if let Some(control) = &control {
        control.close();
    }
    for link in &links {
        link.cut();
    }
    let mut ok = true;
    for (i, (function, served)) in functions.iter_mut().zip(&served).enumerate() {
        let model_ok = function.stop_model();
        if let Err(e) = served {
            eprintln!("mana-vfio-user: the connection ended with an error: {e}");
        }
        if !model_ok {
            eprintln!("mana-vfio-user: the device model's thread panicked");
        }
        let lost = recorders
            .get(i)
            .and_then(|r| r.as_ref())
            .map_or(0, |r| r.finish());
        if lost > 0 {
            eprintln!("mana-vfio-user: {lost} lines of the record could not be written");
        }
        ok &= served.is_ok() && model_ok && lost == 0;
        let which = if links.is_empty() {
            String::new()
        } else {
            format!("function={i} ")
        };
        println!(
            "mana-vfio-user report: {which}{} server_errors={}",
            function.report(),
            SERVER_ERRORS.load(Relaxed)
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_options(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options_parse_and_check_their_ranges() {
        let o = parse(&["--socket", "/tmp/s", "--vports", "2"]).unwrap();
        assert_eq!(o.sockets, [PathBuf::from("/tmp/s")]);
        assert_eq!((o.vports, o.db_pages), (2, 16));
        assert!(parse(&["--vports", "2"]).is_err());
        assert!(parse(&["--socket", "/s", "--vports", "0"]).is_err());
        assert!(parse(&["--socket", "/s", "--doorbell-pages", "x"]).is_err());
        assert!(parse(&["--socket", "/s", "--doorbell-pages", "17"]).is_err());
        assert!(parse(&["--socket"]).is_err());
        let two = parse(&["--socket", "/a", "--socket", "/b"]).unwrap();
        assert_eq!(two.sockets.len(), 2);
        assert!(parse(&["--socket", "/a", "--socket", "/b", "--socket", "/c"]).is_err());
        assert_eq!(parse(&["--help"]).err(), Some(String::new()));
        assert_eq!(o.control, None);
        let c = parse(&["--socket", "/a", "--control", "/c"]).unwrap();
        assert_eq!(c.control, Some(PathBuf::from("/c")));
        assert!(parse(&["--socket", "/a", "--control"]).is_err());
    }
}
