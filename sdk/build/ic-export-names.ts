// AssemblyScript cannot spell an export name containing a space, but the IC's entry points are
// named `canister_update <method>`. Canisters export `canister_update__<method>` and this transform
// renames them once the module is compiled.

import { Transform } from 'assemblyscript/transform'
import binaryen from 'assemblyscript/binaryen'

const ENTRY = /^(canister_(?:update|query|composite_query))__(.+)$/

/** `canister_update__inc` → `canister_update inc`; other names are returned unchanged. */
export function icExportName(name: string): string {
  const m = ENTRY.exec(name)
  return m ? `${m[1]} ${m[2]}` : name
}

export class IcExportNames extends Transform {
  readonly #drop: Set<string>
  /** `drop`: export names to remove altogether (helpers that only exist for the build). */
  constructor(drop: string[] = []) {
    super()
    this.#drop = new Set(drop)
  }

  afterCompile(module: binaryen.Module): void {
    // `this.binaryen` is only set for transforms loaded with --transform, not passed as objects.
    const b = (this as { binaryen?: typeof binaryen }).binaryen ?? binaryen
    const renames: [string, string, string][] = []
    for (let i = 0; i < module.getNumExports(); i++) {
      const e = b.getExportInfo(module.getExportByIndex(i))
      if (e.kind !== b.ExternalFunction) continue
      if (this.#drop.has(e.name)) {
        renames.push([e.name, e.value, ''])
        continue
      }
      const renamed = icExportName(e.name)
      if (renamed !== e.name) renames.push([e.name, e.value, renamed])
    }
    for (const [from, fn, to] of renames) {
      module.removeExport(from)
      if (to !== '') module.addFunctionExport(fn, to)
    }
  }
}
