/*-------------------------------------------------------------------------
 *
 * src/ground/definition.c  (level: ground)
 *	  Parse and validate a lambda view's query with PostgreSQL's own parser
 *	  and analyzer, and split it into group keys, aggregates and outputs.
 *
 * Everything derived here is SQL text deparsed from analyzed trees under an
 * empty search_path, so every name is schema-qualified and the text can be
 * stored (pg_dump and pg_upgrade keep it) and run by anyone later.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/genam.h"
#include "catalog/dependency.h"
#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "access/transam.h"
#include "utils/fmgroids.h"

#include "lambda_views.h"
#include "agg_state.h"
#include "definition.h"

/* settings that change what the view's expressions compute */
static const char *const pinned_settings[] = {"TimeZone", "DateStyle", "IntervalStyle"};

static Query *analyze_one_select(const char *query_text);
static void check_query_shape(Query *query);
static Oid	check_source(Query *query, bool *inh);
static void check_distribution(LvDefinition *def);
static void check_functions(Node *node);
static void check_append_key(LvDefinition *def, Relation rel,
							 const char *append_key);
static void split_query(LvDefinition *def, Query *query);
static char *deparse_over_source(LvDefinition *def, Node *expr);

/*
 * appends "SELECT k1.., partial states s1.., count(*) AS nrows"; where
 * direct[j] (direct not NULL), s(j+1) is aggregate j's own final value
 */
static void
partial_select_list(StringInfo buf, LvDefinition *def, const bool *direct)
{
	ListCell   *lc;
	int			i = 0;

	appendStringInfoString(buf, "SELECT ");
	foreach(lc, def->keys)
	{
		appendStringInfo(buf, "%s%s AS k%d", i > 0 ? ", " : "",
						 ((LvKey *) lfirst(lc))->sql, i + 1);
		i++;
	}
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);
		int			j = foreach_current_index(lc);

		appendStringInfo(buf, "%s%s AS s%d", i > 0 ? ", " : "",
						 direct && direct[j] ? agg->direct_sql : agg->partial_sql, j + 1);
		i++;
	}
	appendStringInfo(buf, "%scount(*) AS nrows", i > 0 ? ", " : "");
}

/* appends " GROUP BY 1, 2, .." over the keys, if any */
static void
group_by_keys(StringInfo buf, LvDefinition *def)
{
	int			i;

	if (def->keys == NIL)
		return;
	appendStringInfoString(buf, " GROUP BY ");
	for (i = 0; i < list_length(def->keys); i++)
		appendStringInfo(buf, "%s%d", i > 0 ? ", " : "", i + 1);
}

/*
 * lv_partial_ranges_sql returns the partial query of the source rows whose
 * append key lies in one of the rows of ranges, a FROM item with columns
 * lambda_views_lo and lambda_views_hi (both bounds included): one index
 * range scan per range.  Citus pushes it down with its distributed source
 * (the fold and the real-time tail of a view over a Citus table).
 */
char *
lv_partial_ranges_sql(LvDefinition *def, const char *ranges)
{
	StringInfoData buf;
	const char *src = quote_identifier(get_rel_name(def->source));
	const char *key = quote_identifier(def->append_key);

	initStringInfo(&buf);
	partial_select_list(&buf, def, NULL);
	appendStringInfo(&buf, " FROM %s lambda_views_r JOIN %s ON %s.%s >= lambda_views_r.lambda_views_lo "
					 "AND %s.%s <= lambda_views_r.lambda_views_hi",
					 ranges, def->source_sql, src, key, src, key);
	if (def->where_sql)
		appendStringInfo(&buf, " WHERE (%s)", def->where_sql);
	group_by_keys(&buf, def);
	return buf.data;
}

/*
 * partial_query builds the partial query every layer shares: the partial
 * states of the rows with $1 < key <= $2, per group.  With except_holes,
 * rows whose key is in the int8multirange $4 are left out (the batch
 * leaves out the keys the speed layer has not folded yet: speed.c).
 */
static char *
partial_query(LvDefinition *def, bool except_holes, const bool *direct)
{
	StringInfoData buf;

	initStringInfo(&buf);
	partial_select_list(&buf, def, direct);
	appendStringInfo(&buf, " FROM %s WHERE %s > $1 AND %s <= $2",
					 def->source_sql, quote_identifier(def->append_key),
					 quote_identifier(def->append_key));
	/*
	 * without holes (nearly always) the first arm is a constant true in the
	 * one-shot plan a recompute makes, and no row pays for the test
	 */
	if (except_holes)
		appendStringInfo(&buf, " AND (pg_catalog.isempty($4::pg_catalog.int8multirange) "
						 "OR NOT $4::pg_catalog.int8multirange "
						 "OPERATOR(pg_catalog.@>) %s::pg_catalog.int8)",
						 quote_identifier(def->append_key));
	if (def->where_sql)
		appendStringInfo(&buf, " AND (%s)", def->where_sql);
	group_by_keys(&buf, def);
	return buf.data;
}

/*
 * lv_parse_definition parses, validates and splits a view query.  Names
 * resolve with the caller's search_path; the SQL derived from it is
 * qualified so it means the same under any search_path.
 */
LvDefinition *
lv_parse_definition(const char *query_text, const char *append_key)
{
	LvDefinition *def = palloc0(sizeof(LvDefinition));
	Query	   *query = analyze_one_select(query_text);
	Relation	rel;
	bool		inh;
	int			nestlevel;
	int			i;

	check_query_shape(query);
	def->source = check_source(query, &inh);
	check_functions((Node *) query);
	def->settings_bound = contain_mutable_functions((Node *) query);

	rel = table_open(def->source, AccessShareLock);
	check_append_key(def, rel, append_key);
	table_close(rel, NoLock);

	for (i = 0; i < lengthof(pinned_settings); i++)
		def->settings = lappend(def->settings,
								psprintf("%s=%s", pinned_settings[i],
										 GetConfigOption(pinned_settings[i], false, false)));

	/* deparse with an empty search_path: every name comes out qualified */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	def->source_sql = psprintf("%s%s", inh ? "" : "ONLY ",
							   quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->source)),
														  get_rel_name(def->source)));
	def->query_sql = pg_get_querydef(query, false);
	split_query(def, query);
	AtEOXact_GUC(false, nestlevel);
	check_distribution(def);
	return def;
}

/*
 * check_distribution accepts a Citus source that is hash-distributed and
 * whose distribution column is one of the view's group keys: the speed and
 * batch tables are distributed by that key, co-located with the source,
 * so every shard folds and rebuilds its own groups (def->dist_key).
 */
static void
check_distribution(LvDefinition *def)
{
	char		method;
	char	   *column = lv_citus_distribution(def->source, &method);
	char	   *relname = get_rel_name(def->source);
	AttrNumber	attnum;
	ListCell   *lc;
	HeapTuple	tup;
	int64		cache = 1;

	if (method == 0)
		return;
	if (method != 'h' || column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("source \"%s\" is a Citus table that is not hash-distributed", relname),
				 errdetail("Lambda views over Citus fold each shard into co-located storage; reference, single-shard and append tables have none."),
				 errhint("Distribute the source by hash with create_distributed_table().")));
	attnum = get_attnum(def->source, column);
	foreach(lc, def->keys)
	{
		LvKey	   *key = lfirst(lc);

		if (IsA(key->expr, Var) && ((Var *) key->expr)->varattno == attnum)
		{
			def->dist_key = foreach_current_index(lc) + 1;
			break;
		}
	}
	if (def->dist_key == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a lambda view over Citus table \"%s\" must group by its distribution column \"%s\"",
						relname, column),
				 errdetail("The speed and batch tables are distributed by that group key, co-located with the source, so that each shard folds and rebuilds its own groups."),
				 errhint("Add \"%s\" to GROUP BY, and aggregate over the view when you read it.", column)));
	switch (get_atttype(def->source, attnum))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case UUIDOID:
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("distribution column \"%s\" of Citus table \"%s\" has type %s",
							column, relname, format_type_be(get_atttype(def->source, attnum))),
					 errdetail("Lambda views over Citus support distribution columns of integer, numeric, text and uuid types."),
					 errhint("Distribute the source by a column of one of those types.")));
	}
	tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(def->key_sequence));
	if (HeapTupleIsValid(tup))
	{
		cache = ((Form_pg_sequence) GETSTRUCT(tup))->seqcache;
		ReleaseSysCache(tup);
	}
	if (get_atttype(def->source, get_attnum(def->source, def->append_key)) != INT8OID || cache != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("append key \"%s\" of Citus table \"%s\" must be a bigint drawn from a sequence with CACHE 1",
						def->append_key, relname),
				 errdetail("Citus gives each node its own range of the sequence, and lambda views settle each range by the last key it handed out."),
				 errhint("Use a bigserial or bigint identity column with the default CACHE 1.")));
}

/*
 * query_error_callback points a parser error's cursor into the view query
 * rather than into the statement that called create_view.
 */
static void
query_error_callback(void *arg)
{
	int			position = geterrposition();

	if (position > 0)
	{
		errposition(0);
		internalerrposition(position);
		internalerrquery((const char *) arg);
	}
	errcontext("query of the lambda view");
}

/* analyze_one_select parses and analyzes exactly one SELECT statement. */
static Query *
analyze_one_select(const char *query_text)
{
	List	   *raw;
	RawStmt    *stmt;
	Query	   *query;
	ErrorContextCallback errcallback;

	errcallback.callback = query_error_callback;
	errcallback.arg = (void *) query_text;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	raw = raw_parser(query_text, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a lambda view is defined by exactly one SELECT statement"),
				 errhint("Pass a single SELECT ... GROUP BY query without a trailing statement.")));
	stmt = linitial_node(RawStmt, raw);
	if (!IsA(stmt->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a lambda view is defined by a SELECT statement"),
				 errhint("Pass a SELECT ... FROM source GROUP BY ... query.")));
	query = parse_analyze_fixedparams(stmt, query_text, NULL, 0, NULL);
	error_context_stack = errcallback.previous;
	if (query->commandType != CMD_SELECT || query->utilityStmt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a lambda view is defined by a SELECT statement")));
	return query;
}

/* refuse raises the standard "not supported in a lambda view" error. */
static void
refuse(const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s not supported in a lambda view", what),
			 errhint("%s", hint)));
}

/* check_query_shape refuses everything but SELECT ... FROM t GROUP BY. */
static void
check_query_shape(Query *query)
{
	ListCell   *lc;

	if (query->setOperations != NULL)
		refuse("set operations are", "Define one view per SELECT; a view reads one table.");
	if (query->cteList != NIL)
		refuse("WITH queries are", "Define the view directly over the source table.");
	if (query->hasSubLinks)
		refuse("subqueries are", "Express the filter over the source's own columns, or append the needed values to the source.");
	if (query->hasWindowFuncs)
		refuse("window functions are", "Aggregate with GROUP BY; window over the view's result when you read it.");
	if (query->hasTargetSRFs)
		refuse("set-returning functions are", "Aggregate scalar expressions only.");
	if (query->groupingSets != NIL)
		refuse("grouping sets are", "Create one lambda view per grouping.");
	if (query->distinctClause != NIL)
		refuse("SELECT DISTINCT is", "Group by the columns instead.");
	if (query->sortClause != NIL)
		refuse("ORDER BY is", "Order when you read the view.");
	if (query->limitCount != NULL || query->limitOffset != NULL)
		refuse("LIMIT and OFFSET are", "Limit when you read the view.");
	if (query->rowMarks != NIL)
		refuse("locking clauses are", "Remove FOR UPDATE / FOR SHARE.");
	if (!query->hasAggs && query->groupClause == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a lambda view must aggregate"),
				 errhint("Add GROUP BY and aggregates such as count(*) or sum(x).")));

	/* every join, subquery in FROM or function in FROM */
	if (list_length(query->jointree->fromlist) != 1 ||
		!IsA(linitial(query->jointree->fromlist), RangeTblRef))
	{
		if (query->jointree->fromlist == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a lambda view must read from a table"),
					 errhint("Add FROM with the append-only source table.")));
		refuse("joins are", "Define the view over one append-only table; join when you read the view.");
	}
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY)
			refuse("subqueries are", "Define the view directly over the source table.");
		if (rte->rtekind == RTE_JOIN)
			refuse("joins are", "Define the view over one append-only table; join when you read the view.");
		if (rte->rtekind != RTE_RELATION)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("a lambda view must read from a table"),
					 errhint("Use a plain or partitioned table as the source.")));
	}
	if (list_length(query->rtable) != 1)
		refuse("joins are", "Define the view over one append-only table; join when you read the view.");
}

/* check_source returns the source table after checking its kind. */
static Oid
check_source(Query *query, bool *inh)
{
	RangeTblEntry *rte = linitial_node(RangeTblEntry, query->rtable);
	char		relkind = get_rel_relkind(rte->relid);
	char	   *relname = get_rel_name(rte->relid);
	*inh = rte->inh;
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("source \"%s\" is not a plain or partitioned table", relname),
				 errdetail("Views, materialized views and foreign tables cannot be lambda view sources."),
				 errhint("Define the lambda view over the append-only table itself.")));
	if (get_rel_persistence(rte->relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("source \"%s\" is a temporary table", relname),
				 errhint("Background workers cannot see temporary tables; use a permanent table.")));
	if (pg_class_aclcheck(rte->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errhint("Creating a lambda view needs SELECT on its source.")));

	return rte->relid;
}

/* stable functions that read the clock, the session or the catalogs */
static bool
is_context_reading(Oid funcid)
{
	char	   *name = get_func_name(funcid);
	static const char *const names[] = {
		"now", "transaction_timestamp", "statement_timestamp",
		"current_setting", "current_schema", "current_schemas",
		"current_database", "current_user", "session_user", "current_query",
		"inet_client_addr", "inet_server_addr", "txid_current_snapshot",
		"pg_current_snapshot", "to_regclass", "to_regtype", "to_regproc",
		"to_regprocedure", "to_regoper", "to_regoperator", "to_regnamespace",
		"to_regrole", "to_regcollation"
	};
	int			i;

	if (name == NULL)
		return false;
	for (i = 0; i < lengthof(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return strncmp(name, "has_", 4) == 0 || strncmp(name, "pg_", 3) == 0;
}

typedef struct FunctionCheck
{
	Oid			bad_func;
	const char *why;
} FunctionCheck;

/* function_checker flags a function the view may not call. */
static bool
function_checker(Oid funcid, void *context)
{
	FunctionCheck *check = (FunctionCheck *) context;
	char		volatility = func_volatile(funcid);

	if (volatility == PROVOLATILE_VOLATILE)
		check->why = "volatile";
	else if (volatility == PROVOLATILE_STABLE &&
			 (funcid >= FirstNormalObjectId || is_context_reading(funcid)))
		check->why = funcid >= FirstNormalObjectId ? "stable" : "clock";
	else
		return false;
	check->bad_func = funcid;
	return true;
}

/* functions_walker applies function_checker to every node. */
static bool
functions_walker(Node *node, FunctionCheck *check)
{
	if (node == NULL)
		return false;
	if (IsA(node, SQLValueFunction))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a lambda view cannot read the clock or the session"),
				 errdetail("CURRENT_DATE, CURRENT_TIMESTAMP, CURRENT_USER and similar change between the batch and the speed layer."),
				 errhint("Group by the source's own timestamp column, e.g. date_trunc('day', ts).")));
	if (IsA(node, Param))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("parameters are not supported in a lambda view"),
				 errhint("Write constants into the query.")));
	if (IsA(node, NextValueExpr))
		refuse("sequence functions are", "Remove nextval from the view query.");
	if (check_functions_in_node(node, function_checker, check))
	{
		char	   *fname = format_procedure(check->bad_func);

		if (strcmp(check->why, "volatile") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("volatile function %s is not allowed in a lambda view", fname),
					 errdetail("The batch and the speed layer would compute different results."),
					 errhint("Use only immutable functions, or stable ones that depend only on the time zone and date style.")));
		if (strcmp(check->why, "clock") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("function %s reads the clock, the session or the catalogs and is not allowed in a lambda view", fname),
					 errhint("Group by the source's own columns, e.g. date_trunc('day', ts).")));
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stable function %s is not allowed in a lambda view", fname),
				 errdetail("A stable user function may read tables, which would make the layers disagree."),
				 errhint("Mark it IMMUTABLE if its result depends only on its arguments.")));
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, functions_walker, check, 0);
	return expression_tree_walker(node, functions_walker, check);
}

/* check_functions refuses volatile, clock-reading and table-reading calls. */
static void
check_functions(Node *node)
{
	FunctionCheck check = {InvalidOid, NULL};

	(void) functions_walker(node, &check);
}

/*
 * default_sequence returns the sequence a column's default draws from when
 * that default is nextval('seq'::regclass), under implicit casts (what
 * serial and bigserial create), and InvalidOid otherwise.
 */
static Oid
default_sequence(Relation rel, AttrNumber attnum)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	Node	   *expr = NULL;
	int			i;

	if (constr == NULL)
		return InvalidOid;
	for (i = 0; i < constr->num_defval; i++)
		if (constr->defval[i].adnum == attnum)
			expr = stringToNode(constr->defval[i].adbin);
	expr = strip_implicit_coercions(expr);
	if (expr != NULL && IsA(expr, FuncExpr) &&
		((FuncExpr *) expr)->funcid == F_NEXTVAL &&
		list_length(((FuncExpr *) expr)->args) == 1)
	{
		Const	   *arg = linitial(((FuncExpr *) expr)->args);

		if (IsA(arg, Const) && arg->consttype == REGCLASSOID && !arg->constisnull)
			return DatumGetObjectId(arg->constvalue);
	}
	return InvalidOid;
}

/* owned_by_column says whether seqid is OWNED BY that column of rel. */
static bool
owned_by_column(Oid seqid, Relation rel, AttrNumber attnum)
{
	Oid			tableid;
	int32		colno;

	return sequenceIsOwned(seqid, DEPENDENCY_AUTO, &tableid, &colno) &&
		tableid == RelationGetRelid(rel) && colno == attnum;
}

/*
 * default_key chooses the append key when create_view is given none: the
 * one column whose values come from a sequence of its own, an identity
 * column or a serial one (a default of nextval() of the sequence OWNED BY
 * the column).  Several such columns are ambiguous.  Without one, a column
 * whose default draws from a sequence it does not own is returned so that
 * the caller explains why it does not qualify.
 */
static Form_pg_attribute
default_key(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	char	   *relname = RelationGetRelationName(rel);
	Form_pg_attribute found = NULL;
	Form_pg_attribute unowned = NULL;
	StringInfoData names;
	int			nfound = 0;
	int			i;

	initStringInfo(&names);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		if (att->attidentity == '\0')
		{
			Oid			seqid = default_sequence(rel, att->attnum);

			if (!OidIsValid(seqid))
				continue;		/* not filled by a sequence */
			if (!owned_by_column(seqid, rel, att->attnum))
			{
				if (unowned == NULL)
					unowned = att;
				continue;
			}
		}
		appendStringInfo(&names, "%s%s", nfound > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)));
		if (nfound++ == 0)
			found = att;
	}
	if (nfound > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_COLUMN),
				 errmsg("source \"%s\" has several columns that could be the append key: %s",
						relname, names.data),
				 errdetail("Without append_key, create_view takes the source's only identity or serial column."),
				 errhint("Pass append_key => 'column' to choose one.")));
	if (found == NULL && unowned == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\" has no identity or serial column to use as append key", relname),
				 errhint("Pass append_key => 'column', a bigint column filled by a sequence.")));
	return found != NULL ? found : unowned;
}

/*
 * check_append_key finds the append key and its sequence and checks the
 * rule that makes capture exact: keys drawn by the column default from the
 * column's own sequence (an identity column's, or the one a serial column's
 * default calls nextval() on and that is OWNED BY the column), one at a
 * time, never cached and never cycling, with an index to range-scan.
 */
static void
check_append_key(LvDefinition *def, Relation rel, const char *append_key)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	char	   *relname = RelationGetRelationName(rel);
	Form_pg_attribute keyatt = NULL;
	HeapTuple	seqtup;
	Form_pg_sequence seq;
	List	   *indexes;
	ListCell   *lc;
	bool		indexed = false;
	int			i;

	if (append_key == NULL)
		keyatt = default_key(rel);
	for (i = 0; append_key != NULL && i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), append_key) == 0)
		{
			keyatt = att;
			break;
		}
	}
	if (keyatt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of source \"%s\" does not exist", append_key, relname),
				 errhint("append_key is the exact name of the source's identity or serial column.")));
	def->append_key = pstrdup(NameStr(keyatt->attname));
	if (keyatt->atttypid != INT8OID && keyatt->atttypid != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("append key \"%s\" must be bigint or integer", def->append_key),
				 errhint("Use a bigint identity column (GENERATED ALWAYS AS IDENTITY) or bigserial.")));

	if (keyatt->attidentity != '\0')
		def->key_sequence = getIdentitySequence(RelationGetRelid(rel), keyatt->attnum, false);
	else
		def->key_sequence = default_sequence(rel, keyatt->attnum);
	if (!OidIsValid(def->key_sequence))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("append key \"%s\" of source \"%s\" has no sequence default", def->append_key, relname),
				 errdetail("Capture is exact only for keys drawn from a sequence by the inserting statement."),
				 errhint("Use a bigint GENERATED ALWAYS AS IDENTITY column or bigserial.")));
	if (keyatt->attidentity == '\0' &&
		!owned_by_column(def->key_sequence, rel, keyatt->attnum))
	{
		char	   *seqname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->key_sequence)),
														 get_rel_name(def->key_sequence));

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("append key \"%s\" of source \"%s\" draws from sequence %s, which the column does not own",
						def->append_key, relname, seqname),
				 errdetail("The append key must be filled by a sequence of its own, as an identity or serial column is."),
				 errhint("Make it the column's own with ALTER SEQUENCE %s OWNED BY %s.%s%s.",
						 seqname,
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), relname),
						 quote_identifier(def->append_key),
						 append_key == NULL ? ", or pass append_key => 'column' naming a column filled by a sequence of its own" : "")));
	}

	seqtup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(def->key_sequence));
	if (!HeapTupleIsValid(seqtup))
		elog(ERROR, "cache lookup failed for sequence %u", def->key_sequence);
	seq = (Form_pg_sequence) GETSTRUCT(seqtup);
	if (seq->seqcache > 1 || seq->seqcycle || seq->seqincrement <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sequence \"%s\" of append key \"%s\" is not usable for capture",
						get_rel_name(def->key_sequence), def->append_key),
				 errdetail("It has %s.", seq->seqcycle ? "CYCLE" :
						   seq->seqincrement <= 0 ? "a decreasing INCREMENT" :
						   psprintf("CACHE " INT64_FORMAT, seq->seqcache)),
				 errhint("ALTER SEQUENCE %s CACHE 1 NO CYCLE INCREMENT 1;",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->key_sequence)),
													get_rel_name(def->key_sequence)))));
	def->key_floor = seq->seqmin - 1;
	ReleaseSysCache(seqtup);

	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		if (index->rd_index->indkey.values[0] == keyatt->attnum &&
			index->rd_rel->relam == BTREE_AM_OID &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
			indexed = true;
		index_close(index, AccessShareLock);
	}
	if (!indexed)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("append key \"%s\" of source \"%s\" has no index", def->append_key, relname),
				 errdetail("The speed layer and the real-time tail read new rows by a range scan on the append key."),
				 errhint("CREATE INDEX ON %s (%s);",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), relname),
						 quote_identifier(def->append_key))));
}

/* lv_deparse_over deparses expr with Vars of varno 1 naming relid's columns. */
char *
lv_deparse_over(Node *expr, const char *alias, Oid relid)
{
	return deparse_expression(expr, deparse_context_for(alias, relid),
							  false, false);
}

/* deparse_over_source deparses an expression over the source's columns. */
static char *
deparse_over_source(LvDefinition *def, Node *expr)
{
	return lv_deparse_over(expr, get_rel_name(def->source), def->source);
}

/* type_sql names a type with its typmod, qualified unless in pg_catalog. */
static char *
type_sql(Oid type, int32 typmod)
{
	return format_type_with_typemod(type, typmod);
}

/* collate_sql returns " COLLATE name" for a collatable type, else "". */
static char *
collate_sql(Oid collation)
{
	HeapTuple	tup;
	char	   *result;
	Form_pg_collation coll;

	if (!OidIsValid(collation))
		return "";
	tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for collation %u", collation);
	coll = (Form_pg_collation) GETSTRUCT(tup);
	result = psprintf(" COLLATE %s",
					  quote_qualified_identifier(get_namespace_name(coll->collnamespace),
												 NameStr(coll->collname)));
	ReleaseSysCache(tup);
	return result;
}

/* check_aggregate refuses aggregates that cannot be split. */
static void
check_aggregate(Aggref *aggref)
{
	char	   *name = format_procedure(aggref->aggfnoid);
	HeapTuple	tup;
	Form_pg_aggregate agg;
	Oid		   *argtypes;
	int			nargs;
	int			i;

	if (aggref->aggdistinct != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("DISTINCT inside aggregate %s is not supported in a lambda view", name),
				 errdetail("Distinct counts cannot be combined from partial states."),
				 errhint("Use an estimate that combines: hll_add_agg(hll_hash_bigint(x)) from the hll extension, then hll_cardinality() when reading.")));
	if (aggref->aggkind != AGGKIND_NORMAL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ordered-set aggregate %s is not supported in a lambda view", name),
				 errhint("Use a combinable sketch such as tdigest(x, 100) and tdigest_percentile() from the tdigest extension.")));
	if (aggref->aggorder != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ORDER BY inside aggregate %s is not supported in a lambda view", name),
				 errhint("Remove the ORDER BY; partial states are combined in no particular order.")));

	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for aggregate %u", aggref->aggfnoid);
	agg = (Form_pg_aggregate) GETSTRUCT(tup);
	if (!OidIsValid(agg->aggcombinefn))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s cannot be split into partial states", name),
				 errdetail("It has no combine function (pg_aggregate.aggcombinefn)."),
				 errhint("Use an aggregate with a combine function, or create one with CREATE AGGREGATE ... COMBINEFUNC.")));
	if (agg->aggtranstype == INTERNALOID &&
		(!OidIsValid(agg->aggserialfn) || !OidIsValid(agg->aggdeserialfn)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s cannot store its partial state", name),
				 errdetail("Its transition type is internal and it has no serialization functions."),
				 errhint("Give the aggregate SERIALFUNC and DESERIALFUNC.")));
	if (IsPolymorphicType(agg->aggtranstype))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("polymorphic aggregate %s is not supported in a lambda view", name),
				 errhint("Cast the argument so a non-polymorphic aggregate applies.")));
	ReleaseSysCache(tup);

	get_func_signature(aggref->aggfnoid, &argtypes, &nargs);
	for (i = 0; i < nargs; i++)
		if (IsPolymorphicType(argtypes[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("polymorphic aggregate %s is not supported in a lambda view", name),
					 errhint("Use an aggregate declared for the concrete type.")));
}

/* collect_aggrefs gathers the distinct Aggrefs of an expression. */
static bool
collect_aggrefs(Node *node, List **aggrefs)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
	{
		if (!list_member(*aggrefs, node))
			*aggrefs = lappend(*aggrefs, node);
		return false;
	}
	return expression_tree_walker(node, collect_aggrefs, aggrefs);
}

typedef struct StorageMap
{
	LvDefinition *def;
} StorageMap;

/* to_storage maps keys and aggregates of an output onto storage columns. */
static Node *
to_storage(Node *node, StorageMap *map)
{
	LvDefinition *def = map->def;
	ListCell   *lc;
	int			i;

	if (node == NULL)
		return NULL;
	i = 0;
	foreach(lc, def->keys)
	{
		LvKey	   *key = lfirst(lc);

		if (equal(node, key->expr))
			return (Node *) makeVar(1, LV_KEY_ATTNO(i), key->type,
									key->typmod, key->collation, 0);
		i++;
	}
	if (IsA(node, Aggref))
	{
		i = 0;
		foreach(lc, def->aggs)
		{
			LvAgg	   *agg = lfirst(lc);

			if (equal(node, agg->aggref))
				return (Node *) makeVar(1, LV_FINAL_ATTNO(def, i), agg->type,
										-1, agg->collation, 0);
			i++;
		}
		elog(ERROR, "aggregate not found among the view's aggregates");
	}
	if (IsA(node, Var))
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("column \"%s\" must appear in the GROUP BY clause of a lambda view",
						get_attname(def->source, ((Var *) node)->varattno, false)),
				 errhint("List every output column that is not an aggregate in GROUP BY.")));
	return expression_tree_mutator(node, to_storage, map);
}

/*
 * agg_call_rest appends an aggregate call's arguments (after_first: each
 * after a comma, as when another argument comes before them), the closing
 * parenthesis and its FILTER.  Each argument is cast to its type: the
 * deparser hides implicit casts, which the aggregate's own call relied on,
 * and partial() takes VARIADIC "any", which would coerce nothing.
 */
static void
agg_call_rest(StringInfo buf, LvDefinition *def, LvAgg *agg, bool after_first)
{
	ListCell   *lc;

	foreach(lc, agg->aggref->args)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		appendStringInfo(buf, "%sCAST(%s AS %s)",
						 after_first || foreach_current_index(lc) > 0 ? ", " : "",
						 deparse_over_source(def, (Node *) tle->expr),
						 type_sql(exprType((Node *) tle->expr),
								  exprTypmod((Node *) tle->expr)));
	}
	appendStringInfoChar(buf, ')');
	if (agg->aggref->aggfilter != NULL)
		appendStringInfo(buf, " FILTER (WHERE %s)",
						 deparse_over_source(def, (Node *) agg->aggref->aggfilter));
}

/* agg_partial_sql writes the lambda_views.partial call for one aggregate. */
static void
agg_partial_sql(LvDefinition *def, LvAgg *agg)
{
	StringInfoData buf;
	ListCell   *lc;

	agg->signature_sql =
		psprintf("%s::pg_catalog.regprocedure",
				 quote_literal_cstr(format_procedure_qualified(agg->aggref->aggfnoid)));
	initStringInfo(&buf);
	appendStringInfo(&buf, "lambda_views.partial(%s", agg->signature_sql);
	agg_call_rest(&buf, def, agg, true);
	agg->partial_sql = buf.data;

	/*
	 * An aggregate whose state is its final value is computed by its own
	 * call where a build wants only that value (the batch: no state kept),
	 * without the wrapper's per-row call and per-group serialization.  The
	 * name qualified and every argument cast to its declared type: this
	 * aggregate and no other of the name.
	 */
	agg->direct_sql = NULL;
	if (agg->state_is_final && agg->aggref->aggdistinct == NIL &&
		agg->aggref->aggorder == NIL && agg->aggref->aggdirectargs == NIL &&
		agg->aggref->aggkind == AGGKIND_NORMAL && !agg->aggref->aggvariadic)
	{
		Oid		   *argtypes;
		int			nargs;
		bool		exact;

		/*
		 * only where each argument is of the declared type (no
		 * polymorphic one): the call then resolves to this aggregate by
		 * its exact signature
		 */
		get_func_signature(agg->aggref->aggfnoid, &argtypes, &nargs);
		exact = nargs == list_length(agg->aggref->args);
		foreach(lc, agg->aggref->args)
			if (exact && argtypes[foreach_current_index(lc)] !=
				exprType((Node *) lfirst_node(TargetEntry, lc)->expr))
				exact = false;
		if (exact)
		{
			initStringInfo(&buf);
			appendStringInfo(&buf, "%s(",
							 quote_qualified_identifier(get_namespace_name(get_func_namespace(agg->aggref->aggfnoid)),
														get_func_name(agg->aggref->aggfnoid)));
			if (agg->aggref->aggstar)
				appendStringInfoChar(&buf, '*');
			agg_call_rest(&buf, def, agg, false);
			agg->direct_sql = buf.data;
		}
	}
}

/* key_is_notnull says whether a key is a NOT NULL column of the source. */
static bool
key_is_notnull(LvDefinition *def, Node *expr)
{
	Var		   *var;
	HeapTuple	tup;
	bool		notnull;

	if (!IsA(expr, Var))
		return false;
	var = (Var *) expr;
	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(def->source),
						  Int16GetDatum(var->varattno));
	if (!HeapTupleIsValid(tup))
		return false;
	notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
	ReleaseSysCache(tup);
	return notnull;
}

/*
 * split_query fills keys, aggregates, outputs, having and the partial SQL
 * of def from the analyzed query.
 */
static void
split_query(LvDefinition *def, Query *query)
{
	ListCell   *lc;
	List	   *aggrefs = NIL;
	StorageMap	map = {def};

	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		LvKey	   *key = palloc0(sizeof(LvKey));

		key->expr = (Node *) tle->expr;
		key->type = exprType(key->expr);
		key->typmod = exprTypmod(key->expr);
		key->collation = exprCollation(key->expr);
		if (!OidIsValid(GetDefaultOpClass(key->type, BTREE_AM_OID)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("group key of type %s cannot be indexed", format_type_be(key->type)),
					 errhint("Group by an expression of a type with a btree operator class, e.g. cast it to text.")));
		key->sql = deparse_over_source(def, key->expr);
		key->type_sql = type_sql(key->type, key->typmod);
		key->collate_sql = collate_sql(key->collation);
		key->notnull = key_is_notnull(def, key->expr);
		def->keys = lappend(def->keys, key);
	}

	foreach(lc, query->targetList)
		collect_aggrefs((Node *) lfirst_node(TargetEntry, lc)->expr, &aggrefs);
	collect_aggrefs(query->havingQual, &aggrefs);
	foreach(lc, aggrefs)
	{
		Aggref	   *aggref = lfirst_node(Aggref, lc);
		LvAgg	   *agg = palloc0(sizeof(LvAgg));

		check_aggregate(aggref);
		agg->aggref = aggref;
		agg->type = aggref->aggtype;
		agg->collation = aggref->aggcollid;
		agg->state_is_final = lv_agg_state_is_final(aggref->aggfnoid);
		agg->type_sql = type_sql(agg->type, -1);
		agg_partial_sql(def, agg);
		agg->null_final_sql = psprintf("NULL::%s%s", agg->type_sql,
									   collate_sql(agg->collation));
		if (OidIsValid(agg->collation))
			agg->witness_sql = psprintf("NULL::%s%s", agg->type_sql,
										collate_sql(agg->collation));
		else if (OidIsValid(aggref->inputcollid))
			agg->witness_sql = psprintf("NULL::pg_catalog.text%s",
										collate_sql(aggref->inputcollid));
		else
			agg->witness_sql = psprintf("NULL::%s", agg->type_sql);
		def->aggs = lappend(def->aggs, agg);
	}

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		LvOutput   *out;

		if (tle->resjunk)
			continue;
		out = palloc0(sizeof(LvOutput));
		out->name = pstrdup(tle->resname);
		out->expr = to_storage((Node *) tle->expr, &map);
		def->outputs = lappend(def->outputs, out);
	}
	if (query->havingQual)
		def->having = to_storage(query->havingQual, &map);
	if (query->jointree->quals)
		def->where_sql = deparse_over_source(def, query->jointree->quals);

	def->partial_sql = partial_query(def, false, NULL);
	def->partial_except_sql = partial_query(def, true, NULL);
}

/*
 * lv_batch_partial_query is partial_except_sql with, where direct[j], the
 * final value of aggregate j (its direct_sql) in place of its state.
 */
char *
lv_batch_partial_query(LvDefinition *def, const bool *direct)
{
	return partial_query(def, true, direct);
}
