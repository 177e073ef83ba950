//! The courses shipped with labguard, embedded at compile time from `courses/*.md`.

use crate::course::{Course, CourseError};

/// (file name, contents). File names are only used in error messages.
const SOURCES: [(&str, &str); 6] = [
    ("phishing.md", include_str!("../courses/phishing.md")),
    (
        "passwords-mfa.md",
        include_str!("../courses/passwords-mfa.md"),
    ),
    (
        "patient-data.md",
        include_str!("../courses/patient-data.md"),
    ),
    (
        "device-security.md",
        include_str!("../courses/device-security.md"),
    ),
    (
        "hipaa-basics.md",
        include_str!("../courses/hipaa-basics.md"),
    ),
    (
        "incident-reporting.md",
        include_str!("../courses/incident-reporting.md"),
    ),
];

/// Id of the built-in phishing course, which remedial training assigns.
pub const PHISHING_COURSE_ID: &str = "phishing-social-engineering";

/// Parse all built-in courses. A test guarantees they parse, so an error here means a broken
/// build; it is still returned rather than panicking, with the file name attached.
pub fn builtin_courses() -> Result<Vec<Course>, (&'static str, CourseError)> {
    SOURCES
        .iter()
        .map(|(name, src)| Course::parse_markdown(src).map_err(|e| (*name, e)))
        .collect()
}

/// The Markdown source of a built-in course, for "export / customise this course".
pub fn builtin_source(course_id: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .map(|(_, s)| *s)
        .find(|s| Course::parse_markdown(s).is_ok_and(|c| c.id == course_id))
}
