// Routed in with `--use abort=canisters/cdk/abort/icAbort`: an AssemblyScript assertion or runtime
// error becomes an ic0.trap carrying its message and location, and the module needs no `env.abort`.
import { trap } from "./ic0";

export function icAbort(
  message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0,
): void {
  let text = "AssemblyScript abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const bytes = String.UTF8.encode(text);
  trap(changetype<usize>(bytes), <u32>bytes.byteLength);
  unreachable();
}
