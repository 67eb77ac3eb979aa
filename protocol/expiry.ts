// Ingress expiry acceptance (ic-compat §3.5): the IC accepts `now ≤ expiry ≤ now + 5 min + 30 s`
// and, on violation, answers with a text the agent recognises by its prefix
// `Invalid request expiry: ` (it then re-syncs its clock and retries once).
//
// Times in the message are formatted as the IC prints its `Time` (chrono's UTC display):
// `2023-12-06 11:54:06.062380637 UTC`, with the fraction shown in 3, 6 or 9 digits as needed and
// omitted when zero. Only the prefix matters to clients; the rest is for humans.

import { CapsaError } from './errors.ts'
import { limits } from './limits.ts'

export const INVALID_EXPIRY_PREFIX = 'Invalid request expiry: '

export interface ExpiryWindow {
  min: bigint
  max: bigint
}

/** The window of acceptable `ingress_expiry` values at `now` (ns since the epoch). */
export function ingressExpiryWindow(now: bigint): ExpiryWindow {
  return { min: now, max: now + limits.maxIngressTtlNs + limits.ingressExpiryDriftNs }
}

/**
 * Throws REQUEST_EXPIRED (expiry before now) or REQUEST_EXPIRY_TOO_FAR (beyond the window), with
 * the IC's message; `detail` carries the three values in ns.
 */
export function checkIngressExpiry(expiry: bigint, now: bigint): void {
  const { min, max } = ingressExpiryWindow(now)
  if (expiry >= min && expiry <= max) return
  const message =
    `${INVALID_EXPIRY_PREFIX}Specified ingress_expiry not within expected range: ` +
    `Minimum allowed expiry: ${formatIcTime(min)}, Maximum allowed expiry: ${formatIcTime(max)}, Provided expiry: ${formatIcTime(expiry)}`
  throw new CapsaError(expiry < min ? 'REQUEST_EXPIRED' : 'REQUEST_EXPIRY_TOO_FAR', message, { min, max, provided: expiry })
}

const NS_PER_S = 1_000_000_000n

/** `YYYY-MM-DD hh:mm:ss[.fff|.ffffff|.fffffffff] UTC` for ns since the epoch (negative: clamped to 0). */
export function formatIcTime(ns: bigint): string {
  const t = ns < 0n ? 0n : ns
  const seconds = t / NS_PER_S
  const nanos = Number(t % NS_PER_S)
  // Date covers ±8.64e15 ms; u64 ns (year 2554) is well inside.
  const iso = new Date(Number(seconds) * 1000).toISOString() // YYYY-MM-DDThh:mm:ss.000Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`
  let frac = ''
  if (nanos !== 0) {
    const digits = nanos.toString().padStart(9, '0')
    frac = nanos % 1_000_000 === 0 ? `.${digits.slice(0, 3)}` : nanos % 1000 === 0 ? `.${digits.slice(0, 6)}` : `.${digits}`
  }
  return `${base}${frac} UTC`
}
