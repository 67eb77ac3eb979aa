// canister_info's reply as `capsa canister info` shows it: decoded from the management canister's own
// Candid (execution/management/types.ts), so a field the CLI's narrower type misreads shows up here.

import { describe, expect, it } from 'vitest'
import { IDL } from '@dfinity/candid'
import { Principal } from '@dfinity/principal'
import { canister_info_result } from '../../execution/management/types.ts'
import { decodeInfo, infoText } from './info.ts'

const id = Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai')
const user = Principal.fromText('2vxsx-fae')
const other = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai')
const hash = new Uint8Array(32).fill(0xab)

function reply(): Uint8Array {
  const origin = { from_user: { user_id: user } }
  return new Uint8Array(IDL.encode([canister_info_result], [{
    total_num_changes: 25n,
    recent_changes: [
      { timestamp_nanos: 1_700_000_000_000_000_000n, canister_version: 0n, origin, details: { creation: { controllers: [user], environment_variables_hash: [] } } },
      { timestamp_nanos: 1_700_000_001_000_000_000n, canister_version: 1n, origin, details: { code_deployment: { mode: { install: null }, module_hash: hash } } },
      { timestamp_nanos: 1_700_000_002_000_000_000n, canister_version: 7n, origin: { from_canister: { canister_id: other, canister_version: [3n] } }, details: { controllers_change: { controllers: [user, other] } } },
      { timestamp_nanos: 1_700_000_003_000_000_000n, canister_version: 8n, origin, details: { code_uninstall: null } },
    ],
    module_hash: [],
    controllers: [user, other],
  }]))
}

describe('capsa canister info', () => {
  it('decodes the management canister reply into JSON', () => {
    const j = decodeInfo(id, reply())
    expect(j.id).toBe(id.toText())
    expect(j.controllers).toEqual(['2vxsx-fae', other.toText()])
    expect(j.module_hash).toBeNull()
    expect(j.total_num_changes).toBe('25')
    expect(j.recent_changes!.map((c) => c.kind)).toEqual(['creation', 'code_deployment', 'controllers_change', 'code_uninstall'])
    expect(j.recent_changes![1].details).toEqual({ mode: { install: null }, module_hash: 'ab'.repeat(32) })
    expect(j.recent_changes![2].origin).toEqual({ canister: other.toText() })
    expect(j.recent_changes![3].details).toEqual({})
  })

  it('prints what dfx prints, then the history', () => {
    expect(infoText(decodeInfo(id, reply())).split('\n')).toEqual([
      `Controllers: 2vxsx-fae ${other.toText()}`,
      'Module hash: None',
      'Total changes: 25',
      'Recent changes:',
      '  2023-11-14T22:13:20.000Z  version 0  created with controllers 2vxsx-fae  (by user 2vxsx-fae)',
      `  2023-11-14T22:13:21.000Z  version 1  code install, module hash 0x${'ab'.repeat(32)}  (by user 2vxsx-fae)`,
      `  2023-11-14T22:13:22.000Z  version 7  controllers set to 2vxsx-fae ${other.toText()}  (by canister ${other.toText()})`,
      '  2023-11-14T22:13:23.000Z  version 8  code uninstalled  (by user 2vxsx-fae)',
    ])
  })
})
