import { runInNewContext } from 'node:vm';
import { SUBSCRIPTION_FETCHER_SCRIPT } from './subscription-fetcher';

type Fetcher = (params: Record<string, unknown>, options?: Record<string, unknown>) => unknown;

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
}
let sent: Sent[];
let answer: () => Response;
function fakeFetch(url: string, init: RequestInit): Promise<Response> {
  sent.push({
    url,
    headers: Object.fromEntries(new Headers(init.headers).entries()),
    body: JSON.parse(init.body as string) as unknown,
    signal: init.signal!,
  });
  return Promise.resolve(answer());
}
beforeEach(() => {
  sent = [];
});

/** The page script as the browser runs it, with Node's Headers, streams and TextDecoder and a recording fetch. */
function createLiveFetcher(url: string, fallback: Fetcher): Fetcher {
  const context = { fetch: fakeFetch, Headers, TextDecoder, AbortController };
  const create = runInNewContext(`${SUBSCRIPTION_FETCHER_SCRIPT}; createLiveFetcher`, context) as (
    url: string,
    fallback: Fetcher,
  ) => Fetcher;
  return create(url, fallback);
}

/** An event-stream response whose body arrives in the given chunks, then stays open unless `end`. */
function stream(chunks: string[], end: boolean): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      if (end) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
}

const fallback: Fetcher = (params) => ({ fallback: params.operationName ?? null });

it('sends subscriptions as an event stream and everything else to the fallback, whatever precedes the operation', async () => {
  answer = () => new Response('{"errors":[{"message":"refused"}]}', { status: 400 });
  const fetcher = createLiveFetcher('http://localhost/graphql', fallback);
  const cases: [string, string | undefined][] = [
    ['fragment F on Subscription { a }\n# subscription in a comment\nsubscription S { b { ...F } }', undefined],
    ['# subscription\n{ a(x: "subscription {") }', undefined],
    ['query Q { a } subscription S { b }', 'S'],
    ['query Q { a } subscription S { b }', 'Q'],
    ['subscription @live { b }', undefined],
    ['query ($a: String = "}") @x(y: 1) { subscription }', undefined],
    ['"""{ doc """ subscription Live($f: AuditEventFilter = { succeeded: false }) { a(filter: $f) { id } }', 'Live'],
  ];
  const results = [];
  for (const [query, operationName] of cases) results.push(await fetcher({ query, operationName }, {}));
  const refused = { errors: [{ message: 'refused' }] };
  expect(results).toEqual([
    refused,
    { fallback: null },
    refused,
    { fallback: 'Q' },
    refused,
    { fallback: null },
    refused,
  ]);
  // GraphiQL's parsed document wins over the scan.
  const ast = { definitions: [{ kind: 'OperationDefinition', operation: 'subscription', name: { value: 'S' } }] };
  expect(await fetcher({ query: 'not parsed', operationName: 'S' }, { documentAST: ast })).toEqual(refused);
});

it('posts the typed headers, yields each next payload as it comes, and ends at complete', async () => {
  answer = () =>
    stream(
      [
        ': ping\n\nevent: next\r\ndata: {"data":{"a":1}}\r\n',
        '\r\nevent: next\ndata: {"data":',
        '{"a":2}}\n\nevent: complete\ndata:\n\n',
      ],
      false,
    );
  const fetcher = createLiveFetcher('http://localhost/graphql', fallback);
  const iterable = (await fetcher(
    { query: 'subscription { a }', variables: { x: 1 } },
    { headers: { Authorization: 'Bearer t', Accept: 'application/json' } },
  )) as AsyncIterable<unknown>;
  const got = [];
  for await (const result of iterable) got.push(result);
  expect(got).toEqual([{ data: { a: 1 } }, { data: { a: 2 } }]);
  expect(sent.map(({ url, headers, body }) => ({ url, headers, body }))).toEqual([
    {
      url: 'http://localhost/graphql',
      headers: { accept: 'text/event-stream', authorization: 'Bearer t', 'content-type': 'application/json' },
      body: { query: 'subscription { a }', variables: { x: 1 } },
    },
  ]);
});

it("aborts the request when GraphiQL unsubscribes (the iterator's return), ending a pending next", async () => {
  answer = () => stream(['event: next\ndata: {"data":{"a":1}}\n\n'], false);
  const fetcher = createLiveFetcher('http://localhost/graphql', fallback);
  const iterable = (await fetcher({ query: 'subscription { a }' }, {})) as AsyncIterable<unknown>;
  const iterator = iterable[Symbol.asyncIterator]();
  expect(await iterator.next()).toEqual({ value: { data: { a: 1 } }, done: false });
  const pending = iterator.next();
  // GraphiQL calls value[Symbol.asyncIterator]().return(): the same iterator.
  await iterable[Symbol.asyncIterator]().return!();
  expect(sent[0]!.signal.aborted).toBe(true);
  expect(await pending).toEqual({ value: undefined, done: true });
});
