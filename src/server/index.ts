/** The server process: HTTP + GraphQL + GraphiQL + auth + limits + operations, and the `serve`/`demo` commands. */
export { createApp } from './app';
export type { App, AppOverrides } from './app';
export { createGraphqlServer } from './graphql-server';
export type { GraphqlServer, GraphqlServerOptions } from './graphql-server';
export { createAuthenticator, AuthError, REQUIRED_SCOPE } from './auth/authenticator';
export type { Authenticator } from './auth/authenticator';
export { createMetrics } from './metrics/metrics';
export type { Metrics } from './metrics/metrics';
export { registerServeCommand } from './serve.command';
export { registerDemoCommand } from './demo/demo.command';
