// `capsa new <name>`: a project that deploys as generated: capsa.json, a counter (Motoko or
// AssemblyScript), a README and a smoke test that drives the CLI.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fail, type Globals } from './util.ts'

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/
const CDK_DIR = resolve(import.meta.dirname, '..', '..', 'canisters', 'cdk')

// The AssemblyScript CDK is copied into the project (cdk/), so the project builds on its own.
function assemblyscriptFiles(name: string, canister: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const f of readdirSync(CDK_DIR)) if (f.endsWith('.ts')) files[`cdk/${f}`] = readFileSync(join(CDK_DIR, f), 'utf8')
  files['capsa.json'] = JSON.stringify({ canisters: { [canister]: { type: 'assemblyscript', main: `src/${canister}/main.ts`, candid: `src/${canister}/${canister}.did` } } }, null, 2) + '\n'
  files[`src/${canister}/${canister}.did`] = 'service : {\n  inc : () -> (nat);\n  get : () -> (nat) query;\n}\n'
  files[`src/${canister}/main.ts`] = `// A counter kept in stable memory (8 bytes at offset 0), so upgrades keep the count.
import { argData, reply, CandidReader, CandidWriter, Type, Value, ensureStable, stableSize, stableReadU64, stableWriteU64 } from "../../cdk/index";

function count(): u64 {
  return stableSize() < 8 ? 0 : stableReadU64(0);
}

function replyNat(n: u64): void {
  reply(new CandidWriter().add(Type.nat(), Value.nat(n)).encode());
}

export function canister_update__inc(): void {
  new CandidReader(argData()); // validates the (empty) argument
  const n = count() + 1;
  ensureStable(8);
  stableWriteU64(0, n);
  replyNat(n);
}

export function canister_query__get(): void {
  new CandidReader(argData());
  replyNat(count());
}
`
  files['.gitignore'] = '.capsa/\nnode_modules/\n'
  files['README.md'] = `# ${name}

An AssemblyScript canister for Capsa, with the Capsa CDK in \`cdk/\`.

\`\`\`sh
capsa start --background
capsa deploy
capsa canister call ${canister} inc
capsa stop
\`\`\`

Methods are exported as \`canister_update__<name>\` / \`canister_query__<name>\`; \`capsa build\` renames them to the
IC's entry points and embeds \`src/${canister}/${canister}.did\` as the \`candid:service\` metadata.
`
  files[`test/${canister}.test.mjs`] = `// Smoke test: calls the deployed canister through the CLI (run \`capsa start\` and \`capsa deploy\` first).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'

const capsa = (...args) => execFileSync(process.env.CAPSA ?? 'capsa', args, { encoding: 'utf8' }).trim()

test('inc increments the counter', () => {
  const before = BigInt(capsa('canister', 'call', '${canister}', 'get', '--output', 'json').replace(/[^0-9]/g, ''))
  assert.equal(capsa('canister', 'call', '${canister}', 'inc'), \`(\${before + 1n} : nat)\`)
})
`
  return files
}

function motokoFiles(name: string, canister: string): Record<string, string> {
  return {
    'capsa.json': JSON.stringify({ canisters: { [canister]: { type: 'motoko', main: `src/${canister}/main.mo` } } }, null, 2) + '\n',
    [`src/${canister}/main.mo`]: `// A counter whose state survives upgrades: a persistent actor keeps its variables
// (enhanced orthogonal persistence), so \`capsa deploy\` upgrades without losing the count.
persistent actor {
  var count : Nat = 0;

  public func inc() : async Nat {
    count += 1;
    count
  };

  public query func get() : async Nat {
    count
  };

  public query func greet(name : Text) : async Text {
    "Hello, " # name # "!"
  };
};
`,
    '.gitignore': '.capsa/\nnode_modules/\n',
    'README.md': `# ${name}

A Motoko canister for [Capsa](https://github.com/), deployed with the \`capsa\` CLI.

\`\`\`sh
capsa start --background        # a local network in .capsa/network
capsa deploy                    # build, create and install ${canister}
capsa canister call ${canister} inc
capsa canister call ${canister} greet '("world")'
node --test test/                # the smoke test below, against the running network
capsa stop
\`\`\`

Edit \`src/${canister}/main.mo\` and run \`capsa deploy\` again: the canister is upgraded and keeps its count.
`,
    [`test/${canister}.test.mjs`]: `// Smoke test: calls the deployed canister through the CLI (run \`capsa start\` and \`capsa deploy\` first).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'

const capsa = (...args) => execFileSync(process.env.CAPSA ?? 'capsa', args, { encoding: 'utf8' }).trim()

test('inc increments the counter', () => {
  const before = BigInt(capsa('canister', 'call', '${canister}', 'get', '--output', 'json').replace(/[^0-9]/g, ''))
  assert.equal(capsa('canister', 'call', '${canister}', 'inc'), \`(\${before + 1n} : nat)\`)
})

test('greet answers', () => {
  assert.equal(capsa('canister', 'call', '${canister}', 'greet', '("world")'), '("Hello, world!")')
})
`,
  }
}

export function newProject(g: Globals, name: string, template: string): { dir: string; canister: string; files: string[] } {
  if (!NAME.test(name)) fail(`${JSON.stringify(name)} is not a valid project name`, 'start with a letter; use letters, digits, "_" and "-"')
  if (template !== 'motoko' && template !== 'assemblyscript') fail(`unknown template ${JSON.stringify(template)}`, 'use --template motoko or --template assemblyscript')
  const dir = resolve(g.cwd, name)
  if (existsSync(dir)) fail(`${dir} already exists`, 'choose another name or remove that directory')
  const canister = `${name.replace(/-/g, '_')}_backend`
  const files = template === 'motoko' ? motokoFiles(name, canister) : assemblyscriptFiles(name, canister)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return { dir, canister, files: Object.keys(files) }
}
