import { afterAll, describe, expect, it } from 'vitest'
import { subnetNetworks } from '../test/support/subnet-networks.ts'
import { until } from '../test/support/local-subnet.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { genesisCup } from '../consensus/genesis.ts'
import { artifactHeight, defaultConfig } from '../consensus/types.ts'
import { decodeMessage } from '../consensus/wire.ts'
import { certificationSigned } from '../consensus/encoding.ts'
import { blsPublicKeyFromDer, blsVerify } from '../protocol/bls.ts'
import { encodeCbor } from '../protocol/cbor.ts'
import { fromHex, toHex } from '../protocol/hash.ts'
import { height } from '../protocol/ids.ts'
import type { KvStore, Transport } from '../protocol/interfaces.ts'
import { ConsensusDriver, loadConsensusState } from './consensus-driver.ts'
import { createGenesis } from './genesis.ts'
import { LevelKvStore } from './kv/level.ts'
import { consensusCrypto } from './node-keys.ts'
import { openReplicaApp, type ReplicaApp } from './replica-app.ts'
import { prefixedKvStore } from './kv/prefixed.ts'
import { ChannelMux, CHANNEL } from './p2p/channels.ts'
import { StateSyncPeer } from './state-sync-peer.ts'
import { subnetInit, subnetTreeInfos } from './registry.ts'
import { CheckpointStore } from '../state/checkpoint.ts'

const MS = 1_000_000n
const SIGNED = new Set(['proposal', 'notarizationShare', 'finalizationShare'])
const N = 4


describe('consensus over libp2p, four nodes in one process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capsa-driver-'))
  const cleanup: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  it('finalizes and certifies heights with equal state hashes; a restarted node resumes from its persisted CUP', async () => {
    const g = createGenesis({ nodesPerSubnet: N, basePort: 1, seed: new Uint8Array(32).fill(7) })
    const subnet = g.registry.subnets[0]
    const config = defaultConfig(N, { unitDelayNs: 300n * MS, initialNotaryDelayNs: 100n * MS, cupInterval: 4n, keepBelowCup: 4n, statusIntervalNs: 500n * MS })
    const nets = await subnetNetworks(g, cleanup)
    const aborts = Array.from({ length: N }, () => new AbortController())
    const stores: LevelKvStore[] = []
    const checkpointStores: CheckpointStore[] = []
    const drivers: ConsensusDriver<ReplicaApp>[] = []
    const fatal: unknown[] = []
    // Restart safety: a node's own proposal or notarization/finalization share may leave only once a
    // signing mark at or above its height is on disk.
    const marks = Array.from({ length: N }, () => -1n)
    const violations: string[] = []
    let audited = 0
    const auditedStore = (i: number, store: LevelKvStore): KvStore => ({
      get: (k) => store.get(k),
      iterate: (r) => store.iterate(r),
      close: () => store.close(),
      batch: async (ops, o) => {
        await store.batch(ops, o)
        for (const op of ops) if (op.type === 'put' && new TextDecoder().decode(op.key) === 'consensus/signed_up_to') marks[i] = new DataView(op.value.buffer, op.value.byteOffset, 8).getBigUint64(0)
      },
    })
    // Consensus and state sync share each node's streams, as in the replica process.
    const muxes = nets.map((net) => new ChannelMux(net))
    const syncPeers: StateSyncPeer[] = []
    const auditedNetwork = (i: number, net: Transport<Uint8Array>): Transport<Uint8Array> => ({
      onMessage: (h) => net.onMessage(h),
      send: (bytes, to) => {
        const m = decodeMessage(bytes)
        if (m.type === 'artifact' && SIGNED.has(m.artifact.kind) && 'signer' in m.artifact && m.artifact.signer === i) {
          audited++
          const h = artifactHeight(m.artifact)
          if (h > marks[i]) violations.push(`node ${i} sent its ${m.artifact.kind} at ${h} with mark ${marks[i]} on disk`)
        }
        net.send(bytes, to)
      },
    })
    const open = async (i: number) => {
      const appOptions = {
        init: subnetInit(subnet),
        subnets: subnetTreeInfos(g.registry),
        checkpoints: checkpointStores[i],
        cupInterval: config.cupInterval,
        stateSync: (h: bigint, hash: Uint8Array, signal: AbortSignal) => syncPeers[i].sync(h, hash, signal),
        onFatal: (e: unknown) => fatal.push(e),
      }
      const { app, genesis } = await openReplicaApp(appOptions, stores[i], consensusCrypto(subnet, g.secrets[i]))
      return ConsensusDriver.open({
        config,
        crypto: consensusCrypto(subnet, g.secrets[i]),
        network: auditedNetwork(i, muxes[i].channel(CHANNEL.consensus)),
        store: auditedStore(i, stores[i]),
        genesis,
        createApp: () => app,
        signal: aborts[i].signal,
        onFatal: (e) => fatal.push(e),
      })
    }
    for (let i = 0; i < N; i++) {
      const store = await LevelKvStore.open(join(dir, `node-${i}`))
      cleanup.push(() => store.close())
      stores.push(store)
      checkpointStores.push(new CheckpointStore(prefixedKvStore(store, 'state/')))
      syncPeers.push(new StateSyncPeer({ channel: muxes[i].channel(CHANNEL.stateSync), self: i, peers: N, store: checkpointStores[i], checkpointTree: (h) => drivers[i]?.app.checkpointTree(h) }))
      drivers.push(await open(i))
    }
    cleanup.push(async () => {
      for (const a of aborts) a.abort()
      await Promise.all(drivers.map((d) => d.stop()))
    })
    for (const d of drivers) d.start()

    // Garbage from a member must be counted and dropped, not crash the receiver.
    const consensus0 = muxes[0].channel(CHANNEL.consensus)
    consensus0.send(Uint8Array.of(0xff, 0x00, 0x13), 1)
    consensus0.send(encodeCbor({ t: 'artifact', a: { k: 'proposal' } }, { selfDescribe: false }), 1)

    const target = 6n
    await until(
      () => drivers.every((d) => d.node.certifiedHeight >= target && d.app.lastHeight >= target),
      40_000,
      () => drivers.map((d) => d.node.debugHeights()).join('\n'),
    )
    expect(fatal).toEqual([])
    expect(drivers[1].stats.malformed).toBe(2)
    for (let h = 1n; h <= target; h++) {
      const hashes = drivers.map((d) => toHex(d.app.stateHash(height(h)) ?? new Uint8Array(0)))
      expect(hashes[0]).toHaveLength(64)
      expect(new Set(hashes).size).toBe(1)
    }
    // The subnet's threshold signature certifies exactly the state hash every node computed.
    const top = drivers[0].node.certifiedHeight
    const cert = drivers[0].node.pool.bucket(top)?.certification
    expect(cert).toBeDefined()
    expect(toHex(cert!.stateHash)).toBe(toHex(drivers[0].app.stateHash(height(top))!))
    expect(blsVerify(cert!.signature, certificationSigned(cert!.stateHash), blsPublicKeyFromDer(fromHex(g.registry.rootKeyDer)))).toBe(true)

    // Node 3's consensus restarts from what it persisted while the others move on; it catches up and
    // computes the same state hashes.
    aborts[3].abort()
    await drivers[3].stop()
    await drivers[3].app.flush()
    const saved = await loadConsensusState(stores[3], genesisCup(0n), consensusCrypto(subnet, g.secrets[3]))
    // The store keeps what node 3 signed above its CUP, so the restored pool (not a coarse signing
    // mark) is what stops it from signing twice.
    expect(saved.signedUpTo).toBe(-1n)
    const ownSigned = saved.artifacts.filter((a) => 'signer' in a && a.signer === 3 && SIGNED.has(a.kind))
    expect(ownSigned.length).toBeGreaterThan(0)
    for (const a of ownSigned) expect(artifactHeight(a)).toBeGreaterThan(saved.cup.content.block.height)
    expect(saved.cup.content.block.height).toBe(drivers[3].node.cup.content.block.height)
    expect(saved.cup.content.block.height).toBeGreaterThanOrEqual(4n)
    const others = drivers.slice(0, 3)
    const mark = others[0].app.lastHeight + 3n
    await until(() => others.every((d) => d.app.lastHeight >= mark), 20_000, () => others.map((d) => d.node.debugHeights()).join('\n'))
    aborts[3] = new AbortController()
    drivers[3] = await open(3)
    expect(drivers[3].node.cup.content.block.height).toBe(saved.cup.content.block.height)
    drivers[3].start()
    // Node 3 replays or state-syncs (to a CUP the others made meanwhile); then every node holds the
    // state of a common height, and its hash is the same everywhere.
    const goal = others[0].app.lastHeight + 2n
    await until(() => drivers.every((d) => d.app.lastHeight >= goal && !d.app.syncing), 30_000, () => drivers.map((d) => d.node.debugHeights()).join('\n'))
    const common = drivers.reduce((m, d) => (d.app.lastHeight < m ? d.app.lastHeight : m), drivers[0].app.lastHeight)
    const hashes = drivers.map((d) => toHex(d.app.stateHash(height(common)) ?? new Uint8Array(0)))
    expect(hashes[0]).toHaveLength(64)
    expect(new Set(hashes).size).toBe(1)
    expect(fatal).toEqual([])
    expect(audited).toBeGreaterThan(3 * Number(goal))
    expect(violations).toEqual([])

    // The whole subnet stops at once and starts again: every node comes back with its signing mark
    // above its CUP, and finishes those heights from the artifacts it persisted.
    const before = drivers.reduce((m, d) => (d.node.finalizedHeight > m ? d.node.finalizedHeight : m), 0n)
    for (let i = 0; i < N; i++) {
      aborts[i].abort()
      await drivers[i].stop()
      await drivers[i].app.flush()
    }
    for (let i = 0; i < N; i++) {
      aborts[i] = new AbortController()
      drivers[i] = await open(i)
      expect(drivers[i].node.cup.content.block.height).toBeLessThan(before)
    }
    for (const d of drivers) d.start()
    await until(() => drivers.every((d) => d.node.finalizedHeight >= before + 3n && d.node.certifiedHeight >= before + 1n), 30_000, () => drivers.map((d) => d.node.debugHeights()).join('\n'))
    expect(fatal).toEqual([])
    expect(violations).toEqual([])
  }, 90_000)
})
