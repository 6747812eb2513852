//! What every request of a run shares ([`Session`]) and one conversation
//! of the run ([`Dialogue`]): its messages, where it lives on the upstream
//! when it is kept there, and which answers were cut short.

use fakegpt::{ChatRequest, Conversation, FakeGpt, Message, Role, Store};

use super::out::Out;
use super::receive::{receive, Said};
use crate::kept::{KeptFile, LastConversation, FORMAT};
use crate::report::{self, Failure};

/// What every request of this run shares.
pub struct Session {
    /// The provider.
    pub provider: FakeGpt,
    /// Where its session is kept.
    pub store: Store,
    /// The model asked for (`/model` changes it).
    pub model: String,
    /// Whether conversations are kept on the upstream.
    pub native: bool,
    /// How many times an answer cut at its length limit is continued.
    pub auto_continue: u32,
    /// Where the last kept conversation is written; `None` when it is not
    /// (`--local`, whose emulator ends with the run, or no state directory).
    pub kept: Option<KeptFile>,
    /// Keeps an in-process emulator alive for `--local`.
    pub emulator: Option<fakegpt_upstream::Emulator>,
}

/// A conversation of this run.
pub struct Dialogue {
    /// What a new conversation starts with (the system prompt).
    start: Vec<Message>,
    /// The history, the system prompt included.
    messages: Vec<Message>,
    /// The indexes in `messages` of answers cut short by Ctrl-C.
    cut: Vec<usize>,
    /// The conversation on the upstream that the last answer ended on.
    handle: Option<Conversation>,
}

impl Dialogue {
    /// A new conversation starting with `start`.
    pub fn new(start: Vec<Message>) -> Dialogue {
        Dialogue {
            messages: start.clone(),
            start,
            cut: Vec::new(),
            handle: None,
        }
    }

    /// Takes up a conversation (kept on the upstream when `handle` is
    /// given); starting over keeps its system prompt.
    pub fn take_up(
        &mut self,
        messages: Vec<Message>,
        cut: Vec<usize>,
        handle: Option<Conversation>,
    ) {
        self.start = messages
            .iter()
            .take_while(|m| m.role == Role::System)
            .cloned()
            .collect();
        self.messages = messages;
        self.cut = cut;
        self.handle = handle;
    }

    /// Starts over: the history and the handle are forgotten.
    pub fn restart(&mut self) {
        self.messages.clone_from(&self.start);
        self.cut.clear();
        self.handle = None;
    }

    /// The history, the system prompt included.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Whether the message at `index` is an answer cut short.
    pub fn is_cut(&self, index: usize) -> bool {
        self.cut.contains(&index)
    }

    /// The indexes of the answers cut short.
    pub fn cut(&self) -> &[usize] {
        &self.cut
    }

    /// The conversation on the upstream, when it is kept there.
    pub fn handle(&self) -> Option<&Conversation> {
        self.handle.as_ref()
    }

    /// The system prompt, if there is one.
    pub fn system(&self) -> Option<String> {
        let texts: Vec<String> = self
            .start
            .iter()
            .map(|m| m.content.text().into_owned())
            .collect();
        (!texts.is_empty()).then(|| texts.join("\n"))
    }

    /// Sets the system prompt (`None` clears it) for this conversation and
    /// the next ones; the upstream's conversation, which began with the
    /// old one, is left.
    pub fn set_system(&mut self, system: Option<String>) {
        let old = self.start.len();
        self.start = system.into_iter().map(Message::system).collect();
        let kept = self.messages.len().min(old);
        self.messages.splice(..kept, self.start.iter().cloned());
        let new = self.start.len();
        self.cut = self.cut.iter().map(|&i| i + new - kept).collect();
        self.handle = None;
    }

    /// The last answer's text.
    pub fn last_answer(&self) -> Option<String> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .map(|m| m.content.text().into_owned())
    }

    /// Asks `question`, writing the answer to `out` as it comes, and adds
    /// both to the history. A failed question is left out of it, and so is
    /// one cancelled before any answer; an answer cancelled on its way is
    /// kept as far as it came, and marked.
    pub async fn ask(
        &mut self,
        session: &Session,
        question: String,
        out: &mut Out,
        cancellable: bool,
    ) -> Result<Said, Failure> {
        self.messages.push(Message::user(question));
        let request = session.request(self.messages.clone(), self.handle.clone(), false);
        match receive(&session.provider, request, out, cancellable).await {
            Ok(said) if said.cancelled && said.text.is_empty() => {
                self.messages.pop();
                Ok(said)
            }
            Ok(said) => {
                self.answered(&said);
                session.keep(self);
                Ok(said)
            }
            Err(failure) => {
                self.messages.pop();
                Err(failure)
            }
        }
    }

    /// Asks the last question again; the new answer replaces the last one
    /// (unless it was cancelled before any text came).
    pub async fn regenerate(
        &mut self,
        session: &Session,
        out: &mut Out,
        cancellable: bool,
    ) -> Result<Said, Failure> {
        let answered = self
            .messages
            .split_last()
            .filter(|(last, asked)| {
                last.role == Role::Assistant && asked.last().is_some_and(|m| m.role == Role::User)
            })
            .map(|(_, asked)| asked.to_vec());
        let Some(asked) = answered else {
            return Err(Failure::new(
                "there is no answer to regenerate yet",
                "ask a question first",
            ));
        };
        // A cut answer is not the upstream's: ask again from the start.
        let handle = self.handle.clone().filter(|_| !self.is_cut(asked.len()));
        let request = session.request(asked, handle, true);
        let said = receive(&session.provider, request, out, cancellable).await?;
        if said.cancelled && said.text.is_empty() {
            return Ok(said);
        }
        self.messages.pop();
        let at = self.messages.len();
        self.cut.retain(|&i| i != at);
        self.answered(&said);
        session.keep(self);
        Ok(said)
    }

    /// Adds an answer to the history.
    fn answered(&mut self, said: &Said) {
        self.messages.push(Message::assistant(said.text.clone()));
        if said.cancelled || said.closed {
            self.cut.push(self.messages.len() - 1);
            // The upstream's conversation is not this history any more.
            self.handle = None;
        } else {
            self.handle.clone_from(&said.handle);
        }
    }
}

impl Session {
    /// A request for `messages`: with native conversations, one that
    /// continues `handle` (or asks it again, to `regenerate` its last
    /// answer), or starts a kept conversation without one.
    fn request(
        &self,
        messages: Vec<Message>,
        handle: Option<Conversation>,
        regenerate: bool,
    ) -> ChatRequest {
        let request = ChatRequest::new(self.model.clone(), messages);
        if !self.native {
            return request;
        }
        let request = request.auto_continue(self.auto_continue);
        match handle {
            Some(handle) if regenerate => request.regenerating(handle),
            Some(handle) => request.continuing(handle),
            None => request.kept(),
        }
    }

    /// Writes `dialogue` down as the last kept conversation, when it is
    /// kept on the upstream; a failure to is a warning.
    fn keep(&self, dialogue: &Dialogue) {
        let (Some(kept), Some(handle), true) = (&self.kept, &dialogue.handle, self.native) else {
            return;
        };
        let last = LastConversation {
            format: FORMAT.to_owned(),
            upstream: self.provider.base_url().to_owned(),
            model: self.model.clone(),
            conversation: handle.clone(),
            messages: dialogue.messages.clone(),
        };
        if let Err(err) = kept.write(&last) {
            report::warn(
                &format!(
                    "could not keep the conversation in {} for --continue: {err}",
                    kept.path().display()
                ),
                "check the permissions of the state directory, or pass --store file:DIR",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_prompt_is_replaced_in_place() {
        let mut dialogue = Dialogue::new(vec![Message::system("old")]);
        dialogue.messages.push(Message::user("q"));
        dialogue.messages.push(Message::assistant("a"));
        dialogue.cut.push(2);
        dialogue.set_system(None);
        assert_eq!(
            dialogue.messages,
            [Message::user("q"), Message::assistant("a")]
        );
        assert_eq!(dialogue.cut, [1]);
        assert_eq!(dialogue.system(), None);
        dialogue.set_system(Some("new".into()));
        assert_eq!(dialogue.messages[0], Message::system("new"));
        assert_eq!(dialogue.cut, [2]);
        assert_eq!(dialogue.system().as_deref(), Some("new"));
        dialogue.restart();
        assert_eq!(dialogue.messages, [Message::system("new")]);
    }
}
