DROP TRIGGER IF EXISTS tenants_touch ON tenants;
DROP TRIGGER IF EXISTS memberships_touch ON memberships;
DROP TRIGGER IF EXISTS tasks_touch ON tasks;
DROP TRIGGER IF EXISTS projects_touch ON projects;
DROP FUNCTION IF EXISTS app.touch_updated_at();
ALTER TABLE tenants DROP COLUMN IF EXISTS updated_at;
ALTER TABLE memberships DROP COLUMN IF EXISTS updated_at;
