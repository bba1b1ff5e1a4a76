/*-------------------------------------------------------------------------
 *
 * agg_state.c
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
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "parser/parse_agg.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "agg_state.h"

static FunctionCallInfo alloc_call(MemoryContext mcxt, int nargs,
								   FmgrInfo *flinfo, Oid collation);
static void store_trans_value(LvAggInfo *info, LvTransValue *tv,
							  Datum newval, bool newisnull,
							  MemoryContext aggcontext);

/*
 * lv_agg_info looks up an aggregate's support functions and prepares call
 * frames for them, allocated in mcxt.  argtypes are the actual input types.
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
	Oid			resulttype = get_func_rettype(aggfnoid);

	aggtup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggfnoid));
	if (!HeapTupleIsValid(aggtup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %u is not an aggregate", aggfnoid)));
	agg = (Form_pg_aggregate) GETSTRUCT(aggtup);
	if (!OidIsValid(agg->aggcombinefn))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s has no combine function",
						format_procedure(aggfnoid))));

	oldcxt = MemoryContextSwitchTo(mcxt);
	info = palloc0(sizeof(LvAggInfo));
	info->mcxt = mcxt;
	info->aggfnoid = aggfnoid;
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
 * lv_trans_serialize turns a transition value into the stored bytea form:
 * the aggregate's serialize function for internal states, the type's binary
 * send function otherwise.  A null state serializes to NULL.
 */
bytea *
lv_trans_serialize(LvAggInfo *info, LvTransValue *tv, fmNodePtr context)
{
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
		return DatumGetByteaPP(result);
	}
	return OidSendFunctionCall(info->typsend, tv->value);
}

/*
 * lv_trans_deserialize is the inverse of lv_trans_serialize; the result is
 * allocated in aggcontext.
 */
void
lv_trans_deserialize(LvAggInfo *info, bytea *data, fmNodePtr context,
					 MemoryContext aggcontext, Datum *value, bool *isnull)
{
	MemoryContext oldcxt;

	*isnull = (data == NULL);
	*value = (Datum) 0;
	if (data == NULL)
		return;

	oldcxt = MemoryContextSwitchTo(aggcontext);
	if (info->transtype == INTERNALOID)
	{
		LOCAL_FCINFO(fcinfo, 2);
		Datum		result;

		InitFunctionCallInfoData(*fcinfo, &info->deserialfn, 2, InvalidOid,
								 context, NULL);
		fcinfo->args[0].value = PointerGetDatum(data);
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
		int			len = VARSIZE_ANY_EXHDR(data);

		initStringInfo(&buf);
		appendBinaryStringInfo(&buf, VARDATA_ANY(data), len);
		*value = OidReceiveFunctionCall(info->typrecv, &buf,
										info->typioparam, -1);
	}
	MemoryContextSwitchTo(oldcxt);
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
