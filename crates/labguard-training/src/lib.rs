//! labguard staff security training: the pure logic behind HIPAA 164.308(a)(5) security
//! awareness training and phishing simulation.
//!
//! No I/O: no files, sockets, SMTP, clock or OS randomness. Callers pass `now`, random seeds
//! and bytes, keys and stored records in, and persist what comes out. That keeps every rule
//! here unit-testable and the course parser fuzzable.
//!
//! | module | what |
//! |---|---|
//! | [`course`] | the Markdown course format, [`Course::parse_markdown`] |
//! | [`builtin`] | the six courses shipped with labguard |
//! | [`render`] | sanitized Markdown → HTML, HTML escaping |
//! | [`quiz`] | randomized presentation, grading, attempt limits |
//! | [`assign`] | assignment rules, due dates, recurrence, reminders, escalation, transcripts |
//! | [`certificate`] | completion certificates with an HMAC id |
//! | [`phishing`] | campaign model: allow-list, tokens, schedule, templates, events, reports |
//! | [`hygiene`] | MFA coverage, blocklist failures, dormant accounts |
//! | [`chart`] | small SVG bar and line charts |

pub mod assign;
pub mod builtin;
pub mod certificate;
pub mod chart;
pub mod course;
pub mod hygiene;
pub mod phishing;
pub mod quiz;
pub mod render;
mod rng;

pub use assign::{
    due_assignments, reminders, transcript, Assignment, AssignmentRule, Completion, Reason,
    Recurrence, Reminder, ReminderSchedule, ReminderStep, RuleKind, Target, Trainee, Transcript,
    VersionPolicy,
};
pub use builtin::{builtin_courses, PHISHING_COURSE_ID};
pub use certificate::{issue_certificate, verify_certificate, Certificate, CertificateFields};
pub use course::{Audience, Course, CourseError, CourseRelease, CourseSummary, Lesson};
pub use hygiene::{hygiene_panel, AccountFacts, HygienePanel};
pub use quiz::{grade, present, Answers, AttemptPolicy, Grade, LearnerQuiz, QuizError};
