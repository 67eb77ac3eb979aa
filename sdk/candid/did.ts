// .did files: `type` definitions and one optional `service` (possibly a class `(init) -> {…}`).
// The motoko package's parseCandid was considered and rejected: its AST flattens a function's
// arguments and results into one list (`(A) -> (B)` and `(A, B) -> ()` look alike) and cannot tell a
// tuple field from a field named `0`, so an adapter cannot recover the types.

import { IDL } from '@dfinity/candid'
import { CapsaError } from '../../protocol/errors.ts'
import { stackGuard } from './ast.ts'
import type { TypeExpr } from './ast.ts'
import { TypeEnv, unwrap } from './idl-types.ts'
import { syntaxError } from './lexer.ts'
import { Parser } from './parser.ts'

export interface DidFile {
  /** Every named type, recursive ones as IDL.Rec knots. */
  types: Record<string, IDL.Type>
  /** The service's methods (empty when the file has no service). */
  service: Record<string, IDL.FuncClass>
  /** Init arguments of a service class `service : (args) -> {…}`; empty otherwise. */
  init: IDL.Type[]
  /** Resolves a type expression (e.g. a value annotation) against this file's definitions. */
  env: TypeEnv
}

export interface DidOptions {
  /** Returns the text of an imported file (`import "path";`); without it imports are refused. */
  load?: (path: string) => string
}

export function parseDid(text: string, options: DidOptions = {}): DidFile {
  return stackGuard('CANDID_SYNTAX', () => parseDidUnguarded(text, options))
}

function parseDidUnguarded(text: string, options: DidOptions): DidFile {
  const defs = new Map<string, TypeExpr>()
  const actor = readDefinitions(text, defs, options, new Set())
  const env = new TypeEnv(defs)
  const types: Record<string, IDL.Type> = {}
  for (const name of env.names()) types[name] = env.resolve(name)
  let service: Record<string, IDL.FuncClass> = {}
  let init: IDL.Type[] = []
  if (actor) {
    const svc = unwrap(env.build(actor.body))
    if (!(svc instanceof IDL.ServiceClass)) throw new CapsaError('CANDID_SYNTAX', 'the service is not a service type')
    service = Object.fromEntries(svc._fields.map(([name, f]) => [name, env.asFunc(f, name)]))
    init = actor.init.map((a) => env.build(a))
  }
  return { types, service, init, env }
}

interface Actor { init: TypeExpr[]; body: TypeExpr }

/** Adds the file's definitions (and its imports') to `defs`; returns its service, if any. */
function readDefinitions(text: string, defs: Map<string, TypeExpr>, options: DidOptions, loading: Set<string>): Actor | undefined {
  const p = new Parser(text)
  let actor: Actor | undefined
  while (p.peek().kind !== 'eof') {
    const t = p.peek()
    if (p.isKeyword('type')) {
      p.next()
      const nameTok = p.peek()
      const name = p.expectName()
      if (defs.has(name)) throw syntaxError(nameTok.pos, `duplicate type definition ${name}`)
      p.expectPunct('=')
      defs.set(name, p.parseType())
    } else if (p.isKeyword('import')) {
      p.next()
      // `import service "f.did"` would merge methods too; only type imports are supported.
      if (p.isKeyword('service')) throw syntaxError(t.pos, 'import service is not supported')
      const path = p.expectText()
      if (!options.load) throw syntaxError(t.pos, 'imports in .did files need a loader; inline the imported definitions')
      if (!loading.has(path)) {
        loading.add(path)
        readDefinitions(options.load(path), defs, options, loading)
      }
    } else if (p.isKeyword('service')) {
      if (actor) throw syntaxError(t.pos, 'a .did file has at most one service')
      p.next()
      if (p.peek().kind === 'id') p.next() // the service's optional name carries no meaning
      p.expectPunct(':')
      let init: TypeExpr[] = []
      if (p.isPunct('(')) {
        init = p.parseTupleType()
        p.expectPunct('->')
      }
      const body: TypeExpr = p.isPunct('{') ? { kind: 'service', methods: p.parseServiceBody() } : p.parseType()
      actor = { init, body }
    } else {
      throw syntaxError(t.pos, `expected 'type' or 'service' declaration`)
    }
    if (p.isPunct(';')) p.next()
  }
  return actor
}

export interface MethodSignature {
  args: IDL.Type[]
  rets: IDL.Type[]
  /** `query` or `composite_query`: dfx sends these as queries unless told `--update`. */
  query: boolean
  oneway: boolean
}

/** A method's types and modes, e.g. to type `capsa canister call` arguments and pick query vs update. */
export function methodSignature(did: DidFile, method: string): MethodSignature {
  const f = Object.hasOwn(did.service, method) ? did.service[method] : undefined
  if (!f) throw new CapsaError('INVALID_ARGUMENT', `the service has no method ${JSON.stringify(method)}`)
  return {
    args: [...f.argTypes],
    rets: [...f.retTypes],
    query: f.annotations.includes('query') || f.annotations.includes('composite_query'),
    oneway: f.annotations.includes('oneway'),
  }
}
