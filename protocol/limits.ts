// Every size and count limit in one place, so the HTTP layer, consensus validation and execution
// enforce the same numbers. Values follow the IC's where it publishes them.

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const SECOND_NS = 1_000_000_000n
const MINUTE_NS = 60n * SECOND_NS

export const limits = {
  // HTTP interface
  /** Largest request body accepted (an install_code with a Motoko module fits in one ingress). */
  maxHttpBodyBytes: 5 * MiB,
  /** Largest ingress message payload (arg) accepted into a block. */
  maxIngressBytes: 4 * MiB,
  /** read_state: number of paths and labels per path. */
  maxReadStatePaths: 1000,
  maxReadStatePathLabels: 127,
  /** Delegation chain length (the spec's prose; the CDDL's *4 is an inconsistency, see ic-compat §15.8). */
  maxDelegations: 20,
  maxDelegationTargets: 1000,
  maxNonceBytes: 32,
  maxPrincipalBytes: 29,
  maxMethodNameBytes: 20 * KiB,
  /** Ingress expiry window: now ≤ expiry ≤ now + 5 min + 30 s drift. */
  maxIngressTtlNs: 5n * MINUTE_NS,
  ingressExpiryDriftNs: 30n * SECOND_NS,
  /** Request statuses stay in the state tree at least this long after expiry (agent polls 5 min). */
  ingressHistoryMarginNs: 5n * MINUTE_NS,

  // Consensus
  maxBlockPayloadBytes: 4 * MiB,
  maxIngressPerBlock: 1000,

  // Execution
  wasmPageBytes: 64 * KiB,
  pageBytes: 4 * KiB,
  maxWasmModuleBytes: 100 * MiB,
  maxWasmCodeSectionBytes: 12 * MiB,
  maxWasmFunctions: 50_000,
  maxWasmGlobals: 1_000,
  maxWasmExports: 10_000,
  maxStableMemoryBytes: 500 * GiB,
  maxHeap32Bytes: 4 * GiB,
  maxHeap64Bytes: 6 * GiB,
  maxResponseBytes: 2 * MiB,
  maxInterCanisterPayloadBytes: 2 * MiB,
  maxInstructionsPerUpdate: 40_000_000_000n,
  maxInstructionsPerQuery: 5_000_000_000n,
  maxInstructionsPerInstall: 300_000_000_000n,
  maxInstructionsPerRound: 50_000_000_000n,
  maxCallDepth: 1_000,
  maxControllers: 10,
  maxCertifiedDataBytes: 32,
  maxCanisterLogBytes: 4 * KiB,
  maxChunkBytes: 1 * MiB,
  maxInputQueueLength: 500,
  maxOutputQueueLength: 500,

  // State
  /** Ingress history entries kept in the state tree; beyond it the oldest completed ones go first. */
  maxIngressHistoryEntries: 1_000_000,
  /** Checkpoints kept on disk (the newest is loaded at restart; older ones serve state sync a little longer). */
  checkpointsKept: 2,
  /** Pages per checkpoint chunk (64 × 4 KiB = 256 KiB): the unit of content addressing and state sync. */
  checkpointChunkPages: 64,
} as const

export type Limits = typeof limits
