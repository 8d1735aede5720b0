-- The default catalogue every authority starts from (DOMAIN.md, "Training and
-- certification") is inserted at the end; an authority changes it with PUT /courses/{code}.

CREATE TABLE supporter (
    staff_ref text NOT NULL,
    home_site text NOT NULL,
    active boolean NOT NULL,
    tier smallint NOT NULL,
    eligible boolean,
    eligibility_version bigint DEFAULT '0'::bigint NOT NULL,
    CONSTRAINT supporter_pkey PRIMARY KEY (staff_ref)
);

CREATE TABLE candidacy (
    candidacy_id bigint GENERATED ALWAYS AS IDENTITY,
    staff_ref text NOT NULL,
    stage text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT candidacy_pkey PRIMARY KEY (candidacy_id),
    CONSTRAINT candidacy_staff_ref_fkey FOREIGN KEY (staff_ref) REFERENCES supporter(staff_ref)
);
CREATE UNIQUE INDEX ux_candidacy_open ON candidacy USING btree (staff_ref) WHERE (stage <> ALL (ARRAY['withdrawn'::text, 'declined'::text]));

CREATE TABLE candidacy_step (
    candidacy_id bigint NOT NULL,
    stage text NOT NULL,
    at timestamp with time zone NOT NULL,
    by_subject text NOT NULL,
    CONSTRAINT candidacy_step_candidacy_id_fkey FOREIGN KEY (candidacy_id) REFERENCES candidacy(candidacy_id)
);

CREATE TABLE course (
    code text NOT NULL,
    title text NOT NULL,
    validity_days integer,
    required boolean NOT NULL,
    CONSTRAINT course_pkey PRIMARY KEY (code)
);

CREATE TABLE certification (
    certification_id bigint GENERATED ALWAYS AS IDENTITY,
    staff_ref text NOT NULL,
    course text NOT NULL,
    completed_on date NOT NULL,
    expires_on date,
    completed_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    CONSTRAINT certification_pkey PRIMARY KEY (certification_id),
    CONSTRAINT certification_course_fkey FOREIGN KEY (course) REFERENCES course(code),
    CONSTRAINT certification_staff_ref_fkey FOREIGN KEY (staff_ref) REFERENCES supporter(staff_ref)
);
CREATE INDEX ix_certification_staff_ref ON certification USING btree (staff_ref);

CREATE TABLE closure (
    referral_id uuid NOT NULL,
    closed_at timestamp with time zone NOT NULL,
    contact_made boolean NOT NULL,
    CONSTRAINT closure_pkey PRIMARY KEY (referral_id)
);

CREATE TABLE debrief (
    debrief_id uuid NOT NULL,
    site_id text NOT NULL,
    held_on date NOT NULL,
    kind text NOT NULL,
    minutes integer NOT NULL,
    recorded_by text NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    CONSTRAINT debrief_pkey PRIMARY KEY (debrief_id)
);
CREATE INDEX ix_debrief_site_held ON debrief USING btree (site_id, held_on);

CREATE TABLE debrief_attendance (
    debrief_id uuid NOT NULL,
    staff_ref text NOT NULL,
    CONSTRAINT debrief_attendance_pkey PRIMARY KEY (debrief_id, staff_ref),
    CONSTRAINT debrief_attendance_debrief_id_fkey FOREIGN KEY (debrief_id) REFERENCES debrief(debrief_id),
    CONSTRAINT debrief_attendance_staff_ref_fkey FOREIGN KEY (staff_ref) REFERENCES supporter(staff_ref)
);

CREATE TABLE debrief_prompt (
    prompt_id uuid NOT NULL,
    staff_ref text NOT NULL,
    prompted_at timestamp with time zone NOT NULL,
    answered_at timestamp with time zone,
    outcome text,
    CONSTRAINT debrief_prompt_pkey PRIMARY KEY (prompt_id),
    CONSTRAINT debrief_prompt_staff_ref_fkey FOREIGN KEY (staff_ref) REFERENCES supporter(staff_ref)
);
CREATE INDEX ix_debrief_prompt_staff_ref ON debrief_prompt USING btree (staff_ref);

CREATE TABLE education (
    education_id bigint GENERATED ALWAYS AS IDENTITY,
    staff_ref text NOT NULL,
    "on" date NOT NULL,
    hours numeric(5,2) NOT NULL,
    activity text NOT NULL,
    recorded_by text NOT NULL,
    CONSTRAINT education_pkey PRIMARY KEY (education_id),
    CONSTRAINT education_staff_ref_fkey FOREIGN KEY (staff_ref) REFERENCES supporter(staff_ref)
);
CREATE INDEX ix_education_staff_ref ON education USING btree (staff_ref);

CREATE TABLE engagement (
    referral_id uuid NOT NULL,
    staff_ref text NOT NULL,
    CONSTRAINT engagement_pkey PRIMARY KEY (referral_id, staff_ref)
);

CREATE TABLE known_site (
    site_id text NOT NULL,
    declared_at timestamp with time zone NOT NULL,
    CONSTRAINT known_site_pkey PRIMARY KEY (site_id)
);

CREATE TABLE reference (
    candidacy_id bigint NOT NULL,
    referee text NOT NULL,
    kind text NOT NULL,
    received_at timestamp with time zone NOT NULL,
    CONSTRAINT reference_pkey PRIMARY KEY (candidacy_id, referee),
    CONSTRAINT reference_candidacy_id_fkey FOREIGN KEY (candidacy_id) REFERENCES candidacy(candidacy_id)
);

CREATE TABLE timer (
    timer_id bigint GENERATED ALWAYS AS IDENTITY,
    certification_id bigint NOT NULL,
    kind text NOT NULL,
    days_before double precision,
    due_at timestamp with time zone NOT NULL,
    fired_at timestamp with time zone,
    cancelled_at timestamp with time zone,
    CONSTRAINT timer_pkey PRIMARY KEY (timer_id),
    CONSTRAINT timer_certification_id_fkey FOREIGN KEY (certification_id) REFERENCES certification(certification_id)
);
CREATE INDEX ix_timer_due ON timer USING btree (due_at) WHERE ((fired_at IS NULL) AND (cancelled_at IS NULL));

INSERT INTO course (code, title, validity_days, required) VALUES
    ('basic-peer-support', 'Basic peer support training (at least three days)', 730, true),
    ('crisis-management', 'Crisis management', 730, true),
    ('confidentiality', 'Confidentiality', 730, true),
    ('psychological-first-aid', 'Psychological first aid (RAPID-PFA)', 730, false),
    ('suicide-awareness', 'Suicide awareness', 730, false),
    ('family-peer-support', 'Family peer support', 730, false)
ON CONFLICT (code) DO NOTHING;
