//! Course files come from labs: parsing must never panic, and whatever parses must render
//! safely and grade consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use labguard_training::course::Course;
use labguard_training::quiz::{answer_key, grade, present};
use labguard_training::render::is_safe_url;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(course) = Course::parse_markdown(src) else {
        return;
    };
    assert!(!course.lessons.is_empty() && !course.questions.is_empty());
    for lesson in &course.lessons {
        let html = lesson.to_html().to_ascii_lowercase();
        // Text '<' is always escaped, so any '<script' or '<iframe' would be a live element
        // let through from raw HTML in the file.
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<iframe"), "{html}");
        // Every URL the writer emitted must pass the scheme check (entities decoded, since
        // a browser decodes them too).
        for marker in ["<a href=\"", "<img src=\""] {
            for (i, _) in html.match_indices(marker) {
                let rest = &html[i + marker.len()..];
                let url = &rest[..rest.find('"').unwrap_or(rest.len())];
                let url = url.replace("&amp;", "&").replace("&#58;", ":");
                assert!(is_safe_url(&url), "{url}");
            }
        }
    }
    let seed = data.len() as u64;
    let quiz = present(&course, seed);
    assert_eq!(quiz.questions.len(), course.questions.len());
    let g = grade(&course, seed, &answer_key(&course, seed)).expect("own key grades");
    assert_eq!(g.correct, g.total);
    assert_eq!(g.score_percent, 100);
    assert!(g.passed);
});
