// `capsa new <name>`: a project that deploys as generated: capsa.json, a Motoko counter, a README
// and a smoke test that drives the CLI.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fail, type Globals } from './util.ts'

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/

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
  if (template === 'assemblyscript') {
    fail('the assemblyscript template is not available yet', 'use --template motoko (the default)')
  }
  if (template !== 'motoko') fail(`unknown template ${JSON.stringify(template)}`, 'use --template motoko')
  const dir = resolve(g.cwd, name)
  if (existsSync(dir)) fail(`${dir} already exists`, 'choose another name or remove that directory')
  const canister = `${name.replace(/-/g, '_')}_backend`
  const files = motokoFiles(name, canister)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return { dir, canister, files: Object.keys(files) }
}
