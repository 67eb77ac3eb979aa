// The Capsa AssemblyScript CDK. Canisters export entry points named
// `canister_update__<method>` / `canister_query__<method>` / `canister_composite_query__<method>`;
// the build step (sdk/build/assemblyscript.ts) renames them to the IC's `canister_update <method>`.
export * from "./msg";
export * from "./candid";
export * from "./stable";
export * from "./call";
export { icAbort } from "./abort";
