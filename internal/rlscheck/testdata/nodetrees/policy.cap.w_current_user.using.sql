(CURRENT_USER = 'pgtenant_app'::name)
