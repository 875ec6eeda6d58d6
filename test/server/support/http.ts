import { request } from 'node:http';

/** A GraphQL response as the test sees it. */
export interface GqlResponse {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; path?: unknown[]; extensions?: Record<string, any> }[] };
}

/** POSTs a GraphQL request to `${url}/graphql`. */
export async function gql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GqlResponse['body'];
  try {
    body = JSON.parse(text) as GqlResponse['body'];
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 300)}`);
  }
  return { status: res.status, headers: res.headers, body };
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
