-- Uploaded images. The bytes live in the media store (a folder or an S3
-- bucket) under their SHA-256, so one image uploaded twice is one object;
-- this table says what each is and who uploaded it first.
CREATE TABLE media (
    sha256        TEXT    PRIMARY KEY CHECK (char_length(sha256) = 64),
    content_type  TEXT    NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    byte_size     BIGINT  NOT NULL CHECK (byte_size > 0),
    width         INTEGER NOT NULL CHECK (width > 0),
    height        INTEGER NOT NULL CHECK (height > 0),
    file_name     TEXT    NOT NULL CHECK (char_length(file_name) <= 200),
    uploaded_by   BIGINT  NOT NULL REFERENCES staff_user (staff_user_id),
    created_at_ms BIGINT  NOT NULL
);
CREATE INDEX media_newest ON media (created_at_ms);
