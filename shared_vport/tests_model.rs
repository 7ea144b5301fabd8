// SPDX-License-Identifier: GPL-2.0-only

//! The exhaustive test: every sequence of six client operations on one vport, each step
//! compared with a small pure reference model.

use kernel::prelude::*;

#[kunit_tests(mana_rs_shared_vport_model)]
mod tests {
    use kernel::{
        prelude::*,
        sync::Arc,
        time::{
            Instant,
            Monotonic, //
        }, //
    };

    use super::super::{
        testing::FakeHw,
        EthernetLease,
        Owner,
        QpKind,
        RdmaLease,
        RefusalLog,
        Vport,
        VportTable,
        VportTx, //
    };

    /// The operations the sequences are made of.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Op {
        /// `ip link set up`: take the Ethernet lease (nothing if the interface is up).
        EthOpen,
        /// `ip link set down`: drop the Ethernet lease (nothing if the interface is down).
        EthStop,
        /// An MTU change: if up, detach and attach under the lease, trying an RDMA QP inside.
        Reconfigure,
        /// PD A creates a RAW QP.
        CreateA,
        /// PD A destroys its newest QP (nothing if it has none).
        DestroyA,
        /// PD B creates an RSS QP (at most one per vport).
        CreateB,
        /// PD B destroys its RSS QP (nothing if it has none).
        DestroyB,
    }

    /// Every operation, in the order the sequence numbers count them.
    const OPS: [Op; 7] = [
        Op::EthOpen,
        Op::EthStop,
        Op::Reconfigure,
        Op::CreateA,
        Op::DestroyA,
        Op::CreateB,
        Op::DestroyB,
    ];

    /// The length of the sequences.
    const LEN: usize = 6;

    /// PD A and PD B.
    const PD_A: u32 = 1;
    const PD_B: u32 = 2;

    /// What the Ethernet side programs.
    const ETH: VportTx = VportTx {
        pd: 100,
        doorbell: 5,
    };

    /// What PD `pd` programs.
    const fn rdma(pd: u32) -> VportTx {
        VportTx { pd, doorbell: 6 }
    }

    /// The reference model: what a user expects, written without the arbiter's code.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Model {
        /// The interface is up.
        up: bool,
        /// PD A's RAW QPs.
        a: u32,
        /// PD B's RSS QPs.
        b: u32,
        /// `CONFIG_VPORT_TX` requests so far.
        tx: u64,
        /// RX-steering disables so far.
        rx: u64,
        /// Refusals so far.
        refusals: u64,
    }

    impl Model {
        /// Applies `op`; returns the errno the client should get.
        fn step(&mut self, op: Op) -> Option<Error> {
            let busy = |m: &mut Model| {
                m.refusals += 1;
                Some(EBUSY)
            };
            match op {
                Op::EthOpen if self.up => None,
                Op::EthOpen if self.a > 0 || self.b > 0 => busy(self),
                Op::EthOpen => {
                    self.up = true;
                    self.tx += 1;
                    None
                }
                Op::EthStop => {
                    if self.up {
                        self.up = false;
                        self.rx += 1;
                    }
                    None
                }
                Op::Reconfigure => {
                    if self.up {
                        // The RDMA request inside the window is refused; detach quiesces RX,
                        // attach programs TX again.
                        self.refusals += 1;
                        self.rx += 1;
                        self.tx += 1;
                    }
                    None
                }
                Op::CreateA if self.up || self.b > 0 => busy(self),
                Op::CreateA => {
                    if self.a == 0 {
                        self.tx += 1;
                    }
                    self.a += 1;
                    None
                }
                Op::DestroyA => {
                    if self.a > 0 {
                        self.a -= 1;
                        if self.a == 0 {
                            self.rx += 1;
                        }
                    }
                    None
                }
                Op::CreateB if self.up || self.a > 0 || self.b > 0 => busy(self),
                Op::CreateB => {
                    self.tx += 1;
                    self.b = 1;
                    None
                }
                Op::DestroyB => {
                    if self.b > 0 {
                        self.b = 0;
                        self.rx += 1;
                    }
                    None
                }
            }
        }

        /// Returns whether `owner` is the owner the model expects.
        fn owner_matches(&self, owner: &Owner) -> bool {
            match owner {
                Owner::Free => !self.up && self.a == 0 && self.b == 0,
                Owner::Ethernet { ifname } => self.up && ifname.as_bytes() == b"eth0",
                Owner::Rdma { pd, qps } => {
                    (*pd == PD_A && *qps == self.a && self.b == 0 && !self.up)
                        || (*pd == PD_B && *qps == self.b && self.a == 0 && !self.up)
                }
            }
        }
    }

    /// The client side: the leases the operations hold.
    struct Clients {
        eth: Option<EthernetLease>,
        a: KVec<RdmaLease>,
        b: KVec<RdmaLease>,
    }

    impl Clients {
        /// Applies `op` through the arbiter's API.
        fn step(&mut self, table: &VportTable, op: Op) -> Result {
            match op {
                Op::EthOpen => {
                    if self.eth.is_none() {
                        self.eth = Some(table.take_ethernet(0, c"eth0", ETH)?);
                    }
                }
                Op::EthStop => self.eth = None,
                Op::Reconfigure => {
                    if let Some(eth) = &mut self.eth {
                        eth.reconfigure(|r| {
                            r.quiesce_rx()?;
                            if table.take_rdma(0, QpKind::Raw, rdma(PD_A)).err() != Some(EBUSY) {
                                return Err(EPROTO);
                            }
                            r.reprogram_tx()
                        })?;
                    }
                }
                Op::CreateA => {
                    let lease = table.take_rdma(0, QpKind::Raw, rdma(PD_A))?;
                    self.a.push(lease, GFP_KERNEL)?;
                }
                Op::DestroyA => drop(self.a.pop()),
                Op::CreateB => {
                    let lease = table.take_rdma(0, QpKind::Rss, rdma(PD_B))?;
                    self.b.push(lease, GFP_KERNEL)?;
                }
                Op::DestroyB => drop(self.b.pop()),
            }
            Ok(())
        }

        /// Drops every lease (the order of a device removal: RDMA first, then the netdev).
        fn clear(&mut self) {
            self.a.clear();
            self.b.clear();
            self.eth = None;
        }
    }

    /// Checks the arbiter against `model` after a step that returned `got`.
    fn agrees(
        vport: &Vport,
        hw: &FakeHw,
        model: &Model,
        expected: Option<Error>,
        got: Option<Error>,
    ) -> bool {
        got == expected
            && vport.with_owner(|owner| model.owner_matches(owner))
            && hw.tx_calls() == model.tx
            && hw.rx_calls() == model.rx
            && vport.refusals() == model.refusals
    }

    /// Runs every sequence of `LEN` operations; returns the number of steps checked.
    ///
    /// Each sequence starts from a free vport (the previous one's leases are dropped) and is
    /// replayed from the start: no step is skipped or memoised, so every one of the 7^6
    /// sequences runs through the real lease code. Refusals are counted, not printed.
    fn run_all() -> Result<u64> {
        let (table, hw) = FakeHw::table(1, RefusalLog::Count)?;
        let vport: Arc<Vport> = table.get(0)?.clone();
        let mut clients = Clients {
            eth: None,
            a: KVec::with_capacity(LEN, GFP_KERNEL)?,
            b: KVec::with_capacity(LEN, GFP_KERNEL)?,
        };
        let total = OPS.len().pow(LEN as u32);
        let mut steps = 0u64;
        for n in 0..total {
            let mut model = Model {
                up: false,
                a: 0,
                b: 0,
                tx: hw.tx_calls(),
                rx: hw.rx_calls(),
                refusals: vport.refusals(),
            };
            let mut code = n;
            for i in 0..LEN {
                let op = OPS[code % OPS.len()];
                code /= OPS.len();
                let expected = model.step(op);
                let got = clients.step(&table, op).err();
                steps += 1;
                if !agrees(&vport, &hw, &model, expected, got) {
                    pr_err!(
                        "sequence {} step {} ({:?}): expected {:?}, got {:?}; model {:?}; tx {} rx {} refusals {}\n",
                        n,
                        i,
                        op,
                        expected,
                        got,
                        model,
                        hw.tx_calls(),
                        hw.rx_calls(),
                        vport.refusals()
                    );
                    vport.with_owner(|o| pr_err!("owner: {}\n", o));
                    return Err(EINVAL);
                }
            }
            clients.clear();
            if !vport.with_owner(|o| *o == Owner::Free) || hw.tx_calls() != hw.rx_calls() {
                pr_err!("sequence {}: the vport is not free and quiesced after its leases were dropped\n", n);
                return Err(EINVAL);
            }
        }
        Ok(steps)
    }

    /// Every sequence of six operations behaves as the reference model says: the errno of each
    /// step, the owner after it, the device programming and the refusal count.
    #[test]
    fn every_sequence_of_six_operations() -> Result {
        let start = Instant::<Monotonic>::now();
        let steps = run_all()?;
        pr_info!(
            "mana_rs_shared_vport_model: {} sequences, {} steps checked in {} ms\n",
            OPS.len().pow(LEN as u32),
            steps,
            start.elapsed().as_millis()
        );
        assert_eq!(steps, 117_649 * 6);
        Ok(())
    }

    /// The model itself: a few hand-checked facts, so that a wrong model cannot agree with a
    /// wrong arbiter silently.
    #[test]
    fn the_model_follows_the_design() {
        let mut m = Model {
            up: false,
            a: 0,
            b: 0,
            tx: 0,
            rx: 0,
            refusals: 0,
        };
        assert_eq!(m.step(Op::EthOpen), None);
        assert_eq!(m.step(Op::CreateA), Some(EBUSY));
        assert_eq!(m.step(Op::CreateB), Some(EBUSY));
        assert_eq!(m.step(Op::Reconfigure), None);
        assert_eq!(m.step(Op::EthStop), None);
        assert_eq!(m.step(Op::CreateA), None);
        assert_eq!(m.step(Op::CreateA), None);
        assert_eq!(m.step(Op::EthOpen), Some(EBUSY));
        assert_eq!(m.step(Op::CreateB), Some(EBUSY));
        assert_eq!(m.step(Op::DestroyA), None);
        assert_eq!(m.step(Op::DestroyA), None);
        assert_eq!(m.step(Op::CreateB), None);
        assert_eq!(m.step(Op::CreateB), Some(EBUSY));
        assert_eq!(m.step(Op::DestroyB), None);
        assert!(m.owner_matches(&Owner::Free));
        assert_eq!((m.tx, m.rx, m.refusals), (4, 4, 6));
    }
}
