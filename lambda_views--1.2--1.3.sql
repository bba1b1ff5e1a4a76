-- lambda_views 1.2 -> 1.3: equality and hashing for lambda_views.state.
--
-- PostgreSQL's logical replication applies an UPDATE or DELETE to a table
-- with REPLICA IDENTITY FULL by comparing every column with its type's
-- equality operator.  Citus moves the shards of a view's storage that way
-- (the storage of a view over a distributed table has REPLICA IDENTITY
-- FULL), so the state type needs one: bytewise, as bytea compares.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.3'" to load this file. \quit

CREATE FUNCTION lambda_views.state_eq(lambda_views.state, lambda_views.state)
RETURNS boolean AS 'byteaeq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.state_eq(lambda_views.state, lambda_views.state) IS
  'two partial states are the same bytes (the = of lambda_views.state)';

CREATE FUNCTION lambda_views.state_hash(lambda_views.state)
RETURNS integer AS 'hashvarlena' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.state_hash(lambda_views.state) IS
  'hash of a partial state''s bytes (the hash operator class of lambda_views.state)';

CREATE OPERATOR lambda_views.= (
    LEFTARG = lambda_views.state,
    RIGHTARG = lambda_views.state,
    FUNCTION = lambda_views.state_eq,
    COMMUTATOR = OPERATOR(lambda_views.=),
    HASHES
);
COMMENT ON OPERATOR lambda_views.= (lambda_views.state, lambda_views.state) IS
  'two partial states are the same bytes: what logical replication compares rows of REPLICA IDENTITY FULL with';

CREATE OPERATOR CLASS lambda_views.state_hash_ops
    DEFAULT FOR TYPE lambda_views.state USING hash AS
    OPERATOR 1 lambda_views.= (lambda_views.state, lambda_views.state),
    FUNCTION 1 lambda_views.state_hash(lambda_views.state);
COMMENT ON OPERATOR CLASS lambda_views.state_hash_ops USING hash IS
  'hashing of partial states, which gives lambda_views.state its equality';
COMMENT ON OPERATOR FAMILY lambda_views.state_hash_ops USING hash IS
  'the operator family of lambda_views.state_hash_ops';
