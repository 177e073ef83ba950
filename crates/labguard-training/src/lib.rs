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
//! | [`notify`] | wording of reminder and escalation emails |
//! | [`certificate`] | completion certificates with an HMAC id |
//! | [`phishing`] | campaign model: allow-list, tokens, schedule, templates, events, reports |
//! | [`hygiene`] | MFA coverage, blocklist failures, dormant accounts |
//! | [`chart`] | small SVG bar and line charts |
//!
//! # Example: a lab course, one quiz attempt, a certificate
//!
//! ```
//! use labguard_training::{certificate, quiz, Course};
//!
//! // (No continuation line starts with '#': rustdoc would treat it as a hidden line.)
//! let src = "---\nid: spill-kit\ntitle: Spill kit\nversion: 1\nreleased: 2026-01-05\n\
//!            roles: all\npass_mark: 100\n---\n\n## Where it is\nNext to the centrifuge.\n\
//!            \n## Quiz\n\n### Where is the spill kit?\n- [ ] In the office\n\
//!            - [x] Next to the centrifuge\n> It hangs on the wall by the centrifuge.\n";
//! let course = Course::parse_markdown(src)?;
//! assert_eq!(course.lessons[0].to_html(), "<p>Next to the centrifuge.</p>\n");
//!
//! // The server draws `seed` from OS randomness and stores it with the attempt.
//! let seed = 0x5eed;
//! let form = quiz::present(&course, seed); // serializable, no answers inside
//! let q = &form.questions[0];
//! let pick = q.options.iter().find(|o| o.text == "Next to the centrifuge").unwrap();
//! let answers = quiz::Answers::from([(q.id.clone(), vec![pick.id.clone()])]);
//! let grade = quiz::grade(&course, seed, &answers)?;
//! assert!(grade.passed);
//!
//! let cert = certificate::issue_certificate(
//!     b"key from the key ring",
//!     certificate::CertificateFields {
//!         staff_id: uuid::Uuid::nil(),
//!         staff_name: "Ana Lee".into(),
//!         course_id: course.id.clone(),
//!         course_title: course.title.clone(),
//!         course_version: course.version,
//!         score_percent: grade.score_percent,
//!         completed_at: chrono::DateTime::UNIX_EPOCH,
//!     },
//! );
//! assert!(certificate::verify_certificate(b"key from the key ring", &cert));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod assign;
pub mod builtin;
pub mod certificate;
pub mod chart;
pub mod course;
pub mod hygiene;
pub mod notify;
pub mod phishing;
pub mod quiz;
pub mod render;
mod rng;

pub use assign::{
    due_assignments, reminders, rules_for_audience, transcript, Assignment, AssignmentRule,
    Completion, Reason, Recurrence, Reminder, ReminderSchedule, ReminderStep, RuleKind, Target,
    Trainee, Transcript, VersionPolicy,
};
pub use builtin::{builtin_courses, PHISHING_COURSE_ID};
pub use certificate::{issue_certificate, verify_certificate, Certificate, CertificateFields};
pub use course::{
    Audience, Course, CourseError, CourseRelease, CourseSummary, CourseView, Lesson, LessonView,
};
pub use hygiene::{hygiene_panel, AccountFacts, HygienePanel};
pub use quiz::{grade, present, Answers, AttemptPolicy, Grade, LearnerQuiz, QuizError};
