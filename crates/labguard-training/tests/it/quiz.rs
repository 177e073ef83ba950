use chrono::{TimeZone, Utc};
use labguard_training::certificate::{issue_certificate, verify_certificate, CertificateFields};
use labguard_training::quiz::{answer_key, grade, present, Answers, AttemptPolicy, QuizError};
use labguard_training::{builtin_courses, Course};

fn phishing() -> Course {
    builtin_courses().unwrap().remove(0)
}

#[test]
fn presentation_is_deterministic_per_seed_and_varies_between_seeds() {
    let c = phishing();
    assert_eq!(present(&c, 7), present(&c, 7));
    let orders: std::collections::BTreeSet<Vec<String>> = (0..20u64)
        .map(|s| {
            present(&c, s)
                .questions
                .iter()
                .map(|q| q.prompt.clone())
                .collect()
        })
        .collect();
    assert!(orders.len() > 10, "only {} distinct orders", orders.len());
    // Every question and every option is present exactly once, whatever the order.
    let q = present(&c, 99);
    let mut prompts: Vec<&str> = q.questions.iter().map(|q| q.prompt.as_str()).collect();
    prompts.sort();
    let mut orig: Vec<&str> = c.questions.iter().map(|q| q.prompt.as_str()).collect();
    orig.sort();
    assert_eq!(prompts, orig);
    // Ids differ between attempts so an old form cannot be replayed against a new attempt.
    assert_ne!(
        present(&c, 1).questions[0].id,
        present(&c, 2).questions[0].id
    );
}

#[test]
fn learner_view_never_contains_correct_flags_or_explanations() {
    let c = phishing();
    let json = serde_json::to_string(&present(&c, 3)).unwrap();
    assert!(!json.contains("correct"), "{json}");
    assert!(!json.contains("explanation"), "{json}");
    assert!(!json.contains("Attackers use urgency"), "{json}");
    let multi = present(&c, 3)
        .questions
        .iter()
        .filter(|q| q.multiple)
        .count();
    assert_eq!(multi, 1);
}

#[test]
fn grading_full_partial_and_empty() {
    let c = phishing();
    let seed = 42;
    let key = answer_key(&c, seed);
    let g = grade(&c, seed, &key).unwrap();
    assert_eq!(
        (g.correct, g.total, g.score_percent, g.passed),
        (5, 5, 100, true)
    );

    // One question wrong: 4/5 = 80% which meets the 80% pass mark exactly.
    let mut one_wrong = key.clone();
    let first = present(&c, seed).questions[0].clone();
    let wrong_opt = first
        .options
        .iter()
        .find(|o| !key[&first.id].contains(&o.id))
        .unwrap()
        .id
        .clone();
    one_wrong.insert(first.id.clone(), vec![wrong_opt]);
    let g = grade(&c, seed, &one_wrong).unwrap();
    assert_eq!((g.correct, g.score_percent, g.passed), (4, 80, true));
    let fb = g
        .feedback
        .iter()
        .find(|f| f.question_id == first.id)
        .unwrap();
    assert!(!fb.correct);
    assert!(!fb.explanation.is_empty());

    // Two wrong: 60% fails. Leaving questions unanswered counts as wrong.
    let mut two_missing = key.clone();
    let ids: Vec<String> = two_missing.keys().take(2).cloned().collect();
    for id in ids {
        two_missing.remove(&id);
    }
    let g = grade(&c, seed, &two_missing).unwrap();
    assert_eq!((g.correct, g.score_percent, g.passed), (3, 60, false));
    let g = grade(&c, seed, &Answers::new()).unwrap();
    assert_eq!((g.correct, g.passed), (0, false));
}

#[test]
fn multi_select_needs_exactly_the_correct_set() {
    let c = phishing();
    let seed = 5;
    let key = answer_key(&c, seed);
    let quiz = present(&c, seed);
    let multi = quiz.questions.iter().find(|q| q.multiple).unwrap();
    let mut partial = key.clone();
    partial.insert(multi.id.clone(), key[&multi.id][..1].to_vec());
    assert_eq!(grade(&c, seed, &partial).unwrap().correct, 4);
    let mut all = key.clone();
    all.insert(
        multi.id.clone(),
        multi.options.iter().map(|o| o.id.clone()).collect(),
    );
    assert_eq!(grade(&c, seed, &all).unwrap().correct, 4);
}

#[test]
fn answers_from_another_attempt_are_rejected() {
    let c = phishing();
    let key_other = answer_key(&c, 1);
    assert_eq!(grade(&c, 2, &key_other), Err(QuizError::UnknownQuestion));
    let quiz = present(&c, 2);
    let mut bad = Answers::new();
    bad.insert(quiz.questions[0].id.clone(), vec!["deadbeef".into()]);
    assert_eq!(grade(&c, 2, &bad), Err(QuizError::UnknownOption));
}

#[test]
fn attempt_policy() {
    let p = AttemptPolicy {
        max_attempts: Some(2),
    };
    assert_eq!(p.check(0), Ok(()));
    assert_eq!(p.check(1), Ok(()));
    assert_eq!(
        p.check(2),
        Err(QuizError::NoAttemptsLeft { used: 2, max: 2 })
    );
    assert_eq!(AttemptPolicy { max_attempts: None }.check(1000), Ok(()));
    assert_eq!(AttemptPolicy::default().max_attempts, Some(3));
}

#[test]
fn certificates_verify_and_detect_tampering() {
    let key = b"a lab secret key of enough length";
    let f = CertificateFields {
        staff_id: uuid::Uuid::from_u128(1),
        staff_name: "Ana Lee".into(),
        course_id: "phishing-social-engineering".into(),
        course_title: "Phishing".into(),
        course_version: 1,
        score_percent: 80,
        completed_at: Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap()
            + chrono::Duration::milliseconds(789),
    };
    let c = issue_certificate(key, f.clone());
    assert_eq!(c.certificate_id.len(), 40);
    assert_eq!(
        c.completed_at,
        Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap()
    );
    assert_eq!(issue_certificate(key, f).certificate_id, c.certificate_id);
    assert!(verify_certificate(key, &c));
    assert!(!verify_certificate(b"another key", &c));
    let mut t = c.clone();
    t.score_percent = 100;
    assert!(!verify_certificate(key, &t));
    let mut t = c.clone();
    t.staff_name = "Ana Leee".into();
    assert!(!verify_certificate(key, &t));
    // Moving a character between fields changes the MAC input (length prefixes).
    let mut t = c.clone();
    t.staff_name = "Ana Le".into();
    t.course_id = "ephishing-social-engineering".into();
    assert!(!verify_certificate(key, &t));
    let mut t = c.clone();
    t.certificate_id = "zz".into();
    assert!(!verify_certificate(key, &t));
    // Round-trips through JSON and still verifies.
    let back: labguard_training::Certificate =
        serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert!(verify_certificate(key, &back));
}
