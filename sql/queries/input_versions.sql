-- name: versions
-- input_versions_pkey; a month never changed has no row (the caller reads it as version 0).
select month, version from input_versions where month = any($1::int4[])
