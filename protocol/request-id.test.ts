import { describe, expect, it } from 'vitest'
import { Cbor, requestIdOf } from '@dfinity/agent'
import { Principal } from '@dfinity/principal'
import { decodeCbor, type CborValue } from './cbor.ts'
import { isCapsaError } from './errors.ts'
import { sha256, toHex } from './hash.ts'
import { hashOfMap, hashValue, requestId } from './request-id.ts'

const te = new TextEncoder()

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Encodes with the agent's CBOR and decodes with ours: the path a real request body takes. */
function viaWire(v: Record<string, unknown>): { [k: string]: CborValue } {
  return decodeCbor(Cbor.encode(v)) as { [k: string]: CborValue }
}

describe('request id', () => {
  it('reproduces the spec example', () => {
    const content = {
      request_type: 'call',
      sender: Uint8Array.of(0x04),
      ingress_expiry: 1685570400000000000n,
      canister_id: Uint8Array.of(0, 0, 0, 0, 0, 0, 0x04, 0xd2),
      method_name: 'hello',
      arg: Uint8Array.of(...te.encode('DIDL'), 0x00, 0xfd, 0x2a),
    }
    expect(toHex(requestId(content))).toBe('1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101')
    expect(toHex(requestId(viaWire(content)))).toBe('1d1091364d6bb8a6c16b203ee75467d59ead468f523eb058880ae8ec80e2b101')
  })

  it('reproduces the spec nested-map example', () => {
    const arg = Uint8Array.of(...te.encode('DIDL'), 0, 0)
    const inner = sha256(Uint8Array.of(...sha256(te.encode('arg')), ...sha256(arg)))
    const expected = sha256(Uint8Array.of(...sha256(te.encode('reply')), ...inner))
    expect(toHex(hashOfMap({ reply: { arg } }))).toBe(toHex(expected))
  })

  const sender = Principal.fromText('2chl6-4hpzw-vqaaa-aaaaa-c').toUint8Array()
  const canister = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai')
  const agentContents: Record<string, Record<string, unknown>> = {
    call: {
      request_type: 'call', canister_id: canister, method_name: 'transfer', arg: Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 0, 0),
      sender: Principal.fromUint8Array(sender), ingress_expiry: 1_700_000_000_000_000_000n, nonce: new Uint8Array(16).fill(0xab),
    },
    query: {
      request_type: 'query', canister_id: canister, method_name: 'balance', arg: new Uint8Array(0),
      sender: Principal.anonymous(), ingress_expiry: 1_700_000_060_000_000_000n,
    },
    read_state: {
      request_type: 'read_state', sender: Principal.fromUint8Array(sender), ingress_expiry: 1_700_000_120_000_000_000n,
      paths: [[te.encode('time')], [te.encode('request_status'), new Uint8Array(32).fill(7), te.encode('reply')], [te.encode('subnet')], []],
    },
    empty_paths: { request_type: 'read_state', sender: Principal.anonymous(), ingress_expiry: 0n, paths: [] },
  }
  for (const [name, content] of Object.entries(agentContents)) {
    it(`equals the agent's requestIdOf for ${name} contents sent over CBOR`, () => {
      expect(toHex(requestId(viaWire(content)))).toBe(toHex(requestIdOf(content)))
    })
  }

  it('counts unknown fields and small-integer encodings the same as the agent', () => {
    const content = { ...agentContents.call, sender_info: { info: Uint8Array.of(1), signer: Uint8Array.of(2), sig: Uint8Array.of(3) }, extra: 5, big: 2n ** 64n - 1n }
    const wire = viaWire(content)
    expect(typeof wire.extra).toBe('number')
    expect(toHex(requestId(wire))).toBe(toHex(requestIdOf(content)))
    const { extra: _, ...without } = wire
    expect(toHex(requestId(without))).not.toBe(toHex(requestId(wire)))
  })

  it('equals requestIdOf for random contents (seeded)', () => {
    const r = rng(42)
    const int = (n: number) => Math.floor(r() * n)
    const randBytes = () => Uint8Array.from({ length: int(40) }, () => int(256))
    const randText = () => String.fromCodePoint(...Array.from({ length: int(12) }, () => (r() < 0.8 ? 0x61 + int(26) : 0x80 + int(0x3000))))
    const randValue = (depth: number): unknown => {
      const k = int(depth > 2 ? 4 : 6)
      switch (k) {
        case 0: return randBytes()
        case 1: return randText()
        case 2: return r() < 0.5 ? int(2 ** 31) : BigInt(int(2 ** 32)) * BigInt(int(2 ** 32))
        case 3: return r() < 0.5 ? 0 : 2 ** 53 - 1 - int(1000)
        case 4: return Array.from({ length: int(5) }, () => randValue(depth + 1))
        default: return randMap(depth + 1)
      }
    }
    const randMap = (depth: number): Record<string, unknown> => {
      const m: Record<string, unknown> = {}
      for (let i = int(7); i > 0; i--) m[randText() || 'k'] = randValue(depth)
      return m
    }
    for (let i = 0; i < 300; i++) {
      const content = randMap(0)
      expect(toHex(requestId(viaWire(content)))).toBe(toHex(requestIdOf(content)))
    }
  })

  it('does not depend on key order', () => {
    const a = viaWire({ a: 1, b: 'x', c: Uint8Array.of(1) })
    const b = viaWire({ c: Uint8Array.of(1), a: 1, b: 'x' })
    expect(toHex(hashOfMap(a))).toBe(toHex(hashOfMap(b)))
  })

  it('hashes negative integers with signed LEB128', () => {
    expect(toHex(hashValue(-123456))).toBe(toHex(sha256(Uint8Array.of(0xc0, 0xbb, 0x78))))
    expect(toHex(hashValue(-(2n ** 70n)))).not.toBe(toHex(hashValue(2n ** 70n)))
    expect(toHex(hashValue(624485))).toBe(toHex(sha256(Uint8Array.of(0xe5, 0x8e, 0x26))))
  })

  it('refuses values without a defined hash, naming the field', () => {
    for (const bad of [true, null, 1.5, Number.MAX_SAFE_INTEGER + 2] as CborValue[]) {
      try {
        requestId({ request_type: 'call', nested: { x: [1, bad] } })
        expect.unreachable()
      } catch (e) {
        expect(isCapsaError(e, 'REQUEST_MALFORMED')).toBe(true)
        expect((e as Error).message).toContain('content.nested.x[1]')
      }
    }
  })
})
