// Conversations and the API key, kept in this browser's localStorage.
//
// Storage can be missing (disabled cookies make the localStorage getter
// throw), full (setItem throws QuotaExceededError) or hold junk from an
// older page or a hand edit; none of that may break the page, so every
// access is guarded and reports what happened instead of throwing.

const CONVERSATIONS = 'fakegpt.conversations';
const CURRENT = 'fakegpt.current';
const API_KEY = 'fakegpt.apiKey';
const CORRUPT = 'fakegpt.conversations.corrupt';

export const DEFAULT_TITLE = 'New chat';
const TITLE_CHARS = 40;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function read(key) {
  try {
    return storage()?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

/** Writes a value; returns null, or 'quota' / 'unavailable' on failure. */
function write(key, value) {
  const ls = storage();
  if (!ls) return 'unavailable';
  try {
    ls.setItem(key, value);
    return null;
  } catch (err) {
    const quota = err && (err.name === 'QuotaExceededError' || err.code === 22 || err.code === 1014);
    return quota ? 'quota' : 'unavailable';
  }
}

function remove(key) {
  try {
    storage()?.removeItem(key);
  } catch {
    // Nothing to do: the value simply stays.
  }
}

/** A random id; crypto.randomUUID needs a secure context, this does not. */
export function newId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `c${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export function newConversation(model = '', system = '') {
  const now = Date.now();
  return { id: newId(), title: DEFAULT_TITLE, created: now, updated: now, model, system, messages: [] };
}

/** A title from the first user message: its first ~40 characters. */
export function titleFrom(text) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  if (!flat) return DEFAULT_TITLE;
  const chars = Array.from(flat);
  return chars.length <= TITLE_CHARS ? flat : `${chars.slice(0, TITLE_CHARS).join('').trimEnd()}…`;
}

const str = (value, fallback = '') => (typeof value === 'string' ? value : fallback);
const num = (value, fallback) => (Number.isFinite(value) ? value : fallback);

/** A message as stored, or null when it is not one. */
function cleanMessage(raw) {
  if (!raw || typeof raw !== 'object') return null;
  if (raw.role !== 'user' && raw.role !== 'assistant') return null;
  const msg = { role: raw.role, content: str(raw.content) };
  if (raw.role === 'assistant') {
    // An answer saved while it was still arriving (the tab closed) was,
    // in effect, stopped there.
    const state = raw.state === 'streaming' ? 'stopped' : raw.state;
    if (state === 'stopped' || state === 'failed') msg.state = state;
    if (state === 'failed') msg.error = str(raw.error, 'unknown error');
    if (raw.finish === 'length') msg.finish = 'length';
  }
  return msg;
}

/** A conversation as stored, or null when it is not one. */
function cleanConversation(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string' || !raw.id) return null;
  const now = Date.now();
  const conv = {
    id: raw.id,
    title: str(raw.title, DEFAULT_TITLE) || DEFAULT_TITLE,
    created: num(raw.created, now),
    updated: num(raw.updated, num(raw.created, now)),
    model: str(raw.model),
    system: str(raw.system),
    messages: Array.isArray(raw.messages) ? raw.messages.map(cleanMessage).filter(Boolean) : [],
  };
  if (raw.renamed === true) conv.renamed = true;
  return conv;
}

/** The plain object to store or export for `conv`. */
export function toStored(conv) {
  return cleanConversation(conv);
}

/**
 * Reads the saved conversations. Junk is set aside under another key (not
 * deleted) and reported in `problem`.
 * @returns {{conversations: object[], currentId: string|null, problem: string|null}}
 */
export function loadAll() {
  if (!storage()) {
    return {
      conversations: [],
      currentId: null,
      problem: 'Browser storage is not available: conversations will not be saved.',
    };
  }
  const raw = read(CONVERSATIONS);
  let conversations = [];
  let problem = null;
  if (raw !== null) {
    try {
      const data = JSON.parse(raw);
      if (!Array.isArray(data)) throw new Error('not a list');
      const seen = new Set();
      for (const item of data) {
        const conv = cleanConversation(item);
        if (conv && !seen.has(conv.id)) {
          seen.add(conv.id);
          conversations.push(conv);
        }
      }
    } catch {
      conversations = [];
      const aside = setAside(raw);
      problem = aside
        ? `Saved conversations could not be read. They were kept aside in browser storage under "${aside}"; starting afresh.`
        : 'Saved conversations could not be read; starting afresh.';
    }
  }
  return { conversations, currentId: read(CURRENT), problem };
}

/** Moves a corrupt blob to a key of its own; returns that key, or null. */
function setAside(raw) {
  const key = read(CORRUPT) === null ? CORRUPT : `${CORRUPT}.${Date.now()}`;
  if (write(key, raw) !== null) {
    // No room for a second copy: the original stays where it was (it
    // will be overwritten by the next save, which is all we can do).
    return null;
  }
  remove(CONVERSATIONS);
  return key;
}

/**
 * Saves every conversation that holds something (empty new chats are not
 * worth a slot) and the current id.
 * @returns {{ok: boolean, reason?: 'quota'|'unavailable'}}
 */
export function saveAll(conversations, currentId) {
  const kept = conversations.filter((c) => c.messages.length || c.system || c.renamed);
  const failure = write(CONVERSATIONS, JSON.stringify(kept.map(toStored)))
    || (currentId ? write(CURRENT, currentId) : null);
  return failure ? { ok: false, reason: failure } : { ok: true };
}

// --------------------------------------------------------------- API key

/** The key, kept in memory too so a browser that refuses storage still works. */
let memoryKey = null;

export function getApiKey() {
  return read(API_KEY) || memoryKey || '';
}

export function setApiKey(key) {
  memoryKey = key;
  write(API_KEY, key);
}

export function forgetApiKey() {
  memoryKey = null;
  remove(API_KEY);
}

// ---------------------------------------------------------------- export

export function exportJson(conv) {
  return `${JSON.stringify(toStored(conv), null, 2)}\n`;
}

export function exportMarkdown(conv) {
  const parts = [`# ${conv.title}`];
  if (conv.system.trim()) parts.push(`**System:**\n\n${conv.system}`);
  for (const msg of conv.messages) {
    let text = `**${msg.role === 'user' ? 'User' : 'Assistant'}:**\n\n${msg.content}`;
    if (msg.state === 'stopped') text += '\n\n*(stopped)*';
    if (msg.state === 'failed') text += `\n\n*(interrupted: ${msg.error})*`;
    parts.push(text);
  }
  return `${parts.join('\n\n')}\n`;
}

/** A file name for an export of `conv`. */
export function fileName(conv, extension) {
  const slug = conv.title.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
  return `${slug.slice(0, 60) || 'conversation'}.${extension}`;
}
