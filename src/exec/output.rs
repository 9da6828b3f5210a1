//! A bounded output buffer: keeps the first `head` and last `tail` bytes, counts the rest.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct CappedOutput {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_max: usize,
    tail_max: usize,
    total: u64,
}

impl CappedOutput {
    pub fn new(head_max: usize, tail_max: usize) -> Self {
        CappedOutput {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_max,
            tail_max,
            total: 0,
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.head_max - self.head.len();
        let take = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..take]);
        bytes = &bytes[take..];
        if self.tail_max == 0 || bytes.is_empty() {
            return;
        }
        if bytes.len() >= self.tail_max {
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_max..]);
        } else {
            let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.tail_max);
            self.tail.drain(..overflow);
            self.tail.extend(bytes);
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The text (lossy UTF-8) with a `[… N bytes omitted …]` marker, and whether bytes were lost.
    pub fn finish(self) -> (String, bool) {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let omitted = self.total - kept;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if omitted > 0 {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("[… {omitted} bytes omitted …]\n"));
        }
        let (a, b) = self.tail.as_slices();
        let tail = [a, b].concat();
        text.push_str(&String::from_utf8_lossy(&tail));
        (text, omitted > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut o = CappedOutput::new(12, 12);
        o.push(b"hello ");
        o.push(b"world, all here");
        assert_eq!(o.finish(), ("hello world, all here".to_string(), false));
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let mut o = CappedOutput::new(4, 4);
        for chunk in [&b"abcdef"[..], b"0123456789", b"xyz"] {
            o.push(chunk);
        }
        assert_eq!(o.total(), 19);
        let (text, truncated) = o.finish();
        assert!(truncated);
        assert_eq!(text, "abcd\n[… 11 bytes omitted …]\n9xyz");
    }

    #[test]
    fn memory_stays_bounded() {
        let mut o = CappedOutput::new(100, 100);
        for _ in 0..10_000 {
            o.push(&[b'x'; 1000]);
        }
        assert!(o.head.len() <= 100 && o.tail.len() <= 100);
        assert_eq!(o.total(), 10_000_000);
    }
}
