DROP TABLE IF EXISTS public.defaults2, public.defaults3, public.edges, public.alltypes, public.moretypes, public.arrays, public.toasted, public.unknowns;
DROP TYPE IF EXISTS public.mood, public.floatrange, public.pair;
DROP DOMAIN IF EXISTS public.posint, public.short_text, public.money_amount, public.mood_domain;
