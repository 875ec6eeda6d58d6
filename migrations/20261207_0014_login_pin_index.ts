import { Kysely, sql } from 'kysely';

/**
 * Two partial indexes for PIN_FAILURE_BURST. One of the logins and PIN failures (a few percent of the events), covering what PIN_FAILURE_BURST
 * reads (src/detect/rules.ts, whose LOGIN_OR_PIN spells this predicate exactly): its pass reads the candidate
 * clients' logins of a day from this index alone instead of visiting one table page per login (0.42 s of a 1.3 s
 * pass at 250k events a day; docs/performance.md#detection). Built on every partition by the partitioned index.
 * Frozen history: never edit after it has shipped; add a new migration instead.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create index audit_events_login_pin on audit_events (client_id, time, id) include (service_id, action, status)
     where action = 'LUNA_LOGIN' or status in ('LUNA_RET_UM_PIN_INCORRECT', 'LUNA_RET_UM_PIN_INCORRECT_CONTAINER_LOCKED',
                                               'LUNA_RET_UM_PIN_LEN_RANGE', 'LUNA_RET_TOKEN_LOCKED_OUT',
                                               'LUNA_RET_CONTAINER_LOCKED')`.execute(db);
  // The failures alone by time (PIN_FAILURE in rules.ts): which clients had enough of them within a window, read
  // without touching logins or the table.
  await sql`
    create index audit_events_pin_failures on audit_events (time) include (service_id, client_id)
     where (action = 'LUNA_LOGIN' and status <> 'LUNA_RET_OK')
        or status in ('LUNA_RET_UM_PIN_INCORRECT', 'LUNA_RET_UM_PIN_INCORRECT_CONTAINER_LOCKED', 'LUNA_RET_UM_PIN_LEN_RANGE',
                      'LUNA_RET_TOKEN_LOCKED_OUT', 'LUNA_RET_CONTAINER_LOCKED')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists audit_events_pin_failures`.execute(db);
  await sql`drop index if exists audit_events_login_pin`.execute(db);
}
