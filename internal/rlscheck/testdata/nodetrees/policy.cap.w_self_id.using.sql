(id = id)
