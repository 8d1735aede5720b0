#!/bin/sh
# compose only, at the database's first start (after roles.sql): each service's password
# from the environment. An authority sets its passwords (or certificates) its own way.
set -eu
for service in intake matching oncall training metrics; do
  var=$(echo "${service}_DB_PASSWORD" | tr '[:lower:]' '[:upper:]')
  eval "password=\${$var}"
  # psql quotes the value itself (:'password'): a quote in a password cannot break the SQL
  echo "ALTER ROLE $service PASSWORD :'password'" |
    psql -v ON_ERROR_STOP=1 -v password="$password" -U "$POSTGRES_USER" -d "$POSTGRES_DB"
done
