//! Deletion certificates: for each deletion run or erasure request, the tombstones it left, bound
//! to the audit entries that recorded them (SHA-256 over those audit files) and signed by the user
//! who ran it. Written as JSON and as a plain printable HTML page, where the user chooses.

use super::Tombstone;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Certificate {
    pub certificate: String,
    pub archive: String,
    /// `retention`, `deletion` or `erasure`.
    pub kind: String,
    pub created_at: String,
    pub by: String,
    pub by_name: String,
    pub request: Option<String>,
    pub tombstones: Vec<Tombstone>,
    /// The audit files that recorded this run: `audit/<device>/<file>`.
    pub audit_files: Vec<String>,
    /// SHA-256 (hex) over the concatenated bytes of those audit files, in order.
    pub audit_sha256: String,
    /// Journal segments the run could not open, which may still hold a deleted recording's
    /// details (the next retention run tries again). Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncompacted: Vec<String>,
    /// Ed25519 signature (base64) by the user's signing key over this JSON without `signature`.
    pub signature: String,
}

impl Certificate {
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut c = self.clone();
        c.signature = String::new();
        [
            b"callvault/v1/deletion-certificate\n".as_slice(),
            &serde_json::to_vec(&c).expect("serialisable"),
        ]
        .concat()
    }

    pub fn html(&self, practice: &str) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut rows = String::new();
        for t in &self.tombstones {
            rows.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&t.recording),
                t.call_date,
                esc(&t.deleted_at),
                esc(&t.reason),
                esc(t.request.as_deref().or(t.rule.as_deref()).unwrap_or("")),
            ));
        }
        format!(
            r#"<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Deletion certificate {id}</title>
<style>body{{font-family:Arial,Helvetica,sans-serif;color:#212b32;max-width:60em;margin:2em auto}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #768692;padding:.3em .5em;text-align:left}}code{{font-size:.85em}}</style></head>
<body>
<h1>Certificate of deletion of call recordings</h1>
<p>{practice}</p>
<p>Certificate <code>{id}</code> · archive <code>{archive}</code> · {kind} · issued {created} by {by}{request}</p>
<p>The recordings below have been deleted: their audio and every key that could decrypt it were destroyed,
and their details (numbers, names, notes, times) were removed from the archive and from each device's index.
Only what is listed here remains.</p>
<table><thead><tr><th>Recording</th><th>Call date</th><th>Deleted</th><th>Reason</th><th>Request or rule</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p>Bound to the audit trail: SHA-256 <code>{audit}</code> over {n} audit entries. Signed: <code>{sig}</code></p>
</body></html>
"#,
            id = esc(&self.certificate),
            archive = esc(&self.archive),
            kind = esc(&self.kind),
            created = esc(&self.created_at),
            by = esc(&self.by_name),
            request = self
                .request
                .as_deref()
                .map(|r| format!(" · request <code>{}</code>", esc(r)))
                .unwrap_or_default(),
            practice = esc(practice),
            audit = esc(&self.audit_sha256),
            n = self.audit_files.len(),
            sig = esc(&self.signature),
        )
    }

    /// Write `<dir>/deletion-certificate-<id>.json` and `.html`; returns their paths.
    pub fn write(&self, dir: &Path, practice: &str) -> Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        let base = format!("deletion-certificate-{}", &self.certificate[..12]);
        let j = dir.join(format!("{base}.json"));
        let h = dir.join(format!("{base}.html"));
        std::fs::write(&j, serde_json::to_vec_pretty(self).expect("serialisable"))
            .map_err(|e| Error::io(j.display(), e))?;
        std::fs::write(&h, self.html(practice)).map_err(|e| Error::io(h.display(), e))?;
        Ok((j, h))
    }
}
