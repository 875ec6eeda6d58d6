import { gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import { DpodClient, type DpodCallRecord, type DpodClientOptions } from '../../src/dpod';
import type { RunningSimulator } from '../../src/simulator';

/** A client of a running simulator with fast retries, recording every call. */
export function clientFor(
  sim: RunningSimulator,
  options: Partial<DpodClientOptions> = {},
): { client: DpodClient; calls: DpodCallRecord[] } {
  const calls: DpodCallRecord[] = [];
  const client = new DpodClient({
    apiUrl: sim.url,
    tokenUrl: sim.tokenUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    retryBaseMs: 5,
    retryMaxMs: 50,
    timeoutMs: 5000,
    deadlineMs: 20_000,
    ...options,
    onCall: (c) => calls.push(c),
  });
  return { client, calls };
}

/** Reads a stream to one buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON lines of a gzip body. */
export function gunzipLines(body: Buffer): string[] {
  return gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
}
