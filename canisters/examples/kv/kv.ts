// A key-value store whose data lives in a StableMap, so it survives upgrades with no
// pre/post-upgrade hooks: the map's log is in stable memory and its index is rebuilt on first use.
import { argData, reply, Type, Value, CandidWriter, CandidReader, StableMap, T_NAT64 } from "../../cdk/index";

const store = new StableMap(0);

function replyOptBlob(v: Uint8Array | null): void {
  reply(new CandidWriter().add(Type.opt(Type.blob()), v === null ? Value.none() : Value.some(Value.blob(v!))).encode());
}

// put : (text, blob) -> ()
export function canister_update__put(): void {
  const args = new CandidReader(argData());
  store.set(args.arg(0).asText(), args.arg(1).asBlob());
  reply(new CandidWriter().encode());
}

// get : (text) -> (opt blob) query
export function canister_query__get(): void {
  const args = new CandidReader(argData());
  replyOptBlob(store.get(args.arg(0).asText()));
}

// delete : (text) -> (bool)
export function canister_update__delete(): void {
  const args = new CandidReader(argData());
  const existed = store.delete(args.arg(0).asText());
  reply(new CandidWriter().add(Type.bool(), Value.bool(existed)).encode());
}

// keys : () -> (vec text) query
export function canister_query__keys(): void {
  new CandidReader(argData());
  const keys = store.keys();
  const items = new Array<Value>(keys.length);
  for (let i = 0; i < keys.length; i++) items[i] = Value.text(keys[i]);
  reply(new CandidWriter().add(Type.vec(Type.text()), Value.vec(items)).encode());
}

// compact : () -> (nat64)  (returns the log size afterwards)
export function canister_update__compact(): void {
  new CandidReader(argData());
  store.compact();
  reply(new CandidWriter().add(Type.nat64(), Value.fixed(T_NAT64, store.logBytes())).encode());
}
