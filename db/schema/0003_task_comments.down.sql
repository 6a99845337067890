DROP TABLE IF EXISTS task_comments;
