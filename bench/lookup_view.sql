-- pgbench: point lookup of one url and one day in a relation with columns
-- (url, day, views): the lambda view or the materialized view (-D rel=...).
-- :day is the epoch of a day start (-D day=...); urls /p/0../p/999 all exist.
\set n random(0, 999)
SELECT views FROM :rel WHERE url = '/p/' || :n AND day = to_timestamp(:day);
