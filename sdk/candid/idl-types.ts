// Type expressions (from .did text or from a message's binary type table) to @dfinity/candid IDL
// types. Named types that refer to themselves become IDL.Rec knots; all others are used directly so
// printing and JSON output see the plain structure.

import { IDL } from '@dfinity/candid'
import type { GenericIdlFuncArgs, GenericIdlFuncRets } from '@dfinity/candid'
import { CapsaError } from '../../protocol/errors.ts'
import type { PrimName, TypeExpr, TypeField } from './ast.ts'
import { syntaxError } from './lexer.ts'

const PRIM: Record<PrimName, IDL.Type> = {
  nat: IDL.Nat, nat8: IDL.Nat8, nat16: IDL.Nat16, nat32: IDL.Nat32, nat64: IDL.Nat64,
  int: IDL.Int, int8: IDL.Int8, int16: IDL.Int16, int32: IDL.Int32, int64: IDL.Int64,
  float32: IDL.Float32, float64: IDL.Float64, bool: IDL.Bool, text: IDL.Text, null: IDL.Null,
  reserved: IDL.Reserved, empty: IDL.Empty, principal: IDL.Principal,
}

/** The JS field name @dfinity/candid uses for a field: its name, or `_<id>_` for a numeric id. */
export function fieldKey(f: { id: number; name?: string }): string {
  return f.name ?? `_${f.id}_`
}

export class TypeEnv {
  private readonly defs: Map<string, TypeExpr>
  private readonly done = new Map<string, IDL.Type>()
  private readonly inProgress = new Set<string>()
  private readonly knots = new Map<string, IDL.RecClass>()

  constructor(defs: Map<string, TypeExpr>) {
    this.defs = defs
  }

  names(): string[] { return [...this.defs.keys()] }

  resolve(name: string, pos?: { line: number; column: number }): IDL.Type {
    const known = this.done.get(name)
    if (known) return known
    const def = this.defs.get(name)
    if (def === undefined) {
      if (pos) throw syntaxError(pos, `unbound type ${name}`)
      throw new CapsaError('CANDID_SYNTAX', `unbound type ${name}`)
    }
    if (this.inProgress.has(name)) {
      let knot = this.knots.get(name)
      if (!knot) { knot = IDL.Rec(); this.knots.set(name, knot) }
      return knot
    }
    this.inProgress.add(name)
    const t = this.build(def)
    this.inProgress.delete(name)
    const knot = this.knots.get(name)
    if (!knot) { this.done.set(name, t); return t }
    if (!(t instanceof IDL.ConstructType) || t instanceof IDL.RecClass) {
      throw new CapsaError('CANDID_SYNTAX', `type ${name} is cyclic without a constructor`)
    }
    knot.fill(t)
    this.done.set(name, knot)
    return knot
  }

  build(t: TypeExpr): IDL.Type {
    switch (t.kind) {
      case 'prim': return PRIM[t.name]
      case 'ref': return this.resolve(t.name, t.pos)
      case 'opt': return IDL.Opt(this.build(t.inner))
      case 'vec': return IDL.Vec(this.build(t.inner))
      case 'record':
        if (isTuple(t.fields)) return IDL.Tuple(...t.fields.map((f) => this.build(f.type)))
        return IDL.Record(this.fieldMap(t.fields))
      case 'variant': return IDL.Variant(this.fieldMap(t.fields))
      case 'func': {
        const args = t.func.args.map((a) => this.build(a)) as GenericIdlFuncArgs
        return IDL.Func(args, t.func.rets.map((r) => this.build(r)) as GenericIdlFuncRets, t.func.modes)
      }
      case 'service': {
        const methods: Record<string, IDL.FuncClass> = {}
        for (const m of t.methods) methods[m.name] = this.asFunc(this.build(m.type), m.name)
        return IDL.Service(methods)
      }
    }
  }

  asFunc(t: IDL.Type, what: string): IDL.FuncClass {
    const inner = t instanceof IDL.RecClass ? t.getType() : t
    if (inner instanceof IDL.FuncClass) return inner
    throw new CapsaError('CANDID_SYNTAX', `${what} is not a function type`)
  }

  private fieldMap(fields: TypeField[]): Record<string, IDL.Type> {
    const out: Record<string, IDL.Type> = {}
    for (const f of fields) out[fieldKey(f)] = this.build(f.type)
    return out
  }
}

/** Unnamed fields numbered 0..n-1 are a tuple, which @dfinity/candid represents as a JS array. */
function isTuple(fields: TypeField[]): boolean {
  return fields.length > 0 && fields.every((f, i) => f.name === undefined && f.id === i)
}

/** Strips IDL.Rec knots, which only matter for encoding type tables. */
export function unwrap(t: IDL.Type): IDL.Type {
  let cur = t
  while (cur instanceof IDL.RecClass) {
    const inner = cur.getType()
    if (!inner) throw new CapsaError('CANDID_MALFORMED', 'unfilled recursive type')
    cur = inner
  }
  return cur
}
