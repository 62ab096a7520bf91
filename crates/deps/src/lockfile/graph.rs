//! The dependency graph of one lockfile, for what entries do not say themselves: which chain pulls
//! a package in, and (where the lockfile has no `dev`/`optional` flags, as in yarn and pnpm 9)
//! whether it is only needed for development or only optionally.
//!
//! Everything is a breadth-first search over adjacency lists: linear in packages plus edges, so a
//! 3,000-package lockfile costs microseconds here.

use std::collections::VecDeque;

/// Longest chain reported: real dependency chains are a few dozen links at most.
const MAX_CHAIN: usize = 64;

/// How a root (an importer's declared dependency) is declared.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RootKind {
    pub dev: bool,
    pub optional: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Graph {
    names: Vec<String>,
    /// `(target, optional edge)`.
    edges: Vec<Vec<(usize, bool)>>,
    roots: Vec<(usize, RootKind)>,
}

/// What the graph says about one node.
#[derive(Clone, Debug)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts about one package, not a state machine"
)]
pub(crate) struct Derived {
    pub direct: bool,
    /// Reachable from the roots at all.
    pub reachable: bool,
    /// Reachable only from dev roots.
    pub dev: bool,
    /// Reachable, but only through optional roots or edges.
    pub optional: bool,
    /// Shortest chain of names from a root, itself last; just its own name when unreachable.
    pub chain: Vec<String>,
}

impl Graph {
    pub fn add_node(&mut self, name: String) -> usize {
        self.names.push(name);
        self.edges.push(Vec::new());
        self.names.len() - 1
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn add_edge(&mut self, from: usize, to: usize, optional: bool) {
        if to >= self.names.len() {
            return;
        }
        if let Some(list) = self.edges.get_mut(from) {
            list.push((to, optional));
        }
    }

    pub fn add_root(&mut self, node: usize, kind: RootKind) {
        if node < self.names.len() {
            self.roots.push((node, kind));
        }
    }

    /// Nodes reachable from the roots that `pick` accepts, following edges `follow` accepts.
    fn reach(&self, pick: impl Fn(RootKind) -> bool, follow_optional: bool) -> Vec<bool> {
        let mut seen = vec![false; self.names.len()];
        let mut queue = VecDeque::new();
        for &(r, kind) in &self.roots {
            if pick(kind) && !seen[r] {
                seen[r] = true;
                queue.push_back(r);
            }
        }
        while let Some(n) = queue.pop_front() {
            for &(t, optional) in &self.edges[n] {
                if (follow_optional || !optional) && !seen[t] {
                    seen[t] = true;
                    queue.push_back(t);
                }
            }
        }
        seen
    }

    pub fn derive(&self) -> Vec<Derived> {
        let n = self.names.len();
        let any = self.reach(|_| true, true);
        let prod = self.reach(|k| !k.dev, true);
        let required = self.reach(|k| !k.optional, false);
        let mut direct = vec![false; n];
        for &(r, _) in &self.roots {
            direct[r] = true;
        }

        // Multi-source BFS from all roots: `parent` gives the shortest chain. Prod roots go
        // first so that a package reachable both ways gets its production chain.
        let mut parent: Vec<Option<usize>> = vec![None; n];
        // The root each node was reached from, so an over-long chain can still start there.
        let mut root_of: Vec<usize> = (0..n).collect();
        let mut seen = vec![false; n];
        let mut queue = VecDeque::new();
        let mut ordered: Vec<usize> = self
            .roots
            .iter()
            .filter(|(_, k)| !k.dev)
            .map(|&(r, _)| r)
            .collect();
        ordered.extend(self.roots.iter().filter(|(_, k)| k.dev).map(|&(r, _)| r));
        for r in ordered {
            if !seen[r] {
                seen[r] = true;
                queue.push_back(r);
            }
        }
        while let Some(v) = queue.pop_front() {
            for &(t, _) in &self.edges[v] {
                if !seen[t] {
                    seen[t] = true;
                    parent[t] = Some(v);
                    root_of[t] = root_of[v];
                    queue.push_back(t);
                }
            }
        }

        (0..n)
            .map(|i| {
                let mut chain = vec![self.names[i].clone()];
                let mut cur = i;
                // Parents form a BFS tree, so this ends; the cap keeps a hostile, very deep
                // graph linear: past it the chain keeps its root and its last links only.
                while let Some(p) = parent[cur] {
                    if chain.len() + 1 >= MAX_CHAIN {
                        chain.push(self.names[root_of[i]].clone());
                        break;
                    }
                    chain.push(self.names[p].clone());
                    cur = p;
                }
                chain.reverse();
                Derived {
                    direct: direct[i],
                    reachable: any[i],
                    dev: any[i] && !prod[i],
                    optional: any[i] && !required[i],
                    chain,
                }
            })
            .collect()
    }
}
