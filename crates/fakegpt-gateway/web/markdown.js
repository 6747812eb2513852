// A small Markdown renderer that is safe by construction: it builds DOM
// nodes with createElement and textContent only, so nothing the model (or
// anyone) writes can become markup. Raw HTML in the input stays text.
//
// It is meant to run on every animation frame while an answer streams in,
// so it is a single pass over the lines (blocks) and over each paragraph's
// characters (inlines), with no regular expression that can backtrack
// badly, and it never throws: on an internal error it shows plain text.
//
// This module owns the entry points (`render`, `renderInto`) and the block
// structure: paragraphs, headings, quotes, lists, tables and fenced code.
// What happens inside a block's text is inline.js; what may become a link
// is links.js.

import { highlight } from './highlight.js';
import { renderInline } from './inline.js';
import { unescapePunct } from './links.js';

export { safeUrl } from './links.js';

/** How deep quotes and lists may nest before the rest is shown as text. */
const MAX_DEPTH = 12;

/**
 * Renders `markdown` into a DocumentFragment.
 * @param {string} markdown
 * @returns {DocumentFragment}
 */
export function render(markdown) {
  const text = typeof markdown === 'string' ? markdown : String(markdown ?? '');
  const fragment = document.createDocumentFragment();
  try {
    renderBlocks(splitLines(text), fragment, 0);
  } catch (err) {
    console.error('markdown: showing plain text after an internal error', err);
    const p = el('p', 'md-plain');
    p.textContent = text;
    fragment.replaceChildren(p);
  }
  return fragment;
}

/** The chunks last rendered into each container, to reuse while streaming. */
const rendered = new WeakMap();

/**
 * Renders `markdown` into `container`, reusing what an earlier call put
 * there: the source is cut into independent runs of blocks, and only the
 * runs that changed since the last call are rendered again. A streaming
 * answer thus re-renders (and the browser re-lays out) only its tail.
 * @param {Element} container
 * @param {string} markdown
 */
export function renderInto(container, markdown) {
  const text = typeof markdown === 'string' ? markdown : String(markdown ?? '');
  let chunks;
  try {
    chunks = splitChunks(text);
  } catch {
    chunks = [text];
  }
  let old = rendered.get(container) || [];
  // Someone else changed the container: start over.
  if (old.some((c) => c.nodes.some((n) => n.parentNode !== container))) {
    container.replaceChildren();
    old = [];
  } else if (!old.length) {
    container.replaceChildren();
  }
  let same = 0;
  while (same < old.length && same < chunks.length && old[same].source === chunks[same]) same++;
  for (const chunk of old.slice(same)) for (const node of chunk.nodes) node.remove();
  const kept = old.slice(0, same);
  for (const source of chunks.slice(same)) {
    const fragment = render(source);
    const nodes = [...fragment.childNodes];
    container.append(fragment);
    kept.push({ source, nodes });
  }
  rendered.set(container, kept);
}

/**
 * Cuts `text` where a blank line is followed by a line that can only
 * start a new top-level block (not indented, not a list item that could
 * continue a list, not inside a fence), so each piece renders the same
 * alone as in the whole.
 */
function splitChunks(text) {
  const lines = text.split('\n');
  const chunks = [];
  let start = 0;
  let fence = null;
  let blank = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (fence) {
      const close = /^ *(`{3,}|~{3,}) *$/.exec(line);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) fence = null;
      continue;
    }
    if (!line.trim()) {
      blank = true;
      continue;
    }
    if (blank && i > start && !/^[ \t]/.test(line) && !listItemAt(line)) {
      chunks.push(lines.slice(start, i).join('\n'));
      start = i;
    }
    blank = false;
    const open = fenceAt(line);
    if (open) fence = open.marker;
  }
  chunks.push(lines.slice(start).join('\n'));
  return chunks;
}

// ---------------------------------------------------------------- helpers

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

/** Splits into lines (CRLF, CR or LF) with leading tabs expanded to 4. */
function splitLines(text) {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\0/g, '\uFFFD').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.indexOf('\t') < 0) continue;
    let col = 0;
    let k = 0;
    let lead = '';
    for (; k < line.length && (line[k] === ' ' || line[k] === '\t'); k++) {
      const width = line[k] === '\t' ? 4 - (col % 4) : 1;
      lead += ' '.repeat(width);
      col += width;
    }
    lines[i] = lead + line.slice(k);
  }
  return lines;
}

function isBlank(line) {
  return line.trim() === '';
}

function indentOf(line) {
  let n = 0;
  while (n < line.length && line[n] === ' ') n++;
  return n;
}

// ----------------------------------------------------------------- blocks

const FENCE = /^( *)(`{3,}|~{3,})(.*)$/;
const HR = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])( +|$)/;
const QUOTE = /^ {0,3}> ?/;
// A "-" underline needs three dashes here (CommonMark takes one), so a
// list being typed under a paragraph does not flash as a heading.
const SETEXT = /^ {0,3}(?:=+|-{3,}) *$/;

function fenceAt(line) {
  const m = FENCE.exec(line);
  if (!m) return null;
  // A backtick fence's info string may not hold a backtick (that is
  // inline code such as ```x```).
  if (m[2][0] === '`' && m[3].includes('`')) return null;
  return { indent: m[1].length, marker: m[2], info: m[3].trim() };
}

function headingAt(line) {
  const m = /^ {0,3}(#{1,6})(?:[ \t]|$)/.exec(line);
  if (!m) return null;
  let rest = line.slice(m[0].length).trim();
  // Drop a closing sequence of #s when a space precedes it.
  let end = rest.length;
  while (end > 0 && rest[end - 1] === '#') end--;
  if (end === 0) rest = '';
  else if (end < rest.length && (rest[end - 1] === ' ' || rest[end - 1] === '\t')) {
    rest = rest.slice(0, end).trim();
  }
  return { level: m[1].length, text: rest };
}

function listItemAt(line) {
  const m = LIST_ITEM.exec(line);
  if (!m) return null;
  const marker = m[2];
  const ordered = marker.length > 1 || /\d/.test(marker);
  let spaces = m[3].length;
  // Five or more spaces after the marker: the content starts after one.
  if (spaces > 4) spaces = 1;
  const rest = m[3].length ? line.slice(m[1].length + marker.length + spaces) : '';
  return {
    indent: m[1].length,
    ordered,
    bullet: ordered ? marker.slice(-1) : marker,
    start: ordered ? Number.parseInt(marker, 10) : 1,
    contentIndent: m[1].length + marker.length + (spaces || 1),
    rest,
  };
}

/** Whether `line` starts a block that interrupts a paragraph. */
function startsBlock(line) {
  if (HR.test(line) || QUOTE.test(line) || headingAt(line) || fenceAt(line)) return true;
  const item = listItemAt(line);
  // An empty item ("-") cannot interrupt a paragraph; nor can an ordered
  // list that starts at some number other than 1 (so "in 1984. We" stays
  // text), as CommonMark says.
  return Boolean(item && item.rest.trim() && (!item.ordered || item.start === 1));
}

function renderBlocks(lines, parent, depth) {
  let i = 0;
  while (i < lines.length) {
    if (isBlank(lines[i])) {
      i++;
      continue;
    }
    i = renderBlock(lines, i, parent, depth);
  }
}

/** Renders the block starting at line `i`; returns the next line. */
function renderBlock(lines, i, parent, depth) {
  const line = lines[i];
  const fence = fenceAt(line);
  if (fence) return renderFence(lines, i, fence, parent);
  const heading = headingAt(line);
  if (heading) {
    const h = el(`h${heading.level}`);
    renderInline(heading.text, h);
    parent.append(h);
    return i + 1;
  }
  if (HR.test(line)) {
    parent.append(el('hr'));
    return i + 1;
  }
  if (depth < MAX_DEPTH && QUOTE.test(line)) return renderQuote(lines, i, parent, depth);
  if (depth < MAX_DEPTH && listItemAt(line)) return renderList(lines, i, parent, depth);
  const table = tableAt(lines, i);
  if (table) return renderTable(lines, i, table, parent);
  return renderParagraph(lines, i, parent);
}

function renderFence(lines, i, fence, parent) {
  const body = [];
  let j = i + 1;
  for (; j < lines.length; j++) {
    const close = /^ *(`{3,}|~{3,}) *$/.exec(lines[j]);
    if (close && close[1][0] === fence.marker[0] && close[1].length >= fence.marker.length) {
      j++;
      break;
    }
    // Remove up to the opening fence's indentation from each line.
    const strip = Math.min(fence.indent, indentOf(lines[j]));
    body.push(lines[j].slice(strip));
  }
  // An unterminated fence (an answer still streaming) runs to the end.
  const lang = unescapePunct(fence.info.split(/\s/, 1)[0] || '');
  parent.append(codeBlock(body.join('\n'), lang));
  return j;
}

/** A code block: a header with the language and a copy button, then the code. */
function codeBlock(code, lang) {
  const wrap = el('div', 'code-block');
  const head = el('div', 'code-head');
  const label = el('span', 'code-lang');
  label.textContent = lang || 'text';
  const copy = el('button', 'copy-code');
  copy.type = 'button';
  copy.textContent = 'Copy code';
  head.append(label, copy);
  const pre = el('pre');
  const codeEl = el('code');
  const cls = lang.toLowerCase().replace(/[^a-z0-9_+#-]/g, '');
  if (cls) codeEl.className = `language-${cls}`;
  codeEl.append(highlight(code, cls));
  pre.append(codeEl);
  wrap.append(head, pre);
  return wrap;
}

function renderQuote(lines, i, parent, depth) {
  const inner = [];
  let j = i;
  while (j < lines.length) {
    const m = QUOTE.exec(lines[j]);
    if (m) {
      inner.push(lines[j].slice(m[0].length));
    } else if (
      !isBlank(lines[j]) &&
      inner.length &&
      !isBlank(inner[inner.length - 1]) &&
      !startsBlock(lines[j])
    ) {
      inner.push(lines[j]); // a lazy continuation of the quoted paragraph
    } else {
      break;
    }
    j++;
  }
  const quote = el('blockquote');
  renderBlocks(inner, quote, depth + 1);
  parent.append(quote);
  return j;
}

function renderList(lines, i, parent, depth) {
  const first = listItemAt(lines[i]);
  const list = el(first.ordered ? 'ol' : 'ul');
  if (first.ordered && first.start !== 1) list.start = first.start;
  let loose = false;
  let j = i;
  while (j < lines.length) {
    const item = HR.test(lines[j]) ? null : listItemAt(lines[j]);
    if (!item || item.ordered !== first.ordered || item.bullet !== first.bullet) break;
    if (item.indent >= first.contentIndent) break;
    const body = [item.rest];
    let inFence = Boolean(fenceAt(item.rest));
    j++;
    while (j < lines.length) {
      const line = lines[j];
      if (isBlank(line)) {
        // Look past the blank lines: more of this item, the next item, or
        // the end of the list.
        let k = j;
        while (k < lines.length && isBlank(lines[k])) k++;
        if (k < lines.length && indentOf(lines[k]) >= item.contentIndent) {
          if (!inFence) loose = true;
          for (; j < k; j++) body.push('');
          continue;
        }
        if (k < lines.length && sameList(lines[k], first)) loose = true;
        j = k;
        break;
      }
      const ind = indentOf(line);
      const next = listItemAt(line);
      if (next && ind <= item.indent) break; // the next item (of this list or another)
      if (ind >= item.contentIndent) {
        body.push(line.slice(item.contentIndent));
      } else if (next && !HR.test(line)) {
        // A nested item indented less than CommonMark asks ("1. a" then
        // "  - b"), as models often write: nest it anyway.
        body.push(line.slice(ind));
      } else if (inFence || !startsBlock(line)) {
        body.push(inFence ? line : line.trimStart()); // lazy continuation
      } else {
        break;
      }
      if (fenceAt(body[body.length - 1])) inFence = !inFence;
      j++;
    }
    const li = el('li');
    const task = /^\[([ xX])\][ \t]/.exec(body[0]);
    if (task) {
      const box = el('input', 'task');
      box.type = 'checkbox';
      box.disabled = true;
      box.checked = task[1] !== ' ';
      box.setAttribute('aria-label', box.checked ? 'Done' : 'Not done');
      li.append(box);
      li.classList.add('task-item');
      body[0] = body[0].slice(task[0].length);
    }
    while (body.length > 1 && isBlank(body[body.length - 1])) body.pop();
    renderBlocks(body, li, depth + 1);
    list.append(li);
  }
  if (!loose) {
    // A tight list shows its paragraphs without paragraph spacing.
    for (const li of list.children) {
      for (const child of [...li.children]) {
        if (child.tagName === 'P') child.replaceWith(...child.childNodes);
      }
    }
  }
  parent.append(list);
  return j;
}

function sameList(line, first) {
  const item = listItemAt(line);
  return Boolean(item && item.ordered === first.ordered && item.bullet === first.bullet
    && item.indent < first.contentIndent);
}

function renderParagraph(lines, i, parent) {
  const body = [lines[i].trim()];
  let j = i + 1;
  for (; j < lines.length; j++) {
    const line = lines[j];
    if (isBlank(line)) break;
    if (SETEXT.test(line)) {
      const h = el(line.trim()[0] === '=' ? 'h1' : 'h2');
      renderInline(body.join('\n'), h);
      parent.append(h);
      return j + 1;
    }
    if (startsBlock(line) || tableAt(lines, j)) break;
    body.push(line.trim());
  }
  const p = el('p');
  renderInline(body.join('\n'), p);
  parent.append(p);
  return j;
}

// ----------------------------------------------------------------- tables

/** Splits a table row on unescaped pipes, without the outer pipes. */
function splitRow(line) {
  let text = line.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  const cells = [];
  let cell = '';
  for (let k = 0; k < text.length; k++) {
    const ch = text[k];
    if (ch === '\\' && text[k + 1] === '|') {
      cell += '\\|'; // the inline pass turns it into a pipe
      k++;
    } else if (ch === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += ch;
    }
  }
  cells.push(cell.trim());
  return cells;
}

function tableAt(lines, i) {
  if (i + 1 >= lines.length) return null;
  const head = lines[i];
  const delim = lines[i + 1];
  if (!head.includes('|') || !delim.includes('|') || indentOf(head) > 3) return null;
  const aligns = [];
  for (const cell of splitRow(delim)) {
    if (!/^:?-+:?$/.test(cell)) return null;
    const left = cell.startsWith(':');
    const right = cell.endsWith(':');
    aligns.push(left && right ? 'center' : right ? 'right' : left ? 'left' : '');
  }
  const header = splitRow(head);
  if (header.length !== aligns.length) return null;
  return { header, aligns };
}

function renderTable(lines, i, table, parent) {
  const wrap = el('div', 'table-wrap');
  const t = el('table');
  const row = (cells, tag) => {
    const tr = el('tr');
    table.aligns.forEach((align, k) => {
      const cell = el(tag, align ? `align-${align}` : '');
      renderInline(cells[k] ?? '', cell);
      tr.append(cell);
    });
    return tr;
  };
  const thead = el('thead');
  thead.append(row(table.header, 'th'));
  const tbody = el('tbody');
  let j = i + 2;
  for (; j < lines.length; j++) {
    const line = lines[j];
    if (isBlank(line) || !line.includes('|') || startsBlock(line)) break;
    tbody.append(row(splitRow(line), 'td'));
  }
  t.append(thead);
  if (tbody.children.length) t.append(tbody);
  wrap.append(t);
  parent.append(wrap);
  return j;
}
