// install_code accepts gzip-compressed modules (magic 1f 8b 08). Decompression is capped so a
// small upload cannot expand into gigabytes (zlib stops at maxOutputLength and throws).

import { gunzipSync } from 'node:zlib'
import { CapsaError } from '../../protocol/errors.ts'
import { limits } from '../../protocol/limits.ts'

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08
}

export function decompressIfGzip(bytes: Uint8Array, maxBytes: number = limits.maxWasmModuleBytes): Uint8Array {
  if (!isGzip(bytes)) return bytes
  let out: Buffer
  try {
    out = gunzipSync(bytes, { maxOutputLength: maxBytes })
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CapsaError('WASM_REJECTED', `gzip-compressed module expands beyond ${maxBytes} bytes`, { maxBytes }, { cause: e })
    }
    throw new CapsaError('WASM_INVALID', `gzip-compressed module is corrupt: ${(e as Error).message}`, undefined, { cause: e })
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}
