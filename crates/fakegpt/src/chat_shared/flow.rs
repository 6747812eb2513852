//! One chat's flow: its attempts (retried, or fallen back to a new
//! conversation), the logins they need (on the session's account, or on
//! the one a kept conversation lives on), and the answer's stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;

use super::kept::{self, Ask, IdsSlot};
use super::session::{AccessToken, Owner};
use super::step::Step;
use super::{conversation, decode, login, retry, wire, Dialect, FakeGpt, Resolved};
use crate::answer::{Answer, Chunk, ChunkStream};
use crate::error::{Error, TimeoutKind};
use crate::request::Timeouts;

/// A failed attempt, and whether it failed because a continued
/// conversation cannot go on (so that a new one is started instead).
pub(super) struct Attempted {
    pub(super) error: Error,
    pub(super) fell_back: bool,
}

impl FakeGpt {
    /// Attempts the chat until it yields its first text, retrying what
    /// [`retry::retryable`] allows. A continued conversation that cannot
    /// go on fails with `fell_back` set, before any text.
    pub(super) async fn attempts(
        &self,
        resolved: &Resolved,
        mut ask: Ask,
        more: u32,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Answer, Attempted> {
        self.offer_dialect(&mut ask.body);
        let policy = resolved.retry;
        let mut attempt = 1;
        loop {
            let err = match self.attempt(resolved, &ask, more, deadline).await {
                Ok(answer) => return Ok(answer),
                Err(err) => err,
            };
            let step = err.context();
            let account_gone =
                step != Some(Step::Conversation.label()) && kept::account_unusable(&err);
            if ask.continues() && (kept::gone(&err) || account_gone) {
                return Err(Attempted {
                    error: err,
                    fell_back: true,
                });
            }
            if attempt >= policy.max_attempts || !retry::retryable(&err) {
                return Err(Attempted {
                    error: err,
                    fell_back: false,
                });
            }
            let Some(wait) = retry::delay(&policy, attempt, &err, &mut rand::rng()) else {
                return Err(Attempted {
                    error: err,
                    fell_back: false,
                });
            };
            tracing::info!(attempt, ?wait, error = %err, "retrying the chat");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: log in if needed, send the conversation (logging in
    /// again once on 401/403), and wait for the first answer text.
    ///
    /// The first-byte timeout runs until the first text or reasoning: a
    /// model that thinks before it answers is not slow to respond. The
    /// reasoning before the first text is held (bounded by the decoder)
    /// and handed out with the answer; the idle and total timeouts still
    /// bound the wait for the text.
    async fn attempt(
        &self,
        resolved: &Resolved,
        ask: &Ask,
        more: u32,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Answer, Error> {
        let timeouts = &resolved.timeouts;
        let first = async {
            let client = &resolved.client;
            let (response, token) = self
                .start(client, &ask.body, ask.pin.as_ref(), timeouts)
                .await?;
            let (mut stream, ids) = self.decoded(response, timeouts, deadline);
            if let Some(before) = &ask.kept {
                let owner = token.owner().cloned();
                let more = match (&owner, more) {
                    (Some(owner), 1..) => {
                        Some((more, self.continuer(client, owner, timeouts, deadline)))
                    }
                    _ => None,
                };
                let ending = kept::Ending {
                    before: before.clone(),
                    owner,
                    more,
                };
                stream = kept::answer(stream, ids, ending).boxed();
            }
            loop {
                match stream.next().await {
                    Some(Ok(chunk @ (Chunk::Text(_) | Chunk::Reasoning(_)))) => {
                        return Ok((chunk, stream))
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return Err(err),
                    None => return Err(decode::no_valid_response()),
                }
            }
        };
        let (first, mut stream) = match timeouts.first_byte {
            Some(after) => tokio::time::timeout(after, first)
                .await
                .unwrap_or_else(|_| Err(Step::Conversation.timeout(TimeoutKind::FirstByte, after))),
            None => first.await,
        }?;
        let mut reasoning = match first {
            Chunk::Text(text) => return Ok(Answer::new(text, stream)),
            Chunk::Reasoning(reasoning) => reasoning,
            _ => String::new(),
        };
        loop {
            match stream.next().await {
                Some(Ok(Chunk::Text(text))) => {
                    return Ok(Answer::new(text, stream).with_reasoning(reasoning))
                }
                Some(Ok(Chunk::Reasoning(more))) => reasoning.push_str(&more),
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err),
                None => return Err(decode::no_valid_response()),
            }
        }
    }

    /// Offers the delta-encoded stream when the provider's dialect is v1.
    fn offer_dialect(&self, body: &mut wire::ConversationRequest) {
        if self.inner.settings.dialect == Dialect::V1 {
            body.supported_encodings = Some(vec!["v1".into()]);
        }
    }

    /// The answer's chunks, bounded by the idle and total timeouts, and
    /// where the decoder leaves its ids when it ends.
    fn decoded(
        &self,
        response: reqwest::Response,
        timeouts: &Timeouts,
        deadline: Option<(Instant, Duration)>,
    ) -> (ChunkStream, IdsSlot) {
        let settings = &self.inner.settings;
        let decoder = decode::Decoder::new(settings.max_event).with_max_answer(settings.max_answer);
        let slot = IdsSlot::default();
        let report = {
            let slot = Arc::clone(&slot);
            move |ids| *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(ids)
        };
        let body = conversation::body_chunks(response, timeouts.idle, deadline);
        (
            decode::decode_reporting(body, decoder, report).boxed(),
            slot,
        )
    }

    /// Opens continuations (`action: "continue"`) of a kept conversation's
    /// answer, on the account it lives on.
    fn continuer(
        &self,
        client: &reqwest::Client,
        owner: &Owner,
        timeouts: &Timeouts,
        deadline: Option<(Instant, Duration)>,
    ) -> kept::Continuer {
        let (this, client, owner, timeouts) =
            (self.clone(), client.clone(), owner.clone(), *timeouts);
        Box::new(move |id: String, message: String| {
            let (this, client, owner) = (this.clone(), client.clone(), owner.clone());
            Box::pin(async move {
                let mut body = wire::ConversationRequest::continue_in(&id, &message);
                this.offer_dialect(&mut body);
                let (response, _) = this.start(&client, &body, Some(&owner), &timeouts).await?;
                Ok(this.decoded(response, &timeouts, deadline))
            })
        })
    }

    /// Sends the conversation with the session's token (on `pin`'s account
    /// and password when given); on 401/403 drops the session, logs in
    /// once more and sends it again. Returns the token it was sent with.
    async fn start(
        &self,
        client: &reqwest::Client,
        body: &wire::ConversationRequest,
        pin: Option<&Owner>,
        timeouts: &Timeouts,
    ) -> Result<(reqwest::Response, AccessToken), Error> {
        let mut renewed = false;
        loop {
            let token = match pin {
                Some(owner) => self.token_on(client, timeouts, owner).await?,
                None => self.token(client, timeouts).await?,
            };
            let outcome =
                conversation::start(client, &self.inner.base, &token, body, timeouts.connect).await;
            match outcome {
                Err(err) if matches!(err.status(), Some(401 | 403)) && !renewed => {
                    tracing::info!("the upstream rejected the access token; logging in again");
                    self.inner.session.invalidate(&token).await;
                    renewed = true;
                }
                other => return other.map(|response| (response, token)),
            }
        }
    }

    pub(super) async fn token(
        &self,
        client: &reqwest::Client,
        timeouts: &Timeouts,
    ) -> Result<AccessToken, Error> {
        let ctx = self.login_context(client, timeouts);
        self.inner
            .session
            .token(|passwords| async move { login::login(&ctx, &passwords, None).await })
            .await
    }

    /// What a login with `client` and `timeouts` needs.
    fn login_context<'a>(
        &'a self,
        client: &'a reqwest::Client,
        timeouts: &Timeouts,
    ) -> login::LoginContext<'a> {
        login::LoginContext {
            client,
            base: &self.inner.base,
            connect_timeout: timeouts.connect,
            step_timeout: timeouts.idle,
            session: &self.inner.session,
            cooldown: self.inner.settings.account_cooldown,
        }
    }

    /// A token on `owner`'s account and password (see
    /// [`Session::token_on`]).
    async fn token_on(
        &self,
        client: &reqwest::Client,
        timeouts: &Timeouts,
        owner: &Owner,
    ) -> Result<AccessToken, Error> {
        let ctx = self.login_context(client, timeouts);
        let account = owner.account.as_str();
        self.inner
            .session
            .token_on(account, &owner.password, |passwords| async move {
                login::login(&ctx, &passwords, Some(account)).await
            })
            .await
    }
}
