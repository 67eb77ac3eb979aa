// Dissemination among the nodes of one subnet over libp2p (TCP + Noise + Yamux). Every node keeps one
// outbound stream per peer and sends small messages in batches; only registry members of the subnet
// may connect (the libp2p peer id is derived from the node's Ed25519 key, so Noise authenticates it).
// Queues are bounded in bytes; a peer that is down gets redialled with exponential backoff.

import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Transport } from '../../protocol/interfaces.ts'
import { sha256, toHex } from '../../protocol/hash.ts'
import { encodeFrames, FrameDecoder } from './framing.ts'

export interface SubnetPeer {
  /** Raw 32-byte Ed25519 public key of the node (its libp2p identity). */
  publicKey: Uint8Array
  /** libp2p multiaddrs the node listens on, e.g. /ip4/127.0.0.1/tcp/4001. */
  addrs: string[]
}

export interface SubnetNetworkOptions {
  /** Index of this node in `peers`. */
  self: number
  /** 32-byte Ed25519 seed of this node's key. */
  secretSeed: Uint8Array
  peers: SubnetPeer[]
  listen: string[]
  protocol?: string
  maxFrameBytes?: number
  /** Outbound bytes queued per peer before the oldest messages are dropped. */
  maxQueueBytes?: number
  /**
   * How long an inbound message is remembered to drop copies of it (the network and the peers'
   * fan-out duplicate messages within moments). Deliberate re-sends, such as consensus answering a
   * lagging peer's status again a status interval later, arrive after the window and pass: a longer
   * window would swallow exactly the re-send a peer needs. 0 turns de-duplication off.
   */
  dedupWindowMs?: number
  /** At most this many messages are remembered, whatever their age. */
  dedupMaxEntries?: number
}

export interface NetworkStats {
  sent: number
  received: number
  duplicates: number
  dropped: number
  batches: number
}

export class SubnetNetwork implements Transport<Uint8Array> {
  readonly #opts: Required<Omit<SubnetNetworkOptions, 'secretSeed'>>
  readonly #node: Libp2p
  readonly #peerIds: PeerId[]
  readonly #indexOf = new Map<string, number>()
  readonly #outbound: Outbound[] = []
  // Insertion order is arrival order, so the oldest entries are at the front.
  readonly #seen = new Map<string, number>()
  #handler: (from: number, message: Uint8Array) => void = () => {}
  #stopped = false
  readonly stats: NetworkStats = { sent: 0, received: 0, duplicates: 0, dropped: 0, batches: 0 }

  private constructor(opts: SubnetNetworkOptions, node: Libp2p, peerIds: PeerId[]) {
    this.#opts = {
      self: opts.self,
      peers: opts.peers,
      listen: opts.listen,
      protocol: opts.protocol ?? '/capsa/artifacts/1.0.0',
      maxFrameBytes: opts.maxFrameBytes ?? 8 * 1024 * 1024,
      maxQueueBytes: opts.maxQueueBytes ?? 64 * 1024 * 1024,
      dedupWindowMs: opts.dedupWindowMs ?? 500,
      dedupMaxEntries: opts.dedupMaxEntries ?? 100_000,
    }
    this.#node = node
    this.#peerIds = peerIds
    peerIds.forEach((p, i) => this.#indexOf.set(p.toString(), i))
    for (let i = 0; i < peerIds.length; i++) this.#outbound.push(new Outbound(this, i))
  }

  static async create(opts: SubnetNetworkOptions): Promise<SubnetNetwork> {
    const privateKey = await generateKeyPairFromSeed('Ed25519', opts.secretSeed)
    const peerIds = opts.peers.map((p) => peerIdFromPublicKey(publicKeyFromRaw(p.publicKey)))
    const members = new Set(peerIds.map((p) => p.toString()))
    if (!privateKey.publicKey.equals(publicKeyFromRaw(opts.peers[opts.self].publicKey))) {
      throw new Error(`this node's key does not match peer ${opts.self} of the subnet`)
    }
    const outsider = (peer: PeerId) => !members.has(peer.toString())
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: outsider,
        denyInboundEncryptedConnection: outsider,
        denyOutboundEncryptedConnection: outsider,
      },
    })
    const net = new SubnetNetwork(opts, node, peerIds)
    await node.handle(net.#opts.protocol, (stream, connection) => net.#inbound(stream, connection.remotePeer), { maxInboundStreams: 4 })
    return net
  }

  get protocol(): string { return this.#opts.protocol }
  get self(): number { return this.#opts.self }
  get peerCount(): number { return this.#peerIds.length }
  listenAddrs(): string[] { return this.#node.getMultiaddrs().map((a) => a.toString()) }
  connectedPeers(): number { return this.#outbound.filter((o) => o.connected).length }
  peerId(index: number): PeerId { return this.#peerIds[index] }
  dialAddrs(index: number) { return this.#opts.peers[index].addrs.map((a) => multiaddr(`${a}/p2p/${this.#peerIds[index]}`)) }
  get libp2p(): Libp2p { return this.#node }
  get stopped(): boolean { return this.#stopped }
  get maxQueueBytes(): number { return this.#opts.maxQueueBytes }

  onMessage(handler: (from: number, message: Uint8Array) => void): void {
    this.#handler = handler
  }

  send(message: Uint8Array, to?: number): void {
    if (this.#stopped) return
    if (to !== undefined) {
      if (to !== this.#opts.self) this.#outbound[to].enqueue(message)
      return
    }
    for (let i = 0; i < this.#outbound.length; i++) if (i !== this.#opts.self) this.#outbound[i].enqueue(message)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const o of this.#outbound) o.close()
    await this.#node.stop()
  }

  async #inbound(stream: Stream, remote: PeerId): Promise<void> {
    const from = this.#indexOf.get(remote.toString())
    if (from === undefined || from === this.#opts.self) return stream.abort(new Error('not a member of this subnet'))
    const decoder = new FrameDecoder(this.#opts.maxFrameBytes)
    try {
      for await (const chunk of stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        for (const message of decoder.push(bytes)) this.#deliver(from, message)
      }
    } catch (err) {
      // A malformed or oversized frame ends this stream only; the peer redials and we carry on.
      stream.abort(err as Error)
    }
  }

  #deliver(from: number, message: Uint8Array): void {
    if (this.#opts.dedupWindowMs > 0) {
      const now = performance.now()
      for (const [k, expires] of this.#seen) {
        if (expires > now && this.#seen.size <= this.#opts.dedupMaxEntries) break
        this.#seen.delete(k)
      }
      const key = toHex(sha256(message))
      if (this.#seen.has(key)) {
        this.stats.duplicates++
        return
      }
      this.#seen.set(key, now + this.#opts.dedupWindowMs)
    }
    this.stats.received++
    try {
      this.#handler(from, message)
    } catch {
      // The consumer validates artifacts; a bad message from a peer must not take the node down.
    }
  }
}

/** One peer's outbound side: a bounded queue, a batching flush, and a stream redialled with backoff. */
class Outbound {
  readonly #net: SubnetNetwork
  readonly #peer: number
  #queue: Uint8Array[] = []
  #queuedBytes = 0
  #stream: Stream | undefined
  #connecting = false
  #flushScheduled = false
  #backoffMs = 50
  #closed = false
  #retry: NodeJS.Timeout | undefined

  constructor(net: SubnetNetwork, peer: number) {
    this.#net = net
    this.#peer = peer
  }

  get connected(): boolean { return this.#stream !== undefined && this.#stream.status === 'open' }

  enqueue(message: Uint8Array): void {
    this.#queue.push(message)
    this.#queuedBytes += message.length
    while (this.#queuedBytes > this.#net.maxQueueBytes && this.#queue.length > 1) {
      this.#queuedBytes -= this.#queue.shift()!.length
      this.#net.stats.dropped++
    }
    this.#schedule()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#retry)
    this.#stream?.abort(new Error('node stopping'))
  }

  #schedule(): void {
    if (this.#flushScheduled || this.#closed) return
    this.#flushScheduled = true
    setImmediate(() => {
      this.#flushScheduled = false
      void this.#flush()
    })
  }

  async #flush(): Promise<void> {
    if (this.#queue.length === 0 || this.#closed) return
    const stream = this.#stream
    if (stream === undefined || stream.status !== 'open') {
      this.#stream = undefined
      return this.#connect()
    }
    if (stream.writableNeedsDrain) return // the 'drain' listener reschedules
    const batch = this.#queue
    this.#queue = []
    this.#queuedBytes = 0
    this.#net.stats.sent += batch.length
    this.#net.stats.batches++
    stream.send(encodeFrames(batch))
  }

  async #connect(): Promise<void> {
    if (this.#connecting || this.#closed) return
    this.#connecting = true
    try {
      const stream = await this.#net.libp2p.dialProtocol(this.#net.dialAddrs(this.#peer), this.#net.protocol)
      if (this.#closed) return stream.abort(new Error('node stopping'))
      this.#stream = stream
      this.#backoffMs = 50
      stream.addEventListener('drain', () => this.#schedule())
      stream.addEventListener('close', () => {
        if (this.#stream === stream) this.#stream = undefined
        if (this.#queue.length > 0) this.#schedule()
      })
      this.#schedule()
    } catch {
      // Peer down or unreachable: try again later, backing off up to 5 s.
      clearTimeout(this.#retry)
      this.#retry = setTimeout(() => this.#schedule(), this.#backoffMs)
      this.#backoffMs = Math.min(this.#backoffMs * 2, 5_000)
    } finally {
      this.#connecting = false
    }
  }
}
