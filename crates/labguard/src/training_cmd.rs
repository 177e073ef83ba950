//! `labguard training`: the course catalog, assignments, transcripts and completions.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use labguard_app::training as svc;
use labguard_core::{Id, Role};
use labguard_store::{Actor, Store, StoredCourse};
use labguard_training::{AssignmentRule, Course, Recurrence, RuleKind, Target, VersionPolicy};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum TrainingCmd {
    /// Every course staff can take (built-in and lab courses).
    Courses,
    /// Add a lab course, or a new version of one, from a Markdown file.
    AddCourse { file: std::path::PathBuf },
    /// Assign a course to everyone, a role, or one person.
    Assign(AssignArgs),
    /// Open assignments (overdue first), for everyone or one person.
    Assignments {
        #[arg(long)]
        user: Option<String>,
    },
    /// One person's training record: open assignments and every completion.
    Transcript { username: String },
    /// Email the reminders that are due (before the due date to the learner, overdue
    /// escalations to the manager or security officer); safe to run from cron, each step
    /// goes out once.
    Remind(RemindArgs),
    /// Record a completion done outside labguard (e.g. a classroom session), with a
    /// certificate.
    Complete {
        username: String,
        course: String,
        #[arg(long, default_value_t = 100)]
        score: u8,
    },
}

#[derive(clap::Args)]
pub struct AssignArgs {
    #[arg(long)]
    pub course: String,
    /// `all`, a role (e.g. phlebotomist), or `user:USERNAME`.
    #[arg(long)]
    pub to: String,
    /// Days to complete it (from today, or from the hire date for later hires).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub due_days: u32,
    /// `once` or `annual`.
    #[arg(long, default_value = "annual")]
    pub recurrence: String,
    /// When a new course version comes out, staff must retake it within this many days
    /// (default: older completions keep counting).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub reassign_on_new_version_days: Option<u32>,
}

#[derive(clap::Args)]
pub struct RemindArgs {
    /// smtp://HOST:PORT (STARTTLS when offered) or smtp://HOST:PORT?tls=required.
    #[arg(long)]
    pub smtp: String,
    #[arg(long)]
    pub from: String,
    /// The labguard web UI as staff reach it (for the course link).
    #[arg(long)]
    pub base_url: String,
    #[arg(long, default_value = "labguard")]
    pub lab_name: String,
}

fn staff_id(store: &Store, op: &Actor, username: &str) -> Result<Id> {
    store
        .list_staff(op)?
        .into_iter()
        .find(|s| s.username == username)
        .map(|s| s.id)
        .ok_or_else(|| anyhow!("no member of staff called {username}"))
}

pub fn run(g: &Global, cmd: TrainingCmd) -> Result<()> {
    let store = g.open()?;
    let op = Actor::operator();
    let now = Utc::now();
    match cmd {
        TrainingCmd::Courses => courses(g, &store, &op),
        TrainingCmd::AddCourse { file } => add_course(g, &store, &op, file),
        TrainingCmd::Assign(a) => assign(g, &store, &op, a, now),
        TrainingCmd::Assignments { user } => assignments(g, &store, &op, user, now),
        TrainingCmd::Transcript { username } => transcript_of(g, &store, &op, username, now),
        TrainingCmd::Remind(r) => remind(g, &store, &op, r, now),
        TrainingCmd::Complete {
            username,
            course,
            score,
        } => complete(g, &store, &op, username, course, score, now),
    }
}

fn courses(g: &Global, store: &Store, op: &Actor) -> Result<()> {
    let courses: Vec<_> = svc::catalog(store, op)?
        .iter()
        .map(Course::summary)
        .collect();
    emit(g, &courses, || {
        for c in &courses {
            println!(
                "{:<30} v{:<3} {:>3} questions, pass {}%  {}",
                c.id, c.version, c.questions, c.pass_mark, c.title
            );
        }
    })
}

fn add_course(g: &Global, store: &Store, op: &Actor, file: std::path::PathBuf) -> Result<()> {
    let src =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let c = Course::parse_markdown(&src).with_context(|| format!("{}", file.display()))?;
    if let Some(old) = svc::catalog(store, op)?.into_iter().find(|o| o.id == c.id) {
        if old.version >= c.version {
            bail!(
                "course {} is already at version {}: raise `version:` in the file",
                c.id,
                old.version
            );
        }
    }
    store.add_course_version(
        op,
        &StoredCourse {
            course_id: c.id.clone(),
            version: c.version,
            source: src,
            released_at: c.release().released_at,
        },
    )?;
    emit(g, &c.summary(), || {
        println!("added {} version {}", c.id, c.version)
    })
}

fn assign(
    g: &Global,
    store: &Store,
    op: &Actor,
    AssignArgs {
        course,
        to,
        due_days,
        recurrence,
        reassign_on_new_version_days,
    }: AssignArgs,
    now: DateTime<Utc>,
) -> Result<()> {
    let c = svc::course(store, op, &course)?;
    let target = match to.as_str() {
        "all" => Target::AllStaff,
        t => match t.strip_prefix("user:") {
            Some(u) => Target::Person(staff_id(store, op, u)?),
            None => Target::Role(
                Role::from_code(t)
                    .map_err(|_| anyhow!("--to must be all, a role, or user:USERNAME (got {t})"))?,
            ),
        },
    };
    let recurrence = match recurrence.as_str() {
        "once" => Recurrence::Once,
        "annual" => Recurrence::Annual,
        r => bail!("--recurrence must be once or annual (got {r})"),
    };
    let rule = AssignmentRule {
        id: Id::new_v4(),
        course_id: c.id.clone(),
        target,
        recurrence,
        due_within_days: due_days,
        starts_at: now,
        version_policy: match reassign_on_new_version_days {
            Some(d) => VersionPolicy::Reassign { within_days: d },
            None => VersionPolicy::KeepOld,
        },
        min_completed_at: None,
        kind: RuleKind::Standard,
    };
    store.add_training_rule(op, &rule)?;
    emit(g, &rule, || println!("{}", rule.id))
}

fn assignments(
    g: &Global,
    store: &Store,
    op: &Actor,
    user: Option<String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let who = user
        .as_deref()
        .map(|u| staff_id(store, op, u))
        .transpose()?;
    let open = svc::open_assignments(store, op, who, now)?;
    let staff = store.list_staff(op)?;
    emit(g, &open, || {
        for a in &open {
            let name = staff
                .iter()
                .find(|s| s.id == a.staff_id)
                .map_or("?", |s| s.username.as_str());
            println!(
                "{:<16} {:<30} due {} {:?}{}",
                name,
                a.course_id,
                a.due_at.format("%Y-%m-%d"),
                a.reason,
                if a.overdue_days > 0 {
                    format!(" OVERDUE {} days", a.overdue_days)
                } else {
                    String::new()
                }
            );
        }
    })
}

fn transcript_of(
    g: &Global,
    store: &Store,
    op: &Actor,
    username: String,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = staff_id(store, op, &username)?;
    let t = svc::staff_transcript(store, op, id, now)?;
    emit(g, &t, || {
        println!("training transcript of {username}");
        for e in &t.entries {
            println!("  {:<30} {:?}", e.course_id, e.status);
        }
    })
}

fn remind(
    g: &Global,
    store: &Store,
    op: &Actor,
    RemindArgs {
        smtp,
        from,
        base_url,
        lab_name,
    }: RemindArgs,
    now: DateTime<Utc>,
) -> Result<()> {
    let open = svc::open_assignments(store, op, None, now)?;
    let titles = svc::catalog(store, op)?
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    let opts = labguard_mail::ReminderOptions {
        smtp_url: smtp,
        from_address: from,
        lab_name,
        base_url,
        schedule: labguard_training::ReminderSchedule::default(),
        timeout: std::time::Duration::from_secs(30),
    };
    let out = labguard_mail::send_reminders(store, op, &open, &titles, &opts, now)?;
    emit(g, &out, || {
        for o in &out {
            match &o.error {
                None => println!("sent to {}: {}", o.to, o.subject),
                Some(e) => println!("NOT sent to {}: {} ({e})", o.to, o.subject),
            }
        }
        if out.is_empty() {
            println!("no reminders due");
        }
    })?;
    if out.iter().any(|o| !o.sent) {
        bail!("some reminders were not sent; they will be retried on the next run");
    }
    Ok(())
}

fn complete(
    g: &Global,
    store: &Store,
    op: &Actor,
    username: String,
    course: String,
    score: u8,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = staff_id(store, op, &username)?;
    let c = svc::course(store, op, &course)?;
    if score > 100 || score < c.pass_mark {
        bail!(
            "a completion needs a score between the pass mark ({}) and 100",
            c.pass_mark
        );
    }
    // The officer recording a completion is the way past the online attempt limit.
    let attempt = store.start_attempt_within(op, id, &c.id, c.version, 0, u32::MAX)?;
    let a = store.attempt(op, attempt)?;
    let key = store.certificate_key()?;
    let name = store.staff_member(op, id)?.display_name;
    let cert = labguard_training::issue_certificate(
        key.as_slice(),
        labguard_training::CertificateFields {
            staff_id: id,
            staff_name: name,
            course_id: c.id.clone(),
            course_title: c.title.clone(),
            course_version: c.version,
            score_percent: score,
            completed_at: now,
        },
    );
    let cert_json = serde_json::to_string(&cert)?;
    store.finish_attempt_within(op, &a, score, true, Some(&cert_json), u32::MAX)?;
    emit(g, &cert, || {
        println!("recorded: {username} completed {}", c.id)
    })
}
