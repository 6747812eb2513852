//! [`Decoding`]: the [`Decoder`] as a `Stream` adapter over a stream of
//! body chunks.
//!
//! Written by hand rather than as a generator: a fast answer is thousands
//! of small chunks, each one poll of this adapter, and a generator's
//! machinery (its yield slot, the nested polls of a `select!`) cost more
//! per chunk than decoding a delta frame.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use super::{Decoder, Ids};
use crate::answer::Chunk;
use crate::error::Error;

/// New answer text (and reasoning, and the finish reason) from a stream of
/// body chunks; see [`super::decode_reporting`].
pub struct Decoding<S, R> {
    body: Pin<Box<S>>,
    decoder: Decoder,
    /// Called with where the answer lives, once, when the body ended well.
    report: Option<R>,
    /// Chunks decoded and not yet handed out (at most three: reasoning,
    /// text or an error, the finish reason).
    ready: VecDeque<Result<Chunk, Error>>,
    /// Whether nothing more is read from the body.
    ended: bool,
}

impl<S, R> Decoding<S, R>
where
    S: Stream<Item = Result<Bytes, Error>>,
    R: FnOnce(Ids),
{
    /// Decodes `body` with `decoder`, calling `report` at its good end.
    pub fn new(body: S, decoder: Decoder, report: R) -> Self {
        Decoding {
            body: Box::pin(body),
            decoder,
            report: Some(report),
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// Decodes one chunk of the body; the common case, text alone, is
    /// returned rather than queued.
    fn chunk(&mut self, bytes: &[u8]) -> Option<Result<Chunk, Error>> {
        let text = self.decoder.feed(bytes);
        let reasoning = self.decoder.take_reasoning();
        if self.decoder.is_done() {
            self.ended = true;
        }
        let text = match text {
            Ok(text) if reasoning.is_empty() && !self.ended => {
                return (!text.is_empty()).then_some(Ok(Chunk::Text(text)));
            }
            other => other,
        };
        if self.queue(reasoning, text) && self.ended {
            self.end();
        }
        None
    }

    /// Queues new reasoning, then new text or the error that ends the
    /// stream (no report then); whether the stream may go on to its end.
    fn queue(&mut self, reasoning: String, text: Result<String, Error>) -> bool {
        if !reasoning.is_empty() {
            self.ready.push_back(Ok(Chunk::Reasoning(reasoning)));
        }
        match text {
            Ok(text) => {
                if !text.is_empty() {
                    self.ready.push_back(Ok(Chunk::Text(text)));
                }
                true
            }
            Err(err) => {
                self.ready.push_back(Err(err));
                self.ended = true;
                self.report = None;
                false
            }
        }
    }

    /// The body is over (or `[DONE]` came): what the decoder still holds,
    /// the report, then the finish reason.
    fn end(&mut self) {
        self.ended = true;
        let text = self.decoder.finish();
        let reasoning = self.decoder.take_reasoning();
        if !self.queue(reasoning, text) {
            return;
        }
        if let Some(report) = self.report.take() {
            report(self.decoder.ids());
        }
        if let Some(reason) = self.decoder.finish_reason() {
            self.ready.push_back(Ok(Chunk::Finish(reason)));
        }
    }
}

impl<S, R> Stream for Decoding<S, R>
where
    S: Stream<Item = Result<Bytes, Error>>,
    R: FnOnce(Ids),
{
    type Item = Result<Chunk, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the body is boxed).
        let this = self.get_mut();
        loop {
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => {
                    if let Some(item) = this.chunk(&bytes) {
                        return Poll::Ready(Some(item));
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    // An error from the body ends the stream.
                    this.ended = true;
                    this.report = None;
                    return Poll::Ready(Some(Err(err)));
                }
                Poll::Ready(None) => this.end(),
            }
        }
    }
}

impl<S, R> Unpin for Decoding<S, R> {}
