//! Splitting a byte stream into lines, whatever the read boundaries.

/// Splits bytes that arrive in arbitrary chunks into lines.
///
/// Lines end at `\n`; a `\r` just before it is dropped. A line cut between two
/// chunks is kept until its end arrives; complete lines inside one chunk are
/// handed out without copying. A pending partial line longer than `max_line`
/// bytes is an error, so memory stays bounded whatever the peer sends.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    max_line: usize,
}

/// A line grew past the configured maximum before its end arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// The maximum line length in bytes.
    pub max: usize,
}

impl LineSplitter {
    /// A splitter that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            max_line,
        }
    }

    /// Feeds one chunk, calling `on_line` with each line it completes
    /// (without the line ending). `on_line` returns `false` to stop early.
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut on_line: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), LineTooLong> {
        if !self.partial.is_empty() {
            let Some(end) = memchr::memchr(b'\n', chunk) else {
                return self.keep(chunk);
            };
            self.keep(&chunk[..end])?;
            let line = std::mem::take(&mut self.partial);
            let trimmed = trim_cr(&line);
            if trimmed.len() > self.max_line {
                return Err(LineTooLong { max: self.max_line });
            }
            let go_on = on_line(trimmed);
            // Reuse the allocation for the next partial line.
            self.partial = line;
            self.partial.clear();
            if !go_on {
                return Ok(());
            }
            chunk = &chunk[end + 1..];
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let line = trim_cr(&chunk[start..end]);
            if line.len() > self.max_line {
                return Err(LineTooLong { max: self.max_line });
            }
            if !on_line(line) {
                return Ok(());
            }
            start = end + 1;
        }
        self.keep(&chunk[start..])
    }

    /// Hands out what is left after the last line ending (a final line with
    /// no `\n`), if anything.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        if self.partial.is_empty() {
            return None;
        }
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }

    fn keep(&mut self, bytes: &[u8]) -> Result<(), LineTooLong> {
        // One byte of slack for a `\r` that the line ending will drop.
        if self.partial.len() + bytes.len() > self.max_line.saturating_add(1) {
            self.partial.clear();
            return Err(LineTooLong { max: self.max_line });
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]], max: usize) -> Result<Vec<String>, LineTooLong> {
        let mut splitter = LineSplitter::new(max);
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, |l| {
                lines.push(String::from_utf8(l.to_vec()).unwrap());
                true
            })?;
        }
        if let Some(rest) = splitter.finish() {
            lines.push(String::from_utf8(rest).unwrap());
        }
        Ok(lines)
    }

    #[test]
    fn lf_and_crlf_lines_across_chunks() {
        let input: &[u8] = b"a\r\nbb\n\r\nccc\r";
        let expected = vec!["a", "bb", "", "ccc"];
        for cut in 0..=input.len() {
            let (x, y) = input.split_at(cut);
            assert_eq!(split_all(&[x, y], 100).unwrap(), expected, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(split_all(&bytes, 100).unwrap(), expected);
    }

    #[test]
    fn long_lines_are_refused_without_growing() {
        assert_eq!(split_all(&[b"12345\n"], 5).unwrap(), vec!["12345"]);
        assert_eq!(split_all(&[b"12345\r\n"], 5).unwrap(), vec!["12345"]);
        assert!(split_all(&[b"123456\n"], 5).is_err());
        assert!(split_all(&[b"123", b"456", b"\n"], 5).is_err());
        let mut splitter = LineSplitter::new(4);
        assert!(splitter.feed(b"aaaaaaaaaaaaaaaa", |_| true).is_err());
        assert!(splitter.partial.capacity() <= 16);
    }

    #[test]
    fn stopping_early_is_honoured() {
        let mut splitter = LineSplitter::new(10);
        let mut seen = 0;
        splitter
            .feed(b"a\nb\nc\n", |_| {
                seen += 1;
                seen < 2
            })
            .unwrap();
        assert_eq!(seen, 2);
    }
}
