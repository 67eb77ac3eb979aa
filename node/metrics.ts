// A small Prometheus text exposition: the node's handful of counters and gauges do not need a
// metrics library, and keeping them plain numbers keeps the hot paths free of allocation.

export type MetricKind = 'counter' | 'gauge'

interface Metric { kind: MetricKind; help: string; value: number }

export class Metrics {
  readonly #metrics = new Map<string, Metric>()
  readonly #labels: string

  constructor(labels: Record<string, string> = {}) {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
    this.#labels = parts.length ? `{${parts.join(',')}}` : ''
  }

  define(name: string, kind: MetricKind, help: string): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`)
    if (!this.#metrics.has(name)) this.#metrics.set(name, { kind, help, value: 0 })
  }

  inc(name: string, by = 1): void {
    const m = this.#get(name)
    if (m.kind !== 'counter') throw new Error(`${name} is not a counter`)
    m.value += by
  }

  set(name: string, value: number): void {
    this.#get(name).value = value
  }

  get(name: string): number {
    return this.#get(name).value
  }

  /** Prometheus text format 0.0.4. */
  render(): string {
    let out = ''
    for (const [name, m] of this.#metrics) {
      out += `# HELP ${name} ${m.help}\n# TYPE ${name} ${m.kind}\n${name}${this.#labels} ${Number.isFinite(m.value) ? m.value : 0}\n`
    }
    return out
  }

  #get(name: string): Metric {
    const m = this.#metrics.get(name)
    if (m === undefined) throw new Error(`metric ${name} is not defined`)
    return m
  }
}

/** The metrics every replica exports (issue: height, finalization latency, pool, peers, work done). */
export function replicaMetrics(nodeId: string): Metrics {
  const m = new Metrics({ node: nodeId })
  m.define('capsa_finalized_height', 'gauge', 'Height of the latest finalized block')
  m.define('capsa_certified_height', 'gauge', 'Height of the latest certified state')
  m.define('capsa_finalization_latency_seconds', 'gauge', 'Time from a height becoming current to its finalization, last height')
  m.define('capsa_ingress_pool_messages', 'gauge', 'Messages in the ingress pool')
  m.define('capsa_peers_connected', 'gauge', 'Subnet peers with an open stream')
  m.define('capsa_executed_messages_total', 'counter', 'Messages executed by this replica')
  m.define('capsa_instructions_total', 'counter', 'Wasm instructions executed by this replica')
  m.define('capsa_http_requests_total', 'counter', 'HTTP requests served')
  m.define('capsa_executed_height', 'gauge', 'Height of the latest executed batch')
  m.define('capsa_ingress_gossip_dropped_total', 'counter', 'Ingress messages from peers that could not be parsed or pooled')
  return m
}
