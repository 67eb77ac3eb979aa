// `npm run genesis -- --nodes 4 --dir ./net [--base-port 4100] [--host 127.0.0.1] [--timing local|ic]`: writes a fresh
// network's registry, one 0600 identity file per node, and a node.json beside each, so that
// `npm run capsa-node -- --config ./net/node-0-0/node.json` starts that node. Timing `local` (the
// default) writes consensus delays for nodes on one machine or LAN (a block every few hundred ms, so
// an update call answers in well under a second); `ic` keeps the IC's app-subnet delays (1 s / 600 ms).

import { writeFileSync, existsSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

// `capsa start` runs this before the nodes; the bytecode cache shared with them saves most of its
// start-up (genesis.ts is imported after the cache is on).
enableCompileCache()
const { CONSENSUS_TIMING, createGenesis, writeGenesis } = await import('./genesis.ts')

function fail(message: string): never {
  console.error(`genesis: ${message}`)
  process.exit(2)
}

let values: { nodes?: string; dir?: string; 'base-port'?: string; host?: string; force?: boolean; timing?: string }
try {
  ;({ values } = parseArgs({
    options: { nodes: { type: 'string' }, dir: { type: 'string' }, 'base-port': { type: 'string' }, host: { type: 'string' }, force: { type: 'boolean' }, timing: { type: 'string' } },
  }))
} catch (e) {
  fail(`${(e as Error).message}\nusage: genesis --nodes N --dir DIR [--base-port P] [--host H] [--timing local|ic] [--force]`)
}
const nodes = Number(values.nodes ?? 4)
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) fail('--nodes must be a whole number from 1 to 64')
const basePort = Number(values['base-port'] ?? 4100)
if (!Number.isInteger(basePort) || basePort < 1 || basePort + 2 * nodes > 65535) fail('--base-port must leave room for two ports per node')
const timing = values.timing ?? 'local'
if (timing !== 'local' && timing !== 'ic') fail('--timing must be local or ic')
if (values.dir === undefined) fail('--dir is required (where the registry and node directories go)')
const dir = resolve(values.dir)
if (existsSync(join(dir, 'registry.json')) && !values.force) fail(`${dir} already holds a network; use --force to replace its registry and keys`)

const g = createGenesis({ nodesPerSubnet: nodes, basePort, host: values.host })
const { registryPath, nodeDirs } = writeGenesis(dir, g)
for (const d of nodeDirs) {
  writeFileSync(join(d, 'node.json'), JSON.stringify({ registry: '../registry.json', identity: 'identity.json', dataDir: 'data', consensus: CONSENSUS_TIMING[timing] }, null, 2) + '\n')
}
const subnet = g.registry.subnets[0]
console.log(`registry: ${registryPath}`)
console.log(`subnet ${subnet.id}: ${nodes} node(s), threshold ${subnet.threshold}`)
subnet.nodes.forEach((n, i) => console.log(`  node ${i}: ${n.id}  http ${n.http}  p2p ${n.p2p[0]}  config ${join(nodeDirs[i], 'node.json')}`))
console.log(`root key (pass to clients as rootKey, or fetch it from /api/v2/status): ${g.registry.rootKeyDer}`)
