//! [`Stitched`]: the legs of one conversation played as one timeline, and [`Playable`], what the
//! player plays (one recording's [`Decoder`] or a [`Stitched`] conversation).
//!
//! Every leg must share one sample rate; a mono leg among stereo ones is played on both channels.
//! Positions count from the start of the first leg; [`Stitched::joins`] gives where each later leg
//! begins (the markers on the timeline). Each leg's length is its container's, else the length its
//! signed metadata gives, so a seek lands in the right leg before any of it is decoded; a leg that
//! decodes longer is cut there and one that decodes shorter (damage) is followed by silence up to
//! it.

use super::Decoder;
use crate::error::{Error, Result};

/// What the player plays: blocks of interleaved `f32` samples, seekable to any frame.
pub trait Playable: Send {
    /// What is playing, for errors ("recording …", "conversation of 3 legs").
    fn file(&self) -> &str;
    fn sample_rate(&self) -> u32;
    fn channels(&self) -> u16;
    fn total_frames(&self) -> Option<u64>;
    /// Frames before the next block.
    fn position(&self) -> u64;
    fn seek(&mut self, frame: u64) -> Result<()>;
    fn next_block(&mut self) -> Result<Option<Vec<f32>>>;
}

impl Playable for Decoder {
    fn file(&self) -> &str {
        Decoder::file(self)
    }
    fn sample_rate(&self) -> u32 {
        Decoder::sample_rate(self)
    }
    fn channels(&self) -> u16 {
        Decoder::channels(self)
    }
    fn total_frames(&self) -> Option<u64> {
        Decoder::total_frames(self)
    }
    fn position(&self) -> u64 {
        Decoder::position(self)
    }
    fn seek(&mut self, frame: u64) -> Result<()> {
        Decoder::seek(self, frame)
    }
    fn next_block(&mut self) -> Result<Option<Vec<f32>>> {
        Decoder::next_block(self)
    }
}

impl<P: Playable + ?Sized> Playable for Box<P> {
    fn file(&self) -> &str {
        (**self).file()
    }
    fn sample_rate(&self) -> u32 {
        (**self).sample_rate()
    }
    fn channels(&self) -> u16 {
        (**self).channels()
    }
    fn total_frames(&self) -> Option<u64> {
        (**self).total_frames()
    }
    fn position(&self) -> u64 {
        (**self).position()
    }
    fn seek(&mut self, frame: u64) -> Result<()> {
        (**self).seek(frame)
    }
    fn next_block(&mut self) -> Result<Option<Vec<f32>>> {
        (**self).next_block()
    }
}

/// The legs of a conversation, one after the other.
pub struct Stitched {
    name: String,
    legs: Vec<Decoder>,
    /// Where each leg starts, in frames from the start of the first; one more: the end.
    starts: Vec<u64>,
    /// The leg being played (`legs.len()` when ended).
    cur: usize,
    /// Frames of the current leg given out (or sought to): each leg gives exactly its length,
    /// cut if it decodes longer, padded with silence if shorter, so the joins stay where
    /// [`Stitched::joins`] says.
    done: u64,
    /// Legs read from since they were last sought to their start.
    touched: Vec<bool>,
    rate: u32,
    channels: u16,
}

impl Stitched {
    /// Join `legs`, each with the length its metadata gives (in ms), used when its container
    /// gives none.
    pub fn new(legs: Vec<(Decoder, u64)>) -> Result<Stitched> {
        let Some(first) = legs.first() else {
            return Err(Error::Invalid("a conversation with no legs".into()));
        };
        let rate = first.0.sample_rate();
        let channels = legs.iter().map(|l| l.0.channels()).max().unwrap_or(1);
        let name = format!("conversation of {} legs", legs.len());
        let mut starts = vec![0u64];
        for (d, ms) in &legs {
            if d.sample_rate() != rate {
                return Err(Error::Audio {
                    file: name,
                    reason: format!(
                        "its legs have different sample rates ({} {} Hz, {} {} Hz): play the legs one by one",
                        first.0.file(),
                        rate,
                        d.file(),
                        d.sample_rate()
                    ),
                });
            }
            if d.channels() != channels && !(d.channels() == 1 && channels == 2) {
                return Err(Error::Audio {
                    file: name,
                    reason: format!(
                        "{} has {} channels and another leg {channels}: play the legs one by one",
                        d.file(),
                        d.channels()
                    ),
                });
            }
            let frames = d
                .total_frames()
                .unwrap_or_else(|| ms.saturating_mul(u64::from(rate)) / 1000);
            let last = *starts.last().expect("one at least");
            starts.push(last.saturating_add(frames));
        }
        let n = legs.len();
        Ok(Stitched {
            name,
            legs: legs.into_iter().map(|l| l.0).collect(),
            starts,
            cur: 0,
            done: 0,
            touched: vec![false; n],
            rate,
            channels,
        })
    }

    /// Where each leg after the first begins, in frames.
    pub fn joins(&self) -> Vec<u64> {
        self.starts[1..self.legs.len()].to_vec()
    }

    fn fit(&self, leg: usize, b: Vec<f32>) -> Vec<f32> {
        if self.legs[leg].channels() == self.channels {
            b
        } else {
            // A mono leg among stereo ones: on both channels.
            b.iter().flat_map(|&s| [s, s]).collect()
        }
    }
}

impl Playable for Stitched {
    fn file(&self) -> &str {
        &self.name
    }
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn channels(&self) -> u16 {
        self.channels
    }
    fn total_frames(&self) -> Option<u64> {
        self.starts.last().copied()
    }
    fn position(&self) -> u64 {
        match self.starts.get(self.cur) {
            Some(&start) if self.cur < self.legs.len() => start + self.done,
            _ => *self.starts.last().expect("one at least"),
        }
    }
    fn seek(&mut self, frame: u64) -> Result<()> {
        let total = *self.starts.last().expect("one at least");
        let frame = frame.min(total);
        // The leg holding the frame (a leg of no length is passed over); the end is the end of
        // the last leg.
        let leg = (0..self.legs.len())
            .find(|&i| frame < self.starts[i + 1])
            .unwrap_or(self.legs.len() - 1);
        self.cur = leg;
        for t in self.touched.iter_mut().skip(leg) {
            *t = true;
        }
        self.done = frame - self.starts[leg];
        self.legs[leg].seek(self.done)
    }
    fn next_block(&mut self) -> Result<Option<Vec<f32>>> {
        while self.cur < self.legs.len() {
            let i = self.cur;
            let len = self.starts[i + 1] - self.starts[i];
            let left = len.saturating_sub(self.done);
            if left > 0 {
                self.touched[i] = true;
                let block = match self.legs[i].next_block()? {
                    Some(b) => {
                        let ch = usize::from(self.legs[i].channels().max(1));
                        let frames = (b.len() / ch) as u64;
                        let keep = frames.min(left);
                        let mut b = b;
                        b.truncate(keep as usize * ch);
                        self.done += keep;
                        self.fit(i, b)
                    }
                    None => {
                        // Decoded short: silence up to the leg's length (at most a second at a time).
                        let pad = left.min(u64::from(self.rate.max(1)));
                        self.done += pad;
                        vec![0.0; pad as usize * usize::from(self.channels)]
                    }
                };
                if !block.is_empty() {
                    return Ok(Some(block));
                }
                continue;
            }
            self.cur += 1;
            self.done = 0;
            if let Some(next) = self.legs.get_mut(self.cur) {
                // Entered from the start: a leg read or sought before is sought back to it.
                if self.touched[self.cur] {
                    next.seek(0)?;
                }
            }
        }
        Ok(None)
    }
}
