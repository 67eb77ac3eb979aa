// The capsa CLI's proxy: makes management calls that only canisters may make (canister_info) on
// behalf of its controllers, and hands back the raw reply. The CLI creates one per network and
// identity when it first needs it. Anyone else is refused: the proxy acts with its own principal.
import {
  argData, caller, isController, reply, reject, CandidReader, CandidWriter, Type, Value, CallHandler, callWith,
} from "../cdk/index";

class Forward extends CallHandler {
  onReply(data: Uint8Array): void {
    reply(new CandidWriter().add(Type.blob(), Value.blob(data)).encode());
  }
  onReject(code: i32, message: string): void {
    reject("the callee rejected the call (reject code " + code.toString() + "): " + message);
  }
}

export function canister_update__forward(): void {
  if (!isController(caller())) {
    reject("only a controller of this proxy canister may use it");
    return;
  }
  const r = new CandidReader(argData());
  const callee = r.arg(0).asPrincipal();
  const method = r.arg(1).asText();
  const arg = r.arg(2).asBlob();
  const err = callWith(callee, method, arg, new Forward());
  if (err != 0) reject("call_perform failed with code " + err.toString());
}
