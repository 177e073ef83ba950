//! Alias groups: advisories that share any identifier (e.g. a GHSA listing a CVE as an
//! alias, and the CVE record itself) describe one vulnerability.

use std::collections::{BTreeSet, HashMap};

use crate::advisory::Advisory;

/// Union-find over advisory identifiers, resolved to a group per advisory.
pub(super) struct Groups {
    group_of_advisory: Vec<usize>,
    /// Per group: (display id, other ids).
    names: HashMap<usize, (String, Vec<String>)>,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

impl Groups {
    pub(super) fn build(advisories: &[&Advisory]) -> Groups {
        let mut node_of: HashMap<String, usize> = HashMap::new();
        let mut parent: Vec<usize> = Vec::new();
        let mut node = |id: &str, parent: &mut Vec<usize>| {
            let key = id.trim().to_ascii_uppercase();
            *node_of.entry(key).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            })
        };
        let mut first_node = Vec::with_capacity(advisories.len());
        for a in advisories {
            let n = node(&a.id, &mut parent);
            first_node.push(n);
            for alias in &a.aliases {
                let m = node(alias, &mut parent);
                let (ra, rb) = (find(&mut parent, n), find(&mut parent, m));
                if ra != rb {
                    parent[rb] = ra;
                }
            }
        }
        let group_of_advisory: Vec<usize> =
            first_node.iter().map(|&n| find(&mut parent, n)).collect();
        let mut ids: HashMap<usize, BTreeSet<String>> = HashMap::new();
        for (i, a) in advisories.iter().enumerate() {
            let set = ids.entry(group_of_advisory[i]).or_default();
            set.extend(a.ids().map(|s| s.trim().to_string()));
        }
        let names = ids
            .into_iter()
            .map(|(g, set)| {
                // Prefer a CVE for display: KEV and most vendor VEX use CVE ids.
                let display = set
                    .iter()
                    .find(|s| s.to_ascii_uppercase().starts_with("CVE-"))
                    .or_else(|| set.iter().next())
                    .cloned()
                    .unwrap_or_default();
                let others = set.into_iter().filter(|s| *s != display).collect();
                (g, (display, others))
            })
            .collect();
        Groups {
            group_of_advisory,
            names,
        }
    }

    pub(super) fn group_of(&self, advisory: usize) -> usize {
        self.group_of_advisory[advisory]
    }

    pub(super) fn ids(&self, group: usize) -> (String, Vec<String>) {
        self.names.get(&group).cloned().unwrap_or_default()
    }
}
