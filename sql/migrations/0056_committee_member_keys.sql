-- 0056_committee_member_keys: committee shares sealed to their members' own keys (issue 18;
-- docs/ballots.md "Sealed ballots").
--
-- Until now a dealt share waited for its member sealed with a key derived from the service's
-- secret, so the database plus that secret opened every share not yet collected. Now each
-- person who sits on counting committees registers an X25519 public key (made in their
-- browser or on their own machine; the private key never reaches the service), and at open
-- each share is a sealed box to that key. The service keeps no share it could open.

-- A person's registered committee key (public half only) and when it was registered.
alter table users
    add column committee_public_key bytea
        constraint users_committee_key_length check (length(committee_public_key) = 32),
    add column committee_key_at timestamptz;

-- The share sealed to the member's key at open, and which key that was (a member who
-- registers a new key later still opens this round's share with the earlier file).
-- `wrapped_share` stays only for rounds opened before this migration.
alter table ballot_committee
    add column sealed_share bytea,
    add column member_public_key bytea;
