//! A small, dependable PDF writer for plain printable letters: A4 pages of Helvetica text (regular
//! and bold, WinAnsi), wrapped to the page width, flowing onto new pages. No images, no fonts to
//! embed, nothing fetched: it opens in every reader and prints as it looks.

/// One line or paragraph of the letter.
pub enum Block {
    /// A paragraph, wrapped; `bold` for headings; `size` in points.
    Text { text: String, bold: bool, size: f32 },
    /// Vertical space in points.
    Space(f32),
    /// A table row: cells at fixed x offsets (points from the left margin).
    Row {
        cells: Vec<(f32, String)>,
        bold: bool,
    },
}

const W: f32 = 595.0;
const H: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// Helvetica advance widths (per 1000 em) for printable ASCII 32..=126.
const HELV: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

fn width(s: &str, size: f32, bold: bool) -> f32 {
    let w: u32 = s
        .chars()
        .map(|c| {
            let i = (c as u32).saturating_sub(32) as usize;
            HELV.get(i).copied().unwrap_or(556) as u32
        })
        .sum();
    // Bold is a little wider; this keeps wrapping safe.
    w as f32 * size / 1000.0 * if bold { 1.08 } else { 1.0 }
}

/// Encode for a PDF string in WinAnsi: escape delimiters, map a few typographic characters, and
/// replace anything else outside Latin-1 with '?'.
fn pdf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '‘' | '’' => out.push('\''),
            '“' | '”' => out.push('"'),
            '–' | '—' => out.push('-'),
            '•' => out.push('*'),
            c if (' '..='~').contains(&c) => out.push(c),
            c if (c as u32) >= 0xA0 && (c as u32) <= 0xFF => {
                out.push_str(&format!("\\{:03o}", c as u32))
            }
            _ => out.push('?'),
        }
    }
    out
}

fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width(&candidate, size, bold) > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line = word.to_string();
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

/// Render blocks to a complete PDF document.
pub fn render(title: &str, blocks: &[Block]) -> Vec<u8> {
    let mut pages: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut y = H - MARGIN;
    let mut new_page = |cur: &mut String, y: &mut f32| {
        pages.push(std::mem::take(cur));
        *y = H - MARGIN;
    };
    for b in blocks {
        match b {
            Block::Space(h) => y -= h,
            Block::Text { text, bold, size } => {
                for line in wrap(text, *size, *bold, W - 2.0 * MARGIN) {
                    let lh = size * 1.35;
                    if y - lh < MARGIN {
                        new_page(&mut cur, &mut y);
                    }
                    y -= lh;
                    let font = if *bold { "F2" } else { "F1" };
                    cur.push_str(&format!(
                        "BT /{font} {size} Tf {MARGIN} {y:.1} Td ({}) Tj ET\n",
                        pdf_string(&line)
                    ));
                }
            }
            Block::Row { cells, bold } => {
                let size = 10.0;
                let lh = size * 1.5;
                if y - lh < MARGIN {
                    new_page(&mut cur, &mut y);
                }
                y -= lh;
                let font = if *bold { "F2" } else { "F1" };
                for (x, text) in cells {
                    cur.push_str(&format!(
                        "BT /{font} {size} Tf {:.1} {y:.1} Td ({}) Tj ET\n",
                        MARGIN + x,
                        pdf_string(text)
                    ));
                }
            }
        }
    }
    if !cur.is_empty() || pages.is_empty() {
        pages.push(cur);
    }
    // Objects: 1 catalog, 2 pages, 3 F1, 4 F2, 5 info, then (page, content) pairs.
    let n = pages.len();
    let mut objs: Vec<String> = Vec::new();
    objs.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 6 + 2 * i)).collect();
    objs.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {n} >>",
        kids.join(" ")
    ));
    objs.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    );
    objs.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .into(),
    );
    objs.push(format!(
        "<< /Title ({}) /Producer (Callvault) >>",
        pdf_string(title)
    ));
    for (i, content) in pages.iter().enumerate() {
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {W} {H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            7 + 2 * i
        ));
        objs.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_letter_flows_onto_more_pages_and_escapes_text() {
        let mut blocks = vec![Block::Text {
            text: "Dear (someone) \\ test".into(),
            bold: true,
            size: 14.0,
        }];
        for i in 0..120 {
            blocks.push(Block::Row {
                cells: vec![(0.0, format!("row {i}")), (200.0, "x".into())],
                bold: false,
            });
        }
        let pdf = render("t", &blocks);
        let s = String::from_utf8_lossy(&pdf);
        assert!(s.starts_with("%PDF-1.4"));
        assert!(s.contains("(Dear \\(someone\\) \\\\ test)"));
        assert!(s.contains("/Count 3"), "120 rows need three pages");
        assert!(s.trim_end().ends_with("%%EOF"));
    }
}
