-- The CMS: entries and their immutable versions. An entry points at its
-- newest saved version (the draft) and at most one published version.
CREATE TABLE content_entry (
    content_entry_id     INTEGER PRIMARY KEY,
    content_type         TEXT    NOT NULL CHECK (content_type IN ('banner', 'header', 'footer', 'k_quest', 'k_drop', 'leaderboard')),
    slug                 TEXT    NOT NULL CHECK (length(slug) BETWEEN 1 AND 80),
    state                TEXT    NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    draft_version_id     BIGINT  REFERENCES content_version (content_version_id),
    published_version_id BIGINT  REFERENCES content_version (content_version_id),
    published_at_ms      BIGINT,
    created_at_ms        BIGINT  NOT NULL,
    updated_at_ms        BIGINT  NOT NULL,
    UNIQUE (content_type, slug),
    CHECK ((state = 'published') = (published_version_id IS NOT NULL))
);

CREATE TABLE content_version (
    content_version_id INTEGER PRIMARY KEY,
    content_entry_id   BIGINT  NOT NULL REFERENCES content_entry (content_entry_id),
    data_json          TEXT    NOT NULL,
    author_id          BIGINT  NOT NULL REFERENCES staff_user (staff_user_id),
    created_at_ms      BIGINT  NOT NULL
);
CREATE INDEX content_version_of_entry ON content_version (content_entry_id, content_version_id);

CREATE TRIGGER content_version_no_update BEFORE UPDATE ON content_version
BEGIN
    SELECT RAISE(ABORT, 'content_version is append-only');
END;
CREATE TRIGGER content_version_no_delete BEFORE DELETE ON content_version
BEGIN
    SELECT RAISE(ABORT, 'content_version is append-only');
END;
