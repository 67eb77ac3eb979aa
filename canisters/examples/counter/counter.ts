// A counter: `inc : () -> (nat)` and `get : () -> (nat) query`. The count lives in the heap,
// which the IC keeps between messages (orthogonal persistence) but not across upgrades.
import { argData, reply, Type, Value, CandidWriter, CandidReader } from "../../cdk/index";

let count: u64 = 0;

function replyNat(n: u64): void {
  reply(new CandidWriter().add(Type.nat(), Value.nat(n)).encode());
}

export function canister_update__inc(): void {
  new CandidReader(argData()); // validates the (empty) argument
  count += 1;
  replyNat(count);
}

export function canister_query__get(): void {
  new CandidReader(argData());
  replyNat(count);
}
