// The log of the current conversation: an article per message (answers
// rendered as Markdown, the user's words as plain text) with its action
// buttons (Edit, Copy, Regenerate) and inline edit box, error rows with
// Retry, painting an answer as it streams, and following the newest text
// unless the reader has scrolled away.
//
// What an edit or a regenerate does to the conversation is the
// controller's (app.js), reached through the hooks given to initLog.

import { renderInto } from './markdown.js';
import { $, button, el, grow, isSendKey } from './dom.js';
import { copy } from './dialogs.js';

const log = $('log');
const jump = $('jump');

/** How close to the bottom (px) still counts as "at the bottom". */
const FOLLOW_SLACK = 40;

/** Whether the log scrolls to show new text (the reader is at the bottom). */
let follow = true;

/** The article showing each message, and back. */
const articleOf = new WeakMap();
const messageOf = new WeakMap();

/**
 * What the log asks of the controller: `isBusy()` (an answer is
 * streaming), `current()` (the conversation shown), `resend(conv, msg,
 * text)` (an edit was saved), `regenerate(conv)`, `focusComposer()`.
 */
let hooks = null;

/** Wires the log to the controller's `given` hooks. */
export function initLog(given) {
  hooks = given;
  log.addEventListener('scroll', onLogScroll, { passive: true });
  log.addEventListener('click', (event) => {
    const b = event.target.closest?.('.copy-code');
    const code = b?.closest('.code-block')?.querySelector('code');
    if (code) copy(code.textContent, b);
  });
  jump.addEventListener('click', () => {
    jumpToLatest();
    hooks.focusComposer();
  });
}

// ----------------------------------------------------------- the articles

/** Shows `conv`'s messages (or a greeting when it has none). */
export function showMessages(conv) {
  log.replaceChildren();
  if (!conv.messages.length) log.append(emptyState());
  for (const msg of conv.messages) log.append(messageArticle(msg));
  refreshActions();
}

/** Adds `msg` at the end of the log, in place of the greeting. */
export function appendMessage(msg) {
  log.querySelector('.empty')?.remove();
  log.append(messageArticle(msg));
}

export function removeMessage(msg) {
  articleOf.get(msg)?.remove();
}

/** Shows `msg` as it now stands, if it is on screen. */
export function refreshMessage(msg) {
  const article = articleOf.get(msg);
  if (article?.isConnected) fillArticle(article, msg);
}

function emptyState() {
  const box = el('div', 'empty');
  box.append(el('h2', '', 'How can I help?'), el('p', '', 'Ask anything. Answers stream in as they are written.'));
  return box;
}

function messageArticle(msg) {
  const article = el('article', 'message');
  article.dataset.role = msg.role;
  article.setAttribute('aria-label', msg.role === 'user' ? 'You' : 'Assistant');
  article.append(el('div', 'content'), el('div', 'actions'));
  articleOf.set(msg, article);
  messageOf.set(article, msg);
  fillArticle(article, msg);
  return article;
}

/** Puts a message's text and state into its article. */
function fillArticle(article, msg) {
  const content = article.querySelector('.content');
  if (msg.role === 'user') {
    content.textContent = msg.content;
    return;
  }
  renderInto(content, msg.content);
  const status = msg.state || 'done';
  article.dataset.state = status;
  article.setAttribute('aria-busy', String(status === 'streaming'));
  for (const old of article.querySelectorAll(':scope > .notice, :scope > .note')) old.remove();
  const notes = [];
  if (status === 'stopped') notes.push(el('p', 'note stopped', 'Stopped'));
  if (status === 'failed') {
    const notice = el('p', 'notice', `The answer was interrupted: ${msg.error}`);
    notice.setAttribute('role', 'status');
    notes.push(notice);
  }
  if (msg.finish === 'length') notes.push(el('p', 'note', 'Cut off: the answer reached its length limit.'));
  article.querySelector('.actions').before(...notes);
}

/** Rebuilds the action buttons (which depend on position and streaming). */
export function refreshActions() {
  const conv = hooks.current();
  const busy = hooks.isBusy();
  const last = conv.messages[conv.messages.length - 1];
  for (const article of log.querySelectorAll('article.message')) {
    const msg = messageOf.get(article);
    const actions = article.querySelector('.actions');
    if (!msg || !actions || article.classList.contains('editing')) continue;
    const buttons = [];
    if (msg.role === 'user') {
      const edit = button('Edit', () => startEdit(article, msg));
      edit.disabled = busy;
      buttons.push(edit);
    } else if (msg.state !== 'streaming') {
      buttons.push(button('Copy', (e) => copy(msg.content, e.currentTarget)));
      if (msg === last && !busy) buttons.push(button('Regenerate', () => hooks.regenerate(conv)));
    }
    actions.replaceChildren(...buttons);
  }
}

function startEdit(article, msg) {
  if (hooks.isBusy()) return;
  const conv = hooks.current();
  article.classList.add('editing');
  const box = el('div', 'edit');
  const id = `edit-${Date.now()}`;
  const label = el('label', 'visually-hidden', 'Edit message');
  label.htmlFor = id;
  const area = el('textarea');
  area.id = id;
  area.value = msg.content;
  const done = () => {
    box.remove();
    article.classList.remove('editing');
    refreshActions();
  };
  const save = () => {
    const text = area.value;
    if (!text.trim() || hooks.isBusy()) return;
    hooks.resend(conv, msg, text);
  };
  const cancel = () => {
    done();
    article.querySelector('.actions button')?.focus();
  };
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      cancel();
    } else if (isSendKey(event)) {
      event.preventDefault();
      save();
    }
  });
  area.addEventListener('input', () => grow(area));
  const row = el('div', 'row');
  row.append(button('Cancel', cancel), button('Save and send', save, 'button small primary'));
  box.append(label, area, row);
  article.querySelector('.actions').replaceChildren();
  article.append(box);
  grow(area);
  area.focus();
}

/** An error that produced no answer, with a way to try again. */
export function showError(text, retry) {
  const row = el('div', 'error-row');
  const error = el('div', 'error', text);
  error.setAttribute('role', 'alert');
  row.append(error);
  if (retry) {
    row.append(button('Retry', () => {
      row.remove();
      retry();
    }));
  }
  log.append(row);
  scrollToBottom(true);
}

export function clearErrors() {
  for (const row of log.querySelectorAll('.error-row')) row.remove();
}

// -------------------------------------------------------------- streaming

/**
 * Batches deltas: the answer is re-rendered at most once per frame, and
 * less often when that gets expensive (a long paragraph in scripts that
 * are slow to lay out): painting may take about a third of the time, so
 * reading the stream never falls behind. `stream` is the controller's
 * {msg, frame, timer, nextPaint}; the last three are this module's.
 */
export function schedulePaint(stream) {
  if (stream.frame || stream.timer) return;
  const paint = () => {
    stream.frame = 0;
    const article = articleOf.get(stream.msg);
    if (!article?.isConnected) return;
    const start = performance.now();
    renderInto(article.querySelector('.content'), stream.msg.content);
    scrollToBottom();
    void log.scrollHeight; // lay out now, so the cost is measured
    const cost = performance.now() - start;
    stream.nextPaint = performance.now() + Math.min(2 * cost, 1000);
  };
  const wait = (stream.nextPaint || 0) - performance.now();
  if (wait <= 0) {
    stream.frame = requestAnimationFrame(paint);
    return;
  }
  stream.timer = setTimeout(() => {
    stream.timer = 0;
    stream.frame = requestAnimationFrame(paint);
  }, wait);
}

/** Drops a paint `schedulePaint` has planned for `stream`. */
export function cancelPaint(stream) {
  cancelAnimationFrame(stream.frame);
  clearTimeout(stream.timer);
}

// -------------------------------------------------------------- scrolling

export function scrollToBottom(force = false) {
  if (force || follow) log.scrollTop = log.scrollHeight;
}

/** Follows new text again, from the next scroll on. */
export function followLatest() {
  follow = true;
}

/** Follows new text again and scrolls to it now. */
export function jumpToLatest() {
  follow = true;
  jump.hidden = true;
  scrollToBottom(true);
}

function onLogScroll() {
  const gap = log.scrollHeight - log.scrollTop - log.clientHeight;
  follow = gap <= FOLLOW_SLACK;
  jump.hidden = follow;
}
