// A small syntax highlighter for code blocks: one left-to-right scan per
// block that cuts the code into keywords, strings, comments, numbers and a
// few more, each a <span class="tok-…"> holding text (never markup). It is
// deliberately approximate — good enough to read, cheap enough to run on
// every frame while an answer streams in — and it never throws.

const words = (text) => new Set(text.split(/\s+/).filter(Boolean));

const JS_KEYWORDS = 'async await break case catch class const continue debugger default delete do '
  + 'else export extends finally for from function get if import in instanceof let new of return '
  + 'set static super switch this throw try typeof var void while with yield';
const JS_LITERALS = 'true false null undefined NaN Infinity';
const JS_TYPES = 'Array Object String Number Boolean Promise Map Set WeakMap Symbol BigInt Error '
  + 'JSON Math Date RegExp console window document globalThis';

const C_KEYWORDS = 'auto break case catch char class const constexpr continue default delete do '
  + 'double else enum explicit extern final float for friend goto if inline int long mutable '
  + 'namespace new noexcept operator override private protected public register return short '
  + 'signed sizeof static static_cast struct switch template this throw try typedef typename '
  + 'union unsigned using virtual void volatile while '
  // Java, C#, Kotlin, Swift, Dart, PHP, Scala
  + 'abstract assert boolean byte extends implements import instanceof interface native package '
  + 'super synchronized throws transient var val fun when object is as in out override open '
  + 'internal sealed data companion lateinit init let guard func self Self where async await '
  + 'readonly ref out get set yield echo function foreach elseif endif '
  // Go
  + 'chan defer fallthrough go map range select type';
const C_LITERALS = 'true false null nullptr nil NULL None';
const C_TYPES = 'bool int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t '
  + 'string String std vector map Integer Long Double List ArrayList HashMap Object error rune '
  + 'byte float32 float64 int32 int64 uint uint8 uint32 uint64 any';

/** Language definitions: what comments, strings and words look like. */
const LANGS = {
  js: {
    keywords: words(JS_KEYWORDS),
    literals: words(JS_LITERALS),
    types: words(JS_TYPES),
    line: ['//'],
    block: [['/*', '*/']],
    strings: ['"', "'", '`'],
    multiline: '`',
  },
  ts: {
    keywords: words(`${JS_KEYWORDS} abstract as declare enum implements interface keyof namespace `
      + 'private protected public readonly type infer is satisfies module'),
    literals: words(JS_LITERALS),
    types: words(`${JS_TYPES} any unknown never string number boolean object void bigint symbol`),
    line: ['//'],
    block: [['/*', '*/']],
    strings: ['"', "'", '`'],
    multiline: '`',
  },
  python: {
    keywords: words('and as assert async await break case class continue def del elif else except '
      + 'finally for from global if import in is lambda match nonlocal not or pass raise return '
      + 'try while with yield'),
    literals: words('True False None'),
    types: words('int float str bytes bool list dict set tuple object type self cls print len '
      + 'range enumerate zip map filter sorted isinstance super open min max sum any all'),
    line: ['#'],
    strings: ['"""', "'''", '"', "'"],
    multiline: ['"""', "'''"],
    hook: pythonHook,
  },
  rust: {
    keywords: words('as async await break const continue crate dyn else enum extern fn for if impl '
      + 'in let loop match mod move mut pub ref return self Self static struct super trait type '
      + 'unsafe use where while'),
    literals: words('true false None Some Ok Err'),
    types: words('i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool char str String '
      + 'Vec Option Result Box Rc Arc HashMap HashSet'),
    line: ['//'],
    block: [['/*', '*/']],
    strings: ['"'],
    multiline: '"',
    hook: rustHook,
    macros: true,
  },
  bash: {
    keywords: words('if then else elif fi for while until do done case esac in function return '
      + 'local export readonly declare unset shift exit break continue select time'),
    literals: words('true false'),
    types: words('echo cd pwd printf read source set exec test eval trap kill sudo'),
    line: ['#'],
    lineNeedsSpace: true,
    strings: ['"', "'"],
    multiline: ['"', "'"],
    rawQuote: "'",
    hook: bashHook,
    ident: /[A-Za-z_][\w-]*/y,
  },
  json: {
    keywords: words(''),
    literals: words('true false null'),
    line: ['//'],
    block: [['/*', '*/']],
    strings: ['"'],
    keyStrings: true,
  },
  css: {
    keywords: words('important'),
    literals: words(''),
    block: [['/*', '*/']],
    strings: ['"', "'"],
    hook: cssHook,
    ident: /-?[A-Za-z_][\w-]*/y,
  },
  sql: {
    keywords: words('select from where insert into values update set delete create table drop '
      + 'alter add column join left right inner outer full cross on as and or not is in group by '
      + 'order having limit offset union all distinct primary key foreign references index view '
      + 'begin commit rollback transaction case when then else end exists like between default '
      + 'returning with asc desc unique constraint if replace'),
    literals: words('null true false'),
    types: words('int integer bigint smallint text varchar char boolean date timestamp real float '
      + 'double numeric decimal serial blob json jsonb uuid'),
    line: ['--'],
    block: [['/*', '*/']],
    strings: ["'", '"'],
    caseInsensitive: true,
  },
  yaml: {
    keywords: words(''),
    literals: words('true false null yes no on off ~'),
    line: ['#'],
    lineNeedsSpace: true,
    strings: ['"', "'"],
    hook: keyHook(':'),
    ident: /[A-Za-z_][\w.-]*/y,
  },
  toml: {
    keywords: words(''),
    literals: words('true false inf nan'),
    line: ['#'],
    strings: ['"""', "'''", '"', "'"],
    multiline: ['"""', "'''"],
    hook: keyHook('='),
    ident: /[A-Za-z_][\w.-]*/y,
  },
  clike: {
    keywords: words(C_KEYWORDS),
    literals: words(C_LITERALS),
    types: words(C_TYPES),
    line: ['//'],
    block: [['/*', '*/']],
    strings: ['"', "'", '`'],
    multiline: '`',
    hook: preprocessorHook,
    capitalTypes: true,
  },
};

const ALIASES = {
  javascript: 'js', jsx: 'js', mjs: 'js', cjs: 'js', node: 'js', js: 'js',
  typescript: 'ts', tsx: 'ts', ts: 'ts', mts: 'ts',
  python: 'python', py: 'python', python3: 'python', py3: 'python', pycon: 'python',
  rust: 'rust', rs: 'rust',
  bash: 'bash', sh: 'bash', shell: 'bash', zsh: 'bash', console: 'bash', shellsession: 'bash',
  ksh: 'bash', fish: 'bash', dockerfile: 'bash', makefile: 'bash', make: 'bash',
  json: 'json', jsonc: 'json', json5: 'json', jsonl: 'json',
  css: 'css', scss: 'css', less: 'css',
  sql: 'sql', postgres: 'sql', postgresql: 'sql', mysql: 'sql', sqlite: 'sql',
  yaml: 'yaml', yml: 'yaml',
  toml: 'toml', ini: 'toml', cfg: 'toml',
  html: 'markup', xml: 'markup', svg: 'markup', xhtml: 'markup', vue: 'markup', markup: 'markup',
  diff: 'diff', patch: 'diff',
  c: 'clike', h: 'clike', cpp: 'clike', 'c++': 'clike', cc: 'clike', cxx: 'clike', hpp: 'clike',
  go: 'clike', golang: 'clike', java: 'clike', cs: 'clike', csharp: 'clike', 'c#': 'clike',
  kotlin: 'clike', kt: 'clike', swift: 'clike', php: 'clike', dart: 'clike', scala: 'clike',
  objc: 'clike', 'objective-c': 'clike', groovy: 'clike', zig: 'clike', solidity: 'clike',
};

const IDENT = /[A-Za-z_$\u00c0-\uffff][\w$\u00c0-\uffff]*/y;
const NUMBER = /0[xX][0-9a-fA-F_]+n?|0[bB][01_]+n?|0[oO][0-7_]+n?|(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[A-Za-z0-9_]*/y;

/**
 * Highlights `code` written in `lang` (any name or alias; unknown names
 * are left plain).
 * @param {string} code
 * @param {string} lang
 * @returns {DocumentFragment}
 */
export function highlight(code, lang) {
  const out = document.createDocumentFragment();
  const name = ALIASES[String(lang || '').toLowerCase()];
  try {
    if (name === 'markup') markup(code, new Emitter(out));
    else if (name === 'diff') diff(code, new Emitter(out));
    else if (name) scan(code, LANGS[name], new Emitter(out));
    else out.append(code);
  } catch (err) {
    console.error('highlight: showing plain code after an internal error', err);
    out.replaceChildren(code);
  }
  return out;
}

/** Collects plain text and emits spans, so runs of plain text stay one node. */
class Emitter {
  constructor(out) {
    this.out = out;
    this.plain = '';
  }

  text(text) {
    this.plain += text;
  }

  /** A span of class `tok-CLS`; an empty class is plain text. */
  token(cls, text) {
    if (!cls) {
      this.plain += text;
      return;
    }
    if (!text) return;
    this.flush();
    const span = document.createElement('span');
    span.className = `tok-${cls}`;
    span.textContent = text;
    this.out.append(span);
  }

  flush() {
    if (this.plain) this.out.append(this.plain);
    this.plain = '';
  }
}

function isDigit(ch) {
  return ch >= '0' && ch <= '9';
}

function isWordChar(ch) {
  return ch !== undefined && /[\w$\u00c0-\uffff]/.test(ch);
}

/** Whether only spaces precede `i` on its line. */
function atLineStart(code, i) {
  let k = i - 1;
  while (k >= 0 && (code[k] === ' ' || code[k] === '\t')) k--;
  return k < 0 || code[k] === '\n';
}

/** The end of a string opened by `quote` at `i` (exclusive). */
function stringEnd(code, i, quote, multiline, escapes) {
  let k = i + quote.length;
  while (k < code.length) {
    if (escapes && code[k] === '\\') k += 2;
    else if (code.startsWith(quote, k)) return k + quote.length;
    else if (code[k] === '\n' && !multiline) return k;
    else k++;
  }
  return code.length;
}

function isMultiline(lang, quote) {
  const m = lang.multiline;
  return Array.isArray(m) ? m.includes(quote) : m === quote;
}

/** The generic scanner every language definition drives. */
function scan(code, lang, emit) {
  const n = code.length;
  const identRe = lang.ident || IDENT;
  let i = 0;
  while (i < n) {
    const c = code[i];
    const hooked = lang.hook && lang.hook(code, i, lang);
    if (hooked) {
      emit.token(hooked.cls, code.slice(i, hooked.end));
      i = hooked.end;
      continue;
    }
    const block = lang.block && lang.block.find(([open]) => code.startsWith(open, i));
    if (block) {
      const close = code.indexOf(block[1], i + block[0].length);
      const end = close < 0 ? n : close + block[1].length;
      emit.token('comment', code.slice(i, end));
      i = end;
      continue;
    }
    if (lang.line && lang.line.some((open) => code.startsWith(open, i))
      && (!lang.lineNeedsSpace || i === 0 || /\s/.test(code[i - 1]))) {
      const close = code.indexOf('\n', i);
      const end = close < 0 ? n : close;
      emit.token('comment', code.slice(i, end));
      i = end;
      continue;
    }
    const quote = lang.strings && lang.strings.find((q) => code.startsWith(q, i));
    if (quote) {
      const end = stringEnd(code, i, quote, isMultiline(lang, quote), quote !== lang.rawQuote);
      const text = code.slice(i, end);
      emit.token(lang.keyStrings && nextIs(code, end, ':') ? 'property' : 'string', text);
      i = end;
      continue;
    }
    if ((isDigit(c) || (c === '.' && isDigit(code[i + 1]))) && !isWordChar(code[i - 1])) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(code);
      if (m) {
        emit.token('number', m[0]);
        i += m[0].length;
        continue;
      }
    }
    identRe.lastIndex = i;
    const m = identRe.exec(code);
    if (m) {
      emit.token(classify(m[0], code, i + m[0].length, lang), m[0]);
      i += m[0].length;
      continue;
    }
    emit.text(c);
    i++;
  }
  emit.flush();
}

/** The class of an identifier ending at `end`, or '' for plain. */
function classify(word, code, end, lang) {
  const key = lang.caseInsensitive ? word.toLowerCase() : word;
  if (lang.keywords.has(key)) return 'keyword';
  if (lang.literals && lang.literals.has(key)) return 'literal';
  if (lang.macros && code[end] === '!' && code[end + 1] !== '=') return 'meta';
  if (lang.types && lang.types.has(key)) return 'type';
  if (code[end] === '(') return 'function';
  if (lang.capitalTypes && /^[A-Z][a-z0-9]\w*$/.test(word)) return 'type';
  return '';
}

function nextIs(code, k, ch) {
  while (code[k] === ' ' || code[k] === '\t') k++;
  return code[k] === ch;
}

// -------------------------------------------------------------- hooks

function sticky(re, code, i) {
  re.lastIndex = i;
  const m = re.exec(code);
  return m ? i + m[0].length : 0;
}

const PY_PREFIX = /[rRbBfFuU]{1,2}(?=["'])/y;
const PY_DECORATOR = /@[A-Za-z_][\w.]*/y;

function pythonHook(code, i, lang) {
  const c = code[i];
  if (c === '@' && atLineStart(code, i)) {
    const end = sticky(PY_DECORATOR, code, i);
    if (end) return { cls: 'meta', end };
  }
  if (/[rRbBfFuU]/.test(c) && !isWordChar(code[i - 1])) {
    const start = sticky(PY_PREFIX, code, i);
    if (start) {
      const quote = lang.strings.find((q) => code.startsWith(q, start));
      const end = stringEnd(code, start, quote, isMultiline(lang, quote), !/[rR]/.test(code.slice(i, start)));
      return { cls: 'string', end };
    }
  }
  return null;
}

const RUST_CHAR = /'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'/y;
const RUST_LIFETIME = /'[A-Za-z_]\w*/y;
const RUST_RAW = /b?r(#*)"/y;
const RUST_ATTR = /#!?\[[^\]\n]*\]?/y;

function rustHook(code, i) {
  const c = code[i];
  if (c === "'") {
    const end = sticky(RUST_CHAR, code, i);
    if (end) return { cls: 'string', end };
    const life = sticky(RUST_LIFETIME, code, i);
    if (life) return { cls: 'meta', end: life };
  }
  if ((c === 'r' || c === 'b') && !isWordChar(code[i - 1])) {
    RUST_RAW.lastIndex = i;
    const m = RUST_RAW.exec(code);
    if (m) {
      const close = `"${m[1]}`;
      const at = code.indexOf(close, i + m[0].length);
      return { cls: 'string', end: at < 0 ? code.length : at + close.length };
    }
    if (c === 'b' && (code[i + 1] === '"' || code[i + 1] === "'")) {
      return { cls: 'string', end: stringEnd(code, i + 1, code[i + 1], code[i + 1] === '"', true) };
    }
  }
  if (c === '#') {
    const end = sticky(RUST_ATTR, code, i);
    if (end) return { cls: 'meta', end };
  }
  return null;
}

const BASH_VAR = /\$(?:\{[^}\n]*\}?|[A-Za-z_]\w*|[0-9@*#?$!-])/y;

function bashHook(code, i) {
  if (code[i] === '$') {
    const end = sticky(BASH_VAR, code, i);
    if (end) return { cls: 'variable', end };
  }
  return null;
}

const CSS_AT = /@[A-Za-z-]+/y;
const CSS_HEX = /#[0-9a-fA-F]{3,8}\b/y;
const CSS_PROP = /-?[A-Za-z_][\w-]*(?=\s*:)/y;

function cssHook(code, i) {
  const c = code[i];
  if (c === '@') {
    const end = sticky(CSS_AT, code, i);
    if (end) return { cls: 'keyword', end };
  }
  if (c === '#') {
    const end = sticky(CSS_HEX, code, i);
    // "#fff" after a colon is a colour; "#main {" is a selector.
    if (end && !lineHas(code, end, '{')) return { cls: 'number', end };
  }
  if (/[A-Za-z_-]/.test(c) && atLineStart(code, i)) {
    const end = sticky(CSS_PROP, code, i);
    if (end && !lineHas(code, end, '{')) return { cls: 'property', end };
  }
  return null;
}

function lineHas(code, from, ch) {
  const eol = code.indexOf('\n', from);
  const at = code.indexOf(ch, from);
  return at >= 0 && (eol < 0 || at < eol);
}

/** Keys at a line's start, before `sep` (YAML `key:`, TOML `key =`, `[table]`). */
function keyHook(sep) {
  const key = new RegExp(`(?:- )?[A-Za-z_"'][\\w."' -]*?(?=\\s*${sep === '=' ? '=' : ':(?:\\s|$)'})`, 'y');
  const table = /\[\[?[^\]\n]*\]\]?/y;
  return function hook(code, i) {
    if (!atLineStart(code, i)) return null;
    if (sep === '=' && code[i] === '[') {
      const end = sticky(table, code, i);
      if (end) return { cls: 'meta', end };
    }
    // Bound the lazy key to its own line so a long line cannot cost much.
    const eol = code.indexOf('\n', i);
    const line = code.slice(i, eol < 0 ? code.length : Math.min(eol, i + 200));
    const end = sticky(key, line, 0);
    return end ? { cls: 'property', end: i + end } : null;
  };
}

function preprocessorHook(code, i) {
  if (code[i] === '#' && atLineStart(code, i) && /[a-z]/.test(code[i + 1] ?? '')) {
    const eol = code.indexOf('\n', i);
    return { cls: 'meta', end: eol < 0 ? code.length : eol };
  }
  return null;
}

// --------------------------------------------------------- markup, diff

const TAG_OPEN = /<\/?[!?]?[A-Za-z][\w:.-]*/y;
const ATTR = /[^\s"'>/=<]+/y;
const ENTITY = /&#?\w{1,32};/y;

function markup(code, emit) {
  const n = code.length;
  let i = 0;
  while (i < n) {
    if (code.startsWith('<!--', i)) {
      const close = code.indexOf('-->', i + 4);
      const end = close < 0 ? n : close + 3;
      emit.token('comment', code.slice(i, end));
      i = end;
      continue;
    }
    if (code.startsWith('<![CDATA[', i)) {
      const close = code.indexOf(']]>', i);
      const end = close < 0 ? n : close + 3;
      emit.token('string', code.slice(i, end));
      i = end;
      continue;
    }
    const open = code[i] === '<' ? sticky(TAG_OPEN, code, i) : 0;
    if (open) {
      emit.token('tag', code.slice(i, open));
      i = tagRest(code, open, emit);
      continue;
    }
    const entity = code[i] === '&' ? sticky(ENTITY, code, i) : 0;
    if (entity) {
      emit.token('literal', code.slice(i, entity));
      i = entity;
      continue;
    }
    emit.text(code[i]);
    i++;
  }
  emit.flush();
}

/** Attributes up to and including a tag's `>`; returns the next index. */
function tagRest(code, i, emit) {
  while (i < code.length) {
    const c = code[i];
    if (c === '>' || code.startsWith('/>', i) || code.startsWith('?>', i)) {
      const end = c === '>' ? i + 1 : i + 2;
      emit.token('tag', code.slice(i, end));
      return end;
    }
    if (c === '<') return i;
    if (c === '"' || c === "'") {
      const end = stringEnd(code, i, c, true, false);
      emit.token('string', code.slice(i, end));
      i = end;
      continue;
    }
    const attr = sticky(ATTR, code, i);
    if (attr) {
      emit.token('attr', code.slice(i, attr));
      i = attr;
      continue;
    }
    emit.text(c);
    i++;
  }
  return i;
}

function diff(code, emit) {
  const lines = code.split('\n');
  lines.forEach((line, k) => {
    let cls = '';
    if (/^(?:\+\+\+|---|diff |index |@@)/.test(line)) cls = 'meta';
    else if (line.startsWith('+')) cls = 'inserted';
    else if (line.startsWith('-')) cls = 'deleted';
    if (cls) emit.token(cls, line);
    else emit.text(line);
    if (k < lines.length - 1) emit.text('\n');
  });
  emit.flush();
}
