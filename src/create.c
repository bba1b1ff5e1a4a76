/*-------------------------------------------------------------------------
 *
 * create.c
 *	  lambda_views.create_view(): from one GROUP BY query to a batch table,
 *	  a speed table, their catalog entry and the relation users query.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "lambda_views.h"
#include "definition.h"

PG_FUNCTION_INFO_V1(lv_create_view);

/* check_interval refuses a non-positive interval argument. */
static void
check_interval(const char *argname, Interval *interval, const char *hint)
{
	Interval	zero = {0};

	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(interval),
										  IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", argname),
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
 * users read, named relname in nspid (NULL: v<id>_replay in the data schema,
 * for a version that alter_view replays).  With initial_batch the first
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

	if (relname == NULL)
		nspid = get_namespace_oid(LV_DATA_SCHEMA, false);

	nestlevel = lv_pin_settings(def->settings);
	SPI_connect();
	SPI_execute_with_args("INSERT INTO lambda_views.views (view_schema, view_name, source, append_key, "
						  "key_sequence, definition, settings, speed_interval, batch_interval, "
						  "partial_sql, fold_sql, batch_sql) "
						  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '') RETURNING view_id",
						  10, (Oid[]) {NAMEOID, NAMEOID, REGCLASSOID, NAMEOID, REGCLASSOID, TEXTOID,
							  TEXTARRAYOID, INTERVALOID, INTERVALOID, TEXTOID},
						  (Datum[]) {DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(nspid))),
							  DirectFunctionCall1(namein, CStringGetDatum(relname ? relname : "(replay)")),
							  ObjectIdGetDatum(def->source), DirectFunctionCall1(namein, CStringGetDatum(def->append_key)),
							  ObjectIdGetDatum(def->key_sequence), CStringGetTextDatum(def->query_sql),
							  settings_array(def->settings), speed_interval, batch_interval,
						  CStringGetTextDatum(def->partial_sql)},
						  no_batch_interval ? "        n " : NULL, false, 1);
	view_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_execute_with_args("UPDATE lambda_views.views SET family = view_id WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view_id)},
						  NULL, false, 0);
	if (relname == NULL)
	{
		relname = psprintf("v%d_replay", view_id);
		SPI_execute_with_args("UPDATE lambda_views.views SET view_name = $2 WHERE view_id = $1",
							  2, (Oid[]) {INT4OID, NAMEOID},
							  (Datum[]) {Int32GetDatum(view_id), DirectFunctionCall1(namein, CStringGetDatum(relname))},
							  NULL, false, 0);
	}
	viewname = quote_qualified_identifier(get_namespace_name(nspid), relname);

	speed = quote_qualified_identifier(LV_DATA_SCHEMA, psprintf("v%d_speed", view_id));
	batch = quote_qualified_identifier(LV_DATA_SCHEMA, psprintf("v%d_batch", view_id));
	gen = quote_qualified_identifier(LV_DATA_SCHEMA, psprintf("v%d_gen", view_id));

	/* generation 1 is the first speed generation; batch 0 is empty */
	SPI_execute(psprintf("CREATE SEQUENCE %s", gen), false, 0);
	SPI_execute(psprintf("SELECT pg_catalog.nextval(%s::pg_catalog.regclass)",
						 quote_literal_cstr(gen)), false, 0);
	lv_create_speed_table(def, speed);
	lv_create_batch_table(def, batch);

	SPI_execute_with_args("UPDATE lambda_views.views SET fold_sql = $2, batch_sql = $3 WHERE view_id = $1",
						  3, (Oid[]) {INT4OID, TEXTOID, TEXTOID},
						  (Datum[]) {Int32GetDatum(view_id),
							  CStringGetTextDatum(lv_fold_sql(def, speed)),
						  CStringGetTextDatum(lv_batch_sql(def, quote_qualified_identifier(LV_DATA_SCHEMA, psprintf("v%d_batch_next", view_id))))},
						  NULL, false, 0);

	SPI_execute(psprintf("CREATE VIEW %s AS %s", viewname,
						 lv_view_sql(def, view_id,
									 get_relname_relid(psprintf("v%d_batch", view_id),
													   get_namespace_oid(LV_DATA_SCHEMA, false)),
									 batch, speed)),
				false, 0);
	relid = get_relname_relid(relname, nspid);
	{
		Oid			dataschema = get_namespace_oid(LV_DATA_SCHEMA, false);

		depend_auto(get_relname_relid(psprintf("v%d_speed", view_id), dataschema), relid);
		depend_auto(get_relname_relid(psprintf("v%d_batch", view_id), dataschema), relid);
		/*
		 * The generation sequence goes with the speed table (OWNED BY): an
		 * AUTO dependency without a column would read to pg_dump as an
		 * OWNED BY of column 0.
		 */
		SPI_execute(psprintf("ALTER SEQUENCE %s OWNED BY %s.gen", gen, speed), false, 0);
	}

	/* with a first batch, it covers every row settled now */
	speed_watermark = def->key_floor;
	if (initial_batch)
	{
		LvView		probe = {0};

		probe.source = def->source;
		probe.key_sequence = def->key_sequence;
		speed_watermark = lv_capture_high_water(&probe);
	}
	SPI_execute_with_args("INSERT INTO lambda_views.view_state (view_id, speed_watermark, "
						  "batch_watermark, batch_gen, speed_gen, gen_start_watermark) "
						  "VALUES ($1, $2, $3, 0, 1, $3)",
						  3, (Oid[]) {INT4OID, INT8OID, INT8OID},
						  (Datum[]) {Int32GetDatum(view_id), Int64GetDatum(speed_watermark),
						  Int64GetDatum(def->key_floor)},
						  NULL, false, 0);
	SPI_finish();
	lv_unpin_settings(nestlevel);
	return view_id;
}

/*
 * lv_create_view is lambda_views.create_view(name, query, append_key,
 * speed_interval, batch_interval, initial_batch).
 */
Datum
lv_create_view(PG_FUNCTION_ARGS)
{
	char	   *name;
	RangeVar   *rv;
	Oid			nspid;
	LvDefinition *def;
	int32		view_id;
	Oid			relid;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name and query of a lambda view must not be null")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("speed_interval must not be null"),
				 errhint("Pass how often the background worker folds, e.g. '1 second'.")));
	check_interval("speed_interval", PG_GETARG_INTERVAL_P(3),
				   "Pass how often the background worker folds, e.g. '1 second'.");
	if (!PG_ARGISNULL(4))
		check_interval("batch_interval", PG_GETARG_INTERVAL_P(4),
					   "Pass how often the batch is rebuilt, e.g. '1 day', or NULL to leave it to recompute() or pg_cron.");

	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	rv = makeRangeVarFromNameList(stringToQualifiedNameList(name));
	nspid = RangeVarGetCreationNamespace(rv);
	if (OidIsValid(get_relname_relid(rv->relname, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", name),
				 errhint("Choose another name, or drop the existing one (lambda_views.drop_view for a lambda view).")));

	def = lv_parse_definition(text_to_cstring(PG_GETARG_TEXT_PP(1)),
							  PG_ARGISNULL(2) ? NULL : NameStr(*PG_GETARG_NAME(2)));
	view_id = lv_create_version(def, nspid, rv->relname, PG_GETARG_DATUM(3),
								PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4),
								PG_ARGISNULL(4), PG_GETARG_BOOL(5));
	relid = get_relname_relid(rv->relname, nspid);

	/* data-product metadata; governance policies may refuse the view here */
	SPI_connect();
	SPI_execute_with_args("SELECT lambda_views.product_on_create($1, $2, $3, $4, $5, $6)",
						  6, (Oid[]) {REGCLASSOID, REGROLEOID, TEXTOID, INTERVALOID, NUMERICOID, TEXTARRAYOID},
						  (Datum[]) {ObjectIdGetDatum(relid), PG_GETARG_DATUM(6), PG_GETARG_DATUM(7),
							  PG_GETARG_DATUM(8), PG_GETARG_DATUM(9), PG_GETARG_DATUM(10)},
						  (char[]) {' ', PG_ARGISNULL(6) ? 'n' : ' ', PG_ARGISNULL(7) ? 'n' : ' ',
							  PG_ARGISNULL(8) ? 'n' : ' ', PG_ARGISNULL(9) ? 'n' : ' ',
						  PG_ARGISNULL(10) ? 'n' : ' ', '\0'},
						  false, 0);
	SPI_finish();

	lv_guard_source(def->source);
	if (PG_GETARG_BOOL(5))
		(void) lv_recompute_view(lv_view_by_id(view_id, false));
	PG_RETURN_OID(relid);
}
