// A Wadler-style pretty-printing document, laid out the way the Rust `pretty` crate (used by
// candid/dfx) lays out: a group is printed flat when it fits in the remaining width together with
// whatever follows it up to the next possible line break; otherwise its lines break.

export type Doc =
  | string
  | { t: 'line'; flat: string }
  | { t: 'cat'; parts: Doc[] }
  | { t: 'nest'; indent: number; doc: Doc }
  | { t: 'group'; doc: Doc }
  | { t: 'alt'; broken: Doc; flat: Doc }

/** A break that prints as a space when flat. */
export const line: Doc = { t: 'line', flat: ' ' }
/** A break that prints as nothing when flat. */
export const softline: Doc = { t: 'line', flat: '' }
export const cat = (...parts: Doc[]): Doc => ({ t: 'cat', parts })
export const nest = (indent: number, doc: Doc): Doc => ({ t: 'nest', indent, doc })
export const group = (doc: Doc): Doc => ({ t: 'group', doc })

const INDENT = 2

function isEmpty(d: Doc): boolean {
  if (typeof d === 'string') return d === ''
  switch (d.t) {
    case 'line': return false
    case 'cat': return d.parts.every(isEmpty)
    case 'nest': case 'group': return isEmpty(d.doc)
    case 'alt': return isEmpty(d.broken) || isEmpty(d.flat)
  }
}

function encloseWith(left: string, doc: Doc, right: string, brk: Doc): Doc {
  if (isEmpty(doc)) return left + right
  return group(cat(nest(INDENT, cat(left, brk, doc)), brk, right))
}
/** `(doc)` flat, or the doc indented on its own lines. */
export const enclose = (left: string, doc: Doc, right: string): Doc => encloseWith(left, doc, right, softline)
/** `{ doc }` flat, or the doc indented on its own lines. */
export const encloseSpace = (left: string, doc: Doc, right: string): Doc => encloseWith(left, doc, right, line)

/** Items separated by `sep`; when broken over lines every item, the last included, ends with `sep`. */
export function concat(docs: Doc[], sep: string): Doc {
  if (docs.length === 0) return ''
  const parts: Doc[] = []
  docs.forEach((d, i) => { if (i > 0) parts.push(sep, line); parts.push(d) })
  const single = cat(...parts)
  return { t: 'alt', broken: cat(single, sep), flat: single }
}

type Cmd = [indent: number, flat: boolean, doc: Doc]

export function render(doc: Doc, width: number): string {
  let out = ''
  let col = 0
  const stack: Cmd[] = [[0, false, doc]]
  while (stack.length > 0) {
    const [indent, flat, d] = stack.pop()!
    if (typeof d === 'string') { out += d; col += d.length; continue }
    switch (d.t) {
      case 'line':
        if (flat) { out += d.flat; col += d.flat.length } else { out += '\n' + ' '.repeat(indent); col = indent }
        break
      case 'cat':
        for (let i = d.parts.length - 1; i >= 0; i--) stack.push([indent, flat, d.parts[i]])
        break
      case 'nest': stack.push([indent + d.indent, flat, d.doc]); break
      case 'group': stack.push([indent, flat || fits(width - col, [indent, true, d.doc], stack), d.doc]); break
      case 'alt': stack.push([indent, flat, flat ? d.flat : d.broken]); break
    }
  }
  return out
}

/** Whether `first` laid out flat, then the pending commands up to their first break, fit in `rem`. */
function fits(rem: number, first: Cmd, rest: Cmd[]): boolean {
  const cmds: Cmd[] = [first]
  let restAt = rest.length
  while (rem >= 0) {
    let cmd: Cmd
    if (cmds.length > 0) cmd = cmds.pop()!
    else if (restAt > 0) cmd = rest[--restAt]
    else return true
    const [indent, flat, d] = cmd
    if (typeof d === 'string') { rem -= d.length; continue }
    switch (d.t) {
      case 'line':
        if (!flat) return true
        rem -= d.flat.length
        break
      case 'cat':
        for (let i = d.parts.length - 1; i >= 0; i--) cmds.push([indent, flat, d.parts[i]])
        break
      case 'nest': cmds.push([indent + d.indent, flat, d.doc]); break
      case 'group': cmds.push([indent, flat, d.doc]); break
      case 'alt': cmds.push([indent, flat, flat ? d.flat : d.broken]); break
    }
  }
  return false
}
