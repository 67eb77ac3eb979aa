// Custom sections carry canister metadata (`icp:public candid:service`, ...). A custom section may
// appear anywhere after the header, so appending one at the end never disturbs the module's code.

import { CapsaError } from '../../protocol/errors.ts'
import { encodeUleb128 } from '../../protocol/leb128.ts'

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]

const uleb128 = (n: number): number[] => [...encodeUleb128(n)]

/** Returns a copy of `wasm` with a custom section (id 0) named `name` holding `content` appended. */
export function addCustomSection(wasm: Uint8Array, name: string, content: Uint8Array): Uint8Array<ArrayBuffer> {
  if (wasm.length < 8 || WASM_MAGIC.some((b, i) => wasm[i] !== b)) {
    throw new CapsaError('WASM_INVALID', 'addCustomSection: not a WebAssembly binary')
  }
  const nameBytes = new TextEncoder().encode(name)
  const payload = [...uleb128(nameBytes.length), ...nameBytes]
  const size = payload.length + content.length
  const header = [0x00, ...uleb128(size), ...payload]
  const out = new Uint8Array(wasm.length + header.length + content.length)
  out.set(wasm, 0)
  out.set(header, wasm.length)
  out.set(content, wasm.length + header.length)
  return out
}

/** Reads every custom section of a module (names may repeat, hence a list). */
export function customSections(wasm: Uint8Array): { name: string; content: Uint8Array }[] {
  // WebAssembly.Module.customSections needs the name up front; walk the section headers instead.
  const out: { name: string; content: Uint8Array }[] = []
  let p = 8
  const readU = (): number => {
    let result = 0
    let mul = 1
    for (;;) {
      if (p >= wasm.length) throw new CapsaError('WASM_INVALID', 'customSections: truncated LEB128')
      const b = wasm[p++]
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
  }
  while (p < wasm.length) {
    const id = wasm[p++]
    const size = readU()
    const end = p + size
    if (id === 0) {
      const nlen = readU()
      const name = new TextDecoder().decode(wasm.subarray(p, p + nlen))
      out.push({ name, content: wasm.slice(p + nlen, end) })
    }
    p = end
  }
  return out
}
