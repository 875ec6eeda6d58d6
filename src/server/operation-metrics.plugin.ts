import type { ApolloServerPlugin } from '@apollo/server';
import type { Metrics } from './metrics';

/** Operation names are chosen by clients: keep the label short and printable. */
function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  return name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 64);
}

/** Observes per-operation latency and counts returned errors by `extensions.code`. */
export function operationMetricsPlugin<TContext extends object>(metrics: Metrics): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ response, operationName, operation }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.graphqlOperationDuration.observe({ operation: operationLabel(operationName), type: operation?.operation ?? 'unknown' }, seconds);
          if (response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            const code = error.extensions?.code;
            metrics.graphqlErrors.inc({ code: typeof code === 'string' ? code : 'UNKNOWN' });
          }
        },
      };
    },
  };
}
