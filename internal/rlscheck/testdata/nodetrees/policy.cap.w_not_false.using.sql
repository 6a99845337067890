(NOT false)
