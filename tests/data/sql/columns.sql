SELECT a.attname,
       rt.oid::int AS type_oid,
       rt.typname AS type_name,
       CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       NOT a.attnotnull AS optional,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       t.typtype::text AS type_kind,
       et.typname AS element_type_name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e
             WHERE e.enumtypid = COALESCE(et.oid, rt.oid) ORDER BY e.enumsortorder) AS enum_values
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type rt ON rt.oid = COALESCE(NULLIF(t.typbasetype, 0), a.atttypid)
LEFT JOIN pg_type et0 ON rt.typcategory = 'A' AND et0.oid = rt.typelem
LEFT JOIN pg_type et ON et.oid = COALESCE(NULLIF(et0.typbasetype, 0), et0.oid)
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
