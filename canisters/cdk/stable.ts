// Stable memory: raw helpers, a bump allocator, and StableMap, a string → bytes map that survives
// upgrades because its only state lives in stable memory.
//
// StableMap layout, from its base offset (all integers little-endian):
//   base + 0   magic "CSM1" (u32 0x314d5343)
//   base + 4   u32 reserved (0)
//   base + 8   u64 end: offset (relative to base) one past the last log record
//   base + 16  log records, appended in order:
//                u8 op (1 = put, 2 = delete) | u32 keyLen | u32 valueLen | key (UTF-8) | value
// The heap keeps only an index key → (value offset, length), rebuilt by replaying the log on first
// use after an upgrade (the heap is fresh then). Overwrites and deletes leave dead records behind;
// `compact()` rewrites the log with live entries only.
import * as ic0 from "./ic0";

export const PAGE: u64 = 65536;

export function stableSize(): u64 { return ic0.stable64_size() * PAGE; }

/** Grows stable memory so that bytes [0, end) exist; traps if the grow fails. */
export function ensureStable(end: u64): void {
  const have = ic0.stable64_size();
  const need = (end + PAGE - 1) / PAGE;
  if (need <= have) return;
  if (ic0.stable64_grow(need - have) < 0) abort("stable memory: grow failed");
}

export function stableWrite(offset: u64, bytes: Uint8Array): void {
  if (bytes.length == 0) return;
  ic0.stable64_write(offset, <u64>bytes.dataStart, <u64>bytes.length);
}

export function stableRead(offset: u64, size: u32): Uint8Array {
  const out = new Uint8Array(size);
  if (size > 0) ic0.stable64_read(<u64>out.dataStart, offset, <u64>size);
  return out;
}

export function stableWriteU64(offset: u64, n: u64): void {
  const b = new Uint8Array(8);
  store<u64>(b.dataStart, n);
  stableWrite(offset, b);
}

export function stableReadU64(offset: u64): u64 {
  return load<u64>(stableRead(offset, 8).dataStart);
}

/** Hands out never-freed stable regions; its cursor lives at `base` so it survives upgrades. */
export class StableBump {
  base: u64;
  constructor(base: u64) {
    this.base = base;
    ensureStable(base + 8);
    if (stableReadU64(base) == 0) stableWriteU64(base, base + 8);
  }
  alloc(size: u64): u64 {
    const at = stableReadU64(this.base);
    ensureStable(at + size);
    stableWriteU64(this.base, at + size);
    return at;
  }
}

const MAGIC: u32 = 0x314d5343; // "CSM1"
const HEADER: u64 = 16;
const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;

class Slot {
  offset: u64;
  length: u32;
  constructor(offset: u64, length: u32) {
    this.offset = offset;
    this.length = length;
  }
}

export class StableMap {
  base: u64;
  private end: u64 = HEADER;
  private index: Map<string, Slot> = new Map();
  private loaded: bool = false;

  /** A map owning stable memory from `base` upwards (nothing else may use that range). */
  constructor(base: u64 = 0) {
    this.base = base;
  }

  get(key: string): Uint8Array | null {
    this.load();
    if (!this.index.has(key)) return null;
    const slot = this.index.get(key);
    return stableRead(this.base + slot.offset, slot.length);
  }

  has(key: string): bool {
    this.load();
    return this.index.has(key);
  }

  set(key: string, value: Uint8Array): void {
    this.load();
    const k = Uint8Array.wrap(String.UTF8.encode(key));
    const valueAt = this.append(OP_PUT, k, value);
    this.index.set(key, new Slot(valueAt, <u32>value.length));
  }

  /** Returns whether the key was present. */
  delete(key: string): bool {
    this.load();
    if (!this.index.has(key)) return false;
    this.append(OP_DELETE, Uint8Array.wrap(String.UTF8.encode(key)), new Uint8Array(0));
    this.index.delete(key);
    return true;
  }

  get size(): i32 {
    this.load();
    return this.index.size;
  }

  keys(): Array<string> {
    this.load();
    return this.index.keys();
  }

  /** Bytes of log in use (live and dead records). */
  logBytes(): u64 {
    this.load();
    return this.end;
  }

  /** Rewrites the log with only live entries. */
  compact(): void {
    this.load();
    const keys = this.index.keys();
    const values = new Array<Uint8Array>(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = this.get(keys[i])!;
    this.end = HEADER;
    this.index.clear();
    this.writeEnd();
    for (let i = 0; i < keys.length; i++) this.set(keys[i], values[i]);
  }

  private append(op: u8, key: Uint8Array, value: Uint8Array): u64 {
    const at = this.end;
    const head = new Uint8Array(9);
    head[0] = op;
    store<u32>(head.dataStart + 1, <u32>key.length);
    store<u32>(head.dataStart + 5, <u32>value.length);
    const next = at + 9 + <u64>key.length + <u64>value.length;
    ensureStable(this.base + next);
    stableWrite(this.base + at, head);
    stableWrite(this.base + at + 9, key);
    stableWrite(this.base + at + 9 + <u64>key.length, value);
    // The end pointer is written last: a trap before it leaves the record unreachable (and the IC
    // rolls back stable memory on trap anyway).
    this.end = next;
    this.writeEnd();
    return at + 9 + <u64>key.length;
  }

  private writeEnd(): void {
    stableWriteU64(this.base + 8, this.end);
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const base = this.base;
    if (stableSize() < base + HEADER || load<u32>(stableRead(base, 4).dataStart) != MAGIC) {
      ensureStable(base + HEADER);
      const h = new Uint8Array(16);
      store<u32>(h.dataStart, MAGIC);
      store<u64>(h.dataStart + 8, HEADER);
      stableWrite(base, h);
      this.end = HEADER;
      return;
    }
    this.end = stableReadU64(base + 8);
    let at = HEADER;
    while (at < this.end) {
      const head = stableRead(base + at, 9);
      const keyLen = load<u32>(head.dataStart + 1);
      const valueLen = load<u32>(head.dataStart + 5);
      const key = String.UTF8.decode(stableRead(base + at + 9, keyLen).buffer);
      const valueAt = at + 9 + <u64>keyLen;
      if (head[0] == OP_PUT) this.index.set(key, new Slot(valueAt, valueLen));
      else if (head[0] == OP_DELETE) this.index.delete(key);
      else abort("StableMap: corrupt log record");
      at = valueAt + <u64>valueLen;
    }
  }
}
