import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { startTracing, type Tracing } from '../../src/tracing/setup';

export interface TestTracing {
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  close(): Promise<void>;
}

/**
 * Tracing as a process with OTEL_EXPORTER_OTLP_ENDPOINT runs it (src/tracing/setup.ts), feeding an
 * in-memory exporter. Jest loads packages through its own module registry, past the require hook
 * the instrumentations patch through, so the copies this test file uses are patched here with the
 * instrumentations' own module definitions (core modules such as http go through the hook as usual).
 */
export function startTestTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const tracing: Tracing = startTracing({ serviceName: 'keyplane-test', exporter, sampleRatio: 1 });
  for (const instrumentation of tracing.instrumentations) patchLoadedCopies(instrumentation);
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    close: () => tracing.shutdown(),
  };
}

function patchLoadedCopies(instrumentation: Instrumentation): void {
  const definitions = (instrumentation as unknown as { getModuleDefinitions(): ModuleDefinition[] }).getModuleDefinitions();
  for (const definition of definitions) {
    if (definition.name.startsWith('node:') || ['http', 'https'].includes(definition.name)) continue;
    const version = versionOf(definition.name);
    if (!version) continue;
    if (definition.patch) definition.patch(require(definition.name), version);
    for (const file of definition.files ?? []) {
      let exports: unknown;
      try {
        exports = require(file.name);
      } catch {
        continue; // an optional part that is not installed (pg-native)
      }
      file.patch(exports, version);
    }
  }
}

/** The installed version of a package, read next to its entry point (some export maps hide package.json). */
function versionOf(name: string): string | null {
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    return null;
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === name) return pkg.version ?? null;
  }
  return null;
}

interface ModuleDefinition {
  name: string;
  patch?: (exports: unknown, version?: string) => unknown;
  files?: { name: string; patch: (exports: unknown, version?: string) => unknown }[];
}
