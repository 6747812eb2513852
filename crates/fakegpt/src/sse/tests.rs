use proptest::prelude::*;

use super::*;

/// Every event of `chunks`, as (name, data) strings.
fn events(chunks: &[&[u8]], max: usize) -> Result<Vec<(String, String)>, TooLong> {
    let mut splitter = EventSplitter::new(max);
    let mut seen = Vec::new();
    let mut push = |event: Event<'_>| {
        seen.push((
            String::from_utf8_lossy(event.name).into_owned(),
            String::from_utf8_lossy(event.data).into_owned(),
        ));
        true
    };
    for chunk in chunks {
        splitter.feed(chunk, &mut push)?;
    }
    splitter.finish(&mut push)?;
    Ok(seen)
}

fn pair(name: &str, data: &str) -> (String, String) {
    (name.to_owned(), data.to_owned())
}

#[test]
fn fields_comments_and_line_endings() {
    let stream: &[u8] = b"\xEF\xBB\xBF: comment\r\n\
        data: one\n\n\
        event: delta\r\ndata:{\"p\":1}\r\n\r\n\
        id: 7\nretry: 10\nfoo: bar\ndata:  two spaces\n\n\
        data: first\ndata\ndata: third\n\n\
        event: lonely\n\n\
        data: [DONE]\n\n";
    let expected = vec![
        pair("", "one"),
        pair("delta", "{\"p\":1}"),
        pair("", " two spaces"),
        pair("", "first\n\nthird"),
        pair("", "[DONE]"),
    ];
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(events(&[a, b], 100).unwrap(), expected, "cut at {cut}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(events(&bytes, 100).unwrap(), expected);
}

#[test]
fn an_event_the_stream_ends_inside_still_counts() {
    assert_eq!(
        events(&[b"data: a\n\ndata: tail"], 100).unwrap(),
        vec![pair("", "a"), pair("", "tail")]
    );
    assert_eq!(events(&[b"data: x\r\n"], 100).unwrap(), vec![pair("", "x")]);
    assert_eq!(events(&[b": only a comment"], 100).unwrap(), vec![]);
}

#[test]
fn an_event_within_one_chunk_is_not_copied() {
    let chunk = b"data: borrowed\n\n";
    let mut splitter = EventSplitter::new(100);
    let mut at = None;
    splitter
        .feed(chunk, |event| {
            at = Some(event.data.as_ptr());
            true
        })
        .unwrap();
    assert_eq!(at, Some(chunk[6..].as_ptr()));
}

#[test]
fn long_lines_and_events_are_refused_without_growing() {
    assert_eq!(
        events(&[b"data: 1234567\n\n"], 13).unwrap(),
        vec![pair("", "1234567")]
    );
    assert!(events(&[b"data: 12345678\n\n"], 13).is_err());
    assert!(events(&[b"data: 1234", b"5678\n\n"], 13).is_err());
    // Several lines, each short enough, that add up to too much.
    assert!(events(&[b"data: 1234567\ndata: 1234567\n\n"], 13).is_err());
    let mut splitter = EventSplitter::new(4);
    assert!(splitter.feed(&[b'a'; 64], |_| true).is_err());
    assert!(splitter.partial.capacity() <= 64);
}

#[test]
fn stopping_early_is_honoured() {
    let mut splitter = EventSplitter::new(10);
    let mut seen = 0;
    splitter
        .feed(b"data: a\n\ndata: b\n\ndata: c\n\n", |_| {
            seen += 1;
            seen < 2
        })
        .unwrap();
    assert_eq!(seen, 2);
}

/// One event as a test writes it: name, data lines, and how it is framed.
#[derive(Debug, Clone)]
struct Written {
    name: Option<String>,
    lines: Vec<String>,
    crlf: bool,
    comment: bool,
    space: bool,
}

fn written() -> impl Strategy<Value = Written> {
    let text = "[a-z{}\":,é😀 ]{0,12}";
    (
        proptest::option::of("[a-z_]{1,8}"),
        proptest::collection::vec(text, 1..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(name, lines, crlf, comment, space)| Written {
            name,
            lines,
            crlf,
            comment,
            space,
        })
}

impl Written {
    fn bytes(&self) -> String {
        let end = if self.crlf { "\r\n" } else { "\n" };
        let sep = if self.space { ": " } else { ":" };
        let mut out = String::new();
        if self.comment {
            out.push_str(&format!(": ping{end}"));
        }
        if let Some(name) = &self.name {
            out.push_str(&format!("event{sep}{name}{end}"));
        }
        for line in &self.lines {
            // A value that starts with a space needs the one the parser drops.
            let sep = if line.starts_with(' ') { ": " } else { sep };
            out.push_str(&format!("data{sep}{line}{end}"));
        }
        out.push_str(end);
        out
    }

    fn expected(&self) -> (String, String) {
        (self.name.clone().unwrap_or_default(), self.lines.join("\n"))
    }
}

proptest! {
    /// Any events, framed any way, cut anywhere: the events that went in.
    #[test]
    fn any_stream_cut_anywhere(
        written in proptest::collection::vec(written(), 0..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let body: String = written.iter().map(Written::bytes).collect();
        let body = body.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for at in points {
            chunks.push(&body[from..at]);
            from = at;
        }
        chunks.push(&body[from..]);
        let expected: Vec<_> = written.iter().map(Written::expected).collect();
        prop_assert_eq!(events(&chunks, 1 << 16).unwrap(), expected);
    }
}
