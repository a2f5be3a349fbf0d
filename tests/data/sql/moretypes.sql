CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy', 'very happy');
CREATE DOMAIN public.posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN public.short_text AS varchar(5) DEFAULT 'dflt';
CREATE DOMAIN public.money_amount AS numeric(8,2);
CREATE TABLE public.moretypes (
  id integer PRIMARY KEY,
  c_money money, c_money_def money DEFAULT 12.34,
  c_citext citext, c_citext_def citext DEFAULT 'Hi',
  c_xml xml, c_xml_def xml DEFAULT '<a/>',
  c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8, c_inet_def inet DEFAULT '127.0.0.1',
  c_bit1 bit(1), c_bit8 bit(8), c_bit10 bit(10), c_varbit varbit, c_varbit5 varbit(5), c_bit64 bit(64),
  c_bit1_def bit(1) DEFAULT B'1', c_bit4_def bit(4) DEFAULT B'1010', c_varbit_def varbit DEFAULT B'101',
  c_interval interval, c_interval_def interval DEFAULT '1 day 02:00:00', c_interval_ym interval year to month, c_interval_s3 interval second(3),
  c_point point,
  c_int4range int4range, c_int8range int8range, c_numrange numrange, c_tsrange tsrange, c_tstzrange tstzrange, c_daterange daterange,
  c_tsvector tsvector, c_ltree ltree, c_ltree_def ltree DEFAULT 'a.b', c_hstore hstore, c_hstore_def hstore DEFAULT 'a=>1',
  c_oid oid, c_oid_def oid DEFAULT 7,
  c_enum public.mood, c_enum_def public.mood DEFAULT 'ok', c_enum_nn public.mood NOT NULL DEFAULT 'sad',
  c_posint public.posint, c_posint_def public.posint DEFAULT 3, c_short public.short_text, c_amount public.money_amount,
  c_name name, c_smallserial smallserial, c_char10 char(10), c_text_ctl text
);
CREATE TABLE public.arrays (
  id integer PRIMARY KEY,
  a_int2 int2[], a_int4 int4[], a_int8 int8[], a_float4 float4[], a_float8 float8[],
  a_numeric numeric[], a_num_10_2 numeric(10,2)[], a_bool bool[],
  a_text text[], a_varchar varchar(4)[], a_bpchar char(3)[], a_citext citext[],
  a_date date[], a_time time[], a_time3 time(3)[], a_timetz timetz[], a_ts timestamp[], a_ts3 timestamp(3)[], a_tstz timestamptz[],
  a_uuid uuid[], a_json json[], a_jsonb jsonb[], a_bytea bytea[],
  a_inet inet[], a_cidr cidr[], a_macaddr macaddr[], a_macaddr8 macaddr8[],
  a_int4range int4range[], a_numrange numrange[], a_tstzrange tstzrange[], a_daterange daterange[],
  a_oid oid[], a_enum public.mood[], a_ltree ltree[], a_hstore hstore[], a_bit bit(3)[], a_tsvector tsvector[],
  a_int4_def int4[] DEFAULT '{1,2}', a_text_def text[] DEFAULT ARRAY['x','y']
);
CREATE TABLE public.toasted (
  id integer PRIMARY KEY, n integer,
  t_text text, t_varchar varchar, t_bytea bytea, t_json json, t_jsonb jsonb, t_xml xml, t_citext citext,
  t_a_text text[], t_a_int4 int4[], t_a_int8 int8[], t_a_date date[], t_a_uuid uuid[], t_a_bytea bytea[], t_a_float8 float8[],
  t_a_numeric numeric[], t_a_bool bool[], t_a_varchar varchar[], t_a_jsonb jsonb[], t_hstore hstore, t_tsvector tsvector,
  t_varbit varbit, t_numeric numeric, t_ltree ltree, t_a_enum public.mood[]
);
ALTER TABLE public.toasted ALTER COLUMN t_text SET STORAGE EXTERNAL, ALTER COLUMN t_varchar SET STORAGE EXTERNAL,
  ALTER COLUMN t_bytea SET STORAGE EXTERNAL, ALTER COLUMN t_json SET STORAGE EXTERNAL, ALTER COLUMN t_jsonb SET STORAGE EXTERNAL,
  ALTER COLUMN t_xml SET STORAGE EXTERNAL, ALTER COLUMN t_citext SET STORAGE EXTERNAL, ALTER COLUMN t_a_text SET STORAGE EXTERNAL,
  ALTER COLUMN t_a_int4 SET STORAGE EXTERNAL, ALTER COLUMN t_a_int8 SET STORAGE EXTERNAL, ALTER COLUMN t_a_date SET STORAGE EXTERNAL,
  ALTER COLUMN t_a_uuid SET STORAGE EXTERNAL, ALTER COLUMN t_a_bytea SET STORAGE EXTERNAL, ALTER COLUMN t_a_float8 SET STORAGE EXTERNAL,
  ALTER COLUMN t_a_numeric SET STORAGE EXTERNAL, ALTER COLUMN t_a_bool SET STORAGE EXTERNAL, ALTER COLUMN t_a_varchar SET STORAGE EXTERNAL,
  ALTER COLUMN t_a_jsonb SET STORAGE EXTERNAL, ALTER COLUMN t_hstore SET STORAGE EXTERNAL, ALTER COLUMN t_tsvector SET STORAGE EXTERNAL,
  ALTER COLUMN t_varbit SET STORAGE EXTERNAL, ALTER COLUMN t_numeric SET STORAGE EXTERNAL, ALTER COLUMN t_ltree SET STORAGE EXTERNAL,
  ALTER COLUMN t_a_enum SET STORAGE EXTERNAL;
CREATE TYPE public.floatrange AS RANGE (subtype = float8);
CREATE TYPE public.pair AS (a integer, b text);
CREATE TABLE public.unknowns (
  id integer PRIMARY KEY,
  u_tsquery tsquery, u_line line, u_lseg lseg, u_box box, u_path path, u_polygon polygon, u_circle circle,
  u_pg_lsn pg_lsn, u_floatrange public.floatrange, u_pair public.pair, u_int4multirange int4multirange,
  u_txid txid_snapshot, u_regclass regclass, u_a_interval interval[], u_a_money money[], u_a_xml xml[], u_a_point point[],
  u_a_varbit varbit[], u_char "char", u_aclitem aclitem
);
