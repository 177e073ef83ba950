//! `labguard training` from the console: a lab's own Markdown course, an assignment that
//! re-opens when the lab publishes a new version, completions with certificates, transcripts.

use crate::common::*;

fn course(version: u32, released: &str) -> String {
    format!(
        "---\nid: spill-kit\ntitle: Spill kit and sharps\nversion: {version}\nreleased: {released}\n\
         roles: all\npass_mark: 100\n---\n\n## Where it is\nNext to the centrifuge.\n\n## Quiz\n\n\
         ### Where is the spill kit?\n- [ ] In the office\n- [x] Next to the centrifuge\n\
         > It hangs on the wall by the centrifuge.\n"
    )
}

#[test]
fn lab_course_versions_reassign_where_the_lab_says_so() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd, "--admin", "none"]);
    ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "ana",
        "--role",
        "phlebotomist",
        "--email",
        "ana@lab.example.org",
    ]);
    let f1 = t.path().join("spill-v1.md");
    std::fs::write(&f1, course(1, "2026-01-05")).unwrap();
    ok(&["training", "add-course", "--data-dir", dd, d(&f1)]);
    // The same version twice is refused; a broken file is refused with a reason.
    assert!(fails(&["training", "add-course", "--data-dir", dd, d(&f1)]).contains("version"));
    let bad = t.path().join("bad.md");
    std::fs::write(&bad, "no front matter").unwrap();
    fails(&["training", "add-course", "--data-dir", dd, d(&bad)]);

    let courses = json(&["training", "courses", "--data-dir", dd, "--format", "json"]);
    assert_eq!(courses.as_array().unwrap().len(), 7);
    ok(&[
        "training",
        "assign",
        "--data-dir",
        dd,
        "--course",
        "spill-kit",
        "--to",
        "all",
        "--due-days",
        "30",
        "--recurrence",
        "annual",
        "--reassign-on-new-version-days",
        "14",
    ]);
    let open = json(&[
        "training",
        "assignments",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["course_id"], "spill-kit");
    assert!(fails(&[
        "training",
        "complete",
        "--data-dir",
        dd,
        "ana",
        "spill-kit",
        "--score",
        "50"
    ])
    .contains("pass mark"));
    let cert = json(&[
        "training",
        "complete",
        "--data-dir",
        dd,
        "ana",
        "spill-kit",
        "--format",
        "json",
    ]);
    assert_eq!(cert["course_version"], 1);
    assert_eq!(cert["certificate_id"].as_str().unwrap().len(), 40);
    let open = json(&[
        "training",
        "assignments",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]);
    assert!(open.as_array().unwrap().is_empty(), "{open}");

    // Version 2: Ana must take it again.
    let f2 = t.path().join("spill-v2.md");
    std::fs::write(&f2, course(2, "2026-06-01")).unwrap();
    ok(&["training", "add-course", "--data-dir", dd, d(&f2)]);
    let open = json(&[
        "training",
        "assignments",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["reason"], "new-version");
    assert_eq!(open[0]["course_version"], 2);

    let tr = json(&[
        "training",
        "transcript",
        "--data-dir",
        dd,
        "ana",
        "--format",
        "json",
    ]);
    let entries = tr["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{tr}");
    assert_eq!(entries[0]["status"], "open");
    assert_eq!(entries[1]["status"], "completed");
    ok(&["audit", "verify", "--data-dir", dd]);
}
