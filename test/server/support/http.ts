import { request } from 'node:http';

/** One GraphQL error as the server sends it. */
export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown> & { code?: string };
}

/**
 * A GraphQL response as the test sees it. `TData` is the shape the test's query selects (the server does not check
 * it; the test's assertions do); left `unknown`, the test compares the data as a whole.
 */
export interface GqlResponse<TData = unknown> {
  status: number;
  headers: Headers;
  body: { data?: TData | null; errors?: GqlError[] };
}

/** POSTs a GraphQL request to `${url}/graphql`. */
export async function gql<TData = unknown>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse<TData>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GqlResponse<TData>['body'];
  try {
    body = JSON.parse(text) as GqlResponse<TData>['body'];
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 300)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/** The data of a response that must have succeeded: throws with the errors otherwise. */
export function dataOf<TData>(res: GqlResponse<TData>): TData {
  if (res.body.errors !== undefined || res.body.data == null)
    throw new Error(`expected data without errors, got ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** Sends a raw POST with node:http (so a body larger than the limit can be streamed); resolves with status and body. */
export function rawPost(
  url: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The `errors` of a JSON error body (a refusal answered before GraphQL ran). */
export function errorsOf(text: string): GqlError[] {
  return (JSON.parse(text) as { errors?: GqlError[] }).errors ?? [];
}
