/*-------------------------------------------------------------------------
 *
 * src/ground/agg_state.c  (level: ground)
 *	  Run any combinable aggregate through its own support functions.
 *
 * PostgreSQL splits aggregates into partial states for parallel query:
 * transition, combine, serialize, deserialize and final functions, all
 * recorded in pg_aggregate.  Both layers of a lambda view store such partial
 * states, so this file drives those functions directly, with the same
 * strictness and memory rules as the executor's Agg node.  Nothing here
 * knows about particular aggregates.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "parser/parse_agg.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "agg_state.h"

static void check_aggregate_usable(Oid aggfnoid, Form_pg_aggregate agg);
static void state_identity(Oid aggfnoid, uint8 *ident);
static FunctionCallInfo alloc_call(MemoryContext mcxt, int nargs,
								   FmgrInfo *flinfo, Oid collation);
static void store_trans_value(LvAggInfo *info, LvTransValue *tv,
							  Datum newval, bool newisnull,
							  MemoryContext aggcontext);

/*
 * check_aggregate_usable refuses an aggregate whose states cannot be kept
 * and combined safely: only a plain aggregate with a combine function (and
 * serialization functions for an internal state), no polymorphic types.
 * Every support function goes through here, so a regprocedure argument
 * from SQL can only ever name such an aggregate.
 */
static void
check_aggregate_usable(Oid aggfnoid, Form_pg_aggregate agg)
{
	Oid		   *argtypes;
	int			nargs;
	int			i;

	if (agg->aggkind != AGGKIND_NORMAL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ordered-set aggregate %s has no partial states",
						format_procedure(aggfnoid))));
	if (!OidIsValid(agg->aggcombinefn))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s has no combine function",
						format_procedure(aggfnoid))));
	if (agg->aggtranstype == INTERNALOID &&
		(!OidIsValid(agg->aggserialfn) || !OidIsValid(agg->aggdeserialfn)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s has no serialization functions",
						format_procedure(aggfnoid))));
	if (IsPolymorphicType(agg->aggtranstype))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("polymorphic aggregate %s has no partial states",
						format_procedure(aggfnoid))));
	get_func_signature(aggfnoid, &argtypes, &nargs);
	for (i = 0; i < nargs; i++)
		if (IsPolymorphicType(argtypes[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("polymorphic aggregate %s has no partial states",
							format_procedure(aggfnoid))));
	if (IsPolymorphicType(get_func_rettype(aggfnoid)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("polymorphic aggregate %s has no partial states",
						format_procedure(aggfnoid))));
}

/*
 * state_identity computes the identity a state of aggfnoid carries: the
 * first bytes of the SHA-256 of the aggregate's qualified signature.  A
 * name, not an oid, so states survive pg_dump and pg_upgrade; a hash
 * nobody can aim at, so no aggregate can pass its states off as another's.
 */
static void
state_identity(Oid aggfnoid, uint8 *ident)
{
	char	   *signature = format_procedure_qualified(aggfnoid);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) signature, strlen(signature)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
	{
		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute the identity of aggregate %s", signature);
	}
	pg_cryptohash_free(ctx);
	memcpy(ident, digest, LV_STATE_IDENT_LEN);
}

/*
 * lv_check_aggregate_oid refuses an aggregate argument that is null (zero) or
 * names no aggregate, before anything looks its signature up.
 */
void
lv_check_aggregate_oid(Oid aggfnoid)
{
	if (!OidIsValid(aggfnoid))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("aggregate to run must not be null")));
	if (!SearchSysCacheExists1(AGGFNOID, ObjectIdGetDatum(aggfnoid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %u is not an aggregate", aggfnoid)));
}

/*
 * state_is_final: the aggregate's final value is its transition value
 * itself (no final function, a transition type that is the result type,
 * neither internal nor polymorphic: count, sum of integers, min, max,
 * bool_and, bit_or ...).  A batch row stores no state for such an
 * aggregate; merging starts from its final value (lambda_views.merge).
 */
static bool
state_is_final(Form_pg_aggregate agg, Oid resulttype)
{
	return !OidIsValid(agg->aggfinalfn) &&
		agg->aggtranstype == resulttype &&
		agg->aggtranstype != INTERNALOID &&
		!IsPolymorphicType(agg->aggtranstype);
}

/* lv_agg_state_is_final is state_is_final for an aggregate's oid. */
bool
lv_agg_state_is_final(Oid aggfnoid)
{
	HeapTuple	aggtup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggfnoid));
	bool		result;

	if (!HeapTupleIsValid(aggtup))
		return false;
	result = state_is_final((Form_pg_aggregate) GETSTRUCT(aggtup),
							get_func_rettype(aggfnoid));
	ReleaseSysCache(aggtup);
	return result;
}

/*
 * lv_agg_large_state says whether the planner takes the transition
 * state of aggregate aggoid for large: as large as it assumes for an
 * internal state whose size the aggregate does not declare
 * (ALLOCSET_DEFAULT_INITSIZE) or larger.  hll_add_agg declares 128 kB.
 * Statements that partially aggregate such an aggregate are planned
 * without hash aggregation (run.c, lv_wants_sorted_groups).
 */
bool
lv_agg_large_state(Oid aggoid)
{
	HeapTuple	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggoid));
	Form_pg_aggregate agg;
	int32		space;

	if (!HeapTupleIsValid(tup))
		return false;
	agg = (Form_pg_aggregate) GETSTRUCT(tup);
	space = agg->aggtransspace;
	if (space <= 0 && agg->aggtranstype == INTERNALOID)
		space = ALLOCSET_DEFAULT_INITSIZE;
	ReleaseSysCache(tup);
	return space >= ALLOCSET_DEFAULT_INITSIZE;
}

/*
 * lv_agg_info looks up an aggregate's support functions and prepares call
 * frames for them, allocated in mcxt.  argtypes are the aggregate's
 * declared input types (see lv_check_arg_types for actual ones).
 */
LvAggInfo *
lv_agg_info(Oid aggfnoid, Oid *argtypes, int nargs, Oid collation,
			MemoryContext mcxt)
{
	HeapTuple	aggtup;
	Form_pg_aggregate agg;
	LvAggInfo  *info;
	MemoryContext oldcxt;
	Datum		textinit;
	bool		initnull;
	Expr	   *fnexpr;
	Oid			resulttype;

	lv_check_aggregate_oid(aggfnoid);
	aggtup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggfnoid));
	if (!HeapTupleIsValid(aggtup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %u is not an aggregate", aggfnoid)));
	agg = (Form_pg_aggregate) GETSTRUCT(aggtup);
	check_aggregate_usable(aggfnoid, agg);
	resulttype = get_func_rettype(aggfnoid);

	oldcxt = MemoryContextSwitchTo(mcxt);
	info = palloc0(sizeof(LvAggInfo));
	info->mcxt = mcxt;
	info->aggfnoid = aggfnoid;
	state_identity(aggfnoid, info->ident);
	info->resulttype = resulttype;
	info->nargs = nargs;
	info->collation = collation;
	info->transtype = agg->aggtranstype;
	get_typlenbyval(info->transtype, &info->transtyplen, &info->transtypbyval);

	build_aggregate_transfn_expr(argtypes, nargs, 0, false, info->transtype,
								 collation, agg->aggtransfn, InvalidOid,
								 &fnexpr, NULL);
	fmgr_info_cxt(agg->aggtransfn, &info->transfn, mcxt);
	info->transfn.fn_expr = (Node *) fnexpr;

	build_aggregate_transfn_expr(&info->transtype, 1, 0, false,
								 info->transtype, collation,
								 agg->aggcombinefn, InvalidOid,
								 &fnexpr, NULL);
	fmgr_info_cxt(agg->aggcombinefn, &info->combinefn, mcxt);
	info->combinefn.fn_expr = (Node *) fnexpr;

	if (info->transtype == INTERNALOID)
	{
		if (!OidIsValid(agg->aggserialfn) || !OidIsValid(agg->aggdeserialfn))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("aggregate %s has no serialization functions",
							format_procedure(aggfnoid))));
		fmgr_info_cxt(agg->aggserialfn, &info->serialfn, mcxt);
		build_aggregate_serialfn_expr(agg->aggserialfn, &fnexpr);
		info->serialfn.fn_expr = (Node *) fnexpr;
		fmgr_info_cxt(agg->aggdeserialfn, &info->deserialfn, mcxt);
		build_aggregate_deserialfn_expr(agg->aggdeserialfn, &fnexpr);
		info->deserialfn.fn_expr = (Node *) fnexpr;
	}
	else
	{
		bool		isvarlena;

		getTypeBinaryOutputInfo(info->transtype, &info->typsend, &isvarlena);
		getTypeBinaryInputInfo(info->transtype, &info->typrecv,
							   &info->typioparam);
	}

	info->has_final = OidIsValid(agg->aggfinalfn);
	info->state_is_final = state_is_final(agg, resulttype);
	info->final_extra = agg->aggfinalextra;
	if (info->has_final)
	{
		int			nfinal = info->final_extra ? nargs + 1 : 1;

		build_aggregate_finalfn_expr(argtypes, nfinal, info->transtype,
									 resulttype, collation, agg->aggfinalfn,
									 &fnexpr);
		fmgr_info_cxt(agg->aggfinalfn, &info->finalfn, mcxt);
		info->finalfn.fn_expr = (Node *) fnexpr;
		info->finalcall = alloc_call(mcxt, nfinal, &info->finalfn, collation);
	}

	textinit = SysCacheGetAttr(AGGFNOID, aggtup, Anum_pg_aggregate_agginitval,
							   &initnull);
	info->initval_isnull = initnull;
	if (!initnull)
	{
		Oid			typinput;
		Oid			typioparam;
		char	   *str = TextDatumGetCString(textinit);

		getTypeInputInfo(info->transtype, &typinput, &typioparam);
		info->initval = OidInputFunctionCall(typinput, str, typioparam, -1);
	}

	info->transcall = alloc_call(mcxt, nargs + 1, &info->transfn, collation);
	info->combinecall = alloc_call(mcxt, 2, &info->combinefn, collation);

	MemoryContextSwitchTo(oldcxt);
	ReleaseSysCache(aggtup);
	return info;
}

/* alloc_call allocates a reusable call frame for nargs arguments. */
static FunctionCallInfo
alloc_call(MemoryContext mcxt, int nargs, FmgrInfo *flinfo, Oid collation)
{
	FunctionCallInfo fcinfo;

	fcinfo = MemoryContextAllocZero(mcxt, SizeForFunctionCallInfo(nargs));
	InitFunctionCallInfoData(*fcinfo, flinfo, nargs, collation, NULL, NULL);
	return fcinfo;
}

/* lv_trans_init sets a transition value to the aggregate's initial value. */
void
lv_trans_init(LvAggInfo *info, LvTransValue *tv, MemoryContext aggcontext)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(aggcontext);

	tv->isnull = info->initval_isnull;
	tv->value = tv->isnull ? (Datum) 0 :
		datumCopy(info->initval, info->transtypbyval, info->transtyplen);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * store_trans_value keeps a new transition value, copying a by-reference
 * result into the aggregate context and freeing the old one, as the Agg
 * node does.
 */
static void
store_trans_value(LvAggInfo *info, LvTransValue *tv, Datum newval,
				  bool newisnull, MemoryContext aggcontext)
{
	if (!info->transtypbyval &&
		DatumGetPointer(newval) != DatumGetPointer(tv->value))
	{
		if (!newisnull &&
			!MemoryContextContains(aggcontext, DatumGetPointer(newval)))
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(aggcontext);

			newval = datumCopy(newval, false, info->transtyplen);
			MemoryContextSwitchTo(oldcxt);
		}
		if (!tv->isnull &&
			MemoryContextContains(aggcontext, DatumGetPointer(tv->value)))
			pfree(DatumGetPointer(tv->value));
	}
	tv->value = newval;
	tv->isnull = newisnull;
}

/*
 * state_work_context makes a context for deserializing and combining
 * stored states one at a time, reset after each.  An internal state's
 * deserialize function may allocate its state in one piece beyond the
 * chunk limit of an allocation set (hll's is 128 kB), which an allocation
 * set takes from malloc and hands back on every reset: per stored row, heap
 * growth and trimming that cost more than the combine.  A generation
 * context keeps its first block across resets, so such states come from it.
 */
static MemoryContext
state_work_context(LvAggInfo *info, MemoryContext parent)
{
	if (info->transtype == INTERNALOID)
		return GenerationContextCreate(parent, "lambda_views state work",
									   LV_STATE_WORK_SIZE, LV_STATE_WORK_SIZE,
									   8 * LV_STATE_WORK_SIZE);
	return AllocSetContextCreate(parent, "lambda_views state work",
								 ALLOCSET_DEFAULT_SIZES);
}

/* lv_state_workcxt returns info's own work context, made on first use. */
MemoryContext
lv_state_workcxt(LvAggInfo *info)
{
	if (info->workcxt == NULL)
		info->workcxt = state_work_context(info, info->mcxt);
	return info->workcxt;
}

/*
 * lv_state_drop_workcxt frees info's work context, when a call site moves
 * on to another aggregate: one whose aggregate changes row by row keeps
 * one work context, not one per change.  It holds nothing between two
 * combines, and info makes it again if it is used again.
 */
void
lv_state_drop_workcxt(LvAggInfo *info)
{
	if (info->workcxt != NULL)
		MemoryContextDelete(info->workcxt);
	info->workcxt = NULL;
}

/*
 * lv_trans_advance feeds one row of arguments to the transition function,
 * with the executor's rules for strict transition functions.
 */
void
lv_trans_advance(LvAggInfo *info, LvTransValue *tv, NullableDatum *args,
				 fmNodePtr context, MemoryContext aggcontext)
{
	FunctionCallInfo fcinfo = info->transcall;
	Datum		result;
	int			i;

	if (info->transfn.fn_strict)
	{
		for (i = 0; i < info->nargs; i++)
			if (args[i].isnull)
				return;
		if (tv->isnull)
		{
			/* no initial value: the first non-null input becomes the state */
			MemoryContext oldcxt = MemoryContextSwitchTo(aggcontext);

			tv->value = datumCopy(args[0].value, info->transtypbyval,
								  info->transtyplen);
			tv->isnull = false;
			MemoryContextSwitchTo(oldcxt);
			return;
		}
	}

	fcinfo->context = context;
	fcinfo->isnull = false;
	fcinfo->args[0].value = tv->value;
	fcinfo->args[0].isnull = tv->isnull;
	for (i = 0; i < info->nargs; i++)
		fcinfo->args[i + 1] = args[i];
	result = FunctionCallInvoke(fcinfo);
	store_trans_value(info, tv, result, fcinfo->isnull, aggcontext);
}

/*
 * lv_trans_combine folds another (deserialized) transition value into tv,
 * with the executor's rules for strict combine functions.
 */
void
lv_trans_combine(LvAggInfo *info, LvTransValue *tv, Datum other,
				 bool other_isnull, fmNodePtr context,
				 MemoryContext aggcontext)
{
	FunctionCallInfo fcinfo = info->combinecall;
	Datum		result;

	if (info->combinefn.fn_strict)
	{
		if (other_isnull)
			return;
		if (tv->isnull)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(aggcontext);

			tv->value = datumCopy(other, info->transtypbyval,
								  info->transtyplen);
			tv->isnull = false;
			MemoryContextSwitchTo(oldcxt);
			return;
		}
	}

	fcinfo->context = context;
	fcinfo->isnull = false;
	fcinfo->args[0].value = tv->value;
	fcinfo->args[0].isnull = tv->isnull;
	fcinfo->args[1].value = other;
	fcinfo->args[1].isnull = other_isnull;
	result = FunctionCallInvoke(fcinfo);
	store_trans_value(info, tv, result, fcinfo->isnull, aggcontext);
}

/*
 * lv_trans_serialize turns a transition value into its stored form, a
 * lambda_views.state: the identity of the aggregate, then the aggregate's
 * serialize function's output for an internal state or the type's binary
 * send form otherwise.  A null state serializes to NULL.
 */
struct varlena *
lv_trans_serialize(LvAggInfo *info, LvTransValue *tv, fmNodePtr context)
{
	bytea	   *inner;
	struct varlena *state;
	char	   *p;
	Size		len;

	if (tv->isnull)
		return NULL;
	if (info->transtype == INTERNALOID)
	{
		LOCAL_FCINFO(fcinfo, 1);
		Datum		result;

		InitFunctionCallInfoData(*fcinfo, &info->serialfn, 1, InvalidOid,
								 context, NULL);
		fcinfo->args[0].value = tv->value;
		fcinfo->args[0].isnull = false;
		result = FunctionCallInvoke(fcinfo);
		if (fcinfo->isnull)
			return NULL;
		inner = DatumGetByteaPP(result);
	}
	else
		inner = OidSendFunctionCall(info->typsend, tv->value);

	len = VARSIZE_ANY_EXHDR(inner);
	state = palloc(VARHDRSZ + LV_STATE_HEADER_LEN + len);
	SET_VARSIZE(state, VARHDRSZ + LV_STATE_HEADER_LEN + len);
	p = VARDATA(state);
	p[0] = LV_STATE_VERSION;
	memcpy(p + 1, info->ident, LV_STATE_IDENT_LEN);
	memcpy(p + LV_STATE_HEADER_LEN, VARDATA_ANY(inner), len);
	return state;
}

/*
 * check_array_shape refuses an array transition value whose shape is not the
 * one the aggregate works on: transition functions such as float8_accum or
 * int8_avg_accum read a fixed number of elements without looking, so a
 * received state must have the dimensions of the initial value and no NULL.
 */
static void
check_array_shape(LvAggInfo *info, Datum value)
{
	ArrayType  *state;
	ArrayType  *init;

	if (!OidIsValid(get_element_type(info->transtype)))
		return;
	state = DatumGetArrayTypeP(value);
	if (array_contains_nulls(state))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("partial state of aggregate %s contains a null element",
						format_procedure(info->aggfnoid))));
	if (info->initval_isnull)
		return;
	init = DatumGetArrayTypeP(info->initval);
	if (ARR_NDIM(state) != ARR_NDIM(init) ||
		memcmp(ARR_DIMS(state), ARR_DIMS(init), ARR_NDIM(init) * sizeof(int)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("partial state of aggregate %s has the wrong shape",
						format_procedure(info->aggfnoid)),
				 errdetail("The aggregate's states have %d dimension(s) and %d element(s).",
						   ARR_NDIM(init),
						   ArrayGetNItems(ARR_NDIM(init), ARR_DIMS(init)))));
}

/*
 * lv_trans_deserialize is the inverse of lv_trans_serialize; the result is
 * allocated in aggcontext.  A state made by another aggregate is refused
 * before any of its bytes reach a deserialize or receive function.
 */
void
lv_trans_deserialize(LvAggInfo *info, struct varlena *state, fmNodePtr context,
					 MemoryContext aggcontext, Datum *value, bool *isnull)
{
	MemoryContext oldcxt;
	struct varlena *detoasted;
	const char *p;
	Size		len;

	*isnull = (state == NULL);
	*value = (Datum) 0;
	if (state == NULL)
		return;

	detoasted = pg_detoast_datum_packed(state);
	p = VARDATA_ANY(detoasted);
	len = VARSIZE_ANY_EXHDR(detoasted);
	if (len < LV_STATE_HEADER_LEN || p[0] != LV_STATE_VERSION ||
		memcmp(p + 1, info->ident, LV_STATE_IDENT_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("partial state does not belong to aggregate %s",
						format_procedure(info->aggfnoid)),
				 errdetail("A state is only ever combined or finalized by the aggregate that made it."),
				 errhint("Rebuild the view's storage from its source with lambda_views.recompute().")));
	p += LV_STATE_HEADER_LEN;
	len -= LV_STATE_HEADER_LEN;

	oldcxt = MemoryContextSwitchTo(aggcontext);
	if (info->transtype == INTERNALOID)
	{
		LOCAL_FCINFO(fcinfo, 2);
		bytea	   *inner = palloc(VARHDRSZ + len);
		Datum		result;

		SET_VARSIZE(inner, VARHDRSZ + len);
		memcpy(VARDATA(inner), p, len);
		InitFunctionCallInfoData(*fcinfo, &info->deserialfn, 2, InvalidOid,
								 context, NULL);
		fcinfo->args[0].value = PointerGetDatum(inner);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = (Datum) 0;
		fcinfo->args[1].isnull = true;
		result = FunctionCallInvoke(fcinfo);
		*value = result;
		*isnull = fcinfo->isnull;
	}
	else
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendBinaryStringInfo(&buf, p, len);
		*value = OidReceiveFunctionCall(info->typrecv, &buf,
										info->typioparam, -1);
		check_array_shape(info, *value);
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * lv_trans_from_final checks a batch row's final value that stands for its
 * state (state_is_final) as a received state is checked: lambda_views.merge
 * takes it from its caller.
 */
void
lv_trans_from_final(LvAggInfo *info, Datum final, bool final_isnull)
{
	if (!final_isnull)
		check_array_shape(info, final);
}

/*
 * lv_check_arg_types refuses actual argument types that are not the
 * aggregate's declared ones (any type for "any"): its transition function
 * would read a datum of one type as another.
 */
void
lv_check_arg_types(Oid aggfnoid, Oid *argtypes, int nargs)
{
	Oid		   *declared;
	int			ndeclared;
	int			i;

	lv_check_aggregate_oid(aggfnoid);
	get_func_signature(aggfnoid, &declared, &ndeclared);
	if (nargs != ndeclared)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("aggregate %s takes %d arguments, not %d",
						format_procedure(aggfnoid), ndeclared, nargs)));
	for (i = 0; i < nargs; i++)
		if (argtypes[i] != declared[i] && declared[i] != ANYOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("argument %d of aggregate %s must be of type %s, not %s",
							i + 1, format_procedure(aggfnoid),
							format_type_be(declared[i]),
							format_type_be(argtypes[i])),
					 errhint("Cast the argument to %s.", format_type_be(declared[i]))));
}

/*
 * lv_check_result_type refuses a result type (given by a witness argument)
 * that is not the aggregate's own: the caller would read the final value
 * as another type.
 */
void
lv_check_result_type(LvAggInfo *info, Oid type, const char *what)
{
	if (type != info->resulttype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be of type %s, the result type of aggregate %s, not %s",
						what, format_type_be(info->resulttype),
						format_procedure(info->aggfnoid), format_type_be(type))));
}

/*
 * lv_trans_finalize returns the aggregate's final value for a transition
 * value (the value itself when the aggregate has no final function).
 */
Datum
lv_trans_finalize(LvAggInfo *info, LvTransValue *tv, fmNodePtr context,
				  bool *isnull)
{
	FunctionCallInfo fcinfo = info->finalcall;
	Datum		result;
	int			i;

	if (!info->has_final)
	{
		*isnull = tv->isnull;
		return tv->value;
	}
	if (info->finalfn.fn_strict && tv->isnull)
	{
		*isnull = true;
		return (Datum) 0;
	}
	fcinfo->context = context;
	fcinfo->isnull = false;
	fcinfo->args[0].value = tv->value;
	fcinfo->args[0].isnull = tv->isnull;
	for (i = 1; i < fcinfo->nargs; i++)
	{
		fcinfo->args[i].value = (Datum) 0;
		fcinfo->args[i].isnull = true;
	}
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/*
 * lv_standalone_agg_context builds an aggregate call context for support
 * functions that run outside an Agg node (the scalar combine of two stored
 * states).  Support functions only use it to find their memory context,
 * which is mcxt here; the context itself lives in allocxt.
 */
AggState *
lv_standalone_agg_context(MemoryContext allocxt, MemoryContext mcxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(allocxt);
	AggState   *aggstate = makeNode(AggState);
	ExprContext *econtext = makeNode(ExprContext);

	econtext->ecxt_per_tuple_memory = mcxt;
	econtext->ecxt_per_query_memory = mcxt;
	aggstate->curaggcontext = econtext;
	MemoryContextSwitchTo(oldcxt);
	return aggstate;
}
