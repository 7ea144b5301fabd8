// SPDX-License-Identifier: GPL-2.0-only

//! The seam between the PCI function and the device model behind it.
//!
//! The function (this server) owns everything that is pure register behaviour: configuration
//! space, the BAR0 register file, the SMC mailbox's storage and owner bit, MSI-X, and the guest
//! memory mappings. What the device *does* is the device model's: it receives the BAR0 writes
//! that mean work ([`DeviceEvent`]) on its own thread, and reaches the driver only through
//! [`DeviceHost`]: DMA to and from guest memory by DMA address, raising an MSI-X vector, and
//! answering the mailbox. Register reads never wait for the model, so a slow model cannot stall
//! QEMU's message loop.
//!
//! The MANA device model of the model crate (`mana_model`, shared with the in-kernel software
//! adapter) plugs in here as [`crate::mana::ManaModel`]; [`NullModel`] answers nothing (a
//! driver's SMC request times out) and serves the tests of the seam.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use mana_wire::hwc::ServiceRequest;

use crate::bar0::{Doorbell, Mailbox};
use crate::control::Reply;
use crate::dma::DmaFault;
use crate::msix::NoSuchVector;

/// Work for the device model, in the order the driver wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The driver handed the SMC mailbox to the device with this request (the eight dwords as
    /// written; the mailbox's owner bit now reads as set until [`DeviceHost::smc_respond`]).
    SmcRequest(Mailbox),
    /// A doorbell write.
    Doorbell(Doorbell),
    /// A function reset (vfio-user DEVICE_RESET): every device object is gone.
    Reset,
    /// A frame from the function whose ports are linked to this one's, for port `port`.
    Frame {
        /// The port of this function that receives it.
        port: u32,
        /// The frame as sent (without the VLAN tag).
        frame: Vec<u8>,
        /// The 802.1Q tag the sender asked its device to insert.
        vlan: Option<u16>,
    },
    /// The control socket asks the device to request a service operation of the driver
    /// ([`crate::control`]); the model answers through `reply`.
    Service {
        /// What the device asks the driver for.
        request: ServiceRequest,
        /// Where the model says whether the event went out.
        reply: Reply,
    },
}

/// What the device model can do to the function and the guest.
pub trait DeviceHost: Send + Sync {
    /// Whether all `len` bytes at DMA address `addr` are mapped guest memory.
    fn is_mapped(&self, addr: u64, len: usize) -> bool;
    /// Copies guest memory at DMA address `addr` into `out`.
    fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result<(), DmaFault>;
    /// Copies `data` to guest memory at DMA address `addr`.
    fn dma_write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault>;
    /// Raises MSI-X vector `vector`.
    fn raise_msix(&self, vector: u16) -> Result<(), NoSuchVector>;
    /// Answers the mailbox request: the eight dwords the driver reads next.
    fn smc_respond(&self, response: Mailbox);
}

/// Settings of the device the model presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    /// Number of vports (Ethernet ports) of the function.
    pub vports: u32,
    /// Number of doorbell pages BAR0 has.
    pub db_pages: u32,
}

/// What a model reports at exit: `name=value` pairs for the server's report line, in order.
pub type ModelReport = Vec<(String, u64)>;

/// A device model: runs on its own thread, one event at a time.
pub trait DeviceModel: Send + 'static {
    /// Handles one event; may use `host` as long as it likes (it runs on the model's thread).
    fn handle(&mut self, host: &dyn DeviceHost, event: DeviceEvent);
    /// Called once when the function goes away: the model releases what it holds and says
    /// what it counted.
    fn shutdown(&mut self, _host: &dyn DeviceHost) -> ModelReport {
        Vec::new()
    }
}

/// The stand-in model until the MANA device model is a crate of its own: it answers nothing.
pub struct NullModel {
    config: ModelConfig,
    /// Events seen, for the log line at shutdown.
    smc_requests: u64,
    doorbells: u64,
    resets: u64,
}

impl NullModel {
    /// A stand-in for a device of `config`.
    pub fn new(config: ModelConfig) -> Self {
        Self {
            config,
            smc_requests: 0,
            doorbells: 0,
            resets: 0,
        }
    }
}

impl DeviceModel for NullModel {
    fn handle(&mut self, _host: &dyn DeviceHost, event: DeviceEvent) {
        match event {
            DeviceEvent::SmcRequest(request) => {
                self.smc_requests += 1;
                if self.smc_requests == 1 {
                    eprintln!(
                        "mana-vfio-user: no device model: SMC request {:08x?} stays unanswered",
                        request
                    );
                }
            }
            DeviceEvent::Doorbell(_) => self.doorbells += 1,
            DeviceEvent::Reset => self.resets += 1,
            DeviceEvent::Frame { .. } => {}
            DeviceEvent::Service { reply, .. } => {
                reply.send(Err("no device model to raise the event".to_string()))
            }
        }
    }

    fn shutdown(&mut self, _host: &dyn DeviceHost) -> ModelReport {
        if self.smc_requests + self.doorbells > 0 {
            eprintln!(
                "mana-vfio-user: no device model ({} vports): {} SMC requests and {} doorbells went unanswered",
                self.config.vports, self.smc_requests, self.doorbells
            );
        }
        Vec::new()
    }
}

/// The thread a device model runs on, fed through a channel that never blocks the sender.
pub struct ModelThread {
    events: Option<Sender<DeviceEvent>>,
    thread: Option<JoinHandle<ModelReport>>,
    /// What the model reported when it stopped.
    report: Option<ModelReport>,
}

impl ModelThread {
    /// Starts `model` on a thread of its own, with `host` as its view of the function.
    pub fn spawn(
        mut model: Box<dyn DeviceModel>,
        host: Arc<dyn DeviceHost>,
    ) -> std::io::Result<Self> {
        let (tx, rx): (Sender<DeviceEvent>, Receiver<DeviceEvent>) = channel();
        let thread = std::thread::Builder::new()
            .name("mana-model".into())
            .spawn(move || {
                // Ends when the function drops its sender.
                while let Ok(event) = rx.recv() {
                    model.handle(&*host, event);
                }
                model.shutdown(&*host)
            })?;
        Ok(Self {
            events: Some(tx),
            thread: Some(thread),
            report: None,
        })
    }

    /// A sender of events to the model (for a peer function's frames); none once stopped.
    pub fn sender(&self) -> Option<Sender<DeviceEvent>> {
        self.events.clone()
    }

    /// Queues `event` for the model; false if the model's thread is gone (it panicked).
    pub fn send(&self, event: DeviceEvent) -> bool {
        self.events
            .as_ref()
            .is_some_and(|tx| tx.send(event).is_ok())
    }

    /// Lets the model finish the queued events and stop; false if its thread panicked.
    pub fn stop(&mut self) -> bool {
        drop(self.events.take());
        match self.thread.take().map(JoinHandle::join) {
            None => true,
            Some(Ok(report)) => {
                self.report = Some(report);
                true
            }
            Some(Err(_)) => false,
        }
    }

    /// What the model reported when it stopped (empty before [`Self::stop`], or if it
    /// panicked).
    pub fn report(&self) -> &[(String, u64)] {
        self.report.as_deref().unwrap_or(&[])
    }
}

impl Drop for ModelThread {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A host that records what the model did.
    #[derive(Default)]
    struct RecordingHost {
        raised: Mutex<Vec<u16>>,
        answers: Mutex<Vec<Mailbox>>,
    }

    impl DeviceHost for RecordingHost {
        fn is_mapped(&self, _addr: u64, _len: usize) -> bool {
            false
        }
        fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result<(), DmaFault> {
            Err(DmaFault {
                addr,
                len: out.len(),
                write: false,
            })
        }
        fn dma_write(&self, addr: u64, data: &[u8]) -> Result<(), DmaFault> {
            Err(DmaFault {
                addr,
                len: data.len(),
                write: true,
            })
        }
        fn raise_msix(&self, vector: u16) -> Result<(), NoSuchVector> {
            self.raised.lock().unwrap().push(vector);
            Ok(())
        }
        fn smc_respond(&self, response: Mailbox) {
            self.answers.lock().unwrap().push(response);
        }
    }

    /// A model that answers every mailbox request and raises the vector a doorbell names.
    struct EchoModel;

    impl DeviceModel for EchoModel {
        fn handle(&mut self, host: &dyn DeviceHost, event: DeviceEvent) {
            match event {
                DeviceEvent::SmcRequest(mut m) => {
                    m[7] &= !crate::bar0::SMC_OWNER_IS_DEVICE;
                    host.smc_respond(m);
                }
                DeviceEvent::Doorbell(db) => {
                    let _ = host.raise_msix(db.value as u16);
                }
                DeviceEvent::Service { reply, .. } => reply.send(Err("echo".to_string())),
                DeviceEvent::Reset | DeviceEvent::Frame { .. } => {}
            }
        }
    }

    #[test]
    fn events_reach_the_model_in_order_on_its_thread() {
        let host = Arc::new(RecordingHost::default());
        let mut thread = ModelThread::spawn(Box::new(EchoModel), host.clone()).unwrap();
        for v in 0..10 {
            assert!(thread.send(DeviceEvent::Doorbell(Doorbell {
                page: 0,
                offset: 0xFF8,
                value: v
            })));
        }
        assert!(thread.send(DeviceEvent::SmcRequest([1; 8])));
        assert!(thread.stop());
        assert_eq!(*host.raised.lock().unwrap(), (0..10).collect::<Vec<u16>>());
        assert_eq!(host.answers.lock().unwrap().len(), 1);
        assert!(!thread.send(DeviceEvent::Reset), "stopped");
    }

    #[test]
    fn the_null_model_answers_nothing() {
        let host = Arc::new(RecordingHost::default());
        let config = ModelConfig {
            vports: 2,
            db_pages: 64,
        };
        let mut thread =
            ModelThread::spawn(Box::new(NullModel::new(config)), host.clone()).unwrap();
        assert!(thread.send(DeviceEvent::SmcRequest([0; 8])));
        assert!(thread.stop());
        assert!(host.answers.lock().unwrap().is_empty());
        assert!(host.raised.lock().unwrap().is_empty());
    }
}
