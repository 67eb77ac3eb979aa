// Recursive-descent parser for Candid text values (`(v1, v2)`) and type expressions, following the
// grammar in Candid.md ("Values", "Type Structure"). Errors carry line:column of the offending token.

import { Principal } from '@dfinity/principal'
import { PRIM_TYPES, idlHash, stackGuard } from './ast.ts'
import type { FuncTypeExpr, MethodExpr, PrimName, TypeExpr, TypeField, Value, ValueField } from './ast.ts'
import { syntaxError, tokenize } from './lexer.ts'
import type { Pos, Token } from './lexer.ts'

const PRIMS = new Set<string>(PRIM_TYPES)
const FUNC_MODES = new Set(['query', 'oneway', 'composite_query'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

export class Parser {
  private readonly tokens: Token[]
  private at = 0

  constructor(src: string) {
    this.tokens = tokenize(src)
  }

  peek(offset = 0): Token { return this.tokens[Math.min(this.at + offset, this.tokens.length - 1)] }
  next(): Token { const t = this.peek(); if (t.kind !== 'eof') this.at++; return t }
  isPunct(text: string, offset = 0): boolean { const t = this.peek(offset); return t.kind === 'punct' && t.text === text }
  isKeyword(text: string, offset = 0): boolean { const t = this.peek(offset); return t.kind === 'id' && t.text === text }

  expectPunct(text: string): Pos {
    const t = this.next()
    if (t.kind !== 'punct' || t.text !== text) throw syntaxError(t.pos, `expected '${text}', found ${describeToken(t)}`)
    return t.pos
  }
  expectKeyword(text: string): void {
    const t = this.next()
    if (t.kind !== 'id' || t.text !== text) throw syntaxError(t.pos, `expected '${text}', found ${describeToken(t)}`)
  }
  expectEof(): void {
    const t = this.peek()
    if (t.kind !== 'eof') throw syntaxError(t.pos, `unexpected ${describeToken(t)} after the end of input`)
  }
  textOf(t: Token & { kind: 'text' }): string {
    try { return utf8.decode(t.bytes) } catch { throw syntaxError(t.pos, 'text literal is not valid UTF-8') }
  }
  expectText(): string {
    const t = this.next()
    if (t.kind !== 'text') throw syntaxError(t.pos, `expected a text literal, found ${describeToken(t)}`)
    return this.textOf(t)
  }
  /** A name is an identifier or a quoted text (for names that are keywords or not identifiers). */
  expectName(): string {
    const t = this.next()
    if (t.kind === 'id') return t.text
    if (t.kind === 'text') return this.textOf(t)
    throw syntaxError(t.pos, `expected a name, found ${describeToken(t)}`)
  }

  // ---- values ----

  /** `( annval,* )`, or a single bare value as dfx also accepts. */
  parseArgs(): Value[] {
    if (!this.isPunct('(')) return [this.parseAnnValue()]
    this.expectPunct('(')
    const args: Value[] = []
    while (!this.isPunct(')')) {
      args.push(this.parseAnnValue())
      if (!this.isPunct(')')) this.expectPunct(',')
    }
    this.expectPunct(')')
    return args
  }

  parseAnnValue(): Value {
    const v = this.parseValue()
    if (!this.isPunct(':')) return v
    this.next()
    return { kind: 'annotated', value: v, type: this.parseType(), pos: v.pos }
  }

  parseValue(): Value {
    const t = this.next()
    const pos = t.pos
    switch (t.kind) {
      case 'number': return { kind: 'number', value: t.value, text: t.text, pos }
      case 'float': return { kind: 'float', value: t.value, text: t.text, pos }
      case 'text': return { kind: 'text', bytes: t.bytes, pos }
      case 'punct':
        if (t.text === '(') {
          const v = this.parseAnnValue()
          this.expectPunct(')')
          return v
        }
        break
      case 'id':
        switch (t.text) {
          case 'true': case 'false': return { kind: 'bool', value: t.text === 'true', pos }
          case 'null': return { kind: 'null', pos }
          case 'opt': return { kind: 'opt', value: this.parseValue(), pos }
          case 'blob': {
            const b = this.next()
            if (b.kind !== 'text') throw syntaxError(b.pos, `expected a text literal after blob, found ${describeToken(b)}`)
            return { kind: 'blob', bytes: b.bytes, pos }
          }
          case 'vec': return { kind: 'vec', items: this.parseBlock(() => this.parseAnnValue()), pos }
          case 'record': return { kind: 'record', fields: this.parseValueFields(), pos }
          case 'variant': {
            const fields = this.parseValueFields(true)
            if (fields.length !== 1) throw syntaxError(pos, 'a variant value has exactly one field')
            return { kind: 'variant', field: fields[0], pos }
          }
          case 'principal': return { kind: 'principal', text: this.principalText(), pos }
          case 'service': return { kind: 'service', text: this.principalText(), pos }
          case 'func': {
            const principal = this.principalText()
            this.expectPunct('.')
            return { kind: 'func', principal, method: this.expectName(), pos }
          }
        }
        break
    }
    throw syntaxError(pos, `expected a value, found ${describeToken(t)}`)
  }

  private principalText(): string {
    const t = this.peek()
    const text = this.expectText()
    try { Principal.fromText(text) } catch { throw syntaxError(t.pos, `invalid principal ${JSON.stringify(text)}`) }
    return text
  }

  /** `{ item;* }` with an optional trailing separator. */
  parseBlock<T>(item: () => T): T[] {
    this.expectPunct('{')
    const items: T[] = []
    while (!this.isPunct('}')) {
      items.push(item())
      if (!this.isPunct('}')) this.expectPunct(';')
    }
    this.expectPunct('}')
    return items
  }

  private parseValueFields(variant = false): ValueField[] {
    let nextId = 0
    const seen = new Set<number>()
    return this.parseBlock(() => {
      const t = this.peek()
      let field: ValueField
      const labelled = (t.kind === 'id' || t.kind === 'text' || t.kind === 'number') && this.isPunct('=', 1)
      if (labelled || (variant && (t.kind === 'id' || t.kind === 'text'))) {
        const label = this.fieldLabel()
        const value: Value = this.isPunct('=') ? (this.next(), this.parseAnnValue()) : { kind: 'null', pos: t.pos }
        field = { ...label, value, pos: t.pos }
      } else {
        field = { id: nextId, value: this.parseAnnValue(), pos: t.pos }
      }
      if (seen.has(field.id)) throw syntaxError(t.pos, `duplicate field id ${field.id}`)
      seen.add(field.id)
      nextId = field.id + 1
      return field
    })
  }

  private fieldLabel(): { id: number; name?: string } {
    const t = this.next()
    if (t.kind === 'number') {
      if (t.signed || t.value < 0n || t.value > 0xffffffffn) throw syntaxError(t.pos, 'field id must be a 32-bit natural number')
      return { id: Number(t.value) }
    }
    const name = t.kind === 'id' ? t.text : this.textOf(t as Token & { kind: 'text' })
    return { id: idlHash(name), name }
  }

  // ---- types ----

  parseType(): TypeExpr {
    const t = this.next()
    if (t.kind === 'id') {
      switch (t.text) {
        case 'opt': return { kind: 'opt', inner: this.parseType() }
        case 'vec': return { kind: 'vec', inner: this.parseType() }
        case 'blob': return { kind: 'vec', inner: { kind: 'prim', name: 'nat8' } }
        case 'record': return { kind: 'record', fields: this.parseTypeFields(false) }
        case 'variant': return { kind: 'variant', fields: this.parseTypeFields(true) }
        case 'func': return { kind: 'func', func: this.parseFuncType() }
        case 'service': return { kind: 'service', methods: this.parseServiceBody() }
      }
      if (PRIMS.has(t.text)) return { kind: 'prim', name: t.text as PrimName }
      return { kind: 'ref', name: t.text, pos: t.pos }
    }
    throw syntaxError(t.pos, `expected a type, found ${describeToken(t)}`)
  }

  private parseTypeFields(variant: boolean): TypeField[] {
    let nextId = 0
    const seen = new Set<number>()
    return this.parseBlock(() => {
      const t = this.peek()
      let field: TypeField
      const labelled = (t.kind === 'id' || t.kind === 'text' || t.kind === 'number') && this.isPunct(':', 1)
      if (labelled) {
        const label = this.fieldLabel()
        this.expectPunct(':')
        field = { ...label, type: this.parseType() }
      } else if (variant && (t.kind === 'id' || t.kind === 'text' || t.kind === 'number')) {
        field = { ...this.fieldLabel(), type: { kind: 'prim', name: 'null' } }
      } else {
        field = { id: nextId, type: this.parseType() }
      }
      if (seen.has(field.id)) throw syntaxError(t.pos, `duplicate field id ${field.id}`)
      seen.add(field.id)
      nextId = field.id + 1
      return field
    })
  }

  /** `(args) -> (rets) modes*`; argument names are accepted and dropped (they carry no meaning). */
  parseFuncType(): FuncTypeExpr {
    const args = this.parseTupleType()
    this.expectPunct('->')
    const rets = this.parseTupleType()
    const modes: string[] = []
    while (this.peek().kind === 'id' && FUNC_MODES.has((this.peek() as { text: string }).text)) modes.push((this.next() as { text: string }).text)
    return { args, rets, modes }
  }

  parseTupleType(): TypeExpr[] {
    this.expectPunct('(')
    const types: TypeExpr[] = []
    while (!this.isPunct(')')) {
      const t = this.peek()
      if ((t.kind === 'id' || t.kind === 'text') && this.isPunct(':', 1)) { this.next(); this.next() }
      types.push(this.parseType())
      if (!this.isPunct(')')) this.expectPunct(',')
    }
    this.expectPunct(')')
    return types
  }

  parseServiceBody(): MethodExpr[] {
    const names = new Set<string>()
    return this.parseBlock(() => {
      const pos = this.peek().pos
      const name = this.expectName()
      if (names.has(name)) throw syntaxError(pos, `duplicate method ${name}`)
      names.add(name)
      this.expectPunct(':')
      const type: TypeExpr = this.isPunct('(') ? { kind: 'func', func: this.parseFuncType() } : this.parseType()
      return { name, type }
    })
  }
}

export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of input'
    case 'text': return 'a text literal'
    case 'number': case 'float': return `number ${t.text}`
    default: return `'${t.text}'`
  }
}

/** Parses a Candid argument list `(v1, v2, …)` (or one bare value). */
export function parseArgs(src: string): Value[] {
  return stackGuard('CANDID_SYNTAX', () => {
    const p = new Parser(src)
    const args = p.parseArgs()
    p.expectEof()
    return args
  })
}

/** Parses one Candid value, possibly annotated `v : t`. */
export function parseValue(src: string): Value {
  return stackGuard('CANDID_SYNTAX', () => {
    const p = new Parser(src)
    const v = p.parseAnnValue()
    p.expectEof()
    return v
  })
}

/** Parses one Candid type expression. */
export function parseType(src: string): TypeExpr {
  return stackGuard('CANDID_SYNTAX', () => {
    const p = new Parser(src)
    const t = p.parseType()
    p.expectEof()
    return t
  })
}
