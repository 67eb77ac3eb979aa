// capsa/testing: an in-process subnet on the real execution and state code, for canister unit tests.
//
//   const subnet = CapsaTestSubnet.create({ seed: 'my-test' })
//   const { actor } = subnet.setupCanister<_SERVICE>({ idlFactory, wasm })
//   expect(await actor.inc()).toBe(1n)
//   subnet.advanceTime(60_000); subnet.tick()
//
// The same test runs against a real network (`capsa start`) by making the subnet with
// `await RemoteTestSubnet.connect(url)` instead, when every subnet call is awaited (remote.test.ts).

export { CapsaTestSubnet } from './subnet.ts'
export type {
  CanisterLogRecord, CanisterStatus, CanisterTarget, CreateCanisterOptions, InstallOptions, SetupOptions, UpgradeOptions,
} from './subnet.ts'
export { SubnetCore, principalBytes } from './core.ts'
export type { CallOptions, HarnessLog, PrincipalLike, SubmittedCall, SubnetOptions } from './core.ts'
export { createActor } from './actor.ts'
export type { Actor, ActorControls, ActorOptions, IdlFactory, ServiceShape } from './actor.ts'
export { CallRejectedError, isCallRejected } from './errors.ts'
export { IcErrorCode, RejectCode } from '../../protocol/reject.ts'
export { RemoteTestSubnet } from './remote.ts'
