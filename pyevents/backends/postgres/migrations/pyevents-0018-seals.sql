-- depends: pyevents-0017-inline-checksums
-- Seals: the log's events in position order are the leaves of one Merkle tree (RFC 6962), and
-- each seal records the tree's root after the events it adds, chained to the seal before it.
-- A root kept outside the database proves every event under it unchanged. Sealing runs beside
-- the writers and only ever covers positions that are final (functions/seal_events.sql).

CREATE TABLE IF NOT EXISTS pyevents.seals (
    seal            bigint      PRIMARY KEY CHECK (seal >= 1),
    first_position  bigint      NOT NULL CHECK (first_position >= 1),
    last_position   bigint      NOT NULL CHECK (last_position >= first_position),
    gaps            bigint[]    NOT NULL,
    tree_size       bigint      NOT NULL CHECK (tree_size >= 1),
    leaves          bytea       NOT NULL CHECK (leaves <> '' AND octet_length(leaves) % 32 = 0),
    frontier        bytea[]     NOT NULL,
    root            bytea       NOT NULL CHECK (octet_length(root) = 32),
    previous_hash   bytea       CHECK (octet_length(previous_hash) = 32),
    sealed_at       timestamptz NOT NULL,
    seal_hash       bytea       NOT NULL CHECK (octet_length(seal_hash) = 32)
);
-- Hashes do not compress: stored out of line without trying.
ALTER TABLE pyevents.seals ALTER COLUMN leaves SET STORAGE EXTERNAL;

-- What the next seal may cover beyond the gap-free run: positions up to pending_max once
-- the oldest running transaction is past pending_horizon (the reasoning of stream_frontier).
CREATE TABLE IF NOT EXISTS pyevents.seal_mark (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pending_max      bigint,
    pending_horizon  xid8
);
INSERT INTO pyevents.seal_mark (singleton) VALUES (true) ON CONFLICT DO NOTHING;
