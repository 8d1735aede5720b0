CREATE TABLE availability (
    staff_ref text NOT NULL,
    available boolean NOT NULL,
    version bigint NOT NULL,
    changed_at timestamp with time zone NOT NULL,
    CONSTRAINT availability_pkey PRIMARY KEY (staff_ref)
);

CREATE TABLE contact_route (
    staff_ref text NOT NULL,
    "position" smallint NOT NULL,
    channel text NOT NULL,
    address bytea NOT NULL,
    CONSTRAINT contact_route_pkey PRIMARY KEY (staff_ref, "position")
);

CREATE TABLE coverage_gap (
    site_id text NOT NULL,
    layer text NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    warned_at timestamp with time zone NOT NULL,
    filled_at timestamp with time zone,
    CONSTRAINT coverage_gap_pkey PRIMARY KEY (site_id, layer, starts_at)
);

CREATE TABLE duty (
    site_id text NOT NULL,
    layer text NOT NULL,
    staff_ref text,
    starts_at timestamp with time zone NOT NULL,
    CONSTRAINT duty_pkey PRIMARY KEY (site_id, layer)
);

CREATE TABLE duty_override (
    override_id bigint GENERATED ALWAYS AS IDENTITY,
    site_id text NOT NULL,
    layer text NOT NULL,
    staff_ref text NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    swap_id uuid,
    created_by text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    removed_at timestamp with time zone,
    CONSTRAINT duty_override_pkey PRIMARY KEY (override_id)
);
CREATE INDEX ix_duty_override_site_id ON duty_override USING btree (site_id);

CREATE TABLE episode (
    referral_id uuid NOT NULL,
    site_id text NOT NULL,
    chain jsonb NOT NULL,
    crisis boolean NOT NULL,
    step smallint NOT NULL,
    status text NOT NULL,
    traceparent text,
    started_at timestamp with time zone NOT NULL,
    closed_at timestamp with time zone,
    team_size smallint DEFAULT '1'::smallint NOT NULL,
    urgency text,
    acknowledged_at timestamp with time zone,
    contacted_at timestamp with time zone,
    met_at timestamp with time zone,
    reopened smallint DEFAULT '0'::smallint NOT NULL,
    worker_unchecked boolean DEFAULT false NOT NULL,
    CONSTRAINT episode_pkey PRIMARY KEY (referral_id)
);
CREATE INDEX ix_episode_site_id ON episode USING btree (site_id);

CREATE TABLE known_person (
    staff_ref text NOT NULL,
    site_id text NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT known_person_pkey PRIMARY KEY (staff_ref)
);
CREATE INDEX ix_known_person_site_id ON known_person USING btree (site_id);

CREATE TABLE known_site (
    site_id text NOT NULL,
    declared_at timestamp with time zone NOT NULL,
    CONSTRAINT known_site_pkey PRIMARY KEY (site_id)
);

CREATE TABLE known_supporter (
    staff_ref text NOT NULL,
    home_site text NOT NULL,
    eligible boolean NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT known_supporter_pkey PRIMARY KEY (staff_ref)
);
CREATE INDEX ix_known_supporter_home_site ON known_supporter USING btree (home_site);

CREATE TABLE notification (
    notification_id bigint GENERATED ALWAYS AS IDENTITY,
    page_id uuid,
    recipient text NOT NULL,
    channel text NOT NULL,
    status text NOT NULL,
    attempts smallint DEFAULT '0'::smallint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    kind text DEFAULT 'page'::text NOT NULL,
    referral_id uuid,
    site_id text,
    route smallint DEFAULT '0'::smallint NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT notification_pkey PRIMARY KEY (notification_id)
);
CREATE INDEX ix_notification_due ON notification USING btree (next_attempt_at) WHERE (status = ANY (ARRAY['pending'::text, 'sending'::text]));
CREATE INDEX ix_notification_page_id ON notification USING btree (page_id);

CREATE TABLE page (
    page_id uuid NOT NULL,
    referral_id uuid NOT NULL,
    step smallint NOT NULL,
    recipient text NOT NULL,
    recipient_role text NOT NULL,
    status text NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    acknowledge_by timestamp with time zone NOT NULL,
    answered_at timestamp with time zone,
    CONSTRAINT page_pkey PRIMARY KEY (page_id),
    CONSTRAINT page_referral_id_step_key UNIQUE (referral_id, step)
);
CREATE INDEX ix_page_referral_id ON page USING btree (referral_id);

CREATE TABLE rotation (
    site_id text NOT NULL,
    layer text NOT NULL,
    "position" smallint NOT NULL,
    members text[] NOT NULL,
    starts_local timestamp without time zone NOT NULL,
    shift_hours integer NOT NULL,
    restrict_from time without time zone,
    restrict_to time without time zone,
    CONSTRAINT rotation_pkey PRIMARY KEY (site_id, layer, "position")
);

CREATE TABLE schedule (
    site_id text NOT NULL,
    time_zone text NOT NULL,
    CONSTRAINT schedule_pkey PRIMARY KEY (site_id)
);

CREATE TABLE site_service_levels (
    site_id text NOT NULL,
    callback_within_seconds double precision NOT NULL,
    meet_within_seconds double precision NOT NULL,
    CONSTRAINT site_service_levels_pkey PRIMARY KEY (site_id)
);

CREATE TABLE timer (
    timer_id bigint GENERATED ALWAYS AS IDENTITY,
    referral_id uuid NOT NULL,
    step smallint NOT NULL,
    kind text NOT NULL,
    due_at timestamp with time zone NOT NULL,
    fired_at timestamp with time zone,
    cancelled_at timestamp with time zone,
    CONSTRAINT timer_pkey PRIMARY KEY (timer_id)
);
CREATE INDEX ix_timer_due ON timer USING btree (due_at) WHERE ((fired_at IS NULL) AND (cancelled_at IS NULL));
CREATE INDEX ix_timer_referral_id ON timer USING btree (referral_id);
CREATE INDEX timer_due ON timer USING btree (due_at) WHERE ((fired_at IS NULL) AND (cancelled_at IS NULL));

CREATE TABLE used_link (
    nonce text NOT NULL,
    used_at timestamp with time zone NOT NULL,
    CONSTRAINT used_link_pkey PRIMARY KEY (nonce)
);
