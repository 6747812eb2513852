//! [`Answer`]: what a provider's chat resolves to — the first chunk of text
//! already in hand, then the rest as a stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};

use crate::error::Error;
use crate::handle::Conversation;

/// Why an answer ended, when the upstream says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishReason {
    /// The model finished its answer.
    Stop,
    /// The answer was cut at the model's length limit.
    Length,
}

impl FinishReason {
    /// The name OpenAI's API gives it (`stop`, `length`).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// One item of an answer's stream, as a provider produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk {
    /// New answer text.
    Text(String),
    /// Why the answer ended (the last item, when the upstream says).
    Finish(FinishReason),
    /// New reasoning: what the model thought before answering, never part
    /// of the answer's text.
    Reasoning(String),
    /// The conversation kept on the upstream that the answer ended on
    /// (after the last text, when the conversation is kept).
    Conversation(Box<Conversation>),
}

/// A boxed stream of chunks, as [`Answer::new`] takes it.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, Error>> + Send + 'static>>;

/// An answer being received.
///
/// A provider's `chat` resolves to an `Answer` only once the first text has
/// arrived, so every failure before any text is an error of that future —
/// which is what lets a server choose an HTTP status, and a retry happen
/// without duplicating text. The first chunk is in hand
/// ([`first`](Answer::first)); as a [`Stream`] the answer yields it, then
/// each further piece of text as it arrives. After the stream ends,
/// [`finish_reason`](Answer::finish_reason) tells why, if the upstream
/// said. Dropping the answer cancels the request behind it.
pub struct Answer {
    /// Reasoning that came before the first text, until handed out.
    reasoning: Option<String>,
    first: Option<String>,
    rest: ChunkStream,
    finish: Option<FinishReason>,
    conversation: Option<Conversation>,
    ended: bool,
}

impl Answer {
    /// An answer whose text starts with `first`, followed by `rest`.
    pub fn new(
        first: impl Into<String>,
        rest: impl Stream<Item = Result<Chunk, Error>> + Send + 'static,
    ) -> Self {
        Answer {
            reasoning: None,
            first: Some(first.into()),
            rest: Box::pin(rest),
            finish: None,
            conversation: None,
            ended: false,
        }
    }

    /// Sets the reasoning that came before the first text, which
    /// [`next_chunk`](Answer::next_chunk) hands out before it.
    pub fn with_reasoning(mut self, reasoning: String) -> Self {
        self.reasoning = (!reasoning.is_empty()).then_some(reasoning);
        self
    }

    /// The next text or reasoning, in the order they came: what a caller
    /// that shows reasoning reads instead of the text-only [`Stream`].
    /// Never yields [`Chunk::Finish`] (see
    /// [`finish_reason`](Answer::finish_reason)), [`Chunk::Conversation`]
    /// (see [`conversation`](Answer::conversation)) nor empty text.
    pub async fn next_chunk(&mut self) -> Option<Result<Chunk, Error>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Chunk, Error>>> {
        if let Some(reasoning) = self.reasoning.take() {
            return Poll::Ready(Some(Ok(Chunk::Reasoning(reasoning))));
        }
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Chunk::Text(first))));
        }
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            match self.rest.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => self.ended = true,
                Poll::Ready(Some(Ok(Chunk::Finish(reason)))) => self.finish = Some(reason),
                Poll::Ready(Some(Ok(Chunk::Conversation(kept)))) => self.conversation = Some(*kept),
                Poll::Ready(Some(Ok(Chunk::Text(text)))) if text.is_empty() => {}
                Poll::Ready(Some(Ok(Chunk::Reasoning(text)))) if text.is_empty() => {}
                Poll::Ready(Some(Ok(chunk))) => return Poll::Ready(Some(Ok(chunk))),
                Poll::Ready(Some(Err(err))) => {
                    // An error ends the answer; nothing after it is read.
                    self.ended = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }

    /// The first chunk of text, until the stream has handed it out.
    pub fn first(&self) -> Option<&str> {
        self.first.as_deref()
    }

    /// Why the answer ended, once the stream has ended and if the upstream
    /// said.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish
    }

    /// The conversation kept on the upstream that the answer ended on,
    /// once the stream has ended: what a next request continues. `None`
    /// for a temporary chat, or an answer that failed or was not read to
    /// its end.
    pub fn conversation(&self) -> Option<&Conversation> {
        self.conversation.as_ref()
    }

    /// Receives the rest of the answer and returns its whole text.
    pub async fn text(mut self) -> Result<String, Error> {
        self.read_text().await
    }

    /// Receives the rest of the answer and returns its text (what the
    /// stream had not yet yielded), keeping the answer for its
    /// [`finish_reason`](Answer::finish_reason) and
    /// [`conversation`](Answer::conversation).
    pub async fn read_text(&mut self) -> Result<String, Error> {
        let mut text = String::new();
        while let Some(chunk) = self.next().await {
            text.push_str(&chunk?);
        }
        Ok(text)
    }
}

impl Stream for Answer {
    type Item = Result<String, Error>;

    /// The answer's text; reasoning is skipped (see
    /// [`next_chunk`](Answer::next_chunk)).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return match this.poll_chunk(cx) {
                Poll::Ready(Some(Ok(Chunk::Text(text)))) => Poll::Ready(Some(Ok(text))),
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("first", &self.first)
            .field("finish", &self.finish)
            .field("conversation", &self.conversation)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn answer(rest: Vec<Result<Chunk, Error>>) -> Answer {
        Answer::new("Hel", futures_util::stream::iter(rest))
    }

    #[tokio::test]
    async fn the_first_chunk_then_the_rest_then_the_finish_reason() {
        let mut a = answer(vec![
            Ok(Chunk::Text("lo".into())),
            Ok(Chunk::Text(String::new())),
            Ok(Chunk::Finish(FinishReason::Length)),
        ]);
        assert_eq!(a.first(), Some("Hel"));
        assert_eq!(a.next().await.unwrap().unwrap(), "Hel");
        assert_eq!(a.first(), None);
        assert_eq!(a.next().await.unwrap().unwrap(), "lo");
        assert!(a.next().await.is_none());
        assert_eq!(a.finish_reason(), Some(FinishReason::Length));
        assert_eq!(FinishReason::Length.as_str(), "length");
    }

    #[tokio::test]
    async fn reasoning_comes_apart_from_the_text_in_its_order() {
        let rest = vec![
            Ok(Chunk::Reasoning("more thought".into())),
            Ok(Chunk::Text("lo".into())),
            Ok(Chunk::Reasoning(String::new())),
            Ok(Chunk::Finish(FinishReason::Stop)),
        ];
        let mut a = answer(rest.clone()).with_reasoning("thought".into());
        let mut seen = Vec::new();
        while let Some(chunk) = a.next_chunk().await {
            seen.push(chunk.unwrap());
        }
        assert_eq!(
            seen,
            [
                Chunk::Reasoning("thought".into()),
                Chunk::Text("Hel".into()),
                Chunk::Reasoning("more thought".into()),
                Chunk::Text("lo".into()),
            ]
        );
        assert_eq!(a.finish_reason(), Some(FinishReason::Stop));
        // As a stream of text, the reasoning is skipped.
        let text = answer(rest).with_reasoning("thought".into()).text().await;
        assert_eq!(text.unwrap(), "Hello");
    }

    #[tokio::test]
    async fn text_collects_or_fails_and_errors_end_the_stream() {
        let whole = answer(vec![Ok(Chunk::Text("lo".into()))]).text().await;
        assert_eq!(whole.unwrap(), "Hello");
        let broken = || Err(Error::new(ErrorKind::Connect, "broke off"));
        let err = answer(vec![broken()]).text().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect);
        let mut a = answer(vec![broken(), Ok(Chunk::Text("never".into()))]);
        assert!(a.next().await.unwrap().is_ok());
        assert!(a.next().await.unwrap().is_err());
        assert!(a.next().await.is_none());
    }
}
