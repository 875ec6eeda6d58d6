import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { PLACEHOLDER_IDS, type ExampleIds } from './example-queries';

/** Picks real ids for the GraphiQL examples from the latest event that names an HSM object (newest first, index order). */
export async function readExampleIds(db: Kysely<Database>): Promise<ExampleIds> {
  const { rows } = await sql<{ service_id: string; client_id: string; object_id: string | null }>`
    select service_id, client_id, object_ids[1] as object_id
    from audit_events
    where time > now() - interval '31 days' and cardinality(object_ids) > 0
    order by time desc
    limit 1`.execute(db);
  const row = rows[0];
  if (!row) return PLACEHOLDER_IDS;
  return { serviceId: row.service_id, clientId: row.client_id, objectId: row.object_id ?? PLACEHOLDER_IDS.objectId };
}
