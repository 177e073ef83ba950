//! Text of the reminder and escalation emails, so every sender (server job, CLI) words them
//! the same way. Plain text only: no tracking, no HTML, nothing a filter could mistake for
//! the phishing exercises.

use serde::{Deserialize, Serialize};

use crate::assign::{Reminder, ReminderStep};

/// What the mail needs besides the reminder itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeContext<'a> {
    pub lab_name: &'a str,
    pub learner_name: &'a str,
    pub course_title: &'a str,
    /// Where the learner opens the course (the labguard web UI).
    pub course_url: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub subject: String,
    pub text: String,
}

/// Names and titles come from the database and lab files: keep header values on one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Subject and body for a reminder. Learner reminders go to the learner; escalations go to
/// the manager named in the step (or the security officer).
pub fn notice(r: &Reminder, ctx: &NoticeContext<'_>) -> Notice {
    let due = r.due_at.format("%Y-%m-%d");
    let course = one_line(ctx.course_title);
    match &r.step {
        ReminderStep::Before { days: 0 } => Notice {
            subject: format!("Training due today: {course}"),
            text: format!(
                "Hello {name},\n\nYour security training \"{course}\" is due today ({due}).\n\
                 Open it here: {url}\n\n{lab} security officer\n",
                name = ctx.learner_name,
                url = ctx.course_url,
                lab = ctx.lab_name,
            ),
        },
        ReminderStep::Before { days } => Notice {
            subject: format!("Training due in {days} days: {course}"),
            text: format!(
                "Hello {name},\n\nYour security training \"{course}\" is due on {due}.\n\
                 Open it here: {url}\n\n{lab} security officer\n",
                name = ctx.learner_name,
                url = ctx.course_url,
                lab = ctx.lab_name,
            ),
        },
        ReminderStep::Escalation { overdue_days, .. } => Notice {
            subject: one_line(&format!(
                "Overdue training: {} - {course}",
                ctx.learner_name
            )),
            text: format!(
                "Hello,\n\n{name} has not completed the security training \"{course}\", \
                 due {due} ({overdue_days} days overdue).\nHIPAA 164.308(a)(5) requires \
                 this training; please make time for it this week.\n\n{lab} security \
                 officer\n",
                name = ctx.learner_name,
                lab = ctx.lab_name,
            ),
        },
    }
}
