#!/bin/sh
# compose only, at the database's first start (after roles.sql): each service's password
# from the environment. An authority sets its passwords (or certificates) its own way.
set -eu
for service in intake matching oncall training metrics; do
  var=$(echo "${service}_DB_PASSWORD" | tr '[:lower:]' '[:upper:]')
  eval "password=\${$var}"
  psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
    -c "ALTER ROLE $service PASSWORD '$password'"
done
