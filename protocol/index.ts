// protocol/: the shared vocabulary of Capsa, pure and without I/O. Components import what they need
// from here; the modules below are also importable one by one.

export * from './ids.ts'
export * from './errors.ts'
export * from './limits.ts'
export * from './interfaces.ts'
export * from './consensus-types.ts'
export * from './hash.ts'
export * from './leb128.ts'
export * from './cbor.ts'
export * from './candid.ts'
export * from './principal.ts'
export * from './request-id.ts'
export * from './expiry.ts'
export * from './reject.ts'
export * from './auth.ts'
export {
  parseContent,
  parseEnvelope,
  type CallContent,
  type Delegation as SenderDelegation,
  type Envelope,
  type QueryContent,
  type ReadStateContent,
  type RequestContent,
  type RequestType,
  type SenderInfo,
  type SignedDelegation,
} from './envelope.ts'
export * from './hash-tree.ts'
export * from './bls.ts'
export * from './certificate.ts'
