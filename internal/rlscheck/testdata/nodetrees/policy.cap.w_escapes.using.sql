((name = 'a b(c){d}\e "f"'::text) AND (n = ANY (ARRAY[1, '-2'::integer, 300000])) AND (flag IS TRUE) AND (NULLIF(name, ''::text) IS NOT NULL))
