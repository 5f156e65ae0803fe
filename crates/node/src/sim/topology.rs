//! Who is connected to whom: a random graph with Bitcoin's connection rules.
//!
//! Each node dials `outbound` peers chosen uniformly at random (Bitcoin Core's default is 8) and
//! accepts at most `max_inbound` (125 minus the outbound slots, in Bitcoin Core). A connection
//! carries messages both ways; each direction has its own latency, drawn once.
//!
//! Gossip follows our real network's gossipsub defaults: a node sends a block it *made* to every
//! peer (flood publishing) and forwards a block it *received* to its mesh: about six of its
//! connections (`mesh_n`, at most `mesh_n_high`), chosen here once, mutually, as GRAFT messages
//! make them. Sync requests go to any connected peer.

use ironchain_core::attack::rng::Xoshiro256;

use super::links::{Latency, Micros};

/// gossipsub's target mesh degree (`mesh_n` in rust-libp2p's `gossipsub::Config`).
pub const MESH_DEGREE: usize = 6;
/// The most mesh members gossipsub keeps before pruning (`mesh_n_high`).
pub const MESH_HIGH: usize = 12;

/// Numbers `0..n` in random order.
fn shuffled(n: usize, rng: &mut Xoshiro256) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, rng);
    order
}

/// Fisher-Yates.
fn shuffle<T>(items: &mut [T], rng: &mut Xoshiro256) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

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

    /// Builds the gossip meshes as gossipsub's GRAFTs do: each node, in random order, adds random
    /// peers until its mesh has [`MESH_DEGREE`] members, skipping peers whose mesh is already at
    /// [`MESH_HIGH`]; membership is mutual, so every connected node is in some mesh.
    pub fn choose_meshes(&mut self, rng: &mut Xoshiro256) {
        let n = self.links.len();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); n];
        for node in shuffled(n, rng) {
            let mut peers: Vec<u32> = self.links[node].iter().map(|l| l.peer).collect();
            shuffle(&mut peers, rng);
            for peer in peers {
                if members[node].len() >= MESH_DEGREE {
                    break;
                }
                let p = peer as usize;
                if members[p].len() < MESH_HIGH && !members[node].contains(&peer) {
                    members[node].push(peer);
                    members[p].push(node as u32);
                }
            }
        }
        for (node, mesh) in members.into_iter().enumerate() {
            let links = &self.links[node];
            let mut indexes: Vec<u32> = mesh
                .iter()
                .filter_map(|peer| links.iter().position(|l| l.peer == *peer))
                .map(|i| i as u32)
                .collect();
            indexes.sort_unstable();
            self.mesh[node] = indexes;
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
            let mesh = topology.mesh[node].len();
            assert!(
                (1..=MESH_HIGH).contains(&mesh),
                "node {node} has a mesh of {mesh}"
            );
        }
    }

    #[test]
    fn mesh_membership_is_mutual() {
        let mut rng = Xoshiro256::seed_from(3);
        let topology = Topology::random(300, 8, 117, &Latency::Constant(1.0), &mut rng);
        for (node, mesh) in topology.mesh.iter().enumerate() {
            for &i in mesh {
                let peer = topology.links[node][i as usize].peer as usize;
                let back = topology.mesh[peer]
                    .iter()
                    .any(|&j| topology.links[peer][j as usize].peer as usize == node);
                assert!(back, "{node} meshes with {peer} but not back");
            }
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
