DROP TABLE IF EXISTS public.edges;
CREATE TABLE public.edges (
  id integer PRIMARY KEY,
  c_num numeric, c_num_10_2 numeric(10,2), c_float4 real, c_float8 double precision,
  c_date date, c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_tstz0 timestamptz(0), c_time time, c_timetz timetz
);
CREATE TABLE public.defaults2 (
  id integer PRIMARY KEY,
  d_num_nan numeric DEFAULT 'NaN', d_num_neg numeric(8,3) DEFAULT -1, d_num_int numeric(8,3) DEFAULT 5,
  d_num_paren numeric(8,3) DEFAULT (-2.5), d_int_paren integer DEFAULT (-5), d_int_str integer DEFAULT '17',
  d_float_nan double precision DEFAULT 'NaN', d_float_inf real DEFAULT '-Infinity', d_float_exp double precision DEFAULT 1e300,
  d_bool_str boolean DEFAULT 't', d_bool_expr boolean DEFAULT (1 = 1),
  d_date_inf date DEFAULT 'infinity', d_date_bc date DEFAULT '0044-03-15 BC', d_date_fn date DEFAULT now(),
  d_ts_inf timestamp DEFAULT '-infinity', d_ts_local timestamp DEFAULT LOCALTIMESTAMP, d_ts_cur timestamp DEFAULT CURRENT_TIMESTAMP,
  d_tstz_inf timestamptz DEFAULT 'infinity', d_tstz_frac timestamptz(3) DEFAULT '2024-01-02 03:04:05.5+00', d_tstz0 timestamptz(0) DEFAULT '2024-01-02 03:04:05+00',
  d_tstz_now3 timestamptz(3) DEFAULT now(), d_tstz_now0 timestamptz(0) DEFAULT now(), d_tstz_stmt timestamptz DEFAULT statement_timestamp(),
  d_time3 time(3) DEFAULT '01:02:03.456', d_time_now time DEFAULT CURRENT_TIME, d_time0 time(0) DEFAULT '01:02:03',
  d_timetz timetz DEFAULT '10:11:12.5+03', d_timetz_now timetz DEFAULT CURRENT_TIME,
  d_text_empty text DEFAULT '', d_text_concat text DEFAULT ('a' || 'b'), d_text_null text DEFAULT NULL::text, d_text_num text DEFAULT 42,
  d_text_newline text DEFAULT E'a\nb', d_text_colon text DEFAULT 'a::b', d_varchar_fn varchar(20) DEFAULT current_user, d_text_session text DEFAULT session_user,
  d_char_pad char(4) DEFAULT 'x ', d_json_arr json DEFAULT '[1,2]', d_jsonb_fn jsonb DEFAULT jsonb_build_object('a', 1),
  d_uuid_fn uuid DEFAULT md5('x')::uuid, d_bytea_esc bytea DEFAULT 'abc', d_int8_seq bigint DEFAULT nextval('alltypes_id_seq'),
  d_int2_big smallint DEFAULT 32767, d_int4_min integer DEFAULT -2147483648, d_int8_min bigint DEFAULT -9223372036854775808
);
