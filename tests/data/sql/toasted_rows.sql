INSERT INTO public.toasted SELECT 1, 0, big, big, decode(big, 'hex'), json_build_object('k', big), jsonb_build_object('k', big), ('<a>' || big || '</a>')::xml, big,
  array(SELECT md5(i::text) FROM generate_series(1, 200) i), array(SELECT i FROM generate_series(1, 3000) i), array(SELECT i::int8 FROM generate_series(1, 2000) i),
  array(SELECT '2024-01-01'::date + i FROM generate_series(1, 2000) i), array(SELECT md5(i::text)::uuid FROM generate_series(1, 300) i),
  array(SELECT decode(md5(i::text), 'hex') FROM generate_series(1, 300) i), array(SELECT i * 0.5 FROM generate_series(1, 2000) i)::float8[],
  array(SELECT i * 0.25 FROM generate_series(1, 1000) i), array(SELECT i % 2 = 0 FROM generate_series(1, 5000) i), array(SELECT md5(i::text) FROM generate_series(1, 200) i)::varchar[],
  array(SELECT jsonb_build_object('i', i) FROM generate_series(1, 300) i), hstore(array(SELECT md5(i::text) FROM generate_series(1, 200) i), array(SELECT i::text FROM generate_series(1, 200) i)),
  array_to_string(array(SELECT 'w' || md5(i::text) FROM generate_series(1, 200) i), ' ')::tsvector, rpad('', 30000, '10')::varbit, rpad('1', 9000, '7')::numeric,
  array_to_string(array(SELECT 'l' || md5(i::text) FROM generate_series(1, 200) i), '.')::ltree, array(SELECT 'happy'::public.mood FROM generate_series(1, 2000) i)
FROM (SELECT string_agg(md5(i::text), '') AS big FROM generate_series(1, 300) i) s;
