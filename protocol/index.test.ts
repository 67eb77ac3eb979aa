import { describe, expect, it } from 'vitest'
import * as protocol from './index.ts'

// The barrel is the component's interface: make sure it loads and exposes one of each kind of thing,
// so a broken re-export (or a module with import-time side effects that throw) fails here.
describe('protocol index', () => {
  it('exposes the vocabulary', () => {
    for (const name of ['decodeCbor', 'encodeCbor', 'principalFromText', 'requestId', 'authenticate', 'parseEnvelope', 'checkIngressExpiry', 'reconstruct', 'witness', 'dealThresholdKey', 'combineShares', 'verifyCertificate', 'encodeUleb128', 'sha256', 'height', 'cycles', 'CapsaError', 'limits', 'RejectCode', 'IcErrorCode']) {
      expect(protocol, name).toHaveProperty(name)
    }
    expect(protocol.principalToText(protocol.canisterIdFromIndex(1))).toBe('rrkah-fqaaa-aaaaa-aaaaq-cai')
  })
})
