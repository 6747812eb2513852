//! What a turn's stream sends, step by step, whatever the dialect: the
//! answer cut into events, the faults, the noise, the end.

use crate::config::Config;

use super::wire::{self, to_json, Frames};
use super::{legacy, v1, StreamFault};

/// The ids a turn's events carry.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    /// The conversation's.
    pub conversation: String,
    /// The answer message's.
    pub message: String,
}

/// Why an answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    /// It is whole.
    Stop,
    /// It was cut at its length limit.
    MaxTokens,
}

/// One answer event: its number, its new text, the text so far, and how
/// it ends if it is the last.
pub(crate) struct AnswerEvent<'a> {
    pub n: usize,
    pub piece: &'a str,
    pub so_far: &'a str,
    pub finish: Option<Finish>,
}

/// How a dialect writes each part of a turn.
pub(crate) trait Speaker: Send {
    /// What opens the stream, before anything else.
    fn header(&mut self, _out: &mut Frames) {}
    /// What comes before the answer.
    fn prelude(&mut self, _out: &mut Frames) {}
    /// Comments and events that carry no answer, before answer event `n`.
    fn noise(&mut self, n: usize, out: &mut Frames);
    /// Lines that are not JSON.
    fn garbage(&mut self, out: &mut Frames);
    /// One answer event.
    fn answer(&mut self, event: &AnswerEvent<'_>, out: &mut Frames);
    /// The error the stream fails with (the stream-error fault).
    fn error(&mut self, out: &mut Frames);
    /// What follows the last answer event, before `[DONE]`.
    fn end(&mut self, _out: &mut Frames) {}
}

/// What to answer, and how.
pub(crate) struct Answer {
    /// The user's prompt.
    pub prompt: String,
    /// The whole reply to it.
    pub reply: String,
    /// The conversation's id, as the events carry it.
    pub conversation_id: String,
    /// The answer message's id.
    pub message_id: String,
    /// The model asked for.
    pub model: String,
    /// The id of the user's message.
    pub user_message_id: String,
    /// Delta-encoded (`v1`) rather than legacy.
    pub v1: bool,
}

/// One thing for the stream to do.
pub(super) enum Step {
    /// Send these frames.
    Write(Frames),
    /// Wait until answer event `n` is due.
    Wait(usize),
    /// Drop the connection.
    Disconnect,
    /// Stop sending, but keep the connection open.
    Stall,
    /// End the body; `completed` if it ended with `[DONE]`.
    End { completed: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    /// Answer event `n` is next: check the faults, then wait for it.
    Due(usize),
    /// Answer event `n` is due: send it.
    Send(usize),
    Ended {
        completed: bool,
    },
}

/// What a turn's stream sends, step by step, in either dialect.
pub(super) struct Script {
    speaker: Box<dyn Speaker>,
    ids: Ids,
    fault: StreamFault,
    crlf: bool,
    noise: bool,
    stamp: bool,
    /// The answer's text (the reply, or its start when cut short).
    text: String,
    finish: Finish,
    /// Where each answer event's text ends in `text`.
    ends: Vec<usize>,
    /// The answer so far, as sent.
    sent: String,
    phase: Phase,
}

impl Script {
    pub(super) fn new(config: &Config, answer: Answer, ids: Ids, fault: StreamFault) -> Script {
        let step = config.chars_per_event.max(1);
        let (text, finish) = match config.finish_after {
            Some(limit) if answer.reply.chars().nth(limit).is_some() => (
                answer.reply.chars().take(limit).collect(),
                Finish::MaxTokens,
            ),
            _ => (answer.reply, Finish::Stop),
        };
        // Every `step`-th character's end, and the text's, so each event
        // adds whole characters; one (empty) event if there is no text.
        let mut ends: Vec<usize> = text
            .char_indices()
            .skip(step)
            .step_by(step)
            .map(|(i, _)| i)
            .collect();
        ends.push(text.len());
        let speaker: Box<dyn Speaker> = if answer.v1 {
            let turn = v1::Turn {
                prompt: answer.prompt,
                user_message_id: answer.user_message_id,
                model: answer.model,
                reasoning: config.reasoning,
                step,
            };
            Box::new(v1::V1::new(ids.clone(), turn, config.fresh_times))
        } else {
            Box::new(legacy::Legacy::new(ids.clone(), config.fresh_times))
        };
        Script {
            speaker,
            ids,
            fault,
            crlf: config.crlf,
            noise: config.noise,
            stamp: config.stamp,
            text,
            finish,
            ends,
            sent: String::new(),
            phase: Phase::Start,
        }
    }

    pub(super) fn next(&mut self) -> Step {
        let mut out = Frames::new(self.crlf);
        match self.phase {
            Phase::Start => {
                self.speaker.header(&mut out);
                if let StreamFault::Oversized(bytes) = self.fault {
                    out.data(&"x".repeat(bytes));
                }
                if self.noise {
                    out.raw(": keep-alive{eol}event: message{eol}id: 0{eol}retry: 1000{eol}{eol}");
                }
                self.speaker.prelude(&mut out);
                self.phase = Phase::Due(0);
            }
            Phase::Due(n) if n == self.ends.len() => {
                self.speaker.end(&mut out);
                out.done();
                self.phase = Phase::Ended { completed: true };
            }
            Phase::Due(n) => match self.fault {
                StreamFault::Disconnect(after) if n >= after => return Step::Disconnect,
                StreamFault::Stall(after) if n >= after => return Step::Stall,
                StreamFault::Incomplete(after) if n >= after => {
                    self.phase = Phase::Ended { completed: false };
                    return Step::End { completed: false };
                }
                StreamFault::Error(after) if n >= after => {
                    self.speaker.error(&mut out);
                    out.done();
                    self.phase = Phase::Ended { completed: true };
                }
                _ => {
                    self.phase = Phase::Send(n);
                    return Step::Wait(n);
                }
            },
            Phase::Send(n) => self.send(n, &mut out),
            Phase::Ended { completed } => return Step::End { completed },
        }
        Step::Write(out)
    }

    /// Answer event `n`, with the noise and garbage around it.
    fn send(&mut self, n: usize, out: &mut Frames) {
        let start = n.checked_sub(1).map_or(0, |before| self.ends[before]);
        let end = self.ends[n];
        let stamp;
        let piece = if self.stamp {
            stamp = wire::stamp();
            &stamp
        } else {
            &self.text[start..end]
        };
        self.sent.push_str(piece);
        if self.noise || self.fault == StreamFault::NoValidEvent {
            self.speaker.noise(n, out);
        }
        if self.fault == StreamFault::Garbage {
            self.speaker.garbage(out);
        }
        if self.fault != StreamFault::NoValidEvent {
            let last = n + 1 == self.ends.len();
            let event = AnswerEvent {
                n,
                piece,
                so_far: &self.sent,
                finish: last.then_some(self.finish),
            };
            self.speaker.answer(&event, out);
        }
        self.phase = Phase::Due(n + 1);
        if self.fault == StreamFault::Moderation && n == 0 {
            out.data(&moderation(&self.ids));
            out.done();
            self.phase = Phase::Ended { completed: true };
        }
    }
}

/// The moderation event both dialects send for the moderation fault.
fn moderation(ids: &Ids) -> String {
    let response = serde_json::json!({
        "flagged": true,
        "blocked": true,
        "moderation_id": format!("modr-{}", uuid::Uuid::new_v4().simple()),
    });
    wire::object(&[
        ("type", to_json(&"moderation")),
        ("conversation_id", to_json(&ids.conversation)),
        ("message_id", to_json(&ids.message)),
        ("moderation_response", response.to_string()),
    ])
}
