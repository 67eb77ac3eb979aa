// A whole subnet (four nodes over libp2p in one process) shuts down cleanly, as on SIGTERM: consensus
// stops, the app writes its shutdown checkpoint (close, then flush), the stores close. On restart each
// node resumes from that checkpoint above its CUP rather than replaying, and the subnet goes on
// finalizing and certifying with equal state hashes.

import { afterAll, describe, expect, it } from 'vitest'
import { subnetNetworks } from '../test/support/subnet-networks.ts'
import { until } from '../test/support/local-subnet.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultConfig } from '../consensus/types.ts'
import { toHex } from '../protocol/hash.ts'
import { height } from '../protocol/ids.ts'
import { CheckpointStore } from '../state/checkpoint.ts'
import { ConsensusDriver } from './consensus-driver.ts'
import { createGenesis } from './genesis.ts'
import { ChunkPacks } from './kv/chunk-packs.ts'
import { LevelKvStore } from './kv/level.ts'
import { prefixedKvStore } from './kv/prefixed.ts'
import { consensusCrypto } from './node-keys.ts'
import { CHANNEL, ChannelMux } from './p2p/channels.ts'
import { subnetInit, subnetTreeInfos } from './registry.ts'
import { openReplicaApp, type ReplicaApp } from './replica-app.ts'

const MS = 1_000_000n
const N = 4


describe('clean shutdown of a subnet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsa-shutdown-'))
  const cleanup: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  it('every node resumes from its shutdown checkpoint above the CUP; finalization and certification go on with equal hashes', async () => {
    const g = createGenesis({ nodesPerSubnet: N, basePort: 1, seed: new Uint8Array(32).fill(9) })
    const subnet = g.registry.subnets[0]
    // CUPs every 10 heights, so a shutdown lands between two of them.
    const config = defaultConfig(N, { unitDelayNs: 200n * MS, initialNotaryDelayNs: 50n * MS, cupInterval: 10n, keepBelowCup: 4n, statusIntervalNs: 500n * MS })
    const nets = await subnetNetworks(g, cleanup)
    const muxes = nets.map((net) => new ChannelMux(net))
    const fatal: unknown[] = []
    const logs: string[][] = Array.from({ length: N }, () => [])
    const nodes: { store: LevelKvStore; bodies: ChunkPacks; abort: AbortController; driver: ConsensusDriver<ReplicaApp> }[] = []
    const start = async (i: number) => {
      const store = await LevelKvStore.open(join(dir, `node-${i}`, 'db'))
      const bodies = await ChunkPacks.open(join(dir, `node-${i}`, 'chunks'))
      const appOptions = {
        init: subnetInit(subnet),
        subnets: subnetTreeInfos(g.registry),
        checkpoints: new CheckpointStore(prefixedKvStore(store, 'state/'), { bodies }),
        cupInterval: config.cupInterval,
        onFatal: (e: unknown) => fatal.push(e),
        log: (line: string) => logs[i].push(line),
      }
      const { app, genesis } = await openReplicaApp(appOptions, store, consensusCrypto(subnet, g.secrets[i]))
      const abort = new AbortController()
      const driver = await ConsensusDriver.open({ config, crypto: consensusCrypto(subnet, g.secrets[i]), network: muxes[i].channel(CHANNEL.consensus), store, genesis, createApp: () => app, signal: abort.signal, onFatal: (e) => fatal.push(e) })
      nodes[i] = { store, bodies, abort, driver }
    }
    // The order of main.ts's shutdown: consensus, then the app (close starts the checkpoint, flush
    // waits for it), then the stores.
    const stop = async (i: number) => {
      const { store, bodies, abort, driver } = nodes[i]
      abort.abort()
      await driver.stop()
      driver.app.close()
      await driver.app.flush()
      await bodies.close()
      await store.close()
    }
    cleanup.push(async () => {
      for (let i = 0; i < N; i++) await stop(i).catch(() => {})
    })
    const debug = () => nodes.map((n) => n.driver.node.debugHeights()).join('\n')

    for (let i = 0; i < N; i++) await start(i)
    for (const n of nodes) n.driver.start()
    await until(() => nodes.every((n) => n.driver.app.lastHeight >= 14n && n.driver.node.cup.content.block.height >= 10n), 40_000, debug)
    const executed: bigint[] = []
    for (let i = 0; i < N; i++) {
      await stop(i)
      executed.push(nodes[i].driver.app.lastHeight)
    }

    for (let i = 0; i < N; i++) await start(i)
    for (let i = 0; i < N; i++) {
      const app = nodes[i].driver.app
      const cup = nodes[i].driver.node.cup.content.block.height
      if (executed[i] % config.cupInterval !== 0n && executed[i] > cup) {
        expect(logs[i].join('\n')).toContain(`resuming from the shutdown checkpoint at height ${executed[i]}`)
        expect(app.lastHeight).toBe(executed[i])
      }
    }
    expect(logs.some((l) => l.some((line) => line.includes('resuming from the shutdown checkpoint')))).toBe(true)
    for (const n of nodes) n.driver.start()
    const goal = executed.reduce((m, h) => (h > m ? h : m), 0n) + 12n // past the next CUP
    await until(() => nodes.every((n) => n.driver.app.lastHeight >= goal && n.driver.node.certifiedHeight >= goal), 40_000, debug)
    for (let h = goal - 12n; h <= goal; h++) {
      const hashes = nodes.map((n) => toHex(n.driver.app.stateHash(height(h)) ?? new Uint8Array(0)))
      expect(new Set(hashes).size).toBe(1)
      expect(hashes[0]).toHaveLength(64)
    }
    expect(fatal).toEqual([])
  }, 120_000)
})
