//! Who is connected to whom: a random graph with Bitcoin's connection rules.
//!
//! Each node dials `outbound` peers chosen uniformly at random (Bitcoin Core's default is 8) and
//! accepts at most `max_inbound` (125 minus the outbound slots, in Bitcoin Core). A connection
//! carries messages both ways; each direction has its own latency, drawn once.
//!
//! Gossip follows our real network's gossipsub defaults: a node sends a block it *made* to every
//! peer (flood publishing) and forwards a block it *received* to its mesh, at most six peers of
//! its connections (`mesh_n`), chosen here once per node. Sync requests go to any connected peer.

use ironchain_core::attack::rng::Xoshiro256;

use super::links::{Latency, Micros};

/// gossipsub's target mesh degree (`mesh_n` in rust-libp2p's `gossipsub::Config`).
pub const MESH_DEGREE: usize = 6;

/// One direction of a connection, as the sending node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The peer.
    pub peer: u32,
    /// How long a message takes to reach it, after leaving our uplink.
    pub latency: Micros,
    /// Whether we dialled it.
    pub outbound: bool,
}

/// The graph: each node's links, and which of them it forwards gossip on.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Links of each node.
    pub links: Vec<Vec<Link>>,
    /// Indexes into `links[node]` of the peers a node forwards gossip to.
    pub mesh: Vec<Vec<u32>>,
}

impl Topology {
    /// Returns a topology of `nodes` with no links (to build by hand with [`Topology::connect`]).
    pub fn empty(nodes: usize) -> Self {
        Self {
            links: vec![Vec::new(); nodes],
            mesh: vec![Vec::new(); nodes],
        }
    }

    /// A random graph: each node dials `outbound` distinct peers, none above `max_inbound`.
    pub fn random(
        nodes: usize,
        outbound: usize,
        max_inbound: usize,
        latency: &Latency,
        rng: &mut Xoshiro256,
    ) -> Self {
        let mut topology = Self::empty(nodes);
        let mut inbound = vec![0usize; nodes];
        let want = outbound.min(nodes.saturating_sub(1));
        for node in 0..nodes {
            let mut dialled = 0;
            // Random candidates; a dense or nearly full graph falls back to a scan.
            let mut attempts = 0;
            while dialled < want && attempts < 50 * want {
                attempts += 1;
                let peer = (rng.next_u64() % nodes as u64) as usize;
                if topology.can_connect(node, peer, &inbound, max_inbound) {
                    topology.connect(node, peer, latency.sample(rng), latency.sample(rng));
                    inbound[peer] += 1;
                    dialled += 1;
                }
            }
            for peer in 0..nodes {
                if dialled >= want {
                    break;
                }
                if topology.can_connect(node, peer, &inbound, max_inbound) {
                    topology.connect(node, peer, latency.sample(rng), latency.sample(rng));
                    inbound[peer] += 1;
                    dialled += 1;
                }
            }
        }
        topology.choose_meshes(rng);
        topology
    }

    /// Every node connected to every other (small networks of miners).
    pub fn clique(nodes: usize, latency: &Latency, rng: &mut Xoshiro256) -> Self {
        let mut topology = Self::empty(nodes);
        for a in 0..nodes {
            for b in a + 1..nodes {
                topology.connect(a, b, latency.sample(rng), latency.sample(rng));
            }
        }
        topology.choose_meshes(rng);
        topology
    }

    fn can_connect(&self, node: usize, peer: usize, inbound: &[usize], max_inbound: usize) -> bool {
        peer != node
            && inbound[peer] < max_inbound
            && !self.links[node].iter().any(|l| l.peer as usize == peer)
    }

    /// Connects `a` (dialling) and `b`, with the latency of each direction.
    pub fn connect(&mut self, a: usize, b: usize, a_to_b: Micros, b_to_a: Micros) {
        self.links[a].push(Link {
            peer: b as u32,
            latency: a_to_b,
            outbound: true,
        });
        self.links[b].push(Link {
            peer: a as u32,
            latency: b_to_a,
            outbound: false,
        });
    }

    /// Picks each node's gossip mesh: up to [`MESH_DEGREE`] of its links, at random.
    pub fn choose_meshes(&mut self, rng: &mut Xoshiro256) {
        for (node, links) in self.links.iter().enumerate() {
            let mut order: Vec<u32> = (0..links.len() as u32).collect();
            // Fisher-Yates, partially: the first MESH_DEGREE places are a uniform sample.
            for i in 0..order.len().min(MESH_DEGREE) {
                let j = i + (rng.next_u64() % (order.len() - i) as u64) as usize;
                order.swap(i, j);
            }
            order.truncate(MESH_DEGREE);
            order.sort_unstable();
            self.mesh[node] = order;
        }
    }

    /// Returns the link from `node` to `peer`, if they are connected.
    pub fn link(&self, node: usize, peer: u32) -> Option<&Link> {
        self.links[node].iter().find(|l| l.peer == peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_dials_its_outbound_peers_and_none_exceeds_the_inbound_cap() {
        let mut rng = Xoshiro256::seed_from(1);
        let topology = Topology::random(500, 8, 20, &Latency::Constant(10.0), &mut rng);
        for (node, links) in topology.links.iter().enumerate() {
            let out = links.iter().filter(|l| l.outbound).count();
            let inbound = links.len() - out;
            assert_eq!(out, 8, "node {node}");
            assert!(inbound <= 20, "node {node} has {inbound} inbound");
            let mut peers: Vec<u32> = links.iter().map(|l| l.peer).collect();
            peers.sort_unstable();
            peers.dedup();
            assert_eq!(peers.len(), links.len(), "no duplicate connection");
            assert!(!peers.contains(&(node as u32)), "no self-connection");
            assert_eq!(topology.mesh[node].len(), MESH_DEGREE.min(links.len()));
        }
    }

    #[test]
    fn links_are_symmetric() {
        let mut rng = Xoshiro256::seed_from(2);
        let topology = Topology::random(100, 4, 125, &Latency::Uniform(1.0, 9.0), &mut rng);
        for (node, links) in topology.links.iter().enumerate() {
            for link in links {
                assert!(topology.link(link.peer as usize, node as u32).is_some());
            }
        }
    }
}
