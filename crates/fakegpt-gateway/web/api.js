// Talking to the gateway's OpenAI-compatible API (same origin): the model
// list, streamed chat completions read as server-sent events, and errors
// turned into sentences a person can act on.

import { getApiKey } from './store.js';

/** The longest gateway message shown (a proxy could send a whole page). */
const MAX_MESSAGE = 400;

/** A request that failed before any answer arrived. */
export class ApiError extends Error {
  /**
   * @param {string} message what to show, a whole sentence
   * @param {{kind?: string, status?: number, sentKey?: boolean, retryAfter?: number|null}} info
   *   kind: 'auth' (401), 'rate' (429), 'http' (another status),
   *   'network' (no answer at all) or 'protocol' (an answer we cannot read)
   */
  constructor(message, { kind = 'http', status = 0, sentKey = false, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.sentKey = sentKey;
    this.retryAfter = retryAfter;
  }
}

/** fetch with the API key, turning failures into ApiError (aborts pass through). */
async function call(path, init = {}) {
  const key = getApiKey();
  const headers = new Headers(init.headers);
  if (key) headers.set('Authorization', `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'same-origin' });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new ApiError('Could not reach the gateway: check that it is still running.', { kind: 'network' });
  }
  if (!response.ok) throw await errorFrom(response, Boolean(key));
  return response;
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date). */
function retryAfterSeconds(value) {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

function clip(text) {
  const flat = String(text).trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}

/** The ApiError for a non-2xx answer, worded for its status. */
async function errorFrom(response, sentKey) {
  const status = response.status;
  let message = '';
  try {
    const body = JSON.parse(await response.text());
    if (body && body.error && typeof body.error.message === 'string') message = clip(body.error.message);
  } catch {
    // Not JSON (a proxy's page, an empty body): the status must do.
  }
  if (status === 401) {
    return new ApiError(message || 'The gateway needs an API key.', { kind: 'auth', status, sentKey });
  }
  if (status === 429) {
    const seconds = retryAfterSeconds(response.headers.get('Retry-After'));
    const wait = seconds === null ? 'in a moment' : `in ${seconds} s`;
    return new ApiError(`Too many requests — try again ${wait}.`, { kind: 'rate', status, retryAfter: seconds });
  }
  const what = status === 502 ? 'The upstream failed'
    : status === 504 ? 'The upstream timed out'
      : 'The request failed';
  const detail = message || 'the gateway sent an answer that could not be read.';
  return new ApiError(`${what} (${status}): ${detail}`, { status });
}

/** The ids of the models the gateway serves. */
export async function listModels() {
  const response = await call('/v1/models', { headers: { Accept: 'application/json' } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Falls through to the error below.
  }
  if (!body || !Array.isArray(body.data)) {
    throw new ApiError('The model list could not be read.', { kind: 'protocol', status: response.status });
  }
  return body.data.map((m) => (m && typeof m.id === 'string' ? m.id : null)).filter(Boolean);
}

/**
 * Streams a chat completion. Yields events:
 * `{type: 'delta', text}`, `{type: 'finish', reason}`, `{type: 'error', message}`
 * (a failure after output began) and, last, `{type: 'dropped'}` if the
 * stream ended without `[DONE]`. Throws ApiError when the request fails
 * before the stream starts, and the abort error when `signal` aborts.
 */
export async function* streamChat(payload, signal) {
  const response = await call('/v1/chat/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(payload),
    signal,
  });
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('text/event-stream')) {
    yield* wholeAnswer(response);
    return;
  }
  if (!response.body) throw new ApiError('The browser cannot read streamed answers.', { kind: 'protocol' });
  let done = false;
  for await (const data of serverSentData(response.body)) {
    if (data === '[DONE]') {
      done = true;
      break;
    }
    let chunk;
    try {
      chunk = JSON.parse(data);
    } catch {
      continue; // A line we cannot read is skipped, not fatal.
    }
    if (chunk && chunk.error) {
      const message = typeof chunk.error.message === 'string' ? clip(chunk.error.message) : 'unknown error';
      yield { type: 'error', message };
      continue;
    }
    const choice = chunk && Array.isArray(chunk.choices) ? chunk.choices[0] : null;
    if (!choice) continue;
    const text = choice.delta && choice.delta.content;
    if (typeof text === 'string' && text) yield { type: 'delta', text };
    if (choice.finish_reason) yield { type: 'finish', reason: String(choice.finish_reason) };
  }
  if (!done) yield { type: 'dropped' };
}

/** A non-streamed answer (a proxy that buffered the stream away). */
async function* wholeAnswer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Falls through.
  }
  const choice = body && Array.isArray(body.choices) ? body.choices[0] : null;
  const text = choice && choice.message && choice.message.content;
  if (typeof text !== 'string') throw new ApiError('The gateway sent an answer that could not be read.', { kind: 'protocol' });
  yield { type: 'delta', text };
  if (choice.finish_reason) yield { type: 'finish', reason: String(choice.finish_reason) };
}

/**
 * The `data` of each server-sent event in `body`, as the HTML standard
 * parses them: lines end with CRLF, LF or CR (a CR at the end of one read
 * may pair with an LF at the start of the next), `:` lines are comments,
 * a blank line ends an event, and its data lines join with LF.
 */
export async function* serverSentData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const eol = /\r\n|\r|\n/g;
  let buffer = '';
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      eol.lastIndex = 0;
      for (let m = eol.exec(buffer); m; m = eol.exec(buffer)) {
        if (!done && m[0] === '\r' && m.index === buffer.length - 1) break;
        const line = buffer.slice(start, m.index);
        start = eol.lastIndex;
        if (line === '') {
          if (data.length) yield data.join('\n');
          data = [];
        } else if (line[0] !== ':') {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value[0] === ' ') value = value.slice(1);
          if (field === 'data') data.push(value);
        }
      }
      buffer = buffer.slice(start);
      if (done) {
        // The body ended mid-event: pass on what there is (a final
        // "data: [DONE]" without its blank line still counts).
        if (buffer.startsWith('data:')) data.push(buffer.slice(5).replace(/^ /, ''));
        if (data.length) yield data.join('\n');
        return;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
