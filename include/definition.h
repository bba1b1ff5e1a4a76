/*
 * definition.h
 *	  A lambda view's query, parsed, validated and split into group keys,
 *	  aggregates and outputs.
 */
#ifndef LV_DEFINITION_H
#define LV_DEFINITION_H

#include "nodes/parsenodes.h"

/* A GROUP BY key: column k<n> of the storage tables. */
typedef struct LvKey
{
	Node	   *expr;			/* over the source */
	char	   *sql;			/* deparsed over the source */
	char	   *type_sql;		/* type with typmod, qualified */
	char	   *collate_sql;	/* " COLLATE x" or "" */
	Oid			type;
	int32		typmod;
	Oid			collation;
	bool		notnull;		/* provably never null */
} LvKey;

/* An aggregate: state column s<n> and final column f<n>. */
typedef struct LvAgg
{
	Aggref	   *aggref;
	char	   *signature_sql;	/* 'schema.agg(types)'::pg_catalog.regprocedure */
	char	   *partial_sql;	/* lambda_views.partial(...) FILTER (...) */
	char	   *type_sql;
	char	   *witness_sql;	/* carries the input collation */
	char	   *null_final_sql; /* NULL::type [COLLATE x] of the result */
	Oid			type;
	Oid			collation;
	bool		state_is_final; /* the batch keeps no state (agg_state.c) */
	char	   *direct_sql;		/* the aggregate's own call, when its state
								 * is its final value; else NULL */
} LvAgg;

/* An output column of the view, as an expression over the storage columns. */
typedef struct LvOutput
{
	char	   *name;
	Node	   *expr;			/* Vars point at storage attnos */
} LvOutput;

typedef struct LvDefinition
{
	char	   *query_sql;		/* the query, schema-qualified */
	Oid			source;
	char	   *source_sql;		/* [ONLY] schema.table */
	char	   *append_key;
	Oid			key_sequence;
	int64		key_floor;		/* below every key the sequence hands out */
	char	   *where_sql;		/* NULL when none */
	List	   *keys;			/* of LvKey */
	List	   *aggs;			/* of LvAgg */
	List	   *outputs;		/* of LvOutput */
	Node	   *having;			/* over storage columns, or NULL */
	char	   *partial_sql;	/* partial states of rows with $1 < key <= $2 */
	char	   *partial_except_sql;	/* the same without the keys in $4 */
	List	   *settings;		/* "name=value" strings pinned at create */
	int			dist_key;		/* Citus: the group key (1-based) that is the
								 * source's distribution column; 0 when local */
	bool		settings_bound; /* the query calls functions that are not
								 * immutable: its results may depend on the
								 * pinned settings */
} LvDefinition;

/* storage attribute numbers: gen, k1..kn, s1..sm, f1..fm, nrows */
#define LV_KEY_ATTNO(i)			((i) + 2)
#define LV_FINAL_ATTNO(d, j)	(list_length((d)->keys) + (j) + 2)
#define LV_STATE_ATTNO(d, j)	(list_length((d)->keys) + list_length((d)->aggs) + (j) + 3)

extern LvDefinition *lv_parse_definition(const char *query_text,
										 const char *append_key);
extern char *lv_deparse_over(Node *expr, const char *alias, Oid relid);
extern char *lv_partial_ranges_sql(LvDefinition *def, const char *ranges);

extern char *lv_batch_partial_query(LvDefinition *def, const bool *direct);

#endif							/* LV_DEFINITION_H */
