import { describe, expect, it } from 'vitest'
import { isCapsaError } from './errors.ts'
import { checkIngressExpiry, formatIcTime, ingressExpiryWindow, INVALID_EXPIRY_PREFIX } from './expiry.ts'
import { limits } from './limits.ts'

const NOW = 1_701_863_646_062_380_637n // 2023-12-06 11:54:06.062380637 UTC

function codeOf(f: () => void): string | undefined {
  try {
    f()
    return undefined
  } catch (e) {
    expect(isCapsaError(e)).toBe(true)
    return (e as { code: string }).code
  }
}

describe('ingress expiry', () => {
  it('accepts now ≤ expiry ≤ now + 5 min + 30 s', () => {
    const max = NOW + limits.maxIngressTtlNs + limits.ingressExpiryDriftNs
    expect(max - NOW).toBe(330_000_000_000n)
    expect(ingressExpiryWindow(NOW)).toEqual({ min: NOW, max })
    for (const e of [NOW, NOW + 1n, NOW + 300_000_000_000n, max]) expect(codeOf(() => checkIngressExpiry(e, NOW))).toBeUndefined()
    expect(codeOf(() => checkIngressExpiry(NOW - 1n, NOW))).toBe('REQUEST_EXPIRED')
    expect(codeOf(() => checkIngressExpiry(0n, NOW))).toBe('REQUEST_EXPIRED')
    expect(codeOf(() => checkIngressExpiry(max + 1n, NOW))).toBe('REQUEST_EXPIRY_TOO_FAR')
  })

  it('reports with the IC message the agent recognises', () => {
    try {
      checkIngressExpiry(1_701_863_588_000_000_000n, NOW)
      expect.unreachable()
    } catch (e) {
      const msg = (e as Error).message
      expect(msg.startsWith(INVALID_EXPIRY_PREFIX)).toBe(true)
      expect(msg).toBe(
        'Invalid request expiry: Specified ingress_expiry not within expected range: ' +
          'Minimum allowed expiry: 2023-12-06 11:54:06.062380637 UTC, Maximum allowed expiry: 2023-12-06 11:59:36.062380637 UTC, ' +
          'Provided expiry: 2023-12-06 11:53:08 UTC',
      )
      expect((e as { detail: unknown }).detail).toEqual({ min: NOW, max: NOW + 330_000_000_000n, provided: 1_701_863_588_000_000_000n })
    }
  })

  it('formats times as the IC does (fraction in 3, 6 or 9 digits, omitted when zero)', () => {
    expect(formatIcTime(0n)).toBe('1970-01-01 00:00:00 UTC')
    expect(formatIcTime(1_500_000_000n)).toBe('1970-01-01 00:00:01.500 UTC')
    expect(formatIcTime(1_000_120_000n)).toBe('1970-01-01 00:00:01.000120 UTC')
    expect(formatIcTime(1_000_000_001n)).toBe('1970-01-01 00:00:01.000000001 UTC')
    expect(formatIcTime(2n ** 64n - 1n)).toBe('2554-07-21 23:34:33.709551615 UTC')
  })
})
