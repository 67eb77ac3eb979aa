// Candid text for the capsa CLI: parse arguments, type them against a .did (or infer), and print
// replies the way dfx does.

export type { Value, TypeExpr } from './ast.ts'
export { parseArgs, parseValue, parseType } from './parser.ts'
export { parseDid, methodSignature } from './did.ts'
export type { DidFile, DidOptions, MethodSignature } from './did.ts'
export { TypeEnv } from './idl-types.ts'
export { toJs, inferType, typeArgs, encodeArgs } from './typed.ts'
export type { TypedArgs } from './typed.ts'
export { printArgs, printValue, printValueLine, printReply } from './print.ts'
export type { OutputMode } from './print.ts'
export { readWireTypes, decodeWithoutTypes } from './wire.ts'
export { toJson, argsToJson } from './json.ts'
export type { Json } from './json.ts'
export { formatReply, isReplyFormat, REPLY_FORMATS } from './format.ts'
export type { ReplyFormat } from './format.ts'
