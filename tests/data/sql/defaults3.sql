DROP TABLE IF EXISTS public.defaults3;
CREATE TABLE public.defaults3 (
  id integer PRIMARY KEY,
  d_num_round numeric(10,2) DEFAULT 1.234, d_num_fn numeric(5,0) DEFAULT random(), d_num_fn2 numeric(10,2) DEFAULT random(),
  d_numv_fn numeric DEFAULT random(), d_num_trail numeric(10,2) DEFAULT 1.230,
  d_bool_nullcast boolean DEFAULT NULL::boolean, d_int_nullcast integer DEFAULT NULL::integer,
  d_float_small double precision DEFAULT 1e-5, d_float4_big real DEFAULT 3e10, d_float4_fn real DEFAULT random(),
  d_ts_bc timestamp DEFAULT '0044-03-15 12:00:00 BC', d_ts_inf_pos timestamp DEFAULT 'infinity', d_ts3_inf timestamp(3) DEFAULT '-infinity',
  d_ts3_lit timestamp(3) DEFAULT '2024-01-02 03:04:05.678', d_date_neginf date DEFAULT '-infinity',
  d_time_24 time DEFAULT '24:00:00', d_time6 time(6) DEFAULT '23:59:59.999999',
  d_tstz_bc timestamptz DEFAULT '0044-03-15 12:00:00+00 BC', d_tstz_big timestamptz DEFAULT '10000-01-01 00:00:00+00',
  d_json_quote json DEFAULT '{"a": "it''s"}', d_text_backslash text DEFAULT E'a\\b', d_text_quote text DEFAULT 'it''s',
  d_int2_fn smallint DEFAULT nextval('alltypes_id_seq'), d_int4_fn integer DEFAULT length('abc'), d_bool_fn boolean DEFAULT starts_with('a', 'a'),
  d_uuid_upper uuid DEFAULT 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'
);
