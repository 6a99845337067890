 SELECT cap.tenant_id,
    cap.name
   FROM cap
  WHERE (cap.n > 0);
