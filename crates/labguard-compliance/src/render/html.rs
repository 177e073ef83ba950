//! A self-contained HTML report: no scripts, no external files; charts are inline SVG.

use std::fmt::Write;

use crate::catalog::Requirement;
use crate::evidence::Status;
use crate::report::{Report, SafeguardScore, TrendPoint};
use crate::risk::Risk;

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn color(s: Status) -> &'static str {
    match s {
        Status::Met => "#2e7d32",
        Status::PartlyMet => "#f9a825",
        Status::NotMet => "#c62828",
        Status::NeedsPerson => "#607d8b",
    }
}

/// Horizontal bars: compliance score per safeguard.
pub fn safeguard_chart(scores: &[SafeguardScore]) -> String {
    let (w, row) = (560.0, 28.0);
    let h = row * scores.len() as f64 + 20.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Compliance by safeguard" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    for (i, g) in scores.iter().enumerate() {
        let y = 10.0 + row * i as f64;
        let bw = 300.0 * g.score / 100.0;
        let _ = write!(
            s,
            r##"<text x="0" y="{ty}" font-size="12" font-family="sans-serif">{name}</text><rect x="230" y="{y}" width="300" height="18" fill="#eceff1"/><rect x="230" y="{y}" width="{bw:.1}" height="18" fill="#1565c0"/><text x="{tx:.1}" y="{ty}" font-size="11" font-family="sans-serif">{score:.0}%</text>"##,
            ty = y + 13.0,
            name = esc(g.safeguard.title()),
            tx = 235.0 + bw,
            score = g.score
        );
    }
    s.push_str("</svg>");
    s
}

/// Line chart of the overall score over time.
pub fn trend_chart(points: &[TrendPoint]) -> String {
    let (w, h, pad) = (560.0, 180.0, 30.0);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Score over time" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><rect x="{pad}" y="10" width="{iw}" height="{ih}" fill="none" stroke="#b0bec5"/>"##,
        iw = w - pad - 10.0,
        ih = h - pad - 10.0
    );
    for pct in [0, 50, 100] {
        let y = 10.0 + (h - pad - 10.0) * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            s,
            r#"<text x="0" y="{:.1}" font-size="10" font-family="sans-serif">{pct}%</text>"#,
            y + 4.0
        );
    }
    if points.is_empty() {
        s.push_str(
            r#"<text x="200" y="90" font-size="12" font-family="sans-serif">no history yet</text>"#,
        );
    } else {
        let n = points.len().max(2) - 1;
        let xs: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let x = pad + (w - pad - 10.0) * i as f64 / n as f64;
                let y = 10.0 + (h - pad - 10.0) * (1.0 - p.score / 100.0);
                (x, y)
            })
            .collect();
        let path: Vec<String> = xs.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            s,
            r##"<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{}"/>"##,
            path.join(" ")
        );
        for (x, y) in &xs {
            let _ = write!(
                s,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="#1565c0"/>"##
            );
        }
        if let (Some(f), Some(l)) = (points.first(), points.last()) {
            let _ = write!(
                s,
                r#"<text x="{pad}" y="{h}" font-size="10" font-family="sans-serif">{}</text><text x="{:.1}" y="{h}" font-size="10" font-family="sans-serif" text-anchor="end">{}</text>"#,
                f.at.date_naive(),
                w - 10.0,
                l.at.date_naive()
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Bars of inherent vs residual score for each open risk.
pub fn risk_chart(risks: &[Risk]) -> String {
    let open: Vec<&Risk> = risks.iter().filter(|r| r.treatment.is_open()).collect();
    let (w, row) = (560.0, 24.0);
    let h = row * open.len().max(1) as f64 + 20.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Open risks" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    if open.is_empty() {
        s.push_str(
            r#"<text x="0" y="20" font-size="12" font-family="sans-serif">no open risks</text>"#,
        );
    }
    for (i, r) in open.iter().enumerate() {
        let y = 10.0 + row * i as f64;
        let _ = write!(
            s,
            r##"<text x="0" y="{ty}" font-size="11" font-family="sans-serif">{name}</text><rect x="200" y="{y}" width="{iw:.1}" height="8" fill="#ef9a9a"/><rect x="200" y="{y2}" width="{rw:.1}" height="8" fill="#c62828"/><text x="{tx:.1}" y="{ty}" font-size="10" font-family="sans-serif">{i_s} → {r_s}</text>"##,
            ty = y + 12.0,
            y2 = y + 9.0,
            name = esc(r.threat.code()),
            iw = 12.0 * f64::from(r.inherent_score()),
            rw = 12.0 * f64::from(r.residual_score()),
            tx = 205.0 + 12.0 * f64::from(r.inherent_score()),
            i_s = r.inherent_score(),
            r_s = r.residual_score(),
        );
    }
    s.push_str("</svg>");
    s
}

pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>HIPAA Security Rule compliance report</title><style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}}table{{border-collapse:collapse;width:100%;font-size:.85rem}}td,th{{border:1px solid #cfd8dc;padding:.25rem .4rem;text-align:left;vertical-align:top}}.st{{color:#fff;padding:0 .3rem;border-radius:3px;white-space:nowrap}}code{{font-size:.75rem;word-break:break-all}}</style></head><body><h1>HIPAA Security Rule compliance report</h1><p>Lab <b>{lab}</b> · generated {at} · overall score <b>{score:.1}%</b></p>"#,
        lab = esc(&r.lab),
        at = r.generated_at.format("%Y-%m-%d %H:%M UTC"),
        score = r.overall
    );
    if !r.reminders.is_empty() {
        h.push_str("<h2>Coming due</h2><ul id=\"reminders\">");
        for m in &r.reminders {
            let _ = write!(
                h,
                "<li>{} {}: due {} ({})</li>",
                esc(&m.kind),
                esc(&m.subject),
                m.due,
                if m.days_left < 0 {
                    format!("<b>overdue by {} days</b>", -m.days_left)
                } else {
                    format!("{} days left", m.days_left)
                }
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Compliance by safeguard</h2>");
    h.push_str(&safeguard_chart(&r.safeguards));
    h.push_str("<h2>Score over time</h2>");
    h.push_str(&trend_chart(&r.trend));
    h.push_str("<h2>Open risks (inherent → residual)</h2>");
    h.push_str(&risk_chart(&r.risks));
    h.push_str("<h2>Specifications</h2><table><tr><th>Citation</th><th>Specification</th><th>R/A</th><th>Status</th><th>What it means for the lab</th><th>Evidence</th><th>NIST SP 800-66r2</th></tr>");
    for s in &r.specs {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td><span class="st" style="background:{}">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&s.citation),
            esc(&s.title),
            if s.requirement == Requirement::Required {
                "R"
            } else {
                "A"
            },
            color(s.status),
            s.status.label(),
            esc(&s.meaning),
            esc(&s.evidence.join(", ")),
            esc(&s.key_activities.join(" "))
        );
    }
    h.push_str("</table><h2>Proposed requirements (January 2025 NPRM)</h2><table><tr><th>Item</th><th>Status</th><th>Evidence</th></tr>");
    for p in &r.proposed {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td><span class="st" style="background:{}">{}</span></td><td>{}</td></tr>"#,
            esc(&p.title),
            color(p.status),
            p.status.label(),
            esc(&p.evidence.join(", "))
        );
    }
    h.push_str("</table><h2>Evidence</h2><table><tr><th>Collector</th><th>Status</th><th>Finding</th><th>Collected</th><th>SHA-256</th></tr>");
    for e in &r.evidence {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td><span class="st" style="background:{}">{}</span></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
            esc(&e.title),
            color(e.status),
            e.status.label(),
            esc(&e.summary),
            e.collected_at.format("%Y-%m-%d %H:%M"),
            esc(&e.sha256)
        );
    }
    h.push_str("</table><h2>Risk register</h2><table><tr><th>Threat</th><th>Vulnerability</th><th>L×I</th><th>Residual</th><th>Owner</th><th>Due</th><th>Treatment</th></tr>");
    for k in &r.risks {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}×{}={}</td><td>{} ({:?})</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(k.threat.title()),
            esc(&k.vulnerability),
            k.likelihood,
            k.impact,
            k.inherent_score(),
            k.residual_score(),
            k.level(),
            esc(&k.owner),
            k.due.map(|d| d.to_string()).unwrap_or_default(),
            k.treatment.code()
        );
    }
    h.push_str("</table><h2>Incidents</h2><table><tr><th>Incident</th><th>Discovered</th><th>Status</th><th>Determination</th><th>Notification deadlines</th></tr>");
    for i in &r.incidents {
        let dl: Vec<String> = i
            .deadlines
            .iter()
            .map(|d| format!("{}: {}", d.recipient.label(), d.due))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&i.title),
            i.discovered_on,
            esc(&i.status),
            esc(&i.determination),
            esc(&dl.join("; ")),
            if i.overdue > 0 {
                " <b>(overdue)</b>"
            } else {
                ""
            }
        );
    }
    h.push_str("</table><h2>Policies and procedures</h2><table><tr><th>Subject</th><th>Title</th><th>Version</th><th>Owner</th><th>In effect from</th><th>Review due</th><th>Superseded / keep until</th><th>SHA-256</th></tr>");
    for p in &r.policies {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            p.subject.code(),
            esc(&p.title),
            p.version,
            esc(&p.owner),
            p.effective_from,
            p.review_due,
            match (p.superseded_on, p.retain_until()) {
                (Some(s), Some(k)) => format!("{s} / {k}"),
                _ => "in effect".into(),
            },
            esc(&p.sha256)
        );
    }
    h.push_str("</table><h2>Business associate agreements</h2><table><tr><th>Vendor</th><th>Services</th><th>Signed</th><th>Expires</th><th>Current</th></tr>");
    let today = r.generated_at.date_naive();
    for b in &r.baas {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&b.vendor),
            esc(&b.services),
            b.signed_on,
            b.expires_on.map(|d| d.to_string()).unwrap_or_default(),
            if b.current(today) { "yes" } else { "<b>no</b>" }
        );
    }
    h.push_str("</table><h2>Attestations</h2><table><tr><th>Subject</th><th>Statement</th><th>Status</th><th>Signed by</th><th>Signed</th></tr>");
    for a in &r.attestations {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.subject.code(),
            esc(&a.statement),
            a.status.label(),
            esc(&a.signer_name),
            a.signed_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    h.push_str("</table></body></html>\n");
    h
}
