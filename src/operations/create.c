/*-------------------------------------------------------------------------
 *
 * src/operations/create.c  (level: operation)
 *	  lambda_views.create_view(): from one GROUP BY query to a batch table,
 *	  a speed table, their catalog entry and the relation users query.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "commands/extension.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "lambda_views.h"
#include "operations.h"
#include "definition.h"
#include "agg_state.h"
#include "shmem.h"


#define LV_MSECS_PER_DAY ((double) SECS_PER_DAY * 1000.0)

/*
 * check_interval refuses an interval outside [min_ms, max_ms]: the worker
 * schedules in milliseconds, and an interval it cannot count would make it
 * fold every millisecond.
 */
static void
check_interval(const char *argname, Interval *interval, double min_ms,
			   double max_ms, const char *range, const char *hint)
{
	double		ms = interval->time / 1000.0 +
		((double) interval->day + (double) interval->month * DAYS_PER_MONTH) * LV_MSECS_PER_DAY;

	if (ms < min_ms || ms > max_ms)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %s", argname, range),
				 errhint("%s", hint)));
}

/* settings_array turns the pinned settings into a text[]. */
static Datum
settings_array(List *settings)
{
	Datum	   *elems = palloc(sizeof(Datum) * list_length(settings));
	ListCell   *lc;

	foreach(lc, settings)
		elems[foreach_current_index(lc)] = CStringGetTextDatum(lfirst(lc));
	return PointerGetDatum(construct_array(elems, list_length(settings), TEXTOID,
										   -1, false, TYPALIGN_INT));
}

/* depend_auto makes a storage relation go away with the view's relation. */
static void
depend_auto(Oid storage, Oid view)
{
	ObjectAddress dependent;
	ObjectAddress referenced;

	ObjectAddressSet(dependent, RelationRelationId, storage);
	ObjectAddressSet(referenced, RelationRelationId, view);
	recordDependencyOn(&dependent, &referenced, DEPENDENCY_AUTO);
}

/*
 * lv_create_version creates one version of a lambda view: its catalog row,
 * generation sequence, speed table, batch table, state row and the relation
 * users read, named relname in nspid (NULL: v<id>_replay in the owner's
 * storage schema, for a version that alter_view replays).  With initial_batch the first
 * batch covers every row settled now; otherwise the speed layer starts from
 * the first row.  Returns the view id; the caller builds the batch.
 */
int32
lv_create_version(LvDefinition *def, Oid nspid, const char *relname,
				  Datum speed_interval, Datum batch_interval, bool no_batch_interval,
				  bool initial_batch)
{
	int32		view_id;
	bool		isnull;
	char	   *speed;
	char	   *batch;
	char	   *gen;
	char	   *viewname;
	Oid			relid;
	int64		speed_watermark;
	int			nestlevel;
	Oid			owner = GetUserId();
	char	   *dataschema;
	Oid			datanspid;

	/* create_view checked already; alter_view comes here */
	lv_require_current_catalog("create a version of a lambda view");

	nestlevel = lv_pin_settings(def->settings);
	SPI_connect();
	dataschema = lv_owner_storage_schema(owner);
	datanspid = get_namespace_oid(dataschema, false);
	if (relname == NULL)
		nspid = datanspid;
	lv_catalog_sql("INSERT INTO lambda_views.views (view_schema, view_name, source, append_key, "
						  "key_sequence, definition, settings, speed_interval, batch_interval, "
						  "partial_sql, fold_sql, batch_sql, owner, storage_schema) "
						  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '', $11, $12) RETURNING view_id",
						  12, (Oid[]) {NAMEOID, NAMEOID, REGCLASSOID, NAMEOID, REGCLASSOID, TEXTOID,
							  TEXTARRAYOID, INTERVALOID, INTERVALOID, TEXTOID, REGROLEOID, NAMEOID},
						  (Datum[]) {DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(nspid))),
							  DirectFunctionCall1(namein, CStringGetDatum(relname ? relname : "(replay)")),
							  ObjectIdGetDatum(def->source), DirectFunctionCall1(namein, CStringGetDatum(def->append_key)),
							  ObjectIdGetDatum(def->key_sequence), CStringGetTextDatum(def->query_sql),
							  settings_array(def->settings), speed_interval, batch_interval,
						  CStringGetTextDatum(def->partial_sql), ObjectIdGetDatum(owner),
						  DirectFunctionCall1(namein, CStringGetDatum(dataschema))},
						  no_batch_interval ? "        n   " : NULL, false, 1);
	view_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lv_catalog_sql("UPDATE lambda_views.views SET family = view_id WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view_id)},
						  NULL, false, 0);
	if (relname == NULL)
	{
		relname = psprintf("v%d_replay", view_id);
		lv_catalog_sql("UPDATE lambda_views.views SET view_name = $2 WHERE view_id = $1",
							  2, (Oid[]) {INT4OID, NAMEOID},
							  (Datum[]) {Int32GetDatum(view_id), DirectFunctionCall1(namein, CStringGetDatum(relname))},
							  NULL, false, 0);
	}
	viewname = quote_qualified_identifier(get_namespace_name(nspid), relname);

	speed = quote_qualified_identifier(dataschema, psprintf("v%d_speed", view_id));
	batch = quote_qualified_identifier(dataschema, psprintf("v%d_batch", view_id));
	gen = quote_qualified_identifier(dataschema, psprintf("v%d_gen", view_id));

	/*
	 * Storage: nobody may create in a storage schema (a name taken there
	 * would break this view or another), so the catalog's owner creates it
	 * and hands it to the view's owner, who does all the rest.  Generation
	 * 1 is the first speed generation; batch 0 is empty.
	 */
	{
		Oid			saved_user;
		int			saved_sec;
		int			level = lv_become_catalog_owner(&saved_user, &saved_sec);
		const char *role = quote_identifier(GetUserNameFromId(owner, false));

		lv_spi_exec(psprintf("CREATE SEQUENCE %s", gen), false, 0);
		lv_spi_exec(psprintf("SELECT pg_catalog.nextval(%s::pg_catalog.regclass)",
							 quote_literal_cstr(gen)), false, 0);
		lv_create_speed_table(def, speed);
		lv_create_batch_table(def, dataschema, psprintf("v%d_batch", view_id));
		lv_spi_exec(psprintf("ALTER SEQUENCE %s OWNER TO %s", gen, role), false, 0);
		lv_spi_exec(psprintf("ALTER TABLE %s OWNER TO %s", speed, role), false, 0);
		lv_spi_exec(psprintf("ALTER TABLE %s OWNER TO %s", batch, role), false, 0);
		lv_spi_exec(psprintf("ALTER TABLE %s OWNER TO %s",
							 quote_qualified_identifier(dataschema, psprintf("v%d_batch_0", view_id)),
							 role), false, 0);
		lv_restore_user(saved_user, saved_sec, level);
	}

	lv_catalog_sql("UPDATE lambda_views.views SET fold_sql = $2, batch_sql = $3 WHERE view_id = $1",
						  3, (Oid[]) {INT4OID, TEXTOID, TEXTOID},
						  (Datum[]) {Int32GetDatum(view_id),
							  CStringGetTextDatum(lv_fold_sql(def, speed)),
						  CStringGetTextDatum(lv_batch_sql(def, quote_qualified_identifier(dataschema, psprintf("v%d_batch_next", view_id)),
														   get_relname_relid(psprintf("v%d_batch", view_id), datanspid)))},
						  NULL, false, 0);

	{
		char	   *create = psprintf("CREATE VIEW %s AS %s", viewname,
									  lv_view_sql(def, view_id,
												  get_relname_relid(psprintf("v%d_batch", view_id), datanspid),
												  batch, speed));

		if (nspid == datanspid)
		{
			/* a replaying version's relation lives in the storage schema */
			Oid			saved_user;
			int			saved_sec;
			int			level = lv_become_catalog_owner(&saved_user, &saved_sec);

			lv_spi_exec(create, false, 0);
			lv_spi_exec(psprintf("ALTER VIEW %s OWNER TO %s", viewname,
								 quote_identifier(GetUserNameFromId(owner, false))),
						false, 0);
			lv_restore_user(saved_user, saved_sec, level);
		}
		else
			lv_spi_exec(create, false, 0);
	}
	relid = get_relname_relid(relname, nspid);
	{
		depend_auto(get_relname_relid(psprintf("v%d_speed", view_id), datanspid), relid);
		depend_auto(get_relname_relid(psprintf("v%d_batch", view_id), datanspid), relid);
		/*
		 * The generation sequence goes with the speed table (OWNED BY): an
		 * AUTO dependency without a column would read to pg_dump as an
		 * OWNED BY of column 0.
		 */
		lv_spi_exec(psprintf("ALTER SEQUENCE %s OWNED BY %s.gen", gen, speed), false, 0);
	}

	/* with a first batch, it covers every row settled now */
	speed_watermark = def->key_floor;
	/* on Citus the first fold settles each node's range (create_view) */
	if (initial_batch && def->dist_key == 0)
	{
		LvView		probe = {0};

		probe.source = def->source;
		probe.key_sequence = def->key_sequence;
		speed_watermark = lv_capture_high_water(&probe);
	}
	lv_catalog_sql("INSERT INTO lambda_views.view_state (view_id, speed_watermark, "
						  "batch_watermark, batch_gen, speed_gen, gen_start_watermark, owner) "
						  "VALUES ($1, $2, $3, 0, 1, $3, $4)",
						  4, (Oid[]) {INT4OID, INT8OID, INT8OID, REGROLEOID},
						  (Datum[]) {Int32GetDatum(view_id), Int64GetDatum(speed_watermark),
						  Int64GetDatum(def->key_floor), ObjectIdGetDatum(owner)},
						  NULL, false, 0);
	SPI_finish();
	lv_unpin_settings(nestlevel);
	return view_id;
}

/*
 * check_node_settings refuses a view over a Citus table whose query calls
 * functions that are not immutable (a timestamptz cast to date, say) when
 * another node would run it under other values of the settings the view
 * pins: Citus runs the pushed-down fold, recompute and real-time tail on
 * each node under that node's own settings, not the coordinator session's.
 */
static void
check_node_settings(LvDefinition *def)
{
	ListCell   *lc;

	SPI_connect();
	foreach(lc, def->settings)
	{
		char	   *setting = pstrdup(lfirst(lc));
		char	   *value = strchr(setting, '=');
		ListCell   *rc;

		if (value == NULL)
			continue;
		*value++ = '\0';
		foreach(rc, lv_citus_on_other_nodes(psprintf("SELECT pg_catalog.current_setting(%s)",
													 quote_literal_cstr(setting))))
		{
			const char *other = lfirst(rc);

			if (strcmp(other, value) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("another node of the Citus cluster runs with %s \"%s\", this session with \"%s\"",
								setting, other, value),
						 errdetail("The view's query calls functions whose results may depend on %s, and Citus runs the fold, the recompute and the real-time tail on each node under that node's own settings.",
								   setting),
						 errhint("SET %s TO '%s' before create_view, or give every node the same %s.",
								 setting, other, setting)));
		}
	}
	SPI_finish();
}

/*
 * lv_create_view_op creates a lambda view (lambda_views.create_view):
 * name and query are required; batch_interval may be NULL; product holds
 * the data-product metadata (owner_role, description, freshness_sla,
 * completeness_sla, tags), each NULL where product_null says so.  Returns
 * the relation users query.
 */
Oid
lv_create_view_op(const char *name, const char *query, const char *append_key,
				  Interval *speed_interval, Interval *batch_interval,
				  bool initial_batch, const Datum *product, const bool *product_null)
{
	RangeVar   *rv;
	Oid			nspid;
	LvDefinition *def;
	int32		view_id;
	Oid			relid;

	lv_require_current_catalog("create a lambda view");
	if (speed_interval == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("speed_interval must not be null"),
				 errhint("Pass how often the background worker folds, e.g. '1 second'.")));
	check_interval("speed_interval", speed_interval, 1, LV_MSECS_PER_DAY,
				   "1 millisecond and 1 day",
				   "Pass how often the background worker folds, e.g. '1 second'.");
	if (batch_interval != NULL)
		check_interval("batch_interval", batch_interval, 1000,
					   100.0 * DAYS_PER_YEAR * LV_MSECS_PER_DAY, "1 second and 100 years",
					   "Pass how often the batch is rebuilt, e.g. '1 day', or NULL to leave it to recompute() or pg_cron.");

	rv = makeRangeVarFromNameList(stringToQualifiedNameList(name));
	nspid = RangeVarGetCreationNamespace(rv);
	if (OidIsValid(get_relname_relid(rv->relname, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", name),
				 errhint("Choose another name, or drop the existing one (lambda_views.drop_view for a lambda view).")));

	def = lv_parse_definition(query, append_key);
	if (def->dist_key > 0 && def->settings_bound)
		check_node_settings(def);
	view_id = lv_create_version(def, nspid, rv->relname, IntervalPGetDatum(speed_interval),
								batch_interval ? IntervalPGetDatum(batch_interval) : (Datum) 0,
								batch_interval == NULL, initial_batch);
	relid = get_relname_relid(rv->relname, nspid);

	/* data-product metadata; governance policies may refuse the view here */
	SPI_connect();
	lv_spi_exec_args("SELECT lambda_views.product_on_create($1, $2, $3, $4, $5, $6)",
					 6, (Oid[]) {REGCLASSOID, REGROLEOID, TEXTOID, INTERVALOID, NUMERICOID, TEXTARRAYOID},
					 (Datum[]) {ObjectIdGetDatum(relid), product[0], product[1],
						 product[2], product[3], product[4]},
					 (char[]) {' ', product_null[0] ? 'n' : ' ', product_null[1] ? 'n' : ' ',
						 product_null[2] ? 'n' : ' ', product_null[3] ? 'n' : ' ',
					 product_null[4] ? 'n' : ' ', '\0'},
					 false, 0);
	SPI_finish();

	lv_guard_source(def->source);
	if (initial_batch)
	{
		LvView	   *view = lv_view_by_id(view_id, false);

		/* on Citus: every row settled now, through the speed layer */
		if (view->distributed)
			(void) lv_fold_view(view, 0, 0, NULL, 0, NULL);
		(void) lv_recompute_view(view);
	}
	/* the database has a view to fold: have the launcher look at it */
	(void) lv_wake_launcher_at_commit();
	return relid;
}
