import type { ApolloServerPlugin } from '@apollo/server';
import type { Metrics } from '../metrics/metrics';
import { fastLaneStart } from './prepared-operations';

/** Distinct operation labels kept; later new names are counted under `other` (each label is a histogram series). */
export const MAX_OPERATION_LABELS = 200;

/**
 * Turns client-chosen operation names into metric labels: short and printable, and new names stop making new series
 * past MAX_OPERATION_LABELS, so that a client sending unique names cannot grow memory and /metrics without end.
 * One instance is shared by the Apollo plugin and the fast lane.
 */
export function operationLabels(): (name: string | null | undefined) => string {
  const labels = new Set<string>();
  return (name) => {
    if (!name) return 'anonymous';
    const label = name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 64);
    if (labels.has(label)) return label;
    if (labels.size >= MAX_OPERATION_LABELS) return 'other';
    labels.add(label);
    return label;
  };
}

/** Observes per-operation latency and counts returned errors by `extensions.code`. */
export function operationMetricsPlugin<TContext extends object>(
  metrics: Metrics,
  operationLabel: (name: string | null | undefined) => string = operationLabels(),
): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      const started = process.hrtime.bigint();
      return Promise.resolve({
        willSendResponse({ response, operationName, operation, contextValue }) {
          // A request the fast lane ran first and handed over (errors to format) is timed from the fast lane's start.
          const seconds = Number(process.hrtime.bigint() - (fastLaneStart(contextValue) ?? started)) / 1e9;
          metrics.graphqlOperationDuration.observe(
            { operation: operationLabel(operationName), type: operation?.operation ?? 'unknown' },
            seconds,
          );
          if (response.body.kind === 'single')
            for (const error of response.body.singleResult.errors ?? []) {
              const code = error.extensions?.code;
              metrics.graphqlErrors.inc({ code: typeof code === 'string' ? code : 'UNKNOWN' });
            }
          return Promise.resolve();
        },
      });
    },
  };
}
