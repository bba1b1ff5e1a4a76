/*-------------------------------------------------------------------------
 *
 * src/partial.c  (level: entry point)
 *	  SQL-callable partial aggregation: split any combinable aggregate into
 *	  stored states, combine them and finalize them.
 *
 *	  lambda_views.partial(agg, args...)      state of agg over the rows
 *	  lambda_views.merge(agg, state, final, from_batch)
 *	                                          combine states, finalize
 *	  lambda_views.finalize(agg, state, witness)
 *	  lambda_views.combine_states(agg, a, b, witness)
 *
 * The aggregate is named by a regprocedure constant in the SQL text, so
 * stored definitions survive pg_dump.  A stored state is a lambda_views.state:
 * the identity of its aggregate, then the aggregate's own serialization of
 * an internal state or the binary send form of any other transition type;
 * NULL is a null transition value.  Every function here is callable by
 * anyone (readers of a view run them), so each checks that its aggregate
 * can be split, that the argument and result types are the aggregate's
 * own, and that every state it reads was made by that aggregate.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "replication/logicalworker.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "catalog/pg_proc.h"

#include "agg_state.h"

PG_FUNCTION_INFO_V1(lv_partial_trans);
PG_FUNCTION_INFO_V1(lv_state_final);
PG_FUNCTION_INFO_V1(lv_state_combine);
PG_FUNCTION_INFO_V1(lv_state_serialize);
PG_FUNCTION_INFO_V1(lv_state_deserialize);
PG_FUNCTION_INFO_V1(lv_merge_trans);
PG_FUNCTION_INFO_V1(lv_merge_final);
PG_FUNCTION_INFO_V1(lv_finalize);
PG_FUNCTION_INFO_V1(lv_combine_states);

/* The internal state of lambda_views.partial. */
typedef struct LvPartialState
{
	LvAggInfo  *info;
	LvTransValue tv;
} LvPartialState;

/* The internal state of lambda_views.merge. */
typedef struct LvMergeState
{
	LvAggInfo  *info;
	int64		nrows;
	bool		lone_batch;		/* exactly one row so far, from the batch */
	struct varlena *lone_state;
	Datum		lone_final;
	bool		lone_final_isnull;
	bool		started;		/* tv holds the combined states */
	LvTransValue tv;
	bool		result_done;
	Datum		result;
	bool		result_isnull;
} LvMergeState;

/* Per-call-site cache for the scalar functions. */
typedef struct LvScalarCache
{
	LvAggInfo  *info;			/* its work context is reset after every call */
	AggState   *aggcontext;
} LvScalarCache;

/*
 * declared_info returns the LvAggInfo for aggfnoid cached in flinfo, built
 * from the aggregate's declared argument types (create_view refuses
 * polymorphic aggregates, so they are the actual ones).
 */
static LvAggInfo *
declared_info(FmgrInfo *flinfo, Oid aggfnoid, Oid collation)
{
	LvAggInfo  *info = (LvAggInfo *) flinfo->fn_extra;
	Oid		   *argtypes;
	int			nargs;

	if (info != NULL && info->aggfnoid == aggfnoid &&
		info->collation == collation)
		return info;
	if (info != NULL)
		lv_state_drop_workcxt(info);
	lv_check_aggregate_oid(aggfnoid);
	get_func_signature(aggfnoid, &argtypes, &nargs);
	info = lv_agg_info(aggfnoid, argtypes, nargs, collation, flinfo->fn_mcxt);
	flinfo->fn_extra = info;
	return info;
}

/* agg_context returns the aggregate memory context or fails. */
static MemoryContext
agg_context(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("lambda_views aggregate support function called in non-aggregate context")));
	return aggcontext;
}

/*
 * lv_partial_trans is the transition function of lambda_views.partial: it
 * feeds the remaining arguments to the named aggregate's transition function.
 */
Datum
lv_partial_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	LvPartialState *state;
	NullableDatum args[FUNC_MAX_ARGS];
	int			nargs = PG_NARGS() - 2;
	int			i;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("aggregate to run must not be null")));

	if (PG_ARGISNULL(0))
	{
		LvAggInfo  *info = (LvAggInfo *) fcinfo->flinfo->fn_extra;

		if (info == NULL || info->aggfnoid != PG_GETARG_OID(1) ||
			info->collation != PG_GET_COLLATION())
		{
			Oid			argtypes[FUNC_MAX_ARGS];

			/* the actual types: an "any" argument's function may look */
			for (i = 0; i < nargs; i++)
				argtypes[i] = get_fn_expr_argtype(fcinfo->flinfo, i + 2);
			lv_check_arg_types(PG_GETARG_OID(1), argtypes, nargs);
			info = lv_agg_info(PG_GETARG_OID(1), argtypes, nargs,
							   PG_GET_COLLATION(), fcinfo->flinfo->fn_mcxt);
			fcinfo->flinfo->fn_extra = info;
		}
		state = MemoryContextAlloc(aggcontext, sizeof(LvPartialState));
		state->info = info;
		lv_trans_init(info, &state->tv, aggcontext);
	}
	else
		state = (LvPartialState *) PG_GETARG_POINTER(0);

	for (i = 0; i < nargs; i++)
	{
		args[i].value = PG_GETARG_DATUM(i + 2);
		args[i].isnull = PG_ARGISNULL(i + 2);
	}
	lv_trans_advance(state->info, &state->tv, args, fcinfo->context,
					 aggcontext);
	PG_RETURN_POINTER(state);
}

/*
 * aggref_agg_oid finds the aggregate named by the first argument of the
 * calling lambda_views aggregate (needed when no row reached the state).
 */
static Oid
aggref_agg_oid(FunctionCallInfo fcinfo)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);
	TargetEntry *tle;

	if (aggref == NULL || aggref->args == NIL)
		elog(ERROR, "lambda_views.partial called without its aggregate");
	tle = linitial_node(TargetEntry, aggref->args);
	if (!IsA(tle->expr, Const) || ((Const *) tle->expr)->constisnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aggregate to run must be a constant")));
	return DatumGetObjectId(((Const *) tle->expr)->constvalue);
}

/*
 * lv_state_final is the final function of lambda_views.partial: the stored
 * form of the state (the initial state when no row arrived).
 */
Datum
lv_state_final(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	LvPartialState *state;
	struct varlena *result;

	if (PG_ARGISNULL(0))
	{
		Oid			aggfnoid = aggref_agg_oid(fcinfo);
		Aggref	   *aggref = AggGetAggref(fcinfo);
		Oid			argtypes[FUNC_MAX_ARGS];
		int			nargs = 0;
		LvAggInfo  *info;
		ListCell   *lc;

		/* no row came: check the arguments as the transition would have */
		for_each_from(lc, aggref->args, 1)
		{
			if (nargs >= FUNC_MAX_ARGS)
				break;
			argtypes[nargs++] = exprType((Node *) lfirst_node(TargetEntry, lc)->expr);
		}
		lv_check_arg_types(aggfnoid, argtypes, nargs);
		info = declared_info(fcinfo->flinfo, aggfnoid, PG_GET_COLLATION());

		state = MemoryContextAlloc(aggcontext, sizeof(LvPartialState));
		state->info = info;
		lv_trans_init(info, &state->tv, aggcontext);
	}
	else
		state = (LvPartialState *) PG_GETARG_POINTER(0);

	result = lv_trans_serialize(state->info, &state->tv, fcinfo->context);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(result);
}

/*
 * lv_state_combine combines two partial states (parallel query's combine
 * step for lambda_views.partial).
 */
Datum
lv_state_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	LvPartialState *a = PG_ARGISNULL(0) ? NULL : (LvPartialState *) PG_GETARG_POINTER(0);
	LvPartialState *b = PG_ARGISNULL(1) ? NULL : (LvPartialState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
	{
		a = MemoryContextAlloc(aggcontext, sizeof(LvPartialState));
		a->info = b->info;
		lv_trans_init(a->info, &a->tv, aggcontext);
	}
	lv_trans_combine(a->info, &a->tv, b->tv.value, b->tv.isnull,
					 fcinfo->context, aggcontext);
	PG_RETURN_POINTER(a);
}

/*
 * Between parallel workers a partial state travels as
 * [aggregate oid][null flag][stored state]; the oid never reaches disk.
 */
Datum
lv_state_serialize(PG_FUNCTION_ARGS)
{
	LvPartialState *state = (LvPartialState *) PG_GETARG_POINTER(0);
	struct varlena *inner = lv_trans_serialize(state->info, &state->tv,
											   fcinfo->context);
	int			innerlen = inner ? VARSIZE_ANY_EXHDR(inner) : 0;
	bytea	   *result = palloc(VARHDRSZ + sizeof(Oid) + 1 + innerlen);
	char	   *p = VARDATA(result);

	SET_VARSIZE(result, VARHDRSZ + sizeof(Oid) + 1 + innerlen);
	memcpy(p, &state->info->aggfnoid, sizeof(Oid));
	p[sizeof(Oid)] = (inner == NULL);
	if (inner)
		memcpy(p + sizeof(Oid) + 1, VARDATA_ANY(inner), innerlen);
	PG_RETURN_BYTEA_P(result);
}

/* lv_state_deserialize is the inverse of lv_state_serialize. */
Datum
lv_state_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	char	   *p = VARDATA_ANY(data);
	int			innerlen = VARSIZE_ANY_EXHDR(data) - sizeof(Oid) - 1;
	Oid			aggfnoid;
	LvPartialState *state;
	struct varlena *inner = NULL;

	if (innerlen < 0)
		elog(ERROR, "invalid lambda_views partial state");
	memcpy(&aggfnoid, p, sizeof(Oid));
	if (!p[sizeof(Oid)])
	{
		inner = palloc(VARHDRSZ + innerlen);
		SET_VARSIZE(inner, VARHDRSZ + innerlen);
		memcpy(VARDATA(inner), p + sizeof(Oid) + 1, innerlen);
	}
	state = MemoryContextAlloc(aggcontext, sizeof(LvPartialState));
	state->info = declared_info(fcinfo->flinfo, aggfnoid, PG_GET_COLLATION());
	lv_trans_deserialize(state->info, inner, fcinfo->context, aggcontext,
						 &state->tv.value, &state->tv.isnull);
	PG_RETURN_POINTER(state);
}

/*
 * merge_combine_stored folds one stored row into the merge state: its
 * state, or for a batch row of an aggregate whose final value is its state
 * (batches made since that rule keep no state for it: agg_state.c), that
 * final value.
 */
static void
merge_combine_stored(LvMergeState *state, struct varlena *stored, bool from_batch,
					 Datum final, bool final_isnull, fmNodePtr context,
					 MemoryContext aggcontext)
{
	Datum		value;
	bool		isnull;

	MemoryContext workcxt;

	/*
	 * A state that is there is checked and read either way, into a context
	 * reset once it is combined (nodeAgg deserializes into its per-input
	 * context too: combine functions copy what they keep); but for an
	 * internal state whose combine function was made strict after CREATE
	 * AGGREGATE (which refuses that), whose first combine keeps the
	 * deserialized state itself.
	 */
	if (state->info->transtype == INTERNALOID && state->info->combinefn.fn_strict)
		workcxt = aggcontext;
	else
		workcxt = lv_state_workcxt(state->info);

	lv_trans_deserialize(state->info, stored, context, workcxt,
						 &value, &isnull);
	if (from_batch && state->info->state_is_final)
	{
		lv_trans_from_final(state->info, final, final_isnull);
		value = final;
		isnull = final_isnull;
	}
	lv_trans_combine(state->info, &state->tv, value, isnull, context,
					 aggcontext);
	if (workcxt != aggcontext)
		MemoryContextReset(workcxt);
}

/*
 * lv_merge_trans is the transition function of lambda_views.merge(agg,
 * state, final, from_batch).  A group that only the batch holds keeps the
 * batch's final value and is never deserialized.
 */
Datum
lv_merge_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	LvMergeState *state;
	struct varlena *stored = PG_ARGISNULL(2) ? NULL : PG_GETARG_VARLENA_PP(2);
	bool		from_batch = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);

	if (PG_ARGISNULL(0))
	{
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("aggregate to run must not be null")));
		state = MemoryContextAllocZero(aggcontext, sizeof(LvMergeState));
		state->info = declared_info(fcinfo->flinfo, PG_GETARG_OID(1),
									PG_GET_COLLATION());
		lv_check_result_type(state->info,
							 get_fn_expr_argtype(fcinfo->flinfo, 3),
							 "the stored final value");
	}
	else
		state = (LvMergeState *) PG_GETARG_POINTER(0);

	state->nrows++;
	if (state->nrows == 1 && from_batch)
	{
		Oid			restype = get_fn_expr_argtype(fcinfo->flinfo, 3);
		int16		typlen;
		bool		typbyval;
		MemoryContext oldcxt = MemoryContextSwitchTo(aggcontext);

		get_typlenbyval(restype, &typlen, &typbyval);
		state->lone_batch = true;
		state->lone_state = stored ? (struct varlena *) DatumGetPointer(datumCopy(PointerGetDatum(stored), false, -1)) : NULL;
		state->lone_final_isnull = PG_ARGISNULL(3);
		if (!state->lone_final_isnull)
			state->lone_final = datumCopy(PG_GETARG_DATUM(3), typbyval, typlen);
		MemoryContextSwitchTo(oldcxt);
		PG_RETURN_POINTER(state);
	}

	if (!state->started)
	{
		lv_trans_init(state->info, &state->tv, aggcontext);
		state->started = true;
		if (state->lone_batch)
		{
			merge_combine_stored(state, state->lone_state, true,
								 state->lone_final, state->lone_final_isnull,
								 fcinfo->context, aggcontext);
			state->lone_batch = false;
		}
	}
	merge_combine_stored(state, stored, from_batch, PG_GETARG_DATUM(3),
						 PG_ARGISNULL(3), fcinfo->context, aggcontext);
	PG_RETURN_POINTER(state);
}

/* lv_merge_final returns the merged group's final value. */
Datum
lv_merge_final(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	LvMergeState *state;

	if (PG_ARGISNULL(0))
	{
		/* no row at all: the aggregate over no input */
		state = MemoryContextAllocZero(aggcontext, sizeof(LvMergeState));
		state->info = declared_info(fcinfo->flinfo, aggref_agg_oid(fcinfo),
									PG_GET_COLLATION());
		lv_check_result_type(state->info,
							 get_fn_expr_argtype(fcinfo->flinfo, 3),
							 "the stored final value");
	}
	else
		state = (LvMergeState *) PG_GETARG_POINTER(0);

	if (!state->result_done)
	{
		if (state->lone_batch)
		{
			state->result = state->lone_final;
			state->result_isnull = state->lone_final_isnull;
		}
		else
		{
			if (!state->started)
			{
				lv_trans_init(state->info, &state->tv, aggcontext);
				state->started = true;
			}
			state->result = lv_trans_finalize(state->info, &state->tv,
											  fcinfo->context,
											  &state->result_isnull);
		}
		state->result_done = true;
	}
	if (state->result_isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(state->result);
}

/* scalar_cache returns the per-call-site cache of a scalar function. */
static LvScalarCache *
scalar_cache(FunctionCallInfo fcinfo, Oid aggfnoid)
{
	LvScalarCache *cache = (LvScalarCache *) fcinfo->flinfo->fn_extra;
	Oid		   *argtypes;
	int			nargs;

	if (cache != NULL && cache->info->aggfnoid == aggfnoid &&
		cache->info->collation == PG_GET_COLLATION())
		return cache;
	if (cache != NULL)
		lv_state_drop_workcxt(cache->info);
	lv_check_aggregate_oid(aggfnoid);
	cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
								   sizeof(LvScalarCache));
	get_func_signature(aggfnoid, &argtypes, &nargs);
	cache->info = lv_agg_info(aggfnoid, argtypes, nargs, PG_GET_COLLATION(),
							  fcinfo->flinfo->fn_mcxt);
	cache->aggcontext = lv_standalone_agg_context(fcinfo->flinfo->fn_mcxt,
												   lv_state_workcxt(cache->info));
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/*
 * lv_finalize(agg, state, witness) returns the final value of one stored
 * state; the witness gives the result type.
 */
Datum
lv_finalize(PG_FUNCTION_ARGS)
{
	LvScalarCache *cache;
	LvTransValue tv;
	Datum		result;
	bool		isnull;
	Oid			restype = get_fn_expr_argtype(fcinfo->flinfo, 2);
	int16		typlen;
	bool		typbyval;
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext workcxt;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	cache = scalar_cache(fcinfo, PG_GETARG_OID(0));
	lv_check_result_type(cache->info, restype, "the witness argument");
	get_typlenbyval(restype, &typlen, &typbyval);
	workcxt = lv_state_workcxt(cache->info);

	MemoryContextSwitchTo(workcxt);
	lv_trans_deserialize(cache->info,
						 PG_ARGISNULL(1) ? NULL : PG_GETARG_VARLENA_P(1),
						 (fmNodePtr) cache->aggcontext, workcxt,
						 &tv.value, &tv.isnull);
	result = lv_trans_finalize(cache->info, &tv,
							   (fmNodePtr) cache->aggcontext, &isnull);
	MemoryContextSwitchTo(callercxt);
	if (!isnull)
		result = datumCopy(result, typbyval, typlen);
	MemoryContextReset(workcxt);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * lv_combine_states(agg, a, b, witness) combines two stored states into one;
 * the witness carries the collation the aggregate runs under.
 */
Datum
lv_combine_states(PG_FUNCTION_ARGS)
{
	LvScalarCache *cache;
	LvTransValue tv;
	Datum		other;
	bool		other_isnull;
	struct varlena *result;
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext workcxt;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	cache = scalar_cache(fcinfo, PG_GETARG_OID(0));
	workcxt = lv_state_workcxt(cache->info);

	MemoryContextSwitchTo(workcxt);
	lv_trans_deserialize(cache->info,
						 PG_ARGISNULL(1) ? NULL : PG_GETARG_VARLENA_P(1),
						 (fmNodePtr) cache->aggcontext, workcxt,
						 &tv.value, &tv.isnull);
	lv_trans_deserialize(cache->info,
						 PG_ARGISNULL(2) ? NULL : PG_GETARG_VARLENA_P(2),
						 (fmNodePtr) cache->aggcontext, workcxt,
						 &other, &other_isnull);
	lv_trans_combine(cache->info, &tv, other, other_isnull,
					 (fmNodePtr) cache->aggcontext, workcxt);
	result = lv_trans_serialize(cache->info, &tv,
								(fmNodePtr) cache->aggcontext);
	MemoryContextSwitchTo(callercxt);
	if (result != NULL)
		result = (struct varlena *) DatumGetPointer(datumCopy(PointerGetDatum(result), false, -1));
	MemoryContextReset(workcxt);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(lv_state_in);
PG_FUNCTION_INFO_V1(lv_state_out);
PG_FUNCTION_INFO_V1(lv_state_recv);
PG_FUNCTION_INFO_V1(lv_state_send);

/*
 * refuse_handmade_state: only lambda_views.partial() makes states.  A
 * superuser may load them (pg_restore of a view's storage), and so may a
 * logical replication worker (Citus moves a shard of a view's storage by
 * logical replication, under a role of its own; in PostgreSQL 15 only a
 * superuser creates a subscription); anyone else could hand an aggregate's
 * deserialize function bytes that make it read memory it does not own.
 */
static void
refuse_handmade_state(void)
{
	if (!superuser() && !IsLogicalWorker())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("values of type lambda_views.state cannot be written by hand"),
				 errdetail("Partial states are made only by lambda_views.partial()."),
				 errhint("Restore dumps of lambda view storage as a superuser, or rebuild the storage with lambda_views.recompute().")));
}

/* check_state_form refuses bytes that do not even look like a state. */
static void
check_state_form(struct varlena *state)
{
	if (VARSIZE_ANY_EXHDR(state) < LV_STATE_HEADER_LEN ||
		((char *) VARDATA_ANY(state))[0] != LV_STATE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid lambda_views.state value")));
}

/* lv_state_in reads a state in bytea's hex form (superusers only). */
Datum
lv_state_in(PG_FUNCTION_ARGS)
{
	struct varlena *state;

	refuse_handmade_state();
	state = (struct varlena *) DatumGetPointer(DirectFunctionCall1(byteain, PG_GETARG_DATUM(0)));
	check_state_form(state);
	PG_RETURN_POINTER(state);
}

/* lv_state_out writes a state in bytea's hex form. */
Datum
lv_state_out(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteaout, PointerGetDatum(PG_GETARG_VARLENA_PP(0)));
}

/* lv_state_recv reads a state's binary form (superusers only). */
Datum
lv_state_recv(PG_FUNCTION_ARGS)
{
	struct varlena *state;

	refuse_handmade_state();
	state = (struct varlena *) DatumGetPointer(DirectFunctionCall1(bytearecv, PG_GETARG_DATUM(0)));
	check_state_form(state);
	PG_RETURN_POINTER(state);
}

/* lv_state_send writes a state's binary form: its bytes. */
Datum
lv_state_send(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteasend, PointerGetDatum(PG_GETARG_VARLENA_P(0)));
}
