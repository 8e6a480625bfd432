// Registers the OpenTelemetry tracer provider when an OTLP endpoint is configured: spans go through a batch
// processor to OTLP/HTTP (JSON), under service.name `cairn` (OTEL_SERVICE_NAME). Next's own request spans
// and Cairn's (./tracing.ts) share it. Unset endpoint: nothing is loaded or registered.
import type { TracingConfig } from "../env";
import { env } from "../env";
import { log } from "./log";
import { setTracingEnabled } from "./tracing";

export type Tracing = {
  /** Sends every finished span now (tests, and before the process exits). */
  flush: () => Promise<void>;
  /** Flushes, then unregisters the provider: tracing is off again. */
  shutdown: () => Promise<void>;
};

const INSTANCE = Symbol.for("cairn.tracing.provider");
const globals = globalThis as unknown as Record<symbol, Tracing | undefined>;

/** Starts tracing per `config` (default: the environment's); null when no endpoint is set. Once per process. */
export async function startTracing(config?: TracingConfig, opts: { version?: string } = {}): Promise<Tracing | null> {
  const existing = globals[INSTANCE];
  if (existing) return existing;
  const cfg = config ?? env().tracing;
  if (!cfg.endpoint) return null;
  const [api, { NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION }] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const exporter = new OTLPTraceExporter({ url: cfg.endpoint, headers: cfg.headers });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: cfg.serviceName, [ATTR_SERVICE_VERSION]: opts.version ?? env().version }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The async-local-storage context manager (a span stays active across awaits) and the W3C propagator.
  provider.register();
  setTracingEnabled(true);
  const tracing: Tracing = {
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      setTracingEnabled(false);
      globals[INSTANCE] = undefined;
      await provider.shutdown();
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
    },
  };
  globals[INSTANCE] = tracing;
  // Without credentials a URL may carry (user:password@, a query token).
  const shown = new URL(cfg.endpoint);
  shown.username = "";
  shown.password = "";
  shown.search = "";
  log.info(`tracing: spans go to ${shown.toString()} (OTLP/HTTP) as service ${cfg.serviceName}`);
  return tracing;
}

/** The running tracing, if any. */
export function activeTracing(): Tracing | null {
  return globals[INSTANCE] ?? null;
}
