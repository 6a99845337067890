-- audit_log's row trigger disabled rather than dropped.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
