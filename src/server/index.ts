/** The server process: HTTP + GraphQL + GraphiQL + auth + limits + operations, and the `serve`/`demo` commands. */
export { registerServeCommand } from './serve.command';
export { registerDemoCommand } from './demo/demo.command';
