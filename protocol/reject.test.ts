import { describe, expect, it } from 'vitest'
import { errorCodeMatchesReject, IcErrorCode, isRejectCode, reject, RejectCode, rejectCodeOfErrorCode } from './reject.ts'

describe('reject codes', () => {
  it('has the spec numbering', () => {
    expect(RejectCode).toEqual({ SYS_FATAL: 1, SYS_TRANSIENT: 2, DESTINATION_INVALID: 3, CANISTER_REJECT: 4, CANISTER_ERROR: 5, SYS_UNKNOWN: 6 })
    expect([0, 1, 6, 7, 2.5, '3'].map(isRejectCode)).toEqual([false, true, true, false, false, false])
  })

  it('gives every IC error code the IC%04d shape with the first digit in 1..6', () => {
    for (const [name, code] of Object.entries(IcErrorCode)) {
      expect(code, name).toMatch(/^IC0[1-6][0-9]{2}$/)
      expect(rejectCodeOfErrorCode(code), name).toBe(Number(code[3]))
    }
    expect(new Set(Object.values(IcErrorCode)).size).toBe(Object.keys(IcErrorCode).length)
  })

  it('files the codes ic-compat §14 lists under their reject codes', () => {
    const expected: [string, number][] = [
      ['IC0301', 3], ['IC0406', 4], ['IC0502', 5], ['IC0503', 5], ['IC0504', 5], ['IC0506', 5], ['IC0508', 5], ['IC0509', 5],
      ['IC0512', 5], ['IC0536', 5], ['IC0537', 5], ['IC0538', 5], ['IC0207', 2], ['IC0201', 2], ['IC0601', 6],
    ]
    const all = new Set<string>(Object.values(IcErrorCode))
    for (const [code, r] of expected) {
      expect(all.has(code), code).toBe(true)
      expect(errorCodeMatchesReject(code, r as RejectCode)).toBe(true)
      expect(errorCodeMatchesReject(code, (r % 6) + 1 as RejectCode)).toBe(false)
    }
    expect(IcErrorCode.CanisterNotFound).toBe('IC0301')
    expect(IcErrorCode.CanisterCalledTrap).toBe('IC0503')
    expect(IcErrorCode.CanisterMethodNotFound).toBe('IC0536')
  })

  it('refuses other shapes and builds consistent rejects', () => {
    for (const bad of ['IC502', 'IC0702', 'IC0002', 'ic0301', 'IC03010', '']) expect(rejectCodeOfErrorCode(bad)).toBeUndefined()
    expect(reject(RejectCode.CANISTER_ERROR, 'trapped', IcErrorCode.CanisterTrapped)).toEqual({ code: 5, message: 'trapped', errorCode: 'IC0502' })
    expect(reject(RejectCode.CANISTER_REJECT, 'no')).toEqual({ code: 4, message: 'no' })
    expect(() => reject(RejectCode.CANISTER_REJECT, 'x', IcErrorCode.CanisterNotFound)).toThrow(/does not belong/)
  })
})
