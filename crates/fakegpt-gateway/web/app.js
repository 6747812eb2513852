// The chat page's controller: the conversations and which one is open,
// the sidebar, the model picker, the composer, asking for an answer and
// streaming it in, Settings, and wiring it all up at load.
//
// The log of messages is messages.js; the dialogs and the API-key flow are
// dialogs.js; small DOM helpers are dom.js. Every node is built with
// createElement and textContent (never an HTML string), so nothing a
// model, a user or an error says can become markup.

import * as store from './store.js';
import { ApiError, listModels, streamChat } from './api.js';
import { $, announce, button, el, grow, icon, isSendKey } from './dom.js';
import { askRename, bindKeyControls, confirmDelete, needKey, updateKeyControls } from './dialogs.js';
import {
  appendMessage, cancelPaint, clearErrors, followLatest, initLog, jumpToLatest, refreshActions,
  refreshMessage, removeMessage, schedulePaint, scrollToBottom, showError, showMessages,
} from './messages.js';

const ui = {
  title: $('chat-title'),
  composer: $('composer'), message: $('message'), send: $('send'), stop: $('stop'),
  list: $('conversations'), newChat: $('new-chat'), menu: $('menu'), sidebar: $('sidebar'),
  scrim: $('scrim'), settings: $('settings'), model: $('model'), modelStatus: $('model-status'),
  system: $('system'),
  banner: $('storage-banner'), alert: $('storage-alert'), dismiss: $('storage-dismiss'),
};

const STORAGE_FULL = 'Browser storage is full: this conversation is not saved. '
  + 'Export it or delete old conversations.';
const STORAGE_MISSING = 'Browser storage is not available: conversations will not be saved.';

const state = {
  conversations: [],
  current: null,
  models: [],
  modelsLoaded: null, // a promise while the list loads
  stream: null, // {conv, msg, controller, frame, timer, nextPaint}
};

const PENCIL = 'M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4';
const TRASH = 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13';

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

// ------------------------------------------------------ rename and delete

function openRename(conv) {
  askRename(conv.title, (title) => {
    if (title) {
      conv.title = title;
      conv.renamed = true;
      touch(conv);
      persist();
      renderSidebar();
      if (conv === state.current) ui.title.textContent = conv.title;
    }
    $(`conv-${conv.id}`)?.focus();
  });
}

function openDelete(conv) {
  confirmDelete(conv.title, (ok) => {
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

// ------------------------------------------------- showing a conversation

function showConversation() {
  const conv = state.current;
  showMessages(conv);
  ui.title.textContent = conv.title;
  ui.system.value = conv.system;
  if (state.models.length) fillModels();
  else setModelPlaceholder(state.modelsLoaded ? 'Loading models…' : 'No models');
  updateComposer();
  jumpToLatest();
}

// ----------------------------------------------------------- the composer

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
  appendMessage(msg);
  ui.title.textContent = conv.title;
  renderSidebar();
  followLatest();
  ask(conv);
}

function regenerate(conv) {
  const last = conv.messages[conv.messages.length - 1];
  if (state.stream || !last || last.role !== 'assistant') return;
  conv.messages.pop();
  removeMessage(last);
  touch(conv);
  persist();
  ask(conv);
  ui.message.focus();
}

/** An edit to `msg` was saved: fork, dropping what came after it, and ask again. */
function resend(conv, msg, text) {
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
    appendMessage(msg);
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
  cancelPaint(stream);
  state.stream = null;
  if (failure) {
    conv.messages.splice(conv.messages.indexOf(msg), 1);
    removeMessage(msg);
  } else {
    if (msg.state === 'done') delete msg.state;
    refreshMessage(msg);
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
  initLog({
    isBusy: () => Boolean(state.stream),
    current: () => state.current,
    resend,
    regenerate,
    focusComposer: () => ui.message.focus(),
  });
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
  bindKeyControls(loadModels);
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
