//! `--config FILE`: settings from a TOML file reach the commands, the command line wins,
//! and a mistyped or oversized file is refused before anything is touched.

use crate::common::*;

#[test]
fn settings_come_from_the_file_and_mistakes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("from-file");
    let cfg = root.join("labguard.toml");
    std::fs::write(
        &cfg,
        format!(
            "data-dir = {:?}\n[init]\nadmin = \"none\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let out = ok(&["--config", cfg_s, "init"]);
    assert!(out.contains("initialised"), "{out}");
    assert!(
        data.join("kek.key").exists(),
        "data dir from the file not used"
    );
    // Once initialised, --if-absent is a no-op (the service's start-up step).
    let out = ok(&["--config", cfg_s, "init", "--if-absent"]);
    assert!(out.contains("already initialised"), "{out}");
    // The command line wins over the file.
    let other = root.join("from-cli");
    ok(&[
        "--config",
        cfg_s,
        "--data-dir",
        other.to_str().unwrap(),
        "init",
    ]);
    assert!(other.join("kek.key").exists());

    // A misspelt key, a wrong type, a file too large: refused, nothing created.
    let bad = root.join("bad.toml");
    let fresh = root.join("never");
    for (text, want) in [
        (
            format!(
                "data-dir = {:?}\n[init]\nadmn = \"x\"\n",
                fresh.display().to_string()
            ),
            "admn",
        ),
        (
            format!(
                "data-dir = {:?}\n[init]\nadmin = [1, {{}}]\n",
                fresh.display().to_string()
            ),
            "admin",
        ),
        (
            format!(
                "data-dir = {:?}\n{}",
                fresh.display().to_string(),
                "#".repeat(300_000)
            ),
            "larger",
        ),
        ("data-dir = \n".to_string(), "TOML"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let err = fails(&["--config", bad.to_str().unwrap(), "init"]);
        assert!(err.contains(want), "{want}: {err}");
        assert!(
            !fresh.exists(),
            "{want}: a bad config file still initialised"
        );
    }
    let err = fails(&[
        "--config",
        root.join("missing.toml").to_str().unwrap(),
        "init",
    ]);
    assert!(err.contains("missing.toml"), "{err}");
}

/// Every setting the packaged sample file shows, commented out or not, is one `serve`
/// (or the global flags) accepts: a renamed flag cannot leave the sample behind.
#[test]
fn the_packaged_sample_names_only_real_flags() {
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/labguard.toml"),
    )
    .unwrap();
    let help = format!("{}{}", ok(&["--help"]), ok(&["serve", "--help"]));
    let mut seen = 0;
    for line in sample.lines() {
        let l = line.trim_start_matches('#').trim();
        let Some((key, value)) = l.split_once(" = ") else {
            continue;
        };
        if key.contains(' ') || value.is_empty() {
            continue;
        }
        seen += 1;
        assert!(
            help.contains(&format!("--{key} ")) || help.contains(&format!("--{key}\n")),
            "packaging/labguard.toml sets {key}, which is no flag"
        );
    }
    assert!(seen >= 15, "only {seen} settings found in the sample");
}
