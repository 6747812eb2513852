//! Server-sent events: bytes that arrive in arbitrary chunks → events.
//!
//! One parser for every event stream the project reads: the upstream's
//! answer (both dialects), and the gateway's OpenAI stream where the CLI's
//! load bench and the tests read it back. It follows the WHATWG
//! event-stream rules a client needs: lines end at `\n` or `\r\n`; a blank
//! line dispatches the event; `data:` lines of one event are joined with
//! `\n`; `event:` names it; comments (`:`) and other fields (`id`, `retry`,
//! unknown names) are ignored; one space after the colon is dropped; a
//! leading byte-order mark is skipped. Lines ending in a lone `\r`, which
//! the standard also allows and no server of this kind sends, are not
//! split there.
//!
//! It is built for the upstream's cumulative stream, where one event can be
//! hundreds of kilobytes: an event whose single `data:` line lies within
//! one chunk is handed out without copying, and only events cut between
//! chunks are assembled in a buffer, bounded by `max` bytes so that memory
//! stays bounded whatever the peer sends. An event the stream ends inside
//! (no blank line after it) is still dispatched by [`EventSplitter::finish`](crate::sse::EventSplitter::finish):
//! a server that closes right after its last line loses nothing.

/// One event: its name (empty when it has no `event:` line, which the
/// standard reads as `message`) and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `event:` field, empty if there was none.
    pub name: &'a [u8],
    /// The `data:` lines, joined with `\n`.
    pub data: &'a [u8],
}

/// A line or an event grew past the configured maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong {
    /// The maximum in bytes.
    pub max: usize,
}

/// Where the data of the event being read is.
#[derive(Debug, Clone, Copy)]
enum Data {
    /// No `data:` line yet.
    None,
    /// One `data:` line, at this range of the current chunk.
    InChunk(usize, usize),
    /// One `data:` line assembled in `EventSplitter::partial`, its value
    /// from this offset.
    InPartial(usize),
    /// In `EventSplitter::data`, from this offset.
    Buffered(usize),
}

/// Splits an event stream into events, whatever the read boundaries.
#[derive(Debug)]
pub struct EventSplitter {
    /// A line cut between chunks.
    partial: Vec<u8>,
    /// The event's name.
    name: Vec<u8>,
    /// The event's data when it is not borrowed from the chunk.
    data: Vec<u8>,
    pending: Data,
    max: usize,
    /// Whether the first line has been read (only it may start with a
    /// byte-order mark).
    started: bool,
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl EventSplitter {
    /// A splitter that refuses lines and events longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        EventSplitter {
            partial: Vec::new(),
            name: Vec::new(),
            data: Vec::new(),
            pending: Data::None,
            max,
            started: false,
        }
    }

    /// Feeds one chunk, calling `on_event` with each event it completes.
    /// `on_event` returns `false` to stop early (the rest of the chunk is
    /// then dropped).
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut on_event: impl FnMut(Event<'_>) -> bool,
    ) -> Result<(), TooLong> {
        if !self.partial.is_empty() {
            let Some(end) = memchr::memchr(b'\n', chunk) else {
                return self.keep(chunk);
            };
            self.keep(&chunk[..end])?;
            if self.partial.last() == Some(&b'\r') {
                self.partial.pop();
            }
            let go_on = self.partial_line(&mut on_event)?;
            if !go_on {
                return Ok(());
            }
            chunk = &chunk[end + 1..];
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let line_end = if end > start && chunk[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            if !self.chunk_line(chunk, start, line_end, &mut on_event)? {
                return Ok(());
            }
            start = end + 1;
        }
        // Data borrowed from this chunk, or left in the partial line's
        // buffer, moves to the data buffer before the next line comes.
        match self.pending {
            Data::InChunk(from, to) => {
                self.data.clear();
                self.data.extend_from_slice(&chunk[from..to]);
                self.pending = Data::Buffered(0);
            }
            Data::InPartial(from) => {
                std::mem::swap(&mut self.partial, &mut self.data);
                self.partial.clear();
                self.pending = Data::Buffered(from);
            }
            Data::None | Data::Buffered(_) => {}
        }
        self.keep(&chunk[start..])
    }

    /// Ends the stream: reads a last line that had no line ending and
    /// dispatches the event it ends inside, if it has data.
    pub fn finish(&mut self, mut on_event: impl FnMut(Event<'_>) -> bool) -> Result<(), TooLong> {
        if !self.partial.is_empty() {
            if self.partial.last() == Some(&b'\r') {
                self.partial.pop();
            }
            if !self.partial_line(&mut on_event)? {
                return Ok(());
            }
        }
        self.dispatch(&[], &mut on_event);
        self.partial.clear();
        Ok(())
    }

    /// One line of the current chunk, at `start..end`.
    fn chunk_line(
        &mut self,
        chunk: &[u8],
        start: usize,
        end: usize,
        on_event: &mut impl FnMut(Event<'_>) -> bool,
    ) -> Result<bool, TooLong> {
        let start = start + bom(&mut self.started, &chunk[start..end]);
        let line = &chunk[start..end];
        if line.len() > self.max {
            return Err(self.too_long());
        }
        match field(line) {
            Field::Blank => return Ok(self.dispatch(chunk, on_event)),
            Field::Data(at) => match self.pending {
                Data::None => self.pending = Data::InChunk(start + at, end),
                _ => self.append(chunk, &line[at..])?,
            },
            Field::Event(at) => self.set_name(&line[at..]),
            Field::Other => {}
        }
        Ok(true)
    }

    /// The line assembled in `partial` from several chunks. A `data:` line
    /// that starts an event stays there until the event is dispatched.
    fn partial_line(
        &mut self,
        on_event: &mut impl FnMut(Event<'_>) -> bool,
    ) -> Result<bool, TooLong> {
        if self.partial.len() > self.max {
            return Err(self.too_long());
        }
        let bom = bom(&mut self.started, &self.partial);
        let line = &self.partial[bom..];
        let go_on = match field(line) {
            Field::Blank => self.dispatch(&[], on_event),
            Field::Data(at) if matches!(self.pending, Data::None) => {
                self.pending = Data::InPartial(bom + at);
                return Ok(true);
            }
            Field::Data(at) => {
                let value = std::mem::take(&mut self.partial);
                let result = self.append(&[], &value[bom + at..]);
                self.partial = value;
                result?;
                true
            }
            Field::Event(at) => {
                self.name.clear();
                self.name.extend_from_slice(&line[at..]);
                true
            }
            Field::Other => true,
        };
        self.partial.clear();
        Ok(go_on)
    }

    /// Adds a further `data:` line's value to the event's data.
    fn append(&mut self, chunk: &[u8], value: &[u8]) -> Result<(), TooLong> {
        match self.pending {
            Data::InChunk(from, to) => {
                self.data.clear();
                self.data.extend_from_slice(&chunk[from..to]);
            }
            Data::InPartial(from) => {
                self.data.clear();
                self.data.extend_from_slice(&self.partial[from..]);
                self.partial.clear();
            }
            Data::Buffered(from) => {
                self.data.drain(..from);
            }
            Data::None => self.data.clear(),
        }
        self.pending = Data::Buffered(0);
        if self.data.len() + 1 + value.len() > self.max {
            self.pending = Data::None;
            self.data.clear();
            return Err(self.too_long());
        }
        self.data.push(b'\n');
        self.data.extend_from_slice(value);
        Ok(())
    }

    fn set_name(&mut self, name: &[u8]) {
        self.name.clear();
        self.name.extend_from_slice(name);
    }

    /// A blank line: hands out the event if it has data, and starts the
    /// next one. Returns what `on_event` said.
    fn dispatch(&mut self, chunk: &[u8], on_event: &mut impl FnMut(Event<'_>) -> bool) -> bool {
        let data = match self.pending {
            Data::None => None,
            Data::InChunk(from, to) => Some(&chunk[from..to]),
            Data::InPartial(from) => Some(&self.partial[from..]),
            Data::Buffered(from) => Some(&self.data[from..]),
        };
        let go_on = match data {
            Some(data) => on_event(Event {
                name: &self.name,
                data,
            }),
            None => true,
        };
        if let Data::InPartial(_) = std::mem::replace(&mut self.pending, Data::None) {
            self.partial.clear();
        }
        self.name.clear();
        go_on
    }

    fn keep(&mut self, bytes: &[u8]) -> Result<(), TooLong> {
        // One byte of slack for a `\r` that the line ending will drop.
        if self.partial.len() + bytes.len() > self.max.saturating_add(1) {
            self.partial = Vec::new();
            return Err(self.too_long());
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }

    fn too_long(&self) -> TooLong {
        TooLong { max: self.max }
    }
}

/// How many bytes of byte-order mark start `line`: none but on the
/// stream's first line (`started` says whether it has been read).
fn bom(started: &mut bool, line: &[u8]) -> usize {
    if std::mem::replace(started, true) || !line.starts_with(BOM) {
        0
    } else {
        BOM.len()
    }
}

/// What a line is, and where its value starts.
enum Field {
    Blank,
    Data(usize),
    Event(usize),
    Other,
}

fn field(line: &[u8]) -> Field {
    if line.is_empty() {
        return Field::Blank;
    }
    // The two fields a stream is made of, without a search for the colon.
    if let Some(value) = line.strip_prefix(b"data:") {
        return Field::Data(line.len() - value.len() + usize::from(value.first() == Some(&b' ')));
    }
    if let Some(value) = line.strip_prefix(b"event:") {
        return Field::Event(line.len() - value.len() + usize::from(value.first() == Some(&b' ')));
    }
    let (name, value_at) = match memchr::memchr(b':', line) {
        Some(0) => return Field::Other,
        Some(colon) => {
            let skip = usize::from(line.get(colon + 1) == Some(&b' '));
            (&line[..colon], colon + 1 + skip)
        }
        None => (line, line.len()),
    };
    match name {
        b"data" => Field::Data(value_at),
        b"event" => Field::Event(value_at),
        _ => Field::Other,
    }
}

#[cfg(test)]
mod tests;
