//! The quiz engine: present a course's quiz in a per-attempt random order, grade answers,
//! decide pass/fail and whether another attempt is allowed.
//!
//! An attempt is identified by a `seed` the caller draws from OS randomness and stores with
//! the attempt. Everything here is a pure function of (course, seed, answers), so the server
//! can re-create the exact presented form when grading without keeping it in a session.
//!
//! Question and option ids in the learner view are opaque hashes of (seed, position in the
//! file): they differ between attempts and reveal neither the original order nor which
//! option is right, so an author who always puts the right answer first leaks nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::course::Course;
use crate::rng::SplitMix64;

fn opaque_id(seed: u64, kind: u8, q: usize, o: usize) -> String {
    let mut buf = Vec::with_capacity(25);
    buf.extend_from_slice(&seed.to_be_bytes());
    buf.push(kind);
    buf.extend_from_slice(&(q as u64).to_be_bytes());
    buf.extend_from_slice(&(o as u64).to_be_bytes());
    let d = ring::digest::digest(&ring::digest::SHA256, &buf);
    hex::encode(&d.as_ref()[..6])
}

/// What the learner's browser receives. Contains no correct flags and no explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerQuiz {
    pub course_id: String,
    pub course_version: u32,
    pub pass_mark: u8,
    pub questions: Vec<LearnerQuestion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerQuestion {
    pub id: String,
    pub prompt: String,
    /// True when more than one option is correct ("select all that apply").
    pub multiple: bool,
    pub options: Vec<LearnerOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerOption {
    pub id: String,
    pub text: String,
}

/// The learner's answers: question id -> chosen option ids.
pub type Answers = BTreeMap<String, Vec<String>>;

/// Feedback for one question after grading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionFeedback {
    pub question_id: String,
    pub correct: bool,
    pub explanation: String,
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grade {
    pub course_id: String,
    pub course_version: u32,
    pub correct: usize,
    pub total: usize,
    /// Whole percent, rounded down so 79.9% never shows as a passing 80%.
    pub score_percent: u8,
    pub passed: bool,
    pub feedback: Vec<QuestionFeedback>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuizError {
    #[error("unknown question id in answers")]
    UnknownQuestion,
    #[error("unknown option id for a question")]
    UnknownOption,
    #[error("no attempts left ({used} of {max} used)")]
    NoAttemptsLeft { used: u32, max: u32 },
}

/// How often a learner may try the quiz of one assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptPolicy {
    /// `None` = unlimited.
    pub max_attempts: Option<u32>,
}

impl Default for AttemptPolicy {
    fn default() -> Self {
        AttemptPolicy {
            max_attempts: Some(3),
        }
    }
}

impl AttemptPolicy {
    /// Check before starting attempt number `used + 1`.
    pub fn check(&self, used: u32) -> Result<(), QuizError> {
        match self.max_attempts {
            Some(max) if used >= max => Err(QuizError::NoAttemptsLeft { used, max }),
            _ => Ok(()),
        }
    }
}

/// (original option index, option id)
type LaidOption = (usize, String);

/// Per-question order and ids for one seed; shared by `present` and `grade` so they agree.
struct Layout {
    /// (original question index, question id, options in presented order)
    questions: Vec<(usize, String, Vec<LaidOption>)>,
}

fn layout(course: &Course, seed: u64) -> Layout {
    let mut rng = SplitMix64(seed);
    let mut order: Vec<usize> = (0..course.questions.len()).collect();
    rng.shuffle(&mut order);
    let questions = order
        .into_iter()
        .map(|qi| {
            let mut opts: Vec<usize> = (0..course.questions[qi].options.len()).collect();
            rng.shuffle(&mut opts);
            let opts = opts
                .into_iter()
                .map(|oi| (oi, opaque_id(seed, b'o', qi, oi)))
                .collect();
            (qi, opaque_id(seed, b'q', qi, 0), opts)
        })
        .collect();
    Layout { questions }
}

/// The quiz as shown for attempt `seed`.
pub fn present(course: &Course, seed: u64) -> LearnerQuiz {
    let questions = layout(course, seed)
        .questions
        .into_iter()
        .map(|(qi, id, opts)| {
            let q = &course.questions[qi];
            LearnerQuestion {
                id,
                prompt: q.prompt.clone(),
                multiple: q.correct_count() > 1,
                options: opts
                    .into_iter()
                    .map(|(oi, id)| LearnerOption {
                        id,
                        text: q.options[oi].text.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    LearnerQuiz {
        course_id: course.id.clone(),
        course_version: course.version,
        pass_mark: course.pass_mark,
        questions,
    }
}

/// Grade answers given for attempt `seed`. Unanswered questions count as wrong; ids that do
/// not belong to this attempt are rejected (they may come from another attempt's form).
pub fn grade(course: &Course, seed: u64, answers: &Answers) -> Result<Grade, QuizError> {
    let lay = layout(course, seed);
    for (qid, chosen) in answers {
        let (_, _, opts) = lay
            .questions
            .iter()
            .find(|(_, id, _)| id == qid)
            .ok_or(QuizError::UnknownQuestion)?;
        if chosen.iter().any(|c| !opts.iter().any(|(_, id)| id == c)) {
            return Err(QuizError::UnknownOption);
        }
    }
    let mut feedback = Vec::with_capacity(lay.questions.len());
    let mut correct = 0;
    for (qi, qid, opts) in &lay.questions {
        let q = &course.questions[*qi];
        let chosen: BTreeSet<usize> = answers
            .get(qid)
            .map(|c| {
                opts.iter()
                    .filter(|(_, id)| c.contains(id))
                    .map(|(oi, _)| *oi)
                    .collect()
            })
            .unwrap_or_default();
        let right: BTreeSet<usize> = q
            .options
            .iter()
            .enumerate()
            .filter(|(_, o)| o.correct)
            .map(|(i, _)| i)
            .collect();
        let ok = chosen == right;
        correct += usize::from(ok);
        feedback.push(QuestionFeedback {
            question_id: qid.clone(),
            correct: ok,
            explanation: q.explanation.clone(),
        });
    }
    let total = lay.questions.len();
    // total <= 200 (parser cap), so the percentage fits in a u8; 0 for an empty quiz.
    let score_percent = (correct * 100)
        .checked_div(total)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(0);
    Ok(Grade {
        course_id: course.id.clone(),
        course_version: course.version,
        correct,
        total,
        score_percent,
        passed: total > 0 && correct * 100 >= usize::from(course.pass_mark) * total,
        feedback,
    })
}

/// The answer key for one attempt in learner ids; for tests and for admin "preview" pages.
pub fn answer_key(course: &Course, seed: u64) -> Answers {
    layout(course, seed)
        .questions
        .into_iter()
        .map(|(qi, qid, opts)| {
            let right = opts
                .into_iter()
                .filter(|(oi, _)| course.questions[qi].options[*oi].correct)
                .map(|(_, id)| id)
                .collect();
            (qid, right)
        })
        .collect()
}
