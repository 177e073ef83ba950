//! The part of `cargo metadata --format-version 1 --no-deps` the rules read.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

#[derive(Clone, Debug)]
pub struct Dep {
    /// The package name (not a `package = …` rename's alias).
    pub name: String,
    pub kind: DepKind,
}

#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    /// The directory holding its Cargo.toml.
    pub dir: String,
    pub deps: Vec<Dep>,
}

pub fn parse(json: &str) -> Result<Vec<Package>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = v["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    packages.iter().map(package).collect()
}

fn package(p: &Value) -> Result<Package, String> {
    let name = p["name"].as_str().ok_or("package without a name")?;
    let manifest = p["manifest_path"]
        .as_str()
        .ok_or_else(|| format!("{name}: no manifest_path"))?;
    let dir = manifest
        .strip_suffix("Cargo.toml")
        .unwrap_or(manifest)
        .trim_end_matches(['/', '\\'])
        .to_string();
    let deps = p["dependencies"]
        .as_array()
        .ok_or_else(|| format!("{name}: no dependencies array"))?
        .iter()
        .map(|d| {
            let dep = d["name"]
                .as_str()
                .ok_or_else(|| format!("{name}: a dependency without a name"))?;
            let kind = match d["kind"].as_str() {
                None => DepKind::Normal,
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                Some(other) => return Err(format!("{name}: dependency kind {other}")),
            };
            Ok(Dep {
                name: dep.to_string(),
                kind,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Package {
        name: name.to_string(),
        dir,
        deps,
    })
}
