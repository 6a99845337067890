-- Client Viewers added to the writers of projects: restrictive still, and not what was committed.
ALTER POLICY projects_writers_delete ON projects
    USING ((SELECT app.current_member_role()) IN ('owner', 'partner', 'client_viewer'));
