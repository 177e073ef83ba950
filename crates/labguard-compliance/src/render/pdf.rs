//! PDF report with `pdf-writer`: base-14 Helvetica (nothing embedded), A4 pages, bar charts
//! drawn with vector operations. Text is reduced to ASCII, which the standard encoding shows.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use crate::evidence::Status;
use crate::report::Report;

const W: f32 = 595.0;
const H: f32 = 842.0;
const MARGIN: f32 = 50.0;

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '–' | '—' => '-',
            '’' | '‘' => '\'',
            '“' | '”' => '"',
            '→' => '>',
            '×' => 'x',
            '·' => '-',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .collect()
}

/// Greedy word wrap at `max` characters.
fn wrap(s: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for w in s.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + w.len() > max {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn rgb(s: Status) -> (f32, f32, f32) {
    match s {
        Status::Met => (0.18, 0.49, 0.2),
        Status::PartlyMet => (0.98, 0.66, 0.15),
        Status::NotMet => (0.78, 0.16, 0.16),
        Status::NeedsPerson => (0.38, 0.49, 0.55),
    }
}

/// Lays out pages; each page is one content stream.
struct Pages {
    pages: Vec<Content>,
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        Pages {
            pages: vec![Content::new()],
            y: H - MARGIN,
        }
    }

    fn cur(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let n = self.pages.len() - 1;
        &mut self.pages[n]
    }

    fn need(&mut self, h: f32) {
        if self.y - h < MARGIN {
            self.pages.push(Content::new());
            self.y = H - MARGIN;
        }
    }

    fn text(&mut self, x: f32, size: f32, s: &str) {
        self.need(size + 4.0);
        let y = self.y - size;
        let t = ascii(s);
        let c = self.cur();
        c.set_fill_rgb(0.1, 0.1, 0.1);
        c.begin_text();
        c.set_font(Name(b"F1"), size);
        c.next_line(x, y);
        c.show(Str(t.as_bytes()));
        c.end_text();
        self.y -= size + 4.0;
    }

    fn para(&mut self, x: f32, size: f32, s: &str) {
        let max = ((W - x - MARGIN) / (size * 0.5)) as usize;
        for l in wrap(s, max.max(20)) {
            self.text(x, size, &l);
        }
    }

    /// A horizontal bar chart: label, value 0..=max, colour.
    fn bars(&mut self, rows: &[(String, f32, (f32, f32, f32))], max: f32) {
        let row = 16.0;
        for (label, v, (r, g, b)) in rows {
            self.need(row);
            let y = self.y - 12.0;
            let full = 280.0;
            let bw = if max > 0.0 {
                full * (v / max).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let lab = ascii(label);
            let val = format!("{v:.0}");
            let c = self.cur();
            c.set_fill_rgb(0.92, 0.94, 0.95);
            c.rect(230.0, y, full, 11.0);
            c.fill_nonzero();
            c.set_fill_rgb(*r, *g, *b);
            c.rect(230.0, y, bw, 11.0);
            c.fill_nonzero();
            c.set_fill_rgb(0.1, 0.1, 0.1);
            c.begin_text();
            c.set_font(Name(b"F1"), 9.0);
            c.next_line(MARGIN, y + 2.0);
            c.show(Str(lab.as_bytes()));
            c.end_text();
            c.begin_text();
            c.set_font(Name(b"F1"), 9.0);
            c.next_line(235.0 + bw, y + 2.0);
            c.show(Str(val.as_bytes()));
            c.end_text();
            self.y -= row;
        }
        self.y -= 6.0;
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }
}

pub fn render(r: &Report) -> Vec<u8> {
    let mut p = Pages::new();
    header(&mut p, r);
    charts(&mut p, r);
    specifications(&mut p, r);
    evidence(&mut p, r);
    coming_due(&mut p, r);
    governance(&mut p, r);
    incidents(&mut p, r);
    write_pdf(p)
}

/// A plain text document on the same page layout: a title, a subtitle and one line per
/// entry (wrapped). Used for the patient access report, which has no charts.
pub fn text_document(title: &str, subtitle: &str, lines: &[String]) -> Vec<u8> {
    let mut p = Pages::new();
    p.text(MARGIN, 18.0, title);
    p.text(MARGIN, 11.0, subtitle);
    p.gap(8.0);
    if lines.is_empty() {
        p.text(MARGIN, 9.0, "No accesses in this period.");
    }
    for l in lines {
        p.para(MARGIN, 9.0, l);
    }
    write_pdf(p)
}

fn header(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 18.0, "HIPAA Security Rule compliance report");
    p.para(
        MARGIN,
        10.0,
        &format!(
            "Lab {} - generated {} - overall score {:.1}%",
            r.lab,
            r.generated_at.format("%Y-%m-%d %H:%M UTC"),
            r.overall
        ),
    );
    p.gap(8.0);
}

/// Safeguard scores, the score trend (last 12 points) and open risks.
fn charts(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 13.0, "Compliance by safeguard (%)");
    let rows: Vec<_> = r
        .safeguards
        .iter()
        .map(|g| {
            (
                g.safeguard.title().to_string(),
                g.score as f32,
                (0.08, 0.4, 0.75),
            )
        })
        .collect();
    p.bars(&rows, 100.0);
    p.text(MARGIN, 13.0, "Score over time (%)");
    let trend: Vec<_> = r
        .trend
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|t| {
            (
                t.at.format("%Y-%m-%d %H:%M").to_string(),
                t.score as f32,
                (0.08, 0.4, 0.75),
            )
        })
        .collect();
    if trend.is_empty() {
        p.text(MARGIN, 9.0, "no history yet");
    }
    p.bars(&trend, 100.0);
    p.text(MARGIN, 13.0, "Open risks: residual score (of 25)");
    let risks: Vec<_> = r
        .risks
        .iter()
        .filter(|k| k.treatment.is_open())
        .map(|k| {
            (
                k.threat.code().to_string(),
                f32::from(k.residual_score()),
                (0.78, 0.16, 0.16),
            )
        })
        .collect();
    p.bars(&risks, 25.0);
}

fn specifications(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 13.0, "Specifications");
    for s in &r.specs {
        let (cr, cg, cb) = rgb(s.status);
        p.need(12.0);
        let y = p.y - 9.0;
        let c = p.cur();
        c.set_fill_rgb(cr, cg, cb);
        c.rect(MARGIN, y, 7.0, 7.0);
        c.fill_nonzero();
        p.para(
            MARGIN + 12.0,
            8.5,
            &format!(
                "{} {} [{}] - {}",
                s.citation,
                s.title,
                match s.requirement {
                    crate::catalog::Requirement::Required => "R",
                    crate::catalog::Requirement::Addressable => "A",
                },
                s.status.label()
            ),
        );
    }
    p.gap(6.0);
}

fn evidence(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 13.0, "Evidence");
    for e in &r.evidence {
        p.para(
            MARGIN,
            8.5,
            &format!("{} - {}: {}", e.title, e.status.label(), e.summary),
        );
        p.text(
            MARGIN + 12.0,
            6.5,
            &format!(
                "{} sha256 {}",
                e.collected_at.format("%Y-%m-%d %H:%M"),
                e.sha256
            ),
        );
    }
    p.gap(6.0);
}

fn coming_due(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 13.0, "Coming due");
    if r.reminders.is_empty() {
        p.text(MARGIN, 9.0, "nothing due within 30 days");
    }
    for m in &r.reminders {
        p.para(
            MARGIN,
            8.5,
            &format!(
                "{} {}: due {} ({} days left)",
                m.kind, m.subject, m.due, m.days_left
            ),
        );
    }
    p.gap(6.0);
}

/// Policies, business associate agreements and attestations.
fn governance(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 13.0, "Policies, BAAs and attestations");
    for d in &r.policies {
        p.para(
            MARGIN,
            8.5,
            &format!(
                "policy {} v{} ({}), in effect from {}, review due {}{}",
                d.title,
                d.version,
                d.owner,
                d.effective_from,
                d.review_due,
                d.retain_until()
                    .map(|k| format!(", superseded, keep until {k}"))
                    .unwrap_or_default()
            ),
        );
    }
    let today = r.generated_at.date_naive();
    for b in &r.baas {
        p.para(
            MARGIN,
            8.5,
            &format!(
                "BAA {} ({}), signed {}{}",
                b.vendor,
                b.services,
                b.signed_on,
                if b.current(today) {
                    ""
                } else {
                    " - NOT CURRENT"
                }
            ),
        );
    }
    for a in &r.attestations {
        p.para(
            MARGIN,
            8.5,
            &format!(
                "attested {}: {} - {} by {} on {}",
                a.subject.code(),
                a.statement,
                a.status.label(),
                a.signer_name,
                a.signed_at.format("%Y-%m-%d")
            ),
        );
    }
    p.gap(6.0);
}

fn incidents(p: &mut Pages, r: &Report) {
    p.text(MARGIN, 13.0, "Incidents");
    if r.incidents.is_empty() {
        p.text(MARGIN, 9.0, "none recorded");
    }
    for i in &r.incidents {
        let dl: Vec<String> = i
            .deadlines
            .iter()
            .map(|d| format!("{}: {}", d.recipient.label(), d.due))
            .collect();
        p.para(
            MARGIN,
            8.5,
            &format!(
                "{} (discovered {}, {}, {}) {}",
                i.title,
                i.discovered_on,
                i.status,
                i.determination,
                dl.join("; ")
            ),
        );
    }
}

/// Writes the laid-out pages as a PDF: catalog, page tree, one Helvetica font, then each
/// page with its content stream.
fn write_pdf(p: Pages) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let font_id = Ref::new(3);
    let n = p.pages.len();
    let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(4 + 2 * i as i32)).collect();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().copied())
        .count(n as i32);
    pdf.type1_font(font_id).base_font(Name(b"Helvetica"));
    for (i, content) in p.pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, W, H));
        page.parent(tree_id);
        page.contents(content_id);
        page.resources().fonts().pair(Name(b"F1"), font_id);
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}
