-- issue 11, row 6: both append-only triggers of audit_log dropped.
DROP TRIGGER audit_log_no_update_delete ON audit_log;
DROP TRIGGER audit_log_no_truncate ON audit_log;
