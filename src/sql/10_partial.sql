----------------------------------------------------------------------------
-- Partial aggregation: any aggregate with a combine function, driven through
-- its own transition / combine / serialize / deserialize / final functions.
-- SSPACE is the size of the wrapper's own state: without it the planner
-- assumes 8 kB per group for an internal state, and a hash aggregate spills
-- to disk after about a thousand groups at the default work_mem.
-- States are stored as bytea; the aggregate is named by a regprocedure
-- constant so stored SQL survives pg_dump and pg_upgrade.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.partial_trans(internal, regprocedure, VARIADIC "any")
RETURNS internal AS 'MODULE_PATHNAME', 'lv_partial_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.partial_trans(internal, regprocedure)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_partial_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_final(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'lv_state_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_state_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'lv_state_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_state_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE lambda_views.partial(regprocedure, VARIADIC "any") (
    SFUNC = lambda_views.partial_trans, STYPE = internal,
    FINALFUNC = lambda_views.state_final,
    COMBINEFUNC = lambda_views.state_combine,
    SERIALFUNC = lambda_views.state_serialize,
    DESERIALFUNC = lambda_views.state_deserialize,
    SSPACE = 64, PARALLEL = SAFE);
CREATE AGGREGATE lambda_views.partial(regprocedure) (
    SFUNC = lambda_views.partial_trans, STYPE = internal,
    FINALFUNC = lambda_views.state_final,
    COMBINEFUNC = lambda_views.state_combine,
    SERIALFUNC = lambda_views.state_serialize,
    DESERIALFUNC = lambda_views.state_deserialize,
    SSPACE = 64, PARALLEL = SAFE);
COMMENT ON AGGREGATE lambda_views.partial(regprocedure, VARIADIC "any") IS
  'partial aggregation: the serialized transition state of the named aggregate over its arguments';
COMMENT ON AGGREGATE lambda_views.partial(regprocedure) IS
  'partial aggregation of a zero-argument aggregate such as count(*)';

-- merge(agg, state, final, from_batch, witness): combine stored states and
-- finalize.  A lone batch row returns its stored final value untouched.
CREATE FUNCTION lambda_views.merge_trans(internal, regprocedure, bytea, anyelement, bool)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_merge_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.merge_final(internal, regprocedure, bytea, anyelement, bool)
RETURNS anyelement AS 'MODULE_PATHNAME', 'lv_merge_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE lambda_views.merge(regprocedure, bytea, anyelement, bool) (
    SFUNC = lambda_views.merge_trans, STYPE = internal,
    FINALFUNC = lambda_views.merge_final, FINALFUNC_EXTRA,
    SSPACE = 128, PARALLEL = SAFE);
COMMENT ON AGGREGATE lambda_views.merge(regprocedure, bytea, anyelement, bool) IS
  'serving layer: combine stored partial states of the named aggregate and return its final value';

-- finalize(agg, state, witness): the final value of one stored state.
CREATE FUNCTION lambda_views.finalize(regprocedure, bytea, anyelement)
RETURNS anyelement AS 'MODULE_PATHNAME', 'lv_finalize' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.finalize(regprocedure, bytea, anyelement) IS
  'the final value of one stored partial state; the third argument gives the result type and collation';

-- combine_states(agg, a, b, witness): one state from two (the speed upsert).
CREATE FUNCTION lambda_views.combine_states(regprocedure, bytea, bytea, "any")
RETURNS bytea AS 'MODULE_PATHNAME', 'lv_combine_states' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.combine_states(regprocedure, bytea, bytea, "any") IS
  'combine two stored partial states of the named aggregate; the last argument carries the collation';

