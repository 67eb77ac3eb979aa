// Tokens of Candid's textual syntax (values, types and .did files share one lexer). Text literals are
// kept as bytes because `\xx` escapes may produce any byte: the same literal is a blob under `blob`
// and must be valid UTF-8 only when it ends up as `text`.

import { CapsaError } from '../../protocol/errors.ts'

export interface Pos { line: number; column: number }

export type Token =
  | { kind: 'punct'; text: string; pos: Pos }
  | { kind: 'id'; text: string; pos: Pos }
  | { kind: 'number'; text: string; value: bigint; signed: boolean; pos: Pos }
  | { kind: 'float'; text: string; value: number; pos: Pos }
  | { kind: 'text'; bytes: Uint8Array; pos: Pos }
  | { kind: 'eof'; pos: Pos }

export function syntaxError(pos: Pos, message: string): CapsaError {
  return new CapsaError('CANDID_SYNTAX', `${pos.line}:${pos.column}: ${message}`, { line: pos.line, column: pos.column })
}

const PUNCT = new Set(['(', ')', '{', '}', ';', ',', '=', ':', '.'])
const isDigit = (c: string): boolean => c.length === 1 && c >= '0' && c <= '9'
const isHex = (c: string): boolean => isDigit(c) || (c.length === 1 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
const isIdStart = (c: string): boolean => c.length === 1 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_')
const isIdChar = (c: string): boolean => isIdStart(c) || isDigit(c)
const utf8 = new TextEncoder()

export function tokenize(src: string): Token[] {
  const out: Token[] = []
  let i = 0
  let line = 1
  let lineStart = 0
  const pos = (at: number): Pos => ({ line, column: at - lineStart + 1 })
  const newline = (at: number): void => { line++; lineStart = at + 1 }

  while (i < src.length) {
    const c = src[i]
    if (c === '\n') { newline(i); i++; continue }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++
      continue
    }
    if (c === '/' && src[i + 1] === '*') {
      const start = pos(i)
      let depth = 0
      // Candid block comments nest, so a commented-out block with comments inside stays commented.
      do {
        if (i >= src.length) throw syntaxError(start, 'unterminated block comment')
        if (src[i] === '/' && src[i + 1] === '*') { depth++; i += 2 } else if (src[i] === '*' && src[i + 1] === '/') { depth--; i += 2 } else {
          if (src[i] === '\n') newline(i)
          i++
        }
      } while (depth > 0)
      continue
    }
    const p = pos(i)
    if (c === '-' && src[i + 1] === '>') { out.push({ kind: 'punct', text: '->', pos: p }); i += 2; continue }
    if ((c === '+' || c === '-') && isDigit(src[i + 1] ?? '')) { i = lexNumber(src, i, p, out); continue }
    if (isDigit(c)) { i = lexNumber(src, i, p, out); continue }
    if (PUNCT.has(c)) { out.push({ kind: 'punct', text: c, pos: p }); i++; continue }
    if (isIdStart(c)) {
      let j = i + 1
      while (j < src.length && isIdChar(src[j])) j++
      out.push({ kind: 'id', text: src.slice(i, j), pos: p })
      i = j
      continue
    }
    if (c === '"') {
      const r = lexText(src, i, p, pos, newline)
      out.push({ kind: 'text', bytes: r.bytes, pos: p })
      i = r.end
      continue
    }
    throw syntaxError(p, `unexpected character ${JSON.stringify(String.fromCodePoint(src.codePointAt(i) ?? 0))}`)
  }
  out.push({ kind: 'eof', pos: pos(i) })
  return out
}

function lexNumber(src: string, start: number, p: Pos, out: Token[]): number {
  let i = start
  let sign = ''
  if (src[i] === '+' || src[i] === '-') { sign = src[i]; i++ }
  const hex = src[i] === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')
  if (hex) i += 2
  const digit = hex ? isHex : isDigit
  const digits = (): string => {
    const from = i
    if (!digit(src[i] ?? '')) throw syntaxError(p, 'malformed number literal')
    while (i < src.length && (digit(src[i]) || (src[i] === '_' && digit(src[i + 1] ?? '')))) i++
    return src.slice(from, i).replaceAll('_', '')
  }
  const intPart = digits()
  let frac: string | undefined
  let exp: string | undefined
  // A '.' directly followed by a letter is not a fraction (e.g. never in values, but keep `1.foo` an error later).
  if (src[i] === '.' && !isIdStart(src[i + 1] ?? '')) {
    i++
    frac = digit(src[i] ?? '') ? digits() : ''
  }
  const expChar = hex ? /[pP]/ : /[eE]/
  if (expChar.test(src[i] ?? '') && /[-+0-9]/.test(src[i + 1] ?? '')) {
    i++
    let es = ''
    if (src[i] === '+' || src[i] === '-') { es = src[i]; i++ }
    const from = i
    if (!isDigit(src[i] ?? '')) throw syntaxError(p, 'malformed exponent')
    while (i < src.length && (isDigit(src[i]) || src[i] === '_')) i++
    exp = es + src.slice(from, i).replaceAll('_', '')
  }
  if (isIdChar(src[i] ?? '')) throw syntaxError(p, 'malformed number literal')
  const text = src.slice(start, i)
  if (frac === undefined && exp === undefined) {
    const mag = BigInt((hex ? '0x' : '') + intPart)
    out.push({ kind: 'number', text, value: sign === '-' ? -mag : mag, signed: sign !== '', pos: p })
  } else {
    let value: number
    if (hex) {
      const f = frac ?? ''
      value = Number(BigInt('0x' + intPart + f)) / 16 ** f.length * 2 ** Number(exp ?? '0')
    } else {
      value = Number(`${intPart}.${frac ?? ''}${exp !== undefined ? 'e' + exp : ''}`.replace(/\.(e|$)/, '$1'))
    }
    out.push({ kind: 'float', text, value: sign === '-' ? -value : value, pos: p })
  }
  return i
}

function lexText(src: string, start: number, p: Pos, posAt: (at: number) => Pos, newline: (at: number) => void): { bytes: Uint8Array; end: number } {
  const bytes: number[] = []
  let i = start + 1
  for (;;) {
    if (i >= src.length) throw syntaxError(p, 'unterminated text literal')
    const c = src[i]
    if (c === '"') return { bytes: new Uint8Array(bytes), end: i + 1 }
    if (c === '\\') {
      const e = src[i + 1] ?? ''
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, '"': 34, "'": 39 }
      if (e in simple) { bytes.push(simple[e]); i += 2; continue }
      if (isHex(e) && isHex(src[i + 2] ?? '')) { bytes.push(parseInt(src.slice(i + 1, i + 3), 16)); i += 3; continue }
      // Not in Candid's grammar, but candid's printer writes NUL as Rust does (`\0`), so accept it back.
      if (e === '0') { bytes.push(0); i += 2; continue }
      if (e === 'u' && src[i + 2] === '{') {
        const close = src.indexOf('}', i + 3)
        const hex = close < 0 ? '' : src.slice(i + 3, close).replaceAll('_', '')
        const cp = /^[0-9a-fA-F]{1,6}$/.test(hex) ? parseInt(hex, 16) : -1
        if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw syntaxError(posAt(i), 'invalid unicode escape')
        bytes.push(...utf8.encode(String.fromCodePoint(cp)))
        i = close + 1
        continue
      }
      throw syntaxError(posAt(i), `unknown escape \\${e}`)
    }
    // A run of plain characters is encoded in one go; only escapes need byte-level handling.
    let j = i
    while (j < src.length && src[j] !== '"' && src[j] !== '\\') {
      if (src[j] === '\n') newline(j)
      j++
    }
    for (const b of utf8.encode(src.slice(i, j))) bytes.push(b)
    i = j
  }
}
