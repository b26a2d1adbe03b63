-- Description of the seals (created by migration 0018; comments are re-applied on upgrade).
COMMENT ON TABLE pyevents.seals IS
    'Append-only chain of Merkle roots over the log: seal n covers positions first_position to last_position (gaps: [first, last] runs that held no event), leaves are its events'' leaf hashes (SHA-256 of 0x00 and the checksum, 32 bytes each), tree_size and root describe the tree of every sealed event, seal_hash chains it. Written by seal_events(), checked by verify_seals().';
