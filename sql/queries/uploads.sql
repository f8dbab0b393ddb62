-- Keys of a streamed bulk upload, to find a row that repeats a row of an earlier batch.
-- The table lives for the upload's transaction only.

-- name: keys_table
create temp table if not exists upload_keys (
    key text primary key,
    row_no integer not null
) on commit drop;

-- name: claim_keys
-- $1 keys, $2 row numbers of one batch. Returns the rows whose key an earlier batch already
-- claimed (the statement's snapshot does not see the rows it inserts), then claims the rest;
-- repeats inside the batch are the store function's own check. Uses upload_keys_pkey.
with given as (
    select g.key, g.row_no from unnest($1::text[], $2::int[]) as g(key, row_no)
),
claimed as (
    insert into upload_keys (key, row_no)
    select key, min(row_no) from given group by key
    on conflict (key) do nothing
)
select g.key, g.row_no, k.row_no as first_row
from given g
join upload_keys k on k.key = g.key
order by g.row_no;
