// One test body, two subnets: in process, and a real local network of replica processes. Only the
// line that makes the subnet differs, as the testing library promises.

import { afterAll, describe, expect, it } from 'vitest'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { compileMotoko, MOTOKO_COUNTER as COUNTER } from '../motoko.ts'
import { LocalSubnet, until } from '../../test/support/local-subnet.ts'
import { CapsaTestSubnet, RemoteTestSubnet } from './index.ts'
import type { IdlFactory } from './index.ts'

const idlFactory: IdlFactory = ({ IDL }) => IDL.Service({ inc: IDL.Func([], [IDL.Nat], []), get: IDL.Func([], [IDL.Nat], ['query']) })
type Counter = { inc(): Promise<bigint>; get(): Promise<bigint> }

// Written once against the common surface: every subnet call awaited.
async function counterTest(subnet: CapsaTestSubnet | RemoteTestSubnet, alice: Ed25519KeyIdentity): Promise<void> {
  const wasm = compileMotoko(COUNTER, 'eop').wasm
  const { canisterId, actor } = await subnet.setupCanister<Counter>({ idlFactory, wasm, sender: alice })
  expect(await actor.inc()).toBe(1n)
  expect(await actor.inc()).toBe(2n)
  await subnet.upgradeCanister({ canisterId, wasm, sender: alice })
  expect(await actor.get()).toBe(2n)
  const status = await subnet.canisterStatus({ canisterId, sender: alice })
  expect(status.status).toBe('running')
  expect(status.controllers.map((p) => p.toText())).toEqual([alice.getPrincipal().toText()])
  await subnet.tick()
}

describe('the same test in process and against a real network', () => {
  const local = new LocalSubnet({ nodes: 1 })
  afterAll(() => local.close())

  it('in process (CapsaTestSubnet)', async () => {
    await counterTest(CapsaTestSubnet.create({ seed: 'remote-test' }), Ed25519KeyIdentity.generate())
  })

  it('against a 1-node network of replica processes (RemoteTestSubnet)', async () => {
    await local.create()
    local.start(0)
    await until(async () => ((await local.health(0))?.certifiedHeight ?? 0) >= 1, 30_000, () => local.logs())
    const alice = Ed25519KeyIdentity.generate()
    await counterTest(await RemoteTestSubnet.connect(local.url(0), { identity: alice }), alice)
  }, 60_000)

  it('says what a real network cannot do', async () => {
    const remote = await RemoteTestSubnet.connect(local.url(0))
    expect(() => remote.advanceTime(1000)).toThrow(/keeps its own time/)
    await expect(remote.createCanister({ sender: 'aaaaa-aa' })).rejects.toThrow(/signing identity/)
  })
})
