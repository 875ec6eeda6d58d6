/**
 * A non-null live field (`Service.inDpod`, `Client.bound`) that had to answer `false` because DPoD could
 * not be asked. Throwing there would null the parent, and through non-null parents the audit data above
 * it; instead the field answers and the request's `errors` say, at that path, that it is unconfirmed.
 * (Its own module: the request context holds a list of them, and the plugin that reports them reads the context.)
 */
export interface UnconfirmedAnswer {
  path: readonly (string | number)[];
  message: string;
}
