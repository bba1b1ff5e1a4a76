-- Bad-argument battery: every function and aggregate the extension installs
-- (found through pg_depend, so new ones are picked up), called with NULL for
-- every argument and for each in turn, with bad values of each argument's
-- type, and with hand-written type confusion (aggregates fed other types,
-- witnesses of other types, states of other aggregates, random bytes as
-- states, column definition lists that lie about the tail), once as a role
-- without privileges and once as the superuser.  Every call runs in its own
-- subtransaction, which is rolled back even when the call succeeds, so calls
-- with side effects (drop_view, purge, alter_view, ...) leave nothing behind.
-- One line per (function, case) shows the SQLSTATE class each role got: no
-- call may end with an internal error (XX000) or crash the server.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lambda_views;
CREATE ROLE lv_battery_nobody;
CREATE SCHEMA battery;
GRANT USAGE ON SCHEMA battery TO lv_battery_nobody;
SET search_path = battery, public;

-- A real lambda view, with committed rows beyond its speed watermark so the
-- real-time tail has rows to return; a second one on another source is the
-- throwaway target of the calls that drop, alter, roll back or purge.
CREATE TABLE battery.pageviews (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url text,
    ts  timestamptz
);
INSERT INTO battery.pageviews (url, ts)
SELECT '/p/' || (i % 5), timestamptz '2026-01-01 00:00+00' + i * interval '3 hours'
  FROM generate_series(1, 40) i;
SELECT lambda_views.create_view('pv_daily',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views, max(url) AS top
      FROM pageviews GROUP BY 1, 2$$)::text AS created;
INSERT INTO battery.pageviews (url, ts)
SELECT '/p/' || (i % 3), timestamptz '2026-02-01 00:00+00' + i * interval '3 hours'
  FROM generate_series(1, 10) i;

CREATE TABLE battery.spare (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    k  text,
    ts timestamptz
);
INSERT INTO battery.spare (k, ts)
SELECT 'k' || (i % 4), timestamptz '2026-01-01 00:00+00' + i * interval '1 hour'
  FROM generate_series(1, 20) i;
SELECT lambda_views.create_view('battery.pv_spare',
  'SELECT k, count(*) AS n, sum(id) AS s FROM battery.spare GROUP BY k')::text AS created;
SELECT view_name, pending_rows
  FROM lambda_views.status s JOIN lambda_views.views v USING (view_id)
 WHERE v.view_schema = 'battery' ORDER BY view_name;

-- The type of stored partial states (the second argument of finalize), and
-- two converters that work whatever it is: st() turns bytes into a state
-- through the type's text input (so a role may only forge what that input
-- lets it), bytes() turns any state back into its bytes.
SELECT format_type(p.proargtypes[1], NULL) AS state_type
  FROM pg_proc p
 WHERE p.oid = 'lambda_views.finalize'::regproc \gset
SELECT format($f$CREATE FUNCTION battery.st(b bytea) RETURNS %1$s
                 LANGUAGE sql AS $b$SELECT ('\x' || encode(b, 'hex'))::text::%1$s$b$$f$,
              :'state_type') AS create_st \gexec
CREATE FUNCTION battery.bytes(s anyelement) RETURNS bytea
LANGUAGE sql AS $$SELECT decode(substr(s::text, 3), 'hex')$$;

-- try() runs one call in a subtransaction and returns 'ok' or the SQLSTATE;
-- a call that succeeds is rolled back as well.
CREATE FUNCTION battery.try(call text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE call;
        RAISE EXCEPTION 'undo' USING ERRCODE = 'LVOK0';
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN SQLSTATE = 'LVOK0' THEN 'ok' ELSE SQLSTATE END;
    END;
END $$;

-- The functions and aggregates of the extension, with their input arguments.
CREATE VIEW battery.routines AS
SELECT p.oid AS fn,
       format('%I.%I', n.nspname, p.proname) AS qualified,
       p.prokind, p.proretset, p.prorettype,
       a.ord, a.typ, COALESCE(a.name, '') AS argname
  FROM pg_depend d
  JOIN pg_proc p ON p.oid = d.objid
  JOIN pg_namespace n ON n.oid = p.pronamespace
  LEFT JOIN LATERAL (
      SELECT row_number() OVER (ORDER BY x.o) AS ord, x.typ, x.name
        FROM unnest(COALESCE(p.proallargtypes, p.proargtypes::oid[]),
                    COALESCE(p.proargmodes, array_fill('i'::"char", ARRAY[cardinality(p.proargtypes::oid[])])),
                    p.proargnames) WITH ORDINALITY AS x(typ, mode, name, o)
       WHERE x.mode IN ('i', 'b', 'v')) a ON true
 WHERE d.classid = 'pg_proc'::regclass
   AND d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lambda_views')
   AND d.deptype = 'e';

-- the view ids and states the calls use
SELECT view_id AS pv_id FROM lambda_views.views
 WHERE view_schema = 'battery' AND view_name = 'pv_daily' \gset
CREATE TABLE battery.fixtures (name text PRIMARY KEY, expr text NOT NULL);
INSERT INTO battery.fixtures VALUES
  ('count_state', $$(SELECT lambda_views.partial('pg_catalog.count()'::regprocedure) FROM generate_series(1, 3))$$),
  ('sum_state', $$(SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, g::bigint) FROM generate_series(1, 3) g)$$),
  ('avg_numeric_state', $$(SELECT lambda_views.partial('pg_catalog.avg(numeric)'::regprocedure, g::numeric) FROM generate_series(1, 3) g)$$),
  ('max_text_state', $$(SELECT lambda_views.partial('pg_catalog.max(text)'::regprocedure, g::text) FROM generate_series(1, 3) g)$$),
  ('random_bytes', $$battery.st(decode(md5('1') || md5('2'), 'hex'))$$),
  ('row_random_bytes', $$battery.st(decode(md5(g::text) || md5((g + 1)::text), 'hex'))$$),
  ('tail_columns', format('k1 text, k2 timestamptz, s1 %1$s, s2 %1$s, nrows bigint', :'state_type'));
-- the header of a real state of agg over 1, 2, 3 (empty when states carry
-- none): what it is stored with, less the payload the aggregate sends
CREATE FUNCTION battery.header(agg regprocedure, arg text, payload bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s bytea;
BEGIN
    EXECUTE format('SELECT battery.bytes(lambda_views.partial(%L::regprocedure, %s)) FROM generate_series(1, 3) g',
                   agg, arg) INTO s;
    RETURN format('%L::bytea', substr(s, 1, length(s) - length(payload)));
END $$;

-- good(): a plausible value for an argument, so that a NULL or bad value in
-- another argument is what the call trips over; the destructive calls
-- target the throwaway view and source.
CREATE FUNCTION battery.good(fname text, argname text, argtype regtype) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    throwaway bool := fname IN ('drop_view', 'alter_view', 'rollback_view', 'purge');
BEGIN
    RETURN CASE
        WHEN argtype = 'internal'::regtype THEN 'NULL::internal'
        WHEN argtype = 'int4'::regtype AND argname IN ('view_id', 'vid') THEN
             format('%s', (SELECT view_id FROM lambda_views.views
                            WHERE view_schema = 'battery' AND view_name = 'pv_daily'))
        WHEN argtype = 'int4'::regtype THEN '10'
        WHEN argtype = 'int8'::regtype THEN '1::bigint'
        WHEN argtype IN ('text'::regtype, 'name'::regtype) THEN
             format('%L::%s', CASE
                 WHEN argname = 'name' AND fname = 'create_view' THEN 'battery.pv_new'
                 WHEN argname = 'name' AND throwaway THEN 'battery.pv_spare'
                 WHEN argname = 'name' THEN 'battery.pv_daily'
                 WHEN argname = 'query' AND fname = 'alter_view' THEN
                      'SELECT k, count(*) AS n FROM battery.spare GROUP BY k'
                 WHEN argname = 'query' THEN
                      'SELECT k, max(ts) AS last FROM battery.spare GROUP BY k'
                 WHEN argname = 'sql' THEN 'SELECT 1 WHERE false'
                 WHEN argname IN ('search_path', 'path') THEN 'battery, public'
                 WHEN argname = 'check_name' THEN 'battery_check'
                 WHEN argname = 'append_key' THEN 'id'
                 WHEN argname = 'ts_column' THEN 'ts'
                 WHEN argname = 'pattern' THEN 'pv'
                 ELSE 'battery' END, argtype)
        WHEN argtype = 'interval'::regtype THEN '''1 hour''::interval'
        WHEN argtype = 'bool'::regtype THEN 'true'
        WHEN argtype = 'regrole'::regtype THEN 'current_user::text::regrole'
        WHEN argtype = 'regclass'::regtype THEN
             format('%L::regclass', CASE
                 WHEN throwaway THEN 'battery.spare'
                 WHEN argname = 'source' THEN 'battery.pageviews'
                 ELSE 'battery.pv_daily' END)
        WHEN argtype = 'numeric'::regtype THEN '1::numeric'
        WHEN argtype = 'text[]'::regtype THEN '''{battery}''::text[]'
        WHEN argtype = 'jsonb'::regtype THEN '''{}''::jsonb'
        WHEN argtype = 'timestamptz'::regtype THEN '''2000-01-01 00:00+00''::timestamptz'
        WHEN argtype = 'regprocedure'::regtype AND fname = 'partial' THEN
             '''pg_catalog.sum(bigint)''::regprocedure'
        WHEN argtype = 'regprocedure'::regtype THEN '''pg_catalog.count()''::regprocedure'
        WHEN argtype IN ('bytea'::regtype, to_regtype(current_setting('battery.state_type'))) THEN
             (SELECT expr FROM battery.fixtures WHERE name = 'count_state')
        WHEN argtype IN ('anyelement'::regtype, '"any"'::regtype) THEN '0::bigint'
        ELSE format('NULL::%s', format_type(argtype, NULL)) END;
END $$;

-- bad(): bad values of an argument's type.
CREATE FUNCTION battery.bad(fname text, argname text, argtype regtype)
RETURNS TABLE (label text, expr text)
LANGUAGE plpgsql AS $$
BEGIN
    IF argtype = 'int4'::regtype AND argname IN ('view_id', 'vid') THEN
        RETURN QUERY VALUES ('-1', '-1'), ('0', '0'), ('2147483647', '2147483647');
    ELSIF argtype = 'int4'::regtype THEN
        RETURN QUERY VALUES ('0', '0'), ('-1', '-1');
    ELSIF argtype IN ('text'::regtype, 'name'::regtype) THEN
        RETURN QUERY
        SELECT quote_literal(v), format('%L::%s', v, argtype)
          FROM unnest(CASE
            WHEN argname = 'name' THEN
                 ARRAY['no_such_view', '', 'pg_catalog.pg_class', 'battery.pageviews', 'a.b.c.d', '"unterminated']
            WHEN argname = 'query' THEN
                 ARRAY['', 'not sql', 'SELECT 1',
                       'SELECT relname, count(*) FROM pg_catalog.pg_class GROUP BY 1',
                       'SELECT k, count(*) FROM battery.spare GROUP BY k; DROP TABLE battery.spare']
            WHEN argname = 'sql' THEN
                 ARRAY['', 'DELETE FROM battery.pageviews', 'SELECT 1; SELECT 2',
                       'SELECT 1) x, (SELECT 1', '-- nothing but a comment']
            WHEN argname IN ('search_path', 'path') THEN ARRAY['"', 'no_such_schema']
            WHEN argname = 'check_name' THEN ARRAY['', 'completeness']
            WHEN argname IN ('append_key', 'ts_column') THEN ARRAY['no_such_column', 'url', '']
            ELSE ARRAY[''] END) v;
    ELSIF argtype = 'interval'::regtype THEN
        RETURN QUERY
        SELECT quote_literal(v), format('%L::interval', v)
          FROM unnest(ARRAY['0', '-1 second', '1 microsecond', '25 days', '1000 years', '-1000 years']) v;
    ELSIF argtype = 'regrole'::regtype THEN
        RETURN QUERY VALUES ('role 0', '0::oid::regrole'), ('pg_read_all_data', '''pg_read_all_data''::regrole');
    ELSIF argtype = 'regclass'::regtype THEN
        RETURN QUERY VALUES ('relation 0', '0::oid::regclass'),
                            ('pg_catalog.pg_class', '''pg_catalog.pg_class''::regclass'),
                            ('battery.pv_daily (a view)', '''battery.pv_daily''::regclass'),
                            ('relation 4294967295', '4294967295::oid::regclass');
    ELSIF argtype = 'numeric'::regtype THEN
        RETURN QUERY VALUES ('-1', '-1::numeric'), ('NaN', '''NaN''::numeric'), ('2', '2::numeric');
    ELSIF argtype = 'timestamptz'::regtype THEN
        RETURN QUERY VALUES ('infinity', '''infinity''::timestamptz'), ('-infinity', '''-infinity''::timestamptz');
    ELSIF argtype = 'text[]'::regtype THEN
        RETURN QUERY VALUES ('{NULL}', '''{NULL}''::text[]'), ('{}', '''{}''::text[]');
    ELSIF argtype = 'jsonb'::regtype THEN
        RETURN QUERY VALUES ('[]', '''[]''::jsonb'), ('{"nope": "x"}', '''{"nope": "x"}''::jsonb'),
                            ('{"views": 1}', '''{"views": 1}''::jsonb');
    ELSIF argtype = 'regprocedure'::regtype THEN
        RETURN QUERY
        SELECT v, format('%L::regprocedure', v)
          FROM unnest(ARRAY['pg_catalog.now()', 'pg_catalog.max(text)', 'pg_catalog.avg(numeric)',
                            'pg_catalog.string_agg(text,text)', 'pg_catalog.max(anyarray)',
                            'pg_catalog.percentile_cont(double precision,double precision)']) v
        UNION ALL VALUES ('function 0', '0::oid::regprocedure'),
                         ('function 4294967295', '4294967295::oid::regprocedure');
    ELSIF argtype IN ('bytea'::regtype, to_regtype(current_setting('battery.state_type'))) THEN
        RETURN QUERY
        SELECT f.name, f.expr FROM battery.fixtures f
         WHERE f.name IN ('random_bytes', 'avg_numeric_state', 'max_text_state')
        UNION ALL VALUES ('empty', 'battery.st(''\x'')'),
                         ('version byte, no aggregate', 'battery.st(''\x01'')'),
                         ('version byte, unknown aggregate', 'battery.st(''\x010000000000000000ffff'')');
    ELSIF argtype = 'cstring'::regtype THEN
        RETURN QUERY VALUES ('''\x''', '''\x''::cstring'), ('''\x01''', '''\x01''::cstring'),
                            ('''not hex''', '''not hex''::cstring'),
                            ('random bytes', format('%L::cstring', '\x' || md5('1') || md5('2')));
    ELSIF argtype = 'anyelement'::regtype THEN
        RETURN QUERY VALUES ('''x''::text', '''x''::text'), ('1::integer', '1::integer'),
                            ('1.5::numeric', '1.5::numeric'), ('''{1}''::integer[]', '''{1}''::integer[]');
    ELSIF argtype = '"any"'::regtype THEN
        RETURN QUERY VALUES ('''x''::text', '''x''::text'), ('1::integer', '1::integer');
    END IF;
END $$;
SELECT set_config('battery.state_type', :'state_type', false) IS NOT NULL AS noted;

-- call(): the SQL of one call of a routine with these argument expressions.
CREATE FUNCTION battery.call(r regprocedure, args text[]) RETURNS text
LANGUAGE sql AS $$
SELECT CASE
         WHEN p.prokind = 'a' THEN
              format('SELECT %s(%s) FROM generate_series(1, 3) AS g', q.qualified, array_to_string(args, ', '))
         WHEN p.proretset AND p.prorettype = 'record'::regtype AND p.proallargtypes IS NULL THEN
              format('SELECT md5(string_agg(t::text, '','')) FROM %s(%s) AS t(%s)', q.qualified,
                     array_to_string(args, ', '),
                     (SELECT expr FROM battery.fixtures WHERE name = 'tail_columns'))
         WHEN p.proretset THEN
              format('SELECT md5(string_agg(t::text, '','')) FROM %s(%s) AS t', q.qualified, array_to_string(args, ', '))
         ELSE format('SELECT %s(%s)', q.qualified, array_to_string(args, ', ')) END
  FROM pg_proc p, LATERAL (SELECT format('%I.%I', n.nspname, p.proname) AS qualified
                             FROM pg_namespace n WHERE n.oid = p.pronamespace) q
 WHERE p.oid = r
$$;

CREATE TABLE battery.cases (
    id    serial PRIMARY KEY,
    fn    text NOT NULL,        -- the routine, e.g. lambda_views.fold(text)
    label text NOT NULL,        -- the case
    call  text NOT NULL         -- SQL (never printed: it holds view ids)
);

-- Hand-written cases first: type confusion through the polymorphic, "any"
-- and state arguments, and lying column definition lists.  They run before
-- any fold or recompute of the battery, while the tail has rows.
CREATE TEMP TABLE hand (fn text, label text, call text);
INSERT INTO hand
SELECT 'lambda_views.tail(integer,regclass)', c.label,
       format('SELECT md5(string_agg(t::text, '','')) FROM lambda_views.tail(%s, ''battery.pageviews'') AS t(%s)',
              :pv_id, c.cols)
  FROM (VALUES
    ('the real columns', (SELECT expr FROM battery.fixtures WHERE name = 'tail_columns')),
    ('text key declared bigint', format('k1 bigint, k2 timestamptz, s1 %1$s, s2 %1$s, nrows bigint', :'state_type')),
    ('timestamptz key declared text', format('k1 text, k2 text, s1 %1$s, s2 %1$s, nrows bigint', :'state_type')),
    ('states declared text', 'k1 text, k2 timestamptz, s1 text, s2 text, nrows bigint'),
    ('states declared bigint', 'k1 text, k2 timestamptz, s1 bigint, s2 bigint, nrows bigint'),
    ('nrows declared text', format('k1 text, k2 timestamptz, s1 %1$s, s2 %1$s, nrows text', :'state_type')),
    ('one column too few', format('k1 text, k2 timestamptz, s1 %1$s, s2 %1$s', :'state_type')),
    ('one column too many', format('k1 text, k2 timestamptz, s1 %1$s, s2 %1$s, nrows bigint, extra bigint', :'state_type')),
    ('a single bigint column', 'x bigint')) AS c(label, cols);

INSERT INTO hand
SELECT 'lambda_views.partial(regprocedure,"any")', label,
       format('SELECT lambda_views.partial(%s) FROM generate_series(1, 3) AS g', args)
  FROM (VALUES
    ('max(text) fed a bigint', '''pg_catalog.max(text)''::regprocedure, 1::bigint'),
    ('max(text) fed an unknown literal', '''pg_catalog.max(text)''::regprocedure, ''abc'''),
    ('max(text) fed VARIADIC text[]', '''pg_catalog.max(text)''::regprocedure, VARIADIC ARRAY[''a'', ''b'']'),
    ('max(text) fed random bytes', '''pg_catalog.max(text)''::regprocedure, decode(md5(g::text) || md5((g + 1)::text), ''hex'')'),
    ('count("any") fed random bytes', '''pg_catalog.count("any")''::regprocedure, decode(md5(g::text) || md5((g + 1)::text), ''hex'')'),
    ('count() fed an argument', '''pg_catalog.count()''::regprocedure, g'),
    ('sum(bigint) fed two arguments', '''pg_catalog.sum(bigint)''::regprocedure, g::bigint, g::bigint'),
    ('corr() fed one argument', '''pg_catalog.corr(double precision,double precision)''::regprocedure, g::float8'),
    ('max(anyarray) (polymorphic)', '''pg_catalog.max(anyarray)''::regprocedure, ARRAY[g]'),
    ('string_agg (no combine function)', '''pg_catalog.string_agg(text,text)''::regprocedure, g::text, '',''::text'),
    ('percentile_cont (ordered-set)', '''pg_catalog.percentile_cont(double precision,double precision)''::regprocedure, 0.5::float8, g::float8'),
    ('now() (not an aggregate)', '''pg_catalog.now()''::regprocedure, g'),
    ('the aggregate of a state', '''lambda_views.partial(regprocedure,"any")''::regprocedure, ''pg_catalog.count()''::regprocedure, g')
  ) AS c(label, args)
UNION ALL
SELECT 'lambda_views.partial(regprocedure,"any")', 'NULL aggregate over no rows',
       'SELECT lambda_views.partial(NULL::regprocedure, 1::bigint) FROM generate_series(1, 0)'
UNION ALL
SELECT 'lambda_views.partial(regprocedure)', label,
       format('SELECT lambda_views.partial(%L::regprocedure) FROM generate_series(1, %s)', agg, n)
  FROM (VALUES ('max(text) fed no argument', 'pg_catalog.max(text)', 3),
               ('max(text) fed no argument, over no rows', 'pg_catalog.max(text)', 0),
               ('corr() fed no argument', 'pg_catalog.corr(double precision,double precision)', 3)) AS c(label, agg, n)
UNION ALL
SELECT 'lambda_views.partial(regprocedure)', 'NULL aggregate over no rows',
       'SELECT lambda_views.partial(NULL::regprocedure) FROM generate_series(1, 0)';

INSERT INTO hand
SELECT 'lambda_views.merge(regprocedure,' || :'state_type' || ',anyelement,boolean)', label,
       format('SELECT lambda_views.merge(%s) FROM generate_series(1, %s) AS g', args, n)
  FROM (VALUES
    ('count() with a text witness', format('''pg_catalog.count()''::regprocedure, %s, ''x''::text, false',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state')), 3),
    ('count() with a numeric witness', format('''pg_catalog.count()''::regprocedure, %s, 1.5::numeric, false',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state')), 3),
    ('max(text) with a bigint witness', format('''pg_catalog.max(text)''::regprocedure, %s, 0::bigint, false',
       (SELECT expr FROM battery.fixtures WHERE name = 'max_text_state')), 3),
    ('count() with a text witness, over no rows', '''pg_catalog.count()''::regprocedure, NULL, ''x''::text, false', 0),
    ('NULL aggregate, over no rows', 'NULL::regprocedure, NULL, 0::bigint, false', 0),
    ('count() with random bytes per row', format('''pg_catalog.count()''::regprocedure, %s, 0::bigint, false',
       (SELECT expr FROM battery.fixtures WHERE name = 'row_random_bytes')), 3),
    ('count() with random bytes after a batch row', format('''pg_catalog.count()''::regprocedure, %s, 0::bigint, g = 1',
       (SELECT expr FROM battery.fixtures WHERE name = 'row_random_bytes')), 3),
    ('count() with states of avg(numeric)', format('''pg_catalog.count()''::regprocedure, %s, 0::bigint, false',
       (SELECT expr FROM battery.fixtures WHERE name = 'avg_numeric_state')), 3),
    ('avg(numeric) with states of count()', format('''pg_catalog.avg(numeric)''::regprocedure, %s, 0::numeric, false',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state')), 3),
    ('count(): a lone batch row with a state of avg(numeric)', format('''pg_catalog.count()''::regprocedure, %s, 7::bigint, true',
       (SELECT expr FROM battery.fixtures WHERE name = 'avg_numeric_state')), 1),
    ('count(): a batch row with a state of avg(numeric), then more', format('''pg_catalog.count()''::regprocedure, %s, 7::bigint, g = 1',
       (SELECT expr FROM battery.fixtures WHERE name = 'avg_numeric_state')), 3),
    ('max(anyarray) (polymorphic)', '''pg_catalog.max(anyarray)''::regprocedure, NULL, ''{1}''::int[], false', 3)
  ) AS c(label, args, n);

-- states forged under the header of the right aggregate (only a role the
-- state type's input accepts can build these)
INSERT INTO hand
SELECT 'lambda_views.finalize(regprocedure,' || :'state_type' || ',anyelement)', label,
       format('SELECT lambda_views.finalize(%L::regprocedure, battery.st(%s || %s), %s)',
              agg, battery.header(agg::regprocedure, arg, sample), payload, witness)
  FROM (VALUES
    ('avg(integer): the real state', 'pg_catalog.avg(integer)', 'g', array_send('{3,6}'::int8[]),
     'array_send(''{3,6}''::int8[])', '0::numeric'),
    ('avg(integer): 3-element int8 array', 'pg_catalog.avg(integer)', 'g', array_send('{3,6}'::int8[]),
     'array_send(''{1,2,3}''::int8[])', '0::numeric'),
    ('avg(integer): int8 array with a NULL', 'pg_catalog.avg(integer)', 'g', array_send('{3,6}'::int8[]),
     'array_send(''{1,NULL}''::int8[])', '0::numeric'),
    ('avg(integer): int4 array', 'pg_catalog.avg(integer)', 'g', array_send('{3,6}'::int8[]),
     'array_send(''{1,2}''::int4[])', '0::numeric'),
    ('avg(double precision): 1-element float8 array', 'pg_catalog.avg(double precision)', 'g::float8',
     array_send('{3,6,14}'::float8[]), 'array_send(''{1}''::float8[])', '0::float8'),
    ('avg(double precision): 2-D float8 array', 'pg_catalog.avg(double precision)', 'g::float8',
     array_send('{3,6,14}'::float8[]), 'array_send(''{{1,2,3}}''::float8[])', '0::float8'),
    ('avg(interval): 1-element interval array', 'pg_catalog.avg(interval)', 'make_interval(hours => g)',
     array_send('{6 hours,3 hours}'::interval[]), 'array_send(''{1 day}''::interval[])', '''0''::interval'),
    ('max(text): bytes that are not UTF-8', 'pg_catalog.max(text)', 'g::text', textsend('3'),
     'decode(''ff00fe'', ''hex'')', '''''::text')
  ) AS c(label, agg, arg, sample, payload, witness);
-- count() takes no argument: its header comes from the real state
INSERT INTO hand
SELECT 'lambda_views.finalize(regprocedure,' || :'state_type' || ',anyelement)', 'count(): 3 bytes',
       format('SELECT lambda_views.finalize(''pg_catalog.count()''::regprocedure, battery.st(%L::bytea || decode(''000102'', ''hex'')), 0::bigint)',
              substr(battery.bytes(s), 1, length(battery.bytes(s)) - 8))
  FROM (SELECT lambda_views.partial('pg_catalog.count()'::regprocedure) AS s FROM generate_series(1, 3)) x;

INSERT INTO hand
SELECT 'lambda_views.finalize(regprocedure,' || :'state_type' || ',anyelement)', label,
       format('SELECT lambda_views.finalize(%s)', args)
  FROM (VALUES
    ('count() with a text witness', format('''pg_catalog.count()''::regprocedure, %s, ''x''::text',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('count() with a numeric witness', format('''pg_catalog.count()''::regprocedure, %s, 1.5::numeric',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('count() with an integer witness', format('''pg_catalog.count()''::regprocedure, %s, 1::integer',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('max(text) with a bigint witness', format('''pg_catalog.max(text)''::regprocedure, %s, 0::bigint',
       (SELECT expr FROM battery.fixtures WHERE name = 'max_text_state'))),
    ('count() with a NULL state and a text witness', '''pg_catalog.count()''::regprocedure, NULL, ''x''::text'),
    ('count() with a state of avg(numeric)', format('''pg_catalog.count()''::regprocedure, %s, 0::bigint',
       (SELECT expr FROM battery.fixtures WHERE name = 'avg_numeric_state'))),
    ('avg(numeric) with a state of count()', format('''pg_catalog.avg(numeric)''::regprocedure, %s, 0::numeric',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('sum(bigint) with a state of count()', format('''pg_catalog.sum(bigint)''::regprocedure, %s, 0::numeric',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('max(text) with a state of count()', format('''pg_catalog.max(text)''::regprocedure, %s, ''''::text',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('count() with random bytes', format('''pg_catalog.count()''::regprocedure, %s, 0::bigint',
       (SELECT expr FROM battery.fixtures WHERE name = 'random_bytes')))
  ) AS c(label, args);

INSERT INTO hand
SELECT 'lambda_views.combine_states(regprocedure,' || :'state_type' || ',' || :'state_type' || ',"any")', label,
       format('SELECT lambda_views.combine_states(%s)', args)
  FROM (VALUES
    ('count() with a state of avg(numeric)', format('''pg_catalog.count()''::regprocedure, %s, %s, 0::bigint',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'),
       (SELECT expr FROM battery.fixtures WHERE name = 'avg_numeric_state'))),
    ('avg(numeric) with states of count()', format('''pg_catalog.avg(numeric)''::regprocedure, %1$s, %1$s, 0::numeric',
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('sum(bigint) with a state of count()', format('''pg_catalog.sum(bigint)''::regprocedure, %s, %s, 0::numeric',
       (SELECT expr FROM battery.fixtures WHERE name = 'sum_state'),
       (SELECT expr FROM battery.fixtures WHERE name = 'count_state'))),
    ('max(text) with a bigint collation witness', format('''pg_catalog.max(text)''::regprocedure, %1$s, %1$s, 0::bigint',
       (SELECT expr FROM battery.fixtures WHERE name = 'max_text_state'))),
    ('max(text) with random bytes', format('''pg_catalog.max(text)''::regprocedure, %s, %s, ''''::text',
       (SELECT expr FROM battery.fixtures WHERE name = 'max_text_state'),
       (SELECT expr FROM battery.fixtures WHERE name = 'random_bytes')))
  ) AS c(label, args)
UNION ALL
SELECT 'lambda_views.combine_states(regprocedure,' || :'state_type' || ',' || :'state_type' || ',"any")',
       'corr(): forged 3-element float8 array',
       format('SELECT lambda_views.combine_states(''pg_catalog.corr(double precision,double precision)''::regprocedure, s, battery.st(%s || array_send(''{1,2,3}''::float8[])), 0::float8) FROM (SELECT lambda_views.partial(''pg_catalog.corr(double precision,double precision)''::regprocedure, g::float8, g::float8) AS s FROM generate_series(1, 3) g) x',
              (SELECT format('%L::bytea', substr(battery.bytes(s), 1, length(battery.bytes(s)) - length(array_send('{3,6,14,6,14,14}'::float8[]))))
                 FROM (SELECT lambda_views.partial('pg_catalog.corr(double precision,double precision)'::regprocedure, g::float8, g::float8) AS s
                         FROM generate_series(1, 3) g) y));

INSERT INTO battery.cases (fn, label, call)
SELECT fn, label, call FROM hand ORDER BY fn COLLATE "C", label COLLATE "C";

-- Generated cases: for every routine, NULL for every argument, NULL for each
-- argument in turn, and each bad value of each argument's type.
INSERT INTO battery.cases (fn, label, call)
SELECT fn, label, call
  FROM (
    -- all arguments NULL (or no argument at all)
    SELECT r.fn::regprocedure::text AS fn, 0 AS ord, 0 AS sub,
           CASE WHEN count(r.ord) = 0 THEN 'no arguments' ELSE 'every argument NULL' END AS label,
           battery.call(r.fn, COALESCE(array_agg(CASE
               WHEN r.typ IN ('anyelement'::regtype, '"any"'::regtype) THEN 'NULL::bigint'
               ELSE format('NULL::%s', format_type(r.typ, NULL)) END ORDER BY r.ord)
               FILTER (WHERE r.ord IS NOT NULL), '{}')) AS call
      FROM battery.routines r
     GROUP BY r.fn
    UNION ALL
    -- one argument NULL or bad, the others plausible
    SELECT a.fn::regprocedure::text, a.ord, v.sub,
           format('%s = %s', COALESCE(NULLIF(a.argname, ''), '$' || a.ord), v.label),
           battery.call(a.fn, (SELECT array_agg(CASE WHEN o.ord = a.ord THEN v.expr
                                                     ELSE battery.good(o.fname, o.argname, o.typ) END ORDER BY o.ord)
                                 FROM (SELECT r2.ord, r2.argname, r2.typ, p.proname::text AS fname
                                         FROM battery.routines r2 JOIN pg_proc p ON p.oid = r2.fn
                                        WHERE r2.fn = a.fn) o))
      FROM (SELECT r.*, p.proname::text AS fname FROM battery.routines r JOIN pg_proc p ON p.oid = r.fn
             WHERE r.ord IS NOT NULL) a,
           LATERAL (SELECT 0 AS sub, 'NULL' AS label,
                           CASE WHEN a.typ IN ('anyelement'::regtype, '"any"'::regtype) THEN 'NULL::bigint'
                                ELSE format('NULL::%s', format_type(a.typ, NULL)) END AS expr
                     WHERE (SELECT count(*) FROM battery.routines r3 WHERE r3.fn = a.fn) > 1
                    UNION ALL
                    SELECT row_number() OVER (), b.label, b.expr
                      FROM battery.bad(a.fname, a.argname, a.typ) b) v
  ) c
 ORDER BY fn COLLATE "C", ord, sub;

SELECT count(DISTINCT fn) >= 40 AS many_routines, count(*) > 300 AS many_cases FROM battery.cases;

CREATE TABLE battery.outcomes (
    id   int NOT NULL,
    role text NOT NULL,
    sqlstate text NOT NULL
);
GRANT SELECT ON battery.cases TO lv_battery_nobody;
GRANT INSERT ON battery.outcomes TO lv_battery_nobody;

-- The real-time tail as a reader of the view (SELECT on it, nothing else):
-- the column definition lists are checked for readers too.
GRANT SELECT ON battery.pv_daily TO lv_battery_nobody;
SET client_min_messages = error;
SET ROLE lv_battery_nobody;
INSERT INTO battery.outcomes
SELECT id, 'reader', battery.try(call) FROM battery.cases
 WHERE fn = 'lambda_views.tail(integer,regclass)' AND call LIKE '%AS t(%' ORDER BY id;
RESET ROLE;
SET client_min_messages = warning;
REVOKE SELECT ON battery.pv_daily FROM lv_battery_nobody;
SELECT c.label, CASE WHEN o.sqlstate = 'ok' THEN 'ok' ELSE left(o.sqlstate, 2) END AS reader
  FROM battery.outcomes o JOIN battery.cases c USING (id)
 WHERE o.role = 'reader' ORDER BY c.id;

-- Run every case as the role without privileges, then as the superuser.
SET client_min_messages = error;
SET statement_timeout = '120s';
SET ROLE lv_battery_nobody;
INSERT INTO battery.outcomes SELECT id, 'nobody', battery.try(call) FROM battery.cases ORDER BY id;
RESET ROLE;
INSERT INTO battery.outcomes SELECT id, 'superuser', battery.try(call) FROM battery.cases ORDER BY id;
RESET statement_timeout;
SET client_min_messages = warning;

-- one line per (routine, case): the SQLSTATE class as each role, or ok
SELECT c.fn, c.label,
       CASE WHEN n.sqlstate = 'ok' THEN 'ok' ELSE left(n.sqlstate, 2) END AS nobody,
       CASE WHEN s.sqlstate = 'ok' THEN 'ok' ELSE left(s.sqlstate, 2) END AS superuser
  FROM battery.cases c
  JOIN battery.outcomes n ON n.id = c.id AND n.role = 'nobody'
  JOIN battery.outcomes s ON s.id = c.id AND s.role = 'superuser'
 ORDER BY c.fn COLLATE "C", c.id;

-- No call may end with an internal error.
SELECT c.fn, c.label, o.role, o.sqlstate
  FROM battery.outcomes o JOIN battery.cases c USING (id)
 WHERE o.sqlstate LIKE 'XX%'
 ORDER BY c.fn COLLATE "C", c.id, o.role;

-- Nothing the calls did survived them: both views are intact and exact.
SELECT count(*) AS lambda_views_left FROM lambda_views.views WHERE view_schema = 'battery';
SELECT count(*) AS differing_rows
  FROM ((SELECT * FROM battery.pv_daily
         EXCEPT ALL
         SELECT url, date_trunc('day', ts), count(*), max(url) FROM battery.pageviews GROUP BY 1, 2)
        UNION ALL
        (SELECT url, date_trunc('day', ts), count(*), max(url) FROM battery.pageviews GROUP BY 1, 2
         EXCEPT ALL
         SELECT * FROM battery.pv_daily)) d;
SELECT count(*) AS differing_rows
  FROM ((SELECT * FROM battery.pv_spare
         EXCEPT ALL
         SELECT k, count(*), sum(id) FROM battery.spare GROUP BY k)
        UNION ALL
        (SELECT k, count(*), sum(id) FROM battery.spare GROUP BY k
         EXCEPT ALL
         SELECT * FROM battery.pv_spare)) d;
SELECT count(*) AS products, (SELECT count(*) FROM lambda_views.checks) AS checks
  FROM lambda_views.products p JOIN lambda_views.views v USING (view_id)
 WHERE v.view_schema = 'battery';

-- clean up
SELECT lambda_views.drop_view('battery.pv_daily');
SELECT lambda_views.drop_view('battery.pv_spare');
DROP SCHEMA battery CASCADE;
DROP ROLE lv_battery_nobody;
RESET search_path;
