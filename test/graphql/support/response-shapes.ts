// Shapes of the connection parts that test queries select, for typing `gql<TData>()` answers.

/** `pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** A connection's `nodes` (with `totalCount` when selected). */
export interface Nodes<TNode> {
  totalCount?: number;
  nodes: TNode[];
}

/** A node that is only its `id`. */
export interface Id {
  id: string;
}
