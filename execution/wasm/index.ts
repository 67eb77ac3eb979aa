// Wasm validation and instrumentation for canister modules.
//
// Install path: decompressIfGzip → parseModule → validateCanisterModule (IC rules) → instrument
// (metering, stack depth, NaN canonicalisation, memory.grow hook, dirty pages) → compile.
//
// Runtime contract of an instrumented module (export names in `exportNames`):
//
// - `__capsa_instructions` (mutable i64 global): the instruction counter, counting DOWN. Set it to
//   the message's budget before calling an entry point; consumed = budget − value afterwards. It
//   starts at `InstrumentOptions.initialInstructions` (default limits.maxInstructionsPerInstall)
//   because the start function runs during instantiation: read it right after instantiating to
//   charge the start function. Costs follow the IC's instruction_to_cost table; memory.fill/copy/
//   init and table.fill/copy/init also pay one instruction per byte/element.
//   The code is charged per straight-line segment before it runs; segments start after loop, if,
//   else, end, br, br_table, return, unreachable (and br_if with `exactMetering`; by default the
//   code after a br_if is charged with the code before it, so a taken br_if over-charges by the
//   rest of its segment). Inside a function with a loop, or without calls to module functions,
//   the counter is kept in a local and written back to the global before every call, return,
//   `unreachable` and out-of-instructions trap; a function with such calls but no loop charges the
//   global directly. Either way the global is exact whenever the host observes it (imports,
//   returns, those traps); after an engine trap (out-of-bounds, division by zero) it may lag by the
//   current function's charges since its last call. The counter is checked at function entries
//   (leaves: at their trap-path calls instead, see below), loop headers and bulk operations; when
//   it is negative the module sets `__capsa_trap_reason` = 1 and executes `unreachable`. Between checks
//   it can overshoot by at most one acyclic path through a function, so a message that RETURNS
//   with a negative counter is also out of instructions.
// - `__capsa_stack_depth` (mutable i32): estimated stack bytes in use, + 64 + 8 × (params + locals
//   + 16) on entry to a module function, restored on return (including tail calls and branches
//   to the function label). Leaf functions (frame ≤ 1 KiB; no loop or return; calls only to imports
//   or on paths that end in `unreachable`, as Motoko's overflow traps do) skip it on entry and add
//   their frame only around those trap-path calls, where they also check the counter; the others
//   check against `maxStackBytes` − 1 KiB, so the bound holds. Above it (default 512
//   KiB, for V8's 984 KiB main-thread stack; raise it in a worker with a bigger stack) the module
//   sets `__capsa_trap_reason` = 2 and traps, long before V8's own RangeError. A trap does not unwind it: set it (and the trap reason)
//   to 0 before each message.
// - `__capsa_trap_reason` (mutable i32): 0 = none / the canister's own trap, 1 = out of
//   instructions (TRAP_OUT_OF_INSTRUCTIONS), 2 = stack overflow (TRAP_STACK_OVERFLOW). Read it when
//   a call throws WebAssembly.RuntimeError.
// - NaN: every f32/f64 arithmetic result that can be NaN (add, sub, mul, div, sqrt, min, max,
//   ceil, floor, trunc, nearest, demote, promote) is replaced by the canonical positive quiet NaN
//   (0x7fc00000 / 0x7ff8000000000000) when it is a NaN, so float results are bit-identical on
//   every CPU.
// - memory.grow is replaced by a call that returns −1 when the memory would exceed
//   `result.maxMemoryPages` (the option, capped by the module's declared maximum), and traps with
//   `__capsa_trap_reason` = 3 (TRAP_WASM_MEMORY_LIMIT), without growing, when it would exceed
//   `__capsa_memory_limit` (mutable i64 global, 64 KiB pages, compared unsigned; it starts at
//   maxMemoryPages, i.e. no extra limit). Set it before each message; after such a trap it holds
//   the size the grow asked for. The runtime reads the memory size after each message.
// - Dirty pages (when the module has a memory and `dirtyPages` is not false): before every store
//   the pages holding its first and its last byte are marked (skipped when the store lies inside
//   the page the same function invocation marked last), and memory.fill/copy/init mark their whole
//   destination range. Marking a page tests its byte in the map; only when the byte is clear does
//   it set the byte and append the page to the list (so a page the message already wrote costs a
//   byte load). The state lives in the exported memory `__capsa_dirty_pages` (memory index 1,
//   32-bit, fixed size) and the i32 global `__capsa_dirty_count`, the list's length in bytes:
//     bytes [dirtyListOffset (0), + 4 × dirtyPageCapacity): the list, u32 little-endian page
//     indices in the order first marked; each page is listed at most once, so it never fills;
//     the last dirtyPageCapacity bytes of the memory: one byte per 4 KiB page of memory 0 (up to
//     its maximum), so checking a stray index past them traps rather than reading the list.
//   `__capsa_dirty_collect(): i32` clears the byte of every listed page, moves the listed pages
//   below the current memory size to the front of the list, empties the list for the next
//   message and returns their number n: read the indices at [dirtyListOffset, + 4 × n) (not
//   sorted). Its work is a few instructions per page listed, whatever the heap size. Call it
//   after every message (after a trapped one too, discarding the list: marks are set before the
//   store executes, so a store that traps out of bounds may leave a stray mark; one past the end
//   of memory is cleared, never reported, and one past the map is never recorded).
// - `__capsa_memory` / `__capsa_table` re-export memory 0 and table 0 (when present) under fixed
//   names, for the System API host (memory access, call_new callbacks by table index).
// - Appended helper functions carry `__capsa_*` names in the `name` section so stack traces stay
//   readable; every other section is copied byte for byte, and no index of the original module
//   changes (everything is appended).

export { parseModule } from './parse.ts'
export type { ModuleInfo, FuncType, ValTypeName, ExternKind } from './parse.ts'
export { validateCanisterModule, canisterModuleLimits, ic0FunctionNames } from './validate.ts'
export type { ValidateOptions } from './validate.ts'
export { instrument, exportNames, defaultMaxStackBytes } from './instrument.ts'
export type { InstrumentOptions, InstrumentResult } from './instrument.ts'
export { decompressIfGzip, isGzip } from './gzip.ts'
export { TRAP_OUT_OF_INSTRUCTIONS, TRAP_STACK_OVERFLOW, TRAP_WASM_MEMORY_LIMIT } from './helpers.ts'
