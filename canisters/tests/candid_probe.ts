// Exercises the CDK's Candid codec against @dfinity/candid (see sdk/build/cdk-candid.test.ts).
import { argData, reply, caller, self, time, print, trap, CandidReader, CandidWriter, Type, Value } from "../cdk/index";
import { T_NAT8, T_NAT16, T_NAT32, T_NAT64, T_INT8, T_INT16, T_INT32, T_INT64 } from "../cdk/index";

// type Status = variant { active; banned : text; pending : record { since : nat64 } };
// type Profile = record { id : nat; name : text; owner : principal; tags : vec text; avatar : opt blob;
//   score : int; status : Status; friends : vec record { principal; nat32 } };
function statusType(): Type {
  return Type.variant(["active", "banned", "pending"],
    [Type.nul(), Type.text(), Type.record(["since"], [Type.nat64()])]);
}

function profileType(): Type {
  return Type.record(
    ["id", "name", "owner", "tags", "avatar", "score", "status", "friends"],
    [Type.nat(), Type.text(), Type.principal(), Type.vec(Type.text()), Type.opt(Type.blob()), Type.int(),
      statusType(), Type.vec(Type.tuple([Type.principal(), Type.nat32()]))]);
}

// make_profile : () -> (Profile) query
export function canister_query__make_profile(): void {
  new CandidReader(argData());
  const tags: Array<Value> = [Value.text("a"), Value.text("ünïcode ✓"), Value.text("")];
  const avatar = new Uint8Array(3);
  avatar[0] = 1; avatar[1] = 2; avatar[2] = 255;
  const friends: Array<Value> = [Value.tuple([Value.principal(self()), Value.fixed(T_NAT32, 4000000000)])];
  const p = Value.record(
    ["name", "id", "owner", "tags", "avatar", "score", "status", "friends"],
    [Value.text("alice"), Value.nat(18446744073709551615), Value.principal(caller()), Value.vec(tags),
      Value.some(Value.blob(avatar)), Value.int(-1234567890123), Value.variant("pending",
        Value.record(["since"], [Value.fixed(T_NAT64, time())])), Value.vec(friends)]);
  reply(new CandidWriter().add(profileType(), p).encode());
}

// echo_profile : (Profile) -> (Profile): read every field through the accessors, rebuild, encode.
export function canister_update__echo_profile(): void {
  const p = new CandidReader(argData()).arg(0);
  const tagsIn = p.get("tags").asVec();
  const tags = new Array<Value>(tagsIn.length);
  for (let i = 0; i < tagsIn.length; i++) tags[i] = Value.text(tagsIn[i].asText());
  const avatar = p.optField("avatar");
  const s = p.get("status");
  let status: Value;
  if (s.is("active")) status = Value.variant("active", Value.nul());
  else if (s.is("banned")) status = Value.variant("banned", Value.text(s.payload().asText()));
  else if (s.is("pending")) status = Value.variant("pending",
    Value.record(["since"], [Value.fixed(T_NAT64, s.payload().get("since").asNat())]));
  else { trap("unknown status"); return; }
  const friendsIn = p.get("friends").asVec();
  const friends = new Array<Value>(friendsIn.length);
  for (let i = 0; i < friendsIn.length; i++) {
    const f = friendsIn[i];
    friends[i] = Value.tuple([Value.principal(f.fieldId(0)!.asPrincipal()), Value.fixed(T_NAT32, f.fieldId(1)!.asNat())]);
  }
  const out = Value.record(
    ["id", "name", "owner", "tags", "avatar", "score", "status", "friends"],
    [Value.nat(p.get("id").asNat()), Value.text(p.get("name").asText()), Value.principal(p.get("owner").asPrincipal()),
      Value.vec(tags), avatar === null ? Value.none() : Value.some(Value.blob(avatar.asBlob())),
      Value.int(p.get("score").asInt()), status, Value.vec(friends)]);
  reply(new CandidWriter().add(profileType(), out).encode());
}

// numbers : (nat, int, nat8, nat16, nat32, nat64, int8, int16, int32, int64, float64, float32, bool, null)
//        -> (same); each value is decoded and re-encoded through its accessor.
export function canister_query__numbers(): void {
  const r = new CandidReader(argData());
  const w = new CandidWriter();
  w.add(Type.nat(), Value.nat(r.arg(0).asNat()));
  w.add(Type.int(), Value.int(r.arg(1).asInt()));
  w.add(Type.nat8(), Value.fixed(T_NAT8, r.arg(2).asNat()));
  w.add(Type.nat16(), Value.fixed(T_NAT16, r.arg(3).asNat()));
  w.add(Type.nat32(), Value.fixed(T_NAT32, r.arg(4).asNat()));
  w.add(Type.nat64(), Value.fixed(T_NAT64, r.arg(5).asNat()));
  w.add(Type.int8(), Value.fixed(T_INT8, <u64>r.arg(6).asInt()));
  w.add(Type.int16(), Value.fixed(T_INT16, <u64>r.arg(7).asInt()));
  w.add(Type.int32(), Value.fixed(T_INT32, <u64>r.arg(8).asInt()));
  w.add(Type.int64(), Value.fixed(T_INT64, <u64>r.arg(9).asInt()));
  w.add(Type.float64(), Value.float64(r.arg(10).asFloat()));
  w.add(Type.float32(), Value.float32(<f32>r.arg(11).asFloat()));
  w.add(Type.bool(), Value.bool(r.arg(12).asBool()));
  w.add(Type.nul(), Value.nul());
  reply(w.encode());
}

// greet : (record { name : text; nick : opt text }) -> (text): the caller may send extra fields or
// leave `nick` out entirely (record subtyping).
export function canister_query__greet(): void {
  const a = new CandidReader(argData()).arg(0);
  const nick = a.optField("nick");
  const who = nick !== null ? nick.asText() : a.get("name").asText();
  reply(new CandidWriter().add(Type.text(), Value.text("hello, " + who)).encode());
}

// fail : () -> (): an AssemblyScript assertion, to check it reaches ic0.trap with its message.
export function canister_update__fail(): void {
  print("about to fail");
  assert(false, "the probe asserted");
}
