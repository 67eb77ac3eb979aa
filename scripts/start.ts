// `npm start`: the main job from a fresh clone. Starts a local 4-node network for the quickstart
// project (canisters/quickstart) in the background, deploys its Motoko counter, calls it once, and
// prints how to call it and how to stop. Every step is the `capsa` CLI a user would type.

import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
// --project DIR runs the same steps in a copy of the quickstart project (the test does).
const projectArg = process.argv.indexOf('--project')
const PROJECT = projectArg > 0 ? resolve(process.argv[projectArg + 1]) : join(ROOT, 'canisters', 'quickstart')
const CLI = join(ROOT, 'sdk', 'cli', 'main.ts')
const stopOnly = process.argv.includes('--stop')

function capsa(args: string[], what: string): void {
  console.log(`\n$ capsa ${args.join(' ')}    # ${what}`)
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: PROJECT, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`\nnpm start: \`capsa ${args.join(' ')}\` failed (exit ${r.status}); see its message above.`)
    process.exit(r.status ?? 1)
  }
}

if (stopOnly) {
  capsa(['stop'], 'stop the local network (its state is kept)')
  process.exit(0)
}
capsa(['start', '--background', '--nodes', '4'], 'a local subnet of 4 replica processes over libp2p')
capsa(['deploy'], 'build the Motoko counter and install (or upgrade) it')
capsa(['canister', 'call', 'counter', 'inc'], 'an update call, answered once the subnet certified it')
capsa(['canister', 'call', 'counter', 'greet', '("world")', '--query'], 'a query, signed by the node')
console.log(`
The network keeps running in the background (4 nodes; \`capsa status\` shows their ports and heights).
Call the counter again from canisters/quickstart:

  cd canisters/quickstart
  npx capsa canister call counter inc
  npx capsa canister call counter get --query
  npx capsa canister status counter

(\`npx capsa\` runs the CLI with the project's pinned Node 24.) Any agent works too: the node URLs and
the root key are in canisters/quickstart/.capsa/network/network.json.
Stop the network with \`npm stop\` (its state is kept for the next \`npm start\`).`)
