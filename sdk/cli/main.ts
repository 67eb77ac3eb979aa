#!/usr/bin/env node
// The `capsa` command line. Results go to stdout (JSON with --json), progress to stderr. A user
// error prints what happened and what to do, and exits 1; only a bug prints a stack.

import { enableCompileCache } from 'node:module'
import { parseArgs } from 'node:util'
import { errorText, type Globals, UserError } from './util.ts'

// Every command is a fresh process loading the agent, Candid and our TypeScript; V8's bytecode cache
// on disk (in the OS temp dir unless NODE_COMPILE_CACHE says otherwise) halves that after the first
// run. It must be on before the commands are imported.
enableCompileCache()
const { run } = await import('./commands.ts')

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
  identity: { type: 'string' },
  network: { type: 'string' },
  'network-dir': { type: 'string' },
  nodes: { type: 'string' },
  background: { type: 'boolean' },
  clean: { type: 'boolean' },
  node: { type: 'string' },
  tail: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  template: { type: 'string' },
  force: { type: 'boolean' },
  'storage-mode': { type: 'string' },
  argument: { type: 'string' },
  'argument-file': { type: 'string' },
  query: { type: 'boolean' },
  update: { type: 'boolean' },
  output: { type: 'string' },
  candid: { type: 'string' },
  wasm: { type: 'string' },
  mode: { type: 'string', short: 'm' },
  'with-cycles': { type: 'string' },
  'upgrade-unchanged': { type: 'boolean' },
  history: { type: 'boolean' },
  all: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'add-controller': { type: 'string', multiple: true },
  'remove-controller': { type: 'string', multiple: true },
  'set-controller': { type: 'string', multiple: true },
  'freezing-threshold': { type: 'string' },
  'out-dir': { type: 'string' },
  subnets: { type: 'string' },
} as const

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

export const USAGE = `capsa: build, deploy and call canisters on a local Capsa network

Usage: capsa <command> [options]

Network
  start [--nodes 1|4] [--subnets 1] [--background] [--clean]
                                                 start the project's local network (.capsa/network)
  stop                                           stop it (its state is kept for the next start)
  status [--json]                                nodes, ports, pids and heights
  logs --node N [--tail K] [--follow]            a node's log

Projects
  new <name> [--template motoko]                 create a project
  build [canister]                               compile the project's canisters
  deploy [canister] [--mode auto|install|reinstall|upgrade] [--argument '(…)'] [--upgrade-unchanged]
  generate [canister] [--out-dir dir]            TypeScript bindings (@icp-sdk/bindgen) in src/bindings/;
                                                 \`capsa generate --help\` for the files and their use

Canisters (by project name or id)
  canister create <name> [--with-cycles N]
  canister install <name|id> [--wasm file] [--mode …] [--argument '(…)' | --argument-file f]
  canister call <name|id> <method> ['(args)'] [--query|--update] [--output candid|idl|json|raw] [--candid file.did]
  canister status|start|stop|delete|id|logs <name|id>
  canister info <name|id> [--history]            controllers and module hash (certified, read_state); with
                                                 --history also the canister's changes (canister_info, asked
                                                 through a proxy canister capsa creates once per network)
  canister update-settings <name|id> [--add-controller P] [--remove-controller P] [--set-controller P] [--freezing-threshold N]

Identities (in $CAPSA_HOME, default ~/.config/capsa)
  identity new|use|remove <name>, identity list|whoami|get-principal, identity import <name> <file.pem>, identity export <name>

Every command takes --identity <name>, --network local|ic|<url>, --network-dir <dir>, --json.`

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UserError(errorText(e).split('\n')[0], 'see `capsa --help`')
  }
  const { values, positionals } = parsed
  if (values.version) {
    console.log('capsa 0.1.0')
    return 0
  }
  if ((values.help && positionals[0] !== 'generate') || positionals.length === 0) {
    console.log(USAGE)
    return 0
  }
  const g: Globals = { identity: values.identity, network: values.network, networkDir: values['network-dir'], json: values.json === true, cwd: process.cwd() }
  return run(g, positionals, values)
}

let code = 1
try {
  code = await main(process.argv.slice(2))
} catch (e) {
  if (e instanceof UserError) {
    console.error(`Error: ${e.message}`)
    console.error(`What to do: ${e.hint ?? 'correct the command and run it again (`capsa --help` lists commands and options)'}`)
  } else {
    console.error(`Internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  }
}
// Exit at once (the agent's keep-alive sockets would hold the process for seconds), after stdout drains.
process.stdout.write('', () => process.exit(code))
