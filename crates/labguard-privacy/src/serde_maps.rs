//! Hash maps and sets saved as sorted sequences: JSON maps need string keys, and a sorted
//! form makes the same state serialize to the same bytes on every run.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod map {
    use super::*;

    pub fn serialize<K, V, S>(m: &HashMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let mut v: Vec<(&K, &V)> = m.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v.serialize(s)
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let v: Vec<(K, V)> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

pub mod set {
    use super::*;

    pub fn serialize<S: Serializer>(m: &HashSet<u64>, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<u64> = m.iter().copied().collect();
        v.sort_unstable();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashSet<u64>, D::Error> {
        let v: Vec<u64> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}
