//! `fakegpt chat`: one question from the arguments or stdin, or an
//! interactive conversation on a terminal.
//!
//! [`dialogue`] holds a conversation and asks its questions, [`receive`]
//! streams one answer to [`out`] (plain text into a pipe, Markdown rendered
//! on a terminal, or JSON lines), [`repl`] reads the interactive mode's
//! input, [`act`] runs it (the commands of [`commands`], with
//! [`transcript`] and [`clipboard`]). With native conversations the
//! conversation is kept on the upstream, the last one is written down
//! ([`crate::kept`]) after every answer, and `--continue` takes it up in a
//! later run.

mod act;
mod clipboard;
mod commands;
mod dialogue;
mod out;
mod receive;
mod repl;
mod transcript;

use std::io::{IsTerminal, Read};

use fakegpt::Message;
use serde::Serialize;

use crate::cli::ChatArgs;
use crate::kept::{KeptFile, LastConversation};
use crate::report::{self, Failure};
use dialogue::{Dialogue, Session};
use out::Out;
use receive::Said;

/// The model asked for when neither `--model` nor a kept conversation
/// names one.
const DEFAULT_MODEL: &str = "gpt-3.5-turbo";

/// Runs `fakegpt chat`.
pub async fn run(args: ChatArgs) -> Result<(), Failure> {
    let prompt = (!args.prompt.is_empty()).then(|| args.prompt.join(" "));
    let interactive = prompt.is_none() && std::io::stdin().is_terminal();
    if interactive && args.json {
        return Err(Failure::usage(
            "--json writes one answer for a script: it needs a prompt",
            "pass the prompt as arguments or on stdin",
        ));
    }
    let native = args.native_conversations || args.continue_last;
    let store = crate::provider::store_for(&args.upstream, "chat");
    let upstream = crate::provider::connect(&args.upstream, &args.timeouts, "chat").await?;
    let kept = kept_file(&store, native, &args)?;
    let mut dialogue = Dialogue::new(args.system.into_iter().map(Message::system).collect());
    let mut model = args.model;
    if args.continue_last {
        let last = last_conversation(kept.as_ref(), upstream.provider.base_url())?;
        model = model.or(Some(last.model));
        dialogue.take_up(last.messages, Vec::new(), Some(last.conversation));
    }
    let session = Session {
        provider: upstream.provider,
        store,
        model: model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        native,
        auto_continue: args.auto_continue,
        kept,
        emulator: upstream.emulator,
    };
    let prompt = match prompt {
        Some(prompt) => prompt,
        None if interactive => {
            let history = repl::HistoryOptions {
                off: args.no_history,
                size: args.history_size,
            };
            return repl::run(session, dialogue, history, args.raw).await;
        }
        None => read_stdin()?,
    };
    if prompt.trim().is_empty() {
        return Err(Failure::new(
            "the prompt is empty",
            "pass a prompt as arguments or on stdin",
        ));
    }
    let mut out = Out::for_stdout(args.raw, args.json);
    // On a terminal, Ctrl-C ends the answer cleanly (no style left on,
    // the line ended) before the program stops as interrupted.
    let on_terminal = matches!(out, Out::Terminal(_));
    match dialogue.ask(&session, prompt, &mut out, on_terminal).await {
        Ok(said) if said.cancelled => Err(Failure::interrupted()),
        Ok(said) => {
            if args.json {
                out.json(&done(&session, &dialogue, &said));
            }
            Ok(())
        }
        Err(failure) => {
            if args.json {
                out.json(&Failed {
                    kind: "error",
                    error: ErrorLine {
                        message: &failure.message,
                        hint: failure.hint.as_deref(),
                    },
                });
            }
            Err(failure)
        }
    }
}

/// What `fakegpt chat --help` says of the interactive mode: its commands
/// and keys, from the table that drives it.
pub fn interactive_help() -> String {
    format!("The interactive mode's {}", commands::help())
}

/// Where the last kept conversation is written: only with native
/// conversations on a real upstream.
fn kept_file(
    store: &fakegpt::Store,
    native: bool,
    args: &ChatArgs,
) -> Result<Option<KeptFile>, Failure> {
    if !native || args.upstream.local {
        return Ok(None);
    }
    match KeptFile::for_store(store) {
        Ok(kept) => Ok(Some(kept)),
        Err(err) if args.continue_last => Err(Failure::usage(
            format!("no conversation can be continued: {}", err.message()),
            "set XDG_STATE_HOME or HOME, or pass --store file:DIR",
        )),
        Err(err) => {
            report::warn(
                &format!(
                    "the conversation will not be kept for --continue: {}",
                    err.message()
                ),
                "set XDG_STATE_HOME or HOME, or pass --store file:DIR",
            );
            Ok(None)
        }
    }
}

/// The last JSON line of an answer.
#[derive(Serialize)]
struct Done<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    model: &'a str,
    finish_reason: &'static str,
    usage: fakegpt_gateway::openai::Usage,
    conversation: Option<ConversationLine<'a>>,
}

/// The conversation an answer lives in, without its secret.
#[derive(Serialize)]
struct ConversationLine<'a> {
    id: &'a str,
    turns: u32,
    account: &'a str,
    upstream: &'a str,
}

/// The last JSON line of a failure.
#[derive(Serialize)]
struct Failed<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorLine<'a>,
}

/// What failed, and what to try.
#[derive(Serialize)]
struct ErrorLine<'a> {
    message: &'a str,
    hint: Option<&'a str>,
}

/// The last JSON line: why the answer ended, its usage (counted as OpenAI
/// counts gpt-3.5-turbo's) and the conversation it lives in (no secret).
fn done<'a>(session: &'a Session, dialogue: &'a Dialogue, said: &Said) -> Done<'a> {
    let messages = dialogue.messages();
    let asked = &messages[..messages.len().saturating_sub(1)];
    let prompt_tokens = fakegpt_gateway::tokens::prompt(asked, &[]);
    Done {
        kind: "done",
        model: &session.model,
        finish_reason: said.finish.map_or("stop", fakegpt::FinishReason::as_str),
        usage: fakegpt_gateway::tokens::usage(prompt_tokens, &said.text),
        conversation: dialogue.handle().map(|handle| ConversationLine {
            id: handle.id(),
            turns: handle.turns(),
            account: handle.account(),
            upstream: handle.upstream(),
        }),
    }
}

/// The last conversation kept for the upstream at `base_url`, or why
/// there is none to continue.
fn last_conversation(kept: Option<&KeptFile>, base_url: &str) -> Result<LastConversation, Failure> {
    let start = "start one with fakegpt chat --native-conversations PROMPT";
    let Some(kept) = kept else {
        return Err(Failure::usage("no conversation is kept to continue", start));
    };
    let Some(last) = kept.read()? else {
        return Err(Failure::usage(
            format!(
                "no conversation is kept to continue (none in {})",
                kept.path().display()
            ),
            start,
        ));
    };
    let upstream = last.upstream.trim_end_matches('/');
    if upstream != base_url.trim_end_matches('/') {
        return Err(Failure::usage(
            format!("the last kept conversation lives on {upstream}, not on {base_url}"),
            format!("pass --base-url {upstream} to continue it, or {start}"),
        ));
    }
    Ok(last)
}

/// The prompt on stdin, less one trailing newline (as `echo` adds).
fn read_stdin() -> Result<String, Failure> {
    let mut prompt = String::new();
    std::io::stdin().read_to_string(&mut prompt).map_err(|e| {
        Failure::new(
            format!("could not read the prompt from stdin: {e}"),
            "pass valid UTF-8 text, or the prompt as an argument",
        )
    })?;
    Ok(less_one_newline(prompt))
}

/// `text` without one trailing `\n` (or `\r\n`).
fn less_one_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_loses_one_trailing_newline() {
        assert_eq!(less_one_newline("hi\n".into()), "hi");
        assert_eq!(less_one_newline("hi\r\n".into()), "hi");
        assert_eq!(less_one_newline("hi\n\n".into()), "hi\n");
        assert_eq!(less_one_newline("hi".into()), "hi");
        assert_eq!(less_one_newline("\n".into()), "");
    }
}
