import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { SubnetNetwork, type SubnetPeer } from './network.ts'
import { encodeFrames, FrameDecoder } from './framing.ts'

const seed = (i: number) => createHash('sha256').update(`capsa-test-node-${i}`).digest()

async function keysFor(n: number) {
  return Promise.all(Array.from({ length: n }, async (_, i) => (await generateKeyPairFromSeed('Ed25519', seed(i))).publicKey.raw))
}

async function subnet(n: number): Promise<SubnetNetwork[]> {
  const keys = await keysFor(n)
  // Listen on port 0 first, then tell every node the real addresses.
  const peers: SubnetPeer[] = keys.map((publicKey) => ({ publicKey, addrs: [] }))
  const nets: SubnetNetwork[] = []
  for (let i = 0; i < n; i++) {
    nets.push(await SubnetNetwork.create({ self: i, secretSeed: seed(i), peers, listen: ['/ip4/127.0.0.1/tcp/0'] }))
    peers[i].addrs = nets[i].listenAddrs().map((a) => a.replace(/\/p2p\/.*$/, ''))
  }
  return nets
}

function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const tick = () => (cond() ? resolve() : Date.now() - start > ms ? reject(new Error('timed out')) : setTimeout(tick, 10))
    tick()
  })
}

describe('framing', () => {
  it('decodes frames split at every byte boundary and refuses oversized ones', () => {
    const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)]
    const wire = encodeFrames(msgs)
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new FrameDecoder(1024)
      const out = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))]
      expect(out).toEqual(msgs)
    }
    const d = new FrameDecoder(10)
    expect(() => [...d.push(encodeFrames([new Uint8Array(11)]))]).toThrow(/exceeds the limit/)
  })
})

describe('subnet network over libp2p', () => {
  it('delivers every broadcast to every other member, batched and de-duplicated', async () => {
    const nets = await subnet(4)
    try {
      const got = nets.map(() => [] as string[])
      nets.forEach((net, i) => net.onMessage((from, m) => got[i].push(`${from}:${Buffer.from(m).toString()}`)))
      for (let k = 0; k < 200; k++) nets[k % 4].send(Buffer.from(`m${k}`))
      nets[0].send(Buffer.from('m0')) // a duplicate of an earlier message
      await until(() => got.every((g) => g.length >= 150))
      for (let i = 0; i < 4; i++) {
        expect(got[i].length).toBe(150)
        expect(got[i].some((s) => s.startsWith(`${i}:`))).toBe(false)
      }
      await until(() => nets.slice(1).every((n) => n.stats.duplicates >= 1))
      expect(nets[0].stats.batches).toBeLessThan(nets[0].stats.sent)
    } finally {
      await Promise.all(nets.map((n) => n.stop()))
    }
  })

  it('refuses a node that is not in the subnet registry', async () => {
    const nets = await subnet(2)
    const keys = await keysFor(3)
    // An outsider that knows the members' addresses but is not one of them.
    const outsiderPeers: SubnetPeer[] = [
      { publicKey: keys[0], addrs: (await Promise.resolve(nets[0].listenAddrs())).map((a) => a.replace(/\/p2p\/.*$/, '')) },
      { publicKey: keys[2], addrs: [] },
    ]
    const outsider = await SubnetNetwork.create({ self: 1, secretSeed: seed(2), peers: outsiderPeers, listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      let received = 0
      nets[0].onMessage(() => received++)
      outsider.send(Buffer.from('let me in'), 0)
      await new Promise((r) => setTimeout(r, 500))
      expect(received).toBe(0)
      expect(outsider.connectedPeers()).toBe(0)
    } finally {
      await Promise.all([...nets, outsider].map((n) => n.stop()))
    }
  })

  it('reconnects to a peer that restarts and delivers what was queued meanwhile', async () => {
    const keys = await keysFor(2)
    const peers: SubnetPeer[] = keys.map((publicKey) => ({ publicKey, addrs: [] }))
    const a = await SubnetNetwork.create({ self: 0, secretSeed: seed(0), peers, listen: ['/ip4/127.0.0.1/tcp/0'] })
    let b = await SubnetNetwork.create({ self: 1, secretSeed: seed(1), peers, listen: ['/ip4/127.0.0.1/tcp/0'] })
    peers[1].addrs = b.listenAddrs().map((x) => x.replace(/\/p2p\/.*$/, ''))
    const port = Number(/tcp\/(\d+)/.exec(peers[1].addrs[0])![1])
    try {
      let got: string[] = []
      b.onMessage((_, m) => got.push(Buffer.from(m).toString()))
      a.send(Buffer.from('before'), 1)
      await until(() => got.length === 1)
      await b.stop()
      a.send(Buffer.from('while down'), 1)
      await new Promise((r) => setTimeout(r, 300))
      b = await SubnetNetwork.create({ self: 1, secretSeed: seed(1), peers, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
      got = []
      b.onMessage((_, m) => got.push(Buffer.from(m).toString()))
      a.send(Buffer.from('after'), 1)
      await until(() => got.includes('after'), 15_000)
      expect(got).toContain('while down')
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})
