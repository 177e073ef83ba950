use labguard_core::Role;
use labguard_training::course::{Audience, Course, CourseError};
use labguard_training::{builtin_courses, PHISHING_COURSE_ID};

const GOOD: &str = "---
id: lab-custom
title: Centrifuge room rules
version: 2
released: 2026-03-01
roles: phlebotomist, front-desk
pass_mark: 75
minutes: 5
---

## Doors
Keep the **door** closed.

```text
## not a heading inside a fence
```

## Visitors
Escort <b>every</b> visitor.

## Quiz

### Who may enter?
- [ ] Anyone
- [x] Staff with a badge
> Badge access keeps specimens safe.
> Always.

### Pick all true
* [X] Doors stay shut
- [x] Visitors are escorted
- [ ] Couriers roam freely
";

fn syntax_line(src: &str) -> usize {
    match Course::parse_markdown(src) {
        Err(CourseError::Syntax { line, .. }) => line,
        other => panic!("expected syntax error, got {other:?}"),
    }
}

#[test]
fn parses_a_lab_course() {
    let c = Course::parse_markdown(GOOD).unwrap();
    assert_eq!(c.id, "lab-custom");
    assert_eq!(c.version, 2);
    assert_eq!(c.pass_mark, 75);
    assert_eq!(c.minutes, Some(5));
    assert_eq!(
        c.audience,
        Audience::Roles(vec![Role::Phlebotomist, Role::FrontDesk])
    );
    assert_eq!(c.lessons.len(), 2);
    assert_eq!(c.lessons[0].title, "Doors");
    assert!(c.lessons[0]
        .markdown
        .contains("## not a heading inside a fence"));
    assert_eq!(c.questions.len(), 2);
    assert_eq!(c.questions[0].prompt, "Who may enter?");
    assert_eq!(c.questions[0].correct_count(), 1);
    assert!(c.questions[0].options[1].correct);
    assert_eq!(
        c.questions[0].explanation,
        "Badge access keeps specimens safe. Always."
    );
    assert_eq!(c.questions[1].correct_count(), 2);
    let html = c.lessons[1].to_html();
    assert!(html.contains("&lt;b&gt;every&lt;/b&gt;"), "{html}");
    assert_eq!(
        c.release().released_at.to_rfc3339(),
        "2026-03-01T00:00:00+00:00"
    );
    let s = serde_json::to_value(c.summary()).unwrap();
    assert_eq!(s["lessons"], serde_json::json!(["Doors", "Visitors"]));
    assert_eq!(s["questions"], 2);
    assert!(!s.to_string().contains("Staff with a badge"));
    let v = serde_json::to_value(c.learner_view()).unwrap();
    assert_eq!(v["lessons"][0]["title"], "Doors");
    assert_eq!(
        v["lessons"][1]["html"],
        "<p>Escort &lt;b&gt;every&lt;/b&gt; visitor.</p>\n"
    );
    assert!(!v.to_string().contains("Staff with a badge"));
}

#[test]
fn crlf_and_bom_are_accepted() {
    let src = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
    let c = Course::parse_markdown(&src).unwrap();
    assert_eq!(c.questions[0].prompt, "Who may enter?");
}

#[test]
fn errors_carry_line_numbers() {
    assert_eq!(syntax_line(&GOOD.replace("version: 2", "version: two")), 4);
    assert_eq!(
        syntax_line(&GOOD.replace("roles: phlebotomist", "roles: janitor")),
        6
    );
    assert_eq!(
        syntax_line(&GOOD.replace("pass_mark: 75", "pass-mark: 75")),
        7
    );
    assert_eq!(
        syntax_line(&GOOD.replace("pass_mark: 75", "pass_mark: 175")),
        7
    );
    assert_eq!(syntax_line(&GOOD.replace("minutes: 5", "title: again")), 8);
    // An option line that is neither `[ ]` nor `[x]` (line 24 is the first option).
    assert_eq!(syntax_line(&GOOD.replace("- [ ] Anyone", "- Anyone")), 24);
    // A question whose only option is correct: reported at the question heading (line 23).
    let one = GOOD.replace("- [ ] Anyone\n", "");
    assert_eq!(syntax_line(&one), 23);
    // No correct option.
    assert_eq!(syntax_line(&GOOD.replace("- [x] Staff", "- [ ] Staff")), 23);
    // Text before the first lesson.
    assert_eq!(
        syntax_line(&GOOD.replace("---\n\n## Doors", "---\nstray\n## Doors")),
        10
    );
    // A lesson after the quiz.
    assert_eq!(syntax_line(&format!("{GOOD}\n## Late lesson\ntext\n")), 34);
    assert_eq!(syntax_line("no front matter"), 1);
    assert_eq!(
        syntax_line(&GOOD.replace("- [x] Visitors are escorted", "- [X] Doors stay shut")),
        31
    );
}

#[test]
fn missing_parts_are_reported() {
    assert_eq!(
        Course::parse_markdown(&GOOD.replace("released: 2026-03-01\n", "")),
        Err(CourseError::MissingKey { key: "released" })
    );
    let no_quiz = GOOD.split("## Quiz").next().unwrap();
    assert!(matches!(
        Course::parse_markdown(no_quiz),
        Err(CourseError::Syntax { msg, .. }) if msg.contains("Quiz")
    ));
    let big = "a".repeat(600 * 1024);
    assert!(matches!(
        Course::parse_markdown(&big),
        Err(CourseError::TooLarge { .. })
    ));
}

#[test]
fn builtin_courses_parse_and_are_substantial() {
    let courses = builtin_courses().unwrap();
    let ids: Vec<&str> = courses.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            PHISHING_COURSE_ID,
            "passwords-mfa",
            "patient-data-minimum-necessary",
            "medical-device-security",
            "hipaa-security-basics",
            "incident-reporting"
        ]
    );
    for c in &courses {
        assert!(c.lessons.len() >= 3, "{}", c.id);
        assert!(c.questions.len() >= 5, "{}", c.id);
        assert_eq!(c.pass_mark, 80, "{}", c.id);
        for q in &c.questions {
            assert!(!q.explanation.is_empty(), "{}: {}", c.id, q.prompt);
        }
        for l in &c.lessons {
            assert!(l.markdown.len() > 300, "{}: {}", c.id, l.title);
        }
    }
    let device = courses
        .iter()
        .find(|c| c.id == "medical-device-security")
        .unwrap();
    assert!(device.audience.includes(Role::LabTechnologist));
    assert!(!device.audience.includes(Role::FrontDesk));
    assert!(labguard_training::builtin::builtin_source("passwords-mfa")
        .unwrap()
        .contains("800-63B"));
}

#[test]
fn structural_edge_cases() {
    // `##` without a space, and `###` inside a lesson, are lesson content.
    let c = Course::parse_markdown(&GOOD.replace(
        "Keep the **door** closed.",
        "##notaheading\n### Sub heading\nKeep it closed.",
    ))
    .unwrap();
    assert_eq!(c.lessons.len(), 2);
    assert!(c.lessons[0]
        .markdown
        .starts_with("##notaheading\n### Sub heading"));
    // A `## Quiz` line inside a fence is not the quiz.
    let fenced = GOOD.replace("## not a heading inside a fence", "## Quiz");
    assert_eq!(Course::parse_markdown(&fenced).unwrap().lessons.len(), 2);
    // An unclosed fence swallows the rest, so the quiz is never found.
    let open = GOOD.replace("```\n\n## Visitors", "\n\n## Visitors");
    assert!(matches!(
        Course::parse_markdown(&open),
        Err(CourseError::Syntax { msg, .. }) if msg.contains("no `## Quiz`")
    ));
    // Empty lesson.
    assert_eq!(
        syntax_line(&GOOD.replace("Escort <b>every</b> visitor.", "")),
        18
    );
    // Option before any question.
    assert_eq!(syntax_line(&GOOD.replace("### Who may enter?\n", "")), 23);
    // Roles list with duplicates collapses; `ALL` in any case means everyone.
    let c = Course::parse_markdown(&GOOD.replace(
        "roles: phlebotomist, front-desk",
        "roles: phlebotomist, phlebotomist",
    ))
    .unwrap();
    assert_eq!(c.audience, Audience::Roles(vec![Role::Phlebotomist]));
    let c = Course::parse_markdown(&GOOD.replace("roles: phlebotomist, front-desk", "roles: ALL"))
        .unwrap();
    assert_eq!(c.audience, Audience::All);
    // Bad id and control characters in a title.
    assert_eq!(
        syntax_line(&GOOD.replace("id: lab-custom", "id: Lab Custom")),
        2
    );
    assert_eq!(
        syntax_line(&GOOD.replace("title: Centrifuge", "title: \u{7}Centrifuge")),
        3
    );
    // Unclosed front matter.
    assert_eq!(syntax_line("---\nid: x\n"), 3);
    // Errors display with their line.
    let e = Course::parse_markdown(&GOOD.replace("version: 2", "version: 0")).unwrap_err();
    assert_eq!(e.to_string(), "line 4: version must be a whole number >= 1");
}

#[test]
fn question_and_option_limits() {
    let mut src = GOOD.to_string();
    for i in 0..200 {
        src.push_str(&format!("\n### Extra {i}\n- [x] yes\n- [ ] no\n"));
    }
    assert!(matches!(
        Course::parse_markdown(&src),
        Err(CourseError::Syntax { msg, .. }) if msg.contains("more than 200 questions")
    ));
    let mut opts = String::from("### Many\n");
    for i in 0..13 {
        opts.push_str(&format!("- [x] option {i}\n"));
    }
    let src = GOOD.replace("### Pick all true", &format!("{opts}\n### Pick all true"));
    assert!(matches!(
        Course::parse_markdown(&src),
        Err(CourseError::Syntax { msg, .. }) if msg.contains("more than 12 options")
    ));
}
