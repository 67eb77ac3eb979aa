import { describe, expect, it } from 'vitest'
import { PAGE_SIZE, PageMap } from './page-map.ts'

function page(fill: number): Uint8Array {
  return new Uint8Array(PAGE_SIZE).fill(fill)
}

describe('PageMap', () => {
  it('reads zeros for absent pages and sees pending writes before commit', () => {
    const m = new PageMap()
    expect(m.read(5)).toEqual(page(0))
    m.write(5, page(1))
    expect(m.read(5)).toEqual(page(1))
    expect(m.readCommitted(5)).toEqual(page(0))
    expect(m.dirtyPages()).toEqual([5])
  })

  it('commit keeps writes, rollback drops them', () => {
    const m = new PageMap()
    m.write(1, page(1))
    expect(m.commit()).toEqual([1])
    m.write(1, page(2))
    m.write(2, page(3))
    m.rollback()
    expect(m.read(1)).toEqual(page(1))
    expect(m.read(2)).toEqual(page(0))
    expect(m.dirtyPages()).toEqual([])
  })

  it('byte writes span pages and dirty only the pages touched', () => {
    const m = new PageMap()
    const bytes = new Uint8Array(10).map((_, i) => i + 1)
    m.writeBytes(PAGE_SIZE * 3 - 4, bytes)
    expect(m.dirtyPages()).toEqual([2, 3])
    expect(m.readBytes(PAGE_SIZE * 3 - 4, 10)).toEqual(bytes)
    m.commit()
    expect(m.readBytes(PAGE_SIZE * 3 - 5, 12)).toEqual(new Uint8Array([0, ...bytes, 0]))
  })

  it('the hash depends on content only: not on write order, history or zero pages', () => {
    const a = new PageMap()
    const b = new PageMap()
    const empty = new PageMap().hash()
    a.write(1, page(1))
    a.write(9, page(9))
    a.commit()
    b.write(9, page(7))
    b.commit()
    b.write(3, page(0))
    b.write(9, page(9))
    b.write(1, page(1))
    b.commit()
    expect(a.hash()).toEqual(b.hash())
    expect(b.committedPageCount).toBe(2)
    a.write(1, page(0))
    a.write(9, page(0))
    a.commit()
    expect(a.hash()).toEqual(empty)
    expect(a.committedPageCount).toBe(0)
  })

  it('the hash changes with any byte and with the page index', () => {
    const a = new PageMap()
    a.write(0, page(1))
    a.commit()
    const h = a.hash()
    const p = page(1)
    p[4095] = 2
    a.write(0, p)
    a.commit()
    expect(a.hash()).not.toEqual(h)
    const moved = new PageMap()
    moved.write(1, page(1))
    moved.commit()
    expect(moved.hash()).not.toEqual(h)
  })

  it('exports and re-imports with the same content and hash', () => {
    const m = new PageMap()
    m.write(7, page(7))
    m.write(2, page(2))
    m.commit()
    const copy = PageMap.fromExport(m.export())
    expect(copy.hash()).toEqual(m.hash())
    expect(copy.committedPages()).toEqual([2, 7])
    expect(copy.read(7)).toEqual(page(7))
  })

  it('rejects malformed pages and indices', () => {
    const m = new PageMap()
    expect(() => m.write(0, new Uint8Array(10))).toThrow(/4096 bytes/)
    expect(() => m.write(-1, page(0))).toThrow(/bad page index/)
  })
})
