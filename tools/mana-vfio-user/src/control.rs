// SPDX-License-Identifier: GPL-2.0-only

//! The control socket (`--control PATH`): a test makes the device do, while the guest runs,
//! what only the device can start.
//!
//! The socket takes one command per line and answers each with one line, `ok` or
//! `error: <why>`. Any number of clients may be connected at once: a shell on the host
//! (`socat - UNIX-CONNECT:PATH`), or the guest itself through a serial port that QEMU connects
//! to the socket (`-chardev socket,id=ctl,path=PATH -serial chardev:ctl`), so that a test in
//! the guest raises an event and then waits for the driver's reaction in its own log.
//!
//! Commands (the words of the in-kernel software adapter's `sw_control`, so that one scenario
//! reads the same on both):
//!
//! - `service F reset|fpga|rdma-suspend|rdma-resume`: the device model of function `F` (0, or
//!   1 with two `--socket`) asks the driver for that service operation, as the hardware does:
//!   the event on the hardware channel's EQ (`mana_model`'s `SwDevice::service_event`, the call
//!   the software adapter makes). A reset or FPGA reconfiguration also drops every device
//!   object. The answer comes once the model has posted the event: `error: ...` when the driver
//!   did not advertise that it handles the event, or has no hardware channel (no driver bound,
//!   or a reset in progress).
//!
//! The command runs on the function's model thread, in order with the driver's doorbells and
//! mailbox requests ([`DeviceEvent::Service`]).

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

use mana_wire::hwc::ServiceRequest;

use crate::device::DeviceEvent;

/// What the model answers to a service command: `Err` carries the reason it was not sent.
pub type ServiceOutcome = Result<(), String>;

/// Where a model answers a service command. Two replies are equal when they are the same
/// one (events are compared in tests; a reply has no value of its own).
#[derive(Clone)]
pub struct Reply(Arc<Mutex<Option<Sender<ServiceOutcome>>>>);

impl Reply {
    /// A reply and the receiver that waits for it.
    pub fn new() -> (Self, std::sync::mpsc::Receiver<ServiceOutcome>) {
        let (tx, rx) = channel();
        (Self(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    /// Answers; only the first answer counts, and one nobody waits for any more is lost.
    pub fn send(&self, outcome: ServiceOutcome) {
        if let Some(tx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(outcome);
        }
    }
}

impl PartialEq for Reply {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Reply {}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply")
    }
}

/// A parsed command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Function `function`'s device asks its driver for `request`.
    Service {
        /// The function (0, or 1 of two linked functions).
        function: usize,
        /// What the device asks for.
        request: ServiceRequest,
    },
}

/// The word of each service request on the command line (and in the report).
pub const SERVICE_WORDS: [(&str, ServiceRequest); 4] = [
    ("reset", ServiceRequest::Reset),
    ("fpga", ServiceRequest::FpgaReconfig),
    ("rdma-suspend", ServiceRequest::RdmaSuspend),
    ("rdma-resume", ServiceRequest::RdmaResume),
];

/// The command-line word of `request`.
pub fn service_word(request: ServiceRequest) -> &'static str {
    SERVICE_WORDS
        .iter()
        .find(|(_, r)| *r == request)
        .map_or("?", |(word, _)| word)
}

/// Parses one command line.
pub fn parse(line: &str) -> Result<Command, String> {
    let mut words = line.split_ascii_whitespace();
    match words.next() {
        Some("service") => {
            let function = words.next().and_then(|w| w.parse::<usize>().ok()).ok_or(
                "service needs a function number: service F reset|fpga|rdma-suspend|rdma-resume",
            )?;
            let word = words.next().unwrap_or("");
            let request = SERVICE_WORDS
                .iter()
                .find(|(w, _)| *w == word)
                .map(|(_, r)| *r)
                .ok_or_else(|| {
                    format!("unknown service '{word}': expected reset, fpga, rdma-suspend or rdma-resume")
                })?;
            if let Some(extra) = words.next() {
                return Err(format!("unexpected '{extra}' after the service"));
            }
            Ok(Command::Service { function, request })
        }
        Some(other) => Err(format!("unknown command '{other}': expected service")),
        None => Err("empty command".to_string()),
    }
}

/// The model threads commands go to, by function; emptied by [`Control::close`].
type Targets = Arc<Mutex<Vec<Sender<DeviceEvent>>>>;

/// Runs one command line against the functions' models; returns the answer line.
fn execute(targets: &Targets, line: &str) -> String {
    let outcome = parse(line).and_then(|command| match command {
        Command::Service { function, request } => {
            let (reply, answer) = Reply::new();
            let sent = {
                let targets = targets.lock().unwrap_or_else(|e| e.into_inner());
                match targets.get(function) {
                    None if targets.is_empty() => Err("the server is stopping".to_string()),
                    None => Err(format!(
                        "no function {function}: the server has {}",
                        targets.len()
                    )),
                    Some(model) => model
                        .send(DeviceEvent::Service { request, reply })
                        .map_err(|_| format!("function {function}'s device model is gone")),
                }
            };
            sent?;
            answer
                .recv()
                .unwrap_or_else(|_| Err(format!("function {function}'s device model stopped")))
        }
    });
    match outcome {
        Ok(()) => "ok".to_string(),
        Err(why) => format!("error: {why}"),
    }
}

/// Answers the commands of one client until it disconnects.
fn serve(targets: &Targets, stream: UnixStream) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else {
            return;
        };
        // A guest's serial line may end in CR LF; blank lines are no commands.
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let answer = execute(targets, line);
        eprintln!("mana-vfio-user: control: {line}: {answer}");
        if writeln!(out, "{answer}").is_err() {
            return;
        }
    }
}

/// The control socket: a thread that accepts clients, and one per client.
pub struct Control {
    path: PathBuf,
    targets: Targets,
}

impl Control {
    /// Listens on `path` (which must not exist) for commands to the functions whose models
    /// `models` feeds (function `n` is `models[n]`).
    pub fn listen(path: &Path, models: Vec<Sender<DeviceEvent>>) -> std::io::Result<Self> {
        let listener = UnixListener::bind(path)?;
        let targets: Targets = Arc::new(Mutex::new(models));
        let shared = targets.clone();
        std::thread::Builder::new()
            .name("mana-control".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else {
                        continue;
                    };
                    let targets = shared.clone();
                    let _ = std::thread::Builder::new()
                        .name("mana-control-client".into())
                        .spawn(move || serve(&targets, stream));
                }
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            targets,
        })
    }

    /// Stops taking commands: lets go of the models' queues (so that they can stop) and
    /// removes the socket. Clients still connected get `error: the server is stopping`.
    pub fn close(&self) {
        self.targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_as_the_software_adapter_words_them() {
        assert_eq!(
            parse("service 0 reset"),
            Ok(Command::Service {
                function: 0,
                request: ServiceRequest::Reset
            })
        );
        for (word, request) in SERVICE_WORDS {
            assert_eq!(
                parse(&format!("service 1 {word}")),
                Ok(Command::Service {
                    function: 1,
                    request
                })
            );
            assert_eq!(service_word(request), word);
        }
        for bad in [
            "",
            "service",
            "service x reset",
            "service 0",
            "service 0 reboot",
            "service 0 reset now",
            "reset 0",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_command_reaches_the_model_and_its_answer_the_client() {
        let (tx, rx) = channel();
        let targets: Targets = Arc::new(Mutex::new(vec![tx]));
        let model = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while let Ok(event) = rx.recv() {
                if let DeviceEvent::Service { request, reply } = event {
                    seen.push(request);
                    reply.send(if request == ServiceRequest::Reset {
                        Ok(())
                    } else {
                        Err("not handled".to_string())
                    });
                }
            }
            seen
        });
        assert_eq!(execute(&targets, "service 0 reset"), "ok");
        assert_eq!(execute(&targets, "service 0 fpga"), "error: not handled");
        assert_eq!(
            execute(&targets, "service 1 reset"),
            "error: no function 1: the server has 1"
        );
        assert!(execute(&targets, "bogus").starts_with("error: unknown command"));
        targets.lock().unwrap().clear();
        assert_eq!(
            execute(&targets, "service 0 reset"),
            "error: the server is stopping"
        );
        // Only the two well-formed commands for function 0 reached the model.
        assert_eq!(
            model.join().unwrap(),
            [ServiceRequest::Reset, ServiceRequest::FpgaReconfig]
        );
    }

    #[test]
    fn a_reply_nobody_sends_answers_that_the_model_stopped() {
        let (tx, rx) = channel();
        let targets: Targets = Arc::new(Mutex::new(vec![tx]));
        // The model takes the event and drops it unanswered.
        let model = std::thread::spawn(move || drop(rx.recv()));
        assert_eq!(
            execute(&targets, "service 0 rdma-suspend"),
            "error: function 0's device model stopped"
        );
        model.join().unwrap();
    }

    #[test]
    fn the_socket_answers_each_line_and_close_lets_the_models_go() {
        let dir = std::env::temp_dir().join(format!("mana-control-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("control.sock");
        let (tx, rx) = channel();
        let control = Control::listen(&path, vec![tx]).unwrap();
        let model = std::thread::spawn(move || {
            let mut n = 0;
            // Ends when every sender is gone: the control socket's included.
            while let Ok(event) = rx.recv() {
                if let DeviceEvent::Service { reply, .. } = event {
                    n += 1;
                    reply.send(Ok(()));
                }
            }
            n
        });
        let client = UnixStream::connect(&path).unwrap();
        let mut lines = BufReader::new(client.try_clone().unwrap()).lines();
        let mut out = client;
        // CR LF as a guest's serial line sends it, and a blank line in between.
        out.write_all(b"service 0 reset\r\n\nservice 0 nothing\n")
            .unwrap();
        assert_eq!(lines.next().unwrap().unwrap(), "ok");
        assert!(lines
            .next()
            .unwrap()
            .unwrap()
            .starts_with("error: unknown service 'nothing'"));
        control.close();
        assert!(!path.exists());
        out.write_all(b"service 0 reset\n").unwrap();
        assert_eq!(
            lines.next().unwrap().unwrap(),
            "error: the server is stopping"
        );
        assert_eq!(model.join().unwrap(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
