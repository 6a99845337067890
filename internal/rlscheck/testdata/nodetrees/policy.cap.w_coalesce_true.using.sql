COALESCE(NULL::boolean, true)
