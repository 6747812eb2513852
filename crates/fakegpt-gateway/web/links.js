// What may become a link in rendered Markdown: `safeUrl`, the one gate
// every href passes (http, https and mailto only), and the parsers that
// find link text's destinations (`[text](dest "title")`), autolinks
// (`<https://…>`, `<name@example.com>`) and bare URLs (`https://…`,
// `www.…`). Also the backslash escapes of ASCII punctuation that both the
// destinations and the inline scan (inline.js) read.
//
// Every scan here is bounded by MAX_DEST, so a stray `](` or `<` costs
// little however long the paragraph.

/** The longest link destination looked for (bounds the work per `](`). */
const MAX_DEST = 2048;
/** Schemes a link may use; everything else is shown as text. */
const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

const ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
export function isAsciiPunct(ch) {
  return ch !== undefined && ch.length === 1 && ASCII_PUNCT.includes(ch);
}

export function unescapePunct(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && isAsciiPunct(text[i + 1])) i++;
    out += text[i];
  }
  return out;
}

/**
 * Whether `raw` is an http(s) or mailto URL; returns its normalised form,
 * or null for anything else (relative URLs, javascript:, data:, ...).
 * @param {string} raw
 * @returns {string|null}
 */
export function safeUrl(raw) {
  const url = unescapePunct(String(raw)).trim();
  // Browsers drop tabs and newlines inside URLs ("java\tscript:"); refuse
  // any control character or space outright rather than reason about it.
  for (let i = 0; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return null;
  }
  let parsed;
  try {
    parsed = new URL(url); // no base: relative URLs throw and stay text
  } catch {
    return null;
  }
  return SAFE_PROTOCOLS.has(parsed.protocol) ? parsed.href : null;
}

/** Parses `(destination "title")` at `j`; returns {url, end} or null. */
export function linkTail(src, j) {
  if (src[j] !== '(') return null;
  let k = j + 1;
  const skipSpace = () => {
    while (k < src.length && (src[k] === ' ' || src[k] === '\t' || src[k] === '\n')) k++;
  };
  skipSpace();
  let url;
  if (src[k] === '<') {
    const start = k + 1;
    k = start;
    while (k < src.length && k - start < MAX_DEST && src[k] !== '>' && src[k] !== '\n' && src[k] !== '<') {
      k += src[k] === '\\' ? 2 : 1;
    }
    if (src[k] !== '>') return null;
    url = src.slice(start, k);
    k++;
  } else {
    const start = k;
    let depth = 0;
    while (k < src.length && k - start < MAX_DEST) {
      const ch = src[k];
      if (ch === '\\' && isAsciiPunct(src[k + 1])) {
        k += 2;
        continue;
      }
      if (ch === '(') depth++;
      else if (ch === ')') {
        if (depth === 0) break;
        depth--;
      } else if (ch <= ' ') break;
      k++;
    }
    if (depth !== 0) return null;
    url = src.slice(start, k);
  }
  skipSpace();
  const quote = src[k];
  if (quote === '"' || quote === "'" || quote === '(') {
    const close = quote === '(' ? ')' : quote;
    const start = k;
    k++;
    while (k < src.length && k - start < MAX_DEST && src[k] !== close) k += src[k] === '\\' ? 2 : 1;
    if (src[k] !== close) return null;
    k++;
    skipSpace();
  }
  if (src[k] !== ')') return null;
  return { url, end: k + 1 };
}

export function link(url) {
  const a = document.createElement('a');
  a.href = url;
  a.rel = 'noopener noreferrer nofollow';
  a.target = '_blank';
  return a;
}

/** `<https://…>` or `<name@example.com>` at `i`. */
export function autolinkAt(src, i) {
  let k = i + 1;
  while (k < src.length && k - i < MAX_DEST && src[k] !== '>' && src[k] !== '<' && src[k] > ' ') k++;
  if (src[k] !== '>') return null;
  const inner = src.slice(i + 1, k);
  let url = null;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]{1,31}:/.test(inner)) {
    url = safeUrl(inner);
  } else {
    const at = inner.indexOf('@');
    if (at > 0 && at === inner.lastIndexOf('@') && inner.indexOf('.', at) > at + 1) {
      url = safeUrl(`mailto:${inner}`);
    }
  }
  if (!url) return null;
  const a = link(url);
  a.textContent = inner;
  return { node: a, end: k + 1 };
}

const TRAILING_PUNCT = new Set(['?', '!', '.', ',', ':', '*', '_', '~', "'", '"', ';']);

/** A bare `https://…`, `http://…` or `www.…` at `i`. */
export function bareUrlAt(src, i) {
  const head = src.slice(i, i + 8).toLowerCase();
  const www = head.startsWith('www.');
  if (!www && !head.startsWith('https://') && !head.startsWith('http://')) return null;
  let k = i;
  while (k < src.length && k - i < MAX_DEST && src[k] > ' ' && src[k] !== '<' && !/\s/.test(src[k])) k++;
  let text = src.slice(i, k);
  // Trailing punctuation and unbalanced closing parens end the sentence,
  // not the URL.
  for (;;) {
    const last = text[text.length - 1];
    if (TRAILING_PUNCT.has(last)) {
      text = text.slice(0, -1);
    } else if (last === ')' && text.split(')').length > text.split('(').length) {
      text = text.slice(0, -1);
    } else {
      break;
    }
  }
  if (text.length <= (www ? 4 : 8)) return null;
  const url = safeUrl(www ? `https://${text}` : text);
  if (!url) return null;
  const a = link(url);
  a.textContent = text;
  return { node: a, end: i + text.length };
}
