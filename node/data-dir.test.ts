import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { lockDataDir } from './data-dir.ts'

describe('data directory lock', () => {
  it('refuses a second owner, and is free again after release', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsa-lock-'))
    try {
      const lock = lockDataDir(dir)
      expect(() => lockDataDir(dir)).toThrow(/in use by another node \(pid \d+\)/)
      lock.release()
      lockDataDir(dir).release()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('takes over a lock left by a process that died', () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsa-lock-'))
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
      writeFileSync(join(dir, 'LOCK.capsa'), `${dead.stdout}\n`)
      lockDataDir(dir).release()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
