//! Courses: the Markdown course format, its parser and the course data types.
//!
//! # Course file format
//!
//! ```text
//! ---
//! id: phishing-basics            # lowercase letters, digits and '-'
//! title: Phishing and social engineering
//! version: 2                     # integer >= 1; raise it when content changes
//! released: 2026-01-15           # date this version was published (YYYY-MM-DD)
//! roles: all                     # or a comma list of role codes: phlebotomist, front-desk, ...
//! pass_mark: 80                  # percent of questions needed to pass (0-100), default 80
//! minutes: 15                    # optional estimated duration
//! ---
//!
//! ## First lesson title
//! Any CommonMark: paragraphs, lists, tables, code. Raw HTML is shown as text.
//!
//! ## Quiz                        # must be the last `##` section
//!
//! ### Question text?
//! - [ ] a wrong option
//! - [x] a correct option         # one or more options may be correct
//! > Explanation shown after the answer is graded.
//! ```
//!
//! `##` lines inside fenced code blocks do not start a lesson. Comments (`#` after a value) are
//! only allowed in this doc, not in real front matter: values are taken verbatim.

use chrono::{DateTime, NaiveDate, Utc};
use labguard_core::Role;
use serde::Serialize;

/// Largest course file accepted. Built-in courses are ~10 KiB; the cap keeps a hostile upload
/// from costing much CPU or memory.
pub const MAX_COURSE_BYTES: usize = 512 * 1024;
const MAX_QUESTIONS: usize = 200;
const MAX_OPTIONS: usize = 12;
const MAX_LESSONS: usize = 100;

/// Why a course file was rejected. `line` is 1-based, pointing at the offending line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CourseError {
    #[error("course file is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("line {line}: {msg}")]
    Syntax { line: usize, msg: String },
    #[error("missing front matter key `{key}`")]
    MissingKey { key: &'static str },
}

fn err(line: usize, msg: impl Into<String>) -> CourseError {
    CourseError::Syntax {
        line,
        msg: msg.into(),
    }
}

/// Which staff a course is meant for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    All,
    Roles(Vec<Role>),
}

impl Audience {
    pub fn includes(&self, role: Role) -> bool {
        match self {
            Audience::All => true,
            Audience::Roles(rs) => rs.contains(&role),
        }
    }
}

/// One lesson: a `##` section, kept as Markdown and rendered on demand with
/// [`crate::render::markdown_to_html`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lesson {
    pub title: String,
    pub markdown: String,
}

impl Lesson {
    /// Sanitized HTML for the lesson body (raw HTML escaped, unsafe link schemes dropped).
    pub fn to_html(&self) -> String {
        crate::render::markdown_to_html(&self.markdown)
    }
}

/// One answer option. Deliberately not `Serialize`: the correct flag must never reach a
/// learner, so the only serializable quiz form is [`crate::quiz::LearnerQuiz`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizOption {
    pub text: String,
    pub correct: bool,
}

/// A multiple-choice question. A question is answered right when exactly the correct
/// options are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub prompt: String,
    pub options: Vec<QuizOption>,
    pub explanation: String,
}

impl Question {
    pub fn correct_count(&self) -> usize {
        self.options.iter().filter(|o| o.correct).count()
    }
}

/// A parsed, validated course. Not `Serialize` because it holds the answer key; use
/// [`Course::summary`] or [`crate::quiz::LearnerQuiz`] for anything sent to a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: String,
    pub title: String,
    pub version: u32,
    pub released: NaiveDate,
    pub audience: Audience,
    pub pass_mark: u8,
    pub minutes: Option<u32>,
    pub lessons: Vec<Lesson>,
    pub questions: Vec<Question>,
}

/// What a course list shows (safe to serialize: no quiz content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CourseSummary {
    pub id: String,
    pub title: String,
    pub version: u32,
    pub released: NaiveDate,
    pub audience: Audience,
    pub pass_mark: u8,
    pub minutes: Option<u32>,
    pub lessons: Vec<String>,
    pub questions: usize,
}

/// What the learner's browser gets for reading a course: lessons as sanitized HTML. The quiz
/// is fetched separately per attempt ([`crate::quiz::present`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CourseView {
    pub id: String,
    pub title: String,
    pub version: u32,
    pub minutes: Option<u32>,
    pub pass_mark: u8,
    pub lessons: Vec<LessonView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LessonView {
    pub title: String,
    pub html: String,
}

/// The identity of a published course version, which assignment logic needs to decide
/// whether an older completion still counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CourseRelease {
    pub course_id: String,
    pub version: u32,
    pub released_at: DateTime<Utc>,
}

impl Course {
    pub fn summary(&self) -> CourseSummary {
        CourseSummary {
            id: self.id.clone(),
            title: self.title.clone(),
            version: self.version,
            released: self.released,
            audience: self.audience.clone(),
            pass_mark: self.pass_mark,
            minutes: self.minutes,
            lessons: self.lessons.iter().map(|l| l.title.clone()).collect(),
            questions: self.questions.len(),
        }
    }

    pub fn learner_view(&self) -> CourseView {
        CourseView {
            id: self.id.clone(),
            title: self.title.clone(),
            version: self.version,
            minutes: self.minutes,
            pass_mark: self.pass_mark,
            lessons: self
                .lessons
                .iter()
                .map(|l| LessonView {
                    title: l.title.clone(),
                    html: l.to_html(),
                })
                .collect(),
        }
    }

    pub fn release(&self) -> CourseRelease {
        CourseRelease {
            course_id: self.id.clone(),
            version: self.version,
            released_at: self.released.and_time(chrono::NaiveTime::MIN).and_utc(),
        }
    }

    /// Parse a course file in the format described in the module docs.
    pub fn parse_markdown(src: &str) -> Result<Course, CourseError> {
        if src.len() > MAX_COURSE_BYTES {
            return Err(CourseError::TooLarge {
                max: MAX_COURSE_BYTES,
            });
        }
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        // (1-based line number, text without the line ending)
        let lines: Vec<(usize, &str)> = src
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .collect();
        let (front, body_start) = parse_front_matter(&lines)?;
        let mut course = front;
        parse_body(&lines[body_start..], &mut course)?;
        if course.lessons.is_empty() {
            return Err(err(
                lines.len(),
                "course has no lessons (`## Title` sections)",
            ));
        }
        if course.questions.is_empty() {
            return Err(err(
                lines.len(),
                "course has no `## Quiz` section with questions",
            ));
        }
        Ok(course)
    }
}

fn parse_front_matter(lines: &[(usize, &str)]) -> Result<(Course, usize), CourseError> {
    let first = lines.iter().position(|(_, l)| !l.trim().is_empty());
    let Some(first) = first.filter(|&i| lines[i].1.trim_end() == "---") else {
        return Err(err(1, "file must start with `---` front matter"));
    };
    let mut id = None;
    let mut title = None;
    let mut version = None;
    let mut released = None;
    let mut audience = None;
    let mut pass_mark = None;
    let mut minutes = None;
    let mut seen: Vec<&str> = Vec::new();
    for (idx, &(n, line)) in lines.iter().enumerate().skip(first + 1) {
        if line.trim_end() == "---" {
            let course = Course {
                id: id.ok_or(CourseError::MissingKey { key: "id" })?,
                title: title.ok_or(CourseError::MissingKey { key: "title" })?,
                version: version.ok_or(CourseError::MissingKey { key: "version" })?,
                released: released.ok_or(CourseError::MissingKey { key: "released" })?,
                audience: audience.ok_or(CourseError::MissingKey { key: "roles" })?,
                pass_mark: pass_mark.unwrap_or(80),
                minutes,
                lessons: Vec::new(),
                questions: Vec::new(),
            };
            return Ok((course, idx + 1));
        }
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(n, "expected `key: value` in front matter"));
        };
        let key = key.trim();
        let value = value.trim();
        if seen.contains(&key) {
            return Err(err(n, format!("duplicate key `{}`", clip(key))));
        }
        match key {
            "id" => id = Some(parse_id(n, value)?),
            "title" => title = Some(parse_text(n, value, 200)?),
            "version" => match value.parse::<u32>() {
                Ok(v) if v >= 1 => version = Some(v),
                _ => return Err(err(n, "version must be a whole number >= 1")),
            },
            "released" => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                Ok(d) => released = Some(d),
                Err(_) => return Err(err(n, "released must be a date YYYY-MM-DD")),
            },
            "roles" => audience = Some(parse_roles(n, value)?),
            "pass_mark" => match value.trim_end_matches('%').parse::<u8>() {
                Ok(p) if p <= 100 => pass_mark = Some(p),
                _ => return Err(err(n, "pass_mark must be a percentage 0-100")),
            },
            "minutes" => match value.parse::<u32>() {
                Ok(m) if m <= 24 * 60 => minutes = Some(m),
                _ => return Err(err(n, "minutes must be a whole number of minutes")),
            },
            // Unknown keys are rejected so a typo (`pass-mark`) is not silently ignored.
            other => {
                return Err(err(
                    n,
                    format!("unknown front matter key `{}`", clip(other)),
                ))
            }
        }
        seen.push(key);
    }
    Err(err(lines.len(), "front matter is not closed with `---`"))
}

/// Keep user text short inside error messages.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn parse_id(n: usize, v: &str) -> Result<String, CourseError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(err(n, "id must be 1-64 chars of a-z, 0-9 and '-'"))
    }
}

fn parse_text(n: usize, v: &str, max: usize) -> Result<String, CourseError> {
    if v.is_empty() {
        return Err(err(n, "value must not be empty"));
    }
    if v.chars().count() > max {
        return Err(err(n, format!("value longer than {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(err(n, "value contains control characters"));
    }
    Ok(v.to_string())
}

fn parse_roles(n: usize, v: &str) -> Result<Audience, CourseError> {
    if v.eq_ignore_ascii_case("all") {
        return Ok(Audience::All);
    }
    let mut roles = Vec::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let role =
            Role::from_code(part).map_err(|_| err(n, format!("unknown role `{}`", clip(part))))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(err(n, "roles must be `all` or a comma list of role codes"));
    }
    Ok(Audience::Roles(roles))
}

/// True when the line opens or closes a fenced code block (``` or ~~~).
fn fence_marker(line: &str) -> Option<char> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None; // indented code, not a fence
    }
    if t.starts_with("```") {
        Some('`')
    } else if t.starts_with("~~~") {
        Some('~')
    } else {
        None
    }
}

fn h2_title(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("## ")?;
    Some(rest.trim().trim_end_matches('#').trim_end())
}

fn parse_body(lines: &[(usize, &str)], course: &mut Course) -> Result<(), CourseError> {
    let mut fence: Option<char> = None;
    let mut current: Option<(usize, String, Vec<&str>)> = None;
    let mut i = 0;
    while i < lines.len() {
        let (n, line) = lines[i];
        if let Some(f) = fence_marker(line) {
            match fence {
                None => fence = Some(f),
                Some(open) if open == f => fence = None,
                Some(_) => {}
            }
        }
        let heading = if fence.is_none() {
            h2_title(line)
        } else {
            None
        };
        match heading {
            Some(t) if t.eq_ignore_ascii_case("quiz") => {
                finish_lesson(current.take(), course)?;
                course.questions = parse_quiz(&lines[i + 1..])?;
                return Ok(());
            }
            Some(t) => {
                finish_lesson(current.take(), course)?;
                if course.lessons.len() >= MAX_LESSONS {
                    return Err(err(n, format!("more than {MAX_LESSONS} lessons")));
                }
                current = Some((n, parse_text(n, t, 200)?, Vec::new()));
            }
            None => match current.as_mut() {
                Some((_, _, body)) => body.push(line),
                None if line.trim().is_empty() => {}
                None => return Err(err(n, "text before the first `## Lesson` heading")),
            },
        }
        i += 1;
    }
    finish_lesson(current, course)
}

fn finish_lesson(
    lesson: Option<(usize, String, Vec<&str>)>,
    course: &mut Course,
) -> Result<(), CourseError> {
    if let Some((n, title, body)) = lesson {
        let markdown = body.join("\n").trim().to_string();
        if markdown.is_empty() {
            return Err(err(n, format!("lesson `{}` has no content", clip(&title))));
        }
        course.lessons.push(Lesson { title, markdown });
    }
    Ok(())
}

fn parse_quiz(lines: &[(usize, &str)]) -> Result<Vec<Question>, CourseError> {
    let mut questions: Vec<(usize, Question)> = Vec::new();
    for &(n, raw) in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(prompt) = line.strip_prefix("### ") {
            if questions.len() >= MAX_QUESTIONS {
                return Err(err(n, format!("more than {MAX_QUESTIONS} questions")));
            }
            let q = Question {
                prompt: parse_text(n, prompt.trim(), 1000)?,
                options: Vec::new(),
                explanation: String::new(),
            };
            questions.push((n, q));
            continue;
        }
        if raw.starts_with("## ") {
            return Err(err(n, "`## Quiz` must be the last section"));
        }
        let Some((_, q)) = questions.last_mut() else {
            return Err(err(n, "expected a `### Question` heading"));
        };
        if let Some((correct, text)) = option_line(line) {
            if q.options.len() >= MAX_OPTIONS {
                return Err(err(n, format!("more than {MAX_OPTIONS} options")));
            }
            let text = parse_text(n, text, 500)?;
            if q.options.iter().any(|o| o.text == text) {
                return Err(err(n, "duplicate option"));
            }
            q.options.push(QuizOption { text, correct });
        } else if let Some(expl) = line.strip_prefix('>') {
            if !q.explanation.is_empty() {
                q.explanation.push(' ');
            }
            q.explanation.push_str(expl.trim());
            if q.explanation.chars().count() > 2000 {
                return Err(err(n, "explanation longer than 2000 characters"));
            }
        } else {
            return Err(err(
                n,
                "expected an option `- [ ] text` / `- [x] text` or an explanation `> text`",
            ));
        }
    }
    for (n, q) in &questions {
        if q.options.len() < 2 {
            return Err(err(*n, "question needs at least two options"));
        }
        if q.correct_count() == 0 {
            return Err(err(*n, "question has no option marked `[x]`"));
        }
    }
    Ok(questions.into_iter().map(|(_, q)| q).collect())
}

/// `- [ ] text`, `- [x] text`, `* [X] text` -> (correct, text).
fn option_line(line: &str) -> Option<(bool, &str)> {
    let rest = line
        .strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))?
        .trim_start();
    let (correct, text) = if let Some(t) = rest.strip_prefix("[ ]") {
        (false, t)
    } else if let Some(t) = rest
        .strip_prefix("[x]")
        .or_else(|| rest.strip_prefix("[X]"))
    {
        (true, t)
    } else {
        return None;
    };
    Some((correct, text.trim()))
}
