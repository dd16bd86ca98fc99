//! Leaderboards on the public site. A published leaderboard entry (CMS)
//! names the rule: a campaign (or all), a period (start, end) and what
//! ranks (`points`: one per validated activity, or `tokens` earned). The
//! scores are kept by the validation transaction (`LeaderboardStore`), so
//! showing a ranking reads an index, never the activities; rankings are
//! kept in memory for `RANKING_TTL_MS` on each replica.
//!
//! Ties: the gamer who reached the score first (their latest counted
//! activity is older) ranks higher, then the lower gamer id. A period
//! closes at its end: activities validated later never count, so the final
//! ranking is frozen.

use std::sync::Arc;

use payquest_types::{Amount, CampaignId, LeaderboardLine, LeaderboardView, PublishedContent};

use crate::clock::{format_ms, now_ms};
use crate::gamers::GamerActor;
use crate::store::{DynStore, LeaderboardDef, ScoreRow};
use crate::{DomainError, DomainResult};

/// Lines on one page of a ranking.
pub const LEADERBOARD_PAGE: u32 = 50;
/// The deepest page anyone can ask for.
pub const LEADERBOARD_PAGES_MAX: u32 = 200;
/// How long a replica keeps a ranking page before reading it again.
pub const RANKING_TTL_MS: i64 = 5_000;
/// How ties are broken, as the page says it.
pub const TIE_BREAK: &str =
    "Equal scores: whoever reached the score first ranks higher, then the lower gamer id.";

type RankingPage = Arc<(i64, i64, Vec<ScoreRow>)>;

pub struct Leaderboards {
    store: DynStore,
    /// Where rankings are read (a read replica, or `store`); a rule is
    /// defined on `store`.
    reads: DynStore,
    /// Rule → leaderboard id, so an unchanged rule costs no database read.
    ids: quick_cache::sync::Cache<LeaderboardDef, i64>,
    /// (leaderboard, page) → (read at, ranked, lines).
    pages: quick_cache::sync::Cache<(i64, u32), RankingPage>,
}

/// An RFC 3339 time (or a date) as milliseconds.
fn ms_of(s: &str) -> Option<i64> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    };
    time::OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
}

/// The rule a published leaderboard entry states.
pub fn rule_of(entry: &PublishedContent) -> DomainResult<LeaderboardDef> {
    let f = |k: &str| {
        entry
            .fields
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let campaign_id = match f("campaign_id") {
        None => None,
        Some(v) => Some(v.parse::<CampaignId>().map_err(|_| {
            DomainError::Internal("a published leaderboard's campaign id is not a number".into())
        })?),
    };
    Ok(LeaderboardDef {
        slug: entry.slug.clone(),
        campaign_id,
        ranked_by: if f("ranked_by") == Some("tokens") {
            "tokens".into()
        } else {
            "points".into()
        },
        starts_at_ms: f("starts_at").and_then(ms_of).unwrap_or(0),
        ends_at_ms: f("ends_at").and_then(ms_of),
    })
}

fn line(rank: i64, r: &ScoreRow, me: Option<&GamerActor>) -> LeaderboardLine {
    LeaderboardLine {
        rank,
        wallet: crate::gamers::short_wallet(&r.wallet),
        points: r.points,
        tokens: Amount::from_minor(r.tokens_minor).to_string(),
        me: me.is_some_and(|g| g.gamer_id == r.gamer_id),
    }
}

impl Leaderboards {
    pub fn new(store: DynStore) -> Self {
        Self {
            reads: store.clone(),
            store,
            ids: quick_cache::sync::Cache::new(1_024),
            pages: quick_cache::sync::Cache::new(4_096),
        }
    }

    /// Rankings read from `reads` (a replica: they are cached for seconds
    /// anyway, so a little lag changes nothing).
    pub fn reading_from(mut self, reads: DynStore) -> Self {
        self.reads = reads;
        self
    }

    /// The id of a published entry's leaderboard (defined, or redefined and
    /// rebuilt, the first time its rule is seen).
    pub async fn leaderboard_id(&self, rule: &LeaderboardDef) -> DomainResult<i64> {
        if let Some(id) = self.ids.get(rule) {
            return Ok(id);
        }
        let id = self.store.define_leaderboard(rule, now_ms()).await?;
        self.ids.insert(rule.clone(), id);
        Ok(id)
    }

    /// A page (1-based) of a published leaderboard entry's ranking, with
    /// the signed-in gamer's own line when they are ranked.
    pub async fn view(
        &self,
        entry: &PublishedContent,
        page: u32,
        me: Option<&GamerActor>,
    ) -> DomainResult<LeaderboardView> {
        if page == 0 || page > LEADERBOARD_PAGES_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page must be 1 to {LEADERBOARD_PAGES_MAX}"
            )));
        }
        let rule = rule_of(entry)?;
        let id = self.leaderboard_id(&rule).await?;
        let now = now_ms();
        let cached = self
            .pages
            .get(&(id, page))
            .filter(|p| now - p.0 < RANKING_TTL_MS);
        let ranking = match cached {
            Some(p) => p,
            None => {
                let offset = (page - 1) * LEADERBOARD_PAGE;
                let rows = self
                    .reads
                    .leaderboard_page(id, offset, LEADERBOARD_PAGE)
                    .await?;
                let ranked = self.reads.leaderboard_size(id).await?;
                let p = Arc::new((now, ranked, rows));
                self.pages.insert((id, page), p.clone());
                p
            }
        };
        let (_, ranked, rows) = &*ranking;
        let first = i64::from((page - 1) * LEADERBOARD_PAGE) + 1;
        let lines = rows
            .iter()
            .zip(first..)
            .map(|(r, rank)| line(rank, r, me))
            .collect();
        let mine = match me {
            Some(g) => self
                .reads
                .leaderboard_rank(id, g.gamer_id)
                .await?
                .map(|(rank, r)| line(rank, &r, me)),
            None => None,
        };
        let field = |k: &str| entry.fields.get(k).cloned().unwrap_or_default();
        let pages =
            u32::try_from((ranked + i64::from(LEADERBOARD_PAGE) - 1) / i64::from(LEADERBOARD_PAGE))
                .unwrap_or(u32::MAX)
                .clamp(1, LEADERBOARD_PAGES_MAX);
        Ok(LeaderboardView {
            slug: entry.slug.clone(),
            title: field("title"),
            period: field("period"),
            ranked_by: rule.ranked_by.clone(),
            starts_at: (rule.starts_at_ms > 0).then(|| format_ms(rule.starts_at_ms)),
            ends_at: rule.ends_at_ms.map(format_ms),
            closed: rule.ends_at_ms.is_some_and(|end| end <= now),
            tie_break: TIE_BREAK.into(),
            ranked: *ranked,
            page,
            pages,
            lines,
            me: mine,
        })
    }
}
