// The replica process: `capsa-node --config node.json`. It reads the registry and its identity file,
// takes its data directory exclusively, joins its subnet over libp2p, runs consensus in real time and
// serves the HTTP interface: calls go to the ingress pool and are gossiped, finalized blocks are
// executed, the certified state answers synchronous calls and read_state, queries run on the executed
// state. Checkpoints are written at every CUP height; a restarted node resumes from its CUP's
// checkpoint or fetches it from peers.
//
// node.json (relative paths are relative to the file):
//   { "registry": "../registry.json", "identity": "identity.json", "dataDir": "data",
//     "p2p": { "listen": ["/ip4/127.0.0.1/tcp/4100"] },   // default: the node's p2p addresses in the registry
//     "http": "127.0.0.1:4101",                           // default: the node's http address in the registry
//     "consensus": { "unitDelayMs": 1000, "initialNotaryDelayMs": 600, "cupInterval": 500, "statusIntervalMs": 1000,
//                    "idleBlockDelayMs": 0 },                        // defaults: the IC's timings; genesis writes local ones
//     "progressLogMs": 10000 }

import { readFileSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { ConsensusConfig } from '../consensus/types.ts'
import { CapsaError } from '../protocol/errors.ts'
import { requestId } from '../protocol/request-id.ts'
import type { ReplicaApp as ReplicaAppType } from './replica-app.ts'
import { lockDataDir, type DataDirLock } from './data-dir.ts'

// A node process loads ~1,500 modules (libp2p, fastify, level, our TypeScript); V8's bytecode cache
// on disk (shared by the nodes of a machine, in the OS temp dir unless NODE_COMPILE_CACHE says
// otherwise) halves start-up after the first run, type stripping included.
enableCompileCache()

// Only what the data-directory lock needs is imported up front: a second process on a directory in
// use is refused before it spends a second loading libp2p, fastify, LevelDB and the BLS code.
async function loadModules() {
  const [genesis, types, hash, principal, driver, genesisKeys, server, level, metrics, keys, network, registry, app, backend, channels, prefixed, sync, checkpoint, envelope, cbor, pinoModule, packs] = await Promise.all([
    import('../consensus/genesis.ts'),
    import('../consensus/types.ts'),
    import('../protocol/hash.ts'),
    import('../protocol/principal.ts'),
    import('./consensus-driver.ts'),
    import('./genesis.ts'),
    import('./http/server.ts'),
    import('./kv/level.ts'),
    import('./metrics.ts'),
    import('./node-keys.ts'),
    import('./p2p/network.ts'),
    import('./registry.ts'),
    import('./replica-app.ts'),
    import('./replica-backend.ts'),
    import('./p2p/channels.ts'),
    import('./kv/prefixed.ts'),
    import('./state-sync-peer.ts'),
    import('../state/checkpoint.ts'),
    import('../protocol/envelope.ts'),
    import('../protocol/cbor.ts'),
    import('pino'),
    import('./kv/chunk-packs.ts'),
  ])
  return {
    genesisCup: genesis.genesisCup, defaultConfig: types.defaultConfig, fromHex: hash.fromHex,
    canisterIdInRanges: principal.canisterIdInRanges, principalFromText: principal.principalFromText,
    ConsensusDriver: driver.ConsensusDriver, systemClock: driver.systemClock, ed25519PrivateKeyFromSeed: genesisKeys.ed25519PrivateKeyFromSeed,
    createHttpServer: server.createHttpServer, LevelKvStore: level.LevelKvStore, replicaMetrics: metrics.replicaMetrics,
    consensusCrypto: keys.consensusCrypto, loadIdentity: keys.loadIdentity, placeInRegistry: keys.placeInRegistry,
    SubnetNetwork: network.SubnetNetwork, loadRegistry: registry.loadRegistry, ReplicaApp: app.ReplicaApp, openReplicaApp: app.openReplicaApp,
    subnetTreeInfos: registry.subnetTreeInfos, subnetInit: registry.subnetInit, ReplicaBackend: backend.ReplicaBackend, ChannelMux: channels.ChannelMux, CHANNEL: channels.CHANNEL,
    prefixedKvStore: prefixed.prefixedKvStore, StateSyncPeer: sync.StateSyncPeer, CheckpointStore: checkpoint.CheckpointStore,
    loadConsensusState: driver.loadConsensusState, parseEnvelope: envelope.parseEnvelope, decodeCbor: cbor.decodeCbor, pino: pinoModule.pino, ChunkPacks: packs.ChunkPacks,
  }
}

export interface NodeConfig {
  registry: string
  identity: string
  dataDir: string
  p2p?: { listen?: string[] }
  http?: string
  consensus?: { unitDelayMs?: number; initialNotaryDelayMs?: number; cupInterval?: number; statusIntervalMs?: number; idleBlockDelayMs?: number }
  /** How often the node logs its heights (0: never). */
  progressLogMs?: number
}

// Structured logs (pino, one JSON object per line) once the node knows its id; plain text before that.
interface NodeLog { info(msg: string): void; error(msg: string): void }
let logger: NodeLog = { info: (m) => console.log(`capsa-node: ${m}`), error: (m) => console.error(`capsa-node: ${m}`) }

const SHUTDOWN_LIMIT_MS = 5_000
const PROGRESS_EVERY_MS = 10_000
const MS = 1_000_000n

function bad(what: string): CapsaError {
  return new CapsaError('INVALID_ARGUMENT', what)
}

export function loadNodeConfig(path: string): NodeConfig {
  let c: NodeConfig
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as NodeConfig
  } catch (e) {
    throw bad(`cannot read the node configuration ${path}: ${(e as Error).message}`)
  }
  for (const k of ['registry', 'identity', 'dataDir'] as const) {
    if (typeof c?.[k] !== 'string' || c[k].length === 0) throw bad(`${path}: "${k}" must name a path`)
  }
  if (c.progressLogMs !== undefined && !(Number.isInteger(c.progressLogMs) && c.progressLogMs >= 0)) throw bad(`${path}: "progressLogMs" must be a non-negative integer`)
  const base = dirname(resolve(path))
  return { ...c, registry: resolve(base, c.registry), identity: resolve(base, c.identity), dataDir: resolve(base, c.dataDir) }
}

function consensusConfig(defaultConfig: (n: number, o: Partial<ConsensusConfig>) => ConsensusConfig, n: number, c: NodeConfig['consensus'] = {}): ConsensusConfig {
  const positive = (v: number | undefined, what: string): bigint | undefined => {
    if (v === undefined) return undefined
    if (!Number.isInteger(v) || v <= 0) throw bad(`consensus.${what} must be a positive integer`)
    return BigInt(v)
  }
  const o: { -readonly [K in keyof ConsensusConfig]?: ConsensusConfig[K] } = {}
  const unit = positive(c.unitDelayMs, 'unitDelayMs')
  const notary = positive(c.initialNotaryDelayMs, 'initialNotaryDelayMs')
  const cup = positive(c.cupInterval, 'cupInterval')
  const status = positive(c.statusIntervalMs, 'statusIntervalMs')
  const idle = c.idleBlockDelayMs === 0 ? 0n : positive(c.idleBlockDelayMs, 'idleBlockDelayMs')
  if (unit !== undefined) o.unitDelayNs = unit * MS
  if (notary !== undefined) o.initialNotaryDelayNs = notary * MS
  if (status !== undefined) o.statusIntervalNs = status * MS
  if (idle !== undefined) o.idleBlockDelayNs = idle * MS
  if (cup !== undefined) {
    o.cupInterval = cup
    // Short test intervals keep only one interval of history below the CUP.
    if (cup < 50n) o.keepBelowCup = cup
  }
  return defaultConfig(n, o)
}

function hostPort(text: string, what: string): { host: string; port: number } {
  const i = text.lastIndexOf(':')
  const port = Number(text.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw bad(`${what} must be host:port, got ${JSON.stringify(text)}`)
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port }
}

export async function runNode(configPath: string): Promise<void> {
  const config = loadNodeConfig(configPath)
  // The lock comes first: a second process on the same directory must fail before touching its files.
  const lock: DataDirLock = lockDataDir(config.dataDir)
  let m: Awaited<ReturnType<typeof loadModules>>
  try {
    m = await loadModules()
  } catch (e) {
    lock.release()
    throw e
  }
  const { ConsensusDriver, LevelKvStore, ReplicaApp, SubnetNetwork, fromHex, principalFromText } = m
  const closers: (() => Promise<void> | void)[] = [() => lock.release()]
  const closeAll = async () => {
    for (const c of closers.reverse().splice(0)) await Promise.resolve().then(c).catch((e) => logger.error(`while closing: ${(e as Error).message}`))
  }
  let shuttingDown = false
  const shutdown = async (why: string, code: number) => {
    if (shuttingDown) return
    shuttingDown = true
    logger.info(`shutting down (${why})`)
    setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_LIMIT_MS} ms; exiting`)
      lock.release()
      process.exit(code || 1)
    }, SHUTDOWN_LIMIT_MS).unref()
    await closeAll()
    process.exit(code)
  }

  try {
    const registry = m.loadRegistry(config.registry)
    const identity = m.loadIdentity(config.identity)
    const { subnet, index } = m.placeInRegistry(registry, identity)
    const self = subnet.nodes[index]
    const p = m.pino({ base: { node: self.id, pid: process.pid } }, m.pino.destination({ sync: true }))
    logger = { info: (msg) => p.info(msg), error: (msg) => p.error(msg) }
    const crypto = m.consensusCrypto(subnet, identity)
    const cconfig = consensusConfig(m.defaultConfig, subnet.nodes.length, config.consensus)
    const http = hostPort(config.http ?? self.http, 'http')
    const listen = config.p2p?.listen ?? self.p2p

    const store = await LevelKvStore.open(join(config.dataDir, 'db'))
    closers.push(() => store.close())
    const network = await SubnetNetwork.create({
      self: index,
      secretSeed: fromHex(identity.ed25519Seed),
      peers: subnet.nodes.map((x) => ({ publicKey: fromHex(x.publicKey), addrs: x.p2p })),
      listen,
    })
    closers.push(() => network.stop())
    const mux = new m.ChannelMux(network)

    const metrics = m.replicaMetrics(self.id)
    const clock = m.systemClock()
    const abort = new AbortController()
    const log = (line: string) => logger.info(line)
    const init = m.subnetInit(subnet)
    const { subnetId, canisterRanges: ranges } = init
    const bodies = await m.ChunkPacks.open(join(config.dataDir, 'chunks'))
    closers.push(() => bodies.close())
    const checkpoints = new m.CheckpointStore(m.prefixedKvStore(store, 'state/'), { bodies })
    let app: ReplicaAppType | undefined
    const syncPeer = new m.StateSyncPeer({
      channel: mux.channel(m.CHANNEL.stateSync),
      self: index,
      peers: subnet.nodes.length,
      store: checkpoints,
      checkpointTree: (h) => app?.checkpointTree(h),
      log,
    })
    let backend: InstanceType<typeof m.ReplicaBackend> | undefined
    const appOptions = {
      init,
      subnets: m.subnetTreeInfos(registry),
      checkpoints,
      cupInterval: cconfig.cupInterval,
      stateSync: (h: bigint, hash: Uint8Array, signal: AbortSignal) => syncPeer.sync(h, hash, signal),
      onDeliver: (_b: unknown, r: { executions: number; instructionsUsed: bigint }) => {
        metrics.inc('capsa_executed_messages_total', r.executions)
        metrics.inc('capsa_instructions_total', Number(r.instructionsUsed))
      },
      onFatal: (e: unknown) => {
        logger.error((e as Error).message)
        void shutdown('fatal error', 1)
      },
      log,
    }
    const opened = await m.openReplicaApp(appOptions, store, crypto)
    const { genesis, cupHeight } = opened
    app = opened.app
    closers.push(() => app?.flush())
    closers.push(() => app?.close())

    // Ingress from peers: parsed enough to know its id and expiry; the block validator checks the rest.
    mux.channel(m.CHANNEL.ingress).onMessage((_from, bytes) => {
      try {
        const decoded = m.decodeCbor(bytes)
        const env = m.parseEnvelope(decoded, 'call')
        const content = (decoded as { content: Parameters<typeof requestId>[0] }).content
        if (app?.ingress.add({ id: requestId(content), bytes: bytes.slice(), expiry: env.content.ingressExpiry })) driverRef?.poke()
      } catch {
        metrics.inc('capsa_ingress_gossip_dropped_total')
      }
    })

    let driverRef: { poke(): void } | undefined
    // When each height became current (its parent notarized), for the finalization latency gauge.
    const currentSince = new Map<bigint, bigint>()
    let lastFinalized = 0n
    let lastCertified = 0n
    const driver = await ConsensusDriver.open({
      config: cconfig,
      crypto,
      network: mux.channel(m.CHANNEL.consensus),
      store,
      genesis,
      clock,
      signal: abort.signal,
      createApp: (c) => {
        if (c.content.block.height !== cupHeight) throw new Error(`consensus started at CUP ${c.content.block.height}, the app at ${cupHeight}`)
        return app!
      },
      onStep: (d) => {
        const node = d.node
        const now = clock.now()
        if (!currentSince.has(node.notarizedHeight + 1n)) currentSince.set(node.notarizedHeight + 1n, now)
        if (node.finalizedHeight > lastFinalized) {
          const since = currentSince.get(node.finalizedHeight)
          if (since !== undefined) metrics.set('capsa_finalization_latency_seconds', Number(now - since) / 1e9)
          for (const h of currentSince.keys()) if (h <= node.finalizedHeight) currentSince.delete(h)
          lastFinalized = node.finalizedHeight
        }
        if (node.certifiedHeight > lastCertified) {
          lastCertified = node.certifiedHeight
          backend?.onCertified()
        }
        metrics.set('capsa_finalized_height', Number(node.finalizedHeight))
        metrics.set('capsa_certified_height', Number(node.certifiedHeight))
        metrics.set('capsa_executed_height', Number(d.app.lastHeight))
        metrics.set('capsa_peers_connected', network.connectedPeers())
        metrics.set('capsa_ingress_pool_messages', d.app.ingress.size)
      },
      onFatal: (e) => {
        logger.error(`consensus stopped: ${(e as Error).stack ?? String(e)}`)
        void shutdown('fatal error', 1)
      },
    })
    driverRef = driver
    closers.push(() => {
      abort.abort()
      return driver.stop()
    })

    const rootKeyDer = fromHex(registry.rootKeyDer)
    const ingressChannel = mux.channel(m.CHANNEL.ingress)
    backend = new m.ReplicaBackend({
      app: () => driver.app,
      certified: () => {
        // The newest certified height this node has executed and still keeps a tree for.
        const node = driver.node
        for (let h = node.certifiedHeight; h > 0n && h > node.certifiedHeight - 10n; h--) {
          const tree = driver.app.tree(h)
          const cert = node.pool.bucket(h)?.certification
          if (tree !== undefined && cert !== undefined) return { height: h, tree, signature: cert.signature }
        }
        return undefined
      },
      status: () => {
        const node = driver.node
        return { healthy: node.certifiedHeight >= 1n && !driver.app.syncing, certifiedHeight: node.certifiedHeight, finalizedHeight: node.finalizedHeight, executedHeight: driver.app.lastHeight }
      },
      now: () => clock.now(),
      rootKeyDer,
      subnetId,
      hostsCanister: (id: Uint8Array) => m.canisterIdInRanges(id, ranges),
      gossip: (msg) => {
        ingressChannel.send(msg.bytes)
        driver.poke()
      },
    })
    const server = m.createHttpServer({ backend, nodeId: principalFromText(self.id), nodeSigningKey: m.ed25519PrivateKeyFromSeed(fromHex(identity.ed25519Seed)), metrics })
    closers.push(() => server.close())
    const address = await server.listen({ host: http.host, port: http.port })
    driver.start()
    const every = config.progressLogMs ?? PROGRESS_EVERY_MS
    if (every > 0) {
      const progress = setInterval(() => logger.info(`${driver.node.debugHeights()} peers=${network.connectedPeers()}`), every)
      progress.unref()
      closers.push(() => clearInterval(progress))
    }

    logger.info(`node ${index} of ${subnet.nodes.length} in subnet ${subnet.id}`)
    logger.info(`p2p listening on ${network.listenAddrs().join(' ')}`)
    logger.info(`http listening on ${address}`)
    logger.info(`data directory ${config.dataDir}, starting from the CUP at height ${driver.node.cup.content.block.height}`)
  } catch (e) {
    await closeAll()
    throw e
  }
  process.on('SIGINT', () => void shutdown('SIGINT', 0))
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0))
}

async function main(): Promise<void> {
  let configPath: string | undefined
  try {
    configPath = parseArgs({ options: { config: { type: 'string' } } }).values.config
  } catch (e) {
    configPath = undefined
    console.error(`capsa-node: ${(e as Error).message}`)
  }
  if (configPath === undefined) {
    console.error('usage: capsa-node --config node.json')
    process.exit(2)
  }
  try {
    await runNode(configPath)
  } catch (e) {
    const message = e instanceof CapsaError ? e.message : ((e as Error).stack ?? String(e))
    console.error(`capsa-node: ${message}`)
    process.exit(1)
  }
}

if (import.meta.main) void main()
