CREATE TABLE confidentiality_exception (
    id bigint GENERATED ALWAYS AS IDENTITY,
    referral_id uuid NOT NULL,
    reason text NOT NULL,
    recorded_by text NOT NULL,
    worker_informed boolean NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT confidentiality_exception_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_confidentiality_exception_referral_id ON confidentiality_exception USING btree (referral_id);

CREATE TABLE consent (
    referral_id uuid NOT NULL,
    method text NOT NULL,
    given_at timestamp with time zone NOT NULL,
    recorded_by text NOT NULL,
    CONSTRAINT consent_pkey PRIMARY KEY (referral_id)
);

CREATE TABLE site (
    site_id text NOT NULL,
    display_name text NOT NULL,
    third_party_outreach boolean DEFAULT true NOT NULL,
    program_contact text,
    crisis_resources jsonb,
    hr_resources jsonb,
    CONSTRAINT site_pkey PRIMARY KEY (site_id)
);

CREATE TABLE referral (
    referral_id uuid NOT NULL,
    site_id text NOT NULL,
    path text NOT NULL,
    reason_category text NOT NULL,
    reason_kind text NOT NULL,
    urgency text NOT NULL,
    modality text NOT NULL,
    tier smallint NOT NULL,
    crisis boolean NOT NULL,
    worker_ref text,
    excluded_supporters text[] NOT NULL,
    status text NOT NULL,
    submitted_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    idempotency_key text,
    channel text,
    source text,
    group_size integer,
    unit text,
    activated_by text,
    preferences jsonb DEFAULT '{}'::jsonb NOT NULL,
    supporters text[] DEFAULT '{}'::text[] NOT NULL,
    worker_token_digest text,
    offer_expires_at timestamp with time zone,
    accepted_at timestamp with time zone,
    contacted_at timestamp with time zone,
    first_met_at timestamp with time zone,
    encounters smallint DEFAULT '0'::smallint NOT NULL,
    outcome text,
    contact_made boolean,
    ended_at timestamp with time zone,
    purged_at timestamp with time zone,
    request_digest text,
    CONSTRAINT referral_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT referral_pkey PRIMARY KEY (referral_id),
    CONSTRAINT referral_worker_token_digest_key UNIQUE (worker_token_digest),
    CONSTRAINT referral_site_id_fkey FOREIGN KEY (site_id) REFERENCES site(site_id)
);
CREATE INDEX ix_referral_ended_at ON referral USING btree (ended_at);
CREATE INDEX ix_referral_requester ON referral USING btree (activated_by, submitted_at) WHERE (activated_by IS NOT NULL);
CREATE INDEX ix_referral_site_id ON referral USING btree (site_id);

CREATE TABLE contact (
    referral_id uuid NOT NULL,
    name_sealed bytea NOT NULL,
    phone_sealed bytea,
    email_sealed bytea,
    worker_token_sealed bytea,
    CONSTRAINT contact_pkey PRIMARY KEY (referral_id),
    CONSTRAINT contact_referral_id_fkey FOREIGN KEY (referral_id) REFERENCES referral(referral_id) ON DELETE CASCADE
);

CREATE TABLE personal_data_audit (
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    actor_role text NOT NULL,
    referral_id uuid NOT NULL,
    action text NOT NULL,
    purpose text NOT NULL,
    CONSTRAINT personal_data_audit_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_personal_data_audit_referral_id ON personal_data_audit USING btree (referral_id);

CREATE TABLE worker_message (
    message_id bigint GENERATED ALWAYS AS IDENTITY,
    referral_id uuid NOT NULL,
    to_sealed bytea,
    subject text NOT NULL,
    body_sealed bytea,
    status text NOT NULL,
    attempts smallint DEFAULT '0'::smallint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    CONSTRAINT worker_message_pkey PRIMARY KEY (message_id)
);
CREATE INDEX ix_worker_message_referral_id ON worker_message USING btree (referral_id);
