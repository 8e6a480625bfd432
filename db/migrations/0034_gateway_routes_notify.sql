-- The gateway keeps where each address leads in memory (server/deployments/route-cache.ts). Any change to what
-- routing reads — a deployment's state, a traffic split, a model's name, a team's slug — tells every listening
-- process at commit (NOTIFY cairn_routes), whichever process, statement or tool made it; listeners drop what they
-- kept. Statement-level: one notification per statement, however many rows.
CREATE OR REPLACE FUNCTION cairn_routes_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('cairn_routes', TG_TABLE_NAME);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER deployments_routes_changed
  AFTER INSERT OR DELETE OR UPDATE OF id, team_id, model_id, model_name, version, environment, status, backend, created_at, ready_at, stopped_at ON deployments
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
--> statement-breakpoint
CREATE TRIGGER deployments_routes_truncated AFTER TRUNCATE ON deployments FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
--> statement-breakpoint
CREATE TRIGGER deployment_splits_routes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deployment_splits
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
--> statement-breakpoint
CREATE TRIGGER registered_models_routes_changed
  AFTER INSERT OR DELETE OR UPDATE OF id, team_id, name ON registered_models
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
--> statement-breakpoint
CREATE TRIGGER registered_models_routes_truncated AFTER TRUNCATE ON registered_models FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
--> statement-breakpoint
CREATE TRIGGER teams_routes_changed
  AFTER INSERT OR DELETE OR UPDATE OF id, slug ON teams
  FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
--> statement-breakpoint
CREATE TRIGGER teams_routes_truncated AFTER TRUNCATE ON teams FOR EACH STATEMENT EXECUTE FUNCTION cairn_routes_changed();
