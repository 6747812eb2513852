//! A `delta` frame as read from its event: by the [`flat`] scanner when it
//! is plain (most are), else by the JSON parser, borrowing its strings
//! where it can.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::flat;

/// Reads a frame, or `None` when the data is not one (it is then ignored).
pub fn read(data: &[u8]) -> Option<Frame<'_>> {
    match flat::read(data) {
        Some(flat) => Some(Frame {
            p: flat.p.map(Cow::Borrowed),
            o: flat.o.map(Cow::Borrowed),
            v: flat.v.map(|text| FrameValue::Text(Cow::Borrowed(text))),
            c: flat.c,
        }),
        None => serde_json::from_slice(data).ok(),
    }
}

/// A `delta` frame, borrowed from the event where it can be.
#[derive(Deserialize)]
pub struct Frame<'a> {
    /// The path; `None`: the last frame's.
    #[serde(default, borrow)]
    pub p: Option<Cow<'a, str>>,
    /// The operation; `None`: the last frame's.
    #[serde(default, borrow)]
    pub o: Option<Cow<'a, str>>,
    /// The value (`null` too); `None`: there is none.
    #[serde(default, borrow, deserialize_with = "present")]
    pub v: Option<FrameValue<'a>>,
    /// The message document; `None`: the current one.
    #[serde(default)]
    pub c: Option<u64>,
}

/// `v` as given, `null` included: an `Option` field would take `null` for
/// no value, and a `replace` with `null` for nothing to do.
fn present<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<FrameValue<'a>>, D::Error> {
    FrameValue::deserialize(deserializer).map(Some)
}

/// A frame's `v`: a string (what most frames append), read without
/// building a JSON value, or any other value.
pub enum FrameValue<'a> {
    /// A string.
    Text(Cow<'a, str>),
    /// Anything else.
    Other(Value),
}

impl FrameValue<'_> {
    /// As a JSON value.
    pub fn into_value(self) -> Value {
        match self {
            FrameValue::Text(text) => Value::String(text.into_owned()),
            FrameValue::Other(value) => value,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FrameValue<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FrameValueVisitor)
    }
}

struct FrameValueVisitor;

impl<'de> serde::de::Visitor<'de> for FrameValueVisitor {
    type Value = FrameValue<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(FrameValue::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(FrameValue::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(FrameValue::Text(Cow::Owned(text)))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(FrameValue::Other(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(FrameValue::Other(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(FrameValue::Other(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(FrameValue::Other(Value::from(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(FrameValue::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(FrameValue::Other(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(FrameValue::Other)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(FrameValue::Other)
    }
}
