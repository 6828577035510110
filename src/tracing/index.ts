export { currentTraceparent, inSpan, tracingEnabled, withTraceparent } from './spans';
export { startTracingFromEnv, shutdownTracing } from './start';
