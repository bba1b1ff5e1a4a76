/*
 * agg_state.h
 *	  Drive any combinable aggregate through its own support functions:
 *	  transition, combine, serialize, deserialize and final.
 */
#ifndef LV_AGG_STATE_H
#define LV_AGG_STATE_H

#include "fmgr.h"
#include "nodes/execnodes.h"

/*
 * A stored partial state (SQL type lambda_views.state): a varlena whose
 * header names the aggregate that made it, so its bytes only ever reach
 * that aggregate's own deserialize or receive function.  SQL cannot build
 * one (the type's input functions refuse everyone but superusers, who
 * restore dumps); lambda_views.partial() is the only producer.
 */
#define LV_STATE_VERSION		1
#define LV_STATE_IDENT_LEN		8
#define LV_STATE_HEADER_LEN		(1 + LV_STATE_IDENT_LEN)

/*
 * The first block of a context that deserializes and combines internal
 * states one pair at a time, kept across resets (hll's state is 128 kB).
 */
#define LV_STATE_WORK_SIZE		(1024 * 1024)

/* Everything needed to run one aggregate's support functions. */
typedef struct LvAggInfo
{
	Oid			aggfnoid;
	uint8		ident[LV_STATE_IDENT_LEN];	/* identity stored in its states */
	Oid			resulttype;
	int			nargs;
	Oid			transtype;
	int16		transtyplen;
	bool		transtypbyval;
	bool		initval_isnull;
	Datum		initval;		/* in mcxt */
	FmgrInfo	transfn;
	FmgrInfo	combinefn;
	FmgrInfo	serialfn;		/* valid when transtype is internal */
	FmgrInfo	deserialfn;
	FmgrInfo	finalfn;		/* valid when has_final */
	Oid			typsend;		/* binary I/O when transtype is not internal */
	Oid			typrecv;
	Oid			typioparam;
	bool		has_final;
	bool		final_extra;
	bool		state_is_final; /* see lv_agg_state_is_final */
	Oid			collation;
	FunctionCallInfo transcall; /* reusable call frames */
	FunctionCallInfo combinecall;
	FunctionCallInfo finalcall;
	MemoryContext mcxt;
	MemoryContext workcxt;		/* lv_state_workcxt, made on first use */
} LvAggInfo;

/* A transition value being built. */
typedef struct LvTransValue
{
	Datum		value;
	bool		isnull;
} LvTransValue;

extern LvAggInfo *lv_agg_info(Oid aggfnoid, Oid *argtypes, int nargs,
							  Oid collation, MemoryContext mcxt);
extern MemoryContext lv_state_workcxt(LvAggInfo *info);
extern void lv_state_drop_workcxt(LvAggInfo *info);
extern void lv_trans_init(LvAggInfo *info, LvTransValue *tv,
						  MemoryContext aggcontext);
extern void lv_trans_advance(LvAggInfo *info, LvTransValue *tv,
							 NullableDatum *args, fmNodePtr context,
							 MemoryContext aggcontext);
extern void lv_trans_combine(LvAggInfo *info, LvTransValue *tv,
							 Datum other, bool other_isnull,
							 fmNodePtr context, MemoryContext aggcontext);
extern struct varlena *lv_trans_serialize(LvAggInfo *info, LvTransValue *tv,
										  fmNodePtr context);
extern void lv_trans_deserialize(LvAggInfo *info, struct varlena *state,
								 fmNodePtr context, MemoryContext aggcontext,
								 Datum *value, bool *isnull);
extern Datum lv_trans_finalize(LvAggInfo *info, LvTransValue *tv,
							   fmNodePtr context, bool *isnull);
extern void lv_check_aggregate_oid(Oid aggfnoid);
extern bool lv_agg_state_is_final(Oid aggfnoid);
extern bool lv_agg_large_state(Oid aggoid);
extern void lv_trans_from_final(LvAggInfo *info, Datum final, bool final_isnull);
extern void lv_check_arg_types(Oid aggfnoid, Oid *argtypes, int nargs);
extern void lv_check_result_type(LvAggInfo *info, Oid type, const char *what);
extern AggState *lv_standalone_agg_context(MemoryContext allocxt,
											 MemoryContext mcxt);

#endif							/* LV_AGG_STATE_H */
