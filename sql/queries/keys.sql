-- name: insert
-- Stores only the SHA-256 of the secret; the token itself is shown once by the caller.
insert into api_keys (prefix, secret_hash, role, unit_id, label)
values ($1, $2, $3, $4, $5)
returning id, prefix, role, unit_id, label, created_at, revoked_at

-- name: by_prefix
-- api_keys_prefix_key finds the row.
select id, secret_hash, role, unit_id, label, revoked_at from api_keys where prefix = $1

-- name: list
select k.id, k.prefix, k.role, u.code as unit_code, k.label, k.created_at, k.revoked_at
from api_keys k left join units u on u.id = k.unit_id
order by k.id

-- name: revoke
update api_keys set revoked_at = now()
where (prefix = $1 or id::text = $1) and revoked_at is null
returning id, prefix
