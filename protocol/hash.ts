// SHA-256 and SHA-224 through node:crypto (OpenSSL), several times faster than pure-JS hashing for the
// short inputs that dominate here (request ids, hash-tree nodes). Pure: no I/O.

import { createHash, hash } from 'node:crypto'

export function sha256(...parts: Uint8Array[]): Uint8Array {
  // The one-shot API is about 4x faster than a Hash object for the single short inputs that dominate.
  if (parts.length === 1) {
    // Copied so callers may rely on `.buffer` being exactly these 32 bytes.
    return new Uint8Array(hash('sha256', parts[0], 'buffer'))
  }
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  const d = h.digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.length).slice()
}

export function sha224(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha224')
  for (const p of parts) h.update(p)
  const d = h.digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.length).slice()
}

/** The IC's domain separator: one length byte followed by the ASCII tag. */
export function domainSeparator(tag: string): Uint8Array {
  const bytes = new TextEncoder().encode(tag)
  if (bytes.length > 255) throw new RangeError('domain separator too long')
  const out = new Uint8Array(bytes.length + 1)
  out[0] = bytes.length
  out.set(bytes, 1)
  return out
}

export const DOMAIN = {
  request: domainSeparator('ic-request'),
  requestAuthDelegation: domainSeparator('ic-request-auth-delegation'),
  response: domainSeparator('ic-response'),
  stateRoot: domainSeparator('ic-state-root'),
  hashTreeEmpty: domainSeparator('ic-hashtree-empty'),
  hashTreeFork: domainSeparator('ic-hashtree-fork'),
  hashTreeLabeled: domainSeparator('ic-hashtree-labeled'),
  hashTreeLeaf: domainSeparator('ic-hashtree-leaf'),
  senderInfo: domainSeparator('ic-sender-info'),
} as const

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Bytewise lexicographic order, shorter-is-smaller on a common prefix (principal and label order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')
}
export function fromHex(h: string): Uint8Array {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('invalid hex')
  return new Uint8Array(Buffer.from(h, 'hex'))
}
