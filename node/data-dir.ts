// A node owns its data directory exclusively: two replicas writing one LevelDB and one checkpoint
// chain would corrupt both. The lock is a file holding the owner's pid, created with O_EXCL; a lock
// left by a process that no longer exists (kill -9) is taken over, one held by a live process is not.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { CapsaError } from '../protocol/errors.ts'

export interface DataDirLock {
  readonly dir: string
  release(): void
}

export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'LOCK.capsa')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      let released = false
      return {
        dir,
        release() {
          if (released) return
          released = true
          rmSync(path, { force: true })
        },
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10)
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new CapsaError('INVALID_ARGUMENT', `data directory ${dir} is in use by another node (pid ${owner}); stop it first or choose another directory`)
      }
      rmSync(path, { force: true }) // stale: its owner died without releasing it
    }
  }
  throw new CapsaError('INVALID_ARGUMENT', `could not lock data directory ${dir}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
