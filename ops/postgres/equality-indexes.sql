-- Equality lookups for FerretDB 1.x on PostgreSQL (applied by scripts/stack.sh
-- to the `ferretdb` database of the local stack; compose and Kubernetes run
-- MongoDB and do not use it).
--
-- FerretDB stores a collection as a table with one jsonb column, `_jsonb`,
-- and a MongoDB index as a B-tree on expressions such as (_jsonb -> 'field').
-- It sends an equality {field: value} to PostgreSQL as the containment
-- _jsonb -> 'field' @> value, which a B-tree cannot answer: every lookup,
-- even by _id, reads the whole table (measured: 10.5 ms at 30k documents, and
-- linear in them). A GIN index on the same expression answers `@>`.
--
-- So: whenever an index is created on such a table, a GIN index is added
-- beside it on the expression of its first key: the field a MongoDB index
-- serves equalities on. Nothing else changes: FerretDB still checks every
-- document it gets back, so an index can only make a lookup faster.
-- Idempotent: run at every start, it also adds what is missing to tables
-- that existed before.

SET client_min_messages = warning;

CREATE OR REPLACE FUNCTION linkage_equality_index(index_oid oid) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  info record;
  first_key text;
  field text;
BEGIN
  SELECT n.nspname AS schema_name, t.relname AS table_name, am.amname AS method
    INTO info
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
   WHERE i.indexrelid = index_oid;
  IF NOT FOUND OR info.method <> 'btree' THEN
    RETURN;  -- the GIN indexes made here come through too
  END IF;
  first_key := pg_get_indexdef(index_oid, 1, true);
  field := substring(first_key FROM $r$^\(?_jsonb -> '((?:[^']|'')*)'::text\)?$$r$);
  IF field IS NULL THEN
    RETURN;  -- not a FerretDB document table's index
  END IF;
  field := replace(field, '''''', '''');
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb -> %L) jsonb_path_ops)',
                 left(info.table_name, 40) || '_eq_' || left(md5(field), 10),
                 info.schema_name, info.table_name, field);
END;
$fn$;

CREATE OR REPLACE FUNCTION linkage_equality_indexes_on_create() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  command record;
BEGIN
  FOR command IN SELECT objid FROM pg_event_trigger_ddl_commands()
                  WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
    BEGIN
      PERFORM linkage_equality_index(command.objid);
    EXCEPTION WHEN OTHERS THEN
      -- Never fail FerretDB's own statement: without the index a lookup is
      -- only slower.
      RAISE WARNING 'linkage: no equality index beside %: %', command.objid::regclass, SQLERRM;
    END;
  END LOOP;
END;
$$;

DROP EVENT TRIGGER IF EXISTS linkage_equality_indexes;
CREATE EVENT TRIGGER linkage_equality_indexes ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION linkage_equality_indexes_on_create();

-- What existed before the trigger.
DO $$
DECLARE
  existing record;
BEGIN
  FOR existing IN SELECT i.indexrelid FROM pg_index i
                    JOIN pg_class c ON c.oid = i.indexrelid
                    JOIN pg_am am ON am.oid = c.relam
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE am.amname = 'btree'
                     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') LOOP
    PERFORM linkage_equality_index(existing.indexrelid);
  END LOOP;
END;
$$;
