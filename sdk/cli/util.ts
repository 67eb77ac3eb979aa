// Shared pieces of the capsa CLI: user errors (printed without a stack), output helpers, and where a
// project and the user's configuration live.

import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { CapsaError, type ErrorCode } from '../../protocol/errors.ts'

/** A user error: `message` says what happened, `hint` what to do. main prints both and exits 1. */
export class UserError extends CapsaError {
  readonly hint: string | undefined
  constructor(message: string, hint?: string, code: ErrorCode = 'INVALID_ARGUMENT') {
    super(code, message)
    this.hint = hint
  }
}

export function fail(message: string, hint?: string): never {
  throw new UserError(message, hint)
}

/** Common options every command accepts. */
export interface Globals {
  identity?: string
  network?: string
  networkDir?: string
  json: boolean
  cwd: string
}

export function capsaHome(): string {
  return process.env.CAPSA_HOME ?? join(homedir(), '.config', 'capsa')
}

/** The nearest directory at or above `from` holding capsa.json or dfx.json, if any. */
export function findProjectRoot(from: string): string | undefined {
  let dir = resolve(from)
  for (;;) {
    if (existsSync(join(dir, 'capsa.json')) || existsSync(join(dir, 'dfx.json'))) return dir
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

/** Where project-local files go: the project root, else the current directory. */
export function projectDir(g: Globals): string {
  return findProjectRoot(g.cwd) ?? resolve(g.cwd)
}

export function networkDir(g: Globals): string {
  return g.networkDir !== undefined ? resolve(g.cwd, g.networkDir) : join(projectDir(g), '.capsa', 'network')
}

/** Progress lines go to stderr so that stdout stays the command's result (scripts parse it). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
