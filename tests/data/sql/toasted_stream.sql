INSERT INTO public.toasted SELECT id + 200, n, t_text, t_varchar, t_bytea, t_json, t_jsonb, t_xml, t_citext, t_a_text, t_a_int4, t_a_int8, t_a_date, t_a_uuid, t_a_bytea, t_a_float8, t_a_numeric, t_a_bool, t_a_varchar, t_a_jsonb, t_hstore, t_tsvector, t_varbit, t_numeric, t_ltree, t_a_enum FROM public.toasted WHERE id = 1;
UPDATE public.toasted SET n = n + 1 WHERE id = 201;
UPDATE public.toasted SET n = n + 1 WHERE id = 1;
