/** The server process: HTTP + GraphQL + GraphiQL + auth + limits + operations, and the `serve`/`demo` commands. */
export { createApp } from './app';
export type { App, AppOverrides } from './app';
export { createGraphqlServer } from './graphql-server';
export type { GraphqlServer, GraphqlServerOptions } from './graphql-server';
export { createAuthenticator, AuthError, REQUIRED_SCOPE } from './authenticator';
export type { Authenticator } from './authenticator';
export { createMetrics } from './metrics';
export type { Metrics } from './metrics';
export { registerServeCommand } from './serve.command';
export { registerDemoCommand } from './demo.command';
