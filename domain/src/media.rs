//! Images for content: uploaded by the community team, checked from their
//! bytes (type sniffed, not taken from the name; size and pixel limits),
//! stored under their SHA-256 so a name never changes what it shows, and
//! served immutable. The bytes go to an `object_store`: a local folder by
//! default, an S3-compatible bucket when configured.

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use payquest_types::MediaView;
use sha2::{Digest, Sha256};

use crate::audit::AuditRecord;
use crate::clock::{format_ms, now_ms};
use crate::session::{Actor, Permission};
use crate::store::{DynStore, MediaRecord};
use crate::{DomainError, DomainResult};

/// The largest image accepted.
pub const MEDIA_MAX_BYTES: usize = 2 * 1024 * 1024;
/// The widest and tallest image accepted, in pixels.
pub const MEDIA_MAX_PIXELS: usize = 4_096;
pub const MEDIA_NAME_MAX_CHARS: usize = 200;
pub const MEDIA_PAGE_MAX: u32 = 100;

/// The image types accepted: (MIME type, file extension). SVG is not among
/// them: it can carry script.
const TYPES: [(&str, &str); 4] = [
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
];

fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    use imagesize::ImageType;
    let mime = match imagesize::image_type(bytes).ok()? {
        ImageType::Png => "image/png",
        ImageType::Jpeg => "image/jpeg",
        ImageType::Gif => "image/gif",
        ImageType::Webp => "image/webp",
        _ => return None,
    };
    TYPES.iter().find(|(m, _)| *m == mime).copied()
}

/// The stored name of an image, `<sha256>.<ext>`, or `None` for anything
/// else (so a request can never name another object).
pub fn parse_name(name: &str) -> Option<(&str, &'static str)> {
    let (hash, ext) = name.split_once('.')?;
    let valid_hash =
        hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let (mime, _) = TYPES.iter().find(|(_, e)| *e == ext)?;
    valid_hash.then_some((hash, mime))
}

pub fn url_of(sha256: &str, content_type: &str) -> String {
    let ext = TYPES
        .iter()
        .find(|(m, _)| *m == content_type)
        .map_or("bin", |(_, e)| e);
    format!("/media/{sha256}.{ext}")
}

fn view(m: MediaRecord) -> MediaView {
    MediaView {
        url: url_of(&m.sha256, &m.content_type),
        sha256: m.sha256,
        content_type: m.content_type,
        byte_size: m.byte_size.max(0) as u64,
        width: m.width.max(0) as u32,
        height: m.height.max(0) as u32,
        file_name: m.file_name,
        created_at: format_ms(m.created_at_ms),
    }
}

/// Opens the media store: `s3://bucket[/prefix]` (credentials and region
/// from the usual `AWS_*` variables, `endpoint` for an S3-compatible
/// server), else a local folder, created if missing.
pub fn open_store(location: &str, endpoint: Option<&str>) -> Result<Arc<dyn ObjectStore>, String> {
    if let Some(rest) = location.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let s3 = builder
            .build()
            .map_err(|e| format!("the media bucket: {e}"))?;
        return Ok(if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(
                s3,
                prefix.trim_end_matches('/'),
            ))
        });
    }
    std::fs::create_dir_all(location).map_err(|e| format!("creating {location}: {e}"))?;
    let local = object_store::local::LocalFileSystem::new_with_prefix(location)
        .map_err(|e| format!("the media folder {location}: {e}"))?;
    Ok(Arc::new(local))
}

pub struct Media {
    store: DynStore,
    objects: Arc<dyn ObjectStore>,
}

impl Media {
    pub fn new(store: DynStore, objects: Arc<dyn ObjectStore>) -> Self {
        Self { store, objects }
    }

    /// Images kept in memory only (tests, and a process with no media store).
    pub fn in_memory(store: DynStore) -> Self {
        Self::new(store, Arc::new(object_store::memory::InMemory::new()))
    }

    /// Checks and keeps an uploaded image; the same bytes again are the
    /// same image (and the same URL).
    pub async fn upload(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> DomainResult<MediaView> {
        actor.require(Permission::ManageContent)?;
        let refuse = |message: String| DomainError::InvalidField {
            field: "file",
            message,
        };
        if bytes.is_empty() {
            return Err(refuse("the file is empty".into()));
        }
        if bytes.len() > MEDIA_MAX_BYTES {
            return Err(refuse(format!(
                "images are at most {} MiB",
                MEDIA_MAX_BYTES / (1024 * 1024)
            )));
        }
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(MEDIA_NAME_MAX_CHARS)
            .collect();
        let (mime, _) = sniff(&bytes)
            .ok_or_else(|| refuse("that is not a PNG, JPEG, GIF or WebP image".into()))?;
        let size = imagesize::blob_size(&bytes)
            .map_err(|_| refuse("the image's size could not be read".into()))?;
        if size.width == 0 || size.height == 0 {
            return Err(refuse("the image has no pixels".into()));
        }
        if size.width > MEDIA_MAX_PIXELS || size.height > MEDIA_MAX_PIXELS {
            return Err(refuse(format!(
                "images are at most {MEDIA_MAX_PIXELS} × {MEDIA_MAX_PIXELS} pixels (this one is {} × {})",
                size.width, size.height
            )));
        }
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let record = MediaRecord {
            sha256: sha256.clone(),
            content_type: mime.to_owned(),
            byte_size: bytes.len() as i64,
            width: size.width as i32,
            height: size.height as i32,
            file_name: name,
            uploaded_by: actor.user_id,
            created_at_ms: now_ms(),
        };
        let location = ObjectPath::from(url_of(&sha256, mime).trim_start_matches("/media/"));
        // The object first: a row never names bytes that are not there.
        self.objects
            .put(&location, PutPayload::from(bytes))
            .await
            .map_err(DomainError::internal)?;
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "media.uploaded",
            format!("media:{sha256}"),
        )
        .after(&serde_json::json!({
            "file_name": record.file_name,
            "content_type": mime,
            "bytes": record.byte_size,
            "width": record.width,
            "height": record.height,
        }));
        self.store.insert_media(&record, &audit).await?;
        Ok(view(record))
    }

    /// Deletes the images uploaded before `before_ms` that no content
    /// version names (nothing could show or restore them): the row first,
    /// guarded against a version naming it meanwhile, then the object. How
    /// many went.
    pub async fn delete_unused(&self, before_ms: i64) -> DomainResult<u64> {
        let mut gone = 0;
        for m in self.store.unused_media(before_ms, 500).await? {
            let audit = AuditRecord::new(
                &crate::audit::AuditActor::system("retention"),
                "media.deleted_unused",
                format!("media:{}", m.sha256),
            )
            .before(&serde_json::json!({ "file_name": m.file_name, "bytes": m.byte_size }));
            if !self.store.delete_unused_media(&m.sha256, &audit).await? {
                continue;
            }
            let location =
                ObjectPath::from(url_of(&m.sha256, &m.content_type).trim_start_matches("/media/"));
            if let Err(e) = self.objects.delete(&location).await {
                tracing::warn!(sha256 = %m.sha256, error = %e, "the unused image's bytes stay in the media store");
            }
            gone += 1;
        }
        Ok(gone)
    }

    /// The library, newest first.
    pub async fn list(&self, actor: &Actor) -> DomainResult<Vec<MediaView>> {
        actor.require(Permission::ReadContent)?;
        Ok(self
            .store
            .list_media(MEDIA_PAGE_MAX)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// An image's bytes and type by its stored name (anyone may fetch it).
    pub async fn get(&self, name: &str) -> DomainResult<(bytes::Bytes, &'static str)> {
        let (_, mime) = parse_name(name).ok_or(DomainError::NotFound("image"))?;
        match self.objects.get(&ObjectPath::from(name)).await {
            Ok(found) => Ok((found.bytes().await.map_err(DomainError::internal)?, mime)),
            Err(object_store::Error::NotFound { .. }) => Err(DomainError::NotFound("image")),
            Err(e) => Err(DomainError::internal(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hash_names_with_a_known_extension_parse() {
        let hash = "a".repeat(64);
        assert_eq!(
            parse_name(&format!("{hash}.png")),
            Some((hash.as_str(), "image/png"))
        );
        assert!(parse_name(&format!("{hash}.svg")).is_none());
        assert!(parse_name("../secrets.key").is_none());
        assert!(parse_name(&format!("{}.png", "A".repeat(64))).is_none());
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        use base64::Engine;
        // A 1 × 1 PNG, and the same bytes under a name that says otherwise
        // are still a PNG: the name is never read.
        let png = base64::engine::general_purpose::STANDARD
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
            .expect("test input");
        assert_eq!(sniff(&png).map(|t| t.0), Some("image/png"));
        assert!(
            sniff(&png[..8]).is_none(),
            "a signature alone is not an image"
        );
        assert!(sniff(b"<svg onload=alert(1)>").is_none());
    }
}
