// The inlines of Markdown text inside one block: backslash escapes, hard
// breaks, code spans, emphasis (`*`, `_`), strikethrough (`~~`), entities,
// and links and images (whose destinations links.js parses and vets).
// Like the block pass, it builds nodes with createElement and textContent
// only, and runs in one pass over the characters.

import { autolinkAt, bareUrlAt, isAsciiPunct, link, linkTail, safeUrl } from './links.js';

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// ------------------------------------------------------------------ items
//
// A scan turns the text into a doubly linked list of items — text, finished
// nodes (code, links, breaks), delimiter runs (* _ ~~) and brackets — and
// then CommonMark's "process emphasis" pairs the delimiters. Linked items
// make each pairing cost only the items it wraps.

class Items {
  constructor() {
    this.head = null;
    this.tail = null;
  }

  push(item) {
    item.prev = this.tail;
    item.next = null;
    if (this.tail) this.tail.next = item;
    else this.head = item;
    this.tail = item;
    return item;
  }

  unlink(item) {
    if (item.prev) item.prev.next = item.next;
    else this.head = item.next;
    if (item.next) item.next.prev = item.prev;
    else this.tail = item.prev;
    item.prev = item.next = null;
  }

  insertAfter(ref, item) {
    item.prev = ref;
    item.next = ref.next;
    if (ref.next) ref.next.prev = item;
    else this.tail = item;
    ref.next = item;
  }

  /** Moves the items strictly between `from` and `to` (null: the end) into `parent`. */
  moveBetween(from, to, parent) {
    let item = from.next;
    while (item && item !== to) {
      const next = item.next;
      this.unlink(item);
      parent.append(toNode(item));
      item = next;
    }
  }
}

function toNode(item) {
  switch (item.kind) {
    case 'node':
      return item.node;
    case 'delim':
      return document.createTextNode(item.ch.repeat(item.count));
    default:
      return document.createTextNode(item.text);
  }
}

const ENTITY = /&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/y;
const NAMED = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©',
  reg: '®', trade: '™', hellip: '…', mdash: '—', ndash: '–', laquo: '«', raquo: '»',
  rarr: '→', larr: '←', times: '×', deg: '°', middot: '·', bull: '•', euro: '€' };

function decodeEntity(entity) {
  const body = entity.slice(1, -1);
  if (body[0] !== '#') return NAMED[body] ?? null;
  const code = body[1] === 'x' || body[1] === 'X'
    ? Number.parseInt(body.slice(2), 16)
    : Number.parseInt(body.slice(1), 10);
  if (!code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\uFFFD';
  return String.fromCodePoint(code);
}

const SPECIAL = new Set(['\\', '\n', '`', '*', '_', '~', '!', '[', ']', '<', '&', 'h', 'H', 'w', 'W']);

function isSpace(ch) {
  return ch === undefined || /\s/.test(ch);
}

function isPunct(ch) {
  return ch !== undefined && /[\p{P}\p{S}]/u.test(ch);
}

/** Positions of backtick runs by length, to find code span ends in one pass. */
function backtickRuns(src) {
  const runs = new Map();
  for (let i = 0; i < src.length; i++) {
    if (src[i] !== '`') continue;
    let j = i;
    while (src[j] === '`') j++;
    const len = j - i;
    if (!runs.has(len)) runs.set(len, { positions: [], next: 0 });
    runs.get(len).positions.push(i);
    i = j - 1;
  }
  return runs;
}

function findRun(runs, len, from) {
  const entry = runs.get(len);
  if (!entry) return -1;
  while (entry.next < entry.positions.length && entry.positions[entry.next] < from) entry.next++;
  return entry.next < entry.positions.length ? entry.positions[entry.next] : -1;
}

/** Renders the inlines of `src` (one block's text) into `parent`. */
export function renderInline(src, parent) {
  const items = new Items();
  scanInline(src, items);
  processEmphasis(items, null);
  for (let item = items.head; item; item = item.next) parent.append(toNode(item));
}

function scanInline(src, items) {
  const n = src.length;
  const runs = backtickRuns(src);
  const brackets = [];
  let buf = '';
  const flush = () => {
    if (buf) items.push({ kind: 'text', text: buf });
    buf = '';
  };
  const pushNode = (node) => {
    flush();
    items.push({ kind: 'node', node });
  };
  let i = 0;
  while (i < n) {
    const c = src[i];
    if (!SPECIAL.has(c)) {
      let k = i + 1;
      while (k < n && !SPECIAL.has(src[k])) k++;
      buf += src.slice(i, k);
      i = k;
      continue;
    }
    if (c === '\\') {
      if (isAsciiPunct(src[i + 1])) {
        buf += src[i + 1];
        i += 2;
      } else if (src[i + 1] === '\n') {
        i += 1; // the newline below makes the break
      } else {
        buf += c;
        i++;
      }
    } else if (c === '\n') {
      buf = buf.trimEnd();
      pushNode(el('br'));
      i++;
      while (src[i] === ' ' || src[i] === '\t') i++;
    } else if (c === '`') {
      let k = i;
      while (src[k] === '`') k++;
      const len = k - i;
      const close = findRun(runs, len, k);
      if (close < 0) {
        buf += src.slice(i, k);
        i = k;
        continue;
      }
      let content = src.slice(k, close).replace(/\n/g, ' ');
      if (content.length > 2 && content[0] === ' ' && content[content.length - 1] === ' '
        && content.trim()) {
        content = content.slice(1, -1);
      }
      const code = el('code');
      code.textContent = content;
      pushNode(code);
      i = close + len;
    } else if (c === '*' || c === '_' || c === '~') {
      let k = i;
      while (src[k] === c) k++;
      const count = k - i;
      if (c === '~' && count !== 2) {
        buf += src.slice(i, k);
        i = k;
        continue;
      }
      const before = src[i - 1];
      const after = src[k];
      const left = !isSpace(after) && (!isPunct(after) || isSpace(before) || isPunct(before));
      const right = !isSpace(before) && (!isPunct(before) || isSpace(after) || isPunct(after));
      const canOpen = c === '_' ? left && (!right || isPunct(before)) : left;
      const canClose = c === '_' ? right && (!left || isPunct(after)) : right;
      flush();
      items.push({ kind: 'delim', ch: c, count, orig: count, canOpen, canClose });
      i = k;
    } else if (c === '[' || (c === '!' && src[i + 1] === '[')) {
      flush();
      const image = c === '!';
      const bracket = items.push({ kind: 'bracket', text: image ? '![' : '[', image, active: true });
      brackets.push(bracket);
      i += image ? 2 : 1;
    } else if (c === ']') {
      i = closeBracket(src, i, items, brackets, flush) ?? (buf += ']', i + 1);
    } else if (c === '<') {
      const link = autolinkAt(src, i);
      if (link) {
        pushNode(link.node);
        i = link.end;
      } else {
        buf += c;
        i++;
      }
    } else if (c === '&') {
      ENTITY.lastIndex = i;
      const m = ENTITY.exec(src);
      const decoded = m && decodeEntity(m[0]);
      if (decoded) {
        buf += decoded;
        i += m[0].length;
      } else {
        buf += c;
        i++;
      }
    } else {
      // h/H/w/W: maybe a bare URL ("https://…", "www.…") at a word start.
      const link = /[\p{L}\p{N}]/u.test(src[i - 1] ?? ' ') ? null : bareUrlAt(src, i);
      if (link) {
        pushNode(link.node);
        i = link.end;
      } else {
        buf += c;
        i++;
      }
    }
  }
  flush();
}

/**
 * Handles `]` at `i`: a link or image when an opener exists and a
 * destination follows. Returns the next index, or null when `]` is text.
 */
function closeBracket(src, i, items, brackets, flush) {
  const opener = brackets.pop();
  if (!opener) return null;
  if (!opener.active) {
    opener.kind = 'text';
    return null;
  }
  const tail = linkTail(src, i + 1);
  if (!tail) {
    opener.kind = 'text';
    return null;
  }
  flush();
  processEmphasis(items, opener);
  const url = safeUrl(tail.url);
  if (!url) {
    // Not a link we allow: show the whole construct as the text it is.
    opener.kind = 'text';
    items.push({ kind: 'text', text: src.slice(i, tail.end) });
    return tail.end;
  }
  const a = link(url);
  if (opener.image) {
    a.classList.add('image-link');
    const label = el('span');
    items.moveBetween(opener, null, label);
    a.textContent = label.textContent || url;
  } else {
    items.moveBetween(opener, null, a);
    // Links never nest: unwrap any (auto)link inside the text.
    for (const inner of a.querySelectorAll('a')) inner.replaceWith(...inner.childNodes);
    for (const b of brackets) if (!b.image) b.active = false;
  }
  opener.kind = 'node';
  opener.node = a;
  return tail.end;
}

/**
 * CommonMark's emphasis pairing over the delimiter items after `bottom`
 * (null: all of them): each closer takes the nearest matching opener.
 */
function processEmphasis(items, bottom) {
  const floors = new Map();
  let closer = bottom ? bottom.next : items.head;
  while (closer) {
    if (closer.kind !== 'delim' || !closer.canClose) {
      closer = closer.next;
      continue;
    }
    const key = `${closer.ch}${closer.canOpen ? 1 : 0}${closer.orig % 3}`;
    const floor = floors.get(key) ?? bottom;
    let opener = closer.prev;
    while (opener && opener !== floor && opener !== bottom) {
      if (opener.kind === 'delim' && opener.ch === closer.ch && opener.canOpen) {
        if (closer.ch === '~') {
          if (opener.count === closer.count) break;
        } else {
          const odd = (opener.canClose || closer.canOpen)
            && (opener.orig + closer.orig) % 3 === 0
            && !(opener.orig % 3 === 0 && closer.orig % 3 === 0);
          if (!odd) break;
        }
      }
      opener = opener.prev;
    }
    if (!opener || opener === floor || opener === bottom) {
      floors.set(key, closer.prev);
      if (!closer.canOpen) closer.canClose = false;
      closer = closer.next;
      continue;
    }
    const use = closer.ch === '~' ? 2 : opener.count >= 2 && closer.count >= 2 ? 2 : 1;
    const tag = closer.ch === '~' ? 'del' : use === 2 ? 'strong' : 'em';
    const wrapper = el(tag);
    items.moveBetween(opener, closer, wrapper);
    items.insertAfter(opener, { kind: 'node', node: wrapper });
    opener.count -= use;
    closer.count -= use;
    if (opener.count === 0) items.unlink(opener);
    if (closer.count === 0) {
      const next = closer.next;
      items.unlink(closer);
      closer = next;
    }
  }
}
