/*-------------------------------------------------------------------------
 *
 * src/ground/citus.c  (level: ground)
 *	  What lambda_views needs to know of Citus: whether a table is hash-
 *	  distributed and by which column, distributing the storage co-located
 *	  with its source, and running a statement on every other node.
 *
 * Citus is optional: when its metadata is not installed in the database,
 * every table is local and nothing here runs a statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "lambda_views.h"

/* citus_installed says whether this database has Citus' metadata. */
static bool
citus_installed(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/*
 * lv_citus_distribution returns the distribution column of a Citus
 * distributed table and sets *method to its method ('h' hash, 'n'
 * reference or single-shard, 'a' append, 'r' range); NULL (and *method 0)
 * for a local table.
 */
char *
lv_citus_distribution(Oid relid, char *method)
{
	char	   *column = NULL;

	*method = 0;
	if (!citus_installed())
		return NULL;
	SPI_connect();
	lv_spi_exec_args("SELECT p.partmethod::pg_catalog.text, "
					 "CASE WHEN p.partkey IS NOT NULL "
					 "THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END "
					 "FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1",
					 1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
					 NULL, false, 1);
	if (SPI_processed > 0)
	{
		char	   *m = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *c = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		*method = m ? m[0] : 0;
		column = c ? (char *) SPI_palloc(strlen(c) + 1) : NULL;
		if (c)
			strcpy(column, c);
	}
	SPI_finish();
	return column;
}

/* lv_citus_distributed says whether a table is a Citus distributed table. */
bool
lv_citus_distributed(Oid relid)
{
	char		method;

	(void) lv_citus_distribution(relid, &method);
	return method != 0;
}

/*
 * lv_citus_distribute makes the table named table (quoted, qualified) a
 * hash-distributed table by column, co-located with colocate_with, in the
 * caller's SPI connection.  Its shards are created empty.
 */
void
lv_citus_distribute(const char *table, const char *column, Oid colocate_with)
{
	lv_spi_exec_args("SELECT pg_catalog.create_distributed_table($1::pg_catalog.regclass, $2, "
					 "colocate_with => $3)",
					 3, (Oid[]) {TEXTOID, TEXTOID, TEXTOID},
					 (Datum[]) {CStringGetTextDatum(table), CStringGetTextDatum(column),
						 CStringGetTextDatum(quote_qualified_identifier(get_namespace_name(get_rel_namespace(colocate_with)),
																		get_rel_name(colocate_with)))},
					 NULL, false, 0);
}

/*
 * lv_citus_on_other_nodes runs sql on every other primary node of the
 * cluster (its own connections, outside the caller's transaction) and
 * returns the single value each returned, as a List of strings.  A node
 * that fails fails the caller.  Runs in the caller's SPI connection.
 */
List *
lv_citus_on_other_nodes(const char *sql)
{
	List	   *results = NIL;
	uint64		i;

	lv_spi_exec_args("SELECT r.success, r.result, n.nodename, n.nodeport "
					 "FROM pg_catalog.run_command_on_all_nodes($1) r "
					 "JOIN pg_catalog.pg_dist_node n ON n.nodeid = r.nodeid "
					 "WHERE n.groupid <> (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)",
					 1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(sql)},
					 NULL, false, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		bool		isnull;
		bool		ok = DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
		char	   *result = SPI_getvalue(row, SPI_tuptable->tupdesc, 2);

		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("lambda_views: node %s:%s failed: %s",
							SPI_getvalue(row, SPI_tuptable->tupdesc, 3),
							SPI_getvalue(row, SPI_tuptable->tupdesc, 4),
							result ? result : "")));
		results = lappend(results, result ? result : pstrdup(""));
	}
	return results;
}

/* lv_citus_local_group returns this node's group id (0: the coordinator). */
int32
lv_citus_local_group(void)
{
	bool		isnull;

	lv_spi_exec("SELECT groupid FROM pg_catalog.pg_dist_local_group", true, 1);
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * lv_citus_table says whether relid is a Citus table, reading Citus'
 * metadata directly (no SPI: planner hooks ask this).
 */
bool
lv_citus_table(Oid relid)
{
	Oid			partition;
	Oid			index;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	partition = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	index = get_relname_relid("pg_dist_partition_logical_relid_index", PG_CATALOG_NAMESPACE);
	if (!OidIsValid(partition) || !OidIsValid(index))
		return false;
	rel = table_open(partition, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, index, true, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * lv_citus_placements says whether the shards of a Citus table have
 * placements on this node (*local) and on other nodes (*remote).  The
 * caller is connected to SPI.
 */
void
lv_citus_placements(Oid relid, bool *local, bool *remote)
{
	bool		isnull;

	lv_spi_exec_args("SELECT coalesce(pg_catalog.bool_or(p.groupid = l.groupid), false), "
					 "coalesce(pg_catalog.bool_or(p.groupid <> l.groupid), false) "
					 "FROM pg_catalog.pg_dist_placement p "
					 "JOIN pg_catalog.pg_dist_shard s ON s.shardid = p.shardid "
					 "CROSS JOIN pg_catalog.pg_dist_local_group l WHERE s.logicalrelid = $1",
					 1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
					 NULL, true, 1);
	*local = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*remote = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}
