import { describeConnectionFailure, serverOf } from '../../src/db/connection-failure';

describe('serverOf', () => {
  it('gives host:port without user or password, defaulting the port to 5432', () => {
    expect(serverOf('postgres://bob:secret@db.internal:6432/audit')).toBe('db.internal:6432');
    expect(serverOf('postgresql://bob:secret@db.internal/audit')).toBe('db.internal:5432');
    expect(serverOf('postgres://bob:secret@[::1]:5433/audit')).toBe('[::1]:5433');
    expect(serverOf('postgres:///audit?host=/var/run/postgresql')).toBe('/var/run/postgresql:5432');
  });
});

describe('describeConnectionFailure', () => {
  const source = { variable: 'DATABASE_URL', url: 'postgres://bob:secret@db.internal:6432/audit' };

  it("recognises pg's message when a SCRAM server asks for a password the URL lacks", () => {
    const err = new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string');
    expect(describeConnectionFailure(err, source)).toBe(
      'cannot log in to PostgreSQL at db.internal:6432 (DATABASE_URL): the server asks for a password and the URL has none — add it (postgres://user:password@host:port/database)',
    );
  });

  it('leaves other errors (a failing statement) alone', () => {
    expect(
      describeConnectionFailure(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }), source),
    ).toBeUndefined();
  });
});
