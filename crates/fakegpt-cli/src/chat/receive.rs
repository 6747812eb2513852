//! Receiving one answer: the request, the stream to its end (or to
//! Ctrl-C), each piece written as it comes.

use fakegpt::{ChatRequest, Chunk, Conversation, FakeGpt, FinishReason};

use super::out::{Out, Written};
use crate::report::Failure;

/// An answer as far as it was received.
#[derive(Debug, Default)]
pub struct Said {
    /// The text received.
    pub text: String,
    /// Where the conversation lives now (native conversations, an answer
    /// received to its end).
    pub handle: Option<Conversation>,
    /// Why the answer ended, if the upstream said.
    pub finish: Option<FinishReason>,
    /// Whether Ctrl-C stopped it: `text` is what came before.
    pub cancelled: bool,
    /// Whether stdout was closed: `text` is what came before.
    pub closed: bool,
}

/// Sends `request` and writes the answer to `out` as it comes. With
/// `cancellable`, Ctrl-C stops it: the request is dropped (which cancels
/// it upstream) and what came is returned, marked cancelled.
pub async fn receive(
    provider: &FakeGpt,
    request: ChatRequest,
    out: &mut Out,
    cancellable: bool,
) -> Result<Said, Failure> {
    let fail = |e: fakegpt::Error| Failure::from_error(&e, provider.is_public_service());
    // Only the interactive mode takes Ctrl-C over: elsewhere it ends the
    // program, as it always does.
    let interrupted = async {
        if !cancellable || tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupted);
    out.waiting();
    let answer = tokio::select! {
        answer = provider.chat(request) => answer,
        () = &mut interrupted => {
            out.started();
            return Ok(Said { cancelled: true, ..Said::default() });
        }
    };
    out.started();
    let mut answer = answer.map_err(fail)?;
    let mut said = Said::default();
    let mut outcome = Ok(());
    // One timer for the whole answer, moved to each batch's deadline.
    let timer = tokio::time::sleep(std::time::Duration::ZERO);
    tokio::pin!(timer);
    let mut armed_for = None;
    loop {
        let due = out.due();
        let item = if due.is_none() && !cancellable {
            answer.next_chunk().await
        } else {
            if let Some(due) = due.filter(|due| armed_for != Some(*due)) {
                timer.as_mut().reset(due);
                armed_for = Some(due);
            }
            // Ctrl-C first, then text: the timer is polled only when no
            // text is ready (ready text is checked against the deadline
            // when it is written).
            tokio::select! {
                biased;
                () = &mut interrupted => {
                    said.cancelled = true;
                    break;
                }
                item = answer.next_chunk() => item,
                () = &mut timer, if due.is_some() => {
                    if out.flush() == Written::Closed {
                        said.closed = true;
                        break;
                    }
                    continue;
                }
            }
        };
        let written = match item {
            Some(Ok(Chunk::Text(text))) => {
                let written = out.text(&text);
                said.text.push_str(&text);
                written
            }
            Some(Ok(Chunk::Reasoning(text))) => out.reasoning(&text),
            Some(Ok(_)) => Written::All,
            Some(Err(err)) => {
                outcome = Err(fail(err));
                break;
            }
            None => break,
        };
        if written == Written::Closed {
            said.closed = true;
            break;
        }
    }
    if !said.closed && out.end() == Written::Closed {
        said.closed = true;
    }
    outcome?;
    if !said.cancelled && !said.closed {
        said.finish = answer.finish_reason();
        said.handle = answer.conversation().cloned();
    }
    Ok(said)
}
