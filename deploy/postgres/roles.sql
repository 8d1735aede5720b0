-- One login role and one schema per service, in the platform's database. Run it as the
-- database owner; it can run again safely. Then give each role its secret (a password with
-- ALTER ROLE, or the authority's certificate or IAM login) and put that service's own
-- connection string in its Kubernetes secret: no service can log in as another.
--
-- The development launcher (pss dev, the tests) runs this same file.

DO $$
DECLARE
  service text;
BEGIN
  FOREACH service IN ARRAY ARRAY['intake', 'matching', 'oncall', 'training', 'metrics'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = service) THEN
      -- no superuser, no role creation: a service can only work in its own schema
      EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', service);
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', service, service);
    -- no service reads another's tables: intake's personal data stays intake's
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', service);
  END LOOP;
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
