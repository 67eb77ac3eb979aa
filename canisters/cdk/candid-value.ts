// Candid types (for encoding) and values (built for encoding, produced by decoding).
// Values are one class with a `kind` = the type opcode, because AssemblyScript has no union types.

export const T_NULL: i32 = -1;
export const T_BOOL: i32 = -2;
export const T_NAT: i32 = -3;
export const T_INT: i32 = -4;
export const T_NAT8: i32 = -5;
export const T_NAT16: i32 = -6;
export const T_NAT32: i32 = -7;
export const T_NAT64: i32 = -8;
export const T_INT8: i32 = -9;
export const T_INT16: i32 = -10;
export const T_INT32: i32 = -11;
export const T_INT64: i32 = -12;
export const T_FLOAT32: i32 = -13;
export const T_FLOAT64: i32 = -14;
export const T_TEXT: i32 = -15;
export const T_RESERVED: i32 = -16;
export const T_EMPTY: i32 = -17;
export const T_OPT: i32 = -18;
export const T_VEC: i32 = -19;
export const T_RECORD: i32 = -20;
export const T_VARIANT: i32 = -21;
export const T_FUNC: i32 = -22;
export const T_SERVICE: i32 = -23;
export const T_PRINCIPAL: i32 = -24;

/** Candid's field id: h(name) = Σ byte·223^(n-i) mod 2^32 over the UTF-8 bytes. */
export function idlHash(name: string): u32 {
  const bytes = Uint8Array.wrap(String.UTF8.encode(name));
  let h: u32 = 0;
  for (let i = 0; i < bytes.length; i++) h = h * 223 + <u32>bytes[i];
  return h;
}

export class Type {
  op: i32;
  inner: Type | null = null;
  ids: Array<u32> | null = null;
  fields: Array<Type> | null = null;
  constructor(op: i32) {
    this.op = op;
  }
  static nul(): Type { return new Type(T_NULL); }
  static bool(): Type { return new Type(T_BOOL); }
  static nat(): Type { return new Type(T_NAT); }
  static int(): Type { return new Type(T_INT); }
  static nat8(): Type { return new Type(T_NAT8); }
  static nat16(): Type { return new Type(T_NAT16); }
  static nat32(): Type { return new Type(T_NAT32); }
  static nat64(): Type { return new Type(T_NAT64); }
  static int8(): Type { return new Type(T_INT8); }
  static int16(): Type { return new Type(T_INT16); }
  static int32(): Type { return new Type(T_INT32); }
  static int64(): Type { return new Type(T_INT64); }
  static float32(): Type { return new Type(T_FLOAT32); }
  static float64(): Type { return new Type(T_FLOAT64); }
  static text(): Type { return new Type(T_TEXT); }
  static reserved(): Type { return new Type(T_RESERVED); }
  static principal(): Type { return new Type(T_PRINCIPAL); }
  static opt(inner: Type): Type { const t = new Type(T_OPT); t.inner = inner; return t; }
  static vec(inner: Type): Type { const t = new Type(T_VEC); t.inner = inner; return t; }
  static blob(): Type { return Type.vec(Type.nat8()); }
  /** A record with named fields (any order; the encoder sorts by field id). */
  static record(names: Array<string>, types: Array<Type>): Type {
    return Type.composite(T_RECORD, hashes(names), types);
  }
  /** A tuple: a record with fields 0..n-1. */
  static tuple(types: Array<Type>): Type {
    const ids = new Array<u32>(types.length);
    for (let i = 0; i < types.length; i++) ids[i] = <u32>i;
    return Type.composite(T_RECORD, ids, types);
  }
  static variant(names: Array<string>, types: Array<Type>): Type {
    return Type.composite(T_VARIANT, hashes(names), types);
  }
  static composite(op: i32, ids: Array<u32>, types: Array<Type>): Type {
    if (ids.length != types.length) abort("Candid: field names and types differ in length");
    const t = new Type(op);
    // Keep the fields sorted by id: both the type table and the value order depend on it.
    const order = sortedOrder(ids);
    const sIds = new Array<u32>(ids.length);
    const sTypes = new Array<Type>(ids.length);
    for (let i = 0; i < order.length; i++) {
      sIds[i] = ids[order[i]];
      sTypes[i] = types[order[i]];
      if (i > 0 && sIds[i] == sIds[i - 1]) abort("Candid: duplicate field id");
    }
    t.ids = sIds;
    t.fields = sTypes;
    return t;
  }
}

function hashes(names: Array<string>): Array<u32> {
  const ids = new Array<u32>(names.length);
  for (let i = 0; i < names.length; i++) ids[i] = idlHash(names[i]);
  return ids;
}

/** Indices of `ids` in ascending id order (insertion sort: field lists are short). */
export function sortedOrder(ids: Array<u32>): Array<i32> {
  const order = new Array<i32>(ids.length);
  for (let i = 0; i < ids.length; i++) order[i] = i;
  for (let i = 1; i < order.length; i++) {
    const cur = order[i];
    let j = i - 1;
    while (j >= 0 && ids[order[j]] > ids[cur]) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = cur;
  }
  return order;
}

export class Value {
  kind: i32;
  /** bool, nat*, int* (two's complement bits), variant alternative index on decode. */
  n: u64 = 0;
  f: f64 = 0;
  s: string = "";
  /** blob (vec nat8) and principal bytes. */
  bytes: Uint8Array | null = null;
  /** vec items, opt content (0 or 1), record field values, variant value (1). */
  items: Array<Value> | null = null;
  /** record field ids (parallel to items) or the variant's tag id (one entry). */
  ids: Array<u32> | null = null;

  constructor(kind: i32) {
    this.kind = kind;
  }

  static nul(): Value { return new Value(T_NULL); }
  static bool(b: bool): Value { const v = new Value(T_BOOL); v.n = b ? 1 : 0; return v; }
  static nat(n: u64): Value { const v = new Value(T_NAT); v.n = n; return v; }
  static int(n: i64): Value { const v = new Value(T_INT); v.n = <u64>n; return v; }
  /** Fixed-width numbers: `kind` is one of T_NAT8..T_INT64. */
  static fixed(kind: i32, n: u64): Value { const v = new Value(kind); v.n = n; return v; }
  static float64(f: f64): Value { const v = new Value(T_FLOAT64); v.f = f; return v; }
  static float32(f: f32): Value { const v = new Value(T_FLOAT32); v.f = <f64>f; return v; }
  static text(s: string): Value { const v = new Value(T_TEXT); v.s = s; return v; }
  static blob(b: Uint8Array): Value { const v = new Value(T_VEC); v.bytes = b; return v; }
  static principal(b: Uint8Array): Value { const v = new Value(T_PRINCIPAL); v.bytes = b; return v; }
  static none(): Value { const v = new Value(T_OPT); v.items = []; return v; }
  static some(x: Value): Value { const v = new Value(T_OPT); v.items = [x]; return v; }
  static vec(items: Array<Value>): Value { const v = new Value(T_VEC); v.items = items; return v; }
  static record(names: Array<string>, values: Array<Value>): Value {
    const v = new Value(T_RECORD);
    v.ids = hashes(names);
    v.items = values;
    return v;
  }
  static tuple(values: Array<Value>): Value {
    const v = new Value(T_RECORD);
    const ids = new Array<u32>(values.length);
    for (let i = 0; i < values.length; i++) ids[i] = <u32>i;
    v.ids = ids;
    v.items = values;
    return v;
  }
  static variant(name: string, value: Value): Value { return Value.variantId(idlHash(name), value); }
  static variantId(id: u32, value: Value): Value {
    const v = new Value(T_VARIANT);
    v.ids = [id];
    v.items = [value];
    return v;
  }

  // ---- reading ----

  isNull(): bool { return this.kind == T_NULL || this.kind == T_RESERVED; }
  asBool(): bool { this.expect(this.kind == T_BOOL, "bool"); return this.n != 0; }
  /** nat or any natN, as u64. */
  asNat(): u64 {
    this.expect(this.kind == T_NAT || (this.kind <= T_NAT8 && this.kind >= T_NAT64), "nat");
    return this.n;
  }
  /** int, any intN, nat or natN (nat <: int), as i64. */
  asInt(): i64 {
    this.expect(this.kind <= T_NAT && this.kind >= T_INT64, "int");
    return <i64>this.n;
  }
  asFloat(): f64 { this.expect(this.kind == T_FLOAT64 || this.kind == T_FLOAT32, "float"); return this.f; }
  asText(): string { this.expect(this.kind == T_TEXT, "text"); return this.s; }
  asPrincipal(): Uint8Array { this.expect(this.kind == T_PRINCIPAL, "principal"); return this.bytes!; }
  /** blob, i.e. vec nat8. */
  asBlob(): Uint8Array {
    this.expect(this.kind == T_VEC, "blob");
    if (this.bytes !== null) return this.bytes!;
    const items = this.items!;
    const out = new Uint8Array(items.length);
    for (let i = 0; i < items.length; i++) out[i] = <u8>items[i].asNat();
    return out;
  }
  asVec(): Array<Value> {
    this.expect(this.kind == T_VEC, "vec");
    if (this.items !== null) return this.items!;
    const b = this.bytes!;
    const out = new Array<Value>(b.length);
    for (let i = 0; i < b.length; i++) out[i] = Value.fixed(T_NAT8, b[i]);
    return out;
  }
  /** opt t → content or null; null/reserved → null; any other value counts as present (t <: opt t). */
  asOpt(): Value | null {
    if (this.isNull()) return null;
    if (this.kind != T_OPT) return this;
    const items = this.items!;
    return items.length == 0 ? null : items[0];
  }
  /** A record field by name, or null if absent (an absent opt field reads as null). */
  field(name: string): Value | null { return this.fieldId(idlHash(name)); }
  fieldId(id: u32): Value | null {
    this.expect(this.kind == T_RECORD, "record");
    const ids = this.ids!;
    for (let i = 0; i < ids.length; i++) if (ids[i] == id) return this.items![i];
    return null;
  }
  /** A field that must be there. */
  get(name: string): Value {
    const v = this.field(name);
    if (v === null) abort("Candid: missing record field " + name);
    return v!;
  }
  /** An opt field: absent, null or none all read as null. */
  optField(name: string): Value | null {
    const v = this.field(name);
    return v === null ? null : v.asOpt();
  }
  tag(): u32 { this.expect(this.kind == T_VARIANT, "variant"); return this.ids![0]; }
  is(name: string): bool { return this.tag() == idlHash(name); }
  payload(): Value { this.expect(this.kind == T_VARIANT, "variant"); return this.items![0]; }

  private expect(ok: bool, what: string): void {
    if (!ok) abort("Candid: expected " + what + ", got type opcode " + this.kind.toString());
  }
}
