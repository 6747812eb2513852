// Small DOM helpers the page's modules share: finding elements, building
// them, the screen-reader status line, and what the composer and the edit
// box have in common (Enter sends, the textarea grows with its text).
//
// Every node is built with createElement and textContent (never an HTML
// string), so nothing a model, a user or an error says can become markup.

export const $ = (id) => document.getElementById(id);

const status = $('status');

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(label, onClick, className = 'button small') {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

const SVG = 'http://www.w3.org/2000/svg';
/** An icon: an SVG with one path, hidden from screen readers. */
export function icon(path) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}

/** Tells screen readers (the status line is visually hidden). */
export function announce(text) {
  status.textContent = text;
}

/** Enter (not Shift+Enter, not while an IME is composing) sends. */
export function isSendKey(event) {
  return event.key === 'Enter' && !event.shiftKey && !event.altKey
    && !event.isComposing && event.keyCode !== 229;
}

/** Fits a textarea's height to its text. */
export function grow(area) {
  area.style.height = 'auto';
  area.style.height = `${area.scrollHeight + 2}px`;
}
