import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to PostgreSQL whose open connections can go silent at once, as when a firewall or a NAT forgets
 * them after a failover: bytes are swallowed in both directions and nobody closes anything. Connections made
 * after `silence()` are forwarded normally.
 */
export class SilencingProxy {
  private readonly pairs: { client: Socket; server: Socket; silent: boolean }[] = [];
  private readonly server: Server;
  connections = 0;

  private refusing = false;

  constructor(target: URL) {
    this.server = createServer((client) => {
      if (this.refusing) {
        client.resetAndDestroy();
        return;
      }
      this.connections++;
      const server = connect(Number(target.port || 5432), target.hostname);
      const pair = { client, server, silent: false };
      this.pairs.push(pair);
      client.on('data', (d) => pair.silent || server.write(d));
      server.on('data', (d) => pair.silent || client.write(d));
      client.on('error', () => undefined);
      server.on('error', () => undefined);
      client.on('close', () => pair.silent || server.destroy());
      server.on('close', () => pair.silent || client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** Every connection open now stops passing bytes, without closing. */
  silence(): void {
    for (const pair of this.pairs) pair.silent = true;
  }

  /** Every connection open now is reset (RST), as when a failover or a proxy restart cuts it. */
  reset(): void {
    for (const pair of this.pairs) if (!pair.client.destroyed) pair.client.resetAndDestroy();
  }

  /** New connections are reset at once, as by a database host that is down. */
  refuseNew(): void {
    this.refusing = true;
  }

  /** The proxied URL: `target` with the proxy's host and port. */
  url(target: string): string {
    const url = new URL(target);
    url.host = `127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return url.toString();
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}
