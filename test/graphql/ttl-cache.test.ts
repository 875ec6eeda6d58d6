import { TtlCache } from '../../src/graphql/live/ttl-cache';

describe('TtlCache', () => {
  let now = 0;
  const cache = () => new TtlCache({ ttlSeconds: 10, staleIfErrorSeconds: 100, now: () => now });
  beforeEach(() => {
    now = 1_000_000;
  });

  it('serves a fresh entry without calling upstream, and refetches after the TTL', async () => {
    const c = cache();
    let calls = 0;
    const fetch = () => Promise.resolve(++calls);
    expect(await c.get('k', fetch)).toBe(1);
    now += 9_999;
    expect(await c.get('k', fetch)).toBe(1);
    now += 1;
    expect(await c.get('k', fetch)).toBe(2);
    expect(c.stats).toMatchObject({ hits: 1, misses: 2 });
  });

  it('coalesces concurrent misses of one key into one upstream call', async () => {
    const c = cache();
    let calls = 0;
    let release!: (v: string) => void;
    const fetch = () => {
      calls++;
      return new Promise<string>((r) => (release = r));
    };
    const all = Promise.all([c.get('k', fetch), c.get('k', fetch), c.get('k', fetch)]);
    release('v');
    expect(await all).toEqual(['v', 'v', 'v']);
    expect(calls).toBe(1);
    expect(c.stats.coalesced).toBe(2);
  });

  it('serves a stale entry when upstream fails, until it is too old', async () => {
    const c = cache();
    await c.get('k', () => Promise.resolve('old'));
    now += 50_000;
    expect(await c.get('k', () => Promise.reject(new Error('down')))).toBe('old');
    now += 50_000;
    await expect(c.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(c.stats).toMatchObject({ staleServed: 1, errors: 2 });
  });

  it('asks upstream again on the next request after a failure, and a success is served at once', async () => {
    const c = cache();
    let calls = 0;
    const down = () => Promise.reject(new Error(`down ${++calls}`));
    await expect(c.get('k', down)).rejects.toThrow('down 1');
    await expect(c.get('k', down)).rejects.toThrow('down 2');
    expect(await c.get('k', () => Promise.resolve('back'))).toBe('back');
    expect(await c.get('k', down)).toBe('back');
    expect(calls).toBe(2);
    expect(c.stats).toEqual({ hits: 1, misses: 3, coalesced: 0, staleServed: 0, errors: 2 });
  });

  it('keeps serving the stale entry through repeated failures', async () => {
    const c = cache();
    await c.get('k', () => Promise.resolve('old'));
    now += 20_000;
    let calls = 0;
    const down = () => Promise.reject(new Error(`down ${++calls}`));
    expect(await c.get('k', down)).toBe('old');
    now += 1_000;
    expect(await c.get('k', down)).toBe('old');
    expect(calls).toBe(2);
    expect(c.stats).toEqual({ hits: 0, misses: 3, coalesced: 0, staleServed: 2, errors: 2 });
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const c = new TtlCache({ ttlSeconds: 10, maxEntries: 2, now: () => now });
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.size).toBe(2);
    let calls = 0;
    expect(await c.get('a', () => Promise.resolve((calls++, 'refetched')))).toBe('refetched');
    expect(await c.get('c', () => Promise.resolve((calls++, 'no')))).toBe(3);
    expect(calls).toBe(1);
  });

  it('caches null results (unknown ids) like any other', async () => {
    const c = cache();
    let calls = 0;
    const fetch = () => Promise.resolve((calls++, null));
    expect(await c.get('gone', fetch)).toBeNull();
    expect(await c.get('gone', fetch)).toBeNull();
    expect(calls).toBe(1);
  });
});
