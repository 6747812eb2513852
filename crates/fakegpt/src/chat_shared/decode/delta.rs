//! Turning the cumulative answer of each event into the new text.

/// Tracks what was already handed out and computes each event's new text.
///
/// Every event repeats the whole answer so far. When it extends what was
/// already yielded, the characters past that point are new. When it does not:
/// - an event that is a prefix of what was yielded (a stale or repeated
///   event) yields nothing and changes nothing;
/// - an event that diverges (the upstream revised earlier text) yields nothing
///   and becomes the new reference, so that text it later gains is yielded.
///   What was already yielded is never taken back, and no character is ever
///   split, since both texts are whole strings.
#[derive(Debug, Default)]
pub struct DeltaTracker {
    reference: String,
    yielded_any: bool,
}

impl DeltaTracker {
    /// A tracker that has yielded nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event's cumulative text and appends what is new to `out`.
    pub fn push(&mut self, cumulative: &str, out: &mut String) {
        if let Some(new) = cumulative.strip_prefix(self.reference.as_str()) {
            if !new.is_empty() {
                out.push_str(new);
                self.reference.push_str(new);
                self.yielded_any = true;
            }
        } else if !self.reference.starts_with(cumulative) {
            self.reference.clear();
            self.reference.push_str(cumulative);
        }
    }

    /// Appends `new` to the reference and to `out`: the caller knows the
    /// event extends the reference by exactly `new`.
    pub fn extend(&mut self, new: &str, out: &mut String) {
        if !new.is_empty() {
            out.push_str(new);
            self.reference.push_str(new);
            self.yielded_any = true;
        }
    }

    /// The text new events are compared with.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The length in bytes of the text new events are compared with.
    pub fn reference_len(&self) -> usize {
        self.reference.len()
    }

    /// Whether any text has been yielded.
    pub fn yielded_any(&self) -> bool {
        self.yielded_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[&str]) -> Vec<String> {
        let mut tracker = DeltaTracker::new();
        events
            .iter()
            .map(|e| {
                let mut out = String::new();
                tracker.push(e, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn extensions_yield_the_new_characters() {
        assert_eq!(
            run(&["", "Пр", "Приве", "Привет 👋"]),
            ["", "Пр", "иве", "т 👋"]
        );
    }

    #[test]
    fn stale_events_yield_nothing() {
        assert_eq!(
            run(&["Hello", "Hel", "Hello", "Hello!"]),
            ["Hello", "", "", "!"]
        );
    }

    #[test]
    fn divergent_revisions_yield_nothing_then_follow_the_revision() {
        assert_eq!(
            run(&["Hello wrld", "Hello world", "Hello world, hi"]),
            ["Hello wrld", "", ", hi"]
        );
        // Revising inside a multi-byte character never splits it.
        assert_eq!(run(&["aé", "aè", "aèz"]), ["aé", "", "z"]);
    }

    #[test]
    fn empty_text_yields_nothing() {
        let mut tracker = DeltaTracker::new();
        let mut out = String::new();
        tracker.push("", &mut out);
        assert!(!tracker.yielded_any());
    }
}
