//! Journal segment file names and a device's journal as it stands (docs/FORMAT.md, "Metadata
//! journals": `<seq:016x>.cvj`, and `<seq:016x>-<gen:04x>.cvj` for a compacted generation).

use crate::archive::Archive;
use crate::error::Result;

/// File name of a segment's first generation.
pub fn segment_name(seq: u64) -> String {
    format!("{seq:016x}.cvj")
}

/// The sequence number in a segment file name (either form, see `parse_segment_file`).
pub fn parse_segment_name(name: &str) -> Option<u64> {
    parse_segment_file(name).map(|(s, _)| s)
}

/// `<seq:016x>.cvj` (generation 0) or `<seq:016x>-<gen:04x>.cvj` (compacted): (seq, gen).
pub fn parse_segment_file(name: &str) -> Option<(u64, u32)> {
    let s = name.strip_suffix(".cvj")?;
    let (seq, gen) = match s.split_once('-') {
        Some((seq, gen))
            if gen.len() == 4
                && gen
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            // Canonical: four lower-case hex digits, generation 1 or more.
            let g = u32::from_str_radix(gen, 16).ok()?;
            if g == 0 {
                return None;
            }
            (seq, g)
        }
        Some(_) => return None,
        None => (s, 0),
    };
    if seq.len() != 16
        || !seq
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let seq = u64::from_str_radix(seq, 16).ok()?;
    (seq < super::MAX_SEQ).then_some((seq, gen))
}

/// File name of a segment generation.
pub fn segment_file(seq: u64, gen: u32) -> String {
    if gen == 0 {
        segment_name(seq)
    } else {
        format!("{seq:016x}-{gen:04x}.cvj")
    }
}

/// A device's journal as it stands: for each sequence number, the newest generation's file name
/// and the superseded ones (left by an interrupted compaction). Unknown names are returned apart.
pub struct Listing {
    pub current: std::collections::BTreeMap<u64, (u32, String)>,
    pub superseded: Vec<String>,
    pub unexpected: Vec<String>,
}

pub fn list_device(archive: &Archive, device: &str) -> Result<Listing> {
    let mut l = Listing {
        current: Default::default(),
        superseded: vec![],
        unexpected: vec![],
    };
    for name in archive.list(&format!("journal/{device}"))? {
        let Some((seq, gen)) = parse_segment_file(&name) else {
            l.unexpected.push(name);
            continue;
        };
        match l.current.get(&seq) {
            Some((g, _)) if *g >= gen => l.superseded.push(name),
            Some((_, old)) => {
                l.superseded.push(old.clone());
                l.current.insert(seq, (gen, name));
            }
            None => {
                l.current.insert(seq, (gen, name));
            }
        }
    }
    Ok(l)
}
