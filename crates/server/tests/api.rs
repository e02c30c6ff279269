//! The HTTP API against a real server on a real database: every scenario runs on SQLite and, when
//! `SANGATHAN_TEST_PG_URL` names a PostgreSQL server, on PostgreSQL (`SANGATHAN_REQUIRE_PG=1`
//! makes a missing server a failure instead of a skip).

#[path = "api/meetings.rs"]
mod meetings_api;
#[path = "api/scenarios.rs"]
mod scenarios;
#[path = "api/support.rs"]
mod support;
#[path = "api/volunteers.rs"]
mod volunteers_api;
#[path = "api/verification.rs"]
mod verification_api;

/// `sqlite::NAME` and `postgres::NAME` for each scenario.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::scenarios::$name(sangathan_store::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::scenarios::$name(sangathan_store::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_backends!(
    auth_required_everywhere,
    enrol_and_replay,
    concurrent_enrolments_make_one_member,
    validation_reports_every_field,
    members_by_id_and_list,
    units_and_progress,
    campaigns,
    openapi_document,
    search_in_both_scripts,
    duplicates_merge_and_undo,
    meetings_scoped_reports_and_a_revocable_feed,
    volunteer_force_end_to_end,
    verification_queue_codes_and_batches,
    epic_check_digit_is_a_warning,
    missed_calls_replies_and_campaign_methods,
    leaderboards_rank_by_verified,
    member_corrections_are_reviewed_by_someone_else,
    enrolments_wait_for_a_first_load,
);
