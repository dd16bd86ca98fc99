//! Every list, string and retry has a named limit; requests past one get a 4xx.

pub const EMAIL_MAX_CHARS: usize = 254;
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;
/// A TOTP code or a recovery code; anything longer is refused unread.
pub const CODE_MAX_CHARS: usize = 32;
pub const PAGE_SIZE_MAX: u32 = 200;
pub const PAGE_SIZE_DEFAULT: u32 = 50;
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Accept codes from one 30-second step before or after now (clock skew).
pub const TOTP_SKEW_STEPS: i64 = 1;
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Attempts allowed per account (successes forget them) before each further one adds a delay.
pub const THROTTLE_ACCOUNT_FREE_FAILURES: u32 = 5;
/// Unsuccessful attempts allowed per client IP before each further one adds a delay.
pub const THROTTLE_IP_FREE_FAILURES: u32 = 20;
/// The longest an account can be made to wait: an attacker can't lock a real user out for long.
pub const THROTTLE_ACCOUNT_MAX_DELAY_MS: i64 = 60_000;
/// The longest an IP waits. Short, because people behind one NAT share it.
pub const THROTTLE_IP_MAX_DELAY_MS: i64 = 2 * 60_000;
/// Failures older than this are forgotten.
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60_000;
/// Bound on the in-process throttle table.
pub const THROTTLE_MAX_KEYS: usize = 100_000;
/// The largest single ledger movement (fund, reservation, transfer): 10^9 tokens.
/// Keeps every sum far from i64 overflow.
pub const LEDGER_AMOUNT_MAX_MINOR: i64 = 1_000_000_000 * 1_000_000;
pub const COST_CENTRE_CODE_MAX_CHARS: usize = 40;
pub const COST_CENTRE_NAME_MAX_CHARS: usize = 100;
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 200;
pub const CAMPAIGN_NAME_MAX_CHARS: usize = 100;
pub const QUEST_NAME_MAX_CHARS: usize = 100;
pub const VALIDATOR_URL_MAX_CHARS: usize = 500;
pub const VALIDATOR_HEADERS_MAX: usize = 10;
pub const VALIDATOR_FIELD_MAX_CHARS: usize = 200;
/// The largest reward a single quest completion may pay: 100,000 tokens.
pub const REWARD_MAX_MINOR: i64 = 100_000 * 1_000_000;
/// Access tokens for machines live this long.
pub const ACCESS_TOKEN_TTL_S: i64 = 600;
/// Clock skew tolerated when checking a token's times.
pub const ACCESS_TOKEN_LEEWAY_S: u64 = 30;
/// A token longer than this is refused unread.
pub const ACCESS_TOKEN_MAX_BYTES: usize = 4_096;
pub const API_CLIENT_NAME_MAX_CHARS: usize = 100;
/// How often a replica re-reads the signing keys (rotation by another replica).
pub const SIGNING_KEYS_REFRESH_MS: i64 = 60_000;
/// Activities in one API request.
pub const ACTIVITY_BATCH_MAX: usize = 1_000;
pub const EXTERNAL_ID_MAX_CHARS: usize = 128;
pub const ACCOUNT_REF_MAX_CHARS: usize = 128;
/// Serialized evidence a client may attach to one activity.
pub const EVIDENCE_MAX_BYTES: usize = 4_096;
pub const SIGNATURE_MAX_CHARS: usize = 256;
/// How far in the future an activity's time may be (clock skew).
pub const OCCURRED_AT_FUTURE_SKEW_MS: i64 = 5 * 60_000;
/// How old a reported activity may be.
pub const OCCURRED_AT_MAX_AGE_MS: i64 = 90 * 24 * 3_600_000;
/// Budget alert threshold of a new campaign, in percent of funded.
pub const ALERT_THRESHOLD_DEFAULT_PCT: i64 = 80;

/// The two-checker threshold counts a maker's batches approved within this
/// rolling window together (splitting a payout does not dodge it).
pub const FOUR_EYES_WINDOW_MS: i64 = 24 * 3_600_000;

/// Deliveries of one webhook event before it is marked failed (redeliver
/// gives it as many again).
pub const WEBHOOK_RETRIES: u32 = 8;
/// A receiver that takes longer than this has failed the attempt.
pub const WEBHOOK_TIMEOUT_MS: u64 = 5_000;
/// How far ahead a publish or unpublish may be planned.
pub const SCHEDULE_AHEAD_MAX_MS: i64 = 366 * 24 * 3_600_000;
/// Pending schedules one entry may have.
pub const SCHEDULES_PER_ENTRY_MAX: usize = 20;
/// A schedule still pending this long after its time shows as late.
pub const SCHEDULE_LATE_MS: i64 = 60_000;
/// Wallet sign-in attempts one client address may make a minute.
pub const WALLET_SIGN_INS_PER_MINUTE: u64 = 30;
