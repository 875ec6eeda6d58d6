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
    const fetch = async () => ++calls;
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
    await c.get('k', async () => 'old');
    now += 50_000;
    expect(await c.get('k', async () => Promise.reject(new Error('down')))).toBe('old');
    now += 50_000;
    await expect(c.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(c.stats).toMatchObject({ staleServed: 1, errors: 2 });
  });

  it('remembers a failure for 5 s: the key fails at once without asking upstream, then is asked again', async () => {
    const c = cache();
    let calls = 0;
    const down = async () => {
      calls++;
      throw new Error(`down ${calls}`);
    };
    await expect(c.get('k', down)).rejects.toThrow('down 1');
    now += 4_999;
    await expect(c.get('k', down)).rejects.toThrow('down 1');
    expect(calls).toBe(1);
    now += 1;
    await expect(c.get('k', down)).rejects.toThrow('down 2');
    expect(calls).toBe(2);
    // Other keys are asked as usual, and a success forgets the failure.
    expect(await c.get('other', async () => 'fine')).toBe('fine');
    now += 5_000;
    expect(await c.get('k', async () => 'back')).toBe('back');
    expect(c.stats).toMatchObject({ failedFast: 1, errors: 2 });
  });

  it('serves the stale entry at once while a failure is remembered', async () => {
    const c = cache();
    await c.get('k', async () => 'old');
    now += 20_000;
    let calls = 0;
    const down = async () => {
      calls++;
      throw new Error('down');
    };
    expect(await c.get('k', down)).toBe('old');
    now += 1_000;
    expect(await c.get('k', down)).toBe('old');
    expect(calls).toBe(1);
    expect(c.stats).toMatchObject({ staleServed: 2, errors: 1 });
  });

  it('caches null results (unknown ids) like any other', async () => {
    const c = cache();
    let calls = 0;
    const fetch = async () => {
      calls++;
      return null;
    };
    expect(await c.get('gone', fetch)).toBeNull();
    expect(await c.get('gone', fetch)).toBeNull();
    expect(calls).toBe(1);
  });
});
