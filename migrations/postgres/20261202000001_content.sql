-- The CMS: entries and their immutable versions. An entry points at its
-- newest saved version (the draft) and at most one published version.
CREATE TABLE content_entry (
    content_entry_id     BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_type         TEXT    NOT NULL CHECK (content_type IN ('banner', 'header', 'footer', 'k_quest', 'k_drop', 'leaderboard')),
    slug                 TEXT    NOT NULL CHECK (char_length(slug) BETWEEN 1 AND 80),
    state                TEXT    NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    draft_version_id     BIGINT,
    published_version_id BIGINT,
    published_at_ms      BIGINT,
    created_at_ms        BIGINT  NOT NULL,
    updated_at_ms        BIGINT  NOT NULL,
    UNIQUE (content_type, slug),
    CHECK ((state = 'published') = (published_version_id IS NOT NULL))
);

CREATE TABLE content_version (
    content_version_id BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_entry_id   BIGINT  NOT NULL REFERENCES content_entry (content_entry_id),
    data_json          TEXT    NOT NULL,
    author_id          BIGINT  NOT NULL REFERENCES staff_user (staff_user_id),
    created_at_ms      BIGINT  NOT NULL
);
CREATE INDEX content_version_of_entry ON content_version (content_entry_id, content_version_id);

ALTER TABLE content_entry
    ADD CONSTRAINT content_entry_draft_fk FOREIGN KEY (draft_version_id)
        REFERENCES content_version (content_version_id),
    ADD CONSTRAINT content_entry_published_fk FOREIGN KEY (published_version_id)
        REFERENCES content_version (content_version_id);

CREATE FUNCTION content_version_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'content_version is append-only';
END;
$$;
CREATE TRIGGER content_version_no_update_delete BEFORE UPDATE OR DELETE ON content_version
    FOR EACH ROW EXECUTE FUNCTION content_version_append_only();
CREATE TRIGGER content_version_no_truncate BEFORE TRUNCATE ON content_version
    FOR EACH STATEMENT EXECUTE FUNCTION content_version_append_only();
