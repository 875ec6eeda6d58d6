import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian installs the PostgreSQL 15 server binaries. */
const BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

/** A primary PostgreSQL cluster and a hot standby streaming from it, each on its own port. */
export interface ReplicaPair {
  primaryUrl: string;
  standbyUrl: string;
  /** Stops both clusters; the standby alone with {@link stopStandby}. */
  stop(): Promise<void>;
  stopStandby(): Promise<void>;
}

/** Whether the server binaries are here (the test says so and fails in CI when they are not). */
export function replicaBinariesPresent(): boolean {
  return ['initdb', 'pg_ctl', 'pg_basebackup'].every((b) => existsSync(join(BIN, b)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary, as the `postgres` OS user when this process is root (the server refuses root). */
async function pg(binary: string, args: string[]): Promise<string> {
  const asRoot = userInfo().uid === 0;
  const [cmd, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(BIN, binary), ...args]]
    : [join(BIN, binary), args];
  const { stdout } = await run(cmd, argv, { timeout: 60_000 });
  return stdout;
}

/**
 * Creates a fresh primary (initdb, replication allowed from 127.0.0.1 without a password) and a hot standby made
 * from it by `pg_basebackup -R`, with `max_standby_streaming_delay = 0` so that a recovery conflict cancels a
 * standby query at once (what a busy replica does after its delay).
 */
export async function startReplicaPair(): Promise<ReplicaPair> {
  const dir = mkdtempSync(join(tmpdir(), 'dpod-replica-pair-'));
  chmodSync(dir, 0o755);
  const primaryDir = join(dir, 'primary');
  const standbyDir = join(dir, 'standby');
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  await pg('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  appendFileSync(
    join(primaryDir, 'postgresql.conf'),
    `\nport = ${primaryPort}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nwal_level = replica\nmax_wal_senders = 4\nfsync = off\n`,
  );
  writeFileSync(
    join(primaryDir, 'pg_hba.conf'),
    'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n',
  );
  await pg('pg_ctl', ['-D', primaryDir, '-l', join(dir, 'primary.log'), '-w', 'start']);
  const stopPrimary = () => pg('pg_ctl', ['-D', primaryDir, '-m', 'immediate', '-w', 'stop']).catch(() => '');
  let standbyUp = false;
  const stopStandby = async () => {
    if (!standbyUp) return;
    standbyUp = false;
    await pg('pg_ctl', ['-D', standbyDir, '-m', 'immediate', '-w', 'stop']).catch(() => '');
  };
  try {
    await pg('pg_basebackup', [
      '-D',
      standbyDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-R',
      '-X',
      'stream',
    ]);
    appendFileSync(
      join(standbyDir, 'postgresql.conf'),
      `\nport = ${standbyPort}\nhot_standby = on\nmax_standby_streaming_delay = 0\nhot_standby_feedback = off\n`,
    );
    await pg('pg_ctl', ['-D', standbyDir, '-l', join(dir, 'standby.log'), '-w', 'start']);
    standbyUp = true;
  } catch (err) {
    await stopPrimary();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    primaryUrl: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`,
    standbyUrl: `postgres://postgres@127.0.0.1:${standbyPort}/postgres`,
    stopStandby,
    async stop() {
      await stopStandby();
      await stopPrimary();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
