import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'

// Every replica must run the same V8, and Motoko's default (wasm64) output needs memory64 and table64:
// these tests fail if npm scripts stop putting the pinned Node 24 first on the PATH.
describe('pinned runtime', () => {
  it('runs the tests on Node 24', () => {
    expect(process.versions.node.split('.')[0]).toBe('24')
  })

  it('gives child processes started by name the same Node', () => {
    const v = execFileSync('node', ['-p', 'process.versions.v8'], { encoding: 'utf8' }).trim()
    expect(v).toBe(process.versions.v8)
  })

  it('loads a module with a 64-bit memory and a 64-bit table', () => {
    // (module (memory i64 1) (table i64 1 funcref)) hand-assembled: flags 0x04 and 0x05 mark 64-bit limits.
    const bytes = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x04, 0x04, 0x01, 0x70, 0x04, 0x01, // table section: funcref, flags 0x04 (i64, no max), min 1
      0x05, 0x03, 0x01, 0x04, 0x01, // memory section: flags 0x04 (i64, no max), min 1
    ])
    expect(WebAssembly.validate(bytes)).toBe(true)
    expect(() => new WebAssembly.Module(bytes)).not.toThrow()
  })
})
