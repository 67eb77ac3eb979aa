// A minimal ICRC-1 ledger (icrc1.did). All state is in a StableMap, so it survives upgrades:
//   "init"      the raw Candid init argument (InitArgs), decoded on demand
//   "supply"    total supply, u64 little-endian
//   "txs"       number of transactions so far (the next block index), u64
//   "b:<acct>"  balance of an account, u64; <acct> = hex(owner) "." hex(32-byte subaccount)
// Amounts are limited to u64 (the CDK's nat range). No deduplication (Duplicate is never returned).
import {
  argData, caller, reply, time, trap, CandidReader, CandidWriter, Type, Value, StableMap, T_NAT8, T_NAT64,
} from "../../cdk/index";

const ledger = new StableMap(0);
const WINDOW_NS: u64 = 24 * 3600 * 1000000000;
const DRIFT_NS: u64 = 120 * 1000000000;

function accountType(): Type {
  return Type.record(["owner", "subaccount"], [Type.principal(), Type.opt(Type.blob())]);
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (<u32>b[i] + 0x100).toString(16).substring(1);
  return s;
}

/** Canonical key: an absent subaccount is the all-zero one. */
function accountKey(owner: Uint8Array, sub: Value | null): string {
  const s = sub === null ? new Uint8Array(32) : sub.asBlob();
  if (s.length != 32) trap("subaccount must be 32 bytes");
  return "b:" + hex(owner) + "." + hex(s);
}

function keyOf(account: Value): string {
  return accountKey(account.get("owner").asPrincipal(), account.optField("subaccount"));
}

function readU64(key: string): u64 {
  const b = ledger.get(key);
  return b === null ? 0 : load<u64>(b.dataStart);
}

function writeU64(key: string, n: u64): void {
  const b = new Uint8Array(8);
  store<u64>(b.dataStart, n);
  ledger.set(key, b);
}

function init(): Value {
  const raw = ledger.get("init");
  if (raw === null) trap("ledger not initialized");
  return new CandidReader(raw!).arg(0);
}

function fee(): u64 {
  return init().get("transfer_fee").asNat();
}

function replyOne(t: Type, v: Value): void {
  reply(new CandidWriter().add(t, v).encode());
}

export function canister_init(): void {
  const bytes = argData();
  const args = new CandidReader(bytes).arg(0);
  ledger.set("init", bytes);
  let supply: u64 = 0;
  const initial = args.get("initial_balances").asVec();
  for (let i = 0; i < initial.length; i++) {
    const key = keyOf(initial[i].fieldId(0)!);
    const amount = initial[i].fieldId(1)!.asNat();
    writeU64(key, readU64(key) + amount);
    supply += amount;
  }
  writeU64("supply", supply);
  writeU64("txs", 0);
}

export function canister_query__icrc1_name(): void { replyOne(Type.text(), Value.text(init().get("token_name").asText())); }
export function canister_query__icrc1_symbol(): void { replyOne(Type.text(), Value.text(init().get("token_symbol").asText())); }
export function canister_query__icrc1_decimals(): void {
  replyOne(Type.nat8(), Value.fixed(T_NAT8, init().get("decimals").asNat()));
}
export function canister_query__icrc1_fee(): void { replyOne(Type.nat(), Value.nat(fee())); }
export function canister_query__icrc1_total_supply(): void { replyOne(Type.nat(), Value.nat(readU64("supply"))); }

export function canister_query__icrc1_minting_account(): void {
  replyOne(Type.opt(accountType()), Value.some(init().get("minting_account")));
}

export function canister_query__icrc1_balance_of(): void {
  const account = new CandidReader(argData()).arg(0);
  replyOne(Type.nat(), Value.nat(readU64(keyOf(account))));
}

export function canister_query__icrc1_metadata(): void {
  const i = init();
  const mv = Type.variant(["Nat", "Int", "Text", "Blob"], [Type.nat(), Type.int(), Type.text(), Type.blob()]);
  const entry = Type.tuple([Type.text(), mv]);
  const items: Array<Value> = [
    Value.tuple([Value.text("icrc1:name"), Value.variant("Text", Value.text(i.get("token_name").asText()))]),
    Value.tuple([Value.text("icrc1:symbol"), Value.variant("Text", Value.text(i.get("token_symbol").asText()))]),
    Value.tuple([Value.text("icrc1:decimals"), Value.variant("Nat", Value.nat(i.get("decimals").asNat()))]),
    Value.tuple([Value.text("icrc1:fee"), Value.variant("Nat", Value.nat(i.get("transfer_fee").asNat()))]),
  ];
  replyOne(Type.vec(entry), Value.vec(items));
}

export function canister_query__icrc1_supported_standards(): void {
  const t = Type.record(["name", "url"], [Type.text(), Type.text()]);
  const v = Value.record(["name", "url"], [Value.text("ICRC-1"), Value.text("https://github.com/dfinity/ICRC-1")]);
  replyOne(Type.vec(t), Value.vec([v]));
}

function transferResultType(): Type {
  const err = Type.variant(
    ["BadFee", "BadBurn", "InsufficientFunds", "TooOld", "CreatedInFuture", "Duplicate", "TemporarilyUnavailable", "GenericError"],
    [Type.record(["expected_fee"], [Type.nat()]), Type.record(["min_burn_amount"], [Type.nat()]),
      Type.record(["balance"], [Type.nat()]), Type.nul(), Type.record(["ledger_time"], [Type.nat64()]),
      Type.record(["duplicate_of"], [Type.nat()]), Type.nul(),
      Type.record(["error_code", "message"], [Type.nat(), Type.text()])]);
  return Type.variant(["Ok", "Err"], [Type.nat(), err]);
}

function replyErr(name: string, field: string, value: Value): void {
  const payload = field == "" ? Value.nul() : Value.record([field], [value]);
  replyOne(transferResultType(), Value.variant("Err", Value.variant(name, payload)));
}

export function canister_update__icrc1_transfer(): void {
  const arg = new CandidReader(argData()).arg(0);
  const now = time();
  const created = arg.optField("created_at_time");
  if (created !== null) {
    const t = created.asNat();
    if (t + WINDOW_NS + DRIFT_NS < now) { replyErr("TooOld", "", Value.nul()); return; }
    if (t > now + DRIFT_NS) { replyErr("CreatedInFuture", "ledger_time", Value.fixed(T_NAT64, now)); return; }
  }
  const from = accountKey(caller(), arg.optField("from_subaccount"));
  const to = keyOf(arg.get("to"));
  const minting = keyOf(init().get("minting_account"));
  const amount = arg.get("amount").asNat();
  const feeArg = arg.optField("fee");
  let supply = readU64("supply");
  let charged: u64 = 0;
  if (from == minting) {
    if (feeArg !== null && feeArg.asNat() != 0) { replyErr("BadFee", "expected_fee", Value.nat(0)); return; }
    writeU64(to, readU64(to) + amount);
    supply += amount;
  } else {
    const balance = readU64(from);
    if (to == minting) {
      if (feeArg !== null && feeArg.asNat() != 0) { replyErr("BadFee", "expected_fee", Value.nat(0)); return; }
      if (amount < fee()) { replyErr("BadBurn", "min_burn_amount", Value.nat(fee())); return; }
      supply -= amount; // checked below together with the balance
    } else {
      charged = fee();
      if (feeArg !== null && feeArg.asNat() != charged) { replyErr("BadFee", "expected_fee", Value.nat(charged)); return; }
      supply -= charged;
    }
    if (balance < amount || balance - amount < charged) { replyErr("InsufficientFunds", "balance", Value.nat(balance)); return; }
    writeU64(from, balance - amount - charged);
    if (to != minting) writeU64(to, readU64(to) + amount);
  }
  writeU64("supply", supply);
  const index = readU64("txs");
  writeU64("txs", index + 1);
  replyOne(transferResultType(), Value.variant("Ok", Value.nat(index)));
}
