CREATE TABLE aggregate (
    site_id text NOT NULL,
    period text NOT NULL,
    measure text NOT NULL,
    dimension text NOT NULL,
    value bigint NOT NULL,
    CONSTRAINT aggregate_pkey PRIMARY KEY (site_id, period, measure, dimension)
);

CREATE TABLE aggregate_rebuilt (
    site_id text NOT NULL,
    period text NOT NULL,
    measure text NOT NULL,
    dimension text NOT NULL,
    value bigint NOT NULL,
    CONSTRAINT aggregate_rebuilt_pkey PRIMARY KEY (site_id, period, measure, dimension)
);

CREATE TABLE closed_count (
    site_id text NOT NULL,
    period text NOT NULL,
    measure text NOT NULL,
    dimension text NOT NULL,
    value bigint NOT NULL,
    CONSTRAINT closed_count_pkey PRIMARY KEY (site_id, period, measure, dimension)
);

CREATE TABLE distribution (
    site_id text NOT NULL,
    period text NOT NULL,
    measure text NOT NULL,
    value integer NOT NULL,
    count bigint NOT NULL,
    CONSTRAINT distribution_pkey PRIMARY KEY (site_id, period, measure, value)
);

CREATE TABLE distribution_rebuilt (
    site_id text NOT NULL,
    period text NOT NULL,
    measure text NOT NULL,
    value integer NOT NULL,
    count bigint NOT NULL,
    CONSTRAINT distribution_rebuilt_pkey PRIMARY KEY (site_id, period, measure, value)
);

CREATE TABLE published_cell (
    scope text NOT NULL,
    period text NOT NULL,
    measure text NOT NULL,
    dimension text NOT NULL,
    value bigint NOT NULL,
    withheld boolean NOT NULL,
    CONSTRAINT published_cell_pkey PRIMARY KEY (scope, period, measure, dimension)
);

CREATE TABLE published_month (
    month text NOT NULL,
    published_at timestamp with time zone NOT NULL,
    CONSTRAINT published_month_pkey PRIMARY KEY (month)
);

CREATE TABLE quarter_directory (
    quarter text NOT NULL,
    sites jsonb NOT NULL,
    CONSTRAINT quarter_directory_pkey PRIMARY KEY (quarter)
);

CREATE TABLE site (
    site_id text NOT NULL,
    region text,
    staff_count integer,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT site_pkey PRIMARY KEY (site_id)
);
