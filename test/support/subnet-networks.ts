// The libp2p networks of a genesis's first subnet, one per node, on ephemeral 127.0.0.1 ports: the
// setup the in-process consensus tests share. Each network learns the addresses of those made before
// it, so later ones dial earlier ones and all end up connected.

import type { Genesis } from '../../node/genesis.ts'
import { SubnetNetwork, type SubnetPeer } from '../../node/p2p/network.ts'
import { fromHex } from '../../protocol/hash.ts'

export async function subnetNetworks(g: Genesis, cleanup: (() => Promise<void>)[]): Promise<SubnetNetwork[]> {
  const nodes = g.registry.subnets[0].nodes
  const peers: SubnetPeer[] = nodes.map((x) => ({ publicKey: fromHex(x.publicKey), addrs: [] }))
  const nets: SubnetNetwork[] = []
  for (let i = 0; i < nodes.length; i++) {
    const net = await SubnetNetwork.create({ self: i, secretSeed: fromHex(g.secrets[i].ed25519Seed), peers, listen: ['/ip4/127.0.0.1/tcp/0'] })
    cleanup.push(() => net.stop())
    nets.push(net)
    peers[i].addrs = net.listenAddrs().map((a) => a.replace(/\/p2p\/.*$/, ''))
  }
  return nets
}
