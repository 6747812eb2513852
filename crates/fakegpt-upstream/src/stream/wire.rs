//! What both dialects write: SSE frames, message documents with their keys
//! in the real service's order, side events, and the clock.

use serde::Serialize;
use serde_json::Value;

/// The fixed `create_time` of every message unless fresh times are asked for.
pub(crate) const FIXED_TIME: f64 = 1_700_000_000.0;

/// The frames of one step, each a whole SSE event (ending in a blank line).
pub(crate) struct Frames {
    eol: &'static str,
    pub(crate) list: Vec<String>,
    /// `data: [DONE]` follows the list, in one write even when writes are
    /// split (as it always was).
    pub(crate) done: bool,
}

impl Frames {
    pub(crate) fn new(crlf: bool) -> Frames {
        Frames {
            eol: if crlf { "\r\n" } else { "\n" },
            list: Vec::new(),
            done: false,
        }
    }

    /// A frame of one `data:` line.
    pub(crate) fn data(&mut self, data: &str) {
        let eol = self.eol;
        self.list.push(format!("data: {data}{eol}{eol}"));
    }

    /// A frame with an `event:` line and one `data:` line.
    pub(crate) fn event(&mut self, event: &str, data: &str) {
        let eol = self.eol;
        self.list
            .push(format!("event: {event}{eol}data: {data}{eol}{eol}"));
    }

    /// A frame written as is; `{eol}` in `text` becomes the line ending.
    pub(crate) fn raw(&mut self, text: &str) {
        self.list.push(text.replace("{eol}", self.eol));
    }

    /// The frame that ends the stream, `data: [DONE]`, comes last.
    pub(crate) fn done(&mut self) {
        self.done = true;
    }

    /// The `data: [DONE]` frame.
    pub(crate) fn done_frame(&self) -> String {
        let eol = self.eol;
        format!("data: [DONE]{eol}{eol}")
    }
}

/// A JSON object with its keys in the order given; each value is JSON text
/// (see [`to_json`]).
pub(crate) fn object(pairs: &[(&str, String)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&to_json(key));
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
    out
}

/// A message's author.
#[derive(Serialize)]
pub(crate) struct Author {
    pub role: &'static str,
    pub name: Option<&'static str>,
    pub metadata: Value,
}

impl Author {
    pub(crate) fn new(role: &'static str) -> Author {
        Author {
            role,
            name: None,
            metadata: Value::Object(serde_json::Map::new()),
        }
    }
}

/// A message document, its keys in the order the real service writes them
/// (`create_time` before `content`).
#[derive(Serialize)]
pub(crate) struct Message<'a> {
    pub id: &'a str,
    pub author: Author,
    pub create_time: f64,
    pub update_time: Option<f64>,
    pub content: Value,
    pub status: &'static str,
    pub end_turn: Option<bool>,
    pub weight: f64,
    pub metadata: Value,
    pub recipient: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Option<&'static str>>,
}

/// What an event carries: a message (or none), the conversation, an error.
#[derive(Serialize)]
pub(crate) struct Envelope<'a, M: Serialize> {
    pub message: Option<M>,
    pub conversation_id: &'a str,
    pub error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'a str>,
}

/// The message an answer's stream fails with (the stream-error fault).
pub(crate) const STREAM_ERROR: &str = "Something went wrong while generating the response.";

/// `value` as JSON text (nothing here can fail to serialize; an empty
/// object if it somehow does).
pub(crate) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// Microseconds since the Unix epoch, now.
pub(crate) fn micros_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default()
}

/// The time now as a stamp: `<t:MICROSECONDS>` since the Unix epoch.
pub(crate) fn stamp() -> String {
    format!("<t:{}>", micros_now())
}

/// Send times for `create_time`: seconds with microseconds, later in every
/// call (a microsecond later than the last when the clock has not moved).
#[derive(Default)]
pub(crate) struct Clock {
    last: u128,
}

impl Clock {
    /// The next time, e.g. `1764000000.123456`.
    pub(crate) fn next(&mut self) -> f64 {
        let micros = micros_now().max(self.last + 1);
        self.last = micros;
        // Through the decimal text, so the float prints as those six digits.
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
            .parse()
            .unwrap_or(FIXED_TIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_keep_their_order_and_times_their_digits() {
        assert_eq!(
            object(&[
                ("type", to_json(&"x")),
                ("a", json!({"z": 1, "b": null}).to_string())
            ]),
            r#"{"type":"x","a":{"b":null,"z":1}}"#
        );
        let mut clock = Clock::default();
        let (first, second) = (clock.next(), clock.next());
        assert!(first < second);
        let text = json!(first).to_string();
        let (_, fraction) = text.split_once('.').unwrap();
        assert!(fraction.len() <= 6, "{text}");
    }
}
