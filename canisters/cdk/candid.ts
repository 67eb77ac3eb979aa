// Candid binary format (Candid.md "Binary Format"): "DIDL", type table, argument types, values.
// CandidWriter encodes typed values; CandidReader decodes any well-formed message into Values,
// driven by the message's own type table, so extra record fields are simply there to ignore and
// absent opt fields read as null (see Value.optField).
import {
  Type, Value, T_NULL, T_BOOL, T_NAT, T_INT, T_NAT8, T_NAT16, T_NAT32, T_NAT64, T_INT8, T_INT16,
  T_INT32, T_INT64, T_FLOAT32, T_FLOAT64, T_TEXT, T_RESERVED, T_EMPTY, T_OPT, T_VEC, T_RECORD,
  T_VARIANT, T_SERVICE, T_PRINCIPAL,
} from "./candid-value";

export * from "./candid-value";

/** A growable byte buffer. */
export class Bytes {
  buf: Uint8Array = new Uint8Array(64);
  len: i32 = 0;
  private reserve(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: u8): void { this.reserve(1); this.buf[this.len++] = b; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.len); this.len += b.length; }
  uleb(n: u64): void {
    do {
      let b = <u8>(n & 0x7f);
      n >>= 7;
      if (n != 0) b |= 0x80;
      this.byte(b);
    } while (n != 0);
  }
  sleb(n: i64): void {
    for (;;) {
      const b = <u8>(n & 0x7f);
      n >>= 7; // arithmetic shift keeps the sign
      if ((n == 0 && (b & 0x40) == 0) || (n == -1 && (b & 0x40) != 0)) { this.byte(b); return; }
      this.byte(b | 0x80);
    }
  }
  le(n: u64, width: i32): void { for (let i = 0; i < width; i++) this.byte(<u8>(n >> (<u64>(8 * i)))); }
  finish(): Uint8Array { return this.buf.slice(0, this.len); }
}

const MAGIC: u32 = 0x4c444944; // "DIDL" read little-endian

export class CandidWriter {
  private table: Array<Bytes> = [];
  private seen: Map<usize, i32> = new Map();
  private argRefs: Array<i32> = [];
  private values: Bytes = new Bytes();

  /** Appends one argument of type `t` with value `v`. */
  add(t: Type, v: Value): CandidWriter {
    this.argRefs.push(this.ref(t));
    this.value(t, v);
    return this;
  }

  encode(): Uint8Array {
    const out = new Bytes();
    out.le(MAGIC, 4);
    out.uleb(this.table.length);
    for (let i = 0; i < this.table.length; i++) out.bytes(this.table[i].finish());
    out.uleb(this.argRefs.length);
    for (let i = 0; i < this.argRefs.length; i++) out.sleb(this.argRefs[i]);
    out.bytes(this.values.finish());
    return out.finish();
  }

  private ref(t: Type): i32 {
    const composite = t.op <= T_OPT && t.op >= T_SERVICE;
    if (!composite) return t.op;
    const key = changetype<usize>(t);
    if (this.seen.has(key)) return this.seen.get(key);
    const index = this.table.length;
    const entry = new Bytes();
    this.table.push(entry);
    this.seen.set(key, index);
    entry.sleb(t.op);
    if (t.op == T_OPT || t.op == T_VEC) {
      entry.sleb(this.ref(t.inner!));
    } else if (t.op == T_RECORD || t.op == T_VARIANT) {
      const ids = t.ids!;
      const fields = t.fields!;
      entry.uleb(ids.length);
      for (let i = 0; i < ids.length; i++) {
        entry.uleb(ids[i]);
        entry.sleb(this.ref(fields[i]));
      }
    } else {
      abort("Candid: func/service types are not supported");
    }
    return index;
  }

  private value(t: Type, v: Value): void {
    const w = this.values;
    const op = t.op;
    if (op == T_NULL || op == T_RESERVED) return;
    if (op == T_BOOL) { w.byte(v.asBool() ? 1 : 0); return; }
    if (op == T_NAT) { w.uleb(v.asNat()); return; }
    if (op == T_INT) { w.sleb(v.asInt()); return; }
    if (op == T_NAT8 || op == T_INT8) { w.le(v.n, 1); return; }
    if (op == T_NAT16 || op == T_INT16) { w.le(v.n, 2); return; }
    if (op == T_NAT32 || op == T_INT32) { w.le(v.n, 4); return; }
    if (op == T_NAT64 || op == T_INT64) { w.le(v.n, 8); return; }
    if (op == T_FLOAT32) { w.le(<u64>reinterpret<u32>(<f32>v.asFloat()), 4); return; }
    if (op == T_FLOAT64) { w.le(reinterpret<u64>(v.asFloat()), 8); return; }
    if (op == T_TEXT) {
      const b = Uint8Array.wrap(String.UTF8.encode(v.asText()));
      w.uleb(b.length);
      w.bytes(b);
      return;
    }
    if (op == T_PRINCIPAL) {
      const b = v.asPrincipal();
      w.byte(1);
      w.uleb(b.length);
      w.bytes(b);
      return;
    }
    if (op == T_OPT) {
      const x = v.asOpt();
      if (x === null) { w.byte(0); return; }
      w.byte(1);
      this.value(t.inner!, x);
      return;
    }
    if (op == T_VEC) {
      if (v.bytes !== null && t.inner!.op == T_NAT8) {
        const b = v.bytes!;
        w.uleb(b.length);
        w.bytes(b);
        return;
      }
      const items = v.asVec();
      w.uleb(items.length);
      for (let i = 0; i < items.length; i++) this.value(t.inner!, items[i]);
      return;
    }
    if (op == T_RECORD) {
      const ids = t.ids!;
      const fields = t.fields!;
      for (let i = 0; i < ids.length; i++) {
        const x = v.fieldId(ids[i]);
        if (x === null) {
          // A missing opt field encodes as none; anything else is a programming error.
          if (fields[i].op == T_OPT || fields[i].op == T_NULL || fields[i].op == T_RESERVED) { if (fields[i].op == T_OPT) w.byte(0); continue; }
          abort("Candid: record value lacks field id " + ids[i].toString());
        }
        this.value(fields[i], x!);
      }
      return;
    }
    if (op == T_VARIANT) {
      const ids = t.ids!;
      const tag = v.tag();
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] == tag) {
          w.uleb(i);
          this.value(t.fields![i], v.payload());
          return;
        }
      }
      abort("Candid: variant value's tag is not in its type");
    }
    abort("Candid: cannot encode type opcode " + op.toString());
  }
}

/** Encodes a whole argument list in one go. */
export function encode(types: Array<Type>, values: Array<Value>): Uint8Array {
  const w = new CandidWriter();
  for (let i = 0; i < types.length; i++) w.add(types[i], values[i]);
  return w.encode();
}

class WireType {
  op: i32;
  inner: i32 = 0;
  ids: Array<u32> = [];
  refs: Array<i32> = [];
  constructor(op: i32) { this.op = op; }
}

// A vector of zero-sized elements (null, reserved) costs no bytes per element; bound it anyway.
const MAX_ZERO_SIZED_VEC: u64 = 1 << 20;

export class CandidReader {
  private data: Uint8Array;
  private pos: i32 = 0;
  private table: Array<WireType> = [];
  /** The decoded arguments. */
  args: Array<Value> = [];

  constructor(data: Uint8Array) {
    this.data = data;
    if (data.length < 4 || this.fixed(4) != MAGIC) abort("Candid: missing DIDL magic");
    const count = this.uleb();
    for (let i: u64 = 0; i < count; i++) this.table.push(this.entry());
    for (let i = 0; i < this.table.length; i++) this.checkEntry(this.table[i]);
    const argc = this.uleb();
    const refs = new Array<i32>(0);
    for (let i: u64 = 0; i < argc; i++) refs.push(this.typeRef());
    for (let i = 0; i < refs.length; i++) this.args.push(this.value(refs[i], 0));
    if (this.pos != this.data.length) abort("Candid: trailing bytes after arguments");
  }

  /** Argument `i`; reading past the end yields null (an absent trailing opt argument). */
  arg(i: i32): Value {
    return i < this.args.length ? this.args[i] : Value.nul();
  }

  private byte(): u8 {
    if (this.pos >= this.data.length) abort("Candid: unexpected end of message");
    return this.data[this.pos++];
  }
  private take(n: u64): Uint8Array {
    if (n > <u64>(this.data.length - this.pos)) abort("Candid: length exceeds message");
    const out = this.data.slice(this.pos, this.pos + <i32>n);
    this.pos += <i32>n;
    return out;
  }
  private fixed(width: i32): u64 {
    let n: u64 = 0;
    for (let i = 0; i < width; i++) n |= (<u64>this.byte()) << (<u64>(8 * i));
    return n;
  }
  private uleb(): u64 {
    let n: u64 = 0;
    let shift: u64 = 0;
    for (;;) {
      const b = this.byte();
      if (shift >= 64 || (shift == 63 && (b & 0x7e) != 0)) abort("Candid: nat does not fit in 64 bits");
      n |= (<u64>(b & 0x7f)) << shift;
      shift += 7;
      if ((b & 0x80) == 0) break;
    }
    return n;
  }
  private sleb(): i64 {
    let n: i64 = 0;
    let shift: u64 = 0;
    let b: u8 = 0;
    do {
      b = this.byte();
      if (shift >= 64) abort("Candid: int does not fit in 64 bits");
      n |= (<i64>(b & 0x7f)) << shift;
      shift += 7;
    } while ((b & 0x80) != 0);
    if (shift < 64 && (b & 0x40) != 0) n |= -(<i64>1 << shift);
    return n;
  }
  private typeRef(): i32 {
    const r = this.sleb();
    if (r >= 0) {
      if (r >= <i64>this.table.length) abort("Candid: type index out of range");
      return <i32>r;
    }
    if (r < <i64>T_PRINCIPAL || (r <= <i64>T_OPT && r >= -23)) abort("Candid: invalid primitive type " + r.toString());
    return <i32>r;
  }
  private entry(): WireType {
    const op = <i32>this.sleb();
    const t = new WireType(op);
    if (op == T_OPT || op == T_VEC) {
      t.inner = <i32>this.sleb(); // checked once the whole table is known
    } else if (op == T_RECORD || op == T_VARIANT) {
      const n = this.uleb();
      for (let i: u64 = 0; i < n; i++) {
        const id = this.uleb();
        if (id > 0xffffffff) abort("Candid: field id out of range");
        if (t.ids.length > 0 && <u32>id <= t.ids[t.ids.length - 1]) abort("Candid: field ids not strictly increasing");
        t.ids.push(<u32>id);
        t.refs.push(<i32>this.sleb());
      }
    } else {
      abort("Candid: unsupported type table entry " + op.toString());
    }
    return t;
  }
  private checkRef(r: i32): void {
    if (r >= this.table.length || r < T_PRINCIPAL || (r <= T_OPT && r >= -23 && r < 0)) abort("Candid: bad type reference");
  }
  private checkEntry(t: WireType): void {
    if (t.op == T_OPT || t.op == T_VEC) this.checkRef(t.inner);
    for (let i = 0; i < t.refs.length; i++) this.checkRef(t.refs[i]);
  }

  private value(ref: i32, depth: i32): Value {
    if (depth > 100) abort("Candid: value nested too deeply");
    if (ref < 0) return this.primitive(ref);
    const t = this.table[ref];
    if (t.op == T_OPT) {
      const flag = this.byte();
      if (flag == 0) return Value.none();
      if (flag != 1) abort("Candid: bad opt flag");
      return Value.some(this.value(t.inner, depth + 1));
    }
    if (t.op == T_VEC) {
      const n = this.uleb();
      if (t.inner == T_NAT8) return Value.blob(this.take(n));
      if (n > <u64>(this.data.length - this.pos) && n > MAX_ZERO_SIZED_VEC) abort("Candid: vec too long");
      const items = new Array<Value>(0);
      for (let i: u64 = 0; i < n; i++) items.push(this.value(t.inner, depth + 1));
      return Value.vec(items);
    }
    if (t.op == T_RECORD) {
      const v = new Value(T_RECORD);
      const items = new Array<Value>(t.ids.length);
      for (let i = 0; i < t.ids.length; i++) items[i] = this.value(t.refs[i], depth + 1);
      v.ids = t.ids;
      v.items = items;
      return v;
    }
    // variant
    const index = this.uleb();
    if (index >= <u64>t.ids.length) abort("Candid: variant index out of range");
    const v = Value.variantId(t.ids[<i32>index], this.value(t.refs[<i32>index], depth + 1));
    v.n = index;
    return v;
  }

  private primitive(op: i32): Value {
    if (op == T_NULL || op == T_RESERVED) return new Value(op);
    if (op == T_BOOL) {
      const b = this.byte();
      if (b > 1) abort("Candid: bad bool");
      return Value.bool(b == 1);
    }
    if (op == T_NAT) return Value.nat(this.uleb());
    if (op == T_INT) return Value.int(this.sleb());
    if (op == T_NAT8) return Value.fixed(op, this.fixed(1));
    if (op == T_NAT16) return Value.fixed(op, this.fixed(2));
    if (op == T_NAT32) return Value.fixed(op, this.fixed(4));
    if (op == T_NAT64) return Value.fixed(op, this.fixed(8));
    // Signed fixed widths are kept sign-extended so asInt() is right.
    if (op == T_INT8) return Value.fixed(op, <u64>(<i64>(<i8>this.fixed(1))));
    if (op == T_INT16) return Value.fixed(op, <u64>(<i64>(<i16>this.fixed(2))));
    if (op == T_INT32) return Value.fixed(op, <u64>(<i64>(<i32>this.fixed(4))));
    if (op == T_INT64) return Value.fixed(op, this.fixed(8));
    if (op == T_FLOAT32) return Value.float32(reinterpret<f32>(<u32>this.fixed(4)));
    if (op == T_FLOAT64) return Value.float64(reinterpret<f64>(this.fixed(8)));
    if (op == T_TEXT) {
      const b = this.take(this.uleb());
      if (!validUtf8(b)) abort("Candid: text is not valid UTF-8");
      return Value.text(String.UTF8.decode(b.buffer));
    }
    if (op == T_PRINCIPAL) {
      if (this.byte() != 1) abort("Candid: opaque principal references are not supported");
      const n = this.uleb();
      if (n > 29) abort("Candid: principal longer than 29 bytes");
      return Value.principal(this.take(n));
    }
    if (op == T_EMPTY) abort("Candid: a value of type empty cannot exist");
    abort("Candid: unsupported type " + op.toString());
    return Value.nul();
  }
}

/** Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF), as Candid requires. */
export function validUtf8(b: Uint8Array): bool {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = <u32>b[i];
    if (c < 0x80) { i++; continue; }
    let need = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07; }
    else return false;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return false;
      const d = <u32>b[i + k];
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

/** Decodes a whole message. */
export function decode(data: Uint8Array): Array<Value> {
  return new CandidReader(data).args;
}
