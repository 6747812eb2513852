// The chat page: conversations in the sidebar, the current one in the log,
// answers streamed from the gateway and rendered as Markdown as they come.
//
// Every node is built with createElement and textContent (never an HTML
// string), so nothing a model, a user or an error says can become markup.

import { renderInto } from './markdown.js';
import * as store from './store.js';
import { ApiError, listModels, streamChat } from './api.js';

const $ = (id) => document.getElementById(id);
const ui = {
  log: $('log'), jump: $('jump'), status: $('status'), title: $('chat-title'),
  composer: $('composer'), message: $('message'), send: $('send'), stop: $('stop'),
  list: $('conversations'), newChat: $('new-chat'), menu: $('menu'), sidebar: $('sidebar'),
  scrim: $('scrim'), settings: $('settings'), model: $('model'), modelStatus: $('model-status'),
  system: $('system'), keyStatus: $('key-status'), changeKey: $('change-key'), forgetKey: $('forget-key'),
  banner: $('storage-banner'), alert: $('storage-alert'), dismiss: $('storage-dismiss'),
  keyDialog: $('key-dialog'), keyInput: $('api-key'), keyError: $('key-error'),
  renameDialog: $('rename-dialog'), renameInput: $('rename-input'),
  deleteDialog: $('delete-dialog'), deleteText: $('delete-text'),
  copyDialog: $('copy-dialog'), copyText: $('copy-text'),
};

/** How close to the bottom (px) still counts as "at the bottom". */
const FOLLOW_SLACK = 40;
const STORAGE_FULL = 'Browser storage is full: this conversation is not saved. '
  + 'Export it or delete old conversations.';
const STORAGE_MISSING = 'Browser storage is not available: conversations will not be saved.';

const state = {
  conversations: [],
  current: null,
  models: [],
  modelsLoaded: null, // a promise while the list loads
  stream: null, // {conv, msg, controller, frame}
  follow: true,
  keyWaiters: new Map(), // what to retry once a key is given: name → {retry, cancel}
};

/** The article showing each message, and back. */
const articleOf = new WeakMap();
const messageOf = new WeakMap();

// ------------------------------------------------------------ utilities

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, onClick, className = 'button small') {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

const SVG = 'http://www.w3.org/2000/svg';
function icon(path) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}
const PENCIL = 'M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4';
const TRASH = 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13';

/** Tells screen readers (the status line is visually hidden). */
function announce(text) {
  ui.status.textContent = text;
}

// ---------------------------------------------------------- persistence

function persist() {
  const result = store.saveAll(state.conversations, state.current?.id);
  if (result.ok) {
    // The "full" alert goes once saving works again; a dismissible notice
    // (storage that could not be read) stays until it is dismissed.
    if (ui.dismiss.hidden) {
      ui.banner.hidden = true;
      ui.alert.textContent = '';
    }
  } else {
    showBanner(result.reason === 'quota' ? STORAGE_FULL : STORAGE_MISSING, false);
  }
}

/** A notice above the log; `dismissible` ones get a Dismiss button. */
function showBanner(text, dismissible) {
  ui.banner.hidden = false;
  ui.dismiss.hidden = !dismissible;
  ui.alert.textContent = text;
}

function touch(conv) {
  conv.updated = Date.now();
}

// ---------------------------------------------------------------- sidebar

function sortedConversations() {
  return state.conversations.slice().sort((a, b) => b.updated - a.updated);
}

function renderSidebar() {
  const items = sortedConversations().map((conv) => {
    const li = el('li');
    const open = button(conv.title, () => switchTo(conv), 'conv-open');
    open.id = `conv-${conv.id}`;
    if (conv === state.current) open.setAttribute('aria-current', 'true');
    if (state.stream?.conv === conv) li.classList.add('busy');
    const rename = button('', () => openRename(conv), 'icon-button conv-action');
    rename.append(icon(PENCIL));
    const remove = button('', () => openDelete(conv), 'icon-button conv-action');
    remove.append(icon(TRASH));
    for (const [b, name] of [[rename, 'Rename'], [remove, 'Delete']]) {
      b.setAttribute('aria-label', name);
      b.title = name;
      b.setAttribute('aria-describedby', open.id);
    }
    li.append(open, rename, remove);
    return li;
  });
  ui.list.replaceChildren(...items);
}

function switchTo(conv) {
  if (conv !== state.current) {
    state.current = conv;
    persist();
    showConversation();
    renderSidebar();
  }
  setDrawer(false);
  ui.message.focus();
}

function newChat() {
  const current = state.current;
  if (current && !current.messages.length && state.conversations.includes(current)) {
    switchTo(current); // an empty chat is already open: reuse it
    return;
  }
  const conv = store.newConversation(defaultModel(), '');
  state.conversations.push(conv);
  switchTo(conv);
}

function defaultModel() {
  const recent = sortedConversations().find((c) => c.model && state.models.includes(c.model));
  return recent?.model || state.models[0] || '';
}

function setDrawer(open) {
  const wasOpen = document.body.classList.contains('drawer-open');
  document.body.classList.toggle('drawer-open', open);
  ui.menu.setAttribute('aria-expanded', String(open));
  ui.scrim.hidden = !open;
  if (open) ui.newChat.focus();
  else if (wasOpen && ui.sidebar.contains(document.activeElement)) ui.menu.focus();
}

// ---------------------------------------------------------------- dialogs

/** Opens a modal dialog; `onClose(accepted)` runs once when it closes. */
function openDialog(dialog, focus, onClose) {
  let accepted = false;
  const opener = document.activeElement;
  const form = dialog.querySelector('form');
  const submit = (event) => {
    event.preventDefault();
    if (dialog.validate && !dialog.validate()) return;
    accepted = true;
    dialog.close();
  };
  const cancel = () => dialog.close();
  const cancelButton = dialog.querySelector('button[id$="-cancel"]');
  form.addEventListener('submit', submit);
  cancelButton?.addEventListener('click', cancel);
  dialog.addEventListener('close', () => {
    form.removeEventListener('submit', submit);
    cancelButton?.removeEventListener('click', cancel);
    dialog.validate = null;
    // Chromium has put focus back already; after a click in the dialog
    // that element looks focused but drops typed text until it is blurred
    // and focused again, so start from nothing.
    document.activeElement?.blur?.();
    onClose(accepted);
    if (document.activeElement === document.body && opener?.isConnected) opener.focus();
  }, { once: true });
  if (!dialog.open) dialog.showModal();
  focus.focus();
}

function openRename(conv) {
  ui.renameInput.value = conv.title;
  openDialog(ui.renameDialog, ui.renameInput, (ok) => {
    const title = ui.renameInput.value.replace(/\s+/g, ' ').trim();
    if (ok && title) {
      conv.title = title;
      conv.renamed = true;
      touch(conv);
      persist();
      renderSidebar();
      if (conv === state.current) ui.title.textContent = conv.title;
    }
    $(`conv-${conv.id}`)?.focus();
  });
  ui.renameInput.select();
}

function openDelete(conv) {
  ui.deleteText.textContent = `“${conv.title}” will be removed from this browser.`;
  openDialog(ui.deleteDialog, $('delete-cancel'), (ok) => {
    if (!ok) {
      $(`conv-${conv.id}`)?.focus();
      return;
    }
    if (state.stream?.conv === conv) state.stream.controller.abort();
    state.conversations = state.conversations.filter((c) => c !== conv);
    if (conv === state.current) {
      state.current = sortedConversations()[0] || null;
      ensureCurrent();
      showConversation();
    }
    persist();
    renderSidebar();
    ui.newChat.focus();
  });
}

/** Shows text to copy by hand when the clipboard is out of reach. */
function openCopyDialog(text) {
  ui.copyText.value = text;
  openDialog(ui.copyDialog, ui.copyText, () => {});
  ui.copyText.select();
}

async function copy(text, trigger) {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
  } catch {
    openCopyDialog(text);
    return;
  }
  const label = trigger.textContent;
  trigger.textContent = 'Copied';
  announce('Copied to the clipboard.');
  setTimeout(() => {
    if (trigger.textContent === 'Copied') trigger.textContent = label;
  }, 1500);
}

// ---------------------------------------------------------------- API key

function updateKeyControls() {
  const has = Boolean(store.getApiKey());
  ui.keyStatus.textContent = has ? 'An API key is saved in this browser.' : 'No API key saved in this browser.';
  ui.changeKey.textContent = has ? 'Change API key' : 'Set API key';
  ui.forgetKey.disabled = !has;
}

/**
 * Asks for a key because a request got 401; `name` dedupes waiters (the
 * model list and a chat may both be waiting). A 401 to a request that
 * carried a key means the key was refused: forget it and say so.
 */
function needKey(name, refused, retry, cancel) {
  if (refused) store.forgetApiKey();
  state.keyWaiters.set(name, { retry, cancel });
  updateKeyControls();
  openKeyDialog(refused ? 'The gateway refused this key. Check it and try again.' : '');
}

function openKeyDialog(error) {
  ui.keyError.hidden = !error;
  ui.keyError.textContent = error;
  if (ui.keyDialog.open) {
    ui.keyInput.focus();
    return;
  }
  ui.keyInput.value = '';
  ui.keyDialog.validate = () => {
    if (ui.keyInput.value.trim()) return true;
    ui.keyError.hidden = false;
    ui.keyError.textContent = 'Enter the key first, or choose Cancel.';
    ui.keyInput.focus();
    return false;
  };
  openDialog(ui.keyDialog, ui.keyInput, (ok) => {
    const waiters = [...state.keyWaiters.values()];
    state.keyWaiters.clear();
    if (ok) store.setApiKey(ui.keyInput.value.trim());
    ui.keyInput.value = '';
    updateKeyControls();
    for (const w of waiters) (ok ? w.retry : w.cancel)();
    if (!ui.settings.open || ok) ui.message.focus();
  });
}

// ----------------------------------------------------------------- models

function loadModels() {
  setModelPlaceholder('Loading models…');
  state.modelsLoaded = listModels().then((models) => {
    state.models = models;
    fillModels();
  }, (err) => {
    if (err.kind === 'auth') {
      needKey('models', err.sentKey, loadModels, () => setModelPlaceholder('API key needed'));
    } else {
      setModelPlaceholder('Models unavailable');
      showError(`Could not load the models. ${err.message}`, loadModels);
    }
  }).finally(() => {
    state.modelsLoaded = null;
  });
}

/** While the list is missing: the conversation's own model if it has one, else nothing. */
function setModelPlaceholder(text) {
  const model = state.current?.model;
  const option = el('option', '', model);
  option.value = model;
  ui.model.replaceChildren(...(model ? [option] : []));
  ui.model.disabled = !model;
  ui.modelStatus.hidden = false;
  ui.modelStatus.textContent = text;
}

/** Fills the picker, keeping the conversation's model even if unlisted. */
function fillModels() {
  const conv = state.current;
  if (!state.models.length) {
    setModelPlaceholder('No models');
    return;
  }
  if (!conv.model) conv.model = defaultModel();
  ui.model.disabled = false;
  ui.modelStatus.hidden = true;
  const ids = state.models.includes(conv.model) ? state.models : [conv.model, ...state.models];
  ui.model.replaceChildren(...ids.map((id) => {
    const option = el('option', '', id);
    option.value = id;
    return option;
  }));
  ui.model.value = conv.model;
}

async function modelFor(conv) {
  if (!conv.model && state.modelsLoaded) await state.modelsLoaded;
  if (!conv.model) conv.model = defaultModel();
  if (!conv.model) {
    throw new ApiError('No model to ask: the model list has not loaded. Check Settings.', { kind: 'protocol' });
  }
  return conv.model;
}

// ------------------------------------------------------------ the log

function showConversation() {
  const conv = state.current;
  ui.log.replaceChildren();
  if (!conv.messages.length) ui.log.append(emptyState());
  for (const msg of conv.messages) ui.log.append(messageArticle(msg));
  refreshActions();
  ui.title.textContent = conv.title;
  ui.system.value = conv.system;
  if (state.models.length) fillModels();
  else setModelPlaceholder(state.modelsLoaded ? 'Loading models…' : 'No models');
  updateComposer();
  state.follow = true;
  ui.jump.hidden = true;
  scrollToBottom();
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
function refreshActions() {
  const conv = state.current;
  const busy = Boolean(state.stream);
  const last = conv.messages[conv.messages.length - 1];
  for (const article of ui.log.querySelectorAll('article.message')) {
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
      if (msg === last && !busy) buttons.push(button('Regenerate', () => regenerate(conv)));
    }
    actions.replaceChildren(...buttons);
  }
}

function startEdit(article, msg) {
  if (state.stream) return;
  const conv = state.current;
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
    if (!text.trim() || state.stream) return;
    const index = conv.messages.indexOf(msg);
    if (index < 0) return;
    conv.messages.splice(index + 1); // fork: what came after is dropped
    msg.content = text;
    touch(conv);
    persist();
    showConversation();
    renderSidebar();
    ask(conv);
    ui.message.focus();
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
function showError(text, retry) {
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
  ui.log.append(row);
  scrollToBottom(true);
}

function clearErrors() {
  for (const row of ui.log.querySelectorAll('.error-row')) row.remove();
}

// -------------------------------------------------------------- scrolling

function scrollToBottom(force = false) {
  if (force || state.follow) ui.log.scrollTop = ui.log.scrollHeight;
}

function onLogScroll() {
  const gap = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight;
  state.follow = gap <= FOLLOW_SLACK;
  ui.jump.hidden = state.follow;
}

function jumpToLatest() {
  state.follow = true;
  ui.jump.hidden = true;
  scrollToBottom(true);
  ui.message.focus();
}

// ----------------------------------------------------------- the composer

/** Enter (not Shift+Enter, not while an IME is composing) sends. */
function isSendKey(event) {
  return event.key === 'Enter' && !event.shiftKey && !event.altKey
    && !event.isComposing && event.keyCode !== 229;
}

function grow(area) {
  area.style.height = 'auto';
  area.style.height = `${area.scrollHeight + 2}px`;
}

function updateComposer() {
  const busy = Boolean(state.stream);
  ui.send.disabled = busy;
  ui.stop.hidden = !busy;
  ui.stop.disabled = !busy;
}

function send() {
  const text = ui.message.value;
  if (state.stream || !text.trim()) return;
  const conv = state.current;
  if (!state.conversations.includes(conv)) state.conversations.push(conv);
  if (!conv.messages.some((m) => m.role === 'user') && !conv.renamed) conv.title = store.titleFrom(text);
  const msg = { role: 'user', content: text };
  conv.messages.push(msg);
  touch(conv);
  persist();
  ui.message.value = '';
  grow(ui.message);
  ui.log.querySelector('.empty')?.remove();
  ui.log.append(messageArticle(msg));
  ui.title.textContent = conv.title;
  renderSidebar();
  state.follow = true;
  ask(conv);
}

function regenerate(conv) {
  const last = conv.messages[conv.messages.length - 1];
  if (state.stream || !last || last.role !== 'assistant') return;
  conv.messages.pop();
  articleOf.get(last)?.remove();
  touch(conv);
  persist();
  ask(conv);
  ui.message.focus();
}

function stop() {
  state.stream?.controller.abort();
}

/** What the API is sent: the system prompt, then the conversation. */
function requestMessages(conv) {
  const messages = [];
  if (conv.system.trim()) messages.push({ role: 'system', content: conv.system });
  for (const m of conv.messages) {
    if (m.role === 'user' || m.content) messages.push({ role: m.role, content: m.content });
  }
  return messages;
}

/** Asks for an answer to `conv` as it stands, streaming it into a new message. */
async function ask(conv) {
  if (state.stream) return;
  clearErrors();
  const history = requestMessages(conv);
  const msg = { role: 'assistant', content: '', state: 'streaming' };
  conv.messages.push(msg);
  const stream = { conv, msg, controller: new AbortController(), frame: 0, timer: 0, nextPaint: 0 };
  state.stream = stream;
  if (conv === state.current) {
    ui.log.append(messageArticle(msg));
    refreshActions();
    scrollToBottom();
  }
  updateComposer();
  renderSidebar();
  announce('Waiting for the answer…');
  let failure = null; // an ApiError before any output
  try {
    const model = await modelFor(conv);
    for await (const event of streamChat({ model, messages: history, stream: true }, stream.controller.signal)) {
      if (event.type === 'delta') {
        if (!msg.content) announce('Answering…');
        msg.content += event.text;
        schedulePaint(stream);
      } else if (event.type === 'error') {
        msg.error = msg.error || event.message;
      } else if (event.type === 'finish' && event.reason === 'length') {
        msg.finish = 'length';
      } else if (event.type === 'dropped') {
        msg.error = msg.error || 'the connection was lost before the answer finished.';
      }
    }
    msg.state = msg.error ? 'failed' : 'done';
  } catch (err) {
    if (stream.controller.signal.aborted) {
      msg.state = 'stopped';
    } else if (err instanceof ApiError && !msg.content) {
      failure = err;
    } else {
      msg.state = 'failed';
      msg.error = err instanceof ApiError ? err.message : 'the connection was lost.';
    }
  }
  finishAsk(stream, failure);
}

function finishAsk(stream, failure) {
  const { conv, msg } = stream;
  cancelAnimationFrame(stream.frame);
  clearTimeout(stream.timer);
  state.stream = null;
  const article = articleOf.get(msg);
  if (failure) {
    conv.messages.splice(conv.messages.indexOf(msg), 1);
    article?.remove();
  } else {
    if (msg.state === 'done') delete msg.state;
    if (article?.isConnected) fillArticle(article, msg);
    touch(conv);
  }
  persist();
  updateComposer();
  renderSidebar();
  if (conv === state.current) refreshActions();
  scrollToBottom();
  if (!failure) {
    announce(msg.state === 'stopped' ? 'Stopped.' : msg.state === 'failed' ? 'The answer was interrupted.' : 'The answer is complete.');
    return;
  }
  announce('');
  const retry = () => ask(conv);
  if (failure.kind === 'auth') {
    needKey('chat', failure.sentKey, retry, () => {
      if (conv === state.current) showError('This gateway needs an API key: set one to get an answer.', retry);
    });
  } else if (conv === state.current) {
    showError(failure.message, retry);
  }
}

/**
 * Batches deltas: the answer is re-rendered at most once per frame, and
 * less often when that gets expensive (a long paragraph in scripts that
 * are slow to lay out): painting may take about a third of the time, so
 * reading the stream never falls behind.
 */
function schedulePaint(stream) {
  if (stream.frame || stream.timer) return;
  const paint = () => {
    stream.frame = 0;
    const article = articleOf.get(stream.msg);
    if (!article?.isConnected) return;
    const start = performance.now();
    renderInto(article.querySelector('.content'), stream.msg.content);
    scrollToBottom();
    void ui.log.scrollHeight; // lay out now, so the cost is measured
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

// -------------------------------------------------------------- settings

function exportCurrent(kind) {
  const conv = state.current;
  const [text, type] = kind === 'json'
    ? [store.exportJson(conv), 'application/json']
    : [store.exportMarkdown(conv), 'text/markdown'];
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = el('a');
  a.href = url;
  a.download = store.fileName(conv, kind === 'json' ? 'json' : 'md');
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

let systemTimer = 0;
function onSystemInput() {
  const conv = state.current;
  conv.system = ui.system.value;
  clearTimeout(systemTimer);
  // Saved after a pause in typing, not on every key.
  systemTimer = setTimeout(() => {
    systemTimer = 0;
    persist();
  }, 400);
}

// ------------------------------------------------------------- wiring

function bindEvents() {
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  ui.message.addEventListener('keydown', (event) => {
    if (!isSendKey(event)) return;
    event.preventDefault(); // even while streaming: Enter never adds a stray line
    send();
  });
  ui.message.addEventListener('input', () => grow(ui.message));
  ui.stop.addEventListener('click', () => {
    stop();
    ui.message.focus();
  });
  ui.log.addEventListener('scroll', onLogScroll, { passive: true });
  ui.log.addEventListener('click', (event) => {
    const b = event.target.closest?.('.copy-code');
    const code = b?.closest('.code-block')?.querySelector('code');
    if (code) copy(code.textContent, b);
  });
  ui.jump.addEventListener('click', jumpToLatest);
  ui.newChat.addEventListener('click', newChat);
  ui.menu.addEventListener('click', () => setDrawer(!document.body.classList.contains('drawer-open')));
  ui.scrim.addEventListener('click', () => setDrawer(false));
  ui.model.addEventListener('change', () => {
    state.current.model = ui.model.value;
    persist();
  });
  ui.system.addEventListener('input', onSystemInput);
  ui.system.addEventListener('change', persist);
  $('export-json').addEventListener('click', () => exportCurrent('json'));
  $('export-md').addEventListener('click', () => exportCurrent('md'));
  ui.changeKey.addEventListener('click', () => {
    state.keyWaiters.set('models', { retry: loadModels, cancel: () => {} });
    openKeyDialog('');
  });
  ui.forgetKey.addEventListener('click', () => {
    store.forgetApiKey();
    updateKeyControls();
    announce('The API key was forgotten.');
    ui.changeKey.focus();
  });
  ui.dismiss.addEventListener('click', () => {
    ui.banner.hidden = true;
    ui.dismiss.hidden = true;
    persist();
    ui.message.focus();
  });
  document.addEventListener('keydown', onGlobalKey);
  window.addEventListener('resize', () => scrollToBottom());
  // Keep what arrived of an answer (or a system prompt being typed) if
  // the tab closes now; only then, as a needless write would undo changes
  // another tab made.
  window.addEventListener('pagehide', () => {
    if (state.stream || systemTimer) persist();
  });
}

function onGlobalKey(event) {
  if (event.key !== 'Escape' || event.defaultPrevented || event.isComposing) return;
  if (document.querySelector('dialog[open]')) return; // the dialog closes itself
  if (state.stream) {
    event.preventDefault();
    stop();
  } else if (document.body.classList.contains('drawer-open')) {
    setDrawer(false);
  } else if (ui.settings.open) {
    ui.settings.open = false;
    ui.settings.querySelector('summary').focus();
  }
}

/** Makes sure there is a current conversation (a fresh one if needed). */
function ensureCurrent() {
  if (state.current) return;
  const conv = store.newConversation(defaultModel(), '');
  state.conversations.push(conv);
  state.current = conv;
}

function init() {
  const loaded = store.loadAll();
  state.conversations = loaded.conversations;
  state.current = state.conversations.find((c) => c.id === loaded.currentId)
    || sortedConversations()[0] || null;
  ensureCurrent();
  if (loaded.problem) showBanner(loaded.problem, true);
  bindEvents();
  updateKeyControls();
  showConversation();
  renderSidebar();
  loadModels();
  grow(ui.message);
  ui.message.focus();
}

init();
